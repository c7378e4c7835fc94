// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "events.h"
#include "side_build.h"

#define SB_FAIL(sb, code, ...) \
	((sb)->failed = 1, wfg_err((sb)->err, sizeof((sb)->err), (code), __VA_ARGS__))

void wfg_sb_init(struct wfg_side_builder *sb, struct wfg_side_cfg *cfg)
{
	memset(sb, 0, sizeof(*sb));
	memset(cfg, 0, sizeof(*cfg));
	sb->cfg = cfg;
}

__u32 wfg_frac_q16(double frac)
{
	if (!(frac > 0))
		return 0;
	if (frac >= 1.0)
		return WFG_FRAC_ONE;
	return (__u32)llround(frac * WFG_FRAC_ONE);
}

struct wfg_dist_spec wfg_dist_const(double v)
{
	struct wfg_dist_spec s = { .kind = WFG_DK_UNIFORM, .p = { v, v } };

	return s;
}

static int check_frac(struct wfg_side_builder *sb, const char *what, double f)
{
	if (!(f >= 0.0 && f <= 1.0))
		return SB_FAIL(sb, EINVAL, "%s must be within [0, 1], got %g", what, f);
	return 0;
}

int wfg_sb_side_limits(struct wfg_side_builder *sb, double max_padding_frac,
		       double max_blocking_frac)
{
	if (sb->failed)
		return -EINVAL;
	if (check_frac(sb, "max_padding_frac", max_padding_frac) ||
	    check_frac(sb, "max_blocking_frac", max_blocking_frac))
		return -EINVAL;
	sb->cfg->max_padding_frac = wfg_frac_q16(max_padding_frac);
	sb->cfg->max_blocking_frac = wfg_frac_q16(max_blocking_frac);
	return 0;
}

int wfg_sb_machine(struct wfg_side_builder *sb, const struct wfg_machine_limits *lim)
{
	struct wfg_machine_cfg *mc;

	if (sb->failed)
		return -EINVAL;
	if (sb->cfg->nmachines >= WFG_MAX_MACHINES)
		return SB_FAIL(sb, E2BIG, "too many machines: at most %d per side",
			       WFG_MAX_MACHINES);
	if (check_frac(sb, "max_padding_frac", lim->max_padding_frac) ||
	    check_frac(sb, "max_blocking_frac", lim->max_blocking_frac))
		return -EINVAL;
	mc = &sb->cfg->machines[sb->cfg->nmachines];
	mc->allowed_padding_packets = lim->allowed_padding_packets;
	mc->allowed_blocked_us = lim->allowed_blocked_us;
	mc->max_padding_frac = wfg_frac_q16(lim->max_padding_frac);
	mc->max_blocking_frac = wfg_frac_q16(lim->max_blocking_frac);
	mc->state_first = (__u16)sb->nstates;
	mc->state_count = 0;
	return (int)sb->cfg->nmachines++;
}

static struct wfg_machine_cfg *cur_machine(struct wfg_side_builder *sb)
{
	if (!sb->cfg->nmachines) {
		SB_FAIL(sb, EINVAL, "state added before any machine");
		return NULL;
	}
	return &sb->cfg->machines[sb->cfg->nmachines - 1];
}

int wfg_sb_state(struct wfg_side_builder *sb)
{
	struct wfg_machine_cfg *mc;

	if (sb->failed)
		return -EINVAL;
	mc = cur_machine(sb);
	if (!mc)
		return -EINVAL;
	if (sb->nstates >= WFG_MAX_STATES)
		return SB_FAIL(sb, E2BIG, "too many states: at most %d per side", WFG_MAX_STATES);
	sb->nstates++;
	return mc->state_count++;
}

static struct wfg_state *state_at(struct wfg_side_builder *sb, int state)
{
	struct wfg_machine_cfg *mc = cur_machine(sb);

	if (!mc)
		return NULL;
	if (state < 0 || state >= mc->state_count) {
		SB_FAIL(sb, EINVAL, "state %d does not exist (machine has %u)", state,
			mc->state_count);
		return NULL;
	}
	return &sb->cfg->states[mc->state_first + state];
}

static int same_table(const struct wfg_dist_table *a, const struct wfg_dist_table *b)
{
	return a->flags == b->flags && !memcmp(a->q, b->q, sizeof(a->q));
}

/* Timeouts, durations and limits round to nearest, counter values truncate (as in Maybenot). */
static int sb_dist(struct wfg_side_builder *sb, const struct wfg_dist_spec *spec, double scale,
		   enum wfg_dist_round mode, struct wfg_dist_ref *ref)
{
	struct wfg_dist_table table;
	char why[200];
	__u32 value, i;

