// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The per-flow stream: ChaCha against RFC 8439's test vector, determinism, spread. */
#include <criterion/criterion.h>

#include "wfguard/core/prng.h"

/* RFC 8439 section 2.3.2: key 00..1f, counter 1, nonce 00:00:00:09 00:00:00:4a 00:00:00:00.
 * In the 64-bit counter / 64-bit stream layout that is block = 1 | 0x09000000 << 32 and
 * stream = 0x4a000000. */
Test(prng, chacha20_rfc8439_block)
{
	static const __u32 expect[16] = {
		0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033,
		0x9aaa2204, 0x4e6cd4c3, 0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9,
		0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2,
	};
	__u32 key[8], out[16];
	int i;

	for (i = 0; i < 8; i++)
		key[i] = (__u32)(4 * i) | (__u32)(4 * i + 1) << 8 | (__u32)(4 * i + 2) << 16 |
			 (__u32)(4 * i + 3) << 24;
	wfg_chacha_block(key, 0x4a000000ULL, 1ULL | (0x09000000ULL << 32), 20, out);
	for (i = 0; i < 16; i++)
		cr_expect_eq(out[i], expect[i], "word %d: %08x != %08x", i, out[i], expect[i]);
}

Test(prng, same_seed_same_stream_other_stream_differs)
{
	struct wfg_prng a, b, c;
	int i, same_c = 0;

	wfg_prng_init_seed(&a, 7, 1);
	wfg_prng_init_seed(&b, 7, 1);
	wfg_prng_init_seed(&c, 7, 2);
	for (i = 0; i < 1000; i++) {
		__u32 x = wfg_rand32(&a);

		cr_assert_eq(x, wfg_rand32(&b));
		same_c += x == wfg_rand32(&c);
	}
	cr_assert_lt(same_c, 3);
}

Test(prng, rand_below_is_uniform)
{
	struct wfg_prng r;
	unsigned counts[10] = { 0 };
	double chi2 = 0;
	int i;

	wfg_prng_init_seed(&r, 99, 0);
	for (i = 0; i < 100000; i++)
		counts[wfg_rand_below(&r, 10)]++;
	for (i = 0; i < 10; i++)
		chi2 += (counts[i] - 10000.0) * (counts[i] - 10000.0) / 10000.0;
	/* 9 degrees of freedom: P(chi2 > 27.9) = 0.001 */
	cr_assert_lt(chi2, 27.9, "chi2 = %f", chi2);
}

Test(prng, rand_between_bounds)
{
	struct wfg_prng r;
	int i;

	wfg_prng_init_seed(&r, 5, 0);
	for (i = 0; i < 10000; i++) {
		__u64 v = wfg_rand_between(&r, 100, 110);

		cr_assert(v >= 100 && v <= 110);
	}
	cr_assert_eq(wfg_rand_between(&r, 5, 5), 5);
	cr_assert_eq(wfg_rand_between(&r, 9, 3), 9);
}

/* The bulk keystream (padding bytes) is the same ChaCha8 stream, block by block. */
Test(prng, bulk_block_matches_the_reference_block)
{
	struct wfg_prng r;
	struct wfg_block b;
	__u32 ref[16];
	int blk;

	wfg_prng_init_seed(&r, 1234, 99);
	for (blk = 0; blk < 4; blk++) {
		wfg_chacha_block(r.key, r.stream, r.block, WFG_CHACHA_ROUNDS, ref);
		cr_assert_eq(wfg_prng_block(&r, &b), 0);
		cr_assert_eq(memcmp(b.w, ref, sizeof(ref)), 0, "block %d", blk);
	}
	cr_assert_eq(r.block, 4);
}
