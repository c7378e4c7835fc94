// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Inverse-CDF tables for the core (see dist_build.h, docs/distributions.md).
 *
 * Every quantile is found from a CDF: closed forms where they exist, otherwise
 * bisection on the bit pattern of doubles (at most 64 CDF evaluations, exact to
 * one ulp, indifferent to the range of the values). CDFs come from libm's erfc
 * and lgamma plus the regularized incomplete gamma and beta functions (series
 * and continued fractions) and Owen's T function (adaptive Simpson). Binomial
 * and Poisson quantiles walk the probability mass function outwards from the
 * mode with its ratio recurrence, which needs no special function at all.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dist_build.h"
#include "err.h"

#define TINY	   1e-300
#define U64MAX_D   18446744073709551615.0 /* u64::MAX as f64: Geometric{0} always yields it */
#define WALK_STOP  1e-30		  /* pmf relative to the mode's where a walk stops */
#define POIS_WALK  1e8			  /* Poisson lambda above which CDFs use incomplete gamma */
#define GAMMA_WH   1e6			  /* shape above which P(a, x) uses Wilson-Hilferty */
#define CF_MAXITER 10000000
#define BETA_MAX   1e9 /* largest Beta alpha, beta (wfg_dist_validate) */

static const char *const kind_names[WFG_DK_COUNT] = {
	"Uniform", "Normal",  "SkewNormal", "LogNormal", "Binomial", "Geometric",
	"Pareto",  "Poisson", "Weibull",    "Gamma",	 "Beta",
};

static const char *const param_names[WFG_DK_COUNT][3] = {
	{ "low", "high" },
	{ "mean", "stdev" },
	{ "location", "scale", "shape" },
	{ "mu", "sigma" },
	{ "trials", "probability" },
	{ "probability" },
	{ "scale", "shape" },
	{ "lambda" },
	{ "scale", "shape" },
	{ "scale", "shape" },
	{ "alpha", "beta" },
};

static const int kind_nparams[WFG_DK_COUNT] = { 2, 2, 3, 2, 2, 1, 2, 1, 2, 2, 2 };

const char *wfg_dist_kind_name(enum wfg_dist_kind k)
{
	return (unsigned)k < WFG_DK_COUNT ? kind_names[k] : NULL;
}

int wfg_dist_kind_nparams(enum wfg_dist_kind k)
{
	return (unsigned)k < WFG_DK_COUNT ? kind_nparams[k] : -1;
}

const char *wfg_dist_param_name(enum wfg_dist_kind k, int i)
{
	if ((unsigned)k >= WFG_DK_COUNT || i < 0 || i >= kind_nparams[k])
		return NULL;
	return param_names[k][i];
}

/* Compare ignoring case, '_', '-' and ' '. */
static int name_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_' || *a == '-' || *a == ' ')
			a++;
		while (*b == '_' || *b == '-' || *b == ' ')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
}

int wfg_dist_kind_from_name(const char *name)
{
	int k;

	if (!name || !*name)
		return -1;
	for (k = 0; k < WFG_DK_COUNT; k++)
		if (name_eq(name, kind_names[k]))
			return k;
	return -1;
}

int wfg_dist_kind_is_discrete(enum wfg_dist_kind k)
{
	return k == WFG_DK_BINOMIAL || k == WFG_DK_GEOMETRIC || k == WFG_DK_POISSON;
}

/* ---------------------------------------------------------------- validation */

#define BAD(...) wfg_err(err, errlen, EINVAL, __VA_ARGS__)

static int check_prob(const char *kind, double p, char *err, size_t errlen)
{
	if (!(p >= 0.0 && p <= 1.0))
		return BAD("%s: probability must be within [0, 1], got %g", kind, p);
	/* Maybenot's DIST_MIN_PROBABILITY (sampling would be too slow below it) */
	if (p != 0.0 && p < 1e-9)
		return BAD("%s: probability must be 0 or >= 1e-9, got %g", kind, p);
	return 0;
}

static int check_pos(const char *kind, const char *what, double v, char *err, size_t errlen)
{
	if (!(v > 0.0))
		return BAD("%s: %s must be > 0, got %g", kind, what, v);
	return 0;
}

