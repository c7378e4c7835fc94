// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Defence search: deriving random machines, writing them as policies and
 * Maybenot strings, simulating them on an environment (search.h,
 * docs/search.md).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "err.h"
#include "events.h"
#include "policy.h"
#include "search.h"

/* ---------------------------------------------------------------- constraints */

void wfs_constraints_default(struct wfs_constraints *c)
{
	*c = (struct wfs_constraints){
		.client_load = { 0, 1.0 },
		.server_load = { 0, 1.0 },
		.delay = { 0, 0.3 },
		.states_min = 3,
		.states_max = 4,
		.blocking = true,
		.env = 20,
		.padding_size = 1400,
		.tries = 50,
	};
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* "MIN..MAX" of doubles; returns the column of the first bad character or 0. */
static int parse_range(const char *s, struct wfs_range *r)
{
	const char *p = skip_ws(s), *dots = strstr(p, "..");
	char left[64], *end;

	/* "0..1": strtod alone would read "0." as the first number */
	if (!dots || dots == p || (size_t)(dots - p) >= sizeof(left))
		return (int)(p - s) + 1;
	memcpy(left, p, (size_t)(dots - p));
	left[dots - p] = 0;
	r->min = strtod(left, &end);
	if (*skip_ws(end))
		return (int)(p - s) + (int)(end - left) + 1;
	p = dots + 2;
	r->max = strtod(p, &end);
	if (end == p)
		return (int)(end - s) + 1;
	if (*skip_ws(end))
		return (int)(skip_ws(end) - s) + 1;
	if (!isfinite(r->min) || !isfinite(r->max) || r->min > r->max)
		return (int)(skip_ws(s) - s) + 1;
	return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *v)
{
	const char *p = skip_ws(s);
	char *end;
	unsigned long x;

	if (*p < '0' || *p > '9')
		return (int)(p - s) + 1;
	x = strtoul(p, &end, 10);
	if (*skip_ws(end))
		return (int)(skip_ws(end) - s) + 1;
	if (x < lo || x > hi)
		return (int)(p - s) + 1;
	*v = (unsigned)x;
	return 0;
}

/* One "key: value" line; the column (1-based, in the value) of an error, or 0. */
static int constraint_line(struct wfs_constraints *c, const char *key, const char *val,
			   const char **why)
{
	unsigned lo, hi, v;
	struct wfs_range r;
	int col;

	if (!strcmp(key, "client_load") || !strcmp(key, "server_load") || !strcmp(key, "delay")) {
		*why = "expected MIN..MAX, two numbers with MIN <= MAX";
		col = parse_range(val, &r);
		if (!col)
			*(!strcmp(key, "delay")		? &c->delay
			  : !strcmp(key, "client_load") ? &c->client_load
							: &c->server_load) = r;
		return col;
	}
	if (!strcmp(key, "states")) {
		*why = "expected MIN..MAX states per machine, within 2..16";
		col = parse_range(val, &r);
		if (col)
			return col;
		lo = (unsigned)r.min;
		hi = (unsigned)r.max;
		if (r.min != lo || r.max != hi || lo < 2 || hi > 16)
			return 1;
		c->states_min = lo;
		c->states_max = hi;
		return 0;
	}
	if (!strcmp(key, "blocking")) {
		*why = "expected yes or no";
		val = skip_ws(val);
		if (!strcmp(val, "yes") || !strcmp(val, "true"))
			c->blocking = true;
		else if (!strcmp(val, "no") || !strcmp(val, "false"))
			c->blocking = false;
		else
			return 1;
		return 0;
	}
	if (!strcmp(key, "env")) {
		*why = "expected a number of traces, 1..100000";
		col = parse_uint(val, 1, 100000, &c->env);
		return col;
	}
	if (!strcmp(key, "padding_size")) {
		*why = "expected bytes, 1..65507";
		col = parse_uint(val, 1, 65507, &v);
		if (!col)
			c->padding_size = v;
		return col;
	}
	if (!strcmp(key, "tries")) {
		*why = "expected candidates per wanted defence, 1..1000000";
		return parse_uint(val, 1, 1000000, &c->tries);
	}
	*why = "unknown key (client_load, server_load, delay, states, blocking, env, "
	       "padding_size, tries)";
	return -1;
}

int wfs_constraints_load(const char *path, struct wfs_constraints *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[512], *colon, *hash, *key, *val;
	unsigned lineno = 0;
	const char *why;
	int col, rc = 0;

	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	while (!rc && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		key = (char *)skip_ws(line);
		if (!*key)
			continue;
		colon = strchr(key, ':');
		if (!colon) {
			rc = wfg_err(err, errlen, EINVAL, "%s:%u:%d: expected 'key: value'", path,
				     lineno, (int)(key - line) + 1);
			break;
		}
		val = colon + 1;
		*colon = 0;
		while (colon > key && (colon[-1] == ' ' || colon[-1] == '\t'))
			*--colon = 0;
		col = constraint_line(c, key, val, &why);
		if (col < 0)
			rc = wfg_err(err, errlen, EINVAL, "%s:%u:%d: '%s': %s", path, lineno,
				     (int)(key - line) + 1, key, why);
		else if (col)
			rc = wfg_err(err, errlen, EINVAL, "%s:%u:%d: %s: %s", path, lineno,
				     (int)(val - line) + col, key, why);
	}
	fclose(f);
	return rc;
}

void wfs_constraints_write(FILE *f, const struct wfs_constraints *c)
{
	fprintf(f,
		"# wfbench search constraints (docs/search.md); fractions: 0.5 is 50%%\n"
		"client_load: %.17g..%.17g\n"
		"server_load: %.17g..%.17g\n"
		"delay: %.17g..%.17g\n"
		"states: %u..%u\n"
		"blocking: %s\n"
		"env: %u\n"
		"padding_size: %u\n"
		"tries: %u\n",
		c->client_load.min, c->client_load.max, c->server_load.min, c->server_load.max,
		c->delay.min, c->delay.max, c->states_min, c->states_max,
		c->blocking ? "yes" : "no", c->env, c->padding_size, c->tries);
}

static bool in_range(const struct wfs_range *r, double v)
{
	return v >= r->min && v <= r->max;
}

bool wfs_within(const struct wfs_constraints *c, const struct wfs_metrics *m)
{
	return in_range(&c->client_load, m->client_load) &&
	       in_range(&c->server_load, m->server_load) && in_range(&c->delay, m->delay);
}

/* ---------------------------------------------------------------- derivation */

/* splitmix64: a small stream, enough for drawing machines (not for secrecy). */
struct drng {
	uint64_t s;
};

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t drng_next(struct drng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

static void drng_init(struct drng *r, uint64_t seed, uint64_t index, uint64_t stream)
{
	r->s = mix64(mix64(seed) ^ mix64(index + 0x632be59bd9b4e019ULL) ^ (stream << 48));
}

static double u01(struct drng *r)
{
	return (double)(drng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double uniform(struct drng *r, double lo, double hi)
{
	return lo + (hi - lo) * u01(r);
}

/* An integer in [lo, hi]. */
static uint64_t pick(struct drng *r, uint64_t lo, uint64_t hi)
{
	return lo + drng_next(r) % (hi - lo + 1);
}

static bool chance(struct drng *r, double p)
{
	return u01(r) < p;
}

/* A probability Maybenot can hold exactly (its f32), so strings and policies agree. */
static double f32_prob(struct drng *r, double lo, double hi)
{
	return (double)(float)uniform(r, lo, hi);
}

/* Rounded to 1/16 µs: exact in decimal too, so a policy file shows it as written. */
static double q(double v)
{
	return round(v * 16) / 16;
}

/* A waiting time in µs: how long before padding (or a block) happens. */
static struct wfg_dist_spec derive_timeout(struct drng *r)
{
	struct wfg_dist_spec d = { .max = 1000000 }; /* never beyond a second */
	double lo;

	switch (pick(r, 0, 4)) {
	case 0:
		d.kind = WFG_DK_UNIFORM;
		lo = q(uniform(r, 0, 20000));
		d.p[0] = lo;
		d.p[1] = lo + q(uniform(r, 1, 50000));
		break;
	case 1:
		d.kind = WFG_DK_NORMAL;
		d.p[0] = q(uniform(r, 0, 50000));
		d.p[1] = q(uniform(r, 1, 20000));
		break;
	case 2:
		d.kind = WFG_DK_LOG_NORMAL;
		d.p[0] = q(uniform(r, 5, 11));
		d.p[1] = q(uniform(r, 0.125, 1.5));
		break;
	case 3:
		d.kind = WFG_DK_WEIBULL;
		d.p[0] = q(uniform(r, 100, 50000));
		d.p[1] = q(uniform(r, 0.5, 3));
		break;
	default:
		d.kind = WFG_DK_GAMMA;
		d.p[0] = q(uniform(r, 100, 20000));
		d.p[1] = q(uniform(r, 0.5, 4));
		break;
	}
	return d;
}

/* How long a block or a timer lasts, in µs. */
static struct wfg_dist_spec derive_duration(struct drng *r)
{
	struct wfg_dist_spec d = { .max = 2000000 };
	double lo;

	if (chance(r, 0.5)) {
		d.kind = WFG_DK_UNIFORM;
		lo = q(uniform(r, 1000, 20000));
		d.p[0] = lo;
		d.p[1] = lo + q(uniform(r, 1000, 100000));
	} else {
		d.kind = WFG_DK_LOG_NORMAL;
		d.p[0] = q(uniform(r, 8, 11));
		d.p[1] = q(uniform(r, 0.125, 1));
	}
	return d;
}

/* How many actions a state may take before LimitReached. */
static struct wfg_dist_spec derive_count(struct drng *r, double scale)
{
	struct wfg_dist_spec d = { .max = 1000 };
	uint64_t lo;

	switch (pick(r, 0, 2)) {
	case 0:
		d.kind = WFG_DK_UNIFORM;
		lo = pick(r, 1, 5);
		d.p[0] = (double)lo;
		d.p[1] = (double)(lo + pick(r, 1, (uint64_t)(30 * scale)));
		break;
	case 1:
		d.kind = WFG_DK_POISSON;
		d.p[0] = q(uniform(r, 1, 20 * scale));
		break;
	default:
		d.kind = WFG_DK_GEOMETRIC;
		d.p[0] = q(uniform(r, 0.05, 0.5));
		break;
	}
	return d;
}

static void derive_action(struct drng *r, const struct wfs_constraints *c, bool first,
			  struct wfg_action_spec *a)
{
	double u = u01(r);

	memset(a, 0, sizeof(*a));
	if (first || u < 0.55 || (!c->blocking && u < 0.8)) {
		a->kind = WFG_ACT_PADDING;
		a->timeout = derive_timeout(r);
		a->replace = chance(r, 0.3);
		a->bypass = c->blocking && chance(r, 0.5);
	} else if (c->blocking && u < 0.8) {
		a->kind = WFG_ACT_BLOCK;
		a->timeout = derive_timeout(r);
		a->duration = derive_duration(r);
		a->replace = chance(r, 0.3);
		a->bypass = chance(r, 0.5);
	} else {
		a->kind = WFG_ACT_UPDATE_TIMER;
		a->duration = derive_duration(r);
		a->replace = chance(r, 0.5);
	}
	a->has_limit = chance(r, 0.7);
	if (a->has_limit)
		a->limit = derive_count(r, 1);
}

/* The event an action's state naturally moves on. */
static enum wfg_event action_event(enum wfg_action_kind k)
{
	return k == WFG_ACT_BLOCK	   ? WFG_EV_BLOCKING_END
	       : k == WFG_ACT_UPDATE_TIMER ? WFG_EV_TIMER_END
					   : WFG_EV_PADDING_SENT;
}

/*
 * 1 or 2 distinct targets among the states (and, rarely, END); probabilities
 * sum <= 1. The first target is `must` when that is a state: the policy
 * compiler refuses unreachable states, so every state leads to the next.
 */
static int derive_trans(struct drng *r, __u32 nstates, struct wfg_mb_state *st, enum wfg_event ev,
			__u64 must)
{
	unsigned n = chance(r, 0.3) ? 2 : 1, i;
	struct wfg_mb_trans *t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		do
			t[i].target = i == 0 && must < nstates ? must
				      : chance(r, 0.05)	       ? WFG_MB_STATE_END
							       : pick(r, 0, nstates - 1);
		while (i && t[i].target == t[0].target);
		t[i].prob = n == 1   ? (chance(r, 0.5) ? 1.0 : f32_prob(r, 0.3, 1))
			    : i == 0 ? f32_prob(r, 0.1, 0.5)
				     : f32_prob(r, 0.1, 0.45);
	}
	st->trans[ev] = t;
	st->ntrans[ev] = n;
	return 0;
}

#define NO_MUST WFG_MB_STATE_END

static const enum wfg_event extra_events[] = {
	WFG_EV_NORMAL_SENT,   WFG_EV_NORMAL_RECV,  WFG_EV_PADDING_RECV,
	WFG_EV_LIMIT_REACHED, WFG_EV_COUNTER_ZERO, WFG_EV_PADDING_SENT,
};

static int derive_state(struct drng *r, const struct wfs_constraints *c, __u32 nstates, __u32 s,
			struct wfg_mb_state *st)
{
	unsigned i;
	int rc;

	if (s == 0) {
		/* The start state does nothing; real traffic moves the machine on. */
		st->trans[WFG_EV_NORMAL_SENT] = calloc(1, sizeof(struct wfg_mb_trans));
		if (!st->trans[WFG_EV_NORMAL_SENT])
			return -ENOMEM;
		st->trans[WFG_EV_NORMAL_SENT][0] = (struct wfg_mb_trans){ 1, 1.0 };
		st->ntrans[WFG_EV_NORMAL_SENT] = 1;
		return chance(r, 0.5) ? derive_trans(r, nstates, st, WFG_EV_NORMAL_RECV, NO_MUST)
				      : 0;
	}
	st->action = calloc(1, sizeof(*st->action));
	if (!st->action)
		return -ENOMEM;
	derive_action(r, c, s == 1, st->action);
	if (chance(r, 0.25)) {
		struct wfg_mb_counter *k = calloc(1, sizeof(*k));

		if (!k)
			return -ENOMEM;
		k->op = (enum wfg_counter_op)pick(r, WFG_CTR_INCREMENT, WFG_CTR_SET);
		k->has_dist = k->op != WFG_CTR_DECREMENT;
		if (k->has_dist)
			k->dist = derive_count(r, 0.5);
		st->counter[0] = k;
	}
	rc = derive_trans(r, nstates, st, action_event(st->action->kind), s + 1);
	for (i = 0; !rc && i < sizeof(extra_events) / sizeof(extra_events[0]); i++)
		if (!st->ntrans[extra_events[i]] && chance(r, 0.3))
			rc = derive_trans(r, nstates, st, extra_events[i], NO_MUST);
	return rc;
}

static int derive_machine(struct drng *r, const struct wfs_constraints *c,
			  struct wfg_mb_machine **out)
{
	struct wfg_mb_machine *m = calloc(1, sizeof(*m));
	__u32 s;
	int rc = 0;

	*out = m;
	if (!m)
		return -ENOMEM;
	m->nstates = (__u32)pick(r, c->states_min, c->states_max);
	m->states = calloc(m->nstates, sizeof(*m->states));
	if (!m->states)
		return -ENOMEM;
	m->limits.allowed_padding_packets = pick(r, 0, 50);
	m->limits.max_padding_frac = q(uniform(r, 0.0625, 0.625));
	if (c->blocking) {
		m->limits.allowed_blocked_us = pick(r, 0, 100000);
		m->limits.max_blocking_frac = q(uniform(r, 0.0625, 0.3125));
	}
	for (s = 0; !rc && s < m->nstates; s++)
		rc = derive_state(r, c, m->nstates, s, &m->states[s]);
	return rc;
}

void wfs_defence_free(struct wfs_defence *d)
{
	unsigned k, i;

	for (k = 0; k < 2; k++)
		for (i = 0; i < d->n[k]; i++)
			wfg_mb_free(d->m[k][i]);
	memset(d, 0, sizeof(*d));
}

int wfs_derive(uint64_t seed, uint64_t index, const struct wfs_constraints *c,
	       struct wfs_defence *d, char *err, size_t errlen)
{
	struct drng r;
	unsigned k;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	for (k = 0; !rc && k < 2; k++) {
		drng_init(&r, seed, index, k);
		d->n[k] = 1;
		rc = derive_machine(&r, c, &d->m[k][0]);
	}
	if (rc) {
		wfs_defence_free(d);
		return wfg_err(err, errlen, -rc, "candidate %llu: %s", (unsigned long long)index,
			       strerror(-rc));
	}
	return 0;
}

/* ---------------------------------------------------------------- stacking */

static void *dup_mem(const void *p, size_t n, int *failed)
{
	void *c;

	if (!p)
		return NULL;
	c = malloc(n);
	if (!c) {
		*failed = 1;
		return NULL;
	}
	return memcpy(c, p, n);
}

static struct wfg_mb_machine *mb_dup(const struct wfg_mb_machine *m)
{
	struct wfg_mb_machine *c = calloc(1, sizeof(*c));
	int failed = !c;
	__u32 s, e;

	if (failed)
		return NULL;
	c->limits = m->limits;
	c->nstates = m->nstates;
	c->states = calloc(m->nstates, sizeof(*c->states));
	failed = !c->states;
	for (s = 0; !failed && s < m->nstates; s++) {
		const struct wfg_mb_state *a = &m->states[s];
		struct wfg_mb_state *b = &c->states[s];

		b->action = dup_mem(a->action, sizeof(*a->action), &failed);
		b->counter[0] = dup_mem(a->counter[0], sizeof(*a->counter[0]), &failed);
		b->counter[1] = dup_mem(a->counter[1], sizeof(*a->counter[1]), &failed);
		for (e = 0; e < WFG_EV_COUNT; e++) {
			b->trans[e] =
				dup_mem(a->trans[e], a->ntrans[e] * sizeof(*a->trans[e]), &failed);
			b->ntrans[e] = b->trans[e] ? a->ntrans[e] : 0;
		}
	}
	if (failed) {
		wfg_mb_free(c);
		return NULL;
	}
	return c;
}

int wfs_stack(const struct wfs_defence *a, const struct wfs_defence *b, struct wfs_defence *out,
	      char *err, size_t errlen)
{
	const struct wfs_defence *src[2] = { a, b };
	unsigned k, i, j;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < 2; k++) {
		if (a->n[k] + b->n[k] > WFG_MAX_MACHINES)
			return wfg_err(err, errlen, E2BIG,
				       "%s side: %u + %u machines; one side runs at most %d",
				       k ? "server" : "client", a->n[k], b->n[k], WFG_MAX_MACHINES);
		for (j = 0; j < 2; j++) {
			for (i = 0; i < src[j]->n[k]; i++) {
				out->m[k][out->n[k]] = mb_dup(src[j]->m[k][i]);
				if (!out->m[k][out->n[k]]) {
					wfs_defence_free(out);
					return wfg_err(err, errlen, ENOMEM, "out of memory");
				}
				out->n[k]++;
			}
		}
	}
	return 0;
}

void wfs_combo_pick(uint64_t seed, uint64_t index, unsigned m, unsigned *a, unsigned *b)
{
	struct drng r;

	drng_init(&r, seed, index, 7); /* stream 7: neither side of a derivation */
	*a = (unsigned)pick(&r, 0, m - 1);
	*b = (unsigned)pick(&r, 0, m - 2);
	if (*b >= *a)
		(*b)++;
}

/* ---------------------------------------------------------------- policy text */

static void yaml_dist(FILE *f, const char *key, const struct wfg_dist_spec *d)
{
	int i, np = wfg_dist_kind_nparams(d->kind);

	fprintf(f, "%s: {dist: %s", key, wfg_dist_kind_name(d->kind));
	for (i = 0; i < np; i++)
		fprintf(f, ", %s: %.17g", wfg_dist_param_name(d->kind, i), d->p[i]);
	if (d->start)
		fprintf(f, ", start: %.17g", d->start);
	if (d->max)
		fprintf(f, ", max: %.17g", d->max);
	fputs("}", f);
}

static const char *const action_type[] = {
	[WFG_ACT_CANCEL] = "cancel",
	[WFG_ACT_PADDING] = "padding",
	[WFG_ACT_BLOCK] = "block",
	[WFG_ACT_UPDATE_TIMER] = "timer",
};

static void yaml_action(FILE *f, const struct wfg_action_spec *a)
{
	const char *in = "            ";

	fprintf(f, "          action:\n%stype: %s\n", in, action_type[a->kind]);
	if (a->kind == WFG_ACT_CANCEL) {
		fprintf(f, "%stimers: %s\n", in,
			a->cancel_action && a->cancel_internal ? "all"
			: a->cancel_internal		       ? "internal"
							       : "action");
		return;
	}
	if (a->kind == WFG_ACT_PADDING || a->kind == WFG_ACT_BLOCK) {
		fputs(in, f);
		yaml_dist(f, "timeout", &a->timeout);
		fputc('\n', f);
	}
	if (a->kind == WFG_ACT_BLOCK || a->kind == WFG_ACT_UPDATE_TIMER) {
		fputs(in, f);
		yaml_dist(f, "duration", &a->duration);
		fputc('\n', f);
	}
	if (a->has_limit) {
		fputs(in, f);
		yaml_dist(f, "limit", &a->limit);
		fputc('\n', f);
	}
	if (a->kind != WFG_ACT_UPDATE_TIMER)
		fprintf(f, "%sbypass: %s\n", in, a->bypass ? "true" : "false");
	fprintf(f, "%sreplace: %s\n", in, a->replace ? "true" : "false");
}

static void yaml_counter(FILE *f, char name, const struct wfg_mb_counter *k)
{
	static const char *const op[] = {
		[WFG_CTR_INCREMENT] = "inc", [WFG_CTR_DECREMENT] = "dec", [WFG_CTR_SET] = "set"
	};

	fprintf(f, "            %c: {op: %s", name, op[k->op]);
	if (k->copy)
		fputs(", copy: true", f);
	else if (k->has_dist)
		yaml_dist(f, ", value", &k->dist);
	fputs("}\n", f);
}

static void yaml_target(FILE *f, __u64 t)
{
	if (t == WFG_MB_STATE_END)
		fputs("end", f);
	else if (t == WFG_MB_STATE_SIGNAL)
		fputs("signal", f);
	else
		fprintf(f, "s%llu", (unsigned long long)t);
}

static void yaml_state(FILE *f, const struct wfg_mb_state *st, __u32 s)
{
	__u32 e, i;

	fprintf(f, "        - name: s%u\n", s);
	if (st->action)
		yaml_action(f, st->action);
	if (st->counter[0] || st->counter[1]) {
		fputs("          counters:\n", f);
		if (st->counter[0])
			yaml_counter(f, 'a', st->counter[0]);
		if (st->counter[1])
			yaml_counter(f, 'b', st->counter[1]);
	}
	for (e = 0, i = 0; e < WFG_EV_COUNT; e++)
		i += st->ntrans[e];
	if (!i)
		return;
	fputs("          on:\n", f);
	for (e = 0; e < WFG_EV_COUNT; e++) {
		if (!st->ntrans[e])
			continue;
		fprintf(f, "            %s: [", wfg_event_key(e));
		for (i = 0; i < st->ntrans[e]; i++) {
			fputs(i ? ", {to: " : "{to: ", f);
			yaml_target(f, st->trans[e][i].target);
			fprintf(f, ", p: %.17g}", st->trans[e][i].prob);
		}
		fputs("]\n", f);
	}
}

static void yaml_machine(FILE *f, const struct wfg_mb_machine *m, const char *side, unsigned i)
{
	const struct wfg_machine_limits *l = &m->limits;
	__u32 s;

	fprintf(f, "  - machine:\n      name: %s-%u\n      side: %s\n      limits:\n", side, i,
		side);
	fprintf(f, "        allowed_padding_packets: %llu\n",
		(unsigned long long)l->allowed_padding_packets);
	/* 0 is Maybenot's "no limit", which a policy writes by leaving the key out. */
	if (l->max_padding_frac)
		fprintf(f, "        max_padding_frac: %.17g\n", l->max_padding_frac);
	fprintf(f, "        allowed_blocked_us: %llu\n", (unsigned long long)l->allowed_blocked_us);
	if (l->max_blocking_frac)
		fprintf(f, "        max_blocking_frac: %.17g\n", l->max_blocking_frac);
	fputs("      states:\n", f);
	for (s = 0; s < m->nstates; s++)
		yaml_state(f, &m->states[s], s);
}

int wfs_policy_text(const struct wfs_defence *d, const struct wfs_constraints *c, const char *title,
		    char **text, size_t *len)
{
	static const char *const side[2] = { "client", "server" };
	FILE *f = open_memstream(text, len);
	unsigned k, i;

	if (!f)
		return -ENOMEM;
	fprintf(f,
		"# %s\n"
		"# Derived by wfbench search (docs/search.md): Maybenot machines, inline.\n"
		"# It defends every UDP flow: narrow `match` before attaching.\n"
		"version: 1\n"
		"role: server\n"
		"shim:\n"
		"  keys: /etc/wfguard/keys\n"
		"match:\n"
		"  - {}\n"
		"cover_size: %u\n"
		"defence:\n",
		title, c->padding_size);
	for (k = 0; k < 2; k++)
		for (i = 0; i < d->n[k]; i++)
			yaml_machine(f, d->m[k][i], side[k], i);
	return fclose(f) ? -ENOMEM : 0;
}

/* ---------------------------------------------------------------- Maybenot strings */

int wfs_maybenot_text(const struct wfs_defence *d, char **text, char *err, size_t errlen)
{
	static const char *const side[2] = { "client", "server" };
	size_t len;
	FILE *f = open_memstream(text, &len);
	unsigned k, i;
	char *s;
	int rc = 0;

	if (!f)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	for (k = 0; !rc && k < 2; k++) {
		for (i = 0; !rc && i < d->n[k]; i++) {
			rc = wfg_mb_encode(d->m[k][i], &s, err, errlen);
			if (!rc)
				fprintf(f, "%s %s\n", side[k], s);
			free(s);
		}
	}
	if (fclose(f) && !rc)
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	if (rc) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

int wfs_maybenot_parse(const char *name, const char *text, struct wfs_defence *d, char *err,
		       size_t errlen)
{
	const char *p = text, *nl;
	char line[8192], why[256];
	unsigned lineno = 0, k;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	for (; !rc && *p; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		lineno++;
		if ((size_t)(nl - p) >= sizeof(line)) {
			rc = wfg_err(err, errlen, EINVAL, "%s:%u: line too long", name, lineno);
			break;
		}
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = 0;
		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "client ", 7)) {
			k = 0;
		} else if (!strncmp(line, "server ", 7)) {
			k = 1;
		} else {
			rc = wfg_err(err, errlen, EINVAL,
				     "%s:%u: expected 'client STRING' or 'server STRING'", name,
				     lineno);
			break;
		}
		if (d->n[k] == WFG_MAX_MACHINES) {
			rc = wfg_err(err, errlen, E2BIG, "%s:%u: more than %d %s machines", name,
				     lineno, WFG_MAX_MACHINES, k ? "server" : "client");
			break;
		}
		rc = wfg_mb_decode(line + 7, &d->m[k][d->n[k]], why, sizeof(why));
		if (rc)
			wfg_err(err, errlen, -rc, "%s:%u: %s", name, lineno, why);
		else
			d->n[k]++;
	}
	if (rc)
		wfs_defence_free(d);
	return rc;
}

/* ---------------------------------------------------------------- simulation */

void wfs_env_free(struct wfs_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		wfb_trace_free(&e->t[i]);
	free(e->t);
	free(e->index);
	memset(e, 0, sizeof(*e));
}

int wfs_env_load(const char *dataset, unsigned n, uint64_t seed, struct wfs_env *e, char *err,
		 size_t errlen)
{
	struct wfb_dataset ds;
	size_t mon, i;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = wfb_dataset_open(&ds, dataset, err, errlen);
	if (rc)
		return rc;
	mon = (size_t)ds.sites * ds.instances;
	if (!mon || n > mon) {
		rc = wfg_err(err, errlen, EINVAL,
			     "%s: %zu monitored traces; the environment needs %u", dataset, mon, n);
		goto out;
	}
	e->t = calloc(n, sizeof(*e->t));
	e->index = calloc(n, sizeof(*e->index));
	if (!e->t || !e->index) {
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; !rc && i < n; i++) {
		wfb_trace_init(&e->t[i]);
		e->index[i] = i * mon / n;
		e->n++;
		rc = wfb_dataset_read(&ds, e->index[i], &e->t[i], err, errlen);
	}
	e->replay =
		(struct wfb_replay_opts){ .delay_ns = 20000000, .seed = seed, .unknown_size = 514 };
out:
	if (rc)
		wfs_env_free(e);
	wfb_dataset_close(&ds);
	return rc;
}

/* The first error line the compiler reported. */
static int compile(const char *name, const char *text, size_t len, struct wfg_compiled_policy *cp,
		   char *err, size_t errlen)
{
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	int rc;

	if (!f)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	rc = wfg_policy_load_mem_report(name, text, len, cp, f);
	fclose(f);
	if (rc)
		wfg_err(err, errlen, -rc, "%.*s", (int)strcspn(buf ? buf : "", "\n"),
			buf ? buf : "");
	free(buf);
	return rc;
}

static double ratio_minus_one(uint64_t def, uint64_t orig)
{
	return orig ? (double)def / (double)orig - 1 : 0;
}

int wfs_simulate(const struct wfs_env *e, const char *name, const char *text, size_t len,
		 struct wfs_metrics *m, char *err, size_t errlen)
{
	struct wfg_compiled_policy *cp = malloc(sizeof(*cp));
	struct wfb_overhead tot, ov;
	struct wfb_trace out;
	size_t i;
	int rc;

	if (!cp)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	rc = compile(name, text, len, cp, err, errlen);
	memset(&tot, 0, sizeof(tot));
	wfb_trace_init(&out);
	for (i = 0; !rc && i < e->n; i++) {
		struct wfb_replay_opts r = e->replay;

		r.trace_index = e->index[i];
		out.n = 0;
		rc = wfb_replay(wfg_policy_side(cp, WFG_ROLE_CLIENT),
				wfg_policy_side(cp, WFG_ROLE_SERVER), &e->t[i], &r, &out, &ov);
		if (rc)
			wfg_err(err, errlen, -rc, "%s: replay of trace %zu: %s", name, e->index[i],
				rc == -E2BIG
					? "runaway: over 50 packets or 1000 events per real one"
					: strerror(-rc));
		else
			wfb_overhead_add(&tot, &ov);
	}
	wfb_trace_free(&out);
	free(cp);
	if (rc)
		return rc;
	m->client_load = ratio_minus_one(tot.bytes_def[0], tot.bytes_orig[0]);
	m->server_load = ratio_minus_one(tot.bytes_def[1], tot.bytes_orig[1]);
	m->delay = wfb_overhead_latency(&tot);
	return 0;
}
