// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfguard: the operator's tool. Conventions of xdp-loader, tc and bpftool:
 * `wfguard [-v] COMMAND [options]`, --help on every command, --json for
 * scripts. Exit codes: 0 ok, 1 bad input or usage (a policy with errors, an
 * unknown interface, a capture already running), 2 the system refused
 * (kernel, permissions), 3 not attached.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.h"
#include "loader.h"
#include "netdev.h"
#include "policy.h"
#include "pool.h"
#include "pump.h"

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_SYSTEM = 2, EXIT_NOT_ATTACHED = 3 };

static int verbose;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "wfguard: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int errno_exit(int rc)
{
	return rc == -ENOENT					 ? EXIT_NOT_ATTACHED
	       : rc == -EINVAL || rc == -ENODEV || rc == -EEXIST ? EXIT_INPUT
								 : EXIT_SYSTEM;
}

/* ---------------------------------------------------------------- keys */

/* Key file: one line per slot, "k0 k1" in hex; optional third line: the master secret. */
static int keys_load(const char *path, struct wfg_ctl *ctl, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	unsigned long long a, b;
	char line[256];
	int slot = 0, lineno = 0;

	if (!f)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -EINVAL;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (slot < 2) {
			if (sscanf(line, "%llx %llx", &a, &b) != 2) {
				fclose(f);
				return snprintf(err, errlen, "%s:%d:1: expected two hex words",
						path, lineno),
				       -EINVAL;
			}
			ctl->keys[slot].k0 = a;
			ctl->keys[slot].k1 = b;
			slot++;
		}
	}
	fclose(f);
	if (!slot)
		return snprintf(err, errlen, "%s: no key", path), -EINVAL;
	if (slot == 1)
		ctl->keys[1] = ctl->keys[0];
	return 0;
}

static int cmd_keys(int argc, char **argv)
{
	unsigned long long w[4];
	FILE *f;

	if (argc < 3 || strcmp(argv[1], "generate") || !strcmp(argv[1], "--help")) {
		printf("usage: wfguard keys generate FILE\n"
		       "  Write two fresh shim keys (slot 0 and slot 1) to FILE (mode 0600).\n"
		       "  Rotation: put the new key in the slot peers do not send with, apply on\n"
		       "  both ends, then switch the sending slot.\n");
		return argc >= 2 && !strcmp(argv[1], "--help") ? EXIT_OK : EXIT_INPUT;
	}
	if (getrandom(w, sizeof(w), 0) != sizeof(w))
		return fail(EXIT_SYSTEM, "getrandom: %s", strerror(errno));
	umask(077);
	f = fopen(argv[2], "wx");
	if (!f)
		return fail(EXIT_INPUT, "%s: %s (refusing to overwrite keys)", argv[2],
			    strerror(errno));
	fprintf(f,
		"# wfguard shim keys: slot 0, slot 1 (SipHash-2-4 keys, hex)\n%016llx %016llx\n"
		"%016llx %016llx\n",
		w[0], w[1], w[2], w[3]);
	fclose(f);
	return EXIT_OK;
}

/* ---------------------------------------------------------------- policy */

/*
 * Not inlined: gcc would then bound keys_path by the rest of the struct and
 * warn that keys_load()'s messages (err, 512 bytes) may be truncated; they may,
 * as before.
 */
__attribute__((noinline)) static struct wfg_compiled_policy *load_policy(const char *path,
									 int *code)
{
	static struct wfg_compiled_policy cp;

	/* the load records the role in the slot too: capture needs to know which side this is */
	if (wfg_policy_load_report(path, &cp, stderr)) {
		*code = EXIT_INPUT;
		return NULL;
	}
	return &cp;
}

