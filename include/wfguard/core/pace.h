/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Pacing: a departure schedule of slots (BuFLO, Tamaraw, RegulaTor).
 *
 * A real packet takes the next free slot: it departs at max(now, next_slot)
 * (EDT) and the slot after it is one interval later. A slot that passes with
 * no real packet in it becomes a cover request. Constant mode keeps a fixed
 * interval; decay mode reads the interval from a table indexed by the time
 * since the last surge, so a rate like R * D^t (RegulaTor) is precomputed by
 * the controller and the core only does integer lookups. A surge restarts the
 * table when the queue of scheduled-but-not-departed packets would take
 * surge_queue_ns to drain (RegulaTor: more than T seconds' worth of packets at
 * the current rate).
 *
 * The pacer stops (no more covers, no timer) at an empty slot once the flow
 * has been idle for idle_stop_ns, has run for min_active_ns (BuFLO's tau) and
 * its slot count is a multiple of pad_multiple (Tamaraw's L); or when its
 * cover budget is spent. The next real packet starts a new schedule.
 */
#ifndef WFGUARD_CORE_PACE_H
#define WFGUARD_CORE_PACE_H

#include "types.h"

enum wfg_pace_state {
	WFG_PACE_IDLE = 0,
	WFG_PACE_RUNNING,
};

struct wfg_pace_rt {
	__u64 next_slot_ns;
	__u64 started_ns;
	__u64 surge_ns;
	__u64 last_real_ns;
	__u32 slots;  /* slots used since start, real and cover */
	__u32 covers; /* covers requested in this episode */
	__u32 state;  /* enum wfg_pace_state */
	__u32 surges;
};

WFG_INLINE __u64 wfg_pace_interval(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p,
				   __u64 t)
{
	__u64 k;

	if (c->mode != WFG_PACE_DECAY)
		return c->interval_ns;
	if (!c->step_ns || t < p->surge_ns)
		return c->interval_at[0];
	k = (t - p->surge_ns) / c->step_ns;
	if (k >= WFG_PACE_STEPS)
		k = WFG_PACE_STEPS - 1;
	return c->interval_at[k];
}

/* Scheduled packets not yet departed at `now` (the fq backlog this flow holds). */
WFG_INLINE __u64 wfg_pace_backlog(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p,
				  __u64 now)
{
	__u64 iv;

	if (p->next_slot_ns <= now)
		return 0;
	iv = wfg_pace_interval(c, p, now);
	return iv ? (p->next_slot_ns - now) / iv : 0;
}

/* A real packet at `now`: returns its departure time. */
WFG_INLINE __u64 wfg_pace_real(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 now)
{
	__u64 depart;

	if (c->mode == WFG_PACE_NONE)
		return now;
	if (p->state != WFG_PACE_RUNNING) {
		p->state = WFG_PACE_RUNNING;
		p->started_ns = now;
		p->surge_ns = now;
		p->next_slot_ns = now;
		p->slots = 0;
	} else if (c->mode == WFG_PACE_DECAY && c->surge_queue_ns &&
		   p->next_slot_ns >= now + c->surge_queue_ns) {
		/* Packets already scheduled keep their times (EDT cannot take
		 * them back); the rate from here on restarts at the top. */
		p->surge_ns = now;
		p->surges++;
	}
	depart = p->next_slot_ns > now ? p->next_slot_ns : now;
	p->next_slot_ns = depart + wfg_pace_interval(c, p, depart);
	p->slots++;
	p->last_real_ns = now;
	return depart;
}

WFG_INLINE int wfg_pace_may_stop(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p,
				 __u64 now)
{
	if (now - p->last_real_ns < c->idle_stop_ns)
		return 0;
	if (now - p->started_ns < c->min_active_ns)
		return 0;
	if (c->pad_multiple && p->slots % c->pad_multiple)
		return 0;
	return 1;
}

/*
 * The pacer's deadline has come (or any other timer fired): add the covers
 * owed for an empty slot to *covers and return the next deadline, 0 if none.
 */
WFG_INLINE __u64 wfg_pace_timer(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 now,
				__u32 *covers)
{
	if (c->mode == WFG_PACE_NONE || p->state != WFG_PACE_RUNNING)
		return 0;
	if (now < p->next_slot_ns)
		return p->next_slot_ns;
	if (wfg_pace_may_stop(c, p, now) || (c->cover_budget && p->covers >= c->cover_budget)) {
		p->state = WFG_PACE_IDLE;
		return 0;
	}
	*covers += 1;
	p->covers++;
	p->slots++;
	/* A late timer does not catch up with a burst: one cover, then resync. */
	p->next_slot_ns = now + wfg_pace_interval(c, p, now);
	return p->next_slot_ns;
}

#endif /* WFGUARD_CORE_PACE_H */
