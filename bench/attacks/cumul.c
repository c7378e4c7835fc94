// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CUMUL (Panchenko et al., NDSS 2016): four totals plus the cumulative size
 * curve sampled at equidistant points, scaled to [-1,1] per feature, classified
 * by an RBF C-SVC (libsvm) whose C and gamma a grid search with cross-validation
 * on the training set picks. Design and figures: docs/attacks/cumul.md.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsvm/svm.h>

#include "wfguard/core/prng.h"

#include "dataset.h"
#include "attacks.h"

#define CUMUL_TOTALS 4
#define CUMUL_POINTS 100
#define CUMUL_NF     (CUMUL_TOTALS + CUMUL_POINTS)
#define CUMUL_NODES  (CUMUL_NF + 1) /* one row of libsvm nodes with its terminator */

/* The published grid: C = 2^11..2^17, gamma = 2^-3..2^3 (log2 exponents). */
#define GRID_C_LO     11
#define GRID_C_HI     17
#define GRID_G_LO     (-3)
#define GRID_G_HI     3
#define GRID_STEP     2 /* default: 4 x 4 pairs, as the usual reimplementations */
#define GRID_FOLDS    5 /* libsvm grid.py and sklearn GridSearchCV default to 5 (docs) */
#define GRID_MAX_EXPS 7 /* exponents per axis at step 1 */

#define SVM_CACHE_MB 64

/*
 * Default budget of the grid's kernel matrix (docs/attacks/cumul.md): the squared
 * distances and libsvm's precomputed rows take 24 bytes per pair of training rows,
 * so 256 MiB holds it up to ~3400 rows; beyond, every unit computes its kernel anew.
 */
#define GRID_KMAT_MB 256

struct cumul_model {
	double lo[CUMUL_NF]; /* per-feature minimum and maximum over the training set */
	double hi[CUMUL_NF];
	double c, gamma;       /* the pair used */
	struct svm_model *svm; /* owns its support vectors (free_sv) */
};

/* ---------------------------------------------------------------- features */

/* A packet's size as CUMUL counts it: unknown (0) counts as 1 byte. */
static double pkt_bytes(const struct wfb_pkt *p)
{
	return p->size ? (double)p->size : 1.0;
}

/*
 * The cumulative representation: points (a_i, c_i) with a_0 = c_0 = 0,
 * a_i = a_{i-1} + |p_i| and c_i = c_{i-1} + p_i, where p_i is the size signed
 * positive for incoming packets (the paper's drawing). Sampled at
 * x_k = a_N * k / n, k = 1..n, by linear interpolation. Each segment has slope
 * +1 or -1 (its rise is +-|p_i| over a run of |p_i|), so the interpolant at x in
 * segment i is c_{i-1} + sign_i * (x - a_{i-1}).
 */
static void cumul_sample(const struct wfb_trace *t, double total, double *out)
{
	double a = 0, c = 0;
	size_t i = 0;
	int k;

	for (k = 1; k <= CUMUL_POINTS; k++) {
		double x = total * k / CUMUL_POINTS;
		double s = pkt_bytes(&t->pkts[i]);

		while (a + s < x && i + 1 < t->n) {
			a += s;
			c += t->pkts[i].dir == WFB_IN ? s : -s;
			s = pkt_bytes(&t->pkts[++i]);
		}
		out[CUMUL_TOTALS + k - 1] = c + (t->pkts[i].dir == WFB_IN ? 1 : -1) * (x - a);
	}
}

static int cumul_extract(const struct wfb_trace *t, double *out)
{
	double n_in = 0, n_out = 0, s_in = 0, s_out = 0;
	size_t i;

	if (!t || !t->n)
		return -EINVAL;
	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];

		if (p->dir == WFB_IN) {
			n_in++;
			s_in += pkt_bytes(p);
		} else if (p->dir == WFB_OUT) {
			n_out++;
			s_out += pkt_bytes(p);
		} else {
			return -EINVAL;
		}
	}
	out[0] = n_in;
	out[1] = n_out;
	out[2] = s_in;
	out[3] = s_out;
	cumul_sample(t, s_in + s_out, out);
	return 0;
}

/* ---------------------------------------------------------------- scaling */

