// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The layers' forward and backward passes (nn.h, docs/attacks/nn.md). Each
 * sample is [c][l]; the matrix products are cblas_sgemm on row-major
 * matrices. Every loop runs in a fixed order, so a pass is deterministic;
 * OpenBLAS splits a product over threads by output blocks, never along the
 * summed dimension, so the thread count does not change a result.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "nn_layers.h"

/* ---------------------------------------------------------------- convolutions */

/*
 * A convolution's geometry: conv1d is the 2-D case with one row, a 1-wide
 * kernel height and 'same' padding (out width = in width, the odd cell of
 * padding after); conv2d pads pw columns both sides and ph rows above and below.
 */
struct conv_geom {
	size_t c, h, w; /* input channels, rows, columns */
	size_t oh, ow;	/* output rows, columns */
	size_t kh, kw;	/* kernel */
	long ph, pw;	/* zero rows above, columns before */
};

static struct conv_geom conv_geom(const struct nn_layer *l)
{
	size_t h = l->in.h ? l->in.h : 1, oh = l->out.h ? l->out.h : 1;

	return (struct conv_geom){ .c = l->in.c,
				   .h = h,
				   .w = l->in.l / h,
				   .oh = oh,
				   .ow = l->out.l / oh,
				   .kh = l->kh,
				   .kw = l->k,
				   .ph = (long)l->padh,
				   .pw = (long)l->pad };
}

/* Output columns [*lo, *hi) read input column t + shift inside 0..w-1. */
static void shifted_range(long shift, size_t w, size_t ow, size_t *lo, size_t *hi)
{
	long a = -shift, b = (long)w - shift;

	a = a < 0 ? 0 : a > (long)ow ? (long)ow : a;
	b = b < a ? a : b > (long)ow ? (long)ow : b;
	*lo = (size_t)a;
	*hi = (size_t)b;
}

/*
 * col[((c * kh + i) * kw + j)][y * ow + t] = x[c][y + i - ph][t + j - pw], 0
 * outside: the product W[f][c * kh * kw + i * kw + j] . col is then the
 * convolution (cross-correlation, as every framework computes it).
 */
static void im2col(const float *x, const struct conv_geom *g, float *col)
{
	size_t c, i, j, y, t, lo, hi, n = g->oh * g->ow;

	for (c = 0; c < g->c; c++)
		for (i = 0; i < g->kh; i++)
			for (j = 0; j < g->kw; j++) {
				float *row = col + ((c * g->kh + i) * g->kw + j) * n;
				long shift = (long)j - g->pw;

				shifted_range(shift, g->w, g->ow, &lo, &hi);
				for (y = 0; y < g->oh; y++) {
					long sy = (long)(y + i) - g->ph;
					float *r = row + y * g->ow;
					const float *src;

					if (sy < 0 || sy >= (long)g->h) {
						memset(r, 0, g->ow * sizeof(float));
						continue;
					}
					src = x + (c * g->h + (size_t)sy) * g->w;
					for (t = 0; t < lo; t++)
						r[t] = 0;
					for (; t < hi; t++)
						r[t] = src[(long)t + shift];
					for (; t < g->ow; t++)
						r[t] = 0;
				}
			}
}

/* The adjoint of im2col: each col cell adds onto the input cell it was read from. */
static void col2im(const float *dcol, const struct conv_geom *g, float *dx)
{
	size_t c, i, j, y, t, lo, hi, n = g->oh * g->ow;

	memset(dx, 0, g->c * g->h * g->w * sizeof(float));
	for (c = 0; c < g->c; c++)
		for (i = 0; i < g->kh; i++)
			for (j = 0; j < g->kw; j++) {
				const float *row = dcol + ((c * g->kh + i) * g->kw + j) * n;
				long shift = (long)j - g->pw;

				shifted_range(shift, g->w, g->ow, &lo, &hi);
				for (y = 0; y < g->oh; y++) {
					long sy = (long)(y + i) - g->ph;
					const float *r = row + y * g->ow;
					float *d;

					if (sy < 0 || sy >= (long)g->h)
						continue;
					d = dx + (c * g->h + (size_t)sy) * g->w;
					for (t = lo; t < hi; t++)
						d[(long)t + shift] += r[t];
				}
			}
}

static void conv_forward(const struct nn_layer *l, const float *p, const float *x, float *y,
			 float *col, size_t b)
{
	struct conv_geom g = conv_geom(l);
	size_t ck = g.c * g.kh * g.kw, n = g.oh * g.ow, F = l->out.c, s, f, t;
	const float *bias = p + F * ck;

	for (s = 0; s < b; s++) {
		float *ys = y + s * F * n;

		im2col(x + s * g.c * g.h * g.w, &g, col);
		for (f = 0; f < F; f++)
			for (t = 0; t < n; t++)
				ys[f * n + t] = bias[f];
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)F, (int)n, (int)ck,
			    1.0f, p, (int)ck, col, (int)n, 1.0f, ys, (int)n);
	}
}

