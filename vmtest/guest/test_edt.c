// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What only a kernel with a real sch_fq can show (run inside the vmtest guest,
 * see docs/vmtest.md):
 *
 *  - edt: the egress program's EDT timestamps are honoured by fq. A pacing
 *    policy's burst leaves one interval apart, and a blocking machine holds
 *    the packets sent during its block until the block ends; measured by the
 *    receiver's kernel timestamps (SO_TIMESTAMPNS) on the veth peer, and
 *    compared with the same traffic without fq, where the timestamps are
 *    ignored and everything leaves at once.
 *  - netem: client -- router -- server with netem delay on the router and
 *    the data path attached at both ends through the controller's loader
 *    (which installs fq): a paced, padded exchange still delivers every
 *    datagram byte-identical, both ways.
 *
 * Tolerances are generous (the guest runs under TCG): shapes, not
 * microseconds. On a kernel without sch_fq or sch_netem the tests skip, unless
 * WFG_VMTEST_REQUIRE_FQ=1 (set by the vmtest guest), where they fail.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "wfguard.skel.h"
#include "wfguard/datapath.h"
#include "loader.h"
#include "bpflog.h"
#include "bpfrun.h"
#include "netns.h"
#include "zoo.h"

#define PORT   4433
#define MAXPKT 64
#define MS     1000000ULL

static char NS_A[32], NS_B[32];
static struct wfgt_topo topo; /* the netem suite's */

/* ------------------------------------------------------------ plumbing */

static void del_namespaces(void)
{
	sh("for n in %s %s; do [ -n \"$n\" ] && ip netns del $n 2>/dev/null; done; true", NS_A,
	   NS_B);
	wfgt_topo_destroy(&topo);
}

static void common_setup(void)
{
	int pid = getpid();

	if (geteuid() != 0)
		cr_skip_test("EDT tests need root");
	if (sh("command -v ip >/dev/null && command -v tc >/dev/null") != 0)
		cr_skip_test("iproute2 (ip, tc) is not installed");
	snprintf(NS_A, sizeof(NS_A), "wfge-a%d", pid);
	snprintf(NS_B, sizeof(NS_B), "wfge-b%d", pid);
	netns_save_root();
	del_namespaces();
}

static void teardown(void)
{
	netns_go_home();
	del_namespaces();
}

/* Sender A (10.78.0.1, dev ea0) -- receiver B (10.78.0.2, dev eb0). */
static void edt_setup(void)
{
	common_setup();
	cr_assert_eq(sh("set -e; ip netns add %1$s; ip netns add %2$s; "
			"ip link add ea0 netns %1$s type veth peer name eb0 netns %2$s; "
			"ip -n %1$s addr add 10.78.0.1/24 dev ea0; "
			"ip -n %2$s addr add 10.78.0.2/24 dev eb0; "
			"ip -n %1$s link set lo up; ip -n %2$s link set lo up; "
			"ip -n %1$s link set ea0 up; ip -n %2$s link set eb0 up",
			NS_A, NS_B),
		     0, "could not build the namespaces");
}

/* The client -- observer -- server topology (netns.h) on 10.79; the observer
 * is the router, with netem on both its veths. */
static void netem_setup(void)
{
	common_setup();
	wfgt_topo_name(&topo, "wfge", 79);
	cr_assert_eq(wfgt_topo_create(&topo), 0, "could not build the namespaces");
}

static int fq_required(void)
{
	const char *v = getenv("WFG_VMTEST_REQUIRE_FQ");

	return v && v[0] == '1';
}

/* Install a root qdisc on ns/dev, or skip (fail in the vmtest guest) without it. */
static void need_qdisc(const char *ns, const char *dev, const char *spec)
{
	if (sh("tc -n %s qdisc replace dev %s root %s", ns, dev, spec) == 0)
		return;
	if (fq_required())
		cr_assert_fail("'tc qdisc replace dev %s root %s' failed, and the vmtest guest "
			       "requires it (was the module loaded?)",
			       dev, spec);
	teardown(); /* a skip ends the test without .fini */
	cr_skip_test("this kernel cannot run 'tc qdisc ... root %s' (no sch_fq / sch_netem "
		     "here?): run these tests with make vmtest",
		     spec);
}