static int cmd_policy(int argc, char **argv)
{
	struct wfg_compiled_policy *cp;
	char err[256];
	int code = EXIT_OK, rc;

	if (argc < 3 || !strcmp(argv[1], "--help")) {
		printf("usage: wfguard policy check FILE\n"
		       "       wfguard policy apply IFACE FILE\n"
		       "  check: validate FILE, print the compiled summary; exit 1 with\n"
		       "         file:line:col: message for every error.\n"
		       "  apply: atomic live swap on IFACE; a bad file changes nothing.\n");
		return argc >= 2 && !strcmp(argv[1], "--help") ? EXIT_OK : EXIT_INPUT;
	}
	if (!strcmp(argv[1], "check")) {
		cp = load_policy(argv[2], &code);
		if (!cp)
			return code;
		printf("%s: ok\n%s", argv[2], cp->summary);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "apply") && argc >= 4) {
		struct wfg_dp dp;

		cp = load_policy(argv[3], &code);
		if (!cp)
			return code;
		rc = wfg_dp_open(argv[2], &dp, err, sizeof(err));
		if (rc)
			return fail(errno_exit(rc), "%s", err);
		rc = wfg_dp_apply(&dp, &cp->dp, err, sizeof(err));
		wfg_dp_close(&dp);
		if (rc)
			return fail(errno_exit(rc), "%s", err);
		printf("%s: policy %s applied\n", argv[2], argv[3]);
		return EXIT_OK;
	}
	return fail(EXIT_INPUT, "policy: unknown subcommand '%s' (check, apply)", argv[1]);
}

/* ---------------------------------------------------------------- attach/detach */

static int cmd_attach(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, 0, 'p' }, { "xdp-mode", required_argument, 0, 'x' },
		{ "keys", required_argument, 0, 'k' },	 { "ephemeral-key", no_argument, 0, 'E' },
		{ "help", no_argument, 0, 'h' },	 { 0 }
	};
	const char *policy = NULL, *keys = NULL;
	int ephemeral = 0;
	struct wfg_attach_opts ao = { 0 };
	struct wfg_compiled_policy *cp;
	struct wfg_ctl ctl = { 0 };
	char err[512];
	int c, rc, code = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:x:k:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy = optarg;
			break;
		case 'x':
			if (!strcmp(optarg, "native"))
				ao.xdp_mode = WFG_XDP_NATIVE;
			else if (!strcmp(optarg, "skb"))
				ao.xdp_mode = WFG_XDP_SKB;
			else
				return fail(EXIT_INPUT, "--xdp-mode: native or skb, not '%s'",
					    optarg);
			break;
		case 'k':
			keys = optarg;
			break;
		case 'E':
			ephemeral = 1;
			break;
		case 'h':
			printf("usage: wfguard attach IFACE --policy FILE [--xdp-mode native|skb] "
			       "[--keys FILE | --ephemeral-key]\n"
			       "  Load the data path on IFACE (TC egress + XDP ingress), pin it "
			       "under\n"
			       "  %s/net-NETNS/IFACE/ (%s overrides the root), install sch_fq "
			       "when\n"
			       "  the policy delays packets.\n"
			       "  Shim mode needs the key file both ends share (--keys, or "
			       "shim.keys\n"
			       "  in the policy); --ephemeral-key makes a random one that no peer\n"
			       "  can have (tests, one-host experiments).\n",
			       wfg_pin_root(), WFG_PIN_ROOT_ENV);
			return EXIT_OK;
		default:
			return EXIT_INPUT;
		}
	}
	if (optind >= argc || !policy)
		return fail(EXIT_INPUT, "attach: IFACE and --policy FILE are required (--help)");
	cp = load_policy(policy, &code);
	if (!cp)
		return code;
	if (!keys && cp->keys_path[0])
		keys = cp->keys_path;
	if (keys && keys_load(keys, &ctl, err, sizeof(err)))
		return fail(EXIT_INPUT, "%s", err);
	/* Tunnel mode has no shim to key. In shim mode a random key means the
	 * peer verifies nothing: every datagram passes unverified and every cover
	 * reaches the application, so it is refused unless asked for by name. */
	if (keys && ephemeral)
		return fail(EXIT_INPUT, "attach: --keys and --ephemeral-key exclude each other");
	if (!keys && !ephemeral && cp->dp.mode != WFG_MODE_TUNNEL)
		return fail(EXIT_INPUT,
			    "attach: %s: no key file: a shim-mode policy needs the key both ends "
			    "share (--keys FILE or shim.keys in %s; `wfguard keys generate FILE` "
			    "makes one to copy to the peer); --ephemeral-key for a random key no "
			    "peer can have",
			    argv[optind], policy);
	if (getrandom(ctl.master, sizeof(ctl.master), 0) != sizeof(ctl.master))
		return fail(EXIT_SYSTEM, "getrandom: %s", strerror(errno));
	if (!keys && getrandom(ctl.keys, sizeof(ctl.keys), 0) != sizeof(ctl.keys))
		return fail(EXIT_SYSTEM, "getrandom: %s", strerror(errno));
	ao.max_flows = cp->max_flows;
	ao.install_fq = wfg_policy_delays(&cp->dp);
	rc = wfg_dp_attach(argv[optind], &cp->dp, &ctl, &ao, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	printf("%s: attached (policy %s%s)\n", argv[optind], policy,
	       ao.install_fq ? ", sch_fq installed" : "");
	if (cp->dp.mode == WFG_MODE_SHIM && cp->dp.side.shape.mode != WFG_SHAPE_NONE) {
		/* Super-packets come from sockets, not from the device: say so once. */
		int mtu = wfg_netdev_mtu(argv[optind]);
		char advice[768];

		if (mtu > 0)
			wfg_policy_fit_mtu(&cp->dp, (__u32)mtu); /* the limit as attached */
		wfg_netdev_gso_advice(argv[optind], cp->dp.side.shape.max, advice, sizeof(advice));
		fprintf(stderr, "wfguard: warning: %s\n", advice);
	}
	return EXIT_OK;
}

