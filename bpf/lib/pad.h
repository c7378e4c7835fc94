/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Growing a datagram on TC egress: random padding bytes (the pool, or the
 * flow's keystream), the cover's cleartext header, the sealed trailer, and
 * lengths and checksums fixed to match (docs/wire-format.md).
 */
#ifndef WFGUARD_BPF_LIB_PAD_H
#define WFGUARD_BPF_LIB_PAD_H

#include <bpf/bpf_endian.h>

#include "lib/csum.h"
#include "lib/maps.h"
#include "lib/profile.h"
#include "lib/stats.h"

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
	len = wfg_wire_core_len(pol->mode, &pol->side, WFG_OP_SEND_REAL, req->p.pay_len);
	target = wfg_shape_target(&pol->side.shape, len, &fb->pad_rng);
	/* The size limit holds here as on every path (the device's MTU). */
	if (target < len || (pol->side.shape.max && target > pol->side.shape.max))
		return 0;
	req->keep = req->p.pay_len;
	req->new_pay = target;
	req->orig_len_field = req->p.pay_len;
	req->profile = pol->profile;
	return target;
}

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
		cover_header(r, st, s);
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

#endif /* WFGUARD_BPF_LIB_PAD_H */
