/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef WFBENCH_LIVE_SIM_H
#define WFBENCH_LIVE_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "replay.h"

/*
 * Replay the session `in` one client connection at a time (cport[i]: packet
 * i's client port), each as its own flow with its own streams (ro->trace_index
 * 0, 1, ... in order of each connection's first packet; ro is changed), and
 * merge what they put on the wire into `out` in time order (ties: by
 * connection, then by each replay's order); *ov the sum of their overheads,
 * *conns how many. Why: the data path keys flows by the 5-tuple, so every
 * connection draws its own defence (in shim mode each QUIC connection of a
 * load has its own FRONT budget). Over WireGuard the outer port never
 * changes: one flow, exactly wfb_replay. Returns 0 or -errno.
 */
int wfl_sim_connections(const struct wfg_side_cfg sides[2], const struct wfb_trace *in,
			const uint16_t *cport, struct wfb_replay_opts *ro, struct wfb_trace *out,
			struct wfb_overhead *ov, size_t *conns);

#endif
