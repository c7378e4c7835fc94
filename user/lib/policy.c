// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy compiler: YAML (libyaml) -> struct wfg_compiled_policy. The schema and
 * every rule checked here are documented in docs/policy.md.
 *
 * Three phases; each reports every error it finds at a YAML position:
 *  1. parse: libyaml loads the document, a walk checks keys, types and ranges
 *     and fills an intermediate form (struct ir);
 *  2. check: what needs the whole policy (conflicting elements, sizes against
 *     the MTU limit, budgets that cannot be met);
 *  3. build: both sides through the side builder (side_build.h), whose few
 *     remaining failures (the core's capacity per side) are reported at the
 *     element being added.
 * Elements with an error are left out of the later phases, so one mistake is
 * reported once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "maybenot.h"
#include "policy.h"
#include "presets.h"
#include "side_build.h"

#define SIDE_C	      (1u << WFG_ROLE_CLIENT)
#define SIDE_S	      (1u << WFG_ROLE_SERVER)
#define MAX_ELEMS     16     /* defence elements */
#define MAX_NAME      64     /* state and machine names, with the NUL */
#define MAX_SIZE      65507u /* largest UDP payload (IPv4) */
#define MIN_FLOWS     16u
#define MAX_FLOWS     (1u << 22)
#define DEF_FLOWS     65536u
#define MAX_U32_VALUE 4294967295.0
#define RAW_MAX	      256 /* errors kept before sorting */

/* ================================================================ diagnostics */

struct raw_diag {
	unsigned line, col, seq; /* line 0: no position (I/O) */
	char msg[224];
};

struct ir;

struct pctx {
	const char *file;
	const char *basedir; /* for relative key paths; NULL: keep as written */
	yaml_document_t *doc;
	struct raw_diag *raw;
	int nraw, cap;
	int lost;
	struct wfg_compiled_policy *cp; /* the temporary being filled */
	struct ir *ir;
};

static void verr(struct pctx *c, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	struct raw_diag *d;

	if (c->nraw >= c->cap) {
		c->lost = 1;
		return;
	}
	d = &c->raw[c->nraw];
	d->line = line;
	d->col = col;
	d->seq = (unsigned)c->nraw++;
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
}

__attribute__((format(printf, 3, 4))) static void err_mark(struct pctx *c, yaml_mark_t m,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, (unsigned)m.line + 1, (unsigned)m.column + 1, fmt, ap);
	va_end(ap);
}

/* At a node (NULL: the top of the file). */
__attribute__((format(printf, 3, 4))) static void err_at(struct pctx *c, const yaml_node_t *n,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (n)
		verr(c, (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1, fmt,
		     ap);
	else
		verr(c, 1, 1, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void err_line(struct pctx *c, unsigned line,
							   unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, line, col, fmt, ap);
	va_end(ap);
}

/* No position: the file itself (cannot be read, out of memory). */
__attribute__((format(printf, 2, 3))) static void err_io(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, 0, 0, fmt, ap);
	va_end(ap);
}

static int cmp_raw(const void *a, const void *b)
{
	const struct raw_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorted by position, identical messages at one place once. */
static void emit_diags(struct pctx *c, struct wfg_diags *out)
{
	int i;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	qsort(c->raw, (size_t)c->nraw, sizeof(c->raw[0]), cmp_raw);
	for (i = 0; i < c->nraw; i++) {
		const struct raw_diag *d = &c->raw[i];
		size_t cap = sizeof(out->d[0].msg), ml;
		char *m;
		int k;

		if (i && d->line == d[-1].line && d->col == d[-1].col && !strcmp(d->msg, d[-1].msg))
			continue;
		if (out->n >= WFG_POLICY_MAX_DIAGS) {
			out->truncated = 1;
			break;
		}
		m = out->d[out->n++].msg;
		if (d->line)
			k = snprintf(m, cap, "%.*s:%u:%u: ", 120, c->file, d->line, d->col);
		else
			k = snprintf(m, cap, "%.*s: ", 120, c->file);
		if (k < 0 || (size_t)k >= cap)
			continue;
		ml = strlen(d->msg);
		if (ml > cap - 1 - (size_t)k)
			ml = cap - 1 - (size_t)k;
		memcpy(m + k, d->msg, ml);
		m[(size_t)k + ml] = 0;
	}
	if (c->lost)
		out->truncated = 1;
}

/* ================================================================ YAML values */

enum vkind { V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_MAP, V_LIST };

static const char *const vkind_name[] = {
	"nothing", "a boolean", "an integer", "a number", "a string", "a mapping", "a list",
};

static yaml_node_t *nd(struct pctx *c, int i)
{
	return yaml_document_get_node(c->doc, i);
}

static const char *sval(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
}

static int is_bool(const char *s, int *v)
{
	static const char *const t[] = { "true", "True", "TRUE", "yes", "Yes",
					 "YES",	 "on",	 "On",	 "ON" };
	static const char *const f[] = { "false", "False", "FALSE", "no", "No",
					 "NO",	  "off",   "Off",   "OFF" };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(s, t[i])) {
			if (v)
				*v = 1;
			return 1;
		}
		if (!strcmp(s, f[i])) {
			if (v)
				*v = 0;
			return 1;
		}
	}
	return 0;
}

static int is_int_text(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int is_special_float(const char *s)
{
	static const char *const sp[] = { ".inf", "+.inf", "-.inf", ".Inf", "+.Inf", "-.Inf",
					  ".INF", "+.INF", "-.INF", ".nan", ".NaN",  ".NAN" };
	size_t i;

	for (i = 0; i < sizeof(sp) / sizeof(sp[0]); i++)
		if (!strcmp(s, sp[i]))
			return 1;
	return 0;
}

/* What a node holds, by YAML 1.2's core schema (quoted scalars are strings). */
static enum vkind vkind(const yaml_node_t *n)
{
	const char *s;
	char *end;

	if (!n)
		return V_NULL;
	if (n->type == YAML_MAPPING_NODE)
		return V_MAP;
	if (n->type == YAML_SEQUENCE_NODE)
		return V_LIST;
	if (n->type != YAML_SCALAR_NODE)
		return V_NULL;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return V_STR;
	s = sval(n);
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return V_NULL;
	if (is_bool(s, NULL))
		return V_BOOL;
	if (is_int_text(s))
		return V_INT;
	if (is_special_float(s))
		return V_FLOAT;
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '.' || s[0] == '-' || s[0] == '+') {
		strtod(s, &end);
		if (end != s && !*end)
			return V_FLOAT;
	}
	return V_STR;
}

static int is_scalar_value(const yaml_node_t *n)
{
	enum vkind k = vkind(n);

	return k == V_STR || k == V_INT || k == V_FLOAT || k == V_BOOL;
}

static double to_double(const char *s)
{
	if (is_special_float(s))
		return strpbrk(s, "aA") ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
	return strtod(s, NULL);
}

/* ---------------------------------------------------------------- names */

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int min3(int a, int b, int c)
{
	return a < b ? (a < c ? a : c) : (b < c ? b : c);
}

/* Edit distance with transpositions (optimal string alignment), case-insensitive,
 * on at most 63 characters. */
static int lev(const char *a, const char *b)
{
	int la = (int)strnlen(a, 63), lb = (int)strnlen(b, 63), i, j;
	int d[64][64];

	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			int cost = lower(a[i - 1]) != lower(b[j - 1]);

			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[la][lb];
}

/* The closest of names[] if it is close enough to be a likely typo, else NULL. */
static const char *closest(const char *s, const char *const *names, int n)
{
	const char *best = NULL;
	int bd = 1000, i;

	for (i = 0; i < n; i++) {
		int d = lev(s, names[i]);
		int l = (int)strlen(s) > (int)strlen(names[i]) ? (int)strlen(s)
							       : (int)strlen(names[i]);

		if (d < bd && d <= 2 && 2 * d <= l) {
			bd = d;
			best = names[i];
		}
	}
	return best;
}

static void join(char *buf, size_t len, const char *const *names, int n)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", names[i]);
}

/* "unknown <what> 'x' (did you mean 'y'?)" or "(one of: ...)" */
static void err_unknown(struct pctx *c, const yaml_node_t *n, const char *what,
			const char *const *names, int nnames)
{
	const char *s = sval(n), *best = closest(s, names, nnames);
	char list[160];

	if (best) {
		err_at(c, n, "unknown %s '%.60s' (did you mean '%s'?)", what, s, best);
	} else {
		join(list, sizeof(list), names, nnames);
		err_at(c, n, "unknown %s '%.60s' (one of: %s)", what, s, list);
	}
}

/* ---------------------------------------------------------------- mappings */

struct field {
	const char *name;
	const char *alias; /* another accepted spelling, or NULL */
	yaml_node_t *key, *val;
	int typo; /* an unknown key was reported as a likely misspelling of this one */
};

#define F(n)                \
	{                   \
		.name = (n) \
	}

/*
 * Match the keys of a mapping against f[]: unknown keys (with a suggestion),
 * duplicate keys and non-scalar keys are errors. Returns 0 when n is a mapping.
 */
static int fields(struct pctx *c, yaml_node_t *n, const char *what, struct field *f, int nf)
{
	const char *names[32];
	yaml_node_pair_t *p;
	int i;

	if (!n || n->type != YAML_MAPPING_NODE) {
		err_at(c, n, "%s must be a mapping, got %s", what, vkind_name[vkind(n)]);
		return -1;
	}
	for (i = 0; i < nf && i < 32; i++)
		names[i] = f[i].name;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = nd(c, p->key), *v = nd(c, p->value);
		const char *s, *best;
		char list[200];

		if (!k || k->type != YAML_SCALAR_NODE) {
			err_at(c, k, "keys in %s must be names, got %s", what,
			       vkind_name[vkind(k)]);
			continue;
		}
		s = sval(k);
		for (i = 0; i < nf; i++)
			if (!strcmp(s, f[i].name) || (f[i].alias && !strcmp(s, f[i].alias)))
				break;
		if (i == nf) {
			best = closest(s, names, nf);
			if (best) {
				err_at(c, k, "unknown key '%.60s' (did you mean '%s'?)", s, best);
				for (i = 0; i < nf; i++)
					if (f[i].name == best)
						f[i].typo = 1;
			} else {
				join(list, sizeof(list), names, nf);
				err_at(c, k, "unknown key '%.60s' in %s (known: %s)", s, what,
				       list);
			}
			continue;
		}
		if (f[i].key) {
			err_at(c, k, "duplicate key '%.60s' (first at %u:%u)", s,
			       (unsigned)f[i].key->start_mark.line + 1,
			       (unsigned)f[i].key->start_mark.column + 1);
			continue;
		}
		f[i].key = k;
		f[i].val = v;
	}
	return 0;
}

static struct field *fld(struct field *f, int nf, const char *name)
{
	int i;

