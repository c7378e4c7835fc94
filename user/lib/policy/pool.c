// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `pool:` (docs/policy.md, "pool"): a pool of defences generated from the
 * policy's own defence list. Entry i is that list with the parameters of the
 * presets under `vary` drawn, uniformly in their ranges, from a stream seeded
 * by `seed`, so that a policy file always compiles to the same pool (on both
 * ends and in the harness). The data path draws one entry per episode
 * (core/defpool.h); docs/defence-pools.md says why and what an observer sees.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "wfguard/core/core.h"

/* The stream the entries' parameters come from (any constant: "pool"). */
#define POOL_STREAM 0x706f6f6cULL

/* The preset element `vary` names: exactly one in the defence list. */
static int vary_element(struct pctx *c, yaml_node_t *name, int preset)
{
	int i, found = -1;

	for (i = 0; i < c->ir->nelem; i++) {
		const struct element *e = &c->ir->el[i];

		if (e->kind != EL_PRESET || e->preset != preset)
			continue;
		if (found >= 0) {
			err_at(c, name,
			       "the defence list has preset '%s' twice: the pool cannot "
			       "tell which one to vary",
			       preset_names[preset]);
			return -1;
		}
		found = i;
	}
	if (found < 0)
		err_at(c, name,
		       "the pool varies preset '%s', which the defence list does not hold "
		       "(add `- preset: %s` to defence)",
		       preset_names[preset], preset_names[preset]);
	return found;
}

/* `PARAM: [lo, hi]` of one preset. */
static int parse_range(struct pctx *c, struct ir_vary *v, yaml_node_t *key, yaml_node_t *val)
{
	const char *pname = preset_param_name(v->preset, v->param);
	yaml_node_t *lo, *hi;

	(void)key;
	v->node = val;
	if (vkind(val) != V_LIST ||
	    val->data.sequence.items.top - val->data.sequence.items.start != 2) {
		err_at(c, val, "'%s' in a pool is a range [low, high], got %s", pname,
		       vkind(val) == V_LIST ? "a list of another length" : vkind_name[vkind(val)]);
		return -1;
	}
	lo = nd(c, val->data.sequence.items.start[0]);
	hi = nd(c, val->data.sequence.items.start[1]);
	if (want_preset_value(c, v->preset, v->param, lo, &v->lo) |
	    want_preset_value(c, v->preset, v->param, hi, &v->hi))
		return -1;
	if (v->lo > v->hi) {
		err_at(c, val, "'%s' range [%g, %g]: low above high", pname, v->lo, v->hi);
		return -1;
	}
	return 0;
}

static void parse_vary_preset(struct pctx *c, struct ir_pool *pl, yaml_node_t *name,
			      yaml_node_t *params)
{
	const char *names[MAX_PPARAMS];
	yaml_node_pair_t *p;
	int preset, elem, np;

	preset = want_enum(c, name, "preset", preset_names, P_COUNT);
	if (preset < 0) {
		pl->bad = 1;
		return;
	}
	elem = vary_element(c, name, preset);
	if (vkind(params) != V_MAP) {
		err_at(c, params, "the parameters a pool varies of '%s' must be a mapping, got %s",
		       preset_names[preset], vkind_name[vkind(params)]);
		pl->bad = 1;
		return;
	}
	if (elem < 0) {
		pl->bad = 1;
		return;
	}
	np = preset_param_names(preset, names, MAX_PPARAMS);
	for (p = params->data.mapping.pairs.start; p < params->data.mapping.pairs.top; p++) {
		yaml_node_t *k = nd(c, p->key), *v = nd(c, p->value);
		struct ir_vary *iv = &pl->vary[pl->nvary];
		int i;

		iv->preset = preset;
		iv->elem = elem;
		iv->param = want_enum(c, k, "parameter", names, np);
		if (iv->param < 0) {
			pl->bad = 1;
			continue;
		}
		for (i = 0; i < pl->nvary; i++)
			if (pl->vary[i].preset == preset && pl->vary[i].param == iv->param)
				break;
		if (i < pl->nvary) {
			err_at(c, k, "'%s' is varied twice", names[iv->param]);
			pl->bad = 1;
			continue;
		}
		if (parse_range(c, iv, k, v))
			pl->bad = 1;
		else if (pl->nvary < MAX_VARY)
			pl->nvary++;
	}
}

/* A range's ends, or the element's own value where the parameter is not varied. */
static void span(const struct ir_pool *pl, const struct element *e, int preset, int param,
		 double *lo, double *hi, yaml_node_t **node)
{
	int i;

	for (i = 0; i < pl->nvary; i++) {
		if (pl->vary[i].preset == preset && pl->vary[i].param == param) {
			*lo = pl->vary[i].lo;
			*hi = pl->vary[i].hi;
			*node = pl->vary[i].node;
			return;
		}
	}
	*lo = *hi = preset_param_get(e, param);
	*node = NULL;
}

