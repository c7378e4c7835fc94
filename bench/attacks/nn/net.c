// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Building a sequential network and the buffers for passes through it
 * (nn.h). The layers' arithmetic is layers.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "nn_layers.h"

static const char *const kind_names[NN_KINDS] = {
	[NN_CONV1D] = "conv1d",	  [NN_BATCHNORM] = "batchnorm", [NN_ELU] = "elu",
	[NN_RELU] = "relu",	  [NN_MAXPOOL] = "maxpool",	[NN_DROPOUT] = "dropout",
	[NN_DENSE] = "dense",	  [NN_CONV2D] = "conv2d",	[NN_MAXPOOL2D] = "maxpool2d",
	[NN_RESHAPE] = "reshape", [NN_AVGPOOL] = "avgpool",
};

const char *nn_kind_name(enum nn_kind kind)
{
	return kind < NN_KINDS ? kind_names[kind] : "?";
}

void nn_net_init(struct nn_net *net, struct nn_shape input)
{
	memset(net, 0, sizeof(*net));
	net->input = input;
}

struct nn_shape nn_net_output(const struct nn_net *net)
{
	return net->nlayers ? net->layers[net->nlayers - 1].out : net->input;
}

static size_t rows(struct nn_shape s)
{
	return s.h ? s.h : 1;
}

/* A new last layer taking the current output; its out shape is the caller's. */
static struct nn_layer *push_layer(struct nn_net *net, enum nn_kind kind)
{
	struct nn_layer *l;

	if (net->params)
		return NULL; /* finished: the parameter layout is fixed */
	if (net->nlayers == net->cap) {
		size_t cap = net->cap ? 2 * net->cap : 16;
		struct nn_layer *nl = realloc(net->layers, cap * sizeof(*nl));

		if (!nl)
			return NULL;
		net->layers = nl;
		net->cap = cap;
	}
	l = &net->layers[net->nlayers];
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->in = nn_net_output(net);
	l->out = l->in;
	l->kh = 1;
	l->init = net->init;
	l->p_off = net->nparams;
	l->s_off = net->nstate;
	return l;
}

/* Commit the layer push_layer gave: count its parameters and state. */
static int commit_layer(struct nn_net *net, struct nn_layer *l)
{
	if (!l->out.c || !l->out.l)
		return -EINVAL;
	net->nparams += l->np;
	net->nstate += l->ns;
	net->nlayers++;
	return 0;
}

int nn_add_conv1d(struct nn_net *net, size_t filters, size_t kernel)
{
	struct nn_layer *l = push_layer(net, NN_CONV1D);

	if (!l)
		return -ENOMEM;
	if (!filters || !kernel || rows(l->in) > 1)
		return -EINVAL;
	l->k = kernel;
	/* 'same' as Keras and TensorFlow: the odd cell of padding goes after */
	l->pad = (kernel - 1) / 2;
	l->out.c = filters;
	l->np = filters * l->in.c * kernel + filters;
	return commit_layer(net, l);
}

int nn_add_batchnorm(struct nn_net *net, float momentum, float eps)
{
	struct nn_layer *l = push_layer(net, NN_BATCHNORM);

	if (!l)
		return -ENOMEM;
	if (!(momentum >= 0 && momentum < 1) || !(eps > 0))
		return -EINVAL;
	l->momentum = momentum;
	l->eps = eps;
	l->np = 2 * l->in.c; /* gamma, beta */
	l->ns = 2 * l->in.c; /* running mean, running variance */
	return commit_layer(net, l);
}

static int add_elementwise(struct nn_net *net, enum nn_kind kind)
{
	struct nn_layer *l = push_layer(net, kind);

	return l ? commit_layer(net, l) : -ENOMEM;
}

int nn_add_elu(struct nn_net *net)
{
	return add_elementwise(net, NN_ELU);
}

int nn_add_relu(struct nn_net *net)
{
	return add_elementwise(net, NN_RELU);
}

