/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Replaying a trace through a defence: the client and the server each run the
 * core (the same headers as the BPF data path) on their side's configuration;
 * a network model joins them; the output is what an observer next to the
 * client sees. docs/replay.md states the model and the overhead definitions.
 */
#ifndef WFBENCH_REPLAY_H
#define WFBENCH_REPLAY_H

#include "trace.h"
#include "wfguard/core/core.h"

/* What a side's core was asked and answered (for tests that replay it elsewhere):
 * op, the packet's length as the data path has it (a real packet's own length,
 * a cover carrier's core length), a cover's flags, the decision. */
typedef void (*wfb_replay_log_fn)(void *arg, int server, enum wfg_core_op op, uint64_t now,
				  uint32_t len, uint8_t flags, const struct wfg_decision *d);

struct wfb_replay_opts {
	uint64_t delay_ns;     /* one-way delay between client and server */
	double bandwidth_mbit; /* per-direction bottleneck; 0 = none */
	uint64_t seed;	       /* with the trace index: the two sides' stream keys */
	uint64_t trace_index;
	uint32_t unknown_size; /* size of packets whose size is unknown (Wang ±1) */
	/* The data path's mode (enum wfg_mode): which wire lengths the sides have
	 * (core/wire.h). Shim mode: sizes are UDP payloads, the shim trailer on
	 * every shaped packet. Tunnel mode: sizes are inner IP packets; the
	 * observer sees WireGuard data messages of them on a device of `mtu`. */
	uint32_t mode;
	uint32_t mtu; /* tunnel mode: the tunnel device's MTU (0: WFB_TUNNEL_MTU) */
	/* Optional: the client's stream key and stream id (default: from seed and index). */
	const __u32 *client_key;
	uint64_t client_stream;
	wfb_replay_log_fn log; /* optional: every core call */
	void *log_arg;
	/* Optional: a pool of defences (docs/policy.md, "pool"), pool[i][side]
	 * ([0] client, [1] server). With pool_n > 1 each side draws its entry per
	 * episode from its own stream, as the data path does (core/defpool.h), and
	 * the client/server arguments of wfb_replay() are not used. */
	const struct wfg_side_cfg (*pool)[2];
	uint32_t pool_n;
	/* Optional: called with each entry a side draws (episode from 1). */
	void (*draw_log)(void *arg, int server, uint32_t episode, uint32_t entry);
};

/* Default MTUs, as `wfbench defend --mtu` documents them (docs/replay.md). */
#define WFB_TUNNEL_MTU 1420 /* WireGuard's default */
#define WFB_SHIM_MTU   1500 /* Ethernet */

/* The replay clock: trace time 0 is this many ns on the core's clock. */
#define WFB_REPLAY_BASE_NS 1000000000ULL

/* Per direction: [0] client -> server, [1] server -> client. */
struct wfb_overhead {
	uint64_t bytes_orig[2], bytes_def[2];
	uint64_t pkts_orig[2], pkts_def[2];
	uint64_t covers[2];
	uint64_t episodes[2]; /* per side ([0] client): episodes begun, the first included */
	uint64_t traces;      /* traces replayed (1 for one wfb_replay) */
	uint64_t last_real_orig_ns, last_real_def_ns; /* time of the last real packet */
};

/*
 * Replay `in` (client-side observation times) through the sides into `out`
 * (the observer's trace, real and cover packets, sizes after shaping). The
 * trace is one flow: the core starts a new episode wherever its real packets
 * pause for the sides' episode time (a session of page loads), and nowhere
 * else. Sizes in `in` are the data path's lengths (see mode); the overheads
 * compare what the observer sees with and without the defence.
 * Returns 0, or -errno (allocation; a runaway policy producing over 50 packets
 * or over 1000 events (timers that send nothing included), per original packet
 * is cut and reported as -E2BIG).
 */
int wfb_replay(const struct wfg_side_cfg *client, const struct wfg_side_cfg *server,
	       const struct wfb_trace *in, const struct wfb_replay_opts *o, struct wfb_trace *out,
	       struct wfb_overhead *ov);

/* Order t's packets from index `from` on by time, stably (ties keep their order). 0 or -ENOMEM. */
int wfb_trace_sort_time(struct wfb_trace *t, size_t from);

/* Sum b into a. */
void wfb_overhead_add(struct wfb_overhead *a, const struct wfb_overhead *b);
/* bandwidth: Σdefended bytes / Σoriginal − 1; latency: Σlast real defended / Σoriginal − 1. */
double wfb_overhead_bandwidth(const struct wfb_overhead *o);
double wfb_overhead_latency(const struct wfb_overhead *o);

#endif
