// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tunnel mode's programs on L3 packets (no Ethernet header), as fixture rows.
 *
 * BPF_PROG_TEST_RUN always hands a TC program an Ethernet frame, so it cannot
 * show what the programs do on a tunnel device. These rows go through a real
 * TUN device instead, in a network namespace of the test's own: a packet sent
 * out of the device (an AF_PACKET socket, as the pump sends carriers) passes
 * wfg_tun_egress and is read back from the TUN file descriptor exactly as
 * wireguard-go reads it before encrypting; a packet written to the descriptor
 * passes wfg_tun_ingress and then the kernel's own IP stack. The TUN keeps its
 * packet-information header on, so every row also sees skb->protocol, which
 * kernel WireGuard checks against the IP version of what it sends.
 *
 * Each row: the policy's unit, the packet (family, kind, length), the
 * direction, and what must come of it (the packet's length and bytes, the
 * cover's shape, a local socket's delivery, a counter).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpflog.h"
#include "bpfrun.h"
#include "netns.h" /* sh() */
#include "pkt.h"
#include "tun.h"
#include "wfguard.skel.h"
#include "wfguard/datapath.h"
#include "zoo.h"

#define TUN_NAME   "wfgl3"
#define TUN_MTU	   1420
#define PAD_SIZE   1000 /* the policy pads every inner packet to this */
#define COVER_SIZE 600
#define LOCAL_PORT 6000
#define MAXP	   2048

static struct wfguard_bpf *skel;
static struct wfg_policy pol;
static int tun_fd = -1, ifindex;

/* ------------------------------------------------------------ the device */

static void policy_set(enum wfg_unit unit)
{
	struct wfg_side_builder sb;
	__u32 zero = 0;

	memset(&pol, 0, sizeof(pol));
	wfg_sb_init(&sb, &pol.side);
	pol.side.shape.mode = WFG_SHAPE_PAD_TO;
	pol.side.shape.size = PAD_SIZE;
	pol.side.shape.max = TUN_MTU;
	pol.side.cover_size = COVER_SIZE;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	pol.generation = unit + 1;
	pol.mode = WFG_MODE_TUNNEL;
	pol.unit = unit;
	/* The tunnel's own addresses, both families: not the kernel's link-local
	 * chatter (router solicitations, MLD), which would otherwise teach the
	 * device unit a family between two rows. */
	pol.nrules = 2;
	pol.rules[0].family = 4;
	memcpy(pol.rules[0].local, frame_src4, 4);
	pol.rules[0].local_prefix = 24;
	pol.rules[1].family = 6;
	memcpy(pol.rules[1].local, frame_src6, 16);
	pol.rules[1].local_prefix = 64;
	for (int i = 0; i < 2; i++)
		pol.rules[i].lport_hi = pol.rules[i].rport_hi = 65535;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
}

static void setup(void)
{
	struct wfg_ctl ctl = { 0 };
	__u32 zero = 0;

	if (geteuid() != 0)
		cr_skip_test("needs root (a network namespace, a TUN device, BPF)");
	if (access("/dev/net/tun", R_OK | W_OK))
		cr_skip_test("no /dev/net/tun");
	tun_fd = wfgt_tun_create(TUN_NAME, IFF_TUN); /* packet information on */
	cr_assert_eq(sh("ip link set lo up && ip link set " TUN_NAME " mtu %d up && "
			"ip addr add 10.0.0.1/24 dev " TUN_NAME " && "
			"ip -6 addr add fd00::1/64 dev " TUN_NAME " nodad",
			TUN_MTU),
		     0);
	ifindex = (int)if_nametoindex(TUN_NAME);
	cr_assert_gt(ifindex, 0);

	wfgt_log_capture();
	skel = wfguard_bpf__open_and_load();
	cr_assert_not_null(skel, "wfguard.bpf.o failed to load:\n%s", wfgt_log());
	ctl.keys[0].k0 = 1;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);
	policy_set(WFG_UNIT_PEER);
	wfgt_tun_attach(ifindex, bpf_program__fd(skel->progs.wfg_tun_egress),
			bpf_program__fd(skel->progs.wfg_tun_ingress));
}

static void teardown(void)
{
	wfguard_bpf__destroy(skel);
	skel = NULL;
	if (tun_fd >= 0)
		close(tun_fd);
	tun_fd = -1;
}

