// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfguard: the operator's tool. Conventions of xdp-loader, tc and bpftool:
 * `wfguard [-v] COMMAND [options]`, --help on every command, --json for
 * scripts. Exit codes: 0 ok, 1 bad input or usage (a policy with errors, an
 * unknown interface, a capture already running), 2 the system refused
 * (kernel, permissions), 3 not attached.
 */
#define _GNU_SOURCE /* setns() */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
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
#include <jansson.h>

#include "apply.h"
#include "capture.h"
#include "doctor.h"
#include "err.h"
#include "keys.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "netdev.h"
#include "policy.h"
#include "pool.h"
#include "pump.h"
#include "xdp_attach.h"

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

	va_start(ap, fmt);
	wfg_vlog(LOG_ERR, fmt, ap);
	va_end(ap);
	return code;
}

static int errno_exit(int rc)
{
	return rc == -ENOENT					 ? EXIT_NOT_ATTACHED
	       : rc == -EINVAL || rc == -ENODEV || rc == -EEXIST ? EXIT_INPUT
								 : EXIT_SYSTEM;
}

/* ---------------------------------------------------------------- options */

/*
 * Every command parses its options with getopt_long (permuting: options may
 * follow the operands, as in `wfguard stats eth0 --json`), refuses an option
 * it does not know and operands it does not take, and prints its usage for
 * --help. Its usage text lives in the command table, once.
 */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary; /* one line for `wfguard --help` */
	const char *usage;   /* the --help text; its first line is the synopsis */
};

static const struct command *cur_cmd; /* the command main() runs */

#define OPT_HELP                            \
	{                                   \
		"help", no_argument, 0, 'h' \
	}
#define OPT_JSON                            \
	{                                   \
		"json", no_argument, 0, 'j' \
	}

/* Start parsing a command's argv (argv[0] is the command's name). */
static void opts_begin(void)
{
	optind = 0; /* 0, not 1: GNU getopt then forgets a previous parse */
	opterr = 0; /* messages are ours: they name the command and the help */
}

static int show_usage(void)
{
	fputs(cur_cmd->usage, stdout);
	return EXIT_OK;
}

/* The synopsis: the usage text's first line, for error messages. */
static int synopsis_len(void)
{
	const char *nl = strchr(cur_cmd->usage, '\n');

	return nl ? (int)(nl - cur_cmd->usage) : (int)strlen(cur_cmd->usage);
}

/* An option getopt_long refused (c is '?' or ':', optstrings start with ':'). */
static int bad_option(char **argv, int c)
{
	char shortopt[3] = { '-', (char)optopt, 0 };
	const char *opt = c == '?' && optopt ? shortopt : argv[optind - 1];

	return fail(EXIT_INPUT, "%s: %s '%s' (%.*s; --help for more)", cur_cmd->name,
		    c == ':' ? "missing the value of option" : "unknown option", opt,
		    synopsis_len(), cur_cmd->usage);
}

/* After the options: at least min and at most max operands, or a usage error. */
static int operands(int argc, char **argv, int min, int max)
{
	int n = argc - optind;

	if (n < min)
		return fail(EXIT_INPUT, "%s: missing operand (%.*s; --help for more)",
			    cur_cmd->name, synopsis_len(), cur_cmd->usage);
	if (n > max)
		return fail(EXIT_INPUT, "%s: unexpected argument '%s' (%.*s; --help for more)",
			    cur_cmd->name, argv[optind + max], synopsis_len(), cur_cmd->usage);
	return EXIT_OK;
}

/*
 * The options of a command that has only --help (and --json when json is not
 * NULL), then its operands. EXIT_OK with *done = 0 to go on; otherwise the
 * exit code (EXIT_OK with *done = 1 after --help).
 */
