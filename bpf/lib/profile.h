/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Cover profiles (enum wfg_profile): what a cover must look like in
 * cleartext to pass for the tunnel's own packets, learnt from the flow's
 * real packets on egress and written over the cover's first bytes.
 */
#ifndef WFGUARD_BPF_LIB_PROFILE_H
#define WFGUARD_BPF_LIB_PROFILE_H

#include "lib/maps.h"

/* The cover's cleartext header, written over the start of the scratch bytes. */
static __always_inline __u32 cover_header(__u32 profile, const struct wfg_flow_state *st,
					  struct wfg_scratch *s)
{
	__u32 i, n = 0;

	if (profile == WFG_PROFILE_QUIC && st->dcid_len) {
		s->bytes[0] = 0x40 | (s->bytes[0] & 0x3f); /* short header, fixed bit */
		for (i = 0; i < 20; i++) {
			if (i >= st->dcid_len)
				break;
			s->bytes[1 + i] = st->dcid[i];
		}
		n = 1 + st->dcid_len;
	} else if (profile == WFG_PROFILE_WIREGUARD && st->wg_seen) {
		__u64 ctr = st->wg_counter + 1;

		s->bytes[0] = 4;
		s->bytes[1] = s->bytes[2] = s->bytes[3] = 0;
		__builtin_memcpy(s->bytes + 4, &st->wg_receiver, 4);
		wfg_store_le64(s->bytes + 8, ctr);
		n = 16;
	}
	return n;
}

/* Learn what covers must mimic from the flow's real packets. */
static __always_inline void learn_profile(struct __sk_buff *skb, const struct wfg_policy *pol,
					  struct wfg_flow *f, const struct wfg_pkt *p)
{
	__u8 hdr[21];

	if (pol->profile == WFG_PROFILE_QUIC && pol->quic_dcid_len && pol->quic_dcid_len <= 20 &&
	    p->pay_len > pol->quic_dcid_len) {
		if (bpf_skb_load_bytes(skb, p->pay_off, hdr, sizeof(hdr)) == 0 &&
		    (hdr[0] & 0xc0) == 0x40) {
			__builtin_memcpy(f->st.dcid, hdr + 1, 20);
			f->st.dcid_len = (__u8)pol->quic_dcid_len;
		}
	} else if (pol->profile == WFG_PROFILE_WIREGUARD && p->pay_len >= 16) {
		if (bpf_skb_load_bytes(skb, p->pay_off, hdr, 16) == 0 && hdr[0] == 4) {
			__builtin_memcpy(&f->st.wg_receiver, hdr + 4, 4);
			f->st.wg_counter = wfg_load_le64(hdr + 8);
			f->st.wg_seen = 1;
		}
	}
}

#endif /* WFGUARD_BPF_LIB_PROFILE_H */
