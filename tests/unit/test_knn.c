// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The k-NN attack (bench/attacks/knn.c, docs/attacks/knn.md): features on
 * hand-made traces, missing values in the distance, weight learning on toy
 * data, accuracy on the synthetic world, determinism, parameter checks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks.h"
#include "dataset.h"
#include "generate.h"

/* Defined in knn.c for tests and diagnostics; not in attacks.h. */
int wfa_knn_weight(const void *model, size_t f, double *w);
int wfa_knn_distances(const void *model, const double *x, double *out, size_t rows);

/* The feature layout of docs/attacks/knn.md. */
enum {
	F_NPKT = 0,
	F_NOUT = 1,
	F_NIN = 2,
	F_BYTES_OUT = 3,
	F_BYTES_IN = 4,
	F_TIME = 5,
	F_SIZE_OUT = 6,		       /* + size - 1 */
	F_SIZE_IN = F_SIZE_OUT + 1500, /* + size - 1 */
	F_OPOS = F_SIZE_IN + 1500,
	F_OGAP = F_OPOS + 300,
	F_CONC = F_OGAP + 300,
	F_BURSTS = F_CONC + 100,
	F_BURST_MAX,
	F_BURST_MEAN,
	F_BURST_GT5,
	F_BURST_GT10,
	F_BURST_GT15,
	F_BURST_FIRST,
	F_FIRST = F_BURST_FIRST + 5,
	F_COUNT = F_FIRST + 20,
};

#define MS 1000000ULL

static double *feat_new(void)
{
	double *f = malloc(wfa_knn.nfeatures * sizeof(*f));

	cr_assert_not_null(f);
	return f;
}

static void push(struct wfb_trace *t, uint64_t time_ns, int dir, uint32_t size)
{
	cr_assert_eq(wfb_trace_push(t, time_ns, dir, size, WFB_REAL), 0);
}

Test(knn, layout)
{
	cr_assert_eq(wfa_knn.nfeatures, (size_t)F_COUNT);
	cr_assert_str_eq(wfa_knn.name, "knn");
}

/*
 * out 100 | in 1400 | in 1400 | out 200 | in 500 | out 100 | in 1400 at 1.5 s.
 * Bursts: [out] ended by two ins (length 1), then [out in out] (length 2).
 */
static void small_trace(struct wfb_trace *t, bool sizes)
{
	static const int dir[] = { 1, -1, -1, 1, -1, 1, -1 };
	static const uint32_t size[] = { 100, 1400, 1400, 200, 500, 100, 1400 };
	static const uint64_t time[] = { 0, 1 * MS, 2 * MS, 3 * MS, 4 * MS, 5 * MS, 1500 * MS };

	wfb_trace_init(t);
	for (size_t i = 0; i < 7; i++)
		push(t, time[i], dir[i], sizes ? size[i] : 0);
}

