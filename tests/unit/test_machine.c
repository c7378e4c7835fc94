// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maybenot v2 machines through the core's public API: transitions with known
 * probabilities, limits, counters, timers, blocking, budgets, signals,
 * cancel, END, replace, determinism.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "zoo.h"

#define US 1000ULL
#define MS 1000000ULL

static struct wfg_side_cfg cfg;
static struct wfg_side_builder sb;
static struct wfg_flow_side fl;
static const __u32 key[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void start(__u64 now)
{
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	wfg_flow_init(&cfg, &fl, now, key, 1);
}

static void init(void)
{
	wfg_sb_init(&sb, &cfg);
}

TestSuite(machine, .init = init);

/* Send the covers a decision asks for, as a data path would, at `now`. */
static unsigned send_covers(const struct wfg_decision *d, __u64 now)
{
	struct wfg_decision c;
	unsigned i;

	for (i = 0; i < d->covers; i++)
		wfg_on_send(&cfg, &fl, now, 100, WFG_SEND_COVER, 0, &c);
	return d->covers;
}

Test(machine, example_machine_pads_5ms_after_tunnel_recv)
{
	struct wfg_decision d;

	zoo_add_ping(&sb, 5000);
	start(1 * MS);
	wfg_on_send(&cfg, &fl, 1 * MS, 500, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.timer_ns, 0, "nothing scheduled before TunnelRecv");
	wfg_on_recv(&cfg, &fl, 2 * MS, 0, &d);
	cr_assert_eq(d.covers, 0);
	cr_assert_eq(d.timer_ns, 7 * MS);
	wfg_on_timer(&cfg, &fl, 7 * MS, &d);
	cr_assert_eq(d.covers, 1);
	cr_assert_eq(d.cover_machines, 0x1);
	cr_assert_eq(fl.mr.m[0].state, 0, "PaddingSent took it back to state 0");
	cr_assert_eq(d.timer_ns, 0);
	cr_assert_eq(fl.mr.fw.padding_sent, 1);
}

Test(machine, transition_probabilities_chi_square)
{
	struct wfg_decision d;
	unsigned counts[3] = { 0 };
	const double p[3] = { 0.3, 0.5, 0.2 };
	double chi2 = 0;
	int s0, s1, s2, i;

	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "machine");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	s2 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, p[0]), "t");
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s2, p[1]), "t");
	start(1);
	for (i = 0; i < 100000; i++) {
		fl.mr.m[0].state = 0;
		wfg_on_send(&cfg, &fl, 1 + (__u64)i, 100, WFG_SEND_REAL, 0, &d);
		counts[fl.mr.m[0].state == 0 ? 2 : fl.mr.m[0].state - 1]++;
	}
	for (i = 0; i < 3; i++)
		chi2 += (counts[i] - 1e5 * p[i]) * (counts[i] - 1e5 * p[i]) / (1e5 * p[i]);
	/* 2 degrees of freedom: P(chi2 > 13.8) = 0.001 */
	cr_assert_lt(chi2, 13.8, "chi2 %f (%u %u %u)", chi2, counts[0], counts[1], counts[2]);
}

