// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maybenot v2 machine strings: the public test vectors field by field, the
 * generated defences of the Maybenot CLI examples, machines this test encodes
 * itself (its own bincode writer, zlib and base64) covering every distribution,
 * action, counter and special target, malformed input with the expected
 * reason, the core's per-side limits, decoded machines run through the core,
 * and a deterministic mutation fuzz (run under ASan/UBSan by `make test`).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wfguard/core/core.h"
#include "maybenot.h"
#include "side_build.h"

#define MS 1000000ULL
#define S  1000000000ULL

/* Public vectors (data/maybenot/README.md, from the Maybenot project's tests). */
#define MB_NOOP	   "02eNpjYEAHjOgCAAA0AAI="
#define MB_EXAMPLE "02eNpti1EJACAQQzcjWEjMYCEjGsUCojiUg+Pex2CPbe0HxCz4JCVJoJvF7SEjt+qUtnY+gDUNIg=="
#define MB_PING	   "02eNpty8sJACAMA9DEgVyhuFkPDuwC4o8KpfRBoQlkLoNnCL5yjiSg4h5zY0p7baEK2w33hw3i"
#define MB_SIM_DOC "02eNp1ibEJAEAIA5Nf7B3N0v1cSESwEL0m5A6YvBqSgP7WeXfM5UoBW7ICYg=="

