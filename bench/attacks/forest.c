// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Random forest (forest.h): CART trees on Gini impurity, grown depth first with
 * an explicit stack. At each node the node's samples are sorted on each
 * candidate feature and every cut between two distinct values is scored in
 * O(1) from running class counts. Trees are grown by a small pool of threads
 * that take tree numbers from a shared counter; tree t only ever draws from its
 * own stream, so scheduling cannot change the result.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfguard/core/prng.h"

#include "forest.h"

#define LEAF (-1)

struct node {
	double thr;    /* split: x[feat] <= thr goes to `left`, else left + 1 */
	int32_t feat;  /* LEAF for a leaf */
	uint32_t left; /* first child (the second is left + 1) */
	uint32_t cls;  /* leaf: class index it votes for */
};

struct tree {
	struct node *nodes;
	uint32_t n;
};

struct wfa_forest {
	size_t d;
	size_t nclasses;
	int *labels; /* class index -> label, ascending */
	unsigned ntrees;
	struct tree *trees;
};

/* What every worker reads (never writes) while growing trees. */
struct grow {
	const double *cols;  /* d x n, column-major copy of X */
	const uint32_t *cls; /* class index of each sample */
	size_t n, d, k;
	unsigned mtry, min_leaf, max_depth;
	bool bootstrap;
	uint64_t seed;
	struct tree *trees;
	unsigned ntrees;
	unsigned next; /* next tree to grow (atomic) */
	int rc;	       /* first error (atomic) */
};

struct pair {
	double v;
	uint32_t c;
};

struct frame {
	uint32_t lo, hi, depth, node;
};

/* One worker's scratch space, reused for all its trees. */
struct scratch {
	uint32_t *idx;	/* samples of the tree, partitioned node by node */
	struct pair *p; /* one node's (value, class) on one feature */
	uint32_t *feats;
	size_t *cnt, *lc, *rc;
	struct frame *stack;
	__u64 rng;
};

struct split {
	int32_t feat;
	double thr;
	double score; /* sum over both sides of sum_c n_c^2 / n_side: higher is purer */
};

double wfa_gini(const size_t *c, size_t k)
{
	double n = 0, s = 0;
	size_t i;

	for (i = 0; i < k; i++)
		n += (double)c[i];
	if (n == 0)
		return 0;
	for (i = 0; i < k; i++)
		s += ((double)c[i] / n) * ((double)c[i] / n);
	return 1 - s;
}

/* ---------------------------------------------------------------- random numbers */

static __u64 tree_stream(uint64_t seed, unsigned t)
{
	__u64 s = seed;
	__u64 h = wfg_splitmix64(&s);

	s = h ^ ((__u64)t * 0xd1b54a32d192ed03ULL);
	return wfg_splitmix64(&s);
}

/* Uniform in [0, bound), bound >= 1 (multiply-shift; bias < bound / 2^64). */
static uint32_t rnd_below(__u64 *s, uint64_t bound)
{
	unsigned __int128 m = (unsigned __int128)wfg_splitmix64(s) * bound;

	return (uint32_t)(m >> 64);
}

/* ---------------------------------------------------------------- sorting */