static __u64 stats_sum(struct wfguard_bpf *skel, enum wfg_stat s)
{
	__u64 sum;

	cr_assert_eq(wfgt_percpu_sum(bpf_map__fd(skel->maps.wfg_stats), (__u32)s, &sum), 0);
	return sum;
}

/* The egress program alone on ns/dev, running `side` for UDP to PORT. */
static struct wfguard_bpf *attach_egress(const char *ns, const char *dev,
					 const struct wfg_side_cfg *side)
{
	static struct wfg_policy pol;
	struct wfg_ctl ctl = { .keys = { { 0x51, 0x52 }, { 0x53, 0x54 } } };
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	struct wfguard_bpf *skel;
	__u32 zero = 0;
	int err, i;

	wfgt_log_capture();
	skel = wfguard_bpf__open_and_load();
	cr_assert_not_null(skel, "wfguard.bpf.o failed to load on this kernel:\n%s",
			   wfgt_log_tail(12000));
	memset(&pol, 0, sizeof(pol));
	pol.side = *side;
	pol.generation = 1;
	pol.nrules = 1;
	pol.rules[0].family = 4;
	pol.rules[0].lport_hi = 65535;
	pol.rules[0].rport_lo = pol.rules[0].rport_hi = PORT;
	for (i = 0; i < 8; i++)
		ctl.master[i] = 0x5157u + (__u32)i;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);
	enter(ns);
	hook.ifindex = (int)if_nametoindex(dev);
	cr_assert_gt(hook.ifindex, 0);
	err = bpf_tc_hook_create(&hook);
	cr_assert(err == 0 || err == -EEXIST, "tc hook: %d", err);
	opts.prog_fd = bpf_program__fd(skel->progs.wfg_egress);
	cr_assert_eq(bpf_tc_attach(&hook, &opts), 0, "tc attach");
	enter(NULL);
	return skel;
}

/* udp_socket (tests/netns.h) with kernel receive timestamps (SO_TIMESTAMPNS). */
static int udp_socket_ts(const char *ns, const char *addr, int port)
{
	int fd = udp_socket(ns, addr, port), one = 1;

	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)), 0);
	return fd;
}

static __u64 now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/*
 * Receive up to n datagrams on fd (waiting at most 3 s for each): their
 * first byte (the sequence number) and the kernel's receive time
 * (SO_TIMESTAMPNS, CLOCK_REALTIME), in arrival order. Returns the count.
 */
static int recv_stamped(int fd, int n, int seq[], __u64 at[])
{
	int got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char cbuf[CMSG_SPACE(sizeof(struct timespec))];
		uint8_t buf[2048];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		ssize_t r;

		if (poll(&pfd, 1, 3000) != 1)
			break;
		r = recvmsg(fd, &mh, 0);
		cr_assert_gt(r, 0);
		seq[got] = buf[0];
		at[got] = 0;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				at[got] = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
			}
		}
		cr_assert_neq(at[got], 0, "no SO_TIMESTAMPNS on datagram %d", got);
		got++;
	}
	return got;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* Median of the n-1 gaps between consecutive arrivals. */
static __u64 median_gap(const __u64 at[], int n)
{
	__u64 g[MAXPKT];
	int i;

	for (i = 1; i < n; i++)
		g[i - 1] = at[i] > at[i - 1] ? at[i] - at[i - 1] : 0;
	qsort(g, (size_t)(n - 1), sizeof(g[0]), cmp_u64);
	return g[(n - 1) / 2];
}

static void send_one(int fd, int seq, size_t len)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	uint8_t buf[1500];

	memset(buf, 0xa5, len);
	buf[0] = (uint8_t)seq;
	inet_pton(AF_INET, "10.78.0.2", &dst.sin_addr);
	cr_assert_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)), (ssize_t)len,
		     "sendto: %s", strerror(errno));
}

/* ------------------------------------------------------------ edt */

TestSuite(edt, .init = edt_setup, .fini = teardown, .timeout = 120);

