// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * k-FP: Hayes and Danezis, "k-fingerprinting: A Robust Scalable Website
 * Fingerprinting Technique", USENIX Security 2016.
 *
 * Features: the 175 timing and direction features of the authors' release
 * (packet sizes are not used, so unknown sizes do not matter); the layout is
 * listed in docs/attacks/kfp.md. Classifier: a random forest (forest.c). Closed
 * world: the forest's vote. Open world: each sample's fingerprint is the vector
 * of the leaves it reaches; a test sample gets a monitored label only when its
 * k nearest training fingerprints (Hamming distance) all carry that label.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "attacks.h"
#include "forest.h"

#define KFP_NFEATURES 175
#define CHUNK	      20	 /* packets per concentration chunk */
#define EDGE	      30	 /* first / last packets counted */
#define ALT_CONC      70	 /* concentration list summed into this many bins */
#define ALT_SEC	      20	 /* per-second list summed into this many bins */
#define MAX_SECONDS   (1u << 22) /* longer traces are refused */
#define NS	      1000000000ull

/* Offsets of the feature groups in the vector. */
enum {
	F_IAT = 0,	/* 12: inter-arrival max, mean, std, p75 x (in, out, total) */
	F_TIME = 12,	/* 12: time quartiles x (in, out, total) */
	F_COUNT = 24,	/* 3: in, out, total */
	F_EDGE = 27,	/* 4: first 30 in, out; last 30 in, out */
	F_MISC = 31,	/* 15: see misc_features() */
	F_ALTCONC = 46, /* 70 */
	F_ALTSEC = 116, /* 20 */
	F_SUMS = 136,	/* 5 */
	F_RAW = 141,	/* 34: the concentration list, then the per-second list */
};

/* ---------------------------------------------------------------- statistics */

