/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The journal of a resumable run (evaluate and sweep: bench/eval_journal.c;
 * search and combo: bench/search_run.c): a magic line naming the kind, a line
 * fingerprinting the settings the results depend on, then one line per
 * finished unit, doubles exact (%a). A line without its newline was cut by a
 * crash: reading stops there and that unit is done again. docs/cluster.md.
 */
#ifndef WFB_JOURNAL_H
#define WFB_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

struct wfb_journal_kind {
	const char *magic; /* line 1 */
	const char *what;  /* "an evaluate/sweep journal", for line 1's error */
	const char *retry; /* what to do when line 2 differs, after "; " */
	/* One unit's line (from line 3 on): 0, or an error already in err. */
	int (*line)(void *ctx, const char *line, const char *path, unsigned lineno, char *err,
		    size_t errlen);
};

/*
 * Read path's journal against the fingerprint fp. 0 with *existed false when
 * there is no such file; *existed true once its two header lines are read
 * and agree. -errno with err set on a bad file (path:line: what is wrong).
 */
int wfb_journal_read(const char *path, const struct wfb_journal_kind *kind, const char *fp,
		     void *ctx, bool *existed, char *err, size_t errlen);

#endif
