/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Size shaping: which length a datagram leaves with.
 *
 * Lengths here are whatever the caller measures consistently (the data path
 * uses the UDP payload on the wire, shim trailer included). Shaping never
 * shrinks a packet; when the target would exceed `max` (the MTU budget) the
 * packet keeps its length: a packet that cannot be shaped passes unchanged and
 * the caller counts it.
 */
#ifndef WFGUARD_CORE_SHAPE_H
#define WFGUARD_CORE_SHAPE_H

#include "types.h"
#include "prng.h"

/* Index of the highest set bit, 0 for v <= 1. Constant-bounded for the verifier. */
WFG_INLINE __u32 wfg_log2_u32(__u32 v)
{
	__u32 r = 0;
	int i;

	for (i = 16; i > 0; i >>= 1) {
		if (v >> i) {
			v >>= i;
			r += (__u32)i;
		}
	}
	return r;
}

/*
 * Padmé (Nikitin et al., PETS 2019): with E = floor(log2 L) and S =
 * floor(log2 E) + 1, zero the low E - S bits, rounding up. Overhead <= 12%.
 */
WFG_INLINE __u32 wfg_padme(__u32 len)
{
	__u32 e, s, mask;

	if (len < 2)
		return len;
	e = wfg_log2_u32(len);
	s = wfg_log2_u32(e) + 1;
	if (e <= s)
		return len;
	mask = (1u << (e - s)) - 1;
	if (len > ~mask) /* would wrap */
		return len;
	return (len + mask) & ~mask;
}

/* The length shaping asks for, before the size limit is applied; never below len. */
WFG_INLINE __u32 wfg_shape_want(const struct wfg_shape_cfg *s, __u32 len, struct wfg_prng *rng)
{
	__u32 target = len;
	__u32 i;

	switch (s->mode) {
	case WFG_SHAPE_PAD_TO:
		target = s->size;
		break;
	case WFG_SHAPE_MULTIPLE:
		if (s->size && len % s->size)
			target = len + (s->size - len % s->size);
		break;
	case WFG_SHAPE_BUCKETS:
		/* Buckets are sorted ascending by the controller. */
		for (i = 0; i < WFG_MAX_BUCKETS; i++) {
			if (i >= s->nbuckets)
				break;
			if (s->buckets[i] >= len) {
				target = s->buckets[i];
				break;
			}
		}
		break;
	case WFG_SHAPE_PADME:
		target = wfg_padme(len);
		break;
	case WFG_SHAPE_RANDOM: {
		__u32 lo = s->lo > len ? s->lo : len;

		target = s->hi > lo ? (__u32)wfg_rand_between(rng, lo, s->hi) : lo;
		break;
	}
	default:
		break;
	}
	return target < len ? len : target;
}

/* The length to send: the wanted one, or len unchanged when that exceeds max. */
WFG_INLINE __u32 wfg_shape_target(const struct wfg_shape_cfg *s, __u32 len, struct wfg_prng *rng)
{
	__u32 target = wfg_shape_want(s, len, rng);

	return s->max && target > s->max ? len : target;
}

#endif /* WFGUARD_CORE_SHAPE_H */
