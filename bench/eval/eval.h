/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The evaluation engine: an attack (bench/attacks/attacks.h) on a dataset.
 * Feature matrices, stratified k-fold cross-validation, closed- and open-world
 * metrics with confidence intervals, exports for attacks written elsewhere
 * (CSV, .npy), and the policy sweep's YAML substitution. docs/evaluation.md states every
 * definition.
 *
 * Library code: no printing; 0 or -errno with one line in err.
 * Determinism: folds derive from the seed only; results do not depend on the
 * number of threads.
 */
#ifndef WFBENCH_EVAL_H
#define WFBENCH_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "attacks.h"

#define WFE_MAX_FOLDS 100
#define WFE_SEQ_LEN   5000 /* default length of exported DF / Tik-Tok sequences */

/* A feature matrix: one row per usable trace of a dataset. */
struct wfe_data {
	size_t n, nf;	/* rows, features per row */
	double *X;	/* n * nf, row-major */
	int *y;		/* site 0..sites-1 or WFB_UNMON */
	size_t *idx;	/* the row's trace in the dataset (ds->e[idx]) */
	unsigned sites; /* monitored classes */
	size_t dropped; /* traces the attack could not use (extract -EINVAL) */
};

/*
 * Every monitored trace of `dataset` (and every unmonitored one if open_world)
 * through a->extract, `threads` at a time; rows in dataset order. Open world
 * on a dataset without unmonitored traces is an error.
 */
int wfe_load_features(const char *dataset, const struct wfa_attack *a, bool open_world,
		      unsigned threads, struct wfe_data *d, char *err, size_t errlen);
void wfe_data_free(struct wfe_data *d);

/*
 * Stratified k-fold assignment: fold[i] in 0..k-1 for each of the n labels.
 * Strata are the labels (WFB_UNMON is one stratum). Each stratum is shuffled
 * by a PRNG seeded with `seed` and dealt round-robin, continuing where the
 * previous stratum stopped: every stratum's count per fold and every fold's
 * size differ by at most one. A stratum with fewer than k members is an error.
 */
int wfe_folds(const int *y, size_t n, unsigned k, uint64_t seed, unsigned *fold, char *err,
	      size_t errlen);

/* Mean and two-sided 95% Student-t interval over n values (n-1 degrees of freedom). */
struct wfe_ci {
	double mean, sd, half; /* mean ± half; sd is the sample standard deviation */
	unsigned n;
};
/* The 0.975 quantile of Student's t with df degrees of freedom (df >= 1). */
double wfe_t975(unsigned df);
void wfe_ci(const double *v, unsigned n, struct wfe_ci *ci);

/* Open world: how the test traces were classified. */
struct wfe_ow_counts {
	size_t tp; /* monitored, predicted its own site */
	size_t wp; /* monitored, predicted another monitored site */
	size_t fn; /* monitored, predicted unmonitored */
	size_t fp; /* unmonitored, predicted some monitored site */
	size_t tn; /* unmonitored, predicted unmonitored */
};

struct wfe_ow_metrics {
	double tpr;	    /* tp / monitored */
	double wpr;	    /* wp / monitored */
	double fpr;	    /* fp / unmonitored */
	double precision;   /* tp / (tp + wp + fp) */
	double recall;	    /* tp / monitored (= tpr) */
	double r_precision; /* tpr / (tpr + wpr + r * fpr) */
	double r;
};

/* Count one prediction. */
void wfe_ow_count(struct wfe_ow_counts *c, int truth, int pred);
/* Rates from counts; a rate whose denominator is 0 is NAN. */
void wfe_ow_metrics(const struct wfe_ow_counts *c, double r, struct wfe_ow_metrics *m);

struct wfe_cv_opts {
	unsigned folds;
	uint64_t seed;	    /* folds and the attack's own randomness */
	unsigned threads;   /* 0 = 1 */
	bool open_world;    /* the data holds WFB_UNMON rows, trained on as a class */
	const char *params; /* the attack's key=value list, or NULL */
	double r;	    /* base-rate ratio of r-precision (unmonitored per monitored) */
	/* Optional: called after each fold. */
	void (*progress)(unsigned done, unsigned folds, void *arg);
	/*
	 * Optional: inside fold `fold` (0-based), the fit's own steps done of total
	 * (wfa_opts.progress), for the attacks that report them (CUMUL, k-NN).
	 */
	void (*fit_progress)(unsigned fold, unsigned folds, size_t done, size_t total, void *arg);
	void *progress_arg;
	/* Optional: stop between folds when *stop becomes true (-EINTR). */
	volatile int *stop;
};

