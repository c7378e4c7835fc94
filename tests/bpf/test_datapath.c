// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The data path programs on real frames through BPF_PROG_TEST_RUN, as
 * fixture tables (description, input frame, expected verdict and output):
 * padding in every size mode with valid checksums, the TC -> XDP round trip
 * restoring the original bytes, covers, forgeries, non-matching traffic and
 * EDT timestamps. Needs root; skips otherwise.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "bpflog.h"
#include "bpfrun.h"
#include "pkt.h"
#include "pool.h"
#include "presets.h"
#include "wfguard.skel.h"
#include "wfguard/datapath.h"
#include "zoo.h"

#define MAXF 2048
#define PORT 4433

static struct wfguard_bpf *skel;
static struct wfg_policy pol;
static struct wfg_side_builder sb;
static void set_ctl(__u64 k0, __u64 k1, __u64 k2, __u64 k3)
{
	struct wfg_ctl ctl = { .active = 0, .key_slot = 0 };
	__u32 zero = 0;
	int i;

	ctl.keys[0].k0 = k0;
	ctl.keys[0].k1 = k1;
	ctl.keys[1].k0 = k2;
	ctl.keys[1].k1 = k3;
	for (i = 0; i < 8; i++)
		ctl.master[i] = 0x1000u + (__u32)i;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);
}

/* Policy: UDP with local or remote port 4433; the side built in `sb` so far. */
static void apply_policy(void)
{
	__u32 zero = 0;

	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	pol.generation++;
	pol.nrules = 2;
	memset(pol.rules, 0, sizeof(pol.rules));
	pol.rules[0].lport_lo = 0;
	pol.rules[0].lport_hi = 65535;
	pol.rules[0].rport_lo = pol.rules[0].rport_hi = PORT;
	pol.rules[1].lport_lo = pol.rules[1].lport_hi = PORT;
	pol.rules[1].rport_lo = 0;
	pol.rules[1].rport_hi = 65535;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
}

static void shape(enum wfg_shape_mode mode, __u32 size, __u32 max)
{
	wfg_sb_init(&sb, &pol.side);
	pol.side.shape.mode = (__u8)mode;
	pol.side.shape.size = size;
	pol.side.shape.max = max;
	pol.side.cover_size = 600;
}

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("BPF tests need root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)");
	wfgt_log_capture();
	skel = wfguard_bpf__open_and_load();
	cr_assert_not_null(skel, "wfguard.bpf.o failed to load:\n%s", wfgt_log());
	memset(&pol, 0, sizeof(pol));
	set_ctl(1, 2, 3, 4);
	shape(WFG_SHAPE_PAD_TO, 1000, 1400);
	apply_policy();
}

static void teardown(void)
{
	wfguard_bpf__destroy(skel);
	skel = NULL;
}

TestSuite(datapath, .init = setup, .fini = teardown);

/* The egress program on a frame; its verdict. `mark`: the skb's (carriers). */
static int tc_run_gso(const uint8_t *in, size_t n, __u32 mark, __u16 gso_size, uint8_t *out,
		      __u32 *out_len, __u64 *tstamp)
{
	struct __sk_buff ctx = { .mark = mark, .gso_size = gso_size, .gso_segs = gso_size ? 2 : 0 };
	struct wfgt_run r = { .in = in, .len = n, .out = out, .out_size = MAXF, .skb = &ctx };

	cr_assert_eq(wfgt_prog_run(bpf_program__fd(skel->progs.wfg_egress), &r), 0,
		     "tc test run: %s", strerror(errno));
	*out_len = r.out_len;
	if (tstamp)
		*tstamp = ctx.tstamp;
	return (int)r.retval;
}

static int tc_run(const uint8_t *in, size_t n, __u32 mark, uint8_t *out, __u32 *out_len,
		  __u64 *tstamp)
{
	return tc_run_gso(in, n, mark, 0, out, out_len, tstamp);
}

/* The ingress program (the peer's) on a frame; its verdict. */
static int xdp_run(const uint8_t *in, size_t n, uint8_t *out, __u32 *out_len)
{
	struct wfgt_run r = { .in = in, .len = n, .out = out, .out_size = MAXF };

	cr_assert_eq(wfgt_prog_run(bpf_program__fd(skel->progs.wfg_ingress), &r), 0,
		     "xdp test run: %s", strerror(errno));
	*out_len = r.out_len;
	return (int)r.retval;
}

static __u64 stat(enum wfg_stat s)
{
	__u64 sum;

	cr_assert_eq(wfgt_percpu_sum(bpf_map__fd(skel->maps.wfg_stats), (__u32)s, &sum), 0);
	return sum;
}

