// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The k-NN attack of Wang, Cai, Nithyanand, Johnson and Goldberg ("Effective
 * Attacks and Provable Defenses for Website Fingerprinting", USENIX Security
 * 2014): a few thousand hand-made features, a weighted L1 distance whose
 * weights are learnt from each training point's nearest neighbours of its own
 * and of other classes, and a k-nearest-neighbour vote.
 *
 * Missing values (the paper's "X": a 250th outgoing packet in a trace that has
 * 100) are NaN in a feature vector; a feature missing in either vector adds
 * nothing to their distance. Layout, rules and where this differs from the
 * paper: docs/attacks/knn.md.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "wfguard/core/prng.h"

#include "err.h"
#include "dataset.h"
#include "attacks.h"

/* ---------------------------------------------------------------- features */

#define KNN_MAXSIZE   1500 /* sizes 1..1500 per direction; larger count as 1500 */
#define KNN_ORDER     300  /* outgoing packets with ordering features */
#define KNN_SPAN      30   /* packets per concentration span */
#define KNN_SPANS     100  /* spans (the first 3000 packets) */
#define KNN_NBURSTS   5	   /* first bursts whose lengths are features */
#define KNN_NFIRST    20   /* first packets whose directed sizes are features */
#define KNN_BURST_END 2	   /* adjacent incoming packets that end a burst */

enum knn_feature {
	KF_NPKT,      /* packets */
	KF_NOUT,      /* outgoing packets */
	KF_NIN,	      /* incoming packets */
	KF_BYTES_OUT, /* outgoing bytes (unknown size: 1 per packet) */
	KF_BYTES_IN,  /* incoming bytes */
	KF_TIME,      /* seconds from the first to the last packet */
	KF_SIZES, /* [2 * KNN_MAXSIZE]: outgoing size s present at +s-1, incoming at +1500+s-1 */
	KF_OPOS = KF_SIZES + 2 * KNN_MAXSIZE,	 /* [300]: index of the j-th outgoing packet */
	KF_OGAP = KF_OPOS + KNN_ORDER,		 /* [300]: incoming packets just before it */
	KF_CONC = KF_OGAP + KNN_ORDER,		 /* [100]: outgoing packets per span of 30 */
	KF_BURSTS = KF_CONC + KNN_SPANS,	 /* outgoing bursts */
	KF_BURST_MAX,				 /* longest burst (outgoing packets) */
	KF_BURST_MEAN,				 /* mean burst length */
	KF_BURST_GT5,				 /* bursts longer than 5 */
	KF_BURST_GT10,				 /* ... than 10 */
	KF_BURST_GT15,				 /* ... than 15 */
	KF_BURST_FIRST,				 /* [5]: lengths of the first bursts */
	KF_FIRST = KF_BURST_FIRST + KNN_NBURSTS, /* [20]: dir * size of the first packets */
	KF_COUNT = KF_FIRST + KNN_NFIRST,
};

static void fill(double *out, size_t n, double v)
{
	for (size_t i = 0; i < n; i++)
		out[i] = v;
}

/* A packet's size for size features: unknown (0) counts as 1. */
static double pkt_size(const struct wfb_pkt *p)
{
	return p->size ? (double)p->size : 1.0;
}

static void feat_general(const struct wfb_trace *t, double *out)
{
	double nout = 0, bout = 0, bin = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->pkts[i].dir == WFB_OUT) {
			nout++;
			bout += pkt_size(&t->pkts[i]);
		} else {
			bin += pkt_size(&t->pkts[i]);
		}
	}
	out[KF_NPKT] = (double)t->n;
	out[KF_NOUT] = nout;
	out[KF_NIN] = (double)t->n - nout;
	out[KF_BYTES_OUT] = bout;
	out[KF_BYTES_IN] = bin;
	out[KF_TIME] = (double)(t->pkts[t->n - 1].time_ns - t->pkts[0].time_ns) / 1e9;
}