int nn_add_maxpool(struct nn_net *net, size_t window, size_t stride)
{
	struct nn_layer *l = push_layer(net, NN_MAXPOOL);
	size_t span;

	if (!l)
		return -ENOMEM;
	if (!window || !stride || rows(l->in) > 1)
		return -EINVAL;
	l->k = window;
	l->stride = stride;
	l->out.l = (l->in.l + stride - 1) / stride;
	/* 'same': pad so the windows cover the input, the smaller half before */
	span = (l->out.l - 1) * stride + window;
	l->pad = span > l->in.l ? (span - l->in.l) / 2 : 0;
	return commit_layer(net, l);
}

int nn_add_dropout(struct nn_net *net, float rate)
{
	struct nn_layer *l = push_layer(net, NN_DROPOUT);

	if (!l)
		return -ENOMEM;
	if (!(rate >= 0 && rate < 1))
		return -EINVAL;
	l->rate = rate;
	return commit_layer(net, l);
}

int nn_add_dense(struct nn_net *net, size_t units)
{
	struct nn_layer *l = push_layer(net, NN_DENSE);

	if (!l)
		return -ENOMEM;
	l->out.c = units;
	l->out.l = 1;
	l->out.h = 0;
	l->np = units * l->in.c * l->in.l + units;
	return commit_layer(net, l);
}

int nn_add_conv2d(struct nn_net *net, size_t filters, size_t kh, size_t kw, size_t ph, size_t pw)
{
	struct nn_layer *l = push_layer(net, NN_CONV2D);
	size_t h, w;

	if (!l)
		return -ENOMEM;
	h = rows(l->in);
	w = l->in.l / h;
	if (!filters || !kh || !kw || h + 2 * ph < kh || w + 2 * pw < kw)
		return -EINVAL;
	l->kh = kh;
	l->k = kw;
	l->padh = ph;
	l->pad = pw;
	l->out.c = filters;
	l->out.h = h + 2 * ph - kh + 1;
	l->out.l = l->out.h * (w + 2 * pw - kw + 1);
	l->np = filters * l->in.c * kh * kw + filters;
	return commit_layer(net, l);
}

int nn_add_maxpool2d(struct nn_net *net, size_t kh, size_t kw)
{
	struct nn_layer *l = push_layer(net, NN_MAXPOOL2D);
	size_t h, w;

	if (!l)
		return -ENOMEM;
	h = rows(l->in);
	w = l->in.l / h;
	if (!kh || !kw || h < kh || w < kw)
		return -EINVAL;
	l->kh = kh;
	l->k = kw;
	l->stride = kw;
	l->out.h = h / kh;
	l->out.l = l->out.h * (w / kw);
	return commit_layer(net, l);
}

int nn_add_reshape(struct nn_net *net, size_t channels)
{
	struct nn_layer *l = push_layer(net, NN_RESHAPE);
	size_t n;

	if (!l)
		return -ENOMEM;
	n = l->in.c * l->in.l;
	if (!channels || n % channels)
		return -EINVAL;
	l->out = (struct nn_shape){ channels, n / channels, 0 };
	return commit_layer(net, l);
}

int nn_add_avgpool(struct nn_net *net)
{
	struct nn_layer *l = push_layer(net, NN_AVGPOOL);

	if (!l)
		return -ENOMEM;
	l->out = (struct nn_shape){ l->in.c, 1, 0 };
	return commit_layer(net, l);
}

static double unit(uint64_t *s)
{
	return (double)(nn_rand64(s) >> 11) * 0x1.0p-53;
}

/* Uniform in [-a, a) from SplitMix64. */
static float uniform(uint64_t *s, float a)
{
	return (float)((2 * unit(s) - 1) * a);
}

/* Normal(0, sd) by Box-Muller (one of the pair; the draw order stays simple). */
static float normal(uint64_t *s, double sd)
{
	double u = unit(s), v = unit(s);

	return (float)(sd * sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v));
}