	for (i = 0; i < nf; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

#define NF(f)	   ((int)(sizeof(f) / sizeof((f)[0])))
#define V(f, name) (fld((f), NF(f), (name))->val)
#define K(f, name) (fld((f), NF(f), (name))->key)

/* ---------------------------------------------------------------- scalars */

static int want_u64(struct pctx *c, const yaml_node_t *n, const char *name, __u64 lo, __u64 hi,
		    __u64 *out)
{
	enum vkind k = vkind(n);
	const char *s = sval(n);
	__u64 v;
	double d;

	if (k == V_INT) {
		char *end;

		errno = 0;
		if (*s == '-' && strspn(s + 1, "0") != strlen(s + 1))
			goto range;
		v = strtoull(s, &end, 10);
		if (errno == ERANGE)
			goto range;
	} else if (k == V_FLOAT) {
		d = to_double(s);
		if (!isfinite(d)) {
			err_at(c, n, "'%s' must be a finite number, got %.40s", name, s);
			return -1;
		}
		if (d != floor(d)) {
			err_at(c, n, "'%s' must be an integer, got %.40s", name, s);
			return -1;
		}
		if (d < 0 || d >= 18446744073709551616.0)
			goto range;
		v = (__u64)d;
	} else {
		err_at(c, n, "'%s' must be an integer, got %s", name, vkind_name[k]);
		return -1;
	}
	if (v < lo || v > hi)
		goto range;
	*out = v;
	return 0;
range:
	err_at(c, n, "'%s' must be between %llu and %llu, got %.40s", name, (unsigned long long)lo,
	       (unsigned long long)hi, s);
	return -1;
}

static int want_u32(struct pctx *c, const yaml_node_t *n, const char *name, __u32 lo, __u32 hi,
		    __u32 *out)
{
	__u64 v;

	if (want_u64(c, n, name, lo, hi, &v))
		return -1;
	*out = (__u32)v;
	return 0;
}

/* A real in [lo, hi], or (lo, hi] with lo_open. */
static int want_num(struct pctx *c, const yaml_node_t *n, const char *name, double lo, double hi,
		    int lo_open, double *out)
{
	enum vkind k = vkind(n);
	const char *s = sval(n);
	double d;

	if (k != V_INT && k != V_FLOAT) {
		err_at(c, n, "'%s' must be a number, got %s", name, vkind_name[k]);
		return -1;
	}
	d = to_double(s);
	if (!isfinite(d)) {
		err_at(c, n, "'%s' must be a finite number, got %.40s", name, s);
		return -1;
	}
	if (d > hi || d < lo || (lo_open && d == lo)) {
		err_at(c, n, "'%s' must be in %c%g, %g], got %.40s", name, lo_open ? '(' : '[', lo,
		       hi, s);
		return -1;
	}
	*out = d;
	return 0;
}

static int want_bool(struct pctx *c, const yaml_node_t *n, const char *name, int *out)
{
	if (vkind(n) != V_BOOL) {
		err_at(c, n, "'%s' must be true or false, got %s", name, vkind_name[vkind(n)]);
		return -1;
	}
	is_bool(sval(n), out);
	return 0;
}

/* A non-empty scalar, as text. */
static int want_str(struct pctx *c, const yaml_node_t *n, const char *name, const char **out)
{
	if (!is_scalar_value(n)) {
		err_at(c, n, "'%s' must be a string, got %s", name, vkind_name[vkind(n)]);
		return -1;
	}
	*out = sval(n);
	return 0;
}

/* One of names[] (exactly); returns its index or -1. */
static int want_enum(struct pctx *c, const yaml_node_t *n, const char *what,
		     const char *const *names, int nnames)
{
	int i;

	if (!is_scalar_value(n)) {
		err_at(c, n, "%s must be a name, got %s", what, vkind_name[vkind(n)]);
		return -1;
	}
	for (i = 0; i < nnames; i++)
		if (!strcmp(sval(n), names[i]))
			return i;
	err_unknown(c, n, what, names, nnames);
	return -1;
}

static void err_missing(struct pctx *c, const yaml_node_t *map, const char *key, const char *why)
{
	err_at(c, map, "missing '%s'%s%s", key, why ? " " : "", why ? why : "");
}

/* A required key is absent; unless a misspelling of it was reported already. */
static void missing(struct pctx *c, const yaml_node_t *map, const struct field *f, const char *why)
{
	if (!f->typo)
		err_missing(c, map, f->name, why);
}

static const char *const side_names[] = { "client", "server" };

static const char *sides_text(unsigned sides)
{
	return sides == (SIDE_C | SIDE_S) ? "client and server sides"
	       : sides == SIDE_C	  ? "client side"
					  : "server side";
}

/* `side: client|server|both` */
static int want_sides(struct pctx *c, const yaml_node_t *n, unsigned *sides)
{
	static const char *const names[] = { "client", "server", "both" };
	int i = want_enum(c, n, "side", names, 3);

	if (i < 0)
		return -1;
	*sides = i == 0 ? SIDE_C : i == 1 ? SIDE_S : SIDE_C | SIDE_S;
	return 0;
}

/* ================================================================ intermediate form */

enum { EL_PRESET, EL_MAYBENOT, EL_MACHINE };
enum { P_FRONT, P_TAMARAW, P_BUFLO, P_REGULATOR, P_BREAK_PAD, P_INTERSPACE, P_COUNT };

static const char *const preset_names[P_COUNT] = {
	"front", "tamaraw", "buflo", "regulator", "break-pad", "interspace",
};

struct ir_trans {
	__u16 state;
	__u8 event;
	__u16 target; /* state index, WFG_STATE_END or WFG_STATE_SIGNAL */
	double p;
};

struct ir_state {
	yaml_node_t *node, *name_node;
	char name[MAX_NAME];
	int has_action;
	struct wfg_action_spec act;
	int ctr_set[2], ctr_copy[2], ctr_has_value[2];
	enum wfg_counter_op ctr_op[2];
	struct wfg_dist_spec ctr_value[2];
};

struct ir_machine {
	struct wfg_machine_limits lim;
	int pad_frac_zero, block_frac_zero; /* explicit 0: nothing beyond the allowance */
	yaml_node_t *pad_frac_node, *block_frac_node;
	__u32 nstates, ntrans;
	int overflow; /* more states than the core holds (reported once) */
	struct ir_state states[WFG_MAX_STATES];
	struct ir_trans trans[WFG_MAX_TRANS];
};

#define MAX_PPARAMS 8

struct element {
	int kind;
	int bad; /* an error inside: left out of the checks and the build */
	unsigned sides;
	yaml_node_t *node;
	char label[96]; /* "preset 'front'", "machine 'burst'", "maybenot machines" */
	/* preset */
	int preset;
	yaml_node_t *pnode[MAX_PPARAMS]; /* parameters given, by index in the preset's table */
	union {
		struct wfg_front_params front;
		struct wfg_tamaraw_params tamaraw;
		struct wfg_buflo_params buflo;
		struct wfg_regulator_params regulator;
	} pp;
	/* maybenot */
	int nmb[2];
	struct wfg_mb_machine *mb[2][WFG_MAX_MACHINES];
	yaml_node_t *mb_node[2][WFG_MAX_MACHINES];
	/* inline machine */
	struct ir_machine *m;
};

struct ir {
	yaml_node_t *root;
	int role;
	/* shape */
	int shape_given;
	struct wfg_shape_cfg shape;
	yaml_node_t *shape_mode_node, *shape_size_node, *shape_max_node;
	yaml_node_t *bucket_node[WFG_MAX_BUCKETS];
	__u32 limit;
	__u32 cover_size;
	yaml_node_t *cover_node;
	/* side limits */
	double pad_frac, block_frac;
	int pad_frac_zero, block_frac_zero;
	yaml_node_t *pad_frac_node, *block_frac_node;
	int nelem;
	struct element el[MAX_ELEMS];
};

static void ir_free(struct ir *ir)
{
	int i, s, k;

	if (!ir)
		return;
	for (i = 0; i < ir->nelem; i++) {
		for (s = 0; s < 2; s++)
			for (k = 0; k < ir->el[i].nmb[s]; k++)
				wfg_mb_free(ir->el[i].mb[s][k]);
		free(ir->el[i].m);
	}
	free(ir);
}

/* ================================================================ distributions */

static const char *const dist_names[WFG_DK_COUNT] = {
	"uniform", "normal",  "skew_normal", "log_normal", "binomial", "geometric",
	"pareto",  "poisson", "weibull",     "gamma",	   "beta",
};

/*
 * DIST: a number (the constant) or {dist: KIND, <parameters>, start, max}.
 * name says what it is for, in messages.
 */
static int parse_dist(struct pctx *c, yaml_node_t *n, const char *name, struct wfg_dist_spec *out)
{
	struct field f[6] = { F("dist") };
	yaml_node_pair_t *p;
	yaml_node_t *kn = NULL;
	char why[200];
	int kind, np, i, bad = 0;
	double v;

	memset(out, 0, sizeof(*out));
	if (vkind(n) == V_INT || vkind(n) == V_FLOAT) {
		if (want_num(c, n, name, -1e300, 1e300, 0, &v))
			return -1;
		if (v < 0 || v > MAX_U32_VALUE) {
			err_at(c, n, "'%s' must be between 0 and %.0f, got %.40s", name,
			       MAX_U32_VALUE, sval(n));
			return -1;
		}
		*out = wfg_dist_const(v);
		return 0;
	}
	if (vkind(n) != V_MAP) {
		err_at(c, n, "'%s' must be a number or a distribution {dist: ...}, got %s", name,
		       vkind_name[vkind(n)]);
		return -1;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = nd(c, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "dist")) {
			kn = nd(c, p->value);
			break;
		}
	}
	if (!kn) {
		static const char *const dist_key[] = { "dist" };

		for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = nd(c, p->key);

			if (k && k->type == YAML_SCALAR_NODE && closest(sval(k), dist_key, 1)) {
				err_at(c, k, "unknown key '%.60s' (did you mean 'dist'?)", sval(k));
				return -1;
			}
		}
		err_missing(c, n, "dist", "(the kind of distribution: uniform, normal, ...)");
		return -1;
	}
	if (!is_scalar_value(kn)) {
		err_at(c, kn, "distribution kind must be a name, got %s", vkind_name[vkind(kn)]);
		return -1;
	}
	kind = wfg_dist_kind_from_name(sval(kn));
	if (kind < 0) {
		err_unknown(c, kn, "distribution", dist_names, WFG_DK_COUNT);
		return -1;
	}
	np = wfg_dist_kind_nparams((enum wfg_dist_kind)kind);
	for (i = 0; i < np; i++)
		f[1 + i].name = wfg_dist_param_name((enum wfg_dist_kind)kind, i);
	f[1 + np].name = "start";
	f[2 + np].name = "max";
	if (fields(c, n, "distribution", f, np + 3))
		return -1;
	out->kind = (enum wfg_dist_kind)kind;
	for (i = 0; i < np; i++) {
		if (!f[1 + i].val) {
			char what[80];

			snprintf(what, sizeof(what), "(a %s distribution needs it)",
				 dist_names[kind]);
			missing(c, n, &f[1 + i], what);
			bad = 1;
		} else if (want_num(c, f[1 + i].val, f[1 + i].name, -1e300, 1e300, 0, &out->p[i])) {
			bad = 1;
		}
	}
	if (f[1 + np].val && want_num(c, f[1 + np].val, "start", -1e300, 1e300, 0, &out->start))
		bad = 1;
	if (f[2 + np].val && want_num(c, f[2 + np].val, "max", 0, 1e300, 0, &out->max))
		bad = 1;
	if (bad)
		return -1;
	if (wfg_dist_validate(out, why, sizeof(why))) {
		err_at(c, n, "%s: %s", name, why);
		return -1;
	}
	return 0;
}

