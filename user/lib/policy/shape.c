// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* shape: how packet sizes are padded (pad_to, buckets, padme, random, multiple). */
#include <stdio.h>

#include "internal.h"

const char *const shape_modes[6] = {
	"none", "pad_to", "buckets", "padme", "random", "multiple"
}; /* enum wfg_shape_mode order */

void parse_shape(struct pctx *c, yaml_node_t *n)
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
