// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfguard's data path: TC egress shapes what this host sends, XDP ingress
 * removes what the peer's wfguard added. Both run the defence core
 * (include/wfguard/core) on per-flow state; a bpf_timer per flow runs it at
 * the deadlines the core asks for and posts cover requests for the pump.
 *
 * Fail open everywhere: a real packet that cannot be handled leaves as it
 * came, and a counter says why (enum wfg_stat).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/time.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "core_run.h"
#include "parse.h"
#include "wfguard/datapath.h"
#include "wfguard/flowkey.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Test clock, for the differential test only: set before load, it makes the
 * programs read time from wfg_test_now, derive flow keys without prandom and
 * leave timers unarmed. Production loads leave it 0 and the verifier prunes
 * every branch on it.
 */
const volatile __u8 wfg_test_clock = 0;
__u64 wfg_test_now = 0;

static __always_inline __u64 wfg_now(void)
{
	return wfg_test_clock ? wfg_test_now : bpf_ktime_get_ns();
}

#define WFG_SCRATCH_BYTES 2048
#define WFG_MAX_GROW	  (WFG_SCRATCH_BYTES - 64)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WFG_POLICY_SLOTS);
	__type(key, __u32);
	__type(value, struct wfg_policy);
} wfg_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wfg_ctl);
} wfg_ctl SEC(".maps");

/*
 * Ports some rule names (struct wfg_port_index): the cheap exit for UDP that
 * is none of ours. A global in its own section, so that reading it is a load
 * from a fixed address (no lookup); the loader pins the section's map as
 * "wfg_ports". Plain words laid out as a struct wfg_port_index, so that the
 * skeleton needs no wfguard header. Born "every port may match": a policy
 * written without an index is still walked in full.
 */
__u64 wfg_port_bits[2][65536 / 64] SEC(".data.ports") = {
	[0] = { [0 ... 65536 / 64 - 1] = ~0ULL },
};
_Static_assert(sizeof(wfg_port_bits) == sizeof(struct wfg_port_index), "one layout");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the controller sizes it from the policy */
	__type(key, struct wfg_flow_key);
	__type(value, struct wfg_flow);
} wfg_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WFG_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} wfg_stats SEC(".maps");

struct pad_req {
	struct wfg_pkt p;
	__u32 keep;	      /* original payload bytes kept (0 for a cover) */
	__u32 new_pay;	      /* payload bytes on the wire */
	__u32 orig_len_field; /* into the trailer: kept length, or WFG_SHIM_COVER_LEN */
	__u32 profile;
	__u32 orig_csum; /* ingress: the checksum the trailer restores */
};

/*
 * Per-CPU working memory. Programs on one CPU never interleave here: TC egress
 * runs with bottom halves off, XDP and the (soft) timer callbacks in softirq.
 */
struct wfg_scratch {
	__u8 bytes[WFG_SCRATCH_BYTES];
	struct wfg_decision d; /* the decision of the packet in hand */
	struct wfg_flow_key key __attribute__((aligned(8))); /* its flow (capture copies words) */
	struct pad_req req;				     /* the packet in hand */
	/* Template for new flows (too big for the stack), as raw bytes: a
	 * bpf_timer may not appear in a per-CPU map's BTF. */
	__u8 flow[sizeof(struct wfg_flow)] __attribute__((aligned(8)));
	/* This CPU's padding stream for packets whose flow is busy elsewhere
	 * (only pad_rng is used; keyed per policy generation, see shape_contended). */
	struct wfg_flow_state fallback;
	/* This CPU's place in the padding pool: chunk (of its own), offset, and
	 * whether it holds that chunk (TAKEN). */
	__u32 pool_chunk, pool_off, pool_held, _pool_pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wfg_scratch);
} wfg_scratch SEC(".maps");

/* Padding pool chunks per CPU (struct wfg_pool_chunk); 0 leaves the pool out.
 * The loader sets it and the map's size (CPUs x chunks) before load. */
const volatile __u32 wfg_pool_chunks = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE); /* the controller fills chunks in place */
	__type(key, __u32);
	__type(value, struct wfg_pool_chunk);
} wfg_pad_pool SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} wfg_covers SEC(".maps");

/* Capture records for `wfguard capture` (struct wfg_capture_rec, 56 + 8 bytes
 * each with the ring's header: ~32k records). Written only while
 * wfg_ctl.capture_pid is set. */
#define WFG_CAPTURE_RING (2 * 1024 * 1024)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WFG_CAPTURE_RING);
} wfg_capture SEC(".maps");

static __always_inline void stat_add(enum wfg_stat s, __u64 v)
{
	__u32 k = s;
	__u64 *c = bpf_map_lookup_elem(&wfg_stats, &k);

	if (c)
		*c += v;
}

