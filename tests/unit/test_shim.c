// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire shim's keyed functions: SipHash-2-4 reference vector, seal/open
 * over the whole datagram, forgeries (trailer, payload, addresses), and the
 * replay window.
 */
#include <criterion/criterion.h>

#include "wfguard/core/prng.h"
#include "wfguard/shim.h"

static const struct wfg_shim_key key = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };

/* The SipHash paper's example: key 00..0f, message 00..0e. */
Test(shim, siphash24_reference_vector)
{
	__u64 w = 0x0706050403020100ULL;

	cr_assert_eq(wfg_siphash24(&key, &w, 1, 0x0e0d0c0b0a0908ULL, 15), 0xa129ca6149be45e5ULL);
}

/* The streaming form is the same function: the paper's vector, and its 64-byte prefix. */
Test(shim, streaming_siphash_matches_the_reference)
{
	__u8 msg[64 + 15];
	struct wfg_sip s;
	__u64 words[4];
	int i;

	wfg_sip_init(&s, &key);
	wfg_sip_word(&s, 0x0706050403020100ULL);
	cr_assert_eq(wfg_sip_final(&s, 0x0e0d0c0b0a0908ULL, 15), 0xa129ca6149be45e5ULL);
	for (i = 0; i < (int)sizeof(msg); i++)
		msg[i] = (__u8)(i * 7 + 1);
	for (i = 0; i < 4; i++)
		words[i] = wfg_load_le64(msg + 8 * i);
	wfg_sip_init(&s, &key);
	for (i = 0; i < 4; i++)
		wfg_sip_word(&s, words[i]);
	cr_assert_eq(wfg_sip_final(&s, wfg_sip_tail(msg, 37), 37),
		     wfg_siphash24(&key, words, 4, wfg_sip_tail(msg, 37), 37));
}

/* A datagram of wire_len payload bytes between two IPv4 or IPv6 addresses. */
static void dgram(struct wfg_shim_hdr *h, int family, __u16 wire_len)
{
	int i;

	memset(h, 0, sizeof(*h));
	h->family = (__u8)family;
	for (i = 0; i < (family == 4 ? 4 : 16); i++) {
		h->saddr[i] = (__u8)(10 + i);
		h->daddr[i] = (__u8)(200 - i);
	}
	h->sport = 0x1234;
	h->dport = 0x01bb;
	h->wire_len = wire_len;
}

Test(shim, seal_then_open_round_trips)
{
	struct wfg_shim_trailer t;
	struct wfg_shim_hdr h;
	__u8 body[1700];
	__u16 len, csum;
	__u64 s = 3, seq;
	int i, j;

	for (i = 0; i < 5000; i++) {
		__u64 r = wfg_splitmix64(&s), sq = wfg_splitmix64(&s);
		__u16 ol = (__u16)(r % 1400), oc = (__u16)(r >> 16),
		      wl = (__u16)(ol + WFG_SHIM_LEN + (r >> 40) % 200);

		dgram(&h, i & 1 ? 6 : 4, wl);
		for (j = 0; j < wl - WFG_SHIM_LEN; j++)
			body[j] = (__u8)wfg_splitmix64(&s);
		wfg_shim_seal(&key, &t, wfg_splitmix64(&s), sq, &h, body, ol, oc);
		cr_assert_eq(WFG_SHIM_VERIFIED,
			     wfg_shim_open(&key, &t, &h, body, &len, &csum, &seq));
		cr_assert_eq(len, ol);
		cr_assert_eq(csum, oc);
		cr_assert_eq(seq, sq);
	}
}

Test(shim, forgeries_never_open)
{
	struct wfg_shim_trailer t, f;
	struct wfg_shim_key other = { 1, 2 };
	struct wfg_shim_hdr h, g;
	__u8 body[301]; /* room for the "wrong length" read */
	__u16 len, csum;
	__u64 s = 11, seq;
	int i, bit;

	for (i = 0; i < (int)sizeof(body); i++)
		body[i] = (__u8)i;
	dgram(&h, 4, 300);
	wfg_shim_seal(&key, &t, 42, 7, &h, body, 100, 0xabcd);
	cr_assert_eq(WFG_SHIM_VERIFIED, wfg_shim_open(&key, &t, &h, body, &len, &csum, &seq));
	cr_assert_eq(wfg_shim_open(&other, &t, &h, body, &len, &csum, &seq), WFG_SHIM_NOT_OURS,
		     "wrong key");
	g = h;
	g.wire_len = 301;
	cr_assert_eq(wfg_shim_open(&key, &t, &g, body, &len, &csum, &seq), WFG_SHIM_TAMPERED,
		     "wrong length");
	g = h;
	g.sport = 0x1235;
	cr_assert_eq(wfg_shim_open(&key, &t, &g, body, &len, &csum, &seq), WFG_SHIM_TAMPERED,
		     "wrong port");
	g = h;
	g.sport = h.dport;
	g.dport = h.sport;
	cr_assert_eq(wfg_shim_open(&key, &t, &g, body, &len, &csum, &seq), WFG_SHIM_TAMPERED,
		     "swapped ports");
	for (bit = 0; bit < (int)sizeof(t) * 8; bit++) {
		f = t;
		((__u8 *)&f)[bit / 8] ^= (__u8)(1 << (bit % 8));
		/* a changed trailer is no trailer of ours: not dropped, not stripped */
		cr_assert_eq(wfg_shim_open(&key, &f, &h, body, &len, &csum, &seq),
			     WFG_SHIM_NOT_OURS, "bit %d", bit);
	}
	for (i = 0; i < 100000; i++) {
		int j;

		for (j = 0; j < (int)sizeof(f); j++)
			((__u8 *)&f)[j] = (__u8)wfg_splitmix64(&s);
		cr_assert_eq(wfg_shim_open(&key, &f, &h, body, &len, &csum, &seq),
			     WFG_SHIM_NOT_OURS, "random trailer %d", i);
	}
}