/* Presence of each size per direction; all missing when no size is known. */
static void feat_sizes(const struct wfb_trace *t, double *out)
{
	bool known = false;

	fill(out, 2 * KNN_MAXSIZE, 0.0);
	for (size_t i = 0; i < t->n; i++) {
		uint32_t s = t->pkts[i].size;

		if (!s)
			continue;
		known = true;
		if (s > KNN_MAXSIZE)
			s = KNN_MAXSIZE;
		out[(t->pkts[i].dir == WFB_OUT ? 0 : KNN_MAXSIZE) + s - 1] = 1.0;
	}
	if (!known)
		fill(out, 2 * KNN_MAXSIZE, NAN);
}

/* Where the first 300 outgoing packets are, and the incoming packets before each. */
static void feat_order(const struct wfb_trace *t, double *pos, double *gap)
{
	size_t j = 0, in = 0;

	fill(pos, KNN_ORDER, NAN);
	fill(gap, KNN_ORDER, NAN);
	for (size_t i = 0; i < t->n && j < KNN_ORDER; i++) {
		if (t->pkts[i].dir != WFB_OUT) {
			in++;
			continue;
		}
		pos[j] = (double)i;
		gap[j++] = (double)in;
		in = 0;
	}
}

/* Outgoing packets in each span of 30 packets; spans past the end hold 0. */
static void feat_concentration(const struct wfb_trace *t, double *out)
{
	fill(out, KNN_SPANS, 0.0);
	for (size_t i = 0; i < t->n && i < KNN_SPAN * KNN_SPANS; i++)
		if (t->pkts[i].dir == WFB_OUT)
			out[i / KNN_SPAN]++;
}

/* Burst statistics so far, updated one finished burst at a time. */
struct bursts {
	double count, max, sum, gt5, gt10, gt15;
	double first[KNN_NBURSTS];
};

static void burst_add(struct bursts *b, double len)
{
	if ((size_t)b->count < KNN_NBURSTS)
		b->first[(size_t)b->count] = len;
	b->count++;
	b->sum += len;
	if (len > b->max)
		b->max = len;
	b->gt5 += len > 5;
	b->gt10 += len > 10;
	b->gt15 += len > 15;
}

/*
 * A burst: outgoing packets in a row, where a single incoming packet does not
 * interrupt it but two adjacent ones end it. Its length counts its outgoing packets.
 */
static void feat_bursts(const struct wfb_trace *t, double *out)
{
	struct bursts b = { 0 };
	size_t len = 0, in_row = 0;

	fill(b.first, KNN_NBURSTS, NAN);
	for (size_t i = 0; i < t->n; i++) {
		if (t->pkts[i].dir == WFB_OUT) {
			len++;
			in_row = 0;
		} else if (++in_row == KNN_BURST_END && len) {
			burst_add(&b, (double)len);
			len = 0;
		}
	}
	if (len)
		burst_add(&b, (double)len);
	out[KF_BURSTS] = b.count;
	out[KF_BURST_MAX] = b.max;
	out[KF_BURST_MEAN] = b.count ? b.sum / b.count : 0.0;
	out[KF_BURST_GT5] = b.gt5;
	out[KF_BURST_GT10] = b.gt10;
	out[KF_BURST_GT15] = b.gt15;
	memcpy(out + KF_BURST_FIRST, b.first, sizeof(b.first));
}

static void feat_first(const struct wfb_trace *t, double *out)
{
	fill(out, KNN_NFIRST, NAN);
	for (size_t i = 0; i < t->n && i < KNN_NFIRST; i++)
		out[i] = t->pkts[i].dir * pkt_size(&t->pkts[i]);
}

static int knn_extract(const struct wfb_trace *t, double *out)
{
	if (!t || !t->n)
		return -EINVAL;
	feat_general(t, out);
	feat_sizes(t, out + KF_SIZES);
	feat_order(t, out + KF_OPOS, out + KF_OGAP);
	feat_concentration(t, out + KF_CONC);
	feat_bursts(t, out);
	feat_first(t, out + KF_FIRST);
	return 0;
}

/* ---------------------------------------------------------------- model */

struct knn_params {
	unsigned k;	 /* neighbours that vote */
	unsigned rounds; /* weight-learning passes over the training set */
	unsigned k_reco; /* reference points of each kind in weight learning */
	unsigned panels; /* 1: distances over row panels (the default); 0: row by row */
};

