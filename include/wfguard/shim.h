/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The wire shim (docs/wire-format.md): the trailer appended to padded UDP
 * payloads and to cover packets, the keyed functions that protect it, and the
 * per-flow replay window that receivers keep. Helper-free: the TC and XDP
 * programs, the userspace tests and the harness share it.
 *
 *   [ UDP payload before the trailer (the body) ][ tag 8 | masked 12 ]
 *
 * tag = SipHash-2-4(k, header ‖ body): the header is the sender's sequence
 * number, the original length and checksum, the wire length, family, ports
 * and both addresses (struct wfg_shim_hdr); the body every byte before the
 * trailer (original payload and padding, or a cover's whole content).
 * masked = (sequence, original length, original checksum) XOR a keyed mask
 * derived from the tag alone, so the receiver unmasks first and then
 * recomputes the tag (a synthetic-IV construction: the sequence number, never
 * repeated by a sender, keeps every tag, and so every mask, fresh).
 * Everything in the trailer looks random to whoever lacks the key.
 */
#ifndef WFGUARD_SHIM_H
#define WFGUARD_SHIM_H

#include "core/types.h"
#include "core/wire.h" /* WFG_SHIM_*_LEN: the core sizes packets with the trailer */

/* Original length 0xffff marks a cover packet: no UDP payload is that long. */
#define WFG_SHIM_COVER_LEN 0xffff

/* Domain separation of the keyed functions (the last byte of a word). */
#define WFG_SHIM_DOMAIN_MASK_SEQ 1ULL /* mask of the sequence number */
#define WFG_SHIM_DOMAIN_TAG	 2ULL /* the tag */
#define WFG_SHIM_DOMAIN_MASK_LEN 3ULL /* mask of length and checksum */

/* The header the tag binds: 7 words before the body. */
#define WFG_SHIM_HDR_WORDS 7

/*
 * The longest body a tag covers: the XDP program reads datagrams within
 * 16 KiB of the frame's start, and the verifier walks the loop over it.
 * A datagram that would need more is never shimmed.
 */
#define WFG_SHIM_BODY_MAX 16384

struct wfg_shim_key {
	__u64 k0, k1;
};

struct wfg_shim_trailer {
	__u8 tag[WFG_SHIM_TAG_LEN];
	__u8 masked[WFG_SHIM_MASKED_LEN]; /* sequence (8), then length << 16 | checksum (4) */
};

/*
 * What the tag binds besides the body, from the datagram as it is on the wire
 * (sender and receiver fill it alike): ports in network byte order as in the
 * UDP header, addresses as in the IP header (IPv4: the first 4 bytes, the
 * rest 0), wire_len the UDP payload length with the trailer.
 */
struct wfg_shim_hdr {
	__u64 seq;	 /* the sender's per-flow sequence number, never 0 */
	__u16 orig_len;	 /* original payload length, or WFG_SHIM_COVER_LEN */
	__u16 orig_csum; /* original UDP checksum field (0 for a cover) */
	__u16 wire_len;
	__u8 family; /* 4 or 6 */
	__u8 _pad;
	__u16 sport, dport;
	__u8 _pad2[4];
	__u8 saddr[16];
	__u8 daddr[16];
};

/* SipHash-2-4's state, so that a message can be absorbed in pieces. */
struct wfg_sip {
	__u64 v0, v1, v2, v3;
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

WFG_INLINE void wfg_sip_init(struct wfg_sip *s, const struct wfg_shim_key *k)
{
	s->v0 = 0x736f6d6570736575ULL ^ k->k0;
	s->v1 = 0x646f72616e646f6dULL ^ k->k1;
	s->v2 = 0x6c7967656e657261ULL ^ k->k0;
	s->v3 = 0x7465646279746573ULL ^ k->k1;
}

/* One 64-bit little-endian message word (two compression rounds). */
WFG_INLINE void wfg_sip_word(struct wfg_sip *s, __u64 m)
{
	__u64 v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3 ^ m;

	WFG_SIPROUND(v0, v1, v2, v3);
	WFG_SIPROUND(v0, v1, v2, v3);
	s->v0 = v0 ^ m;
	s->v1 = v1;
	s->v2 = v2;
	s->v3 = v3;
}

/* The last len % 8 bytes (`tail`, little-endian) and the message length. */
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

/*
 * SipHash-2-4 of a message given as n (<= 4) little-endian 64-bit words
 * followed by `tail` (the last len % 8 bytes, little-endian); len is the
 * message length in bytes (n * 8 + len % 8).
 */
WFG_INLINE __u64 wfg_siphash24(const struct wfg_shim_key *k, const __u64 *words, int n, __u64 tail,
			       __u64 len)
{
	struct wfg_sip s;
	int i;

	wfg_sip_init(&s, k);
	for (i = 0; i < 4; i++) {
		if (i >= n)
			break;
		wfg_sip_word(&s, words[i]);
	}
	return wfg_sip_final(&s, tail, len);
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

/* The first n (< 8) bytes at p as a little-endian word: a message's tail. */
WFG_INLINE __u64 wfg_load_tail(const __u8 *p, __u32 n)
{
	__u64 v = 0;
	int i;

	for (i = 6; i >= 0; i--)
		if ((__u32)i < n)
			v = (v << 8) | p[i];
	return v;
}

/* Start a tag: the key, then the header's words (the body follows). */
WFG_INLINE void wfg_shim_tag_begin(struct wfg_sip *s, const struct wfg_shim_key *k,
				   const struct wfg_shim_hdr *h)
{
	int i;

	wfg_sip_init(s, k);
	wfg_sip_word(s, h->seq);
	wfg_sip_word(s, (__u64)h->orig_len | (__u64)h->orig_csum << 16 | (__u64)h->wire_len << 32 |
				(__u64)h->family << 48 | WFG_SHIM_DOMAIN_TAG << 56);
	wfg_sip_word(s, (__u64)h->sport | (__u64)h->dport << 16);
	for (i = 0; i < 2; i++)
		wfg_sip_word(s, wfg_load_le64(h->saddr + 8 * i));
	for (i = 0; i < 2; i++)
		wfg_sip_word(s, wfg_load_le64(h->daddr + 8 * i));
}

/* A tag's message length: the header's words and the body. */
WFG_INLINE __u64 wfg_shim_tag_len(__u32 body_len)
{
	return WFG_SHIM_HDR_WORDS * 8 + (__u64)body_len;
}

/* The body's length for a datagram of wire_len payload bytes, or -1. */
WFG_INLINE int wfg_shim_body_len(__u32 wire_len)
{
	if (wire_len < WFG_SHIM_LEN || wire_len - WFG_SHIM_LEN > WFG_SHIM_BODY_MAX)
		return -1;
	return (int)(wire_len - WFG_SHIM_LEN);
}

/* The 96-bit mask of the masked field, from the tag. */
WFG_INLINE void wfg_shim_mask(const struct wfg_shim_key *k, __u64 tag, __u64 *seq_mask,
			      __u32 *len_mask)
{
	__u64 w[2] = { tag, WFG_SHIM_DOMAIN_MASK_SEQ << 56 };

	*seq_mask = wfg_siphash24(k, w, 2, 0, 16);
	w[1] = WFG_SHIM_DOMAIN_MASK_LEN << 56;
	*len_mask = (__u32)wfg_siphash24(k, w, 2, 0, 16);
}

/* Write the trailer for a datagram whose tag is `tag` (header h). */
WFG_INLINE void wfg_shim_seal_trailer(const struct wfg_shim_key *k, struct wfg_shim_trailer *t,
				      __u64 tag, const struct wfg_shim_hdr *h)
{
	__u64 seq_mask;
	__u32 len_mask, plain;
	int i;

	wfg_shim_mask(k, tag, &seq_mask, &len_mask);
	wfg_store_le64(t->tag, tag);
	wfg_store_le64(t->masked, h->seq ^ seq_mask);
	plain = ((__u32)h->orig_len << 16 | h->orig_csum) ^ len_mask;
	for (i = 0; i < 4; i++)
		t->masked[8 + i] = (__u8)(plain >> (8 * i));
}

/*
 * Unmask t under k into h's seq, orig_len and orig_csum; returns the tag the
 * trailer carries. Whether it verifies is the caller's to check (the body is
 * the caller's to read): plausibility first (wfg_shim_plausible), then the tag.
 */
WFG_INLINE __u64 wfg_shim_unmask(const struct wfg_shim_key *k, const struct wfg_shim_trailer *t,
				 struct wfg_shim_hdr *h)
{
	__u64 tag = wfg_load_le64(t->tag), seq_mask;
	__u32 len_mask, plain = 0;
	int i;

	wfg_shim_mask(k, tag, &seq_mask, &len_mask);
	h->seq = wfg_load_le64(t->masked) ^ seq_mask;
	for (i = 3; i >= 0; i--)
		plain = plain << 8 | t->masked[8 + i];
	plain ^= len_mask;
	h->orig_len = (__u16)(plain >> 16);
	h->orig_csum = (__u16)plain;
	return tag;
}

/*
 * Could the unmasked fields be a sender's? A cover, or an original length
 * that fits before the trailer, and a sequence number (0 is never sent). With
 * the wrong key they are random: most fail here, before the body is hashed.
 */
WFG_INLINE int wfg_shim_plausible(const struct wfg_shim_hdr *h)
{
	if (!h->seq || h->wire_len < WFG_SHIM_LEN)
		return 0;
	if (h->orig_len == WFG_SHIM_COVER_LEN)
		return h->orig_csum == 0;
	return h->orig_len <= h->wire_len - WFG_SHIM_LEN;
}

/* The tag over h and a body in one buffer (userspace: tests, harness). */
WFG_INLINE __u64 wfg_shim_tag(const struct wfg_shim_key *k, const struct wfg_shim_hdr *h,
			      const __u8 *body, __u32 body_len)
{
	struct wfg_sip s;
	__u32 i;

	wfg_shim_tag_begin(&s, k, h);
	for (i = 0; i + 8 <= body_len; i += 8)
		wfg_sip_word(&s, wfg_load_le64(body + i));
	return wfg_sip_final(&s, wfg_load_tail(body + i, body_len - i), wfg_shim_tag_len(body_len));
}

/*
 * Seal a UDP payload of h->wire_len bytes in one buffer: its body (all but the
 * last WFG_SHIM_LEN bytes) is final; the trailer goes into the last bytes.
 * Returns 0, or -1 for a length no trailer can cover.
 */
WFG_INLINE int wfg_shim_seal(const struct wfg_shim_key *k, const struct wfg_shim_hdr *h,
			     __u8 *payload)
{
	int body = wfg_shim_body_len(h->wire_len);

	if (body < 0)
		return -1;
	wfg_shim_seal_trailer(k, (struct wfg_shim_trailer *)(payload + body),
			      wfg_shim_tag(k, h, payload, (__u32)body), h);
	return 0;
}

/*
 * Open a UDP payload of h->wire_len bytes in one buffer under k (h names the
 * datagram: family, addresses, ports, wire_len). On success fills h's seq,
 * orig_len and orig_csum and returns 1; else 0.
 */
WFG_INLINE int wfg_shim_open(const struct wfg_shim_key *k, struct wfg_shim_hdr *h,
			     const __u8 *payload)
{
	int body = wfg_shim_body_len(h->wire_len);
	__u64 tag;

	if (body < 0)
		return 0;
	tag = wfg_shim_unmask(k, (const struct wfg_shim_trailer *)(payload + body), h);
	return wfg_shim_plausible(h) && wfg_shim_tag(k, h, payload, (__u32)body) == tag;
}

/*
 * The receiver's replay window, per flow: the highest sequence number seen
 * and a bitmap of the WFG_REPLAY_WINDOW before it, kept as a ring of words
 * (RFC 6479): advancing clears the words passed over, never shifts.
 */
#define WFG_REPLAY_WORDS  4
#define WFG_REPLAY_WINDOW ((WFG_REPLAY_WORDS - 1) * 64) /* always fully tracked */

struct wfg_replay {
	__u64 top; /* highest sequence number accepted; 0 = none yet */
	__u64 bits[WFG_REPLAY_WORDS];
};

/*
 * Is seq new to the window? 1: yes, and it is recorded; 0: seen before, older
 * than the window, or 0 (no sender uses it). Constant-bounded for the verifier.
 */
WFG_INLINE int wfg_replay_check(struct wfg_replay *w, __u64 seq)
{
	__u64 word = seq / 64, top_word = w->top / 64, bit = 1ULL << (seq % 64), *b;
	int i;

	if (!seq)
		return 0;
	if (seq > w->top) {
		/* clear the words between the old top's and the new one's */
		for (i = 0; i < WFG_REPLAY_WORDS; i++) {
			if (top_word + 1 + (__u64)i > word)
				break;
			w->bits[(top_word + 1 + (__u64)i) % WFG_REPLAY_WORDS] = 0;
		}
		w->top = seq;
	} else if (w->top - seq >= WFG_REPLAY_WINDOW) {
		return 0;
	}
	b = &w->bits[word % WFG_REPLAY_WORDS];
	if (*b & bit)
		return 0;
	*b |= bit;
	return 1;
}

#endif