static __always_inline struct wfg_ctl *get_ctl(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wfg_ctl, &zero);
}

/* 0 when no rule can match these ports (host byte order, this host's view). */
static __always_inline int ports_may_match(__u16 lport, __u16 rport)
{
	return wfg_port_index_may_match((const struct wfg_port_index *)wfg_port_bits, lport, rport);
}

static __always_inline struct wfg_policy *get_policy(__u32 slot)
{
	__u32 k = slot & (WFG_POLICY_SLOTS - 1);

	return bpf_map_lookup_elem(&wfg_policy, &k);
}

/* ------------------------------------------------------------ capture */

_Static_assert(sizeof(struct wfg_flow_key) == 5 * sizeof(__u64), "capture copies 5 words");

/* capture_emit's last argument: payload bytes, direction, kind. */
#define CAP_INFO(payload, dir, kind) \
	((__u32)((payload) > 0xffff ? 0xffff : (payload)) << 16 | (__u32)(dir) << 8 | (__u32)(kind))

/*
 * One capture record. Callers test wfg_ctl.capture_pid first, so that a host
 * that is not capturing pays one load and one branch per packet. Global:
 * verified once, and its record never touches the callers' stack.
 */
__attribute__((noinline)) int capture_emit(const struct wfg_flow_key *k, __u64 time_ns,
					   __u32 wire_len, __u32 info)
{
	const __u64 *src = (const __u64 *)k;
	struct wfg_capture_rec *r;
	__u64 *dst;

	if (!k)
		return 0;
	r = bpf_ringbuf_reserve(&wfg_capture, sizeof(*r), 0);
	if (!r) {
		stat_add(WFG_STAT_CAPTURE_LOST, 1);
		return 0;
	}
	r->time_ns = time_ns;
	/* five words: a byte-wise copy (the key is 2-aligned) costs stack */
	dst = (__u64 *)&r->key;
	dst[0] = src[0];
	dst[1] = src[1];
	dst[2] = src[2];
	dst[3] = src[3];
	dst[4] = src[4];
	r->wire_len = wire_len;
	r->payload = (__u16)(info >> 16);
	r->dir = (__u8)(info >> 8);
	r->kind = (__u8)info;
	/* No wakeup (an irq_work per packet): the capture drains on its own clock. */
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

/* ------------------------------------------------------------ matching */

static __always_inline int prefix_match(const __u8 *a, const __u8 *r, __u32 prefix)
{
	int b;

	for (b = 0; b < 16; b++) {
		__s32 bits = (__s32)prefix - b * 8;
		__u8 mask;

		if (bits <= 0)
			break;
		mask = bits >= 8 ? 0xff : (__u8)(0xff << (8 - bits));
		if ((a[b] ^ r[b]) & mask)
			return 0;
	}
	return 1;
}

static __always_inline int rule_matches(const struct wfg_rule *r, const struct wfg_flow_key *k)
{
	__u16 lport = bpf_ntohs(k->lport), rport = bpf_ntohs(k->rport);

	if (r->family && r->family != k->family)
		return 0;
	if (lport < r->lport_lo || lport > r->lport_hi)
		return 0;
	if (rport < r->rport_lo || rport > r->rport_hi)
		return 0;
	return prefix_match(k->laddr, r->local, r->local_prefix) &&
	       prefix_match(k->raddr, r->remote, r->remote_prefix);
}

/* Global: verified once, not on every path into it. */
__attribute__((noinline)) int policy_matches(const struct wfg_policy *pol,
					     const struct wfg_flow_key *k)
{
	int i;

	if (!pol || !k)
		return 0;
	for (i = 0; i < WFG_MAX_RULES; i++) {
		if (i >= pol->nrules)
			break;
		if (rule_matches(&pol->rules[i], k))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ flows */

static __always_inline int flow_trylock(struct wfg_flow *f)
{
	return __sync_val_compare_and_swap(&f->st.busy, 0, 1) == 0;
}

static __always_inline void flow_unlock(struct wfg_flow *f)
{
	__sync_val_compare_and_swap(&f->st.busy, 1, 0); /* release: full barrier */
}

static int flow_timer_cb(void *map, struct wfg_flow_key *key, struct wfg_flow *f);

/* (Re)start a flow's core state under policy `pol` (caller sets f->st.slot).
 * Global: verified once. */
__attribute__((noinline)) int flow_reset(struct wfg_flow_state *f, const struct wfg_ctl *ctl,
					 const struct wfg_policy *pol, const struct wfg_flow_key *k,
					 __u64 now)
{
	__u32 key[8];

	if (!f || !ctl || !pol || !k)
		return -1;
	/* The kernel's prandom is no secret: the master secret makes the key. */
	wfg_flow_key_material(ctl->master, k, now, wfg_test_clock ? 0 : bpf_get_prandom_u32(), key);
	wfg_flow_init(&pol->side, &f->side, now, key, wfg_flow_stream(k));
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
			flow_reset(&f->st, ctl, pol, k, now);
			f->st.slot = slot;
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
		flow_reset(&f->st, ctl, pol, k, now);
		f->st.slot = slot;
	}
	return f;
}

/*
 * A real packet whose flow is locked by another CPU (its timer, the pump's
 * carrier, the receive path) cannot run the core, but it must not leave with
 * its true size: shape it by the policy alone, with this CPU's own padding
 * stream (keyed from the master secret, like a flow's). The machines miss this
 * one event (counted as contended). Fills req; returns the target payload
 * size, or 0 when the packet stays as it is. Global: verified once.
 */
__attribute__((noinline)) __u32 shape_contended(struct wfg_scratch *scr, const struct wfg_ctl *ctl,
						const struct wfg_policy *pol, __u64 now)
{
	struct wfg_flow_state *fb;
	struct pad_req *req;
	__u32 key[8], len, target;

	if (!scr || !ctl || !pol || pol->side.shape.mode == WFG_SHAPE_NONE)
		return 0;
	fb = &scr->fallback;
	req = &scr->req;
	if (fb->generation != pol->generation + 1) {
		wfg_flow_key_material(ctl->master, &scr->key, now,
				      wfg_test_clock ? 0 : bpf_get_prandom_u32(), key);
		wfg_prng_init_key(&fb->pad_rng, key, ~0ULL);
		fb->generation = pol->generation + 1; /* 0 never matches: born unkeyed */
	}
	len = req->p.pay_len + WFG_SHIM_LEN;
	target = wfg_shape_target(&pol->side.shape, len, &fb->pad_rng);
	if (target < len)
		return 0;
	req->keep = req->p.pay_len;
	req->new_pay = target;
	req->orig_len_field = req->p.pay_len;
	req->profile = pol->profile;
	return target;
}

/* ------------------------------------------------------------ running the core */

enum core_op {
	OP_SEND_REAL = 0,
	OP_SEND_COVER,
	OP_RECV_NORMAL,
	OP_RECV_PADDING,
	OP_TIMER,
};

/* arg: op | cover flags << 8 | length << 16 */
#define CORE_ARG(op, flags, len) ((__u64)(op) | (__u64)(flags) << 8 | (__u64)(len) << 16)

/*
 * One core call: begin, step under bpf_loop, finish. Global, so the verifier
 * walks the core once rather than on every path of every program into it.
 */
__attribute__((noinline)) int core_decide(const struct wfg_side_cfg *cfg, struct wfg_flow_state *st,
					  struct wfg_decision *d, __u64 now, __u64 arg)
{
	__u32 op = arg & 0xff, len = (__u32)(arg >> 16);

	if (!cfg || !st || !d)
		return -1;
	switch (op) {
	case OP_SEND_REAL:
		wfg_begin_send(cfg, &st->side, now, len, WFG_SEND_REAL, 0, d);
		break;
	case OP_SEND_COVER:
		wfg_begin_send(cfg, &st->side, now, len, WFG_SEND_COVER, (__u8)(arg >> 8), d);
		break;
	case OP_RECV_NORMAL:
	case OP_RECV_PADDING:
		wfg_begin_recv(cfg, &st->side, now, op == OP_RECV_PADDING, d);
		break;
	default:
		wfg_begin_timer(d, now);
		break;
	}
	wfg_bpf_run(cfg, &st->side, d);
	return 0;
}

/* Covers due now and the next deadline: what every call path does after the core. */
static __always_inline void after_core(struct wfg_flow *f, const struct wfg_flow_key *k,
				       const struct wfg_side_cfg *cfg, const struct wfg_decision *d,
				       __u64 now)
{
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
		core_decide(&pol->side, &f->st, &scr->d, now, CORE_ARG(OP_TIMER, 0, 0));
		after_core(f, key, &pol->side, &scr->d, now);
	}
	flow_unlock(f);
	return 0;
}

/* ------------------------------------------------------------ checksums */

static __always_inline __u32 csum_fold32(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return (__u32)s;
}

/* One's-complement sum of the first n bytes of scratch, n rounded up to 4 (the
 * caller zeroes the bytes between n and the next multiple of 4). */
static __always_inline __s64 scratch_sum(struct wfg_scratch *s, __u32 n)
{
	__u32 n4 = (n + 3) & ~3u;
	__s64 sum = 0;
	int c;

	for (c = 0; c < WFG_SCRATCH_BYTES / 512; c++) {
		__u32 off = c * 512, chunk;

		if (off >= n4)
			break;
		chunk = n4 - off;
		if (chunk > 512)
			chunk = 512;
		chunk &= 0x3fc; /* bounds for the verifier; no-op at run time */
		sum = bpf_csum_diff(0, 0, (__be32 *)(s->bytes + off), chunk, (__u32)sum);
		if (sum < 0)
			return sum;
	}
	return sum;
}

/* ------------------------------------------------------------ egress */

static __always_inline struct wfg_pool_chunk *pool_chunk(__u32 cpu, __u32 chunk)
{
	__u32 idx = cpu * wfg_pool_chunks + chunk;

	return bpf_map_lookup_elem(&wfg_pad_pool, &idx);
}

/*
 * n (<= WFG_MAX_GROW) unused bytes from this CPU's padding pool into scratch.
 * Returns 0, or -1 when the pool is absent or dry. Global: verified once.
 */
__attribute__((noinline)) int pool_take(struct wfg_scratch *s, __u64 n)
{
	struct wfg_pool_chunk *c;
	__u32 cpu, off;

	/* n is 64-bit: a global function's verifier knows nothing of an argument's
	 * upper half, so a 32-bit bound would not bound the copy. */

	if (!s || !wfg_pool_chunks || n > WFG_MAX_GROW)
		return -1;
	cpu = bpf_get_smp_processor_id();
	if (s->pool_held) {
		c = pool_chunk(cpu, s->pool_chunk);
		off = s->pool_off;
		if (c && off <= WFG_POOL_CHUNK_BYTES - (__u32)n) {
			/* The source is map memory checked above; the helper is a
			 * plain copy, cheaper than a loop the verifier would accept. */
			if (bpf_probe_read_kernel(s->bytes, n, c->bytes + off))
				return -1;
			s->pool_off = off + (__u32)n;
			return 0;
		}
		if (c) /* used up: the controller may refill it */
			__sync_val_compare_and_swap(&c->state, WFG_POOL_TAKEN, WFG_POOL_EMPTY);
		s->pool_held = 0;
		s->pool_chunk = s->pool_chunk + 1 < wfg_pool_chunks ? s->pool_chunk + 1 : 0;
	}
	c = pool_chunk(cpu, s->pool_chunk);
	if (!c ||
	    __sync_val_compare_and_swap(&c->state, WFG_POOL_FULL, WFG_POOL_TAKEN) != WFG_POOL_FULL)
		return -1;
	s->pool_held = 1;
	s->pool_off = (__u32)n;
	return bpf_probe_read_kernel(s->bytes, n, c->bytes) ? -1 : 0;
}

/* n random bytes into scratch: from the pool, or (rounded up to 64) from the
 * flow's padding keystream. */
static __always_inline void fill_random(struct wfg_flow_state *st, struct wfg_scratch *s, __u32 n)
{
	int i;

	if (wfg_pool_chunks) {
		if (pool_take(s, n) == 0) {
			stat_add(WFG_STAT_PAD_POOL_USED, 1);
			return;
		}
		stat_add(WFG_STAT_PAD_POOL_DRY, 1);
	}
	for (i = 0; i < WFG_SCRATCH_BYTES / 64; i++) {
		if ((__u32)i * 64 >= n)
			break;
		wfg_prng_block(&st->pad_rng, (struct wfg_block *)(s->bytes + i * 64));
	}
}

/* The cover's cleartext header, written over the start of the scratch bytes. */
static __always_inline __u32 cover_header(__u32 profile, const struct wfg_flow_state *st,
					  struct wfg_scratch *s)
{
	__u32 i, n = 0;

	if (profile == WFG_PROFILE_QUIC && st->dcid_len) {
		s->bytes[0] = 0x40 | (s->bytes[0] & 0x3f); /* short header, fixed bit */
		for (i = 0; i < 20; i++) {
			if (i >= st->dcid_len)
				break;
			s->bytes[1 + i] = st->dcid[i];
		}
		n = 1 + st->dcid_len;
	} else if (profile == WFG_PROFILE_WIREGUARD && st->wg_seen) {
		__u64 ctr = st->wg_counter + 1;

		s->bytes[0] = 4;
		s->bytes[1] = s->bytes[2] = s->bytes[3] = 0;
		__builtin_memcpy(s->bytes + 4, &st->wg_receiver, 4);
		wfg_store_le64(s->bytes + 8, ctr);
		n = 16;
	}
	return n;
}

/* Learn what covers must mimic from the flow's real packets. */
static __always_inline void learn_profile(struct __sk_buff *skb, const struct wfg_policy *pol,
					  struct wfg_flow *f, const struct wfg_pkt *p)
{
	__u8 hdr[21];

	if (pol->profile == WFG_PROFILE_QUIC && pol->quic_dcid_len && pol->quic_dcid_len <= 20 &&
	    p->pay_len > pol->quic_dcid_len) {
		if (bpf_skb_load_bytes(skb, p->pay_off, hdr, sizeof(hdr)) == 0 &&
		    (hdr[0] & 0xc0) == 0x40) {
			__builtin_memcpy(f->st.dcid, hdr + 1, 20);
			f->st.dcid_len = (__u8)pol->quic_dcid_len;
		}
	} else if (pol->profile == WFG_PROFILE_WIREGUARD && p->pay_len >= 16) {
		if (bpf_skb_load_bytes(skb, p->pay_off, hdr, 16) == 0 && hdr[0] == 4) {
			__builtin_memcpy(&f->st.wg_receiver, hdr + 4, 4);
			f->st.wg_counter = wfg_load_le64(hdr + 8);
			f->st.wg_seen = 1;
		}
	}
}

/*
 * Grow the datagram to `new_pay` payload bytes: keep `keep` bytes of the
 * original payload, fill the rest with random bytes (or a cover header and
 * random bytes), end with a sealed trailer; fix lengths and checksums.
 */

/* Global: verified once. Returns 0 or -1 (counted). */
__attribute__((noinline)) int pad_datagram(struct __sk_buff *skb, const struct wfg_ctl *ctl,
					   struct wfg_flow_state *st, const struct pad_req *r)
{
	struct wfg_shim_trailer t;
	const struct wfg_pkt *p;
	struct wfg_scratch *s;
	__u32 zero = 0, grow, off, csum_off, shim_at, keep, new_pay;
	__u16 old_udp_len, new_udp_len, orig_len_field;
	__u64 nonce;
	__be16 be;
	__s64 sum;

	if (!skb || !ctl || !st || !r)
		return -1;
	p = &r->p;
	keep = r->keep;
	new_pay = r->new_pay;
	orig_len_field = (__u16)r->orig_len_field;
	csum_off = p->l4_off + 6;
	old_udp_len = bpf_ntohs(p->udp_len);
	new_udp_len = (__u16)(new_pay + 8);
	if (new_pay < keep + WFG_SHIM_LEN || new_pay > 65507)
		return -1;
	grow = new_pay - keep;
	if (grow > WFG_MAX_GROW)
		return -1;
	s = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!s)
		return -1;
	fill_random(st, s, grow);
	if (orig_len_field == WFG_SHIM_COVER_LEN)
		cover_header(r->profile, st, s);
	shim_at = grow - WFG_SHIM_LEN;
	if (shim_at > WFG_MAX_GROW - WFG_SHIM_LEN)
		return -1;
	/* The nonce: fresh random bytes where the trailer goes (pool or keystream). */
	nonce = wfg_load_le64(s->bytes + shim_at);
	wfg_shim_seal(&ctl->keys[ctl->key_slot & 1], &t, nonce, (__u16)new_pay, p->sport, p->dport,
		      orig_len_field, orig_len_field == WFG_SHIM_COVER_LEN ? 0 : p->udp_csum);
	if (shim_at > WFG_MAX_GROW - WFG_SHIM_LEN)
		return -1;
	__builtin_memcpy(s->bytes + shim_at, &t, sizeof(t));
	/* zero the tail of the last word so the sum covers exactly `grow` bytes */
	off = WFG_IDX(grow, WFG_SCRATCH_BYTES);
	*(__u32 *)(s->bytes + off) = 0; /* grow <= WFG_MAX_GROW: inside scratch */

	if (bpf_skb_change_tail(skb, p->pay_off + new_pay, 0)) {
		stat_add(WFG_STAT_ERR_RESIZE, 1);
		return -1;
	}
	if (bpf_skb_store_bytes(skb, p->pay_off + keep, s->bytes,
				WFG_IDX(grow - 1, WFG_SCRATCH_BYTES) + 1, 0)) { /* grow >= 20 */
		stat_add(WFG_STAT_ERR_STORE, 1);
		return -1;
	}
	/* lengths */
	if (p->family == 4) {
		__u16 old_tot = (__u16)(old_udp_len + (p->l4_off - p->l3_off));
		__u16 new_tot = (__u16)(new_udp_len + (p->l4_off - p->l3_off));

		be = bpf_htons(new_tot);
		if (bpf_l3_csum_replace(skb, p->l3_off + 10, bpf_htons(old_tot), be, 2) ||
		    bpf_skb_store_bytes(skb, p->l3_off + 2, &be, 2, 0))
			goto csum_err;
	} else {
		be = bpf_htons(new_udp_len);
		if (bpf_skb_store_bytes(skb, p->l3_off + 4, &be, 2, 0))
			goto csum_err;
	}
	be = bpf_htons(new_udp_len);
	if (bpf_skb_store_bytes(skb, p->l4_off + 4, &be, 2, 0))
		goto csum_err;
	if (p->family == 4 && p->udp_csum == 0)
		return 0; /* IPv4 UDP without checksum stays without */
	/* The length appears in the pseudo header and in the UDP header. For an
	 * offloaded (CHECKSUM_PARTIAL) skb only the pseudo-header change applies;
	 * the kernel's helpers make that distinction. */
	if (bpf_l4_csum_replace(skb, csum_off, p->udp_len, be,
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 2) ||
	    bpf_l4_csum_replace(skb, csum_off, p->udp_len, be, BPF_F_MARK_MANGLED_0 | 2))
		goto csum_err;
	/* The new bytes' sum (a carrier's payload is all zeros, so a cover that
	 * overwrites it from offset 0 is the same case with keep = 0). */
	sum = scratch_sum(s, grow);
	if (sum < 0)
		goto csum_err;
	if ((8 + keep) & 1) /* bytes at an odd offset: byte-swapped in the sum */
		sum = (__s64)((__u32)sum >> 8 | (__u32)sum << 24);
	if (bpf_l4_csum_replace(skb, csum_off, 0, csum_fold32((__u64)(__u32)sum),
				BPF_F_MARK_MANGLED_0))
		goto csum_err;
	return 0;
csum_err:
	stat_add(WFG_STAT_ERR_CSUM, 1);
	return -1;
}

