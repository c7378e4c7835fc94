/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shim trailers on test frames (tests/lib/pkt.h), made and read by the
 * userspace codec in include/wfguard/shim.h: what a peer's wfguard would
 * send, for the tests that play the peer or the on-path attacker.
 */
#ifndef WFGUARD_TESTS_SHIMFRAME_H
#define WFGUARD_TESTS_SHIMFRAME_H

#include "pkt.h"
#include "wfguard/shim.h"

/*
 * The shim header of the UDP datagram in frame f as it is on the wire
 * (family, addresses, ports, payload length); returns the payload's offset.
 */
static inline size_t frame_shim_hdr(const uint8_t *f, struct wfg_shim_hdr *h)
{
	size_t l3 = l3_offset(f), l4;

	memset(h, 0, sizeof(*h));
	h->family = (uint8_t)(f[l3] >> 4);
	if (h->family == 4) {
		memcpy(h->saddr, f + l3 + 12, 4);
		memcpy(h->daddr, f + l3 + 16, 4);
		l4 = l3 + (size_t)(f[l3] & 0xf) * 4;
	} else {
		memcpy(h->saddr, f + l3 + 8, 16);
		memcpy(h->daddr, f + l3 + 24, 16);
		l4 = l3 + 40;
	}
	memcpy(&h->sport, f + l4, 2); /* network byte order, as the programs read them */
	memcpy(&h->dport, f + l4 + 2, 2);
	h->wire_len = (uint16_t)((f[l4 + 4] << 8 | f[l4 + 5]) - 8);
	return l4 + 8;
}

/*
 * Seal frame f's UDP payload in place as a sender would: its last
 * WFG_SHIM_LEN bytes become the trailer for this sequence number, original
 * length and checksum (network byte order, as in the UDP header). The UDP
 * checksum is not updated (XDP does not check it). Returns 0 or -1.
 */
static inline int frame_shim_seal(uint8_t *f, const struct wfg_shim_key *k, __u64 seq,
				  __u16 orig_len, __u16 orig_csum)
{
	struct wfg_shim_hdr h;
	size_t off = frame_shim_hdr(f, &h);

	h.seq = seq;
	h.orig_len = orig_len;
	h.orig_csum = orig_csum;
	return wfg_shim_seal(k, &h, f + off);
}

/* Open frame f's trailer under k as the receiver would; 1 with *h filled, or 0. */
static inline int frame_shim_open(const uint8_t *f, const struct wfg_shim_key *k,
				  struct wfg_shim_hdr *h)
{
	size_t off = frame_shim_hdr(f, h);

	return wfg_shim_open(k, h, f + off);
}

#endif
