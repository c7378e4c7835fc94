/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maybenot v2 machines: the framework half (events -> transitions -> actions).
 *
 * This follows maybenot 2.1's Framework::trigger_events for one event at a
 * time (as its simulator feeds it): every machine sees the event, transitions
 * with one draw, runs its counter updates (CounterZero at most once per counter
 * per call), may schedule its new state's action subject to limits, and the
 * last action a machine produced in the call wins. A pending Signal is then
 * delivered once. The integrator half (timers, blocking, covers) lives in
 * flow.h; docs/core.md states both, and where they differ from Rust.
 *
 * Maybenot's transition recursion (a counter reaching zero runs a CounterZero
 * transition before the outer one schedules its action) is unrolled into a
 * constant-depth loop: the verifier allows no recursion, and the zeroed-once
 * rule bounds the depth at three transitions.
 */
#ifndef WFGUARD_CORE_MACHINE_H
#define WFGUARD_CORE_MACHINE_H

#include "types.h"
#include "prng.h"
#include "dist.h"

#define WFG_U64_MAX (~0ULL)

/* What a machine asked for during one event (Maybenot's TriggerAction). */
struct wfg_action_out {
	__u8 kind; /* enum wfg_action_kind; NONE = no output */
	__u8 flags;
	__u8 _pad[6];
	__u64 timeout_ns;
	__u64 duration_ns;
};

struct wfg_machine_rt {
	__u32 state; /* index within the machine, or WFG_STATE_END */
	__u32 _pad;
	__u64 limit; /* actions left in this state (Maybenot's state_limit) */
	__u64 counter[2];
	__u64 padding_sent;
	__u64 normal_sent;
	__u64 blocked_ns; /* blocking observed while this machine ran */
	__u64 start_ns;
	/* integrator: the action timer and the internal timer */
	__u64 action_at_ns; /* 0 = none pending */
	__u64 action_dur_ns;
	__u8 action_kind; /* WFG_ACT_PADDING or WFG_ACT_BLOCK */
	__u8 action_flags;
	__u8 _pad2[6];
	__u64 timer_end_ns;	   /* 0 = not running */
	struct wfg_action_out out; /* this call's output */
};

/* Framework-wide (one side of a flow) accounting. */
struct wfg_fw_rt {
	__u64 normal_sent;
	__u64 padding_sent;
	__u64 blocked_ns;
	__u64 blocking_started_ns;
	__u64 start_ns;
	__u8 blocking_active;
	__u8 zeroed_once; /* bit 0: counter A, bit 1: counter B (this call) */
	__u8 signal;	  /* 0 none, 1 all except signal_from, 2 all */
	__u8 signal_from;
	__u32 _pad;
};

/* The machines of one flow side with what they share: the stream and the framework. */
struct wfg_machines_rt {
	struct wfg_prng rng;
	struct wfg_fw_rt fw;
	struct wfg_machine_rt m[WFG_MAX_MACHINES];
};

enum wfg_trans_result {
	WFG_UNCHANGED = 0,
	WFG_CHANGED = 1,
};

WFG_INLINE const struct wfg_state *wfg_state_of(const struct wfg_side_cfg *cfg, __u32 mi,
						__u32 state)
{
	const struct wfg_machine_cfg *mc;
	__u32 idx;

	if (mi >= WFG_MAX_MACHINES)
		return 0;
	mc = &cfg->machines[WFG_IDX(mi, WFG_MAX_MACHINES)];
	if (state >= mc->state_count)
		return 0;
	idx = mc->state_first + state;
	if (idx >= WFG_MAX_STATES)
		return 0;
	return &cfg->states[WFG_IDX(idx, WFG_MAX_STATES)];
}

/* Microseconds from a distribution, as nanoseconds. */
WFG_INLINE __u64 wfg_sample_ns(const struct wfg_side_cfg *cfg, const struct wfg_dist_ref *ref,
			       struct wfg_prng *rng)
{
	return (__u64)wfg_dist_sample_reserved(cfg, ref, rng) * 1000;
}