TestSuite(tunnel_l3, .init = setup, .fini = teardown);

static __u64 stat(enum wfg_stat s)
{
	__u64 sum;

	cr_assert_eq(wfgt_percpu_sum(bpf_map__fd(skel->maps.wfg_stats), (__u32)s, &sum), 0);
	return sum;
}

/* The kernel's own packets on the device (router solicitations, MLD): not ours. */
static int kernel_noise(const uint8_t *p, size_t n)
{
	return n >= 40 && p[0] >> 4 == 6 && (p[6] == 58 || p[6] == 0);
}

/*
 * Send an inner packet out through the device, as the pump does, with a mark
 * (a carrier) or none; read back what the device hands the tunnel. Returns the
 * length read, or 0 when nothing left within the wait (a dropped packet).
 */
static size_t egress(const uint8_t *pkt, size_t n, __u32 mark, uint8_t *out, __u16 *proto)
{
	uint8_t buf[4 + MAXP];
	ssize_t sent = wfgt_dev_send(ifindex, pkt, n, mark);

	if (sent < 0 && errno == ENOBUFS)
		return 0; /* the egress program's TC_ACT_SHOT, as the sender hears of it */
	cr_assert_eq(sent, (ssize_t)n, "send: %s", strerror(errno));
	for (;;) {
		struct pollfd pf = { .fd = tun_fd, .events = POLLIN };
		ssize_t got;

		if (poll(&pf, 1, 300) <= 0)
			return 0;
		got = read(tun_fd, buf, sizeof(buf));
		cr_assert_gt(got, 4, "tun read: %s", strerror(errno));
		if (kernel_noise(buf + 4, (size_t)got - 4))
			continue;
		*proto = (__u16)(buf[2] << 8 | buf[3]);
		memcpy(out, buf + 4, (size_t)got - 4);
		return (size_t)got - 4;
	}
}

/* Write an inner packet into the device, as the tunnel does after decrypting. */
static void ingress(const uint8_t *pkt, size_t n)
{
	__u16 eth = pkt[0] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP;
	uint8_t buf[4 + MAXP] = { 0, 0, (uint8_t)(eth >> 8), (uint8_t)eth };

	memcpy(buf + 4, pkt, n);
	cr_assert_eq(write(tun_fd, buf, n + 4), (ssize_t)(n + 4), "tun write: %s", strerror(errno));
}

/* ------------------------------------------------------------ packets */

enum kind {
	REAL,	   /* UDP from the tunnel's address to the peer (ingress: the reverse) */
	CARRIER,   /* the pump's bare header towards the peer, marked */
	PADDED,	   /* ingress: REAL with zeros past its IP length, as the peer pads */
	COVER,	   /* ingress: what the egress rows build as covers */
	TRUNCATED, /* 12 bytes of an IPv4 header */
	LIAR,	   /* IPv4 whose total length claims more than the packet holds */
	NOT_IP,	   /* version nibble 0 */
};

/* The packet of a row into buf; its length. */
static size_t build(uint8_t *buf, enum kind kind, int family, size_t len, int reverse)
{
	uint8_t frame[MAXP + 64], pl[MAXP];
	struct frame_spec fs = { .family = family,
				 .proto = 17,
				 .sport = 5000,
				 .dport = LOCAL_PORT,
				 .payload = pl,
				 .len = len,
				 .reverse = reverse };
	size_t i, n;

	for (i = 0; i < len; i++)
		pl[i] = (uint8_t)(i * 7 + 3);
	switch (kind) {
	case CARRIER: /* user/lib/pump.c send_dev(): what the pump really sends */
		memset(buf, 0, 40);
		buf[0] = family == 6 ? 0x60 : 0x45;
		if (family == 6) {
			buf[6] = 253;
			buf[7] = 64;
			memcpy(buf + 24, frame_dst6, 16);
			return 40;
		}
		buf[3] = 20;
		buf[8] = 64;
		buf[9] = 253;
		memcpy(buf + 16, frame_dst4, 4);
		return 20;
	case TRUNCATED:
		n = build(buf, REAL, 4, 10, reverse);
		return 12;
	case LIAR:
		n = build(buf, REAL, 4, len, reverse);
		buf[2] = 0x05; /* 1280 + ... bytes claimed */
		return n;
	case NOT_IP:
		n = build(buf, REAL, 4, len, reverse);
		buf[0] = 0x05;
		return n;
	default:
		n = frame_build(frame, &fs) - 14;
		memcpy(buf, frame + 14, n);
		return n;
	}
}

