/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One side of a defended flow: the integrator around the machines, plus size
 * shaping, pacing and FRONT. This is the core's public API.
 *
 *   wfg_flow_init()   once, when the flow is created
 *   wfg_on_send()     a datagram leaves through this side (real, or a cover carrier)
 *   wfg_on_recv()     a datagram arrived from the peer (after the shim is checked)
 *   wfg_on_timer()    the deadline in the last decision has come
 *
 * Each returns its decision in struct wfg_decision: what to do with the packet
 * in hand (pad to, depart at), covers to send now, and the next deadline at
 * which wfg_on_timer() must run. Callers that must bound per-call work (BPF,
 * with bpf_loop) use the split form: wfg_begin_send/recv/timer(), then
 * wfg_step() until it returns 0, then wfg_finish().
 *
 * Time is nanoseconds on one monotonic clock (bpf_ktime_get_ns in the kernel,
 * the replay clock in the harness). A time of 0 means "none" in every deadline
 * field, so callers start their clocks above 0.
 */
#ifndef WFGUARD_CORE_FLOW_H
#define WFGUARD_CORE_FLOW_H

#include "types.h"
#include "prng.h"
#include "dist.h"
#include "shape.h"
#include "pace.h"
#include "front.h"
#include "machine.h"

#define WFG_MACHINE_ALL 0xff /* event for every machine */
#define WFG_MAX_STEPS	48   /* work units per call; more is reported, not done */

struct wfg_flow_side {
	struct wfg_machines_rt mr; /* machines, framework state, the flow's stream */
	struct wfg_pace_rt pace;
	struct wfg_front_rt front;
	__u64 block_until_ns;	   /* outgoing packets wait until then; 0 = not blocked */
	__u64 last_real_depart_ns; /* latest departure given to a real packet */
	__u64 last_real_ns;	   /* last real packet sent or received (episodes) */
	__u32 episodes;		   /* episodes begun, the first included */
	__u32 defence;		   /* a pool policy: the pool entry this episode runs (defpool.h) */
	__u8 block_bypassable;
	__u8 block_end_pending; /* BlockingEnd still owed */
	__u8 evq_head;
	__u8 evq_len;
	__u8 episode_drawn; /* wfg_defpool_turn() drew the next episode's defence: begin it */
	__u8 _pad[3];
	__u8 evq_ev[WFG_EVQ_LEN];
	__u8 evq_mi[WFG_EVQ_LEN];
};

/* Decision flags */
#define WFG_DEC_BLOCKED	  0x01 /* the packet waits for blocking to end */
#define WFG_DEC_PACED	  0x02 /* the packet waits for its pacing slot */
#define WFG_DEC_UNSHAPED  0x04 /* shaping wanted more than the size limit allows */
#define WFG_DEC_REPLACED  0x08 /* a padding action was replaced by a queued packet */
#define WFG_DEC_TRUNCATED 0x10 /* work left over (event queue full or step budget) */
#define WFG_DEC_EPISODE	  0x20 /* this packet began a new episode (not the flow's first) */

struct wfg_decision {
	__u64 now_ns;
	__u64 depart_ns;     /* send/cover: departure time (EDT); now when not held */
	__u64 timer_ns;	     /* next deadline for wfg_on_timer(); 0 = none */
	__u32 pad_to;	     /* send/cover: length to pad the packet in hand to */
	__u32 covers;	     /* cover packets to send now (machines, pacer, FRONT) */
	__u8 cover_machines; /* bit i: machine i's padding is among the covers */
	__u8 cover_bypass;   /* bit i: machine i's cover may bypass blocking */
	__u16 flags;	     /* WFG_DEC_* */
	__u32 events;	     /* machine events processed (for counters) */
};

enum wfg_send_kind {
	WFG_SEND_REAL = 0,
	WFG_SEND_COVER, /* a cover requested earlier, now on its way out */
};

/*
 * The core's entry points, numbered once: the data path's core_decide(), the
 * kernel test program core_check and the harness's replay log all name a core
 * call by this (wfg_begin(), wfg_on()).
 */
enum wfg_core_op {
	WFG_OP_SEND_REAL = 0, /* a real packet leaves */
	WFG_OP_SEND_COVER,    /* a requested cover leaves (flags: its cover flags) */
	WFG_OP_RECV_NORMAL,   /* a real packet from the peer */
	WFG_OP_RECV_PADDING,  /* a cover from the peer */
	WFG_OP_TIMER,	      /* the last decision's deadline has come */
	WFG_OP__COUNT
};

