// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Deep Fingerprinting (Sirinam, Imani, Juarez and Wright, CCS 2018): a CNN
 * on the direction sequence (+1 out, -1 in, 0 padding), four blocks of two
 * convolutions, then two dense layers, trained with Adamax. Architecture,
 * hyper-parameters and figures: docs/attacks/df.md; the layers: nn/nn.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attacks.h"
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
#define DF_EPOCHS      30
#define DF_BATCH       128
#define DF_LR	       0.002f
/* Keras's batch-norm defaults, the framework of the paper's code */
#define DF_BN_MOMENTUM 0.99f
#define DF_BN_EPS      1e-3f
#define DF_VAL_FRAC    0.1
#define DF_PATIENCE    5

static const size_t df_filters[DF_BLOCKS] = { 32, 64, 128, 256 };

struct df_model {
	struct nn_net net;
	size_t length;
	size_t nclasses;
	int *labels; /* class index -> the caller's label */
};

/* ---------------------------------------------------------------- features */

static int df_extract(const struct wfb_trace *t, double *out)
{
	size_t i, n;

	if (!t || !t->n)
		return -EINVAL;
	n = t->n < DF_INPUT_MAX ? t->n : DF_INPUT_MAX;
	for (i = 0; i < n; i++) {
		if (t->pkts[i].dir == WFB_OUT)
			out[i] = 1;
		else if (t->pkts[i].dir == WFB_IN)
			out[i] = -1;
		else
			return -EINVAL;
	}
	for (; i < DF_INPUT_MAX; i++)
		out[i] = 0;
	return 0;
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

int df_build(struct nn_net *net, size_t length, size_t classes, float bn_momentum, uint64_t seed)
{
	int rc = 0, b;

	nn_net_init(net, (struct nn_shape){ 1, length, 0 });
	/* the first block uses ELU, the others ReLU, as the paper's model */
	for (b = 0; b < DF_BLOCKS && !rc; b++)
		rc = add_block(net, df_filters[b], b == 0, bn_momentum);
	rc = rc ?: nn_add_dense(net, DF_DENSE);
	rc = rc ?: nn_add_batchnorm(net, bn_momentum, DF_BN_EPS);
	rc = rc ?: nn_add_relu(net);
	rc = rc ?: nn_add_dropout(net, DF_DROP_FC1);
	rc = rc ?: nn_add_dense(net, DF_DENSE);
	rc = rc ?: nn_add_batchnorm(net, bn_momentum, DF_BN_EPS);
	rc = rc ?: nn_add_relu(net);
	rc = rc ?: nn_add_dropout(net, DF_DROP_FC2);
	rc = rc ?: nn_add_dense(net, classes);
	rc = rc ?: nn_net_finish(net, seed);
	if (rc)
		nn_net_free(net);
	return rc;
}

/* ---------------------------------------------------------------- parameters */

struct df_params {
	size_t length, batch;
	unsigned epochs, patience;
	double lr, val, bn_momentum;
	bool adam;
};

static const char *const df_known[] = { "length",   "epochs",	   "batch", "lr", "val",
					"patience", "bn_momentum", "adam",  NULL };

static int param_in(const char *params, const char *key, double lo, double hi, double *v, char *err,
		    size_t errlen)
{
	int rc = wfa_param(params, df_known, key, v, err, errlen);

	if (rc < 0)
		return rc;
	if (rc && !(*v >= lo && *v <= hi)) {
		snprintf(err, errlen, "df: %s=%g outside [%g, %g]", key, *v, lo, hi);
		return -EINVAL;
	}
	return 0;
}

static int df_parse(const char *s, struct df_params *p, char *err, size_t errlen)
{
	double length = DF_INPUT_MAX, epochs = DF_EPOCHS, batch = DF_BATCH, lr = DF_LR;
	double val = DF_VAL_FRAC, patience = DF_PATIENCE, mom = DF_BN_MOMENTUM, adam = 0;
	int rc;

	rc = param_in(s, "length", 16, DF_INPUT_MAX, &length, err, errlen);
	rc = rc ?: param_in(s, "epochs", 1, 100000, &epochs, err, errlen);
	rc = rc ?: param_in(s, "batch", 1, 1 << 16, &batch, err, errlen);
	rc = rc ?: param_in(s, "lr", 1e-9, 10, &lr, err, errlen);
	rc = rc ?: param_in(s, "val", 0, 0.9, &val, err, errlen);
	rc = rc ?: param_in(s, "patience", 0, 100000, &patience, err, errlen);
	rc = rc ?: param_in(s, "bn_momentum", 0, 0.9999, &mom, err, errlen);
	rc = rc ?: param_in(s, "adam", 0, 1, &adam, err, errlen);
	if (rc)
		return rc;
	*p = (struct df_params){ .length = (size_t)length,
				 .batch = (size_t)batch,
				 .epochs = (unsigned)epochs,
				 .patience = (unsigned)patience,
				 .lr = lr,
				 .val = val,
				 .bn_momentum = mom,
				 .adam = adam != 0 };
	return 0;
}

/* ---------------------------------------------------------------- labels */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The distinct labels, sorted, and every row's class index. */
static int map_labels(struct df_model *m, const int *y, size_t n, int *cls)
{
	size_t i, k = 0;
	int *s = malloc(n * sizeof(int));

	if (!s)
		return -ENOMEM;
	memcpy(s, y, n * sizeof(int));
	qsort(s, n, sizeof(int), cmp_int);
	for (i = 0; i < n; i++)
		if (!k || s[k - 1] != s[i])
			s[k++] = s[i];
	m->labels = s;
	m->nclasses = k;
	for (i = 0; i < n; i++)
		cls[i] = (int)((const int *)bsearch(&y[i], s, k, sizeof(int), cmp_int) - s);
	return 0;
}

/* ---------------------------------------------------------------- fit, predict */

static volatile int df_stop_flag;

void df_request_stop(void)
{
	df_stop_flag = 1;
}

/* One line per epoch on a terminal: loss, validation accuracy, time left. */
static int df_progress(const struct nn_epoch *e, void *arg)
{
	double *elapsed = arg;

	*elapsed += e->seconds;
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "df: epoch %u/%u loss %.4f val %.4f%s %.1f s, ETA %.0f s\n",
			e->epoch, e->epochs, e->loss, e->val_acc, e->best ? " (best)" : "",
			e->seconds, *elapsed / e->epoch * (e->epochs - e->epoch));
	return 0;
}