/* ------------------------------------------------------------ checks */

static __u32 ip_len(const uint8_t *p)
{
	if (p[0] >> 4 == 6)
		return 40u + (__u32)(p[4] << 8 | p[5]);
	return (__u32)(p[2] << 8 | p[3]);
}

static __u32 sum16(const uint8_t *p, size_t n)
{
	__u32 s = csum_add_bytes(0, p, n);

	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* A cover a stock peer discards: the construction of bpf/lib/tunnel.h. */
static void check_cover(const char *what, const uint8_t *p, size_t n, int family, __u16 proto)
{
	size_t i, hlen = family == 6 ? 40 : 20;

	cr_assert_eq(p[0] >> 4, family, "%s: cover of IP version %d", what, p[0] >> 4);
	cr_assert_eq(proto, family == 6 ? ETH_P_IPV6 : ETH_P_IP,
		     "%s: skb->protocol %#x does not match the IPv%d header (kernel WireGuard "
		     "drops it)",
		     what, proto, family);
	if (family == 6) {
		cr_assert_gt(ip_len(p), n, "%s: IPv6 payload length must overrun", what);
		cr_assert_eq(p[6], 253, "%s: next header %u", what, p[6]);
		cr_assert_eq(memcmp(p + 8, frame_src6, 16), 0, "%s: source", what);
		cr_assert_eq(memcmp(p + 24, frame_dst6, 16), 0, "%s: destination", what);
	} else {
		cr_assert_eq(ip_len(p), n, "%s: IPv4 total length", what);
		cr_assert_neq(sum16(p, 20), 0xffff, "%s: header checksum must not verify", what);
		cr_assert_eq(p[9], 253, "%s: protocol %u", what, p[9]);
		cr_assert_eq(memcmp(p + 12, frame_src4, 4), 0, "%s: source", what);
		cr_assert_eq(memcmp(p + 16, frame_dst4, 4), 0, "%s: destination", what);
	}
	for (i = hlen; i < n; i++)
		cr_assert_eq(p[i], 0, "%s: cover byte %zu is %#x, not zero", what, i, p[i]);
}

/* ------------------------------------------------------------ the rows */

enum dir { OUT, IN };

#define LEFT_SAME (-1L) /* leaves byte for byte as it came */
#define DROPPED	  (-2L) /* never leaves */

struct l3_case {
	const char *what;
	enum wfg_unit unit;
	enum dir dir;
	enum kind kind;
	int family;
	size_t len; /* UDP payload */
	/* expected */
	long out;	    /* OUT: length the tunnel gets, LEFT_SAME or DROPPED */
	int delivered;	    /* IN: the local socket gets the payload, exactly */
	int is_cover;	    /* OUT: check_cover() on what left */
	enum wfg_stat stat; /* rises by one (0: no check) */
};

#define RISES(s) .stat = WFG_STAT_##s

/*
 * Rows run in order on one device and one loaded object: a carrier follows
 * the real packet that taught its flow the addresses, as on a live tunnel.
 */
static const struct l3_case l3_cases[] = {
	/* sizes: zeros after the IP length, the header untouched */
	{ "v4 real: padded", WFG_UNIT_PEER, OUT, REAL, 4, 100, .out = PAD_SIZE, RISES(SHAPED) },
	{ "v6 real: padded", WFG_UNIT_PEER, OUT, REAL, 6, 100, .out = PAD_SIZE, RISES(SHAPED) },
	{ "v4 above the size: unchanged", WFG_UNIT_PEER, OUT, REAL, 4, 1200, .out = LEFT_SAME },
	{ "v6 at the MTU: unchanged", WFG_UNIT_PEER, OUT, REAL, 6, TUN_MTU - 48, .out = LEFT_SAME },
	/* covers from the pump's carriers, in the peer's family */
	{ "v4 carrier: a cover", WFG_UNIT_PEER, OUT, CARRIER, 4, 0, .out = PAD_SIZE, .is_cover = 1,
	  RISES(COVERS_SENT) },
	{ "v6 carrier: a cover", WFG_UNIT_PEER, OUT, CARRIER, 6, 0, .out = PAD_SIZE, .is_cover = 1,
	  RISES(COVERS_SENT) },
	/* malformed: passed as they are, counted */
	{ "truncated v4 header", WFG_UNIT_PEER, OUT, TRUNCATED, 4, 0, .out = LEFT_SAME,
	  RISES(ERR_PARSE) },
	{ "v4 total length beyond the packet", WFG_UNIT_PEER, OUT, LIAR, 4, 100, .out = LEFT_SAME,
	  RISES(ERR_PARSE) },
	{ "not IP", WFG_UNIT_PEER, OUT, NOT_IP, 4, 100, .out = LEFT_SAME, RISES(ERR_PARSE) },
	/* the receiving side: covers out, padding trimmed by the stack */
	{ "v4 padded real in: delivered exactly", WFG_UNIT_PEER, IN, PADDED, 4, 100,
	  .delivered = 1 },
	{ "v6 padded real in: delivered exactly", WFG_UNIT_PEER, IN, PADDED, 6, 100,
	  .delivered = 1 },
	{ "v4 cover in: dropped, counted", WFG_UNIT_PEER, IN, COVER, 4, 0, RISES(COVERS_RECEIVED) },
	{ "v6 cover in: dropped, counted", WFG_UNIT_PEER, IN, COVER, 6, 0, RISES(COVERS_RECEIVED) },
	{ "truncated in: passed, counted", WFG_UNIT_PEER, IN, TRUNCATED, 4, 0, RISES(ERR_PARSE) },
	/* the device unit: one defence for every peer; an IPv6-only tunnel
	 * still gets IPv6 covers from the pump's (IPv4) carriers */
	{ "device unit: v6 real", WFG_UNIT_DEVICE, OUT, REAL, 6, 10, .out = PAD_SIZE },
	{ "device unit: carrier becomes a v6 cover", WFG_UNIT_DEVICE, OUT, CARRIER, 4, 0,
	  .out = PAD_SIZE, .is_cover = 1, RISES(COVERS_SENT) },
	{ "device unit: v4 real", WFG_UNIT_DEVICE, OUT, REAL, 4, 10, .out = PAD_SIZE },
	{ "device unit: carrier becomes a v4 cover", WFG_UNIT_DEVICE, OUT, CARRIER, 6, 0,
	  .out = PAD_SIZE, .is_cover = 1, RISES(COVERS_SENT) },
};

/*
 * The family of the cover a carrier row must give: the peer's own (a peer's
 * flow is keyed by its address), or for the device unit the family of the
 * last real packet.
 */
static int cover_family(size_t i)
{
	if (l3_cases[i].unit == WFG_UNIT_PEER)
		return l3_cases[i].family;
	while (i-- > 0)
		if (l3_cases[i].kind == REAL && l3_cases[i].dir == OUT)
			return l3_cases[i].family;
	return 4;
}

static void run_out(const struct l3_case *c, int family, const uint8_t *in, size_t n)
{
	uint8_t out[MAXP];
	__u16 proto = 0;
	size_t got = egress(in, n, c->kind == CARRIER ? WFG_MARK_CARRIER : 0, out, &proto);

	if (c->out == DROPPED) {
		cr_assert_eq(got, 0, "%s: %zu bytes left", c->what, got);
		return;
	}
	cr_assert_gt(got, 0, "%s: nothing left the device", c->what);
	if (c->out == LEFT_SAME) {
		cr_assert_eq(got, n, "%s: %zu bytes left, %zu sent", c->what, got, n);
		cr_assert_eq(memcmp(out, in, n), 0, "%s: bytes changed", c->what);
		return;
	}
	cr_assert_eq(got, (size_t)c->out, "%s: %zu bytes left, want %ld", c->what, got, c->out);
	if (c->is_cover) {
		check_cover(c->what, out, got, family, proto);
		return;
	}
	/* the real packet, then zeros; the IP header still gives the true length */
	cr_assert_eq(ip_len(out), n, "%s: IP length %u, sent %zu", c->what, ip_len(out), n);
	cr_assert_eq(memcmp(out, in, n), 0, "%s: the packet itself changed", c->what);
	for (size_t i = n; i < got; i++)
		cr_assert_eq(out[i], 0, "%s: padding byte %zu is %#x", c->what, i, out[i]);
}

/* A UDP socket on the tunnel's own address. */
static int local_socket(int family)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(LOCAL_PORT) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(LOCAL_PORT) };
	int s = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	memcpy(&a6.sin6_addr, frame_src6, 16);
	memcpy(&a4.sin_addr, frame_src4, 4);
	if (family == 6)
		cr_assert_eq(bind(s, (struct sockaddr *)&a6, sizeof(a6)), 0, "bind: %s",
			     strerror(errno));
	else
		cr_assert_eq(bind(s, (struct sockaddr *)&a4, sizeof(a4)), 0, "bind: %s",
			     strerror(errno));
	return s;
}