/*
 * Training rows in panels of KNN_PANEL: panel b holds rows b*KNN_PANEL.. feature
 * by feature (KNN_PANEL values of feature 0, then of feature 1, ...), so one pass
 * over a panel computes the distances of a query to KNN_PANEL rows at once with
 * vector instructions, reading memory in order. Rows past n are NaN (they add
 * nothing and are never looked at).
 */
#define KNN_PANEL 8

struct knn_model {
	size_t n;     /* training points */
	size_t m;     /* active features (not constant over the training set) */
	size_t *cols; /* [m]: their indices in a full feature vector */
	/* single precision halves the memory traffic; exactly one of X and P is set */
	float *X;      /* [n * m] row by row (panels=0) */
	float *P;      /* [ceil(n / KNN_PANEL) * m * KNN_PANEL] in panels */
	int *y;	       /* [n] */
	double *w;     /* [m] */
	double *wfull; /* [KF_COUNT]: w scattered back, 0 for inactive features */
	unsigned k;
	bool open;
};

/*
 * Weighted L1 distance over features present in both vectors: |a - b| is NaN
 * when either is missing, and NaN fails d == d.
 */
static double knn_dist(const float *a, const float *b, const double *w, size_t m)
{
	double s0 = 0, s1 = 0;
	size_t i;

	for (i = 0; i + 1 < m; i += 2) {
		float d0 = fabsf(a[i] - b[i]), d1 = fabsf(a[i + 1] - b[i + 1]);

		if (d0 == d0)
			s0 += w[i] * d0;
		if (d1 == d1)
			s1 += w[i + 1] * d1;
	}
	if (i < m) {
		float d = fabsf(a[i] - b[i]);

		if (d == d)
			s0 += w[i] * d;
	}
	return s0 + s1;
}

/* Feature j of training row i, whichever layout holds it. */
static float train_value(const struct knn_model *md, size_t i, size_t j)
{
	if (md->X)
		return md->X[i * md->m + j];
	return md->P[(i / KNN_PANEL * md->m + j) * KNN_PANEL + i % KNN_PANEL];
}

/*
 * 16-byte vectors: what every x86-64 (SSE2) and arm64 (NEON) has, so the compiler
 * keeps them in registers without a -march flag (wider generic vectors get split
 * through the stack, slower than the scalar loop).
 */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
typedef float v2f __attribute__((vector_size(8)));
typedef double v2d __attribute__((vector_size(16)));
typedef long long v2l __attribute__((vector_size(16)));

/* *s += w * d where d is a number, += 0 where it is NaN (d == d is false only for NaN). */
static void add_present(v2d *s, const v2d *w, v2f f)
{
	v2d d = __builtin_convertvector(f, v2d);

	*s += *w * (v2d)((v2l)d & (v2l)(d == d));
}

/*
 * The distances of query a to the KNN_PANEL rows of one panel, each computed
 * with exactly knn_dist's operations in its order: |a - b| in single precision,
 * widened, times the weight, even features summed into one partial sum, odd ones
 * into another, then the two added. Per row the result is therefore
 * bit-identical to knn_dist (tested), only KNN_PANEL rows advance together.
 * Adding 0 for a missing feature is exact (the sums are never -0).
 */
/* One feature of a panel: |a - x| for its KNN_PANEL rows, into the partial sums s. */
static void panel_feature(v2d *s, float a, const float *x, double w)
{
	v2d wi = { w, w };
	v4f lo, hi;

	memcpy(&lo, x, sizeof(lo));
	memcpy(&hi, x + 4, sizeof(hi));
	lo = (v4f)((v4i)(a - lo) & 0x7fffffff); /* fabsf: the sign bit cleared */
	hi = (v4f)((v4i)(a - hi) & 0x7fffffff);
	add_present(&s[0], &wi, __builtin_shufflevector(lo, lo, 0, 1));
	add_present(&s[1], &wi, __builtin_shufflevector(lo, lo, 2, 3));
	add_present(&s[2], &wi, __builtin_shufflevector(hi, hi, 0, 1));
	add_present(&s[3], &wi, __builtin_shufflevector(hi, hi, 2, 3));
}

