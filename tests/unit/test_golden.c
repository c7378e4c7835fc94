// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Golden behaviour of published defences built from the core: each preset must
 * show what defines the defence in its paper, on hand-made traces.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "presets.h"
#include "zoo.h"

#define MS 1000000ULL

static struct wfg_side_cfg cfg;
static struct wfg_side_builder sb;
static struct wfg_flow_side fl;

/* Drive one flow's timer until nothing is pending; returns covers. */
static unsigned drain(__u64 *now, __u64 *times, unsigned max_times, __u64 start)
{
	struct wfg_decision d;
	unsigned covers = 0, i;

	wfg_on_timer(&cfg, &fl, *now, &d);
	while (d.timer_ns) {
		*now = d.timer_ns;
		wfg_on_timer(&cfg, &fl, *now, &d);
		for (i = 0; i < d.covers; i++) {
			if (covers < max_times)
				times[covers] = *now - start;
			covers++;
		}
	}
	return covers;
}

static double rayleigh_cdf(double t, double w)
{
	return 1.0 - exp(-t * t / (2 * w * w));
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

Test(golden, front_cover_count_uniform_in_1_N)
{
	struct wfg_front_params p;
	static __u64 times[2000];
	unsigned flows = 400, f, n, lo = ~0u, hi = 0;
	double sum = 0;

	wfg_front_defaults(&p);
	p.n_client = 300;
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_front(&sb, WFG_ROLE_CLIENT, &p), "front");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	for (f = 0; f < flows; f++) {
		static const __u32 key[8] = { 9, 9, 9 };
		struct wfg_decision d;
		__u64 now = 1 * MS;

		wfg_flow_init(&cfg, &fl, now, key, f);
		wfg_on_send(&cfg, &fl, now, 500, WFG_SEND_REAL, 0, &d);
		n = drain(&now, times, 2000, 1 * MS);
		cr_assert(n >= 1 && n <= 300, "flow %u: %u covers", f, n);
		lo = n < lo ? n : lo;
		hi = n > hi ? n : hi;
		sum += n;
	}
	/* U[1, 300]: mean 150.5, sd 86.6, sd of the mean over 400 flows 4.3 */
	cr_assert(fabs(sum / flows - 150.5) < 20, "mean %f", sum / flows);
	cr_assert_lt(lo, 20);
	cr_assert_gt(hi, 280);
}

Test(golden, front_cover_times_are_rayleigh)
{
	struct wfg_front_params p;
	static __u64 times[400000];
	unsigned total = 0, f, i;
	double w = 3.0, d_max = 0;

	wfg_front_defaults(&p);
	p.n_client = 400;
	p.w_min = p.w_max = w; /* fixed window: offsets ~ Rayleigh(w) */
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_front(&sb, WFG_ROLE_CLIENT, &p), "front");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	for (f = 0; f < 500 && total < 100000; f++) {
		static const __u32 key[8] = { 4, 5, 6 };
		struct wfg_decision d;
		__u64 now = 1 * MS;

		wfg_flow_init(&cfg, &fl, now, key, f);
		wfg_on_recv(&cfg, &fl, now, 0, &d); /* FRONT also starts on a received packet */
		total += drain(&now, times + total, 400000 - total, 1 * MS);
	}
	cr_assert_gt(total, 50000);
	qsort(times, total, sizeof(times[0]), cmp_u64);
	for (i = 0; i < total; i++) {
		double t = (double)times[i] / 1e9, F = rayleigh_cdf(t, w);
		double lo = F - (double)i / total, hi = (double)(i + 1) / total - F;

		d_max = fmax(d_max, fmax(lo, hi));
	}
	/* Sampling alone: 1.63/sqrt(n) at the 1% level ~ 0.007; the Exp(1) table adds < 0.004. */
	cr_assert_lt(d_max, 0.012, "KS distance %f over %u covers", d_max, total);
}

/*
 * Tamaraw on a hand-made client trace (a burst of 30 requests, a 2 s pause, 12
 * more): every packet on the wire, real or cover, is `size` bytes, leaves
 * exactly rho_out after the previous one, and the total is a multiple of L.
 */
