// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The replay harness: network model, overhead arithmetic, defences, determinism. */
#include <criterion/criterion.h>

#include "defend.h"
#include "generate.h"
#include "loader.h"
#include "policy.h"
#include "presets.h"
#include "replay.h"
#include "side_build.h"

#define MS 1000000ULL

static struct wfg_side_cfg cli, srv;
static struct wfg_side_builder sb;

static void empty_sides(void)
{
	wfg_sb_init(&sb, &cli);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	wfg_sb_init(&sb, &srv);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
}

static void page(struct wfb_trace *t)
{
	int i;

	wfb_trace_init(t);
	wfb_trace_push(t, 0, WFB_OUT, 300, WFB_REAL);
	for (i = 0; i < 20; i++)
		wfb_trace_push(t, 30 * MS + (uint64_t)i * MS, WFB_IN, 1200 - 10 * (uint32_t)i,
			       WFB_REAL);
	wfb_trace_push(t, 60 * MS, WFB_OUT, 100, WFB_REAL);
	for (i = 0; i < 10; i++)
		wfb_trace_push(t, 90 * MS + (uint64_t)i * MS, WFB_IN, 700, WFB_REAL);
}

static const struct wfb_replay_opts opts = { .delay_ns = 10 * MS, .unknown_size = 514 };

Test(replay, no_defence_reproduces_the_trace)
{
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	size_t i;

	empty_sides();
	page(&in);
	wfb_trace_init(&out);
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &opts, &out, &ov), 0);
	cr_assert(wfb_trace_equal(&in, &out), "undefended replay changed the trace");
	for (i = 0; i < 2; i++) {
		cr_assert_eq(ov.bytes_def[i], ov.bytes_orig[i]);
		cr_assert_eq(ov.covers[i], 0);
	}
	cr_assert_float_eq(wfb_overhead_bandwidth(&ov), 0.0, 1e-12);
	cr_assert_float_eq(wfb_overhead_latency(&ov), 0.0, 1e-12);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
}

/* Two 1250-byte packets at once over 10 Mbit/s: 1 ms each on the link. */
Test(replay, bottleneck_serialises_by_hand)
{
	struct wfb_replay_opts o = opts;
	struct wfb_trace in, out;
	struct wfb_overhead ov;

	empty_sides();
	o.bandwidth_mbit = 10;
	wfb_trace_init(&in);
	wfb_trace_init(&out);
	wfb_trace_push(&in, 0, WFB_OUT, 1250, WFB_REAL);
	wfb_trace_push(&in, 0, WFB_OUT, 1250, WFB_REAL);
	wfb_trace_push(&in, 50 * MS, WFB_IN, 1250, WFB_REAL);
	wfb_trace_push(&in, 50 * MS, WFB_IN, 1250, WFB_REAL);
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &o, &out, &ov), 0);
	cr_assert_eq(out.n, 4);
	cr_assert_eq(out.pkts[0].time_ns, 0);
	cr_assert_eq(out.pkts[1].time_ns, 1 * MS, "second waits for the link");
	/* server sends both at 40 ms; they arrive after 1 and 2 ms of link plus 10 ms */
	cr_assert_eq(out.pkts[2].time_ns, 51 * MS);
	cr_assert_eq(out.pkts[3].time_ns, 52 * MS);
	cr_assert_float_eq(wfb_overhead_latency(&ov), 52.0 / 50.0 - 1, 1e-9);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
}

Test(replay, pad_to_overhead_arithmetic)
{
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	size_t i;

	wfg_sb_init(&sb, &cli);
	cli.shape.mode = WFG_SHAPE_PAD_TO;
	cli.shape.size = 1400;
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	srv = cli;
	page(&in);
	wfb_trace_init(&out);
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &opts, &out, &ov), 0);
	cr_assert_eq(out.n, in.n);
	for (i = 0; i < out.n; i++)
		cr_assert_eq(out.pkts[i].size, 1400);
	cr_assert_eq(ov.bytes_def[0] + ov.bytes_def[1], 1400 * in.n);
	cr_assert_float_eq(
		wfb_overhead_bandwidth(&ov),
		1400.0 * (double)in.n / (double)(ov.bytes_orig[0] + ov.bytes_orig[1]) - 1, 1e-12);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
}

