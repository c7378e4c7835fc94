// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The NN layer (bench/attacks/nn): every layer's gradients against finite
 * differences, shapes, the optimizers, a tiny net that must overfit a tiny
 * set, determinism across thread counts.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

/* ---------------------------------------------------------------- helpers */

static uint64_t rs = 12345;

static float frand(void)
{
	rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((double)(rs >> 11) * 0x1.0p-53 * 2 - 1);
}

/* Random values at least 0.05 from 0 and 0.01 from each other (no ReLU kink, no pool tie). */
static void fill_separated(float *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		v[i] = 0.06f + 0.011f * (float)i;
		if (frand() < 0)
			v[i] = -v[i];
	}
	for (i = n; i > 1; i--) {
		size_t j = (size_t)((frand() + 1) / 2 * (float)i) % i;
		float t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/*
 * Which side of every kink the last forward was on: each max-pool's winners
 * and each ReLU's active cells, hashed (FNV-1a). Where it differs between
 * x + h and x - h a finite difference straddles a kink and says nothing.
 */
static uint64_t kink_pattern(const struct nn_net *net, const struct nn_work *w, size_t b)
{
	uint64_t hsh = 1469598103934665603ULL;
	size_t i, j;

	for (i = 0; i < net->nlayers; i++) {
		const struct nn_layer *l = &net->layers[i];
		size_t n = b * l->out.c * l->out.l;

		for (j = 0; j < n; j++) {
			uint64_t v;

			if (l->kind == NN_MAXPOOL || l->kind == NN_MAXPOOL2D)
				v = (uint64_t)w->argmax[i][j];
			else if (l->kind == NN_RELU)
				v = w->act[i + 1][j] > 0;
			else
				break;
			hsh = (hsh ^ v) * 1099511628211ULL;
		}
	}
	return hsh;
}

/* The scalar L = sum r_i y_i of one training-mode forward, dropout masks replayed. */
static double loss_of(struct nn_net *net, struct nn_work *w, const float *x, const float *r,
		      size_t b, uint64_t mask_seed, uint64_t *pattern)
{
	struct nn_shape o = nn_net_output(net);
	const float *y;
	double L = 0;
	size_t i;

	w->rng = mask_seed;
	y = nn_forward(net, w, x, b);
	for (i = 0; i < b * o.c * o.l; i++)
		L += (double)r[i] * y[i];
	if (pattern)
		*pattern = kink_pattern(net, w, b);
	return L;
}

static void assert_close(double num, double ana, const char *what, size_t i)
{
	double tol = 5e-3 + 3e-2 * fabs(ana);

	cr_assert(fabs(num - ana) <= tol, "%s[%zu]: finite difference %.6g, backward %.6g", what, i,
		  num, ana);
}

/* L at v + h and v - h for one value v of the net or its input: the central difference. */
static bool central(struct nn_net *net, struct nn_work *w, float *v, const float *x, const float *r,
		    size_t b, float h, uint64_t base, double *d)
{
	float keep = *v;
	uint64_t pu, pd;
	double up, down;

	*v = keep + h;
	up = loss_of(net, w, x, r, b, 99, &pu);
	*v = keep - h;
	down = loss_of(net, w, x, r, b, 99, &pd);
	*v = keep;
	*d = (up - down) / (2 * h);
	return pu == base && pd == base;
}

/*
 * Central differences of L in every parameter and every input value against
 * what backward computed. Batch-norm running statistics move with each
 * forward; L (training mode) never reads them. In a stack, a conv's outputs
 * are not kept apart from ReLU's kink or max-pool ties as the test inputs
 * are: a value whose step flips a winner or a ReLU is skipped (kink_pattern),
 * and at most 1 in 4 may be (a first-layer weight moves every later value).
 */
static void grad_check(struct nn_net *net, size_t b)
{
	struct nn_shape in = net->input, o = nn_net_output(net);
	size_t nx = b * in.c * in.l, ny = b * o.c * o.l, i;
	float *x = malloc(nx * sizeof(float)), *r = malloc(ny * sizeof(float));
	float *dx = malloc(nx * sizeof(float)), *g = malloc((net->nparams + 1) * sizeof(float));
	/* small enough to stay off ReLU and max-pool kinks, large for float rounding */
	const float h = 2e-3f;
	struct nn_work w;

	uint64_t base;
	size_t skipped = 0;
	double d;

	cr_assert(x && r && dx && g);
	cr_assert_eq(nn_work_init(&w, net, b, true, 0), 0);
	fill_separated(x, nx);
	for (i = 0; i < ny; i++)
		r[i] = frand();
	loss_of(net, &w, x, r, b, 99, &base);
	nn_backward(net, &w, r, b, dx);
	memcpy(g, net->grads, net->nparams * sizeof(float));
	for (i = 0; i < net->nparams; i++) {
		if (central(net, &w, &net->params[i], x, r, b, h, base, &d))
			assert_close(d, g[i], "param", i);
		else
			skipped++;
	}
	for (i = 0; i < nx; i++) {
		if (central(net, &w, &x[i], x, r, b, h, base, &d))
			assert_close(d, dx[i], "input", i);
		else
			skipped++;
	}
	if (skipped)
		cr_log_info("%zu of %zu values straddle a kink", skipped, net->nparams + nx);
	cr_assert_leq(skipped * 4, net->nparams + nx, "%zu of %zu values straddle a kink", skipped,
		      net->nparams + nx);
	nn_work_free(&w, net);
	free(x);
	free(r);
	free(dx);
	free(g);
}

/* Random parameters (beyond the initialiser's zeros and ones) so every term matters. */
static void randomise(struct nn_net *net)
{
	size_t i;

	for (i = 0; i < net->nparams; i++)
		net->params[i] = frand() * 0.5f;
}

/* ---------------------------------------------------------------- gradients */

Test(nn_grad, conv1d_even_kernel)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 3, 13, 0 });
	cr_assert_eq(nn_add_conv1d(&net, 4, 8), 0);
	cr_assert_eq(nn_net_finish(&net, 1), 0);
	randomise(&net);
	grad_check(&net, 2);
	nn_net_free(&net);
}

