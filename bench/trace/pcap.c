// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pcap and pcapng through libpcap: reading what an observer captured (any
 * supported link layer, IPv4/IPv6, TCP/UDP payload to or from the client)
 * and writing a trace as raw-IP UDP datagrams (docs/trace-format.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include <netinet/in.h>

#include "err.h"
#include "trace.h"

/* ---------------------------------------------------------------- pcap */

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

enum pcap_verdict {
	PV_KEEP,
	PV_NOT_IP,
	PV_NOT_TCPUDP,
	PV_OTHER_HOST,
	PV_EMPTY,
	PV_FRAGMENT,
	PV_BAD, /* truncated or malformed headers: an error */
};

/* One packet being decoded: the bytes, how far we are, and what we found. */
struct pdec {
	const uint8_t *d;
	uint32_t caplen;
	uint32_t off;	/* start of the current header */
	uint32_t l4len; /* IP payload bytes after the network headers */
	int family;	/* AF_INET, AF_INET6 */
	int proto;	/* IPPROTO_TCP, IPPROTO_UDP, ... */
	const uint8_t *src, *dst;
	const char *what; /* PV_BAD: which header */
	uint32_t size;	  /* PV_KEEP: payload bytes */
	int dir;
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool have(const struct pdec *p, uint32_t n)
{
	return p->off + n <= p->caplen;
}

static enum pcap_verdict bad(struct pdec *p, const char *what)
{
	p->what = what;
	return PV_BAD;
}

/* Ethertype to the IP version it carries (0: not IP). */
static int ethertype_ip(uint16_t type)
{
	return type == 0x0800 ? 4 : type == 0x86dd ? 6 : 0;
}

/* Skip the link header; *ver = 4, 6 or 0 (not IP). */
static enum pcap_verdict link_layer(struct pdec *p, int dlt, int *ver)
{
	uint16_t type;

	switch (dlt) {
	case DLT_EN10MB:
		if (!have(p, 14))
			return bad(p, "Ethernet");
		type = be16(p->d + 12);
		p->off = 14;
		while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
			if (!have(p, 4))
				return bad(p, "VLAN");
			type = be16(p->d + p->off + 2);
			p->off += 4;
		}
		*ver = ethertype_ip(type);
		return PV_KEEP;
	case DLT_LINUX_SLL:
		if (!have(p, 16))
			return bad(p, "Linux cooked");
		*ver = ethertype_ip(be16(p->d + 14));
		p->off = 16;
		return PV_KEEP;
	case DLT_LINUX_SLL2:
		if (!have(p, 20))
			return bad(p, "Linux cooked v2");
		*ver = ethertype_ip(be16(p->d));
		p->off = 20;
		return PV_KEEP;
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
	return PV_KEEP;
}

static bool dlt_supported(int dlt)
{
	return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 ||
	       dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6 || dlt == DLT_NULL ||
	       dlt == DLT_LOOP;
}

static enum pcap_verdict ipv4(struct pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t ihl, total;

	if (!have(p, 20))
		return bad(p, "IPv4");
	ihl = (uint32_t)(h[0] & 15) * 4;
	total = be16(h + 2);
	if (ihl < 20 || total < ihl || !have(p, ihl))
		return bad(p, "IPv4");
	p->family = AF_INET;
	p->proto = h[9];
	p->src = h + 12;
	p->dst = h + 16;
	p->off += ihl;
	p->l4len = total - ihl;
	if (be16(h + 6) & 0x1fff)
		return PV_FRAGMENT;
	return PV_KEEP;
}

/* IPv6 and its extension headers up to the transport header. */
static enum pcap_verdict ipv6(struct pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t len;
	int nh, i;

	if (!have(p, 40))
		return bad(p, "IPv6");
	p->family = AF_INET6;
	p->src = h + 8;
	p->dst = h + 24;
	p->l4len = be16(h + 4);
	nh = h[6];
	p->off += 40;
	for (i = 0; i < 8; i++) {
		h = p->d + p->off;
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44 && nh != 51)
			break;
		if (!have(p, 8))
			return bad(p, "IPv6 extension");
		if (nh == 44 && (be16(h + 2) >> 3))
			return PV_FRAGMENT;
		len = nh == 44 ? 8 : nh == 51 ? ((uint32_t)h[1] + 2) * 4 : ((uint32_t)h[1] + 1) * 8;
		if (len > p->l4len)
			return bad(p, "IPv6 extension");
		nh = h[0];
		p->off += len;
		p->l4len -= len;
	}
	p->proto = nh;
	return PV_KEEP;
}

static enum pcap_verdict transport(struct pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t hl;

	if (p->proto == IPPROTO_UDP) {
		if (!have(p, 8) || be16(h + 4) < 8)
			return bad(p, "UDP");
		p->size = be16(h + 4) - 8u;
	} else if (p->proto == IPPROTO_TCP) {
		if (!have(p, 13))
			return bad(p, "TCP");
		hl = (uint32_t)(h[12] >> 4) * 4;
		if (hl < 20 || hl > p->l4len)
			return bad(p, "TCP");
		p->size = p->l4len - hl;
	} else {
		return PV_NOT_TCPUDP;
	}
	return p->size ? PV_KEEP : PV_EMPTY;
}

static enum pcap_verdict decode(struct pdec *p, int dlt, const struct wfb_addr *client)
{
	size_t alen;
	enum pcap_verdict v;
	int ver = 0;

	v = link_layer(p, dlt, &ver);
	if (v != PV_KEEP)
		return v;
	if (!ver)
		return PV_NOT_IP;
	v = ver == 4 ? ipv4(p) : ipv6(p);
	if (v == PV_BAD)
		return v;
	alen = p->family == AF_INET ? 4 : 16;
	if (client->family == p->family && !memcmp(p->src, client->a, alen))
		p->dir = WFB_OUT;
	else if (client->family == p->family && !memcmp(p->dst, client->a, alen))
		p->dir = WFB_IN;
	else
		return PV_OTHER_HOST;
	if (v != PV_KEEP)
		return v;
	return transport(p);
}

static void count(struct wfb_pcap_stats *st, enum pcap_verdict v)
{
	size_t *c[] = {
		[PV_KEEP] = &st->kept,
		[PV_NOT_IP] = &st->not_ip,
		[PV_NOT_TCPUDP] = &st->not_tcpudp,
		[PV_OTHER_HOST] = &st->other_host,
		[PV_EMPTY] = &st->empty,
		[PV_FRAGMENT] = &st->fragment,
	};

	if (v < PV_BAD)
		(*c[v])++;
}

struct pcap_read {
	const char *path;
	pcap_t *p;
	struct wfb_trace *t;
	struct wfb_pcap_stats st;
	uint64_t base, prev;
};

static int pcap_keep(struct pcap_read *r, const struct pcap_pkthdr *h, const struct pdec *d,
		     char *err, size_t errlen)
{
	uint64_t ns = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec;

	if (!r->t->n)
		r->base = r->prev = ns;
	if (ns < r->prev)
		return wfg_err(err, errlen, EINVAL,
			       "%s: packet %zu: time goes backwards (%llu ns before the "
			       "previous packet)",
			       r->path, r->st.packets, (unsigned long long)(r->prev - ns));
	r->prev = ns;
	if (wfb_trace_push(r->t, ns - r->base, d->dir, d->size, WFB_REAL))
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	return 0;
}

static int pcap_loop_all(struct pcap_read *r, const struct wfb_addr *client, char *err,
			 size_t errlen)
{
	int dlt = pcap_datalink(r->p), rc;
	struct pcap_pkthdr *h;
	const u_char *data;

	while ((rc = pcap_next_ex(r->p, &h, &data)) == 1) {
		struct pdec d = { .d = data, .caplen = h->caplen };
		enum pcap_verdict v = decode(&d, dlt, client);

		r->st.packets++;
		if (v == PV_BAD)
			return wfg_err(err, errlen, EINVAL,
				       "%s: packet %zu: truncated or malformed %s header "
				       "(%u bytes captured)",
				       r->path, r->st.packets, d.what, h->caplen);
		count(&r->st, v);
		if (v == PV_KEEP && (rc = pcap_keep(r, h, &d, err, errlen)))
			return rc;
	}
	if (rc == -1)
		return wfg_err(err, errlen, EINVAL, "%s: packet %zu: %s", r->path,
			       r->st.packets + 1, pcap_geterr(r->p));
	return 0;
}

int wfb_read_pcap(const char *path, const struct wfb_addr *client, struct wfb_trace *t,
		  struct wfb_pcap_stats *st, char *err, size_t errlen)
{
	struct pcap_read r = { .path = path, .t = t };
	char ebuf[PCAP_ERRBUF_SIZE] = "", abuf[INET6_ADDRSTRLEN];
	FILE *f = fopen(path, "rb");
	int rc;

	t->n = 0;
	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	r.p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!r.p) {
		fclose(f);
		return wfg_err(err, errlen, EINVAL, "%s: not a pcap or pcapng file (%s)", path,
			       ebuf);
	}
	if (!dlt_supported(pcap_datalink(r.p))) {
		const char *name = pcap_datalink_val_to_name(pcap_datalink(r.p));

		rc = wfg_err(err, errlen, EINVAL, "%s: link type %d (%s) not supported", path,
			     pcap_datalink(r.p), name ? name : "unknown");
	} else {
		rc = pcap_loop_all(&r, client, err, errlen);
	}
	pcap_close(r.p); /* closes f */
	if (!rc && !t->n)
		rc = wfg_err(err, errlen, ENODATA,
			     "%s: no TCP/UDP packet with payload to or from %s (%zu packets read)",
			     path, inet_ntop(client->family, client->a, abuf, sizeof(abuf)),
			     r.st.packets);
	if (st)
		*st = r.st;
	return rc;
}