/* ------------------------------------------------------------ event queue */

WFG_INLINE void wfg_push_event(struct wfg_flow_side *f, struct wfg_decision *d, __u8 ev, __u8 mi)
{
	__u32 slot;

	if (f->evq_len >= WFG_EVQ_LEN) {
		d->flags |= WFG_DEC_TRUNCATED;
		return;
	}
	slot = (__u32)f->evq_head + f->evq_len;
	f->evq_ev[WFG_IDX(slot, WFG_EVQ_LEN)] = ev;
	f->evq_mi[WFG_IDX(slot, WFG_EVQ_LEN)] = mi;
	f->evq_len++;
}

/* ------------------------------------------------------- framework events */

/* Apply what machine mi asked for during this event (the integrator's side). */
WFG_INLINE void wfg_apply_output(struct wfg_flow_side *f, __u32 mi, __u64 now,
				 struct wfg_decision *d)
{
	struct wfg_machine_rt *m = &f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)];
	struct wfg_action_out *o = &m->out;
	__u64 end;

	switch (o->kind) {
	case WFG_ACT_CANCEL:
		if (o->flags & WFG_CANCEL_ACTION)
			m->action_kind = WFG_ACT_NONE;
		if (o->flags & WFG_CANCEL_INTERNAL)
			m->timer_end_ns = 0;
		break;
	case WFG_ACT_PADDING:
	case WFG_ACT_BLOCK:
		/* One action timer per machine: the new one replaces the old. */
		m->action_kind = o->kind;
		m->action_flags = o->flags;
		m->action_at_ns = now + o->timeout_ns;
		m->action_dur_ns = o->duration_ns;
		break;
	case WFG_ACT_UPDATE_TIMER:
		end = m->timer_end_ns ? m->timer_end_ns : now;
		if ((o->flags & WFG_ACT_F_REPLACE) || end < now + o->duration_ns) {
			m->timer_end_ns = now + o->duration_ns;
			wfg_push_event(f, d, WFG_EV_TIMER_BEGIN, (__u8)mi);
		}
		break;
	default:
		break;
	}
	o->kind = WFG_ACT_NONE;
}

/* One trigger_events([ev]) of Maybenot, for machine `target` or all machines. */
WFG_INLINE void wfg_process_event(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u32 ev,
				  __u32 target, __u64 now, struct wfg_decision *d)
{
	struct wfg_fw_rt *fw = &f->mr.fw;
	__u32 mi, n = cfg->nmachines;

	fw->zeroed_once = 0;
	fw->signal = 0;
	for (mi = 0; mi < WFG_MAX_MACHINES; mi++)
		f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)].out.kind = WFG_ACT_NONE;

	switch (ev) {
	case WFG_EV_NORMAL_SENT:
		fw->normal_sent++;
		for (mi = 0; mi < WFG_MAX_MACHINES; mi++)
			f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)].normal_sent++;
		break;
	case WFG_EV_PADDING_SENT:
		fw->padding_sent++;
		if (target < WFG_MAX_MACHINES)
			f->mr.m[WFG_IDX(target, WFG_MAX_MACHINES)].padding_sent++;
		break;
	case WFG_EV_BLOCKING_BEGIN:
		if (!fw->blocking_active) {
			fw->blocking_active = 1;
			fw->blocking_started_ns = now;
		}
		break;
	case WFG_EV_BLOCKING_END:
		if (fw->blocking_active) {
			__u64 b = now > fw->blocking_started_ns ? now - fw->blocking_started_ns : 0;

			fw->blocked_ns += b;
			for (mi = 0; mi < WFG_MAX_MACHINES; mi++)
				f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)].blocked_ns += b;
			fw->blocking_active = 0;
		}
		break;
	default:
		break;
	}

	for (mi = 0; mi < WFG_MAX_MACHINES; mi++) {
		int res;

		if (mi >= n)
			break;
		/* PaddingSent, TimerBegin and TimerEnd go to their machine only. */
		if ((ev == WFG_EV_PADDING_SENT || ev == WFG_EV_TIMER_BEGIN ||
		     ev == WFG_EV_TIMER_END) &&
		    mi != target)
			continue;
		d->events++;
		res = wfg_transition(cfg, &f->mr, mi, ev, now);
		/* A limit counts actions only while the machine stays where it is. */
		if (mi == target && res == WFG_UNCHANGED &&
		    (ev == WFG_EV_PADDING_SENT || ev == WFG_EV_BLOCKING_BEGIN ||
		     ev == WFG_EV_TIMER_BEGIN))
			wfg_decrement_limit(cfg, &f->mr, mi, now);
	}

	/* A Signal reaches every other machine once per call; a second signal
	 * raised meanwhile reaches the sender too, then further ones are dropped. */
	if (fw->signal) {
		__u32 from = fw->signal == 1 ? fw->signal_from : WFG_MACHINE_ALL;

		fw->signal = 0;
		for (mi = 0; mi < WFG_MAX_MACHINES; mi++) {
			if (mi >= n)
				break;
			if (mi == from)
				continue;
			d->events++;
			wfg_transition(cfg, &f->mr, mi, WFG_EV_SIGNAL, now);
		}
		if (fw->signal && from < WFG_MAX_MACHINES) {
			d->events++;
			wfg_transition(cfg, &f->mr, from, WFG_EV_SIGNAL, now);
		}
		fw->signal = 0;
	}

	for (mi = 0; mi < WFG_MAX_MACHINES; mi++) {
		if (mi >= n)
			break;
		wfg_apply_output(f, mi, now, d);
	}
}

