/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How a flow's stream keys derive from the controller's master secret: four
 * SipHash-2-4 outputs over the flow key, its creation time and a random word.
 * Helper-free, so that tests can recompute what the data path did.
 */
#ifndef WFGUARD_FLOWKEY_H
#define WFGUARD_FLOWKEY_H

#include "datapath.h"

WFG_INLINE void wfg_flow_key_material(const __u32 master[8], const struct wfg_flow_key *k,
				      __u64 now, __u32 rnd, __u32 out[8])
{
	struct wfg_shim_key mk = {
		.k0 = (__u64)master[0] | (__u64)master[1] << 32,
		.k1 = (__u64)master[2] | (__u64)master[3] << 32,
	};
	__u64 w[4], h;
	int i;

	w[0] = wfg_load_le64(k->laddr);
	w[1] = wfg_load_le64(k->laddr + 8);
	w[2] = wfg_load_le64(k->raddr) ^ wfg_load_le64(k->raddr + 8);
	w[3] = now ^ ((__u64)rnd << 32) ^ ((__u64)k->lport << 16) ^ k->rport;
	for (i = 0; i < 4; i++) {
		h = wfg_siphash24(&mk, w, 4, (__u64)i | (__u64)master[4 + i] << 8, 32 + 7);
		out[2 * i] = (__u32)h;
		out[2 * i + 1] = (__u32)(h >> 32);
	}
}

/* The stream id of a flow's decision stream (its padding stream is ~0). */
WFG_INLINE __u64 wfg_flow_stream(const struct wfg_flow_key *k)
{
	return wfg_load_le64(k->raddr) ^ k->rport;
}

#endif
