// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE /* unshare */
/*
 * Equivalence: a synthetic page load replayed by the harness (wfbench's
 * engine) and the same sequence of client events pushed through the data
 * path programs (test clock) give the same shaped sizes, cover requests and
 * departure times, packet for packet. The client runs RegulaTor's client side
 * (shaping plus a machine that pads at packet events); timers are not part
 * of this comparison (the test clock leaves them unarmed; core_check's
 * differential covers them). Needs root; skips otherwise.
 *
 * The same in tunnel mode: the harness replays with a tunnel policy, and the
 * tunnel programs, attached to a TUN device in a namespace of their own, get
 * the client's events as real inner packets (sent through the device, written
 * into it) and carriers; every packet that leaves must have the length the
 * harness gave it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "generate.h"
#include "bpfrun.h"
#include "defend.h"
#include "netns.h"
#include "pkt.h"
#include "tun.h"
#include "side_build.h"
#include "replay.h"
#include "wfguard.skel.h"
#include "wfguard/flowkey.h"

#define MAXF  2048
#define PORT  4433
#define CPORT 5000

struct logged {
	enum wfg_core_op op;
	uint64_t now;
	uint32_t len;
	uint8_t flags;
	struct wfg_decision d;
};

static struct logged *events;
static size_t nevents, capevents;

static void log_cb(void *arg, int server, enum wfg_core_op op, uint64_t now, uint32_t len,
		   uint8_t flags, const struct wfg_decision *d)
{
	(void)arg;
	if (server)
		return;
	if (nevents == capevents) {
		capevents = capevents ? capevents * 2 : 1024;
		events = realloc(events, capevents * sizeof(*events));
		cr_assert_not_null(events);
	}
	events[nevents++] =
		(struct logged){ .op = op, .now = now, .len = len, .flags = flags, .d = *d };
}

static int ring_count(void *ctx, void *data, size_t len)
{
	const struct wfg_cover_req *r = data;

	if (len == sizeof(*r))
		*(unsigned *)ctx += r->count;
	return 0;
}

/* The sides: a client that shapes to buckets up to `top` and pads at packet
 * events (a machine on NormalRecv, no timers); an undefended server. */
static void client_sides(struct wfg_side_cfg *cli, struct wfg_side_cfg *srv, __u32 top, double p)
{
	static struct wfg_side_builder sb;
	struct wfg_machine_limits lim = { .allowed_padding_packets = ~0ULL };
	struct wfg_action_spec pad = { .kind = WFG_ACT_PADDING,
				       .replace = 1,
				       .timeout = wfg_dist_const(0),
				       .has_limit = 1,
				       .limit = { .kind = WFG_DK_UNIFORM, .p = { 1, 3 } } };
	int s0, s1;

	wfg_sb_init(&sb, cli);
	cli->shape.mode = WFG_SHAPE_BUCKETS;
	cli->shape.nbuckets = 3;
	cli->shape.buckets[0] = 200;
	cli->shape.buckets[1] = 800;
	cli->shape.buckets[2] = top;
	cli->shape.max = 1500;
	cli->cover_size = 800;
	cr_assert_geq(wfg_sb_machine(&sb, &lim), 0);
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	cr_assert_eq(wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_RECV, (__u32)s1, p), 0);
	cr_assert_eq(wfg_sb_action(&sb, s1, &pad), 0, "%s", sb.err);
	cr_assert_eq(wfg_sb_trans(&sb, s1, WFG_EV_LIMIT_REACHED, (__u32)s0, 1.0), 0);
	cr_assert_eq(wfg_sb_trans(&sb, s1, WFG_EV_NORMAL_RECV, (__u32)s1, 0.5), 0);
	cr_assert_eq(wfg_sb_finish(&sb), 0, "%s", sb.err);
	wfg_sb_init(&sb, srv);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
}

/* A pool (docs/policy.md, "pool"): entries whose machine pads with another probability. */
#define NPOOL 64
static struct wfg_side_cfg pool[NPOOL][2];
static __u32 drawn[WFB_SESSION_MAX_LOADS + 1], ndrawn;

static void log_draw(void *arg, int server, uint32_t episode, uint32_t entry)
{
	(void)arg;
	if (server)
		return;
	cr_assert_eq(episode, ndrawn + 1, "the replay's draws come in episode order");
	cr_assert_lt(ndrawn, WFB_SESSION_MAX_LOADS + 1);
	drawn[ndrawn++] = entry;
}