static void panel_dist(const float *a, const float *panel, const double *w, size_t m, double *out)
{
	v2d s0[KNN_PANEL / 2] = { 0 }, s1[KNN_PANEL / 2] = { 0 };
	size_t i;
	int k;

	for (i = 0; i + 1 < m; i += 2) { /* two at a time: even and odd sums stay in registers */
		panel_feature(s0, a[i], panel + i * KNN_PANEL, w[i]);
		panel_feature(s1, a[i + 1], panel + (i + 1) * KNN_PANEL, w[i + 1]);
	}
	if (i < m)
		panel_feature(s0, a[i], panel + i * KNN_PANEL, w[i]);
	for (k = 0; k < KNN_PANEL / 2; k++) {
		v2d t = s0[k] + s1[k];

		memcpy(out + 2 * k, &t, sizeof(t));
	}
}

/* Distances of query x to training rows [lo, hi) into row[lo..hi). */
static void dist_range(const struct knn_model *md, const float *x, double *row, size_t lo,
		       size_t hi)
{
	double d[KNN_PANEL];

	if (md->X) {
		for (size_t j = lo; j < hi; j++)
			row[j] = knn_dist(x, md->X + j * md->m, md->w, md->m);
		return;
	}
	for (size_t b = lo / KNN_PANEL; b * KNN_PANEL < hi; b++) {
		panel_dist(x, md->P + b * md->m * KNN_PANEL, md->w, md->m, d);
		for (size_t k = 0; k < KNN_PANEL; k++)
			if (b * KNN_PANEL + k >= lo && b * KNN_PANEL + k < hi)
				row[b * KNN_PANEL + k] = d[k];
	}
}

static void model_free(struct knn_model *md)
{
	if (!md)
		return;
	free(md->cols);
	free(md->X);
	free(md->P);
	free(md->y);
	free(md->w);
	free(md->wfull);
	free(md);
}

static void knn_free(void *model)
{
	model_free(model);
}

static int param_uint(const char *params, const char *key, unsigned lo, unsigned hi, unsigned *v,
		      char *err, size_t errlen)
{
	static const char *const known[] = { "k", "rounds", "k_reco", "panels", NULL };
	double d;
	int rc = wfa_param(params, known, key, &d, err, errlen);

	if (rc <= 0)
		return rc;
	if (d != floor(d) || d < lo || d > hi)
		return wfg_err(err, errlen, EINVAL, "knn: %s must be an integer in %u..%u, not %g",
			       key, lo, hi, d);
	*v = (unsigned)d;
	return 0;
}

static int parse_params(const struct wfa_opts *o, struct knn_params *p, char *err, size_t errlen)
{
	int rc;

	/* Defaults: docs/attacks/knn.md. */
	p->k = o->open_world ? 5 : 1;
	p->rounds = 1;
	p->k_reco = 5;
	p->panels = 1;
	rc = param_uint(o->params, "k", 1, 1000, &p->k, err, errlen);
	if (!rc)
		rc = param_uint(o->params, "rounds", 0, 10000, &p->rounds, err, errlen);
	if (!rc)
		rc = param_uint(o->params, "k_reco", 1, 100, &p->k_reco, err, errlen);
	if (!rc)
		rc = param_uint(o->params, "panels", 0, 1, &p->panels, err, errlen);
	return rc;
}

static int check_data(const double *X, const int *y, size_t n, bool open, char *err, size_t errlen)
{
	if (!n)
		return wfg_err(err, errlen, EINVAL, "knn: no training data");
	for (size_t i = 0; i < n; i++) {
		if (y[i] < 0 && !(open && y[i] == WFB_UNMON))
			return wfg_err(err, errlen, EINVAL, "knn: training row %zu has label %d%s",
				       i, y[i], open ? "" : " in a closed world");
		for (size_t f = 0; f < KF_COUNT; f++)
			if (isinf((float)X[i * KF_COUNT + f]))
				return wfg_err(err, errlen, EINVAL,
					       "knn: training row %zu feature %zu is infinite or "
					       "too large",
					       i, f);
	}
	return 0;
}

