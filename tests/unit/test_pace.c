// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Pacing schedules: slots, covers for empty slots, stopping rules, decay and surges. */
#include <criterion/criterion.h>

#include "wfguard/core/pace.h"

#define MS 1000000ULL

/* Drive the pacer's timer until it stops or `until`; returns covers requested. */
static unsigned run_timer(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 *now,
			  __u64 until)
{
	unsigned covers = 0;
	__u64 next;

	for (;;) {
		next = wfg_pace_timer(c, p, *now, &covers);
		if (!next || next > until)
			break;
		*now = next;
	}
	return covers;
}

Test(pace, none_never_delays)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_NONE };
	struct wfg_pace_rt p = { 0 };
	unsigned covers = 0;

	cr_assert_eq(wfg_pace_real(&c, &p, 5 * MS), 5 * MS);
	cr_assert_eq(wfg_pace_timer(&c, &p, 6 * MS, &covers), 0);
	cr_assert_eq(covers, 0);
}

Test(pace, constant_burst_takes_consecutive_slots)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = 10 * MS,
				  .idle_stop_ns = 1000 * MS };
	struct wfg_pace_rt p = { 0 };
	__u64 t0 = 100 * MS;
	int i;

	for (i = 0; i < 5; i++)
		cr_assert_eq(wfg_pace_real(&c, &p, t0), t0 + (__u64)i * 10 * MS, "packet %d", i);
	/* A packet after the queue drained goes at once, and the slot after it is 10 ms on. */
	cr_assert_eq(wfg_pace_real(&c, &p, t0 + 73 * MS), t0 + 73 * MS);
	cr_assert_eq(p.next_slot_ns, t0 + 83 * MS);
}

Test(pace, empty_slots_become_covers_at_constant_spacing)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = 10 * MS,
				  .idle_stop_ns = 100 * MS };
	struct wfg_pace_rt p = { 0 };
	__u64 now = 1 * MS, prev;
	unsigned covers = 0, n = 0;
	__u64 next;

	wfg_pace_real(&c, &p, now);
	prev = now;
	/* Fire at each deadline: every cover is exactly one interval after the last slot. */
	while ((next = wfg_pace_timer(&c, &p, now, &covers)) != 0) {
		if (covers > n) {
			cr_assert_eq(now - prev, 10 * MS, "cover %u spacing %llu", covers,
				     (unsigned long long)(now - prev));
			prev = now;
			n = covers;
		}
		now = next;
	}
	/* Covers at 11, 21, ..., 91 ms; the slot at 101 ms finds the flow idle for
	 * 100 ms and stops instead. */
	cr_assert_eq(covers, 9, "covers %u", covers);
	cr_assert_eq(p.state, WFG_PACE_IDLE);
}

Test(pace, tamaraw_pads_slot_count_to_multiple_of_L)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = 5 * MS,
				  .pad_multiple = 100,
				  .idle_stop_ns = 0 };
	struct wfg_pace_rt p = { 0 };
	__u64 now = 1;
	unsigned covers;
	int i;

	for (i = 0; i < 137; i++)
		wfg_pace_real(&c, &p, now);
	now = p.next_slot_ns;
	covers = run_timer(&c, &p, &now, ~0ULL);
	cr_assert_eq(137 + covers, 200, "covers %u", covers);
	cr_assert_eq(p.slots % 100, 0);
}

Test(pace, buflo_runs_at_least_tau)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = 20 * MS,
				  .min_active_ns = 1000 * MS,
				  .idle_stop_ns = 0 };
	struct wfg_pace_rt p = { 0 };
	__u64 now = 1;
	unsigned covers;

	wfg_pace_real(&c, &p, now);
	now = p.next_slot_ns;
	covers = run_timer(&c, &p, &now, ~0ULL);
	/* One real packet at 0, covers at 20, 40, ..., 980 ms: the slot at 1000 ms
	 * finds tau elapsed and stops. */
	cr_assert_eq(covers, 49, "covers %u", covers);
}

Test(pace, cover_budget_stops)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = MS,
				  .idle_stop_ns = 1000 * MS,
				  .cover_budget = 7 };
	struct wfg_pace_rt p = { 0 };
	__u64 now = 1;

	wfg_pace_real(&c, &p, now);
	now = p.next_slot_ns;
	cr_assert_eq(run_timer(&c, &p, &now, ~0ULL), 7);
}

Test(pace, late_timer_sends_one_cover_and_resyncs)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = MS,
				  .idle_stop_ns = 1000 * MS };
	struct wfg_pace_rt p = { 0 };
	unsigned covers = 0;

	wfg_pace_real(&c, &p, 1);
	cr_assert_eq(wfg_pace_timer(&c, &p, 50 * MS, &covers), 51 * MS);
	cr_assert_eq(covers, 1);
}

static void decay_cfg(struct wfg_pace_cfg *c)
{
	int k;

	memset(c, 0, sizeof(*c));
	c->mode = WFG_PACE_DECAY;
	c->step_ns = 100 * MS;
	c->idle_stop_ns = 10000 * MS;
	c->surge_queue_ns = 200 * MS; /* 20 slots of 10 ms */
	/* interval doubles every step: 1, 2, 4 ... ms, capped */
	for (k = 0; k < WFG_PACE_STEPS; k++)
		c->interval_at[k] = (k < 10 ? (1ULL << k) : 1024ULL) * MS;
}

Test(pace, decay_interval_grows_with_time_since_surge)
{
	struct wfg_pace_cfg c;
	struct wfg_pace_rt p = { 0 };

	decay_cfg(&c);
	wfg_pace_real(&c, &p, 1);
	cr_assert_eq(wfg_pace_interval(&c, &p, 1), 1 * MS);
	cr_assert_eq(wfg_pace_interval(&c, &p, 1 + 150 * MS), 2 * MS);
	cr_assert_eq(wfg_pace_interval(&c, &p, 1 + 350 * MS), 8 * MS);
	cr_assert_eq(wfg_pace_interval(&c, &p, 1 + 100000 * MS), 1024 * MS, "clamped");
}

Test(pace, decay_surge_restarts_the_rate)
{
	struct wfg_pace_cfg c;
	struct wfg_pace_rt p = { 0 };
	__u64 t = 1 + 350 * MS;
	int i, k;

	decay_cfg(&c);
	for (k = 0; k < WFG_PACE_STEPS; k++)
		c.interval_at[k] = (k < 3 ? 1 : 10) * MS; /* 1 ms for 300 ms, then 10 ms */
	wfg_pace_real(&c, &p, 1);
	/* 350 ms later the interval is 10 ms; a burst of 20 queues 20 slots deep. */
	for (i = 0; i < 20; i++)
		cr_assert_eq(wfg_pace_real(&c, &p, t), t + (__u64)i * 10 * MS);
	cr_assert_eq(p.surges, 0);
	cr_assert_eq(wfg_pace_backlog(&c, &p, t), 20);
	/* The 21st finds a backlog of 20: surge. It still takes the next slot (EDT
	 * cannot move what is scheduled), and the slots after it are 1 ms apart:
	 * the rate is a function of the time since the surge. */
	cr_assert_eq(wfg_pace_real(&c, &p, t), t + 200 * MS);
	cr_assert_eq(p.surges, 1);
	cr_assert_eq(wfg_pace_interval(&c, &p, t), 1 * MS, "rate back at the top");
	cr_assert_eq(wfg_pace_real(&c, &p, t), t + 201 * MS);
}