static void tamaraw_sides(void)
{
	struct wfg_tamaraw_params p;

	wfg_tamaraw_defaults(&p);
	wfg_sb_init(&sb, &cli);
	cr_assert_eq(wfg_preset_tamaraw(&sb, WFG_ROLE_CLIENT, &p), 0);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	wfg_sb_init(&sb, &srv);
	cr_assert_eq(wfg_preset_tamaraw(&sb, WFG_ROLE_SERVER, &p), 0);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	/* The page ends with its episode (the policy default). */
	cli.episode_idle_ns = srv.episode_idle_ns = 3000 * MS;
}

Test(replay, tamaraw_constant_rate_each_direction)
{
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	uint64_t last[2] = { 0, 0 };
	size_t i, n[2] = { 0, 0 };

	tamaraw_sides();
	page(&in);
	wfb_trace_init(&out);
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &opts, &out, &ov), 0);
	for (i = 0; i < out.n; i++) {
		int d = out.pkts[i].dir == WFB_OUT ? 0 : 1;
		uint64_t iv = d == 0 ? 40 * MS : 12 * MS;

		cr_assert_eq(out.pkts[i].size, 1400);
		if (n[d])
			cr_assert_eq(out.pkts[i].time_ns - last[d], iv, "dir %d packet %zu", d,
				     n[d]);
		last[d] = out.pkts[i].time_ns;
		n[d]++;
	}
	cr_assert_eq(n[0] % 100, 0);
	cr_assert_eq(n[1] % 100, 0);
	cr_assert_gt(wfb_overhead_latency(&ov), 0.0);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
}

Test(replay, deterministic_per_seed_and_trace)
{
	struct wfg_front_params p;
	struct wfb_replay_opts o = opts;
	struct wfb_trace in, a, b, c;
	struct wfb_overhead ov;

	wfg_front_defaults(&p);
	wfg_sb_init(&sb, &cli);
	cr_assert_eq(wfg_preset_front(&sb, WFG_ROLE_CLIENT, &p), 0);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	wfg_sb_init(&sb, &srv);
	cr_assert_eq(wfg_preset_front(&sb, WFG_ROLE_SERVER, &p), 0);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	page(&in);
	wfb_trace_init(&a);
	wfb_trace_init(&b);
	wfb_trace_init(&c);
	o.seed = 7;
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &o, &a, &ov), 0);
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &o, &b, &ov), 0);
	o.trace_index = 1;
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &o, &c, &ov), 0);
	cr_assert(wfb_trace_equal(&a, &b));
	cr_assert_not(wfb_trace_equal(&a, &c));
	cr_assert_gt(ov.covers[0] + ov.covers[1], 0, "FRONT adds covers");
	wfb_trace_free(&in);
	wfb_trace_free(&a);
	wfb_trace_free(&b);
	wfb_trace_free(&c);
}

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "defend.h"
#include "generate.h"

static int same_file(const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", a, b);
	return system(cmd) == 0;
}

