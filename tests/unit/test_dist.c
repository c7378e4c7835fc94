// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Distribution tables: every Maybenot kind sampled through the core's
 * wfg_dist_quantile() and its ChaCha stream, compared with the analytic CDF of
 * the sampled value; validation, constants, clamps, interpolation, rounding.
 *
 * For out = R(scale * v) (R = round to nearest or truncate) the reference is
 * G(k) = P(out <= k) = P(scale * v < k + 1/2)   (or < k + 1 when truncating).
 * Two distances are checked per case:
 *  - the table's exact CDF (computed from q[] the way the core interpolates)
 *    against G: at most 1/256 for interpolated tables (only the interval that
 *    straddles a point can be wrong), at most 1/512 for step tables (every
 *    cut point (i + 1/2)/256 is off by at most half a step);
 *  - 10^5 samples against G: Kolmogorov-Smirnov <= 0.01 for continuous kinds,
 *    per-atom mass within 5 sigma of the table's mass (and the table's mass
 *    within 1/256 of the analytic one) for discrete kinds.
 * Run with --verbose to see the measured distances.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wfguard/core/dist.h"
#include "dist_build.h"

#define NSAMPLES 100000
#define NQ	 ((int)WFG_DIST_INTERVALS)
#define STEP	 (1.0 / NQ)

#define SPEC(k, a, b, c, st, mx) \
	((struct wfg_dist_spec){ .kind = (k), .p = { (a), (b), (c) }, .start = (st), .max = (mx) })

struct kcase {
	const char *name;
	struct wfg_dist_spec s;
	double scale;
};

/* P(out <= k) from the analytic CDF of the sampled real value. */
static double ref_cdf(const struct wfg_dist_spec *s, double scale, enum wfg_dist_round m, double k)
{
	double x = (m == WFG_DIST_TRUNC ? k + 1.0 : k + 0.5) / scale;

	return wfg_dist_cdf(s, nextafter(x, -INFINITY)); /* strictly below x */
}

/* P(out <= k) of the table, exactly as wfg_dist_quantile() draws from it. */
static double tab_cdf(const struct wfg_dist_table *t, long long k)
{
	unsigned long long sum = 0;
	int i;

	if (t->flags & WFG_DIST_F_STEP) {
		for (i = 0; i < NQ; i++)
			sum += (long long)t->q[i] <= k;
		return (double)sum / WFG_DIST_INTERVALS;
	}
	for (i = 0; i < NQ; i++) {
		long long a = t->q[i], b = t->q[i + 1];

		if (b <= a) {
			sum += a <= k ? 1ULL << 24 : 0;
		} else if (k < a) {
			continue;
		} else if (k >= b - 1) {
			sum += 1ULL << 24;
		} else {
			/* fractions f in [0, 2^24) with a + ((b - a) f >> 24) <= k */
			unsigned long long num = (unsigned long long)(k - a + 1) << 24;

			sum += (num + (unsigned long long)(b - a) - 1) /
			       (unsigned long long)(b - a);
		}
	}
	return (double)sum / 4294967296.0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static __u32 *draw(const struct wfg_dist_table *t, __u64 seed)
{
	__u32 *v = malloc(NSAMPLES * sizeof(*v));
	struct wfg_prng r;
	int i;

	cr_assert_not_null(v);
	wfg_prng_init_seed(&r, seed, 0);
	for (i = 0; i < NSAMPLES; i++)
		v[i] = wfg_dist_quantile(t, wfg_rand32(&r));
	qsort(v, NSAMPLES, sizeof(*v), cmp_u32);
	return v;
}

static __u32 round_u32(double x, enum wfg_dist_round m)
{
	return (__u32)(m == WFG_DIST_TRUNC ? floor(x) : round(x));
}

static void check_table_shape(const struct kcase *c, const struct wfg_dist_table *t,
			      enum wfg_dist_round m)
{
	int i;

	for (i = 1; i <= NQ; i++)
		cr_assert_geq(t->q[i], t->q[i - 1], "%s: q[%d] = %u < q[%d] = %u", c->name, i,
			      t->q[i], i - 1, t->q[i - 1]);
	if (c->s.max > 0)
		cr_assert_leq(t->q[WFG_DIST_INTERVALS], round_u32(c->s.max * c->scale, m),
			      "%s: q[256] = %u above max", c->name, t->q[WFG_DIST_INTERVALS]);
}

/* Interpolated tables: exact table distance and sampled Kolmogorov-Smirnov distance. */
static void check_continuous(const struct kcase *c, __u64 seed)
{
	const enum wfg_dist_round m = WFG_DIST_NEAREST;
	struct wfg_dist_table t;
	double d_tab = 0, d_ks = 0;
	char err[128] = "";
	__u32 *v;
	int i, j;

	cr_assert_eq(wfg_dist_build(&c->s, c->scale, &t, err, sizeof(err)), 0, "%s: %s", c->name,
		     err);
	cr_assert_eq(t.flags, 0, "%s: continuous table flagged as step", c->name);
	check_table_shape(c, &t, m);

	/* the table's exact CDF against G: ends of every interval and points inside */
	for (i = 0; i < NQ; i++) {
		long long a = t.q[i], b = t.q[i + 1];

		for (j = -1; j <= 17; j++) {
			long long k = j < 0 ? a - 1 : j == 17 ? b : a + (b - a) * j / 16;
			double d = fabs(tab_cdf(&t, k) - ref_cdf(&c->s, c->scale, m, (double)k));

			if (d > d_tab)
				d_tab = d;
		}
	}
	cr_assert_leq(d_tab, STEP + 1e-9, "%s: table distance %.5f > 1/256", c->name, d_tab);

	/* samples: sup |Fn - G| over integers is reached at a sample value or just below */
	v = draw(&t, seed);
	for (i = 0; i < NSAMPLES; i = j) {
		double below, at;

		for (j = i; j < NSAMPLES && v[j] == v[i]; j++)
			;
		below = fabs((double)i / NSAMPLES - ref_cdf(&c->s, c->scale, m, v[i] - 1.0));
		at = fabs((double)j / NSAMPLES - ref_cdf(&c->s, c->scale, m, v[i]));
		d_ks = fmax(d_ks, fmax(below, at));
	}
	free(v);
	cr_log_info("%-40s table %.5f  KS(1e5 samples) %.5f", c->name, d_tab, d_ks);
	cr_assert_leq(d_ks, 0.01, "%s: KS distance %.5f", c->name, d_ks);
}

/* Step tables: exact table CDF within 1/512, per-atom masses of samples. */
static void check_discrete(const struct kcase *c, __u64 seed)
{
	const enum wfg_dist_round m = WFG_DIST_NEAREST;
	struct wfg_dist_table t;
	double d_tab = 0, d_atom = 0, d_ks = 0;
	long long lo, hi, k;
	char err[128] = "";
	__u32 *v;
	int i;

	cr_assert_eq(wfg_dist_build(&c->s, c->scale, &t, err, sizeof(err)), 0, "%s: %s", c->name,
		     err);
	cr_assert_eq(t.flags, WFG_DIST_F_STEP, "%s: discrete table without WFG_DIST_F_STEP",
		     c->name);
	check_table_shape(c, &t, m);
	v = draw(&t, seed);
	lo = (long long)fmin(t.q[0], v[0]) - 1;
	hi = (long long)fmax(t.q[WFG_DIST_INTERVALS - 1], v[NSAMPLES - 1]);
	cr_assert_lt(hi - lo, 1000000, "%s: test range too wide", c->name);
	for (k = lo, i = 0; k <= hi; k++) {
		double g = ref_cdf(&c->s, c->scale, m, (double)k);
		double p = g - ref_cdf(&c->s, c->scale, m, (double)k - 1);
		double ft = tab_cdf(&t, k), pt = ft - tab_cdf(&t, k - 1);
		int n = 0;

		for (; i < NSAMPLES && v[i] == k; i++)
			n++;
		cr_assert(i >= NSAMPLES || v[i] > k);
		cr_assert_leq(fabs(ft - g), 0.5 * STEP + 1e-9,
			      "%s: table CDF at %lld: %.5f vs %.5f", c->name, k, ft, g);
		cr_assert_leq(fabs((double)n / NSAMPLES - pt),
			      5 * sqrt(pt * (1 - pt) / NSAMPLES) + 1e-12,
			      "%s: mass of %lld: %d samples, table %.5f", c->name, k, n, pt);
		d_tab = fmax(d_tab, fabs(ft - g));
		d_atom = fmax(d_atom, fabs((double)n / NSAMPLES - p));
		d_ks = fmax(d_ks, fabs((double)i / NSAMPLES - g));
	}
	free(v);
	cr_log_info("%-40s table CDF %.5f  atoms(1e5) %.5f  CDF(1e5) %.5f", c->name, d_tab, d_atom,
		    d_ks);
	cr_assert_leq(d_atom, STEP + 0.005, "%s: atom distance %.5f", c->name, d_atom);
}

static void run_cases(const struct kcase *c, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (wfg_dist_kind_is_discrete(c[i].s.kind))
			check_discrete(&c[i], 1000 + (__u64)c[i].s.kind * 10 + (__u64)i);
		else
			check_continuous(&c[i], 1000 + (__u64)c[i].s.kind * 10 + (__u64)i);
	}
}