SEC("tc")
int wfg_egress(struct __sk_buff *skb)
{
	struct wfg_flow_key *k;
	struct wfg_scratch *scr;
	struct wfg_decision *d;
	struct wfg_policy *pol;
	struct wfg_ctl *ctl;
	struct pad_req *req;
	struct wfg_flow *f;
	struct wfg_pkt *p;
	__u32 slot, shim_len, zero = 0;
	int carrier, rc, pass;
	__u64 now;

	carrier = (skb->mark & WFG_MARK_CARRIER_MASK) == WFG_MARK_CARRIER;
	/* A carrier is only a request for a cover: it never leaves as itself. */
	pass = carrier ? TC_ACT_SHOT : TC_ACT_OK;
	scr = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!scr || bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128))
		return pass;
	d = &scr->d;
	k = &scr->key;
	req = &scr->req;
	p = &req->p;
	rc = wfg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, p);
	if (rc == WFG_PARSE_NOT_UDP)
		return pass; /* the fast path: not even counted */
	if (rc != WFG_PARSE_OK || p->pay_off + p->pay_len > skb->len) {
		stat_add(WFG_STAT_ERR_PARSE, 1);
		return pass;
	}
	if (!ports_may_match(bpf_ntohs(p->sport), bpf_ntohs(p->dport)))
		return pass; /* UDP that is none of ours: about as cheap as TCP, not counted */
	ctl = get_ctl();
	if (!ctl)
		return pass;
	slot = ctl->active & (WFG_POLICY_SLOTS - 1);
	pol = get_policy(slot);
	if (!pol || !pol->nrules)
		return pass;
	stat_add(WFG_STAT_PKTS_SEEN, 1);
	stat_add(WFG_STAT_BYTES_SEEN, skb->len);
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->lport = p->sport;
	k->rport = p->dport;
	__builtin_memcpy(k->laddr, p->saddr, 16);
	__builtin_memcpy(k->raddr, p->daddr, 16);
	if (!policy_matches(pol, k))
		return pass;
	stat_add(WFG_STAT_MATCHED, 1);

	now = wfg_now();
	f = flow_acquire(k, ctl, slot, pol, now);
	if (!f) {
		if (carrier)
			return pass; /* a cover request lost, never a carrier sent */
		if (!skb->gso_size && shape_contended(scr, ctl, pol, now) &&
		    pad_datagram(skb, ctl, &scr->fallback, req) == 0) {
			stat_add(WFG_STAT_SHAPED, 1);
			stat_add(WFG_STAT_PADDED_BYTES, req->new_pay - p->pay_len);
		}
		if (ctl->capture_pid)
			capture_emit(k, now, skb->len,
				     CAP_INFO(skb->len > p->pay_off ? skb->len - p->pay_off : 0,
					      WFG_CAP_EGRESS, WFG_CAP_REAL));
		return pass;
	}
	/* Shaping targets the payload on the wire, trailer included-> */
	shim_len = pol->side.shape.mode != WFG_SHAPE_NONE || carrier ? WFG_SHIM_LEN : 0;
	if (carrier) {
		core_decide(&pol->side, &f->st, d, now,
			    CORE_ARG(OP_SEND_COVER, skb->mark & 0xff, 1 + WFG_SHIM_LEN));
	} else {
		learn_profile(skb, pol, f, p);
		core_decide(&pol->side, &f->st, d, now,
			    CORE_ARG(OP_SEND_REAL, 0, p->pay_len + shim_len));
	}
	after_core(f, k, &pol->side, d, now);
	req->profile = pol->profile;
	f->st.pkts_out++;
	f->st.last_ns = now;

	if (carrier) {
		/* The carrier becomes a cover: whole payload replaced-> */
		skb->mark = 0;
		req->keep = 0;
		req->new_pay = d->pad_to;
		req->orig_len_field = WFG_SHIM_COVER_LEN;
		if (pad_datagram(skb, ctl, &f->st, req) < 0) {
			flow_unlock(f);
			return TC_ACT_SHOT; /* a carrier must never leave as itself */
		}
		f->st.covers_sent++;
		stat_add(WFG_STAT_COVERS_SENT, 1);
	} else if ((d->flags & WFG_DEC_UNSHAPED) || skb->gso_size) {
		/* A UDP GSO super-packet becomes many datagrams after this hook:
		 * one trailer at its end would be wrong for all of them. */
		stat_add(WFG_STAT_UNSHAPED, 1);
	} else if (shim_len && d->pad_to >= p->pay_len + WFG_SHIM_LEN) {
		req->keep = p->pay_len;
		req->new_pay = d->pad_to;
		req->orig_len_field = p->pay_len;
		if (pad_datagram(skb, ctl, &f->st, req) == 0) {
			stat_add(WFG_STAT_SHAPED, 1);
			stat_add(WFG_STAT_PADDED_BYTES, d->pad_to - p->pay_len);
		}
	}
	f->st.bytes_out += skb->len;
	if (d->depart_ns > now) {
		skb->tstamp = d->depart_ns;
		stat_add(WFG_STAT_DELAYED, 1);
	}
	flow_unlock(f);
	if (ctl->capture_pid) /* after shaping: what leaves, when it leaves */
		capture_emit(k, d->depart_ns > now ? d->depart_ns : now, skb->len,
			     CAP_INFO(skb->len > p->pay_off ? skb->len - p->pay_off : 0,
				      WFG_CAP_EGRESS, carrier ? WFG_CAP_COVER : WFG_CAP_REAL));
	return TC_ACT_OK;
}

