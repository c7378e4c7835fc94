// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The random forest of bench/attacks/forest.c: Gini, splits, toy problems, determinism. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forest.h"

/* A small deterministic generator for the toy data (not the forest's). */
static uint64_t rs = 1;

static double urand(void)
{
	rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(rs >> 11) * 0x1.0p-53;
}

static double nrand(void)
{
	double u = urand() + 1e-12, v = urand();

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static char err[256];

/* ------------------------------------------------------------------ Gini */

Test(forest, gini_by_hand)
{
	size_t half[] = { 2, 2 }, skew[] = { 3, 1 }, pure[] = { 0, 4 }, three[] = { 1, 1, 1 };
	size_t none[] = { 0, 0 };

	cr_assert_float_eq(wfa_gini(half, 2), 0.5, 1e-12);
	cr_assert_float_eq(wfa_gini(skew, 2), 0.375, 1e-12);
	cr_assert_float_eq(wfa_gini(pure, 2), 0.0, 1e-12);
	cr_assert_float_eq(wfa_gini(three, 3), 2.0 / 3, 1e-12);
	cr_assert_float_eq(wfa_gini(none, 2), 0.0, 1e-12);
}

/* ------------------------------------------------------------------ hand-made splits */

/*
 * x = 1..6 with labels 0 0 0 1 0 1. Weighted Gini of the cuts (as sum c^2/n per
 * side, higher is better): after 1: 3.6, 2: 4.0, 3: 4.667, 4: 3.5, 5: 4.4. The
 * stump must cut at 3.5 (the midpoint) and its right leaf votes 1.
 */
static const double six_x[] = { 1, 2, 3, 4, 5, 6 };
static const int six_y[] = { 0, 0, 0, 1, 0, 1 };

static struct wfa_forest *fit_six(unsigned depth, unsigned min_leaf)
{
	struct wfa_forest_opts o = {
		.trees = 1, .max_depth = depth, .min_leaf = min_leaf, .no_bootstrap = 1, .seed = 1
	};
	struct wfa_forest *f = NULL;

	cr_assert_eq(wfa_forest_fit(&f, six_x, six_y, 6, 1, &o, err, sizeof(err)), 0, "%s", err);
	return f;
}

static int pred(const struct wfa_forest *f, double x)
{
	int l = -100;

	cr_assert_eq(wfa_forest_predict(f, &x, &l), 0);
	return l;
}

Test(forest, stump_takes_best_gini_cut)
{
	struct wfa_forest *f = fit_six(1, 1);

	cr_assert_eq(pred(f, 3.4), 0);
	cr_assert_eq(pred(f, 3.5), 0);
	cr_assert_eq(pred(f, 3.6), 1);
	cr_assert_eq(pred(f, 5), 1, "depth 1: 5 is in the right leaf, which votes 1");
	wfa_forest_free(f);
}

Test(forest, unbounded_tree_fits_training_data)
{
	struct wfa_forest *f = fit_six(0, 1);
	int i;

	for (i = 0; i < 6; i++)
		cr_assert_eq(pred(f, six_x[i]), six_y[i], "x=%g", six_x[i]);
	wfa_forest_free(f);
}

Test(forest, min_leaf_is_respected)
{
	struct wfa_forest *f = fit_six(0, 3);
	uint32_t leaf[6];
	int i, j;

	for (i = 0; i < 6; i++)
		wfa_forest_leaves(f, &six_x[i], &leaf[i]);
	for (i = 0; i < 6; i++) {
		int same = 0;

		for (j = 0; j < 6; j++)
			same += leaf[j] == leaf[i];
		cr_assert_geq(same, 3, "x=%g is in a leaf of %d", six_x[i], same);
	}
	cr_assert_neq(leaf[0], leaf[5], "it still splits");
	wfa_forest_free(f);
}

/* ------------------------------------------------------------------ toy problems */

#define D 5

/* Four well separated blobs in D dimensions (labels 10, 20, 30, -1). */
static void blobs(double *X, int *y, size_t n)
{
	static const int lab[4] = { 10, 20, 30, -1 };
	size_t i, j;

	for (i = 0; i < n; i++) {
		int c = (int)(i % 4);

		for (j = 0; j < D; j++)
			X[i * D + j] = nrand() + ((j == (size_t)c || (c == 3 && j == 4)) ? 8 : 0);
		y[i] = lab[c];
	}
}

/* XOR of the signs of features 0 and 1; features 2..D-1 are noise. */
static void xor_data(double *X, int *y, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < D; j++)
			X[i * D + j] = 2 * urand() - 1;
		y[i] = (X[i * D] > 0) ^ (X[i * D + 1] > 0);
	}
}

static double accuracy(const struct wfa_forest *f, const double *X, const int *y, size_t n)
{
	size_t i, ok = 0;

	for (i = 0; i < n; i++) {
		int l;

		cr_assert_eq(wfa_forest_predict(f, X + i * D, &l), 0);
		ok += l == y[i];
	}
	return (double)ok / (double)n;
}

static double train_test(void (*gen)(double *, int *, size_t), unsigned trees, unsigned depth)
{
	enum { N = 400 };
	double *X = malloc(2 * N * D * sizeof(*X));
	int y[2 * N];
	struct wfa_forest_opts o = { .trees = trees, .max_depth = depth, .seed = 7, .threads = 2 };
	struct wfa_forest *f = NULL;
	double acc;

	gen(X, y, 2 * N);
	cr_assert_eq(wfa_forest_fit(&f, X, y, N, D, &o, err, sizeof(err)), 0, "%s", err);
	acc = accuracy(f, X + N * D, y + N, N);
	wfa_forest_free(f);
	free(X);
	return acc;
}

