// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Cover packets made at a packet event: bpf_clone_redirect (+ EDT) against the
 * ring buffer and the pump (user/lib/pump.c). bench/perf/progs/cover_clone.bpf.c does the
 * data path side of both; see docs/covers.md for the method and conclusions.
 *
 * Two namespaces joined by one veth pair: the sender's egress runs cc_egress,
 * the receiver's XDP drops the cost flow (as wfguard's ingress drops covers).
 *   1. CPU per cover: CPU time of this process (sender + pump thread) plus the
 *      ksoftirqd threads, per run; a cover's cost is the run's excess over the
 *      no-cover baseline of the same round, divided by the covers made, and is
 *      quoted as a ratio to the baseline's cost of one real packet.
 *   2. Timing: when the covers arrive relative to their real packet.
 *   3. Nesting: how deep a clone may clone itself before the kernel refuses.
 * Needs root.
 *   build/bench/perf/covers [rounds] [burst packets] [paced packets]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "cover_clone.skel.h"
#include "pump.h"

#define PORT_COST 9000 /* dropped by the receiver's XDP */
#define PORT_TIME 9001 /* delivered to a socket that timestamps */
#define REAL_LEN  100
#define COVER_LEN 1000
#define ADDR_A	  "10.88.0.1"
#define ADDR_B	  "10.88.0.2"

enum { MODE_NONE, MODE_CLONE, MODE_RING, MODE_CHAIN }; /* enum cc_mode */

struct bench {
	struct cover_clone_bpf *skel;
	char ns_a[32], ns_b[32];
	int root_fd, a_fd, b_fd;
	int tx_cost, tx_time, rx_time;
	struct wfg_pump pump;
	struct ring_buffer *rb;
	pthread_t pump_thr;
	volatile int stop;
	int ksoftirqd[16], nksoftirqd;
};

/* ------------------------------------------------------------ plumbing */

static int sh(const char *cmd)
{
	int rc = system(cmd);

	return rc == 0 ? 0 : -1;
}

static __u64 now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static int open_ns(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	return open(path, O_RDONLY);
}

static void cleanup_ns(struct bench *b)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true",
		 b->ns_a, b->ns_b);
	sh(cmd);
}

static int setup_ns(struct bench *b)
{
	char cmd[1024];

	snprintf(b->ns_a, sizeof(b->ns_a), "wfgcc-a%d", getpid());
	snprintf(b->ns_b, sizeof(b->ns_b), "wfgcc-b%d", getpid());
	cleanup_ns(b);
	snprintf(cmd, sizeof(cmd),
		 "set -e; A=%s; B=%s; ip netns add $A; ip netns add $B; "
		 "ip link add ca0 netns $A type veth peer name cb0 netns $B; "
		 "ip -n $A addr add " ADDR_A "/24 dev ca0; "
		 "ip -n $B addr add " ADDR_B "/24 dev cb0; "
		 "for n in $A $B; do ip -n $n link set lo up; done; "
		 "ip -n $A link set ca0 up; ip -n $B link set cb0 up",
		 b->ns_a, b->ns_b);
	if (sh(cmd))
		return -1;
	b->root_fd = open("/proc/self/ns/net", O_RDONLY);
	b->a_fd = open_ns(b->ns_a);
	b->b_fd = open_ns(b->ns_b);
	return b->root_fd < 0 || b->a_fd < 0 || b->b_fd < 0 ? -1 : 0;
}

static int attach(struct bench *b)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	int ifindex, xdp_fd = bpf_program__fd(b->skel->progs.cc_drop), err;

	if (setns(b->b_fd, CLONE_NEWNET))
		return -errno;
	ifindex = (int)if_nametoindex("cb0");
	err = bpf_xdp_attach(ifindex, xdp_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		err = bpf_xdp_attach(ifindex, xdp_fd, XDP_FLAGS_SKB_MODE, NULL);
	if (err)
		return err;
	if (setns(b->a_fd, CLONE_NEWNET))
		return -errno;
	hook.ifindex = (int)if_nametoindex("ca0");
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	opts.prog_fd = bpf_program__fd(b->skel->progs.cc_egress);
	return bpf_tc_attach(&hook, &opts);
}

