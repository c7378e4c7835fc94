// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the core costs per packet event, in userspace and (as root) inside the
 * kernel through BPF_PROG_TEST_RUN. Every figure is a ratio against a
 * baseline measured in the same run:
 *  - userspace: against one SplitMix64 draw per event (the cheapest possible
 *    "decision");
 *  - kernel: against a run of the same program that returns before the core
 *    (entry, four map lookups, return).
 *   build/bench/perf/core_cost [events]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core_check.skel.h"
#include "presets.h"
#include "core_check.h"
#include "bpfrun.h"
#include "zoo.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct wfg_side_cfg cfg_sink, cfg_front, cfg_tamaraw, cfg_empty;
static struct wfg_flow_side flow;

/* A repeating pattern of sends, receives and timers, like a page load. */
static double run_core(const struct wfg_side_cfg *cfg, long n)
{
	static const __u32 key[8] = { 7 };
	struct wfg_decision d = { 0 };
	__u64 now = 1000000, sink = 0;
	double t0 = now_s();
	long i;

	wfg_flow_init(cfg, &flow, now, key, 1);
	for (i = 0; i < n; i++) {
		now += 50000 + (__u64)(i % 13) * 20000;
		if (i % 3 == 0)
			wfg_on_send(cfg, &flow, now, 100 + (__u32)(i % 1200), WFG_SEND_REAL, 0, &d);
		else if (i % 3 == 1)
			wfg_on_recv(cfg, &flow, now, 0, &d);
		else
			wfg_on_timer(cfg, &flow, d.timer_ns > now ? d.timer_ns : now, &d);
		sink += d.depart_ns + d.covers;
		if (i % 5000 == 4999)
			wfg_flow_init(cfg, &flow, now, key, (__u64)i); /* a new page load */
	}
	if (sink == 42)
		puts("");
	return now_s() - t0;
}

static double run_baseline(long n)
{
	__u64 s = 1, acc = 0;
	double t0 = now_s();
	long i;

	for (i = 0; i < n; i++)
		acc += wfg_splitmix64(&s);
	if (acc == 42)
		puts("");
	return now_s() - t0;
}

static void build_cfgs(void)
{
	static struct wfg_side_builder sb;
	struct wfg_front_params fp;
	struct wfg_tamaraw_params tp;

	zoo_kitchen_sink(&cfg_sink);
	wfg_front_defaults(&fp);
	wfg_sb_init(&sb, &cfg_front);
	zoo_check(&sb, wfg_preset_front(&sb, WFG_ROLE_CLIENT, &fp), "front");
	zoo_check(&sb, wfg_sb_finish(&sb), "front");
	wfg_tamaraw_defaults(&tp);
	wfg_sb_init(&sb, &cfg_tamaraw);
	zoo_check(&sb, wfg_preset_tamaraw(&sb, WFG_ROLE_CLIENT, &tp), "tamaraw");
	zoo_check(&sb, wfg_sb_finish(&sb), "tamaraw");
	wfg_sb_init(&sb, &cfg_empty);
	zoo_check(&sb, wfg_sb_finish(&sb), "empty");
}

static void userspace(long n)
{
	const struct {
		const char *name;
		const struct wfg_side_cfg *cfg;
	} cases[] = {
		{ "no defence", &cfg_empty },
		{ "front", &cfg_front },
		{ "tamaraw", &cfg_tamaraw },
		{ "4 machines+pace+front", &cfg_sink },
	};
	double base = 1e9, best[4];
	int rep, k;

	for (k = 0; k < 4; k++)
		best[k] = 1e9;
	for (rep = 0; rep < 5; rep++) {
		double b = run_baseline(n);

		base = b < base ? b : base;
		for (k = 0; k < 4; k++) {
			double t = run_core(cases[k].cfg, n);

			best[k] = t < best[k] ? t : best[k];
		}
	}
	printf("userspace: %ld events, best of 5; ratio to one SplitMix64 draw per event\n", n);
	printf("  %-24s %10s %8s\n", "side", "ns/event", "ratio");
	printf("  %-24s %10.1f %8.1f\n", "baseline", base * 1e9 / (double)n, 1.0);
	for (k = 0; k < 4; k++)
		printf("  %-24s %10.1f %8.1f\n", cases[k].name, best[k] * 1e9 / (double)n,
		       best[k] / base);
}

static int kernel_run(struct core_check_bpf *skel, const struct wfg_check_cmd *cmd, int repeat,
		      double *ns)
{
	__u8 pkt[64] = { 0 };
	struct wfgt_run o = { .in = pkt, .len = sizeof(pkt), .repeat = repeat };
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.check_cmd), &zero, cmd, 0))
		return -1;
	if (wfgt_prog_run(bpf_program__fd(skel->progs.core_check), &o))
		return -1;
	*ns = o.duration; /* average ns per run, measured by the kernel */
	return 0;
}

static void kernel(void)
{
	struct core_check_bpf *skel;
	struct wfg_check_cmd cmd = { .op = WFG_CHECK_INIT, .now_ns = 1000000 };
	double base = 1e9, send = 1e9, recv = 1e9, t;
	__u32 zero = 0;
	int rep;

	if (geteuid() != 0) {
		printf("kernel: skipped (needs root)\n");
		return;
	}
	libbpf_set_print(NULL);
	skel = core_check_bpf__open_and_load();
	if (!skel) {
		printf("kernel: core_check.bpf.o failed to load\n");
		return;
	}
	bpf_map_update_elem(bpf_map__fd(skel->maps.check_cfg), &zero, &cfg_sink, 0);
	for (rep = 0; rep < 5; rep++) {
		cmd.op = WFG_CHECK_INIT;
		kernel_run(skel, &cmd, 1, &t);
		cmd.op = 99; /* unknown: returns before the core */
		if (!kernel_run(skel, &cmd, 100000, &t) && t < base)
			base = t;
		cmd.op = WFG_OP_SEND_REAL;
		cmd.len = 700;
		if (!kernel_run(skel, &cmd, 100000, &t) && t < send)
			send = t;
		cmd.op = WFG_OP_RECV_NORMAL;
		cmd.len = 0;
		if (!kernel_run(skel, &cmd, 100000, &t) && t < recv)
			recv = t;
	}
	printf("kernel (BPF_PROG_TEST_RUN, 4 machines+pace+front, repeat 100000, best of 5)\n");
	printf("  %-24s %10s %8s\n", "run", "ns/run", "ratio");
	printf("  %-24s %10.0f %8.1f\n", "baseline (no core)", base, 1.0);
	printf("  %-24s %10.0f %8.1f\n", "send (real packet)", send, send / base);
	printf("  %-24s %10.0f %8.1f\n", "recv", recv, recv / base);
	core_check_bpf__destroy(skel);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000L;

	build_cfgs();
	userspace(n);
	kernel();
	return 0;
}