/* ---------------------------------------------------------------- pcap writer */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += be16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IP + UDP headers for a datagram of `size` zero bytes; returns the header length. */
static uint32_t build_headers(uint8_t *b, const struct wfb_addr *src, const struct wfb_addr *dst,
			      uint32_t size, uint16_t sport, uint16_t dport)
{
	uint32_t alen = src->family == AF_INET ? 4 : 16, ipl = src->family == AF_INET ? 20 : 40;
	uint8_t *u = b + ipl, pseudo[40] = { 0 };
	uint32_t sum;

	memset(b, 0, ipl + 8);
	if (src->family == AF_INET) {
		b[0] = 0x45;
		put16(b + 2, ipl + 8 + size);
		b[8] = 64;
		b[9] = IPPROTO_UDP;
		memcpy(b + 12, src->a, 4);
		memcpy(b + 16, dst->a, 4);
		put16(b + 10, csum_fold(csum_add(0, b, 20)));
	} else {
		b[0] = 0x60;
		put16(b + 4, 8 + size);
		b[6] = IPPROTO_UDP;
		b[7] = 64;
		memcpy(b + 8, src->a, 16);
		memcpy(b + 24, dst->a, 16);
	}
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, 8 + size);
	/* checksum over the pseudo header and the UDP header; the payload is zeros */
	memcpy(pseudo, src->a, alen);
	memcpy(pseudo + alen, dst->a, alen);
	sum = csum_add(0, pseudo, 2 * alen) + IPPROTO_UDP + 8 + size;
	sum = csum_add(sum, u, 8);
	put16(u + 6, csum_fold(sum) ? csum_fold(sum) : 0xffff);
	return ipl + 8;
}