static const __u32 key[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* ---------------------------------------------------------------- the test's own encoder */

struct enc {
	unsigned char *b;
	size_t len, cap;
};

static void put(struct enc *e, const void *p, size_t n)
{
	if (e->len + n > e->cap) {
		e->cap = (e->len + n) * 2 + 64;
		e->b = realloc(e->b, e->cap);
		cr_assert_not_null(e->b);
	}
	memcpy(e->b + e->len, p, n);
	e->len += n;
}

static void put_u8(struct enc *e, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put(e, &c, 1);
}

static void put_le(struct enc *e, __u64 v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		put_u8(e, (unsigned)(v >> (8 * i)) & 0xff);
}

/* bincode 1.3 varint, shortest form */
static void put_varint(struct enc *e, __u64 v)
{
	if (v <= 250) {
		put_u8(e, (unsigned)v);
	} else if (v <= 0xffff) {
		put_u8(e, 251);
		put_le(e, v, 2);
	} else if (v <= 0xffffffffULL) {
		put_u8(e, 252);
		put_le(e, v, 4);
	} else {
		put_u8(e, 253);
		put_le(e, v, 8);
	}
}

static void put_f64(struct enc *e, double d)
{
	__u64 v;

	memcpy(&v, &d, 8);
	put_le(e, v, 8);
}

static void put_f32(struct enc *e, float f)
{
	__u32 v;

	memcpy(&v, &f, 4);
	put_le(e, v, 4);
}

/* parameters per DistType, in Maybenot's order */
static const int nparams[WFG_DK_COUNT] = { 2, 2, 3, 2, 2, 1, 2, 1, 2, 2, 2 };

static void put_dist(struct enc *e, const struct wfg_dist_spec *d)
{
	int i;

	put_varint(e, d->kind);
	for (i = 0; i < nparams[d->kind]; i++) {
		if (d->kind == WFG_DK_BINOMIAL && i == 0)
			put_varint(e, (__u64)d->p[0]);
		else
			put_f64(e, d->p[i]);
	}
	put_f64(e, d->start);
	put_f64(e, d->max);
}

static void put_opt_dist(struct enc *e, int some, const struct wfg_dist_spec *d)
{
	put_u8(e, !!some);
	if (some)
		put_dist(e, d);
}

static void put_action(struct enc *e, const struct wfg_action_spec *a)
{
	switch (a->kind) {
	case WFG_ACT_CANCEL:
		put_varint(e, 0);
		put_varint(e, a->cancel_action && a->cancel_internal ? 2 : a->cancel_internal);
		return;
	case WFG_ACT_PADDING:
		put_varint(e, 1);
		put_u8(e, !!a->bypass);
		put_u8(e, !!a->replace);
		put_dist(e, &a->timeout);
		break;
	case WFG_ACT_BLOCK:
		put_varint(e, 2);
		put_u8(e, !!a->bypass);
		put_u8(e, !!a->replace);
		put_dist(e, &a->timeout);
		put_dist(e, &a->duration);
		break;
	case WFG_ACT_UPDATE_TIMER:
		put_varint(e, 3);
		put_u8(e, !!a->replace);
		put_dist(e, &a->duration);
		break;
	default:
		cr_assert_fail("bad action kind in test machine");
	}
	put_opt_dist(e, a->has_limit, &a->limit);
}

static void put_machine(struct enc *e, const struct wfg_mb_machine *m)
{
	__u32 i, ev, k, c;

	put_varint(e, m->limits.allowed_padding_packets);
	put_f64(e, m->limits.max_padding_frac);
	put_varint(e, m->limits.allowed_blocked_us);
	put_f64(e, m->limits.max_blocking_frac);
	put_varint(e, m->nstates);
	for (i = 0; i < m->nstates; i++) {
		const struct wfg_mb_state *st = &m->states[i];

		put_u8(e, !!st->action);
		if (st->action)
			put_action(e, st->action);
		for (c = 0; c < 2; c++) {
			const struct wfg_mb_counter *ct = st->counter[c];

			put_u8(e, !!ct);
			if (!ct)
				continue;
			put_varint(e, (__u64)(ct->op - WFG_CTR_INCREMENT));
			put_opt_dist(e, ct->has_dist, &ct->dist);
			put_u8(e, !!ct->copy);
		}
		for (ev = 0; ev < WFG_EV_COUNT; ev++) {
			put_u8(e, st->ntrans[ev] > 0);
			if (!st->ntrans[ev])
				continue;
			put_varint(e, st->ntrans[ev]);
			for (k = 0; k < st->ntrans[ev]; k++) {
				put_varint(e, st->trans[ev][k].target);
				put_f32(e, st->trans[ev][k].prob);
			}
		}
	}
}

static char *b64(const unsigned char *p, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc(2 + (n + 2) / 3 * 4 + 1), *o = s;
	size_t i;

	cr_assert_not_null(s);
	*o++ = '0';
	*o++ = '2';
	for (i = 0; i < n; i += 3) {
		__u32 v = (__u32)p[i] << 16 | (i + 1 < n ? (__u32)p[i + 1] << 8 : 0) |
			  (i + 2 < n ? p[i + 2] : 0);

		*o++ = al[v >> 18];
		*o++ = al[(v >> 12) & 63];
		*o++ = i + 1 < n ? al[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? al[v & 63] : '=';
	}
	*o = 0;
	return s;
}

/* zlib-compress (level 9) into a fresh buffer. */
static unsigned char *deflate_buf(const unsigned char *p, size_t n, size_t *outlen)
{
	uLongf cap = compressBound((uLong)n);
	unsigned char *z = malloc(cap);

	cr_assert_not_null(z);
	cr_assert_eq(compress2(z, &cap, p, (uLong)n, 9), Z_OK);
	*outlen = cap;
	return z;
}

/* "02" + base64(zlib(bytes)) */
static char *mb_string(const unsigned char *p, size_t n)
{
	size_t zn;
	unsigned char *z = deflate_buf(p, n, &zn);
	char *s = b64(z, zn);

	free(z);
	return s;
}

static char *encode_machine(const struct wfg_mb_machine *m, struct enc *raw)
{
	struct enc e = { 0 };
	char *s;

	put_machine(&e, m);
	s = mb_string(e.b, e.len);
	if (raw)
		*raw = e;
	else
		free(e.b);
	return s;
}

/* Bytes from hex text (spaces ignored). */
static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
	size_t n = 0;

	while (*h) {
		unsigned v;

		if (*h == ' ') {
			h++;
			continue;
		}
		cr_assert_eq(sscanf(h, "%2x", &v), 1, "bad hex in test: %s", h);
		cr_assert_lt(n, cap);
		out[n++] = (unsigned char)v;
		h += 2;
	}
	return n;
}

static char *hex_string(const char *h)
{
	unsigned char buf[4096];

	return mb_string(buf, unhex(h, buf, sizeof(buf)));
}

/* ---------------------------------------------------------------- helpers */

static struct wfg_mb_machine *decode_ok(const char *s)
{
	struct wfg_mb_machine *m = NULL;
	char err[256] = "";

	cr_assert_eq(wfg_mb_decode(s, &m, err, sizeof(err)), 0, "%s: %s", s, err);
	cr_assert_not_null(m);
	return m;
}

#define SPEC(k, a, b, c, st, mx) \
	((struct wfg_dist_spec){ .kind = (k), .p = { (a), (b), (c) }, .start = (st), .max = (mx) })

static void assert_dist_eq(const struct wfg_dist_spec *a, const struct wfg_dist_spec *b,
			   const char *what)
{
	int i;

	cr_assert_eq(a->kind, b->kind, "%s: kind %d != %d", what, a->kind, b->kind);
	for (i = 0; i < 3; i++)
		cr_assert(a->p[i] == b->p[i], "%s: p[%d] %.17g != %.17g", what, i, a->p[i],
			  b->p[i]);
	cr_assert(a->start == b->start, "%s: start %.17g != %.17g", what, a->start, b->start);
	cr_assert(a->max == b->max, "%s: max %.17g != %.17g", what, a->max, b->max);
}

static void assert_action_eq(const struct wfg_action_spec *a, const struct wfg_action_spec *b,
			     __u32 si)
{
	char what[64];

	cr_assert_eq(!a, !b, "state %u: action presence", si);
	if (!a)
		return;
	cr_assert_eq(a->kind, b->kind, "state %u: action kind", si);
	cr_assert_eq(!!a->bypass, !!b->bypass, "state %u: bypass", si);
	cr_assert_eq(!!a->replace, !!b->replace, "state %u: replace", si);
	cr_assert_eq(!!a->cancel_action, !!b->cancel_action, "state %u: cancel_action", si);
	cr_assert_eq(!!a->cancel_internal, !!b->cancel_internal, "state %u: cancel_internal", si);
	snprintf(what, sizeof(what), "state %u timeout", si);
	assert_dist_eq(&a->timeout, &b->timeout, what);
	snprintf(what, sizeof(what), "state %u duration", si);
	assert_dist_eq(&a->duration, &b->duration, what);
	cr_assert_eq(!!a->has_limit, !!b->has_limit, "state %u: has_limit", si);
	snprintf(what, sizeof(what), "state %u limit", si);
	assert_dist_eq(&a->limit, &b->limit, what);
}

static void assert_machine_eq(const struct wfg_mb_machine *a, const struct wfg_mb_machine *b)
{
	__u32 i, ev, k, c;

	cr_assert_eq(a->limits.allowed_padding_packets, b->limits.allowed_padding_packets);
	cr_assert(a->limits.max_padding_frac == b->limits.max_padding_frac);
	cr_assert_eq(a->limits.allowed_blocked_us, b->limits.allowed_blocked_us);
	cr_assert(a->limits.max_blocking_frac == b->limits.max_blocking_frac);
	cr_assert_eq(a->nstates, b->nstates);
	for (i = 0; i < a->nstates; i++) {
		const struct wfg_mb_state *x = &a->states[i], *y = &b->states[i];

		assert_action_eq(x->action, y->action, i);
		for (c = 0; c < 2; c++) {
			const struct wfg_mb_counter *p = x->counter[c], *q = y->counter[c];

			cr_assert_eq(!p, !q, "state %u counter %u presence", i, c);
			if (!p)
				continue;
			cr_assert_eq(p->op, q->op, "state %u counter %u op", i, c);
			cr_assert_eq(!!p->copy, !!q->copy, "state %u counter %u copy", i, c);
			cr_assert_eq(!!p->has_dist, !!q->has_dist, "state %u counter %u dist", i,
				     c);
			if (p->has_dist)
				assert_dist_eq(&p->dist, &q->dist, "counter");
		}
		for (ev = 0; ev < WFG_EV_COUNT; ev++) {
			cr_assert_eq(x->ntrans[ev], y->ntrans[ev], "state %u ev %u count", i, ev);
			cr_assert_eq(!x->trans[ev], !y->trans[ev], "state %u ev %u ptr", i, ev);
			for (k = 0; k < x->ntrans[ev]; k++) {
				cr_assert_eq(x->trans[ev][k].target, y->trans[ev][k].target,
					     "state %u ev %u target %u", i, ev, k);
				cr_assert(x->trans[ev][k].prob == y->trans[ev][k].prob,
					  "state %u ev %u prob %u", i, ev, k);
			}
		}
	}
}

/* The state has transitions on exactly the events in mask. */
static void assert_events(const struct wfg_mb_state *st, unsigned mask, __u32 si)
{
	unsigned ev;

	for (ev = 0; ev < WFG_EV_COUNT; ev++)
		cr_assert_eq(st->ntrans[ev] > 0, !!(mask & (1u << ev)),
			     "state %u: transitions on %s", si, wfg_mb_event_name(ev));
}

static void assert_single(const struct wfg_mb_state *st, enum wfg_event ev, __u64 target)
{
	cr_assert_eq(st->ntrans[ev], 1, "%s", wfg_mb_event_name(ev));
	cr_assert_eq(st->trans[ev][0].target, target);
	cr_assert(st->trans[ev][0].prob == 1.0f);
}

static void assert_bare(const struct wfg_mb_state *st)
{
	cr_assert_null(st->counter[0]);
	cr_assert_null(st->counter[1]);
}

/* A padding action with a constant timeout Uniform{0, 0} + start, as in the vectors. */
static void assert_pad_const(const struct wfg_action_spec *a, double start_us)
{
	struct wfg_dist_spec want = SPEC(WFG_DK_UNIFORM, 0, 0, 0, start_us, 0);
	struct wfg_dist_spec zero = { 0 };

	cr_assert_not_null(a);
	cr_assert_eq(a->kind, WFG_ACT_PADDING);
	cr_assert_eq(a->bypass, 0);
	cr_assert_eq(a->replace, 0);
	cr_assert_eq(a->cancel_action, 0);
	cr_assert_eq(a->cancel_internal, 0);
	assert_dist_eq(&a->timeout, &want, "timeout");
	assert_dist_eq(&a->duration, &zero, "duration");
	cr_assert_eq(a->has_limit, 0);
	assert_dist_eq(&a->limit, &zero, "limit");
}

static const char *shared_data(void)
{
	const char *base = getenv("WFG_SHARED_DATA");

	return base ? base : "../shared/data";
}

/* ---------------------------------------------------------------- public vectors */

Test(maybenot, noop_machine)
{
	struct wfg_mb_machine *m = decode_ok(MB_NOOP);

	cr_assert_eq(m->limits.allowed_padding_packets, 0);
	cr_assert(m->limits.max_padding_frac == 0.0);
	cr_assert_eq(m->limits.allowed_blocked_us, 0);
	cr_assert(m->limits.max_blocking_frac == 0.0);
	cr_assert_eq(m->nstates, 1);
	cr_assert_null(m->states[0].action);
	assert_bare(&m->states[0]);
	assert_events(&m->states[0], 0, 0);
	wfg_mb_free(m);
}

Test(maybenot, example_machine)
{
	struct wfg_mb_machine *m = decode_ok(MB_EXAMPLE);

	cr_assert_eq(m->limits.allowed_padding_packets, UINT64_MAX);
	cr_assert(m->limits.max_padding_frac == 1.0);
	cr_assert_eq(m->limits.allowed_blocked_us, 0);
	cr_assert(m->limits.max_blocking_frac == 0.0);
	cr_assert_eq(m->nstates, 2);
	cr_assert_null(m->states[0].action);
	assert_bare(&m->states[0]);
	assert_events(&m->states[0], 1u << WFG_EV_TUNNEL_RECV, 0);
	assert_single(&m->states[0], WFG_EV_TUNNEL_RECV, 1);
	assert_pad_const(m->states[1].action, 5000000.0);
	assert_bare(&m->states[1]);
	assert_events(&m->states[1], 1u << WFG_EV_PADDING_SENT, 1);
	assert_single(&m->states[1], WFG_EV_PADDING_SENT, 0);
	wfg_mb_free(m);
}

Test(maybenot, ping_loop_machine)
{
	struct wfg_mb_machine *m = decode_ok(MB_PING);

	cr_assert_eq(m->limits.allowed_padding_packets, UINT64_MAX);
	cr_assert(m->limits.max_padding_frac == 1.0);
	cr_assert_eq(m->limits.allowed_blocked_us, 0);
	cr_assert(m->limits.max_blocking_frac == 0.0);
	cr_assert_eq(m->nstates, 2);
	cr_assert_null(m->states[0].action);
	assert_bare(&m->states[0]);
	assert_events(&m->states[0], 1u << WFG_EV_NORMAL_SENT | 1u << WFG_EV_NORMAL_RECV, 0);
	assert_single(&m->states[0], WFG_EV_NORMAL_SENT, 1);
	assert_single(&m->states[0], WFG_EV_NORMAL_RECV, 1);
	assert_pad_const(m->states[1].action, 1000000.0);
	assert_bare(&m->states[1]);
	assert_events(&m->states[1], 1u << WFG_EV_PADDING_SENT, 1);
	assert_single(&m->states[1], WFG_EV_PADDING_SENT, 1);
	wfg_mb_free(m);
}

Test(maybenot, simulator_readme_machine)
{
	struct wfg_mb_machine *m = decode_ok(MB_SIM_DOC);

	cr_assert_eq(m->limits.allowed_padding_packets, 0);
	cr_assert(m->limits.max_padding_frac == 0.0);
	cr_assert_eq(m->limits.allowed_blocked_us, 0);
	cr_assert(m->limits.max_blocking_frac == 0.0);
	cr_assert_eq(m->nstates, 2);
	cr_assert_null(m->states[0].action);
	assert_bare(&m->states[0]);
	assert_events(&m->states[0], 1u << WFG_EV_NORMAL_SENT, 0);
	assert_single(&m->states[0], WFG_EV_NORMAL_SENT, 1);
	assert_pad_const(m->states[1].action, 20000.0);
	assert_bare(&m->states[1]);
	assert_events(&m->states[1], 0, 1);
	wfg_mb_free(m);
}

Test(maybenot, vectors_are_the_ones_in_the_shared_readme)
{
	static const char *const v[] = { MB_NOOP, MB_EXAMPLE, MB_PING, MB_SIM_DOC };
	char path[512], *text;
	size_t n, i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/maybenot/README.md", shared_data());
	f = fopen(path, "r");
	if (!f)
		cr_skip_test("no shared data at %s (set WFG_SHARED_DATA)", path);
	text = calloc(1, 1 << 16);
	cr_assert_not_null(text);
	n = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	cr_assert_gt(n, 0);
	for (i = 0; i < 4; i++)
		cr_assert_not_null(strstr(text, v[i]), "vector %zu not in %s", i, path);
	free(text);
}

Test(maybenot, surrounding_whitespace_is_ignored)
{
	struct wfg_mb_machine *m = decode_ok("  \t" MB_EXAMPLE "\r\n");

	cr_assert_eq(m->nstates, 2);
	wfg_mb_free(m);
}

/* ---------------------------------------------------------------- generated defences */

/* The "02..." strings of one JSON line: simple scanning, as the brief allows. */
static int next_string(const char **p, char *out, size_t cap)
{
	const char *s = strstr(*p, "\"02"), *e;

	if (!s)
		return 0;
	e = strchr(s + 1, '"');
	cr_assert_not_null(e);
	cr_assert_lt((size_t)(e - s - 1), cap);
	memcpy(out, s + 1, (size_t)(e - s - 1));
	out[e - s - 1] = 0;
	*p = e + 1;
	return 1;
}

Test(maybenot, padding_defences_file_decodes_and_fits)
{
	static struct wfg_side_cfg cfg;
	static struct wfg_side_builder sb;
	char path[512], line[65536], s[8192];
	unsigned lines = 0, machines = 0, fit = 0, toobig = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/maybenot/10-padding-defenses.def", shared_data());
	f = fopen(path, "r");
	if (!f)
		cr_skip_test("no shared data at %s (set WFG_SHARED_DATA)", path);
	cr_assert_not_null(fgets(line, sizeof(line), f), "header line");
	while (fgets(line, sizeof(line), f)) {
		static const char *const sides[2] = { "\"client\"", "\"server\"" };
		int side;

		if (!strchr(line, '{'))
			continue;
		lines++;
		/* each side of the defence is one side of a flow: all its machines together */
		for (side = 0; side < 2; side++) {
			const char *p = strstr(line, sides[side]), *end;
			int rc = 0, n = 0;

			cr_assert_not_null(p, "line %u: no %s", lines, sides[side]);
			end = strchr(p, ']');
			cr_assert_not_null(end);
			wfg_sb_init(&sb, &cfg);
			while (next_string(&p, s, sizeof(s)) && p <= end + 1) {
				struct wfg_mb_machine *m = decode_ok(s);
				FILE *null = fopen("/dev/null", "w");

				machines++;
				n++;
				wfg_mb_print(null, m);
				fclose(null);
				rc = wfg_mb_add(&sb, m);
				wfg_mb_free(m);
				if (rc < 0)
					break;
			}
			cr_assert_gt(n, 0);
			if (rc >= 0)
				rc = wfg_sb_finish(&sb);
			if (rc < 0) {
				cr_assert_eq(rc, -E2BIG, "line %u %s: %s", lines, sides[side],
					     sb.err);
				cr_log_info("line %u %s: exceeds the core's per-side limits: %s",
					    lines, sides[side], sb.err);
				toobig += (unsigned)n;
			} else {
				cr_assert_eq(cfg.nmachines, (__u32)n);
				fit += (unsigned)n;
			}
		}
	}
	fclose(f);
	cr_log_info("%u lines, %u machines decoded, %u fit one side of the core, %u do not", lines,
		    machines, fit, toobig);
	cr_assert_eq(lines, 10);
	cr_assert_eq(machines, fit + toobig);
	cr_assert_eq(machines, 20);
	cr_assert_eq(fit, 20, "every generated defence fits the core's per-side limits");
}

/* ---------------------------------------------------------------- round trips */

static struct wfg_action_spec act_cancel(int a, int i)
{
	return (struct wfg_action_spec){ .kind = WFG_ACT_CANCEL,
					 .cancel_action = a,
					 .cancel_internal = i };
}

/* Every distribution kind, action kind, counter form, event and special target. */
static struct wfg_action_spec k_act[9];
static struct wfg_mb_counter k_ctr[5];
static struct wfg_mb_trans k_tr0[3] = { { 1, 0.5f },
					{ WFG_MB_STATE_END, 0.25f },
					{ WFG_MB_STATE_SIGNAL, 0.25f } };
static struct wfg_mb_trans k_tr1[1] = { { 2, 1.0f } };
static struct wfg_mb_trans k_tr8[WFG_EV_COUNT][2];
static struct wfg_mb_state k_states[9];
static struct wfg_mb_machine kitchen;

static void build_kitchen(void)
{
	unsigned ev;

	memset(k_states, 0, sizeof(k_states));
	k_act[1] = act_cancel(1, 0);
	k_act[2] = act_cancel(0, 1);
	k_act[3] = act_cancel(1, 1);
	k_act[4] = (struct wfg_action_spec){
		.kind = WFG_ACT_PADDING,
		.bypass = 1,
		.timeout = SPEC(WFG_DK_NORMAL, 100, 20, 0, 5, 500),
		.has_limit = 1,
		.limit = SPEC(WFG_DK_BINOMIAL, 10, 0.5, 0, 0, 0),
	};
	k_act[5] = (struct wfg_action_spec){
		.kind = WFG_ACT_BLOCK,
		.replace = 1,
		.timeout = SPEC(WFG_DK_SKEW_NORMAL, 1000, 50, -2, 0, 0),
		.duration = SPEC(WFG_DK_LOG_NORMAL, 5, 0.5, 0, 0, 10000),
		.has_limit = 1,
		.limit = SPEC(WFG_DK_GEOMETRIC, 0.3, 0, 0, 1, 0),
	};
	k_act[6] = (struct wfg_action_spec){
		.kind = WFG_ACT_UPDATE_TIMER,
		.replace = 1,
		.duration = SPEC(WFG_DK_PARETO, 100, 2.5, 0, 0, 0),
		.has_limit = 1,
		.limit = SPEC(WFG_DK_POISSON, 4, 0, 0, 0, 0),
	};
	k_act[7] = (struct wfg_action_spec){
		.kind = WFG_ACT_PADDING,
		.bypass = 1,
		.replace = 1,
		.timeout = SPEC(WFG_DK_WEIBULL, 200, 1.5, 0, 0, 0),
	};
	k_act[8] = (struct wfg_action_spec){
		.kind = WFG_ACT_BLOCK,
		.bypass = 1,
		.replace = 1,
		.timeout = SPEC(WFG_DK_UNIFORM, 0, 1000, 0, 0, 0),
		.duration = SPEC(WFG_DK_UNIFORM, 500, 500, 0, -100, 0),
	};
	k_ctr[0] = (struct wfg_mb_counter){ .op = WFG_CTR_INCREMENT };
	k_ctr[1] = (struct wfg_mb_counter){ .op = WFG_CTR_SET,
					    .has_dist = 1,
					    .dist = SPEC(WFG_DK_UNIFORM, 3, 3, 0, 0, 0) };
	/* copy with a dist present: copy wins in Maybenot, both must survive decoding */
	k_ctr[2] = (struct wfg_mb_counter){ .op = WFG_CTR_DECREMENT,
					    .copy = 1,
					    .has_dist = 1,
					    .dist = SPEC(WFG_DK_NORMAL, 7, 1, 0, 0, 0) };
	k_ctr[3] = (struct wfg_mb_counter){ .op = WFG_CTR_SET,
					    .has_dist = 1,
					    .dist = SPEC(WFG_DK_GAMMA, 2, 3, 0, 0, 0) };
	k_ctr[4] = (struct wfg_mb_counter){ .op = WFG_CTR_INCREMENT,
					    .has_dist = 1,
					    .dist = SPEC(WFG_DK_BETA, 2, 5, 0, 0, 10) };

	k_states[0].counter[0] = &k_ctr[0];
	k_states[0].counter[1] = &k_ctr[1];
	k_states[0].trans[WFG_EV_NORMAL_SENT] = k_tr0;
	k_states[0].ntrans[WFG_EV_NORMAL_SENT] = 3;
	k_states[0].trans[WFG_EV_TUNNEL_RECV] = k_tr1;
	k_states[0].ntrans[WFG_EV_TUNNEL_RECV] = 1;
	k_states[1].action = &k_act[1];
	k_states[1].counter[0] = &k_ctr[2];
	k_states[2].action = &k_act[2];
	k_states[2].counter[1] = &k_ctr[2];
	k_states[3].action = &k_act[3];
	k_states[4].action = &k_act[4];
	k_states[5].action = &k_act[5];
	k_states[6].action = &k_act[6];
	k_states[7].action = &k_act[7];
	k_states[7].counter[0] = &k_ctr[3];
	k_states[7].counter[1] = &k_ctr[4];
	k_states[8].action = &k_act[8];
	/* state 8: a transition on every event, two targets each */
	for (ev = 0; ev < WFG_EV_COUNT; ev++) {
		k_tr8[ev][0] = (struct wfg_mb_trans){ ev % 9, 0.125f * (float)(ev % 8 + 1) / 2 };
		k_tr8[ev][1] = (struct wfg_mb_trans){ ev == WFG_EV_SIGNAL ? WFG_MB_STATE_END
									  : WFG_MB_STATE_SIGNAL,
						      0.1f };
		k_states[8].trans[ev] = k_tr8[ev];
		k_states[8].ntrans[ev] = 2;
	}
	kitchen = (struct wfg_mb_machine){
		.limits = { .allowed_padding_packets = 300,
			    .max_padding_frac = 0.25,
			    .allowed_blocked_us = 70000,
			    .max_blocking_frac = 0.5 },
		.nstates = 9,
		.states = k_states,
	};
}

Test(maybenot, round_trip_every_kind)
{
	struct wfg_mb_machine *m;
	struct enc raw, again = { 0 };
	char *s;

	build_kitchen();
	s = encode_machine(&kitchen, &raw);
	m = decode_ok(s);
	assert_machine_eq(&kitchen, m);
	/* and the decoded machine encodes to the very same bytes */
	put_machine(&again, m);
	cr_assert_eq(again.len, raw.len);
	cr_assert_eq(memcmp(again.b, raw.b, raw.len), 0);
	/* every distribution kind is in there */
	{
		unsigned seen = 0;
		__u32 i;

		for (i = 0; i < m->nstates; i++) {
			const struct wfg_mb_state *st = &m->states[i];
			int c;

			if (st->action) {
				if (st->action->kind == WFG_ACT_PADDING ||
				    st->action->kind == WFG_ACT_BLOCK)
					seen |= 1u << st->action->timeout.kind;
				if (st->action->kind == WFG_ACT_BLOCK ||
				    st->action->kind == WFG_ACT_UPDATE_TIMER)
					seen |= 1u << st->action->duration.kind;
				if (st->action->has_limit)
					seen |= 1u << st->action->limit.kind;
			}
			for (c = 0; c < 2; c++)
				if (st->counter[c] && st->counter[c]->has_dist)
					seen |= 1u << st->counter[c]->dist.kind;
		}
		cr_assert_eq(seen, (1u << WFG_DK_COUNT) - 1, "kinds seen: %#x", seen);
	}
	free(raw.b);
	free(again.b);
	free(s);
	wfg_mb_free(m);
}

Test(maybenot, round_trip_into_the_core)
{
	static struct wfg_side_cfg cfg;
	static struct wfg_side_builder sb;
	const struct wfg_state *st;
	const struct wfg_machine_cfg *mc;
	struct wfg_mb_machine *m;
	char *s;
	int mi;

	build_kitchen();
	s = encode_machine(&kitchen, NULL);
	m = decode_ok(s);
	wfg_sb_init(&sb, &cfg);
	/* a first machine so that Maybenot's indexes are relative to the machine */
	mi = wfg_mb_add(&sb, m);
	cr_assert_eq(mi, 0, "%s", sb.err);
	mi = wfg_mb_add(&sb, m);
	cr_assert_eq(mi, 1, "%s", sb.err);
	cr_assert_eq(wfg_sb_finish(&sb), 0, "%s", sb.err);
	mc = &cfg.machines[1];
	cr_assert_eq(mc->state_first, 9);
	cr_assert_eq(mc->state_count, 9);
	cr_assert_eq(mc->allowed_padding_packets, 300);
	cr_assert_eq(mc->allowed_blocked_us, 70000);
	cr_assert_eq(mc->max_padding_frac, WFG_FRAC_ONE / 4);
	cr_assert_eq(mc->max_blocking_frac, WFG_FRAC_ONE / 2);
	st = &cfg.states[mc->state_first];

	cr_assert_eq(st[0].action.kind, WFG_ACT_NONE);
	cr_assert_eq(st[0].counter[0].op, WFG_CTR_INCREMENT);
	cr_assert_eq(st[0].counter[0].value.table, WFG_DIST_CONST);
	cr_assert_eq(st[0].counter[0].value.constant, 1);
	cr_assert_eq(st[0].counter[1].op, WFG_CTR_SET);
	cr_assert_eq(st[0].counter[1].value.constant, 3);
	cr_assert_eq(st[0].trans_count[WFG_EV_NORMAL_SENT], 3);
	{
		const struct wfg_trans *t = &cfg.trans[st[0].trans_first[WFG_EV_NORMAL_SENT]];

		cr_assert_eq(t[0].target, 1);
		cr_assert_eq(t[0].cum_max, 0x7fffffffu);
		cr_assert_eq(t[1].target, WFG_STATE_END);
		cr_assert_eq(t[1].cum_max, 0xbfffffffu);
		cr_assert_eq(t[2].target, WFG_STATE_SIGNAL);
		cr_assert_eq(t[2].cum_max, 0xffffffffu);
	}
	cr_assert_eq(st[0].trans_count[WFG_EV_TUNNEL_RECV], 1);
	cr_assert_eq(cfg.trans[st[0].trans_first[WFG_EV_TUNNEL_RECV]].target, 2);
	cr_assert_eq(st[0].trans_count[WFG_EV_PADDING_SENT], 0);

	cr_assert_eq(st[1].action.kind, WFG_ACT_CANCEL);
	cr_assert_eq(st[1].action.flags, WFG_CANCEL_ACTION);
	cr_assert_eq(st[1].counter[0].op, WFG_CTR_DECREMENT);
	cr_assert_eq(st[1].counter[0].copy, 1);
	cr_assert_eq(st[2].action.flags, WFG_CANCEL_INTERNAL);
	cr_assert_eq(st[2].counter[1].copy, 1);
	cr_assert_eq(st[3].action.flags, WFG_CANCEL_ACTION | WFG_CANCEL_INTERNAL);

	cr_assert_eq(st[4].action.kind, WFG_ACT_PADDING);
	cr_assert_eq(st[4].action.flags, WFG_ACT_F_BYPASS | WFG_ACT_F_LIMIT);
	cr_assert_neq(st[4].action.timeout.table, WFG_DIST_CONST);
	cr_assert_neq(st[4].action.limit.table, WFG_DIST_CONST);
	cr_assert_eq(st[5].action.kind, WFG_ACT_BLOCK);
	cr_assert_eq(st[5].action.flags, WFG_ACT_F_REPLACE | WFG_ACT_F_LIMIT);
	cr_assert_eq(st[6].action.kind, WFG_ACT_UPDATE_TIMER);
	cr_assert_eq(st[6].action.flags, WFG_ACT_F_REPLACE | WFG_ACT_F_LIMIT);
	cr_assert_eq(st[7].action.flags, WFG_ACT_F_BYPASS | WFG_ACT_F_REPLACE);
	cr_assert_eq(st[7].counter[0].op, WFG_CTR_SET);
	cr_assert_neq(st[7].counter[0].value.table, WFG_DIST_CONST);
	cr_assert_eq(st[7].counter[1].op, WFG_CTR_INCREMENT);
	cr_assert_eq(st[8].action.kind, WFG_ACT_BLOCK);
	cr_assert_eq(st[8].action.duration.table, WFG_DIST_CONST);
	cr_assert_eq(st[8].action.duration.constant, 400, "Uniform{500, 500} - 100");
	for (unsigned ev = 0; ev < WFG_EV_COUNT; ev++) {
		const struct wfg_trans *t = &cfg.trans[st[8].trans_first[ev]];

		cr_assert_eq(st[8].trans_count[ev], 2);
		cr_assert_eq(t[0].target, ev % 9);
		cr_assert_eq(t[1].target, ev == WFG_EV_SIGNAL ? WFG_STATE_END : WFG_STATE_SIGNAL);
	}
	/* the first copy got the same actions */
	cr_assert_eq(cfg.states[4].action.flags, st[4].action.flags);
	cr_assert_eq(cfg.machines[0].state_first, 0);
	free(s);
	wfg_mb_free(m);
}

Test(maybenot, varint_widths_round_trip)
{
	static const __u64 vals[] = { 0,	 1,	  250,		 251,
				      0xffff,	 0x10000, 0xffffffffULL, 0x100000000ULL,
				      UINT64_MAX };
	static const size_t width[] = { 1, 1, 1, 3, 3, 5, 5, 9, 9 };
	struct wfg_mb_state st = { 0 };
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct wfg_mb_machine m = { .nstates = 1, .states = &st };
		struct wfg_mb_machine *d;
		struct enc raw;
		char *s;

		m.limits.allowed_padding_packets = vals[i];
		m.limits.allowed_blocked_us = vals[sizeof(vals) / sizeof(vals[0]) - 1 - i];
		s = encode_machine(&m, &raw);
		cr_assert_eq(raw.len, 33 + width[i] + width[8 - i]);
		d = decode_ok(s);
		cr_assert_eq(d->limits.allowed_padding_packets, vals[i]);
		cr_assert_eq(d->limits.allowed_blocked_us, vals[8 - i]);
		wfg_mb_free(d);
		free(s);
		free(raw.b);
	}
}

