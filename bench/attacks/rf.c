// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Robust Fingerprinting (Shen, Zhang, Wang, Yang, Fu, Li and Wang, USENIX
 * Security 2023): the traffic aggregation matrix (TAM: packets per time slot,
 * one row per direction) through four 2-D convolutions, a view to 1-D, six
 * 1-D convolutions down to one channel per class and a global average.
 * Architecture, hyper-parameters and parameter count: docs/attacks/rf.md.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "attacks.h"
#include "deep.h"
#include "nn.h"
#include "rf.h"

/* The authors' code (PyTorch): batch norm momentum 0.1 (ours: 1 - 0.1), eps 1e-5 */
#define RF_BN_MOMENTUM 0.9f
#define RF_BN_EPS      1e-5f
#define RF_DROP_2D     0.1f
#define RF_DROP_1D     0.3f
/* the 2-D part's output (64 channels) is viewed as this many */
#define RF_VIEW 32

/* ---------------------------------------------------------------- features */

/*
 * The first 5000 packets as direction x (1 + seconds since the first): the
 * TAM is built from them with the model's slots and span, so those can be
 * parameters; the 1 keeps a packet at time 0 apart from the padding's 0.
 */
static int rf_extract(const struct wfb_trace *t, double *out)
{
	size_t i, n;

	if (!t || !t->n)
		return -EINVAL;
	n = t->n < DEEP_INPUT_MAX ? t->n : DEEP_INPUT_MAX;
	for (i = 0; i < n; i++) {
		double s = 1 + (double)t->pkts[i].time_ns * 1e-9;

		if (t->pkts[i].dir == WFB_OUT)
			out[i] = s;
		else if (t->pkts[i].dir == WFB_IN)
			out[i] = -s;
		else
			return -EINVAL;
	}
	for (; i < DEEP_INPUT_MAX; i++)
		out[i] = 0;
	return 0;
}

void rf_tam(const double *row, size_t length, size_t slots, double span, float *tam)
{
	size_t i;

	memset(tam, 0, 2 * slots * sizeof(float));
	for (i = 0; i < length && row[i] != 0; i++) {
		double t = fabs(row[i]) - 1;
		/* the authors' binning: slot t (slots - 1) / span, late packets in the last */
		size_t s = t >= span ? slots - 1 : (size_t)(t * (double)(slots - 1) / span);

		tam[(row[i] > 0 ? 0 : slots) + s] += 1;
	}
}

static void rf_input(const double *row, float *in, const struct deep_params *p)
{
	rf_tam(row, p->length, p->slots, p->span, in);
}

/* ---------------------------------------------------------------- the network */

static int conv_bn_relu_2d(struct nn_net *net, size_t filters, float momentum)
{
	int rc = nn_add_conv2d(net, filters, 3, 6, 1, 1);

	rc = rc ?: nn_add_batchnorm(net, momentum, RF_BN_EPS);
	return rc ?: nn_add_relu(net);
}

/* kernel 3, padding 1 each side: PyTorch's, the same as 'same' for an odd kernel */
static int conv_bn_relu_1d(struct nn_net *net, size_t filters, float momentum)
{
	int rc = nn_add_conv1d(net, filters, 3);

	rc = rc ?: nn_add_batchnorm(net, momentum, RF_BN_EPS);
	return rc ?: nn_add_relu(net);
}

int rf_build(struct nn_net *net, size_t slots, size_t classes, float bn_momentum, uint64_t seed)
{
	static const size_t conv1d[] = { 128, 128, 0, 256, 256, 0, 512 };
	size_t i;
	int rc;

	nn_net_init(net, (struct nn_shape){ 1, 2 * slots, 2 });
	/* the authors initialise their conv2d weights He-normal by fan-out ... */
	net->init = NN_INIT_HE_FAN_OUT;
	rc = conv_bn_relu_2d(net, 32, bn_momentum);
	rc = rc ?: conv_bn_relu_2d(net, 32, bn_momentum);
	rc = rc ?: nn_add_maxpool2d(net, 1, 3);
	rc = rc ?: nn_add_dropout(net, RF_DROP_2D);
	rc = rc ?: conv_bn_relu_2d(net, 64, bn_momentum);
	rc = rc ?: conv_bn_relu_2d(net, 64, bn_momentum);
	rc = rc ?: nn_add_maxpool2d(net, 2, 2);
	rc = rc ?: nn_add_dropout(net, RF_DROP_2D);
	rc = rc ?: nn_add_reshape(net, RF_VIEW);
	/* ... and leave the conv1d ones to PyTorch's default */
	net->init = NN_INIT_TORCH;
	for (i = 0; !rc && i < sizeof(conv1d) / sizeof(conv1d[0]); i++) {
		if (conv1d[i]) {
			rc = conv_bn_relu_1d(net, conv1d[i], bn_momentum);
			continue;
		}
		rc = nn_add_maxpool2d(net, 1, 3);
		rc = rc ?: nn_add_dropout(net, RF_DROP_1D);
	}
	/* the last convolution has one channel per class; their average is the logit */
	rc = rc ?: conv_bn_relu_1d(net, classes, bn_momentum);
	rc = rc ?: nn_add_avgpool(net);
	rc = rc ?: nn_net_finish(net, seed);
	if (rc)
		nn_net_free(net);
	return rc;
}

static int rf_spec_build(struct nn_net *net, const struct deep_params *p, size_t classes,
			 uint64_t seed)
{
	return rf_build(net, p->slots, classes, (float)p->bn_momentum, seed);
}

/* ---------------------------------------------------------------- the attack */

/*
 * The authors' train.py: Adam 0.0005, weight decay 0.001, lr times 0.2^(e/30),
 * batch 200, 30 epochs; TAM 1800 slots over 80 s of the first 5000 packets.
 * The validation split (keeping the best epoch) is ours.
 */
static const struct deep_spec rf_spec = {
	.name = "rf",
	.defaults = { .length = DEEP_INPUT_MAX,
		      .batch = 200,
		      .epochs = 30,
		      .patience = 0,
		      .lr = 0.0005,
		      .val = 0.1,
		      .bn_momentum = RF_BN_MOMENTUM,
		      .lr_end = 0.2,
		      .weight_decay = 0.001,
		      .adam = true,
		      .slots = 1800,
		      .span = 80 },
	.tam = true,
	.build = rf_spec_build,
	.input = rf_input,
};

static int rf_fit(void **model, const double *X, const int *y, size_t n, const struct wfa_opts *o,
		  char *err, size_t errlen)
{
	return deep_fit(&rf_spec, model, X, y, n, o, err, errlen);
}

static int rf_load(void **model, const char *path, char *err, size_t errlen)
{
	return deep_load(&rf_spec, model, path, err, errlen);
}

static int rf_check(const struct wfa_shape *s, char *err, size_t errlen)
{
	return deep_check(&rf_spec, s->params, err, errlen);
}

const struct wfa_attack wfa_rf = {
	.name = "rf",
	.cite = "Shen et al., Subverting Website Fingerprinting Defenses with Robust Traffic "
		"Representation, USENIX Security 2023",
	.nfeatures = DEEP_INPUT_MAX,
	.extract = rf_extract,
	.fit = rf_fit,
	.predict = deep_predict,
	.free = deep_free,
	.save = deep_save,
	.load = rf_load,
	.check = rf_check,
};