Test(forest, separable_blobs)
{
	double acc = train_test(blobs, 50, 0);

	cr_assert_geq(acc, 0.99, "accuracy %.3f", acc);
}

Test(forest, xor_needs_depth)
{
	double deep = train_test(xor_data, 100, 0), stump = train_test(xor_data, 100, 1);

	/* measured: deep 0.978, stumps 0.512 */
	cr_assert_geq(deep, 0.9, "deep forest on XOR: %.3f", deep);
	cr_assert_leq(stump, 0.7, "stumps cannot do XOR, yet got %.3f", stump);
}

/* ------------------------------------------------------------------ determinism, leaves */

enum { DN = 300, DT = 40 };

static struct wfa_forest *fit_xor(double *X, int *y, unsigned threads, uint64_t seed)
{
	struct wfa_forest_opts o = { .trees = DT, .seed = seed, .threads = threads };
	struct wfa_forest *f = NULL;

	cr_assert_eq(wfa_forest_fit(&f, X, y, DN, D, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfa_forest_trees(f), DT);
	cr_assert_eq(wfa_forest_nfeatures(f), D);
	return f;
}

Test(forest, same_forest_for_any_thread_count)
{
	double *X = malloc(2 * DN * D * sizeof(*X));
	int y[2 * DN];
	struct wfa_forest *f1, *f2, *f3, *other;
	uint32_t l1[DT], l2[DT], l3[DT], lo[DT];
	size_t i, differ = 0;

	rs = 99;
	xor_data(X, y, 2 * DN);
	f1 = fit_xor(X, y, 1, 5);
	f2 = fit_xor(X, y, 2, 5);
	f3 = fit_xor(X, y, 7, 5);
	other = fit_xor(X, y, 2, 6);
	for (i = 0; i < 2 * DN; i++) {
		wfa_forest_leaves(f1, X + i * D, l1);
		wfa_forest_leaves(f2, X + i * D, l2);
		wfa_forest_leaves(f3, X + i * D, l3);
		wfa_forest_leaves(other, X + i * D, lo);
		cr_assert_arr_eq(l1, l2, sizeof(l1), "sample %zu", i);
		cr_assert_arr_eq(l1, l3, sizeof(l1), "sample %zu", i);
		differ += memcmp(l1, lo, sizeof(l1)) != 0;
	}
	cr_assert_gt(differ, 0, "another seed must give another forest");
	wfa_forest_free(f1);
	wfa_forest_free(f2);
	wfa_forest_free(f3);
	wfa_forest_free(other);
	free(X);
}

Test(forest, leaves_agree_with_prediction)
{
	double *X = malloc(2 * DN * D * sizeof(*X));
	int y[2 * DN];
	struct wfa_forest *f;
	uint32_t leaf[DT];
	size_t i, mixed = 0;

	rs = 3;
	xor_data(X, y, 2 * DN);
	f = fit_xor(X, y, 2, 11);
	for (i = 0; i < 2 * DN; i++) {
		int votes[2] = { 0, 0 }, l;
		unsigned t;

		wfa_forest_leaves(f, X + i * D, leaf);
		for (t = 0; t < DT; t++) {
			int v = wfa_forest_leaf_label(f, t, leaf[t]);

			cr_assert(v == 0 || v == 1, "leaf label %d", v);
			votes[v]++;
		}
		cr_assert_eq(wfa_forest_predict(f, X + i * D, &l), 0);
		cr_assert_eq(l, votes[1] > votes[0] ? 1 : 0,
			     "sample %zu: %d vs %d votes, predicted %d", i, votes[0], votes[1], l);
		mixed += votes[0] && votes[1];
	}
	cr_assert_gt(mixed, 0, "some samples should get a split vote (else the test is idle)");
	wfa_forest_free(f);
	free(X);
}

Test(forest, any_int_labels)
{
	static const double x[] = { 0, 1, 2, 10, 11, 12 };
	static const int y[] = { -1, -1, -1, 7, 7, 7 };
	struct wfa_forest_opts o = { .trees = 5, .seed = 1 };
	struct wfa_forest *f = NULL;

	cr_assert_eq(wfa_forest_fit(&f, x, y, 6, 1, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pred(f, 0.5), -1);
	cr_assert_eq(pred(f, 11.5), 7);
	wfa_forest_free(f);
}

Test(forest, bad_input_rejected)
{
	double x[4] = { 0, 1, 2, 3 };
	int y[4] = { 0, 0, 1, 1 };
	struct wfa_forest_opts o = { .trees = 3 };
	struct wfa_forest *f = NULL;

	cr_assert_eq(wfa_forest_fit(&f, x, y, 0, 1, &o, err, sizeof(err)), -EINVAL);
	cr_assert_eq(wfa_forest_fit(&f, x, y, 4, 0, &o, err, sizeof(err)), -EINVAL);
	o.max_features = 3;
	cr_assert_eq(wfa_forest_fit(&f, x, y, 2, 2, &o, err, sizeof(err)), -EINVAL);
	o.max_features = 0;
	o.trees = 0;
	cr_assert_eq(wfa_forest_fit(&f, x, y, 4, 1, &o, err, sizeof(err)), -EINVAL);
	o.trees = 3;
	x[2] = NAN;
	err[0] = 0;
	cr_assert_eq(wfa_forest_fit(&f, x, y, 4, 1, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not finite"), "%s", err);
	cr_assert_null(f);
}
