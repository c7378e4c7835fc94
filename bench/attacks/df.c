// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Deep Fingerprinting (Sirinam, Imani, Juarez and Wright, CCS 2018): a CNN
 * on the direction sequence (+1 out, -1 in, 0 padding), four blocks of two
 * convolutions, then two dense layers, trained with Adamax. Tik-Tok (Rahman,
 * Sirinam, Mathews, Gangadhara and Wright, PETS 2020) is the same network on
 * the directional time (direction x seconds since the first packet).
 * Architectures, hyper-parameters and figures: docs/attacks/df.md and
 * tiktok.md; the shared training and files: deep.c; the layers: nn/nn.h.
 */
#include <errno.h>

#include "attacks.h"
#include "deep.h"
#include "df.h"
#include "nn.h"

/* The paper's hyper-parameters (its Table 1, NoDef). */
#define DF_BLOCKS      4
#define DF_KERNEL      8
#define DF_POOL	       8
#define DF_POOL_STRIDE 4
#define DF_BLOCK_DROP  0.1f
#define DF_DENSE       512
#define DF_DROP_FC1    0.7f
#define DF_DROP_FC2    0.5f
/* Tik-Tok's code swaps the two */
#define TT_DROP_FC1 0.5f
#define TT_DROP_FC2 0.7f
/* seconds added to every packet time before the direction (tiktok_input) */
#define TT_OFFSET_S 1.0
/* Keras's batch-norm defaults, the framework of the papers' code */
#define DF_BN_MOMENTUM 0.99f
#define DF_BN_EPS      1e-3f

static const size_t df_filters[DF_BLOCKS] = { 32, 64, 128, 256 };

/* ---------------------------------------------------------------- features */

/* Direction of packet i: +1 out, -1 in; anything else is not a trace. */
static int direction(const struct wfb_pkt *p, double *d)
{
	if (p->dir == WFB_OUT)
		*d = 1;
	else if (p->dir == WFB_IN)
		*d = -1;
	else
		return -EINVAL;
	return 0;
}

/* The first 5000 packets' direction, times their time in seconds when timed. */
static int extract_seq(const struct wfb_trace *t, double *out, bool timed)
{
	size_t i, n;

	if (!t || !t->n)
		return -EINVAL;
	n = t->n < DF_INPUT_MAX ? t->n : DF_INPUT_MAX;
	for (i = 0; i < n; i++) {
		if (direction(&t->pkts[i], &out[i]))
			return -EINVAL;
		if (timed)
			out[i] *= (double)t->pkts[i].time_ns * 1e-9;
	}
	for (; i < DF_INPUT_MAX; i++)
		out[i] = 0;
	return 0;
}

static int df_extract(const struct wfb_trace *t, double *out)
{
	return extract_seq(t, out, false);
}

/* Tik-Tok's directional time (its code: timestamp x direction, zero padded). */
static int tiktok_extract(const struct wfb_trace *t, double *out)
{
	return extract_seq(t, out, true);
}

/*
 * The network's input from a feature row (direction x seconds): the
 * direction times (offset + time). With the paper's offset 0 a packet's
 * direction weighs in proportion to its time, so the first packets of a
 * load (handshakes, the HTML: milliseconds) come in as near-zeros, like the
 * padding; the offset keeps every packet's direction at least 1
 * (docs/attacks/tiktok.md). A 0 (padding, or a packet at time 0) stays 0.
 */
static void tiktok_input(const double *row, float *in, const struct deep_params *p)
{
	size_t i;

	for (i = 0; i < p->length; i++) {
		double v = row[i];

		in[i] = (float)(v > 0 ? v + p->offset : v < 0 ? v - p->offset : 0);
	}
}

/* ---------------------------------------------------------------- the network */

/* Conv, BN, activation, twice; max-pool; dropout: one of the four blocks. */
static int add_block(struct nn_net *net, size_t filters, bool elu, float momentum)
{
	int rc = 0, j;

	for (j = 0; j < 2 && !rc; j++) {
		rc = nn_add_conv1d(net, filters, DF_KERNEL);
		rc = rc ?: nn_add_batchnorm(net, momentum, DF_BN_EPS);
		rc = rc ?: (elu ? nn_add_elu(net) : nn_add_relu(net));
	}
	rc = rc ?: nn_add_maxpool(net, DF_POOL, DF_POOL_STRIDE);
	return rc ?: nn_add_dropout(net, DF_BLOCK_DROP);
}

