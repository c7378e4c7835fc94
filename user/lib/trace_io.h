/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Trace I/O both tools share: the native trace format's writer and the
 * atomic output directory. `wfguard capture` (capture.c) and the harness's
 * datasets (bench/dataset.c, bench/trace/native.c) write through these, so
 * the format has one writer; it lives here, not in bench/, because the
 * controller links without the harness. Format: docs/trace-format.md.
 *
 * Library code: 0 or -errno; nothing is printed here. Only mktemp writes a
 * message (err); the publishing calls leave the wording to their callers.
 */
#ifndef WFGUARD_USER_TRACE_IO_H
#define WFGUARD_USER_TRACE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The native format's first line, and the part of it before the version. */
#define WFG_TRACE_HEADER "wfguard-trace v1"
#define WFG_TRACE_MAGIC	 "wfguard-trace "

/* The header line; comment lines ("# ...") may follow it. */
void wfg_trace_write_header(FILE *f);
/* One packet: "TIME_NS +|- SIZE r|c" (out: client -> server; size 0 = unknown). */
void wfg_trace_write_pkt(FILE *f, uint64_t time_ns, bool out, uint32_t size, bool cover);

/*
 * A directory written whole or not at all: everything goes into
 * DIR.tmp-XXXXXX, which a rename publishes as DIR. A reader never sees half
 * of it, and a crash leaves DIR as it was.
 */
struct wfg_outdir {
	char *dir; /* the destination, trailing slashes dropped ("out/" -> "out") */
	char *tmp; /* DIR.tmp-XXXXXX while being written; NULL once published */
	/*
	 * The writer fsynced every file it put in tmp: publishing then fsyncs tmp
	 * itself, not the whole file system (syncfs) as it does otherwise.
	 */
	bool files_synced;
};

/* Remember dir (no file system access yet, so callers can check it first); -ENOMEM. */
int wfg_outdir_init(struct wfg_outdir *o, const char *dir);
/* Create the temporary directory (0700, as mkdtemp makes it); -errno, "TMP: why" in err. */
int wfg_outdir_mktemp(struct wfg_outdir *o, char *err, size_t errlen);
/*
 * Flush what was written, then rename tmp to dir (absent, or an empty
 * directory). -errno on failure, and tmp is left as it was.
 */
int wfg_outdir_rename(struct wfg_outdir *o);
/*
 * The same in place of an existing directory: swap the two atomically
 * (RENAME_EXCHANGE; two renames where the file system lacks it), then delete
 * the old one. -errno (-ENOMEM) on failure, tmp left as it was.
 */
int wfg_outdir_exchange(struct wfg_outdir *o);
/* Remove tmp and everything in it unless published; free. Safe twice. */
void wfg_outdir_close(struct wfg_outdir *o);

/* rm -r; 0 or -errno. */
int wfg_remove_tree(const char *dir);

#endif
