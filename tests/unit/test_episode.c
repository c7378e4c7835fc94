// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Episodes (docs/core.md): a flow idle for the policy's episode time starts
 * again at its next real packet, so a tunnel that lives for hours gets its
 * defence on every page load, not only on the first.
 */
#include <criterion/criterion.h>

#include "presets.h"
#include "zoo.h"

#define MS 1000000ULL

static struct wfg_side_cfg cfg;
static struct wfg_side_builder sb;
static struct wfg_flow_side fl;
static const __u32 key[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* Drive the flow's timer up to `until`; returns the covers it asked for. */
static unsigned drain_until(__u64 *now, __u64 first_deadline, __u64 until)
{
	struct wfg_decision d;
	__u64 t = first_deadline;
	unsigned covers = 0;

	while (t && t <= until) {
		*now = t;
		wfg_on_timer(&cfg, &fl, t, &d);
		covers += d.covers;
		t = d.timer_ns;
	}
	return covers;
}

/* One page load: `n` real packets 10 ms apart from `start`, then the timers up
 * to `until`. Returns covers; *flags ORs the decisions' flags. */
static unsigned page_load(__u64 start, unsigned n, __u64 until, unsigned *flags)
{
	struct wfg_decision d;
	__u64 now = start, deadline = 0;
	unsigned covers = 0, i;

	for (i = 0; i < n; i++) {
		covers += drain_until(&now, deadline, start + i * 10 * MS);
		now = start + i * 10 * MS;
		if (i % 2)
			wfg_on_recv(&cfg, &fl, now, 0, &d);
		else
			wfg_on_send(&cfg, &fl, now, 600, WFG_SEND_REAL, 0, &d);
		*flags |= d.flags;
		covers += d.covers;
		deadline = d.timer_ns;
	}
	return covers + drain_until(&now, deadline, until);
}

static void build_front(__u64 idle_ns)
{
	struct wfg_front_params p;

	wfg_front_defaults(&p);
	p.n_client = 50;
	p.w_min = p.w_max = 0.5; /* covers well inside a few seconds */
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_front(&sb, WFG_ROLE_CLIENT, &p), "front");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	cfg.episode_idle_ns = idle_ns;
}

Test(episode, front_draws_again_after_idle)
{
	unsigned flags = 0, first, second;

	build_front(2000 * MS);
	wfg_flow_init(&cfg, &fl, 1 * MS, key, 1);
	first = page_load(1 * MS, 20, 5000 * MS, &flags);
	cr_assert_gt(first, 0, "FRONT sent no cover on the first load");
	cr_assert_eq(flags & WFG_DEC_EPISODE, 0, "the flow's first packet is not a new episode");
	flags = 0;
	second = page_load(60000 * MS, 20, 65000 * MS, &flags);
	cr_assert(flags & WFG_DEC_EPISODE, "no new episode after 55 s idle");
	cr_assert_gt(second, 0, "the second page load got no cover");
	cr_assert_eq(fl.episodes, 2);
}

Test(episode, without_episodes_a_long_lived_flow_is_defended_once)
{
	unsigned flags = 0, second;

	build_front(0);
	wfg_flow_init(&cfg, &fl, 1 * MS, key, 1);
	cr_assert_gt(page_load(1 * MS, 20, 5000 * MS, &flags), 0);
	second = page_load(60000 * MS, 20, 65000 * MS, &flags);
	cr_assert_eq(second, 0, "FRONT ran twice without episodes");
	cr_assert_eq(flags & WFG_DEC_EPISODE, 0);
	cr_assert_eq(fl.episodes, 1);
}

Test(episode, the_boundary_is_the_idle_time_itself)
{
	struct wfg_decision d;

	build_front(1000 * MS);
	wfg_flow_init(&cfg, &fl, 1 * MS, key, 1);
	wfg_on_send(&cfg, &fl, 1 * MS, 600, WFG_SEND_REAL, 0, &d);
	/* just below: the same episode */
	wfg_on_send(&cfg, &fl, 1000 * MS, 600, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.flags & WFG_DEC_EPISODE, 0);
	/* exactly the idle time after the last real packet: a new one */
	wfg_on_recv(&cfg, &fl, 2000 * MS, 0, &d);
	cr_assert(d.flags & WFG_DEC_EPISODE);
	cr_assert_eq(fl.episodes, 2);
}