Test(machine, blocking_limit_then_limit_reached)
{
	struct wfg_decision d;
	__u64 now = 1 * MS;
	int blocks = 0, i;

	zoo_add_blocker(&sb);
	start(now);
	wfg_on_send(&cfg, &fl, now, 300, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(fl.mr.m[0].state, 1);
	for (i = 0; i < 50 && d.timer_ns; i++) {
		__u64 until = fl.block_until_ns;

		now = d.timer_ns;
		wfg_on_timer(&cfg, &fl, now, &d);
		if (fl.block_until_ns != until) {
			blocks++;
			/* 2..4 ms of blocking, bypassable */
			cr_assert(fl.block_until_ns >= now + 2 * MS &&
				  fl.block_until_ns <= now + 4 * MS);
			cr_assert_eq(fl.block_bypassable, 1);
		}
		send_covers(&d, now);
	}
	cr_assert_eq(blocks, 3, "limit 3: blocked %d times", blocks);
	cr_assert_eq(fl.mr.m[0].state, WFG_STATE_END,
		     "LimitReached -> state 2 -> padding sent -> END");
	cr_assert_eq(fl.mr.fw.padding_sent, 1);
}

Test(machine, blocked_real_packets_wait_bypass_covers_do_not)
{
	struct wfg_decision d;
	__u64 now = 1 * MS, until;

	zoo_add_blocker(&sb);
	start(now);
	wfg_on_send(&cfg, &fl, now, 300, WFG_SEND_REAL, 0, &d);
	now = d.timer_ns;
	wfg_on_timer(&cfg, &fl, now, &d);
	until = fl.block_until_ns;
	cr_assert_gt(until, now);
	cr_assert_eq(fl.mr.fw.blocking_active, 1);
	wfg_on_send(&cfg, &fl, now + 1, 300, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.depart_ns, until);
	cr_assert(d.flags & WFG_DEC_BLOCKED);
	wfg_on_send(&cfg, &fl, now + 2, 100, WFG_SEND_COVER, WFG_ACT_F_BYPASS, &d);
	cr_assert_eq(d.depart_ns, now + 2, "bypass cover leaves now");
	wfg_on_send(&cfg, &fl, now + 3, 100, WFG_SEND_COVER, 0, &d);
	cr_assert_eq(d.depart_ns, until, "plain cover waits");
	/* BlockingEnd is raised when the end passes, and accounted. */
	wfg_on_timer(&cfg, &fl, until, &d);
	cr_assert_eq(fl.mr.fw.blocking_active, 0);
	cr_assert_eq(fl.mr.fw.blocked_ns, until - now);
}

Test(machine, counter_zero_after_exactly_the_counter_value)
{
	struct wfg_decision d;
	__u64 now = 1 * MS, v;

	zoo_add_counter_timer(&sb);
	start(now);
	for (v = 1; v < 30; v++) {
		__u64 recvs = 0;

		/* State 0 as if just entered with A = v; every NormalRecv decrements. */
		fl.mr.m[0].state = 0;
		fl.mr.m[0].counter[0] = v;
		fl.mr.m[0].timer_end_ns = 0;
		while (fl.mr.m[0].state != 2 && recvs < 100) {
			wfg_on_recv(&cfg, &fl, ++now, 0, &d);
			recvs++;
		}
		cr_assert_eq(recvs, v, "A=%llu: CounterZero after %llu recvs",
			     (unsigned long long)v, (unsigned long long)recvs);
		cr_assert_eq(fl.mr.m[0].counter[0], 0);
		cr_assert_eq(fl.mr.m[0].timer_end_ns, now + 3 * MS, "UpdateTimer 3 ms");
		cr_assert_eq(d.timer_ns, now + 3 * MS);
	}
}

Test(machine, decrement_of_zero_counter_does_not_fire)
{
	struct wfg_decision d;
	int i;

	zoo_add_counter_timer(&sb);
	start(1);
	for (i = 0; i < 10; i++)
		wfg_on_recv(&cfg, &fl, 2 + (__u64)i, 0, &d);
	cr_assert_eq(fl.mr.m[0].state, 1, "A was 0: no CounterZero");
}

Test(machine, timer_end_goes_to_its_machine)
{
	struct wfg_decision d;
	__u64 now = 1 * MS;
	int signal = 0, pad = 0, trial;

	zoo_add_counter_timer(&sb);
	zoo_add_ping(&sb, 1000);
	start(now);
	for (trial = 0; trial < 400; trial++) {
		fl.mr.m[0].state = 2;
		fl.mr.m[0].timer_end_ns = now + 1;
		fl.mr.m[1].state = 0;
		wfg_on_timer(&cfg, &fl, now + 1, &d);
		now += 2;
		/* state 3 pads at once (and may leave on PaddingSent) */
		if (d.cover_machines & 0x1)
			pad++;
		else if (fl.mr.m[0].state == 2)
			signal++;
		send_covers(&d, now);
	}
	/* TimerEnd: 0.5 -> signal (stay in 2), 0.5 -> state 3 */
	cr_assert(pad > 150 && signal > 150, "pad %d signal %d", pad, signal);
}

Test(machine, signal_reaches_other_machines)
{
	struct wfg_decision d;
	int s0, s1;

	/* machine 0: NormalSent -> SIGNAL; machine 1: Signal -> state 1 */
	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m0");
	s0 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, WFG_STATE_SIGNAL, 1.0), "t");
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_SIGNAL, WFG_STATE_END, 1.0), "t");
	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m1");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_SIGNAL, (__u32)s1, 1.0), "t");
	start(1);
	wfg_on_send(&cfg, &fl, 2, 100, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(fl.mr.m[1].state, 1, "machine 1 got the signal");
	cr_assert_eq(fl.mr.m[0].state, 0, "the sender does not get its own signal");
}

Test(machine, cancel_clears_pending_padding)
{
	struct wfg_decision d;
	struct wfg_action_spec pad = zoo_padding(10000, 0, 0);
	struct wfg_action_spec cancel = { .kind = WFG_ACT_CANCEL, .cancel_action = 1 };
	int s0, s1, s2;

	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	s2 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "t");
	zoo_check(&sb, wfg_sb_action(&sb, s1, &pad), "a");
	zoo_check(&sb, wfg_sb_trans(&sb, s1, WFG_EV_NORMAL_RECV, (__u32)s2, 1.0), "t");
	zoo_check(&sb, wfg_sb_action(&sb, s2, &cancel), "a");
	start(1);
	wfg_on_send(&cfg, &fl, 1 * MS, 100, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.timer_ns, 11 * MS);
	wfg_on_recv(&cfg, &fl, 2 * MS, 0, &d);
	cr_assert_eq(d.timer_ns, 0, "cancelled");
	wfg_on_timer(&cfg, &fl, 11 * MS, &d);
	cr_assert_eq(d.covers, 0);
}

Test(machine, end_ignores_everything)
{
	struct wfg_decision d;
	int s0;

	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m");
	s0 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_RECV, WFG_STATE_END, 1.0), "t");
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s0, 1.0), "t");
	start(1);
	wfg_on_recv(&cfg, &fl, 2, 0, &d);
	cr_assert_eq(fl.mr.m[0].state, WFG_STATE_END);
	wfg_on_send(&cfg, &fl, 3, 100, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(fl.mr.m[0].state, WFG_STATE_END);
}