Test(nn_grad, conv1d_odd_kernel)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 2, 9, 0 });
	cr_assert_eq(nn_add_conv1d(&net, 3, 3), 0);
	cr_assert_eq(nn_net_finish(&net, 2), 0);
	randomise(&net);
	grad_check(&net, 3);
	nn_net_free(&net);
}

Test(nn_grad, batchnorm_channels)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 3, 5, 0 });
	cr_assert_eq(nn_add_batchnorm(&net, 0.99f, 1e-3f), 0);
	cr_assert_eq(nn_net_finish(&net, 3), 0);
	randomise(&net);
	grad_check(&net, 4);
	nn_net_free(&net);
}

/* After a dense layer: one value per channel and sample, statistics over the batch. */
Test(nn_grad, batchnorm_dense)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 6, 1, 0 });
	cr_assert_eq(nn_add_batchnorm(&net, 0.9f, 1e-3f), 0);
	cr_assert_eq(nn_net_finish(&net, 4), 0);
	randomise(&net);
	grad_check(&net, 5);
	nn_net_free(&net);
}

Test(nn_grad, elu)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 2, 7, 0 });
	cr_assert_eq(nn_add_elu(&net), 0);
	cr_assert_eq(nn_net_finish(&net, 5), 0);
	grad_check(&net, 2);
	nn_net_free(&net);
}

Test(nn_grad, relu)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 2, 7, 0 });
	cr_assert_eq(nn_add_relu(&net), 0);
	cr_assert_eq(nn_net_finish(&net, 6), 0);
	grad_check(&net, 2);
	nn_net_free(&net);
}

Test(nn_grad, maxpool)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 2, 21, 0 });
	cr_assert_eq(nn_add_maxpool(&net, 8, 4), 0);
	cr_assert_eq(nn_net_finish(&net, 7), 0);
	grad_check(&net, 2);
	nn_net_free(&net);
}