/* Draw the next state for `ev`, or -1 for "no transition". */
WFG_INLINE int wfg_pick_target(const struct wfg_side_cfg *cfg, const struct wfg_state *st, __u32 ev,
			       struct wfg_prng *rng, __u32 *target)
{
	__u32 first, count, r, i;

	if (ev >= WFG_EV_COUNT)
		return -1;
	count = st->trans_count[WFG_IDX(ev, WFG_EV_SLOTS)];
	if (!count)
		return -1; /* no draw, like Maybenot */
	first = st->trans_first[WFG_IDX(ev, WFG_EV_SLOTS)];
	r = wfg_rand32_reserved(rng);
	for (i = 0; i < WFG_MAX_TARGETS; i++) {
		const struct wfg_trans *t;

		if (i >= count || first + i >= WFG_MAX_TRANS)
			break;
		t = &cfg->trans[WFG_IDX(first + i, WFG_MAX_TRANS)];
		if (r <= t->cum_max) {
			*target = t->target;
			return 0;
		}
	}
	return -1;
}

WFG_INLINE int wfg_below_padding_limits(const struct wfg_side_cfg *cfg,
					const struct wfg_machine_cfg *mc,
					const struct wfg_machine_rt *m, const struct wfg_fw_rt *fw)
{
	__u64 tot;

	if (m->padding_sent < mc->allowed_padding_packets)
		return m->limit > 0;
	if (mc->max_padding_frac) {
		tot = m->normal_sent + m->padding_sent;
		if (!tot)
			return 1;
		/* padding / tot >= frac, in Q16 without division */
		if ((m->padding_sent << 16) >= (__u64)mc->max_padding_frac * tot)
			return 0;
	}
	if (cfg->max_padding_frac) {
		tot = fw->normal_sent + fw->padding_sent;
		if (!tot)
			return 1;
		if ((fw->padding_sent << 16) >= (__u64)cfg->max_padding_frac * tot)
			return 0;
	}
	return m->limit > 0;
}

WFG_INLINE int wfg_below_blocking_limits(const struct wfg_side_cfg *cfg,
					 const struct wfg_machine_cfg *mc,
					 const struct wfg_machine_rt *m, const struct wfg_fw_rt *fw,
					 const struct wfg_action *a, __u64 now)
{
	__u64 mdur = m->blocked_ns, gdur = fw->blocked_ns, run;

	if ((a->flags & WFG_ACT_F_REPLACE) && fw->blocking_active)
		return m->limit > 0;
	if (fw->blocking_active && now > fw->blocking_started_ns) {
		mdur += now - fw->blocking_started_ns;
		gdur += now - fw->blocking_started_ns;
	}
	if (mdur / 1000 < mc->allowed_blocked_us)
		return m->limit > 0;
	/* Fractions compared on microseconds so that the Q16 product fits 64 bits. */
	run = now > m->start_ns ? (now - m->start_ns) / 1000 : 0;
	if (mc->max_blocking_frac && ((mdur / 1000) << 16) >= (__u64)mc->max_blocking_frac * run)
		return 0;
	run = now > fw->start_ns ? (now - fw->start_ns) / 1000 : 0;
	if (cfg->max_blocking_frac && ((gdur / 1000) << 16) >= (__u64)cfg->max_blocking_frac * run)
		return 0;
	return m->limit > 0;
}

WFG_INLINE int wfg_below_action_limits(const struct wfg_side_cfg *cfg, __u32 mi,
				       const struct wfg_state *st, const struct wfg_machine_rt *m,
				       const struct wfg_fw_rt *fw, __u64 now)
{
	const struct wfg_machine_cfg *mc = &cfg->machines[WFG_IDX(mi, WFG_MAX_MACHINES)];

	switch (st->action.kind) {
	case WFG_ACT_CANCEL:
		return 1;
	case WFG_ACT_UPDATE_TIMER:
		return m->limit > 0;
	case WFG_ACT_PADDING:
		return wfg_below_padding_limits(cfg, mc, m, fw);
	case WFG_ACT_BLOCK:
		return wfg_below_blocking_limits(cfg, mc, m, fw, &st->action, now);
	default:
		return 0;
	}
}

