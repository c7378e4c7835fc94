// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real datagrams across the defence: three namespaces, client -- observer --
 * server, joined by veth pairs. The client and the server each run the data
 * path programs (TC egress + XDP ingress on their veth); the observer routes
 * and captures. Checks: every datagram arrives byte-identical both ways, the
 * observer sees only shaped sizes, TCP passes untouched, and no datagram is
 * lost that was not lost without wfguard. Needs root; skips otherwise.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "wfguard.skel.h"
#include "wfguard/datapath.h"
#include "zoo.h"
#include "netns.h"

/* Per-process names: tests may run in parallel, each in its own process. */
static struct wfgt_topo topo;
#define NS_C   topo.c
#define NS_S   topo.s
#define PORT   4433
#define N_EACH 5000
#define PAD    1000

static struct wfgt_scratch scratch;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("namespace tests need root");
	if (sh("command -v ip >/dev/null") != 0)
		cr_skip_test("iproute2 (ip) is not installed");
	wfgt_scratch_make(&scratch, "wfgt");
	wfgt_topo_name(&topo, "wfgt", 77);
	netns_save_root();
	cr_assert_eq(wfgt_topo_create(&topo), 0, "could not build the namespaces");
}

static void teardown(void)
{
	netns_go_home();
	wfgt_topo_destroy(&topo);
	wfgt_scratch_remove(&scratch);
}

TestSuite(netns, .init = setup, .fini = teardown, .timeout = 180);

/* A worker that died before its .fini (a timeout, a signal) left its namespaces
 * and scratch directory: the parent removes those of dead PIDs after the run. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	wfgt_sweep_dead("wfgt");
}

/* Load one instance of the data path for one end and attach it to `dev` in `ns`. */
static struct wfguard_bpf *attach_end(const char *ns, const char *dev, int server)
{
	static struct wfg_policy pol;
	static struct wfg_side_builder sb;
	struct wfg_ctl ctl = { .keys = { { 0x1111, 0x2222 }, { 0x3333, 0x4444 } } };
	struct wfguard_bpf *skel = wfguard_bpf__open_and_load();
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	__u32 zero = 0;
	int ifindex, err;

	cr_assert_not_null(skel, "wfguard.bpf.o failed to load");
	memset(&pol, 0, sizeof(pol));
	wfg_sb_init(&sb, &pol.side);
	pol.side.shape.mode = WFG_SHAPE_PAD_TO;
	pol.side.shape.size = PAD;
	pol.side.shape.max = 1400;
	pol.side.cover_size = PAD;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	pol.generation = 1;
	pol.nrules = 1;
	pol.rules[0].family = 4;
	if (server) {
		pol.rules[0].lport_lo = pol.rules[0].lport_hi = PORT;
		pol.rules[0].rport_hi = 65535;
	} else {
		pol.rules[0].lport_hi = 65535;
		pol.rules[0].rport_lo = pol.rules[0].rport_hi = PORT;
	}
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);

	enter(ns);
	ifindex = (int)if_nametoindex(dev);
	cr_assert_gt(ifindex, 0);
	hook.ifindex = ifindex;
	err = bpf_tc_hook_create(&hook);
	cr_assert(err == 0 || err == -EEXIST, "tc hook: %d", err);
	opts.prog_fd = bpf_program__fd(skel->progs.wfg_egress);
	cr_assert_eq(bpf_tc_attach(&hook, &opts), 0, "tc attach");
	err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.wfg_ingress), XDP_FLAGS_DRV_MODE,
			     NULL);
	if (err)
		err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.wfg_ingress),
				     XDP_FLAGS_SKB_MODE, NULL);
	cr_assert_eq(err, 0, "xdp attach: %d", err);
	enter(NULL);
	return skel;
}

/*
 * The next IPv4 UDP packet the observer captured to or from PORT, within
 * 100 ms: its UDP payload length, or -1 when there is none. `outgoing`
 * receives whether the observer sent it (towards the client).
 */
