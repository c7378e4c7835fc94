/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One's-complement arithmetic the data path needs beside the kernel's
 * checksum helpers: folding, the sum of the scratch bytes, RFC 1624 updates.
 */
#ifndef WFGUARD_BPF_LIB_CSUM_H
#define WFGUARD_BPF_LIB_CSUM_H

#include "lib/maps.h"

static __always_inline __u32 csum_fold32(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return (__u32)s;
}

/* One's-complement sum of the first n bytes of scratch, n rounded up to 4 (the
 * caller zeroes the bytes between n and the next multiple of 4). */
static __always_inline __s64 scratch_sum(struct wfg_scratch *s, __u32 n)
{
	__u32 n4 = (n + 3) & ~3u;
	__s64 sum = 0;
	int c;

	for (c = 0; c < WFG_SCRATCH_BYTES / 512; c++) {
		__u32 off = c * 512, chunk;

		if (off >= n4)
			break;
		chunk = n4 - off;
		if (chunk > 512)
			chunk = 512;
		chunk &= 0x3fc; /* bounds for the verifier; no-op at run time */
		sum = bpf_csum_diff(0, 0, (__be32 *)(s->bytes + off), chunk, (__u32)sum);
		if (sum < 0)
			return sum;
	}
	return sum;
}

/* RFC 1624 incremental update of a 16-bit one's-complement checksum. */
static __always_inline __u16 csum16_update(__u16 check, __u16 old, __u16 new)
{
	__u32 s = (__u16)~check + (__u16)~old + (__u32) new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

#endif /* WFGUARD_BPF_LIB_CSUM_H */