#define PACE_N	      12
#define PACE_IV	      (20 * MS)
#define BLOCK_D	      (150 * MS)
#define BLOCK_N	      5
#define BLOCK_STEP_US 15000

/* A burst of PACE_N from `sport`; the receiver's arrival times in order. */
static void pace_burst(int rfd, int sport, __u64 at[PACE_N])
{
	int sfd = udp_socket(NS_A, "10.78.0.1", sport), seq[PACE_N], i;

	for (i = 0; i < PACE_N; i++)
		send_one(sfd, i, 200);
	cr_assert_eq(recv_stamped(rfd, PACE_N, seq, at), PACE_N, "datagrams lost (sport %d)",
		     sport);
	for (i = 0; i < PACE_N; i++)
		cr_assert_eq(seq[i], i, "datagram %d arrived out of order (sport %d)", i, sport);
	close(sfd);
}

Test(edt, pacing_spaces_a_burst_by_the_interval_only_with_fq)
{
	static struct wfg_side_cfg side;
	static struct wfg_side_builder sb;
	__u64 plain[PACE_N], paced[PACE_N], m_plain, m_paced, span;
	struct wfguard_bpf *skel;
	int rfd;

	wfg_sb_init(&sb, &side);
	side.pace.mode = WFG_PACE_CONSTANT;
	side.pace.interval_ns = PACE_IV;
	side.pace.idle_stop_ns = 1000 * MS;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	skel = attach_egress(NS_A, "ea0", &side);
	rfd = udp_socket_ts(NS_B, "10.78.0.2", PORT);

	/* veth's default (noqueue): the timestamps are set, nothing honours them. */
	sh("tc -n %s qdisc del dev ea0 root 2>/dev/null", NS_A);
	pace_burst(rfd, 6001, plain);
	need_qdisc(NS_A, "ea0", "fq");
	pace_burst(rfd, 6002, paced);

	m_plain = median_gap(plain, PACE_N);
	m_paced = median_gap(paced, PACE_N);
	span = paced[PACE_N - 1] - paced[0];
	fprintf(stderr,
		"edt: pacing %llu ms: median gap without fq %.2f ms, with fq %.2f ms; "
		"burst of %d spans %.1f ms with fq (schedule %.1f ms)\n",
		PACE_IV / MS, m_plain / 1e6, m_paced / 1e6, PACE_N, span / 1e6,
		(double)((PACE_N - 1) * PACE_IV) / 1e6);
	cr_assert_geq(stats_sum(skel, WFG_STAT_DELAYED), 2 * (PACE_N - 1),
		      "the program did not set departure times");
	cr_assert_lt(m_plain, PACE_IV / 4, "without fq the burst should leave at once");
	cr_assert_geq(m_paced, PACE_IV / 2, "with fq: median gap %llu ns < half the interval",
		      m_paced);
	cr_assert_leq(m_paced, 3 * PACE_IV, "with fq: median gap %llu ns > 3 intervals", m_paced);
	cr_assert_gt(m_paced, 4 * m_plain, "fq made no clear difference");
	cr_assert_geq(span, (PACE_N - 1) * PACE_IV / 2, "the paced burst is too short");
	close(rfd);
	wfguard_bpf__destroy(skel);
}

/*
 * One packet, then BLOCK_N - 1 more, BLOCK_STEP_US apart, from `sport`. The
 * first NormalSent starts a block of BLOCK_D: the rest wait for its end.
 */
static void block_run(int rfd, int sport, __u64 at[BLOCK_N], __u64 *sent_spread)
{
	int sfd = udp_socket(NS_A, "10.78.0.1", sport), seq[BLOCK_N], i;
	__u64 t1 = 0, tn = 0;

	for (i = 0; i < BLOCK_N; i++) {
		if (i > 1)
			usleep(BLOCK_STEP_US);
		send_one(sfd, i, 300);
		if (i == 1)
			t1 = now_real();
		tn = now_real();
	}
	*sent_spread = tn - t1;
	cr_assert_eq(recv_stamped(rfd, BLOCK_N, seq, at), BLOCK_N, "datagrams lost (sport %d)",
		     sport);
	for (i = 0; i < BLOCK_N; i++)
		cr_assert_eq(seq[i], i, "datagram %d arrived out of order (sport %d)", i, sport);
	close(sfd);
}

