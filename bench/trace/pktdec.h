/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One captured packet decoded down to its transport header: the link layers
 * libpcap hands us (Ethernet with VLAN tags, Linux cooked v1/v2, raw IP,
 * loopback), IPv4, IPv6 with its extension headers, TCP/UDP. Shared by the
 * pcap trace reader (bench/trace/pcap.c) and the observer classifier
 * (bench/observe.c), which both need to know where each header starts.
 */
#ifndef WFBENCH_PKTDEC_H
#define WFBENCH_PKTDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace.h"

enum wfb_pv {
	WFB_PV_KEEP,
	WFB_PV_NOT_IP,
	WFB_PV_NOT_TCPUDP,
	WFB_PV_OTHER_HOST,
	WFB_PV_EMPTY,
	WFB_PV_FRAGMENT,
	WFB_PV_BAD, /* truncated or malformed headers: an error */
};

/* One packet being decoded: the bytes, how far we are, and what we found. */
struct wfb_pdec {
	const uint8_t *d;
	uint32_t caplen;
	uint32_t l3;	/* start of the IP header */
	uint32_t off;	/* start of the current header; the transport header after decoding */
	uint32_t l4len; /* IP payload bytes after the network headers */
	int family;	/* AF_INET, AF_INET6 */
	int proto;	/* IPPROTO_TCP, IPPROTO_UDP, ... */
	const uint8_t *src, *dst;
	const char *what; /* WFB_PV_BAD: which header */
	char why[96];	  /* WFB_PV_BAD: which field is wrong and why ("": cut short) */
	uint32_t size;	  /* WFB_PV_KEEP: payload bytes */
	int dir;	  /* WFB_OUT (from the client) or WFB_IN (to it) */
};

static inline uint16_t wfb_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

bool wfb_dlt_supported(int dlt);
/*
 * What is wrong with a WFB_PV_BAD packet, for "FILE: packet N: ..." messages:
 * the field and why when a header field is inconsistent, else the header cut
 * short and the bytes captured.
 */
void wfb_pdec_describe(const struct wfb_pdec *d, char *buf, size_t len);
/* Decode d->d[0..caplen) of link type dlt; direction relative to client. */
enum wfb_pv wfb_pkt_decode(struct wfb_pdec *d, int dlt, const struct wfb_addr *client);

#endif