/* Per-feature range of the training rows (svm-scale's first pass). */
static void scale_fit(struct cumul_model *m, const double *X, size_t n)
{
	size_t i, j;

	for (j = 0; j < CUMUL_NF; j++) {
		m->lo[j] = X[j];
		m->hi[j] = X[j];
	}
	for (i = 1; i < n; i++)
		for (j = 0; j < CUMUL_NF; j++) {
			double v = X[i * CUMUL_NF + j];

			m->lo[j] = fmin(m->lo[j], v);
			m->hi[j] = fmax(m->hi[j], v);
		}
}

/*
 * One row into libsvm nodes, each feature mapped linearly from [lo, hi] to
 * [-1, 1] (values outside the training range land outside; a constant
 * feature becomes 0).
 */
static void scale_row(const struct cumul_model *m, const double *x, struct svm_node *nodes)
{
	int j;

	for (j = 0; j < CUMUL_NF; j++) {
		double span = m->hi[j] - m->lo[j];

		nodes[j].index = j + 1;
		nodes[j].value = span > 0 ? -1.0 + 2.0 * (x[j] - m->lo[j]) / span : 0.0;
	}
	nodes[CUMUL_NF].index = -1;
	nodes[CUMUL_NF].value = 0;
}

/* ---------------------------------------------------------------- parameters */

struct cumul_params {
	double c, gamma; /* > 0 when fixed, 0 = search */
	int folds;
	int step;
	int kmat_mb; /* budget of the grid's kernel matrix; 0 = none */
};

static const char *const cumul_keys[] = {
	"c", "gamma", "grid_folds", "grid_step", "kmat_mb", NULL
};

static int param_int(const char *params, const char *key, int lo, int hi, int *v, char *err,
		     size_t errlen)
{
	double d;
	int rc = wfa_param(params, cumul_keys, key, &d, err, errlen);

	if (rc <= 0)
		return rc;
	if (d != floor(d) || d < lo || d > hi) {
		snprintf(err, errlen, "cumul: %s must be an integer in %d..%d", key, lo, hi);
		return -EINVAL;
	}
	*v = (int)d;
	return 0;
}

static int param_pos(const char *params, const char *key, double *v, char *err, size_t errlen)
{
	int rc = wfa_param(params, cumul_keys, key, v, err, errlen);

	if (rc <= 0)
		return rc;
	if (!(*v > 0)) {
		snprintf(err, errlen, "cumul: %s must be > 0", key);
		return -EINVAL;
	}
	return 0;
}

static int parse_params(const char *params, struct cumul_params *p, char *err, size_t errlen)
{
	int rc;

	p->c = 0;
	p->gamma = 0;
	p->folds = GRID_FOLDS;
	p->step = GRID_STEP;
	p->kmat_mb = GRID_KMAT_MB;
	rc = param_pos(params, "c", &p->c, err, errlen);
	if (!rc)
		rc = param_pos(params, "gamma", &p->gamma, err, errlen);
	if (!rc)
		rc = param_int(params, "grid_folds", 2, 100, &p->folds, err, errlen);
	if (!rc)
		rc = param_int(params, "grid_step", 1, 6, &p->step, err, errlen);
	if (!rc)
		rc = param_int(params, "kmat_mb", 0, 1 << 20, &p->kmat_mb, err, errlen);
	return rc;
}

/* ---------------------------------------------------------------- input checks */

static int check_input(const double *X, const int *y, size_t n, const struct wfa_opts *o, char *err,
		       size_t errlen)
{
	size_t i;

	if (!X || !y || n < 2) {
		snprintf(err, errlen, "cumul: need at least 2 training traces");
		return -EINVAL;
	}
	for (i = 0; i < n * CUMUL_NF; i++)
		if (!isfinite(X[i])) {
			snprintf(err, errlen, "cumul: training row %zu has a non-finite feature",
				 i / CUMUL_NF);
			return -EINVAL;
		}
	for (i = 0; i < n; i++)
		if (y[i] < WFB_UNMON || (y[i] == WFB_UNMON && !o->open_world)) {
			snprintf(err, errlen, "cumul: training label %d of row %zu is not %s", y[i],
				 i, o->open_world ? "a site or unmonitored" : "a site");
			return -EINVAL;
		}
	for (i = 1; i < n; i++)
		if (y[i] != y[0])
			return 0;
	snprintf(err, errlen, "cumul: the training set has a single class");
	return -EINVAL;
}

/* ---------------------------------------------------------------- folds */

struct rank {
	int label;
	size_t pos; /* place in a random permutation */
	size_t row;
};