static int cmd_detach(int argc, char **argv)
{
	char err[256];
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		printf("usage: wfguard detach IFACE\n"
		       "  Remove the programs, filters, the qdiscs wfguard installed and the "
		       "pins.\n");
		return argc >= 2 ? EXIT_OK : EXIT_INPUT;
	}
	rc = wfg_dp_detach(argv[1], err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	printf("%s: detached\n", argv[1]);
	return EXIT_OK;
}

/* ---------------------------------------------------------------- stats/status */

enum stats_format { STATS_TEXT, STATS_JSON, STATS_PROMETHEUS };

/* The Prometheus text format (node_exporter's textfile collector takes it). */
static void print_prometheus(const char *ifname, const __u64 *st)
{
	int i;

	for (i = 0; i < WFG_STAT__COUNT; i++) {
		printf("# HELP wfguard_%s_total %s\n", wfg_stat_name(i), wfg_stat_help(i));
		printf("# TYPE wfguard_%s_total counter\n", wfg_stat_name(i));
		printf("wfguard_%s_total{interface=\"%s\"} %llu\n", wfg_stat_name(i), ifname,
		       (unsigned long long)st[i]);
	}
}

/*
 * The attached policy's size limit (0 when unknown): what a defended
 * application's datagrams plus the shim must stay within.
 */
static __u32 attached_limit(const struct wfg_dp *dp)
{
	struct wfg_policy *pol = malloc(sizeof(*pol));
	struct wfg_ctl ctl;
	__u32 zero = 0, limit = 0;

	if (pol && !bpf_map_lookup_elem(dp->ctl_fd, &zero, &ctl) &&
	    !bpf_map_lookup_elem(dp->policy_fd, &ctl.active, pol))
		limit = pol->side.shape.max;
	free(pol);
	return limit;
}

/* A hint under the counters when they show something an operator must fix. */
static void print_hints(const char *ifname, const __u64 *st, __u32 limit)
{
	char advice[768];

	if (!st[WFG_STAT_UNSHAPED_GSO])
		return;
	wfg_netdev_gso_advice(ifname, limit, advice, sizeof(advice));
	printf("hint: %llu GSO super-packets left unshaped. %s\n",
	       (unsigned long long)st[WFG_STAT_UNSHAPED_GSO], advice);
}