/* ================================================================ match rules */

static int parse_cidr(struct pctx *c, yaml_node_t *n, const char *name, __u8 *family, __u8 addr[16],
		      __u8 *prefix)
{
	char buf[64], *slash, fixed[INET6_ADDRSTRLEN];
	const char *s;
	unsigned long plen, maxlen;
	int af, b;

	if (want_str(c, n, name, &s))
		return -1;
	if (!strcmp(s, "any")) {
		*family = 0;
		*prefix = 0;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		af = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		af = AF_INET6;
		maxlen = 128;
	} else {
		goto bad;
	}
	plen = maxlen;
	if (slash) {
		char *end;

		if (!*slash || strspn(slash, "0123456789") != strlen(slash))
			goto bad;
		plen = strtoul(slash, &end, 10);
		if (plen > maxlen) {
			err_at(c, n,
			       "'%s': prefix length /%s is too long for an IPv%c address (at most "
			       "/%lu)",
			       name, slash, af == AF_INET ? '4' : '6', maxlen);
			return -1;
		}
	}
	for (b = 0; b < 16; b++) {
		int keep = (int)plen - b * 8;
		__u8 mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (__u8)(0xff << (8 - keep));

		if (addr[b] & ~mask) {
			__u8 net[16];
			int i;

			for (i = 0; i < 16; i++) {
				int kk = (int)plen - i * 8;

				net[i] = addr[i] & (kk >= 8   ? 0xff
						    : kk <= 0 ? 0
							      : (__u8)(0xff << (8 - kk)));
			}
			inet_ntop(af, net, fixed, sizeof(fixed));
			err_at(c, n,
			       "'%s': %s has bits set after the /%lu prefix (did you mean %s/%lu?)",
			       name, s, plen, fixed, plen);
			return -1;
		}
	}
	*family = af == AF_INET ? 4 : 6;
	*prefix = (__u8)plen;
	return 0;
bad:
	err_at(c, n,
	       "'%s': '%.60s' is not an IP address or prefix (like 192.0.2.0/24, 2001:db8::/32 or "
	       "any)",
	       name, s);
	return -1;
}

static int parse_ports(struct pctx *c, yaml_node_t *n, const char *name, __u16 *lo, __u16 *hi)
{
	const char *s, *dash;
	unsigned long a, b;
	char *end;

	if (vkind(n) == V_INT) {
		__u32 v;

		if (want_u32(c, n, name, 0, 65535, &v))
			return -1;
		*lo = *hi = (__u16)v;
		return 0;
	}
	if (want_str(c, n, name, &s))
		return -1;
	if (!strcmp(s, "any")) {
		*lo = 0;
		*hi = 65535;
		return 0;
	}
	dash = strchr(s, '-');
	if (!*s || strspn(s, "0123456789-") != strlen(s) || *s == '-' ||
	    (dash && (!dash[1] || strchr(dash + 1, '-'))))
		goto bad;
	a = strtoul(s, &end, 10);
	b = dash ? strtoul(dash + 1, &end, 10) : a;
	if (strlen(s) > 11 || a > 65535 || b > 65535) {
		err_at(c, n, "'%s': ports are between 0 and 65535, got %.40s", name, s);
		return -1;
	}
	if (a > b) {
		err_at(c, n, "'%s': port range %.40s is reversed (write %lu-%lu)", name, s, b, a);
		return -1;
	}
	*lo = (__u16)a;
	*hi = (__u16)b;
	return 0;
bad:
	err_at(c, n, "'%s': '%.40s' is not a port or port range (N, N-M or any)", name, s);
	return -1;
}

static void parse_rule(struct pctx *c, yaml_node_t *n, struct wfg_rule *r)
{
	static const char *const fams[] = { "4", "6", "any" };
	struct field f[] = { F("family"), F("local"), F("remote"), F("local_port"),
			     F("remote_port") };
	__u8 lfam = 0, rfam = 0, fam = 0;
	int i;

	memset(r, 0, sizeof(*r));
	r->lport_hi = r->rport_hi = 65535;
	if (fields(c, n, "a match rule", f, NF(f)))
		return;
	if (V(f, "family")) {
		i = want_enum(c, V(f, "family"), "family", fams, 3);
		fam = i == 0 ? 4 : i == 1 ? 6 : 0;
	}
	if (V(f, "local") &&
	    parse_cidr(c, V(f, "local"), "local", &lfam, r->local, &r->local_prefix))
		lfam = 0;
	if (V(f, "remote") &&
	    parse_cidr(c, V(f, "remote"), "remote", &rfam, r->remote, &r->remote_prefix))
		rfam = 0;
	if (V(f, "local_port"))
		parse_ports(c, V(f, "local_port"), "local_port", &r->lport_lo, &r->lport_hi);
	if (V(f, "remote_port"))
		parse_ports(c, V(f, "remote_port"), "remote_port", &r->rport_lo, &r->rport_hi);
	if (fam && lfam && lfam != fam)
		err_at(c, V(f, "local"), "'local' is an IPv%u prefix but the rule's family is %u",
		       lfam, fam);
	else if (fam && rfam && rfam != fam)
		err_at(c, V(f, "remote"), "'remote' is an IPv%u prefix but the rule's family is %u",
		       rfam, fam);
	else if (lfam && rfam && lfam != rfam)
		err_at(c, V(f, "remote"),
		       "'remote' is an IPv%u prefix but 'local' is IPv%u: a rule matches one "
		       "family",
		       rfam, lfam);
	r->family = fam ? fam : lfam ? lfam : rfam;
}

static void parse_match(struct pctx *c, yaml_node_t *n)
{
	struct wfg_policy *dp = &c->cp->dp;
	yaml_node_item_t *it;

	if (vkind(n) != V_LIST) {
		err_at(c, n, "match must be a list of rules, got %s", vkind_name[vkind(n)]);
		return;
	}
	if (n->data.sequence.items.top == n->data.sequence.items.start) {
		err_at(c, n, "match needs at least one rule (an empty list defends nothing)");
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		if (dp->nrules >= WFG_MAX_RULES) {
			err_at(c, nd(c, *it), "too many match rules: at most %d", WFG_MAX_RULES);
			return;
		}
		parse_rule(c, nd(c, *it), &dp->rules[dp->nrules++]);
	}
}

/* ================================================================ shim, flows, limits */

static void parse_shim(struct pctx *c, yaml_node_t *n)
{
	static const char *const profiles[] = { "generic", "quic", "wireguard" };
	struct field f[] = { F("profile"), F("quic_dcid_len"), F("keys") };
	struct wfg_policy *dp = &c->cp->dp;
	const char *keys;
	int i;

	if (fields(c, n, "shim", f, NF(f)))
		return;
	if (V(f, "profile")) {
		i = want_enum(c, V(f, "profile"), "shim profile", profiles, 3);
		if (i < 0)
			return;
		dp->profile = (__u32)i;
	}
	if (V(f, "quic_dcid_len")) {
		if (dp->profile != WFG_PROFILE_QUIC)
			err_at(c, K(f, "quic_dcid_len"),
			       "'quic_dcid_len' only applies to profile quic");
		else
			want_u32(c, V(f, "quic_dcid_len"), "quic_dcid_len", 0, 20,
				 &dp->quic_dcid_len);
	} else if (dp->profile == WFG_PROFILE_QUIC) {
		char why[160];

		snprintf(why, sizeof(why),
			 "(profile quic: the length of the destination connection ids in the "
			 "packets this %s sends, 0..20)",
			 side_names[c->ir->role]);
		missing(c, n, &f[1], why);
	}
	if (V(f, "keys") && !want_str(c, V(f, "keys"), "keys", &keys)) {
		size_t cap = sizeof(c->cp->keys_path);
		int len = 0;

		if (!*keys)
			err_at(c, V(f, "keys"), "'keys' must name a file");
		else if (keys[0] != '/' && c->basedir && strcmp(c->basedir, "."))
			len = snprintf(c->cp->keys_path, cap, "%s/%s", c->basedir, keys);
		else
			len = snprintf(c->cp->keys_path, cap, "%s", keys);
		if (*keys && (size_t)len >= cap) {
			err_at(c, V(f, "keys"), "'keys': path too long (at most %zu bytes)",
			       cap - 1);
			c->cp->keys_path[0] = 0;
		}
	}
}

static void parse_flows(struct pctx *c, yaml_node_t *n)
{
	struct field f[] = { F("max") };

	if (fields(c, n, "flows", f, NF(f)))
		return;
	if (V(f, "max"))
		want_u32(c, V(f, "max"), "max", MIN_FLOWS, MAX_FLOWS, &c->cp->max_flows);
}

/* A fraction of limits: given 0 is "nothing beyond the allowance" (see docs/policy.md). */
static void parse_frac(struct pctx *c, yaml_node_t *v, const char *name, double *out, int *zero,
		       yaml_node_t **node)
{
	if (!v || want_num(c, v, name, 0, 1, 0, out))
		return;
	*zero = *out == 0;
	*node = v;
}

static void parse_side_limits(struct pctx *c, yaml_node_t *n)
{
	struct field f[] = { F("max_padding_frac"), F("max_blocking_frac") };
	struct ir *ir = c->ir;

	if (fields(c, n, "limits", f, NF(f)))
		return;
	parse_frac(c, V(f, "max_padding_frac"), "max_padding_frac", &ir->pad_frac,
		   &ir->pad_frac_zero, &ir->pad_frac_node);
	parse_frac(c, V(f, "max_blocking_frac"), "max_blocking_frac", &ir->block_frac,
		   &ir->block_frac_zero, &ir->block_frac_node);
}

/* ================================================================ shape */

static const char *const shape_modes[] = {
	"none", "pad_to", "buckets", "padme", "random", "multiple"
}; /* enum wfg_shape_mode order */

