// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maybenot v2 machine strings (see maybenot.h and docs/maybenot-format.md).
 *
 * Four stages, each with its own bounds: the prefix, base64 (strict, padded,
 * canonical), zlib (at most 1 MiB out, nothing after the stream), and a
 * bincode reader that checks every read against the data left. Maybenot's
 * validation rules run afterwards on the decoded machine, as Machine::validate()
 * does after bincode. Allocation is proportional to the decompressed size:
 * a state takes at least 16 bytes, a transition at least 5.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "err.h"
#include "events.h"
#include "maybenot.h"

#define MIN_STATE_BYTES 16 /* 3 None options + 13 None options */
#define MIN_TRANS_BYTES 5  /* 1-byte varint + f32 */

static const char *const act_names[] = {
	[WFG_ACT_NONE] = "none",
	[WFG_ACT_CANCEL] = "Cancel",
	[WFG_ACT_PADDING] = "SendPadding",
	[WFG_ACT_BLOCK] = "BlockOutgoing",
	[WFG_ACT_UPDATE_TIMER] = "UpdateTimer",
};

const char *wfg_mb_event_name(unsigned ev)
{
	return wfg_event_name(ev);
}

/* ---------------------------------------------------------------- base64 */

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Standard alphabet, padded to a multiple of 4, no whitespace, zero bits after
 * the last byte (as the base64 crate's STANDARD engine). s[0..n) is the
 * payload; base is its offset in the caller's string, for messages.
 */
static int b64_decode(const char *s, size_t n, size_t base, unsigned char **out, size_t *outlen,
		      char *err, size_t errlen)
{
	size_t i, npad = 0, pad_at = 0, o = 0;
	unsigned char *buf;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			if (!npad++)
				pad_at = i;
			continue;
		}
		if (npad)
			return wfg_err(err, errlen, EINVAL,
				       "base64: padding '=' at %zu is followed by data",
				       base + pad_at);
		if (b64_val(c) < 0) {
			if (c == '-' || c == '_')
				return wfg_err(
					err, errlen, EINVAL,
					"base64: invalid character '%c' at %zu (URL-safe alphabet? "
					"Maybenot uses the standard one)",
					c, base + i);
			if (isprint(c))
				return wfg_err(err, errlen, EINVAL,
					       "base64: invalid character '%c' at %zu", c,
					       base + i);
			return wfg_err(err, errlen, EINVAL,
				       "base64: invalid character 0x%02x at %zu", c, base + i);
		}
	}
	if (npad > 2)
		return wfg_err(err, errlen, EINVAL,
			       "base64: %zu padding characters at %zu, at most 2", npad,
			       base + pad_at);
	if (n % 4)
		return wfg_err(err, errlen, EINVAL,
			       "base64: %zu characters after \"02\", not a multiple of 4 "
			       "(truncated, or padding missing?)",
			       n);
	if (npad && (b64_val((unsigned char)s[n - npad - 1]) & (npad == 1 ? 0x3 : 0xf)))
		return wfg_err(err, errlen, EINVAL,
			       "base64: non-zero bits after the last byte at %zu (not canonical)",
			       base + n - npad - 1);
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	for (i = 0; i < n; i += 4) {
		__u32 v = 0;
		int k;

		for (k = 0; k < 4; k++)
			v = v << 6 |
			    (s[i + k] == '=' ? 0 : (__u32)b64_val((unsigned char)s[i + k]));
		buf[o++] = (unsigned char)(v >> 16);
		buf[o++] = (unsigned char)(v >> 8);
		buf[o++] = (unsigned char)v;
	}
	*out = buf;
	*outlen = o - npad;
	return 0;
}

/* ---------------------------------------------------------------- zlib */

static int zlib_fail(z_stream *zs, unsigned char *buf, int code, char *err, size_t errlen,
		     const char *what)
{
	inflateEnd(zs);
	free(buf);
	return wfg_err(err, errlen, code, "zlib: %s", what);
}