static int print_stats(const char *ifname, int json)
{
	__u64 st[WFG_STAT__COUNT];
	struct wfg_dp dp;
	char err[256];
	__u32 limit;
	int rc, i;

	rc = wfg_dp_open(ifname, &dp, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	rc = wfg_dp_stats(&dp, st, err, sizeof(err));
	limit = attached_limit(&dp);
	wfg_dp_close(&dp);
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	if (json == STATS_PROMETHEUS) {
		print_prometheus(ifname, st);
	} else if (json) {
		printf("{\"interface\":\"%s\"", ifname);
		for (i = 0; i < WFG_STAT__COUNT; i++)
			printf(",\"%s\":%llu", wfg_stat_name(i), (unsigned long long)st[i]);
		printf("}\n");
	} else {
		printf("%s\n", ifname);
		for (i = 0; i < WFG_STAT__COUNT; i++)
			printf("  %-20s %llu\n", wfg_stat_name(i), (unsigned long long)st[i]);
		print_hints(ifname, st, limit);
	}
	return EXIT_OK;
}

static int cmd_stats(int argc, char **argv)
{
	int json = 0, watch = 0, i, rc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = STATS_JSON;
		else if (!strcmp(argv[i], "--prometheus"))
			json = STATS_PROMETHEUS;
		else if (!strcmp(argv[i], "--watch"))
			watch = 1;
		else if (!strcmp(argv[i], "--help"))
			return printf("usage: wfguard stats IFACE [--json | --prometheus] "
				      "[--watch]\n"),
			       EXIT_OK;
		else if (argv[i][0] == '-')
			return fail(EXIT_INPUT, "stats: unknown option %s", argv[i]);
	}
	for (i = 1; i < argc && argv[i][0] == '-'; i++)
		;
	if (i >= argc)
		return fail(EXIT_INPUT, "stats: IFACE is required");
	do {
		rc = print_stats(argv[i], json);
		if (rc || !watch)
			return rc;
		fflush(stdout);
		sleep(1);
	} while (1);
}

static int cmd_status(int argc, char **argv)
{
	__u64 st[WFG_STAT__COUNT];
	struct wfg_policy *pol;
	struct wfg_ctl ctl;
	struct wfg_dp dp;
	char err[256];
	__u32 zero = 0;
	int rc, json = argc > 2 && !strcmp(argv[2], "--json");

	if (argc < 2 || !strcmp(argv[1], "--help"))
		return printf("usage: wfguard status IFACE [--json]\n"),
		       argc < 2 ? EXIT_INPUT : EXIT_OK;
	rc = wfg_dp_open(argv[1], &dp, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	if (wfg_dp_stale(&dp)) {
		const char *why = wfg_dp_stale(&dp);

		if (json)
			printf("{\"interface\":\"%s\",\"attached\":false,\"stale\":true}\n",
			       argv[1]);
		wfg_dp_close(&dp);
		return fail(EXIT_NOT_ATTACHED,
			    "%s: not attached: %s; its pins are left over (`wfguard detach %s` "
			    "removes them)",
			    argv[1], why, argv[1]);
	}
	pol = malloc(sizeof(*pol));
	if (!pol || bpf_map_lookup_elem(dp.ctl_fd, &zero, &ctl) ||
	    bpf_map_lookup_elem(dp.policy_fd, &ctl.active, pol)) {
		wfg_dp_close(&dp);
		free(pol);
		return fail(EXIT_SYSTEM, "%s: cannot read the maps", argv[1]);
	}
	if (json)
		printf("{\"interface\":\"%s\",\"attached\":true,\"slot\":%u,\"generation\":%llu,"
		       "\"rules\":%u,\"machines\":%u,\"fq\":%s,\"xdp_mode\":\"%s\","
		       "\"capture_pid\":%u}\n",
		       argv[1], ctl.active, (unsigned long long)pol->generation, pol->nrules,
		       pol->side.nmachines, ctl.attach_flags & WFG_ATTACHED_FQ ? "true" : "false",
		       ctl.attach_flags & WFG_ATTACHED_XDP_SKB ? "skb" : "native", ctl.capture_pid);
	else
		printf("%s: attached, policy slot %u generation %llu, %u rules, %u machines, "
		       "sch_fq %s, XDP %s mode\n",
		       argv[1], ctl.active, (unsigned long long)pol->generation, pol->nrules,
		       pol->side.nmachines,
		       ctl.attach_flags & WFG_ATTACHED_FQ ? "installed" : "not needed",
		       ctl.attach_flags & WFG_ATTACHED_XDP_SKB ? "skb" : "native");
	if (!json && ctl.capture_pid)
		printf("%s: capture records on for pid %u%s\n", argv[1], ctl.capture_pid,
		       kill((pid_t)ctl.capture_pid, 0) && errno == ESRCH ? " (not running)" : "");
	if (!json && !wfg_dp_stats(&dp, st, err, sizeof(err)))
		print_hints(argv[1], st, pol->side.shape.max);
	free(pol);
	wfg_dp_close(&dp);
	return EXIT_OK;
}

static void addr_str(char *buf, size_t len, int family, const __u8 *a)
{
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)len);
}

