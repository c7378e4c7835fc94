// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfguard shares its device with another XDP program (an edge server's DDoS
 * filter, say), through libxdp's dispatcher: the neighbour (tests/progs/
 * xdp_neighbour.bpf.c, loaded through libxdp as xdp-loader would) runs after
 * wfguard and sees only the peer's real datagrams, trailers stripped; detach
 * takes wfguard out and leaves the neighbour running. Where the kernel cannot
 * run the dispatcher (no freplace: this host refuses extension programs), the
 * neighbour sits alone on the device, and attach must refuse, say why and
 * leave nothing behind. Needs root and ip(8); the vmtest guest runs the
 * dispatcher path.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "netns.h"
#include "xdp_neighbour.skel.h"

#define PORT   4434
#define CPORT  5557
#define N_REAL 100

static struct wfgt_topo topo;
static struct wfgt_scratch scratch;
static char bin[PATH_MAX];
static struct xdp_neighbour_bpf *nb;
static struct xdp_program *nb_prog;
static int s0_index;

/* libbpf's and libxdp's warnings only: their info lines would bury the test's. */
static int warnings_only_bpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int warnings_only_xdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return level == LIBXDP_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void setup(void)
{
	libbpf_set_print(warnings_only_bpf);
	libxdp_set_print(warnings_only_xdp);
	wfgt_need_wfguard(bin);
	wfgt_scratch_make(&scratch, "wfgx");
	wfgt_topo_name(&topo, "wfgx", 79);
	netns_save_root();
	cr_assert_eq(wfgt_topo_create(&topo), 0, "could not build the namespaces");
	cr_assert_eq(sh("'%s' keys generate %s/keys >/dev/null", bin, scratch.dir), 0);
}

static void teardown(void)
{
	if (nb_prog) {
		enter(topo.s);
		xdp_program__detach(nb_prog, s0_index, XDP_MODE_SKB, 0);
		xdp_program__close(nb_prog);
		nb_prog = NULL;
	}
	xdp_neighbour_bpf__destroy(nb);
	nb = NULL;
	netns_go_home();
	wfgt_topo_destroy(&topo);
	wfgt_scratch_remove(&scratch);
}

TestSuite(xdp_share, .init = setup, .fini = teardown, .timeout = 120);

/* A worker that died before its .fini (a timeout, a signal) left its namespaces
 * and scratch directory: the parent removes those of dead PIDs after the run. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	wfgt_sweep_dead("wfgx");
}

/* wfguard in namespace ns; its exit status. */
static int wfg(const char *ns, const char *args)
{
	return sh("nsenter --net=/run/netns/%s '%s' %s >%s/out 2>&1", ns, bin, args, scratch.dir);
}

static const char *wfg_output(void)
{
	return wfgt_slurp(scratch.dir, "out");
}

/* Both ends pad every datagram to 1000 bytes: the trailer rides on each. */
static void write_policy(const char *role, const char *port_key)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.yaml", scratch.dir, role);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"version: 1\nrole: %s\nmatch:\n  - family: 4\n    %s: %d\n"
		"shim:\n  keys: keys\nshape: {mode: pad_to, size: 1000, limit: 1400}\n",
		role, port_key, PORT);
	fclose(f);
}

/* The neighbour on s0 through libxdp, in skb mode, at libxdp's default priority. */
static void load_neighbour(void)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .prog_name = "xdp_neighbour");

	nb = xdp_neighbour_bpf__open();
	cr_assert_not_null(nb);
	nb->rodata->watch_port = PORT;
	xo.obj = nb->obj;
	nb_prog = xdp_program__create(&xo);
	cr_assert_eq(libxdp_get_error(nb_prog), 0, "xdp_program__create");
	enter(topo.s);
	s0_index = (int)if_nametoindex("s0");
	cr_assert_eq(xdp_program__attach(nb_prog, s0_index, XDP_MODE_SKB, 0), 0,
		     "the neighbour does not attach");
	enter(NULL);
}

/* Programs on s0 under the dispatcher (0: none there, -1: one attached alone). */
static int programs_on_s0(char *first, size_t len)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int n;

	enter(topo.s);
	mp = xdp_multiprog__get_from_ifindex(s0_index);
	enter(NULL);
	if (libxdp_get_error(mp) || !mp)
		return 0;
	if (xdp_multiprog__is_legacy(mp)) {
		xdp_multiprog__close(mp);
		return -1;
	}
	n = xdp_multiprog__program_count(mp);
	p = xdp_multiprog__next_prog(NULL, mp);
	snprintf(first, len, "%s", p ? xdp_program__name(p) : "");
	xdp_multiprog__close(mp);
	return n;
}

/* n numbered datagrams client -> server; how many arrived byte-identical. */
static int send_real(unsigned first, unsigned n, size_t *longest)
{
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int cfd = udp_socket(topo.c, "10.79.1.1", CPORT),
	    sfd = udp_socket(topo.s, "10.79.2.1", PORT);
	uint8_t buf[2048], got[2048];
	unsigned i;
	int ok = 0;

	inet_pton(AF_INET, "10.79.2.1", &srv.sin_addr);
	*longest = 0;
	for (i = first; i < first + n; i++) {
		size_t len = 8 + i * 53 % 900; /* below 1000 minus the trailer */
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		size_t j;

		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)(i * 7 + j);
		*longest = len > *longest ? len : *longest;
		cr_assert_eq(sendto(cfd, buf, len, 0, (struct sockaddr *)&srv, sizeof(srv)),
			     (ssize_t)len);
		if (poll(&p, 1, 1000) == 1 && recv(sfd, got, sizeof(got), 0) == (ssize_t)len &&
		    !memcmp(buf, got, len))
			ok++;
	}
	close(cfd);
	close(sfd);
	return ok;
}

