/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maybenot distributions as the core's integer inverse-CDF tables.
 *
 * A struct wfg_dist_spec is one Maybenot v2 `Dist`: a DistType with its
 * parameters, a start offset and a max clamp. A sample is
 *
 *     v = max(0, raw + start);  if (max > 0) v = min(v, max);
 *
 * exactly as Maybenot's Dist::sample(); the integer the core returns is v times
 * `scale`, rounded as Maybenot rounds timeouts and limits (to nearest) or, with
 * WFG_DIST_TRUNC, as it truncates counter values. docs/distributions.md gives
 * the semantics checked against Maybenot's source, the table layout, the tail
 * handling and measured accuracy.
 *
 * Nothing here allocates or prints; errors are one line in the caller's buffer.
 */
#ifndef WFGUARD_USER_DIST_BUILD_H
#define WFGUARD_USER_DIST_BUILD_H

#include <stddef.h>

#include "wfguard/core/types.h"

/* In the order of Maybenot v2's DistType enum (its serialized variant index). */
enum wfg_dist_kind {
	WFG_DK_UNIFORM,	    /* low, high: [low, high); low == high is the constant low */
	WFG_DK_NORMAL,	    /* mean, stdev */
	WFG_DK_SKEW_NORMAL, /* location, scale, shape */
	WFG_DK_LOG_NORMAL,  /* mu, sigma (of the underlying normal) */
	WFG_DK_BINOMIAL,    /* trials, probability */
	WFG_DK_GEOMETRIC,   /* probability: failures before the first success, 0, 1, ... */
	WFG_DK_PARETO,	    /* scale, shape */
	WFG_DK_POISSON,	    /* lambda */
	WFG_DK_WEIBULL,	    /* scale, shape */
	WFG_DK_GAMMA, /* scale, shape (Maybenot's order; the density uses shape k, scale θ) */
	WFG_DK_BETA,  /* alpha, beta */
	WFG_DK_COUNT
};

struct wfg_dist_spec {
	enum wfg_dist_kind kind;
	double p[3];  /* parameters in the order listed above */
	double start; /* added to the raw sample */
	double max;   /* clamp when > 0 */
};

/* How a sampled real becomes an integer (after multiplying by scale). */
enum wfg_dist_round {
	WFG_DIST_NEAREST = 0, /* Maybenot's timeouts, durations, limits: f64::round() */
	WFG_DIST_TRUNC,	      /* Maybenot's counter values: `as u64` */
};

/* "Uniform", "SkewNormal", ... (NULL for an unknown kind). */
const char *wfg_dist_kind_name(enum wfg_dist_kind k);
/* Number of parameters of kind k (1..3), or -1 for an unknown kind. */
int wfg_dist_kind_nparams(enum wfg_dist_kind k);
/* Name of parameter i of kind k ("low", "stdev", ...), NULL if out of range. */
const char *wfg_dist_param_name(enum wfg_dist_kind k, int i);
/* Kind by name, case-insensitive, '_' and '-' ignored ("skew_normal", "SkewNormal",
 * "lognormal"); -1 if unknown. */
int wfg_dist_kind_from_name(const char *name);
/* 1 for the integer-valued kinds (Binomial, Geometric, Poisson). */
int wfg_dist_kind_is_discrete(enum wfg_dist_kind k);

/*
 * Check the parameters with Maybenot's rules (Dist::validate() and rand_distr's
 * constructors), plus: every parameter, start and max must be finite. Returns 0,
 * or -EINVAL with a one-line reason such as "Normal: stdev must be finite".
 */
int wfg_dist_validate(const struct wfg_dist_spec *s, char *err, size_t errlen);

/*
 * CDF P(v <= x) of the sampled real value v (start and clamps applied, before
 * scale and rounding). The spec must be valid.
 */
double wfg_dist_cdf(const struct wfg_dist_spec *s, double x);

/*
 * Quantile of the raw distribution (no start, no clamps): the smallest x with
 * F(x) >= p; for discrete kinds an integer. p <= 0 and p >= 1 give the bounds of
 * the support (maybe infinite). Continuous quantiles are exact to a few ulps of
 * the CDF (absolute error ~1e-15 in probability).
 */
double wfg_dist_raw_quantile(const struct wfg_dist_spec *s, double p);

/*
 * Fill a core table. Continuous kinds: q[i] = value at quantile i/256, the core
 * interpolates linearly; where the support is unbounded q[0] and q[256] are the
 * quantiles WFG_DIST_TAIL_EPS and 1 - WFG_DIST_TAIL_EPS. Discrete kinds
 * (WFG_DIST_F_STEP): q[i] = value at quantile (i + 0.5)/256, q[256] = q[255].
 * Values are v * scale, rounded to nearest, clamped to [0, UINT32_MAX].
 * scale must be finite and > 0 (1.0 for µs and counts). Returns 0 or -EINVAL
 * with a reason.
 */
#define WFG_DIST_TAIL_EPS (1.0 / 2048.0)
int wfg_dist_build(const struct wfg_dist_spec *s, double scale, struct wfg_dist_table *out,
		   char *err, size_t errlen);
/* The same with an explicit rounding rule. */
int wfg_dist_build_r(const struct wfg_dist_spec *s, double scale, enum wfg_dist_round mode,
		     struct wfg_dist_table *out, char *err, size_t errlen);

/*
 * 1 and *value set if the table of this spec would always yield the same value
 * (callers then use a constant wfg_dist_ref), else 0 (also for invalid specs).
 * Besides degenerate parameters (Uniform low == high, stdev 0, ...) this covers
 * supports clamped to one point (e.g. Uniform{-20, -10} is always 0) and masses
 * below the table's resolution (Binomial{1, 0.001} is always 0 in a table).
 */
int wfg_dist_is_constant(const struct wfg_dist_spec *s, double scale, __u32 *value);
int wfg_dist_is_constant_r(const struct wfg_dist_spec *s, double scale, enum wfg_dist_round mode,
			   __u32 *value);

#endif