Test(nn_grad, dropout)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 3, 10, 0 });
	cr_assert_eq(nn_add_dropout(&net, 0.5f), 0);
	cr_assert_eq(nn_net_finish(&net, 8), 0);
	grad_check(&net, 2);
	nn_net_free(&net);
}

Test(nn_grad, dense)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 2, 6, 0 });
	cr_assert_eq(nn_add_dense(&net, 5), 0);
	cr_assert_eq(nn_net_finish(&net, 9), 0);
	randomise(&net);
	grad_check(&net, 3);
	nn_net_free(&net);
}

/* 3 rows x 8 columns, a 3 x 4 kernel padded one row and one column each side. */
Test(nn_grad, conv2d)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 2, 24, 3 });
	cr_assert_eq(nn_add_conv2d(&net, 3, 3, 4, 1, 1), 0);
	cr_assert_eq(nn_net_output(&net).h, 3);
	cr_assert_eq(nn_net_output(&net).l, 3 * 7);
	cr_assert_eq(nn_net_finish(&net, 21), 0);
	randomise(&net);
	grad_check(&net, 2);
	nn_net_free(&net);
}

/* 2 x 3 windows over 5 x 8: one row and two columns left over, never winners. */
Test(nn_grad, maxpool2d)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 2, 40, 5 });
	cr_assert_eq(nn_add_maxpool2d(&net, 2, 3), 0);
	cr_assert_eq(nn_net_output(&net).h, 2);
	cr_assert_eq(nn_net_output(&net).l, 2 * 2);
	cr_assert_eq(nn_net_finish(&net, 22), 0);
	grad_check(&net, 2);
	nn_net_free(&net);
}

Test(nn_grad, reshape_avgpool)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 4, 6, 2 });
	cr_assert_eq(nn_add_reshape(&net, 2), 0);
	cr_assert_eq(nn_net_output(&net).c, 2);
	cr_assert_eq(nn_net_output(&net).l, 12);
	cr_assert_eq(nn_add_avgpool(&net), 0);
	cr_assert_eq(nn_net_output(&net).l, 1);
	cr_assert_eq(nn_net_finish(&net, 23), 0);
	grad_check(&net, 3);
	nn_net_free(&net);
}

/* RF's layer sequence in miniature: 2-D convolutions, a view to 1-D, global average. */
Test(nn_grad, stack2d)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 1, 2 * 20, 2 });
	cr_assert_eq(nn_add_conv2d(&net, 3, 3, 6, 1, 1), 0);
	cr_assert_eq(nn_add_batchnorm(&net, 0.9f, 1e-5f), 0);
	cr_assert_eq(nn_add_relu(&net), 0);
	cr_assert_eq(nn_add_maxpool2d(&net, 1, 3), 0);
	cr_assert_eq(nn_add_dropout(&net, 0.1f), 0);
	cr_assert_eq(nn_add_conv2d(&net, 4, 2, 2, 1, 1), 0);
	cr_assert_eq(nn_add_maxpool2d(&net, 2, 2), 0);
	cr_assert_eq(nn_add_reshape(&net, 2), 0);
	cr_assert_eq(nn_add_conv1d(&net, 3, 3), 0);
	cr_assert_eq(nn_add_batchnorm(&net, 0.9f, 1e-5f), 0);
	cr_assert_eq(nn_add_relu(&net), 0);
	cr_assert_eq(nn_add_avgpool(&net), 0);
	cr_assert_eq(nn_net_finish(&net, 28), 0);
	grad_check(&net, 4);
	nn_net_free(&net);
}

/* DF's layer sequence in miniature: the layers' gradients compose. */
Test(nn_grad, stack)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 1, 24, 0 });
	cr_assert_eq(nn_add_conv1d(&net, 3, 8), 0);
	cr_assert_eq(nn_add_batchnorm(&net, 0.99f, 1e-3f), 0);
	cr_assert_eq(nn_add_elu(&net), 0);
	cr_assert_eq(nn_add_maxpool(&net, 8, 4), 0);
	cr_assert_eq(nn_add_dropout(&net, 0.1f), 0);
	cr_assert_eq(nn_add_dense(&net, 4), 0);
	cr_assert_eq(nn_add_relu(&net), 0);
	cr_assert_eq(nn_add_dense(&net, 3), 0);
	cr_assert_eq(nn_net_finish(&net, 10), 0);
	grad_check(&net, 4);
	nn_net_free(&net);
}

