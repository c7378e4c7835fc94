/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The website-fingerprinting attacks (bench/attacks/): the interface every
 * attack implements, and the registry of those wfbench knows. Evaluating them
 * (cross-validation, metrics, exports) is bench/eval/eval.h.
 *
 * An attack is two halves an evaluation can drive separately:
 *   - a feature extractor: one trace -> a fixed-length vector of doubles
 *     (`nfeatures` of them). Pure, thread-safe, no model needed, so features can
 *     be computed once per trace and exported for attacks written elsewhere;
 *   - a classifier: fit on labelled feature vectors, then predict the label of
 *     one vector. Labels are 0..sites-1 for monitored pages and WFB_UNMON (-1)
 *     for unmonitored ones (open world). predict() never changes the model, so
 *     many threads may call it at once.
 *
 * Deep attacks (DF, Tik-Tok, RF) fit the same shape: their "features" are the
 * direction or timing sequence, truncated or padded to a fixed length.
 *
 * Errors: functions return 0 or a negative errno and write one line into the
 * caller's err buffer. Determinism: everything random derives from opts->seed;
 * the result must not depend on opts->threads.
 */
#ifndef WFBENCH_ATTACKS_H
#define WFBENCH_ATTACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace.h"

struct wfa_opts {
	uint64_t seed;
	unsigned threads;   /* worker threads for fit/predict loops; 0 = 1 */
	bool open_world;    /* training labels include WFB_UNMON */
	const char *params; /* attack-specific "key=value,key=value" or NULL (defaults) */
	/* may be NULL; a fit that trains in steps stops when it turns true, keeping what is done */
	volatile const int *stop;
	/*
	 * May be NULL: a slow fit reports its own steps (CUMUL's grid units, k-NN's
	 * weight-learning points) as done of total, from any of its threads but never
	 * two at once, so a terminal can show progress inside a fold. Must be cheap.
	 */
	void (*progress)(size_t done, size_t total, void *arg);
	void *progress_arg;
};

/* What the training sets of an evaluation will look like, known before any work starts. */
struct wfa_shape {
	size_t rows;	    /* the largest training set */
	size_t min_train;   /* the fewest training traces any monitored site has in a fold */
	bool open_world;    /* as in wfa_opts */
	const char *params; /* as in wfa_opts */
};

struct wfa_attack {
	const char *name; /* "knn", "cumul", "kfp" */
	const char *cite; /* the paper, one line */
	size_t nfeatures;
	/* out[0..nfeatures-1]; 0 or -EINVAL (a trace the attack cannot use, e.g. empty). */
	int (*extract)(const struct wfb_trace *t, double *out);
	/*
	 * X: n rows of nfeatures (row-major), y: n labels. On success *model owns
	 * everything it needs (it may keep no pointer into X or y).
	 */
	int (*fit)(void **model, const double *X, const int *y, size_t n, const struct wfa_opts *o,
		   char *err, size_t errlen);
	/* The predicted label of one row; thread-safe. 0 or -errno. */
	int (*predict)(const void *model, const double *x, int *label);
	void (*free)(void *model);
	/* Optional (NULL: not kept): a fitted model to a file and back (wfbench --model). */
	int (*save)(const void *model, const char *path, char *err, size_t errlen);
	int (*load)(void **model, const char *path, char *err, size_t errlen);
	/*
	 * Optional: refuse parameters (unknown keys, values out of range) and
	 * parameters that cannot work on the data's shape (e.g. an open-world
	 * vote of k neighbours when a site has fewer than k training traces),
	 * before features are extracted or files written. 0 or -EINVAL.
	 */
	int (*check)(const struct wfa_shape *s, char *err, size_t errlen);
};

/*
 * "k=5,trees=1000" -> look up one key. Returns 1 and sets *v when present, 0 when
 * absent, -EINVAL (message in err) when the value is not a number or a key is
 * not in `known` (a NULL-terminated list), so typos are caught.
 */
int wfa_param(const char *params, const char *const *known, const char *key, double *v, char *err,
	      size_t errlen);

/* ---------------------------------------------------------------- the registry */

extern const struct wfa_attack wfa_knn;	   /* knn.c: Wang et al., USENIX Security 2014 */
extern const struct wfa_attack wfa_cumul;  /* cumul.c: Panchenko et al., NDSS 2016 */
extern const struct wfa_attack wfa_kfp;	   /* kfp.c: Hayes and Danezis, USENIX Security 2016 */
extern const struct wfa_attack wfa_df;	   /* df.c: Sirinam et al., CCS 2018 */
extern const struct wfa_attack wfa_tiktok; /* df.c: Rahman et al., PETS 2020 */
extern const struct wfa_attack wfa_rf;	   /* rf.c: Shen et al., USENIX Security 2023 */

/* By name ("knn", "cumul", "kfp", "df", "tiktok", "rf"); NULL when unknown. */
const struct wfa_attack *wfa_find(const char *name);
/* NULL-terminated list of every attack, in a stable order. */
const struct wfa_attack *const *wfa_all(void);

#endif /* WFBENCH_ATTACKS_H */
