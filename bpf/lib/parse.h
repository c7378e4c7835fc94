/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parsing for the TC and XDP programs: Ethernet, up to two VLAN tags,
 * IPv4 (no fragments) or IPv6 (UDP as the first next header), UDP. Anything
 * else is "not ours" and passes untouched. Works on [data, data_end) so that
 * both program types share it.
 */
#ifndef WFGUARD_BPF_LIB_PARSE_H
#define WFGUARD_BPF_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define WFG_ETH_P_8021Q	 0x8100
#define WFG_ETH_P_8021AD 0x88a8

struct wfg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

enum wfg_parse_result {
	WFG_PARSE_OK = 0,
	WFG_PARSE_NOT_UDP, /* not ours: pass */
	WFG_PARSE_BAD,	   /* malformed: pass, count */
};

struct wfg_pkt {
	__u32 l3_off;
	__u32 l4_off;
	__u32 pay_off;
	__u32 pay_len; /* UDP payload bytes (UDP length - 8) */
	__u8 family;   /* 4 or 6 */
	__u8 _pad[3];
	__be16 sport, dport;
	__be16 udp_len;
	__be16 udp_csum;
	__u8 saddr[16];
	__u8 daddr[16];
};

static __always_inline int wfg_parse(void *data, void *data_end, struct wfg_pkt *p)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *cur;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return WFG_PARSE_BAD;
	proto = bpf_ntohs(eth->h_proto);
	cur = eth + 1;
	for (i = 0; i < 2; i++) {
		struct wfg_vlan_hdr *vh = cur;

		if (proto != WFG_ETH_P_8021Q && proto != WFG_ETH_P_8021AD)
			break;
		if ((void *)(vh + 1) > data_end)
			return WFG_PARSE_BAD;
		proto = bpf_ntohs(vh->proto);
		cur = vh + 1;
	}
	p->l3_off = (__u32)(cur - data);
	if (proto == ETH_P_IP) {
		struct iphdr *ip = cur;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return WFG_PARSE_BAD;
		if (ip->version != 4 || ip->ihl < 5)
			return WFG_PARSE_BAD;
		if (ip->protocol != IPPROTO_UDP)
			return WFG_PARSE_NOT_UDP;
		/* Fragments cannot be padded: the UDP header is in the first one only. */
		if (ip->frag_off & bpf_htons(0x3fff))
			return WFG_PARSE_NOT_UDP;
		ihl = ip->ihl * 4;
		if (bpf_ntohs(ip->tot_len) < ihl + sizeof(struct udphdr))
			return WFG_PARSE_BAD;
		p->family = 4;
		__builtin_memset(p->saddr, 0, sizeof(p->saddr));
		__builtin_memset(p->daddr, 0, sizeof(p->daddr));
		__builtin_memcpy(p->saddr, &ip->saddr, 4);
		__builtin_memcpy(p->daddr, &ip->daddr, 4);
		udp = cur + ihl;
		if ((void *)(udp + 1) > data_end)
			return WFG_PARSE_BAD;
		if (bpf_ntohs(udp->len) != bpf_ntohs(ip->tot_len) - ihl)
			return WFG_PARSE_BAD;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = cur;

		if ((void *)(ip6 + 1) > data_end)
			return WFG_PARSE_BAD;
		if (ip6->version != 6)
			return WFG_PARSE_BAD;
		if (ip6->nexthdr != IPPROTO_UDP)
			return WFG_PARSE_NOT_UDP;
		p->family = 6;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end)
			return WFG_PARSE_BAD;
		if (bpf_ntohs(udp->len) != bpf_ntohs(ip6->payload_len))
			return WFG_PARSE_BAD;
	} else {
		return WFG_PARSE_NOT_UDP;
	}
	if (bpf_ntohs(udp->len) < sizeof(*udp))
		return WFG_PARSE_BAD;
	p->l4_off = (__u32)((void *)udp - data);
	p->sport = udp->source;
	p->dport = udp->dest;
	p->udp_len = udp->len;
	p->udp_csum = udp->check;
	p->pay_off = p->l4_off + sizeof(*udp);
	p->pay_len = bpf_ntohs(udp->len) - sizeof(*udp);
	/* Callers check that the whole datagram is there (skb->len, or data_end
	 * in XDP); only the headers need to be linear here. */
	return WFG_PARSE_OK;
}

/*
 * An L3 device (WireGuard, TUN: no Ethernet header): the inner IP packet at
 * data. Fills family, addresses, l4_off (after the IP header) and pay_len =
 * the IP packet's own length (IPv4 total length, IPv6 40 + payload length),
 * which may be less than the buffer (a packet padded past it). Any protocol.
 */
static __always_inline int wfg_parse_l3(void *data, void *data_end, struct wfg_pkt *p)
{
	struct iphdr *ip = data;
	struct ipv6hdr *ip6 = data;

	__builtin_memset(p, 0, sizeof(*p));
	if ((void *)(ip + 1) > data_end)
		return WFG_PARSE_BAD;
	if (ip->version == 4) {
		if (ip->ihl < 5 || bpf_ntohs(ip->tot_len) < ip->ihl * 4)
			return WFG_PARSE_BAD;
		p->family = 4;
		__builtin_memcpy(p->saddr, &ip->saddr, 4);
		__builtin_memcpy(p->daddr, &ip->daddr, 4);
		p->l4_off = ip->ihl * 4;
		p->pay_len = bpf_ntohs(ip->tot_len);
		return WFG_PARSE_OK;
	}
	if (ip->version == 6) {
		if ((void *)(ip6 + 1) > data_end)
			return WFG_PARSE_BAD;
		p->family = 6;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		p->l4_off = sizeof(*ip6);
		p->pay_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		return WFG_PARSE_OK;
	}
	return WFG_PARSE_BAD;
}

#endif
