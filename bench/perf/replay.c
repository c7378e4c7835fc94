// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Replay throughput: packets per second on one core for each preset, as a
 * ratio against reading and writing the same traces with no defence (each
 * trace written in the native format and read back, in memory), in the same
 * run.
 *   build/bench/perf/replay [sites] [instances]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "generate.h"
#include "presets.h"
#include "replay.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct wfg_side_cfg side[2];

int main(int argc, char **argv)
{
	struct wfb_gen_opts g = { .sites = argc > 1 ? (unsigned)atoi(argv[1]) : 20,
				  .instances = argc > 2 ? (unsigned)atoi(argv[2]) : 5,
				  .seed = 1 };
	const char *presets[] = { "none", "front", "regulator", "tamaraw" };
	struct wfb_replay_opts o = { .delay_ns = 20000000, .unknown_size = 514 };
	size_t n = (size_t)g.sites * g.instances, i, k, pkts_in = 0;
	struct wfb_trace *traces = calloc(n, sizeof(*traces)), out;
	double base = 1e18;
	int rep;

	if (!traces)
		return 1;
	for (i = 0; i < n; i++) {
		wfb_trace_init(&traces[i]);
		if (wfb_gen_trace(&g, (int)(i / g.instances), (unsigned)(i % g.instances),
				  &traces[i]))
			return 1;
		pkts_in += traces[i].n;
	}
	wfb_trace_init(&out);
	/* Baseline: each trace written in the native format and read back. */
	for (rep = 0; rep < 3; rep++) {
		double t0 = now_s(), dt;

		for (i = 0; i < n; i++) {
			char *buf = NULL, err[128];
			size_t len = 0;
			FILE *w = open_memstream(&buf, &len), *r;

			if (!w || wfb_write_native(w, &traces[i]))
				return 1;
			fclose(w);
			r = fmemopen(buf, len, "r");
			out.n = 0;
			if (!r || wfb_read_native(r, "mem", &out, err, sizeof(err)))
				return 1;
			fclose(r);
			free(buf);
		}
		dt = now_s() - t0;
		base = dt < base ? dt : base;
	}
	printf("replay: %zu traces, %zu packets in, one core, best of 3\n", n, pkts_in);
	printf("  %-12s %14s %14s %10s\n", "preset", "packets in/s", "packets out", "ratio");
	printf("  %-12s %14.0f %14zu %10.1f\n", "read+write", (double)pkts_in / base, pkts_in, 1.0);
	for (k = 0; k < sizeof(presets) / sizeof(presets[0]); k++) {
		double best = 1e18;
		size_t pkts_out = 0;

		char err[256];

		if (wfg_preset_sides(presets[k], side, err, sizeof(err)))
			return fprintf(stderr, "%s\n", err), 1;
		for (rep = 0; rep < 3; rep++) {
			double t0 = now_s(), dt;
			struct wfb_overhead ov;

			pkts_out = 0;
			for (i = 0; i < n; i++) {
				out.n = 0;
				o.trace_index = i;
				if (wfb_replay(&side[0], &side[1], &traces[i], &o, &out, &ov))
					return 1;
				pkts_out += out.n;
			}
			dt = now_s() - t0;
			best = dt < best ? dt : best;
		}
		printf("  %-12s %14.0f %14zu %10.1f\n", presets[k], (double)pkts_in / best,
		       pkts_out, best / base);
	}
	for (i = 0; i < n; i++)
		wfb_trace_free(&traces[i]);
	wfb_trace_free(&out);
	free(traces);
	return 0;
}
