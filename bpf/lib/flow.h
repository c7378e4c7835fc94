/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-flow state in the LRU table: find or create (born locked), a try-lock
 * shared by packets, the pump's carriers and the timer, restart under a new
 * policy, and the core run on it (core_decide, after_core, the timer).
 */
#ifndef WFGUARD_BPF_LIB_FLOW_H
#define WFGUARD_BPF_LIB_FLOW_H

#include <linux/time.h>

#include "lib/core_run.h"
#include "lib/defpool.h"
#include "lib/maps.h"
#include "lib/profile.h"
#include "lib/stats.h"
#include "wfguard/flowkey.h"

static __always_inline int flow_trylock(struct wfg_flow *f)
{
	return __sync_val_compare_and_swap(&f->st.busy, 0, 1) == 0;
}

static __always_inline void flow_unlock(struct wfg_flow *f)
{
	__sync_val_compare_and_swap(&f->st.busy, 1, 0); /* release: full barrier */
}

static int flow_timer_cb(void *map, struct wfg_flow_key *key, struct wfg_flow *f);

/* (Re)start a flow's core state under policy `pol`, the policy of slot
 * f->slot (the caller sets it first). A pool policy draws the first
 * episode's defence here. Global: verified once. */
__attribute__((noinline)) int flow_reset(struct wfg_flow_state *f, const struct wfg_ctl *ctl,
					 const struct wfg_policy *pol, const struct wfg_flow_key *k,
					 __u64 now)
{
	__u32 key[8];

	if (!f || !ctl || !pol || !k)
		return -1;
	/* The kernel's prandom is no secret: the master secret makes the key. */
	wfg_flow_key_material(ctl->master, k, now, wfg_test_clock ? 0 : bpf_get_prandom_u32(), key);
	wfg_flow_seed(&f->side, key, wfg_flow_stream(k));
	wfg_defpool_first(&f->side, pol->pool_size);
	if (pol->pool_size > 1)
		stat_add(WFG_STAT_POOL_DRAWS, 1);
	wfg_flow_start(defpool_cfg(pol, f->side.defence), &f->side, now);
	wfg_prng_init_key(&f->pad_rng, key, ~0ULL);
	f->generation = pol->generation;
	f->timer_at_ns = 0;
	return 0;
}

/*
 * Find the flow, creating it if needed. Returns it locked, or NULL (counted)
 * when it is busy on another CPU or the table refuses.
 */
static __always_inline struct wfg_flow *flow_acquire(const struct wfg_flow_key *k,
						     const struct wfg_ctl *ctl, __u32 slot,
						     const struct wfg_policy *pol, __u64 now)
{
	struct wfg_flow *f, *tmpl;
	struct wfg_scratch *s;
	__u32 zero = 0;

	f = bpf_map_lookup_elem(&wfg_flows, k);
	if (!f) {
		s = bpf_map_lookup_elem(&wfg_scratch, &zero);
		if (!s)
			return NULL;
		/* The template stays zero but for these two (per-CPU, never
		 * written elsewhere). Born locked: nobody sees it half made. */
		tmpl = (struct wfg_flow *)s->flow;
		tmpl->st.busy = 1;
		tmpl->st.created_ns = now;
		if (bpf_map_update_elem(&wfg_flows, k, s->flow, BPF_NOEXIST) == 0) {
			f = bpf_map_lookup_elem(&wfg_flows, k);
			if (!f)
				return NULL;
			bpf_timer_init(&f->timer, &wfg_flows, CLOCK_MONOTONIC);
			bpf_timer_set_callback(&f->timer, flow_timer_cb);
			f->st.slot = slot;
			flow_reset(&f->st, ctl, pol, k, now);
			/* Added, not stored: a contended packet may already have
			 * taken a number from the zeroed template. */
			__sync_fetch_and_add(&f->st.seq_out, wfg_seq_epoch());
			stat_add(WFG_STAT_FLOWS_CREATED, 1);
			return f;
		}
		f = bpf_map_lookup_elem(&wfg_flows, k); /* another CPU won the race */
		if (!f) {
			stat_add(WFG_STAT_ERR_FLOW_TABLE, 1);
			return NULL;
		}
	}
	if (!flow_trylock(f)) {
		stat_add(WFG_STAT_ERR_CONTENDED, 1);
		return NULL;
	}
	/* A flow made under another policy restarts under this one, never a mix. */
	if (f->st.generation != pol->generation || f->st.slot != slot) {
		f->st.slot = slot;
		flow_reset(&f->st, ctl, pol, k, now);
	}
	return f;
}

/* ------------------------------------------------------------ running the core */

/* arg: op (enum wfg_core_op) | cover flags << 8 | length << 16 */
#define CORE_ARG(op, flags, len) ((__u64)(op) | (__u64)(flags) << 8 | (__u64)(len) << 16)

/*
 * One core call under policy pol (the policy of st->slot): a pool policy's
 * flow first draws the defence of an episode this call begins; then begin,
 * step under bpf_loop, finish, under the flow's entry. Global, so the
 * verifier walks the core once rather than on every path of every program
 * into it.
 */
__attribute__((noinline)) int core_decide(const struct wfg_policy *pol, struct wfg_flow_state *st,
					  struct wfg_decision *d, __u64 now, __u64 arg)
{
	__u32 op = arg & 0xff, len = (__u32)(arg >> 16);
	const struct wfg_side_cfg *cfg;

	if (!pol || !st || !d)
		return -1;
	cfg = pool_entry(pol, &st->side, now, op);
	wfg_begin(cfg, &st->side, op, now, len, (__u8)(arg >> 8), d);
	wfg_bpf_run(cfg, &st->side, d);
	return 0;
}

