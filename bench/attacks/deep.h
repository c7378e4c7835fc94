/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The deep attacks (DF, Tik-Tok, RF: docs/attacks/) share everything but
 * their features and their network: parameters, labels, training, progress,
 * prediction and model files (deep.c). Each is a struct deep_spec.
 */
#ifndef WFBENCH_DEEP_H
#define WFBENCH_DEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attacks.h"
#include "nn.h"

/* Features per trace of every deep attack: the first 5000 packets (the papers' input length). */
#define DEEP_INPUT_MAX 5000

/* What --params can set; each attack has its own defaults (docs/attacks/). */
struct deep_params {
	size_t length; /* packets used, 16..5000 */
	size_t batch;
	unsigned epochs, patience;
	double lr, val, bn_momentum;
	double lr_end;	     /* the last epoch's lr / the first's; 0 = constant */
	double weight_decay; /* L2 added to the gradients */
	bool adam;	     /* Adam, else Adamax */
	size_t slots;	     /* RF: columns of the traffic aggregation matrix */
	double span;	     /* RF: seconds the matrix covers (later packets: last column) */
	double offset;	     /* Tik-Tok: seconds added to every packet time (tiktok.md) */
};

struct deep_spec {
	const char *name;
	struct deep_params defaults;
	/* which of the optional keys the attack takes: slots and span, or offset */
	bool tam, timed;
	/* the network for p and `classes` outputs, from seed */
	int (*build)(struct nn_net *net, const struct deep_params *p, size_t classes,
		     uint64_t seed);
	/* one feature row -> the network's input (NULL: its first `length` values) */
	void (*input)(const double *row, float *in, const struct deep_params *p);
};

int deep_fit(const struct deep_spec *s, void **model, const double *X, const int *y, size_t n,
	     const struct wfa_opts *o, char *err, size_t errlen);
int deep_predict(const void *model, const double *x, int *label);
/* The attack's parameters refused before any work (wfa_attack.check). 0 or -EINVAL. */
int deep_check(const struct deep_spec *s, const char *params, char *err, size_t errlen);
void deep_free(void *model);
/*
 * A fitted model to a file and back (format: docs/attacks/df.md): a header
 * naming the attack, its input and the caller's labels, then the network.
 * Loading refuses a file of another attack.
 */
int deep_save(const void *model, const char *path, char *err, size_t errlen);
int deep_load(const struct deep_spec *s, void **model, const char *path, char *err, size_t errlen);

#endif /* WFBENCH_DEEP_H */
