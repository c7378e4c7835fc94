/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * wfbench live: page loads of the synthetic world fetched over a real tunnel,
 * undefended and defended, captured by an observer, attacked, and held
 * against the simulator's prediction (docs/live-evaluation.md).
 *
 * live.c runs the phases (namespaces, tunnel, server, capture, client);
 * live_report.c turns their captures into datasets and the report.
 */
#ifndef WFBENCH_LIVE_H
#define WFBENCH_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "site.h"
#include "transport.h"

int wfl_cmd_live(int argc, char **argv);
void wfl_live_usage(FILE *f);

/* ---------------------------------------------------------------- shared by live*.c */

struct wfl_opts {
	unsigned sites, loads;
	const char *policy, *client_policy, *out, *attacks, *wfguard;
	const struct wfl_transport *tr;
	enum wfl_conns conns;
	uint64_t seed;
	double time_scale;
	uint64_t gap_ns;
	unsigned folds, jobs;
	bool sequential, force;
};

/* One scheduled page load: which page, and what the client saw of it. */
struct wfl_load {
	int site;
	unsigned instance;
	struct wfl_load_result r;
	int rc;		 /* the fetch's: 0 whole, else -errno */
	uint64_t hdrerr; /* the client end's covers dropped so far, at the load's start */
};

/* What the client helper hands back, in memory shared with the run. */
struct wfl_shared {
	volatile unsigned done;	     /* loads finished */
	uint64_t warm_ns;	     /* the warm-up fetch's round trip (transport's measure) */
	uint64_t end_ns, end_hdrerr; /* after the last load's gap */
	size_t n;
	struct wfl_load load[];
};

enum { WFL_UNDEFENDED, WFL_DEFENDED, WFL_PHASES };

struct wfl_phase {
	const char *name; /* "undefended", "defended": OUT/NAME-run/ */
	bool defended;
	char dir[4096];
	struct wfl_topo topo;
	struct wfl_procs ps;
	pid_t client, capture, run;
	struct wfl_shared *sh;		    /* written by the client helper (MAP_SHARED) */
	uint64_t cap_received, cap_dropped; /* libpcap's counts */
	int status;			    /* the client helper's exit status */
};

/* live_report.c: the captures into datasets, the attacks, the report; 0 or an exit code. */
int wfl_report(const struct wfl_opts *o, struct wfl_phase ph[WFL_PHASES]);

#endif /* WFBENCH_LIVE_H */