static bool same_value(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/*
 * A feature with the same value (or missing) in every training row shifts the
 * distance from a query to every training row alike: it cannot change which
 * rows are nearest, nor the weight learning. Such features are left out.
 */
static bool column_varies(const double *X, size_t n, size_t f)
{
	for (size_t i = 1; i < n; i++)
		if (!same_value(X[i * KF_COUNT + f], X[f]))
			return true;
	return false;
}

/* The active features of every row into md->X (row by row) or md->P (panels, NaN-padded). */
static int model_rows(struct knn_model *md, const double *X, bool panels)
{
	size_t n = md->n, m = md->m, nb = (n + KNN_PANEL - 1) / KNN_PANEL;

	if (!panels) {
		md->X = malloc((n * m > 0 ? n * m : 1) * sizeof(*md->X));
		if (!md->X)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < m; j++)
				md->X[i * m + j] = (float)X[i * KF_COUNT + md->cols[j]];
		return 0;
	}
	md->P = malloc((nb * m > 0 ? nb * m * KNN_PANEL : 1) * sizeof(*md->P));
	if (!md->P)
		return -ENOMEM;
	for (size_t b = 0; b < nb; b++)
		for (size_t j = 0; j < m; j++)
			for (size_t k = 0; k < KNN_PANEL; k++) {
				size_t i = b * KNN_PANEL + k;

				md->P[(b * m + j) * KNN_PANEL + k] =
					i < n ? (float)X[i * KF_COUNT + md->cols[j]] : NAN;
			}
	return 0;
}

static int model_alloc(struct knn_model **out, const double *X, const int *y, size_t n, bool panels)
{
	struct knn_model *md = calloc(1, sizeof(*md));

	if (!md)
		return -ENOMEM;
	md->n = n;
	md->cols = malloc(KF_COUNT * sizeof(*md->cols));
	md->y = malloc(n * sizeof(*md->y));
	md->wfull = calloc(KF_COUNT, sizeof(*md->wfull));
	if (!md->cols || !md->y || !md->wfull)
		goto nomem;
	for (size_t f = 0; f < KF_COUNT; f++)
		if (column_varies(X, n, f))
			md->cols[md->m++] = f;
	md->w = malloc((md->m ? md->m : 1) * sizeof(*md->w));
	if (!md->w || model_rows(md, X, panels))
		goto nomem;
	memcpy(md->y, y, n * sizeof(*y));
	*out = md;
	return 0;
nomem:
	model_free(md);
	return -ENOMEM;
}

/* A uniform double in [0, 1) from the stream. */
static double rng_unit(__u64 *s)
{
	return (double)(wfg_splitmix64(s) >> 11) * 0x1p-53;
}

/* ---------------------------------------------------------------- threads */

/*
 * One distance row (a point against every training point), split into equal
 * slices, one per thread. Every entry is computed the same way whatever the
 * number of threads, so results never depend on o->threads. Threads are
 * started per row: a row costs milliseconds, a thread start microseconds.
 */
struct slice {
	const struct knn_model *md;
	const float *x;
	double *row;
	size_t lo, hi;
};

static void *slice_run(void *arg)
{
	const struct slice *s = arg;

	dist_range(s->md, s->x, s->row, s->lo, s->hi);
	return NULL;
}

#define KNN_MAX_THREADS 64

static void dist_row(const struct knn_model *md, const float *x, double *row, unsigned threads)
{
	struct slice sl[KNN_MAX_THREADS];
	pthread_t tid[KNN_MAX_THREADS];
	bool started[KNN_MAX_THREADS] = { false };

	if (threads > md->n / 64 + 1)
		threads = (unsigned)(md->n / 64 + 1);
	/* slices on panel boundaries, so no two threads compute the same panel */
	size_t nb = (md->n + KNN_PANEL - 1) / KNN_PANEL;

	for (unsigned t = 0; t < threads; t++) {
		size_t lo = nb * t / threads * KNN_PANEL, hi = nb * (t + 1) / threads * KNN_PANEL;

		sl[t] = (struct slice){ md, x, row, lo < md->n ? lo : md->n,
					hi < md->n ? hi : md->n };
	}
	for (unsigned t = 1; t < threads; t++)
		started[t] = !pthread_create(&tid[t], NULL, slice_run, &sl[t]);
	slice_run(&sl[0]);
	for (unsigned t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			slice_run(&sl[t]); /* could not start one: do its share here */
	}
}

/* ---------------------------------------------------------------- weight learning */