struct wfe_result {
	unsigned folds;
	double acc[WFE_MAX_FOLDS]; /* per fold: correct / tested (unmonitored correct if UNMON) */
	struct wfe_ci acc_ci;
	/* Open world only: per-fold TPR and FPR with their intervals, pooled counts. */
	double tpr[WFE_MAX_FOLDS], fpr[WFE_MAX_FOLDS];
	struct wfe_ci tpr_ci, fpr_ci;
	struct wfe_ow_counts ow;
	struct wfe_ow_metrics owm;
	int *pred; /* d->n predicted labels (each row predicted in its held-out fold) */
};

/*
 * Cross-validate attack a on d with the fold assignment `fold` (wfe_folds):
 * per fold, fit on the other folds and predict the held-out one (rows in
 * parallel). r->pred is allocated; free with wfe_result_free.
 */
int wfe_cv(const struct wfa_attack *a, const struct wfe_data *d, const unsigned *fold,
	   const struct wfe_cv_opts *o, struct wfe_result *r, char *err, size_t errlen);
void wfe_result_free(struct wfe_result *r);

/* ---------------------------------------------------------------- export */

/* CSV: header "label,f1,...,fn", then one row per trace (%.17g). */
int wfe_export_csv(const char *path, const struct wfe_data *d, char *err, size_t errlen);
/*
 * .npy (format 1.0, little-endian): a C-order float64 matrix rows x cols, or
 * an int64 vector (cols == 0). Written through a temporary file and a rename.
 */
int wfe_write_npy_f64(const char *path, const double *v, size_t rows, size_t cols, char *err,
		      size_t errlen);
int wfe_write_npy_i64(const char *path, const int64_t *v, size_t n, char *err, size_t errlen);
/*
 * The same piece by piece, for files written row by row: the header (a
 * matrix rows x cols, or a vector when cols is 0; descr "<f8" or "<i8"), then
 * rows * cols (or rows) values in C order.
 */
void wfe_npy_header(FILE *f, const char *descr, size_t rows, size_t cols);
void wfe_npy_f64(FILE *f, double v);
void wfe_npy_i64(FILE *f, int64_t v);
/* One CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
void wfe_csv_field(FILE *f, const char *s);
/*
 * "index,trace,label,fold,site,source" per row (site: its name or label; trace is the dataset file
 * name without
 * ".trace"), to reproduce the split elsewhere.
 */
int wfe_export_folds_csv(const char *path, const char *dataset, const struct wfe_data *d,
			 const unsigned *fold, char *err, size_t errlen);
/*
 * The rows' traces as two float64 matrices n x len, zero-padded or truncated:
 * direction (+1 out, -1 in; Deep Fingerprinting's input) and direction times
 * the packet's time in seconds (Tik-Tok's). Read sequentially from `dataset`.
 */
int wfe_export_sequences(const char *dataset, const struct wfe_data *d, size_t len,
			 const char *dir_path, const char *tiktok_path, char *err, size_t errlen);

/* ---------------------------------------------------------------- sweep */

/*
 * Replace the scalar at `path` in the YAML text by `value` and re-emit it
 * (comments are not kept). path is dotted: mapping keys, and sequence indices
 * as decimal numbers ("defence.0.params.N_c"). A path that does not lead to a
 * scalar is -EINVAL with the reason in err. *out is malloc'd, NUL-terminated.
 */
int wfe_yaml_set(const char *text, size_t len, const char *path, const char *value, char **out,
		 size_t *outlen, char *err, size_t errlen);

/*
 * "NAME=FROM:TO:STEP" -> the name (malloc'd) and the values FROM, FROM+STEP,
 * ... up to TO inclusive (STEP > 0; FROM <= TO; at most max values).
 */
int wfe_parse_range(const char *spec, char **name, double **values, size_t *n, size_t max,
		    char *err, size_t errlen);

#endif /* WFBENCH_EVAL_H */