static int simple_opts(int argc, char **argv, int *json, int min, int max, int *done)
{
	static const struct option lo[] = { OPT_HELP, OPT_JSON, { 0 } };
	int c;

	*done = 1;
	opts_begin();
	while ((c = getopt_long(argc, argv, json ? ":hj" : ":h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_usage();
		if (c == 'j' && json)
			*json = 1;
		else
			return bad_option(argv, c == 'j' ? '?' : c);
	}
	if (operands(argc, argv, min, max))
		return EXIT_INPUT;
	*done = 0;
	return EXIT_OK;
}

/* ---------------------------------------------------------------- JSON */

/*
 * Every --json output is one object on one line, written by jansson (names
 * escaped, docs/cli-json.md): "schema" first, then the command's keys.
 */
#define WFG_JSON_SCHEMA 1

/*
 * A JSON string of s. JSON text is UTF-8 and interface names are bytes: a
 * name that is not UTF-8 has each byte above 0x7f replaced by '?'.
 */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char ascii[256];
	size_t i;

	if (j)
		return j;
	for (i = 0; s[i] && i < sizeof(ascii) - 1; i++)
		ascii[i] = (unsigned char)s[i] > 0x7f ? '?' : s[i];
	ascii[i] = 0;
	return json_string(ascii);
}

/* A new output object: {"schema":1} and "interface" when ifname is not NULL. */
static json_t *json_doc(const char *ifname)
{
	json_t *o = json_object();

	json_object_set_new(o, "schema", json_integer(WFG_JSON_SCHEMA));
	if (ifname)
		json_object_set_new(o, "interface", json_text(ifname));
	return o;
}

/* Print o on one line and release it. */
static int json_print(json_t *o)
{
	int rc = o ? json_dumpf(o, stdout, JSON_COMPACT) : -1;

	json_decref(o);
	if (rc)
		return fail(EXIT_SYSTEM, "cannot write the JSON output");
	putchar('\n');
	return EXIT_OK;
}

/* ---------------------------------------------------------------- keys */

static int dp_is_tunnel(const struct wfg_dp *dp);

/* `keys generate FILE`: two fresh keys, never over an existing file. */
static int keys_generate(const char *path)
{
	unsigned long long w[4];
	FILE *f;

	if (getrandom(w, sizeof(w), 0) != sizeof(w))
		return fail(EXIT_SYSTEM, "getrandom: %s", strerror(errno));
	umask(077);
	f = fopen(path, "wx");
	if (!f)
		return fail(EXIT_INPUT, "%s: %s (refusing to overwrite keys)", path,
			    strerror(errno));
	fprintf(f,
		"# wfguard shim keys: slot 0, slot 1 (SipHash-2-4 keys, hex)\n%016llx %016llx\n"
		"%016llx %016llx\n",
		w[0], w[1], w[2], w[3]);
	fclose(f);
	return EXIT_OK;
}

/* `keys show IFACE`: which key is in which slot (by id), which one sends. */
static int keys_show(const struct wfg_dp *dp, int json)
{
	struct wfg_ctl ctl;
	char err[256];
	json_t *o;
	int i;

	if (wfg_dp_keys_read(dp, &ctl, err, sizeof(err)))
		return fail(EXIT_SYSTEM, "%s", err);
	if (!json) {
		for (i = 0; i < 2; i++)
			printf("%s: slot %d key %08x%s\n", dp->ifname, i, wfg_key_id(&ctl.keys[i]),
			       (__u32)i == ctl.key_slot ? " (sends; both slots are accepted)" : "");
		return EXIT_OK;
	}
	o = json_doc(dp->ifname);
	json_object_set_new(o, "sending_slot", json_integer(ctl.key_slot));
	json_object_set_new(o, "slots", json_array());
	for (i = 0; i < 2; i++) {
		char id[9];

		snprintf(id, sizeof(id), "%08x", wfg_key_id(&ctl.keys[i]));
		json_array_append_new(json_object_get(o, "slots"), json_string(id));
	}
	return json_print(o);
}

/* rotate, switch, retire on a live attachment, then what the slots hold. */
static int keys_step(const struct wfg_dp *dp, const char *step, const char *file)
{
	struct wfg_shim_key next[2];
	char err[512];
	int rc;

	if (!strcmp(step, "rotate")) {
		if (!file)
			return fail(EXIT_INPUT, "keys rotate: --keys FILE names the new key");
		if (wfg_keys_load(file, next, err, sizeof(err)))
			return fail(EXIT_INPUT, "%s", err);
		rc = wfg_dp_keys_rotate(dp, &next[0], err, sizeof(err));
	} else if (file) {
		return fail(EXIT_INPUT, "keys %s: --keys is for rotate", step);
	} else if (!strcmp(step, "switch")) {
		rc = wfg_dp_keys_switch(dp, err, sizeof(err));
	} else {
		rc = wfg_dp_keys_retire(dp, err, sizeof(err));
	}
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	return keys_show(dp, 0);
}

static int cmd_keys(int argc, char **argv)
{
	static const struct option lo[] = {
		OPT_HELP, OPT_JSON, { "keys", required_argument, 0, 'k' }, { 0 }
	};
	static const char *const steps[] = { "show", "rotate", "switch", "retire" };
	const char *file = NULL, *sub;
	int json = 0, c, rc, code = EXIT_INPUT;
	struct wfg_dp dp;
	char err[256];
	size_t i;

	opts_begin();
	while ((c = getopt_long(argc, argv, ":hjk:", lo, NULL)) != -1) {
		if (c == 'h')
			return show_usage();
		if (c == 'j')
			json = 1;
		else if (c == 'k')
			file = optarg;
		else
			return bad_option(argv, c);
	}
	if (operands(argc, argv, 2, 2))
		return EXIT_INPUT;
	sub = argv[optind];
	if (!strcmp(sub, "generate"))
		return json || file ? fail(EXIT_INPUT, "keys generate takes no options")
				    : keys_generate(argv[optind + 1]);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && strcmp(sub, steps[i]); i++)
		;
	if (i == sizeof(steps) / sizeof(steps[0]))
		return fail(
			EXIT_INPUT,
			"keys: unknown subcommand '%s' (generate, show, rotate, switch, retire)",
			sub);
	if (json && i)
		return fail(EXIT_INPUT, "keys %s: --json is for show", sub);
	rc = wfg_dp_open(argv[optind + 1], &dp, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	if (dp_is_tunnel(&dp))
		code = fail(EXIT_INPUT, "%s: tunnel mode has no shim and no keys", dp.ifname);
	else if (!i && file)
		code = fail(EXIT_INPUT, "keys show: --keys is for rotate");
	else if (!i)
		code = keys_show(&dp, json);
	else
		code = keys_step(&dp, sub, file);
	wfg_dp_close(&dp);
	return code;
}

/* ---------------------------------------------------------------- policy */

/*
 * Not inlined: gcc would then bound keys_path by the rest of the struct and
 * warn that wfg_keys_load()'s messages (err, 512 bytes) may be truncated; they may,
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

static const char *const role_names[] = { "client", "server" };

/* `policy check FILE --json`: the compiled summary, or every error. */
static int policy_check_json(const char *path)
{
	static struct wfg_compiled_policy cp;
	static struct wfg_diags diags;
	json_t *o = json_doc(NULL), *errs;
	int rc, i;

	json_object_set_new(o, "file", json_text(path));
	rc = wfg_policy_load(path, &cp, &diags);
	json_object_set_new(o, "ok", json_boolean(!rc));
	if (rc) {
		errs = json_array();
		for (i = 0; i < diags.n && i < WFG_POLICY_MAX_DIAGS; i++)
			json_array_append_new(errs, json_text(diags.d[i].msg));
		json_object_set_new(o, "errors", errs);
		json_object_set_new(o, "errors_truncated", json_boolean(diags.truncated));
		return json_print(o) ? EXIT_SYSTEM : EXIT_INPUT;
	}
	json_object_set_new(o, "role", json_string(role_names[cp.role == WFG_ROLE_SERVER]));
	json_object_set_new(o, "mode",
			    json_string(cp.dp.mode == WFG_MODE_TUNNEL ? "tunnel" : "shim"));
	json_object_set_new(o, "rules", json_integer(cp.dp.nrules));
	json_object_set_new(o, "machines", json_integer(cp.dp.side.nmachines));
	json_object_set_new(o, "limit", json_integer(cp.dp.side.shape.max));
	json_object_set_new(o, "delays", json_boolean(wfg_policy_delays(&cp.dp)));
	json_object_set_new(o, "keys", cp.keys_path[0] ? json_text(cp.keys_path) : json_null());
	json_object_set_new(o, "max_flows", json_integer(cp.max_flows));
	json_object_set_new(o, "pool", json_integer(cp.pool_n));
	json_object_set_new(o, "summary", json_text(cp.summary));
	return json_print(o);
}

static int policy_apply(const char *ifname, const char *file, int force)
{
	struct wfg_compiled_policy *cp;
	char err[2048], note[256];
	int code = EXIT_OK, rc;
	struct wfg_dp dp;

	cp = load_policy(file, &code);
	if (!cp)
		return code;
	rc = wfg_dp_open(ifname, &dp, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	rc = wfg_dp_apply_checked(&dp, cp, force, note, sizeof(note), err, sizeof(err));
	wfg_dp_close(&dp);
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	printf("%s: policy %s applied%s%s\n", ifname, file, note[0] ? "; " : "", note);
	return EXIT_OK;
}

static int cmd_policy(int argc, char **argv)
{
	static const struct option lo[] = {
		OPT_HELP, OPT_JSON, { "force", no_argument, 0, 'f' }, { 0 }
	};
	struct wfg_compiled_policy *cp;
	int code = EXIT_OK, json = 0, force = 0, c;
	const char *sub;

	opts_begin();
	while ((c = getopt_long(argc, argv, ":hjf", lo, NULL)) != -1) {
		if (c == 'h')
			return show_usage();
		if (c == 'j')
			json = 1;
		else if (c == 'f')
			force = 1;
		else
			return bad_option(argv, c);
	}
	if (operands(argc, argv, 1, 3))
		return EXIT_INPUT;
	sub = argv[optind];
	if (strcmp(sub, "check") && strcmp(sub, "apply"))
		return fail(EXIT_INPUT, "policy: unknown subcommand '%s' (check, apply)", sub);
	optind++;
	if (operands(argc, argv, !strcmp(sub, "check") ? 1 : 2, !strcmp(sub, "check") ? 1 : 2))
		return EXIT_INPUT;
	if (!strcmp(sub, "check")) {
		if (force)
			return fail(EXIT_INPUT, "policy check: --force is for apply");
		if (json)
			return policy_check_json(argv[optind]);
		cp = load_policy(argv[optind], &code);
		if (!cp)
			return code;
		printf("%s: ok\n%s", argv[optind], cp->summary);
		return EXIT_OK;
	}
	if (json)
		return fail(EXIT_INPUT, "policy apply: --json is for check");
	return policy_apply(argv[optind], argv[optind + 1], force);
}

/* ---------------------------------------------------------------- attach/detach */

/*
 * Pins of a dead namespace that had this one's inode number are nobody's:
 * attach and detach, which own this namespace's pins, remove them and say so.
 * Without namespace cookies (Linux < 5.14) they cannot be told from ours.
 */
static void reap_dead_pins(int attaching)
{
	struct wfg_netns_id self;
	char note[1024];

	if (!wfg_netns_self(&self) && !self.cookie && attaching)
		fprintf(stderr,
			"wfguard: note: this kernel gives no network namespace cookie "
			"(SO_NETNS_COOKIE, Linux 5.14+): pins are keyed by the namespace's inode "
			"number alone, which a namespace made after this one is deleted may "
			"reuse; its status would show these pins as its own stale ones\n");
	if (wfg_pins_reap_dead(note, sizeof(note)) > 0)
		fprintf(stderr,
			"wfguard: removed the pins of %s, left by a deleted network namespace "
			"whose inode number this one has now\n",
			note);
}

static int cmd_attach(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, 0, 'p' },  { "xdp-mode", required_argument, 0, 'x' },
		{ "keys", required_argument, 0, 'k' },	  { "ephemeral-key", no_argument, 0, 'E' },
		{ "xdp-exclusive", no_argument, 0, 'X' }, { "pool-max", required_argument, 0, 'P' },
		{ "help", no_argument, 0, 'h' },	  { 0 }
	};
	const char *policy = NULL, *keys = NULL;
	struct wfg_dp_pool pool;
	int ephemeral = 0;
	struct wfg_attach_opts ao = { 0 };
	struct wfg_compiled_policy *cp;
	struct wfg_ctl ctl = { 0 };
	char err[512];
	int c, rc, code = EXIT_OK;

	opts_begin();
	while ((c = getopt_long(argc, argv, ":p:x:k:h", lo, NULL)) != -1) {
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
		case 'X':
			ao.xdp_exclusive = 1;
			break;
		case 'P': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || v < 2 || v > WFG_DEFPOOL_MAX)
				return fail(EXIT_INPUT, "--pool-max: 2..%d defences, not '%s'",
					    WFG_DEFPOOL_MAX, optarg);
			ao.pool_max = (__u32)v;
			break;
		}
		case 'h':
			return show_usage();
		default:
			return bad_option(argv, c);
		}
	}
	if (operands(argc, argv, 1, 1))
		return EXIT_INPUT;
	if (!policy)
		return fail(EXIT_INPUT, "attach: --policy FILE is required (--help)");
	cp = load_policy(policy, &code);
	if (!cp)
		return code;
	if (!keys && cp->keys_path[0])
		keys = cp->keys_path;
	if (keys && wfg_keys_load(keys, ctl.keys, err, sizeof(err)))
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
	pool = (struct wfg_dp_pool){ cp->pool, cp->pool_n, (int)cp->role };
	ao.pool = &pool;
	reap_dead_pins(1);
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
	int rc, done, code;

	code = simple_opts(argc, argv, NULL, 1, 1, &done);
	if (done)
		return code;
	reap_dead_pins(0);
	rc = wfg_dp_detach(argv[optind], err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	printf("%s: detached\n", argv[optind]);
	return EXIT_OK;
}