static void parse_shape(struct pctx *c, yaml_node_t *n)
{
	struct field f[] = { F("mode"), F("size"), F("buckets"), F("min"), F("max"), F("limit") };
	/* which of f[] each mode takes (bit i; mode and limit always) */
	static const unsigned takes[] = { 0, 1u << 1, 1u << 2, 0, 1u << 3 | 1u << 4, 1u << 1 };
	static const char *const needs[] = { "", "size", "buckets", "", "max", "size" };
	struct ir *ir = c->ir;
	struct wfg_shape_cfg *s = &ir->shape;
	int mode, i;

	if (is_scalar_value(n)) { /* shape: padme */
		mode = want_enum(c, n, "shape mode", shape_modes, NF(shape_modes));
		if (mode < 0)
			return;
		if (takes[mode]) {
			err_at(c, n,
			       "shape mode '%s' needs parameters: write shape: {mode: %s, %s: ...}",
			       shape_modes[mode], shape_modes[mode], needs[mode]);
			return;
		}
		ir->shape_given = 1;
		ir->shape_mode_node = n;
		s->mode = (__u8)mode;
		return;
	}
	if (fields(c, n, "shape", f, NF(f)))
		return;
	if (V(f, "limit"))
		want_u32(c, V(f, "limit"), "limit", 1, MAX_SIZE, &ir->limit);
	if (!V(f, "mode")) { /* shape: {limit: N} alone is fine */
		if (V(f, "size") || V(f, "buckets") || V(f, "min") || V(f, "max"))
			missing(c, n, &f[0], "(none, pad_to, multiple, buckets, padme or random)");
		return;
	}
	mode = want_enum(c, V(f, "mode"), "shape mode", shape_modes, NF(shape_modes));
	if (mode < 0)
		return;
	ir->shape_given = 1;
	ir->shape_mode_node = V(f, "mode");
	s->mode = (__u8)mode;
	for (i = 1; i < 5; i++) /* size, buckets, min, max */
		if (f[i].key && !(takes[mode] & (1u << i)))
			err_at(c, f[i].key, "'%s' does not apply to shape mode '%s'", f[i].name,
			       shape_modes[mode]);
	switch (mode) {
	case WFG_SHAPE_PAD_TO:
	case WFG_SHAPE_MULTIPLE:
		if (!V(f, "size"))
			missing(c, n, fld(f, NF(f), "size"),
				mode == WFG_SHAPE_PAD_TO
					? "(shape mode pad_to pads every packet to it)"
					: "(shape mode multiple rounds lengths up to a multiple of "
					  "it)");
		else if (!want_u32(c, V(f, "size"), "size", 1, MAX_SIZE, &s->size))
			ir->shape_size_node = V(f, "size");
		break;
	case WFG_SHAPE_BUCKETS: {
		yaml_node_t *b = V(f, "buckets");
		yaml_node_item_t *it;
		__u32 prev = 0;

		if (!b) {
			missing(c, n, fld(f, NF(f), "buckets"),
				"(a list of up to 8 ascending sizes)");
			break;
		}
		if (vkind(b) != V_LIST) {
			err_at(c, b, "'buckets' must be a list of sizes, got %s",
			       vkind_name[vkind(b)]);
			break;
		}
		if (b->data.sequence.items.top == b->data.sequence.items.start) {
			err_at(c, b, "'buckets' needs at least one size");
			break;
		}
		for (it = b->data.sequence.items.start; it < b->data.sequence.items.top; it++) {
			yaml_node_t *v = nd(c, *it);
			__u32 sz;

			if (s->nbuckets >= WFG_MAX_BUCKETS) {
				err_at(c, v, "too many buckets: at most %d", WFG_MAX_BUCKETS);
				break;
			}
			if (want_u32(c, v, "bucket", 1, MAX_SIZE, &sz)) {
				prev = ~0u;
				continue;
			}
			if (prev != ~0u && sz <= prev) {
				err_at(c, v, "buckets must be in ascending order: %u after %u", sz,
				       prev);
				prev = ~0u;
				continue;
			}
			ir->bucket_node[s->nbuckets] = v;
			s->buckets[s->nbuckets++] = sz;
			prev = sz;
		}
		break;
	}
	case WFG_SHAPE_RANDOM:
		if (V(f, "min"))
			want_u32(c, V(f, "min"), "min", 0, MAX_SIZE, &s->lo);
		if (!V(f, "max")) {
			missing(c, n, fld(f, NF(f), "max"),
				"(shape mode random pads to a size up to it)");
		} else if (!want_u32(c, V(f, "max"), "max", 1, MAX_SIZE, &s->hi)) {
			ir->shape_max_node = V(f, "max");
			if (V(f, "min") && s->lo > s->hi)
				err_at(c, V(f, "min"), "'min' %u is above 'max' %u", s->lo, s->hi);
		}
		break;
	default:
		break;
	}
}

/* ================================================================ presets */

enum { PT_U32, PT_DBL };

struct pparam {
	const char *name;
	int type;
	double lo, hi;
	int lo_open;
	size_t off;
};

/* clang-format off */
#define PU(s, n, f, lo, hi)	  { n, PT_U32, lo, hi, 0, offsetof(struct s, f) }
#define PD(s, n, f, lo, hi, open) { n, PT_DBL, lo, hi, open, offsetof(struct s, f) }
/* clang-format on */

static const struct pparam front_pp[] = {
	PU(wfg_front_params, "N_c", n_client, 1, 100000),
	PU(wfg_front_params, "N_s", n_server, 1, 100000),
	PD(wfg_front_params, "W_min", w_min, 0, 60, 1),
	PD(wfg_front_params, "W_max", w_max, 0, 60, 1),
};

static const struct pparam tamaraw_pp[] = {
	PD(wfg_tamaraw_params, "rho_out", rho_out, 0, 10, 1),
	PD(wfg_tamaraw_params, "rho_in", rho_in, 0, 10, 1),
	PU(wfg_tamaraw_params, "L", L, 1, 100000),
	PU(wfg_tamaraw_params, "size", size, 1, MAX_SIZE),
	PD(wfg_tamaraw_params, "idle_stop", idle_stop, 0, 3600, 1),
};

static const struct pparam buflo_pp[] = {
	PU(wfg_buflo_params, "d", d, 1, MAX_SIZE),
	PD(wfg_buflo_params, "rho", rho, 0, 10, 1),
	PD(wfg_buflo_params, "tau", tau, 0, 3600, 0),
	PD(wfg_buflo_params, "idle_stop", idle_stop, 0, 3600, 1),
};

static const struct pparam regulator_pp[] = {
	PD(wfg_regulator_params, "R", R, 0, 1e6, 1),
	PD(wfg_regulator_params, "D", D, 0, 1, 1),
	PD(wfg_regulator_params, "T", T, 0, 3600, 1),
	PU(wfg_regulator_params, "N", N, 1, 10000000),
	PD(wfg_regulator_params, "U", U, 1, 1000, 0),
	PD(wfg_regulator_params, "C", C, 0, 3600, 0),
	PU(wfg_regulator_params, "size", size, 1, MAX_SIZE),
	PD(wfg_regulator_params, "idle_stop", idle_stop, 0, 3600, 1),
};

static const struct {
	const struct pparam *pp;
	int n;
} preset_pp[P_COUNT] = {
	[P_FRONT] = { front_pp, NF(front_pp) },
	[P_TAMARAW] = { tamaraw_pp, NF(tamaraw_pp) },
	[P_BUFLO] = { buflo_pp, NF(buflo_pp) },
	[P_REGULATOR] = { regulator_pp, NF(regulator_pp) },
};

/*
 * The packet size a shaping preset pads to (0: the preset does not shape) and
 * where it was written (NULL: the default).
 */
static __u32 preset_size(const struct element *e, yaml_node_t **where)
{
	const char *name = e->preset == P_BUFLO ? "d" : "size";
	const struct pparam *pp = preset_pp[e->preset].pp;
	int i;

	if (e->preset != P_TAMARAW && e->preset != P_BUFLO && e->preset != P_REGULATOR)
		return 0;
	for (i = 0; i < preset_pp[e->preset].n; i++) {
		if (!strcmp(pp[i].name, name)) {
			*where = e->pnode[i];
			return *(const __u32 *)((const char *)&e->pp + pp[i].off);
		}
	}
	return 0;
}

static void parse_preset(struct pctx *c, struct element *e, yaml_node_t *name_node,
			 yaml_node_t *params)
{
	struct field f[MAX_PPARAMS];
	const struct pparam *pp;
	int i, np;

	e->kind = EL_PRESET;
	e->preset = want_enum(c, name_node, "preset", preset_names, P_COUNT);
	if (e->preset < 0) {
		e->bad = 1;
		return;
	}
	snprintf(e->label, sizeof(e->label), "preset '%s'", preset_names[e->preset]);
	switch (e->preset) {
	case P_FRONT:
		wfg_front_defaults(&e->pp.front);
		break;
	case P_TAMARAW:
		wfg_tamaraw_defaults(&e->pp.tamaraw);
		break;
	case P_BUFLO:
		wfg_buflo_defaults(&e->pp.buflo);
		break;
	case P_REGULATOR:
		wfg_regulator_defaults(&e->pp.regulator);
		break;
	default:
		err_at(c, name_node,
		       "preset '%s' is not implemented yet (write it as an inline machine or a "
		       "maybenot machine string)",
		       preset_names[e->preset]);
		e->bad = 1;
		return;
	}
	if (!params)
		return;
	pp = preset_pp[e->preset].pp;
	np = preset_pp[e->preset].n;
	memset(f, 0, sizeof(f));
	for (i = 0; i < np; i++)
		f[i].name = pp[i].name;
	{
		char what[48];

		snprintf(what, sizeof(what), "params of %s", preset_names[e->preset]);
		if (fields(c, params, what, f, np)) {
			e->bad = 1;
			return;
		}
	}
	for (i = 0; i < np; i++) {
		void *dst = (char *)&e->pp + pp[i].off;

		if (!f[i].val)
			continue;
		e->pnode[i] = f[i].val;
		if (pp[i].type == PT_U32) {
			if (want_u32(c, f[i].val, pp[i].name, (__u32)pp[i].lo, (__u32)pp[i].hi,
				     dst))
				e->bad = 1;
		} else if (want_num(c, f[i].val, pp[i].name, pp[i].lo, pp[i].hi, pp[i].lo_open,
				    dst)) {
			e->bad = 1;
		}
	}
	if (!e->bad && e->preset == P_FRONT && e->pp.front.w_min > e->pp.front.w_max) {
		if (e->pnode[3])
			err_at(c, e->pnode[3], "'W_max' %g is below 'W_min' %g%s",
			       e->pp.front.w_max, e->pp.front.w_min,
			       e->pnode[2] ? "" : " (the default)");
		else
			err_at(c, e->pnode[2], "'W_min' %g is above 'W_max' %g (the default)",
			       e->pp.front.w_min, e->pp.front.w_max);
		e->bad = 1;
	}
}

/* ================================================================ maybenot strings */

static void parse_mb_side(struct pctx *c, struct element *e, int s, yaml_node_t *n)
{
	yaml_node_item_t *it = NULL; /* NULL: n is the one string */
	int count = 1, i;

	if (vkind(n) == V_LIST) {
		it = n->data.sequence.items.start;
		count = (int)(n->data.sequence.items.top - it);
		if (!count) {
			err_at(c, n, "'%s' needs at least one machine string", side_names[s]);
			e->bad = 1;
			return;
		}
	}
	for (i = 0; i < count; i++) {
		yaml_node_t *v = it ? nd(c, it[i]) : n;
		struct wfg_mb_machine *m;
		char why[200];

		if (vkind(v) != V_STR) {
			err_at(c, v, "a maybenot machine must be a string (\"02eNp...\"), got %s",
			       vkind_name[vkind(v)]);
			e->bad = 1;
			continue;
		}
		if (e->nmb[s] >= WFG_MAX_MACHINES) {
			err_at(c, v,
			       "too many machines for the %s side: the core runs at most %d per "
			       "side",
			       side_names[s], WFG_MAX_MACHINES);
			e->bad = 1;
			return;
		}
		if (wfg_mb_decode(sval(v), &m, why, sizeof(why))) {
			err_at(c, v, "maybenot machine: %s", why);
			e->bad = 1;
			continue;
		}
		e->mb_node[s][e->nmb[s]] = v;
		e->mb[s][e->nmb[s]++] = m;
	}
}

static void parse_maybenot(struct pctx *c, struct element *e, yaml_node_t *n)
{
	struct field f[] = { F("client"), F("server") };
	int s;

	e->kind = EL_MAYBENOT;
	snprintf(e->label, sizeof(e->label), "maybenot machines");
	if (fields(c, n, "maybenot", f, NF(f))) {
		e->bad = 1;
		return;
	}
	if (!f[0].val && !f[1].val) {
		err_at(c, n, "maybenot needs 'client' or 'server' machine strings");
		e->bad = 1;
		return;
	}
	for (s = 0; s < 2; s++) {
		if (!f[s].val)
			continue;
		e->sides |= 1u << s;
		parse_mb_side(c, e, s, f[s].val);
	}
}

