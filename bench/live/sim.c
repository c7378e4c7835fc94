// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live simulator's flows: the undefended session replayed one client
 * connection at a time (docs/live-evaluation.md, "Datasets and the simulator").
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* An observed packet of one connection's replay, and its place in that replay. */
struct sim_pkt {
	struct wfb_pkt p;
	size_t conn, seq;
};

static int sim_pkt_order(const void *a, const void *b)
{
	const struct sim_pkt *x = a, *y = b;

	if (x->p.time_ns != y->p.time_ns)
		return x->p.time_ns < y->p.time_ns ? -1 : 1;
	if (x->conn != y->conn)
		return x->conn < y->conn ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Append what one connection's replay put on the wire, at its place in the session. */
static int sim_collect(struct sim_pkt **all, size_t *n, size_t *cap, const struct wfb_trace *o,
		       uint64_t offset, size_t conn)
{
	size_t i;

	if (*n + o->n > *cap) {
		size_t want = (*n + o->n) * 2;
		struct sim_pkt *p = realloc(*all, want * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*all = p;
		*cap = want;
	}
	for (i = 0; i < o->n; i++) {
		(*all)[*n] = (struct sim_pkt){ .p = o->pkts[i], .conn = conn, .seq = i };
		(*all)[(*n)++].p.time_ns += offset;
	}
	return 0;
}

/* One replay per connection, merged in time order (sim.h). */
int wfl_sim_connections(const struct wfg_side_cfg sides[2], const struct wfb_trace *in,
			const uint16_t *cport, struct wfb_replay_opts *ro, struct wfb_trace *out,
			struct wfb_overhead *ov, size_t *conns)
{
	struct wfb_trace sub, o;
	struct sim_pkt *all = NULL;
	size_t n = 0, cap = 0, i, j;
	bool *done = calloc(in->n ? in->n : 1, sizeof(*done));
	int rc = done ? 0 : -ENOMEM;

	*conns = 0;
	memset(ov, 0, sizeof(*ov));
	wfb_trace_init(&sub);
	wfb_trace_init(&o);
	for (i = 0; !rc && i < in->n; i++) {
		uint64_t offset = in->pkts[i].time_ns;
		struct wfb_overhead one;

		if (done[i])
			continue;
		sub.n = 0;
		for (j = i; !rc && j < in->n; j++) {
			const struct wfb_pkt *p = &in->pkts[j];

			if (done[j] || cport[j] != cport[i])
				continue;
			done[j] = true;
			rc = wfb_trace_push(&sub, p->time_ns - offset, p->dir, p->size,
					    (enum wfb_kind)p->kind);
		}
		ro->trace_index = (*conns)++;
		o.n = 0; /* wfb_replay appends */
		if (!rc)
			rc = wfb_replay(&sides[0], &sides[1], &sub, ro, &o, &one);
		if (!rc)
			rc = sim_collect(&all, &n, &cap, &o, offset, *conns);
		if (!rc)
			wfb_overhead_add(ov, &one);
	}
	if (!rc)
		qsort(all, n, sizeof(*all), sim_pkt_order);
	out->n = 0;
	for (i = 0; !rc && i < n; i++)
		rc = wfb_trace_push(out, all[i].p.time_ns, all[i].p.dir, all[i].p.size,
				    (enum wfb_kind)all[i].p.kind);
	free(all);
	free(done);
	wfb_trace_free(&sub);
	wfb_trace_free(&o);
	return rc;
}
