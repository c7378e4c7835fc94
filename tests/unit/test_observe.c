// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The observer classifier (bench/observe.c) on small crafted captures: a
 * clean WireGuard or QUIC flow flags nothing, and each test flags exactly the
 * packets broken for it (and only under its own name).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "observe.h"

#define WFB_TMP_TEMPLATE "/tmp/wfb-observe-XXXXXX"
#include "tmpdir.h"

TestSuite(observe, .init = make_tmpdir, .fini = rm_tmpdir);

/* ---------------------------------------------------------------- packet builder */

#define CLIENT4 "10.0.0.2"
#define SERVER4 "10.0.1.2"
#define CLIENT6 "fd00::2"
#define SERVER6 "fd00:1::2"
#define CPORT	40000
#define SPORT	51820

/* One datagram of the test flow and what to get wrong in its headers. */
struct pk {
	bool to_client;
	const uint8_t *pay;
	size_t len;
	bool v6;
	uint8_t ttl, tos;
	bool no_df;
	uint16_t ipid;
	uint32_t flowlabel;
	bool bad_ip_csum, zero_udp_csum, bad_udp_csum;
	int udp_len_delta;
	const char *other_src; /* another host instead of the server */
	uint16_t other_port;
};

static pcap_t *dead;
static pcap_dumper_t *dump;
static unsigned records;

static void open_capture(const char *name)
{
	dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
	cr_assert_not_null(dead);
	dump = pcap_dump_open(dead, tmp_path(name));
	cr_assert_not_null(dump, "%s", pcap_geterr(dead));
	records = 0;
}

