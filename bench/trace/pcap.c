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
#include "pktdec.h"
#include "trace.h"

static void count(struct wfb_pcap_stats *st, enum wfb_pv v)
{
	size_t *c[] = {
		[WFB_PV_KEEP] = &st->kept,
		[WFB_PV_NOT_IP] = &st->not_ip,
		[WFB_PV_NOT_TCPUDP] = &st->not_tcpudp,
		[WFB_PV_OTHER_HOST] = &st->other_host,
		[WFB_PV_EMPTY] = &st->empty,
		[WFB_PV_FRAGMENT] = &st->fragment,
	};

	if (v < WFB_PV_BAD)
		(*c[v])++;
}

struct pcap_read {
	const char *path;
	pcap_t *p;
	struct wfb_trace *t;
	struct wfb_pcap_stats st;
	uint64_t base, prev;
};

static int pcap_keep(struct pcap_read *r, const struct pcap_pkthdr *h, const struct wfb_pdec *d,
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
		struct wfb_pdec d = { .d = data, .caplen = h->caplen };
		enum wfb_pv v = wfb_pkt_decode(&d, dlt, client);

		r->st.packets++;
		if (v == WFB_PV_BAD) {
			char why[128];

			wfb_pdec_describe(&d, why, sizeof(why));
			return wfg_err(err, errlen, EINVAL, "%s: packet %zu: %s", r->path,
				       r->st.packets, why);
		}
		count(&r->st, v);
		if (v == WFB_PV_KEEP && (rc = pcap_keep(r, h, &d, err, errlen)))
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
	if (!wfb_dlt_supported(pcap_datalink(r.p))) {
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
		sum += wfb_be16(p + i);
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