Test(knn, features_small_trace)
{
	static const double first[] = { 100, -1400, -1400, 200, -500, 100, -1400 };
	struct wfb_trace t;
	double *f = feat_new();

	small_trace(&t, true);
	cr_assert_eq(wfa_knn.extract(&t, f), 0);
	cr_assert_eq(f[F_NPKT], 7);
	cr_assert_eq(f[F_NOUT], 3);
	cr_assert_eq(f[F_NIN], 4);
	cr_assert_eq(f[F_BYTES_OUT], 400);
	cr_assert_eq(f[F_BYTES_IN], 4700);
	cr_assert_float_eq(f[F_TIME], 1.5, 1e-12);
	/* unique sizes, per direction */
	cr_assert_eq(f[F_SIZE_OUT + 99], 1);
	cr_assert_eq(f[F_SIZE_OUT + 199], 1);
	cr_assert_eq(f[F_SIZE_OUT + 499], 0, "500 was only incoming");
	cr_assert_eq(f[F_SIZE_IN + 499], 1);
	cr_assert_eq(f[F_SIZE_IN + 1399], 1);
	cr_assert_eq(f[F_SIZE_IN + 99], 0, "100 was only outgoing");
	/* ordering: positions 0, 3, 5; incoming packets just before: 0, 2, 1 */
	cr_assert_eq(f[F_OPOS + 0], 0);
	cr_assert_eq(f[F_OPOS + 1], 3);
	cr_assert_eq(f[F_OPOS + 2], 5);
	cr_assert(isnan(f[F_OPOS + 3]) && isnan(f[F_OPOS + 299]));
	cr_assert_eq(f[F_OGAP + 0], 0);
	cr_assert_eq(f[F_OGAP + 1], 2);
	cr_assert_eq(f[F_OGAP + 2], 1);
	cr_assert(isnan(f[F_OGAP + 3]));
	/* concentration: all 3 outgoing packets in the first span */
	cr_assert_eq(f[F_CONC + 0], 3);
	cr_assert_eq(f[F_CONC + 1], 0);
	cr_assert_eq(f[F_CONC + 99], 0);
	/* bursts */
	cr_assert_eq(f[F_BURSTS], 2);
	cr_assert_eq(f[F_BURST_MAX], 2);
	cr_assert_float_eq(f[F_BURST_MEAN], 1.5, 1e-12);
	cr_assert_eq(f[F_BURST_GT5], 0);
	cr_assert_eq(f[F_BURST_FIRST + 0], 1);
	cr_assert_eq(f[F_BURST_FIRST + 1], 2);
	cr_assert(isnan(f[F_BURST_FIRST + 2]));
	/* first 20 directed sizes */
	for (size_t i = 0; i < 7; i++)
		cr_assert_eq(f[F_FIRST + i], first[i], "packet %zu", i);
	cr_assert(isnan(f[F_FIRST + 7]) && isnan(f[F_FIRST + 19]));
	wfb_trace_free(&t);
	free(f);
}

Test(knn, features_without_sizes)
{
	struct wfb_trace t;
	double *f = feat_new();

	small_trace(&t, false);
	cr_assert_eq(wfa_knn.extract(&t, f), 0);
	cr_assert_eq(f[F_BYTES_OUT], 3, "unknown sizes count 1 each");
	cr_assert_eq(f[F_BYTES_IN], 4);
	for (size_t s = 0; s < 3000; s++)
		cr_assert(isnan(f[F_SIZE_OUT + s]), "size feature %zu must be missing", s);
	cr_assert_eq(f[F_FIRST + 0], 1);
	cr_assert_eq(f[F_FIRST + 1], -1);
	cr_assert_eq(f[F_OPOS + 1], 3, "ordering does not need sizes");
	cr_assert_eq(f[F_BURST_MAX], 2);
	wfb_trace_free(&t);
	free(f);
}

/*
 * 3100 packets: every 10th outgoing (size 2000: counted as 1500), the rest
 * incoming. 310 outgoing packets, each its own burst of 1.
 */
Test(knn, features_long_trace)
{
	struct wfb_trace t;
	double *f = feat_new();

	wfb_trace_init(&t);
	for (uint64_t i = 0; i < 3100; i++)
		push(&t, i * MS, i % 10 ? WFB_IN : WFB_OUT, i % 10 ? 1400 : 2000);
	cr_assert_eq(wfa_knn.extract(&t, f), 0);
	cr_assert_eq(f[F_NOUT], 310);
	cr_assert_eq(f[F_SIZE_OUT + 1499], 1, "sizes above 1500 count as 1500");
	cr_assert_eq(f[F_OPOS + 299], 2990, "the 300th outgoing packet");
	cr_assert_eq(f[F_OGAP + 0], 0);
	cr_assert_eq(f[F_OGAP + 299], 9);
	for (size_t s = 0; s < 100; s++)
		cr_assert_eq(f[F_CONC + s], 3, "span %zu", s);
	cr_assert_eq(f[F_BURSTS], 310);
	cr_assert_eq(f[F_BURST_MAX], 1);
	cr_assert_eq(f[F_BURST_FIRST + 4], 1);
	cr_assert_float_eq(f[F_TIME], 3.099, 1e-9);
	wfb_trace_free(&t);
	free(f);
}