/* Any payload byte flipped, first to last (the tail word too), or two spliced. */
Test(shim, a_changed_payload_byte_never_opens)
{
	struct wfg_shim_trailer t;
	struct wfg_shim_hdr h;
	__u8 body[301 - WFG_SHIM_LEN], f[sizeof(body)];
	__u16 len, csum;
	__u64 seq;
	int i, bit;

	for (i = 0; i < (int)sizeof(body); i++)
		body[i] = (__u8)(i * 13);
	dgram(&h, 6, 301);
	wfg_shim_seal(&key, &t, 5, 9, &h, body, 200, 0);
	for (i = 0; i < (int)sizeof(body); i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(f, body, sizeof(f));
			f[i] ^= (__u8)(1 << bit);
			cr_assert_eq(wfg_shim_open(&key, &t, &h, f, &len, &csum, &seq),
				     WFG_SHIM_TAMPERED, "byte %d bit %d", i, bit);
		}
	}
	memcpy(f, body, sizeof(f));
	f[10] = body[20];
	f[20] = body[10];
	cr_assert_eq(wfg_shim_open(&key, &t, &h, f, &len, &csum, &seq), WFG_SHIM_TAMPERED,
		     "spliced");
}

Test(shim, a_changed_address_never_opens)
{
	struct wfg_shim_trailer t;
	struct wfg_shim_hdr h, g;
	__u8 body[200];
	__u16 len, csum;
	__u64 seq;
	int fam, i, bit;

	memset(body, 0x5a, sizeof(body));
	for (fam = 4; fam <= 6; fam += 2) {
		dgram(&h, fam, sizeof(body) + WFG_SHIM_LEN);
		wfg_shim_seal(&key, &t, 77, 1, &h, body, 50, 1);
		cr_assert_eq(WFG_SHIM_VERIFIED,
			     wfg_shim_open(&key, &t, &h, body, &len, &csum, &seq));
		for (i = 0; i < (fam == 4 ? 4 : 16); i++) {
			for (bit = 0; bit < 8; bit++) {
				g = h;
				g.saddr[i] ^= (__u8)(1 << bit);
				cr_assert_eq(wfg_shim_open(&key, &t, &g, body, &len, &csum, &seq),
					     WFG_SHIM_TAMPERED, "IPv%d source byte %d", fam, i);
				g = h;
				g.daddr[i] ^= (__u8)(1 << bit);
				cr_assert_eq(wfg_shim_open(&key, &t, &g, body, &len, &csum, &seq),
					     WFG_SHIM_TAMPERED, "IPv%d destination byte %d", fam,
					     i);
			}
		}
		g = h;
		g.family = fam == 4 ? 6 : 4;
		cr_assert_eq(wfg_shim_open(&key, &t, &g, body, &len, &csum, &seq),
			     WFG_SHIM_TAMPERED, "family");
	}
}

Test(shim, same_content_different_nonce_looks_different)
{
	struct wfg_shim_trailer a, b;
	struct wfg_shim_hdr h;
	__u8 body[300 - WFG_SHIM_LEN] = { 0 };

	dgram(&h, 4, 300);
	wfg_shim_seal(&key, &a, 1, 5, &h, body, 100, 7);
	wfg_shim_seal(&key, &b, 2, 5, &h, body, 100, 7);
	cr_assert_neq(memcmp(a.masked, b.masked, sizeof(a.masked)), 0);
	cr_assert_neq(memcmp(a.seq, b.seq, sizeof(a.seq)), 0);
	cr_assert_neq(memcmp(a.tag, b.tag, sizeof(a.tag)), 0);
}

/* Consecutive sequence numbers do not show as such: the masked field's
 * differences look random (about half the bits differ on average). */