/* DF's network; the fully connected layers' dropouts are the only difference of Tik-Tok's. */
static int build_net(struct nn_net *net, size_t length, size_t classes, float bn_momentum,
		     const float drop[2], uint64_t seed)
{
	int rc = 0, b;

	nn_net_init(net, (struct nn_shape){ 1, length, 0 });
	/* the first block uses ELU, the others ReLU, as the paper's model */
	for (b = 0; b < DF_BLOCKS && !rc; b++)
		rc = add_block(net, df_filters[b], b == 0, bn_momentum);
	for (b = 0; b < 2 && !rc; b++) {
		rc = nn_add_dense(net, DF_DENSE);
		rc = rc ?: nn_add_batchnorm(net, bn_momentum, DF_BN_EPS);
		rc = rc ?: nn_add_relu(net);
		rc = rc ?: nn_add_dropout(net, drop[b]);
	}
	rc = rc ?: nn_add_dense(net, classes);
	rc = rc ?: nn_net_finish(net, seed);
	if (rc)
		nn_net_free(net);
	return rc;
}

int df_build(struct nn_net *net, size_t length, size_t classes, float bn_momentum, uint64_t seed)
{
	static const float drop[2] = { DF_DROP_FC1, DF_DROP_FC2 };

	return build_net(net, length, classes, bn_momentum, drop, seed);
}

static int df_spec_build(struct nn_net *net, const struct deep_params *p, size_t classes,
			 uint64_t seed)
{
	return df_build(net, p->length, classes, (float)p->bn_momentum, seed);
}

static int tiktok_spec_build(struct nn_net *net, const struct deep_params *p, size_t classes,
			     uint64_t seed)
{
	static const float drop[2] = { TT_DROP_FC1, TT_DROP_FC2 };

	return build_net(net, p->length, classes, (float)p->bn_momentum, drop, seed);
}

/* ---------------------------------------------------------------- the attacks */

/*
 * DF's Table 1 (NoDef): Adamax 0.002, batch 128, 30 epochs; the validation
 * split and early stopping are ours (docs/attacks/df.md).
 */
static const struct deep_spec df_spec = {
	.name = "df",
	.defaults = { .length = DF_INPUT_MAX,
		      .batch = 128,
		      .epochs = 30,
		      .patience = 5,
		      .lr = 0.002,
		      .val = 0.1,
		      .bn_momentum = DF_BN_MOMENTUM },
	.build = df_spec_build,
};

/*
 * Tik-Tok's code: DF's optimiser, 40 epochs, early stopping after 3 epochs
 * without progress, Keras's default batch of 32 (it passes none). The 1 s
 * offset is ours (offset=0: the paper's input exactly).
 */
static const struct deep_spec tiktok_spec = {
	.name = "tiktok",
	.defaults = { .length = DF_INPUT_MAX,
		      .batch = 32,
		      .epochs = 40,
		      .patience = 3,
		      .lr = 0.002,
		      .val = 0.1,
		      .bn_momentum = DF_BN_MOMENTUM,
		      .offset = TT_OFFSET_S },
	.timed = true,
	.build = tiktok_spec_build,
	.input = tiktok_input,
};

static int df_fit(void **model, const double *X, const int *y, size_t n, const struct wfa_opts *o,
		  char *err, size_t errlen)
{
	return deep_fit(&df_spec, model, X, y, n, o, err, errlen);
}

static int tiktok_fit(void **model, const double *X, const int *y, size_t n,
		      const struct wfa_opts *o, char *err, size_t errlen)
{
	return deep_fit(&tiktok_spec, model, X, y, n, o, err, errlen);
}

int df_save(const void *model, const char *path, char *err, size_t errlen)
{
	return deep_save(model, path, err, errlen);
}

int df_load(void **model, const char *path, char *err, size_t errlen)
{
	return deep_load(&df_spec, model, path, err, errlen);
}

static int tiktok_load(void **model, const char *path, char *err, size_t errlen)
{
	return deep_load(&tiktok_spec, model, path, err, errlen);
}

static int df_check(const struct wfa_shape *s, char *err, size_t errlen)
{
	return deep_check(&df_spec, s->params, err, errlen);
}

static int tiktok_check(const struct wfa_shape *s, char *err, size_t errlen)
{
	return deep_check(&tiktok_spec, s->params, err, errlen);
}

const struct wfa_attack wfa_df = {
	.name = "df",
	.cite = "Sirinam, Imani, Juarez and Wright, Deep Fingerprinting, ACM CCS 2018",
	.nfeatures = DF_INPUT_MAX,
	.extract = df_extract,
	.fit = df_fit,
	.predict = deep_predict,
	.free = deep_free,
	.save = deep_save,
	.load = df_load,
	.check = df_check,
};

const struct wfa_attack wfa_tiktok = {
	.name = "tiktok",
	.cite = "Rahman, Sirinam, Mathews, Gangadhara and Wright, Tik-Tok, PETS 2020",
	.nfeatures = DF_INPUT_MAX,
	.extract = tiktok_extract,
	.fit = tiktok_fit,
	.predict = deep_predict,
	.free = deep_free,
	.save = deep_save,
	.load = tiktok_load,
	.check = tiktok_check,
};