Test(nn_grad, softmax_xent)
{
	float z[3 * 4], dz[3 * 4];
	int y[3] = { 0, 3, 2 };
	const float h = 1e-2f;
	size_t i;

	for (i = 0; i < 12; i++)
		z[i] = 2 * frand();
	nn_softmax_xent(z, y, 3, 4, dz);
	for (i = 0; i < 12; i++) {
		float keep = z[i];
		double up, down;

		z[i] = keep + h;
		up = nn_softmax_xent(z, y, 3, 4, NULL);
		z[i] = keep - h;
		down = nn_softmax_xent(z, y, 3, 4, NULL);
		z[i] = keep;
		assert_close((up - down) / (2 * h), dz[i], "logit", i);
	}
}

/* ---------------------------------------------------------------- values and shapes */

/* Uniform logits over k classes: the loss is ln k. */
Test(nn_values, xent_uniform)
{
	float z[5] = { 0 };
	int y = 2;

	cr_assert_float_eq(nn_softmax_xent(z, &y, 1, 5, NULL), log(5.0), 1e-9);
}

/* 'same' shapes: conv keeps the length, pool gives ceil(l / stride). */
Test(nn_values, shapes)
{
	struct nn_net net;

	nn_net_init(&net, (struct nn_shape){ 1, 5000, 0 });
	cr_assert_eq(nn_add_conv1d(&net, 32, 8), 0);
	cr_assert_eq(nn_net_output(&net).c, 32);
	cr_assert_eq(nn_net_output(&net).l, 5000);
	cr_assert_eq(nn_add_maxpool(&net, 8, 4), 0);
	cr_assert_eq(nn_net_output(&net).l, 1250);
	cr_assert_eq(nn_add_maxpool(&net, 8, 4), 0);
	cr_assert_eq(nn_net_output(&net).l, 313);
	cr_assert_eq(nn_add_dense(&net, 7), 0);
	cr_assert_eq(net.layers[3].np, 32 * 313 * 7 + 7);
	cr_assert_eq(nn_net_output(&net).c, 7);
	cr_assert_eq(nn_net_output(&net).l, 1);
	nn_net_free(&net);
	nn_net_init(&net, (struct nn_shape){ 1, 8, 0 });
	cr_assert_eq(nn_add_dropout(&net, 1.0f), -EINVAL);
	cr_assert_eq(nn_add_conv1d(&net, 0, 8), -EINVAL);
	nn_net_free(&net);
}

/* A hand convolution: kernel [1, 2, 3] ('same', pad 1) over [1, 0, 0, 2]. */
Test(nn_values, conv_by_hand)
{
	struct nn_net net;
	struct nn_work w;
	float x[4] = { 1, 0, 0, 2 };
	const float *y;

	nn_net_init(&net, (struct nn_shape){ 1, 4, 0 });
	cr_assert_eq(nn_add_conv1d(&net, 1, 3), 0);
	cr_assert_eq(nn_net_finish(&net, 1), 0);
	net.params[0] = 1;
	net.params[1] = 2;
	net.params[2] = 3;
	net.params[3] = 0.5f; /* bias */
	cr_assert_eq(nn_work_init(&w, &net, 1, false, 0), 0);
	y = nn_infer(&net, &w, x, 1);
	/* y[t] = x[t-1] + 2 x[t] + 3 x[t+1] + 0.5 */
	cr_assert_float_eq(y[0], 2.5f, 1e-6);
	cr_assert_float_eq(y[1], 1.5f, 1e-6);
	cr_assert_float_eq(y[2], 6.5f, 1e-6);
	cr_assert_float_eq(y[3], 4.5f, 1e-6);
	nn_work_free(&w, &net);
	nn_net_free(&net);
}