static int dump_packets(pcap_dumper_t *dump, const struct wfb_trace *t,
			const struct wfb_addr *client, const struct wfb_addr *server,
			const char *path, char *err, size_t errlen)
{
	uint8_t *buf = malloc(40 + 8 + 65535);
	struct pcap_pkthdr h;
	size_t i;
	int rc = 0;

	if (!buf)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];
		bool out = p->dir == WFB_OUT;
		uint32_t hl;

		if (!p->size || p->size > 65507) {
			rc = wfg_err(err, errlen, EINVAL,
				     "%s: packet %zu: size %u cannot be a UDP datagram", path,
				     i + 1, p->size);
			break;
		}
		hl = build_headers(buf, out ? client : server, out ? server : client, p->size,
				   out ? 40000 : 443, out ? 443 : 40000);
		memset(buf + hl, 0, p->size);
		h.ts.tv_sec = (time_t)(p->time_ns / 1000000000ULL);
		h.ts.tv_usec = (suseconds_t)(p->time_ns % 1000000000ULL); /* ns precision */
		h.caplen = h.len = hl + p->size;
		pcap_dump((u_char *)dump, &h, buf);
	}
	free(buf);
	return rc;
}

int wfb_write_pcap(const char *path, const struct wfb_trace *t, const struct wfb_addr *client,
		   const struct wfb_addr *server, char *err, size_t errlen)
{
	pcap_t *p;
	pcap_dumper_t *dump;
	int rc;

	if (client->family != server->family)
		return wfg_err(err, errlen, EINVAL, "%s: client and server of different families",
			       path);
	p = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
	if (!p)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	dump = pcap_dump_open(p, path);
	if (!dump) {
		rc = wfg_err(err, errlen, EIO, "%s", pcap_geterr(p));
		pcap_close(p);
		return rc;
	}
	rc = dump_packets(dump, t, client, server, path, err, errlen);
	if (!rc && pcap_dump_flush(dump))
		rc = wfg_err(err, errlen, EIO, "%s: write error", path);
	pcap_dump_close(dump);
	pcap_close(p);
	if (rc)
		unlink(path);
	return rc;
}
