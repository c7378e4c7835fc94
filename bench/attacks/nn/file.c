// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A trained net to a file and back (nn.h, format in docs/attacks/nn.md):
 * text lines naming the input and each layer, then the parameters and the
 * state as little-endian float32.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

#define NN_MAGIC "wfbench-nn 1"

static int layer_line(FILE *f, const struct nn_layer *l)
{
	switch (l->kind) {
	case NN_CONV1D:
		return fprintf(f, "conv1d %zu %zu\n", l->out.c, l->k);
	case NN_BATCHNORM:
		return fprintf(f, "batchnorm %.9g %.9g\n", (double)l->momentum, (double)l->eps);
	case NN_MAXPOOL:
		return fprintf(f, "maxpool %zu %zu\n", l->k, l->stride);
	case NN_DROPOUT:
		return fprintf(f, "dropout %.9g\n", (double)l->rate);
	case NN_DENSE:
		return fprintf(f, "dense %zu\n", l->out.c);
	case NN_CONV2D:
		return fprintf(f, "conv2d %zu %zu %zu %zu %zu\n", l->out.c, l->kh, l->k, l->padh,
			       l->pad);
	case NN_MAXPOOL2D:
		return fprintf(f, "maxpool2d %zu %zu\n", l->kh, l->k);
	case NN_RESHAPE:
		return fprintf(f, "reshape %zu\n", l->out.c);
	default:
		return fprintf(f, "%s\n", nn_kind_name(l->kind));
	}
}

/* float32 little-endian, whatever the host's order */
static int write_floats(FILE *f, const float *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t u;
		unsigned char b[4];

		memcpy(&u, &v[i], 4);
		b[0] = (unsigned char)u;
		b[1] = (unsigned char)(u >> 8);
		b[2] = (unsigned char)(u >> 16);
		b[3] = (unsigned char)(u >> 24);
		if (fwrite(b, 1, 4, f) != 4)
			return -EIO;
	}
	return 0;
}

static int read_floats(FILE *f, float *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char b[4];
		uint32_t u;

		if (fread(b, 1, 4, f) != 4)
			return -EIO;
		u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		    (uint32_t)b[3] << 24;
		memcpy(&v[i], &u, 4);
	}
	return 0;
}

int nn_save(const struct nn_net *net, FILE *f)
{
	size_t i;

	/* a 2-D input adds its rows: "input C L H" */
	if (fprintf(f, "%s\ninput %zu %zu", NN_MAGIC, net->input.c, net->input.l) < 0 ||
	    (net->input.h > 1 && fprintf(f, " %zu", net->input.h) < 0) ||
	    fprintf(f, "\nlayers %zu\n", net->nlayers) < 0)
		return -EIO;
	for (i = 0; i < net->nlayers; i++)
		if (layer_line(f, &net->layers[i]) < 0)
			return -EIO;
	if (fprintf(f, "params %zu state %zu\n", net->nparams, net->nstate) < 0)
		return -EIO;
	if (write_floats(f, net->params, net->nparams) || write_floats(f, net->state, net->nstate))
		return -EIO;
	return 0;
}

/* One layer line into the net being rebuilt. */
static int add_layer(struct nn_net *net, const char *line)
{
	char name[16];
	size_t a, b, c, d, e;
	float x, y;

	if (sscanf(line, "%15s", name) != 1)
		return -EINVAL;
	if (!strcmp(name, "conv1d") && sscanf(line, "conv1d %zu %zu", &a, &b) == 2)
		return nn_add_conv1d(net, a, b);
	if (!strcmp(name, "batchnorm") && sscanf(line, "batchnorm %f %f", &x, &y) == 2)
		return nn_add_batchnorm(net, x, y);
	if (!strcmp(name, "maxpool") && sscanf(line, "maxpool %zu %zu", &a, &b) == 2)
		return nn_add_maxpool(net, a, b);
	if (!strcmp(name, "dropout") && sscanf(line, "dropout %f", &x) == 1)
		return nn_add_dropout(net, x);
	if (!strcmp(name, "dense") && sscanf(line, "dense %zu", &a) == 1)
		return nn_add_dense(net, a);
	if (!strcmp(name, "conv2d") &&
	    sscanf(line, "conv2d %zu %zu %zu %zu %zu", &a, &b, &c, &d, &e) == 5)
		return nn_add_conv2d(net, a, b, c, d, e);
	if (!strcmp(name, "maxpool2d") && sscanf(line, "maxpool2d %zu %zu", &a, &b) == 2)
		return nn_add_maxpool2d(net, a, b);
	if (!strcmp(name, "reshape") && sscanf(line, "reshape %zu", &a) == 1)
		return nn_add_reshape(net, a);
	if (!strcmp(line, "avgpool"))
		return nn_add_avgpool(net);
	if (!strcmp(line, "elu"))
		return nn_add_elu(net);
	if (!strcmp(line, "relu"))
		return nn_add_relu(net);
	return -EINVAL;
}

/* The next text line without its newline; its number in *lineno. */
static int next_line(FILE *f, char *buf, size_t len, unsigned *lineno)
{
	size_t n;

	if (!fgets(buf, (int)len, f))
		return -EIO;
	(*lineno)++;
	n = strlen(buf);
	if (!n || buf[n - 1] != '\n')
		return -EINVAL;
	buf[n - 1] = 0;
	return 0;
}

int nn_load(struct nn_net *net, FILE *f, const char *name, unsigned lines_before, char *err,
	    size_t errlen)
{
	char line[128];
	unsigned no = lines_before;
	size_t c, l, h = 0, n, i, np, ns;
	int rc = 0, got;

	nn_net_init(net, (struct nn_shape){ 0, 0, 0 });
	if (next_line(f, line, sizeof(line), &no) || strcmp(line, NN_MAGIC)) {
		snprintf(err, errlen, "%s:%u: not a wfbench-nn 1 model", name, no);
		return -EINVAL;
	}
	if (next_line(f, line, sizeof(line), &no))
		goto bad;
	got = sscanf(line, "input %zu %zu %zu", &c, &l, &h);
	if (got < 2 || !c || !l || (got == 3 && (!h || l % h)))
		goto bad;
	nn_net_init(net, (struct nn_shape){ c, l, h });
	if (next_line(f, line, sizeof(line), &no) || sscanf(line, "layers %zu", &n) != 1 || !n)
		goto bad;
	for (i = 0; i < n; i++)
		if (next_line(f, line, sizeof(line), &no) || add_layer(net, line))
			goto bad;
	if (next_line(f, line, sizeof(line), &no) ||
	    sscanf(line, "params %zu state %zu", &np, &ns) != 2)
		goto bad;
	if (np != net->nparams || ns != net->nstate) {
		snprintf(err, errlen,
			 "%s:%u: %zu parameters and %zu state, the layers have %zu, %zu", name, no,
			 np, ns, net->nparams, net->nstate);
		rc = -EINVAL;
		goto fail;
	}
	rc = nn_net_finish(net, 0);
	if (rc) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	if (read_floats(f, net->params, np) || read_floats(f, net->state, ns)) {
		snprintf(err, errlen, "%s: truncated: fewer than %zu floats after line %u", name,
			 np + ns, no);
		rc = -EINVAL;
		goto fail;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s:%u: cannot read '%s'", name, no, line);
	rc = -EINVAL;
fail:
	nn_net_free(net);
	return rc;
}