/* ---------------------------------------------------------- due timers */

/* Is a real packet waiting in the egress queue (held by blocking or pacing)? */
WFG_INLINE int wfg_real_queued(const struct wfg_flow_side *f, __u64 now)
{
	return f->last_real_depart_ns > now;
}

WFG_INLINE int wfg_blocking(const struct wfg_flow_side *f, __u64 now)
{
	return f->block_until_ns > now;
}

WFG_INLINE void wfg_fire_padding(struct wfg_flow_side *f, __u32 mi, __u8 flags, __u64 now,
				 struct wfg_decision *d)
{
	int bypass = (flags & WFG_ACT_F_BYPASS) && wfg_blocking(f, now) && f->block_bypassable;

	/* PaddingSent is due when the padding is queued, replaced or not. */
	wfg_push_event(f, d, WFG_EV_PADDING_SENT, (__u8)mi);
	if ((flags & WFG_ACT_F_REPLACE) && wfg_real_queued(f, now) && !bypass) {
		d->flags |= WFG_DEC_REPLACED;
		return;
	}
	/* With bypass the queued real packet would jump the blocking in Maybenot;
	 * EDT cannot move a packet already scheduled, so the cover goes instead. */
	d->covers++;
	d->cover_machines |= (__u8)(1u << mi);
	if (flags & WFG_ACT_F_BYPASS)
		d->cover_bypass |= (__u8)(1u << mi);
}

WFG_INLINE void wfg_fire_block(struct wfg_flow_side *f, __u32 mi, const struct wfg_machine_rt *m,
			       __u64 now, struct wfg_decision *d)
{
	__u64 end = now + m->action_dur_ns;

	if ((m->action_flags & WFG_ACT_F_REPLACE) || end > f->block_until_ns) {
		/* EDT cannot pull back packets already given the old end. */
		f->block_until_ns = end;
		f->block_bypassable = (m->action_flags & WFG_ACT_F_BYPASS) ? 1 : 0;
		f->block_end_pending = 1;
	}
	wfg_push_event(f, d, WFG_EV_BLOCKING_BEGIN, (__u8)mi);
}

/* How long without real packets ends a page load for the pacer (docs/core.md). */
WFG_INLINE __u64 wfg_pace_stop_idle(const struct wfg_side_cfg *cfg)
{
	return cfg->pace.idle_stop_ns ? cfg->pace.idle_stop_ns : cfg->episode_idle_ns;
}

/* The episode's page load is over: no real packet either way for the episode's idle time. */
WFG_INLINE int wfg_episode_over(const struct wfg_side_cfg *cfg, const struct wfg_flow_side *f,
				__u64 now)
{
	return cfg->episode_idle_ns && f->last_real_ns && now >= f->last_real_ns &&
	       now - f->last_real_ns >= cfg->episode_idle_ns;
}

/* Fire every action, timer and schedule whose time has come; returns 1 if any did. */
WFG_INLINE int wfg_fire_due(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now,
			    struct wfg_decision *d)
{
	__u32 mi, covers = 0;
	int fired = 0;