static void close_capture(void)
{
	pcap_dump_close(dump);
	pcap_close(dead);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum(uint32_t s, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t csum(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void addr(const char *s, bool v6, uint8_t *out)
{
	cr_assert_eq(inet_pton(v6 ? AF_INET6 : AF_INET, s, out), 1);
}

/* Ethernet + IPv4/IPv6 + UDP around p->pay, written as the next record. */
static void put(const struct pk *p)
{
	static uint8_t b[14 + 40 + 8 + 2048];
	size_t ipl = p->v6 ? 40 : 20, alen = p->v6 ? 16 : 4, udp = 8 + p->len;
	uint8_t *ip = b + 14, *u = ip + ipl, c[16], s[16];
	struct pcap_pkthdr h = { 0 };
	uint32_t x;

	cr_assert_leq(p->len, 2048);
	memset(b, 0, sizeof(b));
	put16(b + 12, p->v6 ? 0x86dd : 0x0800);
	addr(p->v6 ? CLIENT6 : CLIENT4, p->v6, c);
	addr(p->other_src ? p->other_src : p->v6 ? SERVER6 : SERVER4, p->v6, s);
	if (p->v6) {
		ip[0] = (uint8_t)(0x60 | p->tos >> 4);
		ip[1] = (uint8_t)(p->tos << 4 | (p->flowlabel >> 16 & 15));
		put16(ip + 2, p->flowlabel & 0xffff);
		put16(ip + 4, udp);
		ip[6] = IPPROTO_UDP;
		ip[7] = p->ttl ? p->ttl : 64;
		memcpy(ip + 8, p->to_client ? s : c, 16);
		memcpy(ip + 24, p->to_client ? c : s, 16);
	} else {
		ip[0] = 0x45;
		ip[1] = p->tos;
		put16(ip + 2, ipl + udp);
		put16(ip + 4, p->ipid);
		ip[6] = p->no_df ? 0 : 0x40;
		ip[8] = p->ttl ? p->ttl : 64;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, p->to_client ? s : c, 4);
		memcpy(ip + 16, p->to_client ? c : s, 4);
		put16(ip + 10, csum(sum(0, ip, 20)) ^ (p->bad_ip_csum ? 1 : 0));
	}
	put16(u, p->to_client ? (p->other_port ? p->other_port : SPORT) : CPORT);
	put16(u + 2, p->to_client ? CPORT : (p->other_port ? p->other_port : SPORT));
	put16(u + 4, (uint32_t)((int)udp + p->udp_len_delta));
	memcpy(u + 8, p->pay, p->len);
	/* over the length the header claims, as a receiver computes it */
	udp = (size_t)((int)udp + p->udp_len_delta);
	x = sum(0, ip + (p->v6 ? 8 : 12), 2 * alen) + IPPROTO_UDP + (uint32_t)udp;
	x = csum(sum(x, u, udp));
	udp = (size_t)((int)udp - p->udp_len_delta);
	put16(u + 6, p->zero_udp_csum ? 0 : (x ? x : 0xffff) ^ (p->bad_udp_csum ? 0x100 : 0));
	h.ts.tv_sec = 1000 + records / 1000;
	h.ts.tv_usec = (records % 1000) * 1000000; /* ns precision */
	h.caplen = h.len = (uint32_t)(14 + ipl + udp);
	pcap_dump((u_char *)dump, &h, b);
	records++;
}

/* Stand-in ciphertext: deterministic, looks random. */
static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
}

static void le32(uint8_t *b, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *b, uint64_t v)
{
	le32(b, (uint32_t)v);
	le32(b + 4, (uint32_t)(v >> 32));
}

#define IDX_C 0x11111111u /* the client's (initiator's) sender index */
#define IDX_S 0x22222222u /* the server's (responder's) */

/* A WireGuard message: type, then per type the index fields, the rest random. */
static size_t wg_msg(uint8_t *b, uint8_t type, uint32_t a, uint32_t idx2, uint64_t ctr,
		     size_t plain)
{
	size_t n = type == 1 ? 148 : type == 2 ? 92 : type == 3 ? 64 : 32 + plain;

	fill(b, n, (uint32_t)(ctr * 7 + a + type));
	memset(b, 0, 4);
	b[0] = type;
	le32(b + 4, a);
	if (type == 2)
		le32(b + 8, idx2);
	if (type == 4)
		le64(b + 8, ctr);
	return n;
}

/* The plaintext sizes of a tunnel with MTU 1420 (multiples of 16, or the MTU). */
static size_t plain_size(unsigned i)
{
	static const size_t s[] = { 0, 256, 512, 1024, 1420, 1420, 48 };

	return s[i % 7];
}

/* A handshake and n data messages each way; hook(i, to_client, pk, buf) may
 * break one (i = HS: the handshake's two messages, for whole-flow changes). */
#define HS UINT32_MAX
typedef void (*wg_hook)(unsigned i, bool to_client, struct pk *p, uint8_t *buf);

static void wg_flow(const char *name, unsigned n, bool v6, wg_hook hook)
{
	static uint8_t b[2048];
	struct pk p = { .v6 = v6 };
	unsigned i;
	int d;

	open_capture(name);
	p.pay = b;
	p.len = wg_msg(b, 1, IDX_C, 0, 0, 0);
	if (hook)
		hook(HS, false, &p, b);
	put(&p);
	memset(&p, 0, sizeof(p));
	p.v6 = v6;
	p.pay = b;
	p.to_client = true;
	p.len = wg_msg(b, 2, IDX_S, IDX_C, 0, 0);
	if (hook)
		hook(HS, true, &p, b);
	put(&p);
	for (i = 0; i < n; i++) {
		for (d = 0; d < 2; d++) {
			memset(&p, 0, sizeof(p));
			p.v6 = v6;
			p.pay = b;
			p.to_client = d;
			p.len = wg_msg(b, 4, d ? IDX_C : IDX_S, 0, i, plain_size(i + (unsigned)d));
			if (hook)
				hook(i, d, &p, b);
			put(&p);
		}
	}
	close_capture();
}

static void observe(const char *name, const struct wfb_obs_opts *in, struct wfb_obs_report *r)
{
	struct wfb_obs_opts o = { .proto = WFB_OBS_AUTO };
	char err[256] = "";
	int rc;

	if (in)
		o = *in;
	if (!o.client.family)
		cr_assert_eq(wfb_addr_parse(CLIENT4, &o.client), 0);
	rc = wfb_observe(tmp_path(name), &o, r, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
}

static size_t flagged_by(const struct wfb_obs_report *r, enum wfb_obs_test t, int dir)
{
	return r->by_test[t][dir];
}

/* Exactly `n` packets to the client flagged, all by test t, nothing else. */
static void expect_only(const struct wfb_obs_report *r, enum wfb_obs_test t, size_t n)
{
	int k;

	cr_assert(r->ran >> t & 1, "%s did not run", wfb_obs_test_name[t]);
	cr_expect_eq(flagged_by(r, t, WFB_OBS_TO_CLIENT), n, "%s flagged %zu, expected %zu",
		     wfb_obs_test_name[t], flagged_by(r, t, WFB_OBS_TO_CLIENT), n);
	for (k = 0; k < WFB_OBS_NTESTS; k++) {
		if (k != (int)t) {
			cr_expect_eq(r->by_test[k][0] + r->by_test[k][1], 0, "%s flagged %zu",
				     wfb_obs_test_name[k], r->by_test[k][0] + r->by_test[k][1]);
		}
	}
	cr_expect_eq(r->flagged[WFB_OBS_TO_CLIENT], n);
	cr_expect_eq(r->flagged[WFB_OBS_FROM_CLIENT], 0);
}

/* ---------------------------------------------------------------- WireGuard */

Test(observe, clean_wireguard_flags_nothing)
{
	struct wfb_obs_report r;

	wg_flow("clean.pcap", 300, false, NULL);
	observe("clean.pcap", NULL, &r);
	cr_expect_eq(r.proto, WFB_OBS_WIREGUARD);
	cr_expect_eq(r.packets[WFB_OBS_TO_CLIENT], 301);
	cr_expect_eq(r.packets[WFB_OBS_FROM_CLIENT], 301);
	cr_expect_eq(r.client_port, CPORT);
	cr_expect_eq(r.peer_port, SPORT);
	expect_only(&r, WFB_OBS_WG_TYPE, 0);
	cr_expect(r.ran >> WFB_OBS_WG_COUNTER & 1);
	cr_expect(r.ran >> WFB_OBS_WG_INDEX & 1);
	cr_expect(r.ran >> WFB_OBS_IP_ID & 1);
	cr_expect_not(r.ran >> WFB_OBS_QUIC_DCID & 1);
	wfb_obs_report_free(&r);
}

static void hook_reserved(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)p;
	if (i == 50 && to_client)
		b[2] = 1;
}

Test(observe, wireguard_reserved_byte)
{
	struct wfb_obs_report r;

	wg_flow("reserved.pcap", 100, false, hook_reserved);
	observe("reserved.pcap", NULL, &r);
	expect_only(&r, WFB_OBS_WG_RESERVED, 1);
	wfb_obs_report_free(&r);
}

static void hook_type(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)p;
	if ((i == 10 || i == 20) && to_client)
		b[0] = 5;
}

