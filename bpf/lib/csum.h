/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One's-complement arithmetic the data path needs beside the kernel's
 * checksum helpers: folding and RFC 1624 updates (lib/pad.h sums the padding).
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

/* RFC 1624 incremental update of a 16-bit one's-complement checksum. */
static __always_inline __u16 csum16_update(__u16 check, __u16 old, __u16 new)
{
	__u32 s = (__u16)~check + (__u16)~old + (__u32) new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

#endif /* WFGUARD_BPF_LIB_CSUM_H */