Test(maybenot, non_shortest_varints_are_accepted_as_bincode_does)
{
	/* 5 as FB 05 00, 1 state as FC 01 00 00 00, target 0 as FD 0..0 */
	char *s = hex_string("fb0500 0000000000000000 00 0000000000000000 fc01000000"
			     " 000000 00000001 01 fd0000000000000000 0000803f"
			     " 000000000000000000");
	struct wfg_mb_machine *m = decode_ok(s);

	cr_assert_eq(m->limits.allowed_padding_packets, 5);
	cr_assert_eq(m->nstates, 1);
	assert_single(&m->states[0], WFG_EV_NORMAL_SENT, 0);
	wfg_mb_free(m);
	free(s);
}

Test(maybenot, many_states_decode_but_do_not_fit_a_side)
{
	static struct wfg_side_cfg cfg;
	static struct wfg_side_builder sb;
	const __u32 n = 60000;
	unsigned char *b = calloc(1, 21 + 16 * (size_t)n);
	struct wfg_mb_machine *m;
	char *s;

	cr_assert_not_null(b);
	b[18] = 251; /* varint u16 */
	b[19] = n & 0xff;
	b[20] = n >> 8;
	s = mb_string(b, 21 + 16 * (size_t)n);
	m = decode_ok(s);
	cr_assert_eq(m->nstates, n);
	wfg_sb_init(&sb, &cfg);
	cr_assert_eq(wfg_mb_add(&sb, m), -E2BIG);
	cr_assert_not_null(strstr(sb.err, "60000 states"), "%s", sb.err);
	cr_assert_not_null(strstr(sb.err, "at most 64"), "%s", sb.err);
	wfg_mb_free(m);
	free(s);
	free(b);
}