Test(knn, features_long_bursts)
{
	struct wfb_trace t;
	double *f = feat_new();

	/* 12 out, one in (does not end it), 6 out, two ins (end: 18); 3 out (end: 3) */
	wfb_trace_init(&t);
	for (int i = 0; i < 12; i++)
		push(&t, 0, WFB_OUT, 100);
	push(&t, 0, WFB_IN, 100);
	for (int i = 0; i < 6; i++)
		push(&t, 0, WFB_OUT, 100);
	push(&t, 0, WFB_IN, 100);
	push(&t, 0, WFB_IN, 100);
	for (int i = 0; i < 3; i++)
		push(&t, 0, WFB_OUT, 100);
	cr_assert_eq(wfa_knn.extract(&t, f), 0);
	cr_assert_eq(f[F_BURSTS], 2);
	cr_assert_eq(f[F_BURST_FIRST + 0], 18);
	cr_assert_eq(f[F_BURST_FIRST + 1], 3);
	cr_assert_eq(f[F_BURST_MAX], 18);
	cr_assert_eq(f[F_BURST_GT5], 1);
	cr_assert_eq(f[F_BURST_GT10], 1);
	cr_assert_eq(f[F_BURST_GT15], 1);
	cr_assert_eq(f[F_OGAP + 12], 1);
	cr_assert_eq(f[F_OGAP + 18], 2);
	wfb_trace_free(&t);
	free(f);
}

Test(knn, empty_trace_rejected)
{
	struct wfb_trace t;
	double *f = feat_new();

	wfb_trace_init(&t);
	cr_assert_eq(wfa_knn.extract(&t, f), -EINVAL);
	free(f);
}

/* ---------------------------------------------------------------- classifier */

static void *fit_ok(const double *X, const int *y, size_t n, const struct wfa_opts *o)
{
	char err[256] = "";
	void *m = NULL;
	int rc = wfa_knn.fit(&m, X, y, n, o, err, sizeof(err));

	cr_assert_eq(rc, 0, "fit: %d %s", rc, err);
	cr_assert_not_null(m);
	return m;
}

static int predict(const void *m, const double *x)
{
	int label = -99;

	cr_assert_eq(wfa_knn.predict(m, x, &label), 0);
	return label;
}

static double *zero_rows(size_t n)
{
	double *X = calloc(n * F_COUNT, sizeof(*X));

	cr_assert_not_null(X);
	return X;
}

/*
 * Row A (label 0) is missing feature 2, row B (label 1) has it equal to the
 * query's; the query is missing feature 3, where A is far off. On the features
 * both have, the query is nearer A. Skipping missing values must give A; any
 * stand-in value for them (0, -1, a large number) gives B on one of the two.
 */
Test(knn, missing_values_skipped)
{
	struct wfa_opts o = { .seed = 1, .params = "k=1,rounds=0" };
	double *X = zero_rows(2), *q = zero_rows(1);
	int y[2] = { 0, 1 };
	void *m;

	X[0 * F_COUNT + 1] = 4, X[1 * F_COUNT + 1] = 0, q[1] = 5;
	X[0 * F_COUNT + 2] = NAN, X[1 * F_COUNT + 2] = 1000, q[2] = 1000;
	X[0 * F_COUNT + 3] = 1000, X[1 * F_COUNT + 3] = 0, q[3] = NAN;
	m = fit_ok(X, y, 2, &o);
	cr_assert_eq(predict(m, q), 0);
	/* the same query without its own missing value: feature 3 now counts */
	q[3] = 0;
	cr_assert_eq(predict(m, q), 1);
	wfa_knn.free(m);
	free(X);
	free(q);
}

/* A deterministic uniform [0, 1) for toy data. */
static double toy_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*s >> 11) * 0x1p-53;
}

#define TOY_CLASSES 4
#define TOY_PER	    20
#define TOY_N	    (TOY_CLASSES * TOY_PER)

#define TOY_NOISE 3

/*
 * Feature 0: class + small noise (informative); features 1..3: uniform noise
 * over a much wider range, which swamps feature 0 under equal weights.
 */
static void toy_data(double *X, int *y, uint64_t seed)
{
	for (size_t i = 0; i < TOY_N; i++) {
		y[i] = (int)(i % TOY_CLASSES);
		X[i * F_COUNT + 0] = y[i] + 0.1 * toy_rand(&seed);
		for (size_t f = 1; f <= TOY_NOISE; f++)
			X[i * F_COUNT + f] = 20 * toy_rand(&seed);
	}
}