/* Covers due now and the next deadline: what every call path does after the core. */
static __always_inline void after_core(struct wfg_flow *f, const struct wfg_flow_key *k,
				       const struct wfg_side_cfg *cfg, const struct wfg_decision *d,
				       __u64 now)
{
	if (d->flags & WFG_DEC_EPISODE)
		stat_add(WFG_STAT_EPISODES, 1);
	if (d->covers) {
		struct wfg_cover_req *req = bpf_ringbuf_reserve(&wfg_covers, sizeof(*req), 0);

		stat_add(WFG_STAT_COVERS_REQUESTED, d->covers);
		f->st.covers_req += d->covers;
		if (req) {
			__builtin_memcpy(&req->key, k, sizeof(*k));
			req->count = d->covers;
			req->machines = d->cover_machines;
			req->bypass = d->cover_bypass;
			req->size = (__u16)cfg->cover_size;
			bpf_ringbuf_submit(req, 0);
		} else {
			stat_add(WFG_STAT_ERR_RINGBUF, 1);
		}
	}
	if (d->timer_ns != f->st.timer_at_ns) {
		f->st.timer_at_ns = d->timer_ns;
		if (d->timer_ns && !wfg_test_clock &&
		    bpf_timer_start(&f->timer, d->timer_ns > now ? d->timer_ns - now : 0, 0))
			stat_add(WFG_STAT_ERR_TIMER, 1);
	}
}

/* The next shim sequence number of this host's direction of the flow. */
static __always_inline __u64 flow_next_seq(struct wfg_flow_state *st)
{
	return __sync_fetch_and_add(&st->seq_out, 1);
}

/* A verified datagram whose window could not be consulted. */
#define WFG_REPLAY_UNCHECKED 3

/*
 * Admit sequence number seq of a verified datagram of flow k into the flow's
 * replay window (enum wfg_replay_verdict, or WFG_REPLAY_UNCHECKED when the
 * flow is not in the table). The window has its own try-lock, held for a few
 * instructions by ingress alone, so that it is consulted even while the flow
 * is busy on another CPU. Global: verified once, and its lookup stays off the
 * ingress program's frame.
 */
__attribute__((noinline)) int replay_check(const struct wfg_flow_key *k, __u64 seq)
{
	struct wfg_flow_key key;
	struct wfg_flow *f;
	int i, v;

	if (!k)
		return WFG_REPLAY_UNCHECKED;
	/* 6.1 takes a map key from the stack or a map value only, and a global
	 * function's pointer argument is neither. */
	__builtin_memcpy(&key, k, sizeof(key));
	f = bpf_map_lookup_elem(&wfg_flows, &key);
	if (!f)
		return WFG_REPLAY_UNCHECKED;
	for (i = 0; i < 8; i++) {
		if (__sync_val_compare_and_swap(&f->st.rx_busy, 0, 1) != 0)
			continue;
		v = wfg_replay_admit(&f->st.rx, seq);
		__sync_val_compare_and_swap(&f->st.rx_busy, 1, 0);
		return v;
	}
	return WFG_REPLAY_UNCHECKED;
}

/*
 * A packet received from the peer (both ingress programs): the core runs
 * NormalRecv or PaddingRecv on its flow. A flow busy elsewhere misses the
 * event (counted by flow_acquire); the packet itself is never held for it.
 * cid: the connection id a QUIC long header named for this host's short
 * headers (lib/profile.h), or NULL. verified: the shim datagram's checked
 * request (its seq), or NULL. Returns 0, or the replay verdict of a verified
 * datagram the caller must drop: the core never hears of that one.
 */
static __always_inline int flow_recv(const struct wfg_flow_key *k, const struct wfg_ctl *ctl,
				     __u32 slot, const struct wfg_policy *pol,
				     struct wfg_decision *d, __u64 now, int padding, __u64 bytes,
				     const struct wfg_cid_seen *cid, const struct pad_req *verified)
{
	struct wfg_flow *f = flow_acquire(k, ctl, slot, pol, now);
	int v;

	/* Even when the flow is busy elsewhere: the window is still ours to check. */
	if (verified) {
		v = replay_check(k, verified->seq);
		if (v) {
			if (f)
				flow_unlock(f);
			return v;
		}
	}
	if (!f)
		return 0;
	if (cid)
		quic_learn_seen(&f->st, cid);
	core_decide(pol, &f->st, d, now,
		    CORE_ARG(padding ? WFG_OP_RECV_PADDING : WFG_OP_RECV_NORMAL, 0, 0));
	after_core(f, k, &pol->side, d, now);
	f->st.pkts_in++;
	f->st.bytes_in += bytes;
	f->st.last_ns = now;
	flow_unlock(f);
	return 0;
}

static int flow_timer_cb(void *map, struct wfg_flow_key *key, struct wfg_flow *f)
{
	struct wfg_scratch *scr;
	struct wfg_policy *pol;
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0;

	scr = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!scr)
		return 0;
	if (!flow_trylock(f)) {
		bpf_timer_start(&f->timer, 10000, 0); /* busy: retry in 10 µs */
		return 0;
	}
	f->st.timer_at_ns = 0;
	pol = get_policy(f->st.slot);
	if (pol && pol->generation == f->st.generation) {
		core_decide(pol, &f->st, &scr->d, now, CORE_ARG(WFG_OP_TIMER, 0, 0));
		after_core(f, key, &pol->side, &scr->d, now);
	}
	flow_unlock(f);
	return 0;
}

#endif /* WFGUARD_BPF_LIB_FLOW_H */
