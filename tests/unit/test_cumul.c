// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* CUMUL: features by hand, scaling, the libsvm glue, the grid, the synthetic world. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attacks.h"
#include "dataset.h"
#include "generate.h"

#define NF 104 /* 4 totals + 100 samples */

static const struct wfa_attack *A = &wfa_cumul;

static void push(struct wfb_trace *t, int dir, uint32_t size, enum wfb_kind kind)
{
	cr_assert_eq(wfb_trace_push(t, t->n * 1000, dir, size, kind), 0);
}

/* ---------------------------------------------------------------- features */

Test(cumul_features, shape)
{
	cr_assert_eq(A->nfeatures, NF);
	cr_assert_str_eq(A->name, "cumul");
	cr_assert_not_null(A->cite);
}

/* One incoming packet of 200 bytes: the curve is the line c = a over [0, 200]. */
Test(cumul_features, single_packet)
{
	struct wfb_trace t;
	double f[NF];
	int k;

	wfb_trace_init(&t);
	push(&t, WFB_IN, 200, WFB_REAL);
	cr_assert_eq(A->extract(&t, f), 0);
	cr_assert_eq(f[0], 1); /* packets in */
	cr_assert_eq(f[1], 0); /* packets out */
	cr_assert_eq(f[2], 200);
	cr_assert_eq(f[3], 0);
	for (k = 1; k <= 100; k++)
		cr_assert_float_eq(f[3 + k], 2.0 * k, 1e-9, "sample %d: %g", k, f[3 + k]);
	wfb_trace_free(&t);
}

/*
 * out 100, in 1000, in 500, out unknown (counts 1 byte). Signed (in +):
 * a = 0, 100, 1100, 1600, 1601; c = 0, -100, 900, 1400, 1399. Samples at
 * x_k = 16.01 k: k=1 -> -16.01 (first segment, slope -1); k=10 -> x=160.1,
 * -100 + 60.1 = -39.9; k=99 -> x=1584.99, 900 + 484.99 = 1384.99; k=100 -> 1399.
 */
Test(cumul_features, hand_trace)
{
	struct wfb_trace t;
	double f[NF];

	wfb_trace_init(&t);
	push(&t, WFB_OUT, 100, WFB_REAL);
	push(&t, WFB_IN, 1000, WFB_REAL);
	push(&t, WFB_IN, 500, WFB_REAL);
	push(&t, WFB_OUT, 0, WFB_REAL);
	cr_assert_eq(A->extract(&t, f), 0);
	cr_assert_eq(f[0], 2);
	cr_assert_eq(f[1], 2);
	cr_assert_eq(f[2], 1500);
	cr_assert_eq(f[3], 101);
	cr_assert_float_eq(f[4 + 0], -16.01, 1e-9, "%g", f[4]);
	cr_assert_float_eq(f[4 + 9], -39.9, 1e-9, "%g", f[13]);
	cr_assert_float_eq(f[4 + 98], 1384.99, 1e-9, "%g", f[102]);
	cr_assert_float_eq(f[4 + 99], 1399, 1e-9, "%g", f[103]);
	wfb_trace_free(&t);
}

/* A sample exactly on a vertex takes the vertex's value: out 50, in 50 -> k=50 at a=50. */
Test(cumul_features, vertex)
{
	struct wfb_trace t;
	double f[NF];

	wfb_trace_init(&t);
	push(&t, WFB_OUT, 50, WFB_REAL);
	push(&t, WFB_IN, 50, WFB_REAL);
	cr_assert_eq(A->extract(&t, f), 0);
	cr_assert_float_eq(f[4 + 49], -50, 1e-9, "%g", f[53]);
	cr_assert_float_eq(f[4 + 24], -25, 1e-9, "%g", f[28]);
	cr_assert_float_eq(f[4 + 74], -25, 1e-9, "%g", f[78]);
	cr_assert_float_eq(f[4 + 99], 0, 1e-9, "%g", f[103]);
	wfb_trace_free(&t);
}