/*
 * The shim-mode comparison on one trace: the dataset's page load, or (session)
 * a session of page loads with gaps over the episode time, so that the
 * client's core begins new episodes on the way and the data path must too.
 * npool > 1: the client runs a pool of that many defences; every episode the
 * data path's flow must run the entry the harness drew for it.
 */
static void shim_agree(unsigned session, unsigned npool)
{
	static struct wfg_side_cfg cli, srv;
	struct wfg_flow fl;
	static struct wfg_policy pol;
	struct wfg_ctl ctl = { .keys = { { 21, 22 }, { 23, 24 } } };
	struct wfb_gen_opts g = { .sites = 4, .instances = 2, .seed = 3 };
	struct wfb_replay_opts o = { .delay_ns = 20000000, .unknown_size = 514 };
	struct wfg_flow_key key = { .family = 4, .lport = htons(CPORT), .rport = htons(PORT) };
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	struct wfguard_bpf *skel;
	struct ring_buffer *rb;
	__u32 keymat[8], zero = 0;
	unsigned ring = 0;
	size_t i, sends = 0, covers = 0, recvs = 0, episodes = 0;
	int k;

	if (geteuid() != 0)
		cr_skip_test("BPF tests need root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)");
	client_sides(&cli, &srv, 1400, 0.3);
	if (session) /* a policy's default episode time */
		cli.episode_idle_ns = srv.episode_idle_ns = 3000000000ULL;
	for (i = 0; i < npool; i++) {
		client_sides(&pool[i][0], &pool[i][1], 1400, 0.1 + 0.8 * (double)i / (NPOOL - 1));
		pool[i][0].episode_idle_ns = pool[i][1].episode_idle_ns = cli.episode_idle_ns;
	}
	if (npool) {
		cli = pool[0][0];
		o.pool = (const struct wfg_side_cfg(*)[2])pool;
		o.pool_n = npool;
		o.draw_log = log_draw;
		ndrawn = 0;
	}
	for (k = 0; k < 8; k++)
		ctl.master[k] = 0x5150u + (__u32)k;
	memcpy(key.laddr, frame_src4, 4);
	memcpy(key.raddr, frame_dst4, 4);
	/* The kernel creates the flow at the first packet (trace time 0): same key. */
	wfg_flow_key_material(ctl.master, &key, WFB_REPLAY_BASE_NS, 0, keymat);
	o.client_key = keymat;
	o.client_stream = wfg_flow_stream(&key);
	o.log = log_cb;

	wfb_trace_init(&in);
	wfb_trace_init(&out);
	if (session) {
		struct wfb_load loads[WFB_SESSION_MAX_LOADS];

		g.session = session;
		cr_assert_eq(wfb_gen_session(&g, 1, 0, &in, loads), 0);
	} else {
		cr_assert_eq(wfb_gen_trace(&g, 1, 0, &in), 0);
	}
	cr_assert(in.n > 100 && in.pkts[0].time_ns == 0 && in.pkts[0].dir == WFB_OUT,
		  "the page load must start with a client packet at 0");
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &o, &out, &ov), 0);

	libbpf_set_print(NULL);
	skel = wfguard_bpf__open();
	cr_assert_not_null(skel);
	skel->rodata->wfg_test_clock = 1;
	if (npool) /* as the loader sizes it for the pool */
		cr_assert_eq(bpf_map__set_max_entries(skel->maps.wfg_defpool,
						      WFG_POLICY_SLOTS * (npool - 1)),
			     0);
	cr_assert_eq(wfguard_bpf__load(skel), 0);
	for (i = 1; i < npool; i++) {
		__u32 k = (__u32)i - 1;

		cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_defpool), &k,
						 &pool[i][0], 0),
			     0);
	}
	pol.pool_size = npool;
	pol.side = cli;
	pol.generation = 1;
	pol.nrules = 1;
	pol.rules[0].lport_hi = 65535;
	pol.rules[0].rport_lo = pol.rules[0].rport_hi = PORT;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.wfg_covers), ring_count, &ring, NULL);
	cr_assert_not_null(rb);

	for (i = 0; i < nevents; i++) {
		const struct logged *e = &events[i];
		uint8_t pl[1500] = { 0 }, f[MAXF], outf[MAXF];
		struct frame_spec fs = { .family = 4, .proto = 17, .payload = pl };
		struct __sk_buff ctx = { 0 };
		struct wfgt_run t = { .in = f, .out = outf, .out_size = MAXF };
		const char *why = "";
		long got;
		size_t n;

		cr_assert_neq(e->op, WFG_OP_TIMER, "this policy has no timers on the client");
		cr_assert_neq(e->op, WFG_OP_RECV_PADDING, "the server sends no covers");
		skel->bss->wfg_test_now = e->now;
		ring = 0;
		if (e->op == WFG_OP_RECV_NORMAL) {
			fs.reverse = 1;
			fs.sport = PORT;
			fs.dport = CPORT;
			fs.len = e->len;
			n = frame_build(f, &fs);
			t.len = n;
			cr_assert_eq(wfgt_prog_run(bpf_program__fd(skel->progs.wfg_ingress), &t),
				     0);
			cr_assert_eq(t.retval, XDP_PASS);
			recvs++;
		} else {
			fs.sport = CPORT;
			fs.dport = PORT;
			fs.len = e->op == WFG_OP_SEND_REAL ? e->len : 1;
			n = frame_build(f, &fs);
			ctx.mark = e->op == WFG_OP_SEND_COVER ? WFG_MARK_CARRIER | e->flags : 0;
			t.len = n;
			t.skb = &ctx;
			cr_assert_eq(wfgt_prog_run(bpf_program__fd(skel->progs.wfg_egress), &t), 0);
			got = frame_check_udp(outf, t.out_len, &why);
			cr_assert_geq(got, 0, "event %zu: %s", i, why);
			if (e->op == WFG_OP_SEND_REAL && (e->d.flags & WFG_DEC_UNSHAPED))
				cr_assert_eq(got, (long)e->len, "event %zu: unshaped size", i);
			else
				cr_assert_eq(
					got, (long)e->d.pad_to,
					"event %zu (%s at %llu): data path %ld bytes, harness %u",
					i, e->op == WFG_OP_SEND_REAL ? "send" : "cover",
					(unsigned long long)e->now, got, e->d.pad_to);
			cr_assert_eq(ctx.tstamp, e->d.depart_ns > e->now ? e->d.depart_ns : 0,
				     "event %zu: departure", i);
			if (e->op == WFG_OP_SEND_REAL)
				sends++;
			else
				covers++;
		}
		ring_buffer__consume(rb);
		cr_assert_eq(ring, e->d.covers, "event %zu: data path asked %u covers, harness %u",
			     i, ring, e->d.covers);
		episodes += !!(e->d.flags & WFG_DEC_EPISODE);
		if (!npool)
			continue;
		cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.wfg_flows), &key, &fl), 0);
		cr_assert(fl.st.side.episodes >= 1 && fl.st.side.episodes <= ndrawn);
		cr_assert_eq(
			fl.st.side.defence, drawn[fl.st.side.episodes - 1],
			"event %zu, episode %u: the data path runs entry %u, the harness drew %u",
			i, fl.st.side.episodes, fl.st.side.defence, drawn[fl.st.side.episodes - 1]);
	}
	if (npool) {
		unsigned distinct = 0, j, m;

		cr_assert_eq(ndrawn, ov.episodes[0], "one draw per client episode");
		for (j = 0; j < ndrawn; j++) {
			for (m = 0; m < j && drawn[m] != drawn[j]; m++)
				;
			distinct += m == j;
		}
		/* 12 uniform draws of 64: ~11 distinct; a stuck draw gives 1 */
		cr_assert_geq(distinct, ndrawn / 2, "%u distinct entries in %u draws", distinct,
			      ndrawn);
	}
	cr_assert_gt(sends, 50);
	cr_assert_gt(recvs, 50);
	cr_assert_gt(covers, 10, "the machine must have padded (%zu covers)", covers);
	cr_assert_eq(episodes, session ? session - 1 : 0,
		     "%zu episode boundaries crossed for %u loads", episodes, session);
	cr_assert_eq(ov.episodes[0], session ? session : 1);
	ring_buffer__free(rb);
	wfguard_bpf__destroy(skel);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
	free(events);
	events = NULL;
	nevents = capevents = 0;
}