WFG_INLINE __u64 wfg_sample_limit(const struct wfg_side_cfg *cfg, const struct wfg_state *st,
				  struct wfg_prng *rng)
{
	if (st->action.kind == WFG_ACT_NONE)
		return WFG_U64_MAX;
	if (!(st->action.flags & WFG_ACT_F_LIMIT))
		return WFG_U64_MAX;
	return wfg_dist_sample_reserved(cfg, &st->action.limit, rng);
}

/* Counter updates of the state just entered; returns 1 when a counter hit zero. */
WFG_INLINE int wfg_update_counters(const struct wfg_side_cfg *cfg, const struct wfg_state *st,
				   struct wfg_machine_rt *m, struct wfg_fw_rt *fw,
				   struct wfg_prng *rng)
{
	__u64 before[2] = { m->counter[0], m->counter[1] };
	int zero = 0, c;

	/* Unrolled in BPF: clang 14 lays this loop out so that its back edge is
	 * not a jump, which the 6.1 verifier rejects (6.4+ accepts it). */
#ifdef __bpf__
#pragma unroll
#endif
	for (c = 0; c < 2; c++) {
		const struct wfg_counter_update *u = &st->counter[c];
		__u64 v, old = m->counter[c];

		if (u->op == WFG_CTR_NONE)
			continue;
		v = u->copy ? before[(c + 1) & 1] : wfg_dist_sample_reserved(cfg, &u->value, rng);
		if (u->op == WFG_CTR_INCREMENT)
			m->counter[c] = old + v < old ? WFG_U64_MAX : old + v;
		else if (u->op == WFG_CTR_DECREMENT)
			m->counter[c] = old > v ? old - v : 0;
		else
			m->counter[c] = v;
		if (old && !m->counter[c] && !(fw->zeroed_once & (1 << c))) {
			fw->zeroed_once |= (__u8)(1 << c);
			zero = 1;
		}
	}
	return zero;
}

WFG_INLINE void wfg_schedule_action(const struct wfg_side_cfg *cfg, const struct wfg_state *st,
				    struct wfg_machine_rt *m, struct wfg_prng *rng)
{
	const struct wfg_action *a = &st->action;
	struct wfg_action_out *o = &m->out;

	o->kind = a->kind;
	o->flags = a->flags;
	o->timeout_ns = 0;
	o->duration_ns = 0;
	if (a->kind == WFG_ACT_PADDING || a->kind == WFG_ACT_BLOCK)
		o->timeout_ns = wfg_sample_ns(cfg, &a->timeout, rng);
	if (a->kind == WFG_ACT_BLOCK || a->kind == WFG_ACT_UPDATE_TIMER)
		o->duration_ns = wfg_sample_ns(cfg, &a->duration, rng);
}

#define WFG_TRANS_DEPTH 3 /* an event, then CounterZero at most twice (A, B) */
/* Per level: target, limit, counters A and B, timeout, duration. */
#define WFG_TRANSITION_DRAWS (WFG_TRANS_DEPTH * 6)

/*
 * Maybenot's transition(mi, ev), recursion unrolled: walk down while entered
 * states zero a counter, remembering each level's (state, below-limits); then
 * unwind, letting each level schedule its state's action if nothing deeper did.
 */
