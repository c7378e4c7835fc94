/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * FRONT (Gong and Wang, USENIX Security 2020): each side draws a cover count
 * n ~ U[1, N] and a window w ~ U[W_min, W_max] when the flow starts, then sends
 * its n covers at times drawn i.i.d. from a Rayleigh distribution of scale w
 * (measured from the start).
 *
 * The data path cannot keep n sorted draws, so it walks the order statistics:
 * given the previous cover at x and m covers left, the next is the minimum of m
 * Rayleigh draws conditioned on exceeding x, whose survival function is
 * exp(-m (y^2 - x^2) / (2 w^2)). Hence y = sqrt(x^2 + 2 w^2 E / m) with E ~
 * Exp(1): the same joint law as sorting n i.i.d. draws, in O(1) state. E is read
 * from an inverse-CDF table (Exp(1) scaled by 2^16) the controller builds.
 * Times are kept in microseconds so that x^2 fits in 64 bits.
 */
#ifndef WFGUARD_CORE_FRONT_H
#define WFGUARD_CORE_FRONT_H

#include "types.h"
#include "prng.h"
#include "dist.h"

struct wfg_front_rt {
	__u64 start_ns;
	__u64 next_ns; /* time of the next cover, 0 = none */
	__u64 x_us;    /* offset of the previous cover from start */
	__u64 w2_us2;  /* w^2 */
	__u32 remaining;
	__u32 started;
};

/* Index of the highest set bit of a 64-bit value, 0 for v <= 1. */
WFG_INLINE __u32 wfg_log2_u64(__u64 v)
{
	__u32 r = 0;
	int i;

	for (i = 32; i > 0; i >>= 1) {
		if (v >> i) {
			v >>= i;
			r += (__u32)i;
		}
	}
	return r;
}

/*
 * floor(sqrt(v)) by Newton's method from a power of two above the root: the
 * iterates fall monotonically and reach the floor in at most 6 steps for any
 * 64-bit v (the start is within a factor of 2). Few branches, so the
 * verifier's walk stays short; a global function in BPF.
 */
WFG_GLOBAL __u64 wfg_isqrt64(__u64 v)
{
	__u64 x, y;
	int i;

	if (v < 2)
		return v;
	x = 1ULL << ((wfg_log2_u64(v) >> 1) + 1);
	for (i = 0; i < 8; i++) {
		y = (x + v / x) >> 1;
		if (y < x)
			x = y;
	}
	return x;
}

WFG_INLINE void wfg_front_schedule(const struct wfg_side_cfg *cfg, struct wfg_front_rt *f,
				   struct wfg_prng *rng)
{
	__u64 e_q16, inc, y;

	if (!f->remaining) {
		f->next_ns = 0;
		return;
	}
	e_q16 = wfg_dist_quantile(&cfg->dists[WFG_IDX(cfg->front.exp_table, WFG_MAX_DISTS)],
				  wfg_rand32(rng));
	/* 2 w^2 E / m, scaled in two steps to stay inside 64 bits. */
	inc = (((f->w2_us2 >> 8) * e_q16) >> 7) / f->remaining;
	y = wfg_isqrt64(f->x_us * f->x_us + inc);
	f->x_us = y;
	f->next_ns = f->start_ns + y * 1000;
}

/* First real packet of the flow (either direction): draw n and w. */
WFG_INLINE void wfg_front_start(const struct wfg_side_cfg *cfg, struct wfg_front_rt *f,
				struct wfg_prng *rng, __u64 now)
{
	const struct wfg_front_cfg *c = &cfg->front;
	__u64 w_us;

	if (!c->max_covers || f->started)
		return;
	f->started = 1;
	f->start_ns = now;
	f->remaining = 1 + wfg_rand_below(rng, c->max_covers);
	w_us = wfg_rand_between(rng, c->window_min_ns, c->window_max_ns) / 1000;
	f->w2_us2 = w_us * w_us;
	f->x_us = 0;
	wfg_front_schedule(cfg, f, rng);
}

/*
 * The page load is over (its episode ended: no real packet either way for the
 * episode's idle time): the covers still scheduled are dropped, as the
 * authors' code drops every cover after the trace's last packet. The next
 * real packet begins a new episode with a new draw.
 */
WFG_INLINE void wfg_front_stop(struct wfg_front_rt *f)
{
	f->remaining = 0;
	f->next_ns = 0;
}

#define WFG_FRONT_BURST 8 /* covers released by one late timer, at most */

/* Timer: add the covers now due to *covers; returns the next deadline or 0. */
WFG_INLINE __u64 wfg_front_timer(const struct wfg_side_cfg *cfg, struct wfg_front_rt *f,
				 struct wfg_prng *rng, __u64 now, __u32 *covers)
{
	int i;

	for (i = 0; i < WFG_FRONT_BURST; i++) {
		if (!f->next_ns || f->next_ns > now)
			break;
		*covers += 1;
		f->remaining--;
		wfg_front_schedule(cfg, f, rng);
	}
	return f->next_ns;
}

#endif /* WFGUARD_CORE_FRONT_H */