/* The whole stream, at most WFG_MB_MAX_DECOMPRESSED bytes out, nothing after it. */
static int zlib_inflate(const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen,
			char *err, size_t errlen)
{
	const size_t limit = WFG_MB_MAX_DECOMPRESSED;
	size_t cap = 4096, len = 0;
	unsigned char *buf, *nb;
	z_stream zs;
	int rc;

	if (inlen > UINT_MAX)
		return wfg_err(err, errlen, EINVAL, "zlib: compressed data too large");
	memset(&zs, 0, sizeof(zs));
	buf = malloc(cap);
	if (!buf)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	rc = inflateInit(&zs);
	if (rc != Z_OK) {
		free(buf);
		return wfg_err(err, errlen, rc == Z_MEM_ERROR ? ENOMEM : EINVAL,
			       "zlib: cannot initialise (%d)", rc);
	}
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)inlen;
	for (;;) {
		if (len == cap) {
			if (cap > limit)
				return zlib_fail(&zs, buf, EINVAL, err, errlen,
						 "decompressed machine exceeds 1 MiB "
						 "(Maybenot's limit)");
			cap = cap * 2 > limit ? limit + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb)
				return zlib_fail(&zs, buf, ENOMEM, err, errlen, "out of memory");
			buf = nb;
		}
		zs.next_out = buf + len;
		zs.avail_out = (uInt)(cap - len);
		rc = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_OK)
			continue;
		if (rc == Z_BUF_ERROR && !zs.avail_out)
			continue;
		if (rc == Z_BUF_ERROR)
			return zlib_fail(&zs, buf, EINVAL, err, errlen,
					 "compressed data ends early (truncated string?)");
		if (rc == Z_NEED_DICT)
			return zlib_fail(&zs, buf, EINVAL, err, errlen,
					 "stream needs a preset dictionary");
		if (rc == Z_MEM_ERROR)
			return zlib_fail(&zs, buf, ENOMEM, err, errlen, "out of memory");
		if (zs.msg) {
			char why[128];

			snprintf(why, sizeof(why), "%s", zs.msg);
			return zlib_fail(&zs, buf, EINVAL, err, errlen, why);
		}
		return zlib_fail(&zs, buf, EINVAL, err, errlen, "corrupt compressed data");
	}
	if (len > limit)
		return zlib_fail(&zs, buf, EINVAL, err, errlen,
				 "decompressed machine exceeds 1 MiB (Maybenot's limit)");
	if (zs.avail_in) {
		char why[96];

		snprintf(why, sizeof(why), "%u bytes after the end of the compressed stream",
			 zs.avail_in);
		return zlib_fail(&zs, buf, EINVAL, err, errlen, why);
	}
	inflateEnd(&zs);
	*out = buf;
	*outlen = len;
	return 0;
}

/* ---------------------------------------------------------------- bincode */

struct rd {
	const unsigned char *p;
	size_t len, off;
	char *err;
	size_t errlen;
	char ctx[64]; /* where we are, for messages ("state 3, counter A") */
	/* the first Some(empty vector) of transitions, reported by validation */
	long empty_state;
	int empty_event;
};

__attribute__((format(printf, 3, 4))) static int rd_fail(struct rd *r, size_t at, const char *fmt,
							 ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->ctx[0])
		return wfg_err(r->err, r->errlen, EINVAL, "byte %zu: %s (%s)", at, msg, r->ctx);
	return wfg_err(r->err, r->errlen, EINVAL, "byte %zu: %s", at, msg);
}

static int rd_need(struct rd *r, size_t n, const char *what)
{
	if (r->len - r->off < n)
		return rd_fail(r, r->off, "data ends, %s expected", what);
	return 0;
}

static __u64 rd_le(struct rd *r, int n)
{
	__u64 v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | r->p[r->off + (size_t)i];
	r->off += (size_t)n;
	return v;
}

/* bincode's varint: 0..250 in one byte, else 251/252/253 + u16/u32/u64 LE. */
static int rd_varint(struct rd *r, __u64 *v, const char *what)
{
	size_t at = r->off;
	unsigned char b;
	int n;

	if (rd_need(r, 1, what))
		return -EINVAL;
	b = r->p[r->off++];
	if (b <= 250) {
		*v = b;
		return 0;
	}
	if (b == 254)
		return rd_fail(r, at, "%s: 128-bit integer where at most 64 bits fit", what);
	if (b == 255)
		return rd_fail(r, at, "%s: invalid integer tag 0xff", what);
	n = b == 251 ? 2 : b == 252 ? 4 : 8;
	if (rd_need(r, (size_t)n, what))
		return -EINVAL;
	*v = rd_le(r, n);
	return 0;
}

/* An enum variant index (u32 in bincode). */
static int rd_tag(struct rd *r, __u32 *v, const char *what)
{
	size_t at = r->off;
	__u64 x;

	if (rd_varint(r, &x, what))
		return -EINVAL;
	if (x > UINT32_MAX)
		return rd_fail(r, at, "%s: variant %llu does not fit 32 bits", what,
			       (unsigned long long)x);
	*v = (__u32)x;
	return 0;
}

