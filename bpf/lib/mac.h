/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The shim's tag over a whole datagram body (docs/wire-format.md): SipHash-2-4
 * fed from the packet in WFG_MAC_CHUNK-byte chunks. The chunks are read with
 * the load helpers into per-CPU scratch under bpf_loop, so the verifier walks
 * one chunk's rounds once, whatever the datagram's length: 6.1's verifier
 * rejects the same rounds walked per byte offset of an inline loop, and there
 * is no stack to spare for a copy.
 */
#ifndef WFGUARD_BPF_LIB_MAC_H
#define WFGUARD_BPF_LIB_MAC_H

#include "lib/maps.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mac_absorb reads SipHash's little-endian words as native loads"
#endif

/* Bodies longer than this are not ours: no IP datagram is. */
#define WFG_MAC_MAX_BODY 65535

struct mac_loop {
	void *ctx; /* the program's context, for the load helper */
	struct wfg_mac *m;
};

/* n (1 ... WFG_MAC_CHUNK) bytes in m->buf into every key's state. */
static __always_inline void mac_absorb(struct wfg_mac *m, __u32 n)
{
	__u64 w;
	int j;

	for (j = 0; j < WFG_MAC_CHUNK / 8; j++) {
		if ((__u32)j * 8 + 8 > n)
			break;
		w = *(__u64 *)(m->buf + j * 8);
		wfg_sip_word(&m->s[0], w);
		if (m->nkeys > 1)
			wfg_sip_word(&m->s[1], w);
	}
	/* Only the body's last chunk can end inside a word. */
	if (n & 7)
		m->tail = *(__u64 *)(m->buf + (n & 0x78)) & ((1ULL << 8 * (n & 7)) - 1);
}

/* The next chunk's length, 0 when the body is done. */
static __always_inline __u32 mac_next(const struct wfg_mac *m)
{
	__u32 n = m->end - m->off;

	if (m->off >= m->end)
		return 0;
	return n > WFG_MAC_CHUNK ? WFG_MAC_CHUNK : n;
}

/* One chunk into the states; xdp: a constant, so each callback keeps one helper. */
static __always_inline long mac_chunk(struct mac_loop *l, int xdp)
{
	struct wfg_mac *m = l->m;
	__u32 n = mac_next(m);
	long rc;

	if (!n || n > WFG_MAC_CHUNK)
		return 1;
	n = ((n - 1) & (WFG_MAC_CHUNK - 1)) + 1; /* bounds for the verifier; no-op */
	rc = xdp ? bpf_xdp_load_bytes(l->ctx, m->off, m->buf, n)
		 : bpf_skb_load_bytes(l->ctx, m->off, m->buf, n);
	if (rc) {
		m->err = 1;
		return 1;
	}
	mac_absorb(m, n);
	m->off += n;
	return 0;
}

static long mac_chunk_xdp(__u32 i, void *data)
{
	return mac_chunk(data, 1);
}

static long mac_chunk_skb(__u32 i, void *data)
{
	return mac_chunk(data, 0);
}

/* m->t and m->h from a parsed datagram whose UDP payload is wire_len bytes. */
static __always_inline void mac_header(struct wfg_mac *m, const struct wfg_pkt *p, __u32 wire_len)
{
	__builtin_memcpy(m->h.saddr, p->saddr, 16);
	__builtin_memcpy(m->h.daddr, p->daddr, 16);
	m->h.sport = p->sport;
	m->h.dport = p->dport;
	m->h.wire_len = (__u16)wire_len;
	m->h.family = p->family;
	m->h._pad = 0;
}

/*
 * Feed the body [off, end) into the states begun in m, reading with the
 * helper `xdp` names (XDP or skb). Returns 0, or -1 when a byte could not be
 * read (the tag is then void: the caller neither seals nor accepts).
 */
static __always_inline int mac_body(void *ctx, struct wfg_mac *m, __u32 off, __u32 end, int xdp)
{
	struct mac_loop l = { .ctx = ctx, .m = m };

	if (end < off || end - off > WFG_MAC_MAX_BODY)
		return -1;
	m->off = off;
	m->end = end;
	m->tail = 0;
	m->err = 0;
	if (end > off)
		bpf_loop((end - off + WFG_MAC_CHUNK - 1) / WFG_MAC_CHUNK,
			 xdp ? mac_chunk_xdp : mac_chunk_skb, &l, 0);
	return m->err || m->off != m->end ? -1 : 0;
}

#endif /* WFGUARD_BPF_LIB_MAC_H */