/* ---------------------------------------------------------------- stats/status */

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

enum stats_format { STATS_TEXT, STATS_JSON, STATS_PROMETHEUS };

static int print_stats(const char *ifname, enum stats_format format)
{
	__u64 st[WFG_STAT__COUNT];
	struct wfg_dp dp;
	char err[256];
	__u32 limit;
	json_t *o;
	int rc, i;

	rc = wfg_dp_open(ifname, &dp, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	rc = wfg_dp_stats(&dp, st, err, sizeof(err));
	limit = attached_limit(&dp);
	wfg_dp_close(&dp);
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	if (format == STATS_PROMETHEUS) {
		if (wfg_metrics_write(stdout, ifname, st))
			return fail(EXIT_SYSTEM, "cannot write the metrics");
	} else if (format == STATS_JSON) {
		o = json_doc(ifname);
		for (i = 0; i < WFG_STAT__COUNT; i++)
			json_object_set_new(o, wfg_stat_name(i), json_integer((json_int_t)st[i]));
		return json_print(o);
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
	static const struct option lo[] = { OPT_HELP,
					    OPT_JSON,
					    { "prometheus", no_argument, 0, 'P' },
					    { "watch", no_argument, 0, 'w' },
					    { 0 } };
	enum stats_format format = STATS_TEXT;
	int watch = 0, c, rc;

	opts_begin();
	while ((c = getopt_long(argc, argv, ":hjw", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			return show_usage();
		case 'j':
			format = STATS_JSON;
			break;
		case 'P':
			format = STATS_PROMETHEUS;
			break;
		case 'w':
			watch = 1;
			break;
		default:
			return bad_option(argv, c);
		}
	}
	if (operands(argc, argv, 1, 1))
		return EXIT_INPUT;
	do {
		rc = print_stats(argv[optind], format);
		if (rc || !watch)
			return rc;
		fflush(stdout);
		sleep(1);
	} while (1);
}

/* What `status` says about one attachment. */
struct att_status {
	const char *stale; /* NULL when live; else why not (wfg_dp_stale()) */
	struct wfg_ctl ctl;
	__u64 generation;
	__u32 nrules, nmachines, limit;
	__u64 st[WFG_STAT__COUNT];
	int have_stats;
};

/* Read ifname's attachment in this network namespace: 0, or -errno and why in err. */
static int att_read(const char *ifname, struct att_status *a, char *err, size_t errlen)
{
	struct wfg_policy *pol;
	struct wfg_dp dp;
	__u32 zero = 0;
	int rc;

	memset(a, 0, sizeof(*a));
	rc = wfg_dp_open(ifname, &dp, err, errlen);
	if (rc)
		return rc;
	a->stale = wfg_dp_stale(&dp);
	pol = a->stale ? NULL : malloc(sizeof(*pol)); /* a stale one has nothing more to say */
	if (!a->stale && (!pol || bpf_map_lookup_elem(dp.ctl_fd, &zero, &a->ctl) ||
			  bpf_map_lookup_elem(dp.policy_fd, &a->ctl.active, pol))) {
		rc = wfg_err(err, errlen, EIO, "%s: cannot read the maps", ifname);
	} else if (!a->stale) {
		a->generation = pol->generation;
		a->nrules = pol->nrules;
		a->nmachines = pol->side.nmachines;
		a->limit = pol->side.shape.max;
		a->have_stats = !wfg_dp_stats(&dp, a->st, NULL, 0);
	}
	free(pol);
	wfg_dp_close(&dp);
	return rc;
}

/* The status keys of a live or stale attachment (docs/cli-json.md). */
static void att_json(json_t *o, const struct att_status *a)
{
	const struct wfg_ctl *ctl = &a->ctl;

	json_object_set_new(o, "attached", json_boolean(!a->stale));
	json_object_set_new(o, "stale", json_boolean(a->stale != NULL));
	if (a->stale) {
		json_object_set_new(o, "reason", json_string(a->stale));
		return;
	}
	json_object_set_new(o, "slot", json_integer(ctl->active));
	json_object_set_new(o, "generation", json_integer((json_int_t)a->generation));
	json_object_set_new(o, "rules", json_integer(a->nrules));
	json_object_set_new(o, "machines", json_integer(a->nmachines));
	json_object_set_new(o, "fq", json_boolean(ctl->attach_flags & WFG_ATTACHED_FQ));
	json_object_set_new(
		o, "mode",
		json_string(ctl->attach_flags & WFG_ATTACHED_TUNNEL ? "tunnel" : "shim"));
	json_object_set_new(
		o, "xdp_mode",
		json_string(ctl->attach_flags & WFG_ATTACHED_XDP_SKB ? "skb" : "native"));
	json_object_set_new(o, "xdp_dispatcher",
			    json_boolean(!(ctl->attach_flags &
					   (WFG_ATTACHED_TUNNEL | WFG_ATTACHED_XDP_ALONE))));
	json_object_set_new(o, "limit", json_integer(a->limit));
	json_object_set_new(o, "capture_pid", json_integer(ctl->capture_pid));
}

/* One line: "attached, policy slot ..." for a live attachment. */
static void att_text(const struct att_status *a)
{
	printf("attached, policy slot %u generation %llu, %u rules, %u machines, sch_fq %s, "
	       "XDP %s mode",
	       a->ctl.active, (unsigned long long)a->generation, a->nrules, a->nmachines,
	       a->ctl.attach_flags & WFG_ATTACHED_FQ ? "installed" : "not needed",
	       a->ctl.attach_flags & WFG_ATTACHED_XDP_SKB ? "skb" : "native");
}

/* `status IFACE`: exit 0 attached, 3 not attached or stale. */
static int status_one(const char *ifname, int json)
{
	struct att_status a;
	char err[256];
	json_t *o;
	int rc;

	rc = att_read(ifname, &a, err, sizeof(err));
	if (rc == -ENOENT && json) {
		o = json_doc(ifname);
		json_object_set_new(o, "attached", json_false());
		json_object_set_new(o, "stale", json_false());
		json_object_set_new(o, "reason", json_text(err));
		json_print(o);
	}
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	if (json) {
		o = json_doc(ifname);
		att_json(o, &a);
		if (json_print(o))
			return EXIT_SYSTEM;
	}
	if (a.stale)
		return fail(EXIT_NOT_ATTACHED,
			    "%s: not attached: %s; its pins are left over (`wfguard detach %s` "
			    "removes them)",
			    ifname, a.stale, ifname);
	if (json)
		return EXIT_OK;
	printf("%s: ", ifname);
	att_text(&a);
	putchar('\n');
	if (a.ctl.capture_pid)
		printf("%s: capture records on for pid %u%s\n", ifname, a.ctl.capture_pid,
		       kill((pid_t)a.ctl.capture_pid, 0) && errno == ESRCH ? " (not running)" : "");
	if (a.have_stats)
		print_hints(ifname, a.st, a.limit);
	return EXIT_OK;
}

/* ------------------------------------------------ status: every attachment */

#define MAX_NETNS  256
#define MAX_IFACES 1024

/* A network namespace that has pins, and how status can look into it. */
struct ns_view {
	struct wfg_netns_id id; /* its pin directory's (cookie 0: net-<inode>) */
	int root_layout;	/* the oldest pins, ROOT/IFACE, seen from here */
	char name[256];		/* its /run/netns name, "" if none */
	int pid;		/* without a name: a process in it (0: none found) */
	int current;		/* the namespace wfguard runs in */
	int dead;		/* its inode number is this namespace's, its cookie not */
};

/* A process whose network namespace has this inode (a container's), or 0. */
static int netns_pid(unsigned long long inode)
{
	DIR *d = opendir("/proc");
	char path[300];
	struct dirent *e;
	struct stat st;
	int pid = 0;

	while (d && !pid && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		if (!stat(path, &st) && st.st_ino == inode)
			pid = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return pid;
}

/* The /run/netns entry (ip netns) of the namespace with this inode, if any. */
static void netns_name(unsigned long long inode, char *name, size_t len)
{
	char path[300];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir("/run/netns");

	name[0] = 0;
	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
		if (e->d_name[0] != '.' && !stat(path, &st) && st.st_ino == inode) {
			snprintf(name, len, "%s", e->d_name);
			break;
		}
	}
	if (d)
		closedir(d);
}

/* Move this thread into the namespace at path (nsfs file): 0 or -errno. */
static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		rc = -errno;
	close(fd);
	return rc;
}

static int listed; /* attachments status_all() listed */

/* The label of a namespace in the listing: its name, "pid N", or its directory's. */
static void ns_label(const struct ns_view *ns, char *buf, size_t len)
{
	if (ns->name[0])
		snprintf(buf, len, "%s", ns->name);
	else if (ns->pid)
		snprintf(buf, len, "pid %d", ns->pid);
	else if (ns->root_layout)
		snprintf(buf, len, "legacy");
	else if (ns->id.cookie)
		snprintf(buf, len, "net-%llu-%llu", ns->id.inode, ns->id.cookie);
	else
		snprintf(buf, len, "net-%llu", ns->id.inode);
}

/* One attachment's entry in the listing (text line or JSON object in list). */
static void list_one(const struct ns_view *ns, const char *ifname, int checked, const char *why_not,
		     json_t *list)
{
	struct att_status a;
	char err[256], label[300];
	json_t *o;
	int rc = checked ? att_read(ifname, &a, err, sizeof(err)) : 0;

	listed++;
	ns_label(ns, label, sizeof(label));
	if (list) {
		o = json_object();
		json_object_set_new(o, "interface", json_text(ifname));
		json_object_set_new(o, "netns", ns->name[0] ? json_text(ns->name) : json_null());
		json_object_set_new(o, "netns_inode", json_integer((json_int_t)ns->id.inode));
		json_object_set_new(o, "netns_cookie",
				    ns->id.cookie ? json_integer((json_int_t)ns->id.cookie)
						  : json_null());
		if (ns->pid)
			json_object_set_new(o, "pid", json_integer(ns->pid));
		json_object_set_new(o, "current", json_boolean(ns->current));
		json_object_set_new(o, "checked", json_boolean(checked && !rc));
		if (!checked || rc)
			json_object_set_new(o, "reason", json_text(checked ? err : why_not));
		else
			att_json(o, &a);
		json_array_append_new(list, o);
		return;
	}
	printf("%-20s%s %-16s ", label, ns->current ? "*" : " ", ifname);
	if (!checked)
		printf("not checked: %s\n", why_not);
	else if (rc)
		printf("not checked: %s\n", err);
	else if (a.stale && ns->current)
		printf("stale: %s (`wfguard detach %s` removes its pins)\n", a.stale, ifname);
	else if (a.stale && ns->name[0])
		printf("stale: %s (`ip netns exec %s wfguard detach %s` removes its pins)\n",
		       a.stale, ns->name, ifname);
	else if (a.stale)
		printf("stale: %s (`nsenter -n -t %d wfguard detach %s` removes its pins)\n",
		       a.stale, ns->pid, ifname);
	else
		att_text(&a), putchar('\n');
}

/*
 * Why a namespace's attachments cannot be checked (into why, returned), or
 * NULL once this thread is in it. A namespace found by its inode number is
 * the directory's only if the cookie agrees too: the number may have gone to
 * a newer namespace.
 */
static const char *enter_view(const struct ns_view *ns, char *why, size_t len)
{
	char dir[256], path[300];
	struct wfg_netns_id in;

	wfg_netns_dir(ns->root_layout ? NULL : &ns->id, dir, sizeof(dir));
	if (ns->dead) {
		snprintf(why, len,
			 "left by a deleted namespace whose inode number this one has now; "
			 "`wfguard detach` or `attach` here removes them, so does `rm -r %s`",
			 dir);
		return why;
	}
	if (ns->current)
		return NULL;
	if (!ns->name[0] && !ns->pid) {
		snprintf(why, len,
			 "no /run/netns entry and no process has its namespace: it is probably "
			 "gone, its programs with it; `rm -r %s` removes the pins",
			 dir);
		return why;
	}
	if (ns->name[0])
		snprintf(path, sizeof(path), "/run/netns/%s", ns->name);
	else
		snprintf(path, sizeof(path), "/proc/%d/ns/net", ns->pid);
	if (enter_netns(path))
		return "cannot enter its namespace";
	if (ns->id.cookie && (wfg_netns_self(&in) || in.cookie != ns->id.cookie)) {
		snprintf(why, len,
			 "its namespace is gone: inode number %llu now belongs to another "
			 "(cookie %llu, not %llu); `rm -r %s` removes the pins",
			 ns->id.inode, in.cookie, ns->id.cookie, dir);
		return why; /* the caller returns to its namespace */
	}
	return NULL;
}

/* Every attachment pinned for one namespace, entering it when it is not ours. */
static int list_netns(const struct ns_view *ns, json_t *list, int self_fd)
{
	static char names[MAX_IFACES][32];
	const char *why_not;
	char why[600];
	int n, i;

	n = wfg_pins_ifaces(ns->root_layout ? NULL : &ns->id, names, MAX_IFACES);
	if (n < 0)
		return fail(EXIT_SYSTEM, "%s: %s", wfg_pin_root(), strerror(-n));
	if (!n)
		return EXIT_OK;
	why_not = enter_view(ns, why, sizeof(why));
	for (i = 0; i < n && i < MAX_IFACES; i++)
		list_one(ns, names[i], !why_not, why_not, list);
	if (!ns->current && setns(self_fd, CLONE_NEWNET))
		return fail(EXIT_SYSTEM, "cannot return to this network namespace: %s",
			    strerror(errno));
	return EXIT_OK;
}

/*
 * `status` without a device: the namespaces with pins, ours first (with the
 * older layouts' pins), then the others, entered and checked through their
 * /run/netns name or, without one (containers), a process in them. A
 * namespace neither holds is listed, not checked: nothing can enter it. Pins
 * of a dead namespace that had our inode number are told apart by cookie.
 */
static int collect_netns(struct ns_view *views, int max)
{
	static struct wfg_netns_id ids[MAX_NETNS];
	struct wfg_netns_id self;
	int n = wfg_pins_netns(ids, MAX_NETNS), nv = 1, i;

	if (n < 0)
		return n;
	if (wfg_netns_self(&self))
		return -errno;
	views[0] = (struct ns_view){ .root_layout = 1, .current = 1 };
	for (i = 0; i < n && i < MAX_NETNS && nv < max; i++) {
		struct ns_view *v = &views[nv++];

		*v = (struct ns_view){ .id = ids[i] };
		v->current = ids[i].inode == self.inode &&
			     (ids[i].cookie == self.cookie || !ids[i].cookie);
		v->dead = ids[i].inode == self.inode && !v->current;
		if (v->current || !v->dead)
			netns_name(ids[i].inode, v->name, sizeof(v->name));
		if (!v->current && !v->dead && !v->name[0])
			v->pid = netns_pid(ids[i].inode);
	}
	return nv;
}

/* Ours first: the current namespace's views sorted before the others. */
static int view_order(const void *a, const void *b)
{
	const struct ns_view *x = a, *y = b;

	if (x->current != y->current)
		return y->current - x->current;
	return x->root_layout - y->root_layout; /* ROOT/IFACE after net-* */
}

static int status_all(int json)
{
	static struct ns_view views[MAX_NETNS + 1];
	json_t *doc = json ? json_doc(NULL) : NULL, *list = json ? json_array() : NULL;
	int self_fd, nv, i, code = EXIT_OK;

	nv = collect_netns(views, MAX_NETNS + 1);
	if (nv < 0)
		return fail(EXIT_SYSTEM, "%s: %s", wfg_pin_root(), strerror(-nv));
	qsort(views, (size_t)nv, sizeof(views[0]), view_order);
	self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0)
		return fail(EXIT_SYSTEM, "/proc/thread-self/ns/net: %s", strerror(errno));
	if (!json)
		printf("%-21s %-16s %s\n", "NETNS (*: this one)", "INTERFACE", "STATE");
	for (i = 0; i < nv && !code; i++)
		code = list_netns(&views[i], list, self_fd);
	close(self_fd);
	if (code) {
		json_decref(doc);
		json_decref(list);
		return code;
	}
	if (!json && !listed)
		printf("(no attachments under %s)\n", wfg_pin_root());
	if (!json)
		return EXIT_OK;
	json_object_set_new(doc, "pin_root", json_text(wfg_pin_root()));
	json_object_set_new(doc, "attachments", list);
	return json_print(doc);
}

static int cmd_status(int argc, char **argv)
{
	int json = 0, done, code;

	code = simple_opts(argc, argv, &json, 0, 1, &done);
	if (done)
		return code;
	return optind < argc ? status_one(argv[optind], json) : status_all(json);
}

static void addr_str(char *buf, size_t len, int family, const __u8 *a)
{
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)len);
}

