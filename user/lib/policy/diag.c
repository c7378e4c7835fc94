// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Diagnostics: every error is kept with its position and sorted at the end,
 * so that a policy's errors read top to bottom whatever phase found them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void verr(struct pctx *c, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	struct raw_diag *d;

	if (c->nraw >= c->cap) {
		c->lost = 1;
		return;
	}
	d = &c->raw[c->nraw];
	d->line = line;
	d->col = col;
	d->seq = (unsigned)c->nraw++;
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
}

__attribute__((format(printf, 3, 4))) void err_mark(struct pctx *c, yaml_mark_t m, const char *fmt,
						    ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, (unsigned)m.line + 1, (unsigned)m.column + 1, fmt, ap);
	va_end(ap);
}

/* At a node (NULL: the top of the file). */
__attribute__((format(printf, 3, 4))) void err_at(struct pctx *c, const yaml_node_t *n,
						  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (n)
		verr(c, (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1, fmt,
		     ap);
	else
		verr(c, 1, 1, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) void err_line(struct pctx *c, unsigned line, unsigned col,
						    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, line, col, fmt, ap);
	va_end(ap);
}

/* No position: the file itself (cannot be read, out of memory). */
__attribute__((format(printf, 2, 3))) void err_io(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, 0, 0, fmt, ap);
	va_end(ap);
}

static int cmp_raw(const void *a, const void *b)
{
	const struct raw_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorted by position, identical messages at one place once. */
void emit_diags(struct pctx *c, struct wfg_diags *out)
{
	int i;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	qsort(c->raw, (size_t)c->nraw, sizeof(c->raw[0]), cmp_raw);
	for (i = 0; i < c->nraw; i++) {
		const struct raw_diag *d = &c->raw[i];
		size_t cap = sizeof(out->d[0].msg), ml;
		char *m;
		int k;

		if (i && d->line == d[-1].line && d->col == d[-1].col && !strcmp(d->msg, d[-1].msg))
			continue;
		if (out->n >= WFG_POLICY_MAX_DIAGS) {
			out->truncated = 1;
			break;
		}
		m = out->d[out->n++].msg;
		if (d->line)
			k = snprintf(m, cap, "%.*s:%u:%u: ", 120, c->file, d->line, d->col);
		else
			k = snprintf(m, cap, "%.*s: ", 120, c->file);
		if (k < 0 || (size_t)k >= cap)
			continue;
		ml = strlen(d->msg);
		if (ml > cap - 1 - (size_t)k)
			ml = cap - 1 - (size_t)k;
		memcpy(m + k, d->msg, ml);
		m[(size_t)k + ml] = 0;
	}
	if (c->lost)
		out->truncated = 1;
}