/* ---------------------------------------------------------------- malformed input */

/* zero limits; one empty state is STATE0 */
#define HDR	 "00 0000000000000000 00 0000000000000000"
#define NONE13	 "00 00 00 00 00 00 00 00 00 00 00 00 00"
#define STATE0	 "00 00 00 " NONE13
#define F32_1	 "0000803f"
#define F32_06	 "9a99193f"
#define F32_HALF "0000003f"
/* a transition slot for NormalSent (event 3) with the given vector body */
#define PAD16	    "00000000000000000000000000000000"
#define AT_NS(body) "00 00 00 01 " body " 00 00 00 00 00 00 00 00 00"

struct bad_case {
	const char *str; /* literal string, or NULL */
	const char *hex; /* else: bincode bytes */
	const char *want;
};

static const struct bad_case bad_cases[] = {
	/* prefix */
	{ "", NULL, "not a v2 machine (prefix must be \"02\")" },
	{ "   ", NULL, "prefix must be \"02\"" },
	{ "hello", NULL, "prefix must be \"02\"" },
	{ "2eNpjYEAHjOgCAAA0AAI=", NULL, "prefix must be \"02\"" },
	{ "01eNpjYEAHjOgCAAA0AAI=", NULL, "got \"01\"" },
	{ "03eNpjYEAHjOgCAAA0AAI=", NULL, "got \"03\"" },
	{ "02", NULL, "nothing after \"02\"" },
	/* base64 */
	{ "02eNpjYEAHjOgCAAA0AAI", NULL,
	  "base64: 19 characters after \"02\", not a multiple of 4" },
	{ "02eNpjYEAHj!gCAAA0AAI=", NULL, "base64: invalid character '!' at 11" },
	{ "02eNpjYEAHjOg CAAA0AAI=", NULL, "base64: invalid character ' ' at 13" },
	{ "02eNp-YEAHjOgCAAA0AAI=", NULL, "invalid character '-' at 5 (URL-safe alphabet?" },
	{ "02eNpjYEAHj\x01gCAAA0AAI=", NULL, "base64: invalid character 0x01 at 11" },
	{ "02eNpj=YEAHjOgCAAA0AAI", NULL, "base64: padding '=' at 6 is followed by data" },
	{ "02A===", NULL, "base64: 3 padding characters at 3" },
	{ "02eNpjYEAHjOgCAAA0AAJ=", NULL, "base64: non-zero bits after the last byte at 20" },
	{ "02eNpjYEAHjOgCAAA0AB==", NULL, "base64: non-zero bits after the last byte at 19" },
	/* zlib */
	{ "02AAAA", NULL, "zlib: unknown compression method" },
	{ "02eAAA", NULL, "zlib: incorrect header check" },
	{ "02eNpjYEAHjOgCAAA0", NULL, "zlib: compressed data ends early" },
	{ "02eNpjYEAHjOgCAAA0AAE=", NULL, "zlib: incorrect data check" },
	/* bincode: truncation and encoding errors, with the byte offset */
	{ NULL, "", "byte 0: data ends, allowed_padding_packets expected" },
	{ NULL, "ff", "byte 0: allowed_padding_packets: invalid integer tag 0xff" },
	{ NULL, "fe 00000000000000000000000000000000",
	  "byte 0: allowed_padding_packets: 128-bit integer" },
	{ NULL, "fb 01", "byte 1: data ends, allowed_padding_packets expected" },
	{ NULL, "00 00000000", "byte 1: data ends, max_padding_frac expected" },
	{ NULL, HDR, "byte 18: data ends, number of states expected" },
	{ NULL, HDR " 01", "byte 18: 1 states cannot fit in the 0 bytes left" },
	{ NULL, HDR " 01 00 00 00 01 01 00 " F32_1 " 00 00 00 00 00 00 00 00 00 00 00",
	  "byte 40: data ends, transitions expected (state 0, Signal)" },
	{ NULL, HDR " 01 " STATE0 " 00", "byte 35: trailing bytes after machine (1 left)" },
	{ NULL, HDR " 01 02" PAD16,
	  "byte 19: invalid Option tag 2 for action (0 or 1 expected) "
	  "(state 0, action)" },
	{ NULL, HDR " 01 01 04" PAD16, "byte 20: unknown action 4" },
	{ NULL, HDR " 01 01 fd 0000000001000000" PAD16,
	  "byte 20: action: variant 4294967296 does not "
	  "fit 32 bits" },
	{ NULL, HDR " 01 01 00 03" PAD16, "byte 21: unknown timer 3" },
	{ NULL, HDR " 01 01 01 02" PAD16, "byte 21: invalid bool 2 for bypass" },
	{ NULL, HDR " 01 01 03 07" PAD16, "byte 21: invalid bool 7 for replace" },
	{ NULL, HDR " 01 01 01 00 00 0e" PAD16,
	  "byte 23: unknown distribution type 14 for timeout" },
	{ NULL, HDR " 01 01 01 00 00 0b" PAD16, "byte 23: unknown distribution type 11" },
	{ NULL, HDR " 01 01 01 00 00 01 0000000000000000 0000000000000000 0000000000000000",
	  "byte 48: data ends, distribution max expected (state 0, action)" },
	{ NULL,
	  HDR " 01 01 01 00 00 00 0000000000000000 0000000000000000 0000000000000000"
	      " 0000000000000000 05",
	  "byte 56: invalid Option tag 5 for limit" },
	{ NULL, HDR " 01 00 01 03" PAD16, "byte 21: unknown counter operation 3 (0 Increment" },
	{ NULL, HDR " 01 00 00 01 00 00 02" PAD16, "byte 24: invalid bool 2 for counter copy" },
	{ NULL, HDR " 01 00 00 00 00 01 fc ffffffff" PAD16,
	  "byte 24: 4294967295 transitions cannot fit in the 16 bytes left (state 0, "
	  "PaddingRecv)" },
	{ NULL, HDR " 01 00 00 00 01 01 fe" PAD16, "byte 24: target 0: 128-bit integer" },
	/* state counts */
	{ NULL, HDR " 00", "machine has no states" },
	{ NULL, HDR " fc a1860100", "byte 18: 100001 states, Maybenot allows at most 100000" },
	{ NULL, HDR " 05 " STATE0, "byte 18: 5 states cannot fit in the 16 bytes left" },
	/* validation: fractions */
	{ NULL, "00 000000000000f83f 00 0000000000000000 01 " STATE0,
	  "max_padding_frac must be within [0, 1], got 1.5" },
	{ NULL, "00 0000000000000000 00 000000000000f87f 01 " STATE0,
	  "max_blocking_frac must be within [0, 1], got nan" },
	{ NULL, "00 000000000000f0bf 00 0000000000000000 01 " STATE0,
	  "max_padding_frac must be within [0, 1], got -1" },
	/* validation: distributions */
	{ NULL,
	  HDR " 01 01 01 00 00 01 0000000000000000 000000000000f87f 0000000000000000"
	      " 0000000000000000 00 00 00 " NONE13,
	  "state 0, SendPadding timeout: Normal: stdev must be finite" },
	{ NULL,
	  HDR " 01 01 02 00 00 00 0000000000000000 0000000000000000 0000000000000000"
	      " 0000000000000000 00 0000000000002440 0000000000000000 0000000000000000"
	      " 0000000000000000 00 00 00 " NONE13,
	  "state 0, BlockOutgoing duration: Uniform: low must be <= high" },
	{ NULL,
	  HDR
	  " 01 01 01 00 00 00 0000000000000000 0000000000000000 0000000000000000"
	  " 0000000000000000 01 04 fc00943577 000000000000e03f 0000000000000000 0000000000000000"
	  " 00 00 " NONE13,
	  "state 0, SendPadding limit: Binomial: trials must be <= 1e9" },
	{ NULL,
	  HDR " 01 01 01 00 00 07 0000000000000000 0000000000000000 0000000000000000"
	      " 00 00 00 " NONE13,
	  "state 0, SendPadding timeout: Poisson: lambda must be > 0" },
	{ NULL,
	  HDR " 01 00 01 00 01 05 0000000000000040 0000000000000000 0000000000000000"
	      " 00 00 " NONE13,
	  "state 0, counter A: Geometric: probability must be within [0, 1], got 2" },
	/* validation: transitions */
	{ NULL, HDR " 02 " STATE0 " 00 00 00 " AT_NS("01 07 " F32_1),
	  "state 1, NormalSent: target 7 does not exist (the machine has 2 states)" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("01 fd 0000000001000000 " F32_1),
	  "state 0, NormalSent: target 4294967296 does not exist" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("01 fc fdffffff " F32_1),
	  "state 0, NormalSent: target 4294967293 does not exist" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("02 00 " F32_HALF " 00 " F32_HALF),
	  "state 0, NormalSent: target 0 listed twice" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("02 fc ffffffff " F32_HALF " fc ffffffff " F32_HALF),
	  "state 0, NormalSent: target END listed twice" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("02 fc feffffff " F32_HALF " fc feffffff " F32_HALF),
	  "state 0, NormalSent: target SIGNAL listed twice" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("01 00 00000000"),
	  "state 0, NormalSent: probability 0 of target 0 is not in (0, 1]" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("01 00 000000bf"),
	  "state 0, NormalSent: probability -0.5 of target 0 is not in (0, 1]" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("01 00 0000c03f"),
	  "state 0, NormalSent: probability 1.5 of target 0 is not in (0, 1]" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("01 00 0000c07f"),
	  "state 0, NormalSent: probability nan of target 0 is not in (0, 1]" },
	{ NULL, HDR " 02 " STATE0 " 00 00 00 " AT_NS("02 00 " F32_06 " 01 " F32_06),
	  "state 1, NormalSent: probabilities sum to 1.2" },
	{ NULL, HDR " 01 00 00 00 " AT_NS("00"),
	  "state 0, NormalSent: empty transition list (probabilities sum to 0)" },
};

