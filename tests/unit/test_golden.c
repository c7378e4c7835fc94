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
 * FRONT with episodes: the end of the trace is the end of the episode. A page
 * load of real packets for 0.5 s, then silence: covers due after the episode
 * ended (1 s without real packets) are dropped, none is sent later. Without
 * episodes the whole draw is sent.
 */
Test(golden, front_sends_no_cover_after_the_episode_ends)
{
	struct wfg_front_params p;
	static __u64 times[4000];
	static const __u32 key[8] = { 9 };
	struct wfg_decision d;
	unsigned covers, i, late = 0, flows, drawn_total = 0, sent_total = 0;
	__u64 now, last_real;

	wfg_front_defaults(&p);
	p.n_client = 1000;
	p.w_min = p.w_max = 2.0; /* most covers due after the page's 0.5 s */
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_front(&sb, WFG_ROLE_CLIENT, &p), "front");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	for (flows = 0; flows < 20; flows++) {
		cfg.episode_idle_ns = 1000 * MS;
		now = 1 * MS;
		wfg_flow_init(&cfg, &fl, now, key, flows);
		for (i = 0; i < 50; i++, now += 10 * MS)
			wfg_on_send(&cfg, &fl, now, 500, WFG_SEND_REAL, 0, &d);
		last_real = now - 10 * MS;
		drawn_total += fl.front.remaining;
		covers = drain(&now, times, 4000, 0);
		for (i = 0; i < covers && i < 4000; i++)
			late += times[i] >= last_real + cfg.episode_idle_ns;
		cr_assert_eq(late, 0, "flow %u: %u covers after the episode's end", flows, late);
		cr_assert_eq(fl.front.remaining, 0, "the rest was dropped");
		sent_total += covers;
	}
	cr_assert_gt(sent_total, 0, "covers inside the episode are sent");
	cr_assert_lt(sent_total, drawn_total, "some of the draw fell after the end");

	/* Episodes off: the flow is one episode and its whole draw is sent. */
	cfg.episode_idle_ns = 0;
	now = 1 * MS;
	wfg_flow_init(&cfg, &fl, now, key, 0);
	wfg_on_send(&cfg, &fl, now, 500, WFG_SEND_REAL, 0, &d);
	drawn_total = fl.front.remaining + d.covers;
	covers = d.covers + drain(&now, times, 4000, 0);
	cr_assert_eq(covers, drawn_total);
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
	p.start_packets = 0; /* the schedule alone (the start phase: its own test) */
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
	p.start_packets = 0;
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
	p.start_packets = 0;
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

/*
 * A RegulaTor client flow: n real downloads `gap` apart from `t0`, real
 * uploads at up[] (sorted), the timer run at every deadline in between.
 * Returns the covers the client sent; dep[j] is upload j's departure.
 */
static unsigned client_run(__u64 t0, __u64 gap, unsigned n, const __u64 *up, unsigned m, __u64 *dep)
{
	struct wfg_decision d;
	__u64 timer = 0, none = ~0ULL;
	unsigned i = 0, j = 0, covers = 0;

	while (i < n || j < m || timer) {
		__u64 tr = i < n ? t0 + i * gap : none, tu = j < m ? up[j] : none;
		__u64 tt = timer ? timer : none;

		if (tt <= tr && tt <= tu) {
			wfg_on_timer(&cfg, &fl, tt, &d);
		} else if (tr <= tu) {
			wfg_on_recv(&cfg, &fl, tr, 0, &d);
			i++;
		} else {
			wfg_on_send(&cfg, &fl, tu, 300, WFG_SEND_REAL, 0, &d);
			dep[j++] = d.depart_ns;
		}
		covers += d.covers;
		timer = d.timer_ns;
	}
	return covers;
}

static void regulator_client_flow(const struct wfg_regulator_params *p, __u32 key0)
{
	const __u32 key[8] = { key0 };

	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_regulator(&sb, WFG_ROLE_CLIENT, p), "regulator");
	cfg.episode_idle_ns = 3000 * MS;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	wfg_flow_init(&cfg, &fl, 1 * MS, key, 1);
}

/*
 * RegulaTor, client side: one upload slot per U = 3.95 downloads. 4000
 * downloads 4 ms apart make 4000 / 3.95 = 1013 slots, each a cover unless a
 * real upload takes it.
 */
Test(golden, regulator_client_sends_one_per_U_received)
{
	struct wfg_regulator_params p;
	static __u64 up[200], dep[200];
	__u64 t0 = 1 * MS;
	unsigned covers, j;

	wfg_regulator_defaults(&p);
	regulator_client_flow(&p, 5);
	up[0] = t0; /* the request that begins the page load */
	covers = client_run(t0 + 50 * MS, 4 * MS, 4000, up, 1, dep);
	cr_assert_eq(dep[0], t0, "the first packet takes the start phase's first slot");
	cr_assert(covers >= 960 && covers <= 1040, "%u covers for 4000 downloads", covers);

	/* Real uploads every 100 ms take slots instead of covers. */
	regulator_client_flow(&p, 5);
	for (j = 0; j < 150; j++)
		up[j] = t0 + 1000 * MS + j * 100 * MS;
	covers = client_run(t0, 4 * MS, 4000, up, 150, dep);
	cr_assert(covers + 150 >= 960 && covers + 150 <= 1040, "%u covers + 150 uploads", covers);
	for (j = 0; j < 150; j++) {
		cr_assert_geq(dep[j], up[j]);
		/* the next slot, one slot interval (3.95 x 4 ms) away at most */
		cr_assert_leq(dep[j] - up[j], 17 * MS, "upload %u held %llu ns", j,
			      (unsigned long long)(dep[j] - up[j]));
	}
}

