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
#include "lib/mac.h"
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
 * n (<= WFG_MAX_GROW) unused bytes from this CPU's padding pool: they start at
 * s->pool_start in chunk s->pool_chunk, and with `copy` they are also copied
 * into scratch. Returns 0, or -1 when the pool is absent or dry. Global:
 * verified once.
 */
__attribute__((noinline)) int pool_take(struct wfg_scratch *s, __u64 n, __u64 copy)
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
			s->pool_start = off;
			s->pool_off = off + (__u32)n;
			/* The source is map memory checked above; the helper is a
			 * plain copy, cheaper than a loop the verifier would accept. */
			return copy && bpf_probe_read_kernel(s->bytes, n, c->bytes + off) ? -1 : 0;
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
	s->pool_start = 0;
	s->pool_off = (__u32)n;
	return copy && bpf_probe_read_kernel(s->bytes, n, c->bytes) ? -1 : 0;
}

/*
 * Where n random padding bytes are: in the pool chunk itself (in_place: a
 * real packet's padding is stored into the packet from there, with no copy in
 * between), or in scratch (from the pool, or rounded up to 64 from the flow's
 * padding keystream; a cover writes its header over them there). Never NULL.
 */
static __always_inline const __u8 *padding_source(struct wfg_flow_state *st, struct wfg_scratch *s,
						  __u32 n, int in_place)
{
	struct wfg_pool_chunk *c;
	__u32 start;
	int i;

	if (wfg_pool_chunks) {
		if (pool_take(s, n, !in_place) == 0) {
			stat_add(WFG_STAT_PAD_POOL_USED, 1);
			if (!in_place)
				return s->bytes;
			c = pool_chunk(bpf_get_smp_processor_id(), s->pool_chunk);
			start = s->pool_start;
			if (c && start <= WFG_POOL_CHUNK_BYTES) /* always: pool_take checked */
				return c->bytes + start;
		}
		stat_add(WFG_STAT_PAD_POOL_DRY, 1);
	}
	for (i = 0; i < WFG_SCRATCH_BYTES / 64; i++) {
		if ((__u32)i * 64 >= n)
			break;
		wfg_prng_block(&st->pad_rng, (struct wfg_block *)(s->bytes + i * 64));
	}
	return s->bytes;
}

/*
 * The padding's share of the UDP checksum: src[0, n) as bytes of one run that
 * starts at an even offset, then the trailer right after them (at offset n).
 * Returns the 32-bit one's-complement sum, or -1.
 */
static __always_inline __s64 padding_sum(const __u8 *src, __u32 n, const struct wfg_shim_trailer *t)
{
	__u32 n4 = n & ~3u, w[WFG_SHIM_LEN / 4], tail = 0, tw = 0;
	__u8 *tb = (__u8 *)&tail;
	__s64 sum = 0;
	__u64 acc;
	int c, i;

	for (c = 0; c < WFG_MAX_GROW / 512 + 1; c++) {
		__u32 off = c * 512, chunk;

		if (off >= n4)
			break;
		chunk = n4 - off;
		if (chunk > 512) /* bpf_csum_diff's own limit */
			chunk = 512;
		chunk &= 0x3fc; /* bounds for the verifier; no-op at run time */
		sum = bpf_csum_diff(0, 0, (__be32 *)(src + off), chunk, (__u32)sum);
		if (sum < 0)
			return sum;
	}
	/* The last n % 4 bytes, as the first bytes of a word in memory order. */
	for (i = 0; i < 3; i++)
		if (n4 + i < n)
			tb[i] = src[WFG_IDX(n4 + i, 2048)];
	__builtin_memcpy(w, t, sizeof(w));
	for (i = 0; i < WFG_SHIM_LEN / 4; i++)
		tw = (__u32)csum_fold32((__u64)tw + w[i]);
	if (n & 1) /* the trailer starts at an odd offset: byte-swapped in the sum */
		tw = tw >> 8 | tw << 24;
	acc = (__u64)(__u32)sum + tail + tw;
	return csum_fold32(acc);
}

/*
 * The new lengths into the IP and UDP headers, and the sealed trailer at
 * `trailer_off`, written in place: bpf_skb_change_tail left the whole datagram
 * linear, so no helper is needed (the trailer falls back to one if the tail is
 * not in the linear part after all). The IPv4 header checksum follows its
 * total length (RFC 1624). Returns 0 or -1.
 */
static __always_inline int write_lengths_and_trailer(struct __sk_buff *skb, const struct wfg_pkt *p,
						     __u16 new_udp_len, __u32 trailer_off,
						     const struct wfg_shim_trailer *t)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct udphdr *udp = data + (p->l4_off & 0xff);
	__u8 *tr;

	if ((void *)(udp + 1) > end)
		return -1;
	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & 0x7f);
		__be16 tot;

		if ((void *)(ip + 1) > end)
			return -1;
		tot = bpf_htons((__u16)(new_udp_len + (p->l4_off - p->l3_off)));
		ip->check = csum16_update(ip->check, ip->tot_len, tot);
		ip->tot_len = tot;
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & 0x7f);

		if ((void *)(ip6 + 1) > end)
			return -1;
		ip6->payload_len = bpf_htons(new_udp_len);
	}
	udp->len = bpf_htons(new_udp_len);
	/* (the verifier marks a packet range only below 64 KiB with the length) */
	tr = data + (trailer_off & 0x3fff);
	if (trailer_off <= 0x3fff && (void *)(tr + WFG_SHIM_LEN) <= end) {
		__builtin_memcpy(tr, t, WFG_SHIM_LEN);
		return 0;
	}
	return bpf_skb_store_bytes(skb, trailer_off, t, WFG_SHIM_LEN, 0) ? -1 : 0;
}