/* FRONT needs W_min <= W_max in every entry: ranges that can cross are refused. */
static void check_front_window(struct pctx *c, struct ir_pool *pl)
{
	double a_lo, a_hi, b_lo, b_hi;
	yaml_node_t *an, *bn;
	int i, wmin = preset_param(P_FRONT, "W_min"), wmax = preset_param(P_FRONT, "W_max");

	for (i = 0; i < pl->nvary && pl->vary[i].preset != P_FRONT; i++)
		;
	if (i == pl->nvary)
		return;
	span(pl, &c->ir->el[pl->vary[i].elem], P_FRONT, wmin, &a_lo, &a_hi, &an);
	span(pl, &c->ir->el[pl->vary[i].elem], P_FRONT, wmax, &b_lo, &b_hi, &bn);
	if (a_hi > b_lo) {
		err_at(c, an ? an : bn,
		       "FRONT's W_min can be drawn up to %g and W_max as low as %g: in a pool the "
		       "ranges must not cross (W_min <= W_max in every entry)",
		       a_hi, b_lo);
		pl->bad = 1;
	}
}

void parse_pool(struct pctx *c, yaml_node_t *n)
{
	struct field f[] = { F("size"), F("seed"), F("vary") };
	struct ir_pool *pl = &c->ir->pool;
	yaml_node_pair_t *p;

	pl->node = n;
	pl->seed = 1;
	if (fields(c, n, "pool", f, NF(f))) {
		pl->bad = 1;
		return;
	}
	if (!V(f, "size"))
		missing(c, n, &f[0], "(how many defences, 2..256)");
	else if (want_u32(c, V(f, "size"), "size", 2, WFG_DEFPOOL_MAX, &pl->size))
		pl->bad = 1;
	if (V(f, "seed") && want_u64(c, V(f, "seed"), "seed", 0, ~0ULL, &pl->seed))
		pl->bad = 1;
	if (!V(f, "vary")) {
		missing(c, n, &f[2],
			"(the preset parameters each entry draws, e.g. "
			"`vary: {front: {N_c: [500, 2500]}}`)");
		pl->bad = 1;
		return;
	}
	if (vkind(V(f, "vary")) != V_MAP) {
		err_at(c, V(f, "vary"), "vary must be a mapping of presets to ranges, got %s",
		       vkind_name[vkind(V(f, "vary"))]);
		pl->bad = 1;
		return;
	}
	for (p = V(f, "vary")->data.mapping.pairs.start; p < V(f, "vary")->data.mapping.pairs.top;
	     p++)
		parse_vary_preset(c, pl, nd(c, p->key), nd(c, p->value));
	if (!pl->bad && !pl->nvary) {
		err_at(c, V(f, "vary"), "vary names no parameter: every entry would be the same");
		pl->bad = 1;
	}
	if (!pl->bad)
		check_front_window(c, pl);
}

/* Entry i's parameters: each varied one uniform in its range, in the order written. */
static void draw_params(struct ir_pool *pl, struct element *el, struct wfg_prng *r)
{
	int i;

	for (i = 0; i < pl->nvary; i++) {
		const struct ir_vary *v = &pl->vary[i];
		struct element *e = &el[v->elem];
		double x;

		if (preset_param_int(v->preset, v->param))
			x = v->lo + (double)wfg_defpool_draw(r, (__u32)(v->hi - v->lo) + 1);
		else
			x = v->lo + (v->hi - v->lo) * ((double)wfg_rand32(r) / 4294967296.0);
		preset_param_set(e, v->param, x);
	}
}

/*
 * What the wire sees of a side is the policy's, not an entry's: the data path
 * sizes packets with the policy's own side (entry 0) whatever entry a flow
 * runs, so entries that differed there would be shaped wrongly.
 */
static int same_wire(const struct wfg_side_cfg *a, const struct wfg_side_cfg *b)
{
	return !memcmp(&a->shape, &b->shape, sizeof(a->shape)) && a->cover_size == b->cover_size;
}

int build_pool(struct pctx *c, struct wfg_side_builder *sb)
{
	struct ir_pool *pl = &c->ir->pool;
	struct element saved[MAX_ELEMS];
	struct wfg_prng r;
	__u32 i;
	int s;

	if (!pl->node || pl->bad)
		return 0;
	c->cp->pool = calloc(pl->size, sizeof(*c->cp->pool));
	if (!c->cp->pool)
		return -ENOMEM;
	c->cp->pool_n = pl->size;
	memcpy(saved, c->ir->el, sizeof(saved));
	wfg_prng_init_seed(&r, pl->seed, POOL_STREAM);
	for (i = 0; i < pl->size && !c->nraw; i++) {
		draw_params(pl, c->ir->el, &r);
		for (s = 0; s < 2; s++) {
			build_side(c, s, sb);
			c->cp->pool[i][s] = *wfg_policy_side(c->cp, (enum wfg_role)s);
			if (i && !same_wire(&c->cp->pool[i][s], &c->cp->pool[0][s]))
				err_at(c, pl->vary[0].node,
				       "pool entry %u would shape packets or size covers unlike "
				       "entry "
				       "0 (%s side): a pool varies the defence, not the sizes on "
				       "the "
				       "wire (vary no size parameter)",
				       i, side_names[s]);
		}
	}
	memcpy(c->ir->el, saved, sizeof(saved));
	for (s = 0; s < 2; s++)
		*wfg_policy_side(c->cp, (enum wfg_role)s) = c->cp->pool[0][s];
	c->cp->dp.pool_size = pl->size;
	return 0;
}