#define KS_TEST(name, ...)                                           \
	Test(dist_ks, name)                                          \
	{                                                            \
		static const struct kcase cases[] = { __VA_ARGS__ }; \
		run_cases(cases, sizeof(cases) / sizeof(cases[0]));  \
	}

KS_TEST(uniform, { "Uniform{100, 5000}", SPEC(WFG_DK_UNIFORM, 100, 5000, 0, 0, 0), 1 },
	{ "Uniform{-1000, 3000} start 500 max 2500",
	  SPEC(WFG_DK_UNIFORM, -1000, 3000, 0, 500, 2500), 1 })
KS_TEST(normal, { "Normal{10000, 2000}", SPEC(WFG_DK_NORMAL, 10000, 2000, 0, 0, 0), 1 },
	{ "Normal{500, 1000} max 2000", SPEC(WFG_DK_NORMAL, 500, 1000, 0, 0, 2000), 1 })
KS_TEST(skew_normal,
	{ "SkewNormal{1000, 3000, 4}", SPEC(WFG_DK_SKEW_NORMAL, 1000, 3000, 4, 0, 0), 1 },
	{ "SkewNormal{20000, 5000, -2.5} start -1000 max 21000",
	  SPEC(WFG_DK_SKEW_NORMAL, 20000, 5000, -2.5, -1000, 21000), 1 })
KS_TEST(log_normal, { "LogNormal{7, 1}", SPEC(WFG_DK_LOG_NORMAL, 7, 1, 0, 0, 0), 1 },
	{ "LogNormal{5, 0.5} start 100 max 400", SPEC(WFG_DK_LOG_NORMAL, 5, 0.5, 0, 100, 400), 1 })
KS_TEST(binomial, { "Binomial{20, 0.3}", SPEC(WFG_DK_BINOMIAL, 20, 0.3, 0, 0, 0), 1 },
	{ "Binomial{1000, 0.5} start 10 max 520", SPEC(WFG_DK_BINOMIAL, 1000, 0.5, 0, 10, 520), 1 })
KS_TEST(geometric, { "Geometric{0.1}", SPEC(WFG_DK_GEOMETRIC, 0.1, 0, 0, 0, 0), 1 },
	{ "Geometric{0.003} start 5 max 600", SPEC(WFG_DK_GEOMETRIC, 0.003, 0, 0, 5, 600), 1 })
KS_TEST(pareto, { "Pareto{100, 2.5}", SPEC(WFG_DK_PARETO, 100, 2.5, 0, 0, 0), 1 },
	{ "Pareto{50, 1.2} max 5000", SPEC(WFG_DK_PARETO, 50, 1.2, 0, 0, 5000), 1 })