static void payload(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

/* ------------------------------------------------------------ packet cases */

/*
 * One packet case per row: the side's shaping, the frame the client sends
 * (from port 5000; to the policy's PORT unless the row names another), and
 * what must come of it. The runner sends the frame through the egress
 * program and, when it leaves, what left through the peer's ingress program:
 *  - the TC verdict, and the UDP payload length on the wire with every
 *    checksum and length valid (or the frame unchanged, byte for byte);
 *  - the peer's verdict: XDP_PASS must give back the original frame byte
 *    for byte, XDP_DROP is a cover taken out;
 *  - optionally, a counter that rises by one over both runs.
 * Rows run in order on one loaded object, like the packets of one flow.
 */
#define WIRE_SAME  (-1L) /* leaves unchanged */
#define WIRE_RANGE (-2L) /* any length in [size, max] (random mode) */

struct pkt_case {
	const char *what;
	/* the side (random: size..max is the range) */
	enum wfg_shape_mode mode;
	__u32 size, max;
	/* the input frame */
	int family, vlans, proto, no_csum;
	__u16 dport;
	size_t len;
	__u32 mark;	/* WFG_MARK_CARRIER: a cover's carrier (zero payload) */
	__u16 gso_size; /* a GSO super-packet of two segments */
	/* expected */
	int tc;	      /* TC verdict; the peer sees the frame only after TC_ACT_OK */
	long wire;    /* UDP payload length leaving, or WIRE_SAME / WIRE_RANGE */
	int xdp;      /* the peer's verdict (default XDP_PASS) */
	int has_stat; /* `stat` rises by one */
	enum wfg_stat stat;
};

#define SIDE(m, s, x)	.mode = WFG_SHAPE_##m, .size = (s), .max = (x)
#define DEFAULT_SIDE	SIDE(PAD_TO, 1000, 1400)
#define UDP(f, v, l)	.family = (f), .vlans = (v), .proto = 17, .dport = PORT, .len = (l)
#define UDP_TO(p, f, l) .family = (f), .proto = 17, .dport = (p), .len = (l)
#define TCP(f, l)	.family = (f), .proto = 6, .dport = PORT, .len = (l)
#define RAISES(s)	.has_stat = 1, .stat = WFG_STAT_##s

static const struct pkt_case pkt_cases[] = {
	/* padding in every size mode */
	{ "pad_to v4", DEFAULT_SIDE, UDP(4, 0, 100), .wire = 1000 },
	{ "pad_to v6", DEFAULT_SIDE, UDP(6, 0, 100), .wire = 1000 },
	{ "pad_to v4 vlan", DEFAULT_SIDE, UDP(4, 1, 333), .wire = 1000 },
	{ "pad_to v6 qinq", DEFAULT_SIDE, UDP(6, 2, 1), .wire = 1000 },
	{ "pad_to odd length", SIDE(PAD_TO, 777, 1400), UDP(4, 0, 101), .wire = 777 },
	{ "pad_to v4 no checksum", DEFAULT_SIDE, UDP(4, 0, 100), .no_csum = 1, .wire = 1000 },
	{ "pad_to empty payload", SIDE(PAD_TO, 64, 1400), UDP(4, 0, 0), .wire = 64 },
	{ "exactly fits: trailer only", SIDE(PAD_TO, 100 + WFG_SHIM_LEN, 1400), UDP(4, 0, 100),
	  .wire = 100 + WFG_SHIM_LEN },
	{ "multiple of 512", SIDE(MULTIPLE, 512, 1400), UDP(4, 0, 100), .wire = 512 },
	{ "multiple of 512, v6 odd", SIDE(MULTIPLE, 512, 1400), UDP(6, 0, 499), .wire = 1024 },
	/* Padmé of 1032: a multiple of 64; of 132: a multiple of 16 */
	{ "padme 1000+trailer", SIDE(PADME, 0, 1400), UDP(4, 0, 1000), .wire = 1088 },
	{ "padme 100+trailer", SIDE(PADME, 0, 1400), UDP(6, 0, 100), .wire = 144 },
	{ "random 200..1200", SIDE(RANDOM, 200, 1200), UDP(4, 0, 100), .wire = WIRE_RANGE },
	{ "at the limit: unchanged", SIDE(PAD_TO, 1200, 1200), UDP(4, 0, 1190), .wire = WIRE_SAME },
	{ "no shaping: unchanged", SIDE(NONE, 0, 1400), UDP(4, 0, 100), .wire = WIRE_SAME },
	/* what no rule names passes untouched, both ways */
	{ "other UDP port", DEFAULT_SIDE, UDP_TO(53, 4, 200), .wire = WIRE_SAME },
	{ "TCP on the port", DEFAULT_SIDE, TCP(6, 200), .wire = WIRE_SAME },
	/* a UDP GSO super-packet is split after the hook: it must leave unpadded */
	{ "GSO: unshaped", DEFAULT_SIDE, UDP(4, 0, 1000), .gso_size = 500, .wire = WIRE_SAME,
	  RAISES(UNSHAPED) },
	/* carriers: cover_size 600, then shaped like every packet (pad_to 1000) */
	{ "carrier: a cover the peer drops", DEFAULT_SIDE, UDP(4, 0, 1), .mark = WFG_MARK_CARRIER,
	  .wire = 1000, .xdp = XDP_DROP, RAISES(COVERS_RECEIVED) },
	{ "carrier outside every rule: dropped, never sent as itself", DEFAULT_SIDE,
	  UDP_TO(53, 4, 10), .mark = WFG_MARK_CARRIER, .tc = TC_ACT_SHOT },
};

static void apply_side(const struct pkt_case *c)
{
	shape(c->mode, c->size, c->max);
	if (c->mode == WFG_SHAPE_RANDOM) {
		pol.side.shape.lo = c->size;
		pol.side.shape.hi = c->max;
		pol.side.shape.max = 1400;
	}
	if (c->mode == WFG_SHAPE_BUCKETS) {
		pol.side.shape.nbuckets = 3;
		pol.side.shape.buckets[0] = 300;
		pol.side.shape.buckets[1] = 700;
		pol.side.shape.buckets[2] = 1300;
	}
	apply_policy();
}

static void run_case(const struct pkt_case *c, unsigned seed)
{
	uint8_t pl[1500], in[MAXF], out[MAXF], back[MAXF];
	struct frame_spec fs = { .family = c->family,
				 .vlans = c->vlans,
				 .proto = c->proto,
				 .no_csum = c->no_csum,
				 .sport = 5000,
				 .dport = c->dport,
				 .payload = pl,
				 .len = c->len };
	int xdp_want = c->xdp ? c->xdp : XDP_PASS;
	__u64 before = c->has_stat ? stat(c->stat) : 0;
	__u32 out_len, back_len;
	const char *why = "";
	size_t n;
	long got = 0;

	apply_side(c);
	if (c->mark & WFG_MARK_CARRIER)
		memset(pl, 0, c->len);
	else
		payload(pl, c->len, seed);
	n = frame_build(in, &fs);
	cr_assert_eq(tc_run_gso(in, n, c->mark, c->gso_size, out, &out_len, NULL), c->tc,
		     "%s: tc verdict", c->what);
	if (c->tc != TC_ACT_OK)
		goto done;
	if (c->proto == 17) {
		got = frame_check_udp(out, out_len, &why);
		cr_assert_geq(got, 0, "%s: output frame invalid: %s", c->what, why);
	}
	if (c->wire == WIRE_SAME) {
		cr_assert_eq(out_len, n, "%s: changed", c->what);
		cr_assert_eq(memcmp(in, out, n), 0, "%s: changed", c->what);
	} else if (c->wire == WIRE_RANGE) {
		cr_assert(got >= (long)c->size && got <= (long)c->max, "%s: %ld", c->what, got);
	} else {
		cr_assert_eq(got, c->wire, "%s: payload %ld, want %ld", c->what, got, c->wire);
	}
	if (c->no_csum)
		cr_assert_eq(out[n - c->len - 2] | out[n - c->len - 1], 0,
			     "%s: IPv4 zero checksum must stay zero", c->what);
	cr_assert_eq(xdp_run(out, out_len, back, &back_len), xdp_want, "%s: xdp verdict", c->what);
	if (xdp_want == XDP_PASS) {
		/* The peer's XDP restores the original frame, byte for byte. */
		cr_assert_eq(back_len, n, "%s: restored %u bytes, original %zu", c->what, back_len,
			     n);
		cr_assert_eq(memcmp(back, in, n), 0, "%s: restored bytes differ", c->what);
	}
done:
	if (c->has_stat)
		cr_assert_eq(stat(c->stat), before + 1, "%s: counter %d", c->what, c->stat);
}

Test(datapath, packet_cases)
{
	size_t i;

	for (i = 0; i < sizeof(pkt_cases) / sizeof(pkt_cases[0]); i++)
		run_case(&pkt_cases[i], (unsigned)i);
}

/* ------------------------------------------------------------ stateful cases */

Test(datapath, payload_padding_looks_random_and_differs_per_packet)
{
	uint8_t pl[100], in[MAXF], a[MAXF], b[MAXF];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = 5000,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	__u32 la, lb;
	size_t n = frame_build(in, (payload(pl, sizeof(pl), 1), &fs)), i, zeros = 0, same = 0;

	tc_run(in, n, 0, a, &la, NULL);
	tc_run(in, n, 0, b, &lb, NULL);
	cr_assert_eq(la, lb);
	for (i = n; i < la; i++) {
		zeros += a[i] == 0;
		same += a[i] == b[i];
	}
	/* ~880 padding bytes: a few zeros or coincidences by chance, not hundreds. */
	cr_assert_lt(zeros, 20, "%zu zero bytes in the padding", zeros);
	cr_assert_lt(same, 20, "%zu bytes equal between two packets' padding", same);
}

static void write_ports(const struct wfg_port_index *ix)
{
	__u32 zero = 0;

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.data_ports), &zero, ix, 0), 0);
}

Test(datapath, the_port_index_lets_other_udp_leave_early_and_its_own_through)
{
	static struct wfg_port_index ix, none;
	uint8_t pl[200], in[MAXF], out[MAXF], back[MAXF];
	struct frame_spec other = { .family = 4,
				    .proto = 17,
				    .sport = 5000,
				    .dport = 53,
				    .payload = pl,
				    .len = sizeof(pl) };
	struct frame_spec ours = other;
	__u64 seen, shaped;
	__u32 out_len, back_len;
	size_t n;

	payload(pl, sizeof(pl), 5);
	ours.dport = PORT;
	wfg_port_index_build(&ix, &pol);
	write_ports(&ix);
	seen = stat(WFG_STAT_PKTS_SEEN);
	shaped = stat(WFG_STAT_SHAPED);
	n = frame_build(in, &other);
	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
	cr_assert(out_len == n && !memcmp(in, out, n), "other UDP changed");
	cr_assert_eq(xdp_run(in, n, out, &out_len), XDP_PASS);
	cr_assert_eq(stat(WFG_STAT_PKTS_SEEN), seen, "other UDP went past the index");

	n = frame_build(in, &ours);
	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
	cr_assert_eq(out_len, n - sizeof(pl) + 1000, "its own port: padded to 1000");
	cr_assert_eq(stat(WFG_STAT_SHAPED), shaped + 1);
	cr_assert_eq(stat(WFG_STAT_PKTS_SEEN), seen + 1);
	cr_assert_eq(xdp_run(out, out_len, back, &back_len), XDP_PASS);
	cr_assert(back_len == n && !memcmp(in, back, n), "stripped back to the original");

	/* The programs trust the index: one that misses the port lets the
	 * datagram out unshaped (why the controller writes the union of both
	 * policies while it swaps them)... */
	memset(&none, 0, sizeof(none));
	write_ports(&none);
	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
	cr_assert(out_len == n && !memcmp(in, out, n));
	/* ...and the union with the policy's own index shapes it again. */
	wfg_port_index_merge(&none, &ix);
	write_ports(&none);
	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
	cr_assert_eq(out_len, n - sizeof(pl) + 1000);
}