static char *bad_input(const struct bad_case *c)
{
	return c->str ? strdup(c->str) : hex_string(c->hex);
}

Test(maybenot, malformed_strings_give_the_reason)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct wfg_mb_machine *m = (void *)1;
		char err[256] = "", *s = bad_input(c);
		int rc = wfg_mb_decode(s, &m, err, sizeof(err));

		cr_assert_eq(rc, -EINVAL, "case %zu (%s): rc %d", i, c->want, rc);
		cr_assert_null(m, "case %zu: *out must be NULL on error", i);
		cr_assert_not_null(strstr(err, c->want), "case %zu: want \"%s\", got \"%s\"", i,
				   c->want, err);
		free(s);
	}
}

Test(maybenot, zlib_stream_errors)
{
	static unsigned char big[(1 << 20) + 1];
	unsigned char noop[64], z[128];
	struct wfg_mb_machine *m;
	char err[256], *s;
	size_t n, zn;
	unsigned char *zz;
	uLongf zl;
	z_stream zs;

	/* exactly 1 MiB is within the limit: zlib accepts, bincode then finds 0 states */
	s = mb_string(big, 1 << 20);
	cr_assert_eq(wfg_mb_decode(s, &m, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "byte 19: trailing bytes after machine (1048557 left)"),
			   "%s", err);
	free(s);
	s = mb_string(big, sizeof(big));
	cr_assert_eq(wfg_mb_decode(s, &m, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "zlib: decompressed machine exceeds 1 MiB"), "%s", err);
	free(s);

	/* data after the end of the zlib stream */
	n = unhex(HDR " 01 " STATE0, noop, sizeof(noop));
	zz = deflate_buf(noop, n, &zn);
	memcpy(z, zz, zn);
	free(zz);
	memcpy(z + zn, "\0\0\0", 3);
	s = b64(z, zn + 3);
	cr_assert_eq(wfg_mb_decode(s, &m, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "zlib: 3 bytes after the end of the compressed stream"),
			   "%s", err);
	free(s);

	/* a stream that needs a preset dictionary */
	memset(&zs, 0, sizeof(zs));
	cr_assert_eq(deflateInit(&zs, 9), Z_OK);
	cr_assert_eq(deflateSetDictionary(&zs, (const Bytef *)"dict", 4), Z_OK);
	zs.next_in = noop;
	zs.avail_in = (uInt)n;
	zs.next_out = z;
	zs.avail_out = sizeof(z);
	cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	zl = zs.total_out;
	deflateEnd(&zs);
	s = b64(z, zl);
	cr_assert_eq(wfg_mb_decode(s, &m, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "zlib: stream needs a preset dictionary"), "%s", err);
	free(s);

	cr_assert_eq(wfg_mb_decode(NULL, &m, err, sizeof(err)), -EINVAL);
	cr_assert_null(m);
	/* err may be NULL */
	cr_assert_eq(wfg_mb_decode("junk", &m, NULL, 0), -EINVAL);
}