static void df_free(void *model)
{
	struct df_model *m = model;

	if (!m)
		return;
	nn_net_free(&m->net);
	free(m->labels);
	free(m);
}

static int df_fit(void **model, const double *X, const int *y, size_t n, const struct wfa_opts *o,
		  char *err, size_t errlen)
{
	struct df_params p;
	struct df_model *m;
	double elapsed = 0;
	int *cls = NULL, rc;
	struct nn_train_opts to;

	rc = df_parse(o->params, &p, err, errlen);
	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	cls = malloc((n ? n : 1) * sizeof(int));
	if (!m || !cls || map_labels(m, y, n, cls)) {
		rc = -ENOMEM;
		snprintf(err, errlen, "df: out of memory");
		goto fail;
	}
	if (m->nclasses < 2) {
		rc = -EINVAL;
		snprintf(err, errlen, "df: %zu distinct labels in training, need 2", m->nclasses);
		goto fail;
	}
	m->length = p.length;
	rc = df_build(&m->net, p.length, m->nclasses, (float)p.bn_momentum, o->seed);
	if (rc) {
		snprintf(err, errlen, "df: cannot build the network for length %zu", p.length);
		goto fail;
	}
	to = (struct nn_train_opts){ .epochs = p.epochs,
				     .batch = p.batch,
				     .val_frac = p.val,
				     .patience = p.patience,
				     .optim = p.adam ? NN_ADAM : NN_ADAMAX,
				     .lr = (float)p.lr,
				     .seed = o->seed ^ 0xdf,
				     .threads = o->threads,
				     .progress = df_progress,
				     .arg = &elapsed,
				     .stop = &df_stop_flag };
	df_stop_flag = 0;
	rc = nn_train(&m->net, X, DF_INPUT_MAX, cls, n, &to, err, errlen);
	if (rc)
		goto fail;
	free(cls);
	*model = m;
	return 0;
fail:
	free(cls);
	df_free(m);
	return rc;
}