static int cmd_flows(int argc, char **argv)
{
	struct wfg_flow_key key, next, *prev = NULL;
	struct wfg_flow *f;
	struct wfg_dp dp;
	char err[256], la[64], ra[64];
	int rc, json = argc > 2 && !strcmp(argv[2], "--json"), n = 0;

	if (argc < 2 || !strcmp(argv[1], "--help"))
		return printf("usage: wfguard flows IFACE [--json]\n"),
		       argc < 2 ? EXIT_INPUT : EXIT_OK;
	rc = wfg_dp_open(argv[1], &dp, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	f = malloc(sizeof(*f));
	if (!f)
		return fail(EXIT_SYSTEM, "out of memory");
	if (!json)
		printf("%-40s %-40s %8s %8s %7s %5s\n", "local", "remote", "out", "in", "covers",
		       "gen");
	else
		printf("[");
	while (bpf_map_get_next_key(dp.flows_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(dp.flows_fd, &key, f))
			continue;
		addr_str(la, sizeof(la), key.family, key.laddr);
		addr_str(ra, sizeof(ra), key.family, key.raddr);
		if (json)
			printf("%s{\"local\":\"%s\",\"local_port\":%u,\"remote\":\"%s\","
			       "\"remote_port\":%u,\"pkts_out\":%u,\"pkts_in\":%u,\"bytes_out\":%"
			       "llu,"
			       "\"bytes_in\":%llu,\"covers_sent\":%u,\"generation\":%llu}",
			       n ? "," : "", la, ntohs(key.lport), ra, ntohs(key.rport),
			       f->st.pkts_out, f->st.pkts_in, (unsigned long long)f->st.bytes_out,
			       (unsigned long long)f->st.bytes_in, f->st.covers_sent,
			       (unsigned long long)f->st.generation);
		else {
			char l[80], r[80];

			snprintf(l, sizeof(l), "%s:%u", la, ntohs(key.lport));
			snprintf(r, sizeof(r), "%s:%u", ra, ntohs(key.rport));
			printf("%-40s %-40s %8u %8u %7u %5llu\n", l, r, f->st.pkts_out,
			       f->st.pkts_in, f->st.covers_sent,
			       (unsigned long long)f->st.generation);
		}
		n++;
	}
	if (json)
		printf("]\n");
	free(f);
	wfg_dp_close(&dp);
	return EXIT_OK;
}

/* ---------------------------------------------------------------- run (pump) */

static volatile sig_atomic_t stop, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		stop = 1;
}

struct run_ctx {
	struct wfg_pump *pump;
	int discard; /* requests posted while no daemon ran: their time has passed */
	unsigned long long discarded;
};

static int pump_cb(void *ctx, void *data, size_t len)
{
	struct run_ctx *rc = ctx;

	if (len != sizeof(struct wfg_cover_req))
		return 0;
	if (rc->discard)
		rc->discarded += ((struct wfg_cover_req *)data)->count;
	else
		wfg_pump_request(rc->pump, data);
	return 0;
}