/* A UDP socket in the current namespace, bound to addr:lport, connected to raddr:rport if set. */
static int udp_socket(const char *addr, int lport, const char *raddr, int rport)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((__u16)lport) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20, one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	if (raddr) {
		sa.sin_port = htons((__u16)rport);
		inet_pton(AF_INET, raddr, &sa.sin_addr);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int open_sockets(struct bench *b)
{
	char err[128];

	if (setns(b->b_fd, CLONE_NEWNET))
		return -errno;
	b->rx_time = udp_socket(ADDR_B, PORT_TIME, NULL, 0);
	if (setns(b->a_fd, CLONE_NEWNET))
		return -errno;
	b->tx_cost = udp_socket(ADDR_A, 40000, ADDR_B, PORT_COST);
	b->tx_time = udp_socket(ADDR_A, 40001, ADDR_B, PORT_TIME);
	if (b->rx_time < 0 || b->tx_cost < 0 || b->tx_time < 0)
		return -1;
	/* the pump's raw sockets, in the sender's namespace */
	return wfg_pump_open(&b->pump, err, sizeof(err));
}

/* ------------------------------------------------------------ the pump */

static int pump_cb(void *ctx, void *data, size_t len)
{
	if (len == sizeof(struct wfg_cover_req))
		wfg_pump_request(ctx, data);
	return 0;
}

static void *pump_main(void *arg)
{
	struct bench *b = arg;

	while (!b->stop)
		ring_buffer__poll(b->rb, 20);
	ring_buffer__consume(b->rb);
	return NULL;
}

static int pump_start(struct bench *b)
{
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.cc_covers_rb), pump_cb, &b->pump, NULL);
	if (!b->rb)
		return -1;
	return pthread_create(&b->pump_thr, NULL, pump_main, b) ? -1 : 0;
}

/* ------------------------------------------------------------ CPU accounting */

static void find_ksoftirqd(struct bench *b)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d)) && b->nksoftirqd < 16) {
		char path[300], comm[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "ksoftirqd/", 10))
			b->ksoftirqd[b->nksoftirqd++] = atoi(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
}

/* CPU time of this process and of the softirq threads (which may run our receive work), ns. */
static __u64 cpu_ns(const struct bench *b)
{
	__u64 t = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	int i;

	for (i = 0; i < b->nksoftirqd; i++) {
		char path[64];
		unsigned long long run = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/schedstat", b->ksoftirqd[i]);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &run) == 1)
			t += run;
		if (f)
			fclose(f);
	}
	return t;
}

/* ------------------------------------------------------------ one run */

struct variant {
	const char *name;
	int mode, k;
};

struct result {
	__u64 cpu, real, covers, lost, arrived;
	double clone_ns; /* in the clone loop, per clone (bpf_ktime) */
};

#define RD(x) __atomic_load_n(&b->skel->bss->x, __ATOMIC_RELAXED)

static void reset_counters(struct bench *b)
{
	struct cover_clone_bpf__bss *s = b->skel->bss;

	s->cc_real = s->cc_clones = s->cc_clone_err = s->cc_clone_ns = 0;
	s->cc_covers = s->cc_carriers = s->cc_rewrite_err = 0;
	s->cc_posted = s->cc_post_err = s->cc_clone_sk = s->cc_edt_sum_ns = 0;
	s->cc_rx_dropped = 0;
	s->cc_depth_max = s->cc_chain_fail = 0;
	s->cc_chain_errno = 0;
}

static __u64 covers_made(struct bench *b)
{
	return RD(cc_covers) + RD(cc_carriers);
}

/* Until every cover asked for exists (or is lost), then until the receiver is quiet; <= 2 s. */
static void wait_covers(struct bench *b, int mode, int k)
{
	__u64 until = now_ns(CLOCK_MONOTONIC) + 2000000000ull, seen = ~0ull;
	struct timespec ms = { 0, 1000000 };
	int quiet = 0;

	while (now_ns(CLOCK_MONOTONIC) < until) {
		__u64 want = mode == MODE_RING ? RD(cc_posted) * (__u64)k : RD(cc_clones);

		if (covers_made(b) + RD(cc_rewrite_err) >= want &&
		    b->pump.sent + b->pump.failed >= (mode == MODE_RING ? want : 0))
			break;
		nanosleep(&ms, NULL);
	}
	while (now_ns(CLOCK_MONOTONIC) < until && quiet < 3) {
		quiet = RD(cc_rx_dropped) == seen ? quiet + 1 : 0;
		seen = RD(cc_rx_dropped);
		nanosleep(&ms, NULL);
	}
}

