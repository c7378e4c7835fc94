/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tunnel mode (docs/tunnel-mode.md): the programs sit on the tunnel device
 * (WireGuard, TUN) and see inner IP packets before the tunnel encrypts them.
 *
 *  - Padding goes after the IP packet's own length. Every IP receiver trims a
 *    packet to its IP length (kernel WireGuard and wireguard-go do it first),
 *    so a stock peer gets its packets unchanged, while the observer sees the
 *    encrypted, padded size. The bytes are zeros: nobody but the peer sees
 *    them, and they must never be stale kernel memory.
 *  - A cover is an inner packet the peer's stack throws away without an
 *    answer: IPv4 with a header checksum that cannot verify, IPv6 whose
 *    payload length claims more than the packet holds. Both pass WireGuard's
 *    own checks on the sending side (version, routing by destination) and
 *    die at the receiver's first length or checksum test; neither reaches a
 *    protocol that could send ICMP. A peer running wfguard recognises the
 *    same shapes on its TC ingress and counts them as padding received. No
 *    key is needed: only the authenticated peer can put packets into the
 *    tunnel, and a packet of these shapes is discarded by the stack anyway.
 */
#ifndef WFGUARD_BPF_LIB_TUNNEL_H
#define WFGUARD_BPF_LIB_TUNNEL_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/maps.h"
#include "lib/stats.h"

#define WFG_TUN_PROTO 253 /* RFC 3692 experimental: never a real protocol here */

/* Zeros for padding: read-only, never written by anyone. */
static const __u8 wfg_zeros[WFG_SCRATCH_BYTES] = { 0 };

/* The flow key of an inner packet: the peer (its family and remote inner
 * address) or, for the device unit, one key for everything. */
static __always_inline void tun_flow_key(struct wfg_flow_key *k, const struct wfg_policy *pol,
					 __u8 family, const __u8 *raddr)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (pol->unit == WFG_UNIT_DEVICE)
		return;
	k->family = family;
	__builtin_memcpy(k->raddr, raddr, 16);
}

/*
 * Is the inner destination a multicast group (IPv4 224.0.0.0/4 or the
 * broadcast address, IPv6 ff00::/8)? Such a packet is not for one peer: the
 * host's own IPv6 router solicitations and MLD reports on the tunnel device
 * would otherwise become a "peer" whose covers the tunnel cannot route (a
 * stock WireGuard drops them before encryption), wasting the budget.
 */
static __always_inline int tun_is_multicast(const struct wfg_pkt *p)
{
	if (p->family == 6)
		return p->daddr[0] == 0xff;
	return (p->daddr[0] & 0xf0) == 0xe0 || (p->daddr[0] == 0xff && p->daddr[1] == 0xff &&
						p->daddr[2] == 0xff && p->daddr[3] == 0xff);
}

/* What covers need from a real packet: its addresses and family. */
static __always_inline void tun_learn(struct wfg_flow_state *st, const struct wfg_pkt *p)
{
	__builtin_memcpy(st->tun_saddr, p->saddr, 16);
	__builtin_memcpy(st->tun_daddr, p->daddr, 16);
	st->tun_family = p->family;
}

/*
 * Grow the packet from its length to new_len with zeros past the IP length.
 * Returns 0, or -1 (counted). Global: verified once.
 */
__attribute__((noinline)) int tun_pad(struct __sk_buff *skb, __u32 new_len)
{
	__u32 old, grow;

	if (!skb)
		return -1;
	old = skb->len;
	if (new_len <= old)
		return 0;
	grow = new_len - old;
	if (grow > WFG_MAX_GROW) {
		stat_unshaped(WFG_STAT_UNSHAPED_TOO_BIG);
		return -1;
	}
	if (bpf_skb_change_tail(skb, new_len, 0)) {
		stat_add(WFG_STAT_ERR_RESIZE, 1);
		return -1;
	}
	grow = WFG_IDX(grow - 1, WFG_SCRATCH_BYTES) + 1;
	if (bpf_skb_store_bytes(skb, old, wfg_zeros, grow, 0)) {
		stat_add(WFG_STAT_ERR_STORE, 1);
		return -1;
	}
	return 0;
}