/* One flow's JSON object (docs/cli-json.md). */
static json_t *flow_json(const struct wfg_flow_key *key, const struct wfg_flow *f)
{
	char la[64], ra[64];
	json_t *o = json_object();

	addr_str(la, sizeof(la), key->family, key->laddr);
	addr_str(ra, sizeof(ra), key->family, key->raddr);
	json_object_set_new(o, "local", json_string(la));
	json_object_set_new(o, "local_port", json_integer(ntohs(key->lport)));
	json_object_set_new(o, "remote", json_string(ra));
	json_object_set_new(o, "remote_port", json_integer(ntohs(key->rport)));
	json_object_set_new(o, "pkts_out", json_integer(f->st.pkts_out));
	json_object_set_new(o, "pkts_in", json_integer(f->st.pkts_in));
	json_object_set_new(o, "bytes_out", json_integer((json_int_t)f->st.bytes_out));
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)f->st.bytes_in));
	json_object_set_new(o, "covers_sent", json_integer(f->st.covers_sent));
	json_object_set_new(o, "generation", json_integer((json_int_t)f->st.generation));
	return o;
}

static void flow_text(const struct wfg_flow_key *key, const struct wfg_flow *f)
{
	char la[64], ra[64], l[80], r[80];

	addr_str(la, sizeof(la), key->family, key->laddr);
	addr_str(ra, sizeof(ra), key->family, key->raddr);
	snprintf(l, sizeof(l), "%s:%u", la, ntohs(key->lport));
	snprintf(r, sizeof(r), "%s:%u", ra, ntohs(key->rport));
	printf("%-40s %-40s %8u %8u %7u %5llu\n", l, r, f->st.pkts_out, f->st.pkts_in,
	       f->st.covers_sent, (unsigned long long)f->st.generation);
}

