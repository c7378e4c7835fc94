/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The harness's own small neural-network layer (bench/attacks/nn/), enough for
 * the deep website-fingerprinting attacks (DF first): a sequential network of
 * 1-D layers on float32, trained by mini-batch back-propagation with Adam or
 * Adamax and early stopping on a validation split. Matrix products go
 * through OpenBLAS (cblas_sgemm); only wfbench links it, never wfguard.
 * Design, formulas and figures: docs/attacks/nn.md.
 *
 * Tensors: one sample is `c` channels of `l` values, channel-major
 * ([c][l], so a flatten before a dense layer is free); a batch is b samples
 * back to back. A dense layer's output is c = units, l = 1.
 *
 * The model (struct nn_net: layers, parameters, batch-norm statistics) is kept
 * apart from the buffers one forward/backward pass needs (struct nn_work), so
 * one trained net can predict from many threads, each with its own work.
 *
 * Errors: functions return 0 or a negative errno; those that can fail on
 * input write one line into err.
 */
#ifndef WFBENCH_NN_H
#define WFBENCH_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * c channels of l values each; a 2-D map (conv2d, maxpool2d) is h rows of
 * l / h values, row-major. h 0 or 1: one row (every 1-D layer's case).
 */
struct nn_shape {
	size_t c, l; /* channels, values per channel */
	size_t h;    /* rows of a 2-D map; 0 = 1 */
};

/* How a conv or dense layer's weights start (biases 0 unless noted). */
enum nn_init {
	NN_INIT_GLOROT,	    /* Keras's default: uniform +-sqrt(6 / (fan_in + fan_out)) */
	NN_INIT_HE_FAN_OUT, /* normal, sd sqrt(2 / (k_h k_w filters)) (RF's conv2d) */
	NN_INIT_TORCH,	    /* PyTorch's default: weights and bias uniform +-1/sqrt(fan_in) */
};

enum nn_kind {
	NN_CONV1D,    /* 'same' padding, stride 1 */
	NN_BATCHNORM, /* per channel, over the batch and the length */
	NN_ELU,	      /* alpha = 1 */
	NN_RELU,
	NN_MAXPOOL,   /* 'same' padding: out length ceil(l / stride) */
	NN_DROPOUT,   /* inverted: kept values scaled by 1 / (1 - rate) in training */
	NN_DENSE,     /* all c * l inputs to `units` outputs */
	NN_CONV2D,    /* stride 1, explicit zero padding on each side (PyTorch's) */
	NN_MAXPOOL2D, /* window = stride, no padding, floor (PyTorch's) */
	NN_RESHAPE,   /* the same values as c channels (a view: PyTorch's x.view) */
	NN_AVGPOOL,   /* global average per channel: out c x 1 */
	NN_KINDS
};

struct nn_layer {
	enum nn_kind kind;
	struct nn_shape in, out;
	size_t k;	   /* conv: kernel width; pool: window (width) */
	size_t kh;	   /* conv2d, maxpool2d: kernel (window) height; else 1 */
	size_t stride;	   /* pool */
	size_t pad;	   /* conv, pool: zeros (or ignored cells) before the first value */
	size_t padh;	   /* conv2d: zero rows above (and below) */
	enum nn_init init; /* conv, dense */
	float rate;	   /* dropout: probability of dropping */
	float momentum;	   /* batch norm: running = m * running + (1 - m) * batch */
	float eps;	   /* batch norm */
	size_t p_off, np;  /* trainable parameters: net->params[p_off .. p_off + np) */
	size_t s_off, ns;  /* untrained state (batch norm's running mean, var) */
};

struct nn_net {
	struct nn_shape input;
	struct nn_layer *layers;
	size_t nlayers, cap;
	float *params, *grads; /* nparams each; grads are the last backward's */
	size_t nparams;
	float *state; /* nstate */
	size_t nstate;
	enum nn_init init; /* given to the conv and dense layers added from now on */
};

/* Buffers for passes of up to `batch` samples through one net. */
struct nn_work {
	size_t batch;
	bool training;
	float **act;	     /* act[i]: layer i's input; act[nlayers]: the output */
	float *dcur, *dnext; /* gradients w.r.t. a layer's output / input */
	float **cache;	     /* per layer: batch norm x-hat, dropout mask */
	float **stat;	     /* per layer: batch norm batch mean, 1/std (2c) */
	int32_t **argmax;    /* per layer: max-pool winners */
	float *col, *dcol;   /* one sample's im2col matrix and its gradient */
	uint64_t rng;	     /* dropout masks (SplitMix64) */
};

/* ---------------------------------------------------------------- building */

void nn_net_init(struct nn_net *net, struct nn_shape input);
/* Each appends one layer after the last; -ENOMEM, or -EINVAL on a shape it cannot take. */
int nn_add_conv1d(struct nn_net *net, size_t filters, size_t kernel);
int nn_add_batchnorm(struct nn_net *net, float momentum, float eps);
int nn_add_elu(struct nn_net *net);
int nn_add_relu(struct nn_net *net);
int nn_add_maxpool(struct nn_net *net, size_t window, size_t stride);
int nn_add_dropout(struct nn_net *net, float rate);
int nn_add_dense(struct nn_net *net, size_t units);
/* kh x kw kernel, ph zero rows above and below, pw zero columns left and right. */
int nn_add_conv2d(struct nn_net *net, size_t filters, size_t kh, size_t kw, size_t ph, size_t pw);
/* Non-overlapping kh x kw windows; rows and columns left over are dropped. */
int nn_add_maxpool2d(struct nn_net *net, size_t kh, size_t kw);
/* The c * l values as `channels` channels (must divide them); one row. */
int nn_add_reshape(struct nn_net *net, size_t channels);
int nn_add_avgpool(struct nn_net *net);
/*
 * Allocate parameters and state once every layer is added: weights Glorot
 * uniform (fan in and out counting the kernel width, as Keras), biases and
 * batch-norm beta 0, gamma 1, running mean 0, var 1. Deterministic in seed.
 */
int nn_net_finish(struct nn_net *net, uint64_t seed);
void nn_net_free(struct nn_net *net);
struct nn_shape nn_net_output(const struct nn_net *net);
const char *nn_kind_name(enum nn_kind kind);

/* ---------------------------------------------------------------- passes */

int nn_work_init(struct nn_work *w, const struct nn_net *net, size_t batch, bool training,
		 uint64_t seed);
void nn_work_free(struct nn_work *w, const struct nn_net *net);
/*
 * x: b samples of the input shape (b <= w->batch). Returns the output (b
 * samples, owned by w). Training mode uses batch statistics (and updates
 * the net's running ones: the only write to net), draws dropout masks.
 */
const float *nn_forward(struct nn_net *net, struct nn_work *w, const float *x, size_t b);
/* Inference only (running statistics, no dropout): net is not written. */
const float *nn_infer(const struct nn_net *net, struct nn_work *w, const float *x, size_t b);
/*
 * After nn_forward of the same b samples: dout is d(loss)/d(output); fills
 * net->grads (overwritten, not accumulated) and, when dx is not NULL, the
 * gradient w.r.t. the input.
 */
void nn_backward(struct nn_net *net, struct nn_work *w, const float *dout, size_t b, float *dx);

/*
 * Softmax cross-entropy, mean over b rows of k logits with labels y[] in
 * 0..k-1: returns the loss; dlogits (may be NULL) gets its gradient.
 */
double nn_softmax_xent(const float *logits, const int *y, size_t b, size_t k, float *dlogits);

/* ---------------------------------------------------------------- optimizers */

enum nn_optim_kind { NN_ADAM, NN_ADAMAX };

struct nn_optim {
	enum nn_optim_kind kind;
	float lr, beta1, beta2, eps;
	float *m, *v; /* first moment; second moment (Adam) or infinity norm (Adamax) */
	uint64_t t;
	size_t n;
};

int nn_optim_init(struct nn_optim *o, enum nn_optim_kind kind, float lr, size_t nparams);
/* One step; weight_decay (may be 0) adds weight_decay * param to each gradient. */
void nn_optim_step(struct nn_optim *o, float *params, const float *grads, float weight_decay);
void nn_optim_free(struct nn_optim *o);

/* ---------------------------------------------------------------- training */

struct nn_epoch {
	unsigned epoch, epochs;
	double loss;	/* mean training loss of the epoch */
	double val_acc; /* on the validation split; -1 without one */
	double seconds; /* this epoch */
	bool best;	/* the best so far (the weights kept) */
};

struct nn_train_opts {
	unsigned epochs; /* at most */
	size_t batch;	 /* mini-batch size */
	double val_frac; /* held out for validation and early stopping; 0 = none */
	unsigned
		patience; /* stop after this many epochs without a better val accuracy; 0 = never */
	enum nn_optim_kind optim;
	float lr;
	/* epoch e (from 0) trains at lr * lr_end^(e / epochs); 0 = constant (RF: 0.2) */
	float lr_end;
	/* L2 on every parameter, added to the gradient (PyTorch Adam's weight_decay) */
	float weight_decay;
	uint64_t seed;	  /* shuffles, dropout */
	unsigned threads; /* OpenBLAS threads; 0 = 1 */
	/* called after each epoch (may be NULL); nonzero stops training */
	int (*progress)(const struct nn_epoch *e, void *arg);
	void *arg;
	/* polled between batches (may be NULL): true stops, keeping what is done */
	volatile const int *stop;
	/* one of the caller's rows into the net's input (NULL: its first values as floats) */
	void (*row)(const double *src, float *dst, const void *arg);
	const void *row_arg;
};

/*
 * Train net (finished) on n rows of x (each `stride` doubles, of which the
 * first input.c * input.l are used) with class labels y[] in 0..k-1, k the
 * net's output size. The validation rows are a seeded random val_frac of
 * the n; with one, the parameters kept are those of the best epoch.
 */
int nn_train(struct nn_net *net, const double *x, size_t stride, const int *y, size_t n,
	     const struct nn_train_opts *o, char *err, size_t errlen);

/* ---------------------------------------------------------------- files */

/* The net's layers, parameters and state to f (format: docs/attacks/nn.md). 0 or -EIO. */
int nn_save(const struct nn_net *net, FILE *f);
/*
 * A finished net from f; errors name `name` and the line ("F:3: cannot read
 * 'x'"), counting lines_before lines the caller read from f first.
 */
int nn_load(struct nn_net *net, FILE *f, const char *name, unsigned lines_before, char *err,
	    size_t errlen);

/* Argmax of k values. */
size_t nn_argmax(const float *v, size_t k);

/* Sets OpenBLAS's thread count (0 = 1). */
void nn_set_threads(unsigned threads);

#endif /* WFBENCH_NN_H */
