/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The defence core's data types: one definition shared by the BPF programs, the
 * controller and the trace-replay harness.
 *
 * Rules for everything under core/ (see docs/core.md):
 *  - no BPF helpers, maps, ctx or packet pointers: callers pass time, events and
 *    state, the core returns decisions;
 *  - integers only, fixed-size arrays, constant-bounded loops;
 *  - only __u8..__u64 in shared structs, explicit padding, no pointers.
 */
#ifndef WFGUARD_CORE_TYPES_H
#define WFGUARD_CORE_TYPES_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define WFG_INLINE static __always_inline

/*
 * The few functions that are big and called from many places (the ChaCha
 * block) are real calls in BPF: inlining every copy would exceed the 512-byte
 * stack and bloat the program. Static BPF-to-BPF calls are still verified per
 * call site with full knowledge of their arguments. Userspace inlines them.
 */
#ifdef __bpf__
#define WFG_OUTLINE static __attribute__((noinline))
#else
#define WFG_OUTLINE static inline
#endif

/*
 * The machine transition is a global function in BPF: the verifier checks it
 * once on its own instead of once per path through every caller, which keeps
 * the event loop far below the complexity limit. Its pointer arguments arrive
 * as "memory of sizeof(type), maybe NULL", so it checks them for NULL.
 */
#ifdef __bpf__
#define WFG_GLOBAL __attribute__((noinline))
#else
#define WFG_GLOBAL static inline
#endif

/*
 * Index into a fixed array whose size is a power of two. Callers check the
 * logical bound first; the mask is what lets the verifier prove the access in
 * bounds even when the compiler checked a different copy of the register. In
 * BPF an empty asm hides the index's known range from the compiler, which
 * would otherwise drop the mask as redundant (and the verifier, tracking
 * another register, would then see an unbounded index).
 */
static __always_inline __u32 wfg_idx(__u32 i, __u32 n)
{
#ifdef __bpf__
	asm volatile("" : "+r"(i));
#endif
	return i & (n - 1);
}
#define WFG_IDX(i, n) wfg_idx((__u32)(i), (n))

/* Sizes of the fixed arrays below (powers of two where indexed); the controller rejects policies
 * that exceed them. */
#define WFG_MAX_MACHINES   4   /* machines per side of a flow */
#define WFG_MAX_STATES	   64  /* states per side, shared by its machines */
#define WFG_MAX_TRANS	   512 /* transition targets per side */
#define WFG_MAX_TARGETS	   16  /* targets of one (state, event) pair */
#define WFG_MAX_DISTS	   128 /* sampled distribution tables per side */
#define WFG_DIST_BITS	   8
#define WFG_DIST_INTERVALS (1u << WFG_DIST_BITS) /* 256 quantile intervals */
#define WFG_MAX_BUCKETS	   8
#define WFG_PACE_STEPS	   32 /* decaying-rate schedule: interval table entries */
#define WFG_EVQ_LEN	   16 /* pending internal events of one flow side */

/*
 * Events, in the order of Maybenot v2's Event enum (the machine decoder maps the
 * serialized enum index straight onto these values). One row per event,
 * X(enum suffix, Maybenot's name, the policy file's key): the enum here and the
 * name tables of the controller (user/lib/events.c) all come from this list.
 */
#define WFG_EVENTS(X)                                    \
	X(NORMAL_RECV, NormalRecv, normal_recv)          \
	X(PADDING_RECV, PaddingRecv, padding_recv)       \
	X(TUNNEL_RECV, TunnelRecv, tunnel_recv)          \
	X(NORMAL_SENT, NormalSent, normal_sent)          \
	X(PADDING_SENT, PaddingSent, padding_sent)       \
	X(TUNNEL_SENT, TunnelSent, tunnel_sent)          \
	X(BLOCKING_BEGIN, BlockingBegin, blocking_begin) \
	X(BLOCKING_END, BlockingEnd, blocking_end)       \
	X(LIMIT_REACHED, LimitReached, limit_reached)    \
	X(COUNTER_ZERO, CounterZero, counter_zero)       \
	X(TIMER_BEGIN, TimerBegin, timer_begin)          \
	X(TIMER_END, TimerEnd, timer_end)                \
	X(SIGNAL, Signal, signal)

#define WFG_EV_ENUM_ROW(e, mb, key) WFG_EV_##e,
enum wfg_event {
	WFG_EVENTS(WFG_EV_ENUM_ROW) /* WFG_EV_NORMAL_RECV = 0, ... */
	WFG_EV_COUNT
};
#undef WFG_EV_ENUM_ROW
#define WFG_EV_SLOTS 16