Test(edt, blocking_holds_packets_until_the_block_ends_only_with_fq)
{
	struct wfg_action_spec blk = { .kind = WFG_ACT_BLOCK,
				       .timeout = wfg_dist_const(0),
				       .duration = wfg_dist_const((double)(BLOCK_D / 1000)),
				       .has_limit = 1,
				       .limit = wfg_dist_const(1) };
	static struct wfg_side_cfg side;
	static struct wfg_side_builder sb;
	__u64 plain[BLOCK_N], held[BLOCK_N], sent_plain, sent_held, wait_plain, wait_held, spread;
	struct wfguard_bpf *skel;
	int s0, s1, rfd;

	wfg_sb_init(&sb, &side);
	zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m");
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "t");
	zoo_check(&sb, wfg_sb_action(&sb, s1, &blk), "a");
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	skel = attach_egress(NS_A, "ea0", &side);
	rfd = udp_socket_ts(NS_B, "10.78.0.2", PORT);

	sh("tc -n %s qdisc del dev ea0 root 2>/dev/null", NS_A);
	block_run(rfd, 6101, plain, &sent_plain);
	need_qdisc(NS_A, "ea0", "fq");
	block_run(rfd, 6102, held, &sent_held);

	wait_plain = plain[1] - plain[0];
	wait_held = held[1] - held[0];
	spread = held[BLOCK_N - 1] - held[1];
	fprintf(stderr,
		"edt: block %llu ms: second packet %.1f ms after the first without fq, %.1f ms "
		"with fq; packets sent over %.1f ms arrived within %.1f ms\n",
		BLOCK_D / MS, wait_plain / 1e6, wait_held / 1e6, sent_held / 1e6, spread / 1e6);
	cr_assert_geq(stats_sum(skel, WFG_STAT_DELAYED), 2 * (BLOCK_N - 1),
		      "the program did not delay the blocked packets");
	cr_assert_lt(wait_plain, BLOCK_D / 4, "without fq the block should not hold anything");
	cr_assert_geq(wait_held, BLOCK_D / 2, "with fq: held %llu ns, less than half the block",
		      wait_held);
	cr_assert_leq(wait_held, 3 * BLOCK_D, "with fq: held %llu ns, more than 3 blocks",
		      wait_held);
	cr_assert_lt(spread, sent_held / 2,
		     "the blocked packets should leave together at the block's end (sent over "
		     "%llu ns, arrived over %llu ns)",
		     sent_held, spread);
	close(rfd);
	wfguard_bpf__destroy(skel);
}

/* ------------------------------------------------------------ netem */

TestSuite(netem, .init = netem_setup, .fini = teardown, .timeout = 180);

#define EX_N	  300
#define EX_WINDOW 16
#define EX_PAD	  1000
#define NETEM_MS  20

static size_t ex_len(int i)
{
	return 8 + (size_t)(i * 53 % 893); /* 8..900: below the pad size less the trailer */
}

static void ex_fill(uint8_t *b, size_t n, int i, int dir)
{
	size_t j;

	b[0] = (uint8_t)i;
	b[1] = (uint8_t)(i >> 8);
	b[2] = (uint8_t)dir;
	for (j = 3; j < n; j++)
		b[j] = (uint8_t)(i * 29 + j * 11 + dir * 101);
}

/* A padded, paced side; the client's rules match the server port, the server's its own. */
static void ex_policy(struct wfg_policy *pol, int server)
{
	static struct wfg_side_builder sb;

	memset(pol, 0, sizeof(*pol));
	wfg_sb_init(&sb, &pol->side);
	pol->side.shape.mode = WFG_SHAPE_PAD_TO;
	pol->side.shape.size = EX_PAD;
	pol->side.shape.max = 1400;
	pol->side.cover_size = EX_PAD;
	pol->side.pace.mode = WFG_PACE_CONSTANT;
	pol->side.pace.interval_ns = 2 * MS;
	pol->side.pace.idle_stop_ns = 200 * MS;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	pol->nrules = 1;
	pol->rules[0].family = 4;
	if (server) {
		pol->rules[0].lport_lo = pol->rules[0].lport_hi = PORT;
		pol->rules[0].rport_hi = 65535;
	} else {
		pol->rules[0].lport_hi = 65535;
		pol->rules[0].rport_lo = pol->rules[0].rport_hi = PORT;
	}
}