	if (sb->failed)
		return -EINVAL;
	memset(ref, 0, sizeof(*ref));
	if (wfg_dist_validate(spec, why, sizeof(why)))
		return SB_FAIL(sb, EINVAL, "%s", why);
	if (wfg_dist_is_constant_r(spec, scale, mode, &value)) {
		ref->table = WFG_DIST_CONST;
		ref->constant = value;
		return 0;
	}
	if (wfg_dist_build_r(spec, scale, mode, &table, why, sizeof(why)))
		return SB_FAIL(sb, EINVAL, "%s", why);
	/* Identical tables are shared: generated machines repeat them a lot. */
	for (i = 0; i < sb->ndists; i++) {
		if (same_table(&sb->cfg->dists[i], &table)) {
			ref->table = (__u16)i;
			return 0;
		}
	}
	if (sb->ndists >= WFG_MAX_DISTS)
		return SB_FAIL(sb, E2BIG, "too many distinct distributions: at most %d per side",
			       WFG_MAX_DISTS);
	sb->cfg->dists[sb->ndists] = table;
	ref->table = (__u16)sb->ndists++;
	return 0;
}

int wfg_sb_dist(struct wfg_side_builder *sb, const struct wfg_dist_spec *spec, double scale,
		struct wfg_dist_ref *ref)
{
	return sb_dist(sb, spec, scale, WFG_DIST_NEAREST, ref);
}

int wfg_sb_action(struct wfg_side_builder *sb, int state, const struct wfg_action_spec *a)
{
	struct wfg_state *st;
	struct wfg_action *act;
	int rc;

	if (sb->failed)
		return -EINVAL;
	st = state_at(sb, state);
	if (!st)
		return -EINVAL;
	act = &st->action;
	memset(act, 0, sizeof(*act));
	act->kind = (__u8)a->kind;
	switch (a->kind) {
	case WFG_ACT_NONE:
		return 0;
	case WFG_ACT_CANCEL:
		if (!a->cancel_action && !a->cancel_internal)
			return SB_FAIL(sb, EINVAL, "cancel action names no timer");
		act->flags = (__u8)((a->cancel_action ? WFG_CANCEL_ACTION : 0) |
				    (a->cancel_internal ? WFG_CANCEL_INTERNAL : 0));
		return 0;
	case WFG_ACT_PADDING:
	case WFG_ACT_BLOCK:
		/* distribution errors pass through: -E2BIG when the pool is full */
		rc = wfg_sb_dist(sb, &a->timeout, 1.0, &act->timeout);
		if (!rc && a->kind == WFG_ACT_BLOCK)
			rc = wfg_sb_dist(sb, &a->duration, 1.0, &act->duration);
		if (rc)
			return rc;
		break;
	case WFG_ACT_UPDATE_TIMER:
		rc = wfg_sb_dist(sb, &a->duration, 1.0, &act->duration);
		if (rc)
			return rc;
		break;
	default:
		return SB_FAIL(sb, EINVAL, "unknown action kind %d", a->kind);
	}
	if (a->bypass && a->kind != WFG_ACT_UPDATE_TIMER)
		act->flags |= WFG_ACT_F_BYPASS;
	if (a->replace)
		act->flags |= WFG_ACT_F_REPLACE;
	if (a->has_limit) {
		rc = wfg_sb_dist(sb, &a->limit, 1.0, &act->limit);
		if (rc)
			return rc;
		act->flags |= WFG_ACT_F_LIMIT;
	}
	return 0;
}

int wfg_sb_counter(struct wfg_side_builder *sb, int state, int counter, enum wfg_counter_op op,
		   int copy, const struct wfg_dist_spec *value)
{
	struct wfg_counter_update *u;
	struct wfg_state *st;

	if (sb->failed)
		return -EINVAL;
	st = state_at(sb, state);
	if (!st)
		return -EINVAL;
	if (counter != 0 && counter != 1)
		return SB_FAIL(sb, EINVAL, "counter must be A (0) or B (1), got %d", counter);
	if (op < WFG_CTR_NONE || op > WFG_CTR_SET)
		return SB_FAIL(sb, EINVAL, "unknown counter operation %d", op);
	u = &st->counter[counter];
	memset(u, 0, sizeof(*u));
	u->op = (__u8)op;
	u->copy = copy ? 1 : 0;
	if (copy || !value) {
		u->value.table = WFG_DIST_CONST;
		u->value.constant = 1;
		return 0;
	}
	return sb_dist(sb, value, 1.0, WFG_DIST_TRUNC, &u->value);
}