/* ---------------------------------------------------------------- the core's limits */

static void add_fails(struct wfg_mb_machine *mm, int nadd, int want_rc, const char *want)
{
	static struct wfg_side_cfg cfg;
	static struct wfg_side_builder sb;
	char *s = encode_machine(mm, NULL);
	struct wfg_mb_machine *m = decode_ok(s);
	int i, rc = 0;

	wfg_sb_init(&sb, &cfg);
	for (i = 0; i < nadd && rc >= 0; i++)
		rc = wfg_mb_add(&sb, m);
	if (rc >= 0)
		rc = wfg_sb_finish(&sb);
	cr_assert_eq(rc, want_rc, "rc %d: %s", rc, sb.err);
	cr_assert_not_null(strstr(sb.err, want), "want \"%s\", got \"%s\"", want, sb.err);
	wfg_mb_free(m);
	free(s);
}

Test(maybenot, machines_beyond_the_cores_limits_are_refused_clearly)
{
	static struct wfg_mb_state st[70];
	static struct wfg_mb_trans tr[17];
	static struct wfg_action_spec acts[70];
	struct wfg_mb_machine m = { .states = st };
	int i;

	/* 65 states */
	m.nstates = 65;
	add_fails(&m, 1, -E2BIG,
		  "Maybenot machine has 65 states; one side of the core holds at most 64 in all "
		  "its machines (0 already used)");
	/* 40 states twice */
	m.nstates = 40;
	add_fails(&m, 2, -E2BIG,
		  "has 40 states; one side of the core holds at most 64 in all "
		  "its machines (40 already used)");
	/* 17 targets on one event */
	m.nstates = 17;
	for (i = 0; i < 17; i++)
		tr[i] = (struct wfg_mb_trans){ (__u64)i, 1.0f / 32 };
	st[0].trans[WFG_EV_NORMAL_RECV] = tr;
	st[0].ntrans[WFG_EV_NORMAL_RECV] = 17;
	add_fails(&m, 1, -E2BIG,
		  "Maybenot state 0, NormalRecv: 17 targets; the core allows at most 16 per event");
	/* 16 targets is fine, five machines are not */
	st[0].ntrans[WFG_EV_NORMAL_RECV] = 16;
	m.nstates = 3;
	st[0].ntrans[WFG_EV_NORMAL_RECV] = 3;
	add_fails(&m, 5, -E2BIG, "too many machines: at most 4 per side");
	/* transitions: 13 events x 16 targets x 3 states = 624 > 512 */
	memset(st, 0, sizeof(st));
	for (i = 0; i < 16; i++)
		tr[i] = (struct wfg_mb_trans){ (__u64)i, 1.0f / 16 };
	m.nstates = 16;
	for (i = 0; i < 3 * WFG_EV_COUNT; i++) {
		st[i / WFG_EV_COUNT].trans[i % WFG_EV_COUNT] = tr;
		st[i / WFG_EV_COUNT].ntrans[i % WFG_EV_COUNT] = 16;
	}
	add_fails(&m, 1, -E2BIG,
		  "Maybenot machine has 624 transitions; one side of the core holds at most 512");
	/* Signal -> SIGNAL is legal in Maybenot but the core refuses to loop signals */
	memset(st, 0, sizeof(st));
	tr[0] = (struct wfg_mb_trans){ WFG_MB_STATE_SIGNAL, 1.0f };
	st[0].trans[WFG_EV_SIGNAL] = tr;
	st[0].ntrans[WFG_EV_SIGNAL] = 1;
	m.nstates = 1;
	add_fails(&m, 1, -EINVAL, "state 0: Signal cannot transition to signal");
	/* more distinct distribution tables than a side holds */
	memset(st, 0, sizeof(st));
	m.nstates = 50;
	for (i = 0; i < 50; i++) {
		acts[i] = (struct wfg_action_spec){
			.kind = WFG_ACT_BLOCK,
			.timeout = SPEC(WFG_DK_NORMAL, 1000 + i, 10, 0, 0, 0),
			.duration = SPEC(WFG_DK_NORMAL, 5000 + i, 10, 0, 0, 0),
			.has_limit = 1,
			.limit = SPEC(WFG_DK_POISSON, 10 + i, 0, 0, 0, 0),
		};
		st[i].action = &acts[i];
	}
	add_fails(&m, 1, -E2BIG, "too many distinct distributions: at most 128 per side");
}

