// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Captured packets decoded down to the transport header (pktdec.h): what the
 * pcap trace reader and the observer classifier share.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include "pktdec.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static bool have(const struct wfb_pdec *p, uint32_t n)
{
	return p->off + n <= p->caplen;
}

static enum wfb_pv bad(struct wfb_pdec *p, const char *what)
{
	p->what = what;
	return WFB_PV_BAD;
}

/* Ethertype to the IP version it carries (0: not IP). */
static int ethertype_ip(uint16_t type)
{
	return type == 0x0800 ? 4 : type == 0x86dd ? 6 : 0;
}

/* Skip the link header; *ver = 4, 6 or 0 (not IP). */
static enum wfb_pv link_layer(struct wfb_pdec *p, int dlt, int *ver)
{
	uint16_t type;

	switch (dlt) {
	case DLT_EN10MB:
		if (!have(p, 14))
			return bad(p, "Ethernet");
		type = wfb_be16(p->d + 12);
		p->off = 14;
		while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
			if (!have(p, 4))
				return bad(p, "VLAN");
			type = wfb_be16(p->d + p->off + 2);
			p->off += 4;
		}
		*ver = ethertype_ip(type);
		return WFB_PV_KEEP;
	case DLT_LINUX_SLL:
		if (!have(p, 16))
			return bad(p, "Linux cooked");
		*ver = ethertype_ip(wfb_be16(p->d + 14));
		p->off = 16;
		return WFB_PV_KEEP;
	case DLT_LINUX_SLL2:
		if (!have(p, 20))
			return bad(p, "Linux cooked v2");
		*ver = ethertype_ip(wfb_be16(p->d));
		p->off = 20;
		return WFB_PV_KEEP;
	case DLT_NULL:
	case DLT_LOOP:
		p->off = 4;
		break;
	default: /* DLT_RAW, DLT_IPV4, DLT_IPV6 */
		p->off = 0;
		break;
	}
	if (!have(p, 1))
		return bad(p, "IP");
	*ver = p->d[p->off] >> 4;
	if (*ver != 4 && *ver != 6)
		*ver = 0;
	return WFB_PV_KEEP;
}

bool wfb_dlt_supported(int dlt)
{
	return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 ||
	       dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6 || dlt == DLT_NULL ||
	       dlt == DLT_LOOP;
}

static enum wfb_pv ipv4(struct wfb_pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t ihl, total;

	p->l3 = p->off;
	if (!have(p, 20))
		return bad(p, "IPv4");
	ihl = (uint32_t)(h[0] & 15) * 4;
	total = wfb_be16(h + 2);
	if (ihl < 20 || total < ihl || !have(p, ihl))
		return bad(p, "IPv4");
	p->family = AF_INET;
	p->proto = h[9];
	p->src = h + 12;
	p->dst = h + 16;
	p->off += ihl;
	p->l4len = total - ihl;
	if (wfb_be16(h + 6) & 0x1fff)
		return WFB_PV_FRAGMENT;
	return WFB_PV_KEEP;
}

/* IPv6 and its extension headers up to the transport header. */
static enum wfb_pv ipv6(struct wfb_pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t len;
	int nh, i;

	p->l3 = p->off;
	if (!have(p, 40))
		return bad(p, "IPv6");
	p->family = AF_INET6;
	p->src = h + 8;
	p->dst = h + 24;
	p->l4len = wfb_be16(h + 4);
	nh = h[6];
	p->off += 40;
	for (i = 0; i < 8; i++) {
		h = p->d + p->off;
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44 && nh != 51)
			break;
		if (!have(p, 8))
			return bad(p, "IPv6 extension");
		if (nh == 44 && (wfb_be16(h + 2) >> 3))
			return WFB_PV_FRAGMENT;
		len = nh == 44 ? 8 : nh == 51 ? ((uint32_t)h[1] + 2) * 4 : ((uint32_t)h[1] + 1) * 8;
		if (len > p->l4len)
			return bad(p, "IPv6 extension");
		nh = h[0];
		p->off += len;
		p->l4len -= len;
	}
	p->proto = nh;
	return WFB_PV_KEEP;
}

static enum wfb_pv transport(struct wfb_pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t hl;

	if (p->proto == IPPROTO_UDP) {
		if (!have(p, 8) || wfb_be16(h + 4) < 8)
			return bad(p, "UDP");
		/* The size we record comes from this field: one that claims more
		 * than the IP packet holds is a lie, not a datagram. */
		if (wfb_be16(h + 4) > p->l4len) {
			snprintf(p->why, sizeof(p->why),
				 "UDP length field %u exceeds the IP payload (%u bytes)",
				 wfb_be16(h + 4), p->l4len);
			return bad(p, "UDP");
		}
		p->size = wfb_be16(h + 4) - 8u;
	} else if (p->proto == IPPROTO_TCP) {
		if (!have(p, 13))
			return bad(p, "TCP");
		hl = (uint32_t)(h[12] >> 4) * 4;
		if (hl < 20 || hl > p->l4len)
			return bad(p, "TCP");
		p->size = p->l4len - hl;
	} else {
		return WFB_PV_NOT_TCPUDP;
	}
	return p->size ? WFB_PV_KEEP : WFB_PV_EMPTY;
}

void wfb_pdec_describe(const struct wfb_pdec *d, char *buf, size_t len)
{
	if (d->why[0])
		snprintf(buf, len, "%s", d->why);
	else
		snprintf(buf, len, "truncated or malformed %s header (%u bytes captured)", d->what,
			 d->caplen);
}

enum wfb_pv wfb_pkt_decode(struct wfb_pdec *p, int dlt, const struct wfb_addr *client)
{
	size_t alen;
	enum wfb_pv v;
	int ver = 0;

	v = link_layer(p, dlt, &ver);
	if (v != WFB_PV_KEEP)
		return v;
	if (!ver)
		return WFB_PV_NOT_IP;
	v = ver == 4 ? ipv4(p) : ipv6(p);
	if (v == WFB_PV_BAD)
		return v;
	alen = p->family == AF_INET ? 4 : 16;
	if (client->family == p->family && !memcmp(p->src, client->a, alen))
		p->dir = WFB_OUT;
	else if (client->family == p->family && !memcmp(p->dst, client->a, alen))
		p->dir = WFB_IN;
	else
		return WFB_PV_OTHER_HOST;
	if (v != WFB_PV_KEEP)
		return v;
	return transport(p);
}
