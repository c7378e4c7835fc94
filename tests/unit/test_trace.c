// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Trace readers and writers: round trips, malformed input, edge cases, pcap. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

/* ---------------------------------------------------------------- helpers */

#define WFB_TMP_TEMPLATE "/tmp/wfb-trace-XXXXXX"
#include "tmpdir.h"

typedef int (*reader_fn)(FILE *, const char *, struct wfb_trace *, char *, size_t);
typedef int (*writer_fn)(FILE *, const struct wfb_trace *);

static int read_str(reader_fn rd, const char *text, struct wfb_trace *t, char *err, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	if (!strlen(text))
		f = fopen("/dev/null", "r");
	cr_assert_not_null(f);
	err[0] = 0;
	rc = rd(f, "site3-7", t, err, len);
	fclose(f);
	return rc;
}

static void round_trip(writer_fn wr, reader_fn rd, const struct wfb_trace *in)
{
	struct wfb_trace out;
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(wr(f, in), 0);
	fclose(f);
	wfb_trace_init(&out);
	cr_assert_eq(read_str(rd, buf, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert(wfb_trace_equal(in, &out), "round trip differs:\n%s", buf);
	wfb_trace_free(&out);
	free(buf);
}

/* A trace with what each format must carry: wide times, sizes, both directions. */
static void sample(struct wfb_trace *t, bool covers, bool zero_sizes)
{
	static const struct {
		uint64_t ns;
		int dir;
		uint32_t size;
	} p[] = {
		{ 0, 1, 1250 },
		{ 0, -1, 1400 },
		{ 1, -1, 2 },
		{ 999999999, 1, 80 },
		{ 1000000000, -1, 65507 },
		{ 1000000001, 1, 0 },
		{ 123456789012345, -1, 7 },
		{ 123456789012345, 1, 1400 },
	};
	size_t i;

	wfb_trace_init(t);
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		uint32_t size = p[i].size || zero_sizes ? p[i].size : 3;
		enum wfb_kind k = covers && i % 3 == 1 ? WFB_COVER : WFB_REAL;

		cr_assert_eq(wfb_trace_push(t, p[i].ns, p[i].dir, size, k), 0);
	}
}

/* ---------------------------------------------------------------- round trips */

Test(trace, round_trip_native)
{
	struct wfb_trace t;

	sample(&t, true, true);
	round_trip(wfb_write_native, wfb_read_native, &t);
	wfb_trace_free(&t);
}

Test(trace, round_trip_maybenot)
{
	struct wfb_trace t;

	sample(&t, true, true);
	round_trip(wfb_write_maybenot, wfb_read_maybenot, &t);
	wfb_trace_free(&t);
}

/* Wang carries no kind (covers are written as packets) and ±1 means "no size". */
Test(trace, round_trip_wang)
{
	struct wfb_trace t;

	sample(&t, false, true);
	round_trip(wfb_write_wang, wfb_read_wang, &t);
	wfb_trace_free(&t);
}

Test(trace, wang_writes_exact_seconds_and_signed_sizes)
{
	struct wfb_trace t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	wfb_trace_init(&t);
	wfb_trace_push(&t, 0, WFB_OUT, 600, WFB_REAL);
	wfb_trace_push(&t, 140000000, WFB_IN, 0, WFB_REAL);
	wfb_trace_push(&t, 3000000001, WFB_IN, 1400, WFB_COVER);
	cr_assert_eq(wfb_write_wang(f, &t), 0);
	fclose(f);
	cr_assert_str_eq(buf, "0.0\t600\n0.14\t-1\n3.000000001\t-1400\n");
	free(buf);
	wfb_trace_free(&t);
}

Test(trace, save_and_load_every_text_format, .init = make_tmpdir, .fini = rm_tmpdir)
{
	static const enum wfb_format fmts[] = { WFB_FMT_WANG, WFB_FMT_MAYBENOT, WFB_FMT_NATIVE };
	struct wfb_trace t, u;
	char err[256];
	size_t i;

	sample(&t, false, false);
	wfb_trace_init(&u);
	for (i = 0; i < 3; i++) {
		const char *p = tmp_path(wfb_format_name(fmts[i]));

		cr_assert_eq(wfb_trace_save(p, fmts[i], &t, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(wfb_trace_load(p, fmts[i], NULL, &u, err, sizeof(err)), 0, "%s", err);
		cr_assert(wfb_trace_equal(&t, &u), "%s", wfb_format_name(fmts[i]));
	}
	cr_assert_eq(wfb_trace_load(tmp_path("nope"), WFB_FMT_WANG, NULL, &u, err, sizeof(err)),
		     -ENOENT);
	cr_assert(strstr(err, "/nope: No such file or directory"), "%s", err);
	wfb_trace_free(&t);
	wfb_trace_free(&u);
}

/* ---------------------------------------------------------------- malformed input */

struct bad_case {
	reader_fn rd;
	const char *text;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	/* Wang */
	{ wfb_read_wang, "0.0\t+100\nabc\n",
	  "site3-7:2: expected '<time><TAB><±size>', got 'abc'" },
	{ wfb_read_wang, "0.0\t100\t5\n",
	  "site3-7:1: expected '<time><TAB><±size>', got '0.0\\t100\\t5'" },
	{ wfb_read_wang, "x\t100\n",
	  "site3-7:1: bad time 'x': expected seconds as a decimal number" },
	{ wfb_read_wang, "1.2.3\t100\n",
	  "site3-7:1: bad time '1.2.3': expected seconds as a decimal number" },
	{ wfb_read_wang, "-0.5\t100\n", "site3-7:1: negative time '-0.5'" },
	{ wfb_read_wang, "99999999999\t100\n", "site3-7:1: time '99999999999' out of range" },
	{ wfb_read_wang, "0.1\tabc\n",
	  "site3-7:1: bad size 'abc': expected a signed integer (+ client to server, - server to "
	  "client)" },
	{ wfb_read_wang, "0.1\t--5\n",
	  "site3-7:1: bad size '--5': expected a signed integer (+ client to server, - server to "
	  "client)" },
	{ wfb_read_wang, "0.1\t0\n", "site3-7:1: size 0 has no direction" },
	{ wfb_read_wang, "0.1\t-0\n", "site3-7:1: size 0 has no direction" },
	{ wfb_read_wang, "0.1\t+99999999999\n", "site3-7:1: size '+99999999999' out of range" },
	{ wfb_read_wang, "0.2\t1\n\n0.1\t-1\n",
	  "site3-7:3: time goes backwards: 0.1 s after 0.2 s" },
	/* Maybenot */
	{ wfb_read_maybenot, "10\n",
	  "site3-7:1: expected '<time_ns>,<s|r|sn|rn|sp|rp>[,<size>]', got '10'" },
	{ wfb_read_maybenot, "10,s,5,6\n",
	  "site3-7:1: expected '<time_ns>,<s|r|sn|rn|sp|rp>[,<size>]', got '10,s,5,6'" },
	{ wfb_read_maybenot, "10,,5\n",
	  "site3-7:1: expected '<time_ns>,<s|r|sn|rn|sp|rp>[,<size>]', got '10,,5'" },
	{ wfb_read_maybenot, "10,s,\n",
	  "site3-7:1: expected '<time_ns>,<s|r|sn|rn|sp|rp>[,<size>]', got '10,s,'" },
	{ wfb_read_maybenot, "0,s,1\n1.5,r,1\n",
	  "site3-7:2: bad time '1.5': expected nanoseconds as an unsigned integer" },
	{ wfb_read_maybenot, "-1,s,1\n",
	  "site3-7:1: bad time '-1': expected nanoseconds as an unsigned integer" },
	{ wfb_read_maybenot, "99999999999999999999,s\n",
	  "site3-7:1: time '99999999999999999999' out of range" },
	{ wfb_read_maybenot, "10,x,5\n",
	  "site3-7:1: unknown event 'x': expected s, r, sn, rn, sp or rp" },
	{ wfb_read_maybenot, "10,s,abc\n",
	  "site3-7:1: bad size 'abc': expected bytes as an unsigned integer" },
	{ wfb_read_maybenot, "10,s,4294967296\n", "site3-7:1: size '4294967296' out of range" },
	{ wfb_read_maybenot, "20,s\n10,r\n", "site3-7:2: time goes backwards: 10 ns after 20 ns" },
	/* native */
	{ wfb_read_native, "", "site3-7:1: empty file: expected the header 'wfguard-trace v1'" },
	{ wfb_read_native, "hello\n",
	  "site3-7:1: expected the header 'wfguard-trace v1', got 'hello'" },
	{ wfb_read_native, "wfguard-trace v2\n",
	  "site3-7:1: unsupported version 'v2' (this build reads 'wfguard-trace v1')" },
	{ wfb_read_native, "wfguard-trace v1\n0 + 10\n",
	  "site3-7:2: expected '<time_ns> <+|-> <size> <r|c>', got '0 + 10'" },
	{ wfb_read_native, "wfguard-trace v1\n0 + 10 r x\n",
	  "site3-7:2: expected '<time_ns> <+|-> <size> <r|c>', got '0 + 10 r x'" },
	{ wfb_read_native, "wfguard-trace v1\n0 x 10 r\n",
	  "site3-7:2: bad direction 'x': expected + or -" },
	{ wfb_read_native, "wfguard-trace v1\n0 + -5 r\n",
	  "site3-7:2: bad size '-5': expected bytes as an unsigned integer" },
	{ wfb_read_native, "wfguard-trace v1\n0 + 10 q\n",
	  "site3-7:2: bad kind 'q': expected r (real) or c (cover)" },
	{ wfb_read_native, "wfguard-trace v1\n# c\n5 + 10 r\n4 - 10 c\n",
	  "site3-7:4: time goes backwards: 4 ns after 5 ns" },
};

Test(trace, malformed_lines_name_file_line_and_problem)
{
	struct wfb_trace t;
	char err[256];
	size_t i;

	wfb_trace_init(&t);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		int rc = read_str(bad_cases[i].rd, bad_cases[i].text, &t, err, sizeof(err));

		cr_expect_eq(rc, -EINVAL, "case %zu: rc %d", i, rc);
		cr_expect_str_eq(err, bad_cases[i].msg, "case %zu", i);
	}
	wfb_trace_free(&t);
}

Test(trace, long_bad_lines_are_cut_in_messages)
{
	char line[300], err[256];
	struct wfb_trace t;

	memset(line, 'a', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = 0;
	wfb_trace_init(&t);
	cr_assert_eq(read_str(wfb_read_wang, line, &t, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "aaa...'"), "%s", err);
	wfb_trace_free(&t);
}

/* ---------------------------------------------------------------- edge cases */

static void expect_pkt(const struct wfb_trace *t, size_t i, uint64_t ns, int dir, uint32_t size,
		       int kind)
{
	cr_assert_lt(i, t->n);
	cr_expect_eq(t->pkts[i].time_ns, ns, "packet %zu time %llu", i,
		     (unsigned long long)t->pkts[i].time_ns);
	cr_expect_eq(t->pkts[i].dir, dir, "packet %zu dir", i);
	cr_expect_eq(t->pkts[i].size, size, "packet %zu size %u", i, t->pkts[i].size);
	cr_expect_eq(t->pkts[i].kind, kind, "packet %zu kind", i);
}

Test(trace, empty_inputs)
{
	struct wfb_trace t;
	char err[256];

	wfb_trace_init(&t);
	cr_assert_eq(read_str(wfb_read_wang, "", &t, err, sizeof(err)), 0);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(read_str(wfb_read_wang, "\n  \n\t\n", &t, err, sizeof(err)), 0);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(read_str(wfb_read_maybenot, "", &t, err, sizeof(err)), 0);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(read_str(wfb_read_native, "wfguard-trace v1\n", &t, err, sizeof(err)), 0);
	cr_assert_eq(t.n, 0);
	wfb_trace_free(&t);
}

/* CRLF, blank lines, spaces for tabs, trailing blanks, optional +, ±1, exponents. */
Test(trace, wang_edge_values)
{
	const char *text = "0.0\t+1\r\n"
			   "  0.5   -1   \r\n"
			   "0.5\t1\n"
			   "\r\n"
			   "1.0000000005\t1500\n"
			   "2\t-1500 \n"
			   "3.\t-2\n"
			   "4.25e0\t9";
	struct wfb_trace t;
	char err[256];

	wfb_trace_init(&t);
	cr_assert_eq(read_str(wfb_read_wang, text, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n, 7);
	expect_pkt(&t, 0, 0, WFB_OUT, 0, WFB_REAL);
	expect_pkt(&t, 1, 500000000, WFB_IN, 0, WFB_REAL);
	expect_pkt(&t, 2, 500000000, WFB_OUT, 0, WFB_REAL);
	expect_pkt(&t, 3, 1000000001, WFB_OUT, 1500, WFB_REAL);
	expect_pkt(&t, 4, 2000000000, WFB_IN, 1500, WFB_REAL);
	expect_pkt(&t, 5, 3000000000, WFB_IN, 2, WFB_REAL);
	expect_pkt(&t, 6, 4250000000, WFB_OUT, 9, WFB_REAL);
	cr_assert_eq(read_str(wfb_read_wang, "1e-05\t-568\n", &t, err, sizeof(err)), 0, "%s", err);
	expect_pkt(&t, 0, 10000, WFB_IN, 568, WFB_REAL);
	wfb_trace_free(&t);
}

Test(trace, maybenot_events_crlf_and_optional_size)
{
	const char *text = "0,s,514\r\n5,r\n5,sn,1\n6 , rn , 2 \n7,sp,514\n8,rp\n\n";
	struct wfb_trace t;
	char err[256];

	wfb_trace_init(&t);
	cr_assert_eq(read_str(wfb_read_maybenot, text, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n, 6);
	expect_pkt(&t, 0, 0, WFB_OUT, 514, WFB_REAL);
	expect_pkt(&t, 1, 5, WFB_IN, 0, WFB_REAL);
	expect_pkt(&t, 2, 5, WFB_OUT, 1, WFB_REAL);
	expect_pkt(&t, 3, 6, WFB_IN, 2, WFB_REAL);
	expect_pkt(&t, 4, 7, WFB_OUT, 514, WFB_COVER);
	expect_pkt(&t, 5, 8, WFB_IN, 0, WFB_COVER);
	wfb_trace_free(&t);
}

Test(trace, native_comments_crlf_and_blanks)
{
	const char *text = "wfguard-trace v1\r\n# flow: 10.0.0.1:4000 -> 10.0.0.2:443\n\n"
			   "0 + 1250 r\r\n7\t-\t1400\tc  \n";
	struct wfb_trace t;
	char err[256];

	wfb_trace_init(&t);
	cr_assert_eq(read_str(wfb_read_native, text, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n, 2);
	expect_pkt(&t, 0, 0, WFB_OUT, 1250, WFB_REAL);
	expect_pkt(&t, 1, 7, WFB_IN, 1400, WFB_COVER);
	wfb_trace_free(&t);
}

Test(trace, check_and_stats)
{
	struct wfb_trace t;
	struct wfb_trace_stats st;
	char err[128];

	wfb_trace_init(&t);
	wfb_trace_push(&t, 5, WFB_OUT, 100, WFB_REAL);
	wfb_trace_push(&t, 9, WFB_IN, 1400, WFB_COVER);
	wfb_trace_push(&t, 12, WFB_IN, 600, WFB_REAL);
	cr_assert_eq(wfb_trace_check(&t, err, sizeof(err)), 0);
	wfb_trace_stats(&t, &st);
	cr_assert_eq(st.packets[0], 1);
	cr_assert_eq(st.packets[1], 2);
	cr_assert_eq(st.bytes[0], 100);
	cr_assert_eq(st.bytes[1], 2000);
	cr_assert_eq(st.cover, 1);
	cr_assert_eq(st.duration_ns, 12);
	t.pkts[2].time_ns = 3;
	cr_assert_eq(wfb_trace_check(&t, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "packet 3: time goes backwards: 3 ns after 9 ns");
	wfb_trace_free(&t);
}

Test(trace, formats_and_addresses)
{
	enum wfb_format f;
	struct wfb_addr a;

	cr_assert_eq(wfb_format_parse("maybenot", &f), 0);
	cr_assert_eq(f, WFB_FMT_MAYBENOT);
	cr_assert_eq(wfb_format_parse("csv", &f), -EINVAL);
	cr_assert_eq(wfb_addr_parse("10.0.0.1", &a), 0);
	cr_assert_eq(a.family, AF_INET);
	cr_assert_eq(wfb_addr_parse("fd00::1", &a), 0);
	cr_assert_eq(a.family, AF_INET6);
	cr_assert_eq(wfb_addr_parse("10.0.0", &a), -EINVAL);
}

/* ---------------------------------------------------------------- pcap */

#define CLIENT4 "10.0.0.1"
#define SERVER4 "192.0.2.7"
#define OTHER4	"10.9.9.9"
#define CLIENT6 "fd00::1"
#define SERVER6 "2001:db8::7"

/* One frame: link header, IP header (+ an IPv6 extension header), UDP or TCP header, payload. */
struct frame {
	int link; /* DLT_EN10MB, DLT_LINUX_SLL, DLT_RAW */
	const char *src, *dst;
	int proto; /* 17 UDP, 6 TCP, 1 ICMP */
	uint32_t payload;
	uint64_t ns;
	bool ext6;	 /* a hop-by-hop options header before UDP/TCP */
	uint32_t caplen; /* cut the capture to this many bytes (0: all) */
	bool vlan;
	uint32_t udplen; /* the UDP length field, when not the true length (0: true) */
};

#define FR(l, s, d, p, n, t, ...)                                                             \
	{                                                                                     \
		.link = (l), .src = (s), .dst = (d), .proto = (p), .payload = (n), .ns = (t), \
		__VA_ARGS__                                                                   \
	}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static size_t link_header(uint8_t *b, const struct frame *f, bool v6)
{
	uint8_t *p = b;

	if (f->link == DLT_EN10MB) {
		memset(p, 0x02, 12);
		p += 12;
		if (f->vlan) {
			p = put16(p, 0x8100);
			p = put16(p, 42);
		}
		p = put16(p, v6 ? 0x86dd : 0x0800);
	} else if (f->link == DLT_LINUX_SLL) {
		memset(p, 0, 14);
		p += 14;
		p = put16(p, v6 ? 0x86dd : 0x0800);
	}
	return (size_t)(p - b);
}

static size_t ip_header(uint8_t *b, const struct frame *f, bool v6, uint32_t l4len)
{
	uint8_t a[16];

	if (!v6) {
		memset(b, 0, 20);
		b[0] = 0x45;
		put16(b + 2, 20 + l4len);
		b[8] = 64;
		b[9] = (uint8_t)f->proto;
		inet_pton(AF_INET, f->src, b + 12);
		inet_pton(AF_INET, f->dst, b + 16);
		return 20;
	}
	memset(b, 0, 48);
	b[0] = 0x60;
	put16(b + 4, l4len + (f->ext6 ? 8 : 0));
	b[6] = f->ext6 ? 0 : (uint8_t)f->proto;
	b[7] = 64;
	inet_pton(AF_INET6, f->src, a);
	memcpy(b + 8, a, 16);
	inet_pton(AF_INET6, f->dst, a);
	memcpy(b + 24, a, 16);
	if (!f->ext6)
		return 40;
	b[40] = (uint8_t)f->proto; /* hop-by-hop: next header, length 0 (8 bytes), padding */
	b[42] = 1;
	b[43] = 4;
	return 48;
}

static void dump_frame(pcap_dumper_t *d, const struct frame *f)
{
	static uint8_t b[70000];
	bool v6 = strchr(f->src, ':') != NULL;
	uint32_t l4h = f->proto == 6 ? 32 : 8, l4len = l4h + f->payload;
	size_t n = link_header(b, f, v6);
	struct pcap_pkthdr h;

	n += ip_header(b + n, f, v6, l4len);
	memset(b + n, 0, l4len);
	put16(b + n, 40000);
	put16(b + n + 2, 443);
	if (f->proto == 17)
		put16(b + n + 4, f->udplen ? f->udplen : l4len);
	else if (f->proto == 6)
		b[n + 12] = (uint8_t)((l4h / 4) << 4);
	n += l4len;
	h.ts.tv_sec = (time_t)(f->ns / 1000000000ULL);
	h.ts.tv_usec = (suseconds_t)(f->ns % 1000000000ULL);
	h.len = (uint32_t)n;
	h.caplen = f->caplen && f->caplen < n ? f->caplen : (uint32_t)n;
	pcap_dump((u_char *)d, &h, b);
}

static void write_frames(const char *path, int link, const struct frame *f, size_t n)
{
	pcap_t *p = pcap_open_dead_with_tstamp_precision(link, 65535, PCAP_TSTAMP_PRECISION_NANO);
	pcap_dumper_t *d;
	size_t i;

	cr_assert_not_null(p);
	d = pcap_dump_open(p, path);
	cr_assert_not_null(d, "%s", pcap_geterr(p));
	for (i = 0; i < n; i++)
		dump_frame(d, &f[i]);
	pcap_dump_close(d);
	pcap_close(p);
}

static int read_pcap(const char *path, const char *client, struct wfb_trace *t,
		     struct wfb_pcap_stats *st, char *err, size_t len)
{
	struct wfb_addr a;

	cr_assert_eq(wfb_addr_parse(client, &a), 0);
	err[0] = 0;
	return wfb_read_pcap(path, &a, t, st, err, len);
}

#define T0 1700000000000000000ULL

/* UDP and TCP over IPv4 on Ethernet (with a VLAN tag): direction from the client. */
Test(pcap, ipv4_udp_tcp_ethernet, .init = make_tmpdir, .fini = rm_tmpdir)
{
	const struct frame f[] = {
		FR(DLT_EN10MB, CLIENT4, SERVER4, 17, 1200, T0),
		FR(DLT_EN10MB, SERVER4, CLIENT4, 17, 1400, T0 + 1500),
		FR(DLT_EN10MB, OTHER4, SERVER4, 17, 999, T0 + 1600), /* another host */
		FR(DLT_EN10MB, SERVER4, CLIENT4, 6, 1448, T0 + 2000, .vlan = true),
		FR(DLT_EN10MB, CLIENT4, SERVER4, 6, 0, T0 + 2100),  /* pure ACK */
		FR(DLT_EN10MB, CLIENT4, SERVER4, 1, 56, T0 + 2200), /* ICMP */
		FR(DLT_EN10MB, CLIENT4, SERVER4, 6, 517, T0 + 3000000000ULL),
	};
	struct wfb_pcap_stats st;
	struct wfb_trace t;
	char err[256];

	write_frames(tmp_path("a.pcap"), DLT_EN10MB, f, 7);
	wfb_trace_init(&t);
	cr_assert_eq(read_pcap(tmp_path("a.pcap"), CLIENT4, &t, &st, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(t.n, 4);
	expect_pkt(&t, 0, 0, WFB_OUT, 1200, WFB_REAL);
	expect_pkt(&t, 1, 1500, WFB_IN, 1400, WFB_REAL);
	expect_pkt(&t, 2, 2000, WFB_IN, 1448, WFB_REAL);
	expect_pkt(&t, 3, 3000000000ULL, WFB_OUT, 517, WFB_REAL);
	cr_assert_eq(st.packets, 7);
	cr_assert_eq(st.kept, 4);
	cr_assert_eq(st.other_host, 1);
	cr_assert_eq(st.empty, 1);
	cr_assert_eq(st.not_tcpudp, 1);
	/* the other host as the client sees its one datagram */
	cr_assert_eq(read_pcap(tmp_path("a.pcap"), OTHER4, &t, &st, err, sizeof(err)), 0);
	cr_assert_eq(t.n, 1);
	expect_pkt(&t, 0, 0, WFB_OUT, 999, WFB_REAL);
	wfb_trace_free(&t);
}

/* IPv6 (with an extension header) on Linux cooked capture and on raw IP. */
Test(pcap, ipv6_udp_tcp_sll_and_raw, .init = make_tmpdir, .fini = rm_tmpdir)
{
	static const int links[] = { DLT_LINUX_SLL, DLT_RAW };
	struct wfb_trace t;
	char err[256];
	int k;

	wfb_trace_init(&t);
	for (k = 0; k < 2; k++) {
		const struct frame f[] = {
			FR(links[k], CLIENT6, SERVER6, 17, 1250, T0 + 10),
			FR(links[k], SERVER6, CLIENT6, 17, 1350, T0 + 20, .ext6 = true),
			FR(links[k], SERVER6, CLIENT6, 6, 1000, T0 + 30),
			FR(links[k], CLIENT6, SERVER6, 6, 33, T0 + 40, .ext6 = true),
		};

		write_frames(tmp_path("b.pcap"), links[k], f, 4);
		cr_assert_eq(read_pcap(tmp_path("b.pcap"), CLIENT6, &t, NULL, err, sizeof(err)), 0,
			     "%s", err);
		cr_assert_eq(t.n, 4);
		expect_pkt(&t, 0, 0, WFB_OUT, 1250, WFB_REAL);
		expect_pkt(&t, 1, 10, WFB_IN, 1350, WFB_REAL);
		expect_pkt(&t, 2, 20, WFB_IN, 1000, WFB_REAL);
		expect_pkt(&t, 3, 30, WFB_OUT, 33, WFB_REAL);
		/* an IPv4 client matches nothing in an IPv6 capture */
		cr_assert_eq(read_pcap(tmp_path("b.pcap"), CLIENT4, &t, NULL, err, sizeof(err)),
			     -ENODATA);
		cr_assert(strstr(err, "no TCP/UDP packet with payload to or from 10.0.0.1 (4 "
				      "packets read)"),
			  "%s", err);
	}
	wfb_trace_free(&t);
}

Test(pcap, errors_name_file_and_packet, .init = make_tmpdir, .fini = rm_tmpdir)
{
	const struct frame back[] = {
		FR(DLT_RAW, CLIENT4, SERVER4, 17, 100, T0 + 50),
		FR(DLT_RAW, SERVER4, CLIENT4, 17, 100, T0 + 20),
	};
	const struct frame cut[] = {
		FR(DLT_EN10MB, CLIENT4, SERVER4, 17, 100, T0),
		FR(DLT_EN10MB, SERVER4, CLIENT4, 17, 100, T0 + 1, .caplen = 30),
	};
	/* the size would come from a UDP length the IP packet cannot hold */
	const struct frame lie[] = {
		FR(DLT_RAW, CLIENT4, SERVER4, 17, 100, T0),
		FR(DLT_RAW, SERVER4, CLIENT4, 17, 100, T0 + 1, .udplen = 1408),
	};
	struct wfb_trace t;
	char err[256], want[256];
	FILE *f;

	wfb_trace_init(&t);
	write_frames(tmp_path("back.pcap"), DLT_RAW, back, 2);
	cr_assert_eq(read_pcap(tmp_path("back.pcap"), CLIENT4, &t, NULL, err, sizeof(err)),
		     -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: packet 2: time goes backwards (30 ns before the previous packet)",
		 tmp_path("back.pcap"));
	cr_assert_str_eq(err, want);
	write_frames(tmp_path("cut.pcap"), DLT_EN10MB, cut, 2);
	cr_assert_eq(read_pcap(tmp_path("cut.pcap"), CLIENT4, &t, NULL, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: packet 2: truncated or malformed IPv4 header (30 bytes captured)",
		 tmp_path("cut.pcap"));
	cr_assert_str_eq(err, want);
	write_frames(tmp_path("udplen.pcap"), DLT_RAW, lie, 2);
	cr_assert_eq(read_pcap(tmp_path("udplen.pcap"), CLIENT4, &t, NULL, err, sizeof(err)),
		     -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: packet 2: UDP length field 1408 exceeds the IP payload (108 bytes)",
		 tmp_path("udplen.pcap"));
	cr_assert_str_eq(err, want);
	f = fopen(tmp_path("text.pcap"), "w");
	fputs("0.0\t100\n", f);
	fclose(f);
	cr_assert_eq(read_pcap(tmp_path("text.pcap"), CLIENT4, &t, NULL, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "text.pcap: not a pcap or pcapng file"), "%s", err);
	cr_assert_eq(read_pcap(tmp_path("none.pcap"), CLIENT4, &t, NULL, err, sizeof(err)),
		     -ENOENT);
	wfb_trace_free(&t);
}

/* What wfb_write_pcap writes, wfb_read_pcap reads back (real packets with sizes). */
Test(pcap, round_trip_ipv4_and_ipv6, .init = make_tmpdir, .fini = rm_tmpdir)
{
	static const char *const pairs[][2] = { { CLIENT4, SERVER4 }, { CLIENT6, SERVER6 } };
	struct wfb_trace t, u;
	struct wfb_addr c, s;
	char err[256];
	int k;

	sample(&t, false, false);
	wfb_trace_init(&u);
	for (k = 0; k < 2; k++) {
		wfb_addr_parse(pairs[k][0], &c);
		wfb_addr_parse(pairs[k][1], &s);
		cr_assert_eq(wfb_write_pcap(tmp_path("rt.pcap"), &t, &c, &s, err, sizeof(err)), 0,
			     "%s", err);
		cr_assert_eq(
			read_pcap(tmp_path("rt.pcap"), pairs[k][0], &u, NULL, err, sizeof(err)), 0,
			"%s", err);
		cr_assert(wfb_trace_equal(&t, &u), "family %d", c.family);
	}
	/* unknown sizes cannot be datagrams */
	t.pkts[2].size = 0;
	cr_assert_eq(wfb_write_pcap(tmp_path("rt0.pcap"), &t, &c, &s, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "packet 3: size 0 cannot be a UDP datagram"), "%s", err);
	cr_assert_eq(access(tmp_path("rt0.pcap"), F_OK), -1);
	wfb_trace_free(&t);
	wfb_trace_free(&u);
}