static void send_real(int fd, int n, __u64 pace_ns)
{
	__u8 buf[REAL_LEN] = { 0 };
	__u64 t = now_ns(CLOCK_MONOTONIC);
	int i;

	for (i = 0; i < n; i++) {
		memcpy(buf, &i, 4);
		if (send(fd, buf, sizeof(buf), 0) < 0)
			continue; /* a full socket buffer: the counters say what left */
		if (pace_ns) {
			struct timespec ts;

			t += pace_ns;
			ts.tv_sec = (time_t)(t / 1000000000ull);
			ts.tv_nsec = (long)(t % 1000000000ull);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
	}
}

static void configure(struct bench *b, int mode, int k, __u32 port, __u64 step_ns)
{
	struct cover_clone_bpf__bss *s = b->skel->bss;

	s->cc_mode = (__u32)mode;
	s->cc_k = (__u32)k;
	s->cc_port = port;
	s->cc_step_ns = step_ns;
	s->cc_cover_len = COVER_LEN;
	s->cc_drop_port = PORT_COST;
}

static void run_variant(struct bench *b, const struct variant *v, int n, __u64 pace_ns,
			struct result *r)
{
	__u64 c0, c1;

	configure(b, v->mode, v->k, PORT_COST, 250000);
	reset_counters(b);
	b->pump.sent = b->pump.failed = 0;
	c0 = cpu_ns(b);
	send_real(b->tx_cost, n, pace_ns);
	wait_covers(b, v->mode, v->k);
	c1 = cpu_ns(b);
	r->cpu = c1 - c0;
	r->real = RD(cc_real);
	r->covers = covers_made(b);
	r->lost = RD(cc_clone_err) + RD(cc_post_err) * (__u64)v->k + RD(cc_rewrite_err) +
		  b->pump.failed;
	r->arrived = RD(cc_rx_dropped);
	r->clone_ns = RD(cc_clones) ? (double)RD(cc_clone_ns) / (double)RD(cc_clones) : 0;
}

/* ------------------------------------------------------------ 1. cost */

static const struct variant variants[] = {
	{ "baseline: no covers", MODE_NONE, 0 }, { "clone, K=1", MODE_CLONE, 1 },
	{ "clone, K=4", MODE_CLONE, 4 },	 { "ring + pump, K=1", MODE_RING, 1 },
	{ "ring + pump, K=4", MODE_RING, 4 },
};
#define NVAR (int)(sizeof(variants) / sizeof(variants[0]))

/* The median of v[0..n) (sorts it). */
static double median(double *v, int n)
{
	int i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (v[j] < v[i]) {
				double t = v[i];

				v[i] = v[j];
				v[j] = t;
			}
	return v[n / 2];
}

static void print_costs(const char *regime, int rounds, int n, const struct result *best,
			double excess[][32])
{
	double per_real = (double)best[0].cpu / (double)(best[0].real ? best[0].real : 1);
	double per_cover[NVAR] = { 0 };
	int v;

	printf("\n%s: %d real packets per run, %d rounds; CPU = this process + ksoftirqd\n", regime,
	       n, rounds);
	printf("  %-20s %7s %6s %7s %7s %8s %9s %15s %6s %8s\n", "variant", "covers", "lost",
	       "arrived", "CPU ms", "ns/real", "ns/cover", "(round range)", "ratio", "clone ns");
	for (v = 0; v < NVAR; v++) {
		const struct result *r = &best[v];

		printf("  %-20s %7llu %6llu %7llu %7.1f %8.0f", variants[v].name,
		       (unsigned long long)r->covers, (unsigned long long)r->lost,
		       (unsigned long long)r->arrived, (double)r->cpu / 1e6,
		       (double)r->cpu / (double)(r->real ? r->real : 1));
		if (!v) {
			printf(" %9s %15s %6s %8s\n", "-", "", "1.00", "-");
			continue;
		}
		per_cover[v] = median(excess[v], rounds); /* sorts: [0] min, [rounds-1] max */
		printf(" %9.0f %7.0f..%-6.0f %6.2f %8.0f\n", per_cover[v], excess[v][0],
		       excess[v][rounds - 1], per_cover[v] / per_real, r->clone_ns);
	}
	if (per_cover[1] > 0 && per_cover[2] > 0)
		printf("  per cover, pump / clone: K=1 %.1fx, K=4 %.1fx\n",
		       per_cover[3] / per_cover[1], per_cover[4] / per_cover[2]);
	else
		printf("  per cover, pump / clone: the clone's cost is within this regime's "
		       "noise\n");
}

static void cost_phase(struct bench *b, const char *regime, int rounds, int n, __u64 pace_ns)
{
	struct result best[NVAR], r;
	double excess[NVAR][32];
	int rd, v;

	memset(best, 0, sizeof(best));
	memset(excess, 0, sizeof(excess));
	for (rd = 0; rd < rounds && rd < 32; rd++) {
		__u64 base = 0;

		for (v = 0; v < NVAR; v++) {
			run_variant(b, &variants[v], n, pace_ns, &r);
			if (v == 0)
				base = r.cpu;
			else if (r.covers)
				excess[v][rd] = ((double)r.cpu - (double)base) / (double)r.covers;
			if (!best[v].cpu || r.cpu < best[v].cpu)
				best[v] = r;
		}
	}
	print_costs(regime, rounds, n, best, excess);
}

/* ------------------------------------------------------------ 2. timing */

struct arrival {
	__u32 seq;
	__u8 tag;
	__u64 t;
};

/* Everything queued on the timing socket, with its kernel receive time. */
static int drain(int fd, struct arrival *a, int max)
{
	int n = 0;

	while (n < max) {
		__u8 buf[2048], cbuf[256];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);

		if (r < 5)
			break;
		memcpy(&a[n].seq, buf, 4);
		a[n].tag = buf[4];
		a[n].t = 0;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				a[n].t = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
			}
		n++;
	}
	return n;
}

