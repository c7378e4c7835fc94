// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Wang et al.'s format: "<seconds><TAB><±size>" per line, the sign the
 * direction (docs/trace-format.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "trace_text.h"

/* ---------------------------------------------------------------- Wang */

#define WANG_SHAPE "expected '<time><TAB><±size>', got '%s'"

static int wang_time(struct lines *l, const char *s, uint64_t *ns, char *err, size_t errlen)
{
	char q[64];
	int rc = wfb_parse_seconds(s, ns);

	if (rc == -EDOM)
		return LERR(l, EINVAL, "negative time '%s'", wfb_quote(s, q, sizeof(q)));
	if (rc == -ERANGE)
		return LERR(l, EINVAL, "time '%s' out of range", wfb_quote(s, q, sizeof(q)));
	if (rc)
		return LERR(l, EINVAL, "bad time '%s': expected seconds as a decimal number",
			    wfb_quote(s, q, sizeof(q)));
	return 0;
}

static int wang_size(struct lines *l, const char *s, int *dir, uint32_t *size, char *err,
		     size_t errlen)
{
	const char *digits = s + (*s == '+' || *s == '-');
	uint64_t v;
	char q[64];
	int rc = wfb_parse_u64(digits, UINT32_MAX, &v);

	if (rc == -ERANGE)
		return LERR(l, EINVAL, "size '%s' out of range", wfb_quote(s, q, sizeof(q)));
	if (rc)
		return LERR(l, EINVAL,
			    "bad size '%s': expected a signed integer "
			    "(+ client to server, - server to client)",
			    wfb_quote(s, q, sizeof(q)));
	if (v == 0)
		return LERR(l, EINVAL, "size 0 has no direction");
	*dir = *s == '-' ? WFB_IN : WFB_OUT;
	*size = v == 1 ? 0 : (uint32_t)v; /* ±1: direction only, size unknown */
	return 0;
}

static int wang_one(struct lines *l, char *line, struct wfb_trace *t, char *err, size_t errlen)
{
	char *copy = strdup(line), *f[2], q[64];
	uint32_t size = 0;
	uint64_t ns = 0;
	int dir = 0, rc;

	if (!copy)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	if (wfb_split(copy, " \t", f, 2) != 2)
		rc = LERR(l, EINVAL, WANG_SHAPE, wfb_quote(line, q, sizeof(q)));
	else if (!(rc = wang_time(l, f[0], &ns, err, errlen)))
		rc = wang_size(l, f[1], &dir, &size, err, errlen);
	if (!rc)
		rc = wfb_check_order(l, t, ns, true, err, errlen);
	if (!rc && wfb_trace_push(t, ns, dir, size, WFB_REAL))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	free(copy);
	return rc;
}

int wfb_read_wang(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen)
{
	return wfb_read_lines(f, name, t, err, errlen, wang_one);
}

int wfb_read_wang_ordered(FILE *f, const char *name, enum wfb_order order,
			  struct wfb_inversions *inv, struct wfb_trace *t, char *err, size_t errlen)
{
	return wfb_read_lines_ordered(f, name, order, inv, t, err, errlen, wang_one);
}

/* ---------------------------------------------------------------- writer */

int wfb_write_wang(FILE *f, const struct wfb_trace *t)
{
	char ts[40];
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];
		long long v = p->size ? (long long)p->size : 1;

		fprintf(f, "%s\t%lld\n", wfb_fmt_seconds(p->time_ns, ts, sizeof(ts)),
			p->dir == WFB_IN ? -v : v);
	}
	return wfb_write_status(f);
}