Test(observe, wireguard_type)
{
	struct wfb_obs_report r;

	wg_flow("type.pcap", 100, false, hook_type);
	observe("type.pcap", NULL, &r);
	expect_only(&r, WFB_OBS_WG_TYPE, 2);
	wfb_obs_report_free(&r);
}

static void hook_len(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	if (i == 30 && to_client)
		p->len = wg_msg(b, 4, IDX_C, 0, i, 100); /* 100: neither 16k nor the MTU */
}

Test(observe, wireguard_length)
{
	struct wfb_obs_report r;

	wg_flow("len.pcap", 100, false, hook_len);
	observe("len.pcap", NULL, &r);
	expect_only(&r, WFB_OBS_WG_LEN, 1);
	wfb_obs_report_free(&r);
}

/* The shim's wireguard profile: a cover takes counter + 1 of the last data
 * message, which the tunnel then sends again. */
static void hook_dup(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	if (i == 40 && to_client)
		p->len = wg_msg(b, 4, IDX_C, 0, 39, 256);
}

Test(observe, wireguard_counter_repeated_flags_both)
{
	struct wfb_obs_report r;

	wg_flow("dup.pcap", 100, false, hook_dup);
	observe("dup.pcap", NULL, &r);
	expect_only(&r, WFB_OBS_WG_COUNTER, 2);
	wfb_obs_report_free(&r);
}

static void hook_ahead(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	if (i == 40 && to_client)
		p->len = wg_msg(b, 4, IDX_C, 0, 1000000, 256);
}

Test(observe, wireguard_counter_far_ahead_flags_only_itself)
{
	struct wfb_obs_report r;

	wg_flow("ahead.pcap", 100, false, hook_ahead);
	observe("ahead.pcap", NULL, &r);
	expect_only(&r, WFB_OBS_WG_COUNTER, 1);
	wfb_obs_report_free(&r);
}