struct learner {
	struct knn_model *md;
	float *xp;	  /* [m]: the current point's features */
	double *row;	  /* [n]: distances from the current point */
	size_t *good;	  /* [k_reco]: its nearest rows of the same class */
	size_t *bad;	  /* [k_reco]: its nearest rows of other classes */
	double *featdist; /* [m]: per feature, summed distance to the bad rows */
	unsigned *nbad;	  /* [m]: per feature, bad rows no farther than the farthest good one */
	unsigned k_reco, threads;
};

/*
 * The (up to) k rows nearest to row p whose label equals c (same) or differs
 * from it (!same), nearest first; ties go to the lower index. Returns how many.
 */
static size_t nearest(const double *row, const int *y, size_t n, size_t p, int c, bool same,
		      size_t k, size_t *out)
{
	size_t got = 0;

	for (size_t j = 0; j < n; j++) {
		size_t at;

		if (j == p || (y[j] == c) != same)
			continue;
		if (got == k && row[j] >= row[out[k - 1]])
			continue;
		at = got < k ? got++ : k - 1;
		while (at > 0 && row[out[at - 1]] > row[j]) {
			out[at] = out[at - 1];
			at--;
		}
		out[at] = j;
	}
	return got;
}

/* nbad[] and featdist[] for point xp; returns the least nbad over weighted features. */
static unsigned feature_badness(struct learner *L, const float *xp, size_t ng, size_t nb)
{
	const struct knn_model *md = L->md;
	unsigned least = UINT32_MAX;

	for (size_t f = 0; f < md->m; f++) {
		double maxgood = 0, sum = 0;
		unsigned cnt = 0;

		for (size_t g = 0; g < ng; g++) {
			double d = fabsf(xp[f] - train_value(md, L->good[g], f));

			if (d == d && d > maxgood)
				maxgood = d;
		}
		for (size_t b = 0; b < nb; b++) {
			double d = fabsf(xp[f] - train_value(md, L->bad[b], f));

			if (d != d)
				d = 0; /* missing: no evidence either way; counts as bad */
			sum += d;
			cnt += d <= maxgood;
		}
		L->nbad[f] = cnt;
		L->featdist[f] = sum;
		if (md->w[f] > 0 && cnt < least)
			least = cnt;
	}
	return least;
}

/*
 * Features that let bad rows come as close as the good ones lose weight in
 * proportion to how many did and to how badly the point is placed overall; the
 * features with the fewest such rows gain what keeps the summed distance to the
 * bad rows unchanged.
 */
static void reweight(struct learner *L, unsigned least, size_t nb, double badness)
{
	struct knn_model *md = L->md;
	double moved = 0, total = 0;

	for (size_t f = 0; f < md->m; f++) {
		double dw;

		if (md->w[f] <= 0 || L->nbad[f] == least)
			continue;
		dw = md->w[f] * 0.01 * L->nbad[f] / (double)nb * badness;
		md->w[f] -= dw;
		moved += dw * L->featdist[f];
	}
	for (size_t f = 0; f < md->m; f++)
		if (md->w[f] > 0 && L->nbad[f] == least)
			total += L->featdist[f];
	if (total <= 0)
		return;
	for (size_t f = 0; f < md->m; f++)
		if (md->w[f] > 0 && L->nbad[f] == least)
			md->w[f] += moved / total;
}

static void learn_point(struct learner *L, size_t p)
{
	struct knn_model *md = L->md;
	float *xp = L->xp;
	size_t ng, nb, close = 0;
	double maxgood;

	for (size_t f = 0; f < md->m; f++)
		xp[f] = train_value(md, p, f);
	dist_row(md, xp, L->row, L->threads);
	ng = nearest(L->row, md->y, md->n, p, md->y[p], true, L->k_reco, L->good);
	nb = nearest(L->row, md->y, md->n, p, md->y[p], false, L->k_reco, L->bad);
	if (!ng || !nb)
		return;
	maxgood = L->row[L->good[ng - 1]];
	for (size_t b = 0; b < nb; b++)
		close += L->row[L->bad[b]] <= maxgood;
	reweight(L, feature_badness(L, xp, ng, nb), nb, 0.2 + (double)close / (double)nb);
}

