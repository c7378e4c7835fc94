// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `wfbench defend --jobs 2` against `--jobs 1`, whole runs (read, replay,
 * write with per-file fdatasync, publish), alternating in one process so that
 * both see the same machine load. Prints each run and the ratio of the medians.
 *   build/bench/perf/defend_jobs [sites] [instances] [rounds] [preset]
 *                                                       (default 30 20 3 front)
 * Works in a fresh directory under $TMPDIR (or /tmp) and removes it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "defend.h"
#include "generate.h"
#include "presets.h"
#include "trace_io.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct wfg_side_cfg side[2];

/*
 * The machine's own parallel capacity, measured beside: a fixed amount of
 * arithmetic in one thread, then split over two. On a shared machine the
 * second core may be busy; defend cannot scale beyond this ratio.
 */
#define SPIN_ITERS 200000000ULL

static void *spin(void *arg)
{
	volatile uint64_t *out = arg;
	uint64_t x = 1, i, n = *out;

	for (i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	*out = x;
	return NULL;
}

static double spin_run(unsigned threads)
{
	uint64_t part[2] = { SPIN_ITERS / threads, SPIN_ITERS / threads };
	pthread_t t;
	double t0 = now_s();

	if (threads == 2 && !pthread_create(&t, NULL, spin, &part[1])) {
		spin(&part[0]);
		pthread_join(t, NULL);
	} else {
		spin(&part[0]);
		if (threads == 2)
			spin(&part[1]);
	}
	return now_s() - t0;
}

static double one_run(const char *in, const char *out, unsigned jobs, struct wfb_overhead *ov)
{
	struct wfb_defend_opts o = {
		.replay = { .delay_ns = 20000000, .seed = 1, .unknown_size = 514, .mtu = 1500 },
		.jobs = jobs,
		.force = true,
		.policy_name = "perf",
	};
	char err[512];
	double t0 = now_s();

	if (wfb_defend(&side[0], &side[1], in, out, &o, ov, err, sizeof(err))) {
		fprintf(stderr, "defend_jobs: %s\n", err);
		exit(1);
	}
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	struct wfb_gen_opts g = { .sites = argc > 1 ? (unsigned)atoi(argv[1]) : 30,
				  .instances = argc > 2 ? (unsigned)atoi(argv[2]) : 20,
				  .seed = 1 };
	int rounds = argc > 3 ? atoi(argv[3]) : 3, r;
	const char *preset = argc > 4 ? argv[4] : "front";
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[512], in[600], out[600], err[512];
	double t1[32], t2[32], s1[32], s2[32];
	struct wfb_overhead ov;

	if (rounds < 1 || rounds > 32 || wfg_preset_sides(preset, side, err, sizeof(err))) {
		fprintf(stderr, "defend_jobs: bad rounds or preset\n");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/wfb-perf-defend-XXXXXX", tmp);
	if (!mkdtemp(dir))
		return 1;
	snprintf(in, sizeof(in), "%s/world", dir);
	snprintf(out, sizeof(out), "%s/defended", dir);
	if (wfb_generate(&g, in, false, err, sizeof(err))) {
		fprintf(stderr, "defend_jobs: %s\n", err);
		return 1;
	}
	printf("world: %u sites x %u instances (%u traces), preset %s, %d rounds\n", g.sites,
	       g.instances, g.sites * g.instances, preset, rounds);
	for (r = 0; r < rounds; r++) {
		t1[r] = one_run(in, out, 1, &ov);
		t2[r] = one_run(in, out, 2, &ov);
		s1[r] = spin_run(1);
		s2[r] = spin_run(2);
		printf("round %d: --jobs 1 %.3f s, --jobs 2 %.3f s; spin 1 thread %.3f s, "
		       "2 threads %.3f s\n",
		       r + 1, t1[r], t2[r], s1[r], s2[r]);
	}
	qsort(t1, (size_t)rounds, sizeof(double), dcmp);
	qsort(t2, (size_t)rounds, sizeof(double), dcmp);
	qsort(s1, (size_t)rounds, sizeof(double), dcmp);
	qsort(s2, (size_t)rounds, sizeof(double), dcmp);
	printf("median: --jobs 1 %.3f s (%.2f ms per trace), --jobs 2 %.3f s; "
	       "speed-up %.2fx\n",
	       t1[rounds / 2], 1e3 * t1[rounds / 2] / (g.sites * g.instances), t2[rounds / 2],
	       t1[rounds / 2] / t2[rounds / 2]);
	printf("the machine's capacity in the same run (spin, 1 vs 2 threads): %.2fx\n",
	       s1[rounds / 2] / s2[rounds / 2]);
	wfg_remove_tree(dir);
	return 0;
}