Test(replay_bpf, harness_and_data_path_agree)
{
	shim_agree(0, 0);
}

/* Across episode boundaries: a session of three loads replays as one flow. */
Test(replay_bpf, harness_and_data_path_agree_on_a_session)
{
	shim_agree(3, 0);
}

/*
 * A pool of 64 over a session of 12 page loads: the data path draws, episode
 * after episode, the entry the harness drew, and runs it (the sizes and covers
 * above differ between entries).
 */
Test(replay_bpf, harness_and_data_path_draw_the_same_pool_entries)
{
	shim_agree(12, NPOOL);
}

/* ------------------------------------------------------------ tunnel mode */

#define TUN_NAME "wfgrt0"
#define TUN_MTU	 1420

static const uint8_t tun_local[4] = { 10, 77, 0, 1 }, tun_peer[4] = { 10, 77, 0, 2 };

/* A TUN device (no packet info) in this process's own new namespace, up. */
static int tun_open(void)
{
	int fd = wfgt_tun_create(TUN_NAME, IFF_TUN | IFF_NO_PI);

	/* No IPv6: nothing but the test's packets may leave through the device. */
	cr_assert_eq(sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 && ip link set %s mtu %d up && "
			"ip addr add 10.77.0.1/24 dev %s",
			TUN_NAME, TUN_NAME, TUN_MTU, TUN_NAME),
		     0);
	return fd;
}