static int df_predict(const void *model, const double *x, int *label)
{
	const struct df_model *m = model;
	struct nn_work w;
	const float *z;
	float *in;
	size_t j;
	int rc;

	in = malloc(m->length * sizeof(float));
	if (!in)
		return -ENOMEM;
	rc = nn_work_init(&w, &m->net, 1, false, 0);
	if (rc) {
		free(in);
		return rc;
	}
	for (j = 0; j < m->length; j++)
		in[j] = (float)x[j];
	z = nn_infer(&m->net, &w, in, 1);
	*label = m->labels[nn_argmax(z, m->nclasses)];
	nn_work_free(&w, &m->net);
	free(in);
	return 0;
}

/* ---------------------------------------------------------------- model files */

int df_save(const void *model, const char *path, char *err, size_t errlen)
{
	const struct df_model *m = model;
	FILE *f = fopen(path, "wb");
	size_t i;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fprintf(f, "df 1 length %zu classes %zu\nlabels", m->length, m->nclasses) < 0)
		rc = -EIO;
	for (i = 0; !rc && i < m->nclasses; i++)
		if (fprintf(f, " %d", m->labels[i]) < 0)
			rc = -EIO;
	if (!rc && (fputc('\n', f) == EOF || nn_save(&m->net, f)))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -EIO;
	if (rc)
		snprintf(err, errlen, "%s: write failed", path);
	return rc;
}

/* "labels a b c" with exactly k ints. */
static int read_labels(FILE *f, struct df_model *m)
{
	size_t i;

	if (fscanf(f, " labels") == EOF)
		return -EINVAL;
	for (i = 0; i < m->nclasses; i++)
		if (fscanf(f, " %d", &m->labels[i]) != 1)
			return -EINVAL;
	return fgetc(f) == '\n' ? 0 : -EINVAL;
}

int df_load(void **model, const char *path, char *err, size_t errlen)
{
	struct df_model *m = calloc(1, sizeof(*m));
	FILE *f;
	int rc = -EINVAL;

	if (!m)
		return -ENOMEM;
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(m);
		return rc;
	}
	if (fscanf(f, "df 1 length %zu classes %zu\n", &m->length, &m->nclasses) != 2 ||
	    m->nclasses < 2 || m->nclasses > (1u << 20) || !m->length || m->length > DF_INPUT_MAX) {
		snprintf(err, errlen, "%s:1: not a DF model (want 'df 1 length L classes K')",
			 path);
		goto fail;
	}
	m->labels = calloc(m->nclasses, sizeof(int));
	if (!m->labels || read_labels(f, m)) {
		snprintf(err, errlen, "%s:2: want 'labels' and %zu ints", path, m->nclasses);
		goto fail;
	}
	rc = nn_load(&m->net, f, path, 2, err, errlen);
	if (rc)
		goto fail;
	if (m->net.input.l != m->length || nn_net_output(&m->net).c != m->nclasses) {
		snprintf(err, errlen,
			 "%s: the network takes %zu and gives %zu, the header says %zu, %zu", path,
			 m->net.input.l, nn_net_output(&m->net).c, m->length, m->nclasses);
		rc = -EINVAL;
		goto fail;
	}
	fclose(f);
	*model = m;
	return 0;
fail:
	fclose(f);
	df_free(m);
	return rc;
}

const struct wfa_attack wfa_df = {
	.name = "df",
	.cite = "Sirinam, Imani, Juarez and Wright, Deep Fingerprinting, ACM CCS 2018",
	.nfeatures = DF_INPUT_MAX,
	.extract = df_extract,
	.fit = df_fit,
	.predict = df_predict,
	.free = df_free,
};