/* Counters step by 100 (lost in front of the observer): fine; then one from
 * before the window. */
static void hook_old(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	if (to_client && i != HS)
		p->len = wg_msg(b, 4, IDX_C, 0, i == 150 ? 5 : 100ull * i, 256);
}

Test(observe, wireguard_counter_older_than_the_window)
{
	struct wfb_obs_report r;

	wg_flow("old.pcap", 200, false, hook_old);
	observe("old.pcap", NULL, &r);
	expect_only(&r, WFB_OBS_WG_COUNTER, 1);
	wfb_obs_report_free(&r);
}

/* Reordering within the window is what WireGuard accepts: not flagged. */
static void hook_reorder(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	if (to_client && (i == 60 || i == 61))
		p->len = wg_msg(b, 4, IDX_C, 0, i == 60 ? 61 : 60, 256);
}

Test(observe, wireguard_reordering_is_not_flagged)
{
	struct wfb_obs_report r;

	wg_flow("reorder.pcap", 100, false, hook_reorder);
	observe("reorder.pcap", NULL, &r);
	expect_only(&r, WFB_OBS_WG_COUNTER, 0);
	wfb_obs_report_free(&r);
}

static void hook_index(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	if (i == 70 && to_client)
		p->len = wg_msg(b, 4, 0x33333333u, 0, i, 256);
}

Test(observe, wireguard_receiver_index)
{
	struct wfb_obs_report r;

	wg_flow("index.pcap", 100, false, hook_index);
	observe("index.pcap", NULL, &r);
	expect_only(&r, WFB_OBS_WG_INDEX, 1);
	wfb_obs_report_free(&r);
}

/* Generic shim covers on a WireGuard tunnel: random bytes where WireGuard's
 * header should be. */
static void hook_generic(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)p;
	if (i % 10 == 3 && to_client) {
		fill(b, p->len, i + 99);
		b[0] |= 0x40; /* never a valid type */
	}
}

Test(observe, generic_covers_on_wireguard)
{
	struct wfb_obs_report r;

	wg_flow("generic.pcap", 100, false, hook_generic);
	observe("generic.pcap", NULL, &r);
	cr_expect_eq(r.proto, WFB_OBS_WIREGUARD);
	cr_expect_eq(flagged_by(&r, WFB_OBS_WG_TYPE, WFB_OBS_TO_CLIENT), 10);
	cr_expect_eq(r.flagged[WFB_OBS_TO_CLIENT], 10);
	cr_expect_eq(r.flagged[WFB_OBS_FROM_CLIENT], 0);
	wfb_obs_report_free(&r);
}

/* ---------------------------------------------------------------- IP and UDP */

static void hook_ttl(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i == 5 && to_client)
		p->ttl = 63;
}

static void hook_tos(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i == 5 && to_client)
		p->tos = 0x02; /* ECT(0) on one packet */
}

static void hook_df(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i == 5 && to_client)
		p->no_df = true;
}

static void hook_ipcsum(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i == 5 && to_client)
		p->bad_ip_csum = true;
}

static void hook_udplen(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i == 5 && to_client)
		p->udp_len_delta = -16;
}

static void hook_udpcsum(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i == 5 && to_client)
		p->bad_udp_csum = true;
}

static void hook_udpzero(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i == 5 && to_client)
		p->zero_udp_csum = true;
}

static void hook_allzero(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	(void)i;
	(void)to_client;
	p->zero_udp_csum = true;
}

static void check_hook(const char *name, wg_hook hook, enum wfb_obs_test t, size_t n)
{
	struct wfb_obs_report r;

	wg_flow(name, 60, false, hook);
	observe(name, NULL, &r);
	expect_only(&r, t, n);
	wfb_obs_report_free(&r);
}

Test(observe, ip_ttl)
{
	check_hook("ttl.pcap", hook_ttl, WFB_OBS_IP_TTL, 1);
}

Test(observe, ip_tos)
{
	check_hook("tos.pcap", hook_tos, WFB_OBS_IP_TOS, 1);
}

Test(observe, ip_df)
{
	check_hook("df.pcap", hook_df, WFB_OBS_IP_DF, 1);
}