Test(golden, tamaraw_constant_spacing_fixed_size_multiple_of_L)
{
	struct wfg_tamaraw_params p;
	struct wfg_decision d;
	static const __u32 key[8] = { 1 };
	static __u64 wire[4096];
	const __u64 t0 = 10 * MS;
	__u64 deadline = 0, interval, arr;
	unsigned i = 0, n = 0, real = 0, k;

	wfg_tamaraw_defaults(&p);
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_tamaraw(&sb, WFG_ROLE_CLIENT, &p), "tamaraw");
	cfg.episode_idle_ns = 3000 * MS; /* the page ends with its episode */
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	interval = (__u64)llround(p.rho_out * 1e9);
	wfg_flow_init(&cfg, &fl, t0, key, 1);
	for (;;) {
		arr = i < 42 ? t0 + (i < 30 ? 0 : 2000 * MS) : ~0ULL;
		if (deadline && deadline <= arr) {
			wfg_on_timer(&cfg, &fl, deadline, &d);
			for (k = 0; k < d.covers; k++) {
				struct wfg_decision c;

				wfg_on_send(&cfg, &fl, deadline, 1, WFG_SEND_COVER, 0, &c);
				cr_assert_eq(c.pad_to, p.size);
				wire[n++] = c.depart_ns;
			}
		} else if (i < 42) {
			wfg_on_send(&cfg, &fl, arr, 100 + 20 * i, WFG_SEND_REAL, 0, &d);
			cr_assert_eq(d.pad_to, p.size, "every packet padded to %u", p.size);
			wire[n++] = d.depart_ns;
			real++;
			i++;
		} else {
			break;
		}
		deadline = d.timer_ns;
		cr_assert_lt(n, 4000);
	}
	qsort(wire, n, sizeof(wire[0]), cmp_u64);
	for (k = 1; k < n; k++)
		cr_assert_eq(wire[k] - wire[k - 1], interval, "packet %u: spacing %llu", k,
			     (unsigned long long)(wire[k] - wire[k - 1]));
	cr_assert_eq(n % p.L, 0, "%u real + %u covers", real, n - real);
	cr_assert_gt(n - real, 40, "the pause was filled with covers");
	/* One schedule through the 2 s pause (the spacing above), ended 3 s
	 * after the last real packet and then padded to a multiple of L. */
	cr_assert_geq(wire[n - 1], t0 + 2000 * MS + 3000 * MS);
	cr_assert_eq(fl.pace.state, WFG_PACE_DONE);
}

/*
 * Tamaraw per episode: each page load of a session is padded on its own to
 * (floor(n/L) + k) * L, k >= 1, and the next page starts a new schedule.
 */
Test(golden, tamaraw_pads_each_episode_to_a_multiple_of_L)
{
	struct wfg_tamaraw_params p;
	struct wfg_decision d;
	static const __u32 key[8] = { 9 };
	__u64 now = 1 * MS, deadline, last;
	unsigned page, i, k, slots, body, extra1 = 0, pages = 200;

	wfg_tamaraw_defaults(&p);
	p.L = 20;
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_tamaraw(&sb, WFG_ROLE_SERVER, &p), "tamaraw");
	cfg.episode_idle_ns = 500 * MS;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	wfg_flow_init(&cfg, &fl, now, key, 1);
	for (page = 0; page < pages; page++) {
		unsigned real = 5 + page % 37;

		for (i = 0; i < real; i++)
			wfg_on_send(&cfg, &fl, now, 200, WFG_SEND_REAL, 0, &d);
		cr_assert_eq(fl.episodes, page + 1);
		slots = real;
		body = real; /* slots before the page is over: n of the reference */
		last = now;
		for (deadline = d.timer_ns; deadline; deadline = d.timer_ns) {
			now = deadline;
			wfg_on_timer(&cfg, &fl, now, &d);
			slots += d.covers;
			if (now < last + cfg.episode_idle_ns)
				body += d.covers;
		}
		cr_assert_eq(slots % p.L, 0, "page %u: %u real, %u slots", page, real, slots);
		k = slots / p.L - body / p.L;
		cr_assert_geq(k, 1);
		extra1 += k == 1;
		now += 100 * MS; /* the next page, less than an episode's idle later */
	}
	/* P(k = 1) = 1/2: 100 of 200, 5 sigma is 35 */
	cr_assert(extra1 > 65 && extra1 < 135, "k = 1 in %u of %u pages", extra1, pages);
}

/* RegulaTor: the padding budget is drawn from U{0..N-1} again in every episode. */
Test(golden, regulator_budget_uniform_per_episode)
{
	struct wfg_regulator_params p;
	struct wfg_decision d;
	static const __u32 key[8] = { 6 };
	__u64 now = 1 * MS, deadline;
	unsigned ep, covers, lo = ~0u, hi = 0, eps = 400;
	double sum = 0;

	wfg_regulator_defaults(&p);
	p.N = 100;
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_regulator(&sb, WFG_ROLE_SERVER, &p), "regulator");
	cfg.episode_idle_ns = 3000 * MS;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	wfg_flow_init(&cfg, &fl, now, key, 1);
	for (ep = 0; ep < eps; ep++) {
		wfg_on_send(&cfg, &fl, now, 1000, WFG_SEND_REAL, 0, &d);
		cr_assert_eq(fl.episodes, ep + 1);
		covers = 0;
		for (deadline = d.timer_ns; deadline; deadline = d.timer_ns) {
			now = deadline;
			wfg_on_timer(&cfg, &fl, now, &d);
			covers += d.covers;
		}
		cr_assert_eq(covers, fl.pace.budget);
		lo = covers < lo ? covers : lo;
		hi = covers > hi ? covers : hi;
		sum += covers;
		now += 3000 * MS;
	}
	cr_assert_leq(lo, 2);
	cr_assert_geq(hi, 97);
	cr_assert_leq(hi, 99, "never N itself");
	/* mean 49.5, sd of the mean 28.9 / 20 = 1.4 */
	cr_assert(fabs(sum / eps - 49.5) < 6, "mean budget %.1f", sum / eps);
}

