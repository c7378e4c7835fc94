// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Both sides through the side builder, in the order the defence list gives. */
#include <errno.h>

#include "internal.h"

/* An inline machine: the same adder as a Maybenot string, then the policy's meaning of 0. */
static int add_machine(struct wfg_side_builder *sb, const struct ir_machine *m)
{
	int idx = wfg_machine_add(sb, &m->mb, NULL);

	if (idx < 0)
		return idx;
	/* A given 0 is the core's smallest fraction: nothing beyond the allowance, in practice. */
	if (m->pad_frac_zero)
		sb->cfg->machines[idx].max_padding_frac = 1;
	if (m->block_frac_zero)
		sb->cfg->machines[idx].max_blocking_frac = 1;
	return 0;
}

void build_side(struct pctx *c, int s, struct wfg_side_builder *sb)
{
	struct ir *ir = c->ir;
	struct wfg_side_cfg *cfg = wfg_policy_side(c->cp, (enum wfg_role)s);
	int i, k, rc = 0, constant_size = 0;
	yaml_node_t *pacer_at = ir->root; /* the pacing preset's entry, for errors */

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
			constant_size |= e->preset != P_FRONT;
			if (e->preset != P_FRONT)
				pacer_at = where;
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
	/* A constant size without a given limit is its own limit (presets.c). */
	if (ir->limit || !constant_size)
		cfg->shape.max = ir->limit;
	if (ir->cover_node)
		cfg->cover_size = ir->cover_size;
	cfg->episode_idle_ns = (__u64)ir->episode_idle_ms * 1000000ULL;
	if (cfg->pace.mode != WFG_PACE_NONE && !cfg->pace.idle_stop_ns && !cfg->episode_idle_ns) {
		/* The pacer's page ends with the episode: without either it never would. */
		err_at(c, pacer_at,
		       "a pacing preset with `episode: off` needs `idle_stop` (s without real "
		       "packets that end a page load) (%s side)",
		       side_names[s]);
		return;
	}
	if (wfg_sb_finish(sb))
		err_at(c, ir->root, "%s (%s side)", sb->err, side_names[s]);
}