/*
 * A 2 x 2 kernel [[1, 2], [3, 4]] padded one cell round a 2 x 2 input
 * [[1, 0], [0, 2]]: a 3 x 3 output, y[r][c] = sum k[i][j] x[r+i-1][c+j-1].
 */
Test(nn_values, conv2d_by_hand)
{
	static const float want[9] = { 4, 3, 0, 2, 9, 6, 0, 4, 2 };
	struct nn_net net;
	struct nn_work w;
	float x[4] = { 1, 0, 0, 2 };
	const float *y;
	size_t i;

	nn_net_init(&net, (struct nn_shape){ 1, 4, 2 });
	cr_assert_eq(nn_add_conv2d(&net, 1, 2, 2, 1, 1), 0);
	cr_assert_eq(nn_net_finish(&net, 1), 0);
	for (i = 0; i < 4; i++)
		net.params[i] = (float)(i + 1);
	net.params[4] = 0; /* bias */
	cr_assert_eq(nn_work_init(&w, &net, 1, false, 0), 0);
	y = nn_infer(&net, &w, x, 1);
	for (i = 0; i < 9; i++)
		cr_assert_float_eq(y[i], want[i], 1e-6, "y[%zu] = %g", i, y[i]);
	nn_work_free(&w, &net);
	nn_net_free(&net);
}

/* 2 x 2 windows over one 3 x 4 plane: the last row is left over. */
Test(nn_values, maxpool2d_by_hand)
{
	struct nn_net net;
	struct nn_work w;
	float x[12] = { 1, 5, 0, 2, 7, 3, 4, 1, 9, 9, 9, 9 };
	const float *y;

	nn_net_init(&net, (struct nn_shape){ 1, 12, 3 });
	cr_assert_eq(nn_add_maxpool2d(&net, 2, 2), 0);
	cr_assert_eq(nn_net_output(&net).l, 2);
	cr_assert_eq(nn_net_finish(&net, 1), 0);
	cr_assert_eq(nn_work_init(&w, &net, 1, false, 0), 0);
	y = nn_infer(&net, &w, x, 1);
	cr_assert_eq(y[0], 7);
	cr_assert_eq(y[1], 4);
	nn_work_free(&w, &net);
	nn_net_free(&net);
}

/* Weight decay adds wd * p to the gradient: with g = 0 Adam still moves p by lr. */
Test(nn_values, weight_decay)
{
	struct nn_optim o;
	float p[2] = { 2, -1 }, g[2] = { 0, 0 };

	cr_assert_eq(nn_optim_init(&o, NN_ADAM, 0.01f, 2), 0);
	nn_optim_step(&o, p, g, 0.001f);
	cr_assert_float_eq(p[0], 1.99f, 1e-5);
	cr_assert_float_eq(p[1], -0.99f, 1e-5);
	nn_optim_free(&o);
}

/* Adamax's first step moves every parameter by lr against its gradient's sign. */
Test(nn_values, adamax_first_step)
{
	struct nn_optim o;
	float p[3] = { 1, 1, 1 }, g[3] = { 0.5f, -2, 1e-3f };

	cr_assert_eq(nn_optim_init(&o, NN_ADAMAX, 0.002f, 3), 0);
	nn_optim_step(&o, p, g, 0);
	cr_assert_float_eq(p[0], 0.998f, 1e-6);
	cr_assert_float_eq(p[1], 1.002f, 1e-6);
	cr_assert_float_eq(p[2], 0.998f, 1e-5);
	nn_optim_free(&o);
	cr_assert_eq(nn_optim_init(&o, NN_ADAM, 0.01f, 3), 0);
	p[0] = p[1] = p[2] = 1;
	nn_optim_step(&o, p, g, 0);
	cr_assert_float_eq(p[0], 0.99f, 1e-5);
	cr_assert_float_eq(p[1], 1.01f, 1e-5);
	nn_optim_free(&o);
}