static size_t cover_frame(uint8_t *out, __u32 *out_len)
{
	uint8_t zero1[1] = { 0 }, in[MAXF];
	struct frame_spec fs = {
		.family = 4, .proto = 17, .sport = 5000, .dport = PORT, .payload = zero1, .len = 1
	};
	size_t n = frame_build(in, &fs);

	cr_assert_eq(tc_run(in, n, WFG_MARK_CARRIER, out, out_len, NULL), TC_ACT_OK);
	return n;
}

/* A cover with any bit of its trailer flipped is not ours: it passes. */
Test(datapath, a_cover_with_a_flipped_trailer_bit_passes)
{
	uint8_t out[MAXF], back[MAXF];
	__u32 out_len, back_len;

	cover_frame(out, &out_len);
	out[out_len - 1] ^= 0x40;
	cr_assert_eq(xdp_run(out, out_len, back, &back_len), XDP_PASS);
	cr_assert(back_len == out_len && !memcmp(back, out, out_len));
}

/* Mutate a valid padded frame in ways that must never verify. */
Test(datapath, forged_trailers_never_strip_or_drop)
{
	uint8_t pl[300], in[MAXF], out[MAXF], f[MAXF], back[MAXF];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = 5000,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	__u32 out_len, back_len;
	__u64 s = 99;
	size_t n, i, bit;
	int r;

	payload(pl, sizeof(pl), 5);
	n = frame_build(in, &fs);
	tc_run(in, n, 0, out, &out_len, NULL);
	/* every bit of the trailer */
	for (bit = 0; bit < WFG_SHIM_LEN * 8; bit++) {
		memcpy(f, out, out_len);
		f[out_len - WFG_SHIM_LEN + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = xdp_run(f, out_len, back, &back_len);
		cr_assert_eq(r, XDP_PASS, "bit %zu", bit);
		cr_assert(back_len == out_len && !memcmp(back, f, out_len), "bit %zu stripped",
			  bit);
	}
	/* truncated frames (lengths no longer match: not parsed) and shortened
	 * datagrams whose lengths are made consistent again */
	for (i = 1; i < 64; i++) {
		const char *why;
		size_t m = out_len - i;

		memcpy(f, out, m);
		r = xdp_run(f, m, back, &back_len);
		cr_assert(r == XDP_PASS && back_len == m && !memcmp(back, f, m), "cut %zu", i);
		/* fix UDP and IP lengths for the shorter datagram */
		f[14 + 2] = (uint8_t)((m - 14) >> 8);
		f[14 + 3] = (uint8_t)(m - 14);
		f[14 + 10] = f[14 + 11] = 0;
		{
			uint16_t c = csum_finish(csum_add_bytes(0, f + 14, 20));

			f[14 + 10] = (uint8_t)(c >> 8);
			f[14 + 11] = (uint8_t)c;
		}
		f[34 + 4] = (uint8_t)((m - 34) >> 8);
		f[34 + 5] = (uint8_t)(m - 34);
		(void)why;
		r = xdp_run(f, m, back, &back_len);
		cr_assert(r == XDP_PASS && back_len == m && !memcmp(back, f, m),
			  "shortened by %zu: touched", i);
	}
	/* 10^4 random trailers on otherwise valid frames */
	for (i = 0; i < 10000; i++) {
		size_t j;

		memcpy(f, out, out_len);
		for (j = out_len - WFG_SHIM_LEN; j < out_len; j++)
			f[j] = (uint8_t)wfg_splitmix64(&s);
		r = xdp_run(f, out_len, back, &back_len);
		cr_assert(r == XDP_PASS && back_len == out_len && !memcmp(back, f, out_len),
			  "mutation %zu touched", i);
	}
}

/* ------------------------------------------------------------ shim integrity */

/*
 * What an on-path party without the key does to genuine shim datagrams, one
 * row each (docs/wire-format.md, "What the shim does and does not protect"):
 * the row builds one or two genuine datagrams of a flow (sealed by the egress
 * program), changes or replays them, and delivers the result to the peer's
 * ingress. Every row must end in XDP_DROP with its counter up by one, and
 * with nothing stripped, no cover counted and the receiving flow's core
 * untouched (its pkts_in: the core heard of nothing). Unless the row
 * delivered the genuine datagram itself, it is then delivered and must still
 * be accepted: a forgery burns no sequence number. Rows run in order on one
 * loaded object, each on a flow of its own (source port).
 */
struct tamper_case {
	const char *what;
	int cover;	    /* the genuine datagram is a cover (else 300 payload bytes) */
	int replay;	    /* deliver the genuine datagram first, then the copy */
	__u64 seal_key[4];  /* the sender's keys, when not the receiver's */
	size_t flip;	    /* XOR 0x10 into this frame byte (0: none) */
	size_t splice;	    /* bytes [PAY_OFF, PAY_OFF + splice) from a second datagram */
	__u16 sport_to;	    /* rewrite the source port */
	int verdict;	    /* XDP_DROP, or XDP_PASS: untouched */
	enum wfg_stat stat; /* rises by one */
};

#define PAY_OFF	   (14 + 20 + 8) /* IPv4 frames without VLAN */
#define IP_SRC_LSB (14 + 15)	 /* last byte of the IPv4 source address */
#define IP_DST_LSB (14 + 19)

static const struct tamper_case tamper_cases[] = {
	{ "sealed under keys the receiver does not hold", .seal_key = { 9, 10, 11, 12 },
	  .verdict = XDP_PASS, .stat = WFG_STAT_PASSED_UNVERIFIED },
	{ "first payload byte flipped", .flip = PAY_OFF, .verdict = XDP_DROP,
	  .stat = WFG_STAT_TAMPERED },
	{ "last original payload byte flipped", .flip = PAY_OFF + 299, .verdict = XDP_DROP,
	  .stat = WFG_STAT_TAMPERED },
	{ "a padding byte flipped", .flip = PAY_OFF + 700, .verdict = XDP_DROP,
	  .stat = WFG_STAT_TAMPERED },
	{ "a cover's body byte flipped", .cover = 1, .flip = PAY_OFF + 5, .verdict = XDP_DROP,
	  .stat = WFG_STAT_TAMPERED },
	{ "payload spliced from another genuine datagram", .splice = 150, .verdict = XDP_DROP,
	  .stat = WFG_STAT_TAMPERED },
	{ "body of another genuine datagram under this trailer", .splice = 1000 - WFG_SHIM_LEN,
	  .verdict = XDP_DROP, .stat = WFG_STAT_TAMPERED },
	{ "source address changed (IP checksum fixed)", .flip = IP_SRC_LSB, .verdict = XDP_DROP,
	  .stat = WFG_STAT_TAMPERED },
	{ "destination address changed (IP checksum fixed)", .flip = IP_DST_LSB,
	  .verdict = XDP_DROP, .stat = WFG_STAT_TAMPERED },
	{ "source port changed", .sport_to = 5999, .verdict = XDP_DROP, .stat = WFG_STAT_TAMPERED },
	{ "a cover re-addressed", .cover = 1, .sport_to = 5998, .verdict = XDP_DROP,
	  .stat = WFG_STAT_TAMPERED },
	{ "a genuine datagram replayed", .replay = 1, .verdict = XDP_DROP,
	  .stat = WFG_STAT_REPLAYED },
	{ "a cover replayed", .cover = 1, .replay = 1, .verdict = XDP_DROP,
	  .stat = WFG_STAT_REPLAYED },
};

static void fix_ip4_csum(uint8_t *f)
{
	uint16_t c;

	f[14 + 10] = f[14 + 11] = 0;
	c = csum_finish(csum_add_bytes(0, f + 14, 20));
	f[14 + 10] = (uint8_t)(c >> 8);
	f[14 + 11] = (uint8_t)c;
}

/* A genuine datagram of flow `sport` padded to 1000: a cover, or 300 bytes. */
static void genuine(uint8_t *out, __u32 *out_len, __u16 sport, int cover, unsigned seed)
{
	uint8_t pl[300], in[MAXF];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = sport,
				 .dport = PORT,
				 .payload = pl,
				 .len = cover ? 1 : sizeof(pl) };

	if (cover)
		pl[0] = 0;
	else
		payload(pl, sizeof(pl), seed);
	cr_assert_eq(
		tc_run(in, frame_build(in, &fs), cover ? WFG_MARK_CARRIER : 0, out, out_len, NULL),
		TC_ACT_OK);
	cr_assert_eq(*out_len, PAY_OFF + 1000, "not padded to 1000");
}

