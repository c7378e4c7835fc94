// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What DF, Tik-Tok and RF share (deep.h): their parameters, the mapping of
 * the caller's labels to classes, training with progress and Ctrl-C,
 * prediction and model files. Their features and networks: df.c, rf.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deep.h"

struct deep_model {
	const struct deep_spec *spec;
	struct deep_params p;
	struct nn_net net;
	size_t nclasses;
	int *labels; /* class index -> the caller's label */
};

/* ---------------------------------------------------------------- parameters */

static const char *const keys_seq[] = { "length", "epochs",	  "batch",	 "lr",
					"val",	  "patience",	  "bn_momentum", "adam",
					"lr_end", "weight_decay", NULL };
static const char *const keys_tam[] = { "length", "epochs",	  "batch",	 "lr",
					"val",	  "patience",	  "bn_momentum", "adam",
					"lr_end", "weight_decay", "slots",	 "span",
					NULL };

static const char *const keys_timed[] = { "length", "epochs",	    "batch",	   "lr",
					  "val",    "patience",	    "bn_momentum", "adam",
					  "lr_end", "weight_decay", "offset",	   NULL };

static const char *const *spec_keys(const struct deep_spec *s)
{
	return s->tam ? keys_tam : s->timed ? keys_timed : keys_seq;
}

/* One key in [lo, hi] (absent: *v unchanged). */
static int param_in(const struct deep_spec *s, const char *params, const char *key, double lo,
		    double hi, double *v, char *err, size_t errlen)
{
	int rc = wfa_param(params, spec_keys(s), key, v, err, errlen);

	if (rc < 0)
		return rc;
	if (rc && !(*v >= lo && *v <= hi)) {
		snprintf(err, errlen, "%s: %s=%g outside [%g, %g]", s->name, key, *v, lo, hi);
		return -EINVAL;
	}
	return 0;
}

static int deep_parse(const struct deep_spec *s, const char *str, struct deep_params *p, char *err,
		      size_t errlen)
{
	const struct deep_params *d = &s->defaults;
	double length = (double)d->length, epochs = d->epochs, batch = (double)d->batch;
	double lr = d->lr, val = d->val, patience = d->patience, mom = d->bn_momentum;
	double adam = d->adam, lr_end = d->lr_end, wd = d->weight_decay;
	double slots = (double)d->slots, span = d->span, offset = d->offset;
	int rc;

	rc = param_in(s, str, "length", 16, DEEP_INPUT_MAX, &length, err, errlen);
	rc = rc ?: param_in(s, str, "epochs", 1, 100000, &epochs, err, errlen);
	rc = rc ?: param_in(s, str, "batch", 1, 1 << 16, &batch, err, errlen);
	rc = rc ?: param_in(s, str, "lr", 1e-9, 10, &lr, err, errlen);
	rc = rc ?: param_in(s, str, "val", 0, 0.9, &val, err, errlen);
	rc = rc ?: param_in(s, str, "patience", 0, 100000, &patience, err, errlen);
	rc = rc ?: param_in(s, str, "bn_momentum", 0, 0.9999, &mom, err, errlen);
	rc = rc ?: param_in(s, str, "adam", 0, 1, &adam, err, errlen);
	rc = rc ?: param_in(s, str, "lr_end", 0, 1, &lr_end, err, errlen);
	rc = rc ?: param_in(s, str, "weight_decay", 0, 1, &wd, err, errlen);
	if (s->tam) {
		/* below about 100 columns the pools leave nothing */
		rc = rc ?: param_in(s, str, "slots", 100, 100000, &slots, err, errlen);
		rc = rc ?: param_in(s, str, "span", 0.01, 100000, &span, err, errlen);
	}
	if (s->timed)
		rc = rc ?: param_in(s, str, "offset", 0, 1e6, &offset, err, errlen);
	if (rc)
		return rc;
	*p = (struct deep_params){ .length = (size_t)length,
				   .batch = (size_t)batch,
				   .epochs = (unsigned)epochs,
				   .patience = (unsigned)patience,
				   .lr = lr,
				   .val = val,
				   .bn_momentum = mom,
				   .lr_end = lr_end,
				   .weight_decay = wd,
				   .adam = adam != 0,
				   .slots = (size_t)slots,
				   .span = span,
				   .offset = offset };
	return 0;
}