static int rd_byte01(struct rd *r, int *v, const char *kind, const char *what)
{
	unsigned char b;

	if (rd_need(r, 1, what))
		return -EINVAL;
	b = r->p[r->off];
	if (b > 1)
		return rd_fail(r, r->off, "invalid %s %u for %s (0 or 1 expected)", kind, b, what);
	r->off++;
	*v = b;
	return 0;
}

static int rd_bool(struct rd *r, int *v, const char *what)
{
	return rd_byte01(r, v, "bool", what);
}

static int rd_option(struct rd *r, int *some, const char *what)
{
	return rd_byte01(r, some, "Option tag", what);
}

static int rd_f64(struct rd *r, double *v, const char *what)
{
	__u64 x;

	if (rd_need(r, 8, what))
		return -EINVAL;
	x = rd_le(r, 8);
	memcpy(v, &x, sizeof(*v));
	return 0;
}

static int rd_f32(struct rd *r, float *v, const char *what)
{
	__u32 x;

	if (rd_need(r, 4, what))
		return -EINVAL;
	x = (__u32)rd_le(r, 4);
	memcpy(v, &x, sizeof(*v));
	return 0;
}

/* Dist := varint DistType, its parameters (f64; Binomial trials a varint), f64 start, f64 max */
static int rd_dist(struct rd *r, struct wfg_dist_spec *d, const char *what)
{
	size_t at = r->off;
	__u32 tag = 0;
	__u64 trials = 0;
	int i, n;

	memset(d, 0, sizeof(*d));
	if (rd_tag(r, &tag, what))
		return -EINVAL;
	if (tag >= WFG_DK_COUNT)
		return rd_fail(r, at, "unknown distribution type %u for %s (0-%d expected)", tag,
			       what, WFG_DK_COUNT - 1);
	d->kind = (enum wfg_dist_kind)tag;
	n = wfg_dist_kind_nparams(d->kind);
	for (i = 0; i < n; i++) {
		if (d->kind == WFG_DK_BINOMIAL && i == 0) {
			if (rd_varint(r, &trials, "Binomial trials"))
				return -EINVAL;
			d->p[0] = (double)trials;
		} else if (rd_f64(r, &d->p[i], wfg_dist_param_name(d->kind, i))) {
			return -EINVAL;
		}
	}
	if (rd_f64(r, &d->start, "distribution start") || rd_f64(r, &d->max, "distribution max"))
		return -EINVAL;
	return 0;
}

static int rd_opt_dist(struct rd *r, int *some, struct wfg_dist_spec *d, const char *what)
{
	if (rd_option(r, some, what))
		return -EINVAL;
	return *some ? rd_dist(r, d, what) : 0;
}

static int rd_action(struct rd *r, struct wfg_action_spec *a)
{
	size_t at = r->off;
	__u32 kind = 0, timer = 0;

	memset(a, 0, sizeof(*a));
	if (rd_tag(r, &kind, "action"))
		return -EINVAL;
	switch (kind) {
	case 0: /* Cancel { timer } */
		a->kind = WFG_ACT_CANCEL;
		at = r->off;
		if (rd_tag(r, &timer, "Cancel timer"))
			return -EINVAL;
		if (timer > 2)
			return rd_fail(r, at,
				       "unknown timer %u (0 Action, 1 Internal, 2 All expected)",
				       timer);
		a->cancel_action = timer != 1;
		a->cancel_internal = timer != 0;
		return 0;
	case 1: /* SendPadding { bypass, replace, timeout, limit } */
		a->kind = WFG_ACT_PADDING;
		if (rd_bool(r, &a->bypass, "bypass") || rd_bool(r, &a->replace, "replace") ||
		    rd_dist(r, &a->timeout, "timeout"))
			return -EINVAL;
		break;
	case 2: /* BlockOutgoing { bypass, replace, timeout, duration, limit } */
		a->kind = WFG_ACT_BLOCK;
		if (rd_bool(r, &a->bypass, "bypass") || rd_bool(r, &a->replace, "replace") ||
		    rd_dist(r, &a->timeout, "timeout") || rd_dist(r, &a->duration, "duration"))
			return -EINVAL;
		break;
	case 3: /* UpdateTimer { replace, duration, limit } */
		a->kind = WFG_ACT_UPDATE_TIMER;
		if (rd_bool(r, &a->replace, "replace") || rd_dist(r, &a->duration, "duration"))
			return -EINVAL;
		break;
	default:
		return rd_fail(r, at,
			       "unknown action %u (0 Cancel, 1 SendPadding, 2 BlockOutgoing, "
			       "3 UpdateTimer expected)",
			       kind);
	}
	return rd_opt_dist(r, &a->has_limit, &a->limit, "limit");
}

