/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Sampling distributions by integer inverse CDF.
 *
 * The controller (libm is fine there) turns each Maybenot distribution into 257
 * quantiles q[i] = F^-1(i / 256), with the distribution's start offset and max
 * clamp already applied. A sample takes one 32-bit draw: its top 8 bits pick an
 * interval, the low 24 bits interpolate linearly inside it. Discrete
 * distributions (WFG_DIST_F_STEP) instead store q[i] = F^-1((i + 0.5) / 256)
 * and return it as is, so every value they produce is one the distribution can
 * produce.
 */
#ifndef WFGUARD_CORE_DIST_H
#define WFGUARD_CORE_DIST_H

#include "types.h"
#include "prng.h"

/* Sample a table with a given 32-bit uniform draw (exposed for tests). */
WFG_INLINE __u32 wfg_dist_quantile(const struct wfg_dist_table *t, __u32 u)
{
	__u32 i = u >> (32 - WFG_DIST_BITS);
	__u32 frac = u & ((1u << (32 - WFG_DIST_BITS)) - 1);
	__u32 a, b;

	i = WFG_IDX(i, WFG_DIST_INTERVALS);
	a = t->q[i];
	if (t->flags & WFG_DIST_F_STEP)
		return a;
	b = t->q[i + 1];
	if (b <= a)
		return a;
	return a + (__u32)(((__u64)(b - a) * frac) >> (32 - WFG_DIST_BITS));
}

/* A sample for the 32-bit uniform draw u; constants ignore u. */
WFG_INLINE __u32 wfg_dist_sample_u(const struct wfg_side_cfg *cfg, const struct wfg_dist_ref *ref,
				   __u32 u)
{
	__u32 table = ref->table;

	/* Constants and out-of-range tables (a controller bug) draw nothing. */
	if (table >= WFG_MAX_DISTS)
		return ref->constant;
	return wfg_dist_quantile(&cfg->dists[WFG_IDX(table, WFG_MAX_DISTS)], u);
}

/* Draws only when the distribution is not constant, as Maybenot does. */
WFG_INLINE __u32 wfg_dist_sample(const struct wfg_side_cfg *cfg, const struct wfg_dist_ref *ref,
				 struct wfg_prng *rng)
{
	if (ref->table >= WFG_MAX_DISTS)
		return ref->constant;
	return wfg_dist_sample_u(cfg, ref, wfg_rand32(rng));
}

/* The same from words reserved with wfg_prng_reserve(). */
WFG_INLINE __u32 wfg_dist_sample_reserved(const struct wfg_side_cfg *cfg,
					  const struct wfg_dist_ref *ref, struct wfg_prng *rng)
{
	if (ref->table >= WFG_MAX_DISTS)
		return ref->constant;
	return wfg_dist_sample_u(cfg, ref, wfg_rand32_reserved(rng));
}

#endif /* WFGUARD_CORE_DIST_H */