/* Padding on every NormalSent at once: the budget caps the padding fraction. */
Test(machine, padding_budget_caps_fraction)
{
	struct wfg_machine_limits lim = { .allowed_padding_packets = 5, .max_padding_frac = 0.25 };
	struct wfg_action_spec pad = zoo_padding(0, 0, 0);
	struct wfg_decision d;
	unsigned covers = 0;
	int s0, s1, i;

	zoo_check(&sb, wfg_sb_machine(&sb, &lim), "m");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "t");
	zoo_check(&sb, wfg_sb_action(&sb, s1, &pad), "a");
	zoo_check(&sb, wfg_sb_trans(&sb, s1, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "t");
	start(1);
	for (i = 0; i < 400; i++) {
		wfg_on_send(&cfg, &fl, 2 + (__u64)i, 100, WFG_SEND_REAL, 0, &d);
		covers += send_covers(&d, 2 + (__u64)i);
	}
	/* First 5 free, then padding/(padding+normal) stays below 0.25 (+1 packet). */
	cr_assert_geq(covers, 5);
	cr_assert_leq((double)covers, 0.25 * (covers + 400) + 1, "covers %u", covers);
	cr_assert_geq((double)covers, 0.25 * (covers + 400) - 2, "covers %u", covers);
}

Test(machine, replaceable_padding_absorbed_by_queued_packet)
{
	struct wfg_action_spec blk = { .kind = WFG_ACT_BLOCK,
				       .timeout = wfg_dist_const(0),
				       .duration = wfg_dist_const(10000) };
	struct wfg_action_spec pad = zoo_padding(1000, 0, 1);
	struct wfg_decision d;
	int s0, s1, s2;

	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	s2 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_RECV, (__u32)s1, 1.0), "t");
	zoo_check(&sb, wfg_sb_action(&sb, s1, &blk), "a");
	zoo_check(&sb, wfg_sb_trans(&sb, s1, WFG_EV_BLOCKING_BEGIN, (__u32)s2, 1.0), "t");
	zoo_check(&sb, wfg_sb_action(&sb, s2, &pad), "a");
	start(1);
	wfg_on_recv(&cfg, &fl, 1 * MS, 0, &d); /* block 10 ms from now, then pad in 1 ms */
	cr_assert_eq(fl.block_until_ns, 11 * MS);
	wfg_on_send(&cfg, &fl, 1 * MS + 10, 100, WFG_SEND_REAL, 0, &d); /* queued */
	cr_assert_eq(d.depart_ns, 11 * MS);
	wfg_on_timer(&cfg, &fl, 2 * MS, &d);
	cr_assert_eq(d.covers, 0);
	cr_assert(d.flags & WFG_DEC_REPLACED);
	cr_assert_eq(fl.mr.m[0].padding_sent, 1, "PaddingSent is raised even when replaced");
}

static void run_sequence(__u64 seed_stream, struct wfg_decision *log, int n)
{
	__u64 now = 1 * MS;
	int i;

	wfg_flow_init(&cfg, &fl, now, key, seed_stream);
	for (i = 0; i < n; i++) {
		now += 137 * US * (__u64)(i % 7 + 1);
		if (i % 3 == 0)
			wfg_on_send(&cfg, &fl, now, 200 + (__u32)i, WFG_SEND_REAL, 0, &log[i]);
		else if (i % 3 == 1)
			wfg_on_recv(&cfg, &fl, now, 0, &log[i]);
		else
			wfg_on_timer(&cfg, &fl, now, &log[i]);
	}
}

Test(machine, same_seed_same_decisions)
{
	static struct wfg_decision a[3000], b[3000], c[3000];

	zoo_kitchen_sink(&cfg);
	run_sequence(5, a, 3000);
	run_sequence(5, b, 3000);
	run_sequence(6, c, 3000);
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
	cr_assert_neq(memcmp(a, c, sizeof(a)), 0, "another stream decides differently");
}

/* The distribution pool is a capacity limit: its overflow says E2BIG, not EINVAL. */
Test(machine, a_full_distribution_pool_is_e2big)
{
	struct wfg_action_spec a = { .kind = WFG_ACT_PADDING };
	int st, i, rc = 0;

	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m0");
	st = wfg_sb_state(&sb);
	cr_assert_geq(st, 0);
	for (i = 0; i <= WFG_MAX_DISTS && !rc; i++) {
		/* each a distinct table: uniform on [0, 1000 + i] */
		a.timeout =
			(struct wfg_dist_spec){ .kind = WFG_DK_UNIFORM, .p = { 0, 1000.0 + i } };
		rc = wfg_sb_action(&sb, st, &a);
	}
	cr_assert_eq(rc, -E2BIG, "after %d distinct tables: %d (%s)", i, rc, sb.err);
	cr_assert_eq(i, WFG_MAX_DISTS + 1);
	cr_assert(strstr(sb.err, "too many distinct distributions"), "%s", sb.err);
}