/* Weights then biases of a conv or dense layer, as its init says. */
static void init_weights(const struct nn_layer *l, float *p, uint64_t *rng)
{
	size_t i, kern = l->kh * l->k, fan_in, fan_out, nw;
	double a;

	if (l->kind == NN_DENSE) {
		fan_in = l->in.c * l->in.l;
		fan_out = l->out.c;
		kern = 1;
	} else {
		fan_in = l->in.c * kern;
		fan_out = l->out.c * kern;
	}
	nw = l->out.c * fan_in;
	a = l->init == NN_INIT_TORCH ? 1 / sqrt((double)fan_in)
				     : sqrtf(6.0f / (float)(fan_in + fan_out));
	for (i = 0; i < nw; i++)
		p[i] = l->init == NN_INIT_HE_FAN_OUT ? normal(rng, sqrt(2.0 / (double)fan_out))
						     : uniform(rng, (float)a);
	for (; i < l->np; i++)
		p[i] = l->init == NN_INIT_TORCH ? uniform(rng, (float)a) : 0;
}

static void init_layer(const struct nn_layer *l, float *p, float *s, uint64_t *rng)
{
	size_t i;

	switch (l->kind) {
	case NN_CONV1D:
	case NN_CONV2D:
	case NN_DENSE:
		init_weights(l, p, rng);
		break;
	case NN_BATCHNORM:
		for (i = 0; i < l->in.c; i++) {
			p[i] = 1;	    /* gamma */
			p[l->in.c + i] = 0; /* beta */
			s[i] = 0;	    /* running mean */
			s[l->in.c + i] = 1; /* running variance */
		}
		break;
	default:
		break;
	}
}

int nn_net_finish(struct nn_net *net, uint64_t seed)
{
	uint64_t rng = seed;
	size_t i;

	if (!net->nlayers || net->params)
		return -EINVAL;
	net->params = calloc(net->nparams ? net->nparams : 1, sizeof(float));
	net->grads = calloc(net->nparams ? net->nparams : 1, sizeof(float));
	net->state = calloc(net->nstate ? net->nstate : 1, sizeof(float));
	if (!net->params || !net->grads || !net->state)
		return -ENOMEM;
	for (i = 0; i < net->nlayers; i++) {
		const struct nn_layer *l = &net->layers[i];

		init_layer(l, net->params + l->p_off, net->state + l->s_off, &rng);
	}
	return 0;
}

void nn_net_free(struct nn_net *net)
{
	free(net->layers);
	free(net->params);
	free(net->grads);
	free(net->state);
	memset(net, 0, sizeof(*net));
}

/* ---------------------------------------------------------------- work */

static size_t shape_size(struct nn_shape s)
{
	return s.c * s.l;
}

/* The largest im2col matrix of any conv layer, one sample. */
static size_t col_size(const struct nn_net *net)
{
	size_t i, m = 1;

	for (i = 0; i < net->nlayers; i++) {
		const struct nn_layer *l = &net->layers[i];

		bool conv = l->kind == NN_CONV1D || l->kind == NN_CONV2D;

		if (conv && l->in.c * l->kh * l->k * l->out.l > m)
			m = l->in.c * l->kh * l->k * l->out.l;
	}
	return m;
}

/* Per-layer caches that only a backward pass needs. */
static int alloc_caches(struct nn_work *w, const struct nn_net *net)
{
	size_t i;

	for (i = 0; i < net->nlayers; i++) {
		const struct nn_layer *l = &net->layers[i];
		size_t n = w->batch * shape_size(l->out);

		if (l->kind == NN_BATCHNORM) {
			w->cache[i] = malloc(n * sizeof(float));
			w->stat[i] = malloc(2 * l->in.c * sizeof(float));
			if (!w->cache[i] || !w->stat[i])
				return -ENOMEM;
		} else if (l->kind == NN_DROPOUT) {
			w->cache[i] = malloc(n * sizeof(float));
			if (!w->cache[i])
				return -ENOMEM;
		} else if (l->kind == NN_MAXPOOL || l->kind == NN_MAXPOOL2D) {
			w->argmax[i] = malloc(n * sizeof(int32_t));
			if (!w->argmax[i])
				return -ENOMEM;
		}
	}
	return 0;
}