/* The sum over every flow in the table of what the core counted received. */
static __u64 flows_pkts_in(void)
{
	int fd = bpf_map__fd(skel->maps.wfg_flows);
	struct wfg_flow_key k, next, *prev = NULL;
	struct wfg_flow v;
	__u64 sum = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &v) == 0)
			sum += v.st.pkts_in;
		k = next;
		prev = &k;
	}
	return sum;
}

static void run_tamper_case(const struct tamper_case *c, __u16 sport)
{
	static const enum wfg_stat watched[] = { WFG_STAT_STRIPPED, WFG_STAT_COVERS_RECEIVED,
						 WFG_STAT_TAMPERED, WFG_STAT_REPLAYED,
						 WFG_STAT_PASSED_UNVERIFIED };
	uint8_t a[MAXF], b[MAXF], f[MAXF], back[MAXF];
	__u32 a_len, b_len, back_len;
	__u64 before[5], pkts_in;
	size_t i;

	if (c->seal_key[0])
		set_ctl(c->seal_key[0], c->seal_key[1], c->seal_key[2], c->seal_key[3]);
	genuine(a, &a_len, sport, c->cover, 1);
	genuine(b, &b_len, sport, c->cover, 2);
	set_ctl(1, 2, 3, 4);
	memcpy(f, a, a_len);
	if (c->flip) {
		f[c->flip] ^= 0x10;
		if (c->flip < PAY_OFF)
			fix_ip4_csum(f);
	}
	if (c->splice)
		memcpy(f + PAY_OFF, b + PAY_OFF, c->splice);
	if (c->sport_to) {
		f[34] = (uint8_t)(c->sport_to >> 8);
		f[35] = (uint8_t)c->sport_to;
	}
	if (c->replay)
		cr_assert_eq(xdp_run(a, a_len, back, &back_len), c->cover ? XDP_DROP : XDP_PASS,
			     "%s: the genuine one", c->what);
	for (i = 0; i < 5; i++)
		before[i] = stat(watched[i]);
	pkts_in = flows_pkts_in();

	cr_assert_eq(xdp_run(f, a_len, back, &back_len), c->verdict, "%s: verdict", c->what);
	if (c->verdict == XDP_PASS)
		cr_assert(back_len == a_len && !memcmp(back, f, a_len), "%s: changed", c->what);
	for (i = 0; i < 5; i++)
		cr_assert_eq(stat(watched[i]), before[i] + (watched[i] == c->stat),
			     "%s: counter %d", c->what, watched[i]);
	if (c->verdict == XDP_DROP)
		cr_assert_eq(flows_pkts_in(), pkts_in, "%s: the core heard of it", c->what);

	if (c->replay || c->seal_key[0])
		return;
	/* the genuine datagram still goes through: nothing was burnt */
	cr_assert_eq(xdp_run(a, a_len, back, &back_len), c->cover ? XDP_DROP : XDP_PASS,
		     "%s: genuine after", c->what);
	if (c->cover)
		cr_assert_eq(stat(WFG_STAT_COVERS_RECEIVED), before[1] + 1, "%s", c->what);
	else
		cr_assert_eq(stat(WFG_STAT_STRIPPED), before[0] + 1, "%s: genuine not stripped",
			     c->what);
}

Test(datapath, shim_tampering_and_replays_are_dropped_and_counted)
{
	size_t i;

	for (i = 0; i < sizeof(tamper_cases) / sizeof(tamper_cases[0]); i++)
		run_tamper_case(&tamper_cases[i], (__u16)(5100 + i));
}

/* Numbers belong to the flow, not to the key or the policy: a datagram accepted
 * before a key rotation or a policy change is still refused when replayed
 * after either, and new datagrams go on being accepted. */
Test(datapath, the_window_survives_key_rotation_and_a_policy_change)
{
	static const char *const step[] = { "before", "after the sender moved to slot 1",
					    "after a policy change" };
	uint8_t d[3][MAXF], back[MAXF];
	__u32 len[3], back_len;
	struct wfg_ctl ctl;
	__u32 zero = 0;
	int i, j;

	for (i = 0; i < 3; i++) {
		if (i == 1) {
			cr_assert_eq(
				bpf_map_lookup_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl),
				0);
			ctl.key_slot = 1;
			cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero,
							 &ctl, 0),
				     0);
		}
		if (i == 2)
			apply_policy(); /* generation + 1: every flow restarts its core */
		genuine(d[i], &len[i], 5500, 0, (unsigned)i);
		cr_assert_eq(xdp_run(d[i], len[i], back, &back_len), XDP_PASS, "%s", step[i]);
		cr_assert_lt(back_len, len[i], "%s: not stripped", step[i]);
		for (j = 0; j <= i; j++)
			cr_assert_eq(xdp_run(d[j], len[j], back, &back_len), XDP_DROP,
				     "%s: datagram %d replayed", step[i], j);
	}
	cr_assert_eq(stat(WFG_STAT_STRIPPED), 3);
	cr_assert_eq(stat(WFG_STAT_REPLAYED), 1 + 2 + 3);
}

/* A genuine datagram that arrives after 128 newer ones of its flow is below the
 * window: indistinguishable from a replay, dropped and counted as one. */
Test(datapath, a_datagram_older_than_the_window_is_dropped_as_a_replay)
{
	uint8_t old[MAXF], f[MAXF], back[MAXF];
	__u32 old_len, len, back_len;
	int i;

	genuine(old, &old_len, 5400, 0, 1);
	for (i = 0; i < WFG_REPLAY_WINDOW; i++) {
		genuine(f, &len, 5400, 0, 2);
		cr_assert_eq(xdp_run(f, len, back, &back_len), XDP_PASS);
	}
	cr_assert_eq(stat(WFG_STAT_STRIPPED), WFG_REPLAY_WINDOW);
	cr_assert_eq(xdp_run(old, old_len, back, &back_len), XDP_DROP);
	cr_assert_eq(stat(WFG_STAT_REPLAYED), 1);
	cr_assert_eq(stat(WFG_STAT_STRIPPED), WFG_REPLAY_WINDOW);
}

/* Datagrams that overtake each other inside the window are all accepted. */
Test(datapath, reordering_within_the_window_is_accepted)
{
	static uint8_t out[8][MAXF];
	uint8_t back[MAXF];
	__u32 len[8], back_len;
	int i;

	for (i = 0; i < 8; i++)
		genuine(out[i], &len[i], 5300, 0, 10 + (unsigned)i);
	for (i = 7; i >= 0; i--) {
		cr_assert_eq(xdp_run(out[i], len[i], back, &back_len), XDP_PASS, "datagram %d", i);
		cr_assert_lt(back_len, len[i], "datagram %d not stripped", i);
	}
	cr_assert_eq(stat(WFG_STAT_STRIPPED), 8);
	cr_assert_eq(stat(WFG_STAT_REPLAYED), 0);
}