static int cmp_ll(const void *x, const void *y)
{
	long long a = *(const long long *)x, b = *(const long long *)y;

	return (a > b) - (a < b);
}

static void print_dist(const char *what, long long *d, int n, int before)
{
	if (!n) {
		printf("  %-34s none arrived\n", what);
		return;
	}
	qsort(d, (size_t)n, sizeof(*d), cmp_ll);
	printf("  %-34s %5d %8.1f %8.1f %8.1f %8.1f %8.1f %7d\n", what, n, (double)d[0] / 1e3,
	       (double)d[n / 2] / 1e3, (double)d[n * 9 / 10] / 1e3, (double)d[n * 99 / 100] / 1e3,
	       (double)d[n - 1] / 1e3, before);
}

/* Clone covers: arrival minus the arrival of the real packet they were cloned from. */
static void timing_clone(const struct arrival *a, int n, int k, __u64 step)
{
	static long long d[4096];
	static __u64 real_t[1024];
	int i, tag;

	memset(real_t, 0, sizeof(real_t));
	for (i = 0; i < n; i++)
		if (a[i].tag == 0 && a[i].seq < 1024)
			real_t[a[i].seq] = a[i].t;
	for (tag = 1; tag <= k; tag++) {
		char what[64];
		int m = 0, before = 0;

		for (i = 0; i < n && m < 4096; i++) {
			if (a[i].tag != tag || a[i].seq >= 1024 || !real_t[a[i].seq])
				continue;
			d[m] = (long long)a[i].t - (long long)real_t[a[i].seq];
			before += d[m] < 0;
			m++;
		}
		snprintf(what, sizeof(what), "clone %d (EDT offset %llu us)", tag,
			 (unsigned long long)(tag * step / 1000));
		print_dist(what, d, m, before);
	}
}

/* Pump covers: arrival minus the arrival of the latest real packet before them. */
static void timing_pump(struct arrival *a, int n)
{
	static long long d[4096];
	__u64 last = 0;
	int i, m = 0;

	for (i = 0; i < n && m < 4096; i++) {
		if (a[i].tag == 0)
			last = a[i].t;
		else if (a[i].tag == 0xff && last)
			d[m++] = (long long)a[i].t - (long long)last;
	}
	print_dist("pump cover (sent at once)", d, m, 0);
}