/* ---------------------------------------------------------------- through the core */

struct run {
	struct wfg_side_cfg cfg;
	struct wfg_side_builder sb;
	struct wfg_flow_side fl;
};

static struct run *start_core(const char *str, __u64 now)
{
	struct run *r = calloc(1, sizeof(*r));
	struct wfg_mb_machine *m = decode_ok(str);

	cr_assert_not_null(r);
	wfg_sb_init(&r->sb, &r->cfg);
	cr_assert_eq(wfg_mb_add(&r->sb, m), 0, "%s", r->sb.err);
	cr_assert_eq(wfg_sb_finish(&r->sb), 0, "%s", r->sb.err);
	wfg_mb_free(m);
	wfg_flow_init(&r->cfg, &r->fl, now, key, 1);
	return r;
}

static void send_covers(struct run *r, const struct wfg_decision *d, __u64 now)
{
	struct wfg_decision c;
	unsigned i;

	for (i = 0; i < d->covers; i++)
		wfg_on_send(&r->cfg, &r->fl, now, 100, WFG_SEND_COVER, 0, &c);
}

Test(maybenot, example_machine_pads_5s_after_tunnel_recv)
{
	struct run *r = start_core(MB_EXAMPLE, 1 * MS);
	struct wfg_decision d;
	int round;

	wfg_on_send(&r->cfg, &r->fl, 2 * MS, 500, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.timer_ns, 0, "a sent packet does not start it");
	cr_assert_eq(d.covers, 0);
	for (round = 0; round < 3; round++) {
		__u64 t = (__u64)(round + 1) * 10 * S;

		wfg_on_recv(&r->cfg, &r->fl, t, 0, &d);
		cr_assert_eq(d.covers, 0);
		cr_assert_eq(r->fl.mr.m[0].state, 1);
		cr_assert_eq(d.timer_ns, t + 5 * S, "round %d: pad 5 s after TunnelRecv", round);
		wfg_on_timer(&r->cfg, &r->fl, t + 5 * S, &d);
		cr_assert_eq(d.covers, 1);
		cr_assert_eq(d.cover_machines, 0x1);
		cr_assert_eq(r->fl.mr.m[0].state, 0, "PaddingSent took it back to state 0");
		cr_assert_eq(d.timer_ns, 0);
		send_covers(r, &d, t + 5 * S);
	}
	cr_assert_eq(r->fl.mr.fw.padding_sent, 3);
	free(r);
}

Test(maybenot, ping_machine_pads_every_second)
{
	struct run *r = start_core(MB_PING, 1 * MS);
	struct wfg_decision d;
	__u64 now = 2 * MS;
	int i;

	wfg_on_send(&r->cfg, &r->fl, now, 500, WFG_SEND_REAL, 0, &d);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(d.timer_ns, now + 1 * S, "padding %d one second later", i);
		now = d.timer_ns;
		wfg_on_timer(&r->cfg, &r->fl, now, &d);
		cr_assert_eq(d.covers, 1);
		send_covers(r, &d, now);
	}
	cr_assert_eq(r->fl.mr.fw.padding_sent, 5);
	free(r);
}