static int cmd_flows(int argc, char **argv)
{
	struct wfg_flow_key key, next, *prev = NULL;
	json_t *doc = NULL, *list = NULL;
	int rc, json = 0, done, code;
	const char *ifname;
	struct wfg_flow *f;
	struct wfg_dp dp;
	char err[256];

	code = simple_opts(argc, argv, &json, 1, 1, &done);
	if (done)
		return code;
	ifname = argv[optind];
	rc = wfg_dp_open(ifname, &dp, err, sizeof(err));
	if (rc)
		return fail(errno_exit(rc), "%s", err);
	f = malloc(sizeof(*f));
	if (!f) {
		wfg_dp_close(&dp);
		return fail(EXIT_SYSTEM, "out of memory");
	}
	if (json) {
		doc = json_doc(ifname);
		list = json_array();
	} else {
		printf("%-40s %-40s %8s %8s %7s %5s\n", "local", "remote", "out", "in", "covers",
		       "gen");
	}
	while (bpf_map_get_next_key(dp.flows_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(dp.flows_fd, &key, f))
			continue;
		if (json)
			json_array_append_new(list, flow_json(&key, f));
		else
			flow_text(&key, f);
	}
	free(f);
	wfg_dp_close(&dp);
	if (!json)
		return EXIT_OK;
	json_object_set_new(doc, "flows", list);
	return json_print(doc);
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

static int parse_count(const char *opt, const char *s, unsigned long long max,
		       unsigned long long *v);

/* The run's node_exporter textfile: PATH, rewritten every interval seconds. */
struct run_textfile {
	const char *path; /* NULL: none */
	unsigned interval;
	time_t written;
	int failing; /* the last write failed: said once, not every interval */
};

static void textfile_update(struct run_textfile *tf, struct wfg_dp *dp, const char *ifname)
{
	__u64 st[WFG_STAT__COUNT];
	char err[PATH_MAX + 64];
	int rc;

	if (!tf->path || (tf->written && time(NULL) - tf->written < (time_t)tf->interval))
		return;
	tf->written = time(NULL);
	rc = wfg_dp_stats(dp, st, err, sizeof(err));
	if (!rc)
		rc = wfg_metrics_textfile(tf->path, ifname, st, err, sizeof(err));
	if (rc && !tf->failing)
		wfg_log(LOG_WARNING, "textfile: %s", err);
	else if (!rc && tf->failing)
		wfg_log(LOG_NOTICE, "textfile: %s written again", tf->path);
	tf->failing = rc != 0;
}

/*
 * At the daemon's end: the programs stay attached on a stop, so the counters
 * go on and the file gets their last value; an attachment that has ended
 * takes its file along (a scrape must not report a gone device as live).
 */
static void run_textfile_end(struct run_textfile *tf, struct wfg_dp *dp, const char *ifname,
			     int ended)
{
	if (!tf->path)
		return;
	if (ended) {
		unlink(tf->path);
		return;
	}
	tf->written = 0;
	textfile_update(tf, dp, ifname);
}

/* run's options: --policy, --textfile, --interval. EXIT_OK with *done = 0 to go on. */
static int run_opts(int argc, char **argv, const char **policy, struct run_textfile *tf, int *done)
{
	static const struct option lo[] = { OPT_HELP,
					    { "policy", required_argument, 0, 'p' },
					    { "textfile", required_argument, 0, 't' },
					    { "interval", required_argument, 0, 'i' },
					    { 0 } };
	unsigned long long v;
	int c;

	*done = 1;
	opts_begin();
	while ((c = getopt_long(argc, argv, ":hp:t:i:", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			return show_usage();
		case 'p':
			*policy = optarg;
			break;
		case 't':
			tf->path = optarg;
			break;
		case 'i':
			if (parse_count("--interval", optarg, 86400, &v))
				return EXIT_INPUT;
			tf->interval = (unsigned)v;
			break;
		default:
			return bad_option(argv, c);
		}
	}
	if (operands(argc, argv, 1, 1))
		return EXIT_INPUT;
	*done = 0;
	return EXIT_OK;
}

static int cmd_run(int argc, char **argv)
{
	struct wfg_pump pump = { .fd4 = -1, .fd6 = -1, .fd_dev = -1 };
	struct run_ctx ctx = { .pump = &pump, .discard = 1 };
	struct wfg_pool pool = { 0 };
	struct run_textfile tf = { .interval = 15 };
	time_t checked = 0;
	int wait_ms = 100, ended = 0, done;
	const char *policy = NULL, *ifname;
	struct ring_buffer *rb;
	struct wfg_dp dp;
	char err[2048], note[256];
	int rc;

	rc = run_opts(argc, argv, &policy, &tf, &done);
	if (rc || done)
		return rc;
	ifname = argv[optind];
	rc = wfg_dp_open(ifname, &dp, err, sizeof(err));
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
		wfg_log(LOG_NOTICE, "dropped %llu stale cover requests", ctx.discarded);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	if (dp.pool_fd >= 0 && wfg_pool_open(&pool, dp.pool_fd, err, sizeof(err)))
		wfg_log(LOG_WARNING, "%s; padding from each flow's keystream", err);
	wfg_log(LOG_INFO, "pumping covers for %s", ifname);
	while (!stop) {
		const char *gone;

		/* Once a second: the daemon ends with its attachment. */
		if (time(NULL) != checked && (checked = time(NULL), gone = wfg_dp_stale(&dp))) {
			wfg_log(LOG_NOTICE, "%s: attachment no longer live (%s); exiting", ifname,
				gone);
			ended = 1;
			break;
		}
		textfile_update(&tf, &dp, ifname);
		/* Refill the padding pool; poll sooner while the data path drains it. */
		if (pool.mem) {
			rc = wfg_pool_refill(&pool);
			if (rc < 0) {
				wfg_log(LOG_ERR, "padding pool: %s", strerror(-rc));
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
			if (cp &&
			    wfg_dp_apply_checked(&dp, cp, 0, note, sizeof(note), err, sizeof(err)))
				wfg_log(LOG_ERR, "reload: %s", err);
			else if (cp)
				wfg_log(LOG_NOTICE, "%s re-applied%s%s", policy,
					note[0] ? "; " : "", note);
		}
	}
	run_textfile_end(&tf, &dp, ifname, ended);
	wfg_log(LOG_INFO, "stopping; %llu carriers sent, %llu failed, %llu pool chunks filled",
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
	opts_begin();
	while ((c = getopt_long(argc, argv, ":o:d:f:m:r:h", lo, NULL)) != -1) {
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
			show_usage();
			return -1;
		default:
			return bad_option(argv, c);
		}
	}
	if (operands(argc, argv, 1, 1))
		return EXIT_INPUT;
	if (!a->out)
		return fail(EXIT_INPUT, "capture: -o DIR is required (--help)");
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

/* ---------------------------------------------------------------- doctor */

/* The key file attach would use: present, well-formed, private. */
static void doctor_keys(struct wfg_doctor *d, const struct wfg_compiled_policy *cp,
			const char *keys)
{
	struct wfg_ctl ctl = { 0 };
	char err[512];
	struct stat st;

	if (cp->dp.mode == WFG_MODE_TUNNEL) {
		wfg_doctor_add(d, WFG_DOC_OK, "keys", "tunnel mode: no shim, no key");
		return;
	}
	if (!keys && cp->keys_path[0])
		keys = cp->keys_path;
	if (!keys) {
		wfg_doctor_add(d, WFG_DOC_FAIL, "keys",
			       "a shim-mode policy and no key file: attach refuses; `wfguard keys "
			       "generate FILE`, copy FILE to the peer, name it in shim.keys or "
			       "--keys");
		return;
	}
	if (wfg_keys_load(keys, ctl.keys, err, sizeof(err))) {
		wfg_doctor_add(d, WFG_DOC_FAIL, "keys", "%s", err);
		return;
	}
	if (!stat(keys, &st) && (st.st_mode & 077))
		wfg_doctor_add(d, WFG_DOC_WARN, "keys",
			       "%s: readable by others (mode %03o): `chmod 600 %s`", keys,
			       st.st_mode & 0777, keys);
	else
		wfg_doctor_add(d, WFG_DOC_OK, "keys",
			       "%s: two slots; the peer must hold the same file (doctor cannot "
			       "check the peer)",
			       keys);
}

static int cmd_doctor(int argc, char **argv)
{
	static const char *const verdicts[] = { "ok", "warn", "FAIL" };
	static const struct option lo[] = { OPT_HELP,
					    OPT_JSON,
					    { "policy", required_argument, 0, 'p' },
					    { "keys", required_argument, 0, 'k' },
					    { 0 } };
	static struct wfg_doctor d;
	struct wfg_compiled_policy *cp = NULL;
	const char *policy = NULL, *keys = NULL;
	int c, i, code = EXIT_OK, json = 0, nfail = 0, nwarn = 0;
	json_t *o, *list;

	opts_begin();
	while ((c = getopt_long(argc, argv, ":hjp:k:", lo, NULL)) != -1) {
		if (c == 'h')
			return show_usage();
		if (c == 'j')
			json = 1;
		else if (c == 'p')
			policy = optarg;
		else if (c == 'k')
			keys = optarg;
		else
			return bad_option(argv, c);
	}
	if (operands(argc, argv, 1, 1))
		return EXIT_INPUT;
	if (policy && !(cp = load_policy(policy, &code)))
		return code;
	memset(&d, 0, sizeof(d));
	wfg_doctor_run(argv[optind], cp, &d);
	if (cp)
		doctor_keys(&d, cp, keys);
	else
		wfg_doctor_add(&d, WFG_DOC_WARN, "policy",
			       "no --policy FILE: its limit, sch_fq and key needs are not checked");
	for (i = 0; i < d.n; i++) {
		nfail += d.f[i].verdict == WFG_DOC_FAIL;
		nwarn += d.f[i].verdict == WFG_DOC_WARN;
	}
	if (json) {
		o = json_doc(argv[optind]);
		list = json_array();
		for (i = 0; i < d.n; i++)
			json_array_append_new(
				list, json_pack("{s:s,s:s,s:s}", "check", d.f[i].check, "verdict",
						verdicts[d.f[i].verdict], "text", d.f[i].text));
		json_object_set_new(o, "findings", list);
		json_object_set_new(o, "fail", json_integer(nfail));
		json_object_set_new(o, "warn", json_integer(nwarn));
		if (json_print(o))
			return EXIT_SYSTEM;
	} else {
		for (i = 0; i < d.n; i++)
			printf("%-5s %-9s %s\n", verdicts[d.f[i].verdict], d.f[i].check,
			       d.f[i].text);
		printf("%s: %d to fix, %d warnings\n", argv[optind], nfail, nwarn);
	}
	return nfail ? EXIT_INPUT : EXIT_OK;
}

/* ---------------------------------------------------------------- version */

#ifndef WFG_VERSION
#define WFG_VERSION "unknown"
#endif
#ifndef WFG_GIT_COMMIT
#define WFG_GIT_COMMIT ""
#endif

static int print_version(void)
{
	printf("wfguard %s%s%s%s\n", WFG_VERSION, WFG_GIT_COMMIT[0] ? " (git " : "", WFG_GIT_COMMIT,
	       WFG_GIT_COMMIT[0] ? ")" : "");
	printf("libbpf %s\n", libbpf_version_string());
	printf("jansson %s\n", jansson_version_str());
	return EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	int done, code = simple_opts(argc, argv, NULL, 0, 0, &done);

	return done ? code : print_version();
}

/* ---------------------------------------------------------------- main */

static const struct command commands[] = {
	{ "attach", cmd_attach, "load and attach the data path to an interface",
	  "usage: wfguard attach IFACE --policy FILE [--xdp-mode native|skb] "
	  "[--xdp-exclusive] [--keys FILE | --ephemeral-key] [--pool-max N]\n"
	  "  Load the data path on IFACE (TC egress + XDP ingress), pin it under\n"
	  "  ROOT/net-INODE-COOKIE/IFACE/ (ROOT: " WFG_PIN_ROOT ", or $" WFG_PIN_ROOT_ENV "; the\n"
	  "  network namespace's inode number and cookie), install sch_fq when the\n"
	  "  policy delays packets. Pins a deleted namespace left under this one's\n"
	  "  inode number are removed (also by detach).\n"
	  "  XDP goes through libxdp's dispatcher, first among the device's XDP\n"
	  "  programs (xdp-loader's share it); --xdp-exclusive: alone, no dispatcher.\n"
	  "  Shim mode needs the key file both ends share (--keys, or shim.keys\n"
	  "  in the policy); --ephemeral-key makes a random one that no peer\n"
	  "  can have (tests, one-host experiments).\n"
	  "  A policy's pool of defences is sized from the policy; --pool-max N\n"
	  "  makes room for pools of up to N (2..256, ~280 KB each) that a later\n"
	  "  policy apply may bring.\n" },
	{ "detach", cmd_detach, "remove everything wfguard put on an interface",
	  "usage: wfguard detach IFACE\n"
	  "  Remove the programs, filters, the qdiscs wfguard installed and the pins\n"
	  "  (also the left-over pins of a stale attachment).\n" },
	{ "status", cmd_status, "what is attached, which policy (all, or one IFACE)",
	  "usage: wfguard status [IFACE] [--json]\n"
	  "  IFACE: its attachment; exit 0 attached, 3 not attached or stale.\n"
	  "  No IFACE: every attachment under the pin root, one a line: this network\n"
	  "  namespace's (marked *), then other namespaces': those named in /run/netns\n"
	  "  are entered and checked, the others only listed. Stale ones say why.\n"
	  "  --json  one object (docs/cli-json.md)\n" },
	{ "stats", cmd_stats, "counters (--json, --prometheus, --watch)",
	  "usage: wfguard stats IFACE [--json | --prometheus] [--watch]\n"
	  "  --json        one object (docs/cli-json.md)\n"
	  "  --prometheus  the Prometheus text format\n"
	  "  --watch       again every second\n" },
	{ "flows", cmd_flows, "the flow table (--json)",
	  "usage: wfguard flows IFACE [--json]\n"
	  "  --json  one object, the flows in \"flows\" (docs/cli-json.md)\n" },
	{ "policy", cmd_policy, "check a policy file, or apply it live",
	  "usage: wfguard policy check FILE [--json]\n"
	  "       wfguard policy apply IFACE FILE [--force]\n"
	  "  check: validate FILE, print the compiled summary; exit 1 with\n"
	  "         file:line:col: message for every error (--json: one object).\n"
	  "  apply: atomic live swap on IFACE; a bad file changes nothing. Refused\n"
	  "         (exit 1, nothing changed) in shim mode when FILE's rules stop\n"
	  "         matching defended flows seen in the last 120 s (the peer would\n"
	  "         keep padding them), or when FILE's key file sends with another\n"
	  "         key or drops one the live end accepts (rotate with `wfguard\n"
	  "         keys`); a key file that only adds a key loads it in the spare\n"
	  "         slot. --force applies anyway, keys as attach loads them.\n" },
	{ "run", cmd_run, "the daemon: pump cover packets, reload on SIGHUP",
	  "usage: wfguard run IFACE [--policy FILE] [--textfile PATH [--interval S]]\n"
	  "  The daemon: sends carriers for the data path's cover requests and keeps\n"
	  "  its padding pool filled with random bytes. SIGHUP re-applies FILE;\n"
	  "  SIGTERM exits (the programs stay attached); so do detach and the\n"
	  "  device's deletion. Requests posted while no daemon ran are dropped\n"
	  "  at start (their time is past). Under systemd its lines carry journal\n"
	  "  priorities.\n"
	  "  --textfile PATH  the counters in the Prometheus text format (as stats\n"
	  "                   prints them) for node_exporter's textfile collector\n"
	  "                   (PATH ends in .prom), replaced atomically every\n"
	  "                   interval; removed when the attachment ends\n"
	  "  --interval S     seconds between textfile updates (default 15)\n" },
	{ "capture", cmd_capture, "per-flow traces from the data path (harness format)",
	  "usage: wfguard capture IFACE -o|--output DIR [--duration S] [--flows N]\n"
	  "                       [--max-packets N] [--role client|server]\n"
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
	  "  refused, 3 not attached. Details: docs/capture.md.\n" },
	{ "keys", cmd_keys, "shim keys: generate a key file, rotate keys live",
	  "usage: wfguard keys generate FILE\n"
	  "       wfguard keys show IFACE [--json]\n"
	  "       wfguard keys rotate IFACE --keys FILE\n"
	  "       wfguard keys switch IFACE\n"
	  "       wfguard keys retire IFACE\n"
	  "  generate: two fresh keys (slot 0, slot 1) in a new FILE (mode 0600);\n"
	  "            attach sends with slot 0 and accepts both.\n"
	  "  show:     the key id in each live slot and which slot sends.\n"
	  "  Live rotation, no flow reset; run each step on both ends before the next:\n"
	  "  rotate:   FILE's first key into the spare slot (the one not sending):\n"
	  "            old and new keys accepted, the old one still sends.\n"
	  "  switch:   send with the other slot (the new key).\n"
	  "  retire:   the old key's slot gets the sending key: only it is accepted.\n"
	  "  Then make FILE the key file the policy names (policy apply compares).\n" },
	{ "doctor", cmd_doctor, "check the kernel, device and policy before attaching",
	  "usage: wfguard doctor IFACE [--policy FILE] [--keys FILE] [--json]\n"
	  "  What attach needs, checked without touching IFACE: TC and XDP programs,\n"
	  "  the bpffs, the device and its MTU against the policy's size limit, UDP\n"
	  "  GSO, sch_fq (probed in a throwaway network namespace), the key file, and\n"
	  "  a left-over attachment. One line per check: ok, warn or FAIL with what to\n"
	  "  fix. The peer is not checked (nothing is sent). Exit 0, or 1 when\n"
	  "  something must be fixed. --json: one object (docs/cli-json.md).\n" },
	{ "version", cmd_version, "wfguard's version, its git commit, libbpf's and jansson's",
	  "usage: wfguard version   (also: wfguard -V)\n"
	  "  wfguard's version and the git commit it was built from (when known at\n"
	  "  build time), then the versions of libbpf and jansson it runs with.\n" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: wfguard [-v] COMMAND [options]   (COMMAND --help for details)\n"
		   "       wfguard --version\n\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\nexit codes: 0 ok, 1 bad input or usage, 2 the system refused (kernel,\n"
		"permissions), 3 not attached\n"
		"environment: %s=DIR pins under DIR (a bpffs) instead of %s\n",
		WFG_PIN_ROOT_ENV, WFG_PIN_ROOT);
}

int main(int argc, char **argv)
{
	size_t i;

	while (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v' &&
	       strspn(argv[1] + 1, "v") == strlen(argv[1] + 1)) {
		verbose += (int)strlen(argv[1]) - 1;
		argc--;
		argv++;
	}
	libbpf_set_print(libbpf_log);
	wfg_xdp_set_verbosity(verbose);
	wfg_log_init();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_INPUT : EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return argc > 2 ? fail(EXIT_INPUT, "--version takes no arguments")
				: print_version();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		cur_cmd = &commands[i];
		return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "wfguard: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_INPUT;
}