int deep_check(const struct deep_spec *s, const char *params, char *err, size_t errlen)
{
	struct deep_params p;

	return deep_parse(s, params, &p, err, errlen);
}

/* ---------------------------------------------------------------- labels */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The distinct labels, sorted, and every row's class index. */
static int map_labels(struct deep_model *m, const int *y, size_t n, int *cls)
{
	size_t i, k = 0;
	int *s = malloc((n ? n : 1) * sizeof(int));

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

struct progress {
	const char *name;
	double elapsed;
};

/* One line per epoch on a terminal: loss, validation accuracy, time left. */
static int deep_progress(const struct nn_epoch *e, void *arg)
{
	struct progress *pr = arg;

	pr->elapsed += e->seconds;
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r\033[K%s: epoch %u/%u loss %.4f val %.4f%s %.1f s, ETA %.0f s\n",
			pr->name, e->epoch, e->epochs, e->loss, e->val_acc,
			e->best ? " (best)" : "", e->seconds,
			pr->elapsed / e->epoch * (e->epochs - e->epoch));
	return 0;
}

void deep_free(void *model)
{
	struct deep_model *m = model;

	if (!m)
		return;
	nn_net_free(&m->net);
	free(m->labels);
	free(m);
}

/* nn_train's row callback: the spec's input transform with the model's parameters. */
static void model_row(const double *src, float *dst, const void *arg)
{
	const struct deep_model *m = arg;

	m->spec->input(src, dst, &m->p);
}

static int train(struct deep_model *m, const double *X, const int *cls, size_t n,
		 const struct wfa_opts *o, char *err, size_t errlen)
{
	struct progress pr = { .name = m->spec->name };
	static const int never;
	struct nn_train_opts to = { .epochs = m->p.epochs,
				    .batch = m->p.batch,
				    .val_frac = m->p.val,
				    .patience = m->p.patience,
				    .optim = m->p.adam ? NN_ADAM : NN_ADAMAX,
				    .lr = (float)m->p.lr,
				    .lr_end = (float)m->p.lr_end,
				    .weight_decay = (float)m->p.weight_decay,
				    .seed = o->seed ^ 0xdf,
				    .threads = o->threads,
				    .progress = deep_progress,
				    .arg = &pr,
				    .stop = o->stop ? o->stop : &never };

	if (m->spec->input) {
		to.row = model_row;
		to.row_arg = m;
	}
	return nn_train(&m->net, X, DEEP_INPUT_MAX, cls, n, &to, err, errlen);
}

int deep_fit(const struct deep_spec *s, void **model, const double *X, const int *y, size_t n,
	     const struct wfa_opts *o, char *err, size_t errlen)
{
	struct deep_model *m;
	int *cls = NULL, rc;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->spec = s;
	rc = deep_parse(s, o->params, &m->p, err, errlen);
	if (rc)
		goto fail;
	cls = malloc((n ? n : 1) * sizeof(int));
	if (!cls || map_labels(m, y, n, cls)) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", s->name);
		goto fail;
	}
	if (m->nclasses < 2) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: %zu distinct labels in training, need 2", s->name,
			 m->nclasses);
		goto fail;
	}
	rc = s->build(&m->net, &m->p, m->nclasses, o->seed);
	if (rc) {
		snprintf(err, errlen, "%s: cannot build the network for length %zu", s->name,
			 m->p.length);
		goto fail;
	}
	rc = train(m, X, cls, n, o, err, errlen);
	if (rc)
		goto fail;
	free(cls);
	*model = m;
	return 0;
fail:
	free(cls);
	deep_free(m);
	return rc;
}

int deep_predict(const void *model, const double *x, int *label)
{
	const struct deep_model *m = model;
	size_t j, insz = m->net.input.c * m->net.input.l;
	struct nn_work w;
	const float *z;
	float *in;
	int rc;

	in = malloc(insz * sizeof(float));
	if (!in)
		return -ENOMEM;
	rc = nn_work_init(&w, &m->net, 1, false, 0);
	if (rc) {
		free(in);
		return rc;
	}
	if (m->spec->input)
		m->spec->input(x, in, &m->p);
	else
		for (j = 0; j < insz; j++)
			in[j] = (float)x[j];
	z = nn_infer(&m->net, &w, in, 1);
	*label = m->labels[nn_argmax(z, m->nclasses)];
	nn_work_free(&w, &m->net);
	free(in);
	return 0;
}