	for (mi = 0; mi < WFG_MAX_MACHINES; mi++) {
		struct wfg_machine_rt *m = &f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)];

		if (mi >= cfg->nmachines)
			break;
		if (m->action_kind != WFG_ACT_NONE && m->action_at_ns <= now) {
			__u8 kind = m->action_kind;

			m->action_kind = WFG_ACT_NONE;
			if (kind == WFG_ACT_PADDING)
				wfg_fire_padding(f, mi, m->action_flags, now, d);
			else
				wfg_fire_block(f, mi, m, now, d);
			fired = 1;
		}
		if (m->timer_end_ns && m->timer_end_ns <= now) {
			m->timer_end_ns = 0;
			wfg_push_event(f, d, WFG_EV_TIMER_END, (__u8)mi);
			fired = 1;
		}
	}
	if (f->block_end_pending && f->block_until_ns <= now) {
		f->block_end_pending = 0;
		wfg_push_event(f, d, WFG_EV_BLOCKING_END, WFG_MACHINE_ALL);
		fired = 1;
	}
	wfg_pace_timer(&cfg->pace, &f->pace, now, wfg_pace_stop_idle(cfg), &f->mr.rng, &covers);
	if (wfg_episode_over(cfg, f, now))
		wfg_front_stop(&f->front);
	wfg_front_timer(cfg, &f->front, &f->mr.rng, now, &covers);
	/* Schedule covers are padding for the framework-wide budget too. */
	f->mr.fw.padding_sent += covers;
	d->covers += covers;
	return fired;
}

/* Earliest time at which wfg_on_timer() has work; 0 = none. */
WFG_INLINE __u64 wfg_next_deadline(const struct wfg_side_cfg *cfg, const struct wfg_flow_side *f)
{
	__u64 t = 0, c;
	__u32 mi;

#define WFG_EARLIEST(x)                 \
	do {                            \
		c = (x);                \
		if (c && (!t || c < t)) \
			t = c;          \
	} while (0)

	for (mi = 0; mi < WFG_MAX_MACHINES; mi++) {
		if (mi >= cfg->nmachines)
			break;
		if (f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)].action_kind != WFG_ACT_NONE)
			WFG_EARLIEST(f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)].action_at_ns);
		WFG_EARLIEST(f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)].timer_end_ns);
	}
	if (f->block_end_pending)
		WFG_EARLIEST(f->block_until_ns);
	WFG_EARLIEST(wfg_pace_deadline(&cfg->pace, &f->pace));
	WFG_EARLIEST(f->front.next_ns);
#undef WFG_EARLIEST
	return t;
}

/* ------------------------------------------------------------ public API */

/*
 * The machines from their start states: Maybenot samples state 0's limit up
 * front; no action fires until a transition enters a state.
 */
WFG_INLINE void wfg_machines_start(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f,
				   __u64 now)
{
	__u32 mi;

	f->mr.fw.start_ns = now;
	wfg_prng_reserve(&f->mr.rng, WFG_MAX_MACHINES); /* the limits below */
	for (mi = 0; mi < WFG_MAX_MACHINES; mi++) {
		const struct wfg_state *s0 = wfg_state_of(cfg, mi, 0);

		f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)].start_ns = now;
		f->mr.m[WFG_IDX(mi, WFG_MAX_MACHINES)].limit =
			s0 && s0->action.kind != WFG_ACT_NONE
				? wfg_sample_limit(cfg, s0, &f->mr.rng)
				: 0;
	}
}

/*
 * A flow in two steps, for callers that choose the configuration from the
 * flow's own stream (a pool, defpool.h): wfg_flow_seed() keys the stream,
 * wfg_flow_start() starts the defence cfg. wfg_flow_init() does both.
 * key: 256 bits of per-flow key material (random in production); stream: a
 * flow identifier, so two flows keyed alike still draw different streams.
 */
WFG_INLINE void wfg_flow_seed(struct wfg_flow_side *f, const __u32 key[8], __u64 stream)
{
	__builtin_memset(f, 0, sizeof(*f));
	wfg_prng_init_key(&f->mr.rng, key, stream);
	f->episodes = 1;
}

WFG_INLINE void wfg_flow_start(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now)
{
	wfg_machines_start(cfg, f, now);
}

WFG_INLINE void wfg_flow_init(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now,
			      const __u32 key[8], __u64 stream)
{
	wfg_flow_seed(f, key, stream);
	wfg_flow_start(cfg, f, now);
}