/* The next IPv4 packet the device sends (what left TC egress): its length. */
static long tun_read4(int fd)
{
	uint8_t buf[2048];
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		if (poll(&pf, 1, 2000) != 1)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n >= 20 && buf[0] >> 4 == 4)
			return n;
	}
}

/* An inner IPv4/UDP packet of len bytes from the peer, written into the device
 * (TC ingress sees it), received by sock so that nothing answers it. */
static void tun_inject(int fd, int sock, uint32_t len)
{
	uint8_t pkt[2048] = { 0 }, rx[2048];
	struct pollfd pf = { .fd = sock, .events = POLLIN };
	uint32_t sum = 0;

	cr_assert(len >= 28 && len <= sizeof(pkt));
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[8] = 64;
	pkt[9] = 17;
	memcpy(pkt + 12, tun_peer, 4);
	memcpy(pkt + 16, tun_local, 4);
	sum = csum_finish(csum_add_bytes(0, pkt, 20));
	pkt[10] = (uint8_t)(sum >> 8);
	pkt[11] = (uint8_t)sum;
	pkt[20] = PORT >> 8;
	pkt[21] = PORT & 0xff;
	pkt[22] = CPORT >> 8;
	pkt[23] = CPORT & 0xff;
	pkt[24] = (uint8_t)((len - 20) >> 8);
	pkt[25] = (uint8_t)(len - 20); /* UDP checksum 0: none (IPv4) */
	cr_assert_eq(write(fd, pkt, len), (ssize_t)len, "tun write: %s", strerror(errno));
	cr_assert_eq(poll(&pf, 1, 2000), 1, "the injected packet never reached its socket");
	cr_assert_eq(recv(sock, rx, sizeof(rx), 0), (ssize_t)(len - 28));
}

/* A carrier as the pump writes it: a bare IPv4 header on a packet socket, marked. */
static void tun_carrier(int ifindex, uint8_t flags)
{
	uint8_t pkt[20] = { 0x45, 0, 0, 20, [8] = 64, [9] = 253 };

	memcpy(pkt + 16, tun_peer, 4);
	cr_assert_eq(wfgt_dev_send(ifindex, pkt, sizeof(pkt), WFG_MARK_CARRIER | flags),
		     (ssize_t)sizeof(pkt), "carrier: %s", strerror(errno));
}

static void tun_attach(struct wfguard_bpf *skel, int ifindex)
{
	wfgt_tun_attach(ifindex, bpf_program__fd(skel->progs.wfg_tun_egress),
			bpf_program__fd(skel->progs.wfg_tun_ingress));
}