int wfg_dist_validate(const struct wfg_dist_spec *s, char *err, size_t errlen)
{
	const char *name;
	double a, b;
	int i, rc = 0;

	if (!s)
		return BAD("no distribution given");
	if ((unsigned)s->kind >= WFG_DK_COUNT)
		return BAD("unknown distribution kind %d", (int)s->kind);
	name = kind_names[s->kind];
	for (i = 0; i < kind_nparams[s->kind]; i++)
		if (!isfinite(s->p[i]))
			return BAD("%s: %s must be finite", name, param_names[s->kind][i]);
	if (!isfinite(s->start))
		return BAD("%s: start must be finite", name);
	if (!isfinite(s->max))
		return BAD("%s: max must be finite", name);
	a = s->p[0];
	b = s->p[1];
	switch (s->kind) {
	case WFG_DK_UNIFORM:
		if (a > b)
			return BAD("Uniform: low must be <= high, got low %g > high %g", a, b);
		if (!isfinite(b - a))
			return BAD("Uniform: high - low overflows");
		break;
	case WFG_DK_NORMAL:	/* stdev: any finite value (rand_distr), negative = |stdev| */
	case WFG_DK_LOG_NORMAL: /* sigma: likewise */
		break;
	case WFG_DK_SKEW_NORMAL:
		rc = check_pos(name, "scale", b, err, errlen);
		break;
	case WFG_DK_BINOMIAL:
		if (a < 0 || a != floor(a))
			return BAD("Binomial: trials must be a whole number >= 0, got %g", a);
		if (a > 1e9)
			return BAD("Binomial: trials must be <= 1e9, got %g", a);
		rc = check_prob(name, b, err, errlen);
		break;
	case WFG_DK_GEOMETRIC:
		rc = check_prob(name, a, err, errlen);
		break;
	case WFG_DK_PARETO:
	case WFG_DK_WEIBULL:
	case WFG_DK_GAMMA:
		rc = check_pos(name, "scale", a, err, errlen);
		if (!rc)
			rc = check_pos(name, "shape", b, err, errlen);
		break;
	case WFG_DK_POISSON:
		rc = check_pos(name, "lambda", a, err, errlen);
		if (!rc && a > 1e42)
			return BAD("Poisson: lambda must be <= 1e42, got %g", a);
		break;
	case WFG_DK_BETA:
		rc = check_pos(name, "alpha", a, err, errlen);
		if (!rc)
			rc = check_pos(name, "beta", b, err, errlen);
		/* the incomplete beta's continued fraction multiplies the two: larger
		 * ones overflow it (and the distribution is a point long before) */
		if (!rc && (a > BETA_MAX || b > BETA_MAX))
			return BAD("Beta: alpha and beta must be <= %g, got alpha %g, beta %g",
				   BETA_MAX, a, b);
		break;
	default:
		break;
	}
	return rc;
}

/* ---------------------------------------------------------------- special functions */

static double phi(double z) /* standard normal CDF */
{
	return 0.5 * erfc(-z / M_SQRT2);
}

static double phic(double z) /* its complement, accurate in the upper tail */
{
	return 0.5 * erfc(z / M_SQRT2);
}

static double owen_f(double h2, double x)
{
	double t = 1.0 + x * x;

	return exp(-0.5 * h2 * t) / t;
}

static double simpson(double h2, double a, double b, double fa, double fm, double fb, double whole,
		      double tol, int depth)
{
	double m = 0.5 * (a + b), lm = 0.5 * (a + m), rm = 0.5 * (m + b);
	double flm = owen_f(h2, lm), frm = owen_f(h2, rm);
	double left = (m - a) / 6.0 * (fa + 4.0 * flm + fm);
	double right = (b - m) / 6.0 * (fm + 4.0 * frm + fb);
	double d = left + right - whole;

	if (depth <= 0 || fabs(d) <= 15.0 * tol)
		return left + right + d / 15.0;
	return simpson(h2, a, m, fa, flm, fm, left, 0.5 * tol, depth - 1) +
	       simpson(h2, m, b, fm, frm, fb, right, 0.5 * tol, depth - 1);
}