/* The attacker cannot tell cover from real: same features either way. */
Test(cumul_features, cover_counts)
{
	struct wfb_trace a, b;
	double fa[NF], fb[NF];
	int i;

	wfb_trace_init(&a);
	wfb_trace_init(&b);
	for (i = 0; i < 30; i++) {
		push(&a, i % 3 ? WFB_IN : WFB_OUT, 100 + 37 * (uint32_t)i, WFB_REAL);
		push(&b, i % 3 ? WFB_IN : WFB_OUT, 100 + 37 * (uint32_t)i,
		     i % 2 ? WFB_COVER : WFB_REAL);
	}
	cr_assert_eq(A->extract(&a, fa), 0);
	cr_assert_eq(A->extract(&b, fb), 0);
	cr_assert_eq(memcmp(fa, fb, sizeof(fa)), 0);
	cr_assert_eq(fa[0], 20);
	wfb_trace_free(&a);
	wfb_trace_free(&b);
}

Test(cumul_features, empty_rejected)
{
	struct wfb_trace t;
	double f[NF];

	wfb_trace_init(&t);
	cr_assert_eq(A->extract(&t, f), -EINVAL);
	push(&t, WFB_IN, 10, WFB_REAL);
	t.pkts[0].dir = 0;
	cr_assert_eq(A->extract(&t, f), -EINVAL);
	wfb_trace_free(&t);
}

/*
 * Real traces (Maybenot's test data, Tor cells): the totals add up, the last
 * sample is S_in - S_out, and neighbouring samples differ by at most the step
 * (every segment has slope +-1).
 */
Test(cumul_features, real_traces)
{
	static const char *const names[] = {
		"data-df-wflib-1.log",
		"data-df-wflib-20.log",
		"data-bigenough-standard-0000-0000-0000.log",
		"data-bigenough-standard-0003-0001-0001.log",
	};
	const char *dir = "/work/shared/data/maybenot/traces";
	size_t k, i;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct wfb_trace t;
		double f[NF], bytes = 0, step;
		char path[256], err[256] = "";

		snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
		if (access(path, R_OK))
			cr_skip_test("%s absent", path);
		wfb_trace_init(&t);
		cr_assert_eq(wfb_trace_load(path, WFB_FMT_MAYBENOT, NULL, &t, err, sizeof(err)), 0,
			     "%s", err);
		for (i = 0; i < t.n; i++)
			bytes += t.pkts[i].size ? t.pkts[i].size : 1;
		cr_assert_eq(A->extract(&t, f), 0);
		cr_assert_eq(f[0] + f[1], (double)t.n, "%s", names[k]);
		cr_assert_gt(f[0], 0);
		cr_assert_gt(f[1], 0);
		cr_assert_eq(f[2] + f[3], bytes);
		cr_assert_float_eq(f[103], f[2] - f[3], 1e-6, "%s", names[k]);
		step = bytes / 100;
		cr_assert_leq(fabs(f[4]), step + 1e-6);
		for (i = 5; i < NF; i++)
			cr_assert_leq(fabs(f[i] - f[i - 1]), step + 1e-6, "%s sample %zu", names[k],
				      i - 4);
		wfb_trace_free(&t);
	}
}

/* ---------------------------------------------------------------- toy data */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double uni(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static double gauss(uint64_t *s)
{
	double u = uni(s), v = uni(s);

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

/*
 * Two Gaussian blobs in NF dimensions: class 0 centred at 0, class 1 at +d in
 * the first 8 dimensions (unit variance everywhere); rows alternate classes.
 */
static void blobs(double *X, int *y, size_t n, double d, uint64_t seed)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		y[i] = (int)(i % 2);
		for (j = 0; j < NF; j++)
			X[i * NF + j] = gauss(&seed) + (y[i] && j < 8 ? d : 0);
	}
}

static struct wfa_opts opts(const char *params, unsigned threads)
{
	return (struct wfa_opts){ .seed = 7, .threads = threads, .params = params };
}

/* Fraction of rows predicted right. */
static double accuracy(const void *model, const double *X, const int *y, size_t n)
{
	size_t i, ok = 0;

	for (i = 0; i < n; i++) {
		int label = -99;

		cr_assert_eq(A->predict(model, X + i * NF, &label), 0);
		ok += label == y[i];
	}
	return (double)ok / (double)n;
}

