// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Robust Fingerprinting and Tik-Tok: features, the TAM, RF's shapes and
 * parameter count, fits that need time (not directions alone), model files
 * of the right attack only.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attacks.h"
#include "deep.h"
#include "rf.h"

static struct wfa_opts opts(const char *params)
{
	return (struct wfa_opts){ .seed = 1, .threads = 1, .params = params };
}

/* ---------------------------------------------------------------- features */

static void three_packets(struct wfb_trace *t)
{
	wfb_trace_init(t);
	cr_assert_eq(wfb_trace_push(t, 0, WFB_OUT, 100, WFB_REAL), 0);
	cr_assert_eq(wfb_trace_push(t, 500000000, WFB_IN, 1200, WFB_REAL), 0);
	cr_assert_eq(wfb_trace_push(t, 100000000000ULL, WFB_OUT, 0, WFB_COVER), 0);
}

Test(tiktok_features, direction_times_seconds)
{
	const struct wfa_attack *A = wfa_find("tiktok");
	static double f[DEEP_INPUT_MAX];
	struct wfb_trace t;

	cr_assert_not_null(A);
	cr_assert_eq(A->nfeatures, DEEP_INPUT_MAX);
	three_packets(&t);
	cr_assert_eq(A->extract(&t, f), 0);
	cr_assert_eq(f[0], 0, "the first packet is at time 0");
	cr_assert_float_eq(f[1], -0.5, 1e-12);
	cr_assert_float_eq(f[2], 100, 1e-9);
	cr_assert_eq(f[3], 0);
	wfb_trace_free(&t);
}

/* Out at 0 s, in at 0.5 s, out at 100 s (past the span: the last column). */
Test(rf_features, tam)
{
	const struct wfa_attack *A = wfa_find("rf");
	static double f[DEEP_INPUT_MAX];
	float tam[2 * 100];
	struct wfb_trace t;
	size_t i;
	double sum = 0;

	cr_assert_not_null(A);
	three_packets(&t);
	cr_assert_eq(A->extract(&t, f), 0);
	cr_assert_float_eq(f[0], 1, 1e-12);
	cr_assert_float_eq(f[1], -1.5, 1e-12);
	cr_assert_eq(f[3], 0);
	rf_tam(f, DEEP_INPUT_MAX, 100, 80, tam);
	cr_assert_eq(tam[0], 1, "outgoing at 0 s: slot 0");
	/* 0.5 s of 80 over 99 intervals: slot 0 too */
	cr_assert_eq(tam[100 + 0], 1, "incoming at 0.5 s");
	cr_assert_eq(tam[99], 1, "outgoing at 100 s: the last slot");
	rf_tam(f, DEEP_INPUT_MAX, 100, 1, tam);
	cr_assert_eq(tam[100 + 49], 1, "0.5 s of a 1 s span: slot 49");
	for (i = 0; i < 200; i++)
		sum += tam[i];
	cr_assert_eq(sum, 3);
	/* only the first `length` packets count */
	rf_tam(f, 2, 100, 1, tam);
	cr_assert_eq(tam[99], 0);
	wfb_trace_free(&t);
	wfb_trace_init(&t);
	cr_assert_eq(A->extract(&t, f), -EINVAL, "an empty trace is refused");
}

/* ---------------------------------------------------------------- the network */

/*
 * 1800 slots, 95 classes (the paper's closed world). 2-D part, kernels 3 x 6,
 * padding 1: rows 2 -> 2 -> 2, columns 1800 -> 1797 -> 1794, pool 1 x 3 ->
 * 598, -> 595 -> 592, pool 2 x 2 -> 1 x 296; 64 x 296 viewed as 32 x 592;
 * 1-D part (k 3, 'same'): 592, pool 3 -> 197, pool 3 -> 65.
 *   conv2d: 32*1*18+32 + 32*32*18+32 + 64*32*18+64 + 64*64*18+64
 *         = 608 + 18464 + 36928 + 73792 = 129792
 *   conv1d: 12416 + 49280 + 98560 + 196864 + 393728 + (95*512*3+95 = 146015) = 896863
 *   batch norm gamma, beta: 2 (32+32+64+64+128+128+256+256+512+95) = 3134
 * trainable 1029789; running statistics 3134.
 */
Test(rf_net, paper_shapes_and_parameter_count)
{
	struct nn_net net;
	size_t i, conv2d = 0, conv1d = 0, bn = 0;

	cr_assert_eq(rf_build(&net, 1800, 95, 0.9f, 1), 0);
	cr_assert_eq(net.nparams, 1029789);
	cr_assert_eq(net.nstate, 3134);
	for (i = 0; i < net.nlayers; i++) {
		const struct nn_layer *l = &net.layers[i];

		conv2d += l->kind == NN_CONV2D;
		conv1d += l->kind == NN_CONV1D;
		bn += l->kind == NN_BATCHNORM;
		if (l->kind == NN_RESHAPE) {
			cr_assert_eq(l->in.c, 64);
			cr_assert_eq(l->in.h, 1);
			cr_assert_eq(l->in.l, 296);
			cr_assert_eq(l->out.c, 32);
			cr_assert_eq(l->out.l, 592);
		}
	}
	cr_assert_eq(conv2d, 4);
	cr_assert_eq(conv1d, 6);
	cr_assert_eq(bn, 10);
	cr_assert_eq(net.layers[net.nlayers - 1].kind, NN_AVGPOOL);
	cr_assert_eq(net.layers[net.nlayers - 1].in.l, 65);
	cr_assert_eq(nn_net_output(&net).c, 95);
	nn_net_free(&net);
}

