/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A synthetic world of page loads seen from the client's side of a UDP tunnel:
 * per-site page models (resources, sizes, dependency waves, origins) and a
 * small network simulation (DNS, handshakes, slow start, a bottleneck link,
 * delayed ACKs) with per-instance variation. The model: docs/synthetic-world.md.
 *
 * Deterministic: the same options give the same traces, byte for byte.
 */
#ifndef WFBENCH_GENERATE_H
#define WFBENCH_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "trace.h"

#define WFB_GEN_MTU 1400 /* largest tunnel datagram */

struct wfb_gen_opts {
	unsigned sites, instances, unmonitored;
	uint64_t seed;
	/* called after each trace written (may be NULL) */
	void (*progress)(size_t done, size_t total, void *arg);
	void *arg;
};

/* Site `site` (0..sites-1), or unmonitored page k as site = WFB_UNMON, instance = k. */
int wfb_gen_trace(const struct wfb_gen_opts *o, int site, unsigned instance, struct wfb_trace *t);

/* The whole world as a dataset in dir (atomically; force replaces a dataset). */
int wfb_generate(const struct wfb_gen_opts *o, const char *dir, bool force, char *err,
		 size_t errlen);

#endif /* WFBENCH_GENERATE_H */
