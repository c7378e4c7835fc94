// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maybenot v2 machine strings, written: the inverse of wfg_mb_decode()
 * (maybenot.c). bincode 1.3 varint encoding of the machine, zlib at the best
 * level (as Maybenot's encoder), standard padded base64, "02" in front.
 * docs/maybenot-format.md gives the layout both directions follow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "err.h"
#include "maybenot.h"

struct wr {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static void wr_bytes(struct wr *w, const void *src, size_t n)
{
	unsigned char *np;
	size_t cap;

	if (w->failed)
		return;
	if (w->len + n > w->cap) {
		cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		np = realloc(w->p, cap);
		if (!np) {
			w->failed = 1;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void wr_le(struct wr *w, __u64 v, unsigned bytes)
{
	unsigned char b[8];
	unsigned i;

	for (i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	wr_bytes(w, b, bytes);
}

/* bincode's varint: one byte below 251, else a width tag and the little-endian value. */
static void wr_varint(struct wr *w, __u64 v)
{
	if (v < 251) {
		wr_le(w, v, 1);
	} else if (v <= 0xffff) {
		wr_le(w, 251, 1);
		wr_le(w, v, 2);
	} else if (v <= 0xffffffffULL) {
		wr_le(w, 252, 1);
		wr_le(w, v, 4);
	} else {
		wr_le(w, 253, 1);
		wr_le(w, v, 8);
	}
}

static void wr_f64(struct wr *w, double d)
{
	__u64 v;

	memcpy(&v, &d, sizeof(v));
	wr_le(w, v, 8);
}

static void wr_f32(struct wr *w, float f)
{
	__u32 v;

	memcpy(&v, &f, sizeof(v));
	wr_le(w, v, 4);
}

static void wr_bool(struct wr *w, int b)
{
	wr_le(w, b ? 1 : 0, 1);
}

static void wr_dist(struct wr *w, const struct wfg_dist_spec *d)
{
	int i, np = wfg_dist_kind_nparams(d->kind);

	wr_varint(w, (__u64)d->kind);
	for (i = 0; i < np; i++) {
		if (d->kind == WFG_DK_BINOMIAL && i == 0)
			wr_varint(w, (__u64)d->p[0]); /* trials */
		else
			wr_f64(w, d->p[i]);
	}
	wr_f64(w, d->start);
	wr_f64(w, d->max);
}

static void wr_opt_dist(struct wr *w, int some, const struct wfg_dist_spec *d)
{
	wr_bool(w, some);
	if (some)
		wr_dist(w, d);
}

static int wr_action(struct wr *w, const struct wfg_action_spec *a)
{
	switch (a->kind) {
	case WFG_ACT_CANCEL:
		wr_varint(w, 0);
		/* Maybenot's Timer: 0 Action, 1 Internal, 2 All */
		wr_varint(w, a->cancel_action && a->cancel_internal ? 2
			     : a->cancel_internal		    ? 1
								    : 0);
		return 0;
	case WFG_ACT_PADDING:
		wr_varint(w, 1);
		wr_bool(w, a->bypass);
		wr_bool(w, a->replace);
		wr_dist(w, &a->timeout);
		break;
	case WFG_ACT_BLOCK:
		wr_varint(w, 2);
		wr_bool(w, a->bypass);
		wr_bool(w, a->replace);
		wr_dist(w, &a->timeout);
		wr_dist(w, &a->duration);
		break;
	case WFG_ACT_UPDATE_TIMER:
		wr_varint(w, 3);
		wr_bool(w, a->replace);
		wr_dist(w, &a->duration);
		break;
	default:
		return -EINVAL;
	}
	wr_opt_dist(w, a->has_limit, &a->limit);
	return 0;
}

static void wr_counter(struct wr *w, const struct wfg_mb_counter *c)
{
	wr_bool(w, c != NULL);
	if (!c)
		return;
	wr_varint(w, (__u64)(c->op - WFG_CTR_INCREMENT));
	wr_opt_dist(w, c->has_dist, &c->dist);
	wr_bool(w, c->copy);
}

static int wr_state(struct wr *w, const struct wfg_mb_state *st)
{
	__u32 ev, i;

	wr_bool(w, st->action != NULL);
	if (st->action && wr_action(w, st->action))
		return -EINVAL;
	wr_counter(w, st->counter[0]);
	wr_counter(w, st->counter[1]);
	for (ev = 0; ev < WFG_EV_COUNT; ev++) {
		wr_bool(w, st->ntrans[ev] != 0);
		if (!st->ntrans[ev])
			continue;
		wr_varint(w, st->ntrans[ev]);
		for (i = 0; i < st->ntrans[ev]; i++) {
			wr_varint(w, st->trans[ev][i].target);
			wr_f32(w, (float)st->trans[ev][i].prob);
		}
	}
	return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* "02" + padded standard base64 of n bytes. */
static char *b64_string(const unsigned char *p, size_t n)
{
	char *s = malloc(2 + 4 * ((n + 2) / 3) + 1), *o;
	size_t i;

	if (!s)
		return NULL;
	o = s;
	*o++ = '0';
	*o++ = '2';
	for (i = 0; i < n; i += 3) {
		__u32 v = (__u32)p[i] << 16;

		if (i + 1 < n)
			v |= (__u32)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = 0;
	return s;
}

int wfg_mb_encode(const struct wfg_mb_machine *m, char **out, char *err, size_t errlen)
{
	struct wr w = { 0 };
	unsigned char *z = NULL;
	uLongf zlen;
	__u32 s;
	int rc = 0;

	*out = NULL;
	wr_varint(&w, m->limits.allowed_padding_packets);
	wr_f64(&w, m->limits.max_padding_frac);
	wr_varint(&w, m->limits.allowed_blocked_us);
	wr_f64(&w, m->limits.max_blocking_frac);
	wr_varint(&w, m->nstates);
	for (s = 0; !rc && s < m->nstates; s++)
		if (wr_state(&w, &m->states[s]))
			rc = wfg_err(err, errlen, EINVAL, "state %u: unknown action kind %d", s,
				     (int)m->states[s].action->kind);
	if (!rc && w.failed)
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	if (!rc && w.len > WFG_MB_MAX_DECOMPRESSED)
		rc = wfg_err(err, errlen, E2BIG,
			     "machine takes %zu bytes of bincode; Maybenot reads at most 1 MiB",
			     w.len);
	if (!rc) {
		zlen = compressBound(w.len);
		z = malloc(zlen);
		if (!z || compress2(z, &zlen, w.p, w.len, Z_BEST_COMPRESSION) != Z_OK)
			rc = wfg_err(err, errlen, ENOMEM, "zlib: out of memory");
	}
	if (!rc && !(*out = b64_string(z, zlen)))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	free(z);
	free(w.p);
	return rc;
}