Test(rf_net, bad_params_rejected)
{
	const struct wfa_attack *A = wfa_find("rf");
	static double X[4 * DEEP_INPUT_MAX];
	int y[4] = { 0, 1, 0, 1 };
	char err[256] = "";
	void *m = NULL;
	struct wfa_opts o = opts("slots=50");

	cr_assert_eq(A->fit(&m, X, y, 4, &o, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "rf: slots=50 outside [100, 100000]");
	o = opts("span=0");
	cr_assert_eq(A->fit(&m, X, y, 4, &o, err, sizeof(err)), -EINVAL);
	o = opts("slots=200");
	cr_assert_eq(wfa_find("df")->fit(&m, X, y, 4, &o, err, sizeof(err)), -EINVAL,
		     "DF has no TAM");
	cr_assert(strstr(err, "slots"), "%s", err);
}

/* ---------------------------------------------------------------- fits */

/*
 * Two classes with the same directions (alternating, 64 packets) and
 * different timing: class a sends them in the first 0.2 s, class b spreads
 * them over 2 s. Directions alone cannot tell them apart; time can.
 */
static void timed_set(const struct wfa_attack *A, double *X, int *y, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct wfb_trace t;
		bool a = i % 2;
		double gap = (a ? 0.2 : 2.0) / 64 * (1 + 0.1 * (double)(i % 5));

		wfb_trace_init(&t);
		for (j = 0; j < 64; j++)
			cr_assert_eq(wfb_trace_push(&t, (uint64_t)((double)j * gap * 1e9),
						    j % 2 ? WFB_IN : WFB_OUT, 500, WFB_REAL),
				     0);
		cr_assert_eq(A->extract(&t, X + i * DEEP_INPUT_MAX), 0);
		wfb_trace_free(&t);
		y[i] = a ? 7 : 3;
	}
}

static size_t fit_and_count(const struct wfa_attack *A, const char *params, void **m)
{
	enum { N = 24 };
	static double X[N * DEEP_INPUT_MAX];
	int y[N], got;
	char err[256] = "";
	struct wfa_opts o = opts(params);
	size_t i, right = 0;

	timed_set(A, X, y, N);
	cr_assert_eq(A->fit(m, X, y, N, &o, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < N; i++) {
		cr_assert_eq(A->predict(*m, X + i * DEEP_INPUT_MAX, &got), 0);
		cr_assert(got == 7 || got == 3, "label %d", got);
		right += got == y[i];
	}
	return right;
}

Test(tiktok_fit, learns_timing)
{
	const struct wfa_attack *A = wfa_find("tiktok");
	void *m = NULL;
	size_t right = fit_and_count(A, "length=64,epochs=15,batch=8,val=0,bn_momentum=0.5", &m);

	cr_log_info("tiktok: %zu of 24 on timing alone", right);
	cr_assert_geq(right, 22, "%zu of 24", right);
	A->free(m);
}

/* A saved and reloaded model predicts what the fitted one does, row for row. */
static void assert_same_predictions(const struct wfa_attack *A, void *m, void *m2)
{
	static double X[24 * DEEP_INPUT_MAX];
	int y[24], a, b;
	size_t i;

	timed_set(A, X, y, 24);
	for (i = 0; i < 24; i++) {
		cr_assert_eq(A->predict(m, X + i * DEEP_INPUT_MAX, &a), 0);
		cr_assert_eq(A->predict(m2, X + i * DEEP_INPUT_MAX, &b), 0);
		cr_assert_eq(a, b, "row %zu", i);
	}
}

/* A saved model predicts what it did; a file of another attack is refused. */
Test(rf_fit, learns_timing_save_and_load, .timeout = 300)
{
	const struct wfa_attack *A = wfa_find("rf"), *D = wfa_find("df");
	char err[256] = "", path[] = "/tmp/wfb-rf-XXXXXX";
	void *m = NULL, *m2 = NULL;
	size_t right;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	right = fit_and_count(A, "slots=120,span=2.5,epochs=15,batch=8,val=0,lr=0.002", &m);
	cr_log_info("rf: %zu of 24 on timing alone", right);
	cr_assert_geq(right, 22, "%zu of 24", right);
	cr_assert_eq(A->save(m, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(A->load(&m2, path, err, sizeof(err)), 0, "%s", err);
	assert_same_predictions(A, m, m2);
	A->free(m2);
	cr_assert_eq(D->load(&m2, path, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":1: a rf model, not df"), "%s", err);
	unlink(path);
	A->free(m);
}

/*
 * Tik-Tok's offset (docs/attacks/tiktok.md): a parameter of Tik-Tok alone,
 * kept in the model file, so a loaded model feeds its network as the fitted
 * one did (with another offset its predictions would differ).
 */
Test(tiktok_fit, offset_parameter_and_file, .timeout = 300)
{
	const struct wfa_attack *A = wfa_find("tiktok"), *D = wfa_find("df");
	char err[256] = "", line[128] = "", path[] = "/tmp/wfb-tt-XXXXXX";
	struct wfa_shape s = { .params = "offset=-1" };
	void *m = NULL, *m2 = NULL;
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_eq(A->check(&s, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "offset=-1 outside"), "%s", err);
	s.params = "offset=0";
	cr_assert_eq(A->check(&s, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(D->check(&s, err, sizeof(err)), 0, "df has no offset");
	cr_assert_geq(fd, 0);
	close(fd);
	fit_and_count(A, "length=64,epochs=3,batch=8,val=0,bn_momentum=0.5,offset=3", &m);
	cr_assert_eq(A->save(m, path, err, sizeof(err)), 0, "%s", err);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	cr_assert_str_eq(line, "tiktok 1 length 64 classes 2 offset 3\n");
	cr_assert_eq(A->load(&m2, path, err, sizeof(err)), 0, "%s", err);
	assert_same_predictions(A, m, m2);
	A->free(m);
	A->free(m2);
	unlink(path);
}