/* A whole dataset: identical output with 1 and 3 threads, different with another seed. */
Test(replay, defend_dataset_is_deterministic_across_jobs)
{
	struct wfb_gen_opts g = { .sites = 3, .instances = 4, .seed = 5 };
	struct wfb_defend_opts o = { .replay = opts, .policy_name = "front" };
	struct wfg_front_params p;
	struct wfb_overhead ov1, ov3;
	char dir[] = "/tmp/wfb-defend-XXXXXX", src[128], a[128], b[128], c[128], err[256];
	int i;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/world", dir);
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(c, sizeof(c), "%s/c", dir);
	cr_assert_eq(wfb_generate(&g, src, false, err, sizeof(err)), 0, "%s", err);
	wfg_front_defaults(&p);
	wfg_sb_init(&sb, &cli);
	cr_assert_eq(wfg_preset_front(&sb, WFG_ROLE_CLIENT, &p), 0);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	wfg_sb_init(&sb, &srv);
	cr_assert_eq(wfg_preset_front(&sb, WFG_ROLE_SERVER, &p), 0);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	o.jobs = 1;
	cr_assert_eq(wfb_defend(&cli, &srv, src, a, &o, &ov1, err, sizeof(err)), 0, "%s", err);
	o.jobs = 3;
	cr_assert_eq(wfb_defend(&cli, &srv, src, b, &o, &ov3, err, sizeof(err)), 0, "%s", err);
	o.replay.seed = 99;
	cr_assert_eq(wfb_defend(&cli, &srv, src, c, &o, &ov3, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < 12; i++) {
		char fa[256], fb[256], fc[256];

		snprintf(fa, sizeof(fa), "%s/%d-%d.trace", a, i / 4, i % 4);
		snprintf(fb, sizeof(fb), "%s/%d-%d.trace", b, i / 4, i % 4);
		snprintf(fc, sizeof(fc), "%s/%d-%d.trace", c, i / 4, i % 4);
		cr_assert(same_file(fa, fb), "%s differs with 3 jobs", fb);
		cr_assert_not(same_file(fa, fc), "%s same under another seed", fc);
	}
	cr_assert_gt(ov1.covers[0] + ov1.covers[1], 0);
	snprintf(err, sizeof(err), "rm -rf %s", dir);
	cr_assert_eq(system(err), 0);
}

/* Tunnel mode undefended: the observer sees each inner packet as WireGuard's
 * data message, 32 bytes more and the plaintext padded to 16 within the MTU. */
Test(replay, tunnel_mode_observes_wireguard_messages)
{
	struct wfb_replay_opts o = opts;
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	static const uint32_t inner[] = { 20, 100, 1404, 1410, 1420 };
	static const uint32_t seen[] = { 64, 144, 1440, 1452, 1452 };
	size_t i;

	empty_sides();
	o.mode = WFG_MODE_TUNNEL;
	o.mtu = 1420;
	wfb_trace_init(&in);
	wfb_trace_init(&out);
	for (i = 0; i < 5; i++)
		wfb_trace_push(&in, i * MS, WFB_OUT, inner[i], WFB_REAL);
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &o, &out, &ov), 0);
	cr_assert_eq(out.n, 5);
	for (i = 0; i < 5; i++)
		cr_assert_eq(out.pkts[i].size, seen[i], "inner %u: seen %u, expected %u", inner[i],
			     out.pkts[i].size, seen[i]);
	cr_assert_eq(ov.bytes_orig[0], ov.bytes_def[0], "undefended: no overhead");
	cr_assert_float_eq(wfb_overhead_bandwidth(&ov), 0.0, 1e-12);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
}

/*
 * examples/policies/wireguard.yaml (tunnel mode, buckets 256/512/1024/1420,
 * FRONT) replayed on a page load: every packet the observer sees, real or
 * cover, either direction, is a bucket as WireGuard sends it (bucket padded to
 * 16 within the MTU, plus 32), and the size limit is what `wfguard attach`
 * fits on a 1420-byte device.
 */
Test(replay, tunnel_policy_sizes_are_wireguard_buckets)
{
	static struct wfg_compiled_policy cp;
	static struct wfg_policy attached;
	static struct wfg_side_cfg sides[2];
	static const uint32_t buckets[] = { 256, 512, 1024, 1420 };
	struct wfb_gen_opts g = { .sites = 2, .instances = 1, .seed = 5 };
	struct wfb_replay_opts o = opts;
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	size_t i, real = 0, covers = 0;
	uint32_t allowed[4];
	int k;

	cr_assert_eq(wfg_policy_load("examples/policies/wireguard.yaml", &cp, NULL), 0);
	cr_assert_eq(cp.dp.mode, WFG_MODE_TUNNEL);
	sides[0] = *wfg_policy_side(&cp, WFG_ROLE_CLIENT);
	sides[1] = *wfg_policy_side(&cp, WFG_ROLE_SERVER);
	wfb_defend_fit(&cp.dp, sides, 0, &o);
	cr_assert_eq(o.mode, WFG_MODE_TUNNEL);
	cr_assert_eq(o.mtu, WFB_TUNNEL_MTU, "tunnel mode's default MTU is WireGuard's");
	attached = cp.dp;
	wfg_policy_fit_mtu(&attached, WFB_TUNNEL_MTU);
	for (k = 0; k < 2; k++)
		cr_assert_eq(sides[k].shape.max, attached.side.shape.max,
			     "side %d: limit %u, attach fits %u", k, sides[k].shape.max,
			     attached.side.shape.max);
	for (k = 0; k < 4; k++)
		allowed[k] = wfg_wire_observed_len(WFG_MODE_TUNNEL, buckets[k], 1420);
	cr_assert(allowed[0] == 288 && allowed[1] == 544 && allowed[2] == 1056 &&
		  allowed[3] == 1452);

	wfb_trace_init(&in);
	wfb_trace_init(&out);
	cr_assert_eq(wfb_gen_trace(&g, 1, 0, &in), 0);
	cr_assert_eq(wfb_replay(&sides[0], &sides[1], &in, &o, &out, &ov), 0);
	for (i = 0; i < out.n; i++) {
		for (k = 0; k < 4 && out.pkts[i].size != allowed[k]; k++)
			;
		cr_assert_lt(k, 4,
			     "packet %zu (%s, %s): %u bytes is no bucket as WireGuard sends it", i,
			     out.pkts[i].dir == WFB_OUT ? "out" : "in",
			     out.pkts[i].kind == WFB_COVER ? "cover" : "real", out.pkts[i].size);
		real += out.pkts[i].kind == WFB_REAL;
		covers += out.pkts[i].kind == WFB_COVER;
	}
	cr_assert_eq(real, in.n);
	cr_assert_gt(covers, 10, "FRONT must have sent covers (%zu)", covers);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
}

