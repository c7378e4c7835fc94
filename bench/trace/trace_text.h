/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to bench/trace/: what the text-format readers (wang.c, maybenot.c,
 * native.c) share with lex.c. Not for the rest of the harness: trace.h is
 * the public interface.
 */
#ifndef WFBENCH_TRACE_TEXT_H
#define WFBENCH_TRACE_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "trace.h"

/* A stream read line by line, counting lines for "name:line:" messages. */
struct lines {
	FILE *f;
	const char *name;
	char *buf;
	size_t cap;
	size_t lineno;
	enum wfb_order order;	    /* what wfb_check_order does with an inversion */
	struct wfb_inversions *inv; /* KEEP/SORT: where it counts them */
};

/* The next line, trimmed; NULL at the end or on a read error (see wfb_lines_error). */
char *wfb_lines_next(struct lines *l);
/* -EIO with a message if the stream had a read error, else 0. */
int wfb_lines_error(struct lines *l, char *err, size_t errlen);

/* An error at the current line: "name:line: what" (err and errlen in scope). */
#define LERR(l, code, fmt, ...) \
	wfg_err(err, errlen, code, "%s:%zu: " fmt, (l)->name, (l)->lineno, ##__VA_ARGS__)

/* Every non-blank line through `one`; the trace is emptied first. */
int wfb_read_lines(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen,
		   int (*one)(struct lines *, char *, struct wfb_trace *, char *, size_t));
/* The same, with a choice for times that go backwards (trace.h); inv may be NULL. */
int wfb_read_lines_ordered(FILE *f, const char *name, enum wfb_order order,
			   struct wfb_inversions *inv, struct wfb_trace *t, char *err,
			   size_t errlen,
			   int (*one)(struct lines *, char *, struct wfb_trace *, char *, size_t));
int wfb_read_wang_ordered(FILE *f, const char *name, enum wfb_order order,
			  struct wfb_inversions *inv, struct wfb_trace *t, char *err,
			  size_t errlen);
int wfb_read_maybenot_ordered(FILE *f, const char *name, enum wfb_order order,
			      struct wfb_inversions *inv, struct wfb_trace *t, char *err,
			      size_t errlen);
/*
 * Times must not go backwards: an error when l->order is STRICT, else counted
 * in l->inv (the packet is pushed as read; wfb_read_lines_ordered repairs the
 * order at the end). `seconds` chooses how the message shows the times.
 */
int wfb_check_order(struct lines *l, const struct wfb_trace *t, uint64_t ns, bool seconds,
		    char *err, size_t errlen);
/* Split at every comma (empty fields count); fields trimmed of blanks. */
int wfb_split_commas(char *s, char **fields, int max);
/* Unsigned nanoseconds / bytes fields, with the line's error on failure. */
int wfb_ns_field(struct lines *l, const char *s, uint64_t *ns, char *err, size_t errlen);
int wfb_size_field(struct lines *l, const char *s, uint32_t *size, char *err, size_t errlen);

/* ferror(), not each fprintf: a full disk shows there and stays set. */
static inline int wfb_write_status(FILE *f)
{
	return ferror(f) ? -EIO : 0;
}
#endif /* WFBENCH_TRACE_TEXT_H */
