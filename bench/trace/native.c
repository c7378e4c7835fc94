// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfguard's own text format, the one datasets and `wfguard capture` write:
 * a versioned header, then "<ns> <+|-> <size> <r|c>" (docs/trace-format.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "trace_text.h"

#include "trace_io.h"

/* The writer is shared with `wfguard capture` (user/lib/trace_io.c); so is the header. */
#define NATIVE_HEADER WFG_TRACE_HEADER
#define NATIVE_MAGIC  WFG_TRACE_MAGIC

/* ---------------------------------------------------------------- native */

#define NATIVE_SHAPE "expected '<time_ns> <+|-> <size> <r|c>', got '%s'"

static int native_fields(struct lines *l, char **f, uint64_t *ns, int *dir, uint32_t *size,
			 enum wfb_kind *kind, char *err, size_t errlen)
{
	char q[64];
	int rc = wfb_ns_field(l, f[0], ns, err, errlen);

	if (rc)
		return rc;
	if (strcmp(f[1], "+") && strcmp(f[1], "-"))
		return LERR(l, EINVAL, "bad direction '%s': expected + or -",
			    wfb_quote(f[1], q, sizeof(q)));
	*dir = f[1][0] == '+' ? WFB_OUT : WFB_IN;
	rc = wfb_size_field(l, f[2], size, err, errlen);
	if (rc)
		return rc;
	if (strcmp(f[3], "r") && strcmp(f[3], "c"))
		return LERR(l, EINVAL, "bad kind '%s': expected r (real) or c (cover)",
			    wfb_quote(f[3], q, sizeof(q)));
	*kind = f[3][0] == 'c' ? WFB_COVER : WFB_REAL;
	return 0;
}

static int native_one(struct lines *l, char *line, struct wfb_trace *t, char *err, size_t errlen)
{
	char *copy, *f[4], q[64];
	enum wfb_kind kind = WFB_REAL;
	uint32_t size = 0;
	uint64_t ns = 0;
	int dir = 0, rc;

	if (*line == '#')
		return 0;
	copy = strdup(line);
	if (!copy)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	if (wfb_split(copy, " \t", f, 4) != 4)
		rc = LERR(l, EINVAL, NATIVE_SHAPE, wfb_quote(line, q, sizeof(q)));
	else
		rc = native_fields(l, f, &ns, &dir, &size, &kind, err, errlen);
	if (!rc)
		rc = wfb_check_order(l, t, ns, false, err, errlen);
	if (!rc && wfb_trace_push(t, ns, dir, size, kind))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	free(copy);
	return rc;
}

static int native_header(struct lines *l, char *err, size_t errlen)
{
	char *line = wfb_lines_next(l), q[64];

	if (!line) {
		int rc = wfb_lines_error(l, err, errlen);

		l->lineno = 1;
		return rc ? rc
			  : LERR(l, EINVAL, "empty file: expected the header '%s'", NATIVE_HEADER);
	}
	if (!strcmp(line, NATIVE_HEADER))
		return 0;
	if (!strncmp(line, NATIVE_MAGIC, strlen(NATIVE_MAGIC)))
		return LERR(l, EINVAL, "unsupported version '%s' (this build reads '%s')",
			    wfb_quote(line + strlen(NATIVE_MAGIC), q, sizeof(q)), NATIVE_HEADER);
	return LERR(l, EINVAL, "expected the header '%s', got '%s'", NATIVE_HEADER,
		    wfb_quote(line, q, sizeof(q)));
}

int wfb_read_native(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen)
{
	struct lines l = { .f = f, .name = name };
	char *line;
	int rc;

	t->n = 0;
	rc = native_header(&l, err, errlen);
	while (!rc && (line = wfb_lines_next(&l))) {
		if (*line)
			rc = native_one(&l, line, t, err, errlen);
	}
	if (!rc)
		rc = wfb_lines_error(&l, err, errlen);
	free(l.buf);
	return rc;
}

/* ---------------------------------------------------------------- writer */

int wfb_write_native(FILE *f, const struct wfb_trace *t)
{
	size_t i;

	wfg_trace_write_header(f);
	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];

		wfg_trace_write_pkt(f, p->time_ns, p->dir == WFB_OUT, p->size,
				    p->kind == WFB_COVER);
	}
	return wfb_write_status(f);
}