/*
 * Owen's T(h, a) = 1/(2 pi) * integral_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx.
 * T is even in h and odd in a; for a > 1 the integrand is reflected with
 * T(h, a) = (Phi(h) + Phi(ah)) / 2 - Phi(h) Phi(ah) - T(ah, 1/a)   (h >= 0)
 * written with complements to keep the absolute error near 1e-16.
 */
static double owen_t(double h, double a)
{
	double fa, fm, fb;

	if (a < 0)
		return -owen_t(h, -a);
	h = fabs(h);
	if (a == 0)
		return 0;
	if (h == 0)
		return atan(a) / (2.0 * M_PI);
	if (h > 9.0) /* T <= exp(-h^2 / 2) / 4 < 1e-18 */
		return 0;
	if (a > 1.0) {
		double ah = a * h;

		return 0.5 * (phi(h) * phic(ah) + phi(ah) * phic(h)) - owen_t(ah, 1.0 / a);
	}
	fa = owen_f(h * h, 0);
	fm = owen_f(h * h, 0.5 * a);
	fb = owen_f(h * h, a);
	return simpson(h * h, 0, a, fa, fm, fb, a / 6.0 * (fa + 4.0 * fm + fb), 1e-14, 30) /
	       (2.0 * M_PI);
}

/* Standard skew normal CDF: Phi(z) - 2 T(z, shape). */
static double skew_normal_cdf(double z, double shape)
{
	double f = phi(z) - 2.0 * owen_t(z, shape);

	return f < 0 ? 0 : f > 1 ? 1 : f;
}

/* Regularized lower incomplete gamma P(a, x) (a > 0). */
static double gamma_p(double a, double x)
{
	double lpre, r;
	long i;

	if (!(x > 0))
		return 0;
	if (isinf(x))
		return 1;
	if (a > GAMMA_WH) {
		/* Wilson-Hilferty: (X / a)^(1/3) is nearly normal; error far below 1e-6 here */
		double z = 3.0 * sqrt(a) * (cbrt(x / a) - 1.0 + 1.0 / (9.0 * a));

		return phi(z);
	}
	lpre = a * log(x) - x - lgamma(a);
	if (lpre < -800) /* x^a e^-x / Gamma(a) underflows: far out in a tail */
		return x < a ? 0 : 1;
	if (x < a + 1.0) {
		/* series: P = x^a e^-x / Gamma(a + 1) * sum x^n / ((a + 1) ... (a + n)) */
		double term = 1.0 / a, sum = term, ap = a;

		for (i = 0; i < CF_MAXITER; i++) {
			ap += 1.0;
			term *= x / ap;
			sum += term;
			if (term <= sum * DBL_EPSILON)
				break;
		}
		r = exp(lpre) * sum;
		return r > 1 ? 1 : r;
	}
	/* continued fraction for Q (modified Lentz) */
	{
		double b = x + 1.0 - a, c = 1.0 / TINY, d = 1.0 / b, h = d;

		for (i = 1; i < CF_MAXITER; i++) {
			double an = -(double)i * ((double)i - a), del;

			b += 2.0;
			d = an * d + b;
			if (fabs(d) < TINY)
				d = TINY;
			c = b + an / c;
			if (fabs(c) < TINY)
				c = TINY;
			d = 1.0 / d;
			del = d * c;
			h *= del;
			if (fabs(del - 1.0) <= 4 * DBL_EPSILON)
				break;
		}
		r = exp(lpre) * h;
		return r > 1 ? 0 : 1.0 - r;
	}
}

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
	double qab = a + b, qap = a + 1.0, qam = a - 1.0;
	double c = 1.0, d = 1.0 - qab * x / qap, h;
	long m;

	if (fabs(d) < TINY)
		d = TINY;
	d = 1.0 / d;
	h = d;
	for (m = 1; m < CF_MAXITER; m++) {
		double m2 = 2.0 * (double)m, dm = (double)m, aa, del;

		aa = dm * (b - dm) * x / ((qam + m2) * (a + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < TINY)
			d = TINY;
		c = 1.0 + aa / c;
		if (fabs(c) < TINY)
			c = TINY;
		d = 1.0 / d;
		h *= d * c;
		aa = -(a + dm) * (qab + dm) * x / ((a + m2) * (qap + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < TINY)
			d = TINY;
		c = 1.0 + aa / c;
		if (fabs(c) < TINY)
			c = TINY;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) <= 4 * DBL_EPSILON)
			break;
		if (!isfinite(h)) /* NaN never converges: CF_MAXITER steps, per evaluation */
			return NAN;
	}
	return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double beta_inc(double a, double b, double x)
{
	double lbt, r;

	if (!(x > 0))
		return 0;
	if (x >= 1)
		return 1;
	lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1.0) / (a + b + 2.0))
		r = exp(lbt) * beta_cf(a, b, x) / a;
	else
		r = 1.0 - exp(lbt) * beta_cf(b, a, 1.0 - x) / b;
	return r < 0 ? 0 : r > 1 ? 1 : r;
}