/* Attached in tunnel mode (the control map says what attach did)? */
static int dp_is_tunnel(const struct wfg_dp *dp)
{
	struct wfg_ctl ctl;
	__u32 zero = 0;

	return !bpf_map_lookup_elem(dp->ctl_fd, &zero, &ctl) &&
	       (ctl.attach_flags & WFG_ATTACHED_TUNNEL);
}

static int cmd_run(int argc, char **argv)
{
	struct wfg_pump pump = { .fd4 = -1, .fd6 = -1, .fd_dev = -1 };
	struct run_ctx ctx = { .pump = &pump, .discard = 1 };
	struct wfg_pool pool = { 0 };
	time_t checked = 0;
	int wait_ms = 100;
	const char *policy = argc > 3 && !strcmp(argv[2], "--policy") ? argv[3] : NULL;
	struct ring_buffer *rb;
	struct wfg_dp dp;
	char err[256];
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		printf("usage: wfguard run IFACE [--policy FILE]\n"
		       "  The daemon: sends carriers for the data path's cover requests and keeps\n"
		       "  its padding pool filled with random bytes. SIGHUP re-applies FILE;\n"
		       "  SIGTERM exits (the programs stay attached); so do detach and the\n"
		       "  device's deletion. Requests posted while no daemon ran are dropped\n"
		       "  at start (their time is past).\n");
		return argc < 2 ? EXIT_INPUT : EXIT_OK;
	}
	rc = wfg_dp_open(argv[1], &dp, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	rc = wfg_pump_open(&pump, err, sizeof(err));
	if (!rc && dp_is_tunnel(&dp))
		rc = wfg_pump_open_dev(&pump, dp.ifindex, err, sizeof(err));
	if (rc) {
		wfg_pump_close(&pump);
		wfg_dp_close(&dp);
		return fail(EXIT_SYSTEM, "%s", err);
	}
	rb = ring_buffer__new(dp.covers_fd, pump_cb, &ctx, NULL);
	if (!rb) {
		rc = errno;
		wfg_pump_close(&pump);
		wfg_dp_close(&dp);
		return fail(EXIT_SYSTEM, "ring buffer: %s", strerror(rc));
	}
	ring_buffer__consume(rb);
	ctx.discard = 0;
	if (ctx.discarded)
		fprintf(stderr, "wfguard: dropped %llu stale cover requests\n", ctx.discarded);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	if (dp.pool_fd >= 0 && wfg_pool_open(&pool, dp.pool_fd, err, sizeof(err)))
		fprintf(stderr, "wfguard: %s; padding from each flow's keystream\n", err);
	fprintf(stderr, "wfguard: pumping covers for %s\n", argv[1]);
	while (!stop) {
		const char *gone;

		/* Once a second: the daemon ends with its attachment. */
		if (time(NULL) != checked && (checked = time(NULL), gone = wfg_dp_stale(&dp))) {
			fprintf(stderr, "wfguard: %s: attachment no longer live (%s); exiting\n",
				argv[1], gone);
			break;
		}
		/* Refill the padding pool; poll sooner while the data path drains it. */
		if (pool.mem) {
			rc = wfg_pool_refill(&pool);
			if (rc < 0) {
				fprintf(stderr, "wfguard: padding pool: %s\n", strerror(-rc));
				wfg_pool_close(&pool);
			}
			wait_ms = rc > 0 ? 1 : wait_ms < 64 ? wait_ms * 2 : 100;
		}
		ring_buffer__poll(rb, wait_ms);
		if (reload && policy) {
			struct wfg_compiled_policy *cp;
			int code;

			reload = 0;
			cp = load_policy(policy, &code);
			if (cp && wfg_dp_apply(&dp, &cp->dp, err, sizeof(err)))
				fprintf(stderr, "wfguard: reload: %s\n", err);
			else if (cp)
				fprintf(stderr, "wfguard: %s re-applied\n", policy);
		}
	}
	fprintf(stderr,
		"wfguard: stopping; %llu carriers sent, %llu failed, %llu pool chunks filled\n",
		pump.sent, pump.failed, pool.filled);
	wfg_pool_close(&pool);
	ring_buffer__free(rb);
	wfg_pump_close(&pump);
	wfg_dp_close(&dp);
	return EXIT_OK;
}