int nn_work_init(struct nn_work *w, const struct nn_net *net, size_t batch, bool training,
		 uint64_t seed)
{
	size_t i, maxsz = shape_size(net->input), L = net->nlayers;

	memset(w, 0, sizeof(*w));
	if (!batch || !net->params)
		return -EINVAL;
	w->batch = batch;
	w->training = training;
	w->rng = seed;
	w->act = calloc(L + 1, sizeof(*w->act));
	w->cache = calloc(L, sizeof(*w->cache));
	w->stat = calloc(L, sizeof(*w->stat));
	w->argmax = calloc(L, sizeof(*w->argmax));
	if (!w->act || !w->cache || !w->stat || !w->argmax)
		goto nomem;
	w->act[0] = malloc(batch * shape_size(net->input) * sizeof(float));
	if (!w->act[0])
		goto nomem;
	for (i = 0; i < L; i++) {
		size_t sz = shape_size(net->layers[i].out);

		w->act[i + 1] = malloc(batch * sz * sizeof(float));
		if (!w->act[i + 1])
			goto nomem;
		if (sz > maxsz)
			maxsz = sz;
	}
	w->col = malloc(col_size(net) * sizeof(float));
	if (!w->col)
		goto nomem;
	if (training) {
		w->dcur = malloc(batch * maxsz * sizeof(float));
		w->dnext = malloc(batch * maxsz * sizeof(float));
		w->dcol = malloc(col_size(net) * sizeof(float));
		if (!w->dcur || !w->dnext || !w->dcol || alloc_caches(w, net))
			goto nomem;
	}
	return 0;
nomem:
	nn_work_free(w, net);
	return -ENOMEM;
}

void nn_work_free(struct nn_work *w, const struct nn_net *net)
{
	size_t i;

	if (w->act)
		for (i = 0; i <= net->nlayers; i++)
			free(w->act[i]);
	for (i = 0; i < net->nlayers; i++) {
		if (w->cache)
			free(w->cache[i]);
		if (w->stat)
			free(w->stat[i]);
		if (w->argmax)
			free(w->argmax[i]);
	}
	free(w->act);
	free(w->cache);
	free(w->stat);
	free(w->argmax);
	free(w->col);
	free(w->dcol);
	free(w->dcur);
	free(w->dnext);
	memset(w, 0, sizeof(*w));
}

/* ---------------------------------------------------------------- passes */

static const float *run_forward(struct nn_net *net, struct nn_work *w, const float *x, size_t b,
				bool training)
{
	size_t i;

	memcpy(w->act[0], x, b * shape_size(net->input) * sizeof(float));
	for (i = 0; i < net->nlayers; i++)
		nn_layer_forward(net, &net->layers[i], w, i, b, training);
	return w->act[net->nlayers];
}

const float *nn_forward(struct nn_net *net, struct nn_work *w, const float *x, size_t b)
{
	if (b > w->batch)
		return NULL;
	return run_forward(net, w, x, b, w->training);
}

const float *nn_infer(const struct nn_net *net, struct nn_work *w, const float *x, size_t b)
{
	if (b > w->batch)
		return NULL;
	/* inference reads the net only: the cast drops a const nothing writes through */
	return run_forward((struct nn_net *)net, w, x, b, false);
}

void nn_backward(struct nn_net *net, struct nn_work *w, const float *dout, size_t b, float *dx)
{
	size_t i = net->nlayers, osz = shape_size(nn_net_output(net));

	memcpy(w->dcur, dout, b * osz * sizeof(float));
	memset(net->grads, 0, net->nparams * sizeof(float));
	while (i--) {
		float *t;

		nn_layer_backward(net, &net->layers[i], w, i, b);
		t = w->dcur;
		w->dcur = w->dnext;
		w->dnext = t;
	}
	if (dx)
		memcpy(dx, w->dcur, b * shape_size(net->input) * sizeof(float));
}
