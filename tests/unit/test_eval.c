// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Evaluation (bench/eval/eval.c): stratified folds, confidence intervals,
 * open-world metrics, the cross-validation driver (with a nearest-centroid toy
 * attack defined here as test scaffolding), exports and the sweep's YAML
 * substitution.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "eval.h"
#include "policy.h"

/* ---------------------------------------------------------------- toy attack */

/* Nearest centroid (squared Euclidean), labels -1..TOY_MAX-2. */
#define TOY_MAX 64
#define TOY_NF	3

struct toy_model {
	double c[TOY_MAX][TOY_NF];
	int have[TOY_MAX];
};

/* packets, fraction outgoing, last time in ms; -EINVAL for traces of exactly 7 packets. */
static int toy_extract(const struct wfb_trace *t, double *out)
{
	size_t i, o = 0;

	if (t->n == 0 || t->n == 7)
		return -EINVAL;
	for (i = 0; i < t->n; i++)
		o += t->pkts[i].dir == WFB_OUT;
	out[0] = (double)t->n;
	out[1] = (double)o / (double)t->n;
	out[2] = (double)t->pkts[t->n - 1].time_ns / 1e6;
	return 0;
}

static int toy_fit(void **model, const double *X, const int *y, size_t n, const struct wfa_opts *o,
		   char *err, size_t errlen)
{
	struct toy_model *m = calloc(1, sizeof(*m));
	size_t i, j, cnt[TOY_MAX] = { 0 };

	(void)o;
	if (!m)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		int k = y[i] + 1;

		if (k < 0 || k >= TOY_MAX) {
			snprintf(err, errlen, "toy: label %d out of range", y[i]);
			free(m);
			return -EINVAL;
		}
		for (j = 0; j < TOY_NF; j++)
			m->c[k][j] += X[i * TOY_NF + j];
		cnt[k]++;
	}
	for (i = 0; i < TOY_MAX; i++) {
		m->have[i] = cnt[i] > 0;
		for (j = 0; cnt[i] && j < TOY_NF; j++)
			m->c[i][j] /= (double)cnt[i];
	}
	*model = m;
	return 0;
}

static int toy_predict(const void *model, const double *x, int *label)
{
	const struct toy_model *m = model;
	double best = INFINITY;
	int i, j;

	for (i = 0; i < TOY_MAX; i++) {
		double d = 0;

		if (!m->have[i])
			continue;
		for (j = 0; j < TOY_NF; j++)
			d += (x[j] - m->c[i][j]) * (x[j] - m->c[i][j]);
		if (d < best) {
			best = d;
			*label = i - 1;
		}
	}
	return best < INFINITY ? 0 : -EINVAL;
}

static void toy_free(void *model)
{
	free(model);
}

static const struct wfa_attack toy = {
	.name = "toy",
	.cite = "nearest centroid (test scaffolding)",
	.nfeatures = TOY_NF,
	.extract = toy_extract,
	.fit = toy_fit,
	.predict = toy_predict,
	.free = toy_free,
};

/* ---------------------------------------------------------------- helpers */

#define WFB_TMP_TEMPLATE "/tmp/wfb-eval-XXXXXX"
#include "tmpdir.h"

/* Site s: 10 + 6s packets; unmonitored: 200 + i. Directions alternate out/in/in. */
static void make_trace(struct wfb_trace *t, size_t n)
{
	size_t i;

	wfb_trace_init(t);
	for (i = 0; i < n; i++)
		cr_assert_eq(wfb_trace_push(t, i * 1000000ULL + 500, i % 3 ? WFB_IN : WFB_OUT,
					    100 + (uint32_t)i, WFB_REAL),
			     0);
}