/*
 * A pool policy through wfb_defend (what `wfbench defend --policy` runs): the
 * same output with 1 and 3 threads, and not the output of its entry 0 alone,
 * so the pool really ran (each side drew per episode, on its trace's stream).
 */
Test(replay, defend_runs_a_pool_deterministically)
{
	static const char text[] = "version: 1\nmatch: [{}]\ndefence:\n  - preset: front\n"
				   "pool:\n  size: 64\n"
				   "  vary: {front: {N_c: [50, 3000], N_s: [50, 3000]}}\n";
	static struct wfg_compiled_policy cp;
	struct wfb_gen_opts g = { .sites = 3, .instances = 4, .seed = 5 };
	struct wfb_defend_opts o = { .replay = opts, .policy_name = "pool" };
	struct wfb_overhead ov1, ov3, ov0;
	char dir[] = "/tmp/wfb-pool-XXXXXX", src[128], a[128], b[128], c[128], err[256];
	int i, differ = 0;

	cr_assert_eq(wfg_policy_load_mem("pool.yaml", text, sizeof(text) - 1, &cp, NULL), 0);
	cr_assert_eq(cp.pool_n, 64);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/world", dir);
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(c, sizeof(c), "%s/c", dir);
	cr_assert_eq(wfb_generate(&g, src, false, err, sizeof(err)), 0, "%s", err);
	o.replay.pool = (const struct wfg_side_cfg(*)[2])cp.pool;
	o.replay.pool_n = cp.pool_n;
	o.jobs = 1;
	cr_assert_eq(wfb_defend(&cp.pool[0][0], &cp.pool[0][1], src, a, &o, &ov1, err, sizeof(err)),
		     0, "%s", err);
	o.jobs = 3;
	cr_assert_eq(wfb_defend(&cp.pool[0][0], &cp.pool[0][1], src, b, &o, &ov3, err, sizeof(err)),
		     0, "%s", err);
	o.replay.pool = NULL;
	o.replay.pool_n = 0;
	cr_assert_eq(wfb_defend(&cp.pool[0][0], &cp.pool[0][1], src, c, &o, &ov0, err, sizeof(err)),
		     0, "%s", err);
	for (i = 0; i < 12; i++) {
		char fa[256], fb[256], fc[256];

		snprintf(fa, sizeof(fa), "%s/%d-%d.trace", a, i / 4, i % 4);
		snprintf(fb, sizeof(fb), "%s/%d-%d.trace", b, i / 4, i % 4);
		snprintf(fc, sizeof(fc), "%s/%d-%d.trace", c, i / 4, i % 4);
		cr_assert(same_file(fa, fb), "%s differs with 3 jobs", fb);
		differ += !same_file(fa, fc);
	}
	/* N ~ U[1, N_max] per side: 12 traces, each drawing 2 of 64 N_max in 50..3000 */
	cr_assert_geq(differ, 10, "only %d of 12 traces differ from entry 0 alone", differ);
	cr_assert_neq(ov1.covers[0] + ov1.covers[1], ov0.covers[0] + ov0.covers[1]);
	snprintf(err, sizeof(err), "rm -rf %s", dir);
	cr_assert_eq(system(err), 0);
	wfg_policy_release(&cp);
}
