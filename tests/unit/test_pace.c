// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Pacing schedules: slots, covers for empty slots, stopping rules, decay and surges. */
#include <criterion/criterion.h>

#include <math.h>

#include "wfguard/core/pace.h"

#define MS 1000000ULL

static struct wfg_prng rng;

/* The pacer with this file's stream and the config's own stop time. */
#define REAL(c, p, t)	       wfg_pace_real((c), (p), (t), &rng)
#define TIMER(c, p, t, covers) wfg_pace_timer((c), (p), (t), (c)->idle_stop_ns, &rng, (covers))

/* Drive the pacer's timer until it stops or `until`; returns covers requested. */
static unsigned run_timer(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 *now,
			  __u64 until)
{
	unsigned covers = 0;
	__u64 next;

	for (;;) {
		next = TIMER(c, p, *now, &covers);
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

	cr_assert_eq(REAL(&c, &p, 5 * MS), 5 * MS);
	cr_assert_eq(TIMER(&c, &p, 6 * MS, &covers), 0);
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
		cr_assert_eq(REAL(&c, &p, t0), t0 + (__u64)i * 10 * MS, "packet %d", i);
	/* A packet after the queue drained goes at once, and the slot after it is 10 ms on. */
	cr_assert_eq(REAL(&c, &p, t0 + 73 * MS), t0 + 73 * MS);
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

	REAL(&c, &p, now);
	prev = now;
	/* Fire at each deadline: every cover is exactly one interval after the last slot. */
	while ((next = TIMER(&c, &p, now, &covers)) != 0) {
		if (covers > n) {
			cr_assert_eq(now - prev, 10 * MS, "cover %u spacing %llu", covers,
				     (unsigned long long)(now - prev));
			prev = now;
			n = covers;
		}
		now = next;
	}
	/* Covers at 11, 21, ..., 91 ms; the slot at 101 ms finds the flow idle for
	 * 100 ms and ends the schedule: the page load is over. */
	cr_assert_eq(covers, 9, "covers %u", covers);
	cr_assert_eq(p.state, WFG_PACE_DONE);
	cr_assert(wfg_pace_over(&c, &p, now, c.idle_stop_ns),
		  "the next real packet begins an episode");
}

Test(pace, tamaraw_pads_slot_count_to_multiple_of_L)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = 5 * MS,
				  .pad_multiple = 100,
				  .idle_stop_ns = 1 };
	struct wfg_pace_rt p = { 0 };
	__u64 now = 1;
	unsigned covers;
	int i;

	for (i = 0; i < 137; i++)
		REAL(&c, &p, now);
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
				  .idle_stop_ns = 1 };
	struct wfg_pace_rt p = { 0 };
	__u64 now = 1;
	unsigned covers;

	REAL(&c, &p, now);
	now = p.next_slot_ns;
	covers = run_timer(&c, &p, &now, ~0ULL);
	/* One real packet at 0, covers at 20, 40, ..., 980 ms: the slot at 1000 ms
	 * finds tau elapsed and stops. */
	cr_assert_eq(covers, 49, "covers %u", covers);
}

Test(pace, spent_budget_keeps_the_clock_running_silently)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = MS,
				  .idle_stop_ns = 1000 * MS,
				  .cover_budget = 7 };
	struct wfg_pace_rt p = { 0 };
	__u64 now = 1;
	unsigned covers = 0;

	REAL(&c, &p, now);
	now = p.next_slot_ns;
	cr_assert_eq(run_timer(&c, &p, &now, ~0ULL), 7);
	/* No covers and no timer, but the schedule has not ended ... */
	cr_assert_eq(p.state, WFG_PACE_RUNNING);
	cr_assert_eq(TIMER(&c, &p, 500 * MS, &covers), 0);
	cr_assert_eq(covers, 0);
	cr_assert_not(wfg_pace_over(&c, &p, 500 * MS, c.idle_stop_ns));
	/* ... a real packet between two slots of the clock waits for the next one
	 * (slots at 1 + k ms), and the slots after it follow it. */
	cr_assert_eq(REAL(&c, &p, 300 * MS + MS / 2), 301 * MS + 1);
	cr_assert_eq(REAL(&c, &p, 300 * MS + MS / 2), 302 * MS + 1);
	/* A second without real packets ends it. */
	cr_assert_not(wfg_pace_over(&c, &p, 300 * MS + 1000 * MS, c.idle_stop_ns));
	cr_assert(wfg_pace_over(&c, &p, 301 * MS + 1000 * MS, c.idle_stop_ns));
}

Test(pace, late_timer_sends_one_cover_and_resyncs)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = MS,
				  .idle_stop_ns = 1000 * MS };
	struct wfg_pace_rt p = { 0 };
	unsigned covers = 0;

	REAL(&c, &p, 1);
	cr_assert_eq(TIMER(&c, &p, 50 * MS, &covers), 51 * MS);
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
	REAL(&c, &p, 1);
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
	REAL(&c, &p, 1);
	/* 350 ms later the interval is 10 ms; a burst of 20 queues 20 slots deep. */
	for (i = 0; i < 20; i++)
		cr_assert_eq(REAL(&c, &p, t), t + (__u64)i * 10 * MS);
	cr_assert_eq(p.surges, 0);
	cr_assert_eq(wfg_pace_backlog(&c, &p, t), 20);
	/* The 21st finds exactly T (200 ms) of queue: the reference surges only
	 * above T * rate. It takes the next slot. */
	cr_assert_eq(REAL(&c, &p, t), t + 200 * MS);
	cr_assert_eq(p.surges, 0);
	/* The 22nd finds 210 ms: surge. It still takes the next slot (EDT cannot
	 * move what is scheduled), and the slots after it are 1 ms apart: the rate
	 * is a function of the time since the surge. */
	cr_assert_eq(REAL(&c, &p, t), t + 210 * MS);
	cr_assert_eq(p.surges, 1);
	cr_assert_eq(wfg_pace_interval(&c, &p, t), 1 * MS, "rate back at the top");
	cr_assert_eq(REAL(&c, &p, t), t + 211 * MS);
}