Test(episode, covers_and_padding_received_are_not_activity)
{
	struct wfg_decision d;

	build_front(1000 * MS);
	wfg_flow_init(&cfg, &fl, 1 * MS, key, 1);
	wfg_on_send(&cfg, &fl, 1 * MS, 600, WFG_SEND_REAL, 0, &d);
	/* our own covers and the peer's padding keep arriving... */
	wfg_on_send(&cfg, &fl, 600 * MS, 100, WFG_SEND_COVER, 0, &d);
	wfg_on_recv(&cfg, &fl, 900 * MS, 1, &d);
	cr_assert_eq(d.flags & WFG_DEC_EPISODE, 0, "a padding packet began an episode");
	/* ...but only real traffic keeps the episode alive */
	wfg_on_send(&cfg, &fl, 1500 * MS, 600, WFG_SEND_REAL, 0, &d);
	cr_assert(d.flags & WFG_DEC_EPISODE);
}

/* A machine that pads three times and ends: its budget is per episode. */
static void build_three_pads(__u64 idle_ns)
{
	struct wfg_action_spec pad = zoo_padding(1000, 0, 0);
	struct wfg_machine_limits lim = zoo_unlimited;
	int s0, s1;

	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_sb_machine(&sb, &lim), "machine");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	pad.limit = wfg_dist_const(3);
	pad.has_limit = 1;
	zoo_check(&sb, wfg_sb_action(&sb, s1, &pad), "action");
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "t0");
	zoo_check(&sb, wfg_sb_trans(&sb, s1, WFG_EV_PADDING_SENT, (__u32)s1, 1.0), "t1");
	zoo_check(&sb, wfg_sb_trans(&sb, s1, WFG_EV_LIMIT_REACHED, WFG_STATE_END, 1.0), "t2");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	cfg.episode_idle_ns = idle_ns;
}

Test(episode, machines_restart_from_their_start_state)
{
	unsigned flags = 0, first, second;

	build_three_pads(500 * MS);
	wfg_flow_init(&cfg, &fl, 1 * MS, key, 7);
	first = page_load(1 * MS, 4, 400 * MS, &flags);
	cr_assert_eq(first, 3, "first episode: %u pads", first);
	cr_assert_eq(fl.mr.m[0].state, WFG_STATE_END);
	second = page_load(2000 * MS, 4, 2400 * MS, &flags);
	cr_assert_eq(second, 3, "second episode: %u pads", second);
	/* and nothing restarts within an episode */
	cr_assert_eq(page_load(2450 * MS, 4, 2800 * MS, &flags), 0);
}

Test(episode, pacing_budget_restarts)
{
	struct wfg_tamaraw_params p;
	unsigned flags = 0, first, second;

	wfg_tamaraw_defaults(&p);
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_tamaraw(&sb, WFG_ROLE_CLIENT, &p), "tamaraw");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	cfg.pace.cover_budget = 5;
	cfg.episode_idle_ns = 3000 * MS;
	wfg_flow_init(&cfg, &fl, 1 * MS, key, 3);
	first = page_load(1 * MS, 6, 4000 * MS, &flags);
	second = page_load(30000 * MS, 6, 34000 * MS, &flags);
	cr_assert_eq(first, 5, "first episode: %u covers", first);
	cr_assert_eq(second, 5, "second episode: %u covers", second);
}

Test(episode, the_stream_continues_so_episodes_differ_but_replay_is_exact)
{
	struct wfg_flow_side a, b;
	struct wfg_decision da, db;
	__u64 t;

	build_front(1000 * MS);
	wfg_flow_init(&cfg, &a, 1 * MS, key, 5);
	wfg_flow_init(&cfg, &b, 1 * MS, key, 5);
	for (t = 1; t < 20000; t += 700) {
		wfg_on_send(&cfg, &a, t * MS, 500, WFG_SEND_REAL, 0, &da);
		wfg_on_send(&cfg, &b, t * MS, 500, WFG_SEND_REAL, 0, &db);
		cr_assert_eq(memcmp(&da, &db, sizeof(da)), 0, "t=%llu ms", (unsigned long long)t);
		if (t > 3000 && t < 3800) /* a long pause after the first 3 s */
			t += 5000;
	}
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(a.episodes, 2);
	/* Two episodes drew from one stream: their FRONT windows are independent. */
	cr_assert_neq(a.front.remaining + a.front.w2_us2, 0);
}