/* Monitored rows (the points weights are learnt from) in a seeded random order. */
static size_t shuffled_points(const struct knn_model *md, size_t *order, __u64 *rng)
{
	size_t cnt = 0;

	for (size_t i = 0; i < md->n; i++)
		if (md->y[i] >= 0)
			order[cnt++] = i;
	for (size_t i = cnt; i > 1; i--) {
		size_t j = (size_t)(wfg_splitmix64(rng) % i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	return cnt;
}

static int learn_weights(struct knn_model *md, const struct knn_params *p, unsigned threads,
			 const struct wfa_opts *o, __u64 *rng)
{
	struct learner L = { .md = md, .k_reco = p->k_reco, .threads = threads };
	size_t *order = malloc(md->n * sizeof(*order));
	int rc = -ENOMEM;

	L.xp = malloc((md->m ? md->m : 1) * sizeof(*L.xp));
	L.row = malloc(md->n * sizeof(*L.row));
	L.good = malloc(p->k_reco * sizeof(*L.good));
	L.bad = malloc(p->k_reco * sizeof(*L.bad));
	L.featdist = malloc((md->m ? md->m : 1) * sizeof(*L.featdist));
	L.nbad = malloc((md->m ? md->m : 1) * sizeof(*L.nbad));
	if (!order || !L.xp || !L.row || !L.good || !L.bad || !L.featdist || !L.nbad)
		goto out;
	for (unsigned r = 0; r < p->rounds; r++) {
		size_t cnt = shuffled_points(md, order, rng);

		for (size_t i = 0; i < cnt; i++) {
			learn_point(&L, order[i]);
			if (o->progress)
				o->progress((size_t)r * cnt + i + 1, (size_t)p->rounds * cnt,
					    o->progress_arg);
		}
	}
	rc = 0;
out:
	free(order);
	free(L.xp);
	free(L.row);
	free(L.good);
	free(L.bad);
	free(L.featdist);
	free(L.nbad);
	return rc;
}

/* ---------------------------------------------------------------- fit, predict */

static int knn_fit(void **model, const double *X, const int *y, size_t n, const struct wfa_opts *o,
		   char *err, size_t errlen)
{
	struct knn_params p;
	struct knn_model *md;
	__u64 rng = o->seed ^ 0x6b6e6e2d77616e67ULL; /* "knn-wang" */
	unsigned threads = o->threads ? o->threads : 1;
	int rc;

	*model = NULL;
	rc = parse_params(o, &p, err, errlen);
	if (!rc)
		rc = check_data(X, y, n, o->open_world, err, errlen);
	if (rc)
		return rc;
	if (model_alloc(&md, X, y, n, p.panels))
		return wfg_err(err, errlen, ENOMEM, "knn: out of memory for %zu training rows", n);
	md->k = p.k;
	md->open = o->open_world;
	/* Initial weights uniform in [0.5, 1.5), as in the paper. */
	for (size_t f = 0; f < md->m; f++)
		md->w[f] = 0.5 + rng_unit(&rng);
	if (learn_weights(md, &p, threads > KNN_MAX_THREADS ? KNN_MAX_THREADS : threads, o, &rng)) {
		model_free(md);
		return wfg_err(err, errlen, ENOMEM, "knn: out of memory in weight learning");
	}
	for (size_t f = 0; f < md->m; f++)
		md->wfull[md->cols[f]] = md->w[f];
	*model = md;
	return 0;
}

/* Insert row j at distance d into the k best so far (nearest first, ties: lower index). */
static void keep_best(double *bd, size_t *bi, size_t *got, size_t k, double d, size_t j)
{
	size_t at;

	if (*got == k && d >= bd[k - 1])
		return;
	at = *got < k ? (*got)++ : k - 1;
	while (at > 0 && bd[at - 1] > d) {
		bd[at] = bd[at - 1];
		bi[at] = bi[at - 1];
		at--;
	}
	bd[at] = d;
	bi[at] = j;
}

/*
 * Closed world: the label most neighbours have, ties to the one whose member is
 * nearest. Open world: a monitored label only when all neighbours agree on it.
 */
static int vote(const struct knn_model *md, const size_t *bi, size_t got)
{
	int best = md->y[bi[0]];
	size_t best_cnt = 0;

	if (md->open) {
		for (size_t i = 1; i < got; i++)
			if (md->y[bi[i]] != best)
				return WFB_UNMON;
		return best;
	}
	for (size_t i = 0; i < got; i++) {
		size_t cnt = 0;

		for (size_t j = 0; j < got; j++)
			cnt += md->y[bi[j]] == md->y[bi[i]];
		if (cnt > best_cnt) {
			best_cnt = cnt;
			best = md->y[bi[i]];
		}
	}
	return best;
}

static int knn_predict(const void *model, const double *x, int *label)
{
	const struct knn_model *md = model;
	size_t k = md->k < md->n ? md->k : md->n, got = 0;
	float *xc = malloc((md->m ? md->m : 1) * sizeof(*xc));
	double *row = malloc(md->n * sizeof(*row));
	double *bd = malloc(k * sizeof(*bd));
	size_t *bi = malloc(k * sizeof(*bi));
	int rc = -ENOMEM;

	if (!xc || !row || !bd || !bi)
		goto out;
	rc = -EINVAL;
	for (size_t f = 0; f < md->m; f++) {
		xc[f] = (float)x[md->cols[f]];
		if (isinf(xc[f]))
			goto out;
	}
	dist_range(md, xc, row, 0, md->n);
	for (size_t j = 0; j < md->n; j++)
		keep_best(bd, bi, &got, k, row[j], j);
	if (!got) /* a fitted model has rows; this keeps the compiler sure of it */
		goto out;
	*label = vote(md, bi, got);
	rc = 0;
out:
	free(xc);
	free(row);
	free(bd);
	free(bi);
	return rc;
}

/*
 * The learnt weight of feature f (0..nfeatures-1) of a fitted model; 0 for a
 * feature left out because it was constant over the training set. For tests and
 * diagnostics (not in attacks.h). 0 or -EINVAL.
 */
int wfa_knn_weight(const void *model, size_t f, double *w);
int wfa_knn_weight(const void *model, size_t f, double *w)
{
	const struct knn_model *md = model;

	if (!md || f >= KF_COUNT)
		return -EINVAL;
	*w = md->wfull[f];
	return 0;
}

/*
 * The distances of a full feature vector x to every training row, as predict
 * computes them, into out[0..rows-1]; for tests (the panel layout must give
 * bit-identical distances to the row-by-row one). 0, -EINVAL or -ENOMEM.
 */
int wfa_knn_distances(const void *model, const double *x, double *out, size_t rows);
int wfa_knn_distances(const void *model, const double *x, double *out, size_t rows)
{
	const struct knn_model *md = model;
	float *xc;

	if (!md || !x || !out || rows != md->n)
		return -EINVAL;
	xc = malloc((md->m ? md->m : 1) * sizeof(*xc));
	if (!xc)
		return -ENOMEM;
	for (size_t f = 0; f < md->m; f++)
		xc[f] = (float)x[md->cols[f]];
	dist_range(md, xc, out, 0, md->n);
	free(xc);
	return 0;
}

/* k neighbours must all agree in open world: a site needs k training traces. */
static int knn_check(const struct wfa_shape *s, char *err, size_t errlen)
{
	struct wfa_opts o = { .open_world = s->open_world, .params = s->params };
	struct knn_params p;
	int rc = parse_params(&o, &p, err, errlen);

	if (!rc && s->open_world && p.k > s->min_train)
		rc = wfg_err(err, errlen, EINVAL,
			     "knn: open world classifies a trace as a monitored site only when "
			     "all k=%u neighbours are that site, but a site has only %zu training "
			     "traces; pass --params k=%zu (or fewer folds)",
			     p.k, s->min_train, s->min_train);
	return rc;
}

const struct wfa_attack wfa_knn = {
	.name = "knn",
	.cite = "Wang, Cai, Nithyanand, Johnson, Goldberg: Effective Attacks and Provable Defenses "
		"for Website Fingerprinting, USENIX Security 2014",
	.nfeatures = KF_COUNT,
	.extract = knn_extract,
	.fit = knn_fit,
	.predict = knn_predict,
	.free = knn_free,
	.check = knn_check,
};