/* ---------------------------------------------------------------- discrete: pmf walks */

/*
 * Binomial and Poisson: the pmf relative to the mode, p(mode) = 1, is walked
 * down and up with p(k +- 1) / p(k) until it falls below WALK_STOP; the CDF is
 * the running sum over the total. Rounding grows by ~1e-16 per step only.
 */
struct walk {
	int binomial;
	double n, p, lam;
	double lo, vlo; /* first point of the walk and its relative pmf */
	double hi, total;
};

static double ratio_up(const struct walk *w, double k) /* p(k + 1) / p(k) */
{
	if (w->binomial)
		return (w->n - k) / (k + 1.0) * (w->p / (1.0 - w->p));
	return w->lam / (k + 1.0);
}

static double ratio_down(const struct walk *w, double k) /* p(k - 1) / p(k) */
{
	if (w->binomial)
		return k / (w->n - k + 1.0) * ((1.0 - w->p) / w->p);
	return k / w->lam;
}

/* Binomial needs 0 < p < 1 and n >= 1; Poisson lambda > 0. */
static void walk_init(struct walk *w, const struct wfg_dist_spec *s)
{
	double m, k, v, nv, sum;

	memset(w, 0, sizeof(*w));
	w->binomial = s->kind == WFG_DK_BINOMIAL;
	if (w->binomial) {
		w->n = s->p[0];
		w->p = s->p[1];
		m = floor((w->n + 1.0) * w->p);
		if (m > w->n)
			m = w->n;
	} else {
		w->lam = s->p[0];
		m = floor(w->lam);
	}
	sum = 1.0;
	for (k = m, v = 1.0; k > 0; k -= 1.0, v = nv) {
		nv = v * ratio_down(w, k);
		if (nv < WALK_STOP)
			break;
		sum += nv;
	}
	w->lo = k;
	w->vlo = v;
	for (k = m, v = 1.0; !w->binomial || k < w->n; k += 1.0, v = nv) {
		nv = v * ratio_up(w, k);
		if (nv < WALK_STOP)
			break;
		sum += nv;
	}
	w->hi = k;
	w->total = sum;
}

/* Quantiles (smallest k with F(k) >= t) for ascending targets t in (0, 1). */
static void walk_quantiles(const struct walk *w, const double *t, int n, double *out)
{
	double k = w->lo, v = w->vlo, cum = w->vlo;
	int j = 0;

	while (j < n) {
		if (cum >= t[j] * w->total || k >= w->hi) {
			out[j++] = k;
			continue;
		}
		v *= ratio_up(w, k);
		k += 1.0;
		cum += v;
	}
}

static double walk_cdf(const struct walk *w, double k)
{
	double i, v = w->vlo, cum = w->vlo;

	if (k < w->lo)
		return 0;
	if (k >= w->hi)
		return 1;
	for (i = w->lo; i < k; i += 1.0) {
		v *= ratio_up(w, i);
		cum += v;
	}
	cum /= w->total;
	return cum > 1 ? 1 : cum;
}

/* P(K <= k) for an integer k >= 0 of a discrete kind. */
static double disc_cdf(const struct wfg_dist_spec *s, double k)
{
	struct walk w;
	double n = s->p[0], p = s->p[1];

	switch (s->kind) {
	case WFG_DK_GEOMETRIC:
		p = s->p[0];
		if (p == 0)
			return k >= U64MAX_D ? 1 : 0;
		if (p == 1)
			return 1;
		return -expm1((k + 1.0) * log1p(-p));
	case WFG_DK_BINOMIAL:
		if (n == 0 || p == 0 || k >= n)
			return 1;
		if (p == 1)
			return 0;
		break;
	case WFG_DK_POISSON:
		if (s->p[0] > POIS_WALK) /* P(K <= k) = Q(k + 1, lambda) */
			return 1.0 - gamma_p(k + 1.0, s->p[0]);
		break;
	default:
		return NAN;
	}
	walk_init(&w, s);
	return walk_cdf(&w, k);
}

