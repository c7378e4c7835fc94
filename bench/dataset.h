/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * An on-disk dataset: a directory with a `manifest` and one native trace file
 * per trace (`SITE-INSTANCE.trace`, unmonitored `u-INDEX.trace`). Layout and
 * manifest keys: docs/trace-format.md.
 *
 * Opening reads the manifest and checks it against the directory; traces are
 * read one at a time (datasets can be larger than memory). Writing goes into
 * DIR.tmp-XXXXXX and is renamed to DIR only when complete: DIR is either
 * absent, the old dataset or the whole new one, never half-written.
 */
#ifndef WFBENCH_DATASET_H
#define WFBENCH_DATASET_H

#include <stdbool.h>
#include <stddef.h>

#include "trace.h"

#define WFB_DATASET_FORMAT "wfguard-dataset v1"
#define WFB_UNMON	   (-1) /* the site of an unmonitored trace */

enum wfb_units {
	WFB_UNITS_BYTES, /* sizes are bytes (0 on a packet: unknown) */
	WFB_UNITS_NONE,	 /* no sizes at all: direction and time only */
};

struct wfb_entry {
	int site;	   /* 0..sites-1, or WFB_UNMON */
	unsigned instance; /* within its site; for unmonitored, the index */
	size_t packets;
	char *src; /* where it came from (file name), "-" if generated */
};

struct wfb_dataset {
	char *dir;
	/*
	 * instances: the most any site has; min_instances: the fewest (equal to
	 * instances unless the dataset is ragged, as real datasets often are).
	 */
	unsigned sites, instances, min_instances, unmonitored;
	char *source; /* free text: the importer or generator and its arguments */
	enum wfb_units units;
	/* every site's instances 0..count-1 (site-major), then the unmonitored */
	struct wfb_entry *e;
	size_t n;
	unsigned *count;   /* per site: its instances */
	size_t *first;	   /* per site: its first entry in e; [sites]: the first unmonitored */
	char **site_name;  /* per site: its name (sites.txt at import), NULL if none */
	size_t nsite_name; /* entries in site_name (0: no site is named) */
	char **meta;	   /* "KEY=VALUE": how the dataset was made (manifest `meta.KEY`) */
	size_t nmeta;
};

int wfb_dataset_open(struct wfb_dataset *ds, const char *dir, char *err, size_t errlen);
void wfb_dataset_close(struct wfb_dataset *ds);
/* Position of a trace in ds->e; site WFB_UNMON for unmonitored. */
size_t wfb_dataset_index(const struct wfb_dataset *ds, int site, unsigned instance);
/* Read trace i; its packet count must match the manifest. */
int wfb_dataset_read(const struct wfb_dataset *ds, size_t i, struct wfb_trace *t, char *err,
		     size_t errlen);
/* The site's name, or its label as text ("7") when it has none; buf holds the latter. */
const char *wfb_site_label(const struct wfb_dataset *ds, int site, char *buf, size_t len);
/* The value of meta.KEY, or NULL. */
const char *wfb_dataset_meta(const struct wfb_dataset *ds, const char *key);
/* "3-7" or "u-12" (the file name without ".trace"). */
void wfb_entry_name(int site, unsigned instance, char *buf, size_t len);
const char *wfb_units_name(enum wfb_units u);

/* ---------------------------------------------------------------- writing */

struct wfb_writer;

/* Refuses an existing DIR unless force (and then only a dataset or an empty directory). */
int wfb_writer_open(struct wfb_writer **w, const char *dir, bool force, char *err, size_t errlen);
/*
 * Write one trace now (its file is on disk when this returns); a (site,
 * instance) twice or an empty trace is an error. wfb_writer_put + _note.
 */
int wfb_writer_add(struct wfb_writer *w, int site, unsigned instance, const char *src,
		   const struct wfb_trace *t, char *err, size_t errlen);
/*
 * The two halves of wfb_writer_add, for writing in parallel: put writes the
 * trace's file and may run in several threads at once (distinct traces);
 * note records it in the index, one thread at a time, after its put.
 */