Test(datapath, other_keys_do_not_verify_rotation_slot_does)
{
	uint8_t pl[300], in[MAXF], out[MAXF], back[MAXF];
	struct frame_spec fs = { .family = 6,
				 .proto = 17,
				 .sport = 5000,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	__u32 out_len, back_len;
	size_t n;

	payload(pl, sizeof(pl), 9);
	n = frame_build(in, &fs);
	set_ctl(11, 12, 13, 14); /* the sender uses keys the receiver lacks */
	tc_run(in, n, 0, out, &out_len, NULL);
	set_ctl(1, 2, 3, 4);
	cr_assert_eq(xdp_run(out, out_len, back, &back_len), XDP_PASS);
	cr_assert(back_len == out_len && !memcmp(back, out, out_len), "stripped with a wrong key");
	/* The receiver's second slot holds the sender's key: verified and stripped. */
	set_ctl(1, 2, 11, 12);
	cr_assert_eq(xdp_run(out, out_len, back, &back_len), XDP_PASS);
	cr_assert(back_len == n && !memcmp(back, in, n), "rotation slot not used");
}

Test(datapath, pacing_sets_edt_timestamps_one_interval_apart)
{
	uint8_t pl[100], in[MAXF], out[MAXF];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = 6000,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	__u64 t[4];
	__u32 out_len;
	size_t n = frame_build(in, &fs);
	int i;

	shape(WFG_SHAPE_PAD_TO, 1000, 1400);
	pol.side.pace.mode = WFG_PACE_CONSTANT;
	/* A slot far longer than the gap between two test runs, even under qemu's TCG
	 * (the programs read the real clock here): every later packet waits. */
	pol.side.pace.interval_ns = 1000000000;
	pol.side.pace.idle_stop_ns = 10000000000ull;
	apply_policy();
	for (i = 0; i < 4; i++)
		tc_run(in, n, 0, out, &out_len, &t[i]);
	/* The first packet leaves at once; each later one a slot after the last. */
	cr_assert_eq(t[0], 0);
	cr_assert_gt(t[1], 0);
	cr_assert_eq(t[2] - t[1], 1000000000);
	cr_assert_eq(t[3] - t[2], 1000000000);
}

Test(datapath, blocking_holds_packets_until_its_end)
{
	struct wfg_action_spec blk = { .kind = WFG_ACT_BLOCK,
				       .timeout = wfg_dist_const(0),
				       .duration = wfg_dist_const(50000),
				       .has_limit = 1,
				       .limit = wfg_dist_const(1) };
	uint8_t pl[100], in[MAXF], out[MAXF];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = 7000,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	__u64 t[3];
	__u32 out_len;
	size_t n = frame_build(in, &fs);
	int s0, s1, i;

	shape(WFG_SHAPE_NONE, 0, 1400);
	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "t");
	zoo_check(&sb, wfg_sb_action(&sb, s1, &blk), "a");
	apply_policy();
	for (i = 0; i < 3; i++)
		tc_run(in, n, 0, out, &out_len, &t[i]);
	/* The first packet starts a 50 ms block; the next two wait for its end. */
	cr_assert_eq(t[0], 0);
	cr_assert_gt(t[1], 0);
	cr_assert_eq(t[1], t[2]);
	cr_assert_eq(out_len, n, "no shaping configured: no trailer");
}

struct ring_seen {
	int n;
	struct wfg_cover_req last;
};

static int on_cover(void *ctx, void *data, size_t len)
{
	struct ring_seen *seen = ctx;

	cr_assert_eq(len, sizeof(struct wfg_cover_req));
	memcpy(&seen->last, data, sizeof(seen->last));
	seen->n++;
	return 0;
}

/* A machine pads 2 ms after each packet: the flow's bpf_timer fires and the
 * request reaches the ring buffer for the pump, naming the flow. */
Test(datapath, timers_post_cover_requests_for_the_pump)
{
	struct wfg_action_spec pad = zoo_padding(2000, 0, 0);
	uint8_t pl[100], in[MAXF], out[MAXF];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = 7100,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	struct ring_seen seen = { 0 };
	struct ring_buffer *rb;
	__u32 out_len;
	size_t n = frame_build(in, &fs);
	int s0, s1, i;

	shape(WFG_SHAPE_PAD_TO, 1000, 1400);
	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "t");
	zoo_check(&sb, wfg_sb_action(&sb, s1, &pad), "a");
	zoo_check(&sb, wfg_sb_trans(&sb, s1, WFG_EV_PADDING_SENT, (__u32)s0, 1.0), "t");
	apply_policy();
	rb = ring_buffer__new(bpf_map__fd(skel->maps.wfg_covers), on_cover, &seen, NULL);
	cr_assert_not_null(rb);
	tc_run(in, n, 0, out, &out_len, NULL);
	for (i = 0; i < 50 && !seen.n; i++)
		ring_buffer__poll(rb, 20);
	cr_assert_eq(seen.n, 1, "cover requests seen: %d", seen.n);
	cr_assert_eq(seen.last.count, 1);
	cr_assert_eq(seen.last.machines, 0x1);
	cr_assert_eq(seen.last.size, 600);
	cr_assert_eq(seen.last.key.family, 4);
	cr_assert_eq(ntohs(seen.last.key.lport), 7100);
	cr_assert_eq(ntohs(seen.last.key.rport), PORT);
	cr_assert_eq(memcmp(seen.last.key.raddr, frame_dst4, 4), 0);
	cr_assert_eq(stat(WFG_STAT_COVERS_REQUESTED), 1);
	/* The machine went back to waiting: no more requests. */
	ring_buffer__poll(rb, 50);
	cr_assert_eq(seen.n, 1);
	ring_buffer__free(rb);
}

/* Set every flow's try-lock to `busy` (as if another CPU held it). */
static void hold_flows(__u64 busy)
{
	int fd = bpf_map__fd(skel->maps.wfg_flows);
	struct wfg_flow_key k, next, *prev = NULL;
	struct wfg_flow v;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		v.st.busy = busy;
		cr_assert_eq(bpf_map_update_elem(fd, &k, &v, BPF_EXIST), 0);
		n++;
	}
	cr_assert_gt(n, 0, "no flow to hold");
}

/* A flow busy on another CPU: the packet skips the core but is still shaped. */
Test(datapath, a_contended_flow_is_still_padded_and_round_trips)
{
	uint8_t pl[300], in[MAXF], out[MAXF], back[MAXF];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = 7000,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	__u32 out_len, back_len;
	__u64 contended, shaped;
	const char *why = "";
	size_t n;

	shape(WFG_SHAPE_PAD_TO, 1000, 1400);
	apply_policy();
	payload(pl, sizeof(pl), 1);
	n = frame_build(in, &fs);
	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
	hold_flows(1);
	contended = stat(WFG_STAT_ERR_CONTENDED);
	shaped = stat(WFG_STAT_SHAPED);
	payload(pl, sizeof(pl), 2);
	n = frame_build(in, &fs);
	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
	hold_flows(0);
	cr_assert_eq(stat(WFG_STAT_ERR_CONTENDED), contended + 1);
	cr_assert_eq(stat(WFG_STAT_SHAPED), shaped + 1);
	cr_assert_eq(frame_check_udp(out, out_len, &why), 1000, "contended packet: %s", why);
	cr_assert_eq(xdp_run(out, out_len, back, &back_len), XDP_PASS);
	cr_assert(back_len == n && !memcmp(back, in, n), "not restored byte for byte");
	/* A carrier meeting a busy flow is dropped: never sent as itself. */
	hold_flows(1);
	memset(pl, 0, sizeof(pl));
	n = frame_build(in, &fs);
	cr_assert_eq(tc_run(in, n, WFG_MARK_CARRIER, out, &out_len, NULL), TC_ACT_SHOT);
	hold_flows(0);
}

/* ------------------------------------------------------------ padding pool */

#define POOL_CHUNKS 2

static uint8_t pattern(unsigned chunk, size_t i)
{
	return (uint8_t)(chunk * 101 + i * 13 + i / 251);
}

static struct wfg_pool_chunk *chunk_at(struct wfg_pool *pool, unsigned cpu, unsigned c)
{
	return (struct wfg_pool_chunk *)((char *)pool->mem +
					 (cpu * POOL_CHUNKS + c) * pool->stride);
}

/* One padded datagram of 200 payload bytes (to 1000 on the wire): checks the
 * round trip and returns its padding (800 bytes but the trailer, then the
 * trailer's nonce). */