static double toy_accuracy(const void *m, const double *X, const int *y)
{
	size_t ok = 0;

	for (size_t i = 0; i < TOY_N; i++)
		ok += predict(m, X + i * F_COUNT) == y[i];
	return (double)ok / TOY_N;
}

Test(knn, weight_learning_prefers_informative_feature)
{
	struct wfa_opts o0 = { .seed = 7, .params = "rounds=0" };
	struct wfa_opts o = { .seed = 7, .params = "rounds=20" };
	double *X = zero_rows(TOY_N), *T = zero_rows(TOY_N);
	int y[TOY_N], yt[TOY_N];
	double wi0, wn0, wi, wn, acc0, acc;
	void *m0, *m;

	toy_data(X, y, 1);
	toy_data(T, yt, 2);
	m0 = fit_ok(X, y, TOY_N, &o0);
	m = fit_ok(X, y, TOY_N, &o);
	cr_assert_eq(wfa_knn_weight(m0, 0, &wi0), 0);
	cr_assert_eq(wfa_knn_weight(m0, 1, &wn0), 0);
	cr_assert_eq(wfa_knn_weight(m, 0, &wi), 0);
	cr_assert_eq(wfa_knn_weight(m, 1, &wn), 0);
	acc0 = toy_accuracy(m0, T, yt);
	acc = toy_accuracy(m, T, yt);
	cr_log_info("toy: weights %.3f/%.3f -> %.3f/%.3f, accuracy %.2f -> %.2f", wi0, wn0, wi, wn,
		    acc0, acc);
	cr_assert_gt(wi, wi0, "the informative feature gains weight");
	cr_assert_lt(wn, wn0, "the noise feature loses weight");
	cr_assert_gt(wi, 10 * wn);
	cr_assert_geq(acc, 0.95);
	cr_assert_gt(acc, acc0 + 0.2, "learning must pay on this data");
	wfa_knn.free(m0);
	wfa_knn.free(m);
	free(X);
	free(T);
}

/* ---------------------------------------------------------------- synthetic world */

struct world {
	size_t n;
	double *X;
	int *y;
};

static void world_add(struct world *w, const struct wfb_gen_opts *g, int site, unsigned inst)
{
	struct wfb_trace t;

	wfb_trace_init(&t);
	cr_assert_eq(wfb_gen_trace(g, site, inst, &t), 0);
	cr_assert_eq(wfa_knn.extract(&t, w->X + w->n * F_COUNT), 0);
	w->y[w->n++] = site;
	wfb_trace_free(&t);
}

/* Instances [from, to) of every site, then unmonitored pages [ufrom, uto). */
static void world_make(struct world *w, unsigned sites, unsigned from, unsigned to, unsigned ufrom,
		       unsigned uto)
{
	struct wfb_gen_opts g = { .sites = sites, .instances = to, .unmonitored = uto, .seed = 42 };
	size_t cap = (size_t)sites * (to - from) + (uto - ufrom);

	w->n = 0;
	w->X = malloc(cap * F_COUNT * sizeof(*w->X));
	w->y = malloc(cap * sizeof(*w->y));
	cr_assert(w->X && w->y);
	for (unsigned s = 0; s < sites; s++)
		for (unsigned i = from; i < to; i++)
			world_add(w, &g, (int)s, i);
	for (unsigned u = ufrom; u < uto; u++)
		world_add(w, &g, WFB_UNMON, u);
}

static void world_free(struct world *w)
{
	free(w->X);
	free(w->y);
}

static void predict_all(const void *m, const struct world *w, int *out)
{
	for (size_t i = 0; i < w->n; i++)
		out[i] = predict(m, w->X + i * F_COUNT);
}