static void conv_backward(const struct nn_layer *l, const float *p, float *g, const float *x,
			  const float *dy, float *dx, float *col, float *dcol, size_t b)
{
	struct conv_geom cg = conv_geom(l);
	size_t ck = cg.c * cg.kh * cg.kw, n = cg.oh * cg.ow, F = l->out.c, insz, s, f, t;
	float *dbias = g + F * ck;

	insz = cg.c * cg.h * cg.w;
	for (s = 0; s < b; s++) {
		const float *dys = dy + s * F * n;

		im2col(x + s * insz, &cg, col);
		/* dW += dy . col^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)F, (int)ck, (int)n, 1.0f,
			    dys, (int)n, col, (int)n, 1.0f, g, (int)ck);
		for (f = 0; f < F; f++) {
			float acc = 0;

			for (t = 0; t < n; t++)
				acc += dys[f * n + t];
			dbias[f] += acc;
		}
		/* dcol = W^T . dy, then back onto the input's cells */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ck, (int)n, (int)F, 1.0f,
			    p, (int)ck, dys, (int)n, 0.0f, dcol, (int)n);
		col2im(dcol, &cg, dx + s * insz);
	}
}

/* ---------------------------------------------------------------- dense */

static void dense_forward(const struct nn_layer *l, const float *p, const float *x, float *y,
			  size_t b)
{
	size_t in = l->in.c * l->in.l, out = l->out.c, s;
	const float *bias = p + out * in;

	for (s = 0; s < b; s++)
		memcpy(y + s * out, bias, out * sizeof(float));
	/* y[b][out] += x[b][in] . W[out][in]^T */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)out, (int)in, 1.0f, x,
		    (int)in, p, (int)in, 1.0f, y, (int)out);
}

static void dense_backward(const struct nn_layer *l, const float *p, float *g, const float *x,
			   const float *dy, float *dx, size_t b)
{
	size_t in = l->in.c * l->in.l, out = l->out.c, s, o;
	float *dbias = g + out * in;

	/* dW[out][in] += dy^T . x */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)b, 1.0f, dy,
		    (int)out, x, (int)in, 1.0f, g, (int)in);
	for (s = 0; s < b; s++)
		for (o = 0; o < out; o++)
			dbias[o] += dy[s * out + o];
	/* dx[b][in] = dy[b][out] . W[out][in] */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)in, (int)out, 1.0f, dy,
		    (int)out, p, (int)in, 0.0f, dx, (int)in);
}

/* ---------------------------------------------------------------- batch norm */

/*
 * Training: each channel normalised by its mean and (biased) variance over
 * the b * l values of the batch; the running statistics move towards the
 * batch's (the unbiased variance, as Keras and PyTorch keep). Inference: the
 * running statistics. stat gets the batch mean and 1/std for backward.
 */
static void bn_forward(const struct nn_layer *l, const float *p, float *st, const float *x,
		       float *y, float *xhat, float *stat, size_t b, bool training)
{
	size_t C = l->in.c, len = l->in.l, n = b * len, c, s, t;
	const float *gamma = p, *beta = p + C;
	float *rmean = st, *rvar = st + C;

	for (c = 0; c < C; c++) {
		double mean = 0, var = 0;
		float inv;

		if (training) {
			for (s = 0; s < b; s++)
				for (t = 0; t < len; t++)
					mean += x[(s * C + c) * len + t];
			mean /= (double)n;
			for (s = 0; s < b; s++)
				for (t = 0; t < len; t++) {
					double d = x[(s * C + c) * len + t] - mean;

					var += d * d;
				}
			var /= (double)n;
			rmean[c] = l->momentum * rmean[c] + (1 - l->momentum) * (float)mean;
			rvar[c] = l->momentum * rvar[c] +
				  (1 - l->momentum) * (float)(n > 1 ? var * n / (n - 1) : var);
		} else {
			mean = rmean[c];
			var = rvar[c];
		}
		inv = (float)(1.0 / sqrt(var + l->eps));
		if (stat) {
			stat[c] = (float)mean;
			stat[C + c] = inv;
		}
		for (s = 0; s < b; s++)
			for (t = 0; t < len; t++) {
				size_t i = (s * C + c) * len + t;
				float h = (x[i] - (float)mean) * inv;

				if (xhat)
					xhat[i] = h;
				y[i] = gamma[c] * h + beta[c];
			}
	}
}