/* ---------------------------------------------------------------- raw distribution */

/* CDF of the raw distribution (no start, no clamps). */
static double raw_cdf(const struct wfg_dist_spec *s, double x)
{
	double a = s->p[0], b = s->p[1], sd;

	if (isnan(x))
		return NAN;
	switch (s->kind) {
	case WFG_DK_UNIFORM:
		if (x < a)
			return 0;
		if (x >= b)
			return 1;
		return (x - a) / (b - a);
	case WFG_DK_NORMAL:
		sd = fabs(b);
		if (sd == 0)
			return x >= a ? 1 : 0;
		return phi((x - a) / sd);
	case WFG_DK_SKEW_NORMAL:
		return skew_normal_cdf((x - a) / b, s->p[2]);
	case WFG_DK_LOG_NORMAL:
		if (!(x > 0))
			return 0;
		sd = fabs(b);
		if (sd == 0)
			return x >= exp(a) ? 1 : 0;
		return phi((log(x) - a) / sd);
	case WFG_DK_PARETO:
		if (x <= a)
			return 0;
		return -expm1(b * log(a / x));
	case WFG_DK_WEIBULL:
		if (!(x > 0))
			return 0;
		return -expm1(-pow(x / a, b));
	case WFG_DK_GAMMA:
		return gamma_p(b, x / a);
	case WFG_DK_BETA:
		return beta_inc(a, b, x);
	case WFG_DK_BINOMIAL:
	case WFG_DK_GEOMETRIC:
	case WFG_DK_POISSON:
		if (x < 0)
			return 0;
		return disc_cdf(s, floor(x));
	default:
		return NAN;
	}
}

/* Map doubles onto unsigned integers in the same order (-0 just below +0). */
static uint64_t d2o(double x)
{
	uint64_t u;

	memcpy(&u, &x, sizeof(u));
	return (u >> 63) ? ~u : (u | (1ULL << 63));
}

static double o2d(uint64_t o)
{
	uint64_t u = (o >> 63) ? (o & ~(1ULL << 63)) : ~o;
	double x;

	memcpy(&x, &u, sizeof(x));
	return x;
}

/*
 * Smallest double x in [lo, hi] with cdf(x) >= p, by bisection on the ordered
 * bit patterns: at most 64 steps whatever the range. hi if cdf(hi) < p.
 */
static double solve(const struct wfg_dist_spec *s, double p, double lo, double hi)
{
	uint64_t a = d2o(lo), b = d2o(hi);

	if (raw_cdf(s, lo) >= p)
		return lo;
	if (!(raw_cdf(s, hi) >= p))
		return hi;
	while (b - a > 1) {
		uint64_t m = a + (b - a) / 2;

		if (raw_cdf(s, o2d(m)) >= p)
			b = m;
		else
			a = m;
	}
	return o2d(b);
}

static double std_normal_quantile(double p)
{
	static const struct wfg_dist_spec std = { .kind = WFG_DK_NORMAL, .p = { 0, 1 } };

	return solve(&std, p, -64.0, 64.0);
}

