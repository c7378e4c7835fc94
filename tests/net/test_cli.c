// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The real `wfguard` binary, driven as an operator would drive it: three
 * namespaces (client -- observer -- server) joined by veth, and every
 * command run with `ip netns exec`. attach/stats/flows, live policy swaps
 * under load, a refused second attach, detach leaving nothing, the daemon
 * surviving kill -9 and resuming covers, and capture traces that agree with
 * the counters.
 *
 * Each test runs in its own process with its own mount namespace, where a
 * private bpffs holds the pins (WFGUARD_PIN_ROOT): `ip netns exec` hides
 * /sys/fs/bpf, and parallel tests must not share pins. Needs root, ip(8),
 * tc(8) and the binary (WFGUARD_BIN, default build/wfguard); skips otherwise.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "trace.h"
#include "wfguard/core/wire.h"
#include "netns.h"
#include "prom.h"

#define PORT  4433
#define CPORT 5555
#define PAD   1000

static struct wfgt_topo topo;
#define NS_C topo.c
#define NS_S topo.s
static char tmp[PATH_MAX], bin[PATH_MAX], pins[PATH_MAX + 32];
static char out_buf[1 << 16], err_buf[1 << 16];
static int bpffs_mounted;
static pid_t ns_holder; /* a process holding an unnamed network namespace, killed at teardown */

/* ------------------------------------------------------------ plumbing */

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
}

/* Run `wfguard ARGS` in namespace ns; stdout/stderr into out_buf/err_buf; the exit code. */
static int wfg(const char *ns, const char *fmt, ...)
{
	char args[2048], o[PATH_MAX + 16], e[PATH_MAX + 16];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(o, sizeof(o), "%s/stdout", tmp);
	snprintf(e, sizeof(e), "%s/stderr", tmp);
	rc = sh("cd %s && ip netns exec %s %s %s >%s 2>%s", tmp, ns, bin, args, o, e);
	slurp(o, out_buf, sizeof(out_buf));
	slurp(e, err_buf, sizeof(err_buf));
	return rc;
}

/* `wfguard ARGS` in the background (ip netns exec execs it: the pid is wfguard's). */
static pid_t spawn(const char *ns, const char *log, const char *const *args)
{
	const char *argv[16] = { "ip", "netns", "exec", ns, bin };
	pid_t pid;
	int i, fd;

	for (i = 0; args[i] && i < 10; i++)
		argv[5 + i] = args[i];
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (chdir(tmp))
			_exit(126);
		execvp("ip", (char **)argv);
		_exit(127);
	}
	return pid;
}

/* Wait until `log` contains `text`; 0 or -1 after timeout_ms. */
static int wait_text(const char *log, const char *text, int timeout_ms)
{
	static char buf[1 << 16];
	int t;

	for (t = 0; t < timeout_ms; t += 20) {
		slurp(log, buf, sizeof(buf));
		if (strstr(buf, text))
			return 0;
		usleep(20000);
	}
	return -1;
}

static int reap(pid_t pid, int timeout_ms)
{
	int st, t;

	for (t = 0; t < timeout_ms; t += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* A number in wfguard's flat JSON: "key":N. */
static unsigned long long jnum(const char *json, const char *key)
{
	char pat[96];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	cr_assert_not_null(p, "no %s in %s", key, json);
	return strtoull(p + strlen(pat), NULL, 10);
}

struct stats {
	unsigned long long pkts_seen, matched, shaped, stripped, covers_requested, covers_sent,
		covers_received, passed_unverified, capture_lost, err_contended, pad_pool_used;
	char raw[4096];
};

static void stats(const char *ns, const char *dev, struct stats *s)
{
	cr_assert_eq(wfg(ns, "stats %s --json", dev), 0, "stats %s: %s", dev, err_buf);
	snprintf(s->raw, sizeof(s->raw), "%.4000s", out_buf);
	s->pkts_seen = jnum(out_buf, "pkts_seen");
	s->matched = jnum(out_buf, "matched");
	s->shaped = jnum(out_buf, "shaped");
	s->stripped = jnum(out_buf, "stripped");
	s->covers_requested = jnum(out_buf, "covers_requested");
	s->covers_sent = jnum(out_buf, "covers_sent");
	s->covers_received = jnum(out_buf, "covers_received");
	s->passed_unverified = jnum(out_buf, "passed_unverified");
	s->capture_lost = jnum(out_buf, "capture_lost");
	s->err_contended = jnum(out_buf, "err_contended");
	s->pad_pool_used = jnum(out_buf, "pad_pool_used");
}

/* ------------------------------------------------------------ fixture */

static void write_file(const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/*
 * Policies, from each end's point of view. "pad": every datagram to PAD
 * bytes. "cover": the same, and the client pads 3 ms after each packet it
 * sends (a timer: the pump makes the cover). "buckets": another valid shape,
 * for live swaps. "bad": two errors.
 */
static void write_policies(void)
{
	static const char *const ends[2][3] = {
		{ "client", "remote_port", "client" },
		{ "server", "local_port", "server" },
	};
	static const char machine[] = "cover_size: 1000\n"
				      "defence:\n"
				      "  - machine:\n"
				      "      name: pad-after-send\n"
				      "      side: client\n"
				      "      states:\n"
				      "        - name: idle\n"
				      "          on: {normal_sent: pad}\n"
				      "        - name: pad\n"
				      "          action: {type: padding, timeout: 3000}\n"
				      "          on: {padding_sent: idle}\n";
	char text[2048], name[64];
	int i;

	for (i = 0; i < 2; i++) {
		const char *head = "version: 1\nrole: %s\nmatch:\n  - family: 4\n    %s: %d\n"
				   "shim:\n  keys: keys\n";

		snprintf(text, sizeof(text), head, ends[i][0], ends[i][1], PORT);
		strcat(text, "shape: {mode: pad_to, size: 1000, limit: 1400}\n");
		snprintf(name, sizeof(name), "%s-pad.yaml", ends[i][2]);
		write_file(name, text);
		strcat(text, machine);
		snprintf(name, sizeof(name), "%s-cover.yaml", ends[i][2]);
		write_file(name, text);
		snprintf(text, sizeof(text), head, ends[i][0], ends[i][1], PORT);
		strcat(text, "shape:\n  mode: buckets\n  buckets: [600, 1200]\n  limit: 1400\n");
		snprintf(name, sizeof(name), "%s-buckets.yaml", ends[i][2]);
		write_file(name, text);
	}
	write_file("bad.yaml", "version: 1\nrole: client\nmatch:\n  - remote_port: 4433\n"
			       "shape:\n  mode: pad_to\n  sizee: 1000\n");
}

static void setup(void)
{
	const char *b = getenv("WFGUARD_BIN");
	int pid = getpid();

	if (geteuid() != 0)
		cr_skip_test("namespace tests need root");
	if (sh("command -v ip >/dev/null && command -v tc >/dev/null") != 0)
		cr_skip_test("iproute2 (ip, tc) is not installed");
	if (!realpath(b && b[0] ? b : "build/wfguard", bin))
		cr_skip_test("no wfguard binary at %s (set WFGUARD_BIN)",
			     b && b[0] ? b : "build/wfguard");
	snprintf(tmp, sizeof(tmp), "/tmp/wfgcli-%d-XXXXXX", pid);
	cr_assert_not_null(mkdtemp(tmp));
	wfgt_private_pins(tmp, pins);
	bpffs_mounted = 1;

	wfgt_topo_name(&topo, "wfgcli", 78);
	netns_save_root();
	cr_assert_eq(wfgt_topo_create(&topo), 0, "could not build the namespaces");
	write_policies();
	cr_assert_eq(wfg(NS_C, "keys generate keys"), 0, "keys: %s", err_buf);
}

static void fillers_kill(void);
static char reuse_ns[64];

static void teardown(void)
{
	fillers_kill();
	if (reuse_ns[0])
		sh("ip netns delete %s 2>/dev/null", reuse_ns);
	reuse_ns[0] = 0;
	if (ns_holder > 0)
		kill(ns_holder, SIGKILL);
	ns_holder = 0;
	netns_go_home();
	wfgt_topo_destroy(&topo);
	if (bpffs_mounted) {
		wfgt_private_pins_umount(tmp);
		bpffs_mounted = 0;
	}
	if (tmp[0] && strstr(tmp, "/tmp/wfgcli-") == tmp)
		sh("rm -rf %s", tmp);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

/* A worker that died before its .fini (a timeout, a signal) left its namespaces
 * and scratch directory: the parent removes those of dead PIDs after the run. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	wfgt_sweep_dead("wfgcli");
}

static void attach_both(const char *kind)
{
	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-%s.yaml", kind), 0, "attach c0: %s",
		     err_buf);
	cr_assert_eq(wfg(NS_S, "attach s0 --policy server-%s.yaml --xdp-mode skb", kind), 0,
		     "attach s0: %s", err_buf);
}

/* ------------------------------------------------------------ traffic */

static size_t msg_len(unsigned i)
{
	return 4 + (size_t)(i * 37 % 890); /* 4..893: below PAD - trailer */
}

static void fill(uint8_t *b, size_t n, unsigned i, int dir)
{
	size_t j;

	memcpy(b, &i, 4);
	for (j = 4; j < n; j++)
		b[j] = (uint8_t)(i * 131 + j * 7 + (unsigned)dir);
}

/* One datagram from the client and its echo; counts what came back intact. */
struct exchange {
	int cfd, sfd;
	int server_got, client_got, corrupt;
};

static void exchange_open(struct exchange *x)
{
	memset(x, 0, sizeof(*x));
	x->cfd = udp_socket(NS_C, "10.78.1.1", CPORT);
	x->sfd = udp_socket(NS_S, "10.78.2.1", PORT);
}

static void exchange_close(struct exchange *x)
{
	close(x->cfd);
	close(x->sfd);
}

static int recv_within(int fd, uint8_t *buf, size_t len, struct sockaddr_in *from, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t fl = sizeof(*from);

	if (poll(&p, 1, ms) != 1)
		return -1;
	return (int)recvfrom(fd, buf, len, 0, (struct sockaddr *)from, &fl);
}

static void exchange(struct exchange *x, unsigned first, unsigned n, int gap_us)
{
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(PORT) }, from;
	uint8_t buf[2048], want[2048];
	unsigned i;
	int r;

	inet_pton(AF_INET, "10.78.2.1", &srv.sin_addr);
	for (i = first; i < first + n; i++) {
		size_t len = msg_len(i);

		fill(buf, len, i, 0);
		cr_assert_eq(sendto(x->cfd, buf, len, 0, (struct sockaddr *)&srv, sizeof(srv)),
			     (ssize_t)len);
		r = recv_within(x->sfd, buf, sizeof(buf), &from, 1000);
		if (r < 0)
			continue;
		fill(want, len, i, 0);
		if ((size_t)r == len && !memcmp(buf, want, len))
			x->server_got++;
		else
			x->corrupt++;
		fill(buf, len, i, 1);
		sendto(x->sfd, buf, len, 0, (struct sockaddr *)&from, sizeof(from));
		r = recv_within(x->cfd, buf, sizeof(buf), &from, 1000);
		if (r < 0)
			continue;
		fill(want, len, i, 1);
		if ((size_t)r == len && !memcmp(buf, want, len))
			x->client_got++;
		else
			x->corrupt++;
		if (gap_us)
			usleep((useconds_t)gap_us);
	}
}

/* Client -> server UDP datagrams the observer saw until it was quiet for 100 ms. */
static void observed(int obs, int *count, int *not_pad)
{
	uint8_t buf[2048];

	*count = *not_pad = 0;
	for (;;) {
		struct pollfd pfd = { .fd = obs, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t r;

		if (poll(&pfd, 1, 100) != 1)
			return;
		r = recvfrom(obs, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (r < 28 || from.sll_protocol != htons(0x0800) || buf[9] != 17 ||
		    from.sll_pkttype == PACKET_OUTGOING || (buf[22] << 8 | buf[23]) != PORT)
			continue;
		(*count)++;
		*not_pad += (buf[24] << 8 | buf[25]) - 8 != PAD;
	}
}

/* ------------------------------------------------------------ tests */

Test(cli, attach_stats_flows_and_a_second_attach_is_refused)
{
	struct stats c0, c1, s1;
	struct exchange x;
	char want[128];

	cr_assert_eq(wfg(NS_C, "keys generate keys"), 1, "keys must not overwrite a key file");
	cr_assert_eq(wfg(NS_C, "stats c0 --json"), 3, "not attached yet: exit 3 (%s)", err_buf);
	attach_both("pad");
	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-pad.yaml"), 1, "second attach: exit 1");
	cr_assert_not_null(strstr(err_buf, "already attached"), "stderr: %s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	cr_assert_not_null(strstr(out_buf, "\"attached\":true"), "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "\"xdp_mode\":\"native\""), "%s", out_buf);

	stats(NS_C, "c0", &c0);
	exchange_open(&x);
	exchange(&x, 0, 200, 0);
	exchange_close(&x);
	cr_assert_eq(x.corrupt, 0);
	cr_assert_eq(x.server_got, 200);
	cr_assert_eq(x.client_got, 200);
	stats(NS_C, "c0", &c1);
	stats(NS_S, "s0", &s1);
	cr_assert_eq(c1.shaped - c0.shaped, 200, "client shaped: %s", c1.raw);
	cr_assert_eq(c1.stripped - c0.stripped, 200, "client stripped: %s", c1.raw);
	cr_assert_eq(s1.stripped, 200, "server stripped: %s", s1.raw);
	cr_assert_eq(s1.shaped, 200, "server shaped: %s", s1.raw);
	cr_assert_eq(s1.passed_unverified, 0);

	cr_assert_eq(wfg(NS_C, "flows c0 --json"), 0, "%s", err_buf);
	snprintf(want, sizeof(want), "\"local\":\"10.78.1.1\",\"local_port\":%d", CPORT);
	cr_assert_not_null(strstr(out_buf, want), "flows: %s", out_buf);
	snprintf(want, sizeof(want), "\"remote\":\"10.78.2.1\",\"remote_port\":%d", PORT);
	cr_assert_not_null(strstr(out_buf, want), "flows: %s", out_buf);
	cr_assert_eq(jnum(out_buf, "pkts_out"), 200, "%s", out_buf);
	cr_assert_eq(jnum(out_buf, "pkts_in"), 200, "%s", out_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0);
	cr_assert_eq(wfg(NS_S, "detach s0"), 0);
}

/*
 * A pool policy (docs/policy.md, "pool") through attach and policy apply: the
 * map is sized from the attach policy, flows draw an entry per episode
 * (pool_draws), a later pool larger than that room is refused with the way out
 * and changes nothing, and attach --pool-max makes the room.
 */
static void write_pool_policy(const char *name, int size)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "version: 1\nrole: client\nmatch:\n  - family: 4\n    remote_port: %d\n"
		 "shim:\n  keys: keys\nshape: {mode: pad_to, size: 1000, limit: 1400}\n"
		 "episode: {idle: 100}\ncover_size: 1000\n"
		 "defence:\n  - preset: front\n    side: server\n"
		 "pool:\n  size: %d\n  vary: {front: {N_s: [2, 40], W_max: [2, 9]}}\n",
		 PORT, size);
	write_file(name, text);
}

Test(cli, pool_policy_attach_apply_and_its_room)
{
	struct exchange x;
	unsigned long long gen;

	write_pool_policy("client-pool8.yaml", 8);
	write_pool_policy("client-pool16.yaml", 16);
	cr_assert_eq(wfg(NS_C, "policy check client-pool8.yaml"), 0, "%s", err_buf);
	cr_assert_not_null(strstr(out_buf, "pool: 8 defences"), "%s", out_buf);
	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-pool8.yaml"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_S, "attach s0 --policy server-pad.yaml --xdp-mode skb"), 0, "%s",
		     err_buf);
	/* 6 exchanges 150 ms apart: the flow's first draw, then one per episode */
	exchange_open(&x);
	exchange(&x, 0, 6, 150000);
	exchange_close(&x);
	cr_assert_eq(x.corrupt, 0);
	cr_assert_eq(x.server_got, 6);
	cr_assert_eq(wfg(NS_C, "stats c0 --json"), 0, "%s", err_buf);
	cr_assert_geq(jnum(out_buf, "pool_draws"), 6, "%s", out_buf);
	cr_assert_eq(jnum(out_buf, "err_pool"), 0, "%s", out_buf);

	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	gen = jnum(out_buf, "generation");
	cr_assert_neq(wfg(NS_C, "policy apply c0 client-pool16.yaml"), 0, "a pool beyond the room");
	cr_assert_not_null(strstr(err_buf, "room for 8"), "%s", err_buf);
	cr_assert_not_null(strstr(err_buf, "--pool-max 16"), "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	cr_assert_eq(jnum(out_buf, "generation"), gen, "a refused apply applied");
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-pool8.yaml"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-pad.yaml"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0);

	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-pad.yaml --pool-max 16"), 0, "%s",
		     err_buf);
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-pool16.yaml"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "attach c1 --policy client-pad.yaml --pool-max 999"), 1);
	cr_assert_not_null(strstr(err_buf, "--pool-max: 2..256"), "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0);
	cr_assert_eq(wfg(NS_S, "detach s0"), 0);
}

