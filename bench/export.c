// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `wfbench export`: a dataset (defended or not) in the formats other tools
 * read, so that they can judge what wfbench produced. Written into
 * OUT.tmp-XXXXXX and renamed (user/lib/trace_io.c), like a dataset.
 * Layouts: docs/trace-format.md, "Export".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "err.h"
#include "eval.h"
#include "export.h"
#include "trace_io.h"

/* Marks an export directory, so that --force replaces only what export wrote. */
#define EXPORT_MARK ".wfbench-export"

int wfb_export_format_parse(const char *s, enum wfb_export_format *fmt)
{
	static const char *const names[] = { "wang", "maybenot", "npy" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*fmt = (enum wfb_export_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

static FILE *open_in(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wx");
	if (!f)
		wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	return f;
}

static int close_checked(FILE *f, const char *dir, const char *name, char *err, size_t errlen)
{
	int bad = ferror(f);

	if (fclose(f) || bad)
		return wfg_err(err, errlen, EIO, "%s/%s: write error", dir, name);
	return 0;
}

/* sites.txt as 'NUMBER NAME' lines (the importers read it back), if any site is named. */
static int write_site_names(const struct wfb_dataset *ds, const char *dir, char *err, size_t errlen)
{
	FILE *f;
	size_t i;

	for (i = 0; i < ds->nsite_name && !ds->site_name[i]; i++)
		;
	if (i == ds->nsite_name)
		return 0;
	f = open_in(dir, "sites.txt", err, errlen);
	if (!f)
		return -errno;
	for (i = 0; i < ds->nsite_name; i++) {
		if (ds->site_name[i])
			fprintf(f, "%zu %s\n", i, ds->site_name[i]);
	}
	return close_checked(f, dir, "sites.txt", err, errlen);
}

/* Wang: SITE-INSTANCE, unmonitored INDEX. Maybenot: trace-SITE-INSTANCE.log, trace-u-INDEX.log. */
static void file_name(enum wfb_export_format fmt, const struct wfb_entry *e, char *buf, size_t len)
{
	bool unmon = e->site == WFB_UNMON;

	if (fmt == WFB_EXPORT_WANG && unmon)
		snprintf(buf, len, "%u", e->instance);
	else if (fmt == WFB_EXPORT_WANG)
		snprintf(buf, len, "%d-%u", e->site, e->instance);
	else if (unmon)
		snprintf(buf, len, "trace-u-%u.log", e->instance);
	else
		snprintf(buf, len, "trace-%d-%u.log", e->site, e->instance);
}

static int export_text(const struct wfb_dataset *ds, const char *dir, enum wfb_export_format fmt,
		       char *err, size_t errlen)
{
	struct wfb_trace t;
	size_t i;
	int rc = 0;

	wfb_trace_init(&t);
	for (i = 0; !rc && i < ds->n; i++) {
		char name[64];
		FILE *f;

		rc = wfb_dataset_read(ds, i, &t, err, errlen);
		if (rc)
			break;
		file_name(fmt, &ds->e[i], name, sizeof(name));
		f = open_in(dir, name, err, errlen);
		if (!f) {
			rc = -EIO;
			break;
		}
		if (fmt == WFB_EXPORT_WANG)
			wfb_write_wang(f, &t);
		else
			wfb_write_maybenot(f, &t);
		rc = close_checked(f, dir, name, err, errlen);
	}
	wfb_trace_free(&t);
	return rc;
}

/* ---------------------------------------------------------------- npy */

enum { NPY_TIMES, NPY_SIZES, NPY_KINDS, NPY_LENGTHS, NPY_LABELS, NPY_COUNT };

static const char *const npy_names[NPY_COUNT] = {
	"times.npy", "sizes.npy", "kinds.npy", "lengths.npy", "labels.npy",
};

/* One trace as a row of each matrix: cut at len, zero-padded. */
static void npy_row(FILE **f, const struct wfb_trace *t, size_t len)
{
	size_t j;

	for (j = 0; j < len; j++) {
		const struct wfb_pkt *p = j < t->n ? &t->pkts[j] : NULL;
		int64_t size = p ? (p->size ? (int64_t)p->size : 1) * p->dir : 0;

		wfe_npy_f64(f[NPY_TIMES], p ? (double)p->time_ns / 1e9 : 0);
		wfe_npy_i64(f[NPY_SIZES], size);
		wfe_npy_i64(f[NPY_KINDS], p && p->kind == WFB_COVER);
	}
	wfe_npy_i64(f[NPY_LENGTHS], (int64_t)(t->n < len ? t->n : len));
}

static void traces_csv_row(FILE *f, const struct wfb_dataset *ds, size_t i)
{
	char name[64], lab[32];

	wfb_entry_name(ds->e[i].site, ds->e[i].instance, name, sizeof(name));
	fprintf(f, "%zu,%s,%d,", i, name, ds->e[i].site);
	wfe_csv_field(f, wfb_site_label(ds, ds->e[i].site, lab, sizeof(lab)));
	fputc(',', f);
	wfe_csv_field(f, ds->e[i].src);
	fputc('\n', f);
}

static int npy_open_all(FILE **f, const char *dir, size_t n, size_t len, char *err, size_t errlen)
{
	int k;

	for (k = 0; k < NPY_COUNT; k++) {
		f[k] = open_in(dir, npy_names[k], err, errlen);
		if (!f[k])
			return -EIO;
	}
	wfe_npy_header(f[NPY_TIMES], "<f8", n, len);
	wfe_npy_header(f[NPY_SIZES], "<i8", n, len);
	wfe_npy_header(f[NPY_KINDS], "<i8", n, len);
	wfe_npy_header(f[NPY_LENGTHS], "<i8", n, 0);
	wfe_npy_header(f[NPY_LABELS], "<i8", n, 0);
	return 0;
}

static int export_npy(const struct wfb_dataset *ds, const char *dir, size_t seq_len, char *err,
		      size_t errlen)
{
	size_t len = seq_len;
	FILE *f[NPY_COUNT + 1] = { 0 }; /* [NPY_COUNT]: traces.csv */
	struct wfb_trace t;
	size_t i;
	int k, rc;

	for (i = 0; !seq_len && i < ds->n; i++) /* lossless: the longest trace */
		len = ds->e[i].packets > len ? ds->e[i].packets : len;
	rc = npy_open_all(f, dir, ds->n, len, err, errlen);
	if (!rc && !(f[NPY_COUNT] = open_in(dir, "traces.csv", err, errlen)))
		rc = -EIO;
	if (!rc)
		fputs("index,trace,label,site,source\n", f[NPY_COUNT]);
	wfb_trace_init(&t);
	for (i = 0; !rc && i < ds->n; i++) {
		rc = wfb_dataset_read(ds, i, &t, err, errlen);
		if (rc)
			break;
		npy_row(f, &t, len);
		wfe_npy_i64(f[NPY_LABELS], ds->e[i].site);
		traces_csv_row(f[NPY_COUNT], ds, i);
	}
	wfb_trace_free(&t);
	for (k = 0; k <= NPY_COUNT; k++) {
		int c = f[k] ? close_checked(f[k], dir, k < NPY_COUNT ? npy_names[k] : "traces.csv",
					     err, errlen)
			     : 0;

		rc = rc ? rc : c;
	}
	return rc;
}

/* ---------------------------------------------------------------- the directory */

/* OUT may be replaced (with --force) if an export wrote it or it is empty. */
static int replaceable(const char *out, bool force, char *err, size_t errlen)
{
	char mark[4200];
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *d;

	if (lstat(out, &st))
		return errno == ENOENT
			       ? 0
			       : wfg_err(err, errlen, errno, "%s: %s", out, strerror(errno));
	if (!force)
		return wfg_err(err, errlen, EEXIST, "%s exists (--force replaces it)", out);
	snprintf(mark, sizeof(mark), "%s/%s", out, EXPORT_MARK);
	if (!access(mark, F_OK))
		return 1;
	d = S_ISDIR(st.st_mode) ? opendir(out) : NULL;
	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	if (d && !n)
		return 1;
	return wfg_err(err, errlen, EEXIST, "%s exists and is not an export; not replacing it",
		       out);
}

static int publish(struct wfg_outdir *od, int exists, char *err, size_t errlen)
{
	int rc = exists ? wfg_outdir_exchange(od) : wfg_outdir_rename(od);

	return rc ? wfg_err(err, errlen, -rc, "%s: %s", od->dir, strerror(-rc)) : 0;
}

static int write_mark(const struct wfb_dataset *ds, const char *dir, const char *fmt, char *err,
		      size_t errlen)
{
	FILE *f = open_in(dir, EXPORT_MARK, err, errlen);

	if (!f)
		return -EIO;
	fprintf(f, "wfbench export --format %s %s\nsource=%s\n", fmt, ds->dir, ds->source);
	return close_checked(f, dir, EXPORT_MARK, err, errlen);
}

int wfb_export(const char *dataset, const char *out, const struct wfb_export_opts *o, size_t *n,
	       char *err, size_t errlen)
{
	static const char *const fmt_names[] = { "wang", "maybenot", "npy" };
	struct wfg_outdir od = { 0 };
	struct wfb_dataset ds;
	int exists, rc;

	*n = 0;
	rc = wfb_dataset_open(&ds, dataset, err, errlen);
	if (rc)
		return rc;
	exists = replaceable(out, o->force, err, errlen);
	rc = exists < 0 ? exists : 0;
	if (!rc && wfg_outdir_init(&od, out))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	if (!rc)
		rc = wfg_outdir_mktemp(&od, err, errlen);
	if (!rc)
		rc = o->fmt == WFB_EXPORT_NPY ? export_npy(&ds, od.tmp, o->seq_len, err, errlen)
					      : export_text(&ds, od.tmp, o->fmt, err, errlen);
	if (!rc)
		rc = write_site_names(&ds, od.tmp, err, errlen);
	if (!rc)
		rc = write_mark(&ds, od.tmp, fmt_names[o->fmt], err, errlen);
	if (!rc)
		rc = publish(&od, exists, err, errlen);
	if (!rc)
		*n = ds.n;
	wfg_outdir_close(&od);
	wfb_dataset_close(&ds);
	return rc;
}
