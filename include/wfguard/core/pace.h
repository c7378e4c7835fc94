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
 * One schedule per episode (docs/core.md). It starts at the episode's first
 * real packet sent and ends when the page load has ended: no real packet in
 * either direction for the stop idle time (idle_stop_ns, by default the
 * episode's idle time), min_active_ns run (BuFLO's tau), and, with
 * pad_multiple L (Tamaraw), the slot count padded to a multiple of L by a
 * tail of covers. After the end the next real packet begins a new episode.
 *
 * A spent cover budget does not end the schedule: the slot clock keeps
 * running silently (no covers, no timer), so the rate keeps decaying through
 * pauses and a real packet after one waits for the clock's next slot, as in
 * RegulaTor's reference simulator.
 *
 * Start phase (RegulaTor's, start_packets != 0): from the episode's first
 * real packet, sent or received, one cover every start_interval_ns (outside
 * the budget) until start_packets real packets were sent (the server) or
 * packets received (the client, F_START_ON_RECV); the next one starts the
 * schedule. The server's start-phase packets leave at once: the reference
 * holds them until the packet that ends the phase, whose time EDT cannot
 * know in advance.
 *
 * Follow mode (RegulaTor's client): the slot interval is follow_ratio times
 * the smoothed interval between received packets (real and cover), so the
 * client sends one packet per U received; a slot with nothing received since
 * the last one pauses the clock until the next packet arrives. A real packet
 * takes the next slot if it comes within delay_cap_ns, and otherwise leaves
 * delay_cap_ns after it was sent (the reference's cap C), never before an
 * earlier real packet.
 */
#ifndef WFGUARD_CORE_PACE_H
#define WFGUARD_CORE_PACE_H

#include "types.h"
#include "prng.h"

enum wfg_pace_state {
	WFG_PACE_IDLE = 0, /* no schedule yet in this episode */
	WFG_PACE_RUNNING,
	WFG_PACE_DONE,	   /* the page load ended (and its tail was sent) */
	WFG_PACE_STARTING, /* the start phase: covers at start_interval_ns */
};

/* Follow mode: received intervals beyond this are taken as this (the product stays in 64 bits). */
#define WFG_PACE_MAX_RECV_IV_NS (60ULL * 1000000000ULL)

/* Tamaraw: at most this many extra multiples of L (the reference draws u >= 1e-5). */
#define WFG_PACE_MAX_EXTRA 17

struct wfg_pace_rt {
	__u64 next_slot_ns;
	__u64 started_ns;
	__u64 surge_ns;
	__u64 last_real_ns; /* last real packet sent or received (the page's activity) */
	__u32 slots;	    /* slots used since start, real and cover */
	__u32 covers;	    /* covers requested in this episode */
	__u32 state;	    /* enum wfg_pace_state */
	__u32 surges;
	__u32 budget;	       /* this episode's cover budget (cover_budget != 0) */
	__u32 tail_to;	       /* in the tail: pad until slots reach this; 0 = not in the tail */
	__u32 start_seen;      /* start phase: packets counted toward start_packets */
	__u32 recv_since_slot; /* follow mode: packets received since the last slot */
	__u64 last_recv_ns;    /* follow mode: last packet received (real or cover) */
	__u64 recv_iv_ns;      /* follow mode: smoothed interval between received packets */
	__u64 last_depart_ns;  /* follow mode: latest departure given to a real packet */
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

/* The cover budget is spent: the clock runs on without covers. */
WFG_INLINE int wfg_pace_silent(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p)
{
	return c->cover_budget && p->state == WFG_PACE_RUNNING && p->covers >= p->budget;
}

/* A real packet went either way (the page is still loading); a tail stops. */
WFG_INLINE void wfg_pace_activity(struct wfg_pace_rt *p, __u64 now)
{
	p->last_real_ns = now;
	p->tail_to = 0;
}

WFG_INLINE void wfg_pace_start(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 now,
			       struct wfg_prng *rng)
{
	p->state = WFG_PACE_RUNNING;
	p->started_ns = now;
	p->surge_ns = now;
	p->next_slot_ns = now;
	p->slots = 0;
	p->covers = 0;
	p->tail_to = 0;
	p->budget = c->cover_budget;
	if (c->cover_budget && (c->flags & WFG_PACE_F_BUDGET_UNIFORM))
		p->budget = wfg_rand_below(rng, c->cover_budget);
}

/*
 * The slot a real packet at `now` takes once the clock has passed its next
 * slot silently: the first slot of the clock at or after now (slots one
 * current interval apart; the interval changes only every step_ns).
 */
WFG_INLINE __u64 wfg_pace_clock_slot(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p,
				     __u64 now)
{
	__u64 iv = wfg_pace_interval(c, p, now), behind;

	if (p->next_slot_ns >= now || !iv)
		return p->next_slot_ns > now ? p->next_slot_ns : now;
	behind = now - p->next_slot_ns;
	return p->next_slot_ns + (behind + iv - 1) / iv * iv;
}

/* The episode's first real packet, either way: the start phase or the schedule begins. */
WFG_INLINE void wfg_pace_begin(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 now,
			       struct wfg_prng *rng)
{
	if (!c->start_packets || !c->start_interval_ns) {
		wfg_pace_start(c, p, now, rng);
		return;
	}
	p->state = WFG_PACE_STARTING;
	p->started_ns = now;
	p->surge_ns = now;
	p->next_slot_ns = now;
	p->slots = 0;
	p->covers = 0;
	p->tail_to = 0;
	p->start_seen = 0;
}

/* Follow mode's slot interval: U times the received packets' interval. */
WFG_INLINE __u64 wfg_pace_follow_interval(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p)
{
	__u64 iv;

	if (p->state == WFG_PACE_STARTING)
		return c->start_interval_ns;
	if (!p->recv_iv_ns)
		return c->interval_ns;
	iv = (p->recv_iv_ns * c->follow_ratio_q16) >> 16;
	return iv ? iv : 1;
}

/* The interval from a slot at t to the next one, in any mode and phase. */
WFG_INLINE __u64 wfg_pace_slot_interval(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p,
					__u64 t)
{
	if (c->mode == WFG_PACE_FOLLOW)
		return wfg_pace_follow_interval(c, p);
	if (p->state == WFG_PACE_STARTING)
		return c->start_interval_ns;
	return wfg_pace_interval(c, p, t);
}

/*
 * Follow mode, a real packet at now: the clock's next slot if that comes
 * within the delay cap (a due slot whose timer has not fired is taken now),
 * else now + cap. Never before an earlier real packet's departure, so the
 * flow's packets keep their order.
 */
WFG_INLINE __u64 wfg_pace_follow_real(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p,
				      __u64 now)
{
	__u64 iv = wfg_pace_follow_interval(c, p), slot = p->next_slot_ns, depart;

	if (!iv)
		iv = 1;
	if (slot) {
		if (slot < now)
			slot = now;
		if (slot < p->last_depart_ns)
			slot += (p->last_depart_ns - slot + iv - 1) / iv * iv;
	}
	if (slot && slot - now <= c->delay_cap_ns) {
		depart = slot;
		p->next_slot_ns = slot + iv;
		p->slots++;
		p->recv_since_slot = 0;
	} else {
		depart = now + c->delay_cap_ns;
		if (depart < p->last_depart_ns)
			depart = p->last_depart_ns;
	}
	p->last_depart_ns = depart;
	return depart;
}

/*
 * The start phase on a real packet sent (the server's count): returns 1 while
 * the packet belongs to the phase. The packet after the phase's last starts
 * the schedule.
 */
WFG_INLINE int wfg_pace_start_phase_sent(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p,
					 __u64 now, struct wfg_prng *rng)
{
	if (p->state != WFG_PACE_STARTING || (c->flags & WFG_PACE_F_START_ON_RECV))
		return 0;
	if (p->start_seen < c->start_packets) {
		p->start_seen++;
		return 1;
	}
	wfg_pace_start(c, p, now, rng);
	return 0;
}

/* A real packet sent at `now`: returns its departure time. */
WFG_INLINE __u64 wfg_pace_real(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 now,
			       struct wfg_prng *rng)
{
	__u64 depart;

	wfg_pace_activity(p, now);
	if (c->mode == WFG_PACE_NONE)
		return now;
	if (p->state != WFG_PACE_RUNNING && p->state != WFG_PACE_STARTING) {
		wfg_pace_begin(c, p, now, rng);
	} else if (c->mode == WFG_PACE_DECAY && p->state == WFG_PACE_RUNNING && c->surge_queue_ns &&
		   p->next_slot_ns > now + c->surge_queue_ns) {
		/* Packets already scheduled keep their times (EDT cannot take
		 * them back); the rate from here on restarts at the top. */
		p->surge_ns = now;
		p->surges++;
	}
	if (c->mode == WFG_PACE_FOLLOW)
		return wfg_pace_follow_real(c, p, now);
	if (wfg_pace_start_phase_sent(c, p, now, rng))
		return now;
	if (wfg_pace_silent(c, p))
		depart = wfg_pace_clock_slot(c, p, now);
	else
		depart = p->next_slot_ns > now ? p->next_slot_ns : now;
	p->next_slot_ns = depart + wfg_pace_interval(c, p, depart);
	p->slots++;
	return depart;
}

/*
 * A packet received at `now` (is_padding: a cover of the peer's): a real one
 * may begin the start phase; follow mode measures the received rate, and a
 * paused clock resumes; the client's start phase counts every packet.
 */
WFG_INLINE void wfg_pace_recv(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 now,
			      int is_padding, struct wfg_prng *rng)
{
	int follow = c->mode == WFG_PACE_FOLLOW;
	__u64 gap;

	if (c->mode == WFG_PACE_NONE)
		return;
	if (!is_padding && (follow || c->start_packets) && p->state != WFG_PACE_RUNNING &&
	    p->state != WFG_PACE_STARTING)
		wfg_pace_begin(c, p, now, rng);
	if (follow) {
		if (p->last_recv_ns && now > p->last_recv_ns) {
			gap = now - p->last_recv_ns;
			if (gap > WFG_PACE_MAX_RECV_IV_NS)
				gap = WFG_PACE_MAX_RECV_IV_NS;
			/* An average over about the last 8 packets. */
			p->recv_iv_ns = p->recv_iv_ns
						? p->recv_iv_ns - (p->recv_iv_ns >> 3) + (gap >> 3)
						: gap;
		}
		p->last_recv_ns = now;
		p->recv_since_slot++;
	}
	if (p->state == WFG_PACE_STARTING && (c->flags & WFG_PACE_F_START_ON_RECV)) {
		if (p->start_seen < c->start_packets)
			p->start_seen++;
		else
			p->state = WFG_PACE_RUNNING; /* the clock goes on at the follow rate */
	}
	if (follow && p->state == WFG_PACE_RUNNING && !p->next_slot_ns)
		p->next_slot_ns = now + wfg_pace_follow_interval(c, p);
}

/* The page load is over: idle long enough (either direction) and past tau. */
WFG_INLINE int wfg_pace_page_over(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p,
				  __u64 now, __u64 stop_idle_ns)
{
	if (!stop_idle_ns || now - p->last_real_ns < stop_idle_ns)
		return 0;
	return now - p->started_ns >= c->min_active_ns;
}

/*
 * Tamaraw's tail: the slot count padded to (floor(n / L) + k) * L with k = 1
 * w.p. 1/2, 2 w.p. 1/4, ... (Wang's reference: at least the next multiple,
 * sometimes more, so the padded length hides n within a random multiple);
 * without F_PAD_GEOMETRIC the next multiple at or above n.
 */
WFG_INLINE __u32 wfg_pace_tail_target(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p,
				      struct wfg_prng *rng)
{
	__u32 L = c->pad_multiple, k = 1, r, i;

	if (!(c->flags & WFG_PACE_F_PAD_GEOMETRIC))
		return (p->slots + L - 1) / L * L;
	r = wfg_rand32(rng);
	for (i = 1; i < WFG_PACE_MAX_EXTRA; i++) {
		if (r & 1)
			break;
		r >>= 1;
		k++;
	}
	return (p->slots / L + k) * L;
}

/* Whether the schedule ends at this empty slot (entering Tamaraw's tail if due). */
WFG_INLINE int wfg_pace_ends(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 now,
			     __u64 stop_idle_ns, struct wfg_prng *rng)
{
	if (!p->tail_to) {
		if (!wfg_pace_page_over(c, p, now, stop_idle_ns))
			return 0;
		if (!c->pad_multiple)
			return 1;
		p->tail_to = wfg_pace_tail_target(c, p, rng);
	}
	return p->slots >= p->tail_to;
}

/*
 * The pacer's deadline has come (or any other timer fired): add the covers
 * owed for an empty slot to *covers and return the next deadline, 0 if none.
 */
WFG_INLINE __u64 wfg_pace_timer(const struct wfg_pace_cfg *c, struct wfg_pace_rt *p, __u64 now,
				__u64 stop_idle_ns, struct wfg_prng *rng, __u32 *covers)
{
	if (c->mode == WFG_PACE_NONE || wfg_pace_silent(c, p) || !p->next_slot_ns ||
	    (p->state != WFG_PACE_RUNNING && p->state != WFG_PACE_STARTING))
		return 0;
	if (now < p->next_slot_ns)
		return p->next_slot_ns;
	if (wfg_pace_ends(c, p, now, stop_idle_ns, rng)) {
		p->state = WFG_PACE_DONE;
		return 0;
	}
	if (c->mode == WFG_PACE_FOLLOW && p->state == WFG_PACE_RUNNING && !p->recv_since_slot) {
		/* Nothing came since the last slot: no slot until something does. */
		p->next_slot_ns = 0;
		return 0;
	}
	*covers += 1;
	p->slots++;
	p->recv_since_slot = 0;
	if (p->state == WFG_PACE_RUNNING)
		p->covers++; /* the start phase's covers are outside the budget */
	/* A late timer does not catch up with a burst: one cover, then resync. */
	p->next_slot_ns = now + wfg_pace_slot_interval(c, p, now);
	return wfg_pace_silent(c, p) ? 0 : p->next_slot_ns;
}

/* The pacer's next deadline for the flow's timer; 0 = none. */
WFG_INLINE __u64 wfg_pace_deadline(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p)
{
	if (c->mode == WFG_PACE_NONE || wfg_pace_silent(c, p) ||
	    (p->state != WFG_PACE_RUNNING && p->state != WFG_PACE_STARTING))
		return 0;
	return p->next_slot_ns;
}

/*
 * The schedule of this episode is over: done, or silent (budget spent) and
 * the page idle for the stop time. The next real packet begins a new episode.
 */
WFG_INLINE int wfg_pace_over(const struct wfg_pace_cfg *c, const struct wfg_pace_rt *p, __u64 now,
			     __u64 stop_idle_ns)
{
	if (c->mode == WFG_PACE_NONE)
		return 0;
	if (p->state == WFG_PACE_DONE)
		return 1;
	return p->state == WFG_PACE_RUNNING && wfg_pace_silent(c, p) &&
	       wfg_pace_page_over(c, p, now, stop_idle_ns);
}

#endif /* WFGUARD_CORE_PACE_H */