WFG_GLOBAL int wfg_transition(const struct wfg_side_cfg *cfg, struct wfg_machines_rt *mr, __u32 mi,
			      __u32 ev, __u64 now)
{
	__u32 lvl_state[WFG_TRANS_DEPTH];
	__u8 lvl_below[WFG_TRANS_DEPTH], lvl_changed[WFG_TRANS_DEPTH];
	int depth = 0, d, result = WFG_UNCHANGED;
	struct wfg_machine_rt *m;
	struct wfg_prng *rng;
	struct wfg_fw_rt *fw;

	if (!cfg || !mr || mi >= WFG_MAX_MACHINES)
		return WFG_UNCHANGED;
	m = &mr->m[WFG_IDX(mi, WFG_MAX_MACHINES)];
	rng = &mr->rng;
	fw = &mr->fw;
	/* Every draw below comes from words secured here: no call mid-way. */
	wfg_prng_reserve(rng, WFG_TRANSITION_DRAWS);

	for (d = 0; d < WFG_TRANS_DEPTH; d++) {
		const struct wfg_state *st, *next;
		__u32 target, old = m->state;

		if (old == WFG_STATE_END)
			break;
		st = wfg_state_of(cfg, mi, old);
		if (!st || wfg_pick_target(cfg, st, ev, rng, &target))
			break;
		if (target == WFG_STATE_END) {
			m->state = WFG_STATE_END;
			result = WFG_CHANGED; /* seen by the level above, if any */
			break;
		}
		if (target == WFG_STATE_SIGNAL) {
			if (!fw->signal) {
				fw->signal = 1;
				fw->signal_from = (__u8)mi;
			} else {
				fw->signal = 2;
			}
			break;
		}
		next = wfg_state_of(cfg, mi, target);
		if (!next)
			break; /* validated away by the controller; stay put */
		if (target != old) {
			m->state = target;
			m->limit = wfg_sample_limit(cfg, next, rng);
		}
		lvl_state[d] = target;
		lvl_below[d] = (__u8)wfg_below_action_limits(cfg, mi, next, m, fw, now);
		lvl_changed[d] = target != old;
		depth = d + 1;
		if (!wfg_update_counters(cfg, next, m, fw, rng))
			break;
		ev = WFG_EV_COUNTER_ZERO;
	}

	/* Unwind: the deepest level always may schedule; outer ones only if the
	 * levels below left the output slot empty. */
	for (d = WFG_TRANS_DEPTH - 1; d >= 0; d--) {
		const struct wfg_state *st;

		if (d >= depth)
			continue;
		if (d == depth - 1 || m->out.kind == WFG_ACT_NONE) {
			st = wfg_state_of(cfg, mi, lvl_state[d]);
			if (st && lvl_below[d] && st->action.kind != WFG_ACT_NONE)
				wfg_schedule_action(cfg, st, m, rng);
		}
		/* A level is Changed if its state changed or the level below was. */
		if (lvl_changed[d] || result == WFG_CHANGED)
			result = WFG_CHANGED;
		else
			result = WFG_UNCHANGED;
		if (d == 0)
			break;
	}
	return result;
}

/* A limit-bearing action happened (PaddingSent, BlockingBegin, TimerBegin). */
WFG_INLINE void wfg_decrement_limit(const struct wfg_side_cfg *cfg, struct wfg_machines_rt *mr,
				    __u32 mi, __u64 now)
{
	struct wfg_machine_rt *m = &mr->m[WFG_IDX(mi, WFG_MAX_MACHINES)];
	const struct wfg_state *st;

	if (m->state == WFG_STATE_END)
		return;
	if (m->limit)
		m->limit--;
	st = wfg_state_of(cfg, mi, m->state);
	if (!st || !(st->action.flags & WFG_ACT_F_LIMIT) || st->action.kind == WFG_ACT_NONE ||
	    st->action.kind == WFG_ACT_CANCEL || m->limit)
		return;
	m->out.kind = WFG_ACT_NONE;
	wfg_transition(cfg, mr, mi, WFG_EV_LIMIT_REACHED, now);
}

#endif /* WFGUARD_CORE_MACHINE_H */