/* No slot within C (the downloads stopped): a real upload leaves C after it was sent. */
Test(golden, regulator_client_upload_delay_is_capped_at_C)
{
	struct wfg_regulator_params p;
	__u64 t0 = 1 * MS, up[3], dep[3];
	static __u64 many[80], dep_many[80];
	unsigned j, capped = 0;

	wfg_regulator_defaults(&p);
	regulator_client_flow(&p, 6);
	up[0] = t0;
	up[1] = t0 + 2000 * MS; /* 1.6 s after the last download: the clock has paused */
	up[2] = up[1] + 1 * MS;
	client_run(t0, 4 * MS, 100, up, 3, dep);
	cr_assert_eq(fl.episodes, 1, "one page load");
	cr_assert_eq(dep[1], up[1] + 1770 * MS, "held exactly C = 1.77 s");
	cr_assert_eq(dep[2], up[2] + 1770 * MS);

	/* Downloads 600 ms apart: slots 2.37 s apart, often beyond the cap. */
	regulator_client_flow(&p, 6);
	for (j = 0; j < 80; j++)
		many[j] = t0 + 7000 * MS + j * 100 * MS;
	client_run(t0, 600 * MS, 40, many, 80, dep_many);
	for (j = 0; j < 80; j++) {
		cr_assert_geq(dep_many[j], many[j]);
		cr_assert_leq(dep_many[j] - many[j], 1770 * MS, "upload %u held %llu ns", j,
			      (unsigned long long)(dep_many[j] - many[j]));
		capped += dep_many[j] - many[j] == 1770 * MS;
	}
	cr_assert_gt(capped, 0, "some uploads found no slot within C");
	cr_assert_lt(capped, 80, "and some did");

	/* With a cap of 0 nothing waits for a slot it cannot have at once. */
	p.C = 0;
	regulator_client_flow(&p, 6);
	client_run(t0, 4 * MS, 100, up, 3, dep);
	cr_assert_eq(dep[1], up[1]);
}

/*
 * The client's start phase: a slot every 200 ms (5 packets/s) from the first
 * real packet until 10 packets came in; uploads in it wait for those slots.
 */
Test(golden, regulator_client_start_phase)
{
	struct wfg_regulator_params p;
	__u64 t0 = 1 * MS, up[2] = { 1 * MS, 11 * MS }, dep[2];
	unsigned covers;

	wfg_regulator_defaults(&p);
	regulator_client_flow(&p, 7);
	/* 10 downloads from 0.5 s: the phase's slots at 0, 0.2 and 0.4 s, then 0.6 s */
	covers = client_run(t0 + 500 * MS, 10 * MS, 10, up, 2, dep);
	cr_assert_eq(dep[0], t0);
	cr_assert_eq(dep[1], t0 + 200 * MS, "the second upload waits for the next 5/s slot");
	cr_assert_eq(fl.pace.state, WFG_PACE_DONE);
	cr_assert_eq(fl.pace.start_seen, 10, "still in the start phase after 10 downloads");
	cr_assert_geq(covers, 10, "5/s until the page load ends (3 s idle): %u", covers);

	regulator_client_flow(&p, 7);
	client_run(t0 + 500 * MS, 10 * MS, 11, up, 2, dep);
	cr_assert_eq(fl.pace.start_seen, 10);
	cr_assert_neq(fl.pace.recv_iv_ns, 0);
}

/*
 * The server's start phase: from the request (a received packet) one cover
 * every 100 ms, outside the budget; the first 10 real packets leave at once,
 * the 11th starts the decaying schedule and draws the budget.
 */
Test(golden, regulator_server_start_phase)
{
	struct wfg_regulator_params p;
	struct wfg_decision d;
	static const __u32 key[8] = { 8 };
	static __u64 times[64];
	__u64 t0 = 1 * MS, now = t0;
	unsigned covers, i;

	wfg_regulator_defaults(&p);
	wfg_sb_init(&sb, &cfg);
	zoo_check(&sb, wfg_preset_regulator(&sb, WFG_ROLE_SERVER, &p), "regulator");
	cfg.episode_idle_ns = 3000 * MS;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	wfg_flow_init(&cfg, &fl, now, key, 1);
	wfg_on_recv(&cfg, &fl, now, 0, &d);
	cr_assert_eq(fl.pace.state, WFG_PACE_STARTING);
	cr_assert_eq(d.covers, 1, "a cover at once");
	times[0] = 0;
	/* run the phase for 0.95 s: covers at 0, 0.1, ... 0.9 s */
	covers = 1;
	while (d.timer_ns && d.timer_ns < t0 + 950 * MS) {
		now = d.timer_ns;
		wfg_on_timer(&cfg, &fl, now, &d);
		for (i = 0; i < d.covers && covers < 64; i++)
			times[covers++] = now - t0;
	}
	cr_assert_eq(covers, 10);
	for (i = 0; i < covers; i++)
		cr_assert_eq(times[i], i * 100 * MS, "cover %u", i);
	cr_assert_eq(fl.pace.covers, 0, "outside the budget");
	now = t0 + 950 * MS;
	for (i = 0; i < 10; i++) {
		wfg_on_send(&cfg, &fl, now, 1000, WFG_SEND_REAL, 0, &d);
		cr_assert_eq(d.depart_ns, now, "start-phase packet %u leaves at once", i);
		cr_assert_eq(fl.pace.state, WFG_PACE_STARTING);
	}
	wfg_on_send(&cfg, &fl, now, 1000, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(fl.pace.state, WFG_PACE_RUNNING, "the 11th starts the schedule");
	cr_assert_eq(fl.pace.started_ns, now);
	cr_assert_eq(d.depart_ns, now);
	wfg_on_send(&cfg, &fl, now, 1000, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.depart_ns, now + cfg.pace.interval_at[0], "then one slot at R");
}