Test(knn, closed_world_accuracy, .timeout = 300)
{
	struct wfa_opts o = { .seed = 3, .threads = 2 };
	struct world tr, te;
	size_t ok = 0;
	int *pred;
	void *m;

	world_make(&tr, 20, 0, 10, 0, 0);
	world_make(&te, 20, 10, 20, 0, 0);
	m = fit_ok(tr.X, tr.y, tr.n, &o);
	pred = malloc(te.n * sizeof(*pred));
	predict_all(m, &te, pred);
	for (size_t i = 0; i < te.n; i++)
		ok += pred[i] == te.y[i];
	cr_log_info("closed world 20x(10+10): accuracy %.3f", (double)ok / te.n);
	cr_assert_geq((double)ok / te.n, 0.80);
	free(pred);
	wfa_knn.free(m);
	world_free(&tr);
	world_free(&te);
}

Test(knn, open_world, .timeout = 300)
{
	struct wfa_opts o = { .seed = 3, .threads = 2, .open_world = true };
	struct world tr, te;
	size_t unmon = 0, unmon_ok = 0, mon = 0, mon_ok = 0;
	int *pred;
	void *m;

	world_make(&tr, 20, 0, 10, 0, 200);
	world_make(&te, 20, 10, 20, 200, 400);
	m = fit_ok(tr.X, tr.y, tr.n, &o);
	pred = malloc(te.n * sizeof(*pred));
	predict_all(m, &te, pred);
	for (size_t i = 0; i < te.n; i++) {
		if (te.y[i] == WFB_UNMON) {
			unmon++;
			unmon_ok += pred[i] == WFB_UNMON;
		} else {
			mon++;
			mon_ok += pred[i] == te.y[i];
		}
	}
	cr_log_info("open world: TPR %.3f, unmonitored labelled unmonitored %.3f",
		    (double)mon_ok / mon, (double)unmon_ok / unmon);
	cr_assert_geq((double)unmon_ok / unmon, 0.9, "unmonitored pages must mostly stay so");
	cr_assert_geq((double)mon_ok / mon, 0.4, "and monitored ones still be found");
	free(pred);
	wfa_knn.free(m);
	world_free(&tr);
	world_free(&te);
}

Test(knn, deterministic_across_threads, .timeout = 300)
{
	struct wfa_opts o1 = { .seed = 11, .threads = 1, .params = "rounds=2" };
	struct wfa_opts o2 = { .seed = 11, .threads = 2, .params = "rounds=2" };
	struct world tr, te;
	int *p1, *p2;
	void *m1, *m2;

	world_make(&tr, 10, 0, 8, 0, 0);
	world_make(&te, 10, 8, 12, 0, 0);
	m1 = fit_ok(tr.X, tr.y, tr.n, &o1);
	m2 = fit_ok(tr.X, tr.y, tr.n, &o2);
	for (size_t f = 0; f < F_COUNT; f++) {
		double w1, w2;

		cr_assert_eq(wfa_knn_weight(m1, f, &w1), 0);
		cr_assert_eq(wfa_knn_weight(m2, f, &w2), 0);
		cr_assert(w1 == w2, "weight %zu: %.17g vs %.17g", f, w1, w2);
	}
	p1 = malloc(te.n * sizeof(*p1));
	p2 = malloc(te.n * sizeof(*p2));
	predict_all(m1, &te, p1);
	predict_all(m2, &te, p2);
	cr_assert_arr_eq(p1, p2, te.n * sizeof(*p1));
	free(p1);
	free(p2);
	wfa_knn.free(m1);
	wfa_knn.free(m2);
	world_free(&tr);
	world_free(&te);
}

/*
 * The panel layout (the default) computes every distance with the row-by-row
 * path's operations in its order, so weights and predictions are bit-identical
 * to it: checked on a training set that is not a whole number of panels (70
 * rows), with an open world's vote as well, on 1 and 2 threads.
 */