/*
 * RegulaTor, server side: the sending rate starts at R and decays by D per
 * second; empty slots carry covers (at most N); a long queue restarts the rate.
 */
Test(golden, regulator_server_rate_decays_and_covers_fill_gaps)
{
	struct wfg_regulator_params p;
	struct wfg_decision d;
	static const __u32 key[8] = { 3 };
	static __u64 times[8192];
	__u64 now = 1 * MS, early = 0, late = 0;
	unsigned covers, i, n_early = 0, n_late = 0;

	__u32 k8[8];
	unsigned tries;

	wfg_regulator_defaults(&p);
	p.idle_stop = 6.0;
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_regulator(&sb, WFG_ROLE_SERVER, &p), "regulator");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	/* The budget is drawn per page load: take a flow whose budget outlasts
	 * the six seconds looked at (~1400 covers). */
	memcpy(k8, key, sizeof(k8));
	for (tries = 0; tries < 64; tries++, k8[1]++) {
		now = 1 * MS;
		wfg_flow_init(&cfg, &fl, now, k8, 1);
		wfg_on_send(&cfg, &fl, now, 1000, WFG_SEND_REAL, 0, &d); /* page load starts */
		if (fl.pace.budget >= 1600)
			break;
	}
	cr_assert_geq(fl.pace.budget, 1600);
	covers = drain(&now, times, 8192, 1 * MS);
	cr_assert_gt(covers, 1300);
	cr_assert_leq(covers, fl.pace.budget);
	/* covers per second at the start vs five seconds later */
	for (i = 0; i < covers && i < 8192; i++) {
		if (times[i] < 1000 * MS)
			n_early++;
		else if (times[i] >= 5000 * MS && times[i] < 6000 * MS)
			n_late++;
	}
	(void)early;
	(void)late;
	/* R = 277/s at first; after 5 s about R * D^5.5 = 197/s (tabulated in 0.25 s steps). */
	cr_assert(n_early >= 260 && n_early <= 280, "first second: %u covers", n_early);
	cr_assert(n_late >= 180 && n_late <= 210, "sixth second: %u covers", n_late);
	cr_assert_lt(n_late, n_early);
}

Test(golden, regulator_surge_restarts_the_rate)
{
	struct wfg_regulator_params p;
	struct wfg_decision d;
	static const __u32 key[8] = { 4 };
	__u64 now = 1 * MS;
	unsigned i;

	wfg_regulator_defaults(&p);
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_regulator(&sb, WFG_ROLE_SERVER, &p), "regulator");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	wfg_flow_init(&cfg, &fl, now, key, 1);
	/* 2 s later, a burst worth more than T = 3.55 s at the current rate */
	wfg_on_send(&cfg, &fl, now, 1000, WFG_SEND_REAL, 0, &d);
	now += 2000 * MS;
	for (i = 0; i < 1200 && !fl.pace.surges; i++)
		wfg_on_send(&cfg, &fl, now, 1000, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(fl.pace.surges, 1, "no surge after %u packets", i);
	/* 3.55 s of queue: at most 277/s * 3.55 s = 983 packets, fewer because the
	 * rate keeps decaying along the queue (each slot is spaced by the rate at
	 * its own departure time): from ~246/s down to ~200/s, about 790. */
	cr_assert(i > 700 && i < 900, "surge after %u packets", i);
}

/* RegulaTor, client side: one upload per U = 3.95 downloads, real uploads count. */
Test(golden, regulator_client_sends_one_per_U_received)
{
	struct wfg_regulator_params p;
	struct wfg_decision d;
	static const __u32 key[8] = { 5 };
	__u64 now = 1 * MS;
	unsigned covers = 0, i;

	wfg_regulator_defaults(&p);
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_regulator(&sb, WFG_ROLE_CLIENT, &p), "regulator");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	wfg_flow_init(&cfg, &fl, now, key, 1);
	for (i = 0; i < 4000; i++) {
		wfg_on_recv(&cfg, &fl, ++now, 0, &d);
		covers += d.covers;
		if (d.covers)
			wfg_on_send(&cfg, &fl, now, 1, WFG_SEND_COVER, 0, &d);
	}
	/* (4000 - 1) / 3.95 = 1012 */
	cr_assert(covers >= 990 && covers <= 1035, "%u covers for 4000 downloads", covers);
	/* A client that uploads every second download needs no padding at all. */
	covers = 0;
	for (i = 0; i < 4000; i++) {
		wfg_on_recv(&cfg, &fl, ++now, 0, &d);
		covers += d.covers;
		if (d.covers)
			wfg_on_send(&cfg, &fl, now, 1, WFG_SEND_COVER, 0, &d);
		if (i % 2)
			wfg_on_send(&cfg, &fl, ++now, 300, WFG_SEND_REAL, 0, &d);
	}
	cr_assert_leq(covers, 1, "%u covers although the client uploads", covers);
}
