/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-flow random streams.
 *
 * The observer must not be able to predict padding sizes or cover times from
 * what it has seen, so the core draws from ChaCha8 keyed per flow (256-bit key,
 * 64-bit stream id, 64-bit block counter). Eight rounds: no attack on reduced
 * ChaCha comes close to 8 rounds, and it costs 40% of ChaCha20 (figures in
 * docs/benchmarks.md, bench/perf/prng). One block gives 16 words; they are
 * buffered in the flow state so most draws are a load and an increment.
 *
 * A fast non-cryptographic generator (SplitMix64) is kept beside it for the
 * benchmark baseline and for the harness's own shuffles, never for decisions.
 */
#ifndef WFGUARD_CORE_PRNG_H
#define WFGUARD_CORE_PRNG_H

#include "types.h"

#define WFG_CHACHA_ROUNDS 8

#define WFG_PRNG_WORDS 32 /* two blocks buffered */

struct wfg_prng {
	__u32 key[8];
	__u64 stream;
	__u64 block;		   /* next block counter */
	__u32 buf[WFG_PRNG_WORDS]; /* output of the last two blocks */
	__u32 pos;		   /* next unused word of buf; WFG_PRNG_WORDS = empty */
	__u32 _pad;
};

WFG_INLINE __u32 wfg_rotl32(__u32 v, unsigned int n)
{
	return (v << n) | (v >> (32 - n));
}

#define WFG_CHACHA_QR(x, a, b, c, d)                \
	do {                                        \
		x[a] += x[b];                       \
		x[d] = wfg_rotl32(x[d] ^ x[a], 16); \
		x[c] += x[d];                       \
		x[b] = wfg_rotl32(x[b] ^ x[c], 12); \
		x[a] += x[b];                       \
		x[d] = wfg_rotl32(x[d] ^ x[a], 8);  \
		x[c] += x[d];                       \
		x[b] = wfg_rotl32(x[b] ^ x[c], 7);  \
	} while (0)

/*
 * In BPF the ChaCha state is worked on in place in the flow's map value:
 * held in registers it would spill ~200 bytes of the 512-byte stack that the
 * whole call chain shares. Userspace keeps it in registers.
 */
#ifdef __bpf__
#define WFG_CHACHA_MEM volatile
#else
#define WFG_CHACHA_MEM
#endif

/*
 * One ChaCha block of `rounds` rounds (even) worked on in x[16], which ends
 * holding the output. The input is built twice (before the rounds and for the
 * final addition) instead of being kept in a second 64-byte array: BPF's
 * stack is small. A macro so that the in-place (volatile in BPF) and the bulk
 * (register) versions below share one body.
 */
#define WFG_CHACHA_BODY(x, key, stream, block, rounds)      \
	do {                                                \
		int i_;                                     \
		x[0] = 0x61707865; /* "expand 32-byte k" */ \
		x[1] = 0x3320646e;                          \
		x[2] = 0x79622d32;                          \
		x[3] = 0x6b206574;                          \
		for (i_ = 0; i_ < 8; i_++)                  \
			x[4 + i_] = (key)[i_];              \
		x[12] = (__u32)(block);                     \
		x[13] = (__u32)((block) >> 32);             \
		x[14] = (__u32)(stream);                    \
		x[15] = (__u32)((stream) >> 32);            \
		for (i_ = 0; i_ < (rounds); i_ += 2) {      \
			WFG_CHACHA_QR(x, 0, 4, 8, 12);      \
			WFG_CHACHA_QR(x, 1, 5, 9, 13);      \
			WFG_CHACHA_QR(x, 2, 6, 10, 14);     \
			WFG_CHACHA_QR(x, 3, 7, 11, 15);     \
			WFG_CHACHA_QR(x, 0, 5, 10, 15);     \
			WFG_CHACHA_QR(x, 1, 6, 11, 12);     \
			WFG_CHACHA_QR(x, 2, 7, 8, 13);      \
			WFG_CHACHA_QR(x, 3, 4, 9, 14);      \
		}                                           \
		x[0] += 0x61707865;                         \
		x[1] += 0x3320646e;                         \
		x[2] += 0x79622d32;                         \
		x[3] += 0x6b206574;                         \
		for (i_ = 0; i_ < 8; i_++)                  \
			x[4 + i_] += (key)[i_];             \
		x[12] += (__u32)(block);                    \
		x[13] += (__u32)((block) >> 32);            \
		x[14] += (__u32)(stream);                   \
		x[15] += (__u32)((stream) >> 32);           \
	} while (0)