/* Quantiles of a discrete kind at ascending targets (one pmf walk for all). */
static void disc_quantiles(const struct wfg_dist_spec *s, const double *t, int n, double *out)
{
	double a = s->p[0], b = s->p[1], hi;
	struct walk w;
	int i, lo = 0, cnt;

	/* targets outside (0, 1): the bounds of the support */
	hi = s->kind == WFG_DK_BINOMIAL ? a : INFINITY;
	if (s->kind == WFG_DK_GEOMETRIC && a == 0)
		hi = U64MAX_D;
	while (lo < n && !(t[lo] > 0))
		out[lo++] = 0;
	cnt = n - lo;
	while (cnt > 0 && !(t[lo + cnt - 1] < 1)) {
		out[lo + cnt - 1] = hi;
		cnt--;
	}
	t += lo;
	out += lo;
	switch (s->kind) {
	case WFG_DK_GEOMETRIC:
		for (i = 0; i < cnt; i++) {
			double k;
			int j;

			if (a == 0) {
				out[i] = U64MAX_D;
				continue;
			}
			if (a == 1) {
				out[i] = 0;
				continue;
			}
			/* F(k) = 1 - (1 - p)^(k + 1) >= t, then fix rounding at the boundary */
			k = ceil(log1p(-t[i]) / log1p(-a)) - 1.0;
			if (k < 0)
				k = 0;
			for (j = 0; j < 4 && k > 0 && disc_cdf(s, k - 1.0) >= t[i]; j++)
				k -= 1.0;
			for (j = 0; j < 4 && disc_cdf(s, k) < t[i]; j++)
				k += 1.0;
			out[i] = k;
		}
		return;
	case WFG_DK_BINOMIAL:
		if (a == 0 || b == 0 || b == 1) {
			for (i = 0; i < cnt; i++)
				out[i] = b == 1 ? a : 0;
			return;
		}
		break;
	case WFG_DK_POISSON:
		if (a > POIS_WALK) {
			double top = a + 60.0 * sqrt(a) + 100.0;

			for (i = 0; i < cnt; i++)
				out[i] = solve(s, t[i], 0, top);
			return;
		}
		break;
	default:
		return;
	}
	if (cnt > 0) {
		walk_init(&w, s);
		walk_quantiles(&w, t, cnt, out);
	}
}

double wfg_dist_raw_quantile(const struct wfg_dist_spec *s, double p)
{
	double a = s->p[0], b = s->p[1], sd, r;

	if (isnan(p))
		return NAN;
	switch (s->kind) {
	case WFG_DK_UNIFORM:
		if (p <= 0 || a == b)
			return a;
		if (p >= 1)
			return b;
		r = a + p * (b - a);
		return r < b ? r : b;
	case WFG_DK_NORMAL:
		sd = fabs(b);
		if (sd == 0)
			return a;
		if (p <= 0 || p >= 1)
			return p <= 0 ? -INFINITY : INFINITY;
		return a + sd * std_normal_quantile(p);
	case WFG_DK_SKEW_NORMAL:
		if (p <= 0 || p >= 1)
			return p <= 0 ? -INFINITY : INFINITY;
		return solve(s, p, a - 64.0 * b, a + 64.0 * b);
	case WFG_DK_LOG_NORMAL:
		sd = fabs(b);
		if (sd == 0)
			return exp(a);
		if (p <= 0 || p >= 1)
			return p <= 0 ? 0 : INFINITY;
		return exp(a + sd * std_normal_quantile(p));
	case WFG_DK_PARETO:
		if (p <= 0 || p >= 1)
			return p <= 0 ? a : INFINITY;
		return a * exp(-log1p(-p) / b);
	case WFG_DK_WEIBULL:
		if (p <= 0 || p >= 1)
			return p <= 0 ? 0 : INFINITY;
		return a * pow(-log1p(-p), 1.0 / b);
	case WFG_DK_GAMMA:
		if (p <= 0 || p >= 1)
			return p <= 0 ? 0 : INFINITY;
		return solve(s, p, 0, DBL_MAX);
	case WFG_DK_BETA:
		if (p <= 0 || p >= 1)
			return p <= 0 ? 0 : 1;
		return solve(s, p, 0, 1);
	case WFG_DK_BINOMIAL:
	case WFG_DK_GEOMETRIC:
	case WFG_DK_POISSON:
		disc_quantiles(s, &p, 1, &r);
		return r;
	default:
		return NAN;
	}
}

/* ---------------------------------------------------------------- sampled value, tables */

/* Maybenot's Dist::sample() around a raw value: max(0, raw + start), then min(max). */
static double sampled(const struct wfg_dist_spec *s, double raw)
{
	double v = raw + s->start;

	if (!(v > 0)) /* also NaN, as f64::max(0.0, NaN) */
		v = 0;
	if (s->max > 0 && v > s->max)
		v = s->max;
	return v;
}

