// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * PRNG cost: ChaCha (8, 12, 20 rounds) against SplitMix64, all in one process
 * so the figures are ratios against the same baseline on the same machine.
 *   build/bench/perf/prng [draws]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wfguard/core/prng.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Draw n 32-bit words from ChaCha with `rounds` rounds, buffered like the core. */
static __u32 run_chacha(int rounds, long n)
{
	struct wfg_prng r;
	__u32 acc = 0;
	long i;

	wfg_prng_init_seed(&r, 42, 1);
	for (i = 0; i < n; i++) {
		if (r.pos >= 16) {
			wfg_chacha_block(r.key, r.stream, r.block++, rounds, r.buf);
			r.pos = 0;
		}
		acc ^= r.buf[r.pos++];
	}
	return acc;
}

static __u32 run_core(long n)
{
	struct wfg_prng r;
	__u32 acc = 0;
	long i;

	wfg_prng_init_seed(&r, 42, 1);
	for (i = 0; i < n; i++)
		acc ^= wfg_rand32(&r);
	return acc;
}

static __u32 run_splitmix(long n)
{
	__u64 s = 42;
	__u32 acc = 0;
	long i;

	for (i = 0; i < n; i++)
		acc ^= (__u32)wfg_splitmix64(&s);
	return acc;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 50000000L;
	const int reps = 5;
	const char *names[] = { "splitmix64", "chacha8", "chacha12", "chacha20",
				"core(wfg_rand32)" };
	double best[5];
	volatile __u32 sink = 0;
	int k, rep;

	for (k = 0; k < 5; k++)
		best[k] = 1e9;
	/* Interleave the candidates so that machine noise hits all of them alike. */
	for (rep = 0; rep < reps; rep++) {
		for (k = 0; k < 5; k++) {
			double t0 = now_s(), dt;

			switch (k) {
			case 0:
				sink ^= run_splitmix(n);
				break;
			case 1:
				sink ^= run_chacha(8, n);
				break;
			case 2:
				sink ^= run_chacha(12, n);
				break;
			case 3:
				sink ^= run_chacha(20, n);
				break;
			default:
				sink ^= run_core(n);
				break;
			}
			dt = now_s() - t0;
			if (dt < best[k])
				best[k] = dt;
		}
	}
	printf("prng: %ld draws of 32 bits, best of %d, ratio to splitmix64\n", n, reps);
	printf("%-18s %10s %8s\n", "generator", "ns/draw", "ratio");
	for (k = 0; k < 5; k++)
		printf("%-18s %10.2f %8.2f\n", names[k], best[k] * 1e9 / (double)n,
		       best[k] / best[0]);
	return sink == 0xdeadbeef; /* keep the work alive */
}