/* ---------------------------------------------------------------- training */

enum { TINY_N = 12, TINY_LEN = 32, TINY_K = 4 };

static void tiny_set(double *x, int *y)
{
	size_t i, j;

	for (i = 0; i < TINY_N; i++) {
		y[i] = (int)(i % TINY_K);
		for (j = 0; j < TINY_LEN; j++)
			x[i * TINY_LEN + j] = frand() > 0 ? 1 : -1;
	}
}

static void tiny_net(struct nn_net *net, uint64_t seed)
{
	nn_net_init(net, (struct nn_shape){ 1, TINY_LEN, 0 });
	cr_assert_eq(nn_add_conv1d(net, 8, 8), 0);
	cr_assert_eq(nn_add_batchnorm(net, 0.9f, 1e-3f), 0);
	cr_assert_eq(nn_add_relu(net), 0);
	cr_assert_eq(nn_add_maxpool(net, 8, 4), 0);
	cr_assert_eq(nn_add_dense(net, TINY_K), 0);
	cr_assert_eq(nn_net_finish(net, seed), 0);
}

static double accuracy(const struct nn_net *net, const double *x, const int *y, size_t n)
{
	struct nn_work w;
	float in[TINY_LEN];
	size_t i, j, right = 0;

	cr_assert_eq(nn_work_init(&w, net, 1, false, 0), 0);
	for (i = 0; i < n; i++) {
		for (j = 0; j < TINY_LEN; j++)
			in[j] = (float)x[i * TINY_LEN + j];
		right += nn_argmax(nn_infer(net, &w, in, 1), TINY_K) == (size_t)y[i];
	}
	nn_work_free(&w, net);
	return (double)right / (double)n;
}

/* Random +-1 sequences with arbitrary labels: only memorising them fits. */
Test(nn_train, overfits_tiny_set)
{
	static double x[TINY_N * TINY_LEN];
	int y[TINY_N];
	struct nn_net net;
	struct nn_train_opts o = {
		.epochs = 150, .batch = 4, .optim = NN_ADAM, .lr = 0.01f, .seed = 7, .threads = 1
	};
	char err[256] = "";
	double before;

	tiny_set(x, y);
	tiny_net(&net, 3);
	before = accuracy(&net, x, y, TINY_N);
	cr_assert_eq(nn_train(&net, x, TINY_LEN, y, TINY_N, &o, err, sizeof(err)), 0, "%s", err);
	cr_log_info("tiny set: accuracy %.3f before, %.3f after", before,
		    accuracy(&net, x, y, TINY_N));
	cr_assert_eq(accuracy(&net, x, y, TINY_N), 1.0);
	nn_net_free(&net);
}