static int observed_udp(int obs, int *outgoing)
{
	uint8_t buf[2048];

	for (;;) {
		struct pollfd pfd = { .fd = obs, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t r;

		if (poll(&pfd, 1, 100) != 1)
			return -1;
		r = recvfrom(obs, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (r < 28 || from.sll_protocol != htons(0x0800) || buf[9] != 17)
			continue;
		if (((buf[20] << 8 | buf[21]) != PORT) && ((buf[22] << 8 | buf[23]) != PORT))
			continue;
		*outgoing = from.sll_pkttype == PACKET_OUTGOING;
		return (buf[24] << 8 | buf[25]) - 8;
	}
}

static size_t msg_len(int i)
{
	return 1 + (size_t)(i * 37 % 900); /* 1..900 bytes: all below PAD - trailer */
}

static void fill(uint8_t *b, size_t n, int i, int dir)
{
	size_t j;

	for (j = 0; j < n; j++)
		b[j] = (uint8_t)(i * 131 + j * 7 + dir);
}

struct exchange {
	int client_got, server_got, corrupt;
	int wire_udp, wire_shaped, wire_bad_size;
};

/* Client sends N_EACH to the server, which echoes each back; count what arrives intact. */
static void run_exchange(struct exchange *x, int obs)
{
	int cfd = udp_socket(NS_C, "10.77.1.1", 5555), sfd = udp_socket(NS_S, "10.77.2.1", PORT);
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	uint8_t buf[2048], want[2048];
	int i;

	memset(x, 0, sizeof(*x));
	inet_pton(AF_INET, "10.77.2.1", &srv.sin_addr);
	for (i = 0; i < N_EACH; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct pollfd pfd = { .fd = sfd, .events = POLLIN };
		size_t n = msg_len(i);
		ssize_t r;

		fill(buf, n, i, 0);
		cr_assert_eq(sendto(cfd, buf, n, 0, (struct sockaddr *)&srv, sizeof(srv)),
			     (ssize_t)n);
		if (poll(&pfd, 1, 1000) == 1 &&
		    (r = recvfrom(sfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >= 0) {
			fill(want, n, i, 0);
			if ((size_t)r == n && !memcmp(buf, want, n))
				x->server_got++;
			else
				x->corrupt++;
			fill(buf, n, i, 1);
			sendto(sfd, buf, n, 0, (struct sockaddr *)&from, fl);
			pfd.fd = cfd;
			if (poll(&pfd, 1, 1000) == 1 && (r = recv(cfd, buf, sizeof(buf), 0)) >= 0) {
				fill(want, n, i, 1);
				if ((size_t)r == n && !memcmp(buf, want, n))
					x->client_got++;
				else
					x->corrupt++;
			}
		}
	}
	close(cfd);
	close(sfd);
	/* What the observer saw: UDP to or from port 4433. */
	for (;;) {
		int out, len = observed_udp(obs, &out);

		if (len < 0)
			break;
		x->wire_udp++;
		if (len == PAD)
			x->wire_shaped++;
		else
			x->wire_bad_size++;
	}
}

Test(netns, datagrams_arrive_identical_and_the_wire_is_shaped)
{
	struct wfguard_bpf *cli, *srv;
	struct exchange plain, defended;
	int obs = wfgt_observer_socket(&topo);

	run_exchange(&plain, obs);
	cr_assert_eq(plain.corrupt, 0);
	cr_assert_gt(plain.wire_bad_size, N_EACH,
		     "undefended: sizes vary on the wire (server %d client %d wire %d/%d/%d)",
		     plain.server_got, plain.client_got, plain.wire_udp, plain.wire_shaped,
		     plain.wire_bad_size);

	cli = attach_end(NS_C, "c0", 0);
	srv = attach_end(NS_S, "s0", 1);
	run_exchange(&defended, obs);
	cr_assert_eq(defended.corrupt, 0, "corrupted datagrams: %d", defended.corrupt);
	cr_assert_geq(defended.server_got, plain.server_got, "server: %d of %d (plain %d)",
		      defended.server_got, N_EACH, plain.server_got);
	cr_assert_geq(defended.client_got, plain.client_got, "client: %d of %d (plain %d)",
		      defended.client_got, N_EACH, plain.client_got);
	cr_assert_eq(defended.server_got + defended.client_got, 2 * N_EACH);
	cr_assert_eq(defended.wire_bad_size, 0, "%d datagrams on the wire not %d bytes",
		     defended.wire_bad_size, PAD);
	cr_assert_geq(defended.wire_shaped, 2 * N_EACH);
	close(obs);
	wfguard_bpf__destroy(cli);
	wfguard_bpf__destroy(srv);
}

Test(netns, tcp_passes_untouched)
{
	struct wfguard_bpf *cli, *srv;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static uint8_t data[1 << 20], got[1 << 20];
	int lfd, cfd, afd, one = 1;
	size_t off = 0, i;

	cli = attach_end(NS_C, "c0", 0);
	srv = attach_end(NS_S, "s0", 1);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + (i >> 9));
	i = 0;
	enter(NS_S);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, "10.77.2.1", &sa.sin_addr);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 1), 0);
	enter(NS_C);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	enter(NULL);
	afd = accept(lfd, NULL, NULL);
	cr_assert_geq(afd, 0);
	/* Interleave writing and reading: neither side may block the other. */
	fcntl(cfd, F_SETFL, O_NONBLOCK);
	for (i = 0; off < sizeof(got);) {
		struct pollfd p[2] = { { .fd = cfd, .events = i < sizeof(data) ? POLLOUT : 0 },
				       { .fd = afd, .events = POLLIN } };
		ssize_t r;

		cr_assert_gt(poll(p, 2, 5000), 0, "TCP stalled at %zu bytes", off);
		if (p[0].revents & POLLOUT) {
			r = write(cfd, data + i, sizeof(data) - i);
			if (r > 0)
				i += (size_t)r;
		}
		if (p[1].revents & POLLIN) {
			r = read(afd, got + off, sizeof(got) - off);
			cr_assert_gt(r, 0);
			off += (size_t)r;
		}
	}
	cr_assert_eq(memcmp(data, got, sizeof(data)), 0, "TCP stream changed");
	close(cfd);
	close(afd);
	close(lfd);
	wfguard_bpf__destroy(cli);
	wfguard_bpf__destroy(srv);
}

