// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <string.h>

#include "err.h"
#include "presets.h"

#define NS_PER_S 1e9

#define PRESET_FAIL(sb, ...) \
	((sb)->failed = 1, wfg_err((sb)->err, sizeof((sb)->err), EINVAL, __VA_ARGS__))

static __u64 secs_to_ns(double s)
{
	return s <= 0 ? 0 : (__u64)llround(s * NS_PER_S);
}

void wfg_front_defaults(struct wfg_front_params *p)
{
	p->n_client = 1700;
	p->n_server = 1700;
	p->w_min = 1.0;
	p->w_max = 14.0;
	p->cover_size = 1400;
}

void wfg_tamaraw_defaults(struct wfg_tamaraw_params *p)
{
	p->rho_out = 0.04;
	p->rho_in = 0.012;
	p->L = 100;
	p->size = 1400;
	p->idle_stop = 1.0;
}

void wfg_buflo_defaults(struct wfg_buflo_params *p)
{
	p->d = 1400;
	p->rho = 0.02;
	p->tau = 10.0;
	p->idle_stop = 1.0;
}

void wfg_regulator_defaults(struct wfg_regulator_params *p)
{
	p->R = 277;
	p->D = 0.94;
	p->T = 3.55;
	p->N = 3550;
	p->U = 3.95;
	p->C = 1.77;
	p->size = 1400;
	p->idle_stop = 2.0;
}

/* Exp(1) * 2^16 for FRONT's order statistics: Weibull with shape 1. */
static int exp_table(struct wfg_side_builder *sb, __u16 *table)
{
	struct wfg_dist_spec exp1 = { .kind = WFG_DK_WEIBULL, .p = { 65536.0, 1.0 } };
	struct wfg_dist_ref ref;
	int err = wfg_sb_dist(sb, &exp1, 1.0, &ref);

	if (err)
		return err;
	*table = ref.table;
	return 0;
}

int wfg_preset_front(struct wfg_side_builder *sb, enum wfg_role role,
		     const struct wfg_front_params *p)
{
	struct wfg_front_cfg *f = &sb->cfg->front;
	__u32 n = role == WFG_ROLE_CLIENT ? p->n_client : p->n_server;

	if (sb->failed)
		return -EINVAL;
	if (!n)
		return PRESET_FAIL(sb, "front: N must be at least 1");
	if (!(p->w_min > 0) || p->w_max < p->w_min)
		return PRESET_FAIL(sb, "front: need 0 < W_min <= W_max, got %g and %g", p->w_min,
				   p->w_max);
	if (p->w_max > 60)
		return PRESET_FAIL(sb, "front: W_max above 60 s is not supported (got %g)",
				   p->w_max);
	if (exp_table(sb, &f->exp_table))
		return -EINVAL;
	f->max_covers = n;
	f->window_min_ns = secs_to_ns(p->w_min);
	f->window_max_ns = secs_to_ns(p->w_max);
	if (p->cover_size > sb->cfg->cover_size)
		sb->cfg->cover_size = p->cover_size;
	return 0;
}

static int constant_pacer(struct wfg_side_builder *sb, const char *name, double interval,
			  __u32 size)
{
	struct wfg_pace_cfg *pc = &sb->cfg->pace;

	if (!(interval > 0) || interval > 10)
		return PRESET_FAIL(sb, "%s: packet interval must be in (0, 10] s, got %g", name,
				   interval);
	if (!size)
		return PRESET_FAIL(sb, "%s: packet size must be positive", name);
	memset(pc, 0, sizeof(*pc));
	pc->mode = WFG_PACE_CONSTANT;
	pc->interval_ns = secs_to_ns(interval);
	sb->cfg->shape.mode = WFG_SHAPE_PAD_TO;
	sb->cfg->shape.size = size;
	sb->cfg->cover_size = size;
	return 0;
}

int wfg_preset_tamaraw(struct wfg_side_builder *sb, enum wfg_role role,
		       const struct wfg_tamaraw_params *p)
{
	double rho = role == WFG_ROLE_CLIENT ? p->rho_out : p->rho_in;

	if (sb->failed)
		return -EINVAL;
	if (constant_pacer(sb, "tamaraw", rho, p->size))
		return -EINVAL;
	if (!p->L)
		return PRESET_FAIL(sb, "tamaraw: L must be at least 1");
	sb->cfg->pace.pad_multiple = p->L;
	sb->cfg->pace.idle_stop_ns = secs_to_ns(p->idle_stop);
	return 0;
}

int wfg_preset_buflo(struct wfg_side_builder *sb, enum wfg_role role,
		     const struct wfg_buflo_params *p)
{
	(void)role;
	if (sb->failed)
		return -EINVAL;
	if (constant_pacer(sb, "buflo", p->rho, p->d))
		return -EINVAL;
	sb->cfg->pace.min_active_ns = secs_to_ns(p->tau);
	sb->cfg->pace.idle_stop_ns = secs_to_ns(p->idle_stop);
	return 0;
}
