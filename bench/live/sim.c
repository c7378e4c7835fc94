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

/* One replay per connection, merged in time order (sim.h). */
int wfl_sim_connections(const struct wfg_side_cfg sides[2], const struct wfb_trace *in,
			const uint16_t *cport, struct wfb_replay_opts *ro, struct wfb_trace *out,
			struct wfb_overhead *ov, size_t *conns)
{
	bool *done = calloc(in->n ? in->n : 1, sizeof(*done));
	int rc = done ? 0 : -ENOMEM;
	struct wfb_trace sub;
	size_t i, j, k;

	*conns = 0;
	out->n = 0;
	memset(ov, 0, sizeof(*ov));
	wfb_trace_init(&sub);
	for (i = 0; !rc && i < in->n; i++) {
		uint64_t offset = in->pkts[i].time_ns;
		struct wfb_overhead one;
		size_t from = out->n;

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
		/* appended to out, then moved to the connection's place in the session */
		if (!rc)
			rc = wfb_replay(&sides[0], &sides[1], &sub, ro, out, &one);
		for (k = from; !rc && k < out->n; k++)
			out->pkts[k].time_ns += offset;
		if (!rc)
			wfb_overhead_add(ov, &one);
	}
	/* stable: ties stay in connection order, then each replay's own */
	if (!rc)
		rc = wfb_trace_sort_time(out, 0);
	free(done);
	wfb_trace_free(&sub);
	return rc;
}