/* ---------------------------------------------------------------- capture */

static int parse_count(const char *opt, const char *s, unsigned long long max,
		       unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || *v < 1 || *v > max)
		return fail(EXIT_INPUT, "%s: expected an integer in 1..%llu, not '%s'", opt, max,
			    s);
	return EXIT_OK;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static void capture_usage(void)
{
	printf("usage: wfguard capture IFACE -o DIR [--duration S] [--flows N] [--max-packets N]\n"
	       "                       [--role client|server]\n"
	       "  Per-flow traces of the defended flows on IFACE, from the data path itself:\n"
	       "  egress after shaping (real and cover packets as they leave), ingress before\n"
	       "  stripping (real, cover, unverified). One wfguard-trace v1 file per flow,\n"
	       "  named by its 5-tuple, and DIR/index; DIR is written atomically at the end\n"
	       "  (it may exist only if empty). Stops on SIGINT/SIGTERM or after S seconds.\n"
	       "  --flows N        keep at most N flows (default 1024)\n"
	       "  --max-packets N  keep at most N packets in all (default 4194304)\n"
	       "  --role R         this host's side for the +/- directions (default: the\n"
	       "                   attached policy's role)\n"
	       "  Exit: 0 written, 1 bad input or a capture already running, 2 the system\n"
	       "  refused, 3 not attached. Details: docs/capture.md.\n");
}

struct capture_args {
	const char *iface, *out;
	double duration; /* seconds; < 0 = until a signal */
	struct wfg_capture_opts o;
};

static int capture_parse(int argc, char **argv, struct capture_args *a)
{
	static const struct option lo[] = { { "output", required_argument, 0, 'o' },
					    { "duration", required_argument, 0, 'd' },
					    { "flows", required_argument, 0, 'f' },
					    { "max-packets", required_argument, 0, 'm' },
					    { "role", required_argument, 0, 'r' },
					    { "help", no_argument, 0, 'h' },
					    { 0 } };
	unsigned long long v;
	char *end;
	int c;

	a->duration = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:d:f:m:r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->out = optarg;
			break;
		case 'd':
			errno = 0;
			a->duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(a->duration >= 0) ||
			    a->duration > 31536000)
				return fail(EXIT_INPUT,
					    "--duration: seconds (0..31536000), not '%s'", optarg);
			break;
		case 'f':
			if (parse_count("--flows", optarg, 1u << 20, &v))
				return EXIT_INPUT;
			a->o.max_flows = (__u32)v;
			break;
		case 'm':
			if (parse_count("--max-packets", optarg, 1ull << 32, &v))
				return EXIT_INPUT;
			a->o.max_packets = v;
			break;
		case 'r':
			if (!strcmp(optarg, "client"))
				a->o.role = WFG_DP_ROLE_CLIENT;
			else if (!strcmp(optarg, "server"))
				a->o.role = WFG_DP_ROLE_SERVER;
			else
				return fail(EXIT_INPUT, "--role: client or server, not '%s'",
					    optarg);
			break;
		case 'h':
			capture_usage();
			return -1;
		default:
			return EXIT_INPUT;
		}
	}
	if (optind >= argc || !a->out)
		return fail(EXIT_INPUT, "capture: IFACE and -o DIR are required (--help)");
	a->iface = argv[optind];
	return EXIT_OK;
}

/* Collect until a signal or the deadline. 0, or -errno of the ring buffer. */
static int capture_loop(struct wfg_capture *c, double duration)
{
	__u64 end = duration >= 0 ? mono_ns() + (__u64)(duration * 1e9) : 0;
	int rc;

	while (!stop) {
		int timeout = 20; /* the ring holds ~32k records: 20 ms is 1.6 Mpps */

		if (end) {
			__u64 now = mono_ns();

			if (now >= end)
				break;
			if (end - now < 20000000ull)
				timeout = (int)((end - now) / 1000000) + 1;
		}
		rc = wfg_capture_poll(c, timeout);
		if (rc < 0 && rc != -EINTR)
			return rc;
	}
	return 0;
}