KS_TEST(poisson, { "Poisson{4.5}", SPEC(WFG_DK_POISSON, 4.5, 0, 0, 0, 0), 1 },
	{ "Poisson{300} start -250", SPEC(WFG_DK_POISSON, 300, 0, 0, -250, 0), 1 })
KS_TEST(weibull,
	{ "Weibull{65536, 1} (FRONT's Exp(1) * 2^16)", SPEC(WFG_DK_WEIBULL, 65536, 1, 0, 0, 0), 1 },
	{ "Weibull{1000, 0.7} start 200", SPEC(WFG_DK_WEIBULL, 1000, 0.7, 0, 200, 0), 1 })
KS_TEST(gamma, { "Gamma{500, 3}", SPEC(WFG_DK_GAMMA, 500, 3, 0, 0, 0), 1 },
	{ "Gamma{2000, 0.5} max 6000", SPEC(WFG_DK_GAMMA, 2000, 0.5, 0, 0, 6000), 1 })
KS_TEST(beta, { "Beta{2, 5} scale 1e6", SPEC(WFG_DK_BETA, 2, 5, 0, 0, 0), 1e6 },
	{ "Beta{0.5, 0.5} start 0.2 max 1 scale 1e5", SPEC(WFG_DK_BETA, 0.5, 0.5, 0, 0.2, 1), 1e5 })

/* ---------------------------------------------------------------- names */

Test(dist, names_round_trip)
{
	static const char *const names[] = { "Uniform",	 "Normal",    "SkewNormal", "LogNormal",
					     "Binomial", "Geometric", "Pareto",	    "Poisson",
					     "Weibull",	 "Gamma",     "Beta" };
	static const int np[] = { 2, 2, 3, 2, 2, 1, 2, 1, 2, 2, 2 };
	int k, i;

	for (k = 0; k < WFG_DK_COUNT; k++) {
		cr_assert_str_eq(wfg_dist_kind_name(k), names[k]);
		cr_assert_eq(wfg_dist_kind_from_name(names[k]), k);
		cr_assert_eq(wfg_dist_kind_nparams(k), np[k]);
		for (i = 0; i < np[k]; i++)
			cr_assert_not_null(wfg_dist_param_name(k, i));
		cr_assert_null(wfg_dist_param_name(k, np[k]));
	}
	cr_assert_str_eq(wfg_dist_param_name(WFG_DK_SKEW_NORMAL, 2), "shape");
	cr_assert_str_eq(wfg_dist_param_name(WFG_DK_GAMMA, 0), "scale");
	cr_assert_str_eq(wfg_dist_param_name(WFG_DK_BINOMIAL, 0), "trials");
	cr_assert_eq(wfg_dist_kind_from_name("uniform"), WFG_DK_UNIFORM);
	cr_assert_eq(wfg_dist_kind_from_name("skew_normal"), WFG_DK_SKEW_NORMAL);
	cr_assert_eq(wfg_dist_kind_from_name("LOG-NORMAL"), WFG_DK_LOG_NORMAL);
	cr_assert_eq(wfg_dist_kind_from_name("lognormal"), WFG_DK_LOG_NORMAL);
	cr_assert_eq(wfg_dist_kind_from_name("normalx"), -1);
	cr_assert_eq(wfg_dist_kind_from_name("norm"), -1);
	cr_assert_eq(wfg_dist_kind_from_name(""), -1);
	cr_assert_eq(wfg_dist_kind_from_name(NULL), -1);
	cr_assert_null(wfg_dist_kind_name(WFG_DK_COUNT));
	cr_assert_eq(wfg_dist_kind_nparams(WFG_DK_COUNT), -1);
	cr_assert_eq(wfg_dist_kind_is_discrete(WFG_DK_POISSON), 1);
	cr_assert_eq(wfg_dist_kind_is_discrete(WFG_DK_GAMMA), 0);
}

/* ---------------------------------------------------------------- validation */