/* ================================================================ inline machines */

static const char *const event_names[WFG_EV_COUNT] = {
	"normal_recv", "padding_recv",	 "tunnel_recv",	 "normal_sent",	  "padding_sent",
	"tunnel_sent", "blocking_begin", "blocking_end", "limit_reached", "counter_zero",
	"timer_begin", "timer_end",	 "signal",
};

static const char *const action_names[] = { "padding",	   "block",	   "timer",
					    "cancel",	   "send_padding", "block_outgoing",
					    "update_timer" };

static int parse_action(struct pctx *c, yaml_node_t *n, struct ir_state *st)
{
	struct field f[] = { F("type"),	  F("timeout"), F("duration"), F("limit"),
			     F("bypass"), F("replace"), F("timers") };
	/* keys each type takes, by index in f[] (bit i) */
	static const unsigned takes[4] = {
		1u << 1 | 1u << 3 | 1u << 4 | 1u << 5,		 /* padding */
		1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5, /* block */
		1u << 2 | 1u << 3 | 1u << 5,			 /* timer */
		1u << 6,					 /* cancel */
	};
	static const enum wfg_action_kind kinds[4] = { WFG_ACT_PADDING, WFG_ACT_BLOCK,
						       WFG_ACT_UPDATE_TIMER, WFG_ACT_CANCEL };
	static const char *const timers[] = { "action", "internal", "all" };
	struct wfg_action_spec *a = &st->act;
	int t, i, bad = 0;

	if (fields(c, n, "action", f, NF(f)))
		return -1;
	if (!f[0].val) {
		missing(c, n, &f[0], "(padding, block, timer or cancel)");
		return -1;
	}
	t = want_enum(c, f[0].val, "action type", action_names, NF(action_names));
	if (t < 0)
		return -1;
	if (t >= 4)
		t -= 4; /* Maybenot's names for padding, block, timer */
	memset(a, 0, sizeof(*a));
	a->kind = kinds[t];
	a->timeout = wfg_dist_const(0);
	for (i = 1; i < NF(f); i++) {
		if (f[i].key && !(takes[t] & (1u << i))) {
			err_at(c, f[i].key, "'%s' does not apply to a %s action", f[i].name,
			       action_names[t]);
			bad = 1;
		}
	}
	if (bad)
		return -1;
	if (f[1].val && parse_dist(c, f[1].val, "timeout", &a->timeout))
		bad = 1;
	if (t == 1 || t == 2) {
		if (!f[2].val) {
			missing(c, n, &f[2],
				t == 1 ? "(how long a block action blocks, µs)"
				       : "(when a timer action's timer fires, µs)");
			bad = 1;
		} else if (parse_dist(c, f[2].val, "duration", &a->duration)) {
			bad = 1;
		}
	}
	if (f[3].val) {
		__u32 v;

		if (parse_dist(c, f[3].val, "limit", &a->limit)) {
			bad = 1;
		} else if (wfg_dist_is_constant_r(&a->limit, 1.0, WFG_DIST_NEAREST, &v) && !v) {
			err_at(c, f[3].val,
			       "budget cannot be met: the action's limit is always 0, "
			       "so it can never run");
			bad = 1;
		}
		a->has_limit = 1;
	}
	if (f[4].val && want_bool(c, f[4].val, "bypass", &a->bypass))
		bad = 1;
	if (f[5].val && want_bool(c, f[5].val, "replace", &a->replace))
		bad = 1;
	if (t == 3) {
		if (!f[6].val) {
			missing(c, n, &f[6], "(which timers to cancel: action, internal or all)");
			bad = 1;
		} else {
			i = want_enum(c, f[6].val, "timers", timers, 3);
			if (i < 0)
				bad = 1;
			a->cancel_action = i == 0 || i == 2;
			a->cancel_internal = i == 1 || i == 2;
		}
	}
	if (!bad)
		st->has_action = 1;
	return bad ? -1 : 0;
}

static int parse_counters(struct pctx *c, yaml_node_t *n, struct ir_state *st)
{
	static const char *const ops[] = { "inc", "dec", "set", "increment", "decrement" };
	static const enum wfg_counter_op opv[] = { WFG_CTR_INCREMENT, WFG_CTR_DECREMENT,
						   WFG_CTR_SET, WFG_CTR_INCREMENT,
						   WFG_CTR_DECREMENT };
	struct field f[] = { F("a"), F("b") };
	int k, bad = 0;

	if (fields(c, n, "counters", f, NF(f)))
		return -1;
	for (k = 0; k < 2; k++) {
		struct field u[] = { F("op"), F("value"), F("copy") };
		int op;

		if (!f[k].val)
			continue;
		if (fields(c, f[k].val, "a counter update", u, NF(u))) {
			bad = 1;
			continue;
		}
		if (!u[0].val) {
			missing(c, f[k].val, &u[0], "(inc, dec or set)");
			bad = 1;
			continue;
		}
		op = want_enum(c, u[0].val, "counter op", ops, NF(ops));
		if (op < 0) {
			bad = 1;
			continue;
		}
		st->ctr_op[k] = opv[op];
		if (u[2].val && want_bool(c, u[2].val, "copy", &st->ctr_copy[k]))
			bad = 1;
		if (u[1].val && u[2].val && st->ctr_copy[k]) {
			err_at(c, u[2].key,
			       "'copy' and 'value' exclude each other (copy uses the "
			       "other counter's value)");
			bad = 1;
		} else if (u[1].val) {
			if (parse_dist(c, u[1].val, "value", &st->ctr_value[k]))
				bad = 1;
			st->ctr_has_value[k] = 1;
		}
		st->ctr_set[k] = 1;
	}
	return bad ? -1 : 0;
}

/* One target: a name, or {to: NAME, p: P}. */
static int parse_target(struct pctx *c, struct ir_machine *m, yaml_node_t *n, __u16 *target,
			double *p, yaml_node_t **name_node)
{
	yaml_node_t *to = n;
	const char *names[WFG_MAX_STATES + 2];
	__u32 i;

	*p = 1.0;
	if (vkind(n) == V_MAP) {
		struct field f[] = { F("to"), F("p") };

		if (fields(c, n, "a transition", f, NF(f)))
			return -1;
		if (!f[0].val) {
			missing(c, n, &f[0], "(the state to go to, end or signal)");
			return -1;
		}
		if (f[1].val && want_num(c, f[1].val, "p", 0, 1, 1, p))
			return -1;
		to = f[0].val;
	}
	*name_node = to;
	if (!is_scalar_value(to)) {
		err_at(c, to, "a transition target must be a state name, end or signal, got %s",
		       vkind_name[vkind(to)]);
		return -1;
	}
	if (!strcmp(sval(to), "end")) {
		*target = WFG_STATE_END;
		return 0;
	}
	if (!strcmp(sval(to), "signal")) {
		*target = WFG_STATE_SIGNAL;
		return 0;
	}
	for (i = 0; i < m->nstates; i++) {
		if (!strcmp(sval(to), m->states[i].name)) {
			*target = (__u16)i;
			return 0;
		}
		names[i] = m->states[i].name;
	}
	names[i++] = "end";
	names[i++] = "signal";
	if (m->overflow) /* maybe one of the states beyond the limit, reported already */
		return -1;
	{
		const char *best = closest(sval(to), names, (int)i);

		if (best)
			err_at(c, to, "unknown state '%.60s' (did you mean '%s'?)", sval(to), best);
		else
			err_at(c, to, "unknown state '%.60s' (the machine's states, end or signal)",
			       sval(to));
	}
	return -1;
}