#include "loader.h"
#include "pump.h"

/* A side whose machine pads 3 ms after every packet it sends. */
static void pad_after_send_policy(struct wfg_policy *pol, int server)
{
	static struct wfg_side_builder sb;
	struct wfg_action_spec pad = { .kind = WFG_ACT_PADDING, .timeout = wfg_dist_const(3000) };
	int s0, s1;

	memset(pol, 0, sizeof(*pol));
	wfg_sb_init(&sb, &pol->side);
	pol->side.shape.mode = WFG_SHAPE_PAD_TO;
	pol->side.shape.size = PAD;
	pol->side.shape.max = 1400;
	pol->side.cover_size = PAD;
	if (!server) {
		zoo_check(&sb, wfg_sb_machine(&sb, &zoo_unlimited), "m");
		s0 = wfg_sb_state(&sb);
		s1 = wfg_sb_state(&sb);
		zoo_check(&sb, wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_SENT, (__u32)s1, 1.0), "t");
		zoo_check(&sb, wfg_sb_action(&sb, s1, &pad), "a");
		zoo_check(&sb, wfg_sb_trans(&sb, s1, WFG_EV_PADDING_SENT, (__u32)s0, 1.0), "t");
	}
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

static int pump_cb(void *ctx, void *data, size_t len)
{
	struct wfg_pump *p = ctx;

	if (len == sizeof(struct wfg_cover_req))
		wfg_pump_request(p, data);
	return 0;
}