static int cmd_capture(int argc, char **argv)
{
	static const char *const roles[] = { "unknown", "client", "server" };
	struct capture_args a = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct wfg_capture c;
	char err[512];
	int rc, code;

	code = capture_parse(argc, argv, &a);
	if (code)
		return code < 0 ? EXIT_OK : code;
	rc = wfg_capture_check_out(a.out, err, sizeof(err));
	if (rc)
		return fail(EXIT_INPUT, "%s", err);
	rc = wfg_capture_start(&c, a.iface, &a.o, err, sizeof(err));
	if (rc)
		return fail(rc == -EBUSY ? EXIT_INPUT : errno_exit(rc), "%s", err);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: the poll returns */
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "wfguard: capturing on %s (this host: %s) into %s\n", a.iface,
		roles[c.role <= WFG_DP_ROLE_SERVER ? c.role : 0], a.out);
	rc = capture_loop(&c, a.duration);
	code = EXIT_OK;
	if (rc) {
		fprintf(stderr, "wfguard: capture ring buffer: %s; writing what was collected\n",
			strerror(-rc));
		code = EXIT_SYSTEM;
	}
	if (wfg_capture_stop(&c, err, sizeof(err))) {
		fprintf(stderr, "wfguard: %s\n", err);
		code = EXIT_SYSTEM;
	}
	rc = wfg_capture_write(&c, a.out, err, sizeof(err));
	if (rc) {
		wfg_capture_free(&c);
		return fail(EXIT_SYSTEM, "%s", err);
	}
	printf("%s: %llu records, %zu flows, %llu lost, %llu skipped -> %s\n", a.iface,
	       (unsigned long long)c.records, c.nflows, (unsigned long long)c.lost,
	       (unsigned long long)(c.skipped_flows + c.skipped_packets), a.out);
	if (c.lost)
		fprintf(stderr,
			"wfguard: warning: %llu records did not fit the ring buffer; the "
			"traces miss packets\n",
			(unsigned long long)c.lost);
	wfg_capture_free(&c);
	return code;
}

/* ---------------------------------------------------------------- main */

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "attach", cmd_attach, "load and attach the data path to an interface" },
	{ "detach", cmd_detach, "remove everything wfguard put on an interface" },
	{ "status", cmd_status, "what is attached, which policy" },
	{ "stats", cmd_stats, "counters (--json, --watch)" },
	{ "flows", cmd_flows, "the flow table (--json)" },
	{ "policy", cmd_policy, "check a policy file, or apply it live" },
	{ "run", cmd_run, "the daemon: pump cover packets, reload on SIGHUP" },
	{ "capture", cmd_capture, "per-flow traces from the data path (harness format)" },
	{ "keys", cmd_keys, "generate a shim key file" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: wfguard [-v] COMMAND [options]   (COMMAND --help for details)\n\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f,
		"\nexit codes: 0 ok, 1 bad input or usage, 2 the system refused (kernel,\n"
		"permissions), 3 not attached\n"
		"environment: %s=DIR pins under DIR (a bpffs) instead of %s\n",
		WFG_PIN_ROOT_ENV, WFG_PIN_ROOT);
}

int main(int argc, char **argv)
{
	size_t i;

	while (argc > 1 && !strncmp(argv[1], "-v", 2)) {
		verbose += (int)strlen(argv[1]) - 1;
		argc--;
		argv++;
	}
	libbpf_set_print(libbpf_log);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_INPUT : EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char *help[] = { argv[1], "--help", NULL };
		int a;

		if (strcmp(argv[1], commands[i].name))
			continue;
		/* --help anywhere (`wfguard policy check --help`): the command's help */
		for (a = 2; a < argc; a++)
			if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h"))
				return commands[i].fn(2, help);
		return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "wfguard: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_INPUT;
}
