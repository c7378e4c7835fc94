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

/* Sessions: loads per session at most, and the default idle between loads
 * (log-uniform, seconds): longer than the default episode time of 3 s. */
#define WFB_SESSION_MAX_LOADS 64
#define WFB_SESSION_GAP_MIN_S 5.0
#define WFB_SESSION_GAP_MAX_S 30.0

struct wfb_gen_opts {
	unsigned sites, instances, unmonitored;
	uint64_t seed;
	/* 0: one page load per trace. Else every trace is a session of this many
	 * page loads, `gap` seconds of silence between them (log-uniform in
	 * [gap_min_s, gap_max_s]; both 0: the defaults above). */
	unsigned session;
	double gap_min_s, gap_max_s;
	/* called after each trace written (may be NULL) */
	void (*progress)(size_t done, size_t total, void *arg);
	void *arg;
};

/* Site `site` (0..sites-1), or unmonitored page k as site = WFB_UNMON, instance = k. */
int wfb_gen_trace(const struct wfb_gen_opts *o, int site, unsigned instance, struct wfb_trace *t);

/*
 * One page load's resources as a real client fetches them (bench/live): the
 * model's resources this load has, the HTML first, sizes and times as the
 * trace simulation draws them for (site, instance).
 */
#define WFB_PAGE_MAX_RES     160
#define WFB_PAGE_MAX_ORIGINS 8
#define WFB_PAGE_ROOT	     (-1) /* the HTML: requested at the start */
#define WFB_PAGE_ONLOAD	     (-2) /* requested after every other resource is in */

struct wfb_page_res {
	uint32_t size;	  /* response body bytes */
	uint32_t req;	  /* request bytes */
	unsigned origin;  /* 0 first party, 1 CDN, 2.. third parties: one connection pool each */
	int parent;	  /* index of the resource whose body reveals it, or ROOT/ONLOAD */
	double disc;	  /* discovered once this fraction of the parent's body is in */
	double delay_ms;  /* from discovery (or onload) to the request: parse, script, think */
	double server_ms; /* the server's time before it answers */
};

struct wfb_page {
	unsigned n, origins;
	struct wfb_page_res res[WFB_PAGE_MAX_RES];
};

int wfb_gen_page(const struct wfb_gen_opts *o, int site, unsigned instance, struct wfb_page *pg);

/* One page load of a session: which page, and where it lies in the trace. */
struct wfb_load {
	int site; /* or WFB_UNMON */
	unsigned instance;
	uint64_t first_ns, last_ns; /* its first and last packet */
};

/*
 * Session (site, instance) of o->session loads: the page (site, instance)
 * first, then pages of monitored sites drawn at random (loads the world's
 * dataset does not have), each after a gap. loads[] gets o->session entries.
 */
int wfb_gen_session(const struct wfb_gen_opts *o, int site, unsigned instance, struct wfb_trace *t,
		    struct wfb_load *loads);

/* The whole world as a dataset in dir (atomically; force replaces a dataset).
 * Sessions: the dataset also gets a `loads` file (docs/synthetic-world.md). */
int wfb_generate(const struct wfb_gen_opts *o, const char *dir, bool force, char *err,
		 size_t errlen);

#endif /* WFBENCH_GENERATE_H */
