// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Distributions as a policy writes them: a number, or {dist: KIND, ...}. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const dist_names[WFG_DK_COUNT] = {
	"uniform", "normal",  "skew_normal", "log_normal", "binomial", "geometric",
	"pareto",  "poisson", "weibull",     "gamma",	   "beta",
};

/*
 * DIST: a number (the constant) or {dist: KIND, <parameters>, start, max}.
 * name says what it is for, in messages.
 */
int parse_dist(struct pctx *c, yaml_node_t *n, const char *name, struct wfg_dist_spec *out)
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