static int rd_counter(struct rd *r, struct wfg_mb_counter *c)
{
	size_t at = r->off;
	__u32 op = 0;

	memset(c, 0, sizeof(*c));
	if (rd_tag(r, &op, "counter operation"))
		return -EINVAL;
	if (op > 2)
		return rd_fail(r, at,
			       "unknown counter operation %u (0 Increment, 1 Decrement, 2 Set "
			       "expected)",
			       op);
	c->op = (enum wfg_counter_op)(WFG_CTR_INCREMENT + op);
	if (rd_opt_dist(r, &c->has_dist, &c->dist, "counter value") ||
	    rd_bool(r, &c->copy, "counter copy"))
		return -EINVAL;
	return 0;
}

static int rd_state(struct rd *r, __u32 si, struct wfg_mb_state *st)
{
	char what[48];
	float prob;
	int some, i;
	__u32 ev;

	snprintf(r->ctx, sizeof(r->ctx), "state %u, action", si);
	if (rd_option(r, &some, "action"))
		return -EINVAL;
	if (some) {
		st->action = calloc(1, sizeof(*st->action));
		if (!st->action)
			return wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
		if (rd_action(r, st->action))
			return -EINVAL;
	}
	for (i = 0; i < 2; i++) {
		snprintf(r->ctx, sizeof(r->ctx), "state %u, counter %c", si, 'A' + i);
		if (rd_option(r, &some, "counter"))
			return -EINVAL;
		if (!some)
			continue;
		st->counter[i] = calloc(1, sizeof(*st->counter[i]));
		if (!st->counter[i])
			return wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
		if (rd_counter(r, st->counter[i]))
			return -EINVAL;
	}
	for (ev = 0; ev < WFG_EV_COUNT; ev++) {
		__u64 n, k, target;
		size_t at;

		snprintf(r->ctx, sizeof(r->ctx), "state %u, %s", si, wfg_event_name(ev));
		if (rd_option(r, &some, "transitions"))
			return -EINVAL;
		if (!some)
			continue;
		at = r->off;
		if (rd_varint(r, &n, "number of transitions"))
			return -EINVAL;
		if (n > (r->len - r->off) / MIN_TRANS_BYTES)
			return rd_fail(r, at, "%llu transitions cannot fit in the %zu bytes left",
				       (unsigned long long)n, r->len - r->off);
		if (!n) {
			if (r->empty_state < 0) {
				r->empty_state = si;
				r->empty_event = (int)ev;
			}
			continue;
		}
		st->trans[ev] = calloc(n, sizeof(*st->trans[ev]));
		if (!st->trans[ev])
			return wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
		st->ntrans[ev] = (__u32)n;
		for (k = 0; k < n; k++) {
			snprintf(what, sizeof(what), "target %llu", (unsigned long long)k);
			if (rd_varint(r, &target, what))
				return -EINVAL;
			st->trans[ev][k].target = target;
			snprintf(what, sizeof(what), "probability %llu", (unsigned long long)k);
			if (rd_f32(r, &prob, what))
				return -EINVAL;
			st->trans[ev][k].prob = prob;
		}
	}
	r->ctx[0] = 0;
	return 0;
}

static int rd_machine(struct rd *r, struct wfg_mb_machine *m)
{
	__u64 n;
	size_t at;
	__u32 i;

	if (rd_varint(r, &m->limits.allowed_padding_packets, "allowed_padding_packets") ||
	    rd_f64(r, &m->limits.max_padding_frac, "max_padding_frac") ||
	    rd_varint(r, &m->limits.allowed_blocked_us, "allowed_blocked_microsec") ||
	    rd_f64(r, &m->limits.max_blocking_frac, "max_blocking_frac"))
		return -EINVAL;
	at = r->off;
	if (rd_varint(r, &n, "number of states"))
		return -EINVAL;
	if (n > WFG_MB_STATE_MAX)
		return rd_fail(r, at, "%llu states, Maybenot allows at most %d",
			       (unsigned long long)n, WFG_MB_STATE_MAX);
	if (n > (r->len - r->off) / MIN_STATE_BYTES)
		return rd_fail(r, at, "%llu states cannot fit in the %zu bytes left",
			       (unsigned long long)n, r->len - r->off);
	if (n) {
		m->states = calloc(n, sizeof(*m->states));
		if (!m->states)
			return wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
		m->nstates = (__u32)n;
	}
	for (i = 0; i < m->nstates; i++)
		if (rd_state(r, i, &m->states[i]))
			return -EINVAL;
	if (r->off != r->len)
		return rd_fail(r, r->off, "trailing bytes after machine (%zu left)",
			       r->len - r->off);
	return 0;
}