Test(observe, ip_csum)
{
	check_hook("ipcsum.pcap", hook_ipcsum, WFB_OBS_IP_CSUM, 1);
}

/* A UDP length 16 short of the IP length: the WireGuard length still fits. */
Test(observe, udp_len)
{
	check_hook("udplen.pcap", hook_udplen, WFB_OBS_UDP_LEN, 1);
}

Test(observe, udp_csum_wrong_among_valid)
{
	check_hook("udpcsum.pcap", hook_udpcsum, WFB_OBS_UDP_CSUM, 1);
}

Test(observe, udp_csum_zero_among_valid)
{
	check_hook("udpzero.pcap", hook_udpzero, WFB_OBS_UDP_CSUM, 1);
}

/* All without a checksum (a sender that never fills it): nothing stands out. */
Test(observe, udp_csum_all_zero_is_consistent)
{
	check_hook("allzero.pcap", hook_allzero, WFB_OBS_UDP_CSUM, 0);
}

static void hook_ipid_count(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	p->ipid = (uint16_t)(100 + 1111 * i); /* counts up from the handshakes' 0, wraps */
	if (i == 20 && to_client)
		p->ipid = 0; /* another sender's stack */
}

Test(observe, ip_id_counting_with_one_outsider)
{
	check_hook("ipid.pcap", hook_ipid_count, WFB_OBS_IP_ID, 1);
}

static void hook_ipid_zero(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if ((i == 20 || i == 21) && to_client)
		p->ipid = (uint16_t)(1234 + i);
}

Test(observe, ip_id_constant_with_two_outsiders)
{
	check_hook("ipid0.pcap", hook_ipid_zero, WFB_OBS_IP_ID, 2);
}

static void hook_flowlabel(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	p->flowlabel = 0xabcde;
	if (i == 9 && to_client)
		p->flowlabel = 0x12345;
}

Test(observe, ipv6_flow_label_and_clean_v6)
{
	struct wfb_obs_report r;
	struct wfb_obs_opts o = { .proto = WFB_OBS_WIREGUARD };

	cr_assert_eq(wfb_addr_parse(CLIENT6, &o.client), 0);
	wg_flow("flow6.pcap", 60, true, hook_flowlabel);
	observe("flow6.pcap", &o, &r);
	cr_expect_eq(r.peer.family, AF_INET6);
	cr_expect_not(r.ran >> WFB_OBS_IP_CSUM & 1);
	cr_expect_not(r.ran >> WFB_OBS_IP_DF & 1);
	expect_only(&r, WFB_OBS_IP6_FLOW, 1);
	wfb_obs_report_free(&r);
}

static void hook_hoplimit(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i == 9 && to_client)
		p->ttl = 255;
}

Test(observe, ipv6_hop_limit)
{
	struct wfb_obs_report r;
	struct wfb_obs_opts o = { .proto = WFB_OBS_WIREGUARD };

	cr_assert_eq(wfb_addr_parse(CLIENT6, &o.client), 0);
	wg_flow("hop6.pcap", 60, true, hook_hoplimit);
	observe("hop6.pcap", &o, &r);
	expect_only(&r, WFB_OBS_IP_TTL, 1);
	wfb_obs_report_free(&r);
}

/* ---------------------------------------------------------------- sizes, flows */

Test(observe, size_set_data_messages_only)
{
	static const uint32_t sizes[] = { 32, 288, 544, 1056 }; /* 1452 (the MTU) left out */
	struct wfb_obs_opts o = { .proto = WFB_OBS_AUTO, .sizes = sizes, .nsizes = 4 };
	struct wfb_obs_report r;

	cr_assert_eq(wfb_addr_parse(CLIENT4, &o.client), 0);
	wg_flow("sizes.pcap", 70, false, NULL);
	observe("sizes.pcap", &o, &r);
	/* plain_size: 1420 twice in 7 (and 48 once) from each side; handshakes not tested */
	cr_expect_eq(flagged_by(&r, WFB_OBS_SIZE_SET, WFB_OBS_TO_CLIENT), 30);
	cr_expect_eq(flagged_by(&r, WFB_OBS_SIZE_SET, WFB_OBS_FROM_CLIENT), 30);
	wfb_obs_report_free(&r);
}