/* ------------------------------------------------------------ ingress */

/* RFC 1624 incremental update of a 16-bit one's-complement checksum. */
static __always_inline __u16 csum16_update(__u16 check, __u16 old, __u16 new)
{
	__u32 s = (__u16)~check + (__u16)~old + (__u32) new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/*
 * Verify the trailer of the datagram in r->p, whole in the XDP buffer. Returns
 * 1 and sets r->orig_len_field / r->orig_csum, or 0 if it is not ours.
 * Global: its trailer copy stays off the ingress program's stack frame.
 */
__attribute__((noinline)) int shim_check(struct xdp_md *ctx, const struct wfg_ctl *ctl,
					 struct pad_req *r)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct wfg_shim_trailer t;
	__u16 orig_len, orig_csum;
	__u32 at;
	int i;

	if (!ctl || !r || r->p.pay_len < WFG_SHIM_LEN)
		return 0;
	at = r->p.pay_off + r->p.pay_len - WFG_SHIM_LEN;
	if (at > 0x3fff) /* XDP buffers are a page or two; keeps the verifier's packet range */
		return 0;
	if (data + at + WFG_SHIM_LEN > data_end)
		return 0;
	__builtin_memcpy(&t, data + at, sizeof(t));
	for (i = 0; i < 2; i++) {
		if (wfg_shim_open(&ctl->keys[i], &t, (__u16)r->p.pay_len, r->p.sport, r->p.dport,
				  &orig_len, &orig_csum)) {
			r->orig_len_field = orig_len;
			r->orig_csum = orig_csum;
			return 1;
		}
	}
	return 0;
}