static int parse_on(struct pctx *c, struct ir_machine *m, __u16 si, yaml_node_t *n)
{
	struct field f[WFG_EV_COUNT];
	int ev, bad = 0;

	memset(f, 0, sizeof(f));
	for (ev = 0; ev < WFG_EV_COUNT; ev++)
		f[ev].name = event_names[ev];
	if (fields(c, n, "on (events to transitions)", f, WFG_EV_COUNT))
		return -1;
	for (ev = 0; ev < WFG_EV_COUNT; ev++) {
		yaml_node_t *v = f[ev].val;
		yaml_node_item_t *it = NULL;
		__u32 first = m->ntrans, count = 1, i, j;
		double sum = 0;

		if (!v)
			continue;
		if (vkind(v) == V_LIST) {
			it = v->data.sequence.items.start;
			count = (__u32)(v->data.sequence.items.top - it);
			if (!count) {
				err_at(c, v, "'%s' needs at least one target", event_names[ev]);
				bad = 1;
				continue;
			}
		}
		for (i = 0; i < count; i++) {
			yaml_node_t *tn = it ? nd(c, it[i]) : v, *name_node = NULL;
			struct ir_trans *t;
			__u16 target;
			double p;

			if (parse_target(c, m, tn, &target, &p, &name_node)) {
				bad = 1;
				continue;
			}
			if (ev == WFG_EV_SIGNAL && target == WFG_STATE_SIGNAL) {
				err_at(c, name_node, "a signal cannot transition to signal");
				bad = 1;
				continue;
			}
			for (j = first; j < m->ntrans; j++)
				if (m->trans[j].target == target)
					break;
			if (j < m->ntrans) {
				err_at(c, name_node, "target '%s' is given twice for %s",
				       sval(name_node), event_names[ev]);
				bad = 1;
				continue;
			}
			if (m->ntrans - first >= WFG_MAX_TARGETS) {
				err_at(c, tn, "too many targets for %s: at most %d",
				       event_names[ev], WFG_MAX_TARGETS);
				bad = 1;
				break;
			}
			if (m->ntrans >= WFG_MAX_TRANS) {
				err_at(c, tn,
				       "too many transitions in this machine: the core holds at "
				       "most %d per side",
				       WFG_MAX_TRANS);
				return -1;
			}
			t = &m->trans[m->ntrans++];
			t->state = si;
			t->event = (__u8)ev;
			t->target = target;
			t->p = p;
			sum += p;
		}
		/* Maybenot sums in f32 and accepts up to 1.0: the same slack as the builder. */
		if (sum > 1.0 + 1e-6) {
			err_at(c, f[ev].key, "probabilities for %s sum to %g, more than 1",
			       event_names[ev], sum);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static void parse_machine_limits(struct pctx *c, struct ir_machine *m, yaml_node_t *n)
{
	struct field f[] = { F("allowed_padding_packets"),
			     F("max_padding_frac"),
			     { .name = "allowed_blocked_us", .alias = "allowed_blocked_microsec" },
			     F("max_blocking_frac") };

	if (fields(c, n, "machine limits", f, NF(f)))
		return;
	if (f[0].val)
		want_u64(c, f[0].val, "allowed_padding_packets", 0, ~0ULL,
			 &m->lim.allowed_padding_packets);
	parse_frac(c, f[1].val, "max_padding_frac", &m->lim.max_padding_frac, &m->pad_frac_zero,
		   &m->pad_frac_node);
	if (f[2].val)
		want_u64(c, f[2].val, "allowed_blocked_us", 0, ~0ULL, &m->lim.allowed_blocked_us);
	parse_frac(c, f[3].val, "max_blocking_frac", &m->lim.max_blocking_frac, &m->block_frac_zero,
		   &m->block_frac_node);
}

/* The name of a state item, without reporting anything (the first pass). */
static yaml_node_t *state_name_node(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *p;

	if (vkind(n) != V_MAP)
		return NULL;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = nd(c, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "name"))
			return nd(c, p->value);
	}
	return NULL;
}

static void check_reachable(struct pctx *c, struct ir_machine *m)
{
	__u8 seen[WFG_MAX_STATES] = { 1 };
	__u16 queue[WFG_MAX_STATES];
	__u32 head = 0, tail = 0, i;

	queue[tail++] = 0;
	while (head < tail) {
		__u16 s = queue[head++];

		for (i = 0; i < m->ntrans; i++) {
			__u16 t = m->trans[i].target;

			if (m->trans[i].state == s && t < m->nstates && !seen[t]) {
				seen[t] = 1;
				queue[tail++] = t;
			}
		}
	}
	for (i = 1; i < m->nstates; i++)
		if (!seen[i])
			err_at(c,
			       m->states[i].name_node ? m->states[i].name_node : m->states[i].node,
			       "state '%s' is unreachable from the start state '%s'",
			       m->states[i].name, m->states[0].name);
}

static void parse_machine(struct pctx *c, struct element *e, yaml_node_t *n)
{
	struct field f[] = { F("name"), F("side"), F("limits"), F("states") };
	const char *name = NULL;
	struct ir_machine *m;
	yaml_node_item_t *it;
	yaml_node_t *sn;
	__u32 i, count, j;
	int bad = 0;

	e->kind = EL_MACHINE;
	e->sides = SIDE_C | SIDE_S;
	snprintf(e->label, sizeof(e->label), "machine #%d", (int)(e - c->ir->el) + 1);
	if (fields(c, n, "machine", f, NF(f))) {
		e->bad = 1;
		return;
	}
	m = e->m = calloc(1, sizeof(*m));
	if (!m) {
		err_at(c, n, "out of memory");
		e->bad = 1;
		return;
	}
	if (f[0].val && !want_str(c, f[0].val, "name", &name))
		snprintf(e->label, sizeof(e->label), "machine '%.60s'", name);
	if (f[1].val && want_sides(c, f[1].val, &e->sides))
		bad = 1;
	if (f[2].val)
		parse_machine_limits(c, m, f[2].val);
	sn = f[3].val;
	if (!sn) {
		missing(c, n, &f[3], "(a list; the first is where the machine starts)");
		e->bad = 1;
		return;
	}
	if (vkind(sn) != V_LIST) {
		err_at(c, sn, "'states' must be a list, got %s", vkind_name[vkind(sn)]);
		e->bad = 1;
		return;
	}
	it = sn->data.sequence.items.start;
	count = (__u32)(sn->data.sequence.items.top - it);
	if (!count) {
		err_at(c, sn, "a machine needs at least one state");
		e->bad = 1;
		return;
	}
	/* First pass: names, so that transitions can point forward. */
	for (i = 0; i < count; i++) {
		yaml_node_t *st = nd(c, it[i]), *nn = state_name_node(c, st);

		if (i >= WFG_MAX_STATES) {
			err_at(c, st,
			       "too many states in this machine: the core holds at most %d per "
			       "side",
			       WFG_MAX_STATES);
			m->overflow = 1;
			bad = 1;
			break;
		}
		m->states[i].node = st;
		m->states[i].name_node = nn;
		if (nn && is_scalar_value(nn) && strlen(sval(nn)) < MAX_NAME)
			strcpy(m->states[i].name, sval(nn));
		m->nstates++;
	}
	/* Second pass: everything, with errors. */
	for (i = 0; i < m->nstates; i++) {
		struct ir_state *st = &m->states[i];
		struct field sf[] = { F("name"), F("action"), F("counters"), F("on") };

		if (fields(c, st->node, "a state", sf, NF(sf))) {
			bad = 1;
			continue;
		}
		if (!sf[0].val) {
			missing(c, st->node, &sf[0], "(every state has one; transitions use it)");
			bad = 1;
		} else if (!is_scalar_value(sf[0].val)) {
			err_at(c, sf[0].val, "'name' must be a string, got %s",
			       vkind_name[vkind(sf[0].val)]);
			bad = 1;
		} else if (!*sval(sf[0].val)) {
			err_at(c, sf[0].val, "a state name must not be empty");
			bad = 1;
		} else if (strlen(sval(sf[0].val)) >= MAX_NAME) {
			err_at(c, sf[0].val, "state name too long (at most %d characters)",
			       MAX_NAME - 1);
			bad = 1;
		} else if (!strcmp(st->name, "end") || !strcmp(st->name, "signal")) {
			err_at(c, sf[0].val,
			       "state name '%s' is reserved (it is a transition target)", st->name);
			bad = 1;
		} else {
			for (j = 0; j < i; j++) {
				if (m->states[j].name_node &&
				    !strcmp(m->states[j].name, st->name)) {
					err_at(c, sf[0].val,
					       "duplicate state name '%s' (first at %u:%u)",
					       st->name,
					       (unsigned)m->states[j].name_node->start_mark.line +
						       1,
					       (unsigned)m->states[j].name_node->start_mark.column +
						       1);
					bad = 1;
					break;
				}
			}
		}
		if (sf[1].val && parse_action(c, sf[1].val, st))
			bad = 1;
		if (sf[2].val && parse_counters(c, sf[2].val, st))
			bad = 1;
		if (sf[3].val && parse_on(c, m, (__u16)i, sf[3].val))
			bad = 1;
	}
	if (!bad)
		check_reachable(c, m);
	/* Machine budgets: an explicit 0 fraction with nothing allowed before it. */
	for (i = 0; i < m->nstates; i++) {
		struct ir_state *st = &m->states[i];

		if (!st->has_action)
			continue;
		if (st->act.kind == WFG_ACT_PADDING && m->pad_frac_zero &&
		    !m->lim.allowed_padding_packets) {
			err_at(c, m->pad_frac_node,
			       "budget cannot be met: state '%s' sends padding but "
			       "allowed_padding_packets 0 and max_padding_frac 0 allow none",
			       st->name);
			m->pad_frac_zero = 2; /* once */
			bad = 1;
		}
		if (st->act.kind == WFG_ACT_BLOCK && m->block_frac_zero == 1 &&
		    !m->lim.allowed_blocked_us) {
			err_at(c, m->block_frac_node,
			       "budget cannot be met: state '%s' blocks but allowed_blocked_us 0 "
			       "and "
			       "max_blocking_frac 0 allow no blocking",
			       st->name);
			m->block_frac_zero = 2;
			bad = 1;
		}
	}
	if (bad)
		e->bad = 1;
}

/*
 * 1 if a machine of element e on side s has an action of this kind (padding or
 * block) and no allowance for it (allowed_padding_packets, allowed_blocked_us
 * 0): a side fraction of 0 stops it from the start.
 */
static int acts_without_allowance(const struct element *e, int s, enum wfg_action_kind kind)
{
	__u32 i, k;

	if (e->kind == EL_MACHINE) {
		if (kind == WFG_ACT_PADDING ? e->m->lim.allowed_padding_packets
					    : e->m->lim.allowed_blocked_us)
			return 0;
		for (i = 0; i < e->m->nstates; i++)
			if (e->m->states[i].has_action && e->m->states[i].act.kind == kind)
				return 1;
		return 0;
	}
	if (e->kind == EL_MAYBENOT) {
		for (k = 0; k < (__u32)e->nmb[s]; k++) {
			const struct wfg_mb_machine *m = e->mb[s][k];

			if (kind == WFG_ACT_PADDING ? m->limits.allowed_padding_packets
						    : m->limits.allowed_blocked_us)
				continue;
			for (i = 0; i < m->nstates; i++)
				if (m->states[i].action && m->states[i].action->kind == kind)
					return 1;
		}
	}
	return 0;
}

/* ================================================================ defence */

static void parse_element(struct pctx *c, yaml_node_t *n)
{
	struct ir *ir = c->ir;
	struct field f[] = { F("preset"), F("params"), F("side"), F("maybenot"), F("machine") };
	struct element *e;
	yaml_node_t *kind_key = NULL;
	int i, nkinds = 0;

	if (ir->nelem >= MAX_ELEMS) {
		err_at(c, n, "too many defence elements: at most %d", MAX_ELEMS);
		return;
	}
	e = &ir->el[ir->nelem++];
	e->node = n;
	e->sides = SIDE_C | SIDE_S;
	if (is_scalar_value(n)) { /* - front */
		parse_preset(c, e, n, NULL);
		return;
	}
	if (fields(c, n, "a defence element", f, NF(f))) {
		e->bad = 1;
		return;
	}
	for (i = 0; i < NF(f); i++) {
		if (!f[i].key || (i != 0 && i != 3 && i != 4))
			continue;
		if (nkinds++) {
			err_at(c, f[i].key,
			       "'%s' and '%s' in one defence element: make them two list items",
			       sval(kind_key), f[i].name);
			e->bad = 1;
			return;
		}
		kind_key = f[i].key;
	}
	if (!nkinds) {
		err_at(c, n, "a defence element needs one of 'preset', 'maybenot' or 'machine'");
		e->bad = 1;
		return;
	}
	if (f[1].key && !f[0].key) {
		err_at(c, f[1].key, "'params' belongs to a preset");
		e->bad = 1;
	}
	if (f[2].key && !f[0].key) {
		err_at(c, f[2].key, "%s",
		       f[4].key ? "put 'side' inside 'machine'"
				: "a maybenot element names its sides with 'client' and 'server'");
		e->bad = 1;
	}
	if (f[0].key) {
		parse_preset(c, e, f[0].val, f[1].val);
		if (f[2].val && want_sides(c, f[2].val, &e->sides))
			e->bad = 1;
	} else if (f[3].key) {
		e->sides = 0;
		parse_maybenot(c, e, f[3].val);
	} else {
		parse_machine(c, e, f[4].val);
	}
}

static void parse_defence(struct pctx *c, yaml_node_t *n)
{
	yaml_node_item_t *it;

	if (vkind(n) != V_LIST) {
		err_at(c, n,
		       "defence must be a list of elements (preset, maybenot, machine), got %s",
		       vkind_name[vkind(n)]);
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
		parse_element(c, nd(c, *it));
}

/* ================================================================ top level */

static void parse_top(struct pctx *c, yaml_node_t *root)
{
	static const char *const roles[] = { "client", "server" };
	struct field f[] = {
		F("version"),	 F("role"),   F("match"),
		F("shim"),	 F("flows"),  F("shape"),
		F("cover_size"), F("limits"), { .name = "defence", .alias = "defense" }
	};
	struct ir *ir = c->ir;
	__u32 version;
	int r;

	if (fields(c, root, "the policy", f, NF(f)))
		return;
	if (!V(f, "version"))
		missing(c, root, &f[0], "(write version: 1)");
	else if (vkind(V(f, "version")) == V_INT && strcmp(sval(V(f, "version")), "1"))
		err_at(c, V(f, "version"),
		       "unsupported policy version %.20s (this wfguard reads version 1)",
		       sval(V(f, "version")));
	else
		want_u32(c, V(f, "version"), "version", 1, 1, &version);
	ir->role = WFG_ROLE_SERVER;
	if (V(f, "role")) {
		r = want_enum(c, V(f, "role"), "role", roles, 2);
		if (r >= 0)
			ir->role = r;
	}
	if (!V(f, "match"))
		missing(c, root, &f[2], "(the rules that say which flows this policy defends)");
	else
		parse_match(c, V(f, "match"));
	if (V(f, "shim"))
		parse_shim(c, V(f, "shim"));
	c->cp->max_flows = DEF_FLOWS;
	if (V(f, "flows"))
		parse_flows(c, V(f, "flows"));
	if (V(f, "shape"))
		parse_shape(c, V(f, "shape"));
	if (V(f, "cover_size") &&
	    !want_u32(c, V(f, "cover_size"), "cover_size", 1, MAX_SIZE, &ir->cover_size))
		ir->cover_node = V(f, "cover_size");
	if (V(f, "limits"))
		parse_side_limits(c, V(f, "limits"));
	if (V(f, "defence"))
		parse_defence(c, V(f, "defence"));
}

/* ================================================================ whole-policy checks */

static int is_pacing(const struct element *e)
{
	return e->kind == EL_PRESET &&
	       (e->preset == P_TAMARAW || e->preset == P_BUFLO || e->preset == P_REGULATOR);
}

static unsigned line_of(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static unsigned col_of(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.column + 1;
}

static void check_policy(struct pctx *c)
{
	struct ir *ir = c->ir;
	int i, j, s;

	for (i = 0; i < ir->nelem; i++) {
		struct element *e = &ir->el[i];

		if (e->bad || e->kind != EL_PRESET)
			continue;
		for (j = 0; j < i; j++) {
			struct element *o = &ir->el[j];
			unsigned both = e->sides & o->sides;

			if (o->bad || o->kind != EL_PRESET || !both)
				continue;
			if (e->preset == P_FRONT && o->preset == P_FRONT) {
				err_at(c, e->node,
				       "FRONT is already set for the %s (at %u:%u): one per side",
				       sides_text(both), line_of(o->node), col_of(o->node));
				e->bad = 1;
				break;
			}
			if (is_pacing(e) && is_pacing(o)) {
				err_at(c, e->node,
				       "%s and %s (at %u:%u) both pace the %s: one of tamaraw, "
				       "buflo, regulator per side",
				       preset_names[e->preset], preset_names[o->preset],
				       line_of(o->node), col_of(o->node), sides_text(both));
				e->bad = 1;
				break;
			}
		}
	}
	for (i = 0; i < ir->nelem; i++) {
		struct element *e = &ir->el[i];
		__u32 size;
		yaml_node_t *where = NULL;

		if (e->bad || !is_pacing(e))
			continue;
		if (ir->shape_given && ir->shape.mode != WFG_SHAPE_NONE) {
			err_at(c, ir->shape_mode_node,
			       "shape conflicts with preset '%s' (at %u:%u), which pads every "
			       "packet "
			       "to its own size (set the preset's size instead)",
			       preset_names[e->preset], line_of(e->node), col_of(e->node));
			ir->shape_given = 0;
		}
		if (ir->cover_node) {
			err_at(c, ir->cover_node,
			       "cover_size conflicts with preset '%s' (at %u:%u), whose covers "
			       "have its "
			       "packet size",
			       preset_names[e->preset], line_of(e->node), col_of(e->node));
			ir->cover_node = NULL;
		}
		size = preset_size(e, &where);
		if (ir->limit && size > ir->limit)
			err_at(c, where ? where : e->node,
			       "%s pads packets to %u bytes, above the shape limit %u",
			       preset_names[e->preset], size, ir->limit);
	}
	/* Sizes against the MTU budget. */
	if (ir->limit) {
		const struct wfg_shape_cfg *sh = &ir->shape;

		if (ir->shape_given &&
		    (sh->mode == WFG_SHAPE_PAD_TO || sh->mode == WFG_SHAPE_MULTIPLE) &&
		    ir->shape_size_node && sh->size > ir->limit)
			err_at(c, ir->shape_size_node,
			       "size %u is above the limit %u: no packet could be shaped", sh->size,
			       ir->limit);
		if (ir->shape_given && sh->mode == WFG_SHAPE_BUCKETS)
			for (i = 0; i < sh->nbuckets; i++)
				if (sh->buckets[i] > ir->limit)
					err_at(c, ir->bucket_node[i],
					       "bucket %u is above the limit %u: it could never be "
					       "used",
					       sh->buckets[i], ir->limit);
		if (ir->shape_given && sh->mode == WFG_SHAPE_RANDOM && ir->shape_max_node &&
		    sh->hi > ir->limit)
			err_at(c, ir->shape_max_node, "max %u is above the limit %u", sh->hi,
			       ir->limit);
		if (ir->cover_node && ir->cover_size > ir->limit)
			err_at(c, ir->cover_node, "cover_size %u is above the shape limit %u",
			       ir->cover_size, ir->limit);
	}
	/* Side budgets: a given 0 lets no machine pad (block) beyond its allowance. */
	for (i = 0; i < ir->nelem && ir->pad_frac_zero == 1; i++) {
		struct element *e = &ir->el[i];

		if (e->bad)
			continue;
		for (s = 0; s < 2; s++) {
			if (!(e->sides & (1u << s)))
				continue;
			if (e->kind == EL_PRESET) {
				err_at(c, ir->pad_frac_node,
				       "budget cannot be met: limits.max_padding_frac 0 allows no "
				       "padding, "
				       "but %s (at %u:%u) sends cover packets (side limits bound "
				       "machines only)",
				       e->label, line_of(e->node), col_of(e->node));
				ir->pad_frac_zero = 2;
				break;
			}
			if (acts_without_allowance(e, s, WFG_ACT_PADDING)) {
				err_at(c, ir->pad_frac_node,
				       "budget cannot be met: limits.max_padding_frac 0 allows no "
				       "padding, "
				       "but %s (at %u:%u) sends padding with "
				       "allowed_padding_packets 0",
				       e->label, line_of(e->node), col_of(e->node));
				ir->pad_frac_zero = 2;
				break;
			}
		}
	}
	for (i = 0; i < ir->nelem && ir->block_frac_zero == 1; i++) {
		struct element *e = &ir->el[i];

		if (e->bad)
			continue;
		for (s = 0; s < 2; s++) {
			if ((e->sides & (1u << s)) && e->kind != EL_PRESET &&
			    acts_without_allowance(e, s, WFG_ACT_BLOCK)) {
				err_at(c, ir->block_frac_node,
				       "budget cannot be met: limits.max_blocking_frac 0 allows no "
				       "blocking, but %s (at %u:%u) blocks with allowed_blocked_us "
				       "0",
				       e->label, line_of(e->node), col_of(e->node));
				ir->block_frac_zero = 2;
				break;
			}
		}
	}
}

/* ================================================================ build */

static int add_machine(struct wfg_side_builder *sb, const struct ir_machine *m)
{
	int idx = wfg_sb_machine(sb, &m->lim), k;
	__u32 i;

	if (idx < 0)
		return idx;
	/* A given 0 is the core's smallest fraction: nothing beyond the allowance, in practice. */
	if (m->pad_frac_zero)
		sb->cfg->machines[idx].max_padding_frac = 1;
	if (m->block_frac_zero)
		sb->cfg->machines[idx].max_blocking_frac = 1;
	for (i = 0; i < m->nstates; i++)
		wfg_sb_state(sb);
	for (i = 0; i < m->nstates; i++) {
		const struct ir_state *st = &m->states[i];

		if (st->has_action)
			wfg_sb_action(sb, (int)i, &st->act);
		for (k = 0; k < 2; k++)
			if (st->ctr_set[k])
				wfg_sb_counter(sb, (int)i, k, st->ctr_op[k], st->ctr_copy[k],
					       st->ctr_has_value[k] ? &st->ctr_value[k] : NULL);
	}
	for (i = 0; i < m->ntrans; i++)
		wfg_sb_trans(sb, m->trans[i].state, (enum wfg_event)m->trans[i].event,
			     m->trans[i].target, m->trans[i].p);
	return sb->failed ? -EINVAL : 0;
}

static void build_side(struct pctx *c, int s, struct wfg_side_builder *sb)
{
	struct ir *ir = c->ir;
	struct wfg_side_cfg *cfg = &c->cp->side[s];
	int i, k, rc = 0;

	wfg_sb_init(sb, cfg);
	wfg_sb_side_limits(sb, ir->pad_frac, ir->block_frac);
	if (ir->pad_frac_zero)
		cfg->max_padding_frac = 1;
	if (ir->block_frac_zero)
		cfg->max_blocking_frac = 1;
	for (i = 0; i < ir->nelem; i++) {
		struct element *e = &ir->el[i];
		yaml_node_t *where = e->node;

		if (e->bad || !(e->sides & (1u << s)))
			continue;
		switch (e->kind) {
		case EL_PRESET:
			if (e->preset == P_FRONT)
				rc = wfg_preset_front(sb, (enum wfg_role)s, &e->pp.front);
			else if (e->preset == P_TAMARAW)
				rc = wfg_preset_tamaraw(sb, (enum wfg_role)s, &e->pp.tamaraw);
			else if (e->preset == P_BUFLO)
				rc = wfg_preset_buflo(sb, (enum wfg_role)s, &e->pp.buflo);
			else
				rc = wfg_preset_regulator(sb, (enum wfg_role)s, &e->pp.regulator);
			break;
		case EL_MAYBENOT:
			rc = 0;
			for (k = 0; k < e->nmb[s] && rc >= 0; k++) {
				rc = wfg_mb_add(sb, e->mb[s][k]); /* the machine's index */
				where = e->mb_node[s][k];
			}
			break;
		default:
			rc = add_machine(sb, e->m);
			break;
		}
		if (rc < 0 || sb->failed) {
			err_at(c, where, "%s (%s side)", sb->err, side_names[s]);
			return;
		}
		if (sb->npending > WFG_MAX_TRANS) {
			err_at(c, where,
			       "too many transitions: the core holds at most %d per side (%s side)",
			       WFG_MAX_TRANS, side_names[s]);
			return;
		}
	}
	if (ir->shape_given && ir->shape.mode != WFG_SHAPE_NONE)
		cfg->shape = ir->shape; /* (a pacing preset's own size is never overridden) */
	cfg->shape.max = ir->limit;
	if (ir->cover_node)
		cfg->cover_size = ir->cover_size;
	if (wfg_sb_finish(sb))
		err_at(c, ir->root, "%s (%s side)", sb->err, side_names[s]);
}

/* ================================================================ summary */

struct sbuf {
	char *p;
	size_t len, off;
};

__attribute__((format(printf, 2, 3))) static void out(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->off >= b->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->off, b->len - b->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->off += (size_t)n;
	if (b->off >= b->len) {
		b->off = b->len;
		if (b->len > 4)
			strcpy(b->p + b->len - 5, "...\n");
	}
}

static void out_prefix(struct sbuf *b, const char *name, __u8 fam, const __u8 *a, __u8 plen)
{
	char buf[INET6_ADDRSTRLEN];

	if (!fam || (!plen && !a[0])) {
		out(b, " %s any", name);
		return;
	}
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf));
	out(b, " %s %s/%u", name, buf, plen);
}

static void out_ports(struct sbuf *b, __u16 lo, __u16 hi)
{
	if (lo == 0 && hi == 65535)
		out(b, " port any");
	else if (lo == hi)
		out(b, " port %u", lo);
	else
		out(b, " ports %u-%u", lo, hi);
}

/* "no limit", "at most 50%", "none" */
static void out_frac(struct sbuf *b, __u32 q16)
{
	if (!q16)
		out(b, "no limit");
	else if (q16 == 1)
		out(b, "none");
	else
		out(b, "at most %.3g%%", q16 * 100.0 / 65536.0);
}

static void summarize_side(struct sbuf *b, const struct wfg_side_cfg *cfg)
{
	const struct wfg_shape_cfg *sh = &cfg->shape;
	int any = cfg->front.max_covers || cfg->pace.mode != WFG_PACE_NONE || cfg->nmachines;
	__u32 i;

	out(b, "    shape: %s", shape_modes[sh->mode < NF(shape_modes) ? sh->mode : 0]);
	if (sh->mode == WFG_SHAPE_PAD_TO || sh->mode == WFG_SHAPE_MULTIPLE)
		out(b, " %u", sh->size);
	if (sh->mode == WFG_SHAPE_BUCKETS)
		for (i = 0; i < sh->nbuckets; i++)
			out(b, "%s%u", i ? "/" : " ", sh->buckets[i]);
	if (sh->mode == WFG_SHAPE_RANDOM)
		out(b, " %u..%u", sh->lo, sh->hi);
	if (sh->max)
		out(b, ", never beyond %u", sh->max);
	if (!any)
		out(b, "\n");
	else if (cfg->cover_size)
		out(b, "; covers %u bytes before shaping\n", cfg->cover_size);
	else
		out(b, "; covers as small as the shim allows, then shaped\n");
	if (cfg->front.max_covers) {
		out(b, "    front: up to %u covers in a %.3g..%.3g s window\n",
		    cfg->front.max_covers, cfg->front.window_min_ns / 1e9,
		    cfg->front.window_max_ns / 1e9);
	}
	if (cfg->pace.mode == WFG_PACE_CONSTANT) {
		out(b, "    pacing: one packet every %.3g ms", cfg->pace.interval_ns / 1e6);
		if (cfg->pace.pad_multiple > 1)
			out(b, ", packet count padded to a multiple of %u", cfg->pace.pad_multiple);
		if (cfg->pace.min_active_ns)
			out(b, ", at least %.3g s", cfg->pace.min_active_ns / 1e9);
		out(b, "\n");
	} else if (cfg->pace.mode == WFG_PACE_DECAY) {
		out(b,
		    "    pacing: decaying rate from %.4g packets/s, surge at %.3g s of queue, "
		    "%u covers at most\n",
		    cfg->pace.interval_at[0] ? 1e9 / (double)cfg->pace.interval_at[0] : 0.0,
		    cfg->pace.surge_queue_ns / 1e9, cfg->pace.cover_budget);
	}
	for (i = 0; i < cfg->nmachines; i++) {
		const struct wfg_machine_cfg *mc = &cfg->machines[i];

		out(b, "    machine %u: %u state%s; padding ", i + 1, mc->state_count,
		    mc->state_count == 1 ? "" : "s");
		if (mc->allowed_padding_packets == ~0ULL) {
			out(b, "unlimited");
		} else {
			if (mc->allowed_padding_packets)
				out(b, "%llu packets free, then ",
				    (unsigned long long)mc->allowed_padding_packets);
			out_frac(b, mc->max_padding_frac);
		}
		out(b, "; blocking ");
		if (mc->allowed_blocked_us)
			out(b, "%llu us free, then ", (unsigned long long)mc->allowed_blocked_us);
		out_frac(b, mc->max_blocking_frac);
		out(b, "\n");
	}
	if (cfg->nmachines) {
		out(b, "    side limits for machines: padding ");
		out_frac(b, cfg->max_padding_frac);
		out(b, ", blocking ");
		out_frac(b, cfg->max_blocking_frac);
		out(b, "\n");
	}
	if (!any && sh->mode == WFG_SHAPE_NONE)
		out(b, "    (no defence: only strips the peer's padding)\n");
}

static void summarize(struct pctx *c)
{
	static const char *const profiles[] = { "generic", "quic", "wireguard" };
	struct wfg_compiled_policy *cp = c->cp;
	struct sbuf b = { cp->summary, sizeof(cp->summary), 0 };
	__u32 i;
	int s;

	out(&b, "role: %s\n", side_names[cp->role]);
	out(&b, "match: %u rule%s\n", cp->dp.nrules, cp->dp.nrules == 1 ? "" : "s");
	for (i = 0; i < cp->dp.nrules; i++) {
		const struct wfg_rule *r = &cp->dp.rules[i];

		out(&b, "  %u: %s,", i + 1,
		    r->family == 4   ? "IPv4"
		    : r->family == 6 ? "IPv6"
				     : "IPv4/6");
		out_prefix(&b, "local", r->family, r->local, r->local_prefix);
		out_ports(&b, r->lport_lo, r->lport_hi);
		out(&b, ",");
		out_prefix(&b, "remote", r->family, r->remote, r->remote_prefix);
		out_ports(&b, r->rport_lo, r->rport_hi);
		out(&b, "\n");
	}
	out(&b, "shim: %s", profiles[cp->dp.profile]);
	if (cp->dp.profile == WFG_PROFILE_QUIC)
		out(&b, " (connection ids of %u bytes)", cp->dp.quic_dcid_len);
	out(&b, ", keys %s\n", cp->keys_path[0] ? cp->keys_path : "(none given)");
	out(&b, "flows: at most %u\n", cp->max_flows);
	for (s = 0; s < 2; s++) {
		out(&b, "%s side%s:\n", side_names[s], s == (int)cp->role ? " (this host)" : "");
		summarize_side(&b, &cp->side[s]);
	}
}

/* ================================================================ driver */

/* The character at a mark (line and column in characters), or -1. */
static int char_at(const char *text, size_t len, yaml_mark_t m)
{
	size_t i = 0, line = 0, col = 0;

	while (i < len && line < m.line)
		if (text[i++] == '\n')
			line++;
	for (; i < len && text[i] != '\n'; i++) {
		if (((unsigned char)text[i] & 0xc0) == 0x80)
			continue;
		if (col++ == m.column)
			return (unsigned char)text[i];
	}
	return -1;
}

static void yaml_error(struct pctx *c, yaml_parser_t *p, const char *text, size_t len)
{
	if (p->error == YAML_READER_ERROR) {
		unsigned line = 1, col = 1;
		size_t i;

		for (i = 0; i < p->problem_offset && i < len; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		err_line(c, line, col, "YAML: %s", p->problem ? p->problem : "cannot read input");
		return;
	}
	if (p->error == YAML_SCANNER_ERROR && char_at(text, len, p->problem_mark) == '\t')
		err_mark(c, p->problem_mark,
			 "YAML: a tab cannot indent or start a value (use spaces)");
	else if (p->context)
		err_mark(c, p->problem_mark, "YAML: %s (%s at %u:%u)",
			 p->problem ? p->problem : "syntax error", p->context,
			 (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
	else
		err_mark(c, p->problem_mark, "YAML: %s", p->problem ? p->problem : "syntax error");
}

static int load(const char *name, const char *basedir, const char *text, size_t len,
		struct wfg_compiled_policy *outp, struct wfg_diags *diags)
{
	struct pctx c = { .file = name, .basedir = basedir, .cap = RAW_MAX };
	struct wfg_side_builder *sb = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int rc = -EINVAL, parsed = 0, s;

	c.raw = calloc(RAW_MAX, sizeof(*c.raw));
	c.cp = calloc(1, sizeof(*c.cp));
	c.ir = calloc(1, sizeof(*c.ir));
	sb = malloc(sizeof(*sb));
	if (!c.raw || !c.cp || !c.ir || !sb) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		goto out_free;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		if (parser.error == YAML_MEMORY_ERROR)
			rc = -ENOMEM;
		else
			yaml_error(&c, &parser, text, len);
		goto out_parser;
	}
	parsed = 1;
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		err_line(&c, 1, 1, "empty policy file (no YAML document)");
		goto out_doc;
	}
	{
		yaml_document_t more;

		if (!yaml_parser_load(&parser, &more)) {
			yaml_error(&c, &parser, text, len);
		} else {
			if (yaml_document_get_root_node(&more))
				err_mark(&c, more.start_mark,
					 "a policy file holds one YAML document (found a second)");
			yaml_document_delete(&more);
		}
	}
	c.ir->root = root;
	parse_top(&c, root);
	check_policy(&c);
	for (s = 0; s < 2; s++)
		build_side(&c, s, sb);
	if (!c.nraw && !c.lost) {
		c.cp->role = (enum wfg_role)c.ir->role;
		wfg_policy_for_role(c.cp, c.cp->role);
		summarize(&c);
		memcpy(outp, c.cp, sizeof(*outp));
		rc = 0;
	}
out_doc:
	if (parsed)
		yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
out_free:
	if (rc == -ENOMEM && c.raw)
		err_io(&c, "out of memory");
	if (c.raw)
		emit_diags(&c, diags);
	else if (diags)
		memset(diags, 0, sizeof(*diags));
	ir_free(c.ir);
	free(c.cp);
	free(c.raw);
	free(sb);
	return rc;
}

int wfg_policy_load_mem(const char *name, const char *text, size_t len,
			struct wfg_compiled_policy *out, struct wfg_diags *diags)
{
	return load(name, NULL, text, len, out, diags);
}

int wfg_policy_load(const char *path, struct wfg_compiled_policy *out, struct wfg_diags *diags)
{
	struct pctx c = { .file = path, .cap = 1 };
	struct raw_diag raw[1];
	char *text = NULL, *dir, *slash;
	size_t len = 0, n;
	FILE *f;
	int rc;

	c.raw = raw;
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		err_io(&c, "cannot open: %s", strerror(errno));
		goto fail;
	}
	text = malloc(WFG_POLICY_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		rc = -ENOMEM;
		err_io(&c, "out of memory");
		goto fail;
	}
	while ((n = fread(text + len, 1, WFG_POLICY_MAX_BYTES + 1 - len, f)) > 0) {
		len += n;
		if (len > WFG_POLICY_MAX_BYTES)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		err_io(&c, "cannot read: %s", strerror(errno));
		fclose(f);
		goto fail;
	}
	fclose(f);
	if (len > WFG_POLICY_MAX_BYTES) {
		rc = -EFBIG;
		err_io(&c, "file too large (policies are at most %u bytes)", WFG_POLICY_MAX_BYTES);
		goto fail;
	}
	dir = strdup(path);
	if (!dir) {
		rc = -ENOMEM;
		err_io(&c, "out of memory");
		goto fail;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		strcpy(dir, ".");
	rc = load(path, dir, text, len, out, diags);
	free(dir);
	free(text);
	return rc;
fail:
	free(text);
	emit_diags(&c, diags);
	return rc;
}

void wfg_policy_for_role(struct wfg_compiled_policy *p, enum wfg_role role)
{
	p->role = role;
	memcpy(&p->dp.side, &p->side[role], sizeof(p->dp.side));
}