static void timing_phase(struct bench *b, int n)
{
	static struct arrival a[8192];
	const __u64 step = 250000, pace = 2000000;
	struct timespec settle = { 0, 200000000 };
	int got, k = 3;

	printf("\ntiming: %d real packets 2 ms apart; receive time at the receiver's socket "
	       "minus the real packet's (us)\n",
	       n);
	printf("  %-34s %5s %8s %8s %8s %8s %8s %7s\n", "", "n", "min", "median", "p90", "p99",
	       "max", "before");
	configure(b, MODE_CLONE, k, PORT_TIME, step);
	reset_counters(b);
	send_real(b->tx_time, n, pace);
	nanosleep(&settle, NULL);
	got = drain(b->rx_time, a, 8192);
	timing_clone(a, got, k, step);
	printf("  (covers given an EDT: %llu, mean offset set %.0f us; clones with skb->sk: "
	       "%llu)\n",
	       (unsigned long long)RD(cc_covers),
	       RD(cc_covers) ? (double)RD(cc_edt_sum_ns) / (double)RD(cc_covers) / 1e3 : 0.0,
	       (unsigned long long)RD(cc_clone_sk));
	configure(b, MODE_RING, 1, PORT_TIME, 0);
	reset_counters(b);
	send_real(b->tx_time, n, pace);
	nanosleep(&settle, NULL);
	got = drain(b->rx_time, a, 8192);
	timing_pump(a, got);
}

/* ------------------------------------------------------------ 3. nesting */

static void chain_phase(struct bench *b, __u32 depth)
{
	struct timespec settle = { 0, 50000000 };

	configure(b, MODE_CHAIN, 1, PORT_COST, 0);
	b->skel->bss->cc_chain_max = depth;
	reset_counters(b);
	send_real(b->tx_cost, 1, 0);
	nanosleep(&settle, NULL);
	printf("\nnesting: a clone that clones itself, up to %u levels\n", depth);
	printf("  deepest re-entry reached: %u (the first clone is level 0); covers made: %llu, "
	       "arrived: %llu\n",
	       RD(cc_depth_max), (unsigned long long)RD(cc_covers),
	       (unsigned long long)(RD(cc_rx_dropped) ? RD(cc_rx_dropped) - 1 : 0));
	if (RD(cc_chain_fail))
		printf("  bpf_clone_redirect failed at level %u with %d (%s)\n", RD(cc_chain_fail),
		       RD(cc_chain_errno), strerror(-RD(cc_chain_errno)));
	else
		printf("  no clone failed\n");
	b->skel->bss->cc_chain_max = 0;
}

/* ------------------------------------------------------------ main */

static void teardown(struct bench *b)
{
	b->stop = 1;
	if (b->rb) {
		pthread_join(b->pump_thr, NULL);
		ring_buffer__free(b->rb);
	}
	wfg_pump_close(&b->pump);
	if (b->root_fd >= 0)
		setns(b->root_fd, CLONE_NEWNET);
	cover_clone_bpf__destroy(b->skel);
	cleanup_ns(b);
}

int main(int argc, char **argv)
{
	static struct bench b = { .root_fd = -1, .pump = { .fd4 = -1, .fd6 = -1, .fd_dev = -1 } };
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	int burst = argc > 2 ? atoi(argv[2]) : 20000;
	int paced = argc > 3 ? atoi(argv[3]) : 4000;

	if (geteuid() != 0) {
		printf("covers: skipped (needs root)\n");
		return 0;
	}
	if (rounds < 1 || rounds > 32)
		rounds = 5;
	libbpf_set_print(NULL);
	b.skel = cover_clone_bpf__open_and_load();
	if (!b.skel || setup_ns(&b) || attach(&b) || open_sockets(&b) || pump_start(&b)) {
		fprintf(stderr, "covers: setup failed (%s)\n", strerror(errno));
		teardown(&b);
		return 1;
	}
	find_ksoftirqd(&b);
	run_variant(&b, &variants[0], 200, 0, &(struct result){ 0 }); /* ARP, caches */
	cost_phase(&b, "burst (back to back)", rounds, burst, 0);
	cost_phase(&b, "paced (one real packet every 50 us)", rounds, paced, 50000);
	timing_phase(&b, 300);
	chain_phase(&b, 20);
	teardown(&b);
	return 0;
}