static double fit_and_score(const double *Xtr, const int *ytr, size_t ntr, const double *Xte,
			    const int *yte, size_t nte, const struct wfa_opts *o)
{
	char err[256] = "";
	void *m = NULL;
	double acc;

	cr_assert_eq(A->fit(&m, Xtr, ytr, ntr, o, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(m);
	acc = accuracy(m, Xte, yte, nte);
	A->free(m);
	return acc;
}

Test(cumul_svm, separable_blobs)
{
	enum { N = 80 };
	static double Xtr[N * NF], Xte[N * NF];
	int ytr[N], yte[N];
	struct wfa_opts o = opts("c=2048,gamma=0.125", 1);

	blobs(Xtr, ytr, N, 6, 1);
	blobs(Xte, yte, N, 6, 2);
	cr_assert_eq(fit_and_score(Xtr, ytr, N, Xte, yte, N, &o), 1.0);
}

/*
 * Scaling: an affine change of any feature (a scale of 1e6 and an offset) in
 * training and test alike changes nothing, because each feature is mapped to
 * [-1,1] from the training range; a constant feature is harmless. Without
 * scaling, the 1e6-scaled noise dimension would swamp the RBF distance.
 */
Test(cumul_svm, scaling_invariance)
{
	enum { N = 60 };
	static double Xtr[N * NF], Xte[N * NF], Xtr2[N * NF], Xte2[N * NF];
	int ytr[N], yte[N];
	struct wfa_opts o = opts("c=2048,gamma=0.125", 1);
	char err[256] = "";
	void *m1, *m2;
	size_t i;

	blobs(Xtr, ytr, N, 1.5, 3);
	blobs(Xte, yte, N, 1.5, 4);
	memcpy(Xtr2, Xtr, sizeof(Xtr));
	memcpy(Xte2, Xte, sizeof(Xte));
	for (i = 0; i < N; i++) {
		Xtr2[i * NF + 50] = 1e6 * Xtr[i * NF + 50] + 3e7;
		Xte2[i * NF + 50] = 1e6 * Xte[i * NF + 50] + 3e7;
		Xtr2[i * NF + 2] = -40 * Xtr[i * NF + 2] - 5;
		Xte2[i * NF + 2] = -40 * Xte[i * NF + 2] - 5;
		Xtr[i * NF + 90] = Xtr2[i * NF + 90] = 42; /* constant in training */
		Xte[i * NF + 90] = Xte2[i * NF + 90] = 42;
	}
	cr_assert_eq(A->fit(&m1, Xtr, ytr, N, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(A->fit(&m2, Xtr2, ytr, N, &o, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < N; i++) {
		int l1 = -9, l2 = -9;

		cr_assert_eq(A->predict(m1, Xte + i * NF, &l1), 0);
		cr_assert_eq(A->predict(m2, Xte2 + i * NF, &l2), 0);
		cr_assert_eq(l1, l2, "row %zu: %d vs %d", i, l1, l2);
	}
	/* the blobs overlap (d = 1.5): not every prediction is right, most are */
	cr_assert_gt(accuracy(m1, Xte, yte, N), 0.7);
	A->free(m1);
	A->free(m2);
}

/* Labels are whatever ints the caller uses, WFB_UNMON included (open world). */
Test(cumul_svm, labels_preserved)
{
	enum { N = 60 };
	static double X[N * NF];
	int y[N], yl[N];
	struct wfa_opts o = opts("c=2048,gamma=0.125", 1);
	size_t i;

	o.open_world = true;
	blobs(X, y, N, 8, 5);
	for (i = 0; i < N; i++)
		yl[i] = y[i] ? 37 : WFB_UNMON;
	cr_assert_eq(fit_and_score(X, yl, N, X, yl, N, &o), 1.0);
}

/* ---------------------------------------------------------------- synthetic world */

struct world {
	double *Xtr, *Xte;
	int *ytr, *yte;
	size_t ntr, nte;
};

/* One trace's features into row. */
static void features_of(const struct wfb_gen_opts *g, int site, unsigned inst, double *row)
{
	struct wfb_trace t;

	wfb_trace_init(&t);
	cr_assert_eq(wfb_gen_trace(g, site, inst, &t), 0);
	cr_assert_eq(A->extract(&t, row), 0);
	wfb_trace_free(&t);
}

/*
 * sites x inst monitored traces, even instances for training and odd for
 * testing; unmon unmonitored pages split the same way.
 */
static void make_world(struct world *w, unsigned sites, unsigned inst, unsigned unmon)
{
	struct wfb_gen_opts g = {
		.sites = sites, .instances = inst, .unmonitored = unmon, .seed = 2016
	};
	size_t cap = (size_t)sites * inst + unmon;
	unsigned s, i;

	w->Xtr = malloc(cap * NF * sizeof(double));
	w->Xte = malloc(cap * NF * sizeof(double));
	w->ytr = malloc(cap * sizeof(int));
	w->yte = malloc(cap * sizeof(int));
	cr_assert(w->Xtr && w->Xte && w->ytr && w->yte);
	w->ntr = w->nte = 0;
	for (s = 0; s < sites; s++)
		for (i = 0; i < inst; i++) {
			size_t *n = i % 2 ? &w->nte : &w->ntr;

			features_of(&g, (int)s, i, (i % 2 ? w->Xte : w->Xtr) + *n * NF);
			(i % 2 ? w->yte : w->ytr)[(*n)++] = (int)s;
		}
	for (i = 0; i < unmon; i++) {
		size_t *n = i % 2 ? &w->nte : &w->ntr;

		features_of(&g, WFB_UNMON, i, (i % 2 ? w->Xte : w->Xtr) + *n * NF);
		(i % 2 ? w->yte : w->ytr)[(*n)++] = WFB_UNMON;
	}
}

static void free_world(struct world *w)
{
	free(w->Xtr);
	free(w->Xte);
	free(w->ytr);
	free(w->yte);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * The figures in docs/attacks/cumul.md, off by default (slow):
 *   WFB_CUMUL_MEASURE=50x50 [WFB_CUMUL_PARAMS=grid_step=1] [WFB_CUMUL_THREADS=2] \
 *	build/tests/unit/test_cumul --filter 'cumul_world/measure'
 */
Test(cumul_world, measure, .timeout = 3600)
{
	const char *e = getenv("WFB_CUMUL_MEASURE");
	unsigned sites = 20, inst = 20, thr = 2;
	const char *params = getenv("WFB_CUMUL_PARAMS");
	const char *te = getenv("WFB_CUMUL_THREADS");
	struct world w;
	struct wfa_opts o;
	double t0, t1, acc;

	if (!e)
		cr_skip_test("set WFB_CUMUL_MEASURE=SITESxINSTANCES to measure");
	cr_assert_eq(sscanf(e, "%ux%u", &sites, &inst), 2);
	if (te)
		thr = (unsigned)atoi(te);
	make_world(&w, sites, inst, 0);
	o = opts(params, thr);
	t0 = now();
	acc = fit_and_score(w.Xtr, w.ytr, w.ntr, w.Xte, w.yte, w.nte, &o);
	t1 = now();
	cr_log_warn("cumul %ux%u params=%s: accuracy %.4f, fit+predict %.2f s (%u threads)", sites,
		    inst, params ? params : "(grid)", acc, t1 - t0, thr);
	/* the target for 50 x 50 */
	cr_assert_geq(acc, 0.85, "accuracy %g", acc);
	free_world(&w);
}

/* ---------------------------------------------------------------- grid search */

/*
 * Blobs in NF dimensions, every one noisy: a large gamma makes the RBF kernel
 * of any two distinct rows ~0, so held-out rows are guessed, while a small one
 * generalises. The grid must land with the good pairs, not the bad ones.
 */
Test(cumul_grid, picks_a_good_pair)
{
	enum { N = 100 };
	static double Xtr[N * NF], Xte[N * NF];
	int ytr[N], yte[N];
	double best = 0, worst = 1, acc;
	struct wfa_opts o = opts("grid_folds=5", 2);
	int lc, lg;

	blobs(Xtr, ytr, N, 1.2, 11);
	blobs(Xte, yte, N, 1.2, 12);
	for (lc = 11; lc <= 17; lc += 2)
		for (lg = -3; lg <= 3; lg += 2) {
			char p[64];
			struct wfa_opts f;

			snprintf(p, sizeof(p), "c=%g,gamma=%g", exp2(lc), exp2(lg));
			f = opts(p, 1);
			acc = fit_and_score(Xtr, ytr, N, Xte, yte, N, &f);
			best = fmax(best, acc);
			worst = fmin(worst, acc);
		}
	/* the grid has something to choose between */
	cr_assert_gt(best - worst, 0.2, "best %g worst %g", best, worst);
	acc = fit_and_score(Xtr, ytr, N, Xte, yte, N, &o);
	cr_assert_geq(acc, best - 0.05, "grid %g, best fixed pair %g", acc, best);
}

/* Fixing C searches gamma alone (step 3: 2^-3, 2^0, 2^3); the result is the best of those. */
Test(cumul_grid, one_axis)
{
	enum { N = 100 };
	static double Xtr[N * NF], Xte[N * NF];
	int ytr[N], yte[N];
	struct wfa_opts o = opts("c=2048,grid_folds=4,grid_step=3", 1);
	double best = 0, worst = 1, acc;
	int lg;

	blobs(Xtr, ytr, N, 1.2, 11);
	blobs(Xte, yte, N, 1.2, 12);
	for (lg = -3; lg <= 3; lg += 3) {
		char p[64];
		struct wfa_opts f;

		snprintf(p, sizeof(p), "c=2048,gamma=%g", exp2(lg));
		f = opts(p, 1);
		acc = fit_and_score(Xtr, ytr, N, Xte, yte, N, &f);
		best = fmax(best, acc);
		worst = fmin(worst, acc);
	}
	cr_assert_gt(best - worst, 0.1, "best %g worst %g", best, worst);
	acc = fit_and_score(Xtr, ytr, N, Xte, yte, N, &o);
	cr_assert_geq(acc, best - 0.05, "searched gamma %g, best fixed %g", acc, best);
}

Test(cumul_grid, bad_params)
{
	static const char *const bad[] = {
		"C=1",
		"c=0",
		"gamma=-1",
		"c=abc",
		"grid_folds=1",
		"grid_folds=2.5",
		"grid_folds=101",
		"grid_step=0",
		"grid_step=7",
		"kmat_mb=-1",
		"kmat_mb=0.5",
		"k=3",
		"c",
	};
	enum { N = 20 };
	static double X[N * NF];
	int y[N];
	size_t i;

	blobs(X, y, N, 3, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wfa_opts o = opts(bad[i], 1);
		char err[256] = "";
		void *m = (void *)1;

		cr_assert_eq(A->fit(&m, X, y, N, &o, err, sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_assert_neq(err[0], 0, "%s: no message", bad[i]);
		cr_assert_null(m, "%s", bad[i]);
	}
}

Test(cumul_grid, bad_input)
{
	enum { N = 20 };
	static double X[N * NF];
	int y[N], one[N] = { 0 };
	struct wfa_opts o = opts(NULL, 1);
	char err[256];
	void *m;

	blobs(X, y, N, 3, 1);
	err[0] = 0;
	cr_assert_eq(A->fit(&m, X, one, N, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "single class"), "%s", err);
	err[0] = 0;
	cr_assert_eq(A->fit(&m, X, y, 1, &o, err, sizeof(err)), -EINVAL);
	cr_assert_neq(err[0], 0);
	/* more folds than rows (4 rows, the default 5 inner folds) */
	err[0] = 0;
	cr_assert_eq(A->fit(&m, X, y, 4, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "grid_folds"), "%s", err);
	/* unmonitored label in a closed world; labels below WFB_UNMON */
	y[3] = WFB_UNMON;
	err[0] = 0;
	cr_assert_eq(A->fit(&m, X, y, N, &o, err, sizeof(err)), -EINVAL);
	cr_assert_neq(err[0], 0);
	y[3] = -5;
	o.open_world = true;
	err[0] = 0;
	cr_assert_eq(A->fit(&m, X, y, N, &o, err, sizeof(err)), -EINVAL);
	cr_assert_neq(err[0], 0);
	y[3] = 1;
	X[7] = NAN;
	err[0] = 0;
	cr_assert_eq(A->fit(&m, X, y, N, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "non-finite"), "%s", err);
}

Test(cumul_grid, predict_rejects_nan)
{
	enum { N = 20 };
	static double X[N * NF];
	int y[N], label = 5;
	struct wfa_opts o = opts("c=2048,gamma=0.125", 1);
	char err[256] = "";
	void *m;

	blobs(X, y, N, 3, 1);
	cr_assert_eq(A->fit(&m, X, y, N, &o, err, sizeof(err)), 0, "%s", err);
	X[4] = INFINITY;
	cr_assert_eq(A->predict(m, X, &label), -EINVAL);
	cr_assert_eq(label, 5);
	A->free(m);
}

/* The 20 x 20 closed world, half for training: the default grid. */
Test(cumul_world, closed_20x20)
{
	struct world w;
	struct wfa_opts o = opts(NULL, 2);
	double acc;

	make_world(&w, 20, 20, 0);
	acc = fit_and_score(w.Xtr, w.ytr, w.ntr, w.Xte, w.yte, w.nte, &o);
	/* measured 0.95 */
	cr_assert_geq(acc, 0.88, "accuracy %g", acc);
	free_world(&w);
}

/* Open world: the unmonitored pages are one more class. */
Test(cumul_world, open_20x20)
{
	struct world w;
	struct wfa_opts o = opts(NULL, 2);
	char err[256] = "";
	size_t i, mon = 0, mon_ok = 0, un = 0, un_ok = 0;
	void *m;

	make_world(&w, 20, 20, 400);
	o.open_world = true;
	cr_assert_eq(A->fit(&m, w.Xtr, w.ytr, w.ntr, &o, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < w.nte; i++) {
		int label;

		cr_assert_eq(A->predict(m, w.Xte + i * NF, &label), 0);
		if (w.yte[i] == WFB_UNMON) {
			un++;
			un_ok += label == WFB_UNMON;
		} else {
			mon++;
			mon_ok += label == w.yte[i];
		}
	}
	cr_assert_eq(mon, 200);
	cr_assert_eq(un, 200);
	/* measured 0.865 and 0.770 */
	cr_assert_geq((double)mon_ok / mon, 0.75, "TPR %zu/%zu", mon_ok, mon);
	cr_assert_geq((double)un_ok / un, 0.65, "TNR %zu/%zu", un_ok, un);
	A->free(m);
	free_world(&w);
}

/* Same seed, 1 or 2 threads: the same model, so the same predictions. */
Test(cumul_world, deterministic)
{
	struct world w;
	struct wfa_opts o1 = opts("grid_folds=5", 1), o2 = opts("grid_folds=5", 2);
	char err[256] = "";
	void *m1, *m2;
	size_t i;

	make_world(&w, 10, 12, 0);
	cr_assert_eq(A->fit(&m1, w.Xtr, w.ytr, w.ntr, &o1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(A->fit(&m2, w.Xtr, w.ytr, w.ntr, &o2, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < w.nte; i++) {
		int l1, l2;

		cr_assert_eq(A->predict(m1, w.Xte + i * NF, &l1), 0);
		cr_assert_eq(A->predict(m2, w.Xte + i * NF, &l2), 0);
		cr_assert_eq(l1, l2, "row %zu", i);
	}
	A->free(m1);
	A->free(m2);
	free_world(&w);
}

/*
 * The grid's kernel cache holds the very kernel values libsvm's RBF training
 * computes (the same sums in the same order), so with and without it (kmat_mb=0)
 * the grid scores the pairs alike and picks the same one: the same predictions,
 * on 1 and 2 threads.
 */
Test(cumul_world, kernel_cache_same_model)
{
	struct world w;
	struct wfa_opts nocache = opts("kmat_mb=0", 1), c1 = opts(NULL, 1), c2 = opts(NULL, 2);
	char err[256] = "";
	void *m0, *m1, *m2;
	size_t i;

	make_world(&w, 10, 12, 0);
	cr_assert_eq(A->fit(&m0, w.Xtr, w.ytr, w.ntr, &nocache, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(A->fit(&m1, w.Xtr, w.ytr, w.ntr, &c1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(A->fit(&m2, w.Xtr, w.ytr, w.ntr, &c2, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < w.nte; i++) {
		int l0, l1, l2;

		cr_assert_eq(A->predict(m0, w.Xte + i * NF, &l0), 0);
		cr_assert_eq(A->predict(m1, w.Xte + i * NF, &l1), 0);
		cr_assert_eq(A->predict(m2, w.Xte + i * NF, &l2), 0);
		cr_assert_eq(l0, l1, "row %zu", i);
		cr_assert_eq(l1, l2, "row %zu", i);
	}
	A->free(m0);
	A->free(m1);
	A->free(m2);
	free_world(&w);
}