static void panels_match_rows(bool open, unsigned threads)
{
	struct wfa_opts rows = { .seed = 5, .threads = 1, .open_world = open };
	struct wfa_opts pan = rows;
	struct world tr, te;
	double *d1, *d2;
	int *p1, *p2;
	void *m1, *m2;

	rows.params = open ? "rounds=2,k=3,panels=0" : "rounds=2,panels=0";
	pan.params = open ? "rounds=2,k=3" : "rounds=2";
	pan.threads = threads;
	world_make(&tr, 10, 0, 7, 0, open ? 13 : 0);
	world_make(&te, 10, 7, 11, 13, open ? 30 : 13);
	m1 = fit_ok(tr.X, tr.y, tr.n, &rows);
	m2 = fit_ok(tr.X, tr.y, tr.n, &pan);
	for (size_t f = 0; f < F_COUNT; f++) {
		double w1, w2;

		cr_assert_eq(wfa_knn_weight(m1, f, &w1), 0);
		cr_assert_eq(wfa_knn_weight(m2, f, &w2), 0);
		cr_assert(memcmp(&w1, &w2, sizeof(w1)) == 0, "weight %zu: %a vs %a", f, w1, w2);
	}
	d1 = malloc(tr.n * sizeof(*d1));
	d2 = malloc(tr.n * sizeof(*d2));
	for (size_t i = 0; i < te.n; i++) {
		cr_assert_eq(wfa_knn_distances(m1, te.X + i * F_COUNT, d1, tr.n), 0);
		cr_assert_eq(wfa_knn_distances(m2, te.X + i * F_COUNT, d2, tr.n), 0);
		for (size_t j = 0; j < tr.n; j++)
			cr_assert(memcmp(&d1[j], &d2[j], sizeof(d1[j])) == 0,
				  "test row %zu, training row %zu: %a vs %a", i, j, d1[j], d2[j]);
	}
	p1 = malloc(te.n * sizeof(*p1));
	p2 = malloc(te.n * sizeof(*p2));
	predict_all(m1, &te, p1);
	predict_all(m2, &te, p2);
	cr_assert_arr_eq(p1, p2, te.n * sizeof(*p1));
	free(d1);
	free(d2);
	free(p1);
	free(p2);
	wfa_knn.free(m1);
	wfa_knn.free(m2);
	world_free(&tr);
	world_free(&te);
}

Test(knn, panels_identical_to_rows, .timeout = 300)
{
	panels_match_rows(false, 1);
	panels_match_rows(false, 2);
	panels_match_rows(true, 2);
}

/* ---------------------------------------------------------------- errors */

static void fit_fails(const char *params, bool open, const int *y, size_t n, const char *needle)
{
	struct wfa_opts o = { .seed = 1, .params = params, .open_world = open };
	double *X = zero_rows(n ? n : 1);
	char err[256] = "";
	void *m = (void *)1;

	cr_assert_eq(wfa_knn.fit(&m, X, y, n, &o, err, sizeof(err)), -EINVAL, "params '%s'",
		     params ? params : "(null)");
	cr_assert_null(m);
	cr_assert(strstr(err, needle), "'%s': message '%s' should mention '%s'",
		  params ? params : "(null)", err, needle);
	free(X);
}

Test(knn, bad_params_rejected)
{
	int y[2] = { 0, 1 };

	fit_fails("k=0", false, y, 2, "k must be");
	fit_fails("k=2.5", false, y, 2, "k must be");
	fit_fails("k=abc", false, y, 2, "not a number");
	fit_fails("rounds=-1", false, y, 2, "rounds");
	fit_fails("k_reco=0", false, y, 2, "k_reco");
	fit_fails("kk=3", false, y, 2, "unknown attack parameter 'kk'");
	fit_fails("trees=100", false, y, 2, "unknown");
}

Test(knn, bad_data_rejected)
{
	int y[2] = { 0, WFB_UNMON };
	int bad[2] = { 0, -5 };

	fit_fails(NULL, false, y, 2, "closed world");
	fit_fails(NULL, true, bad, 2, "label -5");
	fit_fails(NULL, false, y, 0, "no training data");
}

Test(knn, infinite_feature_rejected)
{
	struct wfa_opts o = { .seed = 1 };
	double *X = zero_rows(2);
	int y[2] = { 0, 1 };
	char err[256] = "";
	void *m = NULL;

	X[F_COUNT + 5] = INFINITY;
	cr_assert_eq(wfa_knn.fit(&m, X, y, 2, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "infinite"), "%s", err);
	X[F_COUNT + 5] = 1e300; /* beyond single precision */
	cr_assert_eq(wfa_knn.fit(&m, X, y, 2, &o, err, sizeof(err)), -EINVAL);
	free(X);
}