#define PAD_SEEN (800 - WFG_SHIM_LEN + WFG_SHIM_NONCE_LEN)
static void pad_one(const uint8_t *in, size_t n, uint8_t pad[PAD_SEEN])
{
	uint8_t out[MAXF], back[MAXF];
	__u32 out_len, back_len;

	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
	cr_assert_eq(out_len, PAY_OFF + 1000, "padded to 1000");
	memcpy(pad, out + PAY_OFF + 200, PAD_SEEN);
	cr_assert_eq(xdp_run(out, out_len, back, &back_len), XDP_PASS);
	cr_assert(back_len == n && !memcmp(in, back, n), "the round trip restores it");
}

Test(datapath, padding_comes_from_the_pool_once_then_from_the_flow_when_dry)
{
	uint8_t pl[200], in[MAXF], pad[PAD_SEEN], want[PAD_SEEN];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = 5000,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	int ncpu = libbpf_num_possible_cpus(), pkt, per_chunk = WFG_POOL_CHUNK_BYTES / 800, filled;
	struct wfg_pool pool;
	cpu_set_t cpus;
	unsigned c, i;
	size_t n;

	/* Every test run on CPU 0, so that CPU 0's chunks are the ones used. */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	cr_assert_eq(sched_setaffinity(0, sizeof(cpus), &cpus), 0);
	wfguard_bpf__destroy(skel);
	skel = wfguard_bpf__open();
	cr_assert_not_null(skel);
	skel->rodata->wfg_pool_chunks = POOL_CHUNKS;
	bpf_map__set_max_entries(skel->maps.wfg_pad_pool, (__u32)ncpu * POOL_CHUNKS);
	cr_assert_eq(wfguard_bpf__load(skel), 0, "%s", wfgt_log());
	set_ctl(1, 2, 3, 4);
	shape(WFG_SHAPE_PAD_TO, 1000, 1400);
	apply_policy();
	cr_assert_eq(wfg_pool_open(&pool, bpf_map__fd(skel->maps.wfg_pad_pool), NULL, 0), 0);
	for (c = 0; c < POOL_CHUNKS; c++) {
		for (i = 0; i < WFG_POOL_CHUNK_BYTES; i++)
			chunk_at(&pool, 0, c)->bytes[i] = pattern(c, i);
		chunk_at(&pool, 0, c)->state = WFG_POOL_FULL;
	}
	payload(pl, sizeof(pl), 9);
	n = frame_build(in, &fs);

	/* Each datagram takes the next 800 bytes (padding, then the trailer
	 * whose nonce is the first 8 of the last WFG_SHIM_LEN); a chunk that
	 * cannot hold the next 800 is handed back EMPTY and the next one used. */
	for (pkt = 0; pkt < POOL_CHUNKS * per_chunk; pkt++) {
		c = (unsigned)(pkt / per_chunk);
		for (i = 0; i < PAD_SEEN; i++)
			want[i] = pattern(c, (size_t)(pkt % per_chunk) * 800 + i);
		pad_one(in, n, pad);
		cr_assert(!memcmp(pad, want, sizeof(want)),
			  "datagram %d: not the pool's next bytes (chunk %u)", pkt, c);
		if (pkt == per_chunk)
			cr_assert_eq(chunk_at(&pool, 0, 0)->state, WFG_POOL_EMPTY,
				     "a used-up chunk goes back to the controller");
	}
	cr_assert_eq(stat(WFG_STAT_PAD_POOL_USED), (__u64)(POOL_CHUNKS * per_chunk));
	cr_assert_eq(chunk_at(&pool, 0, 1)->state, WFG_POOL_TAKEN);

	/* Dry: the flow's own keystream pads, nothing of the pool repeats. */
	pad_one(in, n, pad);
	cr_assert_eq(stat(WFG_STAT_PAD_POOL_DRY), 1);
	for (c = 0; c < POOL_CHUNKS; c++) {
		for (i = 0; i < PAD_SEEN; i++)
			want[i] = pattern(c, i);
		cr_assert(memcmp(pad, want, 64), "dry pool: pattern bytes reused");
	}

	cr_assert(chunk_at(&pool, 0, 0)->state == WFG_POOL_EMPTY &&
			  chunk_at(&pool, 0, 1)->state == WFG_POOL_EMPTY,
		  "both chunks used up and handed back");

	/* The controller refills what came back EMPTY; the data path takes it. */
	filled = wfg_pool_refill(&pool);
	cr_assert_eq(filled, ncpu * POOL_CHUNKS, "every chunk was EMPTY: filled %d of %u", filled,
		     pool.nchunks);
	cr_assert_eq(wfg_pool_refill(&pool), 0, "nothing left to fill");
	cr_assert_eq(chunk_at(&pool, 0, 0)->state, WFG_POOL_FULL);
	memcpy(want, chunk_at(&pool, 0, 0)->bytes, sizeof(want));
	pad_one(in, n, pad);
	cr_assert(!memcmp(pad, want, sizeof(want)), "the refilled bytes, from their start");
	cr_assert_eq(chunk_at(&pool, 0, 0)->state, WFG_POOL_TAKEN);
	cr_assert_eq(chunk_at(&pool, 0, 1)->state, WFG_POOL_FULL);
	cr_assert_eq(stat(WFG_STAT_PAD_POOL_USED), (__u64)(POOL_CHUNKS * per_chunk) + 1);
	wfg_pool_close(&pool);
}

/*
 * A real packet's padding is stored and summed straight from the pool chunk
 * (lib/pad.h), not from the scratch the fixture rows above go through: the
 * checksums must come out valid there too, for padding that starts at an odd
 * or even offset, ends in the middle of a word, spans several 512-byte sums,
 * or is the trailer alone.
 */
static const struct pool_case {
	const char *what;
	int family, vlans, no_csum;
	size_t len;
	__u32 wire;
} pool_cases[] = {
	{ "v4, even", 4, 0, 0, 100, 1000 },
	{ "v4, odd payload, odd target", 4, 0, 0, 101, 777 },
	{ "v6, odd payload", 6, 0, 0, 499, 1000 },
	{ "v4 vlan", 4, 1, 0, 333, 1000 },
	{ "v6 qinq, 2 bytes of padding", 6, 2, 0, 1, 1 + WFG_SHIM_LEN + 2 },
	{ "trailer alone", 4, 0, 0, 100, 100 + WFG_SHIM_LEN },
	{ "empty payload", 4, 0, 0, 0, 64 },
	{ "1300 bytes of growth: three sums", 4, 0, 0, 100, 1400 },
	{ "v6, 1399 of growth", 6, 0, 0, 1, 1400 },
	{ "v4 without checksum stays without", 4, 0, 1, 101, 1000 },
};

Test(datapath, padding_from_the_pool_in_place_has_valid_checksums)
{
	uint8_t pl[600], in[MAXF], out[MAXF], back[MAXF];
	int ncpu = libbpf_num_possible_cpus();
	struct wfg_pool pool;
	cpu_set_t cpus;
	size_t i;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	cr_assert_eq(sched_setaffinity(0, sizeof(cpus), &cpus), 0);
	wfguard_bpf__destroy(skel);
	skel = wfguard_bpf__open();
	cr_assert_not_null(skel);
	skel->rodata->wfg_pool_chunks = POOL_CHUNKS;
	bpf_map__set_max_entries(skel->maps.wfg_pad_pool, (__u32)ncpu * POOL_CHUNKS);
	cr_assert_eq(wfguard_bpf__load(skel), 0, "%s", wfgt_log());
	set_ctl(1, 2, 3, 4);
	cr_assert_eq(wfg_pool_open(&pool, bpf_map__fd(skel->maps.wfg_pad_pool), NULL, 0), 0);
	for (i = 0; i < sizeof(pool_cases) / sizeof(pool_cases[0]); i++) {
		const struct pool_case *c = &pool_cases[i];
		struct frame_spec fs = { .family = c->family,
					 .vlans = c->vlans,
					 .no_csum = c->no_csum,
					 .proto = 17,
					 .sport = 5000,
					 .dport = PORT,
					 .payload = pl,
					 .len = c->len };
		__u64 used = stat(WFG_STAT_PAD_POOL_USED);
		const char *why = "";
		__u32 out_len, back_len;
		size_t n;

		cr_assert_geq(wfg_pool_refill(&pool), 0);
		shape(WFG_SHAPE_PAD_TO, c->wire, 1400);
		apply_policy();
		payload(pl, c->len, (unsigned)i);
		n = frame_build(in, &fs);
		cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK, "%s", c->what);
		cr_assert_eq(stat(WFG_STAT_PAD_POOL_USED), used + 1, "%s: not from the pool",
			     c->what);
		cr_assert_eq(frame_check_udp(out, out_len, &why), (long)c->wire, "%s: %s", c->what,
			     why);
		if (c->no_csum)
			cr_assert_eq(out[n - c->len - 2] | out[n - c->len - 1], 0,
				     "%s: IPv4 zero checksum must stay zero", c->what);
		cr_assert_eq(xdp_run(out, out_len, back, &back_len), XDP_PASS, "%s", c->what);
		cr_assert(back_len == n && !memcmp(in, back, n), "%s: the round trip restores it",
			  c->what);
	}
	wfg_pool_close(&pool);
}