Test(maybenot, simulator_machine_pads_once_20ms_after_first_send)
{
	struct run *r = start_core(MB_SIM_DOC, 1 * MS);
	struct wfg_decision d;

	wfg_on_recv(&r->cfg, &r->fl, 2 * MS, 0, &d);
	cr_assert_eq(d.timer_ns, 0);
	wfg_on_send(&r->cfg, &r->fl, 3 * MS, 500, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.timer_ns, 23 * MS);
	wfg_on_send(&r->cfg, &r->fl, 4 * MS, 500, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.timer_ns, 23 * MS, "state 1 has no transitions: still one padding");
	wfg_on_timer(&r->cfg, &r->fl, 23 * MS, &d);
	cr_assert_eq(d.covers, 1);
	send_covers(r, &d, 23 * MS);
	cr_assert_eq(d.timer_ns, 0);
	wfg_on_send(&r->cfg, &r->fl, 30 * MS, 500, WFG_SEND_REAL, 0, &d);
	cr_assert_eq(d.timer_ns, 0, "no second padding");
	cr_assert_eq(r->fl.mr.fw.padding_sent, 1);
	free(r);
}

/* ---------------------------------------------------------------- printing */

Test(maybenot, print_one_line_per_state)
{
	struct wfg_mb_machine *m;
	char *buf = NULL, *s;
	size_t len = 0;
	FILE *f;
	int lines = 0;

	build_kitchen();
	s = encode_machine(&kitchen, NULL);
	m = decode_ok(s);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	wfg_mb_print(f, m);
	fclose(f);
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 10, "%s", buf);
	cr_assert_not_null(strstr(buf, "9 states; padding: 300 packets free, then fraction 0.25; "
				       "blocking: 70000 us free, then fraction 0.5\n"),
			   "%s", buf);
	cr_assert_not_null(strstr(buf, "  state 0: no action; A += 1; B = 3; TunnelRecv -> 2; "
				       "NormalSent -> 1 (0.5), END (0.25), SIGNAL (0.25)\n"),
			   "%s", buf);
	cr_assert_not_null(strstr(buf, "  state 1: Cancel(action timer); A -= B\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "  state 3: Cancel(all timers)\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "  state 4: SendPadding(timeout Normal(mean 100, stdev 20) "
				       "+ 5 max 500 us, bypass, limit Binomial(trials 10, "
				       "probability 0.5))\n"),
			   "%s", buf);
	cr_assert_not_null(strstr(buf, "  state 8: BlockOutgoing(timeout Uniform(low 0, high "
				       "1000) us, duration 400 us, bypass, replace); NormalRecv "
				       "-> 0 (0.0625), SIGNAL (0.1);"),
			   "%s", buf);
	free(buf);
	buf = NULL;
	wfg_mb_free(m);
	free(s);
	m = decode_ok(MB_EXAMPLE);
	f = open_memstream(&buf, &len);
	wfg_mb_print(f, m);
	fclose(f);
	cr_assert_str_eq(buf, "2 states; padding: unlimited packets; blocking: 0 us free, then "
			      "fraction 0 (no check)\n"
			      "  state 0: no action; TunnelRecv -> 1\n"
			      "  state 1: SendPadding(timeout 5000000 us); PaddingSent -> 0\n");
	free(buf);
	wfg_mb_free(m);
}

/* ---------------------------------------------------------------- fuzz (deterministic) */

static __u64 fz_state = 0x9e3779b97f4a7c15ULL;

static __u64 fz_next(void)
{
	__u64 z = (fz_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Decode; on success also print and, every 64th time (building distribution
 * tables is the slow part), add to a side and finish. Nothing may crash or leak.
 */
static int fz_try(const char *s)
{
	static unsigned decoded;
	static struct wfg_side_cfg cfg;
	static struct wfg_side_builder sb;
	struct wfg_mb_machine *m;
	char err[256];
	FILE *null;
	int rc = wfg_mb_decode(s, &m, err, sizeof(err));

	if (rc) {
		cr_assert(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
		cr_assert_null(m);
		cr_assert_gt(strlen(err), 0);
		return 0;
	}
	null = fopen("/dev/null", "w");
	wfg_mb_print(null, m);
	fclose(null);
	if (decoded++ % 64 == 0) {
		wfg_sb_init(&sb, &cfg);
		if (wfg_mb_add(&sb, m) >= 0)
			wfg_sb_finish(&sb);
	}
	wfg_mb_free(m);
	return 1;
}

static void mutate(unsigned char *b, size_t *n, size_t cap)
{
	static const unsigned char interesting[] = {
		0, 1, 2, 3, 0x0a, 0x0c, 0x0d, 0x40, 0x7f, 0x80, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff
	};
	int k, muts = 1 + (int)(fz_next() % 4);

	for (k = 0; k < muts; k++) {
		size_t at = *n ? fz_next() % *n : 0;

		switch (fz_next() % 6) {
		case 0:
			if (*n)
				b[at] ^= (unsigned char)(1u << (fz_next() % 8));
			break;
		case 1:
			if (*n)
				b[at] = interesting[fz_next() % sizeof(interesting)];
			break;
		case 2:
			*n = at;
			break;
		case 3:
			if (*n < cap) {
				memmove(b + at + 1, b + at, *n - at);
				b[at] = (unsigned char)fz_next();
				(*n)++;
			}
			break;
		case 4:
			if (*n) {
				memmove(b + at, b + at + 1, *n - at - 1);
				(*n)--;
			}
			break;
		default:
			if (*n)
				b[at] = (unsigned char)fz_next();
			break;
		}
	}
}

Test(maybenot, fuzz_mutations_never_crash, .timeout = 120)
{
	static const char *const vec[] = { MB_NOOP, MB_EXAMPLE, MB_PING, MB_SIM_DOC };
	unsigned char seeds[5][4096], buf[4200];
	size_t seedlen[5], n;
	int i, ok = 0, iters = 20000;
	struct enc raw;
	char *s;

	/* bincode seeds: the vectors' decompressed bytes and the kitchen machine */
	for (i = 0; i < 4; i++) {
		/* the decoded machine re-encoded: its bincode bytes */
		struct wfg_mb_machine *m = decode_ok(vec[i]);
		struct enc e = { 0 };

		put_machine(&e, m);
		memcpy(seeds[i], e.b, e.len);
		seedlen[i] = e.len;
		free(e.b);
		wfg_mb_free(m);
	}
	build_kitchen();
	s = encode_machine(&kitchen, &raw);
	free(s);
	cr_assert_lt(raw.len, sizeof(seeds[4]));
	memcpy(seeds[4], raw.b, raw.len);
	seedlen[4] = raw.len;
	free(raw.b);

	/* 1: mutate the bincode, then compress (reaches the decoder behind zlib's checksum) */
	for (i = 0; i < iters; i++) {
		int k = (int)(fz_next() % 5);

		n = seedlen[k];
		memcpy(buf, seeds[k], n);
		mutate(buf, &n, sizeof(buf));
		s = mb_string(buf, n);
		ok += fz_try(s);
		free(s);
	}
	cr_log_info("bincode mutations: %d of %d decoded", ok, iters);
	cr_assert_gt(ok, 0);
	cr_assert_lt(ok, iters);

	/* 2: mutate the strings themselves (base64 and zlib layers) */
	for (i = 0; i < iters / 4; i++) {
		const char *v = vec[fz_next() % 4];
		char str[256];

		n = strlen(v);
		memcpy(buf, v, n);
		mutate(buf, &n, 250);
		memcpy(str, buf, n);
		str[n] = 0;
		fz_try(str);
	}

	/* 3: random bytes behind a valid prefix and zlib header, and random strings */
	for (i = 0; i < iters / 4; i++) {
		size_t len = fz_next() % 200, j;
		char str[256];

		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)fz_next();
		if (i & 1) {
			buf[0] = 0x78;
			buf[1] = 0xda;
			if (len < 2)
				len = 2;
			s = b64(buf, len);
			fz_try(s);
			free(s);
		} else {
			for (j = 0; j < len; j++)
				str[j] = (char)(buf[j] ? buf[j] : 'A');
			str[len] = 0;
			if (len >= 2 && (i & 2)) {
				str[0] = '0';
				str[1] = '2';
			}
			fz_try(str);
		}
	}
}