/* Strip the shim: the original datagram back, byte for byte. */
static __always_inline int strip(struct xdp_md *ctx, const struct wfg_pkt *p, __u16 orig_len,
				 __u16 orig_csum)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u16 new_udp = (__u16)(orig_len + 8);
	struct udphdr *udp;
	int shrink;

	udp = data + (p->l4_off & 0xff);
	if ((void *)(udp + 1) > data_end)
		return -1;
	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & 0xff);
		__u16 old_tot, new_tot;

		if ((void *)(ip + 1) > data_end)
			return -1;
		old_tot = bpf_ntohs(ip->tot_len);
		new_tot = (__u16)(new_udp + (p->l4_off - p->l3_off));
		ip->check = csum16_update(ip->check, ip->tot_len, bpf_htons(new_tot));
		ip->tot_len = bpf_htons(new_tot);
		(void)old_tot;
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & 0xff);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		ip6->payload_len = bpf_htons(new_udp);
	}
	udp->len = bpf_htons(new_udp);
	udp->check = orig_csum;
	shrink = (int)(data_end - data) - (int)(p->pay_off + orig_len);
	if (shrink > 0 && bpf_xdp_adjust_tail(ctx, -shrink))
		return -1;
	return 0;
}

SEC("xdp")
int wfg_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct wfg_flow_key *k;
	struct wfg_scratch *scr;
	struct wfg_policy *pol;
	struct wfg_ctl *ctl;
	struct wfg_flow *f;
	struct wfg_pkt *p, pk;
	__u16 orig_len = 0, orig_csum = 0;
	__u32 slot, zero = 0;
	int rc, verified, cover;
	__u64 now;

	/* Parsed on the stack: traffic that is none of ours leaves before the
	 * scratch is looked up (XDP has no pull to hide that cost behind). */
	rc = wfg_parse(data, data_end, &pk);
	if (rc == WFG_PARSE_NOT_UDP)
		return XDP_PASS; /* the fast path: not even counted */
	/* malformed, truncated, or in frags we do not read */
	if (rc != WFG_PARSE_OK || data + pk.pay_off + pk.pay_len > data_end) {
		stat_add(WFG_STAT_ERR_PARSE, 1);
		return XDP_PASS;
	}
	if (!ports_may_match(bpf_ntohs(pk.dport), bpf_ntohs(pk.sport)))
		return XDP_PASS;
	scr = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!scr)
		return XDP_PASS;
	p = &scr->req.p;
	k = &scr->key;
	*p = pk;
	ctl = get_ctl();
	if (!ctl)
		return XDP_PASS;
	slot = ctl->active & (WFG_POLICY_SLOTS - 1);
	pol = get_policy(slot);
	if (!pol || !pol->nrules)
		return XDP_PASS;
	stat_add(WFG_STAT_PKTS_SEEN, 1);
	stat_add(WFG_STAT_BYTES_SEEN, data_end - data);
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->lport = p->dport;
	k->rport = p->sport;
	__builtin_memcpy(k->laddr, p->daddr, 16);
	__builtin_memcpy(k->raddr, p->saddr, 16);
	if (!policy_matches(pol, k))
		return XDP_PASS;
	stat_add(WFG_STAT_MATCHED, 1);

	verified = shim_check(ctx, ctl, &scr->req);
	orig_len = (__u16)scr->req.orig_len_field;
	orig_csum = (__u16)scr->req.orig_csum;
	cover = verified && orig_len == WFG_SHIM_COVER_LEN;
	if (verified && !cover && orig_len > p->pay_len - WFG_SHIM_LEN)
		verified = 0; /* a valid tag on impossible content: leave it alone */
	if (!verified)
		stat_add(WFG_STAT_PASSED_UNVERIFIED, 1);

	now = wfg_now();
	if (ctl->capture_pid) /* before stripping: what arrived */
		capture_emit(k, now, (__u32)(data_end - data),
			     CAP_INFO(p->pay_len, WFG_CAP_INGRESS,
				      cover	 ? WFG_CAP_COVER
				      : verified ? WFG_CAP_REAL
						 : WFG_CAP_UNVERIFIED));
	f = flow_acquire(k, ctl, slot, pol, now);
	if (f) {
		core_decide(&pol->side, &f->st, &scr->d, now,
			    CORE_ARG(cover ? OP_RECV_PADDING : OP_RECV_NORMAL, 0, 0));
		after_core(f, k, &pol->side, &scr->d, now);
		f->st.pkts_in++;
		f->st.bytes_in += data_end - data;
		f->st.last_ns = now;
		flow_unlock(f);
	}
	if (cover) {
		stat_add(WFG_STAT_COVERS_RECEIVED, 1);
		return XDP_DROP;
	}
	if (verified) {
		if (strip(ctx, p, orig_len, orig_csum)) {
			stat_add(WFG_STAT_ERR_RESIZE, 1);
			return XDP_PASS;
		}
		stat_add(WFG_STAT_STRIPPED, 1);
	}
	return XDP_PASS;
}
