// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The loss, the optimizers and the training loop (nn.h): seeded shuffles,
 * mini-batches converted from the caller's doubles one batch at a time (the
 * trainer holds one batch's activations, never the whole set's), early
 * stopping on a validation split keeping the best epoch's parameters.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "nn.h"
#include "nn_layers.h"

void nn_set_threads(unsigned threads)
{
	openblas_set_num_threads(threads ? (int)threads : 1);
}

size_t nn_argmax(const float *v, size_t k)
{
	size_t i, best = 0;

	for (i = 1; i < k; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

double nn_softmax_xent(const float *logits, const int *y, size_t b, size_t k, float *dlogits)
{
	double loss = 0;
	size_t s, j;

	for (s = 0; s < b; s++) {
		const float *z = logits + s * k;
		double mx = z[nn_argmax(z, k)], sum = 0;

		for (j = 0; j < k; j++)
			sum += exp((double)z[j] - mx);
		loss += log(sum) + mx - z[y[s]];
		if (dlogits)
			for (j = 0; j < k; j++) {
				double pj = exp((double)z[j] - mx) / sum;

				dlogits[s * k + j] =
					(float)((pj - (j == (size_t)y[s])) / (double)b);
			}
	}
	return loss / (double)b;
}

/* ---------------------------------------------------------------- optimizers */

int nn_optim_init(struct nn_optim *o, enum nn_optim_kind kind, float lr, size_t nparams)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->lr = lr;
	o->beta1 = 0.9f;
	o->beta2 = 0.999f;
	/* Keras's epsilon (DF's Adamax: 1e-8) */
	o->eps = 1e-8f;
	o->n = nparams;
	o->m = calloc(nparams ? nparams : 1, sizeof(float));
	o->v = calloc(nparams ? nparams : 1, sizeof(float));
	if (!o->m || !o->v) {
		nn_optim_free(o);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Adam (Kingma and Ba, 2015, Algorithm 1) and Adamax (its section 7.1):
 * m = b1 m + (1 - b1) g; Adam: v = b2 v + (1 - b2) g^2, step
 * lr * mhat / (sqrt(vhat) + eps); Adamax: u = max(b2 u, |g|), step
 * lr / (1 - b1^t) * m / (u + eps).
 */
void nn_optim_step(struct nn_optim *o, float *params, const float *grads, float weight_decay)
{
	double c1, c2;
	size_t i;

	o->t++;
	c1 = 1.0 - pow(o->beta1, (double)o->t);
	c2 = 1.0 - pow(o->beta2, (double)o->t);
	for (i = 0; i < o->n; i++) {
		float g = grads[i] + weight_decay * params[i];

		o->m[i] = o->beta1 * o->m[i] + (1 - o->beta1) * g;
		if (o->kind == NN_ADAMAX) {
			o->v[i] = fmaxf(o->beta2 * o->v[i], fabsf(g));
			params[i] -= (float)(o->lr / c1) * o->m[i] / (o->v[i] + o->eps);
		} else {
			o->v[i] = o->beta2 * o->v[i] + (1 - o->beta2) * g * g;
			params[i] -=
				(float)(o->lr * (o->m[i] / c1) / (sqrt(o->v[i] / c2) + o->eps));
		}
	}
}

void nn_optim_free(struct nn_optim *o)
{
	free(o->m);
	free(o->v);
	o->m = o->v = NULL;
}

/* ---------------------------------------------------------------- training */

struct trainer {
	struct nn_net *net;
	const struct nn_train_opts *o;
	const double *x;
	size_t stride, insz, k;
	const int *y;
	size_t *order; /* the training rows, reshuffled each epoch */
	size_t ntrain;
	size_t *val; /* the validation rows */
	size_t nval;
	struct nn_work work, infer;
	struct nn_optim optim;
	float *xb, *dlogits;
	int *yb;
	float *best_params, *best_state;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Fisher-Yates with SplitMix64. */
static void shuffle(size_t *v, size_t n, uint64_t *rng)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = (size_t)(nn_rand64(rng) % i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Rows rows[0..b) into the float batch buffer (and their labels). */
static void load_batch(struct trainer *T, const size_t *rows, size_t b)
{
	size_t s, j;

	for (s = 0; s < b; s++) {
		const double *src = T->x + rows[s] * T->stride;

		if (T->o->row)
			T->o->row(src, T->xb + s * T->insz, T->o->row_arg);
		else
			for (j = 0; j < T->insz; j++)
				T->xb[s * T->insz + j] = (float)src[j];
		T->yb[s] = T->y[rows[s]];
	}
}

static double validate(struct trainer *T)
{
	size_t done = 0, right = 0, s;

	while (done < T->nval) {
		size_t b = T->nval - done < T->o->batch ? T->nval - done : T->o->batch;
		const float *z;

		load_batch(T, T->val + done, b);
		z = nn_infer(T->net, &T->infer, T->xb, b);
		for (s = 0; s < b; s++)
			right += nn_argmax(z + s * T->k, T->k) == (size_t)T->yb[s];
		done += b;
	}
	return (double)right / (double)T->nval;
}

/* One pass over the training rows; returns the mean loss, or -1 when stopped. */
static double train_epoch(struct trainer *T, uint64_t *rng)
{
	size_t done = 0;
	double loss = 0;

	shuffle(T->order, T->ntrain, rng);
	while (done < T->ntrain) {
		size_t b = T->ntrain - done < T->o->batch ? T->ntrain - done : T->o->batch;
		const float *z;

		if (T->o->stop && *T->o->stop)
			return -1;
		load_batch(T, T->order + done, b);
		z = nn_forward(T->net, &T->work, T->xb, b);
		loss += nn_softmax_xent(z, T->yb, b, T->k, T->dlogits) * (double)b;
		nn_backward(T->net, &T->work, T->dlogits, b, NULL);
		nn_optim_step(&T->optim, T->net->params, T->net->grads, T->o->weight_decay);
		done += b;
	}
	return loss / (double)T->ntrain;
}

static void keep_best(struct trainer *T)
{
	memcpy(T->best_params, T->net->params, T->net->nparams * sizeof(float));
	memcpy(T->best_state, T->net->state, T->net->nstate * sizeof(float));
}

static void trainer_free(struct trainer *T)
{
	nn_work_free(&T->work, T->net);
	nn_work_free(&T->infer, T->net);
	nn_optim_free(&T->optim);
	free(T->order);
	free(T->xb);
	free(T->dlogits);
	free(T->yb);
	free(T->best_params);
	free(T->best_state);
}

/* The seeded split: a random val_frac of the rows for validation, the rest to train. */
static int trainer_init(struct trainer *T, size_t n, uint64_t *rng)
{
	const struct nn_train_opts *o = T->o;
	size_t i;

	T->order = malloc(n * sizeof(size_t));
	T->xb = malloc(o->batch * T->insz * sizeof(float));
	T->dlogits = malloc(o->batch * T->k * sizeof(float));
	T->yb = malloc(o->batch * sizeof(int));
	T->best_params = malloc((T->net->nparams + 1) * sizeof(float));
	T->best_state = malloc((T->net->nstate + 1) * sizeof(float));
	if (!T->order || !T->xb || !T->dlogits || !T->yb || !T->best_params || !T->best_state)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		T->order[i] = i;
	shuffle(T->order, n, rng);
	T->nval = o->val_frac > 0 ? (size_t)((double)n * o->val_frac) : 0;
	if (o->val_frac > 0 && !T->nval)
		T->nval = 1;
	T->ntrain = n - T->nval;
	/* the validation rows are the tail of the first shuffle */
	T->val = T->order + T->ntrain;
	if (nn_work_init(&T->work, T->net, o->batch, true, nn_rand64(rng)) ||
	    nn_work_init(&T->infer, T->net, o->batch, false, 0) ||
	    nn_optim_init(&T->optim, o->optim, o->lr, T->net->nparams))
		return -ENOMEM;
	return 0;
}

static int check_train_args(const struct nn_net *net, const int *y, size_t n, size_t stride,
			    const struct nn_train_opts *o, char *err, size_t errlen)
{
	size_t k = nn_net_output(net).c * nn_net_output(net).l, i;

	if (!net->params || !o->batch || !o->epochs || !(o->lr > 0) ||
	    !(o->val_frac >= 0 && o->val_frac < 1)) {
		snprintf(err, errlen,
			 "nn: bad training options (batch %zu, epochs %u, lr %g, val %g)", o->batch,
			 o->epochs, (double)o->lr, o->val_frac);
		return -EINVAL;
	}
	if (!o->row && stride < net->input.c * net->input.l) {
		snprintf(err, errlen, "nn: rows of %zu values, the net takes %zu", stride,
			 net->input.c * net->input.l);
		return -EINVAL;
	}
	if (n < 2) {
		snprintf(err, errlen, "nn: %zu training rows, need at least 2", n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (y[i] < 0 || (size_t)y[i] >= k) {
			snprintf(err, errlen, "nn: row %zu: label %d outside 0..%zu", i, y[i],
				 k - 1);
			return -EINVAL;
		}
	return 0;
}

int nn_train(struct nn_net *net, const double *x, size_t stride, const int *y, size_t n,
	     const struct nn_train_opts *o, char *err, size_t errlen)
{
	struct trainer T = { .net = net, .o = o, .x = x, .stride = stride, .y = y };
	uint64_t rng = o->seed;
	double best = -1;
	unsigned ep, stale = 0;
	int rc;

	rc = check_train_args(net, y, n, stride, o, err, errlen);
	if (rc)
		return rc;
	T.insz = net->input.c * net->input.l;
	T.k = nn_net_output(net).c * nn_net_output(net).l;
	nn_set_threads(o->threads);
	rc = trainer_init(&T, n, &rng);
	if (rc) {
		snprintf(err, errlen, "nn: out of memory for training");
		goto out;
	}
	keep_best(&T);
	for (ep = 1; ep <= o->epochs; ep++) {
		struct nn_epoch e = { .epoch = ep, .epochs = o->epochs, .val_acc = -1 };
		double t0 = now_s();

		if (o->lr_end > 0)
			T.optim.lr = o->lr * powf(o->lr_end, (float)(ep - 1) / (float)o->epochs);
		e.loss = train_epoch(&T, &rng);
		if (e.loss < 0)
			break; /* stopped: the best epoch so far stays */
		if (T.nval)
			e.val_acc = validate(&T);
		e.best = !T.nval || e.val_acc > best;
		if (e.best) {
			best = e.val_acc;
			stale = 0;
			keep_best(&T);
		} else {
			stale++;
		}
		e.seconds = now_s() - t0;
		if (o->progress && o->progress(&e, o->arg))
			break;
		if (o->patience && stale >= o->patience)
			break;
	}
	memcpy(net->params, T.best_params, net->nparams * sizeof(float));
	memcpy(net->state, T.best_state, net->nstate * sizeof(float));
out:
	trainer_free(&T);
	return rc;
}