static int rank_cmp(const void *pa, const void *pb)
{
	const struct rank *a = pa, *b = pb;

	if (a->label != b->label)
		return a->label < b->label ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/*
 * Stratified folds from the seed: rows sorted by label, random order within a
 * label, then dealt round-robin, so every fold gets each class in proportion.
 */
static int make_folds(const int *y, size_t n, int k, uint64_t seed, int *fold)
{
	struct rank *r = malloc(n * sizeof(*r));
	size_t *perm = malloc(n * sizeof(*perm));
	__u64 s = seed ^ 0x43554d554cULL; /* "CUMUL" */
	size_t i;

	if (!r || !perm) {
		free(r);
		free(perm);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)(wfg_splitmix64(&s) % (i + 1));
		size_t tmp = perm[i];

		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (i = 0; i < n; i++)
		r[perm[i]] = (struct rank){ .label = y[perm[i]], .pos = i, .row = perm[i] };
	qsort(r, n, sizeof(*r), rank_cmp);
	for (i = 0; i < n; i++)
		fold[r[i].row] = (int)(i % (size_t)k);
	free(r);
	free(perm);
	return 0;
}

/* ---------------------------------------------------------------- libsvm glue */

static void svm_quiet(const char *s)
{
	(void)s;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void set_quiet(void)
{
	svm_set_print_string_function(svm_quiet);
}

static struct svm_parameter svm_params(double c, double gamma)
{
	return (struct svm_parameter){
		.svm_type = C_SVC,
		.kernel_type = RBF,
		.gamma = gamma,
		.cache_size = SVM_CACHE_MB,
		.eps = 1e-3,
		.C = c,
		.shrinking = 1,
		.probability = 0,
	};
}

/* The data every grid unit shares (read only while units run) and the per-unit results. */
struct grid {
	struct svm_node *nodes; /* n rows of CUMUL_NODES, scaled */
	const int *y;
	const int *fold;
	size_t n;
	int folds;
	int nc, ng;
	double vc[GRID_MAX_EXPS], vg[GRID_MAX_EXPS]; /* values of C and gamma */
	/*
	 * The kernel cache, or NULL: sqd[i * n + j] the squared distance of rows i
	 * and j as libsvm's RBF kernel computes it, and kmat one precomputed-kernel
	 * row per training row for the gamma being searched (n + 2 nodes: the
	 * row's serial number, the kernel against every row, the terminator).
	 */
	double *sqd;
	struct svm_node *kmat;
	size_t *correct; /* [pair * folds + fold] */
	int failed;	 /* -ENOMEM from any worker */
	size_t next;	 /* next unit to take */
	size_t limit;	 /* units below it may run now (one gamma's, with the cache) */
	size_t units;
	size_t done;
	const struct wfa_opts *o; /* progress */
	pthread_mutex_t lock;
};

/*
 * Units are ordered gamma-major (gamma, then C, then the fold), so the kernel
 * cache needs one gamma's matrix at a time; results land in slot pair * folds
 * + fold, pair = C index * ng + gamma index, whatever the order they ran in.
 */
static void unit_split(const struct grid *g, size_t u, int *ci, int *gi, int *f)
{
	size_t per_gamma = (size_t)g->nc * (size_t)g->folds;

	*gi = (int)(u / per_gamma);
	*ci = (int)(u % per_gamma / (size_t)g->folds);
	*f = (int)(u % (size_t)g->folds);
}

static size_t kmat_stride(const struct grid *g)
{
	return g->n + 2;
}

/* Row i's nodes for libsvm: its features, or its precomputed-kernel row. */
static struct svm_node *unit_row(const struct grid *g, size_t i)
{
	if (g->kmat)
		return g->kmat + i * kmat_stride(g);
	return g->nodes + i * CUMUL_NODES;
}

/* Train on every fold but f with one pair; count the right answers on fold f. */
static int grid_unit(const struct grid *g, size_t u, size_t *correct)
{
	struct svm_problem prob = { 0 };
	struct svm_parameter par;
	struct svm_model *m;
	size_t i, ok = 0;
	int ci, gi, f;

	unit_split(g, u, &ci, &gi, &f);
	par = svm_params(g->vc[ci], g->vg[gi]);
	if (g->kmat)
		par.kernel_type = PRECOMPUTED;
	prob.x = malloc(g->n * sizeof(*prob.x));
	prob.y = malloc(g->n * sizeof(*prob.y));
	if (!prob.x || !prob.y) {
		free(prob.x);
		free(prob.y);
		return -ENOMEM;
	}
	for (i = 0; i < g->n; i++)
		if (g->fold[i] != f) {
			prob.x[prob.l] = unit_row(g, i);
			prob.y[prob.l++] = g->y[i];
		}
	m = svm_train(&prob, &par);
	for (i = 0; i < g->n; i++)
		if (g->fold[i] == f && lround(svm_predict(m, unit_row(g, i))) == g->y[i])
			ok++;
	svm_free_and_destroy_model(&m);
	free(prob.x);
	free(prob.y);
	*correct = ok;
	return 0;
}

static void *grid_worker(void *arg)
{
	struct grid *g = arg;

	for (;;) {
		size_t u, ok = 0, pair;
		int rc, ci, gi, f;

		pthread_mutex_lock(&g->lock);
		u = g->failed ? g->limit : g->next++;
		pthread_mutex_unlock(&g->lock);
		if (u >= g->limit)
			return NULL;
		rc = grid_unit(g, u, &ok);
		unit_split(g, u, &ci, &gi, &f);
		pair = (size_t)ci * (size_t)g->ng + (size_t)gi;
		pthread_mutex_lock(&g->lock);
		if (rc)
			g->failed = rc;
		g->correct[pair * (size_t)g->folds + (size_t)f] = ok;
		g->done++;
		if (g->o->progress)
			g->o->progress(g->done, g->units, g->o->progress_arg);
		pthread_mutex_unlock(&g->lock);
	}
}

/* The values of one axis: the fixed one, or 2^lo..2^hi by step in the exponent (hi included). */
static int grid_axis(double fixed, int lo, int hi, int step, double *vals)
{
	int k = 0, e;

	if (fixed > 0) {
		vals[0] = fixed;
		return 1;
	}
	for (e = lo; e < hi && k < GRID_MAX_EXPS - 1; e += step)
		vals[k++] = exp2(e);
	vals[k++] = exp2(hi);
	return k;
}

/* Units from g->next up to g->limit on `threads` threads (this one included). */
static int grid_run_batch(struct grid *g, unsigned threads)
{
	pthread_t tid[64];
	unsigned t, started = 0;

	if (threads == 0)
		threads = 1;
	if (threads > 64)
		threads = 64;
	if (threads > g->limit - g->next)
		threads = (unsigned)(g->limit - g->next);
	for (t = 1; t < threads; t++) {
		if (pthread_create(&tid[t], NULL, grid_worker, g))
			break;
		started++;
	}
	grid_worker(g);
	for (t = 1; t <= started; t++)
		pthread_join(tid[t], NULL);
	return g->failed;
}

/* ---------------------------------------------------------------- kernel cache */

/* libsvm's Kernel::dot over two full rows of nodes, in its order (bit-identical sums). */
static double node_dot(const struct svm_node *a, const struct svm_node *b)
{
	double sum = 0;
	int j;

	for (j = 0; j < CUMUL_NF; j++)
		sum += a[j].value * b[j].value;
	return sum;
}

/*
 * The squared distances as libsvm's RBF kernel forms them in training
 * (x_i.x_i + x_j.x_j - 2 x_i.x_j), so the grid's precomputed kernel is the very
 * matrix libsvm would compute for every unit, once instead of per unit.
 */
static void kcache_distances(struct grid *g)
{
	double *sq = g->sqd; /* the diagonal first holds x_i.x_i */
	size_t n = g->n, i, j;

	for (i = 0; i < n; i++)
		sq[i * n + i] = node_dot(g->nodes + i * CUMUL_NODES, g->nodes + i * CUMUL_NODES);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			double d = sq[i * n + i] + sq[j * n + j] -
				   2 * node_dot(g->nodes + i * CUMUL_NODES,
						g->nodes + j * CUMUL_NODES);

			sq[i * n + j] = d;
			sq[j * n + i] = d;
		}
	for (i = 0; i < n; i++)
		sq[i * n + i] = 0; /* what x_i.x_i + x_i.x_i - 2 x_i.x_i gives */
}

/* The precomputed-kernel rows for one gamma: exp(-gamma d^2), as kernel_rbf. */
static void kcache_fill(struct grid *g, double gamma)
{
	size_t n = g->n, w = kmat_stride(g), i, j;

	for (i = 0; i < n; i++) {
		struct svm_node *row = g->kmat + i * w;

		row[0] = (struct svm_node){ .index = 0, .value = (double)(i + 1) };
		for (j = 0; j < n; j++)
			row[j + 1] = (struct svm_node){ .index = (int)(j + 1),
							.value = exp(-gamma * g->sqd[i * n + j]) };
		row[n + 1] = (struct svm_node){ .index = -1, .value = 0 };
	}
}

/* Allocate the cache when it fits the budget; without it the grid computes kernels per unit. */
static void kcache_alloc(struct grid *g, int budget_mb)
{
	double bytes = (double)g->n * (double)g->n * sizeof(double) +
		       (double)g->n * (double)kmat_stride(g) * sizeof(struct svm_node);

	if (bytes > (double)budget_mb * 1048576.0)
		return;
	g->sqd = malloc(g->n * g->n * sizeof(*g->sqd));
	g->kmat = malloc(g->n * kmat_stride(g) * sizeof(*g->kmat));
	if (!g->sqd || !g->kmat) { /* not an error: the slower path needs no memory */
		free(g->sqd);
		free(g->kmat);
		g->sqd = NULL;
		g->kmat = NULL;
		return;
	}
	kcache_distances(g);
}

static int grid_run(struct grid *g, int kmat_mb, unsigned threads)
{
	size_t per_gamma = (size_t)g->nc * (size_t)g->folds;
	int gi, rc = 0;

	kcache_alloc(g, kmat_mb);
	if (!g->kmat) {
		g->limit = g->units;
		rc = grid_run_batch(g, threads);
	}
	for (gi = 0; g->kmat && !rc && gi < g->ng; gi++) {
		kcache_fill(g, g->vg[gi]);
		g->next = (size_t)gi * per_gamma;
		g->limit = g->next + per_gamma;
		rc = grid_run_batch(g, threads);
	}
	free(g->sqd);
	free(g->kmat);
	return rc;
}

/*
 * The pair with the best cross-validated accuracy; ties go to the smaller C,
 * then the smaller gamma, whatever the thread count or the order units ran in.
 */
static void grid_best(const struct grid *g, double *c, double *gamma)
{
	size_t best = 0, best_ok = 0;
	int pair, f;

	for (pair = 0; pair < g->nc * g->ng; pair++) {
		size_t ok = 0;

		for (f = 0; f < g->folds; f++)
			ok += g->correct[(size_t)pair * (size_t)g->folds + (size_t)f];
		if (pair == 0 || ok > best_ok) {
			best = (size_t)pair;
			best_ok = ok;
		}
	}
	*c = g->vc[best / (size_t)g->ng];
	*gamma = g->vg[best % (size_t)g->ng];
}

static int grid_search(struct svm_node *nodes, const int *y, size_t n, const struct cumul_params *p,
		       const struct wfa_opts *o, double *c, double *gamma, char *err, size_t errlen)
{
	struct grid g = { .nodes = nodes, .y = y, .n = n, .folds = p->folds, .o = o };
	int *fold = malloc(n * sizeof(*fold));
	int rc;

	g.nc = grid_axis(p->c, GRID_C_LO, GRID_C_HI, p->step, g.vc);
	g.ng = grid_axis(p->gamma, GRID_G_LO, GRID_G_HI, p->step, g.vg);
	g.units = (size_t)(g.nc * g.ng) * (size_t)g.folds;
	g.correct = calloc(g.units, sizeof(*g.correct));
	rc = fold && g.correct ? make_folds(y, n, g.folds, o->seed, fold) : -ENOMEM;
	g.fold = fold;
	if (!rc) {
		pthread_mutex_init(&g.lock, NULL);
		rc = grid_run(&g, p->kmat_mb, o->threads);
		pthread_mutex_destroy(&g.lock);
	}
	if (!rc)
		grid_best(&g, c, gamma);
	else
		snprintf(err, errlen, "cumul: grid search: %s", strerror(-rc));
	free(fold);
	free(g.correct);
	return rc;
}

/*
 * libsvm's model points into the training nodes; copy the support vectors
 * into one block the model owns (free_sv: svm_free_model_content frees SV[0]).
 */
static int own_support_vectors(struct svm_model *m)
{
	struct svm_node *block;
	int i;

	if (m->l <= 0)
		return 0;
	block = malloc((size_t)m->l * CUMUL_NODES * sizeof(*block));
	if (!block)
		return -ENOMEM;
	for (i = 0; i < m->l; i++) {
		memcpy(block + (size_t)i * CUMUL_NODES, m->SV[i], CUMUL_NODES * sizeof(*block));
		m->SV[i] = block + (size_t)i * CUMUL_NODES;
	}
	m->free_sv = 1;
	return 0;
}

static int train_final(struct cumul_model *m, struct svm_node *nodes, const int *y, size_t n,
		       char *err, size_t errlen)
{
	struct svm_parameter par = svm_params(m->c, m->gamma);
	struct svm_problem prob = { .l = (int)n };
	const char *bad;
	size_t i;
	int rc = 0;

	prob.x = malloc(n * sizeof(*prob.x));
	prob.y = malloc(n * sizeof(*prob.y));
	if (!prob.x || !prob.y) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		prob.x[i] = nodes + i * CUMUL_NODES;
		prob.y[i] = y[i];
	}
	bad = svm_check_parameter(&prob, &par);
	if (bad) {
		snprintf(err, errlen, "cumul: libsvm: %s", bad);
		rc = -EINVAL;
		goto out;
	}
	m->svm = svm_train(&prob, &par);
	rc = own_support_vectors(m->svm);
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "cumul: out of memory");
	free(prob.x);
	free(prob.y);
	return rc;
}

