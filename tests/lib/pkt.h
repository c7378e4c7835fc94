/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Test frames: Ethernet (+VLAN) / IPv4 or IPv6 / UDP or TCP with valid
 * checksums, and independent checksum verification, for the data path tests.
 */
#ifndef WFGUARD_TESTS_PKT_H
#define WFGUARD_TESTS_PKT_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

struct frame_spec {
	int family;  /* 4 or 6 */
	int vlans;   /* 0, 1 or 2 tags */
	int proto;   /* 17 UDP, 6 TCP */
	int no_csum; /* IPv4 UDP with checksum 0 */
	int reverse; /* from the second address to the first (the peer's direction) */
	uint16_t sport, dport;
	const uint8_t *payload;
	size_t len;
};

static const uint8_t frame_src4[4] = { 10, 0, 0, 1 }, frame_dst4[4] = { 10, 0, 0, 2 };
static const uint8_t frame_src6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t frame_dst6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

static inline uint32_t csum_add_bytes(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t csum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Transport checksum over the pseudo header and segment (checksum field included). */
static inline uint16_t l4_csum(int family, const uint8_t *src, const uint8_t *dst, int proto,
			       const uint8_t *seg, size_t n)
{
	uint32_t sum = 0;

	sum = csum_add_bytes(sum, src, family == 4 ? 4 : 16);
	sum = csum_add_bytes(sum, dst, family == 4 ? 4 : 16);
	sum += (uint32_t)proto + (uint32_t)n;
	sum = csum_add_bytes(sum, seg, n);
	return csum_finish(sum);
}

static inline size_t l3_offset(const uint8_t *f)
{
	size_t off = 14;
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);

	while (et == 0x8100 || et == 0x88a8) {
		et = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
		off += 4;
	}
	return off;
}

/* Build a frame; returns its length. */
static inline size_t frame_build(uint8_t *buf, const struct frame_spec *s)
{
	size_t off = 12, l3, l4, hl = s->proto == 17 ? 8 : 20, seg = hl + s->len;
	uint16_t ether = s->family == 4 ? 0x0800 : 0x86dd;
	int i;

	memset(buf, 0, 14 + 8 + 40 + seg);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < s->vlans; i++) {
		uint16_t tpid = (i == 0 && s->vlans == 2) ? 0x88a8 : 0x8100;

		buf[off] = (uint8_t)(tpid >> 8);
		buf[off + 1] = (uint8_t)tpid;
		buf[off + 2] = 0;
		buf[off + 3] = (uint8_t)(10 + i);
		off += 4;
	}
	buf[off] = (uint8_t)(ether >> 8);
	buf[off + 1] = (uint8_t)ether;
	l3 = off + 2;
	if (s->family == 4) {
		uint8_t *ip = buf + l3;
		uint16_t tot = (uint16_t)(20 + seg), c;

		ip[0] = 0x45;
		ip[2] = (uint8_t)(tot >> 8);
		ip[3] = (uint8_t)tot;
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = (uint8_t)s->proto;
		memcpy(ip + 12, s->reverse ? frame_dst4 : frame_src4, 4);
		memcpy(ip + 16, s->reverse ? frame_src4 : frame_dst4, 4);
		c = csum_finish(csum_add_bytes(0, ip, 20));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
		l4 = l3 + 20;
	} else {
		uint8_t *ip = buf + l3;

		ip[0] = 0x60;
		ip[4] = (uint8_t)(seg >> 8);
		ip[5] = (uint8_t)seg;
		ip[6] = (uint8_t)s->proto;
		ip[7] = 64;
		memcpy(ip + 8, s->reverse ? frame_dst6 : frame_src6, 16);
		memcpy(ip + 24, s->reverse ? frame_src6 : frame_dst6, 16);
		l4 = l3 + 40;
	}
	buf[l4] = (uint8_t)(s->sport >> 8);
	buf[l4 + 1] = (uint8_t)s->sport;
	buf[l4 + 2] = (uint8_t)(s->dport >> 8);
	buf[l4 + 3] = (uint8_t)s->dport;
	if (s->proto == 17) {
		buf[l4 + 4] = (uint8_t)(seg >> 8);
		buf[l4 + 5] = (uint8_t)seg;
	} else {
		buf[l4 + 12] = 5 << 4;
		buf[l4 + 13] = 0x18;
	}
	memcpy(buf + l4 + hl, s->payload, s->len);
	if (!s->no_csum) {
		uint16_t c =
			l4_csum(s->family, s->family == 4 ? frame_src4 : frame_src6,
				s->family == 4 ? frame_dst4 : frame_dst6, s->proto, buf + l4, seg);
		size_t at = l4 + (s->proto == 17 ? 6 : 16);

		if (s->proto == 17 && c == 0)
			c = 0xffff;
		buf[at] = (uint8_t)(c >> 8);
		buf[at + 1] = (uint8_t)c;
	}
	return l4 + seg;
}

/*
 * Check a UDP frame: consistent lengths, valid IPv4 header checksum, valid UDP
 * checksum (or 0 on IPv4). Returns the UDP payload length, or -1 with *why set.
 */
static inline long frame_check_udp(const uint8_t *f, size_t n, const char **why)
{
	size_t l3 = l3_offset(f), l4;
	int family = f[l3] >> 4;
	uint16_t ulen, c;

	if (family == 4) {
		uint16_t tot = (uint16_t)(f[l3 + 2] << 8 | f[l3 + 3]);

		if (csum_finish(csum_add_bytes(0, f + l3, 20)) != 0)
			return *why = "IPv4 header checksum", -1;
		if (l3 + tot != n)
			return *why = "IPv4 total length", -1;
		l4 = l3 + 20;
	} else {
		uint16_t pl = (uint16_t)(f[l3 + 4] << 8 | f[l3 + 5]);

		if (l3 + 40 + pl != n)
			return *why = "IPv6 payload length", -1;
		l4 = l3 + 40;
	}
	ulen = (uint16_t)(f[l4 + 4] << 8 | f[l4 + 5]);
	if (l4 + ulen != n)
		return *why = "UDP length", -1;
	c = (uint16_t)(f[l4 + 6] << 8 | f[l4 + 7]);
	if (!(family == 4 && c == 0) &&
	    l4_csum(family, f + l3 + (family == 4 ? 12 : 8), f + l3 + (family == 4 ? 16 : 24), 17,
		    f + l4, ulen) != 0)
		return *why = "UDP checksum", -1;
	return ulen - 8;
}

#endif