static void hook_other(unsigned i, bool to_client, struct pk *p, uint8_t *b)
{
	(void)b;
	if (i % 4 == 0 && to_client)
		p->other_src = "10.0.9.9";
	if (i % 4 == 1 && to_client)
		p->other_port = 443;
}

Test(observe, other_hosts_and_ports_are_not_the_flow)
{
	struct wfb_obs_opts o = { .proto = WFB_OBS_AUTO, .port = 443 };
	struct wfb_obs_report r;

	wg_flow("other.pcap", 40, false, hook_other);
	observe("other.pcap", NULL, &r);
	cr_expect_eq(r.packets[WFB_OBS_TO_CLIENT], 21); /* the response + 20 of 40 */
	cr_expect_eq(r.other, 20);
	expect_only(&r, WFB_OBS_WG_TYPE, 0); /* the others' counters do not count */
	wfb_obs_report_free(&r);

	cr_assert_eq(wfb_addr_parse(CLIENT4, &o.client), 0);
	observe("other.pcap", &o, &r);
	cr_expect_eq(r.peer_port, 443);
	cr_expect_eq(r.packets[WFB_OBS_TO_CLIENT], 10);
	wfb_obs_report_free(&r);
}

/* ---------------------------------------------------------------- QUIC */

static const uint8_t cid_c[8] = { 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8 };
static const uint8_t cid_s[8] = { 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58 };

/* A long header (Initial) announcing scid, padded to n. */
static size_t quic_long_hdr(uint8_t *b, const uint8_t *dcid, const uint8_t *scid, size_t n)
{
	fill(b, n, 7);
	b[0] = 0xc3;
	b[1] = b[2] = b[3] = 0;
	b[4] = 1;
	b[5] = 8;
	memcpy(b + 6, dcid, 8);
	b[14] = 8;
	memcpy(b + 15, scid, 8);
	return n;
}

static size_t quic_short(uint8_t *b, const uint8_t *dcid, size_t n, uint32_t seed)
{
	fill(b, n, seed);
	b[0] = (uint8_t)(0x40 | (b[0] & 0x3f));
	memcpy(b + 1, dcid, 8);
	return n;
}

enum quic_break { Q_NONE, Q_FIXED, Q_DCID, Q_LEN };