int wfb_writer_put(const struct wfb_writer *w, int site, unsigned instance, const char *src,
		   const struct wfb_trace *t, char *err, size_t errlen);
int wfb_writer_note(struct wfb_writer *w, int site, unsigned instance, const char *src,
		    const struct wfb_trace *t, char *err, size_t errlen);
/* Name site (label) in the manifest; names are one line, without '\n'. */
int wfb_writer_site_name(struct wfb_writer *w, int site, const char *name);
/* Record meta.KEY=VALUE in the manifest (the tool, the policy, its hash, ...). */
int wfb_writer_meta(struct wfb_writer *w, const char *key, const char *value);
/* A file beside the traces (e.g. a session dataset's `loads`), published with them. */
int wfb_writer_sidecar(struct wfb_writer *w, const char *name, const char *text, char *err,
		       size_t errlen);
/*
 * Check the whole (every site 0..S-1 has instances 0..M_s-1 with M_s >= 1,
 * unmonitored 0..K-1, not empty), write the manifest, rename into place.
 * Frees w either way: on error nothing is left behind.
 */
int wfb_writer_commit(struct wfb_writer *w, const char *source, char *err, size_t errlen);
/* Remove everything written so far and free w. */
void wfb_writer_abort(struct wfb_writer *w);

/* ---------------------------------------------------------------- import */

#define WFB_IMPORT_MAX_UNMON_RANGES 64

struct wfb_import_opts {
	enum wfb_format fmt;
	const struct wfb_addr *client; /* pcap */
	unsigned instances;	       /* keep the first N of each site; 0 = all */
	bool equal;		       /* every site must have the same count */
	enum wfb_order order;	       /* times that go backwards (trace.h) */
	const char *site_names;	       /* sites.txt; NULL: SRC/sites.txt if present */
	/* --unmonitored: these site numbers (as in the file names) become unmonitored */
	uint64_t unmon_lo[WFB_IMPORT_MAX_UNMON_RANGES], unmon_hi[WFB_IMPORT_MAX_UNMON_RANGES];
	unsigned n_unmon_ranges;
	bool force;
};

struct wfb_import_report {
	size_t files;	/* trace files read */
	size_t skipped; /* names that are not traces (README, ...) */
	char first_skipped[64];
	bool sequential; /* Maybenot names without SITE-INSTANCE: numbered in order */
	unsigned sites, instances, unmonitored;
	unsigned min_instances;	    /* the fewest a site has (= instances unless ragged) */
	unsigned ragged_sites;	    /* sites with fewer than `instances` */
	char fewest_site[96];	    /* one site with min_instances: its file-name number (name) */
	size_t gaps;		    /* sites whose instance numbers in SRC are not 0..n-1 */
	unsigned sites_unmon;	    /* sites made unmonitored by --unmonitored */
	unsigned named;		    /* sites with a name from sites.txt */
	char site_names[4096];	    /* the sites.txt used, "" if none */
	struct wfb_inversions inv;  /* summed over the files */
	size_t inv_files;	    /* files with at least one */
	char inv_first[160];	    /* the first: "file:line" */
	struct wfb_pcap_stats pcap; /* summed over the files */
};

/*
 * "3,7,10-12" (site numbers as in the file names) into o's ranges; -EINVAL
 * with the reason in err.
 */
int wfb_import_parse_unmon(const char *list, struct wfb_import_opts *o, char *err, size_t errlen);

/*
 * SRC: a directory of trace files, or one file (one trace: site 0, instance 0).
 * Naming rules (docs/trace-format.md): `SITE-INSTANCE[.ext]` monitored,
 * `INDEX[.ext]` or `u-INDEX[.ext]` unmonitored; Maybenot logs
 * `...-SITE-INSTANCE[-MORE...].log`, else numbered in name order. Labels are
 * renumbered densely in the order of their numbers.
 */
int wfb_import(const char *src, const char *dir, const struct wfb_import_opts *o,
	       struct wfb_import_report *rep, char *err, size_t errlen);

#endif /* WFBENCH_DATASET_H */