/*
 * Special transition targets: Maybenot v2's STATE_END (the machine stops for
 * good) and STATE_SIGNAL (send Signal to the other machines, stay put).
 */
#define WFG_STATE_END	 0xffff
#define WFG_STATE_SIGNAL 0xfffe

/*
 * A value drawn from a distribution. table == WFG_DIST_CONST means "always
 * constant"; otherwise q[] of dists[table] is sampled by inverse CDF. Values
 * are microseconds for times and plain counts for limits and counters.
 */
#define WFG_DIST_CONST 0xffff
struct wfg_dist_ref {
	__u16 table;
	__u16 _pad;
	__u32 constant;
};

#define WFG_DIST_F_STEP 0x1 /* discrete: no interpolation between quantiles */
struct wfg_dist_table {
	__u32 flags;
	__u32 q[WFG_DIST_INTERVALS + 1]; /* q[i] = F^-1(i / 256), start and max applied */
};

enum wfg_action_kind {
	WFG_ACT_NONE = 0,
	WFG_ACT_CANCEL,
	WFG_ACT_PADDING,
	WFG_ACT_BLOCK,
	WFG_ACT_UPDATE_TIMER,
};

#define WFG_ACT_F_BYPASS  0x1
#define WFG_ACT_F_REPLACE 0x2
#define WFG_ACT_F_LIMIT	  0x4 /* the limit distribution is set */
/* Cancel: which timers (Maybenot's Timer::Action / Internal; both = All). */
#define WFG_CANCEL_ACTION   0x10
#define WFG_CANCEL_INTERNAL 0x20

struct wfg_action {
	__u8 kind;  /* enum wfg_action_kind */
	__u8 flags; /* WFG_ACT_F_*, WFG_CANCEL_* */
	__u8 _pad[2];
	struct wfg_dist_ref timeout;  /* padding/block: delay before the action (µs) */
	struct wfg_dist_ref duration; /* block: how long; timer: when TimerEnd fires (µs) */
	struct wfg_dist_ref limit;    /* how often the action may run in this state */
};

enum wfg_counter_op {
	WFG_CTR_NONE = 0,
	WFG_CTR_INCREMENT,
	WFG_CTR_DECREMENT,
	WFG_CTR_SET,
};

struct wfg_counter_update {
	__u8 op;   /* enum wfg_counter_op */
	__u8 copy; /* use the other counter's value instead of sampling */
	__u8 _pad[2];
	struct wfg_dist_ref value;
};

struct wfg_state {
	struct wfg_action action;
	struct wfg_counter_update counter[2]; /* counters A and B */
	/* per event (WFG_EV_SLOTS >= WFG_EV_COUNT so that indexes can be masked) */
	__u16 trans_first[WFG_EV_SLOTS]; /* into wfg_side_cfg.trans[] */
	__u8 trans_count[WFG_EV_SLOTS];
};

/*
 * One weighted target. The targets of a (state, event) pair are tried in order
 * with one 32-bit draw r: the first with r <= cum_max wins. cum_max is the
 * inclusive bound round(2^32 * cumulative probability) - 1, so a sum of 1.0 is
 * 0xffffffff (always taken) and a sum below 1 leaves room for "no transition".
 */
struct wfg_trans {
	__u16 target; /* state index within the machine, or WFG_STATE_END/SIGNAL */
	__u16 _pad;
	__u32 cum_max;
};

/* Fractions are Q16: 65536 = 1.0. */
#define WFG_FRAC_ONE 65536u

struct wfg_machine_cfg {
	__u64 allowed_padding_packets;
	__u64 allowed_blocked_us;
	__u32 max_padding_frac;	 /* Q16 */
	__u32 max_blocking_frac; /* Q16 */
	__u16 state_first;	 /* into wfg_side_cfg.states[] */
	__u16 state_count;
	__u32 _pad;
};

/* ---- size shaping ---- */
enum wfg_shape_mode {
	WFG_SHAPE_NONE = 0,
	WFG_SHAPE_PAD_TO,  /* every packet to `size` (never shrinks) */
	WFG_SHAPE_BUCKETS, /* smallest bucket >= length */
	WFG_SHAPE_PADME,   /* Padmé: keep the top bits of the length */
	WFG_SHAPE_RANDOM,  /* uniform in [max(len, lo), hi] */
	WFG_SHAPE_MULTIPLE /* round up to a multiple of `size` */
};