/* The same seed gives bit-identical parameters, with 1 or 2 BLAS threads. */
Test(nn_train, deterministic_across_threads)
{
	static double x[TINY_N * TINY_LEN];
	int y[TINY_N];
	struct nn_net a, b;
	struct nn_train_opts o = { .epochs = 5,
				   .batch = 4,
				   .val_frac = 0.25,
				   .optim = NN_ADAMAX,
				   .lr = 0.002f,
				   .seed = 11,
				   .threads = 1 };
	char err[256] = "";

	tiny_set(x, y);
	tiny_net(&a, 5);
	tiny_net(&b, 5);
	cr_assert_eq(nn_train(&a, x, TINY_LEN, y, TINY_N, &o, err, sizeof(err)), 0, "%s", err);
	o.threads = 2;
	cr_assert_eq(nn_train(&b, x, TINY_LEN, y, TINY_N, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(a.params, b.params, a.nparams * sizeof(float)), 0);
	cr_assert_eq(memcmp(a.state, b.state, a.nstate * sizeof(float)), 0);
	nn_net_free(&a);
	nn_net_free(&b);
	nn_set_threads(1);
}

Test(nn_train, bad_labels_refused)
{
	static double x[TINY_N * TINY_LEN];
	int y[TINY_N];
	struct nn_net net;
	struct nn_train_opts o = { .epochs = 1, .batch = 4, .optim = NN_ADAM, .lr = 0.01f };
	char err[256] = "";

	tiny_set(x, y);
	y[5] = TINY_K;
	tiny_net(&net, 1);
	cr_assert_eq(nn_train(&net, x, TINY_LEN, y, TINY_N, &o, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "nn: row 5: label 4 outside 0..3");
	nn_net_free(&net);
}

/* ---------------------------------------------------------------- files */

/* Every layer kind, its parameters and state, bit for bit through a file. */
Test(nn_file, round_trip)
{
	struct nn_net net, back;
	char err[256] = "";
	FILE *f = tmpfile();
	size_t i;

	cr_assert_not_null(f);
	nn_net_init(&net, (struct nn_shape){ 2, 16, 0 });
	cr_assert_eq(nn_add_conv1d(&net, 3, 8), 0);
	cr_assert_eq(nn_add_batchnorm(&net, 0.99f, 1e-3f), 0);
	cr_assert_eq(nn_add_elu(&net), 0);
	cr_assert_eq(nn_add_maxpool(&net, 8, 4), 0);
	cr_assert_eq(nn_add_dropout(&net, 0.1f), 0);
	cr_assert_eq(nn_add_dense(&net, 4), 0);
	cr_assert_eq(nn_add_relu(&net), 0);
	cr_assert_eq(nn_net_finish(&net, 3), 0);
	randomise(&net);
	for (i = 0; i < net.nstate; i++)
		net.state[i] = frand();
	cr_assert_eq(nn_save(&net, f), 0);
	rewind(f);
	cr_assert_eq(nn_load(&back, f, "m", 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.nlayers, net.nlayers);
	for (i = 0; i < net.nlayers; i++) {
		cr_assert_eq(back.layers[i].kind, net.layers[i].kind);
		cr_assert_eq(back.layers[i].out.c, net.layers[i].out.c);
		cr_assert_eq(back.layers[i].out.l, net.layers[i].out.l);
	}
	cr_assert_eq(back.layers[1].momentum, net.layers[1].momentum);
	cr_assert_eq(back.layers[4].rate, net.layers[4].rate);
	cr_assert_eq(memcmp(back.params, net.params, net.nparams * sizeof(float)), 0);
	cr_assert_eq(memcmp(back.state, net.state, net.nstate * sizeof(float)), 0);
	fclose(f);
	nn_net_free(&net);
	nn_net_free(&back);
}

/* The 2-D layers and a 2-D input through a file. */
Test(nn_file, round_trip_2d)
{
	struct nn_net net, back;
	char err[256] = "";
	FILE *f = tmpfile();
	size_t i;

	cr_assert_not_null(f);
	nn_net_init(&net, (struct nn_shape){ 1, 2 * 12, 2 });
	cr_assert_eq(nn_add_conv2d(&net, 2, 3, 4, 1, 1), 0);
	cr_assert_eq(nn_add_maxpool2d(&net, 1, 3), 0);
	cr_assert_eq(nn_add_reshape(&net, 1), 0);
	cr_assert_eq(nn_add_avgpool(&net), 0);
	cr_assert_eq(nn_net_finish(&net, 3), 0);
	randomise(&net);
	cr_assert_eq(nn_save(&net, f), 0);
	rewind(f);
	cr_assert_eq(nn_load(&back, f, "m", 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.input.h, 2);
	cr_assert_eq(back.nlayers, net.nlayers);
	for (i = 0; i < net.nlayers; i++) {
		cr_assert_eq(back.layers[i].kind, net.layers[i].kind);
		cr_assert_eq(back.layers[i].out.c, net.layers[i].out.c);
		cr_assert_eq(back.layers[i].out.l, net.layers[i].out.l);
		cr_assert_eq(back.layers[i].out.h, net.layers[i].out.h);
	}
	cr_assert_eq(memcmp(back.params, net.params, net.nparams * sizeof(float)), 0);
	fclose(f);
	nn_net_free(&net);
	nn_net_free(&back);
}