static void quic_flow(const char *name, bool long_headers, enum quic_break brk)
{
	static uint8_t b[1500];
	static const uint8_t other[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	struct pk p = { .pay = b };
	unsigned i;

	open_capture(name);
	if (long_headers) {
		p.len = quic_long_hdr(b, other, cid_c, 1200);
		put(&p);
		p.to_client = true;
		p.len = quic_long_hdr(b, cid_c, cid_s, 1200);
		put(&p);
	}
	for (i = 0; i < 200; i++) {
		p.to_client = i % 3 != 0;
		p.len = quic_short(b, p.to_client ? cid_c : cid_s, 100 + (i * 37) % 1100, i);
		if (i == 100 && brk == Q_FIXED)
			b[0] &= (uint8_t)~0x40;
		if (i == 100 && brk == Q_DCID)
			b[3] ^= 0xff;
		if (i == 100 && brk == Q_LEN)
			p.len = 20;
		put(&p);
	}
	close_capture();
}

static void quic_check(const char *name, bool long_headers, enum quic_break brk,
		       enum wfb_obs_test t, size_t n)
{
	struct wfb_obs_report r;

	quic_flow(name, long_headers, brk);
	observe(name, NULL, &r);
	cr_expect_eq(r.proto, WFB_OBS_QUIC);
	cr_expect_eq(r.dcid_len[WFB_OBS_TO_CLIENT], 8);
	cr_expect_eq(r.dcid_len[WFB_OBS_FROM_CLIENT], 8);
	cr_expect(r.ran >> WFB_OBS_QUIC_DCID & 1);
	cr_expect_not(r.ran >> WFB_OBS_WG_TYPE & 1);
	expect_only(&r, t, n);
	wfb_obs_report_free(&r);
}

Test(observe, quic_clean_with_long_headers)
{
	quic_check("q0.pcap", true, Q_NONE, WFB_OBS_QUIC_DCID, 0);
}

Test(observe, quic_clean_dcid_length_guessed)
{
	quic_check("q1.pcap", false, Q_NONE, WFB_OBS_QUIC_DCID, 0);
}

Test(observe, quic_fixed_bit)
{
	quic_check("q2.pcap", true, Q_FIXED, WFB_OBS_QUIC_FIXED, 1);
}

Test(observe, quic_dcid)
{
	quic_check("q3.pcap", true, Q_DCID, WFB_OBS_QUIC_DCID, 1);
}

Test(observe, quic_dcid_without_long_headers)
{
	quic_check("q4.pcap", false, Q_DCID, WFB_OBS_QUIC_DCID, 1);
}

Test(observe, quic_too_short)
{
	quic_check("q5.pcap", true, Q_LEN, WFB_OBS_QUIC_LEN, 1);
}

/* A wrong --dcid-len makes every short header "wrong": the observer's
 * assumption, not the covers, is tested; the option is taken as given. */
Test(observe, quic_dcid_len_option)
{
	struct wfb_obs_opts o = { .proto = WFB_OBS_QUIC, .dcid_len = 4 };
	struct wfb_obs_report r;

	cr_assert_eq(wfb_addr_parse(CLIENT4, &o.client), 0);
	quic_flow("q6.pcap", false, Q_DCID);
	observe("q6.pcap", &o, &r);
	cr_expect_eq(r.dcid_len[WFB_OBS_TO_CLIENT], 4);
	cr_expect_eq(flagged_by(&r, WFB_OBS_QUIC_DCID, WFB_OBS_TO_CLIENT), 1);
	wfb_obs_report_free(&r);
}

/* ---------------------------------------------------------------- bad input */

Test(observe, errors_name_the_file_and_the_packet)
{
	struct wfb_obs_opts o = { .proto = WFB_OBS_AUTO };
	struct wfb_obs_report r;
	char err[256];
	FILE *f;

	cr_assert_eq(wfb_addr_parse(CLIENT4, &o.client), 0);
	f = fopen(tmp_path("junk.pcap"), "w");
	fputs("not a capture\n", f);
	fclose(f);
	cr_expect_eq(wfb_observe(tmp_path("junk.pcap"), &o, &r, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "not a pcap"), "%s", err);
	wfb_obs_report_free(&r);

	wg_flow("v4.pcap", 5, false, NULL);
	cr_assert_eq(wfb_addr_parse("10.9.9.9", &o.client), 0);
	cr_expect_eq(wfb_observe(tmp_path("v4.pcap"), &o, &r, err, sizeof(err)), -ENODATA);
	cr_expect(strstr(err, "no UDP datagram to or from 10.9.9.9"), "%s", err);
	wfb_obs_report_free(&r);

	cr_assert_eq(wfb_addr_parse(CLIENT4, &o.client), 0);
	o.port = 9;
	cr_expect_eq(wfb_observe(tmp_path("v4.pcap"), &o, &r, err, sizeof(err)), -ENODATA);
	cr_expect(strstr(err, "on port 9"), "%s", err);
	wfb_obs_report_free(&r);
}

Test(observe, truncated_header_is_an_error)
{
	struct wfb_obs_opts o = { .proto = WFB_OBS_AUTO };
	struct pcap_pkthdr h = { .caplen = 20, .len = 20 };
	uint8_t b[20] = { 0 };
	struct wfb_obs_report r;
	char err[256];

	cr_assert_eq(wfb_addr_parse(CLIENT4, &o.client), 0);
	open_capture("trunc.pcap");
	b[12] = 0x08; /* IPv4 in 6 bytes */
	b[14] = 0x45;
	pcap_dump((u_char *)dump, &h, b);
	close_capture();
	cr_expect_eq(wfb_observe(tmp_path("trunc.pcap"), &o, &r, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "packet 1: truncated or malformed IPv4"), "%s", err);
	wfb_obs_report_free(&r);
}

Test(observe, proto_names)
{
	enum wfb_obs_proto p;

	cr_expect_eq(wfb_obs_proto_parse("wireguard", &p), 0);
	cr_expect_eq(p, WFB_OBS_WIREGUARD);
	cr_expect_eq(wfb_obs_proto_parse("quic", &p), 0);
	cr_expect_str_eq(wfb_obs_proto_name(p), "quic");
	cr_expect_eq(wfb_obs_proto_parse("tcp", &p), -EINVAL);
}