/*
 * With N = b * l values per channel, dxhat = dy * gamma:
 * dx = (1/std) / N * (N dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)).
 */
static void bn_backward(const struct nn_layer *l, const float *p, float *g, const float *dy,
			float *dx, const float *xhat, const float *stat, size_t b)
{
	size_t C = l->in.c, len = l->in.l, n = b * len, c, s, t;
	const float *gamma = p;
	float *dgamma = g, *dbeta = g + C;

	for (c = 0; c < C; c++) {
		double sdy = 0, sdyx = 0;
		float inv = stat[C + c], k1, k2;

		for (s = 0; s < b; s++)
			for (t = 0; t < len; t++) {
				size_t i = (s * C + c) * len + t;

				sdy += dy[i];
				sdyx += (double)dy[i] * xhat[i];
			}
		dgamma[c] += (float)sdyx;
		dbeta[c] += (float)sdy;
		k1 = (float)(sdy / (double)n);
		k2 = (float)(sdyx / (double)n);
		for (s = 0; s < b; s++)
			for (t = 0; t < len; t++) {
				size_t i = (s * C + c) * len + t;

				dx[i] = gamma[c] * inv * (dy[i] - k1 - xhat[i] * k2);
			}
	}
}

/* ---------------------------------------------------------------- max-pool */

/* Window o covers [o * stride - pad, + k) clipped to the input: cells outside never win. */
static void pool_forward(const struct nn_layer *l, const float *x, float *y, int32_t *argmax,
			 size_t b)
{
	size_t C = l->in.c, len = l->in.l, olen = l->out.l, sc, o;

	for (sc = 0; sc < b * C; sc++) {
		const float *xs = x + sc * len;

		for (o = 0; o < olen; o++) {
			long lo = (long)(o * l->stride) - (long)l->pad, hi = lo + (long)l->k, t;
			float best = -FLT_MAX;
			long at = -1;

			if (lo < 0)
				lo = 0;
			if (hi > (long)len)
				hi = (long)len;
			for (t = lo; t < hi; t++)
				if (at < 0 || xs[t] > best) {
					best = xs[t];
					at = t;
				}
			y[sc * olen + o] = best;
			if (argmax)
				argmax[sc * olen + o] = (int32_t)at;
		}
	}
}

/* Window (y, t) covers rows y*kh.. and columns t*kw.. of its plane; leftovers are dropped. */
static void pool2d_forward(const struct nn_layer *l, const float *x, float *y, int32_t *argmax,
			   size_t b)
{
	size_t h = l->in.h ? l->in.h : 1, w = l->in.l / h, oh = l->out.h ? l->out.h : 1;
	size_t ow = l->out.l / oh, sc, oy, ox, i, j;

	for (sc = 0; sc < b * l->in.c; sc++) {
		const float *xs = x + sc * l->in.l;

		for (oy = 0; oy < oh; oy++)
			for (ox = 0; ox < ow; ox++) {
				size_t at = oy * l->kh * w + ox * l->k,
				       o = sc * l->out.l + oy * ow + ox;

				for (i = 0; i < l->kh; i++)
					for (j = 0; j < l->k; j++) {
						size_t c = (oy * l->kh + i) * w + ox * l->k + j;

						if (xs[c] > xs[at])
							at = c;
					}
				y[o] = xs[at];
				if (argmax)
					argmax[o] = (int32_t)at;
			}
	}
}

/* Both max-pools: each output's gradient to the cell that won. */
static void pool_backward(const struct nn_layer *l, const float *dy, float *dx,
			  const int32_t *argmax, size_t b)
{
	size_t len = l->in.l, olen = l->out.l, sc, o;

	memset(dx, 0, b * l->in.c * len * sizeof(float));
	for (sc = 0; sc < b * l->in.c; sc++)
		for (o = 0; o < olen; o++)
			dx[sc * len + argmax[sc * olen + o]] += dy[sc * olen + o];
}

/* ---------------------------------------------------------------- reshape, average */

static void avgpool_forward(const struct nn_layer *l, const float *x, float *y, size_t b)
{
	size_t sc, t;

	for (sc = 0; sc < b * l->in.c; sc++) {
		double acc = 0;

		for (t = 0; t < l->in.l; t++)
			acc += x[sc * l->in.l + t];
		y[sc] = (float)(acc / (double)l->in.l);
	}
}

static void avgpool_backward(const struct nn_layer *l, const float *dy, float *dx, size_t b)
{
	size_t sc, t;

	for (sc = 0; sc < b * l->in.c; sc++)
		for (t = 0; t < l->in.l; t++)
			dx[sc * l->in.l + t] = dy[sc] / (float)l->in.l;
}

