// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <string.h>

#include "err.h"
#include "policy.h"
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
	p->idle_stop = 0; /* the episode's idle time: the page ends with its episode */
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
	p->start_packets = 10;
	p->size = 1400;
	p->idle_stop = 0; /* the episode's idle time */
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

/*
 * Every packet of the side at one wire size: real ones padded to exactly
 * `size`, covers of exactly `size`. The size is also the side's limit, so a
 * real packet too large to be padded to it (payload + shim above size) leaves
 * unshaped and counted, never at a size of its own with a trailer (the
 * policy compiler keeps an explicit limit equal to the size).
 */
static void constant_size(struct wfg_side_cfg *cfg, __u32 size)
{
	cfg->shape.mode = WFG_SHAPE_PAD_TO;
	cfg->shape.size = size;
	cfg->shape.max = size;
	cfg->cover_size = size;
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
	constant_size(sb->cfg, size);
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
	/* Wang's reference pads each direction to (floor(n/L) + k) * L at the
	 * trace's end, k >= 1 geometric; the end here is the episode's. */
	sb->cfg->pace.pad_multiple = p->L;
	sb->cfg->pace.flags = WFG_PACE_F_PAD_GEOMETRIC;
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

/*
 * RegulaTor (docs/presets.md). Server: a decaying-rate pacer, R * D^t packets
 * per second where t is the time since the last surge (tabulated in 0.25 s
 * steps over 8 s, then flat; floor 1 packet/s), a surge whenever more than T
 * seconds' worth of packets wait, covers in empty slots while the episode's
 * budget lasts: drawn from U{0..N-1} per page load as in the authors'
 * simulator. A spent budget leaves the slot clock running (the rate keeps
 * decaying through pauses). Client: a follow-mode pacer, one slot per U
 * received packets, a real upload taking the next slot within C seconds or
 * leaving C after it was sent. Both begin with the authors' start phase: the
 * server at 10 packets/s, the client at 5, until start_packets download
 * packets.
 */
#define REG_STEP_S	      0.25
#define REG_START_RATE_SERVER 10.0 /* packets/s, the authors' simulator */
#define REG_START_RATE_CLIENT 5.0

static void regulator_start_phase(struct wfg_pace_cfg *pc, const struct wfg_regulator_params *p,
				  double rate)
{
	pc->start_packets = p->start_packets;
	pc->start_interval_ns = p->start_packets ? secs_to_ns(1.0 / rate) : 0;
}

static int regulator_server(struct wfg_side_builder *sb, const struct wfg_regulator_params *p)
{
	struct wfg_pace_cfg *pc = &sb->cfg->pace;
	int k;

	if (!(p->R > 0) || p->R > 1e6)
		return PRESET_FAIL(sb, "regulator: R must be in (0, 1e6] packets/s, got %g", p->R);
	if (!(p->D > 0) || p->D > 1)
		return PRESET_FAIL(sb, "regulator: D must be in (0, 1], got %g", p->D);
	if (!(p->T > 0))
		return PRESET_FAIL(sb, "regulator: T must be positive, got %g", p->T);
	memset(pc, 0, sizeof(*pc));
	pc->mode = WFG_PACE_DECAY;
	pc->step_ns = secs_to_ns(REG_STEP_S);
	for (k = 0; k < WFG_PACE_STEPS; k++)
		pc->interval_at[k] = secs_to_ns(1.0 / fmax(1.0, p->R * pow(p->D, k * REG_STEP_S)));
	pc->surge_queue_ns = secs_to_ns(p->T);
	pc->cover_budget = p->N;
	pc->flags = WFG_PACE_F_BUDGET_UNIFORM;
	pc->idle_stop_ns = secs_to_ns(p->idle_stop);
	regulator_start_phase(pc, p, REG_START_RATE_SERVER);
	constant_size(sb->cfg, p->size);
	return 0;
}

static int regulator_client(struct wfg_side_builder *sb, const struct wfg_regulator_params *p)
{
	struct wfg_pace_cfg *pc = &sb->cfg->pace;

	if (!(p->U >= 1) || p->U > 1000)
		return PRESET_FAIL(sb, "regulator: U must be in [1, 1000], got %g", p->U);
	if (p->C < 0 || p->C > 3600)
		return PRESET_FAIL(sb, "regulator: C must be in [0, 3600] s, got %g", p->C);
	memset(pc, 0, sizeof(*pc));
	pc->mode = WFG_PACE_FOLLOW;
	pc->follow_ratio_q16 = (__u32)llround(p->U * WFG_FRAC_ONE);
	pc->delay_cap_ns = secs_to_ns(p->C);
	/* Until two packets came in, the client's own start rate. */
	pc->interval_ns = secs_to_ns(1.0 / REG_START_RATE_CLIENT);
	pc->flags = WFG_PACE_F_START_ON_RECV;
	pc->idle_stop_ns = secs_to_ns(p->idle_stop);
	regulator_start_phase(pc, p, REG_START_RATE_CLIENT);
	constant_size(sb->cfg, p->size);
	return 0;
}

int wfg_preset_regulator(struct wfg_side_builder *sb, enum wfg_role role,
			 const struct wfg_regulator_params *p)
{
	if (sb->failed)
		return -EINVAL;
	if (!p->size)
		return PRESET_FAIL(sb, "regulator: packet size must be positive");
	return role == WFG_ROLE_SERVER ? regulator_server(sb, p) : regulator_client(sb, p);
}

int wfg_preset_sides(const char *name, struct wfg_side_cfg sides[2], char *err, size_t errlen)
{
	static struct wfg_side_builder sb;
	int r;

	for (r = 0; r < 2; r++) {
		enum wfg_role role = r ? WFG_ROLE_SERVER : WFG_ROLE_CLIENT;
		int rc = 0;

		wfg_sb_init(&sb, &sides[r]);
		if (!strcmp(name, "front")) {
			struct wfg_front_params p;

			wfg_front_defaults(&p);
			rc = wfg_preset_front(&sb, role, &p);
		} else if (!strcmp(name, "tamaraw")) {
			struct wfg_tamaraw_params p;

			wfg_tamaraw_defaults(&p);
			rc = wfg_preset_tamaraw(&sb, role, &p);
		} else if (!strcmp(name, "buflo")) {
			struct wfg_buflo_params p;

			wfg_buflo_defaults(&p);
			rc = wfg_preset_buflo(&sb, role, &p);
		} else if (!strcmp(name, "regulator")) {
			struct wfg_regulator_params p;

			wfg_regulator_defaults(&p);
			rc = wfg_preset_regulator(&sb, role, &p);
		} else if (!strcmp(name, "padme")) {
			sides[r].shape.mode = WFG_SHAPE_PADME;
		} else if (strcmp(name, "none")) {
			return wfg_err(err, errlen, EINVAL,
				       "unknown preset '%s' (none, padme, front, tamaraw, buflo, "
				       "regulator)",
				       name);
		}
		/* As a policy naming the preset: episodes of the default idle time
		 * (the pacers' page loads end with them). */
		sides[r].episode_idle_ns = WFG_EPISODE_IDLE_DEFAULT_MS * 1000000ULL;
		if (rc || wfg_sb_finish(&sb))
			return wfg_err(err, errlen, EINVAL, "%s: %s", name, sb.err);
	}
	return 0;
}