Test(replay_bpf, tunnel_mode_harness_and_data_path_agree)
{
	static struct wfg_side_cfg sides[2];
	static struct wfg_policy pol;
	struct wfg_ctl ctl = { 0 };
	struct wfb_gen_opts g = { .sites = 4, .instances = 2, .seed = 3 };
	struct wfb_replay_opts o = { .delay_ns = 20000000, .unknown_size = 514 };
	struct wfg_flow_key key = { 0 }; /* unit: device, one flow */
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(CPORT) };
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	struct wfguard_bpf *skel;
	struct ring_buffer *rb;
	__u32 keymat[8], zero = 0;
	unsigned ring = 0;
	size_t i, sends = 0, covers = 0, recvs = 0, grown = 0;
	int k, tun, sock, ifindex;

	if (geteuid() != 0)
		cr_skip_test("BPF tests need root (BPF_PROG_LOAD, TUN, namespaces)");
	/* The client's side of a tunnel policy, fitted to the device as attach does. */
	client_sides(&sides[0], &sides[1], TUN_MTU, 0.3);
	pol.mode = WFG_MODE_TUNNEL;
	pol.unit = WFG_UNIT_DEVICE;
	pol.generation = 1;
	pol.nrules = 1;
	pol.rules[0].family = 4;
	pol.rules[0].lport_hi = pol.rules[0].rport_hi = 65535;
	wfb_defend_fit(&pol, sides, TUN_MTU, &o);
	cr_assert_eq(sides[0].shape.max, TUN_MTU);
	pol.side = sides[0];
	for (k = 0; k < 8; k++)
		ctl.master[k] = 0x7150u + (__u32)k;
	wfg_flow_key_material(ctl.master, &key, WFB_REPLAY_BASE_NS, 0, keymat);
	o.client_key = keymat;
	o.client_stream = wfg_flow_stream(&key);
	o.log = log_cb;
	nevents = 0;

	wfb_trace_init(&in);
	wfb_trace_init(&out);
	cr_assert_eq(wfb_gen_trace(&g, 1, 0, &in), 0);
	cr_assert(in.n > 100 && in.pkts[0].time_ns == 0 && in.pkts[0].dir == WFB_OUT);
	cr_assert_eq(wfb_replay(&sides[0], &sides[1], &in, &o, &out, &ov), 0);

	netns_save_root();
	tun = tun_open();
	ifindex = (int)if_nametoindex(TUN_NAME);
	cr_assert_gt(ifindex, 0);
	libbpf_set_print(NULL);
	skel = wfguard_bpf__open();
	cr_assert_not_null(skel);
	skel->rodata->wfg_test_clock = 1;
	cr_assert_eq(wfguard_bpf__load(skel), 0);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.wfg_covers), ring_count, &ring, NULL);
	cr_assert_not_null(rb);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(&local.sin_addr, tun_local, 4);
	memcpy(&peer.sin_addr, tun_peer, 4);
	cr_assert_eq(bind(sock, (struct sockaddr *)&local, sizeof(local)), 0);
	tun_attach(skel, ifindex);

	for (i = 0; i < nevents; i++) {
		const struct logged *e = &events[i];
		uint8_t pl[2048] = { 0 };
		__u32 want;
		long got;

		cr_assert_neq(e->op, WFG_OP_TIMER, "this policy has no timers on the client");
		cr_assert_neq(e->op, WFG_OP_RECV_PADDING, "the server sends no covers");
		skel->bss->wfg_test_now = e->now;
		ring = 0;
		if (e->op == WFG_OP_RECV_NORMAL) {
			tun_inject(tun, sock, e->len);
			recvs++;
		} else {
			if (e->op == WFG_OP_SEND_REAL) {
				cr_assert_geq(e->len, 28);
				cr_assert_eq(sendto(sock, pl, e->len - 28, 0,
						    (struct sockaddr *)&peer, sizeof(peer)),
					     (ssize_t)(e->len - 28));
				want = wfg_wire_len(WFG_MODE_TUNNEL, &sides[0], e->op, e->len,
						    &e->d);
				sends++;
				grown += want > e->len;
			} else {
				tun_carrier(ifindex, e->flags);
				want = wfg_wire_tun_cover_len(
					wfg_wire_len(WFG_MODE_TUNNEL, &sides[0], e->op, 0, &e->d),
					4);
				covers++;
			}
			got = tun_read4(tun);
			cr_assert_eq(got, (long)want,
				     "event %zu (%s at %llu): data path %ld bytes, harness %u", i,
				     e->op == WFG_OP_SEND_REAL ? "send" : "cover",
				     (unsigned long long)e->now, got, want);
		}
		ring_buffer__consume(rb);
		cr_assert_eq(ring, e->d.covers, "event %zu: data path asked %u covers, harness %u",
			     i, ring, e->d.covers);
	}
	cr_assert_gt(sends, 50);
	cr_assert_gt(recvs, 50);
	cr_assert_gt(grown, 50, "shaping must have grown packets (%zu)", grown);
	cr_assert_gt(covers, 10, "the machine must have padded (%zu covers)", covers);
	ring_buffer__free(rb);
	wfguard_bpf__destroy(skel);
	close(sock);
	close(tun);
	netns_go_home();
	wfb_trace_free(&in);
	wfb_trace_free(&out);
	free(events);
	events = NULL;
	capevents = 0;
}