int wfg_sb_trans(struct wfg_side_builder *sb, int state, enum wfg_event ev, __u32 target,
		 double prob)
{
	struct wfg_machine_cfg *mc;
	struct wfg_sb_trans *t;

	if (sb->failed)
		return -EINVAL;
	if (!state_at(sb, state))
		return -EINVAL;
	mc = cur_machine(sb);
	if ((unsigned)ev >= WFG_EV_COUNT)
		return SB_FAIL(sb, EINVAL, "unknown event %d", ev);
	if (ev == WFG_EV_SIGNAL && target == WFG_STATE_SIGNAL)
		return SB_FAIL(sb, EINVAL, "state %d: Signal cannot transition to signal", state);
	if (!(prob > 0.0 && prob <= 1.0))
		return SB_FAIL(sb, EINVAL, "state %d, %s: probability must be in (0, 1], got %g",
			       state, wfg_event_name(ev), prob);
	if (sb->npending >= WFG_SB_MAX_PENDING)
		return SB_FAIL(sb, E2BIG, "too many transitions");
	t = &sb->pending[sb->npending++];
	t->state = (__u16)(mc->state_first + state);
	t->event = (__u8)ev;
	t->target = (__u16)target;
	t->prob = prob;
	t->order = (__u16)(sb->npending - 1);
	return 0;
}

static int cmp_pending(const void *a, const void *b)
{
	const struct wfg_sb_trans *x = a, *y = b;

	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	return 0;
}

static int cmp_order(const void *a, const void *b)
{
	const struct wfg_sb_trans *x = a, *y = b;
	int c = cmp_pending(a, b);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int machine_of(const struct wfg_side_cfg *cfg, __u32 abs_state)
{
	__u32 mi;

	for (mi = 0; mi < cfg->nmachines; mi++)
		if (abs_state >= cfg->machines[mi].state_first &&
		    abs_state <
			    (__u32)cfg->machines[mi].state_first + cfg->machines[mi].state_count)
			return (int)mi;
	return -1;
}

int wfg_sb_finish(struct wfg_side_builder *sb)
{
	struct wfg_side_cfg *cfg = sb->cfg;
	__u32 i, j, ntrans = 0, mi;

	if (sb->failed)
		return -EINVAL;
	for (mi = 0; mi < cfg->nmachines; mi++)
		if (!cfg->machines[mi].state_count)
			return SB_FAIL(sb, EINVAL, "machine %u has no states", mi);
	/* Targets keep the order they were given in (cmp_order breaks ties). */
	qsort(sb->pending, sb->npending, sizeof(sb->pending[0]), cmp_order);
	for (i = 0; i < sb->npending; i = j) {
		const struct wfg_sb_trans *t = &sb->pending[i];
		struct wfg_state *st = &cfg->states[t->state];
		int m = machine_of(cfg, t->state);
		__u32 local = t->state - cfg->machines[m].state_first;
		double cum = 0;

		for (j = i; j < sb->npending && !cmp_pending(&sb->pending[j], t); j++) {
			const struct wfg_sb_trans *u = &sb->pending[j];
			__u32 k;
			double bound;

			if (u->target != WFG_STATE_END && u->target != WFG_STATE_SIGNAL &&
			    u->target >= cfg->machines[m].state_count)
				return SB_FAIL(
					sb, EINVAL,
					"machine %d state %u, %s: target state %u does not exist",
					m, local, wfg_event_name(t->event), u->target);
			for (k = i; k < j; k++)
				if (sb->pending[k].target == u->target)
					return SB_FAIL(
						sb, EINVAL,
						"machine %d state %u, %s: target %u given twice", m,
						local, wfg_event_name(t->event), u->target);
			if (j - i >= WFG_MAX_TARGETS)
				return SB_FAIL(sb, E2BIG,
					       "machine %d state %u, %s: more than %d targets", m,
					       local, wfg_event_name(t->event), WFG_MAX_TARGETS);
			if (ntrans >= WFG_MAX_TRANS)
				return SB_FAIL(sb, E2BIG,
					       "too many transitions: at most %d per side",
					       WFG_MAX_TRANS);
			cum += u->prob;
			/* Maybenot sums in f32 and accepts up to 1.0; allow its rounding. */
			if (cum > 1.0 + 1e-6)
				return SB_FAIL(
					sb, EINVAL,
					"machine %d state %u, %s: probabilities sum to %g > 1", m,
					local, wfg_event_name(t->event), cum);
			bound = cum >= 1.0 ? 4294967296.0 : floor(cum * 4294967296.0 + 0.5);
			if (j == i)
				st->trans_first[t->event] = (__u16)ntrans;
			cfg->trans[ntrans].target = u->target;
			cfg->trans[ntrans].cum_max = bound < 1.0 ? 0 : (__u32)(bound - 1.0);
			ntrans++;
		}
		st->trans_count[t->event] = (__u8)(j - i);
	}
	sb->finished = 1;
	return 0;
}