/*
 * A new episode (docs/core.md, "Episodes"): everything a defence keeps for one
 * page load starts again, as if the flow were new: the machines and their
 * limits and counters, the framework's budgets, blocking, FRONT's draw and the
 * pacing schedule. What carries over is what makes the flow one flow: its
 * decision stream (continued, never replayed), the departure order of packets
 * already given a time (EDT cannot move them) and the episode count. Events
 * still queued belong to the old episode and are dropped.
 */
WFG_INLINE void wfg_episode_begin(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f,
				  __u64 now)
{
	__u64 last_depart = f->last_real_depart_ns;
	__u32 episodes = f->episodes;

	f->episode_drawn = 0;
	__builtin_memset(&f->mr.fw, 0, sizeof(f->mr.fw));
	__builtin_memset(f->mr.m, 0, sizeof(f->mr.m));
	__builtin_memset(&f->pace, 0, sizeof(f->pace));
	__builtin_memset(&f->front, 0, sizeof(f->front));
	f->block_until_ns = 0;
	f->block_bypassable = 0;
	f->block_end_pending = 0;
	f->evq_head = 0;
	f->evq_len = 0;
	f->last_real_depart_ns = last_depart;
	f->episodes = episodes + 1;
	wfg_machines_start(cfg, f, now);
}

/* Does a real packet at now end the flow's episode (idle, or its pacer's page load over)? */
WFG_INLINE int wfg_episode_due(const struct wfg_side_cfg *cfg, const struct wfg_flow_side *f,
			       __u64 now)
{
	return wfg_episode_over(cfg, f, now) ||
	       wfg_pace_over(&cfg->pace, &f->pace, now, wfg_pace_stop_idle(cfg));
}

/*
 * A real packet (sent or received) at now: begin a new episode first when the
 * flow has been idle for the policy's episode time, or when the pacer's
 * schedule for this episode is over (the page load it paced has ended), or
 * when a pool's draw already decided so (cfg is then the new episode's).
 */
WFG_INLINE void wfg_episode_check(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f,
				  __u64 now, struct wfg_decision *d)
{
	if (f->episode_drawn || wfg_episode_due(cfg, f, now)) {
		wfg_episode_begin(cfg, f, now);
		d->flags |= WFG_DEC_EPISODE;
	}
	f->last_real_ns = now;
	wfg_pace_activity(&f->pace, now);
}

/* Process one queued event or, with the queue empty, fire what is due.
 * Returns 1 while there is more to do. */
WFG_INLINE int wfg_step(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f,
			struct wfg_decision *d)
{
	__u32 head;
	__u8 ev, mi;

	if (!f->evq_len)
		return wfg_fire_due(cfg, f, d->now_ns, d) && f->evq_len;
	head = WFG_IDX(f->evq_head, WFG_EVQ_LEN);
	ev = f->evq_ev[head];
	mi = f->evq_mi[head];
	f->evq_head = (__u8)WFG_IDX(head + 1, WFG_EVQ_LEN);
	f->evq_len--;
	wfg_process_event(cfg, f, ev, mi, d->now_ns, d);
	return 1;
}

WFG_INLINE void wfg_finish(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f,
			   struct wfg_decision *d)
{
	if (f->evq_len) {
		/* Out of steps: come back at once for the rest. */
		d->flags |= WFG_DEC_TRUNCATED;
		d->timer_ns = d->now_ns;
		return;
	}
	d->timer_ns = wfg_next_deadline(cfg, f);
}

WFG_INLINE void wfg_decision_init(struct wfg_decision *d, __u64 now)
{
	__builtin_memset(d, 0, sizeof(*d));
	d->now_ns = now;
	d->depart_ns = now;
}