/* One's-complement sum of n 16-bit words (n <= 30: an IPv4 header). */
static __always_inline __u32 tun_sum16(const __u8 *h, __u32 n)
{
	__u32 s = 0, i;

	for (i = 0; i < 30; i++) {
		if (i >= n)
			break;
		s += (__u32)h[2 * i] << 8 | h[2 * i + 1];
	}
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

/*
 * Is the inner packet at [data, data_end) a cover (see the top of this file)?
 * len: the packet's bytes (skb->len).
 */
static __always_inline int tun_is_cover(void *data, void *data_end, const struct wfg_pkt *p,
					__u32 len)
{
	struct iphdr *ip = data;
	__u32 words;

	if (p->family == 6)
		return p->pay_len > len;
	if ((void *)(ip + 1) > data_end)
		return 0;
	words = ip->ihl * 2; /* <= 30: ihl is 4 bits */
	if (data + 60 <= data_end)
		return tun_sum16(data, words) != 0xffff;
	/* fewer than 60 bytes in hand: only a plain 20-byte header can be checked */
	return words == 10 && tun_sum16(data, 10) != 0xffff;
}

/*
 * Turn the carrier in skb into a cover of len bytes (>= the header) on the
 * flow's last inner addresses. Returns 0, or -1 (the caller drops it).
 * Global: verified once.
 */
__attribute__((noinline)) int tun_make_cover(struct __sk_buff *skb, const struct wfg_flow_state *st,
					     struct wfg_scratch *s, __u32 family, __u32 len)
{
	__u32 hlen = family == 6 ? WFG_TUN_HDR6 : WFG_TUN_HDR4, sum, i;
	__u16 proto = bpf_htons(family == 6 ? ETH_P_IPV6 : ETH_P_IP);
	__u8 *h;

	if (!skb || !st || !s)
		return -1;
	len = wfg_wire_tun_cover_len(len, family);
	if (len > 0xffff || len - hlen > WFG_MAX_GROW)
		return -1;
	h = s->bytes;
	__builtin_memset(h, 0, 40);
	if (family == 6) {
		h[0] = 0x60;
		h[4] = 0xff; /* payload length 65535: more than any cover holds */
		h[5] = 0xff;
		h[6] = WFG_TUN_PROTO;
		h[7] = 64;
		for (i = 0; i < 16; i++) {
			h[8 + i] = st->tun_saddr[i];
			h[24 + i] = st->tun_daddr[i];
		}
	} else {
		h[0] = 0x45;
		h[2] = (__u8)(len >> 8);
		h[3] = (__u8)len;
		h[8] = 64;
		h[9] = WFG_TUN_PROTO;
		for (i = 0; i < 4; i++) {
			h[12 + i] = st->tun_saddr[i];
			h[16 + i] = st->tun_daddr[i];
		}
		/* The right checksum with its lowest bit flipped: one off, so it
		 * never verifies (one's complement has no second zero to hit). */
		sum = (~tun_sum16(h, 10)) & 0xffff;
		sum ^= 1;
		h[10] = (__u8)(sum >> 8);
		h[11] = (__u8)sum;
	}
	/* The carrier's family is the pump's guess (the device unit has no
	 * peer address to go by): the cover takes the flow's, and skb->protocol
	 * with it, since kernel WireGuard drops a packet whose protocol and IP
	 * version disagree. */
	if (skb->protocol != proto && bpf_skb_change_proto(skb, proto, 0)) {
		stat_add(WFG_STAT_ERR_RESIZE, 1);
		return -1;
	}
	if (bpf_skb_change_tail(skb, len, 0)) {
		stat_add(WFG_STAT_ERR_RESIZE, 1);
		return -1;
	}
	if (bpf_skb_store_bytes(skb, 0, h, family == 6 ? 40 : 20, 0)) {
		stat_add(WFG_STAT_ERR_STORE, 1);
		return -1;
	}
	if (len > hlen && bpf_skb_store_bytes(skb, hlen, wfg_zeros,
					      WFG_IDX(len - hlen - 1, WFG_SCRATCH_BYTES) + 1, 0)) {
		stat_add(WFG_STAT_ERR_STORE, 1);
		return -1;
	}
	return 0;
}

#endif /* WFGUARD_BPF_LIB_TUNNEL_H */