static void run_in(const struct l3_case *c, uint8_t *in, size_t n)
{
	int s = local_socket(c->family);
	uint8_t got[MAXP];
	ssize_t r;

	if (c->kind == PADDED) {
		memset(in + n, 0, PAD_SIZE - n);
		n = PAD_SIZE;
	}
	ingress(in, n);
	{
		struct pollfd pf = { .fd = s, .events = POLLIN };

		r = poll(&pf, 1, 300) > 0 ? recv(s, got, sizeof(got), MSG_DONTWAIT) : -1;
	}
	close(s);
	if (c->delivered) {
		cr_assert_eq(r, (ssize_t)c->len, "%s: the socket got %zd bytes, want %zu", c->what,
			     r, c->len);
		for (size_t i = 0; i < c->len; i++)
			cr_assert_eq(got[i], (uint8_t)(i * 7 + 3), "%s: byte %zu", c->what, i);
	} else {
		cr_assert_lt(r, 0, "%s: %zd bytes reached the socket", c->what, r);
	}
}

/* A cover as the egress rows build it: send a carrier, take what leaves. */
static size_t make_cover(uint8_t *buf, int family)
{
	uint8_t real[MAXP], carrier[64];
	size_t n = build(real, REAL, family, 10, 0);
	__u16 proto;

	cr_assert_gt(egress(real, n, 0, buf, &proto), 0);
	n = build(carrier, CARRIER, family, 0, 0);
	n = egress(carrier, n, WFG_MARK_CARRIER, buf, &proto);
	cr_assert_gt(n, 0, "no cover to feed back");
	/* as it arrives from the peer: addresses swapped (the peer's flow) */
	if (family == 6) {
		memcpy(buf + 8, frame_dst6, 16);
		memcpy(buf + 24, frame_src6, 16);
	} else {
		uint8_t t[4];

		memcpy(t, buf + 12, 4);
		memcpy(buf + 12, buf + 16, 4);
		memcpy(buf + 16, t, 4);
	}
	return n;
}