static void insertion_sort(struct pair *a, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct pair x = a[i];

		for (j = i; j > 0 && a[j - 1].v > x.v; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

static double median3(double a, double b, double c)
{
	if (a < b)
		return b < c ? b : (a < c ? c : a);
	return a < c ? a : (b < c ? c : b);
}

/* Hoare partition around a pivot value; returns j with a[0..j] <= pivot <= a[j+1..]. */
static size_t hoare(struct pair *a, size_t n)
{
	double pv = median3(a[0].v, a[n / 2].v, a[n - 1].v);
	size_t i = 0, j = n - 1;

	for (;;) {
		struct pair t;

		while (a[i].v < pv)
			i++;
		while (a[j].v > pv)
			j--;
		if (i >= j)
			return j;
		t = a[i];
		a[i] = a[j];
		a[j] = t;
		i++;
		j--;
	}
}

/* Quicksort on the value; recursion only into the smaller half (depth <= log n). */
static void sort_pairs(struct pair *a, size_t n)
{
	while (n > 16) {
		size_t m = hoare(a, n) + 1;

		if (m < n - m) {
			sort_pairs(a, m);
			a += m;
			n -= m;
		} else {
			sort_pairs(a + m, n - m);
			n = m;
		}
	}
	insertion_sort(a, n);
}

/* ---------------------------------------------------------------- growing a tree */

static uint32_t count_classes(const struct grow *g, const struct scratch *s, uint32_t lo,
			      uint32_t hi, size_t *cnt)
{
	uint32_t i, best = 0;

	memset(cnt, 0, g->k * sizeof(*cnt));
	for (i = lo; i < hi; i++)
		cnt[g->cls[s->idx[i]]]++;
	for (i = 1; i < g->k; i++)
		if (cnt[i] > cnt[best])
			best = i;
	return best;
}

/* Gather a node's values of feature f; false if they are all equal. */
static bool gather(const struct grow *g, struct scratch *s, uint32_t lo, uint32_t hi, size_t f)
{
	const double *col = g->cols + f * g->n;
	double mn = col[s->idx[lo]], mx = mn;
	uint32_t i;

	for (i = lo; i < hi; i++) {
		double v = col[s->idx[i]];

		s->p[i - lo].v = v;
		s->p[i - lo].c = g->cls[s->idx[i]];
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
	}
	return mn < mx;
}

static double midpoint(double a, double b)
{
	double m = a / 2 + b / 2;

	return m >= b || m < a ? a : m;
}

/* The best cut of the sorted s->p[0..m-1] (class counts cnt), into *best if better. */
static void scan_feature(const struct grow *g, struct scratch *s, uint32_t m, const size_t *cnt,
			 int32_t f, struct split *best)
{
	double sl = 0, sr = 0;
	uint32_t i;

	memset(s->lc, 0, g->k * sizeof(*s->lc));
	memcpy(s->rc, cnt, g->k * sizeof(*s->rc));
	for (i = 0; i < g->k; i++)
		sr += (double)cnt[i] * (double)cnt[i];
	for (i = 0; i + 1 < m; i++) {
		uint32_t c = s->p[i].c, nl = i + 1, nr = m - nl;
		double score;

		sl += 2.0 * (double)s->lc[c] + 1;
		s->lc[c]++;
		sr -= 2.0 * (double)s->rc[c] - 1;
		s->rc[c]--;
		if (s->p[i].v == s->p[i + 1].v || nl < g->min_leaf || nr < g->min_leaf)
			continue;
		score = sl / nl + sr / nr;
		if (score > best->score) {
			best->score = score;
			best->feat = f;
			best->thr = midpoint(s->p[i].v, s->p[i + 1].v);
		}
	}
}

/*
 * Try features in a random order until mtry of them were not constant on the
 * node (or all were tried); best->feat stays LEAF when no cut exists.
 */
static void find_split(const struct grow *g, struct scratch *s, uint32_t lo, uint32_t hi,
		       const size_t *cnt, struct split *best)
{
	unsigned tried = 0;
	size_t j;

	best->feat = LEAF;
	best->score = -1;
	for (j = 0; j < g->d && tried < g->mtry; j++) {
		size_t r = j + rnd_below(&s->rng, g->d - j);
		uint32_t f = s->feats[r];

		s->feats[r] = s->feats[j];
		s->feats[j] = f;
		if (!gather(g, s, lo, hi, f))
			continue;
		tried++;
		sort_pairs(s->p, hi - lo);
		scan_feature(g, s, hi - lo, cnt, (int32_t)f, best);
	}
}

/* Put the node's samples going left first; returns where the right ones start. */
static uint32_t partition(const struct grow *g, struct scratch *s, uint32_t lo, uint32_t hi,
			  const struct split *sp)
{
	const double *col = g->cols + (size_t)sp->feat * g->n;
	uint32_t i = lo, j = hi;

	while (i < j) {
		if (col[s->idx[i]] <= sp->thr) {
			i++;
		} else {
			uint32_t t = s->idx[i];

			s->idx[i] = s->idx[--j];
			s->idx[j] = t;
		}
	}
	return i;
}

static bool pure(const size_t *cnt, size_t k, uint32_t m)
{
	size_t i;

	for (i = 0; i < k; i++)
		if (cnt[i])
			return cnt[i] == m;
	return true;
}

/* Grow one tree into t from the samples in s->idx[0..m-1]. */
static int grow_tree(const struct grow *g, struct scratch *s, uint32_t m, struct tree *t)
{
	size_t cap = 2 * (size_t)m - 1, sp = 0;
	struct node *nodes;

	nodes = malloc(cap * sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	t->n = 1;
	s->stack[sp++] = (struct frame){ 0, m, 0, 0 };
	while (sp) {
		struct frame fr = s->stack[--sp];
		struct node *nd = &nodes[fr.node];
		uint32_t n = fr.hi - fr.lo, mid;
		struct split best;

		nd->feat = LEAF;
		nd->cls = count_classes(g, s, fr.lo, fr.hi, s->cnt);
		if (n < 2 * g->min_leaf || pure(s->cnt, g->k, n) ||
		    (g->max_depth && fr.depth >= g->max_depth))
			continue;
		find_split(g, s, fr.lo, fr.hi, s->cnt, &best);
		if (best.feat == LEAF)
			continue;
		mid = partition(g, s, fr.lo, fr.hi, &best);
		nd->feat = best.feat;
		nd->thr = best.thr;
		nd->left = t->n;
		t->n += 2;
		s->stack[sp++] = (struct frame){ mid, fr.hi, fr.depth + 1, nd->left + 1 };
		s->stack[sp++] = (struct frame){ fr.lo, mid, fr.depth + 1, nd->left };
	}
	t->nodes = realloc(nodes, t->n * sizeof(*nodes));
	if (!t->nodes)
		t->nodes = nodes;
	return 0;
}

static int build_one(struct grow *g, struct scratch *s, unsigned t)
{
	uint32_t i;

	s->rng = tree_stream(g->seed, t);
	for (i = 0; i < g->d; i++)
		s->feats[i] = i;
	for (i = 0; i < g->n; i++)
		s->idx[i] = g->bootstrap ? rnd_below(&s->rng, g->n) : i;
	return grow_tree(g, s, (uint32_t)g->n, &g->trees[t]);
}

static void scratch_free(struct scratch *s)
{
	free(s->idx);
	free(s->p);
	free(s->feats);
	free(s->cnt);
	free(s->stack);
	memset(s, 0, sizeof(*s));
}

static int scratch_init(struct scratch *s, const struct grow *g)
{
	memset(s, 0, sizeof(*s));
	s->idx = malloc(g->n * sizeof(*s->idx));
	s->p = malloc(g->n * sizeof(*s->p));
	s->feats = malloc(g->d * sizeof(*s->feats));
	s->cnt = malloc(3 * g->k * sizeof(*s->cnt));
	s->stack = malloc((g->n + 1) * sizeof(*s->stack));
	if (!s->idx || !s->p || !s->feats || !s->cnt || !s->stack) {
		scratch_free(s);
		return -ENOMEM;
	}
	s->lc = s->cnt + g->k;
	s->rc = s->cnt + 2 * g->k;
	return 0;
}

static void *worker(void *arg)
{
	struct grow *g = arg;
	struct scratch s;
	int rc = scratch_init(&s, g);

	while (!rc && !__atomic_load_n(&g->rc, __ATOMIC_RELAXED)) {
		unsigned t = __atomic_fetch_add(&g->next, 1, __ATOMIC_RELAXED);

		if (t >= g->ntrees)
			break;
		rc = build_one(g, &s, t);
	}
	if (rc)
		__atomic_store_n(&g->rc, rc, __ATOMIC_RELAXED);
	scratch_free(&s);
	return NULL;
}

static int grow_all(struct grow *g, unsigned threads)
{
	pthread_t tid[64];
	unsigned i, started = 0;

	if (threads > 64)
		threads = 64;
	if (threads > g->ntrees)
		threads = g->ntrees;
	for (i = 1; i < threads; i++)
		if (!pthread_create(&tid[started], NULL, worker, g))
			started++;
	worker(g);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	return g->rc;
}

/* ---------------------------------------------------------------- fit */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The sorted distinct labels into f->labels, and each sample's class index into cls. */
static int make_classes(struct wfa_forest *f, const int *y, size_t n, uint32_t *cls)
{
	size_t i, k = 0;

	f->labels = malloc(n * sizeof(*f->labels));
	if (!f->labels)
		return -ENOMEM;
	memcpy(f->labels, y, n * sizeof(*y));
	qsort(f->labels, n, sizeof(*f->labels), cmp_int);
	for (i = 0; i < n; i++)
		if (!k || f->labels[i] != f->labels[k - 1])
			f->labels[k++] = f->labels[i];
	f->nclasses = k;
	for (i = 0; i < n; i++) {
		int *p = bsearch(&y[i], f->labels, k, sizeof(*y), cmp_int);

		cls[i] = (uint32_t)(p - f->labels);
	}
	return 0;
}

static int check_input(const double *X, size_t n, size_t d, const struct wfa_forest_opts *o,
		       char *err, size_t errlen)
{
	size_t i;

	if (!n || !d || n >= UINT32_MAX / 2 || d >= INT32_MAX) {
		snprintf(err, errlen,
			 "random forest: need 1..2^31 samples and features (got %zu x %zu)", n, d);
		return -EINVAL;
	}
	if (!o->trees || o->max_features > d) {
		snprintf(err, errlen, "random forest: %u trees, %u of %zu features per split",
			 o->trees, o->max_features, d);
		return -EINVAL;
	}
	for (i = 0; i < n * d; i++) {
		if (!isfinite(X[i])) {
			snprintf(err, errlen, "random forest: sample %zu feature %zu is not finite",
				 i / d, i % d);
			return -EINVAL;
		}
	}
	return 0;
}

static unsigned default_mtry(size_t d)
{
	unsigned m = (unsigned)floor(sqrt((double)d));

	return m ? m : 1;
}

int wfa_forest_fit(struct wfa_forest **out, const double *X, const int *y, size_t n, size_t d,
		   const struct wfa_forest_opts *o, char *err, size_t errlen)
{
	struct grow g = { 0 };
	struct wfa_forest *f;
	double *cols = NULL;
	uint32_t *cls = NULL;
	size_t i, j;
	int rc;

	rc = check_input(X, n, d, o, err, errlen);
	if (rc)
		return rc;
	f = calloc(1, sizeof(*f));
	if (f) {
		f->trees = calloc(o->trees, sizeof(*f->trees));
		cols = malloc(n * d * sizeof(*cols));
		cls = malloc(n * sizeof(*cls));
	}
	rc = -ENOMEM;
	if (!f || !f->trees || !cols || !cls || make_classes(f, y, n, cls))
		goto fail;
	f->d = d;
	f->ntrees = o->trees;
	for (i = 0; i < n; i++)
		for (j = 0; j < d; j++)
			cols[j * n + i] = X[i * d + j];
	g = (struct grow){ .cols = cols,
			   .cls = cls,
			   .n = n,
			   .d = d,
			   .k = f->nclasses,
			   .mtry = o->max_features ? o->max_features : default_mtry(d),
			   .min_leaf = o->min_leaf ? o->min_leaf : 1,
			   .max_depth = o->max_depth,
			   .bootstrap = !o->no_bootstrap,
			   .seed = o->seed,
			   .trees = f->trees,
			   .ntrees = o->trees };
	rc = grow_all(&g, o->threads ? o->threads : 1);
	if (rc)
		goto fail;
	free(cols);
	free(cls);
	*out = f;
	return 0;
fail:
	snprintf(err, errlen, "random forest: out of memory (%zu samples x %zu features)", n, d);
	free(cols);
	free(cls);
	wfa_forest_free(f);
	return rc;
}

void wfa_forest_free(struct wfa_forest *f)
{
	unsigned t;

	if (!f)
		return;
	for (t = 0; f->trees && t < f->ntrees; t++)
		free(f->trees[t].nodes);
	free(f->trees);
	free(f->labels);
	free(f);
}

/* ---------------------------------------------------------------- use */

unsigned wfa_forest_trees(const struct wfa_forest *f)
{
	return f->ntrees;
}

size_t wfa_forest_nfeatures(const struct wfa_forest *f)
{
	return f->d;
}

static uint32_t leaf_of(const struct tree *t, const double *x)
{
	uint32_t i = 0;

	while (t->nodes[i].feat != LEAF)
		i = t->nodes[i].left + (x[t->nodes[i].feat] <= t->nodes[i].thr ? 0 : 1);
	return i;
}

void wfa_forest_leaves(const struct wfa_forest *f, const double *x, uint32_t *leaf)
{
	unsigned t;

	for (t = 0; t < f->ntrees; t++)
		leaf[t] = leaf_of(&f->trees[t], x);
}

int wfa_forest_leaf_label(const struct wfa_forest *f, unsigned t, uint32_t leaf)
{
	return f->labels[f->trees[t].nodes[leaf].cls];
}

int wfa_forest_predict(const struct wfa_forest *f, const double *x, int *label)
{
	unsigned *votes = calloc(f->nclasses, sizeof(*votes));
	size_t i, best = 0;
	unsigned t;

	if (!votes)
		return -ENOMEM;
	for (t = 0; t < f->ntrees; t++)
		votes[f->trees[t].nodes[leaf_of(&f->trees[t], x)].cls]++;
	for (i = 1; i < f->nclasses; i++)
		if (votes[i] > votes[best])
			best = i;
	*label = f->labels[best];
	free(votes);
	return 0;
}
