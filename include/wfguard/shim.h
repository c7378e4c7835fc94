/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The wire shim (docs/wire-format.md): the trailer appended to padded UDP
 * payloads and to cover packets, and the keyed functions that protect it.
 * Helper-free: the TC and XDP programs and userspace tests share it.
 *
 *   [ original payload ][ padding ][ nonce 8 | masked 4 | seq 8 | tag 8 | check 4 ]
 *
 * masked = (original length, original UDP checksum) XOR a SipHash-2-4 mask of
 * (nonce, wire length, ports); seq = the sender's per-flow sequence number
 * XOR another such mask; tag = SipHash-2-4 over the trailer's first fields,
 * the ports, the family, both IP addresses and every payload byte before the
 * trailer; check = 32 bits of SipHash-2-4 over the trailer's other fields
 * alone. Everything in the trailer looks random to whoever lacks the key. A
 * receiver recognises its peer's trailer by the check (cheap: no payload
 * read), strips only what the tag then verifies under the same key, and only
 * once per sequence number (struct wfg_replay); a recognised trailer whose
 * tag fails is a changed datagram, which it drops (WFG_SHIM_TAMPERED).
 */
#ifndef WFGUARD_SHIM_H
#define WFGUARD_SHIM_H

#include "core/types.h"
#include "core/wire.h" /* WFG_SHIM_*_LEN: the core sizes packets with the trailer */

/* Original length 0xffff marks a cover packet: no UDP payload is that long. */
#define WFG_SHIM_COVER_LEN 0xffff

#define WFG_SHIM_DOMAIN_MASK 1ULL
#define WFG_SHIM_DOMAIN_TAG  2ULL
#define WFG_SHIM_DOMAIN_SEQ  3ULL

/*
 * What a receiver makes of a datagram's last WFG_SHIM_LEN bytes. NOT_OURS: the
 * check fails under both keys, so these bytes are no trailer of the peer's
 * (an unshaped datagram, or a trailer changed on the way: the two look the
 * same); passed untouched. TAMPERED: a trailer the peer made, on a datagram
 * whose body, addresses, ports or length are not the ones it sealed; dropped.
 */
enum wfg_shim_verdict {
	WFG_SHIM_NOT_OURS = 0,
	WFG_SHIM_VERIFIED = 1,
	WFG_SHIM_TAMPERED = 2,
};

/* The tag's fixed prefix: 8 words before the datagram's body (see tag_begin). */
#define WFG_SHIM_TAG_PREFIX 64

struct wfg_shim_key {
	__u64 k0, k1;
};

struct wfg_shim_trailer {
	__u8 nonce[WFG_SHIM_NONCE_LEN];
	__u8 masked[WFG_SHIM_MASKED_LEN];
	__u8 seq[WFG_SHIM_SEQ_LEN];
	__u8 tag[WFG_SHIM_TAG_LEN];
	__u8 check[WFG_SHIM_CHECK_LEN];
};
_Static_assert(sizeof(struct wfg_shim_trailer) == WFG_SHIM_LEN, "the trailer is its fields");

/*
 * What the tag binds besides the trailer and the body, as the datagram carries
 * it on the wire: the sender's and the receiver's addresses (IPv4: 4 bytes,
 * then zeros), the family (4 or 6), the ports (network byte order) and the UDP
 * payload length on the wire, trailer included.
 */
