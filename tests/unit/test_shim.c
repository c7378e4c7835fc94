// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire shim's keyed functions and replay window: SipHash-2-4 against the
 * reference vector and a byte-wise reference, seal/open, forgeries of every
 * field the tag binds, and the window's verdicts.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "wfguard/core/prng.h"
#include "wfguard/shim.h"

static const struct wfg_shim_key key = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };

/* SipHash-2-4 straight from the paper, over bytes: the reference the
 * word-at-a-time code is held to. */
static __u64 ref_siphash(const struct wfg_shim_key *k, const __u8 *m, size_t n)
{
	__u64 v0 = 0x736f6d6570736575ULL ^ k->k0, v1 = 0x646f72616e646f6dULL ^ k->k1;
	__u64 v2 = 0x6c7967656e657261ULL ^ k->k0, v3 = 0x7465646279746573ULL ^ k->k1, w;
	size_t i, j;

	for (i = 0; i <= n; i += 8) {
		w = 0;
		for (j = 0; j < 8 && i + j < n; j++)
			w |= (__u64)m[i + j] << (8 * j);
		if (i + 8 > n) /* the last block: the tail and the length */
			w |= (__u64)(n & 0xff) << 56;
		v3 ^= w;
		WFG_SIPROUND(v0, v1, v2, v3);
		WFG_SIPROUND(v0, v1, v2, v3);
		v0 ^= w;
		if (i + 8 > n)
			break;
	}
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		WFG_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The SipHash paper's example: key 00..0f, message 00..0e. */
Test(shim, siphash24_reference_vector)
{
	__u8 m[15];
	__u64 w = 0x0706050403020100ULL;
	int i;

	for (i = 0; i < 15; i++)
		m[i] = (__u8)i;
	cr_assert_eq(wfg_siphash24(&key, &w, 1, 0x0e0d0c0b0a0908ULL, 15), 0xa129ca6149be45e5ULL);
	cr_assert_eq(ref_siphash(&key, m, 15), 0xa129ca6149be45e5ULL);
}

static void put_le(__u8 *p, __u64 v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (__u8)(v >> (8 * i));
}

/* The tag is SipHash-2-4 of the header as docs/wire-format.md lays it out,
 * then the body: checked against the byte-wise reference at every length. */
Test(shim, the_tag_is_siphash_of_the_documented_header_and_the_body)
{
	struct wfg_shim_hdr h = { .seq = 0x1122334455667788ULL,
				  .orig_len = 300,
				  .orig_csum = 0xabcd,
				  .family = 6,
				  .sport = 0x3412,
				  .dport = 0xbb01 };
	__u8 msg[56 + 300], body[300];
	size_t n, i;

	for (i = 0; i < 16; i++) {
		h.saddr[i] = (__u8)(0x20 + i);
		h.daddr[i] = (__u8)(0x80 + i);
	}
	for (i = 0; i < sizeof(body); i++)
		body[i] = (__u8)(i * 13 + 5);
	for (n = 0; n < sizeof(body); n++) {
		h.wire_len = (__u16)(n + WFG_SHIM_LEN);
		put_le(msg, h.seq, 8);
		put_le(msg + 8, h.orig_len, 2);
		put_le(msg + 10, h.orig_csum, 2);
		put_le(msg + 12, h.wire_len, 2);
		msg[14] = h.family;
		msg[15] = (__u8)WFG_SHIM_DOMAIN_TAG;
		put_le(msg + 16, h.sport, 2);
		put_le(msg + 18, h.dport, 2);
		memset(msg + 20, 0, 4);
		memcpy(msg + 24, h.saddr, 16);
		memcpy(msg + 40, h.daddr, 16);
		memcpy(msg + 56, body, n);
		cr_assert_eq(wfg_shim_tag(&key, &h, body, (__u32)n), ref_siphash(&key, msg, 56 + n),
			     "body of %zu bytes", n);
	}
}

/* A datagram's shim header for these test flows (IPv4 10.0.0.1 -> 10.0.0.2). */
static struct wfg_shim_hdr hdr(__u64 seq, __u16 wire, __u16 olen, __u16 ocsum)
{
	struct wfg_shim_hdr h = { .seq = seq,
				  .orig_len = olen,
				  .orig_csum = ocsum,
				  .wire_len = wire,
				  .family = 4,
				  .sport = 0x8813,
				  .dport = 0x5111,
				  .saddr = { 10, 0, 0, 1 },
				  .daddr = { 10, 0, 0, 2 } };

	return h;
}

/* What the receiver knows before it opens: the datagram, not the trailer. */
static struct wfg_shim_hdr as_received(const struct wfg_shim_hdr *sent)
{
	struct wfg_shim_hdr h = *sent;

	h.seq = 0;
	h.orig_len = h.orig_csum = 0;
	return h;
}

static void fill(__u8 *p, size_t n, __u64 *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (__u8)wfg_splitmix64(s);
}

Test(shim, seal_then_open_round_trips)
{
	__u8 pay[1500];
	__u64 s = 3;
	int i;

	for (i = 0; i < 10000; i++) {
		__u64 r = wfg_splitmix64(&s);
		__u16 ol = (__u16)(r % 1200), oc = (__u16)(r >> 16),
		      wl = (__u16)(ol + 20 + (r >> 40) % 200);
		struct wfg_shim_hdr h = hdr(r | 1, wl, i % 7 ? ol : WFG_SHIM_COVER_LEN,
					    i % 7 ? oc : 0),
				    got;

		fill(pay, wl, &s);
		cr_assert_eq(wfg_shim_seal(&key, &h, pay), 0);
		got = as_received(&h);
		cr_assert(wfg_shim_open(&key, &got, pay), "datagram %d", i);
		cr_assert(got.seq == h.seq && got.orig_len == h.orig_len &&
			  got.orig_csum == h.orig_csum);
	}
}

/* Everything the tag binds, changed one at a time, and random trailers. */
Test(shim, forgeries_never_open)
{
	struct wfg_shim_key other = { 1, 2 };
	struct wfg_shim_hdr h = hdr(77, 320, 100, 0xabcd), g;
	__u8 pay[320], f[320];
	__u64 s = 11;
	size_t bit, i;

	fill(pay, sizeof(pay), &s);
	cr_assert_eq(wfg_shim_seal(&key, &h, pay), 0);
	g = as_received(&h);
	cr_assert(wfg_shim_open(&key, &g, pay));
	g = as_received(&h);
	cr_assert_not(wfg_shim_open(&other, &g, pay), "wrong key");
#define CHANGED(field, v, why)                                          \
	do {                                                            \
		g = as_received(&h);                                    \
		g.field = (v);                                          \
		cr_assert_not(wfg_shim_open(&key, &g, pay), "%s", why); \
	} while (0)
	CHANGED(sport, 0x8913, "source port");
	CHANGED(dport, 0x8813, "destination port");
	CHANGED(family, 6, "family");
	CHANGED(saddr[3], 3, "source address");
	CHANGED(daddr[0], 11, "destination address");
	CHANGED(daddr[15], 1, "address bytes IPv4 leaves 0");
#undef CHANGED
	/* every bit of the datagram: body (payload and padding) and trailer */
	for (bit = 0; bit < sizeof(pay) * 8; bit++) {
		memcpy(f, pay, sizeof(f));
		f[bit / 8] ^= (__u8)(1 << (bit % 8));
		g = as_received(&h);
		cr_assert_not(wfg_shim_open(&key, &g, f), "bit %zu", bit);
	}
	/* spliced: another datagram's body under this trailer, same length */
	fill(f, sizeof(f) - WFG_SHIM_LEN, &s);
	memcpy(f + sizeof(f) - WFG_SHIM_LEN, pay + sizeof(pay) - WFG_SHIM_LEN, WFG_SHIM_LEN);
	g = as_received(&h);
	cr_assert_not(wfg_shim_open(&key, &g, f), "spliced");
	/* a shorter datagram ending in the same trailer */
	g = as_received(&h);
	g.wire_len = 300;
	cr_assert_not(wfg_shim_open(&key, &g, pay + 20), "cut at the front");
	for (i = 0; i < 100000; i++) {
		memcpy(f, pay, sizeof(f));
		fill(f + sizeof(f) - WFG_SHIM_LEN, WFG_SHIM_LEN, &s);
		g = as_received(&h);
		cr_assert_not(wfg_shim_open(&key, &g, f));
	}
}

Test(shim, lengths_no_trailer_can_cover_are_refused)
{
	static __u8 pay[WFG_SHIM_BODY_MAX + WFG_SHIM_LEN + 1];
	struct wfg_shim_hdr h = hdr(1, WFG_SHIM_LEN - 1, 0, 0);

	cr_assert_eq(wfg_shim_seal(&key, &h, pay), -1, "shorter than the trailer");
	h.wire_len = WFG_SHIM_BODY_MAX + WFG_SHIM_LEN + 1;
	cr_assert_eq(wfg_shim_seal(&key, &h, pay), -1, "a body beyond WFG_SHIM_BODY_MAX");
	h.wire_len = WFG_SHIM_BODY_MAX + WFG_SHIM_LEN;
	cr_assert_eq(wfg_shim_seal(&key, &h, pay), 0, "the longest body");
}

Test(shim, same_content_next_sequence_number_looks_different)
{
	struct wfg_shim_hdr a = hdr(1, 300, 100, 7), b = hdr(2, 300, 100, 7);
	__u8 pa[300] = { 0 }, pb[300] = { 0 };

	wfg_shim_seal(&key, &a, pa);
	wfg_shim_seal(&key, &b, pb);
	cr_assert_neq(memcmp(pa + 280, pb + 280, 8), 0, "tags");
	cr_assert_neq(memcmp(pa + 288, pb + 288, 12), 0, "masked fields");
}

Test(shim, the_replay_window_takes_each_number_once)
{
	struct wfg_replay w = { 0 };
	__u64 base = 1000000, i;

	cr_assert_not(wfg_replay_check(&w, 0), "0 is never sent");
	cr_assert(wfg_replay_check(&w, base));
	cr_assert_not(wfg_replay_check(&w, base), "replayed");
	/* reordered within the window: each once */
	for (i = base + 10; i > base; i--)
		cr_assert(wfg_replay_check(&w, i), "reordered %llu", (unsigned long long)i);
	for (i = base; i <= base + 10; i++)
		cr_assert_not(wfg_replay_check(&w, i), "again %llu", (unsigned long long)i);
	/* ahead by more than the window: what it left behind is refused */
	cr_assert(wfg_replay_check(&w, base + 10 + WFG_REPLAY_WINDOW));
	cr_assert_not(wfg_replay_check(&w, base + 10), "older than the window");
	cr_assert(wfg_replay_check(&w, base + 11), "the window's oldest number");
	cr_assert_not(wfg_replay_check(&w, base + 11));
	/* a far jump clears every word: nothing stale is mistaken for seen */
	cr_assert(wfg_replay_check(&w, base + 100000));
	for (i = base + 100000 - WFG_REPLAY_WINDOW + 1; i < base + 100000; i++)
		cr_assert(wfg_replay_check(&w, i), "%llu after the jump", (unsigned long long)i);
	/* a long run in order, with every number tried twice */
	for (i = base + 100001; i < base + 110000; i++) {
		cr_assert(wfg_replay_check(&w, i));
		cr_assert_not(wfg_replay_check(&w, i));
		cr_assert_not(wfg_replay_check(&w, i - 5));
	}
}