double wfg_dist_cdf(const struct wfg_dist_spec *s, double x)
{
	if (isnan(x))
		return NAN;
	if (x < 0)
		return 0;
	if (s->max > 0 && x >= s->max)
		return 1;
	/* for x >= 0: max(0, y) <= x  <=>  y <= x */
	return raw_cdf(s, x - s->start);
}

static __u32 to_u32(double v, double scale, enum wfg_dist_round mode)
{
	double y = v * scale;

	y = mode == WFG_DIST_TRUNC ? floor(y) : round(y); /* round(): halves away from 0, as Rust */
	if (!(y > 0))
		return 0;
	if (y >= 4294967295.0)
		return UINT32_MAX;
	return (__u32)y;
}

int wfg_dist_build_r(const struct wfg_dist_spec *s, double scale, enum wfg_dist_round mode,
		     struct wfg_dist_table *out, char *err, size_t errlen)
{
	double t[WFG_DIST_INTERVALS + 1], v[WFG_DIST_INTERVALS + 1];
	unsigned int i;
	int rc;

	rc = wfg_dist_validate(s, err, errlen);
	if (rc)
		return rc;
	if (!(scale > 0) || !isfinite(scale))
		return BAD("%s: scale must be finite and > 0, got %g", kind_names[s->kind], scale);
	if (mode != WFG_DIST_NEAREST && mode != WFG_DIST_TRUNC)
		return BAD("unknown rounding rule %d", (int)mode);
	memset(out, 0, sizeof(*out));
	if (wfg_dist_kind_is_discrete(s->kind)) {
		out->flags = WFG_DIST_F_STEP;
		for (i = 0; i < WFG_DIST_INTERVALS; i++)
			t[i] = (i + 0.5) / WFG_DIST_INTERVALS;
		disc_quantiles(s, t, WFG_DIST_INTERVALS, v);
		for (i = 0; i < WFG_DIST_INTERVALS; i++)
			out->q[i] = to_u32(sampled(s, v[i]), scale, mode);
		out->q[WFG_DIST_INTERVALS] = out->q[WFG_DIST_INTERVALS - 1];
	} else {
		for (i = 0; i <= WFG_DIST_INTERVALS; i++)
			v[i] = wfg_dist_raw_quantile(s, (double)i / WFG_DIST_INTERVALS);
		/* unbounded support: cut the tails at WFG_DIST_TAIL_EPS */
		if (!isfinite(v[0]))
			v[0] = wfg_dist_raw_quantile(s, WFG_DIST_TAIL_EPS);
		if (!isfinite(v[WFG_DIST_INTERVALS]))
			v[WFG_DIST_INTERVALS] = wfg_dist_raw_quantile(s, 1.0 - WFG_DIST_TAIL_EPS);
		for (i = 0; i <= WFG_DIST_INTERVALS; i++)
			out->q[i] = to_u32(sampled(s, v[i]), scale, mode);
	}
	/* monotone whatever the last bits of the CDFs did */
	for (i = 1; i <= WFG_DIST_INTERVALS; i++)
		if (out->q[i] < out->q[i - 1])
			out->q[i] = out->q[i - 1];
	return 0;
}

int wfg_dist_build(const struct wfg_dist_spec *s, double scale, struct wfg_dist_table *out,
		   char *err, size_t errlen)
{
	return wfg_dist_build_r(s, scale, WFG_DIST_NEAREST, out, err, errlen);
}

int wfg_dist_is_constant_r(const struct wfg_dist_spec *s, double scale, enum wfg_dist_round mode,
			   __u32 *value)
{
	struct wfg_dist_table t;
	unsigned int last;

	if (wfg_dist_build_r(s, scale, mode, &t, NULL, 0))
		return 0;
	/* step tables never return q[256]; interpolated ones are monotone */
	last = (t.flags & WFG_DIST_F_STEP) ? WFG_DIST_INTERVALS - 1 : WFG_DIST_INTERVALS;
	if (t.q[0] != t.q[last])
		return 0;
	if (value)
		*value = t.q[0];
	return 1;
}

int wfg_dist_is_constant(const struct wfg_dist_spec *s, double scale, __u32 *value)
{
	return wfg_dist_is_constant_r(s, scale, WFG_DIST_NEAREST, value);
}
