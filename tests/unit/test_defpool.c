// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Defence pools (core/defpool.h): the per-episode draw is uniform (a
 * chi-square test with a fixed seed, whose bound a biased draw fails: shown
 * on two), a pool of one draws nothing, and the harness's replay draws, per
 * side and episode, what the core draws when the replay's own core calls are
 * made again (the data path's side of that: tests/bpf/test_defpool.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "replay.h"
#include "wfguard/flowkey.h"
#include "wfguard/core/core.h"
#include "zoo.h"

#define DRAWS 64000

/* Pearson's statistic of counts against a uniform expectation. */
static double chi_square(const unsigned *count, unsigned n, unsigned draws)
{
	double e = (double)draws / n, x = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		x += (count[i] - e) * (count[i] - e) / e;
	return x;
}

/*
 * The 99.9th percentiles of chi-square with 63 and 36 degrees of freedom
 * (tables): a fair draw stays below with probability 0.999 per seed; the seed
 * is fixed, so the test is deterministic.
 */
#define CHI2_999_DF63  103.4
#define CHI2_999_DF36  67.99
#define CHI2_999_DF255 330.5 /* Wilson-Hilferty */

static double chi_of_core(unsigned n, __u64 seed)
{
	static unsigned count[WFG_DEFPOOL_MAX];
	struct wfg_prng r;
	unsigned i;

	memset(count, 0, sizeof(count));
	wfg_prng_init_seed(&r, seed, 7);
	for (i = 0; i < DRAWS; i++) {
		__u32 x = wfg_defpool_draw(&r, n);

		cr_assert_lt(x, n);
		count[x]++;
	}
	return chi_square(count, n, DRAWS);
}

Test(defpool, draws_are_uniform_by_chi_square)
{
	double x64 = chi_of_core(64, 1), x37 = chi_of_core(37, 2);

	cr_expect_lt(x64, CHI2_999_DF63, "64 entries: chi-square %.1f", x64);
	cr_expect_lt(x37, CHI2_999_DF36, "37 entries: chi-square %.1f", x37);
}

/* At the bound (WFG_DEFPOOL_MAX), and the first draw of many flows as the data path
 * makes it: each flow's stream keyed from its 5-tuple (flowkey.h), drawn once. */
Test(defpool, draws_at_the_bound_and_across_flows_are_uniform)
{
	static unsigned count[WFG_DEFPOOL_MAX];
	static const __u32 master[8] = { 9, 8, 7, 6, 5, 4, 3, 2 };
	static struct wfg_flow_side f;
	double x = chi_of_core(WFG_DEFPOOL_MAX, 3);
	unsigned i;

	cr_expect_lt(x, CHI2_999_DF255, "%d entries: chi-square %.1f", WFG_DEFPOOL_MAX, x);
	memset(count, 0, sizeof(count));
	for (i = 0; i < DRAWS; i++) {
		struct wfg_flow_key k = { .family = 4,
					  .laddr = { 10, 0, (__u8)(i >> 8), (__u8)i },
					  .raddr = { 10, 1, 0, 1 },
					  .lport = (__u16)(40000 + i % 1000),
					  .rport = 443 };
		__u32 key[8];

		wfg_flow_key_material(master, &k, 1000000000ULL + i, 0, key);
		wfg_flow_seed(&f, key, wfg_flow_stream(&k));
		wfg_defpool_first(&f, 64);
		cr_assert_lt(f.defence, 64);
		count[f.defence]++;
	}
	x = chi_square(count, 64, DRAWS);
	cr_expect_lt(x, CHI2_999_DF63, "first draws of %d flows: chi-square %.1f", DRAWS, x);
}

/* The bound is tight enough to catch what a draw typically gets wrong. */
Test(defpool, the_bound_refuses_biased_draws)
{
	static unsigned count[37];
	struct wfg_prng r;
	unsigned i;

	/* modulo bias of a short source: (8 random bits) % 37 */
	wfg_prng_init_seed(&r, 2, 7);
	for (i = 0; i < DRAWS; i++)
		count[(wfg_rand32(&r) & 0xff) % 37]++;
	cr_expect_gt(chi_square(count, 37, DRAWS), CHI2_999_DF36, "modulo bias not caught");
	/* always entry 0 */
	memset(count, 0, sizeof(count));
	count[0] = DRAWS;
	cr_expect_gt(chi_square(count, 37, DRAWS), CHI2_999_DF36);
}

Test(defpool, a_pool_of_one_draws_nothing)
{
	struct wfg_prng r, r0;

	wfg_prng_init_seed(&r, 3, 1);
	r0 = r;
	cr_assert_eq(wfg_defpool_draw(&r, 1), 0);
	cr_assert_eq(memcmp(&r, &r0, sizeof(r)), 0, "a pool of one consumed the stream");
}

/* ---------------------------------------------- the harness's replay against the core */

#define NPOOL  64
#define LOADS  30
#define MAXLOG 100000

static struct wfg_side_cfg pool[NPOOL][2];

struct call {
	int server;
	enum wfg_core_op op;
	__u64 now;
	__u32 len;
	__u8 flags;
};

static struct call calls[MAXLOG];
static int ncalls;
static __u32 drawn[2][LOADS + 8], ndrawn[2];

static void log_call(void *arg, int server, enum wfg_core_op op, uint64_t now, uint32_t len,
		     uint8_t flags, const struct wfg_decision *d)
{
	(void)arg;
	(void)d;
	cr_assert_lt(ncalls, MAXLOG);
	calls[ncalls++] = (struct call){ server, op, now, len, flags };
}

static void log_draw(void *arg, int server, uint32_t episode, uint32_t entry)
{
	(void)arg;
	cr_assert_eq(episode, ndrawn[server] + 1, "draws in episode order");
	cr_assert_lt(ndrawn[server], LOADS + 8);
	drawn[server][ndrawn[server]++] = entry;
}

Test(defpool, the_replay_draws_what_the_core_draws)
{
	static const __u32 ckey[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct wfb_replay_opts o = { .delay_ns = 20000000,
				     .seed = 5,
				     .mode = WFG_MODE_SHIM,
				     .client_key = ckey,
				     .client_stream = 42,
				     .log = log_call,
				     .draw_log = log_draw,
				     .pool = (const struct wfg_side_cfg(*)[2])pool,
				     .pool_n = NPOOL };
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	static struct wfg_flow_side f;
	int seen[NPOOL] = { 0 }, distinct = 0, i, k, p, rc;
	__u32 mine = 0;

	for (i = 0; i < NPOOL; i++)
		for (k = 0; k < 2; k++) {
			zoo_kitchen_sink(&pool[i][k]);
			pool[i][k].episode_idle_ns = 500000000ULL;
			pool[i][k].front.max_covers = 5 + (__u32)i;
			/* FRONT and Padmé only: the zoo's ping machines answer each
			 * other's padding without end between two sides. */
			pool[i][k].nmachines = 0;
			pool[i][k].pace.mode = WFG_PACE_NONE;
		}
	wfb_trace_init(&in);
	wfb_trace_init(&out);
	for (i = 0; i < LOADS; i++) /* page loads 2 s apart: every one an episode */
		for (p = 0; p < 20; p++)
			cr_assert_eq(
				wfb_trace_push(&in, (uint64_t)i * 2000000000ULL + p * 5000000ULL,
					       p % 3 ? WFB_IN : WFB_OUT, 600 + p * 30, WFB_REAL),
				0);
	rc = wfb_replay(&pool[0][0], &pool[0][1], &in, &o, &out, &ov);
	cr_assert_eq(rc, 0, "replay: %s", strerror(-rc));
	cr_assert_eq(ndrawn[0], ov.episodes[0], "one draw per client episode");
	cr_assert_eq(ndrawn[1], ov.episodes[1]);
	cr_assert_geq(ov.episodes[0], LOADS);

	/* The client's core calls again, from the same key and stream. */
	wfg_flow_seed(&f, ckey, 42);
	wfg_defpool_first(&f, NPOOL);
	cr_assert_eq(f.defence, drawn[0][0], "first episode");
	wfg_flow_start(&pool[f.defence][0], &f, WFB_REPLAY_BASE_NS);
	for (i = 0; i < ncalls; i++) {
		const struct wfg_side_cfg *cfg;
		struct wfg_decision d;
		__u32 len;

		if (calls[i].server)
			continue;
		if (wfg_defpool_turn(&pool[f.defence][0], &f, calls[i].op, calls[i].now, NPOOL)) {
			mine++;
			cr_assert_lt(mine, ndrawn[0]);
			cr_assert_eq(f.defence, drawn[0][mine], "episode %u: core %u, replay %u",
				     mine + 1, f.defence, drawn[0][mine]);
		}
		cfg = &pool[f.defence][0];
		len = calls[i].op == WFG_OP_SEND_COVER
			      ? calls[i].len
			      : wfg_wire_core_len(WFG_MODE_SHIM, cfg, calls[i].op, calls[i].len);
		wfg_on(cfg, &f, calls[i].op, calls[i].now, len, calls[i].flags, &d);
	}
	cr_assert_eq(mine + 1, ndrawn[0], "the core began %u episodes, the replay %u", mine + 1,
		     ndrawn[0]);
	for (k = 0; k < 2; k++)
		for (i = 0; i < (int)ndrawn[k]; i++)
			if (!seen[drawn[k][i]]++)
				distinct++;
	/* ~60 draws of 64: ~39 distinct expected; a stuck draw gives 1 */
	cr_assert_gt(distinct, 25, "%d distinct entries", distinct);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
}