static void dp_attach(const char *ns, const char *dev, const struct wfg_policy *pol,
		      const struct wfg_ctl *ctl)
{
	struct wfg_attach_opts ao = { .xdp_mode = WFG_XDP_SKB, .install_fq = 1 };
	char err[512];
	int rc;

	enter(ns);
	wfgt_log_capture();
	rc = wfg_dp_attach(dev, pol, ctl, &ao, err, sizeof(err));
	enter(NULL);
	if (rc == -EOPNOTSUPP && !fq_required()) {
		teardown(); /* a skip ends the test without .fini */
		cr_skip_test("%s (run these tests with make vmtest)", err);
	}
	cr_assert_eq(rc, 0, "attach %s: %s\n%s", dev, err, wfgt_log_tail(12000));
}

Test(netem, a_paced_padded_exchange_through_netem_delay_is_byte_identical)
{
	static struct wfg_policy cpol, spol;
	static uint8_t server_seen[EX_N], client_seen[EX_N];
	struct wfg_ctl ctl = { .keys = { { 0x71, 0x72 }, { 0x73, 0x74 } } };
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	__u64 cst[WFG_STAT__COUNT], sst[WFG_STAT__COUNT], t_start, t_first_echo = 0, deadline;
	int cfd, sfd, sent = 0, server_got = 0, client_got = 0, corrupt = 0, dup = 0, i;
	struct wfg_dp cdp, sdp;
	char err[256];

	char netem[64];

	snprintf(netem, sizeof(netem), "netem delay %dms", NETEM_MS);
	need_qdisc(topo.o, "o0", netem); /* towards the client */
	need_qdisc(topo.o, "o1", netem); /* towards the server */
	for (i = 0; i < 8; i++)
		ctl.master[i] = 0x3131u * (__u32)(i + 1);
	ex_policy(&cpol, 0);
	ex_policy(&spol, 1);
	dp_attach(topo.c, "c0", &cpol, &ctl);
	dp_attach(topo.s, "s0", &spol, &ctl);
	cr_assert_eq(sh("tc -n %s qdisc show dev c0 | grep -q 'qdisc fq '", topo.c), 0,
		     "the loader did not install fq on the client");

	cfd = udp_socket(topo.c, "10.79.1.1", 5601);
	sfd = udp_socket(topo.s, "10.79.2.1", PORT);
	inet_pton(AF_INET, "10.79.2.1", &srv.sin_addr);
	t_start = now_real();
	deadline = t_start + 60000 * MS;
	while (client_got + corrupt < EX_N && now_real() < deadline) {
		struct pollfd p[2] = { { .fd = cfd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		uint8_t buf[2048], want[2048];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t r;
		int idx;

		/* Keep a window of datagrams in flight: fq's per-flow queue stays short. */
		while (sent < EX_N && sent - client_got < EX_WINDOW) {
			ex_fill(buf, ex_len(sent), sent, 0);
			cr_assert_eq(sendto(cfd, buf, ex_len(sent), 0, (struct sockaddr *)&srv,
					    sizeof(srv)),
				     (ssize_t)ex_len(sent), "sendto: %s", strerror(errno));
			sent++;
		}
		if (poll(p, 2, 3000) <= 0)
			break; /* 3 s of silence: something was lost */
		if (p[1].revents & POLLIN) {
			r = recvfrom(sfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			cr_assert_gt(r, 2);
			idx = buf[0] | buf[1] << 8;
			cr_assert_lt(idx, EX_N);
			ex_fill(want, ex_len(idx), idx, 0);
			if ((size_t)r != ex_len(idx) || memcmp(buf, want, (size_t)r)) {
				corrupt++;
			} else {
				dup += server_seen[idx]++ > 0;
				server_got++;
				ex_fill(buf, ex_len(idx), idx, 1);
				sendto(sfd, buf, ex_len(idx), 0, (struct sockaddr *)&from, fl);
			}
		}
		if (p[0].revents & POLLIN) {
			r = recv(cfd, buf, sizeof(buf), 0);
			cr_assert_gt(r, 2);
			idx = buf[0] | buf[1] << 8;
			cr_assert_lt(idx, EX_N);
			ex_fill(want, ex_len(idx), idx, 1);
			if ((size_t)r != ex_len(idx) || memcmp(buf, want, (size_t)r)) {
				corrupt++;
			} else {
				dup += client_seen[idx]++ > 0;
				client_got++;
				if (!t_first_echo)
					t_first_echo = now_real();
			}
		}
	}
	fprintf(stderr,
		"netem: %d datagrams each way through %d ms + %d ms of netem: server got %d, "
		"client got %d, corrupt %d, duplicate %d; first round trip %.1f ms, all in %.1f "
		"ms\n",
		EX_N, NETEM_MS, NETEM_MS, server_got, client_got, corrupt, dup,
		t_first_echo ? (t_first_echo - t_start) / 1e6 : -1.0, (now_real() - t_start) / 1e6);
	cr_assert_eq(corrupt, 0, "corrupted datagrams: %d", corrupt);
	cr_assert_eq(dup, 0, "duplicated datagrams: %d", dup);
	cr_assert_eq(server_got, EX_N, "the server got %d of %d", server_got, EX_N);
	cr_assert_eq(client_got, EX_N, "the client got %d of %d echoes", client_got, EX_N);
	cr_assert_geq(
		t_first_echo - t_start, 2 * NETEM_MS * MS * 9 / 10,
		"the first round trip was shorter than netem's delay: netem not in the path?");

	/* pins are per network namespace: open each where it was attached */
	enter(topo.c);
	cr_assert_eq(wfg_dp_open("c0", &cdp, err, sizeof(err)), 0, "%s", err);
	enter(topo.s);
	cr_assert_eq(wfg_dp_open("s0", &sdp, err, sizeof(err)), 0, "%s", err);
	enter(NULL);
	cr_assert_eq(wfg_dp_stats(&cdp, cst, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfg_dp_stats(&sdp, sst, err, sizeof(err)), 0, "%s", err);
	fprintf(stderr,
		"netem: client shaped %llu delayed %llu stripped %llu; server shaped %llu "
		"delayed %llu stripped %llu\n",
		(unsigned long long)cst[WFG_STAT_SHAPED], (unsigned long long)cst[WFG_STAT_DELAYED],
		(unsigned long long)cst[WFG_STAT_STRIPPED],
		(unsigned long long)sst[WFG_STAT_SHAPED], (unsigned long long)sst[WFG_STAT_DELAYED],
		(unsigned long long)sst[WFG_STAT_STRIPPED]);
	cr_assert_geq(cst[WFG_STAT_SHAPED], EX_N, "the client padded %llu datagrams",
		      (unsigned long long)cst[WFG_STAT_SHAPED]);
	cr_assert_geq(sst[WFG_STAT_STRIPPED], EX_N, "the server stripped %llu datagrams",
		      (unsigned long long)sst[WFG_STAT_STRIPPED]);
	cr_assert_geq(sst[WFG_STAT_SHAPED], EX_N);
	cr_assert_geq(cst[WFG_STAT_STRIPPED], EX_N);
	cr_assert_gt(cst[WFG_STAT_DELAYED], 0, "pacing never set a departure time");
	wfg_dp_close(&cdp);
	wfg_dp_close(&sdp);
	close(cfd);
	close(sfd);
	enter(topo.c);
	cr_assert_eq(wfg_dp_detach("c0", err, sizeof(err)), 0, "%s", err);
	enter(topo.s);
	cr_assert_eq(wfg_dp_detach("s0", err, sizeof(err)), 0, "%s", err);
	enter(NULL);
}