/* ---------------------------------------------------------------- validation */

static void fmt_target(char *buf, size_t len, __u64 t)
{
	if (t == WFG_MB_STATE_END)
		snprintf(buf, len, "END");
	else if (t == WFG_MB_STATE_SIGNAL)
		snprintf(buf, len, "SIGNAL");
	else
		snprintf(buf, len, "%llu", (unsigned long long)t);
}

static int check_dist(const struct wfg_dist_spec *d, __u32 si, const char *what, char *err,
		      size_t errlen)
{
	char why[200];

	if (wfg_dist_validate(d, why, sizeof(why)))
		return wfg_err(err, errlen, EINVAL, "state %u, %s: %s", si, what, why);
	return 0;
}

static int check_action(const struct wfg_action_spec *a, __u32 si, char *err, size_t errlen)
{
	char what[48];
	const char *name = act_names[a->kind];

	snprintf(what, sizeof(what), "%s timeout", name);
	if ((a->kind == WFG_ACT_PADDING || a->kind == WFG_ACT_BLOCK) &&
	    check_dist(&a->timeout, si, what, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s duration", name);
	if ((a->kind == WFG_ACT_BLOCK || a->kind == WFG_ACT_UPDATE_TIMER) &&
	    check_dist(&a->duration, si, what, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s limit", name);
	if (a->has_limit && check_dist(&a->limit, si, what, err, errlen))
		return -EINVAL;
	return 0;
}

static int check_frac(const char *what, double f, char *err, size_t errlen)
{
	if (!(f >= 0.0 && f <= 1.0))
		return wfg_err(err, errlen, EINVAL, "%s must be within [0, 1], got %g", what, f);
	return 0;
}

/* Maybenot's Machine::validate() and State::validate(). */
static int validate(const struct wfg_mb_machine *m, const struct rd *r, char *err, size_t errlen)
{
	unsigned char *seen;
	char tname[24];
	__u32 si, ev, k;
	int rc = 0;

	if (check_frac("max_padding_frac", m->limits.max_padding_frac, err, errlen) ||
	    check_frac("max_blocking_frac", m->limits.max_blocking_frac, err, errlen))
		return -EINVAL;
	if (!m->nstates)
		return wfg_err(err, errlen, EINVAL,
			       "machine has no states (Maybenot needs 1 to %d)", WFG_MB_STATE_MAX);
	/* duplicate marks: one per state, then END and SIGNAL */
	seen = calloc((size_t)m->nstates + 2, 1);
	if (!seen)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	for (si = 0; si < m->nstates && !rc; si++) {
		const struct wfg_mb_state *st = &m->states[si];

		if (st->action && check_action(st->action, si, err, errlen)) {
			rc = -EINVAL;
			break;
		}
		for (k = 0; k < 2 && !rc; k++)
			if (st->counter[k] && st->counter[k]->has_dist)
				rc = check_dist(&st->counter[k]->dist, si,
						k ? "counter B" : "counter A", err, errlen);
		for (ev = 0; ev < WFG_EV_COUNT && !rc; ev++) {
			const struct wfg_mb_trans *t = st->trans[ev];
			const char *evn = wfg_event_name(ev);
			float sum = 0.0f;

			if (r->empty_state == (long)si && r->empty_event == (int)ev) {
				rc = wfg_err(err, errlen, EINVAL,
					     "state %u, %s: empty transition list "
					     "(probabilities sum to 0)",
					     si, evn);
				break;
			}
			for (k = 0; k < st->ntrans[ev]; k++) {
				__u64 tg = t[k].target;
				size_t slot;

				fmt_target(tname, sizeof(tname), tg);
				if (tg == WFG_MB_STATE_END)
					slot = m->nstates;
				else if (tg == WFG_MB_STATE_SIGNAL)
					slot = (size_t)m->nstates + 1;
				else if (tg < m->nstates)
					slot = (size_t)tg;
				else {
					rc = wfg_err(err, errlen, EINVAL,
						     "state %u, %s: target %s does not exist "
						     "(the machine has %u states)",
						     si, evn, tname, m->nstates);
					break;
				}
				if (seen[slot]) {
					rc = wfg_err(err, errlen, EINVAL,
						     "state %u, %s: target %s listed twice", si,
						     evn, tname);
					break;
				}
				seen[slot] = 1;
				if (!(t[k].prob > 0.0f && t[k].prob <= 1.0f)) {
					rc = wfg_err(err, errlen, EINVAL,
						     "state %u, %s: probability %.8g of target %s "
						     "is not in (0, 1]",
						     si, evn, (double)t[k].prob, tname);
					break;
				}
				sum += (float)t[k].prob; /* in f32, as Maybenot */
			}
			for (k = 0; k < st->ntrans[ev]; k++) {
				__u64 tg = t[k].target;

				if (tg < m->nstates)
					seen[tg] = 0;
			}
			seen[m->nstates] = seen[m->nstates + 1] = 0;
			if (!rc && st->ntrans[ev] && !(sum > 0.0f && sum <= 1.0f))
				rc = wfg_err(err, errlen, EINVAL,
					     "state %u, %s: probabilities sum to %.8g, more than 1",
					     si, evn, (double)sum);
		}
	}
	free(seen);
	return rc;
}

/* ---------------------------------------------------------------- API */

void wfg_mb_free(struct wfg_mb_machine *m)
{
	__u32 i, k;

	if (!m)
		return;
	for (i = 0; i < m->nstates && m->states; i++) {
		struct wfg_mb_state *st = &m->states[i];

		free(st->action);
		free(st->counter[0]);
		free(st->counter[1]);
		for (k = 0; k < WFG_EV_COUNT; k++)
			free(st->trans[k]);
	}
	free(m->states);
	free(m);
}

int wfg_mb_decode(const char *str, struct wfg_mb_machine **out, char *err, size_t errlen)
{
	unsigned char *raw = NULL, *data = NULL;
	size_t start = 0, end, rawlen = 0, datalen = 0;
	struct wfg_mb_machine *m;
	struct rd r;
	int rc;

	*out = NULL;
	if (!str)
		return wfg_err(err, errlen, EINVAL, "no machine string");
	end = strlen(str);
	while (start < end && isspace((unsigned char)str[start]))
		start++;
	while (end > start && isspace((unsigned char)str[end - 1]))
		end--;
	if (end - start < 2 || str[start] != '0' || str[start + 1] != '2') {
		if (end - start >= 2 && str[start] == '0' && isdigit((unsigned char)str[start + 1]))
			return wfg_err(err, errlen, EINVAL,
				       "not a v2 machine (prefix must be \"02\", got \"0%c\": "
				       "another Maybenot format version)",
				       str[start + 1]);
		return wfg_err(err, errlen, EINVAL, "not a v2 machine (prefix must be \"02\")");
	}
	if (end - start < 3)
		return wfg_err(err, errlen, EINVAL, "not a v2 machine (nothing after \"02\")");
	rc = b64_decode(str + start + 2, end - start - 2, start + 2, &raw, &rawlen, err, errlen);
	if (rc)
		return rc;
	rc = zlib_inflate(raw, rawlen, &data, &datalen, err, errlen);
	free(raw);
	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m) {
		free(data);
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	}
	memset(&r, 0, sizeof(r));
	r.p = data;
	r.len = datalen;
	r.err = err;
	r.errlen = errlen;
	r.empty_state = -1;
	rc = rd_machine(&r, m);
	if (!rc)
		rc = validate(m, &r, err, errlen);
	free(data);
	if (rc) {
		wfg_mb_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

__attribute__((format(printf, 3, 4))) static int sb_fail(struct wfg_side_builder *sb, int code,
							 const char *fmt, ...)
{
	va_list ap;

	sb->failed = 1;
	va_start(ap, fmt);
	vsnprintf(sb->err, sizeof(sb->err), fmt, ap);
	va_end(ap);
	return -code;
}

/*
 * Put "Maybenot state N: " in front of the builder's reason (nothing for a
 * policy's machine, whose caller names the element). Its capacity errors
 * ("too many ...") are E2BIG; mapped here too for the paths that return EINVAL.
 */
static int sb_context(struct wfg_side_builder *sb, const char *who, __u32 si, int rc)
{
	char tmp[sizeof(sb->err)];

	if (!strncmp(sb->err, "too many ", 9))
		rc = -E2BIG;
	if (who && snprintf(tmp, sizeof(tmp), "%s state %u: %s", who, si, sb->err) >= 0)
		memcpy(sb->err, tmp, sizeof(tmp));
	return rc;
}

/* What one side of the core holds, checked up front so that the reason names the machine. */
static int check_fits(struct wfg_side_builder *sb, const char *who, const struct wfg_mb_machine *m)
{
	__u32 si, ev, total = 0;

	if ((__u64)sb->nstates + m->nstates > WFG_MAX_STATES)
		return sb_fail(sb, E2BIG,
			       "%s machine has %u states; one side of the core holds at "
			       "most %d in all its machines (%u already used)",
			       who, m->nstates, WFG_MAX_STATES, sb->nstates);
	for (si = 0; si < m->nstates; si++) {
		for (ev = 0; ev < WFG_EV_COUNT; ev++) {
			__u32 n = m->states[si].ntrans[ev];

			if (n > WFG_MAX_TARGETS)
				return sb_fail(sb, E2BIG,
					       "%s state %u, %s: %u targets; the core "
					       "allows at most %d per event",
					       who, si, wfg_event_name(ev), n, WFG_MAX_TARGETS);
			total += n;
		}
	}
	if ((__u64)sb->npending + total > WFG_MAX_TRANS)
		return sb_fail(sb, E2BIG,
			       "%s machine has %u transitions; one side of the core holds "
			       "at most %d (%u already used)",
			       who, total, WFG_MAX_TRANS, sb->npending);
	return 0;
}

static __u32 core_target(__u64 t)
{
	return t == WFG_MB_STATE_END	  ? WFG_STATE_END
	       : t == WFG_MB_STATE_SIGNAL ? WFG_STATE_SIGNAL
					  : (__u32)t;
}

/* Action, counters and transitions of state si (the builder's state index too). */
static int add_state(struct wfg_side_builder *sb, const char *who, const struct wfg_mb_machine *m,
		     __u32 si)
{
	const struct wfg_mb_state *st = &m->states[si];
	__u32 ev, k;
	int rc;

	if (st->action) {
		rc = wfg_sb_action(sb, (int)si, st->action);
		if (rc < 0)
			return sb_context(sb, who, si, rc);
	}
	for (k = 0; k < 2; k++) {
		const struct wfg_mb_counter *c = st->counter[k];

		if (!c)
			continue;
		rc = wfg_sb_counter(sb, (int)si, (int)k, c->op, c->copy,
				    c->has_dist ? &c->dist : NULL);
		if (rc < 0)
			return sb_context(sb, who, si, rc);
	}
	for (ev = 0; ev < WFG_EV_COUNT; ev++) {
		for (k = 0; k < st->ntrans[ev]; k++) {
			__u64 t = st->trans[ev][k].target;

			if (t >= m->nstates && t != WFG_MB_STATE_END && t != WFG_MB_STATE_SIGNAL)
				return sb_fail(sb, EINVAL,
					       "%s%sstate %u, %s: target %llu does not exist",
					       who ? who : "", who ? " " : "", si,
					       wfg_event_name(ev), (unsigned long long)t);
			/* the builder's reasons name the state (same index) */
			rc = wfg_sb_trans(sb, (int)si, (enum wfg_event)ev, core_target(t),
					  st->trans[ev][k].prob);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int wfg_machine_add(struct wfg_side_builder *sb, const struct wfg_mb_machine *m, const char *who)
{
	__u32 si;
	int mi, rc;

	if (sb->failed)
		return -EINVAL;
	if (!m || !m->nstates)
		return sb_fail(sb, EINVAL, "%s%smachine has no states", who ? who : "",
			       who ? " " : "");
	if (who && check_fits(sb, who, m))
		return -E2BIG;
	mi = wfg_sb_machine(sb, &m->limits);
	if (mi < 0)
		return mi;
	for (si = 0; si < m->nstates; si++) {
		rc = wfg_sb_state(sb);
		if (rc < 0)
			return rc;
	}
	for (si = 0; si < m->nstates; si++) {
		rc = add_state(sb, who, m, si);
		if (rc < 0)
			return rc;
	}
	return mi;
}

int wfg_mb_add(struct wfg_side_builder *sb, const struct wfg_mb_machine *m)
{
	return wfg_machine_add(sb, m, "Maybenot");
}

/* ---------------------------------------------------------------- printing */

static void print_dist(FILE *f, const struct wfg_dist_spec *d)
{
	int i, n = wfg_dist_kind_nparams(d->kind);

	if (n < 0) {
		fprintf(f, "?");
		return;
	}
	if (d->kind == WFG_DK_UNIFORM && d->p[0] == d->p[1]) {
		double v = d->p[0] + d->start;

		v = v > 0 ? v : 0;
		if (d->max > 0 && v > d->max)
			v = d->max;
		fprintf(f, "%.15g", v);
		return;
	}
	fprintf(f, "%s(", wfg_dist_kind_name(d->kind));
	for (i = 0; i < n; i++)
		fprintf(f, "%s%s %.15g", i ? ", " : "", wfg_dist_param_name(d->kind, i), d->p[i]);
	fprintf(f, ")");
	if (d->start != 0)
		fprintf(f, " %s %.15g", d->start < 0 ? "-" : "+", fabs(d->start));
	if (d->max > 0)
		fprintf(f, " max %.15g", d->max);
}

static void print_action(FILE *f, const struct wfg_action_spec *a)
{
	if (!a) {
		fprintf(f, "no action");
		return;
	}
	if ((unsigned)a->kind > WFG_ACT_UPDATE_TIMER) {
		fprintf(f, "?");
		return;
	}
	if (a->kind == WFG_ACT_CANCEL) {
		fprintf(f, "Cancel(%s)",
			a->cancel_action && a->cancel_internal ? "all timers"
			: a->cancel_action		       ? "action timer"
							       : "internal timer");
		return;
	}
	fprintf(f, "%s(", act_names[a->kind]);
	if (a->kind == WFG_ACT_PADDING || a->kind == WFG_ACT_BLOCK) {
		fprintf(f, "timeout ");
		print_dist(f, &a->timeout);
		fprintf(f, " us%s", a->kind == WFG_ACT_BLOCK ? ", " : "");
	}
	if (a->kind == WFG_ACT_BLOCK || a->kind == WFG_ACT_UPDATE_TIMER) {
		fprintf(f, "duration ");
		print_dist(f, &a->duration);
		fprintf(f, " us");
	}
	if (a->bypass)
		fprintf(f, ", bypass");
	if (a->replace)
		fprintf(f, ", replace");
	if (a->has_limit) {
		fprintf(f, ", limit ");
		print_dist(f, &a->limit);
	}
	fprintf(f, ")");
}

void wfg_mb_print(FILE *f, const struct wfg_mb_machine *m)
{
	static const char *const ops[] = { "?", "+=", "-=", "=" };
	const struct wfg_machine_limits *l = &m->limits;
	__u32 si, ev, k;
	int c;

	fprintf(f, "%u state%s; padding: ", m->nstates, m->nstates == 1 ? "" : "s");
	if (l->allowed_padding_packets == UINT64_MAX)
		fprintf(f, "unlimited packets");
	else
		fprintf(f, "%llu packets free, then fraction %.15g%s",
			(unsigned long long)l->allowed_padding_packets, l->max_padding_frac,
			l->max_padding_frac > 0 ? "" : " (no check)");
	fprintf(f, "; blocking: ");
	if (l->allowed_blocked_us == UINT64_MAX)
		fprintf(f, "unlimited\n");
	else
		fprintf(f, "%llu us free, then fraction %.15g%s\n",
			(unsigned long long)l->allowed_blocked_us, l->max_blocking_frac,
			l->max_blocking_frac > 0 ? "" : " (no check)");
	for (si = 0; si < m->nstates; si++) {
		const struct wfg_mb_state *st = &m->states[si];

		fprintf(f, "  state %u: ", si);
		print_action(f, st->action);
		for (c = 0; c < 2; c++) {
			const struct wfg_mb_counter *ct = st->counter[c];

			if (!ct)
				continue;
			fprintf(f, "; %c %s ", 'A' + c, ops[ct->op <= WFG_CTR_SET ? ct->op : 0]);
			if (ct->copy)
				fprintf(f, "%c", c ? 'A' : 'B');
			else if (ct->has_dist)
				print_dist(f, &ct->dist);
			else
				fprintf(f, "1");
		}
		for (ev = 0; ev < WFG_EV_COUNT; ev++) {
			if (!st->ntrans[ev])
				continue;
			fprintf(f, "; %s ->", wfg_event_name(ev));
			for (k = 0; k < st->ntrans[ev]; k++) {
				const struct wfg_mb_trans *t = &st->trans[ev][k];
				char tname[24];

				fmt_target(tname, sizeof(tname), t->target);
				fprintf(f, "%s %s", k ? "," : "", tname);
				if (t->prob != 1.0f)
					fprintf(f, " (%.7g)", (double)t->prob);
			}
		}
		fprintf(f, "\n");
	}
}
