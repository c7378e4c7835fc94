/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Building a struct wfg_side_cfg (what one side of a flow runs) from parts:
 * machines, states, actions, counters, transitions, distributions. The policy
 * compiler, the Maybenot machine decoder, the presets and the tests all build
 * through here, so the layout rules of the core (contiguous transitions per
 * (state, event), cumulative thresholds, shared distribution tables) live in
 * one place.
 *
 * Usage: wfg_sb_init(); per machine wfg_sb_machine() then its states and
 * transitions; wfg_sb_finish(). Every call returns 0 or a negative errno with
 * a one-line reason in sb->err; after an error the builder refuses further
 * work, so callers may check only the last call.
 */
#ifndef WFGUARD_USER_SIDE_BUILD_H
#define WFGUARD_USER_SIDE_BUILD_H

#include <stddef.h>

#include "wfguard/core/types.h"
#include "dist_build.h"

#define WFG_SB_MAX_PENDING (WFG_MAX_TRANS * 2)

struct wfg_sb_trans {
	__u16 state; /* absolute index into cfg->states */
	__u8 event;
	__u16 target;
	__u16 order; /* insertion order, to keep targets in the order given */
	double prob;
};

struct wfg_side_builder {
	struct wfg_side_cfg *cfg;
	__u32 nstates;
	__u32 ndists;
	__u32 npending;
	int failed;
	int finished;
	struct wfg_sb_trans pending[WFG_SB_MAX_PENDING];
	char err[256];
};

/* Machine-wide limits, in Maybenot's units (fractions 0..1, microseconds). */
struct wfg_machine_limits {
	__u64 allowed_padding_packets;
	double max_padding_frac;
	__u64 allowed_blocked_us;
	double max_blocking_frac;
};

/* An action as written in a policy or a Maybenot machine. */
struct wfg_action_spec {
	enum wfg_action_kind kind;
	int bypass, replace;
	int cancel_action, cancel_internal; /* Cancel: which timers */
	struct wfg_dist_spec timeout;	    /* padding, block (µs) */
	struct wfg_dist_spec duration;	    /* block, timer (µs) */
	int has_limit;
	struct wfg_dist_spec limit;
};

/* Zero cfg and start building into it. */
void wfg_sb_init(struct wfg_side_builder *sb, struct wfg_side_cfg *cfg);

/* Side-wide settings (0 fractions = no limit). */
int wfg_sb_side_limits(struct wfg_side_builder *sb, double max_padding_frac,
		       double max_blocking_frac);

/* Start a machine; its states follow. Returns the machine index or -errno. */
int wfg_sb_machine(struct wfg_side_builder *sb, const struct wfg_machine_limits *lim);

/* Add a state to the last machine; returns its index within the machine or -errno. */
int wfg_sb_state(struct wfg_side_builder *sb);

int wfg_sb_action(struct wfg_side_builder *sb, int state, const struct wfg_action_spec *a);

/* Counter update of `state`: counter 0 (A) or 1 (B); value NULL means 1. */
int wfg_sb_counter(struct wfg_side_builder *sb, int state, int counter, enum wfg_counter_op op,
		   int copy, const struct wfg_dist_spec *value);

/* Transition of the last machine: target is a state index, WFG_STATE_END or WFG_STATE_SIGNAL. */
int wfg_sb_trans(struct wfg_side_builder *sb, int state, enum wfg_event ev, __u32 target,
		 double prob);

/* A distribution as a core reference (constant or shared table), values * scale. */
int wfg_sb_dist(struct wfg_side_builder *sb, const struct wfg_dist_spec *spec, double scale,
		struct wfg_dist_ref *ref);

/* Lay out transitions and check the whole side; cfg is usable after 0. */
int wfg_sb_finish(struct wfg_side_builder *sb);

/* Convenience: a distribution that always yields v. */
struct wfg_dist_spec wfg_dist_const(double v);

/* Fraction 0..1 as the core's Q16 (rounded, saturating at 1.0). */
__u32 wfg_frac_q16(double frac);

#endif