static int count_lines(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	pclose(f);
	return n;
}

/*
 * The controller's path end to end: attach through the loader (pins), the
 * client's timers request covers, the pump sends carriers, the observer sees
 * covers of the shaped size, the server drops them and its application gets
 * only the real datagrams; detach leaves nothing behind.
 */
Test(netns, timer_covers_cross_the_wire_and_detach_cleans_up)
{
	static struct wfg_policy cpol, spol;
	struct wfg_ctl ctl = { .keys = { { 9, 10 }, { 11, 12 } } };
	struct wfg_attach_opts ao = { .xdp_mode = WFG_XDP_SKB };
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	__u64 cstats[WFG_STAT__COUNT], sstats[WFG_STAT__COUNT];
	struct wfg_pump pump = { .fd4 = -1, .fd6 = -1 };
	struct ring_buffer *rb;
	struct wfg_dp cdp, sdp;
	char err[256], cmd[256];
	uint8_t buf[2048];
	int cfd, sfd, obs = wfgt_observer_socket(&topo), i, got = 0, wire = 0, wire_bad = 0;

	pad_after_send_policy(&cpol, 0);
	pad_after_send_policy(&spol, 1);
	for (i = 0; i < 8; i++)
		ctl.master[i] = 0x77u * (__u32)(i + 1);
	enter(NS_C);
	cr_assert_eq(wfg_dp_attach("c0", &cpol, &ctl, &ao, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfg_dp_attach("c0", &cpol, &ctl, &ao, err, sizeof(err)), -EEXIST,
		     "a second attach must be refused");
	cr_assert_eq(wfg_pump_open(&pump, err, sizeof(err)), 0, "%s", err);
	enter(NS_S);
	cr_assert_eq(wfg_dp_attach("s0", &spol, &ctl, &ao, err, sizeof(err)), 0, "%s", err);
	/* pins are per network namespace: open each where it was attached */
	cr_assert_eq(wfg_dp_open("s0", &sdp, err, sizeof(err)), 0, "%s", err);
	enter(NS_C);
	cr_assert_eq(wfg_dp_open("c0", &cdp, err, sizeof(err)), 0, "%s", err);
	enter(NULL);
	rb = ring_buffer__new(cdp.covers_fd, pump_cb, &pump, NULL);
	cr_assert_not_null(rb);

	cfd = udp_socket(NS_C, "10.77.1.1", 5556);
	sfd = udp_socket(NS_S, "10.77.2.1", PORT);
	inet_pton(AF_INET, "10.77.2.1", &srv.sin_addr);
	for (i = 0; i < 200; i++) {
		size_t n = msg_len(i);

		fill(buf, n, i, 0);
		cr_assert_eq(sendto(cfd, buf, n, 0, (struct sockaddr *)&srv, sizeof(srv)),
			     (ssize_t)n);
		ring_buffer__poll(rb, 5); /* 3 ms later the timer asks for a cover */
	}
	for (i = 0; i < 20; i++)
		ring_buffer__poll(rb, 10);
	for (;;) {
		struct pollfd pfd = { .fd = sfd, .events = POLLIN };
		uint8_t want[2048];
		ssize_t r;

		if (poll(&pfd, 1, 200) != 1)
			break;
		r = recv(sfd, buf, sizeof(buf), 0);
		fill(want, msg_len(got), got, 0);
		cr_assert_eq((size_t)r, msg_len(got), "datagram %d: %zd bytes", got, r);
		cr_assert_eq(memcmp(buf, want, (size_t)r), 0, "datagram %d corrupted", got);
		got++;
	}
	cr_assert_eq(got, 200, "the server application got %d of 200", got);
	for (;;) {
		int out, len = observed_udp(obs, &out);

		if (len < 0)
			break;
		if (out)
			continue; /* towards the client: not what the client sent */
		wire++;
		wire_bad += len != PAD;
	}
	cr_assert_eq(wfg_dp_stats(&cdp, cstats, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfg_dp_stats(&sdp, sstats, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(pump.sent, 50, "the pump sent %llu carriers", pump.sent);
	cr_assert_eq(cstats[WFG_STAT_COVERS_SENT], pump.sent);
	cr_assert_eq(sstats[WFG_STAT_COVERS_RECEIVED], pump.sent, "server dropped %llu of %llu",
		     (unsigned long long)sstats[WFG_STAT_COVERS_RECEIVED], pump.sent);
	cr_assert_eq(wire, 200 + (int)pump.sent, "observer saw %d client packets", wire);
	cr_assert_eq(wire_bad, 0, "%d client packets on the wire were not %d bytes", wire_bad, PAD);

	ring_buffer__free(rb);
	wfg_dp_close(&cdp);
	wfg_dp_close(&sdp);
	wfg_pump_close(&pump);
	close(cfd);
	close(sfd);
	close(obs);
	enter(NS_C);
	cr_assert_eq(wfg_dp_detach("c0", err, sizeof(err)), 0, "%s", err);
	enter(NS_S);
	cr_assert_eq(wfg_dp_detach("s0", err, sizeof(err)), 0, "%s", err);
	cr_assert_not(wfg_dp_attached("s0"));
	enter(NS_C);
	cr_assert_not(wfg_dp_attached("c0"));
	enter(NULL);
	snprintf(cmd, sizeof(cmd), "ip -n %s link show c0 | grep -i xdp", NS_C);
	cr_assert_eq(count_lines(cmd), 0, "XDP left on c0");
	snprintf(cmd, sizeof(cmd), "tc -n %s qdisc show dev c0 | grep clsact", NS_C);
	cr_assert_eq(count_lines(cmd), 0, "clsact left on c0");
	snprintf(cmd, sizeof(cmd), "tc -n %s filter show dev s0 egress", NS_S);
	cr_assert_eq(count_lines(cmd), 0, "filters left on s0");
	/* and it can be attached again */
	enter(NS_C);
	cr_assert_eq(wfg_dp_attach("c0", &cpol, &ctl, &ao, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfg_dp_detach("c0", err, sizeof(err)), 0, "%s", err);
	enter(NULL);
}

/* A PID no process has now (a child that has been reaped). */
static pid_t dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	cr_assert_gt(p, 0);
	waitpid(p, NULL, 0);
	return p;
}

static bool netns_exists(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

/* The POST_ALL sweep removes what dead workers left, and nothing of a live one. */
Test(netns_sweep, removes_only_what_dead_pids_left, .timeout = 60)
{
	char dead_ns[64], live_ns[64], dead_dir[PATH_MAX];
	pid_t dead = dead_pid();
	struct stat st;

	if (geteuid() != 0)
		cr_skip_test("namespace tests need root");
	snprintf(dead_ns, sizeof(dead_ns), "wfgsweep-c%d", (int)dead);
	snprintf(live_ns, sizeof(live_ns), "wfgsweep-c%d", (int)getpid());
	snprintf(dead_dir, sizeof(dead_dir), "/tmp/wfgsweep-%d-test", (int)dead);
	cr_assert_eq(sh("ip netns add %s && ip netns add %s", dead_ns, live_ns), 0);
	cr_assert_eq(mkdir(dead_dir, 0700), 0);
	cr_assert_eq(wfgt_sweep_dead("wfgsweep"), 2);
	cr_assert(!netns_exists(dead_ns), "%s left", dead_ns);
	cr_assert(stat(dead_dir, &st) != 0, "%s left", dead_dir);
	cr_assert(netns_exists(live_ns), "the live worker's %s removed", live_ns);
	sh("ip netns del %s", live_ns);
}