struct wfg_shape_cfg {
	__u8 mode;
	__u8 nbuckets;
	__u8 _pad[2];
	__u32 size; /* pad-to / multiple */
	__u32 lo, hi;
	__u32 max; /* never pad beyond (MTU budget); 0 = no limit */
	__u32 buckets[WFG_MAX_BUCKETS];
};

/* ---- pacing ---- */
enum wfg_pace_mode {
	WFG_PACE_NONE = 0,
	WFG_PACE_CONSTANT, /* one slot every interval (BuFLO, Tamaraw) */
	WFG_PACE_DECAY,	   /* interval grows after a surge (RegulaTor) */
	WFG_PACE_FOLLOW,   /* slots at a ratio of the received packets' rate (RegulaTor client) */
};

/* wfg_pace_cfg.flags */
#define WFG_PACE_F_BUDGET_UNIFORM 0x01 /* cover budget ~ U{0..N-1} per episode (RegulaTor) */
#define WFG_PACE_F_PAD_GEOMETRIC  0x02 /* pad to (floor(n/L) + k) * L, P(k) = 2^-k (Tamaraw) */
#define WFG_PACE_F_START_ON_RECV  0x04 /* the start phase counts received packets (client) */

struct wfg_pace_cfg {
	__u8 mode;
	__u8 flags; /* WFG_PACE_F_* */
	__u8 _pad[2];
	__u32 pad_multiple;  /* at the page's end, pad the slot count to a multiple (Tamaraw L) */
	__u64 interval_ns;   /* constant mode */
	__u64 min_active_ns; /* keep the slots running at least this long (BuFLO tau) */
	/* The page load has ended once no real packet went either way for this
	 * long; 0: the side's episode_idle_ns (the end of the page is the end of
	 * the episode). */
	__u64 idle_stop_ns;
	__u64 step_ns;			   /* decay mode: width of one entry of interval_at[] */
	__u64 interval_at[WFG_PACE_STEPS]; /* decay mode: interval k*step_ns after a surge */
	__u64 surge_queue_ns; /* decay mode: a queue this long (time to drain) restarts */
	__u32 cover_budget;   /* covers per episode (N; see F_BUDGET_UNIFORM); 0 = unlimited */
	/* Start phase (RegulaTor): from the episode's first real packet, either
	 * way, one cover every start_interval_ns until start_packets real packets
	 * were sent (F_START_ON_RECV: packets received); the next one starts the
	 * schedule. 0: no start phase. */
	__u32 start_packets;
	__u64 start_interval_ns;
	/* Follow mode: a slot every follow_ratio (Q16) received packets' worth
	 * of time, and a real packet waits for the next slot at most delay_cap_ns
	 * (RegulaTor's U and C); interval_ns is the slot interval until the
	 * received rate is known. */
	__u64 delay_cap_ns;
	__u32 follow_ratio_q16;
	__u32 _pad2;
};

/* ---- FRONT-style cover schedule (random count, random window, Rayleigh times) ---- */
struct wfg_front_cfg {
	__u32 max_covers; /* N: covers ~ U[1, N]; 0 = off */
	__u32 _pad;
	__u64 window_min_ns; /* W_min */
	__u64 window_max_ns; /* W_max */
	__u16 exp_table;     /* dist table of Exp(1) * 2^16 (built by the controller) */
	__u16 _pad2[3];
};

/* Everything one side (client or server) of a defended flow runs. */
struct wfg_side_cfg {
	__u32 nmachines;
	__u32 cover_size;	 /* wire size of cover packets (UDP payload bytes) */
	__u32 max_padding_frac;	 /* Q16, whole flow side, 0 = no limit */
	__u32 max_blocking_frac; /* Q16, whole flow side, 0 = no limit */
	__u64 allowed_padding_packets;
	__u64 allowed_blocked_us;
	/* A real packet after this long without one (either direction) starts a
	 * new episode: machines, budgets, FRONT and pacing start again (flow.h).
	 * 0: the flow is one episode. */
	__u64 episode_idle_ns;
	struct wfg_shape_cfg shape;
	struct wfg_pace_cfg pace;
	struct wfg_front_cfg front;
	struct wfg_machine_cfg machines[WFG_MAX_MACHINES];
	struct wfg_state states[WFG_MAX_STATES];
	struct wfg_trans trans[WFG_MAX_TRANS];
	struct wfg_dist_table dists[WFG_MAX_DISTS];
};

#endif /* WFGUARD_CORE_TYPES_H */
