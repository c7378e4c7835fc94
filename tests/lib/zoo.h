/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A zoo of side configurations for the tests: small machines that exercise one
 * part of the core each, and a "kitchen sink" side that exercises all of them
 * together (used by the kernel-vs-userspace differential test).
 */
#ifndef WFGUARD_TESTS_ZOO_H
#define WFGUARD_TESTS_ZOO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfguard/core/core.h"
#include "side_build.h"

static const struct wfg_machine_limits zoo_unlimited = {
	.allowed_padding_packets = ~0ULL,
	.max_padding_frac = 0.0,
	.allowed_blocked_us = ~0ULL,
	.max_blocking_frac = 0.0,
};

static inline void zoo_check(struct wfg_side_builder *sb, int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "zoo: %s: %s\n", what, sb->err);
		abort();
	}
}

static inline struct wfg_dist_spec zoo_uniform(double lo, double hi)
{
	struct wfg_dist_spec s = { .kind = WFG_DK_UNIFORM, .p = { lo, hi } };

	return s;
}

static inline struct wfg_action_spec zoo_padding(double timeout_us, int bypass, int replace)
{
	struct wfg_action_spec a = {
		.kind = WFG_ACT_PADDING,
		.bypass = bypass,
		.replace = replace,
		.timeout = wfg_dist_const(timeout_us),
	};

	return a;
}

/*
 * Maybenot's "example machine": state 0 waits for TunnelRecv, state 1 pads
 * after `timeout_us` and returns to 0 when the padding is sent.
 */
static inline void zoo_add_ping(struct wfg_side_builder *sb, double timeout_us)
{
	struct wfg_action_spec pad = zoo_padding(timeout_us, 0, 0);
	int s0, s1;

	zoo_check(sb, wfg_sb_machine(sb, &zoo_unlimited), "machine");
	s0 = wfg_sb_state(sb);
	s1 = wfg_sb_state(sb);
	zoo_check(sb, wfg_sb_trans(sb, s0, WFG_EV_TUNNEL_RECV, (__u32)s1, 1.0), "trans");
	zoo_check(sb, wfg_sb_action(sb, s1, &pad), "action");
	zoo_check(sb, wfg_sb_trans(sb, s1, WFG_EV_PADDING_SENT, (__u32)s0, 1.0), "trans");
}

/*
 * Blocking with a limit: on NormalSent, block (bypassable) for 2..4 ms after
 * 0..1 ms, at most 3 times in the state; then LimitReached -> state 2 which
 * pads with bypass and ends the machine when the padding is sent.
 */