/*
 * Grow the datagram to `new_pay` payload bytes: keep `keep` bytes of the
 * original payload, fill the rest with random bytes (or a cover header and
 * random bytes), end with a sealed trailer; fix lengths and checksums.
 *
 * Helper calls, the cost that counts here: one to grow, one to copy the
 * padding (straight from the pool for a real packet), bpf_csum_diff over the
 * padding (per 512 bytes), and two checksum updates. The lengths, the IPv4
 * header checksum and the trailer are plain stores.
 */

/* Global: verified once. Returns 0 or -1 (counted). */
__attribute__((noinline)) int pad_datagram(struct __sk_buff *skb, const struct wfg_ctl *ctl,
					   struct wfg_flow_state *st, const struct pad_req *r)
{
	const struct wfg_shim_key *key;
	const struct wfg_pkt *p;
	struct wfg_scratch *s;
	struct wfg_mac *m;
	__u32 zero = 0, grow, shim_at, keep, new_pay, len_diff, body_end;
	__u16 new_udp_len, orig_len_field;
	const __u8 *src;
	__s64 sum;
	int cover;

	if (!skb || !ctl || !st || !r)
		return -1;
	p = &r->p;
	keep = r->keep;
	new_pay = r->new_pay;
	orig_len_field = (__u16)r->orig_len_field;
	cover = orig_len_field == WFG_SHIM_COVER_LEN;
	new_udp_len = (__u16)(new_pay + 8);
	if (new_pay < keep + WFG_SHIM_LEN || new_pay > 65507)
		return -1;
	grow = new_pay - keep;
	if (grow > WFG_MAX_GROW)
		return -1;
	s = bpf_map_lookup_elem(&wfg_scratch, &zero);
	if (!s)
		return -1;
	src = padding_source(st, s, grow, !cover);
	if (cover)
		cover_header(r, st, s);
	/* Bounded for the verifier where it reads src (a pool chunk has room for
	 * 2048 bytes past its last offset): the masks are no-ops at run time. */
	shim_at = WFG_IDX(grow - WFG_SHIM_LEN, 2048);
	if (shim_at > WFG_MAX_GROW - WFG_SHIM_LEN)
		return -1;
	/* The checked register as a new value: the compiler may otherwise reload
	 * a copy it spilled before the check, which 6.1's verifier does not know
	 * to be bounded (it failed the pooled object there). */
	asm volatile("" : "+r"(shim_at));
	/* The nonce: fresh random bytes where the trailer goes (pool or keystream),
	 * never sent as padding. */
	m = &s->mac;
	__builtin_memcpy(m->t.nonce, src + shim_at, WFG_SHIM_NONCE_LEN);
	if (bpf_skb_change_tail(skb, p->pay_off + new_pay, 0)) {
		stat_add(WFG_STAT_ERR_RESIZE, 1);
		return -1;
	}
	if (shim_at &&
	    bpf_skb_store_bytes(skb, p->pay_off + keep, src, WFG_IDX(shim_at - 1, 2048) + 1, 0)) {
		stat_add(WFG_STAT_ERR_STORE, 1);
		return -1;
	}
	/* The tag reads the body back from the packet, as the receiver will. */
	key = &ctl->keys[ctl->key_slot & 1];
	mac_header(m, p, new_pay);
	wfg_shim_seal_fields(key, &m->t, wfg_load_le64(m->t.nonce), r->seq, &m->h, orig_len_field,
			     cover ? 0 : p->udp_csum);
	wfg_shim_tag_begin(&m->s[0], key, &m->t, &m->h);
	m->nkeys = 1;
	body_end = p->pay_off + new_pay - WFG_SHIM_LEN;
	if (mac_body(skb, m, p->pay_off, body_end, 0)) {
		stat_add(WFG_STAT_ERR_STORE, 1);
		return -1;
	}
	wfg_store_le64(m->t.tag, wfg_sip_final(&m->s[0], m->tail,
					       WFG_SHIM_TAG_PREFIX + (body_end - p->pay_off)));
	wfg_shim_store_check(key, &m->t);
	if (write_lengths_and_trailer(skb, p, new_udp_len, body_end, &m->t)) {
		stat_add(WFG_STAT_ERR_STORE, 1);
		return -1;
	}
	if (p->family == 4 && p->udp_csum == 0)
		return 0; /* IPv4 UDP without checksum stays without */
	/*
	 * The UDP length appears in the pseudo header and in the UDP header. For
	 * an offloaded (CHECKSUM_PARTIAL) skb only the pseudo header's change
	 * applies, and only the kernel's helper knows which case this is: one
	 * update for the pseudo header, one for the rest (the length field and
	 * the new bytes, whose sum is taken against the zeros they replace: a
	 * carrier's payload is all zeros, so a cover that overwrites it from
	 * offset 0 is the same case with keep = 0).
	 */
	len_diff = (__u32)csum_fold32((__u64)(__u16)~p->udp_len + bpf_htons(new_udp_len));
	if (bpf_l4_csum_replace(skb, p->l4_off + 6, 0, len_diff,
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0))
		goto csum_err;
	sum = padding_sum(src, WFG_IDX(shim_at, 2048), &m->t);
	if (sum < 0)
		goto csum_err;
	if ((8 + keep) & 1) /* bytes at an odd offset: byte-swapped in the sum */
		sum = (__s64)((__u32)sum >> 8 | (__u32)sum << 24);
	if (bpf_l4_csum_replace(skb, p->l4_off + 6, 0, csum_fold32((__u64)(__u32)sum + len_diff),
				BPF_F_MARK_MANGLED_0))
		goto csum_err;
	return 0;
csum_err:
	stat_add(WFG_STAT_ERR_CSUM, 1);
	return -1;
}

#endif /* WFGUARD_BPF_LIB_PAD_H */
