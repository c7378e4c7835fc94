// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Evaluation around the attacks (eval.h): features, stratified folds, cross-
 * validation, metrics, exports, and the sweep's YAML substitution.
 * Definitions: docs/evaluation.md.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "dataset.h"
#include "eval.h"

/* ---------------------------------------------------------------- threads */

/* fn(ctx, job, jobs) handles rows job, job + jobs, ... ; jobs threads at once. */
typedef void (*wfe_job_fn)(void *ctx, unsigned job, unsigned jobs);

struct job_arg {
	wfe_job_fn fn;
	void *ctx;
	unsigned job, jobs;
};

static void *job_main(void *p)
{
	struct job_arg *a = p;

	a->fn(a->ctx, a->job, a->jobs);
	return NULL;
}

static int run_jobs(wfe_job_fn fn, void *ctx, unsigned jobs)
{
	struct job_arg *a;
	pthread_t *t;
	unsigned j;

	if (jobs <= 1) {
		fn(ctx, 0, 1);
		return 0;
	}
	a = calloc(jobs, sizeof(*a));
	t = calloc(jobs, sizeof(*t));
	if (!a || !t) {
		free(a);
		free(t);
		return -ENOMEM;
	}
	for (j = 0; j < jobs; j++) {
		a[j] = (struct job_arg){ .fn = fn, .ctx = ctx, .job = j, .jobs = jobs };
		if (pthread_create(&t[j], NULL, job_main, &a[j])) {
			job_main(&a[j]); /* no thread: do it here */
			t[j] = 0;
		}
	}
	for (j = 0; j < jobs; j++)
		if (t[j])
			pthread_join(t[j], NULL);
	free(a);
	free(t);
	return 0;
}

/* ---------------------------------------------------------------- features */

struct extract_ctx {
	const struct wfb_dataset *ds;
	const struct wfa_attack *a;
	struct wfe_data *d;
	int *rc;	  /* per row */
	char (*msg)[256]; /* per row, when rc is not -EINVAL from extract */
};

static void extract_job(void *p, unsigned job, unsigned jobs)
{
	struct extract_ctx *c = p;
	struct wfb_trace t;
	size_t i;

	wfb_trace_init(&t);
	for (i = job; i < c->d->n; i += jobs) {
		c->rc[i] = wfb_dataset_read(c->ds, c->d->idx[i], &t, c->msg[i], sizeof(c->msg[i]));
		if (c->rc[i])
			continue;
		if (c->a->extract(&t, &c->d->X[i * c->d->nf]))
			c->rc[i] = 1; /* unusable for this attack: dropped */
	}
	wfb_trace_free(&t);
}

/* Drop rows with rc == 1, keeping the order. */
static void compact(struct wfe_data *d, const int *rc)
{
	size_t i, k = 0;

	for (i = 0; i < d->n; i++) {
		if (rc[i]) {
			d->dropped++;
			continue;
		}
		if (k != i) {
			memmove(&d->X[k * d->nf], &d->X[i * d->nf], d->nf * sizeof(double));
			d->y[k] = d->y[i];
			d->idx[k] = d->idx[i];
		}
		k++;
	}
	d->n = k;
}

static int alloc_rows(struct wfe_data *d, const struct wfb_dataset *ds, bool open_world)
{
	size_t i, n = 0;

	for (i = 0; i < ds->n; i++)
		n += open_world || ds->e[i].site != WFB_UNMON;
	d->X = calloc(n ? n * d->nf : 1, sizeof(double));
	d->y = calloc(n ? n : 1, sizeof(int));
	d->idx = calloc(n ? n : 1, sizeof(size_t));
	if (!d->X || !d->y || !d->idx)
		return -ENOMEM;
	for (i = 0; i < ds->n; i++) {
		if (!open_world && ds->e[i].site == WFB_UNMON)
			continue;
		d->y[d->n] = ds->e[i].site;
		d->idx[d->n++] = i;
	}
	return 0;
}

