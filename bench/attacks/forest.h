/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A random forest classifier (Breiman 2001) for the attacks in bench/attacks/:
 * CART trees split on Gini impurity, each grown on a bootstrap sample and trying
 * a random subset of the features at every node; prediction by class vote.
 * k-FP (kfp.c) also uses the leaf each tree puts a sample in.
 *
 * Deterministic: tree t draws from its own stream seeded from (seed, t), so the
 * forest is the same for any number of threads. Details: docs/attacks/kfp.md.
 */
#ifndef WFBENCH_FOREST_H
#define WFBENCH_FOREST_H

#include <stddef.h>
#include <stdint.h>

struct wfa_forest_opts {
	unsigned trees;	       /* number of trees, >= 1 */
	unsigned max_features; /* features tried per split; 0 = floor(sqrt(d)) */
	unsigned min_leaf;     /* fewest samples in a leaf; 0 = 1 */
	unsigned max_depth;    /* 0 = unbounded */
	int no_bootstrap;      /* grow every tree on all n samples (tests) */
	uint64_t seed;
	unsigned threads; /* trees grown in parallel; 0 = 1 */
};

struct wfa_forest;

/*
 * Grow a forest on n rows of d features (X row-major) with labels y (any ints;
 * WFB_UNMON is a class like the others). X must be finite. The forest keeps no
 * pointer into X or y. 0, -EINVAL (message in err) or -ENOMEM.
 */
int wfa_forest_fit(struct wfa_forest **out, const double *X, const int *y, size_t n, size_t d,
		   const struct wfa_forest_opts *o, char *err, size_t errlen);
void wfa_forest_free(struct wfa_forest *f);

unsigned wfa_forest_trees(const struct wfa_forest *f);
size_t wfa_forest_nfeatures(const struct wfa_forest *f);

/* *label: the most voted label (ties: the smallest). Thread-safe. 0 or -ENOMEM. */
int wfa_forest_predict(const struct wfa_forest *f, const double *x, int *label);
/*
 * leaf[t], t < trees: the leaf of tree t that x falls in (a node index, unique
 * within its tree). Two samples share a leaf of tree t iff leaf[t] is equal.
 */
void wfa_forest_leaves(const struct wfa_forest *f, const double *x, uint32_t *leaf);
/* The label tree t's leaf `leaf` votes for. */
int wfa_forest_leaf_label(const struct wfa_forest *f, unsigned t, uint32_t leaf);

/* Gini impurity 1 - sum (c_i / n)^2 of class counts c[0..k-1]; 0 for an empty node. */
double wfa_gini(const size_t *c, size_t k);

#endif /* WFBENCH_FOREST_H */