static void make_dataset(const char *dir, unsigned sites, unsigned inst, unsigned unmon)
{
	struct wfb_writer *w;
	struct wfb_trace t;
	char err[256] = "";
	unsigned s, i;

	cr_assert_eq(wfb_writer_open(&w, dir, false, err, sizeof(err)), 0, "%s", err);
	for (s = 0; s < sites; s++) {
		for (i = 0; i < inst; i++) {
			make_trace(&t, 10 + 6 * s + (i % 3));
			cr_assert_eq(wfb_writer_add(w, (int)s, i, "-", &t, err, sizeof(err)), 0,
				     "%s", err);
			wfb_trace_free(&t);
		}
	}
	for (i = 0; i < unmon; i++) {
		make_trace(&t, 200 + i);
		cr_assert_eq(wfb_writer_add(w, WFB_UNMON, i, "-", &t, err, sizeof(err)), 0, "%s",
			     err);
		wfb_trace_free(&t);
	}
	cr_assert_eq(wfb_writer_commit(w, "test_eval", err, sizeof(err)), 0, "%s", err);
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* ---------------------------------------------------------------- folds */

static int *labels_uneven(size_t *n)
{
	/* 7 classes of 10..16 members, plus 23 unmonitored, interleaved. */
	static int y[10 + 11 + 12 + 13 + 14 + 15 + 16 + 23];
	size_t k = 0;
	int c, i;

	for (c = 0; c < 7; c++)
		for (i = 0; i < 10 + c; i++)
			y[k++] = c;
	for (i = 0; i < 23; i++)
		y[k++] = WFB_UNMON;
	/* interleave deterministically so the input order is not class-major */
	for (size_t a = 0; a < k; a++) {
		size_t b = (a * 37 + 11) % k;
		int t = y[a];

		y[a] = y[b];
		y[b] = t;
	}
	*n = k;
	return y;
}

Test(folds, stratified_and_balanced)
{
	size_t n, i;
	int *y = labels_uneven(&n);
	unsigned fold[200], k = 10, f;
	char err[256] = "";
	int c;

	cr_assert_eq(wfe_folds(y, n, k, 42, fold, err, sizeof(err)), 0, "%s", err);
	for (c = -1; c < 7; c++) {
		size_t per[10] = { 0 }, mn = SIZE_MAX, mx = 0;

		for (i = 0; i < n; i++)
			if (y[i] == c)
				per[fold[i]]++;
		for (f = 0; f < k; f++) {
			mn = per[f] < mn ? per[f] : mn;
			mx = per[f] > mx ? per[f] : mx;
		}
		cr_expect_geq(mn, 1, "class %d missing from a fold", c);
		cr_expect_leq(mx - mn, 1, "class %d spread %zu..%zu", c, mn, mx);
	}
	{
		size_t size[10] = { 0 }, mn = SIZE_MAX, mx = 0;

		for (i = 0; i < n; i++) {
			cr_assert_lt(fold[i], k);
			size[fold[i]]++;
		}
		for (f = 0; f < k; f++) {
			mn = size[f] < mn ? size[f] : mn;
			mx = size[f] > mx ? size[f] : mx;
		}
		cr_expect_leq(mx - mn, 1, "fold sizes %zu..%zu", mn, mx);
	}
}

Test(folds, deterministic_by_seed)
{
	size_t n, i, diff = 0;
	int *y = labels_uneven(&n);
	unsigned a[200], b[200], c[200];
	char err[256] = "";

	cr_assert_eq(wfe_folds(y, n, 10, 7, a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfe_folds(y, n, 10, 7, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfe_folds(y, n, 10, 8, c, err, sizeof(err)), 0, "%s", err);
	cr_expect_arr_eq(a, b, n * sizeof(unsigned));
	for (i = 0; i < n; i++)
		diff += a[i] != c[i];
	cr_expect_gt(diff, n / 4, "seeds 7 and 8 differ in only %zu of %zu", diff, n);
}

Test(folds, too_few_members_is_an_error)
{
	int y[] = { 0, 0, 0, 1, 1, 1, 1, 1 };
	unsigned fold[8];
	char err[256] = "";

	cr_expect_eq(wfe_folds(y, 8, 4, 1, fold, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "site 0") != NULL, "%s", err);
	cr_expect_eq(wfe_folds(y, 8, 3, 1, fold, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(wfe_folds(y, 8, 1, 1, fold, err, sizeof(err)), -EINVAL);
}

/* ---------------------------------------------------------------- statistics */

Test(ci, t_table)
{
	cr_expect_float_eq(wfe_t975(1), 12.7062, 1e-4);
	cr_expect_float_eq(wfe_t975(9), 2.2622, 1e-4);
	cr_expect_float_eq(wfe_t975(30), 2.0423, 1e-4);
	/* beyond the table: t(40) = 2.0211, t(60) = 2.0003, t(120) = 1.9799 */
	cr_expect_float_eq(wfe_t975(40), 2.0211, 2e-4);
	cr_expect_float_eq(wfe_t975(60), 2.0003, 2e-4);
	cr_expect_float_eq(wfe_t975(120), 1.9799, 2e-4);
	cr_expect(isnan(wfe_t975(0)));
}

Test(ci, hand_computed)
{
	/* 0.8, 0.9, 1.0: mean 0.9, sd 0.1, half = 4.3027 * 0.1 / sqrt(3) = 0.248416 */
	double v[] = { 0.8, 0.9, 1.0 };
	/* ten folds: mean 0.85, sd = sqrt(0.0166667/9 * ...) computed by hand below */
	double w[] = { 0.8, 0.9, 0.8, 0.9, 0.8, 0.9, 0.8, 0.9, 0.8, 0.9 };
	struct wfe_ci ci;

	wfe_ci(v, 3, &ci);
	cr_expect_float_eq(ci.mean, 0.9, 1e-12);
	cr_expect_float_eq(ci.sd, 0.1, 1e-12);
	cr_expect_float_eq(ci.half, 0.248416, 1e-6);
	cr_expect_eq(ci.n, 3);
	/* squares of deviations: 10 * 0.0025 = 0.025; / 9 -> sd = 0.0527046;
	 * half = 2.2622 * 0.0527046 / sqrt(10) = 0.0377033 */
	wfe_ci(w, 10, &ci);
	cr_expect_float_eq(ci.mean, 0.85, 1e-12);
	cr_expect_float_eq(ci.sd, 0.0527046, 1e-6);
	cr_expect_float_eq(ci.half, 0.0377033, 1e-6);
	wfe_ci(v, 1, &ci);
	cr_expect_float_eq(ci.mean, 0.8, 1e-12);
	cr_expect(isnan(ci.half));
}

Test(open_world, hand_made_confusion)
{
	/* 20 monitored: 12 right, 3 another site, 5 unmonitored; 80 unmonitored: 8 as monitored */
	struct wfe_ow_counts c = { 0 };
	struct wfe_ow_metrics m;
	int i;

	for (i = 0; i < 12; i++)
		wfe_ow_count(&c, i % 4, i % 4);
	for (i = 0; i < 3; i++)
		wfe_ow_count(&c, 1, 2);
	for (i = 0; i < 5; i++)
		wfe_ow_count(&c, 3, WFB_UNMON);
	for (i = 0; i < 8; i++)
		wfe_ow_count(&c, WFB_UNMON, i % 4);
	for (i = 0; i < 72; i++)
		wfe_ow_count(&c, WFB_UNMON, WFB_UNMON);
	cr_assert_eq(c.tp, 12);
	cr_assert_eq(c.wp, 3);
	cr_assert_eq(c.fn, 5);
	cr_assert_eq(c.fp, 8);
	cr_assert_eq(c.tn, 72);
	wfe_ow_metrics(&c, 10, &m);
	cr_expect_float_eq(m.tpr, 0.6, 1e-12);	/* 12/20 */
	cr_expect_float_eq(m.wpr, 0.15, 1e-12); /* 3/20 */
	cr_expect_float_eq(m.fpr, 0.1, 1e-12);	/* 8/80 */
	cr_expect_float_eq(m.precision, 12.0 / 23, 1e-12);
	cr_expect_float_eq(m.recall, 0.6, 1e-12);
	/* 0.6 / (0.6 + 0.15 + 10 * 0.1) = 0.6 / 1.75 */
	cr_expect_float_eq(m.r_precision, 0.6 / 1.75, 1e-12);
	cr_expect_float_eq(m.r, 10, 1e-12);
}

Test(open_world, empty_denominators_are_nan)
{
	struct wfe_ow_counts c = { .tp = 3 };
	struct wfe_ow_metrics m;

	wfe_ow_metrics(&c, 1, &m);
	cr_expect_float_eq(m.tpr, 1.0, 1e-12);
	cr_expect(isnan(m.fpr));
}

/* ---------------------------------------------------------------- cross-validation */

/* n rows of TOY_NF features; separable: class c sits at (10c, c, -c) plus small noise. */
static void fill_data(struct wfe_data *d, size_t n, int classes, bool separable, uint64_t seed)
{
	size_t i, j;

	memset(d, 0, sizeof(*d));
	d->n = n;
	d->nf = TOY_NF;
	d->sites = (unsigned)classes;
	d->X = calloc(n * TOY_NF, sizeof(double));
	d->y = calloc(n, sizeof(int));
	d->idx = calloc(n, sizeof(size_t));
	cr_assert(d->X && d->y && d->idx);
	for (i = 0; i < n; i++) {
		d->y[i] = (int)(i % (size_t)classes);
		d->idx[i] = i;
		for (j = 0; j < TOY_NF; j++) {
			double noise = (double)(lcg(&seed) % 1000) / 1000.0;

			d->X[i * TOY_NF + j] =
				separable ? 10.0 * d->y[i] * (j + 1) + noise : noise * 100;
		}
		if (!separable) /* labels independent of the features */
			d->y[i] = (int)(lcg(&seed) % (uint64_t)classes);
	}
}

static void cv(const struct wfe_data *d, unsigned k, unsigned threads, bool ow,
	       struct wfe_result *r)
{
	struct wfe_cv_opts o = {
		.folds = k, .seed = 3, .threads = threads, .open_world = ow, .r = 10
	};
	unsigned *fold = calloc(d->n, sizeof(unsigned));
	char err[256] = "";

	cr_assert_not_null(fold);
	cr_assert_eq(wfe_folds(d->y, d->n, k, o.seed, fold, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfe_cv(&toy, d, fold, &o, r, err, sizeof(err)), 0, "%s", err);
	free(fold);
}

Test(cv, separable_is_perfect)
{
	struct wfe_data d;
	struct wfe_result r;
	unsigned f;

	fill_data(&d, 200, 5, true, 1);
	cv(&d, 10, 2, false, &r);
	cr_expect_eq(r.folds, 10);
	for (f = 0; f < 10; f++)
		cr_expect_float_eq(r.acc[f], 1.0, 1e-12, "fold %u: %f", f, r.acc[f]);
	cr_expect_float_eq(r.acc_ci.mean, 1.0, 1e-12);
	cr_expect_float_eq(r.acc_ci.half, 0.0, 1e-12);
	wfe_result_free(&r);
	wfe_data_free(&d);
}

Test(cv, random_labels_near_chance)
{
	struct wfe_data d;
	struct wfe_result r;

	fill_data(&d, 1000, 5, false, 99);
	cv(&d, 10, 2, false, &r);
	/* chance is 0.2; nearest centroid on noise cannot do much better or worse */
	cr_expect(r.acc_ci.mean > 0.1 && r.acc_ci.mean < 0.3, "mean %f", r.acc_ci.mean);
	cr_expect_gt(r.acc_ci.half, 0.0);
	wfe_result_free(&r);
	wfe_data_free(&d);
}

Test(cv, threads_do_not_change_results)
{
	struct wfe_data d;
	struct wfe_result a, b;

	fill_data(&d, 300, 6, false, 5);
	cv(&d, 5, 1, false, &a);
	cv(&d, 5, 4, false, &b);
	cr_expect_arr_eq(a.pred, b.pred, d.n * sizeof(int));
	cr_expect_arr_eq(a.acc, b.acc, 5 * sizeof(double));
	wfe_result_free(&a);
	wfe_result_free(&b);
	wfe_data_free(&d);
}

Test(cv, stop_flag_interrupts)
{
	struct wfe_data d;
	struct wfe_result r;
	volatile int stop = 1;
	struct wfe_cv_opts o = { .folds = 5, .seed = 1, .stop = &stop };
	unsigned fold[100];
	char err[256] = "";

	fill_data(&d, 100, 4, true, 1);
	cr_assert_eq(wfe_folds(d.y, d.n, 5, 1, fold, err, sizeof(err)), 0);
	cr_expect_eq(wfe_cv(&toy, &d, fold, &o, &r, err, sizeof(err)), -EINTR);
	cr_expect_null(r.pred);
	wfe_data_free(&d);
}

Test(cv, dataset_closed_and_open_world, .init = make_tmpdir, .fini = rm_tmpdir)
{
	char *ds = tmp_path("ds"), err[256] = "";
	struct wfe_data d;
	struct wfe_result r;
	size_t i;

	make_dataset(ds, 5, 10, 40);
	cr_assert_eq(wfe_load_features(ds, &toy, false, 2, &d, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(d.n, 50);
	cr_expect_eq(d.sites, 5);
	cr_expect_eq(d.dropped, 0);
	for (i = 0; i < d.n; i++) {
		cr_expect_eq(d.y[i], (int)(i / 10));
		cr_expect_float_eq(d.X[i * TOY_NF],
				   10.0 + 6 * (double)(i / 10) + (double)(i % 10 % 3), 1e-12);
	}
	cv(&d, 10, 2, false, &r);
	cr_expect_float_eq(r.acc_ci.mean, 1.0, 1e-12);
	wfe_result_free(&r);
	wfe_data_free(&d);

	cr_assert_eq(wfe_load_features(ds, &toy, true, 2, &d, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(d.n, 90);
	cr_expect_eq(d.y[89], WFB_UNMON);
	cv(&d, 10, 2, true, &r);
	cr_expect_float_eq(r.owm.tpr, 1.0, 1e-12);
	cr_expect_float_eq(r.owm.fpr, 0.0, 1e-12);
	cr_expect_eq(r.ow.tp + r.ow.wp + r.ow.fn, 50);
	cr_expect_eq(r.ow.fp + r.ow.tn, 40);
	cr_expect_float_eq(r.owm.r_precision, 1.0, 1e-12);
	cr_expect_float_eq(r.tpr_ci.mean, 1.0, 1e-12);
	wfe_result_free(&r);
	wfe_data_free(&d);
}

Test(cv, unusable_traces_dropped_and_open_world_needs_unmonitored, .init = make_tmpdir,
     .fini = rm_tmpdir)
{
	char *ds = tmp_path("ds"), err[256] = "";
	struct wfb_writer *w;
	struct wfb_trace t;
	struct wfe_data d;
	int s;

	cr_assert_eq(wfb_writer_open(&w, ds, false, err, sizeof(err)), 0, "%s", err);
	for (s = 0; s < 2; s++) {
		for (unsigned i = 0; i < 3; i++) {
			make_trace(&t, s == 1 && i == 1 ? 7 : 20 + 5 * (size_t)s);
			cr_assert_eq(wfb_writer_add(w, s, i, "-", &t, err, sizeof(err)), 0);
			wfb_trace_free(&t);
		}
	}
	cr_assert_eq(wfb_writer_commit(w, "t", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfe_load_features(ds, &toy, false, 3, &d, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(d.n, 5);
	cr_expect_eq(d.dropped, 1);
	cr_expect_eq(d.idx[4], 5); /* the row after the dropped one keeps its trace index */
	cr_expect_eq(d.y[4], 1);
	wfe_data_free(&d);
	cr_expect_eq(wfe_load_features(ds, &toy, true, 1, &d, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "unmonitored") != NULL, "%s", err);
}

/* ---------------------------------------------------------------- export */

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	cr_assert_not_null(p);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Parse an .npy 1.0 header; returns the data offset, fills descr and shape. */
static size_t npy_parse(const unsigned char *p, size_t len, char *descr, size_t *rows, size_t *cols)
{
	size_t hlen;
	char dict[512], *s;

	cr_assert_geq(len, 10);
	cr_assert_eq(memcmp(p, "\x93NUMPY", 6), 0);
	cr_assert_eq(p[6], 1);
	cr_assert_eq(p[7], 0);
	hlen = p[8] | (size_t)p[9] << 8;
	cr_assert_eq((10 + hlen) % 64, 0, "header not aligned: %zu", hlen);
	cr_assert_lt(hlen, sizeof(dict));
	memcpy(dict, p + 10, hlen);
	dict[hlen] = 0;
	cr_assert_eq(dict[hlen - 1], '\n');
	cr_assert(strstr(dict, "'fortran_order': False") != NULL, "%s", dict);
	s = strstr(dict, "'descr': '");
	cr_assert_not_null(s);
	memcpy(descr, s + 10, 3);
	descr[3] = 0;
	s = strstr(dict, "'shape': (");
	cr_assert_not_null(s);
	*cols = 0;
	if (sscanf(s + 10, "%zu, %zu)", rows, cols) < 1)
		cr_assert_fail("shape: %s", s);
	return 10 + hlen;
}

static double get_f64(const unsigned char *p)
{
	uint64_t v = 0;
	double d;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	memcpy(&d, &v, sizeof(d));
	return d;
}

Test(export, npy_round_trip, .init = make_tmpdir, .fini = rm_tmpdir)
{
	double m[3 * 4];
	int64_t lab[5] = { 3, -1, 0, 7, 1234567890123LL };
	char descr[4], err[256] = "";
	unsigned char *p;
	size_t len, off, rows, cols, i;

	for (i = 0; i < 12; i++)
		m[i] = (double)i * 1.25 - 3;
	cr_assert_eq(wfe_write_npy_f64(tmp_path("m.npy"), m, 3, 4, err, sizeof(err)), 0, "%s", err);
	p = slurp(tmp_path("m.npy"), &len);
	off = npy_parse(p, len, descr, &rows, &cols);
	cr_expect_str_eq(descr, "<f8");
	cr_expect_eq(rows, 3);
	cr_expect_eq(cols, 4);
	cr_assert_eq(len, off + 12 * 8);
	for (i = 0; i < 12; i++)
		cr_expect_float_eq(get_f64(p + off + 8 * i), m[i], 0);
	free(p);

	cr_assert_eq(wfe_write_npy_i64(tmp_path("l.npy"), lab, 5, err, sizeof(err)), 0, "%s", err);
	p = slurp(tmp_path("l.npy"), &len);
	off = npy_parse(p, len, descr, &rows, &cols);
	cr_expect_str_eq(descr, "<i8");
	cr_expect_eq(rows, 5);
	cr_expect_eq(cols, 0);
	cr_assert_eq(len, off + 5 * 8);
	for (i = 0; i < 5; i++) {
		uint64_t v = 0;

		for (int b = 7; b >= 0; b--)
			v = v << 8 | p[off + 8 * i + (size_t)b];
		cr_expect_eq((int64_t)v, lab[i]);
	}
	free(p);
}

Test(export, csv_folds_and_sequences, .init = make_tmpdir, .fini = rm_tmpdir)
{
	char ds[256], err[256] = "", descr[4], line[512];
	struct wfe_data d;
	unsigned fold[30];
	unsigned char *p;
	size_t len, off, rows, cols, i, n = 0;
	FILE *f;

	snprintf(ds, sizeof(ds), "%s", tmp_path("ds"));
	make_dataset(ds, 3, 10, 0);
	cr_assert_eq(wfe_load_features(ds, &toy, false, 2, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfe_folds(d.y, d.n, 5, 9, fold, err, sizeof(err)), 0, "%s", err);

	cr_assert_eq(wfe_export_csv(tmp_path("f.csv"), &d, err, sizeof(err)), 0, "%s", err);
	f = fopen(tmp_path("f.csv"), "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_expect_str_eq(line, "label,f1,f2,f3\n");
	while (fgets(line, sizeof(line), f)) {
		int lab;
		double a, b, c;

		cr_assert_eq(sscanf(line, "%d,%lf,%lf,%lf", &lab, &a, &b, &c), 4, "%s", line);
		cr_expect_eq(lab, d.y[n]);
		cr_expect_float_eq(a, d.X[n * 3], 0);
		cr_expect_float_eq(b, d.X[n * 3 + 1], 0);
		cr_expect_float_eq(c, d.X[n * 3 + 2], 0);
		n++;
	}
	fclose(f);
	cr_expect_eq(n, 30);

	cr_assert_eq(wfe_export_folds_csv(tmp_path("folds.csv"), ds, &d, fold, err, sizeof(err)), 0,
		     "%s", err);
	f = fopen(tmp_path("folds.csv"), "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_expect_str_eq(line, "index,trace,label,fold,site,source\n");
	for (n = 0; fgets(line, sizeof(line), f); n++) {
		size_t idx;
		char name[32], want[32];
		int lab;
		unsigned fo;

		cr_assert_eq(sscanf(line, "%zu,%31[^,],%d,%u", &idx, name, &lab, &fo), 4, "%s",
			     line);
		cr_expect_eq(idx, n);
		snprintf(want, sizeof(want), "%zu-%zu", n / 10, n % 10);
		cr_expect_str_eq(name, want);
		cr_expect_eq(lab, d.y[n]);
		cr_expect_eq(fo, fold[n]);
	}
	fclose(f);
	cr_expect_eq(n, 30);

	cr_assert_eq(wfe_export_sequences(ds, &d, 40, tmp_path("dir.npy"), tmp_path("tt.npy"), err,
					  sizeof(err)),
		     0, "%s", err);
	p = slurp(tmp_path("dir.npy"), &len);
	off = npy_parse(p, len, descr, &rows, &cols);
	cr_expect_eq(rows, 30);
	cr_expect_eq(cols, 40);
	cr_assert_eq(len, off + 30 * 40 * 8);
	/* row 0: site 0 instance 0, 10 packets out,in,in,...; then zeros */
	for (i = 0; i < 40; i++)
		cr_expect_float_eq(get_f64(p + off + 8 * i), i < 10 ? (i % 3 ? -1.0 : 1.0) : 0.0, 0,
				   "dir[0][%zu]", i);
	/* row 29: site 2 instance 9: 10 + 12 + 0 = 22 packets; longer than 40? no: check 22 */
	for (i = 0; i < 40; i++)
		cr_expect_float_eq(get_f64(p + off + 8 * (29 * 40 + i)),
				   i < 22 ? (i % 3 ? -1.0 : 1.0) : 0.0, 0, "dir[29][%zu]", i);
	free(p);
	p = slurp(tmp_path("tt.npy"), &len);
	off = npy_parse(p, len, descr, &rows, &cols);
	cr_assert_eq(len, off + 30 * 40 * 8);
	for (i = 0; i < 12; i++) {
		double t = i < 10 ? (i % 3 ? -1.0 : 1.0) * (double)(i * 1000000ULL + 500) / 1e9 : 0;

		cr_expect_float_eq(get_f64(p + off + 8 * i), t, 1e-15, "tt[0][%zu]", i);
	}
	free(p);
	wfe_data_free(&d);

	/* truncation: 5 columns only */
	cr_assert_eq(wfe_load_features(ds, &toy, false, 1, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfe_export_sequences(ds, &d, 5, tmp_path("d5.npy"), tmp_path("t5.npy"), err,
					  sizeof(err)),
		     0, "%s", err);
	p = slurp(tmp_path("d5.npy"), &len);
	off = npy_parse(p, len, descr, &rows, &cols);
	cr_expect_eq(cols, 5);
	cr_expect_eq(len, off + 30 * 5 * 8);
	free(p);
	wfe_data_free(&d);
}

#define MAYBENOT_TRACES "/work/shared/data/maybenot/traces"

/* Row i of a .npy float64 matrix of `cols` columns. */
static double npy_at(const unsigned char *p, size_t off, size_t cols, size_t i, size_t j)
{
	return get_f64(p + off + 8 * (i * cols + j));
}

/* Sequences of real traces (Maybenot's public samples) against their log lines. */
Test(export, sequences_of_real_traces, .init = make_tmpdir, .fini = rm_tmpdir)
{
	struct wfb_import_opts io = { .fmt = WFB_FMT_MAYBENOT };
	struct wfb_import_report rep;
	struct wfb_dataset ds;
	struct wfe_data d;
	char dsdir[256], dirp[256], ttp[256], err[256] = "", descr[4];
	unsigned char *pd, *pt;
	size_t i, len, off, offt, rows, cols, longest = 0;

	if (access(MAYBENOT_TRACES, R_OK)) {
		cr_skip_test("%s is absent", MAYBENOT_TRACES);
		return;
	}
	snprintf(dsdir, sizeof(dsdir), "%s", tmp_path("mb"));
	snprintf(dirp, sizeof(dirp), "%s", tmp_path("dir.npy"));
	snprintf(ttp, sizeof(ttp), "%s", tmp_path("tt.npy"));
	cr_assert_eq(wfb_import(MAYBENOT_TRACES, dsdir, &io, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfe_load_features(dsdir, &toy, false, 2, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfe_export_sequences(dsdir, &d, WFE_SEQ_LEN, dirp, ttp, err, sizeof(err)), 0,
		     "%s", err);
	pd = slurp(dirp, &len);
	off = npy_parse(pd, len, descr, &rows, &cols);
	cr_assert_eq(rows, d.n);
	cr_assert_eq(cols, WFE_SEQ_LEN);
	pt = slurp(ttp, &len);
	offt = npy_parse(pt, len, descr, &rows, &cols);
	cr_assert_eq(wfb_dataset_open(&ds, dsdir, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < d.n; i++) {
		char path[512], line[128], dir;
		unsigned long long ns;
		size_t j = 0;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", MAYBENOT_TRACES, ds.e[d.idx[i]].src);
		f = fopen(path, "r");
		cr_assert_not_null(f, "%s", path);
		for (; j < WFE_SEQ_LEN && fgets(line, sizeof(line), f); j++) {
			double want;

			cr_assert_eq(sscanf(line, "%llu,%c", &ns, &dir), 2, "%s: %s", path, line);
			want = dir == 's' ? 1.0 : -1.0;
			cr_expect_float_eq(npy_at(pd, off, cols, i, j), want, 0, "%s:%zu", path, j);
			cr_expect_float_eq(npy_at(pt, offt, cols, i, j), want * (double)ns / 1e9,
					   1e-9, "%s:%zu", path, j);
		}
		longest = j > longest ? j : longest;
		for (; j < WFE_SEQ_LEN; j++)
			cr_expect_float_eq(npy_at(pd, off, cols, i, j), 0, 0, "%s: padding", path);
		fclose(f);
	}
	cr_expect_eq(longest, WFE_SEQ_LEN, "no trace was long enough to be truncated");
	wfb_dataset_close(&ds);
	free(pd);
	free(pt);
	wfe_data_free(&d);
}

/* ---------------------------------------------------------------- sweep */

static const char policy_yaml[] = "# a comment\n"
				  "version: 1\n"
				  "role: server\n"
				  "match:\n"
				  "  - local_port: 443\n"
				  "shape:\n"
				  "  mode: buckets\n"
				  "  buckets: [256, 512, 1024, 1452]\n"
				  "  limit: 1452\n"
				  "defence:\n"
				  "  - preset: front\n"
				  "    params: {N_c: 1700, N_s: 1700, W_min: 1, W_max: 14}\n";

Test(sweep, parse_range)
{
	char *name, err[256] = "";
	double *v;
	size_t n;

	cr_assert_eq(wfe_parse_range("defence.0.params.N_c=100:1700:400", &name, &v, &n, 100, err,
				     sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(name, "defence.0.params.N_c");
	cr_assert_eq(n, 5); /* 100 500 900 1300 1700 */
	cr_expect_float_eq(v[0], 100, 0);
	cr_expect_float_eq(v[4], 1700, 0);
	free(name);
	free(v);
	cr_assert_eq(wfe_parse_range("x=0.1:0.3:0.1", &name, &v, &n, 100, err, sizeof(err)), 0);
	cr_expect_eq(n, 3, "float steps keep their last value: %zu", n);
	free(name);
	free(v);
	cr_expect_eq(wfe_parse_range("x=1:2", &name, &v, &n, 100, err, sizeof(err)), -EINVAL);
	cr_expect_eq(wfe_parse_range("x=3:2:1", &name, &v, &n, 100, err, sizeof(err)), -EINVAL);
	cr_expect_eq(wfe_parse_range("x=1:2:0", &name, &v, &n, 100, err, sizeof(err)), -EINVAL);
	cr_expect_eq(wfe_parse_range("=1:2:1", &name, &v, &n, 100, err, sizeof(err)), -EINVAL);
	cr_expect_eq(wfe_parse_range("x=1:1000:1", &name, &v, &n, 100, err, sizeof(err)), -EINVAL);
}

Test(sweep, bad_paths_are_errors)
{
	static const char *const bad[] = {
		"defence.1.params.N_c", /* index out of range */
		"defence.0.params.N_x", /* no such key */
		"defence.x.params.N_c", /* not an index */
		"version.x",		/* below a scalar */
		"defence",		/* not a scalar */
		"shape..mode",		/* empty component */
		"",
	};
	char *out = NULL, err[256];
	size_t len, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cr_expect_eq(wfe_yaml_set(policy_yaml, strlen(policy_yaml), bad[i], "5", &out, &len,
					  err, sizeof(err)),
			     -EINVAL, "%s", bad[i]);
		cr_expect_neq(err[0], 0, "no message for '%s'", bad[i]);
	}
	err[0] = 0;
	wfe_yaml_set(policy_yaml, strlen(policy_yaml), "defence.0.params.N_x", "5", &out, &len, err,
		     sizeof(err));
	cr_expect(strstr(err, "N_x") != NULL, "%s", err);
	cr_expect_eq(wfe_yaml_set("a: [1\n", 6, "a.0", "5", &out, &len, err, sizeof(err)), -EINVAL);
}

static void compile(const char *text, size_t len, struct wfg_compiled_policy *cp)
{
	struct wfg_diags diags = { 0 };
	int rc = wfg_policy_load_mem("sweep.yaml", text, len, cp, &diags);

	cr_assert_eq(rc, 0, "%s\n%s", diags.n ? diags.d[0].msg : "?", text);
}

Test(sweep, substitution_changes_the_compiled_policy)
{
	struct wfg_compiled_policy *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char *out, *out2, err[256] = "";
	size_t len, len2;

	cr_assert(a && b);
	compile(policy_yaml, strlen(policy_yaml), a);
	cr_assert_eq(wfe_yaml_set(policy_yaml, strlen(policy_yaml), "defence.0.params.N_c", "100",
				  &out, &len, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(strlen(out), len);
	compile(out, len, b);
	cr_expect_neq(wfg_policy_side(a, WFG_ROLE_CLIENT)->front.max_covers, 100);
	cr_expect_eq(wfg_policy_side(b, WFG_ROLE_CLIENT)->front.max_covers, 100);
	cr_expect_eq(wfg_policy_side(b, WFG_ROLE_SERVER)->front.max_covers,
		     wfg_policy_side(a, WFG_ROLE_SERVER)->front.max_covers);
	/* a second substitution on the output: a list index inside a flow sequence */
	cr_assert_eq(
		wfe_yaml_set(out, len, "shape.buckets.1", "600", &out2, &len2, err, sizeof(err)), 0,
		"%s", err);
	compile(out2, len2, b);
	cr_expect_eq(wfg_policy_side(a, WFG_ROLE_SERVER)->shape.buckets[1], 512);
	cr_expect_eq(wfg_policy_side(b, WFG_ROLE_SERVER)->shape.buckets[1], 600);
	cr_expect_eq(wfg_policy_side(b, WFG_ROLE_CLIENT)->front.max_covers, 100);
	free(out);
	free(out2);
	/* a value the policy rejects is a policy error, not a sweep error */
	cr_assert_eq(wfe_yaml_set(policy_yaml, strlen(policy_yaml), "defence.0.params.N_c", "-3",
				  &out, &len, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_neq(wfg_policy_load_mem("sweep.yaml", out, len, b, NULL), 0);
	free(out);
	free(a);
	free(b);
}