WFG_INLINE void wfg_begin_send(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now,
			       __u32 len, __u32 kind, __u8 cover_flags, struct wfg_decision *d)
{
	__u32 base = len;
	__u64 depart = now;

	wfg_decision_init(d, now);
	if (kind == WFG_SEND_REAL) {
		wfg_episode_check(cfg, f, now, d);
		wfg_front_start(cfg, &f->front, &f->mr.rng, now);
		depart = wfg_pace_real(&cfg->pace, &f->pace, now, &f->mr.rng);
		if (depart > now)
			d->flags |= WFG_DEC_PACED;
		if (wfg_blocking(f, now) && f->block_until_ns > depart) {
			depart = f->block_until_ns;
			d->flags |= WFG_DEC_BLOCKED;
		}
		if (depart > f->last_real_depart_ns)
			f->last_real_depart_ns = depart;
		wfg_push_event(f, d, WFG_EV_NORMAL_SENT, WFG_MACHINE_ALL);
	} else {
		/* A cover's PaddingSent was counted when it was requested. */
		if (wfg_blocking(f, now) &&
		    !((cover_flags & WFG_ACT_F_BYPASS) && f->block_bypassable)) {
			depart = f->block_until_ns;
			d->flags |= WFG_DEC_BLOCKED;
		}
		if (cfg->cover_size > base)
			base = cfg->cover_size;
	}
	d->depart_ns = depart;
	d->pad_to = wfg_shape_want(&cfg->shape, base, &f->mr.rng);
	if (cfg->shape.max && d->pad_to > cfg->shape.max) {
		/* Cannot shape within the size limit: the packet keeps its length. */
		d->pad_to = base;
		d->flags |= WFG_DEC_UNSHAPED;
	}
	wfg_push_event(f, d, WFG_EV_TUNNEL_SENT, WFG_MACHINE_ALL);
}

WFG_INLINE void wfg_begin_recv(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now,
			       int is_padding, struct wfg_decision *d)
{
	wfg_decision_init(d, now);
	if (!is_padding) {
		wfg_episode_check(cfg, f, now, d);
		wfg_front_start(cfg, &f->front, &f->mr.rng, now);
	}
	wfg_pace_recv(&cfg->pace, &f->pace, now, is_padding, &f->mr.rng);
	wfg_push_event(f, d, WFG_EV_TUNNEL_RECV, WFG_MACHINE_ALL);
	wfg_push_event(f, d, is_padding ? WFG_EV_PADDING_RECV : WFG_EV_NORMAL_RECV,
		       WFG_MACHINE_ALL);
}

WFG_INLINE void wfg_begin_timer(struct wfg_decision *d, __u64 now)
{
	wfg_decision_init(d, now);
}

WFG_INLINE void wfg_run(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f,
			struct wfg_decision *d)
{
	int i;

	for (i = 0; i < WFG_MAX_STEPS; i++)
		if (!wfg_step(cfg, f, d))
			break;
	wfg_finish(cfg, f, d);
}

/*
 * The one entry point: begin core call op (enum wfg_core_op) at now. len: the
 * length the core sizes for a send (wfg_wire_core_len()); flags: a cover's
 * flags. Then wfg_step() .. wfg_finish(), or wfg_run(); wfg_on() does both.
 */
WFG_INLINE void wfg_begin(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u32 op,
			  __u64 now, __u32 len, __u8 flags, struct wfg_decision *d)
{
	switch (op) {
	case WFG_OP_SEND_REAL:
		wfg_begin_send(cfg, f, now, len, WFG_SEND_REAL, 0, d);
		break;
	case WFG_OP_SEND_COVER:
		wfg_begin_send(cfg, f, now, len, WFG_SEND_COVER, flags, d);
		break;
	case WFG_OP_RECV_NORMAL:
	case WFG_OP_RECV_PADDING:
		wfg_begin_recv(cfg, f, now, op == WFG_OP_RECV_PADDING, d);
		break;
	default:
		wfg_begin_timer(d, now);
		break;
	}
}

WFG_INLINE void wfg_on(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u32 op, __u64 now,
		       __u32 len, __u8 flags, struct wfg_decision *d)
{
	wfg_begin(cfg, f, op, now, len, flags, d);
	wfg_run(cfg, f, d);
}

WFG_INLINE void wfg_on_send(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now,
			    __u32 len, __u32 kind, __u8 cover_flags, struct wfg_decision *d)
{
	wfg_begin_send(cfg, f, now, len, kind, cover_flags, d);
	wfg_run(cfg, f, d);
}

WFG_INLINE void wfg_on_recv(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now,
			    int is_padding, struct wfg_decision *d)
{
	wfg_begin_recv(cfg, f, now, is_padding, d);
	wfg_run(cfg, f, d);
}

WFG_INLINE void wfg_on_timer(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now,
			     struct wfg_decision *d)
{
	wfg_begin_timer(d, now);
	wfg_run(cfg, f, d);
}

#endif /* WFGUARD_CORE_FLOW_H */