/* ---------------------------------------------------------------- model files */

int deep_save(const void *model, const char *path, char *err, size_t errlen)
{
	const struct deep_model *m = model;
	FILE *f = fopen(path, "wb");
	size_t i;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fprintf(f, "%s 1 length %zu classes %zu", m->spec->name, m->p.length, m->nclasses) <
		    0 ||
	    (m->spec->tam && fprintf(f, " slots %zu span %.17g", m->p.slots, m->p.span) < 0) ||
	    (m->spec->timed && fprintf(f, " offset %.17g", m->p.offset) < 0) ||
	    fputs("\nlabels", f) == EOF)
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
static int read_labels(FILE *f, struct deep_model *m)
{
	size_t i;

	if (fscanf(f, "labels") == EOF)
		return -EINVAL;
	for (i = 0; i < m->nclasses; i++)
		if (fscanf(f, " %d", &m->labels[i]) != 1)
			return -EINVAL;
	return fgetc(f) == '\n' ? 0 : -EINVAL;
}

/* Line 1: "NAME 1 length L classes K", RF's with " slots S span T", Tik-Tok's " offset O". */
static int read_header(const struct deep_spec *s, FILE *f, struct deep_model *m, const char *path,
		       char *err, size_t errlen)
{
	char line[256], name[32];
	int used = 0;

	if (!fgets(line, sizeof(line), f) || sscanf(line, "%31s 1 length %zu classes %zu%n", name,
						    &m->p.length, &m->nclasses, &used) != 3) {
		snprintf(err, errlen, "%s:1: not a %s model (want '%s 1 length L classes K')", path,
			 s->name, s->name);
		return -EINVAL;
	}
	if (strcmp(name, s->name)) {
		snprintf(err, errlen, "%s:1: a %s model, not %s", path, name, s->name);
		return -EINVAL;
	}
	if (s->tam && (sscanf(line + used, " slots %zu span %lf", &m->p.slots, &m->p.span) != 2 ||
		       m->p.slots < 1 || !(m->p.span > 0))) {
		snprintf(err, errlen, "%s:1: want 'slots S span T' after the classes", path);
		return -EINVAL;
	}
	if (s->timed &&
	    (sscanf(line + used, " offset %lf", &m->p.offset) != 1 || !(m->p.offset >= 0))) {
		snprintf(err, errlen, "%s:1: want 'offset O' (seconds, >= 0) after the classes",
			 path);
		return -EINVAL;
	}
	if (m->nclasses < 2 || m->nclasses > (1u << 20) || !m->p.length ||
	    m->p.length > DEEP_INPUT_MAX) {
		snprintf(err, errlen, "%s:1: length %zu (1..%d) or %zu classes (2..) out of range",
			 path, m->p.length, DEEP_INPUT_MAX, m->nclasses);
		return -EINVAL;
	}
	return 0;
}

/* The network the header promises: its input and output sizes. */
static int check_net(const struct deep_model *m, const char *path, char *err, size_t errlen)
{
	size_t want = m->spec->tam ? 2 * m->p.slots : m->p.length;
	size_t in = m->net.input.c * m->net.input.l, out = nn_net_output(&m->net).c;

	if (in == want && out == m->nclasses)
		return 0;
	snprintf(err, errlen, "%s: the network takes %zu and gives %zu, the header says %zu, %zu",
		 path, in, out, want, m->nclasses);
	return -EINVAL;
}

int deep_load(const struct deep_spec *s, void **model, const char *path, char *err, size_t errlen)
{
	struct deep_model *m = calloc(1, sizeof(*m));
	FILE *f;
	int rc;

	if (!m)
		return -ENOMEM;
	m->spec = s;
	m->p = s->defaults;
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(m);
		return rc;
	}
	rc = read_header(s, f, m, path, err, errlen);
	if (rc)
		goto fail;
	m->labels = calloc(m->nclasses, sizeof(int));
	if (!m->labels || read_labels(f, m)) {
		snprintf(err, errlen, "%s:2: want 'labels' and %zu ints", path, m->nclasses);
		rc = -EINVAL;
		goto fail;
	}
	rc = nn_load(&m->net, f, path, 2, err, errlen);
	rc = rc ?: check_net(m, path, err, errlen);
	if (rc)
		goto fail;
	fclose(f);
	*model = m;
	return 0;
fail:
	fclose(f);
	deep_free(m);
	return rc;
}
