// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The wire shim's keyed functions: SipHash-2-4 reference vector, seal/open, forgeries. */
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

Test(shim, seal_then_open_round_trips)
{
	struct wfg_shim_trailer t;
	__u16 len, csum;
	__u64 s = 3;
	int i;

	for (i = 0; i < 10000; i++) {
		__u64 r = wfg_splitmix64(&s);
		__u16 ol = (__u16)(r % 1400), oc = (__u16)(r >> 16),
		      wl = (__u16)(ol + 20 + (r >> 40) % 200);

		wfg_shim_seal(&key, &t, wfg_splitmix64(&s), wl, 0x1234, 0x01bb, ol, oc);
		cr_assert(wfg_shim_open(&key, &t, wl, 0x1234, 0x01bb, &len, &csum));
		cr_assert_eq(len, ol);
		cr_assert_eq(csum, oc);
	}
}

Test(shim, forgeries_never_open)
{
	struct wfg_shim_trailer t, f;
	struct wfg_shim_key other = { 1, 2 };
	__u16 len, csum;
	__u64 s = 11;
	int i, bit;

	wfg_shim_seal(&key, &t, 42, 300, 1000, 2000, 100, 0xabcd);
	cr_assert_not(wfg_shim_open(&other, &t, 300, 1000, 2000, &len, &csum), "wrong key");
	cr_assert_not(wfg_shim_open(&key, &t, 301, 1000, 2000, &len, &csum), "wrong length");
	cr_assert_not(wfg_shim_open(&key, &t, 300, 1001, 2000, &len, &csum), "wrong port");
	cr_assert_not(wfg_shim_open(&key, &t, 300, 2000, 1000, &len, &csum), "swapped ports");
	for (bit = 0; bit < (int)sizeof(t) * 8; bit++) {
		f = t;
		((__u8 *)&f)[bit / 8] ^= (__u8)(1 << (bit % 8));
		cr_assert_not(wfg_shim_open(&key, &f, 300, 1000, 2000, &len, &csum), "bit %d", bit);
	}
	for (i = 0; i < 100000; i++) {
		int j;

		for (j = 0; j < (int)sizeof(f); j++)
			((__u8 *)&f)[j] = (__u8)wfg_splitmix64(&s);
		cr_assert_not(wfg_shim_open(&key, &f, 300, 1000, 2000, &len, &csum));
	}
}

Test(shim, same_content_different_nonce_looks_different)
{
	struct wfg_shim_trailer a, b;

	wfg_shim_seal(&key, &a, 1, 300, 1000, 2000, 100, 7);
	wfg_shim_seal(&key, &b, 2, 300, 1000, 2000, 100, 7);
	cr_assert_neq(memcmp(a.masked, b.masked, 4), 0);
	cr_assert_neq(memcmp(a.tag, b.tag, 8), 0);
}