Test(dist, validation_rejects_with_reason)
{
	static const struct {
		struct wfg_dist_spec s;
		const char *why;
	} bad[] = {
		{ SPEC(WFG_DK_UNIFORM, 5, 1, 0, 0, 0), "Uniform: low must be <= high" },
		{ SPEC(WFG_DK_UNIFORM, NAN, 1, 0, 0, 0), "Uniform: low must be finite" },
		{ SPEC(WFG_DK_UNIFORM, 0, INFINITY, 0, 0, 0), "Uniform: high must be finite" },
		{ SPEC(WFG_DK_UNIFORM, -DBL_MAX, DBL_MAX, 0, 0, 0),
		  "Uniform: high - low overflows" },
		{ SPEC(WFG_DK_NORMAL, 100, INFINITY, 0, 0, 0), "Normal: stdev must be finite" },
		{ SPEC(WFG_DK_NORMAL, NAN, 1, 0, 0, 0), "Normal: mean must be finite" },
		{ SPEC(WFG_DK_SKEW_NORMAL, 0, 0, 1, 0, 0), "SkewNormal: scale must be > 0" },
		{ SPEC(WFG_DK_SKEW_NORMAL, 0, -1, 1, 0, 0), "SkewNormal: scale must be > 0" },
		{ SPEC(WFG_DK_SKEW_NORMAL, 100, 15, INFINITY, 0, 0),
		  "SkewNormal: shape must be finite" },
		{ SPEC(WFG_DK_LOG_NORMAL, 100, INFINITY, 0, 0, 0),
		  "LogNormal: sigma must be finite" },
		{ SPEC(WFG_DK_BINOMIAL, -1, 0.5, 0, 0, 0),
		  "Binomial: trials must be a whole number" },
		{ SPEC(WFG_DK_BINOMIAL, 2.5, 0.5, 0, 0, 0),
		  "Binomial: trials must be a whole number" },
		{ SPEC(WFG_DK_BINOMIAL, 2e9, 0.5, 0, 0, 0), "Binomial: trials must be <= 1e9" },
		{ SPEC(WFG_DK_BINOMIAL, 10, 1.1, 0, 0, 0), "Binomial: probability must be within" },
		{ SPEC(WFG_DK_BINOMIAL, 10, -0.1, 0, 0, 0),
		  "Binomial: probability must be within" },
		{ SPEC(WFG_DK_BINOMIAL, 10, 1e-10, 0, 0, 0),
		  "Binomial: probability must be 0 or >=" },
		{ SPEC(WFG_DK_GEOMETRIC, 1.1, 0, 0, 0, 0),
		  "Geometric: probability must be within" },
		{ SPEC(WFG_DK_GEOMETRIC, NAN, 0, 0, 0, 0),
		  "Geometric: probability must be finite" },
		{ SPEC(WFG_DK_GEOMETRIC, 1e-12, 0, 0, 0, 0),
		  "Geometric: probability must be 0 or" },
		{ SPEC(WFG_DK_PARETO, -1, 0.5, 0, 0, 0), "Pareto: scale must be > 0" },
		{ SPEC(WFG_DK_PARETO, 1, 0, 0, 0, 0), "Pareto: shape must be > 0" },
		{ SPEC(WFG_DK_POISSON, -1, 0, 0, 0, 0), "Poisson: lambda must be > 0" },
		{ SPEC(WFG_DK_POISSON, 0, 0, 0, 0, 0), "Poisson: lambda must be > 0" },
		{ SPEC(WFG_DK_POISSON, 1e43, 0, 0, 0, 0), "Poisson: lambda must be <= 1e42" },
		{ SPEC(WFG_DK_WEIBULL, 1, -0.5, 0, 0, 0), "Weibull: shape must be > 0" },
		{ SPEC(WFG_DK_WEIBULL, 0, 1, 0, 0, 0), "Weibull: scale must be > 0" },
		{ SPEC(WFG_DK_GAMMA, 1, -0.5, 0, 0, 0), "Gamma: shape must be > 0" },
		{ SPEC(WFG_DK_GAMMA, 0, 1, 0, 0, 0), "Gamma: scale must be > 0" },
		{ SPEC(WFG_DK_BETA, 1, -0.5, 0, 0, 0), "Beta: beta must be > 0" },
		{ SPEC(WFG_DK_BETA, 0, 1, 0, 0, 0), "Beta: alpha must be > 0" },
		/* found by fuzz_maybenot: its continued fraction went NaN and ran 10^7 steps */
		{ SPEC(WFG_DK_BETA, 2.97896550846013e+307, 1.25167833341927e-314, 0, 0, 0),
		  "Beta: alpha and beta must be <= 1e+09" },
		{ SPEC(WFG_DK_BETA, 1, 1e10, 0, 0, 0), "Beta: alpha and beta must be <= 1e+09" },
		{ SPEC(WFG_DK_NORMAL, 1, 1, 0, NAN, 0), "Normal: start must be finite" },
		{ SPEC(WFG_DK_NORMAL, 1, 1, 0, 0, INFINITY), "Normal: max must be finite" },
		{ SPEC((enum wfg_dist_kind)99, 1, 1, 0, 0, 0), "unknown distribution kind 99" },
	};
	struct wfg_dist_table t;
	unsigned int i;
	char err[160];
	__u32 v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cr_assert_eq(wfg_dist_validate(&bad[i].s, err, sizeof(err)), -EINVAL,
			     "case %u (%s) accepted", i, bad[i].why);
		cr_assert(strstr(err, bad[i].why), "case %u: \"%s\" lacks \"%s\"", i, err,
			  bad[i].why);
		cr_assert(!strchr(err, '\n'));
		err[0] = 0;
		cr_assert_eq(wfg_dist_build(&bad[i].s, 1.0, &t, err, sizeof(err)), -EINVAL);
		cr_assert(strstr(err, bad[i].why), "build %u: \"%s\"", i, err);
		cr_assert_eq(wfg_dist_is_constant(&bad[i].s, 1.0, &v), 0);
	}
	cr_assert_eq(wfg_dist_validate(NULL, NULL, 0), -EINVAL);
}

Test(dist, validation_accepts_maybenot_edge_cases)
{
	/* valid in Maybenot (its own tests and rand_distr's constructors) */
	static const struct wfg_dist_spec good[] = {
		SPEC(WFG_DK_UNIFORM, 10, 10, 0, 0, 0),
		SPEC(WFG_DK_NORMAL, 100, 15, 0, 0, 0),
		SPEC(WFG_DK_NORMAL, 100, -15, 0, 0, 0),
		SPEC(WFG_DK_NORMAL, 1, 0, 0, 0, 0),
		SPEC(WFG_DK_SKEW_NORMAL, 100, 15, -3, 0, 0),
		SPEC(WFG_DK_LOG_NORMAL, 100, 15, 0, 0, 0),
		SPEC(WFG_DK_BINOMIAL, 10, 0.5, 0, 0, 0),
		SPEC(WFG_DK_BINOMIAL, 0, 0.5, 0, 0, 0),
		SPEC(WFG_DK_BINOMIAL, 10, 0, 0, 0, 0),
		SPEC(WFG_DK_BINOMIAL, 10, 1, 0, 0, 0),
		SPEC(WFG_DK_BINOMIAL, 1e9, 1e-9, 0, 0, 0),
		SPEC(WFG_DK_BINOMIAL, 1e9, 0.5, 0, 0, 0),
		SPEC(WFG_DK_GEOMETRIC, 0.5, 0, 0, 0, 0),
		SPEC(WFG_DK_GEOMETRIC, 0, 0, 0, 0, 0),
		SPEC(WFG_DK_GEOMETRIC, 1, 0, 0, 0, 0),
		SPEC(WFG_DK_GEOMETRIC, 1e-9, 0, 0, 0, 0),
		SPEC(WFG_DK_PARETO, 1, 0.5, 0, 0, 0),
		SPEC(WFG_DK_PARETO, 1, 0.1, 0, 0, 1000),
		SPEC(WFG_DK_POISSON, 1, 0, 0, 0, 0),
		SPEC(WFG_DK_POISSON, 1e42, 0, 0, 0, 0),
		SPEC(WFG_DK_POISSON, 1e-300, 0, 0, 0, 0),
		SPEC(WFG_DK_WEIBULL, 1, 0.5, 0, 0, 0),
		SPEC(WFG_DK_GAMMA, 1, 0.5, 0, 0, 0),
		SPEC(WFG_DK_GAMMA, 1, 1e7, 0, 0, 0),
		SPEC(WFG_DK_BETA, 1, 0.5, 0, 0, 0),
		SPEC(WFG_DK_BETA, 1e-3, 1e-3, 0, 0, 0),
		SPEC(WFG_DK_BETA, 1e9, 1e-314, 0, 0, 0), /* at the bound: built in a second */
		SPEC(WFG_DK_UNIFORM, -20, -10, 0, 0, 0),
		SPEC(WFG_DK_UNIFORM, 0, 1, 0, -5, -3),
	};
	struct wfg_dist_table t;
	unsigned int i;
	char err[160];
	int j;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = 0;
		cr_assert_eq(wfg_dist_validate(&good[i], err, sizeof(err)), 0, "case %u: %s", i,
			     err);
		cr_assert_eq(wfg_dist_build(&good[i], 1.0, &t, err, sizeof(err)), 0, "case %u: %s",
			     i, err);
		for (j = 1; j <= NQ; j++)
			cr_assert_geq(t.q[j], t.q[j - 1], "case %u: not monotone at %d", i, j);
	}
}

