// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Whole-policy checks: what no single element shows (conflicts, sizes, budgets). */
#include "internal.h"

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

/*
 * A constant-size defence (tamaraw, buflo, regulator) sends covers and real
 * packets at one size on the wire, so that no packet differs from a cover.
 * A real packet of L payload bytes leaves at L + WFG_SHIM_LEN once shaped,
 * and real packets reach the MTU budget (`limit`): the size must be the
 * limit. A size below it is refused (it would let the packets between the
 * two out larger than every cover); the default size becomes the limit.
 * Without a limit, the preset's size is the limit (presets.c): a real packet
 * that cannot reach exactly that size leaves unshaped and is counted.
 */
static void check_constant_size(struct pctx *c, struct element *e)
{
	struct ir *ir = c->ir;
	yaml_node_t *where = NULL;
	__u32 *size = preset_size(e, &where);

	if (!size || !ir->limit)
		return;
	if (*size > ir->limit) {
		err_at(c, where ? where : e->node,
		       "%s pads packets to %u bytes, above the shape limit %u",
		       preset_names[e->preset], *size, ir->limit);
	} else if (*size < ir->limit && where) {
		err_at(c, where,
		       "%s sends every packet at %u bytes, below the limit %u: real packets of "
		       "%u..%u bytes (+%u shim) would outgrow every cover; set %s: %u or "
		       "limit: %u",
		       preset_names[e->preset], *size, ir->limit,
		       *size > WFG_SHIM_LEN ? *size - WFG_SHIM_LEN + 1 : 1,
		       ir->limit - WFG_SHIM_LEN, WFG_SHIM_LEN, preset_size_name(e), ir->limit,
		       *size);
	} else {
		*size = ir->limit; /* the default follows the MTU budget */
	}
}

void check_policy(struct pctx *c)
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
		check_constant_size(c, e);
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