static int extract_all(const struct wfb_dataset *ds, const struct wfa_attack *a, struct wfe_data *d,
		       unsigned threads, char *err, size_t errlen)
{
	struct extract_ctx c = { .ds = ds, .a = a, .d = d };
	size_t i;
	int rc;

	c.rc = calloc(d->n ? d->n : 1, sizeof(int));
	c.msg = calloc(d->n ? d->n : 1, sizeof(*c.msg));
	rc = c.rc && c.msg ? run_jobs(extract_job, &c, threads ? threads : 1) : -ENOMEM;
	for (i = 0; !rc && i < d->n; i++) {
		if (c.rc[i] < 0) {
			rc = c.rc[i];
			snprintf(err, errlen, "%s", c.msg[i]);
		}
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (!rc)
		compact(d, c.rc);
	free(c.rc);
	free(c.msg);
	return rc;
}

int wfe_load_features(const char *dataset, const struct wfa_attack *a, bool open_world,
		      unsigned threads, struct wfe_data *d, char *err, size_t errlen)
{
	struct wfb_dataset ds;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = wfb_dataset_open(&ds, dataset, err, errlen);
	if (rc)
		return rc;
	d->nf = a->nfeatures;
	d->sites = ds.sites;
	if (open_world && !ds.unmonitored) {
		snprintf(err, errlen,
			 "%s: open world needs unmonitored traces; the dataset has none", dataset);
		rc = -EINVAL;
	}
	if (!rc) {
		rc = alloc_rows(d, &ds, open_world);
		if (rc)
			snprintf(err, errlen, "out of memory");
	}
	if (!rc)
		rc = extract_all(&ds, a, d, threads, err, errlen);
	if (!rc && !d->n) {
		snprintf(err, errlen, "%s: no trace the attack '%s' can use", dataset, a->name);
		rc = -EINVAL;
	}
	wfb_dataset_close(&ds);
	if (rc)
		wfe_data_free(d);
	return rc;
}

void wfe_data_free(struct wfe_data *d)
{
	free(d->X);
	free(d->y);
	free(d->idx);
	memset(d, 0, sizeof(*d));
}

/* ---------------------------------------------------------------- folds */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias (Lemire's multiply-and-reject). */
static uint64_t below(uint64_t *s, uint64_t bound)
{
	unsigned __int128 m = (unsigned __int128)splitmix64(s) * bound;
	uint64_t lo = (uint64_t)m, t;

	if (lo < bound) {
		t = -bound % bound;
		while (lo < t) {
			m = (unsigned __int128)splitmix64(s) * bound;
			lo = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

struct lab_idx {
	int label;
	size_t i;
};

static int lab_cmp(const void *a, const void *b)
{
	const struct lab_idx *x = a, *y = b;

	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void shuffle(struct lab_idx *v, size_t n, uint64_t *s)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = (size_t)below(s, i);
		struct lab_idx t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

int wfe_folds(const int *y, size_t n, unsigned k, uint64_t seed, unsigned *fold, char *err,
	      size_t errlen)
{
	struct lab_idx *v;
	uint64_t s = seed;
	size_t i, start, pos = 0;

	if (k < 2 || k > WFE_MAX_FOLDS) {
		snprintf(err, errlen, "folds: %u is not in 2..%d", k, WFE_MAX_FOLDS);
		return -EINVAL;
	}
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		v[i] = (struct lab_idx){ y[i], i };
	qsort(v, n, sizeof(*v), lab_cmp);
	for (start = 0; start < n; start = i) {
		for (i = start; i < n && v[i].label == v[start].label; i++)
			;
		if (i - start < k) {
			if (v[start].label == WFB_UNMON)
				snprintf(err, errlen,
					 "unmonitored: %zu traces, fewer than the %u folds",
					 i - start, k);
			else
				snprintf(err, errlen,
					 "site %d: %zu traces, fewer than the %u folds",
					 v[start].label, i - start, k);
			free(v);
			return -EINVAL;
		}
		shuffle(&v[start], i - start, &s);
		for (size_t j = start; j < i; j++, pos++)
			fold[v[j].i] = (unsigned)(pos % k);
	}
	free(v);
	return 0;
}

/* ---------------------------------------------------------------- statistics */

/* Two-sided 95%: t_{0.975, df}, df = 1..30 (standard tables, 4 decimals). */
static const double t975_table[30] = {
	12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
	2.2010,	 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
	2.0796,	 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
};

double wfe_t975(unsigned df)
{
	const double z = 1.959963984540054;
	double v = df, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;

	if (df == 0)
		return NAN;
	if (df <= 30)
		return t975_table[df - 1];
	/* Cornish-Fisher expansion of t around the normal quantile (error < 1e-4 here). */
	return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
	       (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

void wfe_ci(const double *v, unsigned n, struct wfe_ci *ci)
{
	double sum = 0, ss = 0;
	unsigned i;

	memset(ci, 0, sizeof(*ci));
	ci->n = n;
	if (!n) {
		ci->mean = ci->sd = ci->half = NAN;
		return;
	}
	for (i = 0; i < n; i++)
		sum += v[i];
	ci->mean = sum / n;
	if (n < 2) {
		ci->sd = ci->half = NAN;
		return;
	}
	for (i = 0; i < n; i++)
		ss += (v[i] - ci->mean) * (v[i] - ci->mean);
	ci->sd = sqrt(ss / (n - 1));
	ci->half = wfe_t975(n - 1) * ci->sd / sqrt((double)n);
}

void wfe_ow_count(struct wfe_ow_counts *c, int truth, int pred)
{
	if (truth == WFB_UNMON) {
		if (pred == WFB_UNMON)
			c->tn++;
		else
			c->fp++;
	} else if (pred == truth) {
		c->tp++;
	} else if (pred == WFB_UNMON) {
		c->fn++;
	} else {
		c->wp++;
	}
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

void wfe_ow_metrics(const struct wfe_ow_counts *c, double r, struct wfe_ow_metrics *m)
{
	double mon = (double)(c->tp + c->wp + c->fn), unmon = (double)(c->fp + c->tn);

	m->r = r;
	m->tpr = ratio((double)c->tp, mon);
	m->wpr = ratio((double)c->wp, mon);
	m->fpr = ratio((double)c->fp, unmon);
	m->precision = ratio((double)c->tp, (double)(c->tp + c->wp + c->fp));
	m->recall = m->tpr;
	m->r_precision = ratio(m->tpr, m->tpr + m->wpr + r * m->fpr);
}

/* ---------------------------------------------------------------- cross-validation */

struct predict_ctx {
	const struct wfa_attack *a;
	const void *model;
	const struct wfe_data *d;
	const unsigned *fold;
	unsigned f;
	int *pred, *rc;
};

static void predict_job(void *p, unsigned job, unsigned jobs)
{
	struct predict_ctx *c = p;
	size_t i;

	for (i = job; i < c->d->n; i += jobs)
		if (c->fold[i] == c->f)
			c->rc[i] = c->a->predict(c->model, &c->d->X[i * c->d->nf], &c->pred[i]);
}

/* The rows of the folds other than f, copied (the attack keeps no pointer into them). */
static int train_set(const struct wfe_data *d, const unsigned *fold, unsigned f, double **X,
		     int **y, size_t *n)
{
	size_t i, k = 0;

	*X = malloc((d->n ? d->n : 1) * d->nf * sizeof(double) + 1);
	*y = malloc((d->n ? d->n : 1) * sizeof(int));
	if (!*X || !*y)
		return -ENOMEM;
	for (i = 0; i < d->n; i++) {
		if (fold[i] == f)
			continue;
		memcpy(&(*X)[k * d->nf], &d->X[i * d->nf], d->nf * sizeof(double));
		(*y)[k++] = d->y[i];
	}
	*n = k;
	return 0;
}

/* Score fold f: accuracy, and in open world its TPR, FPR and the pooled counts. */
static void score_fold(const struct wfe_data *d, const unsigned *fold, unsigned f,
		       const struct wfe_cv_opts *o, struct wfe_result *r)
{
	struct wfe_ow_counts c = { 0 };
	struct wfe_ow_metrics m;
	size_t i, tested = 0, correct = 0;

	for (i = 0; i < d->n; i++) {
		if (fold[i] != f)
			continue;
		tested++;
		correct += r->pred[i] == d->y[i];
		wfe_ow_count(&c, d->y[i], r->pred[i]);
	}
	r->acc[f] = tested ? (double)correct / (double)tested : NAN;
	if (!o->open_world)
		return;
	wfe_ow_metrics(&c, o->r, &m);
	r->tpr[f] = m.tpr;
	r->fpr[f] = m.fpr;
	r->ow.tp += c.tp;
	r->ow.wp += c.wp;
	r->ow.fn += c.fn;
	r->ow.fp += c.fp;
	r->ow.tn += c.tn;
}

/* wfa_opts.progress of one fold, to wfe_cv_opts.fit_progress. */
struct fit_step {
	const struct wfe_cv_opts *o;
	unsigned fold;
};

static void fit_step_report(size_t done, size_t total, void *arg)
{
	const struct fit_step *s = arg;

	s->o->fit_progress(s->fold, s->o->folds, done, total, s->o->progress_arg);
}

static int run_fold(const struct wfa_attack *a, const struct wfe_data *d, const unsigned *fold,
		    unsigned f, const struct wfe_cv_opts *o, struct wfe_result *r, int *rcs,
		    char *err, size_t errlen)
{
	struct wfa_opts ao = { .seed = o->seed + f,
			       .threads = o->threads ? o->threads : 1,
			       .open_world = o->open_world,
			       .params = o->params,
			       .stop = o->stop };
	struct fit_step step = { .o = o, .fold = f };
	struct predict_ctx pc = {
		.a = a, .d = d, .fold = fold, .f = f, .pred = r->pred, .rc = rcs
	};
	void *model = NULL;
	double *X;
	int *y, rc;
	size_t n, i;

	if (o->fit_progress) {
		ao.progress = fit_step_report;
		ao.progress_arg = &step;
	}
	rc = train_set(d, fold, f, &X, &y, &n);
	if (rc)
		snprintf(err, errlen, "out of memory");
	if (!rc)
		rc = a->fit(&model, X, y, n, &ao, err, errlen);
	free(X);
	free(y);
	if (rc)
		return rc;
	pc.model = model;
	rc = run_jobs(predict_job, &pc, ao.threads);
	for (i = 0; !rc && i < d->n; i++) {
		if (fold[i] == f && rcs[i]) {
			rc = rcs[i];
			snprintf(err, errlen, "%s: predicting row %zu failed: %s", a->name, i,
				 strerror(-rc));
		}
	}
	a->free(model);
	if (!rc)
		score_fold(d, fold, f, o, r);
	return rc;
}

int wfe_cv(const struct wfa_attack *a, const struct wfe_data *d, const unsigned *fold,
	   const struct wfe_cv_opts *o, struct wfe_result *r, char *err, size_t errlen)
{
	unsigned f;
	int *rcs, rc = 0;

	memset(r, 0, sizeof(*r));
	if (o->folds < 2 || o->folds > WFE_MAX_FOLDS) {
		snprintf(err, errlen, "folds: %u is not in 2..%d", o->folds, WFE_MAX_FOLDS);
		return -EINVAL;
	}
	r->folds = o->folds;
	r->pred = calloc(d->n ? d->n : 1, sizeof(int));
	rcs = calloc(d->n ? d->n : 1, sizeof(int));
	if (!r->pred || !rcs) {
		free(rcs);
		wfe_result_free(r);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (f = 0; !rc && f < o->folds; f++) {
		if (o->stop && *o->stop) {
			snprintf(err, errlen, "interrupted");
			rc = -EINTR;
			break;
		}
		rc = run_fold(a, d, fold, f, o, r, rcs, err, errlen);
		if (!rc && o->progress)
			o->progress(f + 1, o->folds, o->progress_arg);
	}
	free(rcs);
	if (rc) {
		wfe_result_free(r);
		return rc;
	}
	wfe_ci(r->acc, r->folds, &r->acc_ci);
	if (o->open_world) {
		wfe_ci(r->tpr, r->folds, &r->tpr_ci);
		wfe_ci(r->fpr, r->folds, &r->fpr_ci);
		wfe_ow_metrics(&r->ow, o->r, &r->owm);
	}
	return 0;
}

void wfe_result_free(struct wfe_result *r)
{
	free(r->pred);
	r->pred = NULL;
}

/* ---------------------------------------------------------------- files */

struct tmpfile {
	char tmp[4096];
	const char *path;
	FILE *f;
};

static int tmp_open(struct tmpfile *t, const char *path, char *err, size_t errlen)
{
	int fd;

	t->path = path;
	t->f = NULL;
	if (snprintf(t->tmp, sizeof(t->tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(t->tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(t->tmp);
	if (fd >= 0)
		fchmod(fd, 0644); /* mkstemp's 0600 is for secrets; these are results */
	if (fd < 0 || !(t->f = fdopen(fd, "w"))) {
		int e = errno;

		if (fd >= 0) {
			close(fd);
			unlink(t->tmp);
		}
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

/* Close and rename into place; on a write error (or rc != 0) remove it instead. */
static int tmp_close(struct tmpfile *t, int rc, char *err, size_t errlen)
{
	int bad = ferror(t->f);

	if (fclose(t->f))
		bad = 1;
	if (!rc && bad) {
		rc = -EIO;
		snprintf(err, errlen, "%s: write error", t->path);
	}
	if (!rc && rename(t->tmp, t->path)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
	}
	if (rc)
		unlink(t->tmp);
	return rc;
}

int wfe_export_csv(const char *path, const struct wfe_data *d, char *err, size_t errlen)
{
	struct tmpfile t;
	size_t i, j;
	int rc = tmp_open(&t, path, err, errlen);

	if (rc)
		return rc;
	fputs("label", t.f);
	for (j = 0; j < d->nf; j++)
		fprintf(t.f, ",f%zu", j + 1);
	fputc('\n', t.f);
	for (i = 0; i < d->n; i++) {
		fprintf(t.f, "%d", d->y[i]);
		for (j = 0; j < d->nf; j++)
			fprintf(t.f, ",%.17g", d->X[i * d->nf + j]);
		fputc('\n', t.f);
	}
	return tmp_close(&t, 0, err, errlen);
}

/* The .npy 1.0 header: magic, version, length, dict padded with spaces to 64 bytes, '\n'. */
static void npy_header(FILE *f, const char *descr, size_t rows, size_t cols, bool matrix)
{
	char dict[256];
	size_t len, total;

	if (matrix)
		len = (size_t)snprintf(
			dict, sizeof(dict),
			"{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }", descr,
			rows, cols);
	else
		len = (size_t)snprintf(dict, sizeof(dict),
				       "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
				       descr, rows);
	total = (10 + len + 1 + 63) / 64 * 64;
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	fputc((int)((total - 10) & 0xff), f);
	fputc((int)((total - 10) >> 8), f);
	fputs(dict, f);
	for (len += 10; len < total - 1; len++)
		fputc(' ', f);
	fputc('\n', f);
}

static void put_le64(FILE *f, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	fwrite(b, 1, 8, f);
}

static void put_f64(FILE *f, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	put_le64(f, v);
}

void wfe_npy_header(FILE *f, const char *descr, size_t rows, size_t cols)
{
	npy_header(f, descr, rows, cols, cols > 0);
}

void wfe_npy_f64(FILE *f, double v)
{
	put_f64(f, v);
}

void wfe_npy_i64(FILE *f, int64_t v)
{
	put_le64(f, (uint64_t)v);
}

int wfe_write_npy_f64(const char *path, const double *v, size_t rows, size_t cols, char *err,
		      size_t errlen)
{
	struct tmpfile t;
	size_t i;
	int rc = tmp_open(&t, path, err, errlen);

	if (rc)
		return rc;
	npy_header(t.f, "<f8", rows, cols, true);
	for (i = 0; i < rows * cols; i++)
		put_f64(t.f, v[i]);
	return tmp_close(&t, 0, err, errlen);
}

int wfe_write_npy_i64(const char *path, const int64_t *v, size_t n, char *err, size_t errlen)
{
	struct tmpfile t;
	size_t i;
	int rc = tmp_open(&t, path, err, errlen);

	if (rc)
		return rc;
	npy_header(t.f, "<i8", n, 0, false);
	for (i = 0; i < n; i++)
		put_le64(t.f, (uint64_t)v[i]);
	return tmp_close(&t, 0, err, errlen);
}

void wfe_csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int wfe_export_folds_csv(const char *path, const char *dataset, const struct wfe_data *d,
			 const unsigned *fold, char *err, size_t errlen)
{
	struct wfb_dataset ds;
	struct tmpfile t;
	size_t i;
	int rc = wfb_dataset_open(&ds, dataset, err, errlen);

	if (rc)
		return rc;
	rc = tmp_open(&t, path, err, errlen);
	if (rc) {
		wfb_dataset_close(&ds);
		return rc;
	}
	fputs("index,trace,label,fold,site,source\n", t.f);
	for (i = 0; i < d->n; i++) {
		char name[64], lab[32];

		if (d->idx[i] >= ds.n) {
			snprintf(err, errlen, "%s: row %zu is not in the dataset", dataset, i);
			rc = -EINVAL;
			break;
		}
		wfb_entry_name(ds.e[d->idx[i]].site, ds.e[d->idx[i]].instance, name, sizeof(name));
		fprintf(t.f, "%zu,%s,%d,%u,", i, name, d->y[i], fold[i]);
		wfe_csv_field(t.f, wfb_site_label(&ds, d->y[i], lab, sizeof(lab)));
		fputc(',', t.f);
		wfe_csv_field(t.f, ds.e[d->idx[i]].src);
		fputc('\n', t.f);
	}
	wfb_dataset_close(&ds);
	return tmp_close(&t, rc, err, errlen);
}

static void seq_rows(const struct wfb_trace *t, size_t len, FILE *dir, FILE *tt)
{
	size_t j;

	for (j = 0; j < len; j++) {
		double d = j < t->n ? (double)t->pkts[j].dir : 0;
		double s = j < t->n ? (double)t->pkts[j].time_ns / 1e9 : 0;

		put_f64(dir, d);
		put_f64(tt, d * s);
	}
}

int wfe_export_sequences(const char *dataset, const struct wfe_data *d, size_t len,
			 const char *dir_path, const char *tiktok_path, char *err, size_t errlen)
{
	struct tmpfile a, b;
	struct wfb_dataset ds;
	struct wfb_trace t;
	size_t i;
	int rc = wfb_dataset_open(&ds, dataset, err, errlen);

	if (rc)
		return rc;
	rc = tmp_open(&a, dir_path, err, errlen);
	if (rc)
		goto out_ds;
	rc = tmp_open(&b, tiktok_path, err, errlen);
	if (rc) {
		tmp_close(&a, rc, err, errlen);
		goto out_ds;
	}
	npy_header(a.f, "<f8", d->n, len, true);
	npy_header(b.f, "<f8", d->n, len, true);
	wfb_trace_init(&t);
	for (i = 0; !rc && i < d->n; i++) {
		rc = wfb_dataset_read(&ds, d->idx[i], &t, err, errlen);
		if (!rc)
			seq_rows(&t, len, a.f, b.f);
	}
	wfb_trace_free(&t);
	rc = tmp_close(&a, rc, err, errlen);
	rc = tmp_close(&b, rc, err, errlen);
	if (rc) /* the first may have been renamed already */
		unlink(dir_path);
out_ds:
	wfb_dataset_close(&ds);
	return rc;
}

/* ---------------------------------------------------------------- sweep: YAML */

static const char *node_kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE    ? "a mapping"
	       : n->type == YAML_SEQUENCE_NODE ? "a list"
					       : "a value";
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *n, const char *key, size_t klen)
{
	yaml_node_pair_t *p;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == klen &&
		    !memcmp(k->data.scalar.value, key, klen))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static yaml_node_t *seq_get(yaml_document_t *doc, yaml_node_t *n, const char *s, size_t len)
{
	size_t i, idx = 0;

	if (!len || len > 9)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NULL;
		idx = idx * 10 + (size_t)(s[i] - '0');
	}
	if (idx >= (size_t)(n->data.sequence.items.top - n->data.sequence.items.start))
		return NULL;
	return yaml_document_get_node(doc, n->data.sequence.items.start[idx]);
}

/* Follow `path` from the root to a scalar; NULL with the reason in err. */
static yaml_node_t *yaml_walk(yaml_document_t *doc, const char *path, char *err, size_t errlen)
{
	yaml_node_t *n = yaml_document_get_root_node(doc), *next;
	const char *p = path;

	if (!n) {
		snprintf(err, errlen, "the policy is empty");
		return NULL;
	}
	while (1) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (!len) {
			snprintf(err, errlen, "'%s': empty component", path);
			return NULL;
		}
		if (n->type == YAML_MAPPING_NODE) {
			next = map_get(doc, n, p, len);
			if (!next)
				snprintf(err, errlen,
					 "'%s': no key '%.*s' in the mapping at line %zu", path,
					 (int)len, p, n->start_mark.line + 1);
		} else if (n->type == YAML_SEQUENCE_NODE) {
			next = seq_get(doc, n, p, len);
			if (!next)
				snprintf(err, errlen,
					 "'%s': '%.*s' is not an index of the list at line %zu "
					 "(0..%zu)",
					 path, (int)len, p, n->start_mark.line + 1,
					 (size_t)(n->data.sequence.items.top -
						  n->data.sequence.items.start) -
						 1);
		} else {
			snprintf(err, errlen, "'%s': '%.*s' is below the value at line %zu", path,
				 (int)len, p, n->start_mark.line + 1);
			next = NULL;
		}
		if (!next)
			return NULL;
		n = next;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (n->type != YAML_SCALAR_NODE) {
		snprintf(err, errlen, "'%s' is %s (line %zu), not a single value", path,
			 node_kind(n), n->start_mark.line + 1);
		return NULL;
	}
	return n;
}

struct outbuf {
	char *p;
	size_t len, cap;
};

static int out_write(void *data, unsigned char *buf, size_t size)
{
	struct outbuf *o = data;

	if (o->len + size + 1 > o->cap) {
		size_t cap = (o->len + size + 1) * 2;
		char *p = realloc(o->p, cap);

		if (!p)
			return 0;
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, buf, size);
	o->len += size;
	o->p[o->len] = 0;
	return 1;
}

/* Emit (and delete) doc into a new string. */
static int yaml_emit(yaml_document_t *doc, char **out, size_t *outlen, char *err, size_t errlen)
{
	struct outbuf o = { 0 };
	yaml_emitter_t em;
	int ok;

	if (!yaml_emitter_initialize(&em)) {
		yaml_document_delete(doc);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	yaml_emitter_set_output(&em, out_write, &o);
	yaml_emitter_set_unicode(&em, 1);
	ok = yaml_emitter_open(&em) && yaml_emitter_dump(&em, doc) && yaml_emitter_close(&em);
	if (!ok) /* dump deletes the document even when it fails; open failing does not */
		snprintf(err, errlen, "emitting the YAML failed: %s",
			 em.problem ? em.problem : "out of memory");
	yaml_emitter_delete(&em);
	if (!ok || !o.p) {
		free(o.p);
		if (ok)
			snprintf(err, errlen, "emitting the YAML produced nothing");
		return -ENOMEM;
	}
	*out = o.p;
	*outlen = o.len;
	return 0;
}

int wfe_yaml_set(const char *text, size_t len, const char *path, const char *value, char **out,
		 size_t *outlen, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *n;
	char *v;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	yaml_parser_delete(&parser);
	n = yaml_walk(&doc, path, err, errlen);
	v = n ? strdup(value) : NULL;
	if (!v) {
		yaml_document_delete(&doc);
		if (n)
			snprintf(err, errlen, "out of memory");
		return n ? -ENOMEM : -EINVAL;
	}
	free(n->data.scalar.value); /* libyaml's allocator is malloc */
	n->data.scalar.value = (yaml_char_t *)v;
	n->data.scalar.length = strlen(v);
	n->data.scalar.style = YAML_ANY_SCALAR_STYLE;
	return yaml_emit(&doc, out, outlen, err, errlen);
}

int wfe_parse_range(const char *spec, char **name, double **values, size_t *n, size_t max,
		    char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	double from, to, step, span;
	char *end;
	size_t i, count;

	if (!eq || eq == spec) {
		snprintf(err, errlen, "'%s': expected NAME=FROM:TO:STEP", spec);
		return -EINVAL;
	}
	from = strtod(eq + 1, &end);
	if (end == eq + 1 || *end != ':')
		goto bad;
	to = strtod(end + 1, &end);
	if (*end != ':')
		goto bad;
	step = strtod(end + 1, &end);
	if (*end || !isfinite(from) || !isfinite(to) || !(step > 0) || !isfinite(step) || to < from)
		goto bad;
	span = (to - from) / step;
	if (span + 1 > (double)max) {
		snprintf(err, errlen, "'%s': more than %zu values", spec, max);
		return -EINVAL;
	}
	count = (size_t)floor(span + 1e-9) + 1;
	*values = malloc(count * sizeof(double));
	*name = strndup(spec, (size_t)(eq - spec));
	if (!*values || !*name) {
		free(*values);
		free(*name);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < count; i++)
		(*values)[i] = from + (double)i * step;
	*n = count;
	return 0;
bad:
	snprintf(err, errlen, "'%s': expected NAME=FROM:TO:STEP with numbers, STEP > 0, FROM <= TO",
		 spec);
	return -EINVAL;
}