static void neighbour_saw(__u64 *datagrams, __u64 *max_payload)
{
	struct {
		__u64 datagrams, max_payload;
	} v;
	__u32 zero = 0;

	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(nb->maps.seen), &zero, &v), 0);
	*datagrams = v.datagrams;
	*max_payload = v.max_payload;
}

Test(xdp_share, wfguard_runs_first_under_the_dispatcher_and_detach_leaves_the_neighbour)
{
	char first[64] = "", args[512];
	__u64 seen, longest_seen;
	size_t longest;
	int n;

	write_policy("client", "remote_port");
	write_policy("server", "local_port");
	load_neighbour();
	snprintf(args, sizeof(args), "attach c0 --policy %s/client.yaml --xdp-mode skb",
		 scratch.dir);
	cr_assert_eq(wfg(topo.c, args), 0, "attach c0: %s", wfg_output());
	snprintf(args, sizeof(args), "attach s0 --policy %s/server.yaml --xdp-mode skb",
		 scratch.dir);
	if (programs_on_s0(first, sizeof(first)) < 0) {
		/* No dispatcher on this kernel: the neighbour is alone on s0. */
		cr_assert_neq(wfg(topo.s, args), 0, "attach over a lone XDP program succeeded");
		cr_assert_not_null(strstr(wfg_output(), "without libxdp's dispatcher"), "%s",
				   wfg_output());
		cr_assert_eq(sh("find %s -name s0 | grep -q .", scratch.pins), 1,
			     "pins left behind");
		cr_assert_eq(sh("tc -n %s filter show dev s0 egress | grep -q .", topo.s), 1,
			     "a refused attach left its TC filter");
		cr_assert_eq(programs_on_s0(first, sizeof(first)), -1, "the neighbour is gone");
		fprintf(stderr, "xdp_share: no dispatcher on this kernel: attach refused, the "
				"neighbour kept\n");
		cr_assert_eq(wfg(topo.c, "detach c0"), 0, "%s", wfg_output());
		return;
	}
	cr_assert_eq(wfg(topo.s, args), 0, "attach s0 beside the neighbour: %s", wfg_output());
	n = programs_on_s0(first, sizeof(first));
	cr_assert_eq(n, 2, "%d programs under the dispatcher, want wfguard's and the neighbour", n);
	cr_assert_str_eq(first, "wfg_ingress", "wfguard must run first, %s does", first);

	cr_assert_eq(send_real(0, N_REAL, &longest), N_REAL, "datagrams lost or corrupted");
	neighbour_saw(&seen, &longest_seen);
	cr_assert_eq(seen, N_REAL, "the neighbour saw %llu datagrams, %d were sent",
		     (unsigned long long)seen, N_REAL);
	cr_assert_eq(longest_seen, longest,
		     "the neighbour saw a %llu-byte payload, the longest sent is %zu: "
		     "trailers not stripped before it",
		     (unsigned long long)longest_seen, longest);

	cr_assert_eq(wfg(topo.s, "detach s0"), 0, "%s", wfg_output());
	n = programs_on_s0(first, sizeof(first));
	cr_assert(n == 1 || n == -1, "after detach: %d programs", n);
	cr_assert_eq(send_real(N_REAL, 10, &longest), 0, "the client still pads: nothing strips");
	neighbour_saw(&seen, &longest_seen);
	cr_assert_eq(seen, N_REAL + 10, "the neighbour stopped counting after detach");
	cr_assert_eq(wfg(topo.c, "detach c0"), 0, "%s", wfg_output());
	fprintf(stderr,
		"xdp_share: under the dispatcher: wfguard first, the neighbour saw "
		"%d real datagrams, trailers stripped, and kept running after detach\n",
		N_REAL);
}

/*
 * Without libxdp's dispatcher object (package libxdp1 broken, or
 * LIBXDP_OBJECT_PATH pointing elsewhere) attach still works, alone, and
 * says that nothing can share the device; status tells it too.
 */
Test(xdp_share, without_the_dispatcher_object_attach_works_alone_and_says_so)
{
	char args[512];

	write_policy("server", "local_port");
	snprintf(args, sizeof(args), "%s/no-objects", scratch.dir);
	cr_assert_eq(mkdir(args, 0700), 0);
	setenv("LIBXDP_OBJECT_PATH", args, 1);
	snprintf(args, sizeof(args), "attach s0 --policy %s/server.yaml --xdp-mode skb",
		 scratch.dir);
	cr_assert_eq(wfg(topo.s, args), 0, "attach: %s", wfg_output());
	cr_assert_not_null(strstr(wfg_output(), "dispatcher (xdp-dispatcher.o, package libxdp1) "
						"is missing"),
			   "%s", wfg_output());
	cr_assert_eq(wfg(topo.s, "status s0 --json"), 0, "%s", wfg_output());
	cr_assert_not_null(strstr(wfg_output(), "\"xdp_dispatcher\":false"), "%s", wfg_output());
	cr_assert_eq(wfg(topo.s, "detach s0"), 0, "%s", wfg_output());
	cr_assert_eq(sh("ip -n %s link show s0 | grep -qi xdp", topo.s), 1, "XDP left on s0");
	unsetenv("LIBXDP_OBJECT_PATH");
}