Test(dist, build_rejects_bad_scale)
{
	struct wfg_dist_spec s = SPEC(WFG_DK_NORMAL, 100, 10, 0, 0, 0);
	static const double scales[] = { 0, -1, NAN, INFINITY };
	struct wfg_dist_table t;
	unsigned int i;
	char err[160];

	for (i = 0; i < 4; i++) {
		err[0] = 0;
		cr_assert_eq(wfg_dist_build(&s, scales[i], &t, err, sizeof(err)), -EINVAL);
		cr_assert(strstr(err, "Normal: scale must be finite and > 0"), "%s", err);
	}
	cr_assert_eq(wfg_dist_build_r(&s, 1, (enum wfg_dist_round)7, &t, err, sizeof(err)),
		     -EINVAL);
}

/* ---------------------------------------------------------------- constants */

Test(dist, constants_detected)
{
	static const struct {
		struct wfg_dist_spec s;
		double scale;
		enum wfg_dist_round m;
		int constant;
		__u32 value;
	} c[] = {
		/* Maybenot's sample_clamp test: start, max, and the floor at 0 */
		{ SPEC(WFG_DK_UNIFORM, 0, 0, 0, 5, 0), 1, WFG_DIST_NEAREST, 1, 5 },
		{ SPEC(WFG_DK_UNIFORM, 10, 10, 0, 0, 5), 1, WFG_DIST_NEAREST, 1, 5 },
		{ SPEC(WFG_DK_UNIFORM, -20, -10, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 0 },
		{ SPEC(WFG_DK_UNIFORM, 10, 10, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 10 },
		{ SPEC(WFG_DK_UNIFORM, 10, 10, 0, 0, 0), 1000, WFG_DIST_NEAREST, 1, 10000 },
		{ SPEC(WFG_DK_UNIFORM, 2.7, 2.7, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 3 },
		{ SPEC(WFG_DK_UNIFORM, 2.7, 2.7, 0, 0, 0), 1, WFG_DIST_TRUNC, 1, 2 },
		{ SPEC(WFG_DK_UNIFORM, 2.5, 2.5, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 3 },
		{ SPEC(WFG_DK_UNIFORM, 0, 0, 0, 1e12, 0), 1, WFG_DIST_NEAREST, 1, UINT32_MAX },
		{ SPEC(WFG_DK_NORMAL, 1234, 0, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 1234 },
		{ SPEC(WFG_DK_NORMAL, -50, 10, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 0 },
		{ SPEC(WFG_DK_LOG_NORMAL, 2 * M_LN10, 0, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 100 },
		{ SPEC(WFG_DK_BINOMIAL, 7, 1, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 7 },
		{ SPEC(WFG_DK_BINOMIAL, 7, 0, 0, 3, 0), 1, WFG_DIST_NEAREST, 1, 3 },
		{ SPEC(WFG_DK_BINOMIAL, 0, 0.5, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 0 },
		/* a mass below the table's resolution cannot be represented */
		{ SPEC(WFG_DK_BINOMIAL, 1, 0.001, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 0 },
		{ SPEC(WFG_DK_GEOMETRIC, 1, 0, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 0 },
		{ SPEC(WFG_DK_GEOMETRIC, 0, 0, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, UINT32_MAX },
		{ SPEC(WFG_DK_GEOMETRIC, 0, 0, 0, 0, 1e6), 1, WFG_DIST_NEAREST, 1, 1000000 },
		{ SPEC(WFG_DK_PARETO, 10, 2, 0, 0, 5), 1, WFG_DIST_NEAREST, 1, 5 },
		{ SPEC(WFG_DK_POISSON, 1e42, 0, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, UINT32_MAX },
		{ SPEC(WFG_DK_POISSON, 1e-300, 0, 0, 0, 0), 1, WFG_DIST_NEAREST, 1, 0 },
		{ SPEC(WFG_DK_BETA, 2, 2, 0, 0, 0), 1e-3, WFG_DIST_NEAREST, 1, 0 },
		{ SPEC(WFG_DK_NORMAL, 100, 10, 0, 0, 0), 1, WFG_DIST_NEAREST, 0, 0 },
		{ SPEC(WFG_DK_UNIFORM, 10, 11, 0, 0, 0), 1, WFG_DIST_NEAREST, 0, 0 },
		{ SPEC(WFG_DK_POISSON, 0.1, 0, 0, 0, 0), 1, WFG_DIST_NEAREST, 0, 0 },
		{ SPEC(WFG_DK_GEOMETRIC, 0.5, 0, 0, 0, 0), 1, WFG_DIST_NEAREST, 0, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		__u32 v = 0xdeadbeef;
		int r = wfg_dist_is_constant_r(&c[i].s, c[i].scale, c[i].m, &v);

		cr_assert_eq(r, c[i].constant, "case %u: is_constant %d", i, r);
		if (r)
			cr_assert_eq(v, c[i].value, "case %u: %u != %u", i, v, c[i].value);
	}
	/* the default rounding is to nearest */
	{
		struct wfg_dist_spec s = SPEC(WFG_DK_UNIFORM, 2.7, 2.7, 0, 0, 0);
		__u32 v = 0;

		cr_assert(wfg_dist_is_constant(&s, 1, &v));
		cr_assert_eq(v, 3);
	}
}

/* ---------------------------------------------------------------- clamps */

Test(dist, max_and_zero_clamps_are_atoms)
{
	/* Normal{500, 1000} max 2000: P(0) = Phi(-0.5), P(2000) = 1 - Phi(1.5) */
	struct wfg_dist_spec s = SPEC(WFG_DK_NORMAL, 500, 1000, 0, 0, 2000);
	struct wfg_dist_table t;
	int i, n0 = 0, nmax = 0;
	__u32 *v;

	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	cr_assert_eq(t.q[0], 0);
	cr_assert_eq(t.q[WFG_DIST_INTERVALS], 2000);
	for (i = 0; i <= NQ; i++)
		cr_assert_leq(t.q[i], 2000);
	cr_assert_float_eq(wfg_dist_cdf(&s, 0), 0.5 * erfc(0.5 / M_SQRT2), 1e-12);
	cr_assert_float_eq(wfg_dist_cdf(&s, 1999.999), 0.5 * erfc(-1.5 / M_SQRT2), 1e-6);
	cr_assert_eq(wfg_dist_cdf(&s, 2000), 1);
	cr_assert_eq(wfg_dist_cdf(&s, -1e-9), 0);
	v = draw(&t, 5);
	for (i = 0; i < NSAMPLES; i++) {
		n0 += v[i] == 0;
		nmax += v[i] == 2000;
		cr_assert_leq(v[i], 2000);
	}
	free(v);
	cr_assert_float_eq((double)n0 / NSAMPLES, 0.5 * erfc(0.5 / M_SQRT2), STEP + 0.008);
	cr_assert_float_eq((double)nmax / NSAMPLES, 0.5 * erfc(1.5 / M_SQRT2), STEP + 0.004);

	/* Maybenot adds start before the floor at 0: Uniform{-10, 10} start 10 never hits 0 */
	s = SPEC(WFG_DK_UNIFORM, -10, 10, 0, 10, 0);
	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	cr_assert_eq(t.q[0], 0);
	cr_assert_eq(t.q[128], 10);
	cr_assert_eq(t.q[256], 20);
	cr_assert_float_eq(wfg_dist_cdf(&s, 5), 0.25, 1e-12);

	/* max <= 0 means no clamp */
	s = SPEC(WFG_DK_UNIFORM, 100, 200, 0, 0, -5);
	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	cr_assert_eq(t.q[256], 200);

	/* values beyond u32 saturate */
	s = SPEC(WFG_DK_UNIFORM, 0, 1e10, 0, 0, 0);
	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	cr_assert_eq(t.q[256], UINT32_MAX);
	cr_assert_lt(t.q[100], UINT32_MAX);
}

/* ---------------------------------------------------------------- interpolation, rounding */

Test(dist, interpolation_is_exact_on_a_uniform)
{
	/* Uniform{0, 2^20}: knots 4096 i, so the sample of draw u must be u >> 12 exactly */
	struct wfg_dist_spec s = SPEC(WFG_DK_UNIFORM, 0, 1 << 20, 0, 0, 0);
	struct wfg_dist_table t;
	struct wfg_prng r;
	double sum = 0, mean, sd;
	int i;

	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	for (i = 0; i <= NQ; i++)
		cr_assert_eq(t.q[i], 4096u * (__u32)i);
	wfg_prng_init_seed(&r, 77, 0);
	for (i = 0; i < NSAMPLES; i++) {
		__u32 u = wfg_rand32(&r);

		cr_assert_eq(wfg_dist_quantile(&t, u), u >> 12, "u %08x", u);
	}
	cr_assert_eq(wfg_dist_quantile(&t, 0), 0);
	cr_assert_eq(wfg_dist_quantile(&t, UINT32_MAX), (1u << 20) - 1);

	/* Uniform{1000, 3000}: the sample mean within 5 standard errors (+ 1/2 rounding) */
	s = SPEC(WFG_DK_UNIFORM, 1000, 3000, 0, 0, 0);
	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	wfg_prng_init_seed(&r, 78, 0);
	for (i = 0; i < NSAMPLES; i++)
		sum += wfg_dist_quantile(&t, wfg_rand32(&r));
	mean = sum / NSAMPLES;
	sd = 2000 / sqrt(12.0);
	cr_assert_float_eq(mean, 2000, 0.5 + 5 * sd / sqrt(NSAMPLES), "mean %f", mean);
}

Test(dist, rounding_matches_maybenot)
{
	/* round(U[0, 4)) is 0..4 with masses 1/8, 1/4, 1/4, 1/4, 1/8 (timeouts);
	 * floor(U[1, 3)) is 1 or 2 with 1/2 each (counter values) */
	static const double near[] = { 0.125, 0.375, 0.625, 0.875, 1 };
	struct wfg_dist_spec s = SPEC(WFG_DK_UNIFORM, 0, 4, 0, 0, 0);
	struct wfg_dist_table t;
	int k;

	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	for (k = 0; k <= 4; k++)
		cr_assert_float_eq(tab_cdf(&t, k), near[k], 1e-12, "P(<= %d) = %f", k,
				   tab_cdf(&t, k));
	s = SPEC(WFG_DK_UNIFORM, 1, 3, 0, 0, 0);
	cr_assert_eq(wfg_dist_build_r(&s, 1, WFG_DIST_TRUNC, &t, NULL, 0), 0);
	cr_assert_eq(tab_cdf(&t, 0), 0);
	cr_assert_float_eq(tab_cdf(&t, 1), 0.5, 1e-12);
	cr_assert_eq(tab_cdf(&t, 2), 1);
	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	cr_assert_float_eq(tab_cdf(&t, 1), 0.25, 1e-12);
	cr_assert_float_eq(tab_cdf(&t, 2), 0.75, 1e-12);
	cr_assert_eq(tab_cdf(&t, 3), 1);
}

Test(dist, front_exp_table_keeps_the_mean)
{
	/* FRONT's Exp(1) * 2^16: the table's exact mean within 0.2% of 65536 */
	struct wfg_dist_spec s = SPEC(WFG_DK_WEIBULL, 65536, 1, 0, 0, 0);
	struct wfg_dist_table t;
	double mean = 0;
	int i;

	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	cr_assert_eq(t.q[0], 0);
	cr_assert_eq(t.q[256], (__u32)round(65536 * 11 * M_LN2)); /* quantile 1 - 2^-11 */
	for (i = 0; i < NQ; i++) /* a + floor((b - a) f), f uniform */
		mean += t.q[i + 1] > t.q[i] ? (t.q[i] + t.q[i + 1] - 1) / 2.0 : t.q[i];
	mean /= WFG_DIST_INTERVALS;
	cr_assert_float_eq(mean / 65536, 1, 0.002, "mean %f", mean);
}

Test(dist, unbounded_tails_cut_at_eps)
{
	/* Normal: both tails at 2^-11 (Phi^-1(2^-11) = -3.2974); Pareto: only the upper one */
	struct wfg_dist_spec s = SPEC(WFG_DK_NORMAL, 10000, 2000, 0, 0, 0);
	struct wfg_dist_table t;
	double z = wfg_dist_raw_quantile(
		&(struct wfg_dist_spec){ .kind = WFG_DK_NORMAL, .p = { 0, 1 } }, WFG_DIST_TAIL_EPS);

	cr_assert_float_eq(z, -3.297193, 1e-5);
	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	cr_assert_eq(t.q[0], (__u32)round(10000 + 2000 * z));
	cr_assert_eq(t.q[256], (__u32)round(10000 - 2000 * z));
	s = SPEC(WFG_DK_PARETO, 100, 2, 0, 0, 0);
	cr_assert_eq(wfg_dist_build(&s, 1, &t, NULL, 0), 0);
	cr_assert_eq(t.q[0], 100);
	cr_assert_eq(t.q[256], (__u32)round(100 * sqrt(2048.0)));
}

Test(dist, negative_stdev_is_its_absolute_value)
{
	struct wfg_dist_spec a = SPEC(WFG_DK_NORMAL, 1000, 100, 0, 0, 0);
	struct wfg_dist_spec b = SPEC(WFG_DK_NORMAL, 1000, -100, 0, 0, 0);
	struct wfg_dist_table ta, tb;

	cr_assert_eq(wfg_dist_build(&a, 1, &ta, NULL, 0), 0);
	cr_assert_eq(wfg_dist_build(&b, 1, &tb, NULL, 0), 0);
	cr_assert_arr_eq(ta.q, tb.q, sizeof(ta.q));
	for (double x = 700; x < 1300; x += 37) {
		cr_assert_float_eq(wfg_dist_cdf(&b, x), wfg_dist_cdf(&a, x), 1e-15);
		cr_assert_float_eq(wfg_dist_cdf(&a, x), 0.5 * erfc((1000 - x) / 100 / M_SQRT2),
				   1e-15);
	}
	a = SPEC(WFG_DK_LOG_NORMAL, 3, 0.5, 0, 0, 0);
	b = SPEC(WFG_DK_LOG_NORMAL, 3, -0.5, 0, 0, 0);
	for (double x = 5; x < 60; x += 3.7)
		cr_assert_float_eq(wfg_dist_cdf(&b, x), wfg_dist_cdf(&a, x), 1e-15);
}

/* ---------------------------------------------------------------- numerics */

Test(dist, quantiles_known_values)
{
	struct wfg_dist_spec s;
	double p, z;
	int i;

	s = SPEC(WFG_DK_NORMAL, 0, 1, 0, 0, 0);
	cr_assert_float_eq(wfg_dist_raw_quantile(&s, 0.975), 1.959963984540054, 1e-12);
	cr_assert_float_eq(wfg_dist_raw_quantile(&s, 0.5), 0, 1e-15);
	s = SPEC(WFG_DK_GAMMA, 1, 2, 0, 0, 0);
	cr_assert_float_eq(wfg_dist_raw_quantile(&s, 0.5), 1.678346990016661, 1e-12);
	s = SPEC(WFG_DK_BETA, 2, 5, 0, 0, 0);
	cr_assert_float_eq(wfg_dist_raw_quantile(&s, 0.5), 0.2644499832956, 1e-11);
	s = SPEC(WFG_DK_PARETO, 2, 3, 0, 0, 0);
	cr_assert_float_eq(wfg_dist_raw_quantile(&s, 0.875), 4, 1e-12);
	s = SPEC(WFG_DK_WEIBULL, 3, 2, 0, 0, 0);
	cr_assert_float_eq(wfg_dist_raw_quantile(&s, 1 - exp(-4.0)), 6, 1e-12);
	s = SPEC(WFG_DK_LOG_NORMAL, 1, 2, 0, 0, 0);
	cr_assert_float_eq(wfg_dist_raw_quantile(&s, 0.5), M_E, 1e-12);
	s = SPEC(WFG_DK_GEOMETRIC, 0.5, 0, 0, 0, 0);
	cr_assert_eq(wfg_dist_raw_quantile(&s, 0.5), 0);
	cr_assert_eq(wfg_dist_raw_quantile(&s, 0.5000001), 1);
	cr_assert_eq(wfg_dist_raw_quantile(&s, 0.75), 1);
	s = SPEC(WFG_DK_BINOMIAL, 10, 0.5, 0, 0, 0);
	cr_assert_eq(wfg_dist_raw_quantile(&s, 0.5), 5);
	cr_assert_eq(wfg_dist_raw_quantile(&s, 1.0 / 1024 - 1e-12), 0);
	cr_assert_eq(wfg_dist_raw_quantile(&s, 1.0 / 1024 + 1e-9), 1);
	/* support bounds */
	s = SPEC(WFG_DK_NORMAL, 0, 1, 0, 0, 0);
	cr_assert(isinf(wfg_dist_raw_quantile(&s, 1)));
	s = SPEC(WFG_DK_BETA, 2, 5, 0, 0, 0);
	cr_assert_eq(wfg_dist_raw_quantile(&s, 1), 1);

	/* Poisson{1e9} takes the incomplete-gamma path: Cornish-Fisher within 2 */
	s = SPEC(WFG_DK_POISSON, 1e9, 0, 0, 0, 0);
	for (i = 1; i < 20; i++) {
		double q, cf;

		p = i / 20.0;
		q = wfg_dist_raw_quantile(&s, p);
		z = wfg_dist_raw_quantile(
			&(struct wfg_dist_spec){ .kind = WFG_DK_NORMAL, .p = { 0, 1 } }, p);
		cf = 1e9 + sqrt(1e9) * z + (z * z - 1) / 6;
		cr_assert_float_eq(q, cf, 2, "p %f: %f vs %f", p, q, cf);
		cr_assert_eq(q, floor(q));
	}
}

Test(dist, cdfs_match_closed_forms)
{
	struct wfg_dist_spec s;
	double x;

	for (x = 0.001; x < 40; x *= 1.7) {
		s = SPEC(WFG_DK_GAMMA, 1, 0.5, 0, 0, 0);
		cr_assert_float_eq(wfg_dist_cdf(&s, x), erf(sqrt(x)), 1e-14);
		s = SPEC(WFG_DK_GAMMA, 2, 1, 0, 0, 0);
		cr_assert_float_eq(wfg_dist_cdf(&s, x), -expm1(-x / 2), 1e-14);
		s = SPEC(WFG_DK_GAMMA, 1, 3, 0, 0, 0);
		cr_assert_float_eq(wfg_dist_cdf(&s, x), 1 - exp(-x) * (1 + x + x * x / 2), 1e-14);
	}
	for (x = 0.0001; x < 1; x += 0.0731) {
		s = SPEC(WFG_DK_BETA, 0.5, 0.5, 0, 0, 0);
		cr_assert_float_eq(wfg_dist_cdf(&s, x), 2 / M_PI * asin(sqrt(x)), 1e-14);
		s = SPEC(WFG_DK_BETA, 1, 3.5, 0, 0, 0);
		cr_assert_float_eq(wfg_dist_cdf(&s, x), 1 - pow(1 - x, 3.5), 1e-14);
		s = SPEC(WFG_DK_BETA, 2.5, 1, 0, 0, 0);
		cr_assert_float_eq(wfg_dist_cdf(&s, x), pow(x, 2.5), 1e-14);
	}
}

/* Skew normal CDF against Simpson's rule on its density 2 phi(z) Phi(shape z). */
Test(dist, skew_normal_cdf_matches_integrated_density)
{
	static const double shapes[] = { -20, -3, -1, 0.5, 1, 4, 50 };
	unsigned int j;

	for (j = 0; j < sizeof(shapes) / sizeof(shapes[0]); j++) {
		struct wfg_dist_spec s = SPEC(WFG_DK_SKEW_NORMAL, 3, 2, shapes[j], 100, 0);
		double z;

		for (z = -5; z <= 5; z += 0.625) {
			const int n = 20000;
			double lo = -12, h = (z - lo) / n, sum = 0;
			int i;

			for (i = 0; i <= n; i++) {
				double u = lo + i * h;
				double f = 2 * exp(-u * u / 2) / sqrt(2 * M_PI) * 0.5 *
					   erfc(-shapes[j] * u / M_SQRT2);

				sum += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
			}
			sum *= h / 3;
			/* x = location + scale z, shifted by start */
			cr_assert_float_eq(wfg_dist_cdf(&s, 103 + 2 * z), sum, 1e-9,
					   "shape %g z %g: %.12f vs %.12f", shapes[j], z,
					   wfg_dist_cdf(&s, 103 + 2 * z), sum);
		}
	}
}

/* Binomial and Poisson CDFs against sums of lgamma-based masses. */
Test(dist, discrete_cdfs_match_direct_sums)
{
	static const double bin[][2] = { { 20, 0.3 }, { 1000, 0.5 }, { 1e6, 0.9 }, { 1e9, 2e-9 } };
	static const double lam[] = { 0.01, 4.5, 300, 5e5 };
	unsigned int j;

	for (j = 0; j < 4; j++) {
		struct wfg_dist_spec s = SPEC(WFG_DK_BINOMIAL, bin[j][0], bin[j][1], 0, 0, 0);
		double n = bin[j][0], p = bin[j][1], mu = n * p, sd = sqrt(n * p * (1 - p));
		double k, lo = fmax(0, floor(mu - 12 * sd - 5)), sum = 0;

		for (k = lo; k <= fmin(n, mu + 8 * sd + 5); k += 1) {
			sum += exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * log(p) +
				   (n - k) * log1p(-p));
			/* lgamma(1e9) carries ~1e-6 of rounding into the reference itself */
			cr_assert_float_eq(wfg_dist_cdf(&s, k), sum, n > 1e6 ? 1e-5 : 1e-8,
					   "Binomial %g %g at %g", n, p, k);
		}
	}
	for (j = 0; j < 4; j++) {
		struct wfg_dist_spec s = SPEC(WFG_DK_POISSON, lam[j], 0, 0, 0, 0);
		double l = lam[j], k, lo = fmax(0, floor(l - 12 * sqrt(l) - 5)), sum = 0;

		for (k = lo; k <= l + 8 * sqrt(l) + 5; k += 1) {
			sum += exp(k * log(l) - l - lgamma(k + 1));
			cr_assert_float_eq(wfg_dist_cdf(&s, k), sum, 1e-8, "Poisson %g at %g", l,
					   k);
		}
	}
}