Test(pace, tamaraw_tail_extra_multiples_are_geometric)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .flags = WFG_PACE_F_PAD_GEOMETRIC,
				  .interval_ns = 5 * MS,
				  .pad_multiple = 50,
				  .idle_stop_ns = 100 * MS };
	unsigned hist[WFG_PACE_MAX_EXTRA + 2] = { 0 }, runs = 4000, r, k;

	wfg_prng_init_seed(&rng, 7, 1);
	for (r = 0; r < runs; r++) {
		struct wfg_pace_rt p = { 0 };
		__u64 now = 1;
		unsigned covers, real = 20 + r % 200, i;

		for (i = 0; i < real; i++)
			REAL(&c, &p, now);
		now = p.next_slot_ns;
		covers = run_timer(&c, &p, &now, ~0ULL);
		cr_assert_eq(p.state, WFG_PACE_DONE);
		cr_assert_eq((real + covers) % 50, 0, "%u + %u", real, covers);
		k = (real + covers) / 50 - real / 50;
		cr_assert(k >= 1 && k <= WFG_PACE_MAX_EXTRA, "k = %u", k);
		hist[k]++;
	}
	/* 1/2, 1/4, 1/8 within 4 sigma of 4000 draws */
	cr_assert(hist[1] > 1870 && hist[1] < 2130, "k=1: %u", hist[1]);
	cr_assert(hist[2] > 890 && hist[2] < 1110, "k=2: %u", hist[2]);
	cr_assert(hist[3] > 410 && hist[3] < 590, "k=3: %u", hist[3]);
}

/* The tail starts only when the page is over; a real packet in between cancels it. */
Test(pace, tamaraw_tail_waits_for_the_end_of_the_page)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .interval_ns = 10 * MS,
				  .pad_multiple = 100,
				  .idle_stop_ns = 500 * MS };
	struct wfg_pace_rt p = { 0 };
	__u64 now = 1, peer;
	unsigned covers;

	REAL(&c, &p, now);
	/* a pause of 400 ms: covers fill it, no tail, the schedule runs on */
	now = p.next_slot_ns;
	covers = run_timer(&c, &p, &now, 400 * MS);
	cr_assert_eq(p.tail_to, 0);
	cr_assert_eq(p.state, WFG_PACE_RUNNING);
	/* the peer's real packet counts as activity too */
	peer = now;
	wfg_pace_activity(&p, peer);
	covers += run_timer(&c, &p, &now, ~0ULL);
	cr_assert_eq(p.state, WFG_PACE_DONE);
	cr_assert_eq((1 + covers) % 100, 0, "one schedule padded once: %u", covers);
	cr_assert_geq(now, peer + 500 * MS, "not before the page's end");
}

/* RegulaTor: the budget of each schedule is drawn from U{0..N-1}. */
Test(pace, regulator_budget_is_uniform_below_N)
{
	struct wfg_pace_cfg c = { .mode = WFG_PACE_CONSTANT,
				  .flags = WFG_PACE_F_BUDGET_UNIFORM,
				  .interval_ns = MS,
				  .idle_stop_ns = 10000 * MS,
				  .cover_budget = 40 };
	unsigned seen[40] = { 0 }, runs = 8000, r, lo = ~0u, hi = 0;
	double sum = 0;

	wfg_prng_init_seed(&rng, 11, 2);
	for (r = 0; r < runs; r++) {
		struct wfg_pace_rt p = { 0 };
		__u64 now = 1;
		unsigned covers;

		REAL(&c, &p, now);
		now = p.next_slot_ns;
		covers = run_timer(&c, &p, &now, ~0ULL);
		cr_assert_eq(covers, p.budget);
		cr_assert_lt(covers, 40);
		seen[covers]++;
		sum += covers;
		lo = covers < lo ? covers : lo;
		hi = covers > hi ? covers : hi;
	}
	cr_assert_eq(lo, 0);
	cr_assert_eq(hi, 39);
	/* mean 19.5, sd of the mean 11.5 / sqrt(8000) = 0.13 */
	cr_assert(fabs(sum / runs - 19.5) < 0.6, "mean %.2f", sum / runs);
	for (r = 0; r < 40; r++)
		cr_assert(seen[r] > 120 && seen[r] < 285, "budget %u drawn %u times", r, seen[r]);
}

/* RegulaTor: the rate decays through a pause; it does not restart with the next packet. */
Test(pace, decay_continues_through_a_silent_pause)
{
	struct wfg_pace_cfg c;
	struct wfg_pace_rt p = { 0 };
	__u64 t = 1 + 550 * MS;

	decay_cfg(&c);
	c.cover_budget = 3;
	REAL(&c, &p, 1);
	/* three covers at 2, 3, 4 ms, then silence */
	{
		__u64 now = p.next_slot_ns;

		cr_assert_eq(run_timer(&c, &p, &now, ~0ULL), 3);
	}
	/* 550 ms after the start the interval is 32 ms (step 5): a packet then
	 * takes the clock's next slot and the one after it is 32 ms later. */
	{
		__u64 d = REAL(&c, &p, t);

		cr_assert_geq(d, t);
		cr_assert_lt(d, t + 32 * MS);
		cr_assert_eq(REAL(&c, &p, t), d + 32 * MS);
		cr_assert_eq(p.surges, 0);
	}
}