/* ------------------------------------------------------------ QUIC connection ids */

/*
 * One flow per row: the handshake's long headers it sees (from the peer
 * through XDP, or its own through TC), then one short-header packet it sends
 * and one cover. The cover must copy the short header's form, fixed and spin
 * bits and exactly `want` bytes of its destination connection id: the length
 * learnt from the long headers, or the policy's (8) when they teach nothing.
 */
enum { QIN = 1, QOUT };

struct quic_long_pkt {
	int dir; /* QIN (the peer's, through XDP) or QOUT (ours, through TC); 0 ends */
	__u32 version;
	__u8 type; /* the two type bits */
	__u8 dcil, scil;
};

struct quic_case {
	const char *what;
	struct quic_long_pkt seen[3];
	__u32 want;	      /* id bytes the cover copies */
	enum wfg_stat raises; /* quic_dcid_learned or quic_dcid_defaulted, by one */
};

#define QV1 0x00000001u
#define QV2 0x6b3343cfu

static const struct quic_case quic_cases[] = {
	{ "the server's Initial in: its source id (12)",
	  { { QIN, QV1, 0, 5, 12 } },
	  12,
	  WFG_STAT_QUIC_DCID_LEARNED },
	{ "the client's Initial in (at a server): its source id (17)",
	  { { QIN, QV1, 0, 18, 17 } },
	  17,
	  WFG_STAT_QUIC_DCID_LEARNED },
	{ "a QUIC v2 Handshake in: its source id (3)",
	  { { QIN, QV2, 3, 9, 3 } },
	  3,
	  WFG_STAT_QUIC_DCID_LEARNED },
	{ "a zero-length source id in: covers carry no id",
	  { { QIN, QV1, 0, 8, 0 } },
	  0,
	  WFG_STAT_QUIC_DCID_LEARNED },
	{ "our Handshake out: its destination id (6)",
	  { { QOUT, QV1, 2, 6, 9 } },
	  6,
	  WFG_STAT_QUIC_DCID_LEARNED },
	{ "Retry in, then the server's Initial: the last one (7)",
	  { { QIN, QV1, 3, 8, 10 }, { QIN, QV1, 0, 8, 7 } },
	  7,
	  WFG_STAT_QUIC_DCID_LEARNED },
	{ "our first Initial out (a client's own guess, 16): not learnt",
	  { { QOUT, QV1, 0, 16, 4 } },
	  8,
	  WFG_STAT_QUIC_DCID_DEFAULTED },
	{ "our 0-RTT out (the same guess): not learnt",
	  { { QOUT, QV1, 1, 16, 4 } },
	  8,
	  WFG_STAT_QUIC_DCID_DEFAULTED },
	{ "Version Negotiation in (echoed ids): not learnt",
	  { { QIN, 0, 0, 4, 14 } },
	  8,
	  WFG_STAT_QUIC_DCID_DEFAULTED },
	{ "a source id longer than 20 in: not learnt",
	  { { QIN, QV1, 0, 8, 21 } },
	  8,
	  WFG_STAT_QUIC_DCID_DEFAULTED },
	{ "no long header (attached mid-connection): the policy's 8",
	  { { 0 } },
	  8,
	  WFG_STAT_QUIC_DCID_DEFAULTED },
};

/* The id the peer chose for this host, as its long headers name it. */
static uint8_t quic_id_byte(unsigned row, size_t i)
{
	return (uint8_t)(0xc0 + row * 7 + i);
}

static size_t quic_long_frame(uint8_t *f, const struct quic_long_pkt *q, unsigned row, __u16 sport)
{
	uint8_t pl[300];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .reverse = q->dir == QIN,
				 .sport = q->dir == QIN ? PORT : sport,
				 .dport = q->dir == QIN ? sport : PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	size_t at = 0, i;

	payload(pl, sizeof(pl), row);
	pl[at++] = (uint8_t)(0xc0 | q->type << 4 | 0x01);
	pl[at++] = (uint8_t)(q->version >> 24);
	pl[at++] = (uint8_t)(q->version >> 16);
	pl[at++] = (uint8_t)(q->version >> 8);
	pl[at++] = (uint8_t)q->version;
	/* The peer's packets name our id as the source, ours as the destination. */
	pl[at++] = q->dcil;
	for (i = 0; i < q->dcil; i++)
		pl[at++] = q->dir == QOUT ? quic_id_byte(row, i) : 0x11;
	pl[at++] = q->scil;
	for (i = 0; i < q->scil && i < 32; i++)
		pl[at++] = q->dir == QIN ? quic_id_byte(row, i) : 0x22;
	return frame_build(f, &fs);
}

static void run_quic_case(const struct quic_case *c, unsigned row)
{
	uint8_t pl[200], in[MAXF], out[MAXF], cover[MAXF];
	__u16 sport = (__u16)(6000 + row);
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = sport,
				 .dport = PORT,
				 .payload = pl,
				 .len = sizeof(pl) };
	__u64 before = stat(c->raises);
	__u32 out_len, cover_len, i, differ = 0;
	const int off = 14 + 20 + 8;
	size_t n;
	int k;

	for (k = 0; k < 3 && c->seen[k].dir; k++) {
		n = quic_long_frame(in, &c->seen[k], row, sport);
		if (c->seen[k].dir == QIN)
			cr_assert_eq(xdp_run(in, n, out, &out_len), XDP_PASS, "%s", c->what);
		else
			cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK, "%s",
				     c->what);
	}
	/* A short header: spin bit set, then the id (and more bytes of the
	 * same pattern, so that a cover copying too many would show it). */
	payload(pl, sizeof(pl), row);
	pl[0] = 0x40 | 0x20 | 0x03;
	for (i = 0; i < 40; i++)
		pl[1 + i] = quic_id_byte(row, i);
	n = frame_build(in, &fs);
	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK, "%s", c->what);
	memset(pl, 0, sizeof(pl));
	fs.len = 1;
	n = frame_build(in, &fs);
	cr_assert_eq(tc_run(in, n, WFG_MARK_CARRIER, cover, &cover_len, NULL), TC_ACT_OK, "%s",
		     c->what);
	cr_assert_eq(cover_len, (__u32)off + 1000, "%s: cover of %u bytes", c->what, cover_len);
	cr_assert_eq(cover[off] & 0xe0, 0x60, "%s: first byte %#x: form 0, fixed and spin set",
		     c->what, cover[off]);
	for (i = 0; i < c->want; i++)
		cr_assert_eq(cover[off + 1 + i], quic_id_byte(row, i), "%s: id byte %u", c->what,
			     i);
	/* Past the id: random bytes, not the next bytes of the real packet. */
	for (i = c->want; i < c->want + 8; i++)
		differ += cover[off + 1 + i] != quic_id_byte(row, i);
	cr_assert_gt(differ, 0, "%s: the cover copied more than %u id bytes", c->what, c->want);
	cr_assert_eq(stat(c->raises), before + 1, "%s: %s", c->what,
		     c->raises == WFG_STAT_QUIC_DCID_LEARNED ? "learned" : "defaulted");
	cr_assert_eq(xdp_run(cover, cover_len, out, &out_len), XDP_DROP,
		     "%s: the peer must recognise the cover", c->what);
}

