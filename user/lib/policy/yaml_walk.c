// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The generic schema walk: what a YAML node holds (YAML 1.2's core schema),
 * mappings checked against the keys a part of the schema takes (unknown keys
 * with a suggestion, duplicates), and typed scalars with their ranges.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *const vkind_name[] = {
	"nothing", "a boolean", "an integer", "a number", "a string", "a mapping", "a list",
};

yaml_node_t *nd(struct pctx *c, int i)
{
	return yaml_document_get_node(c->doc, i);
}

const char *sval(const yaml_node_t *n)
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
enum vkind vkind(const yaml_node_t *n)
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

int is_scalar_value(const yaml_node_t *n)
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
const char *closest(const char *s, const char *const *names, int n)
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
void err_unknown(struct pctx *c, const yaml_node_t *n, const char *what, const char *const *names,
		 int nnames)
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

/*
 * Match the keys of a mapping against f[]: unknown keys (with a suggestion),
 * duplicate keys and non-scalar keys are errors. Returns 0 when n is a mapping.
 */
int fields(struct pctx *c, yaml_node_t *n, const char *what, struct field *f, int nf)
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

struct field *fld(struct field *f, int nf, const char *name)
{
	int i;

	for (i = 0; i < nf; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

/* ---------------------------------------------------------------- scalars */

int want_u64(struct pctx *c, const yaml_node_t *n, const char *name, __u64 lo, __u64 hi, __u64 *out)
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

int want_u32(struct pctx *c, const yaml_node_t *n, const char *name, __u32 lo, __u32 hi, __u32 *out)
{
	__u64 v;

	if (want_u64(c, n, name, lo, hi, &v))
		return -1;
	*out = (__u32)v;
	return 0;
}

/* A real in [lo, hi], or (lo, hi] with lo_open. */
int want_num(struct pctx *c, const yaml_node_t *n, const char *name, double lo, double hi,
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

int want_bool(struct pctx *c, const yaml_node_t *n, const char *name, int *out)
{
	if (vkind(n) != V_BOOL) {
		err_at(c, n, "'%s' must be true or false, got %s", name, vkind_name[vkind(n)]);
		return -1;
	}
	is_bool(sval(n), out);
	return 0;
}

/* A non-empty scalar, as text. */
int want_str(struct pctx *c, const yaml_node_t *n, const char *name, const char **out)
{
	if (!is_scalar_value(n)) {
		err_at(c, n, "'%s' must be a string, got %s", name, vkind_name[vkind(n)]);
		return -1;
	}
	*out = sval(n);
	return 0;
}

/* One of names[] (exactly); returns its index or -1. */
int want_enum(struct pctx *c, const yaml_node_t *n, const char *what, const char *const *names,
	      int nnames)
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

void err_missing(struct pctx *c, const yaml_node_t *map, const char *key, const char *why)
{
	err_at(c, map, "missing '%s'%s%s", key, why ? " " : "", why ? why : "");
}

/* A required key is absent; unless a misspelling of it was reported already. */
void missing(struct pctx *c, const yaml_node_t *map, const struct field *f, const char *why)
{
	if (!f->typo)
		err_missing(c, map, f->name, why);
}