/* ---------------------------------------------------------------- the attack */

static void cumul_free(void *model)
{
	struct cumul_model *m = model;

	if (!m)
		return;
	if (m->svm)
		svm_free_and_destroy_model(&m->svm);
	free(m);
}

static int cumul_fit(void **model, const double *X, const int *y, size_t n,
		     const struct wfa_opts *o, char *err, size_t errlen)
{
	struct cumul_params p;
	struct cumul_model *m = NULL;
	struct svm_node *nodes = NULL;
	size_t i;
	int rc;

	*model = NULL;
	rc = parse_params(o->params, &p, err, errlen);
	if (!rc)
		rc = check_input(X, y, n, o, err, errlen);
	if (!rc && (size_t)p.folds > n && !(p.c > 0 && p.gamma > 0)) {
		snprintf(err, errlen, "cumul: grid_folds %d > %zu training traces", p.folds, n);
		rc = -EINVAL;
	}
	if (rc)
		return rc;
	pthread_once(&quiet_once, set_quiet);
	m = calloc(1, sizeof(*m));
	nodes = malloc(n * CUMUL_NODES * sizeof(*nodes));
	if (!m || !nodes) {
		snprintf(err, errlen, "cumul: out of memory");
		rc = -ENOMEM;
		goto out;
	}
	scale_fit(m, X, n);
	for (i = 0; i < n; i++)
		scale_row(m, X + i * CUMUL_NF, nodes + i * CUMUL_NODES);
	m->c = p.c;
	m->gamma = p.gamma;
	if (!(p.c > 0 && p.gamma > 0))
		rc = grid_search(nodes, y, n, &p, o, &m->c, &m->gamma, err, errlen);
	if (!rc)
		rc = train_final(m, nodes, y, n, err, errlen);
out:
	free(nodes);
	if (rc)
		cumul_free(m);
	else
		*model = m;
	return rc;
}

static int cumul_predict(const void *model, const double *x, int *label)
{
	const struct cumul_model *m = model;
	struct svm_node nodes[CUMUL_NODES];
	int j;

	if (!m || !x || !label)
		return -EINVAL;
	for (j = 0; j < CUMUL_NF; j++)
		if (!isfinite(x[j]))
			return -EINVAL;
	scale_row(m, x, nodes);
	*label = (int)lround(svm_predict(m->svm, nodes));
	return 0;
}

static int cumul_check(const struct wfa_shape *s, char *err, size_t errlen)
{
	struct cumul_params p;

	return parse_params(s->params, &p, err, errlen);
}

const struct wfa_attack wfa_cumul = {
	.name = "cumul",
	.cite = "Panchenko et al., Website Fingerprinting at Internet Scale, NDSS 2016",
	.nfeatures = CUMUL_NF,
	.extract = cumul_extract,
	.fit = cumul_fit,
	.predict = cumul_predict,
	.free = cumul_free,
	.check = cumul_check,
};