/* ---------------------------------------------------------------- elementwise */

static void dropout_forward(const struct nn_layer *l, const float *x, float *y, float *mask,
			    uint64_t *rng, size_t n, bool training)
{
	float keep = 1.0f / (1.0f - l->rate);
	/* drop when the top 24 bits of a draw fall below rate * 2^24 */
	uint64_t cut = (uint64_t)((double)l->rate * (1 << 24));
	size_t i;

	if (!training) {
		memcpy(y, x, n * sizeof(float));
		return;
	}
	for (i = 0; i < n; i++) {
		mask[i] = (nn_rand64(rng) >> 40) < cut ? 0.0f : keep;
		y[i] = x[i] * mask[i];
	}
}

static void elu_forward(const float *x, float *y, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : expm1f(x[i]);
}

static void relu_forward(const float *x, float *y, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : 0;
}

/* ELU's slope for x <= 0 is e^x = y + 1, so the output alone gives it. */
static void elu_backward(const float *y, const float *dy, float *dx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dx[i] = y[i] > 0 ? dy[i] : dy[i] * (y[i] + 1);
}

static void relu_backward(const float *y, const float *dy, float *dx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dx[i] = y[i] > 0 ? dy[i] : 0;
}

static void scale_backward(const float *mask, const float *dy, float *dx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dx[i] = dy[i] * mask[i];
}

/* ---------------------------------------------------------------- dispatch */

void nn_layer_forward(struct nn_net *net, const struct nn_layer *l, struct nn_work *w, size_t i,
		      size_t b, bool training)
{
	const float *x = w->act[i];
	float *y = w->act[i + 1], *p = net->params + l->p_off;
	size_t n = b * l->in.c * l->in.l;
	/* a training work keeps what backward needs; an inference pass skips it */
	bool keep = training && w->cache;

	switch (l->kind) {
	case NN_CONV1D:
	case NN_CONV2D:
		conv_forward(l, p, x, y, w->col, b);
		break;
	case NN_MAXPOOL2D:
		pool2d_forward(l, x, y, keep ? w->argmax[i] : NULL, b);
		break;
	case NN_RESHAPE:
		memcpy(y, x, n * sizeof(float));
		break;
	case NN_AVGPOOL:
		avgpool_forward(l, x, y, b);
		break;
	case NN_DENSE:
		dense_forward(l, p, x, y, b);
		break;
	case NN_BATCHNORM:
		bn_forward(l, p, net->state + l->s_off, x, y, keep ? w->cache[i] : NULL,
			   keep ? w->stat[i] : NULL, b, training);
		break;
	case NN_MAXPOOL:
		pool_forward(l, x, y, keep ? w->argmax[i] : NULL, b);
		break;
	case NN_DROPOUT:
		dropout_forward(l, x, y, w->cache[i], &w->rng, n, keep);
		break;
	case NN_ELU:
		elu_forward(x, y, n);
		break;
	case NN_RELU:
		relu_forward(x, y, n);
		break;
	default:
		break;
	}
}

void nn_layer_backward(struct nn_net *net, const struct nn_layer *l, struct nn_work *w, size_t i,
		       size_t b)
{
	const float *x = w->act[i], *y = w->act[i + 1], *dy = w->dcur;
	float *dx = w->dnext, *p = net->params + l->p_off, *g = net->grads + l->p_off;
	size_t n = b * l->in.c * l->in.l;

	switch (l->kind) {
	case NN_CONV1D:
	case NN_CONV2D:
		conv_backward(l, p, g, x, dy, dx, w->col, w->dcol, b);
		break;
	case NN_MAXPOOL2D:
		pool_backward(l, dy, dx, w->argmax[i], b);
		break;
	case NN_RESHAPE:
		memcpy(dx, dy, n * sizeof(float));
		break;
	case NN_AVGPOOL:
		avgpool_backward(l, dy, dx, b);
		break;
	case NN_DENSE:
		dense_backward(l, p, g, x, dy, dx, b);
		break;
	case NN_BATCHNORM:
		bn_backward(l, p, g, dy, dx, w->cache[i], w->stat[i], b);
		break;
	case NN_MAXPOOL:
		pool_backward(l, dy, dx, w->argmax[i], b);
		break;
	case NN_DROPOUT:
		scale_backward(w->cache[i], dy, dx, n);
		break;
	case NN_ELU:
		elu_backward(y, dy, dx, n);
		break;
	case NN_RELU:
		relu_backward(y, dy, dx, n);
		break;
	default:
		break;
	}
}
