/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A search or combo run (search_run.c): candidates derived (search) or
 * stacked from kept defences (combo), simulated over the ranks of par.h,
 * journalled so that an interrupted run resumes, and the first n kept
 * candidates in index order written out. docs/search.md, docs/cluster.md.
 */
#ifndef WFBENCH_SEARCH_RUN_H
#define WFBENCH_SEARCH_RUN_H

#include <signal.h>

#include "search.h"

struct wfs_run_opts {
	const char *dataset;
	const char *outdir;
	const char *from; /* combo: the directory of a search (or combo) run; NULL: search */
	uint64_t seed;
	unsigned n; /* defences to keep */
	struct wfs_constraints c;
	bool resume; /* continue the journal in outdir */
	/* Optional: candidates done so far and kept so far (rank 0). */
	void (*progress)(uint64_t done, unsigned kept, void *arg);
	void *progress_arg;
	volatile sig_atomic_t *stop; /* optional: stop after the current round */
};

struct wfs_run_report {
	uint64_t candidates; /* evaluated (the journal's included) up to the last kept */
	uint64_t resumed;    /* of those, read back from the journal */
	unsigned kept;	     /* written (min(n, found)) */
	bool interrupted;
};

/*
 * Files in outdir (rank 0 writes them; docs/search.md): constraints.txt,
 * journal.txt (as the run goes), candidates.csv, defences.csv and
 * defences/NAME.yaml, defences/NAME.mb. An outdir holding a journal is
 * refused unless resume; resume refuses a journal of other settings.
 * Returns 0 (also when fewer than n were found within tries * n
 * candidates: report->kept says), or -errno with one line in err.
 */
int wfs_run(const struct wfs_run_opts *o, struct wfs_run_report *report, char *err, size_t errlen);

#endif