Test(datapath, quic_covers_carry_the_connection_id_length_the_handshake_taught)
{
	size_t i;

	pol.profile = WFG_PROFILE_QUIC;
	pol.quic_dcid_len = WFG_QUIC_DCID_LEN_DEFAULT;
	apply_policy();
	for (i = 0; i < sizeof(quic_cases) / sizeof(quic_cases[0]); i++)
		run_quic_case(&quic_cases[i], (unsigned)i);
}

/* A QUIC flow that has sent no short header yet: nothing for a cover to copy. */
Test(datapath, a_quic_cover_before_any_real_short_header_is_not_sent)
{
	uint8_t pl[1] = { 0 }, in[MAXF], out[MAXF];
	struct frame_spec fs = {
		.family = 4, .proto = 17, .sport = 7000, .dport = PORT, .payload = pl, .len = 1
	};
	__u64 before = stat(WFG_STAT_COVERS_UNREADY);
	__u32 out_len;
	size_t n = frame_build(in, &fs);

	pol.profile = WFG_PROFILE_QUIC;
	apply_policy();
	cr_assert_eq(tc_run(in, n, WFG_MARK_CARRIER, out, &out_len, NULL), TC_ACT_SHOT,
		     "a cover left with a guessed first byte");
	cr_assert_eq(stat(WFG_STAT_COVERS_UNREADY), before + 1);
}

/* The IPv4 header fields an observer reads for free (docs/observer.md), as
 * set at `at` in a frame of frame_build(): TOS, ID, flags, TTL; checksum fixed. */
static void set_ip4_fields(uint8_t *f, uint8_t tos, uint16_t id, uint8_t flags, uint8_t ttl)
{
	uint8_t *ip = f + 14;
	uint16_t c;

	ip[1] = tos;
	ip[4] = (uint8_t)(id >> 8);
	ip[5] = (uint8_t)id;
	ip[6] = flags;
	ip[8] = ttl;
	ip[10] = ip[11] = 0;
	c = csum_finish(csum_add_bytes(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

/*
 * A cover wears the flow's own IP header fields, not the pump's raw-socket
 * ones: ECN and DSCP, DF, TTL, and the ID (0 as Linux sends DF datagrams, or
 * one past the last real one), in IPv4 with a valid header checksum; IPv6's
 * traffic class, flow label and hop limit.
 */
Test(datapath, covers_wear_the_flows_ip_header_fields)
{
	static const struct {
		uint16_t real_id, cover_id;
	} ids[] = { { 0, 0 }, { 0x1234, 0x1235 } };
	uint8_t pl[100], zero1[1] = { 0 }, in[MAXF], out[MAXF];
	struct frame_spec fs = { .family = 4, .proto = 17, .dport = PORT };
	const char *why = "";
	__u32 out_len;
	size_t i, n;

	for (i = 0; i < 2; i++) {
		fs.family = 4;
		fs.sport = (uint16_t)(7100 + i);
		fs.payload = pl;
		fs.len = sizeof(pl);
		payload(pl, sizeof(pl), 7);
		n = frame_build(in, &fs);
		set_ip4_fields(in, 0x02 /* ECT(0) */, ids[i].real_id, 0x40 /* DF */, 57);
		cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
		/* the pump's carrier: TOS 0, no DF, a kernel-counted ID, TTL 64 */
		fs.payload = zero1;
		fs.len = 1;
		n = frame_build(in, &fs);
		set_ip4_fields(in, 0, 777, 0, 64);
		cr_assert_eq(tc_run(in, n, WFG_MARK_CARRIER, out, &out_len, NULL), TC_ACT_OK);
		cr_assert_geq(frame_check_udp(out, out_len, &why), 0, "cover invalid: %s", why);
		cr_assert_eq(out[14 + 1], 0x02, "TOS %#x", out[14 + 1]);
		cr_assert_eq(out[14 + 6], 0x40, "flags %#x: DF expected", out[14 + 6]);
		cr_assert_eq(out[14 + 8], 57, "TTL %u", out[14 + 8]);
		cr_assert_eq(out[14 + 4] << 8 | out[14 + 5], ids[i].cover_id, "ID %#x",
			     out[14 + 4] << 8 | out[14 + 5]);
	}
	/* IPv6: class, flow label, hop limit */
	fs.family = 6;
	fs.sport = 7200;
	fs.payload = pl;
	fs.len = sizeof(pl);
	n = frame_build(in, &fs);
	in[14] = 0x60 | 0x0;
	in[15] = 0x2a; /* class 0x02 (ECT(0)), flow label 0xa.... */
	in[16] = 0xbc;
	in[17] = 0xde;
	in[14 + 7] = 55;
	cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
	fs.payload = zero1;
	fs.len = 1;
	n = frame_build(in, &fs);
	cr_assert_eq(tc_run(in, n, WFG_MARK_CARRIER, out, &out_len, NULL), TC_ACT_OK);
	cr_assert_geq(frame_check_udp(out, out_len, &why), 0, "cover invalid: %s", why);
	cr_assert_eq(memcmp(out + 14, "\x60\x2a\xbc\xde", 4), 0,
		     "class/flow label %02x%02x%02x%02x", out[14], out[15], out[16], out[17]);
	cr_assert_eq(out[14 + 7], 55, "hop limit %u", out[14 + 7]);
}

/* ------------------------------------------------------------ constant size */

/*
 * Tamaraw as presets.c builds it (size 1000, no policy limit): every packet
 * that leaves shaped is exactly 1000 bytes of UDP payload, real or cover. A
 * real datagram too big to be padded to it leaves as it came and is counted,
 * never at a size of its own with a trailer.
 */
Test(datapath, a_constant_size_defence_sends_real_packets_and_covers_at_one_size)
{
	static const struct {
		size_t len;
		long wire; /* WIRE_SAME: unshaped */
	} real[] = { { 1, 1000 },
		     { 500, 1000 },
		     { 1000 - WFG_SHIM_LEN - 1, 1000 },
		     { 1000 - WFG_SHIM_LEN, 1000 },
		     { 1000 - WFG_SHIM_LEN + 1, WIRE_SAME },
		     { 1200, WIRE_SAME } };
	struct wfg_tamaraw_params tp;
	uint8_t pl[1500], in[MAXF], out[MAXF];
	struct frame_spec fs = { .family = 4, .proto = 17, .sport = 6500, .dport = PORT };
	const char *why = "";
	__u64 too_big;
	__u32 out_len;
	size_t i, n;

	wfg_sb_init(&sb, &pol.side);
	wfg_tamaraw_defaults(&tp);
	tp.size = 1000;
	zoo_check(&sb, wfg_preset_tamaraw(&sb, WFG_ROLE_CLIENT, &tp), "tamaraw");
	apply_policy();
	fs.payload = pl;
	for (i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		payload(pl, real[i].len, (unsigned)i);
		fs.len = real[i].len;
		n = frame_build(in, &fs);
		too_big = stat(WFG_STAT_UNSHAPED_TOO_BIG);
		cr_assert_eq(tc_run(in, n, 0, out, &out_len, NULL), TC_ACT_OK);
		if (real[i].wire == WIRE_SAME) {
			cr_assert(out_len == n && !memcmp(in, out, n), "real %zu: changed",
				  real[i].len);
			cr_assert_eq(stat(WFG_STAT_UNSHAPED_TOO_BIG), too_big + 1,
				     "real %zu: not counted", real[i].len);
		} else {
			cr_assert_eq(frame_check_udp(out, out_len, &why), real[i].wire,
				     "real %zu: %s", real[i].len, why);
		}
	}
	memset(pl, 0, 1);
	fs.len = 1;
	n = frame_build(in, &fs);
	cr_assert_eq(tc_run(in, n, WFG_MARK_CARRIER, out, &out_len, NULL), TC_ACT_OK);
	cr_assert_eq(frame_check_udp(out, out_len, &why), 1000, "cover: %s", why);
}
