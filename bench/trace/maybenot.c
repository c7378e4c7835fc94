// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Maybenot simulator's format: "<ns>,<event>[,<size>]" per line
 * (docs/trace-format.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "trace_text.h"

/* ---------------------------------------------------------------- Maybenot */

#define MAYBENOT_SHAPE "expected '<time_ns>,<s|r|sn|rn|sp|rp>[,<size>]', got '%s'"

static int maybenot_event(const char *s, int *dir, enum wfb_kind *kind)
{
	static const struct {
		const char *name;
		int dir;
		enum wfb_kind kind;
	} ev[] = {
		{ "s", WFB_OUT, WFB_REAL },   { "sn", WFB_OUT, WFB_REAL },
		{ "r", WFB_IN, WFB_REAL },    { "rn", WFB_IN, WFB_REAL },
		{ "sp", WFB_OUT, WFB_COVER }, { "rp", WFB_IN, WFB_COVER },
	};
	size_t i;

	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		if (!strcmp(s, ev[i].name)) {
			*dir = ev[i].dir;
			*kind = ev[i].kind;
			return 0;
		}
	}
	return -EINVAL;
}

static int maybenot_one(struct lines *l, char *line, struct wfb_trace *t, char *err, size_t errlen)
{
	char *copy = strdup(line), *f[3], q[64];
	enum wfb_kind kind = WFB_REAL;
	uint32_t size = 0;
	uint64_t ns = 0;
	int n, dir = 0, rc;

	if (!copy)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	n = wfb_split_commas(copy, f, 3);
	if (n < 2 || n > 3 || !*f[0] || !*f[1] || (n == 3 && !*f[2]))
		rc = LERR(l, EINVAL, MAYBENOT_SHAPE, wfb_quote(line, q, sizeof(q)));
	else if (!(rc = wfb_ns_field(l, f[0], &ns, err, errlen)) &&
		 maybenot_event(f[1], &dir, &kind))
		rc = LERR(l, EINVAL, "unknown event '%s': expected s, r, sn, rn, sp or rp",
			  wfb_quote(f[1], q, sizeof(q)));
	if (!rc && n == 3)
		rc = wfb_size_field(l, f[2], &size, err, errlen);
	if (!rc)
		rc = wfb_check_order(l, t, ns, false, err, errlen);
	if (!rc && wfb_trace_push(t, ns, dir, size, kind))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	free(copy);
	return rc;
}

int wfb_read_maybenot(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen)
{
	return wfb_read_lines(f, name, t, err, errlen, maybenot_one);
}

int wfb_read_maybenot_ordered(FILE *f, const char *name, enum wfb_order order,
			      struct wfb_inversions *inv, struct wfb_trace *t, char *err,
			      size_t errlen)
{
	return wfb_read_lines_ordered(f, name, order, inv, t, err, errlen, maybenot_one);
}

/* ---------------------------------------------------------------- writer */

int wfb_write_maybenot(FILE *f, const struct wfb_trace *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];
		const char *ev = p->dir == WFB_OUT ? "s" : "r";

		if (p->kind == WFB_COVER)
			ev = p->dir == WFB_OUT ? "sp" : "rp";
		if (p->size)
			fprintf(f, "%llu,%s,%u\n", (unsigned long long)p->time_ns, ev, p->size);
		else
			fprintf(f, "%llu,%s\n", (unsigned long long)p->time_ns, ev);
	}
	return wfb_write_status(f);
}