Test(tunnel_l3, rows)
{
	enum wfg_unit unit = WFG_UNIT_PEER;

	for (size_t i = 0; i < sizeof(l3_cases) / sizeof(l3_cases[0]); i++) {
		const struct l3_case *c = &l3_cases[i];
		int family = c->kind == CARRIER ? cover_family(i) : c->family;
		uint8_t in[MAXP];
		__u64 before;
		size_t n;

		if (c->unit != unit) {
			unit = c->unit;
			policy_set(unit);
		}
		if (c->kind == COVER)
			n = make_cover(in, c->family);
		else
			n = build(in, c->kind, c->family, c->len, c->dir == IN);
		before = c->stat ? stat(c->stat) : 0;
		if (c->dir == OUT)
			run_out(c, family, in, n);
		else
			run_in(c, in, n);
		if (c->stat)
			cr_assert_eq(stat(c->stat), before + 1, "%s: counter %d did not rise",
				     c->what, c->stat);
	}
}

/* A carrier whose peer never sent a real packet: no addresses to cover with. */
Test(tunnel_l3, carrier_of_an_unknown_peer_is_dropped)
{
	uint8_t in[64], out[MAXP];
	__u16 proto;
	size_t n = build(in, CARRIER, 4, 0, 0);

	cr_assert_eq(egress(in, n, WFG_MARK_CARRIER, out, &proto), 0,
		     "a carrier must never leave as itself");
}