Test(shim, the_sequence_number_does_not_show)
{
	struct wfg_shim_trailer t;
	struct wfg_shim_hdr h;
	__u8 body[100] = { 0 };
	__u64 prev = 0, s = 1, bits = 0;
	int i;

	dgram(&h, 4, sizeof(body) + WFG_SHIM_LEN);
	for (i = 0; i < 1000; i++) {
		__u64 cur;

		wfg_shim_seal(&key, &t, wfg_splitmix64(&s), 1000 + i, &h, body, 10, 0);
		cur = wfg_load_le64(t.seq);
		if (i)
			bits += (__u64)__builtin_popcountll(cur ^ prev);
		prev = cur;
	}
	cr_assert(bits > 999 * 28 && bits < 999 * 36, "mean %.1f bits differ", bits / 999.0);
}

Test(shim, replay_window_accepts_each_number_once)
{
	struct wfg_replay w = { 0 };

	cr_assert_eq(wfg_replay_admit(&w, 1000), WFG_REPLAY_FRESH);
	cr_assert_eq(wfg_replay_admit(&w, 1000), WFG_REPLAY_SEEN, "replayed");
	cr_assert_eq(wfg_replay_admit(&w, 1001), WFG_REPLAY_FRESH);
	cr_assert_eq(wfg_replay_admit(&w, 1001), WFG_REPLAY_SEEN);
	cr_assert_eq(wfg_replay_admit(&w, 1000), WFG_REPLAY_SEEN, "still remembered");
}

Test(shim, replay_window_takes_reordering_within_it)
{
	struct wfg_replay w = { 0 };
	__u64 top = 5000, i;

	cr_assert_eq(wfg_replay_admit(&w, top), WFG_REPLAY_FRESH);
	/* every number below top inside the window, in reverse, once each */
	for (i = 1; i < WFG_REPLAY_WINDOW; i++)
		cr_assert_eq(wfg_replay_admit(&w, top - i), WFG_REPLAY_FRESH, "top - %llu",
			     (unsigned long long)i);
	for (i = 0; i < WFG_REPLAY_WINDOW; i++)
		cr_assert_eq(wfg_replay_admit(&w, top - i), WFG_REPLAY_SEEN, "again top - %llu",
			     (unsigned long long)i);
	/* jumps of 1, 63, 64, 65, 127 keep what is still inside */
	cr_assert_eq(wfg_replay_admit(&w, top + 70), WFG_REPLAY_FRESH);
	cr_assert_eq(wfg_replay_admit(&w, top), WFG_REPLAY_SEEN, "moved 70: 5000 inside");
	cr_assert_eq(wfg_replay_admit(&w, top + 69), WFG_REPLAY_FRESH, "a gap left open");
	cr_assert_eq(wfg_replay_admit(&w, top + 69), WFG_REPLAY_SEEN);
	cr_assert_eq(wfg_replay_admit(&w, top + 70 + 127), WFG_REPLAY_FRESH);
	cr_assert_eq(wfg_replay_admit(&w, top + 70), WFG_REPLAY_SEEN, "at the window's edge");
	cr_assert_eq(wfg_replay_admit(&w, top + 69), WFG_REPLAY_OLD, "just below it");
}

Test(shim, replay_window_refuses_what_is_too_old)
{
	struct wfg_replay w = { 0 };

	cr_assert_eq(wfg_replay_admit(&w, 1000), WFG_REPLAY_FRESH);
	cr_assert_eq(wfg_replay_admit(&w, 1000 - WFG_REPLAY_WINDOW + 1), WFG_REPLAY_FRESH);
	cr_assert_eq(wfg_replay_admit(&w, 1000 - WFG_REPLAY_WINDOW), WFG_REPLAY_OLD);
	cr_assert_eq(wfg_replay_admit(&w, 1), WFG_REPLAY_OLD);
	/* a jump past the whole window forgets everything below it */
	cr_assert_eq(wfg_replay_admit(&w, 100000), WFG_REPLAY_FRESH);
	cr_assert_eq(wfg_replay_admit(&w, 1000), WFG_REPLAY_OLD);
	cr_assert_eq(wfg_replay_admit(&w, 99999), WFG_REPLAY_FRESH);
}

/* The window against a model: a set of every number seen, random arrivals. */
Test(shim, replay_window_matches_a_model)
{
	static __u8 seen[4096];
	struct wfg_replay w = { 0 };
	__u64 s = 8, top = 0;
	int i, any = 0;

	for (i = 0; i < 200000; i++) {
		__u64 n = 2000 + wfg_splitmix64(&s) % 2000, want;

		if (any && n + WFG_REPLAY_WINDOW <= top)
			want = WFG_REPLAY_OLD;
		else
			want = seen[n] ? WFG_REPLAY_SEEN : WFG_REPLAY_FRESH;
		cr_assert_eq(wfg_replay_admit(&w, n), want, "arrival %d: %llu", i,
			     (unsigned long long)n);
		if (want == WFG_REPLAY_FRESH) {
			seen[n] = 1;
			if (!any || n > top)
				top = n;
			any = 1;
		}
	}
}