/* One block into out[16]: in place, in memory (volatile in BPF, see above). */
WFG_INLINE void wfg_chacha_block(const __u32 key[8], __u64 stream, __u64 block, int rounds,
				 WFG_CHACHA_MEM __u32 out[16])
{
	WFG_CHACHA_BODY(out, key, stream, block, rounds);
}

/* SplitMix64 step: expands a 64-bit seed and is the benchmark's fast baseline. */
WFG_INLINE __u64 wfg_splitmix64(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Key a stream with 256 bits of key material (production: random per flow). */
WFG_INLINE void wfg_prng_init_key(struct wfg_prng *r, const __u32 key[8], __u64 stream)
{
	int i;

	for (i = 0; i < 8; i++)
		r->key[i] = key[i];
	r->stream = stream;
	r->block = 0;
	r->pos = WFG_PRNG_WORDS;
	r->_pad = 0;
}

/* Key a stream from a 64-bit seed (tests, the harness, reproducible runs). */
WFG_INLINE void wfg_prng_init_seed(struct wfg_prng *r, __u64 seed, __u64 stream)
{
	__u32 key[8];
	__u64 s = seed;
	int i;

	for (i = 0; i < 8; i += 2) {
		__u64 v = wfg_splitmix64(&s);

		key[i] = (__u32)v;
		key[i + 1] = (__u32)(v >> 32);
	}
	wfg_prng_init_key(r, key, stream);
}

/* Refill the buffer with the next two blocks; a global function in BPF (verified once). */
WFG_GLOBAL int wfg_prng_refill(struct wfg_prng *r)
{
	if (!r)
		return -1;
	wfg_chacha_block(r->key, r->stream, r->block, WFG_CHACHA_ROUNDS, r->buf);
	wfg_chacha_block(r->key, r->stream, r->block + 1, WFG_CHACHA_ROUNDS, r->buf + 16);
	r->block += 2;
	r->pos = 0;
	return 0;
}

/* 64 bytes of keystream. */
struct wfg_block {
	__u32 w[16];
};

/* The next block of the stream straight into *out (bulk keystream, e.g. for
 * padding bytes); independent of the buffered words. Global in BPF. */
WFG_GLOBAL int wfg_prng_block(struct wfg_prng *r, struct wfg_block *out)
{
	__u32 *x;

	if (!r || !out)
		return -1;
	/* Bulk keystream, worked on in out (not volatile: the compiler keeps what
	 * it can in registers; this leaf's frame fits at the end of the egress
	 * call chain, unlike the refill's). */
	x = out->w;
	WFG_CHACHA_BODY(x, r->key, r->stream, r->block, WFG_CHACHA_ROUNDS);
	r->block++;
	return 0;
}

WFG_INLINE __u32 wfg_rand32(struct wfg_prng *r)
{
	__u32 pos;

	if (r->pos >= WFG_PRNG_WORDS)
		wfg_prng_refill(r);
	pos = r->pos;
	r->pos = pos + 1;
	return r->buf[WFG_IDX(pos, WFG_PRNG_WORDS)];
}

/*
 * Make sure n (<= WFG_PRNG_WORDS) words can be drawn with wfg_rand32_reserved().
 * Hot paths reserve once up front so that no call (and no register spill
 * around it) happens in the middle of their work: the BPF stack is shared by
 * the whole call chain.
 */
WFG_INLINE void wfg_prng_reserve(struct wfg_prng *r, __u32 n)
{
	if (r->pos + n > WFG_PRNG_WORDS)
		wfg_prng_refill(r);
}

/* A word from what wfg_prng_reserve() secured (wraps, deterministically, if overdrawn). */
WFG_INLINE __u32 wfg_rand32_reserved(struct wfg_prng *r)
{
	__u32 pos = r->pos;

	r->pos = pos + 1;
	return r->buf[WFG_IDX(pos, WFG_PRNG_WORDS)];
}

/* Uniform in [0, n) without modulo bias worth measuring (Lemire's multiply-shift). */
WFG_INLINE __u32 wfg_rand_below(struct wfg_prng *r, __u32 n)
{
	return (__u32)(((__u64)wfg_rand32(r) * n) >> 32);
}

/* Uniform in [lo, hi] (inclusive), 64-bit range; hi < lo returns lo. */
WFG_INLINE __u64 wfg_rand_between(struct wfg_prng *r, __u64 lo, __u64 hi)
{
	__u64 span, x;

	if (hi <= lo)
		return lo;
	span = hi - lo;
	x = ((__u64)wfg_rand32(r) << 32) | wfg_rand32(r);
	if (span == ~0ULL)
		return x;
	return lo + x % (span + 1);
}

#endif /* WFGUARD_CORE_PRNG_H */