/* The sender: numbered datagrams, at most WINDOW ahead of the receiver. */
#define WINDOW 64
struct load {
	int cfd, sfd;
	volatile int stop;
	volatile unsigned sent, got, corrupt, out_of_order, stalls;
};

static void *load_send(void *arg)
{
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct load *l = arg;
	uint8_t buf[2048];
	cpu_set_t one;
	int wait;

	/* One CPU: a sender that migrates queues its datagrams on two CPUs' backlogs,
	 * which veth may deliver out of order (seen under qemu); wfguard must not. */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
	inet_pton(AF_INET, "10.78.2.1", &srv.sin_addr);
	while (!l->stop) {
		size_t n = msg_len(l->sent);

		for (wait = 0; l->sent - l->got >= WINDOW && wait < 2000; wait++)
			usleep(1000);
		if (wait == 2000) { /* 2 s without progress: lost */
			l->stalls++;
			break;
		}
		fill(buf, n, l->sent, 0);
		if (sendto(l->cfd, buf, n, 0, (struct sockaddr *)&srv, sizeof(srv)) != (ssize_t)n)
			break;
		__atomic_add_fetch(&l->sent, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void *load_recv(void *arg)
{
	struct load *l = arg;
	uint8_t buf[2048], want[2048];
	struct sockaddr_in from;

	for (;;) {
		int r = recv_within(l->sfd, buf, sizeof(buf), &from, 500);
		unsigned seq;

		if (r < 0) {
			if (l->stop && l->got == l->sent)
				break;
			if (l->stop)
				break; /* 500 ms quiet after the end: the rest is lost */
			continue;
		}
		memcpy(&seq, buf, 4);
		if (seq != l->got)
			l->out_of_order++;
		fill(want, msg_len(seq), seq, 0);
		if ((size_t)r != msg_len(seq) || memcmp(buf, want, (size_t)r))
			l->corrupt++;
		__atomic_add_fetch(&l->got, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

Test(cli, policy_apply_under_load_loses_nothing_and_a_bad_file_changes_nothing)
{
	static const char *const files[2] = { "client-buckets.yaml", "client-pad.yaml" };
	struct load l = { 0 };
	pthread_t ts, tr;
	struct stats b0, b1;
	unsigned long long gen0, gen1, slot1;
	char status0[1024];
	regex_t re;
	int i;

	attach_both("pad");
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	gen0 = jnum(out_buf, "generation");
	l.cfd = udp_socket(NS_C, "10.78.1.1", CPORT);
	l.sfd = udp_socket(NS_S, "10.78.2.1", PORT);
	cr_assert_eq(pthread_create(&tr, NULL, load_recv, &l), 0);
	cr_assert_eq(pthread_create(&ts, NULL, load_send, &l), 0);
	usleep(100000);
	for (i = 0; i < 6; i++) {
		unsigned before = l.sent;

		cr_assert_eq(wfg(NS_C, "policy apply c0 %s", files[i & 1]), 0, "apply %d: %s", i,
			     err_buf);
		if (i == 2)
			cr_assert_eq(wfg(NS_S, "policy apply s0 server-buckets.yaml"), 0, "%s",
				     err_buf);
		/* traffic really flowed across the swap */
		for (int w = 0; w < 200 && l.sent < before + 50; w++)
			usleep(5000);
		cr_assert_geq(l.sent, before + 50, "the load stalled after apply %d", i);
	}
	l.stop = 1;
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	cr_assert_eq(l.stalls, 0, "the sender stalled: %u of %u arrived", l.got, l.sent);
	cr_assert_eq(l.got, l.sent, "%u of %u datagrams arrived", l.got, l.sent);
	cr_assert_eq(l.corrupt, 0, "%u corrupted", l.corrupt);
	cr_assert_eq(l.out_of_order, 0, "%u out of order", l.out_of_order);
	cr_assert_gt(l.sent, 300);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	gen1 = jnum(out_buf, "generation");
	slot1 = jnum(out_buf, "slot");
	cr_assert_eq(gen1, gen0 + 6, "generation %llu after 6 applies from %llu", gen1, gen0);
	snprintf(status0, sizeof(status0), "%.1000s", out_buf);

	/* A bad file: rejected with positions, exit 1, nothing changes. */
	stats(NS_C, "c0", &b0);
	cr_assert_eq(wfg(NS_C, "policy apply c0 bad.yaml"), 1, "bad policy: exit 1 (%s)", err_buf);
	cr_assert_eq(regcomp(&re, "^bad\\.yaml:[0-9]+:[0-9]+: ", REG_EXTENDED | REG_NEWLINE), 0);
	cr_assert_eq(regexec(&re, err_buf, 0, NULL, 0), 0, "no file:line:col in: %s", err_buf);
	regfree(&re);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	cr_assert_str_eq(out_buf, status0, "status changed");
	cr_assert_eq(jnum(out_buf, "slot"), slot1);
	stats(NS_C, "c0", &b1);
	cr_assert_str_eq(b1.raw, b0.raw, "counters moved");
	close(l.cfd);
	close(l.sfd);
}

static int lines(const char *fmt, ...)
{
	char cmd[1024], line[512];
	va_list ap;
	FILE *f;
	int n = 0;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	pclose(f);
	return n;
}

static void assert_nothing_left(const char *ns, const char *dev)
{
	char dir[PATH_MAX + 64];
	struct stat st;

	(void)st;
	snprintf(dir, sizeof(dir), "find %s -name %s", pins, dev);
	cr_assert_eq(lines("%s", dir), 0, "pins of %s are left behind", dev);
	cr_assert_eq(lines("tc -n %s filter show dev %s egress", ns, dev), 0, "filters on %s", dev);
	cr_assert_eq(lines("tc -n %s qdisc show dev %s | grep clsact", ns, dev), 0, "clsact on %s",
		     dev);
	cr_assert_eq(lines("ip -n %s link show %s | grep -i xdp", ns, dev), 0, "XDP on %s", dev);
}

/*
 * UDP GSO in shim mode: attach says what to set (naming the device's
 * tx-udp-segmentation, on or off: neither keeps super-packets from the hook),
 * and once a socket sends one, stats and status say so beside unshaped_gso.
 */
Test(cli, attach_warns_of_udp_gso_and_stats_hint_at_what_to_set)
{
	static const char *const state[] = { "on", "off" };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static char big[1200];
	char want[64];
	int i, fd, seg = 400;

	for (i = 0; i < 2; i++) {
		cr_assert_eq(
			sh("ip netns exec %s ethtool -K c0 tx-udp-segmentation %s", NS_C, state[i]),
			0, "ethtool -K c0 tx-udp-segmentation %s", state[i]);
		cr_assert_eq(wfg(NS_C, "attach c0 --policy client-pad.yaml --xdp-mode skb"), 0,
			     "%s", err_buf);
		cr_assert(strstr(err_buf, "UDP GSO") && strstr(err_buf, "unshaped_gso"), "%s",
			  err_buf);
		cr_assert(strstr(err_buf, state[i] == state[0] ? "tx-udp-segmentation on"
							       : "tx-udp-segmentation off"),
			  "%s", err_buf);
		/* the policy's limit, 1400, minus the shim */
		snprintf(want, sizeof(want), "at or below %d bytes", 1400 - WFG_SHIM_LEN);
		cr_assert(strstr(err_buf, want), "%s", err_buf);
		if (i == 0)
			cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	}
	cr_assert_eq(wfg(NS_C, "stats c0"), 0, "%s", err_buf);
	cr_assert_null(strstr(out_buf, "hint:"), "a hint before any super-packet: %s", out_buf);

	/* One send of 1200 bytes in segments of 400: one skb at the hook. */
	enter(NS_C);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(setsockopt(fd, IPPROTO_UDP, 103 /* UDP_SEGMENT */, &seg, sizeof(seg)), 0, "%s",
		     strerror(errno));
	inet_pton(AF_INET, "10.78.2.1", &to.sin_addr);
	cr_assert_eq(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)),
		     (ssize_t)sizeof(big), "%s", strerror(errno));
	close(fd);
	enter(NULL);

	cr_assert_eq(wfg(NS_C, "stats c0 --json"), 0, "%s", err_buf);
	cr_assert_eq(jnum(out_buf, "unshaped_gso"), 1, "%s", out_buf);
	cr_assert_eq(wfg(NS_C, "stats c0"), 0, "%s", err_buf);
	cr_assert(strstr(out_buf, "hint: 1 GSO super-packets left unshaped") &&
			  strstr(out_buf, "Turn GSO off"),
		  "%s", out_buf);
	cr_assert_eq(wfg(NS_C, "status c0"), 0, "%s", err_buf);
	cr_assert(strstr(out_buf, "hint: 1 GSO super-packets"), "%s", out_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
}

Test(cli, detach_leaves_nothing_and_attach_works_again)
{
	attach_both("pad");
	cr_assert_gt(lines("tc -n %s filter show dev c0 egress", NS_C), 0, "no filter attached");
	cr_assert_gt(lines("ip -n %s link show c0 | grep -i xdp", NS_C), 0, "no XDP attached");
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_S, "detach s0"), 0, "%s", err_buf);
	assert_nothing_left(NS_C, "c0");
	assert_nothing_left(NS_S, "s0");
	cr_assert_eq(wfg(NS_C, "status c0"), 3, "status after detach: exit 3");
	cr_assert_eq(wfg(NS_C, "detach c0"), 3, "a second detach: exit 3");
	/* again, the other XDP mode on the client */
	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-pad.yaml --xdp-mode skb"), 0, "%s",
		     err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	cr_assert_not_null(strstr(out_buf, "\"xdp_mode\":\"skb\""), "%s", out_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	assert_nothing_left(NS_C, "c0");
	cr_assert_eq(wfg(NS_C, "attach c0 --policy nonexistent.yaml"), 1);
	cr_assert_eq(wfg(NS_C, "attach nosuchdev --policy client-pad.yaml"), 1, "%s", err_buf);
}

/*
 * `policy apply` checks what attach checks: a policy that delays packets needs
 * sch_fq. Where fq cannot be had (this host), apply refuses and the running
 * policy stays; where it can (the vmtest guest), apply installs it and detach
 * removes it.
 */
Test(cli, policy_apply_of_a_delaying_policy_needs_fq_like_attach)
{
	int have_fq = sh("tc -n %s qdisc replace dev o0 root fq 2>/dev/null && "
			 "tc -n %s qdisc del dev o0 root",
			 topo.o, topo.o) == 0;
	unsigned long long gen;

	write_file("client-pace.yaml", "version: 1\nrole: client\nmatch:\n  - remote_port: 4433\n"
				       "shim:\n  keys: keys\ndefence:\n  - preset: tamaraw\n");
	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-pad.yaml"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	gen = jnum(out_buf, "generation");
	if (!have_fq) {
		cr_assert_neq(wfg(NS_C, "policy apply c0 client-pace.yaml"), 0,
			      "applied a pacing policy without sch_fq: %s", out_buf);
		cr_assert_not_null(strstr(err_buf, "sch_fq"), "%s", err_buf);
		cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
		cr_assert_eq(jnum(out_buf, "generation"), gen, "the refused policy went live");
	} else {
		cr_assert_eq(wfg(NS_C, "policy apply c0 client-pace.yaml"), 0, "%s", err_buf);
		cr_assert_eq(lines("tc -n %s qdisc show dev c0 root | grep -w fq", NS_C), 1,
			     "no sch_fq after apply");
		cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
		cr_assert_not_null(strstr(out_buf, "\"fq\":true"), "%s", out_buf);
	}
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	cr_assert_eq(lines("tc -n %s qdisc show dev c0 root | grep -w fq", NS_C), 0,
		     "detach left sch_fq");
}

/*
 * With no bpffs on /sys/fs/bpf and no way to tell whether a bpffs mounted here
 * would outlive wfguard (no /proc/1), attach refuses before touching the
 * device, instead of pinning into a mount that vanishes.
 */
Test(cli, attach_refuses_when_its_pins_might_vanish)
{
	char out[PATH_MAX + 16], policy[PATH_MAX + 32], netns[128];
	int st, fd;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(policy, sizeof(policy), "%s/client-pad.yaml", tmp);
	snprintf(netns, sizeof(netns), "/var/run/netns/%s", NS_C);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* a mount namespace of its own with no bpffs and no /proc/1 */
		const char *argv[] = { bin, "attach", "c0", "--policy", policy, NULL };
		int ns = open(netns, O_RDONLY);

		if (ns < 0 || unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(120);
		umount2("/sys/fs/bpf", MNT_DETACH);
		if (mount("none", "/proc", "tmpfs", 0, NULL) || setns(ns, CLONE_NEWNET))
			_exit(121);
		unsetenv("WFGUARD_PIN_ROOT");
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(122);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(bin, (char **)argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	slurp(out, out_buf, sizeof(out_buf));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2,
		  "attach with pins that might vanish: exit 2, got %d: %s", WEXITSTATUS(st),
		  out_buf);
	cr_assert_not_null(strstr(out_buf, "cannot be told"), "%s", out_buf);
	cr_assert_eq(lines("tc -n %s filter show dev c0 egress", NS_C), 0,
		     "the device was touched");
}

/* Interface names are per namespace: two namespaces attach their own x0. */
Test(cli, two_namespaces_each_attach_their_own_device_of_one_name)
{
	const char *ns[2] = { NS_C, NS_S };
	int i;

	for (i = 0; i < 2; i++) {
		cr_assert_eq(sh("ip -n %s link add x0 type veth peer name x0p && "
				"ip -n %s link set x0 up && ip -n %s link set x0p up",
				ns[i], ns[i], ns[i]),
			     0);
		cr_assert_eq(wfg(ns[i], "attach x0 --policy client-pad.yaml"), 0,
			     "attach in %s: %s", ns[i], err_buf);
	}
	cr_assert_eq(wfg(NS_S, "status x0"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "detach x0"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status x0"), 3, "detached in %s: %s", NS_C, out_buf);
	cr_assert_eq(wfg(NS_S, "status x0"), 0, "the other namespace's x0 went too: %s", err_buf);
	cr_assert_eq(lines("tc -n %s filter show dev x0 egress | grep wfg_egress", NS_S), 1,
		     "the other namespace's programs went too");
	cr_assert_eq(wfg(NS_S, "detach x0"), 0, "%s", err_buf);
	assert_nothing_left(NS_S, "x0");
}

/* Shim mode without the shared key is refused; a throwaway key only by name. */
Test(cli, attach_without_a_key_is_refused_unless_ephemeral)
{
	write_file("nokeys.yaml", "version: 1\nrole: client\nmatch:\n  - remote_port: 4433\n"
				  "shape: {mode: pad_to, size: 1000, limit: 1400}\n");
	cr_assert_eq(wfg(NS_C, "attach c0 --policy nokeys.yaml"), 1, "attach without a key");
	cr_assert_not_null(strstr(err_buf, "no key file"), "%s", err_buf);
	cr_assert_neq(wfg(NS_C, "status c0"), 0, "a refused attach left an attachment");
	cr_assert_eq(wfg(NS_C, "attach c0 --policy nokeys.yaml --keys keys --ephemeral-key"), 1);
	cr_assert_eq(wfg(NS_C, "attach c0 --policy nokeys.yaml --ephemeral-key"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
}

/*
 * The daemon ends with its attachment (detach, or the device deleted), and a
 * deleted device's pins are reported as left over, not as attached; detach
 * then clears them without touching a new device of the same name.
 */
Test(cli, run_ends_with_its_attachment_and_a_deleted_device_is_stale)
{
	const char *run_args[] = { "run", "c0", NULL };
	char log[PATH_MAX + 16];
	pid_t run;

	snprintf(log, sizeof(log), "%s/run.log", tmp);
	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-cover.yaml"), 0, "%s", err_buf);
	run = spawn(NS_C, log, run_args);
	cr_assert_eq(wait_text(log, "pumping covers", 10000), 0, "run did not start");
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	cr_assert_eq(reap(run, 4000), 0, "run outlived detach (or did not exit 0)");
	cr_assert_eq(wait_text(log, "no longer live (detached)", 100), 0, "run's log says why");

	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-cover.yaml"), 0, "%s", err_buf);
	run = spawn(NS_C, log, run_args);
	cr_assert_eq(wait_text(log, "pumping covers", 10000), 0, "run did not start");
	cr_assert_eq(sh("ip -n %s link del c0", NS_C), 0);
	cr_assert_eq(reap(run, 4000), 0, "run outlived its device");
	cr_assert_eq(wait_text(log, "the device is gone", 100), 0, "run's log says why");
	cr_assert_eq(wfg(NS_C, "status c0"), 3, "status of a deleted device: %s", out_buf);
	cr_assert_not_null(strstr(err_buf, "the device is gone"), "%s", err_buf);
	cr_assert_not_null(strstr(err_buf, "wfguard detach c0"), "%s", err_buf);

	/* a namesake appears: still stale, and detach leaves it alone */
	cr_assert_eq(sh("ip -n %s link add c0 type veth peer name c0peer && "
			"tc -n %s qdisc add dev c0 clsact",
			NS_C, NS_C),
		     0);
	cr_assert_eq(wfg(NS_C, "status c0"), 3, "status: %s", out_buf);
	cr_assert_not_null(strstr(err_buf, "replaced"), "%s", err_buf);
	/* stale pins do not block an attach to the namesake */
	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-cover.yaml"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	cr_assert_eq(lines("tc -n %s qdisc show dev c0 | grep clsact", NS_C), 1,
		     "detach removed a clsact it did not create");
	cr_assert_eq(wfg(NS_C, "status c0"), 3);
	cr_assert_null(strstr(err_buf, "left over"), "pins still there: %s", err_buf);
}

Test(cli, run_survives_kill_9_and_a_restart_resumes_covers)
{
	const char *run_args[] = { "run", "c0", NULL };
	char log[PATH_MAX + 16];
	struct stats c0, c1, c2, c3, s3;
	struct exchange x;
	int obs = wfgt_observer_socket(&topo), seen, bad;
	pid_t run;

	snprintf(log, sizeof(log), "%s/run.log", tmp);
	attach_both("cover");
	run = spawn(NS_C, log, run_args);
	cr_assert_eq(wait_text(log, "pumping covers", 10000), 0, "run did not start");
	exchange_open(&x);
	stats(NS_C, "c0", &c0);
	exchange(&x, 0, 50, 5000);
	usleep(200000);
	stats(NS_C, "c0", &c1);
	cr_assert_geq(c1.covers_sent - c0.covers_sent, 5, "the pump sent %llu covers",
		      c1.covers_sent - c0.covers_sent);
	cr_assert_geq(c1.pad_pool_used - c0.pad_pool_used, 50,
		      "run keeps the padding pool filled: %llu of 50 datagrams padded from it",
		      c1.pad_pool_used - c0.pad_pool_used);

	kill(run, SIGKILL);
	reap(run, 5000);
	exchange(&x, 50, 50, 5000);
	usleep(200000);
	stats(NS_C, "c0", &c2);
	cr_assert_eq(x.server_got, 100, "traffic after kill -9: %d of 100", x.server_got);
	cr_assert_eq(x.client_got, 100);
	cr_assert_eq(c2.covers_sent, c1.covers_sent, "covers without a pump?");
	cr_assert_gt(c2.covers_requested, c1.covers_requested, "the timers stopped");
	cr_assert_eq(wfg(NS_C, "status c0"), 0, "the programs went away: %s", err_buf);

	run = spawn(NS_C, log, run_args);
	cr_assert_eq(wait_text(log, "pumping covers", 10000), 0, "run did not restart");
	exchange(&x, 100, 50, 5000);
	usleep(200000);
	stats(NS_C, "c0", &c3);
	stats(NS_S, "s0", &s3);
	kill(run, SIGTERM);
	cr_assert_eq(reap(run, 5000), 0, "run: SIGTERM should exit 0");
	exchange_close(&x);
	cr_assert_eq(x.corrupt, 0);
	cr_assert_eq(x.server_got, 150);
	cr_assert_geq(c3.covers_sent - c2.covers_sent, 5, "after the restart: %llu covers",
		      c3.covers_sent - c2.covers_sent);
	/* every cover crossed the wire at the shaped size and the server dropped it */
	cr_assert_eq(s3.covers_received, c3.covers_sent, "server dropped %llu of %llu covers",
		     s3.covers_received, c3.covers_sent);
	observed(obs, &seen, &bad);
	close(obs);
	cr_assert_eq((unsigned long long)seen, 150 + c3.covers_sent, "observer: %d packets", seen);
	cr_assert_eq(bad, 0, "%d client packets were not %d bytes", bad, PAD);
}

/* A capture directory: its index and its one flow, read back with the harness's reader. */
struct cap {
	char index[8192];
	struct wfb_trace t;
	int flows;
	size_t plus_real, plus_cover, minus_real, minus_cover, plus_not_pad;
};

static void read_capture(const char *dir, struct cap *c)
{
	char path[PATH_MAX + 300], err[256];
	struct dirent *e;
	DIR *d;
	FILE *f;
	size_t i;

	memset(c, 0, sizeof(*c));
	wfb_trace_init(&c->t);
	snprintf(path, sizeof(path), "%s/index", dir);
	slurp(path, c->index, sizeof(c->index));
	cr_assert_not_null(strstr(c->index, "format=wfguard-capture v1\n"), "index: %s", c->index);
	d = opendir(dir);
	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".trace"))
			continue;
		c->flows++;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		cr_assert_not_null(f);
		cr_assert_eq(wfb_read_native(f, path, &c->t, err, sizeof(err)), 0, "%s", err);
		fclose(f);
	}
	closedir(d);
	for (i = 0; i < c->t.n; i++) {
		const struct wfb_pkt *p = &c->t.pkts[i];

		if (p->dir == WFB_OUT) {
			c->plus_real += p->kind == WFB_REAL;
			c->plus_cover += p->kind == WFB_COVER;
			c->plus_not_pad += p->size != PAD;
		} else {
			c->minus_real += p->kind == WFB_REAL;
			c->minus_cover += p->kind == WFB_COVER;
		}
	}
}

Test(cli, capture_traces_match_the_datagrams_and_the_cover_counters)
{
	const char *run_args[] = { "run", "c0", NULL };
	const char *capc_args[] = { "capture", "c0", "-o", "capc", NULL };
	const char *caps_args[] = { "capture", "s0", "-o", "caps", "--role", "server", NULL };
	char rlog[PATH_MAX + 16], clog[PATH_MAX + 16], slog[PATH_MAX + 16], dir[PATH_MAX + 16];
	struct stats c0, c1, s0, s1;
	struct exchange x;
	struct cap cc, sc;
	pid_t run, capc, caps;

	snprintf(rlog, sizeof(rlog), "%s/run.log", tmp);
	snprintf(clog, sizeof(clog), "%s/capc.log", tmp);
	snprintf(slog, sizeof(slog), "%s/caps.log", tmp);
	cr_assert_eq(wfg(NS_C, "capture c0 -o capx --duration 1"), 3, "not attached: exit 3");
	attach_both("cover");
	run = spawn(NS_C, rlog, run_args);
	cr_assert_eq(wait_text(rlog, "pumping covers", 10000), 0, "run did not start");
	capc = spawn(NS_C, clog, capc_args);
	caps = spawn(NS_S, slog, caps_args);
	cr_assert_eq(wait_text(clog, "capturing on c0", 10000), 0, "capture c0 did not start");
	cr_assert_eq(wait_text(slog, "capturing on s0", 10000), 0, "capture s0 did not start");
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	cr_assert_eq(jnum(out_buf, "capture_pid"), (unsigned long long)capc);
	/* one capture at a time */
	cr_assert_eq(wfg(NS_C, "capture c0 -o capy --duration 1"), 1, "second capture: exit 1");
	cr_assert_not_null(strstr(err_buf, "already running"), "%s", err_buf);

	stats(NS_C, "c0", &c0);
	stats(NS_S, "s0", &s0);
	exchange_open(&x);
	exchange(&x, 0, 100, 2000);
	exchange_close(&x);
	usleep(300000); /* the last covers */
	stats(NS_C, "c0", &c1);
	stats(NS_S, "s0", &s1);
	kill(capc, SIGTERM);
	kill(caps, SIGINT);
	cr_assert_eq(reap(capc, 10000), 0, "capture c0 exit");
	cr_assert_eq(reap(caps, 10000), 0, "capture s0 exit");
	kill(run, SIGTERM);
	reap(run, 5000);
	cr_assert_eq(x.server_got, 100);
	cr_assert_eq(x.client_got, 100);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	cr_assert_eq(jnum(out_buf, "capture_pid"), 0, "the capture flag stayed set");
	cr_assert_gt(c1.covers_sent - c0.covers_sent, 25);

	snprintf(dir, sizeof(dir), "%s/capc", tmp);
	read_capture(dir, &cc);
	cr_assert_eq(cc.flows, 1, "client flows: %d (%s)", cc.flows, cc.index);
	cr_assert_not_null(strstr(cc.index, "\nrole=client\n"), "%s", cc.index);
	cr_assert_not_null(strstr(cc.index, "\nlost=0\n"), "%s", cc.index);
	cr_assert_eq(cc.plus_real, 100, "client trace: %zu real out", cc.plus_real);
	cr_assert_eq(cc.minus_real, 100, "client trace: %zu real in", cc.minus_real);
	cr_assert_eq(cc.plus_cover, c1.covers_sent - c0.covers_sent, "client covers %zu vs %llu",
		     cc.plus_cover, c1.covers_sent - c0.covers_sent);
	cr_assert_eq(cc.minus_cover, 0);
	/* Even a packet whose flow was busy on another CPU (the pump's carrier, a timer,
	 * the receive path; common under qemu's TCG) leaves padded. */
	cr_assert_eq(cc.plus_not_pad, 0, "%zu packets out not %d bytes (%llu contended)",
		     cc.plus_not_pad, PAD, c1.err_contended - c0.err_contended);
	cr_assert_eq(wfb_trace_check(&cc.t, NULL, 0), 0, "times go backwards");

	snprintf(dir, sizeof(dir), "%s/caps", tmp);
	read_capture(dir, &sc);
	cr_assert_eq(sc.flows, 1, "server flows: %d (%s)", sc.flows, sc.index);
	cr_assert_eq(sc.plus_real, 100, "server trace: %zu real in", sc.plus_real);
	cr_assert_eq(sc.minus_real, 100, "server trace: %zu real out", sc.minus_real);
	cr_assert_eq(sc.plus_cover, s1.covers_received - s0.covers_received,
		     "server covers %zu vs %llu", sc.plus_cover,
		     s1.covers_received - s0.covers_received);
	cr_assert_eq(sc.plus_cover, cc.plus_cover);
	cr_assert_eq(sc.plus_not_pad, 0);
	wfb_trace_free(&cc.t);
	wfb_trace_free(&sc.t);

	/* a non-empty output directory is refused before anything starts */
	cr_assert_eq(wfg(NS_C, "capture c0 -o capc --duration 0"), 1, "%s", err_buf);
}

Test(cli, a_capture_killed_with_9_is_taken_over_and_duration_stops_it)
{
	const char *cap_args[] = { "capture", "c0", "-o", "capk", NULL };
	char log[PATH_MAX + 16], dir[PATH_MAX + 16];
	struct cap c;
	pid_t cap;

	snprintf(log, sizeof(log), "%s/capk.log", tmp);
	attach_both("pad");
	cap = spawn(NS_C, log, cap_args);
	cr_assert_eq(wait_text(log, "capturing on c0", 10000), 0, "capture did not start");
	kill(cap, SIGKILL);
	reap(cap, 5000);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	cr_assert_eq(jnum(out_buf, "capture_pid"), (unsigned long long)cap, "%s", out_buf);
	/* a new capture takes over from the dead one, stops on its own, clears the flag */
	cr_assert_eq(wfg(NS_C, "capture c0 -o capd --duration 0.5"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0);
	cr_assert_eq(jnum(out_buf, "capture_pid"), 0, "%s", out_buf);
	snprintf(dir, sizeof(dir), "%s/capd", tmp);
	read_capture(dir, &c);
	cr_assert_eq(c.flows, 0);
	cr_assert_not_null(strstr(c.index, "\nflows=0\n"), "%s", c.index);
	wfb_trace_free(&c.t);
}

/* ------------------------------------------------------------ the command line */

/* A refused command line: exit 1, the reason on stderr, and c0 still attached. */
static void refused(const char *args, const char *why)
{
	cr_assert_eq(wfg(NS_C, "%s", args), 1, "`%s`: exit 1 (%s)", args, err_buf);
	cr_assert_not_null(strstr(err_buf, why), "`%s`: %s", args, err_buf);
	cr_assert_not_null(strstr(err_buf, "--help"), "`%s`: no usage hint: %s", args, err_buf);
	cr_assert_eq(wfg(NS_C, "status c0"), 0, "`%s` changed the attachment: %s", args, err_buf);
}

Test(cli, unknown_options_and_extra_arguments_are_refused_and_every_command_has_help)
{
	static const char *const cmds[] = { "attach", "detach", "status",  "stats", "flows",
					    "policy", "run",	"capture", "keys",  "version" };
	char want[128], first[4096];
	size_t i;

	attach_both("pad");
	refused("detach c0 extra --bogus", "unknown option '--bogus'");
	refused("detach c0 extra", "unexpected argument 'extra'");
	refused("detach -q c0", "unknown option '-q'");
	refused("status c0 s0", "unexpected argument 's0'");
	refused("stats c0 --jsn", "unknown option '--jsn'");
	refused("stats c0 s0 --json", "unexpected argument 's0'");
	refused("flows c0 --json extra", "unexpected argument 'extra'");
	refused("policy apply c0 client-buckets.yaml extra", "unexpected argument 'extra'");
	refused("policy check client-pad.yaml --forse", "unknown option '--forse'");
	refused("run c0 --polcy client-pad.yaml", "unknown option '--polcy'");
	refused("run c0 --policy", "missing the value of option '--policy'");
	refused("attach s0 --policy client-pad.yaml --bogus", "unknown option '--bogus'");
	refused("keys generate k2 extra", "unexpected argument 'extra'");
	cr_assert_neq(access("k2", F_OK), 0, "keys wrote a file despite the extra argument");
	refused("version --bogus", "unknown option '--bogus'");
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	cr_assert_eq(jnum(out_buf, "generation"), 0, "a refused policy apply applied: %s", out_buf);

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(want, sizeof(want), "usage: wfguard %s", cmds[i]);
		cr_assert_eq(wfg(NS_C, "%s --help", cmds[i]), 0, "%s --help: %s", cmds[i], err_buf);
		cr_assert_eq(strncmp(out_buf, want, strlen(want)), 0, "%s --help: %s", cmds[i],
			     out_buf);
	}
	cr_assert_eq(wfg(NS_C, "detach c0 --help"), 0);
	cr_assert_eq(wfg(NS_C, "status c0"), 0, "detach --help detached");

	/* wfguard's version, then libbpf's (the one this test links: the same library) */
	cr_assert_eq(wfg(NS_C, "--version"), 0, "%s", err_buf);
	snprintf(first, sizeof(first), "%.4000s", out_buf);
	cr_assert_eq(strncmp(first, "wfguard ", 8), 0, "%s", first);
	snprintf(want, sizeof(want), "\nlibbpf %s\n", libbpf_version_string());
	cr_assert_not_null(strstr(first, want), "no `%s` in %s", want + 1, first);
	cr_assert_eq(wfg(NS_C, "version"), 0, "%s", err_buf);
	cr_assert_str_eq(out_buf, first, "`version` and `--version` differ");
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_S, "detach s0"), 0, "%s", err_buf);
}

/* Parse wfguard's JSON output: one valid object of the current schema. */
static json_t *parse(const char *what)
{
	json_error_t e;
	json_t *o = json_loads(out_buf, 0, &e);

	cr_assert_not_null(o, "%s: invalid JSON (%s at %d:%d): %s", what, e.text, e.line, e.column,
			   out_buf);
	cr_assert(json_is_object(o), "%s: not an object: %s", what, out_buf);
	cr_assert_eq(json_integer_value(json_object_get(o, "schema")), 1, "%s: schema: %s", what,
		     out_buf);
	return o;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	cr_assert_not_null(s, "no string \"%s\"", key);
	return s;
}

/* A legal interface name with a double quote: every output stays valid. */
Test(cli, json_is_one_versioned_schema_and_names_are_escaped)
{
	const char *dev = "fe\"q", *qdev = "'fe\"q'";
	json_t *o, *v;

	cr_assert_eq(sh("ip -n %s link add %s type veth peer name feqp && ip -n %s link set %s "
			"up && ip -n %s link set feqp up",
			NS_C, qdev, NS_C, qdev, NS_C),
		     0);
	cr_assert_eq(wfg(NS_C, "attach %s --policy client-pad.yaml", qdev), 0, "%s", err_buf);

	cr_assert_eq(wfg(NS_C, "status %s --json", qdev), 0, "%s", err_buf);
	o = parse("status");
	cr_assert_str_eq(jstr(o, "interface"), dev);
	cr_assert(json_is_true(json_object_get(o, "attached")), "%s", out_buf);
	cr_assert_str_eq(jstr(o, "xdp_mode"), "native");
	json_decref(o);

	cr_assert_eq(wfg(NS_C, "stats %s --json", qdev), 0, "%s", err_buf);
	o = parse("stats");
	cr_assert_str_eq(jstr(o, "interface"), dev);
	cr_assert(json_is_integer(json_object_get(o, "pkts_seen")), "%s", out_buf);
	json_decref(o);

	cr_assert_eq(wfg(NS_C, "flows %s --json", qdev), 0, "%s", err_buf);
	o = parse("flows");
	cr_assert_str_eq(jstr(o, "interface"), dev);
	cr_assert(json_is_array(json_object_get(o, "flows")), "%s", out_buf);
	json_decref(o);

	cr_assert_eq(wfg(NS_C, "status --json"), 0, "%s", err_buf);
	o = parse("status (all)");
	v = json_array_get(json_object_get(o, "attachments"), 0);
	cr_assert_not_null(v, "%s", out_buf);
	cr_assert_str_eq(jstr(v, "interface"), dev);
	json_decref(o);

	cr_assert_eq(wfg(NS_C, "stats %s --prometheus", qdev), 0, "%s", err_buf);
	cr_assert_not_null(strstr(out_buf, "{interface=\"fe\\\"q\"}"), "label: %s", out_buf);

	cr_assert_eq(wfg(NS_C, "policy check client-pad.yaml --json"), 0, "%s", err_buf);
	o = parse("policy check");
	cr_assert(json_is_true(json_object_get(o, "ok")), "%s", out_buf);
	cr_assert_eq(json_integer_value(json_object_get(o, "rules")), 1, "%s", out_buf);
	json_decref(o);
	cr_assert_eq(wfg(NS_C, "policy check bad.yaml --json"), 1, "%s", err_buf);
	o = parse("policy check (errors)");
	cr_assert(json_is_false(json_object_get(o, "ok")), "%s", out_buf);
	cr_assert_eq(json_array_size(json_object_get(o, "errors")), 1, "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "bad.yaml:7:3: unknown key 'sizee'"), "%s", out_buf);
	json_decref(o);

	cr_assert_eq(wfg(NS_C, "detach %s", qdev), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status %s --json", qdev), 3);
	o = parse("status (detached)");
	cr_assert(json_is_false(json_object_get(o, "attached")), "%s", out_buf);
	json_decref(o);
}

/*
 * Every counter of `stats --json` in a Prometheus text (a parsed document),
 * by the same value: the one stats table names both.
 */
static void prom_equals_json(const struct prom_doc *doc, json_t *o, const char *dev)
{
	const char *key;
	json_t *v;
	int n = 0;

	json_object_foreach(o, key, v)
	{
		const struct prom_sample *s;
		char name[128];

		if (!strcmp(key, "schema") || !strcmp(key, "interface"))
			continue;
		snprintf(name, sizeof(name), "wfguard_%s_total", key);
		s = prom_find(doc, name);
		cr_assert_not_null(s, "%s of stats --json is not in the metrics", name);
		cr_assert_eq(s->value, (unsigned long long)json_integer_value(v),
			     "%s: %llu vs %lld", name, s->value, (long long)json_integer_value(v));
		cr_assert_str_eq(s->label, dev);
		n++;
	}
	cr_assert_eq(n, doc->n, "%d counters in JSON, %d in the metrics", n, doc->n);
}

/* stats --json twice around fn's output, until the counters stood still (idle device). */
static json_t *quiet_json(const char *dev, void (*fn)(void))
{
	json_t *a = NULL;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		char first[sizeof(out_buf)];

		cr_assert_eq(wfg(NS_C, "stats %s --json", dev), 0, "%s", err_buf);
		snprintf(first, sizeof(first), "%s", out_buf);
		fn();
		cr_assert_eq(wfg(NS_C, "stats %s --json", dev), 0, "%s", err_buf);
		if (!strcmp(first, out_buf))
			return json_loads(out_buf, 0, NULL);
		usleep(200000);
	}
	cr_assert_fail("the counters never stood still: %s", out_buf);
	return a;
}

static char prom_text[1 << 16];

static void stats_prometheus(void)
{
	cr_assert_eq(wfg(NS_C, "stats c0 --prometheus"), 0, "%s", err_buf);
	snprintf(prom_text, sizeof(prom_text), "%s", out_buf);
}

static char textfile[PATH_MAX + 32];

static void read_textfile(void)
{
	FILE *f = fopen(textfile, "r");
	size_t n;

	cr_assert_not_null(f, "%s: %s", textfile, strerror(errno));
	n = fread(prom_text, 1, sizeof(prom_text) - 1, f);
	prom_text[n] = 0;
	fclose(f);
}

Test(cli, prometheus_metrics_and_the_textfile_equal_stats_json)
{
	const char *run_args[] = { "run", "c0", "--textfile", textfile, "--interval", "1", NULL };
	static struct prom_doc doc;
	char log[PATH_MAX + 16], err[256];
	struct exchange x;
	json_t *o;
	pid_t run;
	int t;

	attach_both("pad");
	exchange_open(&x);
	exchange(&x, 0, 50, 0);
	exchange_close(&x);

	o = quiet_json("c0", stats_prometheus);
	cr_assert_gt(json_integer_value(json_object_get(o, "shaped")), 0, "no traffic shaped");
	cr_assert_eq(prom_parse(prom_text, "interface", &doc, err, sizeof(err)), 0, "%s\n%s", err,
		     prom_text);
	prom_equals_json(&doc, o, "c0");
	json_decref(o);

	/* the daemon's textfile: the same document, replaced every second */
	snprintf(textfile, sizeof(textfile), "%s/wfguard.prom", tmp);
	snprintf(log, sizeof(log), "%s/run.log", tmp);
	run = spawn(NS_C, log, run_args);
	for (t = 0; t < 100 && access(textfile, F_OK); t++)
		usleep(50000);
	cr_assert_eq(access(textfile, F_OK), 0, "no textfile after 5 s");
	usleep(1500000); /* one interval more: a rewrite must not leave it half written */
	o = quiet_json("c0", read_textfile);
	cr_assert_eq(prom_parse(prom_text, "interface", &doc, err, sizeof(err)), 0, "%s\n%s", err,
		     prom_text);
	prom_equals_json(&doc, o, "c0");
	json_decref(o);
	cr_assert_eq(lines("ls -A %s | grep '^wfguard.prom.'", tmp), 0, "a temporary was left");
	/* the attachment ends: the daemon exits and takes the file along */
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	cr_assert_eq(reap(run, 4000), 0, "run outlived detach");
	cr_assert_neq(access(textfile, F_OK), 0, "the textfile of a gone attachment stayed");
}

/* The entry of `status --json` (no device) for ifname in the namespace netns (NULL: ours). */
static json_t *listed_entry(json_t *doc, const char *ifname, int current)
{
	json_t *list = json_object_get(doc, "attachments"), *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		if (!strcmp(jstr(v, "interface"), ifname) &&
		    json_is_true(json_object_get(v, "current")) == current)
			return v;
	}
	cr_assert_fail("no %s (current %d) in %s", ifname, current, out_buf);
	return NULL;
}

/*
 * `status` with no device: this namespace's attachments, a stale one with its
 * reason, another namespace's (entered through /run/netns), and one of a
 * namespace with no name, listed but not checked.
 */
Test(cli, status_without_a_device_lists_every_attachment_and_marks_the_stale)
{
	char path[PATH_MAX + 32], want[64];
	char gone[PATH_MAX + 64];
	const char *rm;
	json_t *doc, *v;
	int t;

	attach_both("pad");
	cr_assert_eq(sh("ip -n %s link add x0 type veth peer name x0p && ip -n %s link set x0 up "
			"&& ip -n %s link set x0p up",
			NS_C, NS_C, NS_C),
		     0);
	cr_assert_eq(wfg(NS_C, "attach x0 --policy client-pad.yaml"), 0, "%s", err_buf);
	cr_assert_eq(sh("ip -n %s link del x0", NS_C), 0);
	/* one that lives on, as a container's would: entered through its process. It
	 * is made first: nsfs hands a new namespace the lowest free inode number,
	 * so one made after y0's died could take y0's number and with it y0's pins
	 * (they are keyed by it, docs/datapath.md) */
	cr_assert_eq(sh("cd %s && (unshare -n sh -c 'ip link add z0 type veth peer name z0p && "
			"ip link set z0 up && %s attach z0 --policy client-pad.yaml >/dev/null "
			"2>&1 && exec sleep 120' & echo $! >holder.pid)",
			tmp, bin),
		     0);
	snprintf(path, sizeof(path), "%s/holder.pid", tmp);
	cr_assert_eq(wait_text(path, "\n", 2000), 0);
	slurp(path, out_buf, sizeof(out_buf));
	ns_holder = atoi(out_buf);
	for (t = 0; t < 200 && lines("find %s -name z0", pins) < 1; t++)
		usleep(20000);
	/* and a namespace without a /run/netns name: it dies with the shell, its pins stay */
	cr_assert_eq(
		sh("cd %s && unshare -n sh -c 'ip link add y0 type veth peer name y0p && "
		   "ip link set y0 up && %s attach y0 --policy client-pad.yaml' >/dev/null 2>&1",
		   tmp, bin),
		0);

	cr_assert_eq(wfg(NS_C, "status"), 0, "%s", err_buf);
	cr_assert_not_null(strstr(out_buf, "c0               attached, policy slot"), "%s",
			   out_buf);
	cr_assert_not_null(strstr(out_buf, "x0               stale: the device is gone"), "%s",
			   out_buf);
	cr_assert_not_null(strstr(out_buf, "s0               attached, policy slot"), "%s",
			   out_buf);
	cr_assert_not_null(strstr(out_buf, "y0               not checked: no /run/netns entry"),
			   "%s", out_buf);
	snprintf(path, sizeof(path), "`rm -r %.4000s/net-", pins);
	cr_assert_not_null(strstr(out_buf, path), "no removal named: %s", out_buf);
	snprintf(want, sizeof(want), "pid %d", ns_holder);
	cr_assert_not_null(strstr(out_buf, want), "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "z0               attached, policy slot"), "%s",
			   out_buf);

	cr_assert_eq(wfg(NS_C, "status --json"), 0, "%s", err_buf);
	doc = parse("status (all)");
	cr_assert_eq(json_array_size(json_object_get(doc, "attachments")), 5, "%s", out_buf);
	v = listed_entry(doc, "c0", 1);
	cr_assert(json_is_true(json_object_get(v, "attached")), "%s", out_buf);
	cr_assert_str_eq(jstr(v, "netns"), NS_C);
	v = listed_entry(doc, "x0", 1);
	cr_assert(json_is_true(json_object_get(v, "stale")), "%s", out_buf);
	cr_assert_str_eq(jstr(v, "reason"), "the device is gone");
	v = listed_entry(doc, "s0", 0);
	cr_assert(json_is_true(json_object_get(v, "attached")), "%s", out_buf);
	cr_assert_str_eq(jstr(v, "netns"), NS_S);
	v = listed_entry(doc, "y0", 0);
	cr_assert(json_is_false(json_object_get(v, "checked")), "%s", out_buf);
	cr_assert(json_is_null(json_object_get(v, "netns")), "%s", out_buf);
	rm = strstr(jstr(v, "reason"), "`rm -r ");
	cr_assert_not_null(rm, "no removal named: %s", out_buf);
	snprintf(gone, sizeof(gone), "%.*s", (int)strcspn(rm + 1, "`"), rm + 1);
	v = listed_entry(doc, "z0", 0);
	cr_assert(json_is_true(json_object_get(v, "attached")), "%s", out_buf);
	cr_assert_eq(json_integer_value(json_object_get(v, "pid")), ns_holder, "%s", out_buf);
	json_decref(doc);

	/* what the message says removes a gone namespace's pins does */
	cr_assert_eq(sh("%s", gone), 0, "%s", gone);
	cr_assert_eq(wfg(NS_C, "status --json"), 0, "%s", err_buf);
	doc = parse("status (all, after rm)");
	cr_assert_eq(json_array_size(json_object_get(doc, "attachments")), 4, "%s", out_buf);
	json_decref(doc);

	/* the other side sees the same, from its namespace */
	cr_assert_eq(wfg(NS_S, "status --json"), 0, "%s", err_buf);
	doc = parse("status (all, server)");
	cr_assert(json_is_true(json_object_get(listed_entry(doc, "s0", 1), "attached")));
	cr_assert(json_is_true(json_object_get(listed_entry(doc, "x0", 0), "stale")));
	json_decref(doc);

	cr_assert_eq(wfg(NS_C, "detach x0"), 0, "stale pins: %s", err_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_S, "detach s0"), 0, "%s", err_buf);
	if (ns_holder > 0)
		kill(ns_holder, SIGKILL);
	ns_holder = 0;
}

/*
 * contrib/wfguard.bash completes every command `wfguard --help` lists and,
 * after each, every option that command's --help names.
 */
Test(cli, bash_completion_offers_every_command_and_every_option_the_help_names)
{
	char script[PATH_MAX], path[PATH_MAX + 16];

	if (!realpath("contrib/wfguard.bash", script))
		cr_skip_test("no contrib/wfguard.bash here (run from the source tree)");
	if (sh("command -v bash >/dev/null") != 0)
		cr_skip_test("no bash");
	write_file("complete.sh",
		   "source \"$1\"\n"
		   "words() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _wfguard;\n"
		   "  printf '%s\\n' \"${COMPREPLY[@]}\"; }\n"
		   "bin=$2 bad=0\n"
		   "cmds=$(\"$bin\" --help | sed -n 's/^  \\([a-z][a-z-]*\\)  .*/\\1/p')\n"
		   "[ -n \"$cmds\" ] || { echo 'no commands in --help'; exit 1; }\n"
		   "for c in $cmds; do\n"
		   "  words wfguard '' | grep -qx \"$c\" || { echo \"missing: $c\"; bad=1; }\n"
		   "  for o in $(\"$bin\" $c --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do\n"
		   "    words wfguard $c -- | grep -qx -- \"$o\" || { echo \"missing: $c $o\"; "
		   "bad=1; }\n"
		   "  done\n"
		   "done\n"
		   "words wfguard attach eth0 --xdp-mode '' | grep -qx skb || { echo 'no modes'; "
		   "bad=1; }\n"
		   "exit $bad\n");
	snprintf(path, sizeof(path), "%s/out", tmp);
	cr_assert_eq(sh("bash %s/complete.sh %s %s >%s 2>&1", tmp, script, bin, path), 0,
		     "completion: %s", (slurp(path, out_buf, sizeof(out_buf)), out_buf));
}

/* One doctor line: "VERDICT CHECK ..." as printed (verdict padded to 5, check to 9). */
static int doctor_says(const char *verdict, const char *check)
{
	char want[64];

	snprintf(want, sizeof(want), "%-5s %-9s ", verdict, check);
	return strstr(out_buf, want) != NULL;
}

/*
 * doctor says what attach needs and what is missing, each with what to fix,
 * and touches nothing: the MTU against the policy's limit, the key file, sch_fq
 * (told apart the way the host really is), an unknown device.
 */
Test(cli, doctor_names_what_to_fix_and_touches_nothing)
{
	int have_fq = sh("tc -n %s qdisc replace dev o0 root fq 2>/dev/null && "
			 "tc -n %s qdisc del dev o0 root",
			 topo.o, topo.o) == 0;

	write_file("client-pace.yaml", "version: 1\nrole: client\nmatch:\n  - remote_port: 4433\n"
				       "shim:\n  keys: keys\ndefence:\n  - preset: tamaraw\n");
	write_file("nokeys.yaml", "version: 1\nrole: client\nmatch:\n  - remote_port: 4433\n"
				  "shape: {mode: pad_to, size: 1000, limit: 1400}\n");
	cr_assert_eq(sh("tc -n %s qdisc show dev c0 >%s/qdisc.before", NS_C, tmp), 0);
	cr_assert_eq(wfg(NS_C, "doctor c0 --policy client-pad.yaml"), 0, "%s%s", out_buf, err_buf);
	cr_assert(doctor_says("ok", "bpf") && doctor_says("ok", "keys") &&
			  doctor_says("ok", "mtu") && doctor_says("warn", "gso"),
		  "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "c0: 0 to fix"), "%s", out_buf);

	cr_assert_eq(sh("ip -n %s link set c0 mtu 1300", NS_C), 0);
	cr_assert_eq(wfg(NS_C, "doctor c0 --policy client-pad.yaml"), 0, "%s", out_buf);
	cr_assert(doctor_says("warn", "mtu"), "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "attach lowers it to 1272"), "%s", out_buf);
	cr_assert_eq(sh("ip -n %s link set c0 mtu 1500", NS_C), 0);

	cr_assert_eq(wfg(NS_C, "doctor c0 --policy nokeys.yaml"), 1, "%s", out_buf);
	cr_assert(doctor_says("FAIL", "keys"), "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "wfguard keys generate"), "%s", out_buf);

	cr_assert_eq(wfg(NS_C, "doctor c0 --policy client-pace.yaml"), have_fq ? 0 : 1, "%s",
		     out_buf);
	cr_assert(doctor_says(have_fq ? "ok" : "FAIL", "fq"), "sch_fq %s here: %s",
		  have_fq ? "works" : "is missing", out_buf);

	cr_assert_eq(wfg(NS_C, "doctor nosuch0 --json"), 1, "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "\"check\":\"device\",\"verdict\":\"FAIL\""), "%s",
			   out_buf);

	cr_assert_eq(sh("tc -n %s qdisc show dev c0 | cmp -s - %s/qdisc.before", NS_C, tmp), 0,
		     "doctor changed c0's qdiscs");
	cr_assert_eq(lines("tc -n %s filter show dev c0 egress", NS_C), 0, "filters on c0");
	cr_assert_neq(wfg(NS_C, "status c0"), 0, "doctor attached something");
}

/* ------------------------------------------------ keys, live applies, reused namespaces */

/* The key id in `keys show IFACE --json`'s slot i, and the sending slot. */
static void key_ids(const char *ns, const char *dev, char ids[2][9], int *sending)
{
	json_t *o, *slots;
	int i;

	cr_assert_eq(wfg(ns, "keys show %s --json", dev), 0, "keys show %s: %s", dev, err_buf);
	o = parse("keys show");
	slots = json_object_get(o, "slots");
	cr_assert_eq(json_array_size(slots), 2, "%s", out_buf);
	for (i = 0; i < 2; i++)
		snprintf(ids[i], 9, "%s", json_string_value(json_array_get(slots, (size_t)i)));
	*sending = (int)json_integer_value(json_object_get(o, "sending_slot"));
	json_decref(o);
}

/* Wait until the load has sent `more` datagrams beyond what it had sent at `from`. */
static void load_advances(struct load *l, unsigned from, unsigned more, const char *after)
{
	int w;

	for (w = 0; w < 400 && l->sent < from + more; w++)
		usleep(5000);
	cr_assert_geq(l->sent, from + more, "the load stalled after %s", after);
}

/*
 * A key rotation on both ends of a shim pair while datagrams flow: rotate
 * (new key accepted), switch (sent with), retire (old one no longer
 * accepted), each step on the client then the server. Nothing is lost,
 * corrupted or left unverified, and the flow is never reset (one flow, its
 * counters running on, the policy generation unchanged). Then policy apply
 * with the old key file is refused, with the new one it applies (its second
 * key into the spare slot), --force loads the old one. Last, a one-sided
 * switch shows that the key really is what the tag is checked under.
 */
Test(cli, keys_rotate_switch_retire_under_load_lose_nothing_and_apply_compares_keys)
{
	static const char *const steps[] = { "rotate c0 --keys keys2",
					     "rotate s0 --keys keys2",
					     "switch c0",
					     "switch s0",
					     "retire c0",
					     "retire s0" };
	char before[2][9], after_c[2][9], after_s[2][9], text[512];
	unsigned long long gen0;
	struct load l = { 0 };
	struct stats c1, s1, s2;
	struct exchange x;
	pthread_t ts, tr;
	int send0, send_c, send_s;
	size_t i;

	attach_both("pad");
	key_ids(NS_C, "c0", before, &send0);
	cr_assert_eq(send0, 0, "attach sends with slot 0");
	cr_assert_eq(wfg(NS_C, "keys switch c0 extra"), 1, "extra operand: %s", err_buf);
	cr_assert_eq(wfg(NS_C, "keys rotate c0"), 1, "rotate without --keys: %s", err_buf);
	cr_assert_eq(wfg(NS_C, "keys rotate c0 --keys keys"), 1, "rotate to the sending key");
	cr_assert_not_null(strstr(err_buf, "already sends with"), "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "keys generate keys2"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	gen0 = jnum(out_buf, "generation");

	l.cfd = udp_socket(NS_C, "10.78.1.1", CPORT);
	l.sfd = udp_socket(NS_S, "10.78.2.1", PORT);
	cr_assert_eq(pthread_create(&tr, NULL, load_recv, &l), 0);
	cr_assert_eq(pthread_create(&ts, NULL, load_send, &l), 0);
	load_advances(&l, 0, 50, "start");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned from = l.sent;

		cr_assert_eq(wfg(i & 1 ? NS_S : NS_C, "keys %s", steps[i]), 0, "keys %s: %s",
			     steps[i], err_buf);
		load_advances(&l, from, 50, steps[i]);
	}
	l.stop = 1;
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	cr_assert_eq(l.stalls, 0, "the sender stalled: %u of %u arrived", l.got, l.sent);
	cr_assert_eq(l.got, l.sent, "%u of %u datagrams arrived", l.got, l.sent);
	cr_assert_eq(l.corrupt, 0, "%u corrupted", l.corrupt);
	cr_assert_eq(l.out_of_order, 0, "%u out of order", l.out_of_order);
	close(l.cfd);
	close(l.sfd);
	stats(NS_C, "c0", &c1);
	stats(NS_S, "s0", &s1);
	cr_assert_eq(s1.passed_unverified, 0, "the server failed to verify: %s", s1.raw);
	cr_assert_eq(s1.stripped, c1.shaped, "stripped %llu of %llu", s1.stripped, c1.shaped);
	cr_assert_eq(c1.shaped, l.sent, "shaped %llu of %u", c1.shaped, l.sent);

	/* both ends send with the new key, and only it is accepted */
	key_ids(NS_C, "c0", after_c, &send_c);
	key_ids(NS_S, "s0", after_s, &send_s);
	cr_assert_eq(send_c, 1, "the client sends with slot %d", send_c);
	cr_assert_str_eq(after_c[0], after_c[1], "retire left two keys");
	cr_assert_str_eq(after_c[0], after_s[send_s], "the ends send with different keys");
	cr_assert_str_neq(after_c[0], before[0], "the key did not change");
	cr_assert_str_neq(after_c[0], before[1], "the key did not change");
	/* no flow was reset: one flow, counting on, under the same policy */
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	cr_assert_eq(jnum(out_buf, "generation"), gen0, "a key step swapped the policy");
	cr_assert_eq(wfg(NS_C, "flows c0 --json"), 0, "%s", err_buf);
	cr_assert_eq(jnum(out_buf, "pkts_out"), l.sent, "the flow restarted: %s", out_buf);

	/* policy apply compares the policy's key file with the live slots */
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-pad.yaml"), 1, "old keys applied: %s",
		     out_buf);
	cr_assert_not_null(strstr(err_buf, "sends with key"), "%s", err_buf);
	cr_assert_not_null(strstr(err_buf, "keys rotate"), "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	cr_assert_eq(jnum(out_buf, "generation"), gen0, "the refused apply went live");
	snprintf(text, sizeof(text),
		 "version: 1\nrole: client\nmatch:\n  - family: 4\n    remote_port: %d\n"
		 "shim:\n  keys: keys2\nshape: {mode: pad_to, size: 1000, limit: 1400}\n",
		 PORT);
	write_file("client-pad2.yaml", text);
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-pad2.yaml"), 0, "%s", err_buf);
	cr_assert_not_null(strstr(out_buf, "spare key slot loaded"), "%s", out_buf);
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-pad2.yaml"), 0, "%s", err_buf);
	cr_assert_null(strstr(out_buf, "key"), "nothing left to load: %s", out_buf);

	/* a switch on one end only: the peer cannot verify, so the key is what counts */
	cr_assert_eq(wfg(NS_C, "keys generate keys3"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "keys rotate c0 --keys keys3"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "keys switch c0"), 0, "%s", err_buf);
	exchange_open(&x);
	exchange(&x, 0, 20, 0);
	exchange_close(&x);
	stats(NS_S, "s0", &s2);
	cr_assert_eq(s2.passed_unverified - s1.passed_unverified, 20, "%s", s2.raw);
	cr_assert_eq(x.server_got, 0, "unverified datagrams reached the server intact");

	/* --force loads a key file as attach would: slot 0 sends */
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-pad.yaml --force"), 0, "%s", err_buf);
	cr_assert_not_null(strstr(out_buf, "keys replaced"), "%s", out_buf);
	key_ids(NS_C, "c0", after_c, &send_c);
	cr_assert_eq(send_c, 0);
	cr_assert_str_eq(after_c[0], before[0], "forced keys: %s", out_buf);
	cr_assert_str_eq(after_c[1], before[1], "forced keys: %s", out_buf);
}

/*
 * policy apply refuses rules that stop matching a live defended flow (its
 * peer would go on padding it, this end would stop stripping), names the
 * flow and the live rule it matched, changes nothing; --force applies.
 */
Test(cli, policy_apply_refuses_rules_that_orphan_live_flows_unless_forced)
{
	unsigned long long gen;
	struct exchange x;
	char text[512], want[128];

	attach_both("pad");
	exchange_open(&x);
	exchange(&x, 0, 10, 0);
	exchange_close(&x);
	cr_assert_eq(x.server_got, 10);
	snprintf(text, sizeof(text),
		 "version: 1\nrole: client\nmatch:\n  - family: 4\n    remote_port: %d\n"
		 "shim:\n  keys: keys\nshape: {mode: pad_to, size: 1000, limit: 1400}\n",
		 PORT + 1);
	write_file("client-other.yaml", text);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	gen = jnum(out_buf, "generation");

	cr_assert_eq(wfg(NS_C, "policy apply c0 client-other.yaml"), 1, "applied: %s", out_buf);
	snprintf(want, sizeof(want), "10.78.1.1:%d -> 10.78.2.1:%d (live rule 1: IPv4,", CPORT,
		 PORT);
	cr_assert_not_null(strstr(err_buf, want), "the flow and its rule not named: %s", err_buf);
	cr_assert_not_null(strstr(err_buf, "1 live defended flow"), "%s", err_buf);
	cr_assert_not_null(strstr(err_buf, "--force"), "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	cr_assert_eq(jnum(out_buf, "generation"), gen, "the refused policy went live");
	/* rules that still match the flow apply as ever */
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-buckets.yaml"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "policy apply c0 client-other.yaml --force"), 0, "%s", err_buf);
	cr_assert_eq(wfg(NS_C, "status c0 --json"), 0, "%s", err_buf);
	cr_assert_eq(jnum(out_buf, "generation"), gen + 2);
}

/* Processes that each hold a network namespace of their own, made one by one. */
#define NS_FILLERS 64
static pid_t fillers[NS_FILLERS];
static int nfillers;

static void fillers_kill(void)
{
	int i;

	for (i = 0; i < nfillers; i++) {
		kill(fillers[i], SIGKILL);
		waitpid(fillers[i], NULL, 0);
	}
	nfillers = 0;
}

/* A child in a new network namespace (it waits for SIGKILL); its namespace's inode. */
static unsigned long long new_netns(pid_t *pid)
{
	char path[64];
	struct stat st;
	int p[2];
	char c;

	cr_assert_eq(pipe(p), 0);
	*pid = fork();
	cr_assert_geq(*pid, 0);
	if (*pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNET))
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "the namespace child failed");
	close(p[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", *pid);
	cr_assert_eq(stat(path, &st), 0);
	return (unsigned long long)st.st_ino;
}

/*
 * A namespace with the inode number of a dead one: nsfs hands out the lowest
 * free number, so namespaces are made (kept while below it, to fill holes)
 * until one gets it, or a few seconds pass (another process took it).
 */
static pid_t netns_with_inode(unsigned long long want)
{
	unsigned long long got;
	pid_t pid;
	int t;

	for (t = 0; t < 300 && nfillers < NS_FILLERS; t++) {
		got = new_netns(&pid);
		if (got == want)
			return pid;
		if (got < want) {
			fillers[nfillers++] = pid;
			continue;
		}
		kill(pid, SIGKILL); /* the dead one's number is not free yet */
		waitpid(pid, NULL, 0);
		usleep(20000);
	}
	return 0;
}

/*
 * Pins are keyed by namespace cookie as well as inode number: a namespace
 * that got a dead one's inode number does not take its pins as its own
 * (status IFACE: not attached; status: listed as the dead one's), and attach
 * there removes them with a message. The previous layout (net-<inode>) is
 * still read.
 */
Test(cli, a_namespace_with_a_dead_ones_inode_number_does_not_take_its_pins)
{
	char path[PATH_MAX + 32];
	unsigned long long ino;
	pid_t holder;
	json_t *doc, *v;

	cr_assert_eq(sh("cd %s && unshare -n sh -c 'ip link add y0 type veth peer name y0p && "
			"ip link set y0 up && %s attach y0 --policy client-pad.yaml && "
			"stat -L -c %%i /proc/self/ns/net >dead.ino' >/dev/null 2>&1",
			tmp, bin),
		     0, "attach in a namespace that then dies");
	snprintf(path, sizeof(path), "%s/dead.ino", tmp);
	slurp(path, out_buf, sizeof(out_buf));
	ino = strtoull(out_buf, NULL, 10);
	cr_assert_gt(ino, 0);
	cr_assert_eq(lines("find %s -maxdepth 1 -name 'net-%llu-*'", pins, ino), 1,
		     "no cookie-keyed pins");
	holder = netns_with_inode(ino);
	if (!holder) {
		fillers_kill();
		cr_skip_test("inode number %llu did not come back (another process took it)", ino);
	}
	fillers[nfillers++] = holder;
	snprintf(reuse_ns, sizeof(reuse_ns), "wfgcli-reuse-%d", getpid());
	cr_assert_eq(sh("ip netns attach %s %d", reuse_ns, holder), 0);

	/* the new namespace does not see y0's pins as its own ... */
	cr_assert_eq(wfg(reuse_ns, "status y0"), 3, "%s", out_buf);
	cr_assert_null(strstr(err_buf, "left over"), "took a dead namespace's pins: %s", err_buf);
	cr_assert_eq(wfg(reuse_ns, "status --json"), 0, "%s", err_buf);
	doc = parse("status (reused inode)");
	v = listed_entry(doc, "y0", 0);
	cr_assert(json_is_false(json_object_get(v, "checked")), "%s", out_buf);
	cr_assert_not_null(strstr(jstr(v, "reason"), "deleted namespace"), "%s", out_buf);
	json_decref(doc);
	/* ... nor does another namespace that finds it by its number */
	cr_assert_eq(wfg(NS_C, "status"), 0, "%s", err_buf);
	cr_assert_not_null(strstr(out_buf, "its namespace is gone"), "%s", out_buf);
	cr_assert_null(strstr(out_buf, "y0               stale"), "%s", out_buf);

	/* attach in the new namespace removes them and says so */
	cr_assert_eq(sh("ip -n %s link add y0 type veth peer name y0p && ip -n %s link set y0 up",
			reuse_ns, reuse_ns),
		     0);
	cr_assert_eq(wfg(reuse_ns, "attach y0 --policy client-pad.yaml"), 0, "%s", err_buf);
	cr_assert_not_null(strstr(err_buf, "removed the pins of y0"), "%s", err_buf);
	cr_assert_eq(lines("find %s -maxdepth 1 -name 'net-%llu-*'", pins, ino), 1, "%s", err_buf);
	cr_assert_eq(wfg(reuse_ns, "status y0"), 0, "%s", err_buf);
	cr_assert_eq(wfg(reuse_ns, "detach y0"), 0, "%s", err_buf);

	/* pins in the layout before cookies are still found and removed */
	cr_assert_eq(wfg(NS_C, "attach c0 --policy client-pad.yaml"), 0, "%s", err_buf);
	cr_assert_eq(sh("cd %s && d=$(ls -d net-*-* | head -1) && [ -n \"$d\" ] && "
			"mv $d ${d%%-*}",
			pins),
		     0);
	cr_assert_eq(lines("find %s -maxdepth 1 -name 'net-*-*'", pins), 0,
		     "not moved to the legacy layout");
	cr_assert_eq(wfg(NS_C, "status c0"), 0, "legacy pins: %s", err_buf);
	cr_assert_eq(wfg(NS_C, "detach c0"), 0, "%s", err_buf);
	assert_nothing_left(NS_C, "c0");
	sh("ip netns delete %s", reuse_ns);
	reuse_ns[0] = 0;
	fillers_kill();
}
