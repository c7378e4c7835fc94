/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The shim tag over a datagram in the kernel (include/wfguard/shim.h): the
 * header in scratch, then the body read from the packet WFG_TAG_CHUNK bytes
 * at a time into scratch and absorbed word by word. One global function per
 * program type (the load helpers differ), one loop.
 */
#ifndef WFGUARD_BPF_LIB_SHIM_TAG_H
#define WFGUARD_BPF_LIB_SHIM_TAG_H

#include "lib/maps.h"

#define WFG_TAG_CHUNKS (WFG_SHIM_BODY_MAX / WFG_TAG_CHUNK)
_Static_assert(WFG_TAG_CHUNK % 8 == 0 && (WFG_TAG_CHUNK & (WFG_TAG_CHUNK - 1)) == 0,
	       "a power of two; only the last chunk ends inside a word");

/*
 * Absorb the first n (1..WFG_TAG_CHUNK) bytes of s->body into s->sip; a last
 * partial word goes to s->sip_tail (only the body's last chunk has one).
 * Global: the verifier walks this loop once, not once per chunk and caller.
 */
__attribute__((noinline)) int tag_absorb_chunk(struct wfg_scratch *s, __u32 n)
{
	__u32 i, words;
	struct wfg_sip sip;
	__u64 w;

	if (!s || n > WFG_TAG_CHUNK)
		return -1;
	words = wfg_bench_tag_no_body ? 0 : n / 8;
	sip = s->sip;
	for (i = 0; i < WFG_TAG_CHUNK / 8; i++) {
		if (i >= words)
			break;
		/* scratch is 8-aligned and the offset a multiple of 8: one load (bpfel) */
		wfg_sip_word(&sip, *(const __u64 *)(s->body + i * 8));
	}
	s->sip = sip;
	if (n % 8 && !wfg_bench_tag_no_body) {
		/* Bytes past n are stale scratch: masked off. */
		w = *(const __u64 *)(s->body + (words & (WFG_TAG_CHUNK / 8 - 1)) * 8);
		s->sip_tail = w & ((1ULL << (8 * (n % 8))) - 1);
	}
	return 0;
}

/* len packet bytes from off into s->body, with the program type's helper. */
static __always_inline int tag_load(void *ctx, int xdp, struct wfg_scratch *s, __u32 off, __u64 len)
{
	if (xdp)
		return bpf_xdp_load_bytes((struct xdp_md *)ctx, off, s->body, len);
	return bpf_skb_load_bytes(ctx, off, s->body, len);
}

/*
 * The tag of the datagram whose payload starts at pay_off, under k, with
 * s->shim_hdr filled (wire_len: the payload on the wire, trailer included).
 * Returns 0 and stores it in *tag, or -1 (a body too long, a failed read).
 */
static __always_inline int tag_body(void *ctx, int xdp, const struct wfg_shim_key *k,
				    struct wfg_scratch *s, __u32 pay_off, __u64 *tag)
{
	int b = wfg_shim_body_len(s->shim_hdr.wire_len);
	__u32 body, c, chunks;
	__u64 len;

	if (b < 0)
		return -1;
	body = (__u32)b;
	wfg_shim_tag_begin(&s->sip, k, &s->shim_hdr);
	s->sip_tail = 0;
	/* Whole chunks, then the rest: the offset depends on c alone, which keeps
	 * the verifier's walk of this loop linear in its trip count. */
	chunks = (body + WFG_TAG_CHUNK - 1) / WFG_TAG_CHUNK;
	for (c = 0; c < WFG_TAG_CHUNKS; c++) {
		if (c >= chunks)
			break;
		/* the last chunk's length, in [1, WFG_TAG_CHUNK] by construction
		 * (a checked copy would not bound the register the helper gets) */
		len = c + 1 < chunks ? WFG_TAG_CHUNK : ((body - 1) & (WFG_TAG_CHUNK - 1)) + 1;
		if (tag_load(ctx, xdp, s, pay_off + c * WFG_TAG_CHUNK, len) ||
		    tag_absorb_chunk(s, (__u32)len))
			return -1;
	}
	*tag = wfg_sip_final(&s->sip, s->sip_tail, wfg_shim_tag_len(body));
	return 0;
}

/* TC egress: the tag of the datagram as it will leave. Global: verified once. */
__attribute__((noinline)) int shim_tag_skb(struct __sk_buff *skb, const struct wfg_shim_key *k,
					   struct wfg_scratch *s, __u32 pay_off, __u64 *tag)
{
	if (!skb || !k || !s || !tag)
		return -1;
	return tag_body(skb, 0, k, s, pay_off, tag);
}

/* XDP ingress: the tag of the datagram as it arrived. Global: verified once. */
__attribute__((noinline)) int shim_tag_xdp(struct xdp_md *ctx, const struct wfg_shim_key *k,
					   struct wfg_scratch *s, __u32 pay_off, __u64 *tag)
{
	if (!ctx || !k || !s || !tag)
		return -1;
	return tag_body(ctx, 1, k, s, pay_off, tag);
}

#endif /* WFGUARD_BPF_LIB_SHIM_TAG_H */
