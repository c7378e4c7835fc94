/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The wire shim (docs/wire-format.md): the trailer appended to padded UDP
 * payloads and to cover packets, and the keyed functions that protect it.
 * Helper-free: the TC and XDP programs and userspace tests share it.
 *
 *   [ original payload ][ padding ][ nonce 8 | masked 4 | tag 8 ]
 *
 * masked = (original length, original UDP checksum) XOR a SipHash-2-4 mask of
 * (nonce, wire length, ports); tag = SipHash-2-4 of (nonce, wire length,
 * ports, masked). Everything in the trailer looks random to whoever lacks
 * the key; a receiver strips only what verifies under one of its two keys.
 */
#ifndef WFGUARD_SHIM_H
#define WFGUARD_SHIM_H

#include "core/types.h"
#include "core/wire.h" /* WFG_SHIM_*_LEN: the core sizes packets with the trailer */

/* Original length 0xffff marks a cover packet: no UDP payload is that long. */
#define WFG_SHIM_COVER_LEN 0xffff

#define WFG_SHIM_DOMAIN_MASK 1ULL
#define WFG_SHIM_DOMAIN_TAG  2ULL

struct wfg_shim_key {
	__u64 k0, k1;
};

struct wfg_shim_trailer {
	__u8 nonce[WFG_SHIM_NONCE_LEN];
	__u8 masked[WFG_SHIM_MASKED_LEN];
	__u8 tag[WFG_SHIM_TAG_LEN];
};

WFG_INLINE __u64 wfg_rotl64(__u64 v, unsigned int n)
{
	return (v << n) | (v >> (64 - n));
}

#define WFG_SIPROUND(v0, v1, v2, v3)     \
	do {                             \
		v0 += v1;                \
		v1 = wfg_rotl64(v1, 13); \
		v1 ^= v0;                \
		v0 = wfg_rotl64(v0, 32); \
		v2 += v3;                \
		v3 = wfg_rotl64(v3, 16); \
		v3 ^= v2;                \
		v0 += v3;                \
		v3 = wfg_rotl64(v3, 21); \
		v3 ^= v0;                \
		v2 += v1;                \
		v1 = wfg_rotl64(v1, 17); \
		v1 ^= v2;                \
		v2 = wfg_rotl64(v2, 32); \
	} while (0)

/*
 * SipHash-2-4 of a message given as n little-endian 64-bit words followed by
 * `tail` (the last len % 8 bytes, little-endian); len is the message length in
 * bytes (n * 8 + len % 8).
 */
WFG_INLINE __u64 wfg_siphash24(const struct wfg_shim_key *k, const __u64 *words, int n, __u64 tail,
			       __u64 len)
{
	__u64 v0 = 0x736f6d6570736575ULL ^ k->k0;
	__u64 v1 = 0x646f72616e646f6dULL ^ k->k1;
	__u64 v2 = 0x6c7967656e657261ULL ^ k->k0;
	__u64 v3 = 0x7465646279746573ULL ^ k->k1;
	__u64 m;
	int i;

	for (i = 0; i < 4; i++) {
		if (i >= n)
			break;
		m = words[i];
		v3 ^= m;
		WFG_SIPROUND(v0, v1, v2, v3);
		WFG_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	m = tail | (len << 56);
	v3 ^= m;
	WFG_SIPROUND(v0, v1, v2, v3);
	WFG_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		WFG_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

WFG_INLINE __u64 wfg_load_le64(const __u8 *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

WFG_INLINE void wfg_store_le64(__u8 *p, __u64 v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (__u8)(v >> (8 * i));
}

/* The words both keyed functions start from: nonce, then the packet's context. */
WFG_INLINE void wfg_shim_context(__u64 w[2], const __u8 nonce[8], __u16 wire_len, __u16 sport,
				 __u16 dport, __u64 domain)
{
	w[0] = wfg_load_le64(nonce);
	w[1] = (__u64)wire_len | (__u64)sport << 16 | (__u64)dport << 32 | domain << 48;
}

/*
 * Fill t for a datagram whose UDP payload will be wire_len bytes long (trailer
 * included), carrying orig_len bytes of original payload with original UDP
 * checksum orig_csum (network byte order, as on the wire). Ports as on the wire
 * (network byte order), so sender and receiver compute the same.
 */
WFG_INLINE void wfg_shim_seal(const struct wfg_shim_key *k, struct wfg_shim_trailer *t, __u64 nonce,
			      __u16 wire_len, __u16 sport, __u16 dport, __u16 orig_len,
			      __u16 orig_csum)
{
	__u64 w[2], mask, tag;
	__u32 plain;
	int i;

	wfg_store_le64(t->nonce, nonce);
	wfg_shim_context(w, t->nonce, wire_len, sport, dport, WFG_SHIM_DOMAIN_MASK);
	mask = wfg_siphash24(k, w, 2, 0, 16);
	plain = (__u32)orig_len << 16 | orig_csum;
	plain ^= (__u32)mask;
	for (i = 0; i < 4; i++)
		t->masked[i] = (__u8)(plain >> (8 * i));
	w[1] ^= (WFG_SHIM_DOMAIN_MASK ^ WFG_SHIM_DOMAIN_TAG) << 48;
	tag = wfg_siphash24(k, w, 2, plain, 20);
	wfg_store_le64(t->tag, tag);
}

/*
 * Check t under key k; on success store the original length and checksum and
 * return 1. Constant work whatever the input.
 */
WFG_INLINE int wfg_shim_open(const struct wfg_shim_key *k, const struct wfg_shim_trailer *t,
			     __u16 wire_len, __u16 sport, __u16 dport, __u16 *orig_len,
			     __u16 *orig_csum)
{
	__u64 w[2], mask;
	__u32 masked = 0;
	int i;

	for (i = 3; i >= 0; i--)
		masked = masked << 8 | t->masked[i];
	wfg_shim_context(w, t->nonce, wire_len, sport, dport, WFG_SHIM_DOMAIN_TAG);
	if (wfg_siphash24(k, w, 2, masked, 20) != wfg_load_le64(t->tag))
		return 0;
	w[1] ^= (WFG_SHIM_DOMAIN_MASK ^ WFG_SHIM_DOMAIN_TAG) << 48;
	mask = wfg_siphash24(k, w, 2, 0, 16);
	masked ^= (__u32)mask;
	*orig_len = (__u16)(masked >> 16);
	*orig_csum = (__u16)masked;
	return 1;
}

#endif