/* numpy's default (linear) percentile of sorted v[0..n-1], n >= 1. */
static double percentile(const double *v, size_t n, double q)
{
	double pos = q / 100 * (double)(n - 1);
	size_t lo = (size_t)pos;

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

static double mean(const double *v, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : 0;
}

/* Population standard deviation (numpy's std). */
static double stdev(const double *v, size_t n)
{
	double m = mean(v, n), s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	return n ? sqrt(s / (double)n) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stats {
	double mean, std, min, max, median, p75;
};

/* Statistics of v[0..n-1] (sorted in place); all 0 when n = 0. */
static void describe(double *v, size_t n, struct stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	st->mean = mean(v, n);
	st->std = stdev(v, n);
	st->min = v[0];
	st->max = v[n - 1];
	st->median = percentile(v, n, 50);
	st->p75 = percentile(v, n, 75);
}

/* ---------------------------------------------------------------- features */

/* Directions: 0 = in, 1 = out, 2 = total (the order of the released code). */
static bool in_group(const struct wfb_pkt *p, int g)
{
	return g == 2 || (g == 1) == (p->dir == WFB_OUT);
}

static double secs(const struct wfb_trace *t, size_t i)
{
	return (double)(t->pkts[i].time_ns - t->pkts[0].time_ns) / 1e9;
}

/* Max, mean, std and 75th percentile of the gaps between packets of each group. */
static void iat_features(const struct wfb_trace *t, double *buf, double *out)
{
	int g;

	for (g = 0; g < 3; g++) {
		size_t i, m = 0, have = 0;
		double prev = 0;
		struct stats st;

		for (i = 0; i < t->n; i++) {
			if (!in_group(&t->pkts[i], g))
				continue;
			if (have++)
				buf[m++] = secs(t, i) - prev;
			prev = secs(t, i);
		}
		describe(buf, m, &st);
		out[F_IAT + g] = st.max;
		out[F_IAT + 3 + g] = st.mean;
		out[F_IAT + 6 + g] = st.std;
		out[F_IAT + 9 + g] = st.p75;
	}
}

/* Quartiles (25, 50, 75, 100th percentiles) of the packet times of each group. */
static void time_features(const struct wfb_trace *t, double *buf, double *out)
{
	int g, q;

	for (g = 0; g < 3; g++) {
		size_t i, m = 0;

		for (i = 0; i < t->n; i++)
			if (in_group(&t->pkts[i], g))
				buf[m++] = secs(t, i);
		for (q = 0; q < 4; q++)
			out[F_TIME + 4 * g + q] = m ? percentile(buf, m, 25.0 * (q + 1)) : 0;
	}
}

static void count_features(const struct wfb_trace *t, double *out)
{
	size_t i, nout = 0;

	for (i = 0; i < t->n; i++)
		nout += t->pkts[i].dir == WFB_OUT;
	out[F_COUNT] = (double)(t->n - nout);
	out[F_COUNT + 1] = (double)nout;
	out[F_COUNT + 2] = (double)t->n;
	for (i = 0; i < t->n && i < EDGE; i++)
		out[F_EDGE + (t->pkts[i].dir == WFB_OUT)] += 1;
	for (i = t->n > EDGE ? t->n - EDGE : 0; i < t->n; i++)
		out[F_EDGE + 2 + (t->pkts[i].dir == WFB_OUT)] += 1;
}

/* Outgoing packets in each chunk of 20 packets (the last one may be shorter). */
static size_t concentrations(const struct wfb_trace *t, double *conc)
{
	size_t i, m = (t->n + CHUNK - 1) / CHUNK;

	memset(conc, 0, m * sizeof(*conc));
	for (i = 0; i < t->n; i++)
		conc[i / CHUNK] += t->pkts[i].dir == WFB_OUT;
	return m;
}

/*
 * Packets in each second: bin b counts the packets at (b, b+1] seconds after
 * the first one (bin 0 also those at 0); ceil(duration) bins, at least one.
 */
static size_t per_second(const struct wfb_trace *t, double *sec, size_t nsec)
{
	size_t i;

	memset(sec, 0, nsec * sizeof(*sec));
	for (i = 0; i < t->n; i++) {
		uint64_t d = t->pkts[i].time_ns - t->pkts[0].time_ns;

		sec[d ? (d - 1) / NS : 0] += 1;
	}
	return nsec;
}

/* Mean and std of the positions (0-based) of the packets of direction dir. */
static void ordering(const struct wfb_trace *t, int dir, double *buf, double *m, double *sd)
{
	size_t i, k = 0;

	for (i = 0; i < t->n; i++)
		if (t->pkts[i].dir == dir)
			buf[k++] = (double)i;
	*m = mean(buf, k);
	*sd = stdev(buf, k);
}

/* Sums of `num` nearly equal consecutive runs of v[0..n-1] (empty runs give 0). */
static void bin_sums(const double *v, size_t n, size_t num, double *out)
{
	size_t j, i;

	for (j = 0; j < num; j++) {
		out[j] = 0;
		for (i = j * n / num; i < (j + 1) * n / num; i++)
			out[j] += v[i];
	}
}

/*
 * F_MISC..: concentration std, mean; per-second mean, std; mean position of
 * outgoing, of incoming packets; std of those; concentration median;
 * per-second median, min, max; concentration max; fraction in, fraction out.
 * conc and sec are sorted by this.
 */
static void misc_features(const struct wfb_trace *t, double *conc, size_t nc, double *sec,
			  size_t ns, double *buf, double *out)
{
	struct stats c, s;
	double *o = out + F_MISC;

	describe(conc, nc, &c);
	describe(sec, ns, &s);
	o[0] = c.std;
	o[1] = c.mean;
	o[2] = s.mean;
	o[3] = s.std;
	ordering(t, WFB_OUT, buf, &o[4], &o[6]);
	ordering(t, WFB_IN, buf, &o[5], &o[7]);
	o[8] = c.median;
	o[9] = s.median;
	o[10] = s.min;
	o[11] = s.max;
	o[12] = c.max;
	o[13] = out[F_COUNT] / (double)t->n;
	o[14] = out[F_COUNT + 1] / (double)t->n;
}

static double sum(const double *v, size_t n)
{
	return mean(v, n) * (double)n;
}

/* Concentration and per-second lists: binned, summed, and the first values raw. */
static void list_features(const struct wfb_trace *t, double *conc, double *sec, size_t nsec,
			  double *buf, double *out)
{
	size_t nc = concentrations(t, conc), ns = per_second(t, sec, nsec);
	size_t i, r = 0;

	bin_sums(conc, nc, ALT_CONC, out + F_ALTCONC);
	bin_sums(sec, ns, ALT_SEC, out + F_ALTSEC);
	for (i = 0; i < nc && F_RAW + r < KFP_NFEATURES; i++)
		out[F_RAW + r++] = conc[i];
	for (i = 0; i < ns && F_RAW + r < KFP_NFEATURES; i++)
		out[F_RAW + r++] = sec[i];
	out[F_SUMS] = sum(out + F_ALTCONC, ALT_CONC);
	out[F_SUMS + 1] = sum(out + F_ALTSEC, ALT_SEC);
	out[F_SUMS + 2] = sum(out + F_IAT, 12);
	out[F_SUMS + 3] = sum(out + F_TIME, 12);
	out[F_SUMS + 4] = sum(out + F_COUNT, 3);
	misc_features(t, conc, nc, sec, ns, buf, out);
}

static int kfp_extract(const struct wfb_trace *t, double *out)
{
	uint64_t dur;
	size_t nsec;
	double *buf;

	if (!t->n)
		return -EINVAL;
	dur = t->pkts[t->n - 1].time_ns - t->pkts[0].time_ns;
	nsec = dur ? (size_t)((dur - 1) / NS + 1) : 1;
	if (t->pkts[t->n - 1].time_ns < t->pkts[0].time_ns || nsec > MAX_SECONDS)
		return -EINVAL;
	buf = malloc((2 * t->n + CHUNK + nsec) * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	memset(out, 0, KFP_NFEATURES * sizeof(*out));
	iat_features(t, buf, out);
	time_features(t, buf, out);
	count_features(t, out);
	list_features(t, buf + t->n, buf + 2 * t->n + CHUNK, nsec, buf, out);
	free(buf);
	return 0;
}

/* ---------------------------------------------------------------- classifier */

struct kfp_model {
	struct wfa_forest *forest;
	bool open;
	unsigned k, trees;
	size_t n;
	uint32_t *leaves; /* open world: n x trees leaf vectors of the training rows */
	int *y;
};

struct kfp_params {
	double trees, k, mtry, min_leaf, depth;
};

static const char *const kfp_keys[] = { "trees", "k", "mtry", "min_leaf", "depth", NULL };

/* One integer parameter in [lo, hi]; *v keeps its default when absent. */
static int int_param(const char *params, const char *key, double lo, double hi, double *v,
		     char *err, size_t errlen)
{
	int rc = wfa_param(params, kfp_keys, key, v, err, errlen);

	if (rc < 0)
		return rc;
	if (*v != floor(*v) || *v < lo || *v > hi) {
		snprintf(err, errlen, "kfp: %s=%g: want an integer in %g..%g", key, *v, lo, hi);
		return -EINVAL;
	}
	return 0;
}

static int parse_params(const char *params, size_t n, struct kfp_params *p, char *err,
			size_t errlen)
{
	int rc;

	*p = (struct kfp_params){ .trees = 1000, .k = 3, .mtry = 0, .min_leaf = 1, .depth = 0 };
	rc = int_param(params, "trees", 1, 100000, &p->trees, err, errlen);
	if (!rc)
		rc = int_param(params, "k", 1, 1000, &p->k, err, errlen);
	if (!rc)
		rc = int_param(params, "mtry", 0, KFP_NFEATURES, &p->mtry, err, errlen);
	if (!rc)
		rc = int_param(params, "min_leaf", 1, 1e6, &p->min_leaf, err, errlen);
	if (!rc)
		rc = int_param(params, "depth", 0, 1e6, &p->depth, err, errlen);
	if (!rc && p->k > (double)n) {
		snprintf(err, errlen, "kfp: k=%g but only %zu training traces", p->k, n);
		rc = -EINVAL;
	}
	return rc;
}

static void kfp_free(void *model)
{
	struct kfp_model *m = model;

	if (!m)
		return;
	wfa_forest_free(m->forest);
	free(m->leaves);
	free(m->y);
	free(m);
}

/* Open world: remember every training row's leaf vector and label. */
static int keep_fingerprints(struct kfp_model *m, const double *X, const int *y)
{
	size_t i;

	m->leaves = malloc(m->n * m->trees * sizeof(*m->leaves));
	m->y = malloc(m->n * sizeof(*m->y));
	if (!m->leaves || !m->y)
		return -ENOMEM;
	for (i = 0; i < m->n; i++)
		wfa_forest_leaves(m->forest, X + i * KFP_NFEATURES, m->leaves + i * m->trees);
	memcpy(m->y, y, m->n * sizeof(*y));
	return 0;
}

static int kfp_fit(void **model, const double *X, const int *y, size_t n, const struct wfa_opts *o,
		   char *err, size_t errlen)
{
	struct wfa_forest_opts fo = { 0 };
	struct kfp_params p;
	struct kfp_model *m;
	int rc;

	rc = parse_params(o->params, n, &p, err, errlen);
	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->open = o->open_world;
	m->k = (unsigned)p.k;
	m->trees = (unsigned)p.trees;
	m->n = n;
	fo = (struct wfa_forest_opts){ .trees = m->trees,
				       .max_features = (unsigned)p.mtry,
				       .min_leaf = (unsigned)p.min_leaf,
				       .max_depth = (unsigned)p.depth,
				       .seed = o->seed,
				       .threads = o->threads };
	rc = wfa_forest_fit(&m->forest, X, y, n, KFP_NFEATURES, &fo, err, errlen);
	if (!rc && m->open && keep_fingerprints(m, X, y)) {
		snprintf(err, errlen, "kfp: out of memory for %zu leaf vectors", n);
		rc = -ENOMEM;
	}
	if (rc) {
		kfp_free(m);
		return rc;
	}
	*model = m;
	return 0;
}

/* Insert (d, i) into the k smallest distances so far (dist/who sorted, *have used). */
static void keep_nearest(unsigned *dist, size_t *who, unsigned k, unsigned *have, unsigned d,
			 size_t i)
{
	unsigned j;

	if (*have == k && d >= dist[k - 1])
		return;
	j = *have < k ? (*have)++ : k - 1;
	for (; j > 0 && dist[j - 1] > d; j--) {
		dist[j] = dist[j - 1];
		who[j] = who[j - 1];
	}
	dist[j] = d;
	who[j] = i;
}

/*
 * The k training fingerprints nearest to x's (training rows sharing no leaf
 * with x are never neighbours); a monitored label only if all k agree on it.
 */
static int open_predict(const struct kfp_model *m, const uint32_t *leaf, unsigned *dist,
			size_t *who)
{
	unsigned have = 0, j, t;
	size_t i;

	for (i = 0; i < m->n; i++) {
		const uint32_t *l = m->leaves + i * m->trees;
		unsigned d = 0;

		for (t = 0; t < m->trees; t++)
			d += l[t] != leaf[t];
		if (d < m->trees)
			keep_nearest(dist, who, m->k, &have, d, i);
	}
	if (have < m->k)
		return WFB_UNMON;
	for (j = 1; j < m->k; j++)
		if (m->y[who[j]] != m->y[who[0]])
			return WFB_UNMON;
	return m->y[who[0]];
}

static int kfp_predict(const void *model, const double *x, int *label)
{
	const struct kfp_model *m = model;
	uint32_t *leaf;
	unsigned *dist;
	size_t *who;
	bool ok;

	if (!m->open)
		return wfa_forest_predict(m->forest, x, label);
	leaf = malloc(m->trees * sizeof(*leaf));
	dist = malloc(m->k * sizeof(*dist));
	who = malloc(m->k * sizeof(*who));
	ok = leaf && dist && who;
	if (ok) {
		wfa_forest_leaves(m->forest, x, leaf);
		*label = open_predict(m, leaf, dist, who);
	}
	free(leaf);
	free(dist);
	free(who);
	return ok ? 0 : -ENOMEM;
}

/* Open world: the k nearest leaf vectors must agree, so a site needs k training traces. */
static int kfp_check(const struct wfa_shape *s, char *err, size_t errlen)
{
	struct kfp_params p;
	int rc = parse_params(s->params, s->rows, &p, err, errlen);

	if (!rc && s->open_world && p.k > (double)s->min_train) {
		snprintf(err, errlen,
			 "kfp: open world classifies a trace as a monitored site only when all "
			 "k=%g nearest leaf vectors are that site, but a site has only %zu "
			 "training traces; pass --params k=%zu (or fewer folds)",
			 p.k, s->min_train, s->min_train);
		rc = -EINVAL;
	}
	return rc;
}

const struct wfa_attack wfa_kfp = {
	.name = "kfp",
	.cite = "Hayes and Danezis, k-fingerprinting: A Robust Scalable Website Fingerprinting "
		"Technique, USENIX Security 2016",
	.nfeatures = KFP_NFEATURES,
	.extract = kfp_extract,
	.fit = kfp_fit,
	.predict = kfp_predict,
	.free = kfp_free,
	.check = kfp_check,
};