static inline void zoo_add_blocker(struct wfg_side_builder *sb)
{
	struct wfg_action_spec blk = {
		.kind = WFG_ACT_BLOCK,
		.bypass = 1,
		.replace = 0,
		.timeout = zoo_uniform(0, 1000),
		.duration = zoo_uniform(2000, 4000),
		.has_limit = 1,
		.limit = wfg_dist_const(3),
	};
	struct wfg_action_spec pad = zoo_padding(500, 1, 0);
	int s0, s1, s2;

	zoo_check(sb, wfg_sb_machine(sb, &zoo_unlimited), "machine");
	s0 = wfg_sb_state(sb);
	s1 = wfg_sb_state(sb);
	s2 = wfg_sb_state(sb);
	zoo_check(sb, wfg_sb_trans(sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "trans");
	zoo_check(sb, wfg_sb_action(sb, s1, &blk), "action");
	zoo_check(sb, wfg_sb_trans(sb, s1, WFG_EV_BLOCKING_END, (__u32)s1, 1.0), "trans");
	zoo_check(sb, wfg_sb_trans(sb, s1, WFG_EV_LIMIT_REACHED, (__u32)s2, 1.0), "trans");
	zoo_check(sb, wfg_sb_action(sb, s2, &pad), "action");
	zoo_check(sb, wfg_sb_trans(sb, s2, WFG_EV_PADDING_SENT, WFG_STATE_END, 1.0), "trans");
}

/*
 * Counters, timers and signals: every NormalRecv decrements counter A (set to
 * 2..5 on entry); CounterZero starts an internal timer of 3 ms; TimerEnd
 * signals the other machines and pads (replaceable) in a random state.
 */
static inline void zoo_add_counter_timer(struct wfg_side_builder *sb)
{
	struct wfg_action_spec timer = {
		.kind = WFG_ACT_UPDATE_TIMER,
		.replace = 1,
		.duration = wfg_dist_const(3000),
	};
	struct wfg_action_spec pad = zoo_padding(0, 0, 1);
	struct wfg_action_spec cancel = { .kind = WFG_ACT_CANCEL, .cancel_internal = 1 };
	struct wfg_dist_spec start = zoo_uniform(2, 6);
	int s0, s1, s2, s3;

	zoo_check(sb, wfg_sb_machine(sb, &zoo_unlimited), "machine");
	s0 = wfg_sb_state(sb);
	s1 = wfg_sb_state(sb);
	s2 = wfg_sb_state(sb);
	s3 = wfg_sb_state(sb);
	zoo_check(sb, wfg_sb_counter(sb, s0, 0, WFG_CTR_SET, 0, &start), "counter");
	zoo_check(sb, wfg_sb_trans(sb, s0, WFG_EV_NORMAL_RECV, (__u32)s1, 1.0), "trans");
	zoo_check(sb, wfg_sb_counter(sb, s1, 0, WFG_CTR_DECREMENT, 0, NULL), "counter");
	zoo_check(sb, wfg_sb_trans(sb, s1, WFG_EV_NORMAL_RECV, (__u32)s1, 1.0), "trans");
	zoo_check(sb, wfg_sb_trans(sb, s1, WFG_EV_COUNTER_ZERO, (__u32)s2, 1.0), "trans");
	zoo_check(sb, wfg_sb_action(sb, s2, &timer), "action");
	zoo_check(sb, wfg_sb_trans(sb, s2, WFG_EV_TIMER_END, WFG_STATE_SIGNAL, 0.5), "trans");
	zoo_check(sb, wfg_sb_trans(sb, s2, WFG_EV_TIMER_END, (__u32)s3, 0.5), "trans");
	zoo_check(sb, wfg_sb_trans(sb, s2, WFG_EV_NORMAL_SENT, (__u32)s0, 0.25), "trans");
	zoo_check(sb, wfg_sb_action(sb, s3, &pad), "action");
	zoo_check(sb, wfg_sb_trans(sb, s3, WFG_EV_PADDING_SENT, (__u32)s0, 0.7), "trans");
	zoo_check(sb, wfg_sb_trans(sb, s3, WFG_EV_SIGNAL, (__u32)s3, 1.0), "trans");
	zoo_check(sb, wfg_sb_action(sb, s0, &cancel), "action");
	zoo_check(sb, wfg_sb_trans(sb, s0, WFG_EV_SIGNAL, (__u32)s0, 1.0), "trans");
}

/* Everything at once: four machines, Padmé, constant pacing, FRONT. */
static inline void zoo_kitchen_sink(struct wfg_side_cfg *cfg)
{
	static struct wfg_side_builder sb;
	struct wfg_dist_spec exp1 = { .kind = WFG_DK_WEIBULL, .p = { 65536.0, 1.0 } };
	struct wfg_dist_ref ref;

	wfg_sb_init(&sb, cfg);
	zoo_add_ping(&sb, 2000);
	zoo_add_blocker(&sb);
	zoo_add_counter_timer(&sb);
	zoo_add_ping(&sb, 0);
	zoo_check(&sb, wfg_sb_side_limits(&sb, 0.9, 0.5), "limits");
	zoo_check(&sb, wfg_sb_dist(&sb, &exp1, 1.0, &ref), "exp table");
	cfg->front.exp_table = ref.table;
	cfg->front.max_covers = 20;
	cfg->front.window_min_ns = 5000000;
	cfg->front.window_max_ns = 50000000;
	cfg->shape.mode = WFG_SHAPE_PADME;
	cfg->shape.max = 1400;
	cfg->cover_size = 600;
	cfg->pace.mode = WFG_PACE_CONSTANT;
	cfg->pace.interval_ns = 1000000;
	cfg->pace.idle_stop_ns = 20000000;
	cfg->pace.pad_multiple = 10;
	/* Tamaraw's random tail and RegulaTor's drawn budget (silent clock). */
	cfg->pace.flags = WFG_PACE_F_PAD_GEOMETRIC | WFG_PACE_F_BUDGET_UNIFORM;
	cfg->pace.cover_budget = 40;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
}

#endif