struct wfg_shim_hdr {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport, dport;
	__u16 wire_len;
	__u8 family;
	__u8 _pad;
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

/*
 * SipHash-2-4 one word at a time, for messages too long for wfg_siphash24's
 * four words: the tag over a whole datagram, which the BPF programs feed in
 * chunks read from the packet.
 */
struct wfg_sip {
	__u64 v0, v1, v2, v3;
};

WFG_INLINE void wfg_sip_init(struct wfg_sip *s, const struct wfg_shim_key *k)
{
	s->v0 = 0x736f6d6570736575ULL ^ k->k0;
	s->v1 = 0x646f72616e646f6dULL ^ k->k1;
	s->v2 = 0x6c7967656e657261ULL ^ k->k0;
	s->v3 = 0x7465646279746573ULL ^ k->k1;
}

WFG_INLINE void wfg_sip_word(struct wfg_sip *s, __u64 m)
{
	__u64 v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3;

	v3 ^= m;
	WFG_SIPROUND(v0, v1, v2, v3);
	WFG_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	s->v0 = v0;
	s->v1 = v1;
	s->v2 = v2;
	s->v3 = v3;
}

/* tail: the message's last len % 8 bytes, little-endian; len: its length. */
WFG_INLINE __u64 wfg_sip_final(struct wfg_sip *s, __u64 tail, __u64 len)
{
	__u64 v0, v1, v2, v3;
	int i;

	wfg_sip_word(s, tail | (len << 56));
	v0 = s->v0;
	v1 = s->v1;
	v2 = s->v2 ^ 0xff;
	v3 = s->v3;
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

WFG_INLINE __u32 wfg_load_le32(const __u8 *p)
{
	return (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;
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
 * The trailer's fields but the tag, for a datagram of h->wire_len payload bytes
 * carrying orig_len bytes of original payload with original UDP checksum
 * orig_csum (network byte order, as on the wire), sent as number seq of its
 * flow and direction.
 */
WFG_INLINE void wfg_shim_seal_fields(const struct wfg_shim_key *k, struct wfg_shim_trailer *t,
				     __u64 nonce, __u64 seq, const struct wfg_shim_hdr *h,
				     __u16 orig_len, __u16 orig_csum)
{
	__u64 w[2];
	__u32 plain;

	wfg_store_le64(t->nonce, nonce);
	wfg_shim_context(w, t->nonce, h->wire_len, h->sport, h->dport, WFG_SHIM_DOMAIN_MASK);
	plain = ((__u32)orig_len << 16 | orig_csum) ^ (__u32)wfg_siphash24(k, w, 2, 0, 16);
	t->masked[0] = (__u8)plain;
	t->masked[1] = (__u8)(plain >> 8);
	t->masked[2] = (__u8)(plain >> 16);
	t->masked[3] = (__u8)(plain >> 24);
	w[1] ^= (WFG_SHIM_DOMAIN_MASK ^ WFG_SHIM_DOMAIN_SEQ) << 48;
	wfg_store_le64(t->seq, seq ^ wfg_siphash24(k, w, 2, 0, 16));
}

/*
 * The tag's first eight words (WFG_SHIM_TAG_PREFIX bytes): nonce, context,
 * masked field and family, masked sequence number, source and destination
 * address. The body (every payload byte before the trailer) follows, then
 * wfg_sip_final over WFG_SHIM_TAG_PREFIX + body bytes.
 */
WFG_INLINE void wfg_shim_tag_begin(struct wfg_sip *s, const struct wfg_shim_key *k,
				   const struct wfg_shim_trailer *t, const struct wfg_shim_hdr *h)
{
	__u64 w[2];

	wfg_sip_init(s, k);
	wfg_shim_context(w, t->nonce, h->wire_len, h->sport, h->dport, WFG_SHIM_DOMAIN_TAG);
	wfg_sip_word(s, w[0]);
	wfg_sip_word(s, w[1]);
	wfg_sip_word(s, (__u64)wfg_load_le32(t->masked) | (__u64)h->family << 32);
	wfg_sip_word(s, wfg_load_le64(t->seq));
	wfg_sip_word(s, wfg_load_le64(h->saddr));
	wfg_sip_word(s, wfg_load_le64(h->saddr + 8));
	wfg_sip_word(s, wfg_load_le64(h->daddr));
	wfg_sip_word(s, wfg_load_le64(h->daddr + 8));
}

/*
 * The check: low 32 bits of SipHash-2-4 over nonce, seq and tag (words) and
 * masked (tail), 28 bytes, a length no other shim hash takes. It depends on
 * the trailer alone, so the receiver tells its peer's trailers from other
 * bytes before it reads the payload, and a body changed under an intact
 * trailer is recognised as changed rather than passed on as someone else's.
 */
WFG_INLINE __u32 wfg_shim_check(const struct wfg_shim_key *k, const struct wfg_shim_trailer *t)
{
	__u64 w[3];

	w[0] = wfg_load_le64(t->nonce);
	w[1] = wfg_load_le64(t->seq);
	w[2] = wfg_load_le64(t->tag);
	return (__u32)wfg_siphash24(k, w, 3, wfg_load_le32(t->masked),
				    WFG_SHIM_LEN - WFG_SHIM_CHECK_LEN);
}

WFG_INLINE void wfg_shim_store_check(const struct wfg_shim_key *k, struct wfg_shim_trailer *t)
{
	__u32 c = wfg_shim_check(k, t);

	t->check[0] = (__u8)c;
	t->check[1] = (__u8)(c >> 8);
	t->check[2] = (__u8)(c >> 16);
	t->check[3] = (__u8)(c >> 24);
}

/* Whether t is a trailer made under k (its check verifies). */
WFG_INLINE int wfg_shim_recognised(const struct wfg_shim_key *k, const struct wfg_shim_trailer *t)
{
	return wfg_shim_check(k, t) == wfg_load_le32(t->check);
}

/* The last n % 8 bytes of p[0, n) as SipHash's tail word. */
WFG_INLINE __u64 wfg_sip_tail(const __u8 *p, __u32 n)
{
	__u64 tail = 0;
	__u32 i;

	for (i = n; i > n - n % 8; i--)
		tail = (tail << 8) | p[i - 1];
	return tail;
}

/* The whole tag over a body in memory (userspace: tests, benchmarks, harness). */
WFG_INLINE __u64 wfg_shim_tag(const struct wfg_shim_key *k, const struct wfg_shim_trailer *t,
			      const struct wfg_shim_hdr *h, const __u8 *body, __u32 n)
{
	struct wfg_sip s;
	__u32 i;

	wfg_shim_tag_begin(&s, k, t, h);
	for (i = 0; i + 8 <= n; i += 8)
		wfg_sip_word(&s, wfg_load_le64(body + i));
	return wfg_sip_final(&s, wfg_sip_tail(body, n), WFG_SHIM_TAG_PREFIX + (__u64)n);
}

/* Seal a datagram whose body (payload before the trailer) is in memory. */
WFG_INLINE void wfg_shim_seal(const struct wfg_shim_key *k, struct wfg_shim_trailer *t, __u64 nonce,
			      __u64 seq, const struct wfg_shim_hdr *h, const __u8 *body,
			      __u16 orig_len, __u16 orig_csum)
{
	wfg_shim_seal_fields(k, t, nonce, seq, h, orig_len, orig_csum);
	wfg_store_le64(t->tag, wfg_shim_tag(k, t, h, body, h->wire_len - WFG_SHIM_LEN));
	wfg_shim_store_check(k, t);
}

/*
 * The fields a verified trailer carries, unmasked under the key it verified
 * under: original length and checksum, sequence number.
 */
WFG_INLINE void wfg_shim_unmask(const struct wfg_shim_key *k, const struct wfg_shim_trailer *t,
				const struct wfg_shim_hdr *h, __u16 *orig_len, __u16 *orig_csum,
				__u64 *seq)
{
	__u64 w[2];
	__u32 plain;

	wfg_shim_context(w, t->nonce, h->wire_len, h->sport, h->dport, WFG_SHIM_DOMAIN_MASK);
	plain = wfg_load_le32(t->masked) ^ (__u32)wfg_siphash24(k, w, 2, 0, 16);
	*orig_len = (__u16)(plain >> 16);
	*orig_csum = (__u16)plain;
	w[1] ^= (WFG_SHIM_DOMAIN_MASK ^ WFG_SHIM_DOMAIN_SEQ) << 48;
	*seq = wfg_load_le64(t->seq) ^ wfg_siphash24(k, w, 2, 0, 16);
}

/*
 * Check a datagram whose body is in memory under key k: WFG_SHIM_NOT_OURS when
 * the check fails, WFG_SHIM_TAMPERED when it holds but the tag does not, else
 * WFG_SHIM_VERIFIED with what the trailer carries stored. Nothing is unmasked
 * before the tag verified. (The replay window is the caller's: wfg_replay_admit.)
 */
WFG_INLINE enum wfg_shim_verdict wfg_shim_open(const struct wfg_shim_key *k,
					       const struct wfg_shim_trailer *t,
					       const struct wfg_shim_hdr *h, const __u8 *body,
					       __u16 *orig_len, __u16 *orig_csum, __u64 *seq)
{
	if (!wfg_shim_recognised(k, t))
		return WFG_SHIM_NOT_OURS;
	if (h->wire_len < WFG_SHIM_LEN ||
	    wfg_shim_tag(k, t, h, body, h->wire_len - WFG_SHIM_LEN) != wfg_load_le64(t->tag))
		return WFG_SHIM_TAMPERED;
	wfg_shim_unmask(k, t, h, orig_len, orig_csum, seq);
	return WFG_SHIM_VERIFIED;
}

/*
 * The receiver's replay window, one per flow for the peer's direction: the
 * highest sequence number verified so far and which of the WFG_REPLAY_WINDOW
 * numbers at and below it have been seen (bit i of the bitmap: top - i).
 * Numbers above top move the window; numbers inside it are accepted once
 * (reordering is fine); numbers below it are refused, being indistinguishable
 * from replays. Zeroed: nothing seen yet.
 */
#define WFG_REPLAY_WINDOW 128

struct wfg_replay {
	__u64 top;
	__u64 bits[WFG_REPLAY_WINDOW / 64];
};
_Static_assert(WFG_REPLAY_WINDOW == 128, "wfg_replay_admit shifts two words");

enum wfg_replay_verdict {
	WFG_REPLAY_FRESH = 0, /* accepted and recorded */
	WFG_REPLAY_SEEN = 1,  /* inside the window, seen before: a replay */
	WFG_REPLAY_OLD = 2,   /* below the window */
};

WFG_INLINE enum wfg_replay_verdict wfg_replay_admit(struct wfg_replay *w, __u64 seq)
{
	__u64 d, bit;

	if (seq > w->top) {
		d = seq - w->top;
		if (d >= 128) {
			w->bits[1] = 0;
			w->bits[0] = 1;
		} else if (d >= 64) {
			w->bits[1] = w->bits[0] << (d - 64);
			w->bits[0] = 1;
		} else {
			w->bits[1] = w->bits[1] << d | w->bits[0] >> (64 - d);
			w->bits[0] = w->bits[0] << d | 1;
		}
		w->top = seq;
		return WFG_REPLAY_FRESH;
	}
	d = w->top - seq;
	if (d >= WFG_REPLAY_WINDOW)
		return WFG_REPLAY_OLD;
	bit = 1ULL << (d & 63);
	if (w->bits[d >> 6 & 1] & bit)
		return WFG_REPLAY_SEEN;
	w->bits[d >> 6 & 1] |= bit;
	return WFG_REPLAY_FRESH;
}

#endif
