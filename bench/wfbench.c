// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench: the trace-replay harness's command line.
 *
 *   wfbench COMMAND [options]     wfbench COMMAND --help
 *
 * Exit codes: 0 success, 1 bad input or usage, 2 internal error (out of
 * memory, I/O failure while writing).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "defend.h"
#include "export.h"
#include "generate.h"
#include "live.h"
#include "par.h"
#include "play_cmd.h"
#include "preset_spec.h"
#include "presets.h"
#include "sha256.h"
#include "split.h"
#include "wfb_version.h"
#include "trace.h"
#include "policy.h"

static int exit_code(int rc)
{
	if (!rc)
		return 0;
	if (rc == -ENOMEM || rc == -EIO || rc == -ENOSPC || rc == -EDQUOT)
		return EXIT_INTERNAL;
	return EXIT_BAD;
}

int wfb_fail(const char *cmd, int rc, const char *err)
{
	fprintf(stderr, "wfbench %s: %s\n", cmd, err && *err ? err : strerror(-rc));
	return exit_code(rc);
}

int wfb_bad_usage(const struct cmd *c, const char *fmt, const char *arg)
{
	fprintf(stderr, "wfbench %s: ", c->name);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see wfbench %s --help)\n", c->name);
	return EXIT_BAD;
}

static int parse_count(const char *s, unsigned *v)
{
	uint64_t x;

	if (wfb_parse_u64(s, UINT32_MAX, &x))
		return -EINVAL;
	*v = (unsigned)x;
	return 0;
}

/* ---------------------------------------------------------------- import */

static void import_usage(FILE *f)
{
	fprintf(f, "usage: wfbench import --format wang|maybenot|pcap|native [--client ADDR]\n"
		   "                      [--instances N | --equal] [--sort | --strict-time]\n"
		   "                      [--unmonitored SITES] [--site-names FILE] [--force]\n"
		   "                      SRC -o DIR\n"
		   "\n"
		   "Convert traces into a dataset (a directory with a manifest and one trace\n"
		   "file per page load). SRC is a directory of trace files or a single file.\n"
		   "\n"
		   "  -f, --format FMT     wang: SITE-INSTANCE[.ext] files of 'time<TAB>±size';\n"
		   "                       maybenot: 'time_ns,s|r|sn|rn|sp|rp[,size]' logs;\n"
		   "                       pcap: pcap or pcapng captures (needs --client);\n"
		   "                       native: 'wfguard-trace v1' files (wfguard capture)\n"
		   "  -c, --client ADDR    the client's IPv4/IPv6 address: packets from it go\n"
		   "                       client->server (+), packets to it server->client (-)\n"
		   "  -n, --instances N    keep the first N instances of each site (sites with\n"
		   "                       fewer are an error); default: all, any count per site\n"
		   "      --equal          refuse sites with unequal instance counts\n"
		   "      --sort           wang, maybenot: sort each trace's packets by time;\n"
		   "                       default: keep file order, as the reference codes read\n"
		   "                       it (a packet earlier than the one before it takes its\n"
		   "                       time); both say how many there were\n"
		   "      --strict-time    a packet earlier than the one before it is an error\n"
		   "  -u, --unmonitored SITES  these sites (numbers as in the file names: 3,7,\n"
		   "                       70-77) become unmonitored traces\n"
		   "      --site-names FILE  site names: 'NAME' lines (line k names site k, from\n"
		   "                       0) or 'NUMBER NAME' lines; default SRC/sites.txt\n"
		   "  -o, --output DIR     the dataset to write (atomically)\n"
		   "      --force          replace DIR if it is a dataset\n"
		   "      --split-gap MS   pcap: SRC is one capture of many page loads, cut at\n"
		   "                       every silence of MS or more (docs/live-evaluation.md)\n"
		   "      --split-min N    pieces of fewer than N packets are no page load (8)\n"
		   "      --labels FILE    the site of each piece, one number a line (default 0)\n"
		   "  -h, --help           this text\n"
		   "\n"
		   "Names: SITE-INSTANCE monitored, INDEX or u-INDEX unmonitored; Maybenot logs\n"
		   "...-SITE-INSTANCE[-MORE].log, else numbered in name order (one site each).\n"
		   "Labels are renumbered 0.. in numeric order; the names and the original file\n"
		   "names stay in the manifest. See docs/trace-format.md.\n");
}

static void print_import_shape(const char *dir, const struct wfb_import_report *r)
{
	printf("imported %zu traces into %s: %u sites, %u unmonitored\n", r->files, dir, r->sites,
	       r->unmonitored);
	if (r->ragged_sites)
		printf("instances per site: %u to %u; %u sites have fewer than %u (fewest: site "
		       "%s, %u)\n",
		       r->min_instances, r->instances, r->ragged_sites, r->instances,
		       r->fewest_site, r->min_instances);
	else
		printf("instances per site: %u (every site)\n", r->instances);
	if (r->gaps)
		printf("%zu sites have gaps in their instance numbers; instances are renumbered "
		       "0.. in order (the manifest keeps the file names)\n",
		       r->gaps);
	if (r->sites_unmon)
		printf("%u sites made unmonitored (--unmonitored)\n", r->sites_unmon);
	if (r->site_names[0])
		printf("site names: %u of %u sites named by %s\n", r->named, r->sites,
		       r->site_names);
}

static void print_import(const char *dir, const struct wfb_import_opts *o,
			 const struct wfb_import_report *r)
{
	print_import_shape(dir, r);
	if (r->inv.count)
		fprintf(stderr,
			"wfbench import: warning: %zu packets in %zu files are earlier than the "
			"packet before them, by at most %llu ns (first: %s); %s\n",
			r->inv.count, r->inv_files, (unsigned long long)r->inv.max_ns, r->inv_first,
			o->order == WFB_ORDER_SORT
				? "sorted by time (--sort)"
				: "kept in file order, each raised to its predecessor's time "
				  "(--sort sorts instead, --strict-time refuses)");
	if (r->skipped)
		printf("skipped %zu files whose names are not traces (e.g. '%s')\n", r->skipped,
		       r->first_skipped);
	if (r->sequential)
		printf("names without SITE-INSTANCE: file k (in name order) is site k, "
		       "instance 0\n");
	if (o->fmt == WFB_FMT_PCAP)
		printf("pcap: %zu packets read, %zu kept; left out: %zu other hosts, %zu not IP, "
		       "%zu not TCP/UDP, %zu without payload, %zu fragments\n",
		       r->pcap.packets, r->pcap.kept, r->pcap.other_host, r->pcap.not_ip,
		       r->pcap.not_tcpudp, r->pcap.empty, r->pcap.fragment);
}

enum { OPT_EQUAL = 1000, OPT_SORT, OPT_STRICT_TIME, OPT_SITE_NAMES };

/* The options beyond -f/-c/-o/--force; 0, or the exit code of a usage error. */
static int import_opt(const struct cmd *c, int opt, struct wfb_import_opts *o, bool *order_set)
{
	char err[256];

	switch (opt) {
	case 'n':
		if (parse_count(optarg, &o->instances) || !o->instances)
			return wfb_bad_usage(c, "--instances: expected a count > 0, got '%s'",
					     optarg);
		return 0;
	case OPT_EQUAL:
		o->equal = true;
		return 0;
	case OPT_SORT:
	case OPT_STRICT_TIME:
		if (*order_set)
			return wfb_bad_usage(c, "%s",
					     "--sort and --strict-time exclude each other");
		o->order = opt == OPT_SORT ? WFB_ORDER_SORT : WFB_ORDER_STRICT;
		*order_set = true;
		return 0;
	case 'u':
		if (wfb_import_parse_unmon(optarg, o, err, sizeof(err)))
			return wfb_bad_usage(c, "%s", err);
		return 0;
	case OPT_SITE_NAMES:
		o->site_names = optarg;
		return 0;
	}
	c->usage(stderr);
	return EXIT_BAD;
}

static int cmd_import(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "client", required_argument, NULL, 'c' },
		{ "instances", required_argument, NULL, 'n' },
		{ "equal", no_argument, NULL, OPT_EQUAL },
		{ "sort", no_argument, NULL, OPT_SORT },
		{ "strict-time", no_argument, NULL, OPT_STRICT_TIME },
		{ "unmonitored", required_argument, NULL, 'u' },
		{ "site-names", required_argument, NULL, OPT_SITE_NAMES },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'F' },
		{ "split-gap", required_argument, NULL, 'G' },
		{ "split-min", required_argument, NULL, 'M' },
		{ "labels", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct cmd *c = wfb_find_cmd("import");
	struct wfl_split_opts split = { .min_packets = 8 };
	struct wfb_import_opts o = { .fmt = -1, .order = WFB_ORDER_KEEP };
	struct wfb_import_report rep;
	struct wfb_addr client;
	const char *out = NULL;
	bool order_set = false;
	char err[512] = "";
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "f:c:n:u:o:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (wfb_format_parse(optarg, &o.fmt))
				return wfb_bad_usage(c, "unknown format '%s'", optarg);
			break;
		case 'c':
			if (wfb_addr_parse(optarg, &client))
				return wfb_bad_usage(
					c, "--client: '%s' is not an IPv4 or IPv6 address", optarg);
			o.client = &client;
			break;
		case 'o':
			out = optarg;
			break;
		case 'F':
			o.force = true;
			break;
		case 'G':
		case 'M':
		case 'L':
			if (wfl_split_opt(opt, optarg, &split))
				return wfb_bad_usage(
					c, "--split-gap/--split-min: a count > 0, not '%s'",
					optarg);
			break;
		case 'h':
			c->usage(stdout);
			return 0;
		default:
			rc = import_opt(c, opt, &o, &order_set);
			if (rc)
				return rc;
		}
	}
	if (split.gap_ns || split.labels)
		return wfl_import_split_cmd(argv + optind, argc - optind, out, &o, &split);
	if ((int)o.fmt < 0)
		return wfb_bad_usage(c, "%s", "--format is required");
	if (!out)
		return wfb_bad_usage(c, "%s", "-o DIR is required");
	if (optind != argc - 1)
		return wfb_bad_usage(c, "%s", "expected exactly one SRC");
	if (o.fmt == WFB_FMT_PCAP && !o.client)
		return wfb_bad_usage(c, "%s", "pcap needs --client ADDR");
	if (o.fmt != WFB_FMT_PCAP && o.client)
		return wfb_bad_usage(c, "%s", "--client is for pcap only");
	if (o.order == WFB_ORDER_SORT && o.fmt != WFB_FMT_WANG && o.fmt != WFB_FMT_MAYBENOT)
		return wfb_bad_usage(c, "%s", "--sort is for the wang and maybenot formats");
	if (o.equal && o.instances)
		return wfb_bad_usage(c, "%s", "--equal and --instances exclude each other");
	rc = wfb_import(argv[optind], out, &o, &rep, err, sizeof(err));
	if (rc)
		return wfb_fail("import", rc, err);
	print_import(out, &o, &rep);
	return 0;
}

/* ---------------------------------------------------------------- info */

static void info_usage(FILE *f)
{
	fprintf(f, "usage: wfbench info [--json] DIR\n"
		   "\n"
		   "Summarise a dataset: its shape, packets, bytes and duration per trace\n"
		   "(min/median/max) and the totals per direction. Reads every trace, so it\n"
		   "also checks them against the manifest.\n"
		   "\n"
		   "  -j, --json   one JSON object instead of the table\n"
		   "  -h, --help   this text\n");
}

struct summary {
	size_t n;
	uint64_t *pk, *by, *dur; /* per trace */
	struct wfb_trace_stats tot;
};

static int u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* min, median (lower middle for an even count), max of v (sorted in place). */
static void mmm(uint64_t *v, size_t n, uint64_t out[3])
{
	qsort(v, n, sizeof(*v), u64cmp);
	out[0] = v[0];
	out[1] = v[(n - 1) / 2];
	out[2] = v[n - 1];
}

static int summarise(const struct wfb_dataset *ds, struct summary *s, char *err, size_t errlen)
{
	struct wfb_trace t;
	size_t i;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->n = ds->n;
	s->pk = calloc(ds->n, sizeof(uint64_t));
	s->by = calloc(ds->n, sizeof(uint64_t));
	s->dur = calloc(ds->n, sizeof(uint64_t));
	if (!s->pk || !s->by || !s->dur)
		return -ENOMEM;
	wfb_trace_init(&t);
	for (i = 0; !rc && i < ds->n; i++) {
		struct wfb_trace_stats st;

		rc = wfb_dataset_read(ds, i, &t, err, errlen);
		if (rc)
			break;
		wfb_trace_stats(&t, &st);
		s->pk[i] = st.packets[0] + st.packets[1];
		s->by[i] = st.bytes[0] + st.bytes[1];
		s->dur[i] = st.duration_ns;
		s->tot.packets[0] += st.packets[0];
		s->tot.packets[1] += st.packets[1];
		s->tot.bytes[0] += st.bytes[0];
		s->tot.bytes[1] += st.bytes[1];
		s->tot.cover += st.cover;
	}
	wfb_trace_free(&t);
	return rc;
}

static void summary_free(struct summary *s)
{
	free(s->pk);
	free(s->by);
	free(s->dur);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* "site_names":[...] (null for an unnamed site), "meta":{...} */
static void print_json_names(const struct wfb_dataset *ds)
{
	size_t i;

	printf("\"site_names\":[");
	for (i = 0; i < ds->sites; i++) {
		const char *n = i < ds->nsite_name ? ds->site_name[i] : NULL;

		if (i)
			putchar(',');
		if (n)
			json_str(n);
		else
			printf("null");
	}
	printf("],\"meta\":{");
	for (i = 0; i < ds->nmeta; i++) {
		char key[256];
		const char *eq = strchr(ds->meta[i], '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - ds->meta[i]), ds->meta[i]);
		printf("%s", i ? "," : "");
		json_str(key);
		putchar(':');
		json_str(eq + 1);
	}
	printf("},");
}

static void print_json(const struct wfb_dataset *ds, struct summary *s)
{
	uint64_t p[3], b[3], d[3];

	mmm(s->pk, s->n, p);
	mmm(s->by, s->n, b);
	mmm(s->dur, s->n, d);
	printf("{\"dataset\":");
	json_str(ds->dir);
	printf(",\"source\":");
	json_str(ds->source);
	printf(",\"sites\":%u,\"instances\":%u,\"min_instances\":%u,\"unmonitored\":%u,"
	       "\"traces\":%zu,\"size_units\":\"%s\",",
	       ds->sites, ds->instances, ds->min_instances, ds->unmonitored, ds->n,
	       wfb_units_name(ds->units));
	print_json_names(ds);
	printf("\"packets_per_trace\":{\"min\":%llu,\"median\":%llu,\"max\":%llu},",
	       (unsigned long long)p[0], (unsigned long long)p[1], (unsigned long long)p[2]);
	printf("\"bytes_per_trace\":{\"min\":%llu,\"median\":%llu,\"max\":%llu},",
	       (unsigned long long)b[0], (unsigned long long)b[1], (unsigned long long)b[2]);
	printf("\"duration_ns\":{\"min\":%llu,\"median\":%llu,\"max\":%llu},",
	       (unsigned long long)d[0], (unsigned long long)d[1], (unsigned long long)d[2]);
	printf("\"out\":{\"packets\":%zu,\"bytes\":%llu},\"in\":{\"packets\":%zu,\"bytes\":%llu},"
	       "\"cover_packets\":%zu}\n",
	       s->tot.packets[0], (unsigned long long)s->tot.bytes[0], s->tot.packets[1],
	       (unsigned long long)s->tot.bytes[1], s->tot.cover);
}

static double pct(uint64_t a, uint64_t b)
{
	return a + b ? 100.0 * (double)a / (double)(a + b) : 0;
}

static void print_table_names(const struct wfb_dataset *ds)
{
	unsigned s, named = 0, fewer = 0;
	size_t i;

	for (s = 0; s < ds->sites; s++) {
		named += s < ds->nsite_name && ds->site_name[s];
		fewer += ds->count[s] < ds->instances;
	}
	if (fewer)
		printf("ragged       %u sites have fewer than %u instances\n", fewer,
		       ds->instances);
	if (named)
		printf("site names   %u of %u sites (site 0: %s)\n", named, ds->sites,
		       ds->nsite_name && ds->site_name[0] ? ds->site_name[0] : "-");
	for (i = 0; i < ds->nmeta; i++)
		printf("meta         %s\n", ds->meta[i]);
}

static void print_table(const struct wfb_dataset *ds, struct summary *s)
{
	uint64_t p[3], b[3], d[3];
	const struct wfb_trace_stats *t = &s->tot;

	mmm(s->pk, s->n, p);
	mmm(s->by, s->n, b);
	mmm(s->dur, s->n, d);
	printf("dataset      %s\n", ds->dir);
	printf("source       %s\n", ds->source);
	if (ds->min_instances == ds->instances)
		printf("shape        %u sites x %u instances + %u unmonitored = %zu traces\n",
		       ds->sites, ds->instances, ds->unmonitored, ds->n);
	else
		printf("shape        %u sites x %u..%u instances + %u unmonitored = %zu traces\n",
		       ds->sites, ds->min_instances, ds->instances, ds->unmonitored, ds->n);
	print_table_names(ds);
	printf("sizes        %s\n",
	       ds->units == WFB_UNITS_NONE ? "none (direction and time only)" : "bytes");
	printf("per trace    %12s %12s %12s\n", "min", "median", "max");
	printf("  packets    %12llu %12llu %12llu\n", (unsigned long long)p[0],
	       (unsigned long long)p[1], (unsigned long long)p[2]);
	printf("  bytes      %12llu %12llu %12llu\n", (unsigned long long)b[0],
	       (unsigned long long)b[1], (unsigned long long)b[2]);
	printf("  duration s %12.3f %12.3f %12.3f\n", d[0] / 1e9, d[1] / 1e9, d[2] / 1e9);
	printf("total        %12s %12s\n", "packets", "bytes");
	printf("  out (+)    %12zu %12llu   (%.1f%% of packets, %.1f%% of bytes)\n", t->packets[0],
	       (unsigned long long)t->bytes[0], pct(t->packets[0], t->packets[1]),
	       pct(t->bytes[0], t->bytes[1]));
	printf("  in  (-)    %12zu %12llu   (%.1f%% of packets, %.1f%% of bytes)\n", t->packets[1],
	       (unsigned long long)t->bytes[1], pct(t->packets[1], t->packets[0]),
	       pct(t->bytes[1], t->bytes[0]));
	printf("  cover      %12zu\n", t->cover);
}

static int cmd_info(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct cmd *c = wfb_find_cmd("info");
	struct wfb_dataset ds;
	struct summary s;
	bool json = false;
	char err[512] = "";
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			c->usage(stdout);
			return 0;
		default:
			c->usage(stderr);
			return EXIT_BAD;
		}
	}
	if (optind != argc - 1)
		return wfb_bad_usage(c, "%s", "expected exactly one DIR");
	rc = wfb_dataset_open(&ds, argv[optind], err, sizeof(err));
	if (rc)
		return wfb_fail("info", rc, err);
	rc = summarise(&ds, &s, err, sizeof(err));
	if (!rc && json)
		print_json(&ds, &s);
	else if (!rc)
		print_table(&ds, &s);
	summary_free(&s);
	wfb_dataset_close(&ds);
	return rc ? wfb_fail("info", rc, err) : 0;
}

/* ---------------------------------------------------------------- generate */

static void generate_usage(FILE *f)
{
	fprintf(f, "usage: wfbench generate --sites N --instances M [--unmonitored K] --seed S\n"
		   "                        [--session L [--gap MIN[-MAX]]] -o DIR [--force]\n"
		   "\n"
		   "Write a synthetic world: N sites with M page loads each (and K loads of\n"
		   "other pages), as seen next to the client of a UDP tunnel. Per-site page\n"
		   "models (resources, sizes, dependency waves, origins), per-load variation\n"
		   "(resources, sizes, RTT, bandwidth). Deterministic for a seed.\n"
		   "Model: docs/synthetic-world.md.\n"
		   "\n"
		   "  -s, --sites N         monitored sites (> 0)\n"
		   "  -i, --instances M     page loads per site (> 0)\n"
		   "  -u, --unmonitored K   unmonitored page loads, each a different page (0)\n"
		   "  -S, --seed S          the world's seed (required)\n"
		   "      --session L       every trace is a session of L page loads (1..64): the\n"
		   "                        trace's own page, then random pages of the world,\n"
		   "                        silent gaps between; DIR/loads lists each load\n"
		   "      --gap MIN[-MAX]   the gaps, seconds, log-uniform (default 5-30: longer\n"
		   "                        than a policy's default episode time of 3 s)\n"
		   "  -o, --output DIR      the dataset to write (atomically)\n"
		   "      --force           replace DIR if it is a dataset\n"
		   "  -h, --help            this text\n");
}

static void gen_progress(size_t done, size_t total, void *arg)
{
	(void)arg;
	if (done == total || done % 16 == 0)
		fprintf(stderr, "\rgenerate: %zu/%zu traces%s", done, total,
			done == total ? "\n" : "");
}

_Static_assert(WFB_SESSION_MAX_LOADS == 64, "--session's message names the bound");

/* "MIN" or "MIN-MAX", seconds. */
static int parse_gap(const char *arg, struct wfb_gen_opts *o)
{
	char buf[64], *dash;
	uint64_t lo, hi;

	snprintf(buf, sizeof(buf), "%s", arg);
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (wfb_parse_seconds(buf, &lo) || (dash && wfb_parse_seconds(dash + 1, &hi)))
		return -1;
	if (!dash)
		hi = lo;
	if (!lo || hi < lo)
		return -1;
	o->gap_min_s = (double)lo / 1e9;
	o->gap_max_s = (double)hi / 1e9;
	return 0;
}

static int gen_opt(const struct cmd *c, int opt, struct wfb_gen_opts *o, bool *seed)
{
	uint64_t v;

	switch (opt) {
	case 's':
		return parse_count(optarg, &o->sites)
			       ? wfb_bad_usage(c, "--sites: bad count '%s'", optarg)
			       : 0;
	case 'i':
		return parse_count(optarg, &o->instances)
			       ? wfb_bad_usage(c, "--instances: bad count '%s'", optarg)
			       : 0;
	case 'u':
		return parse_count(optarg, &o->unmonitored)
			       ? wfb_bad_usage(c, "--unmonitored: bad count '%s'", optarg)
			       : 0;
	case 'S':
		if (wfb_parse_u64(optarg, UINT64_MAX, &v))
			return wfb_bad_usage(c, "--seed: expected an unsigned integer, got '%s'",
					     optarg);
		o->seed = v;
		*seed = true;
		return 0;
	case 'L':
		if (wfb_parse_u64(optarg, WFB_SESSION_MAX_LOADS, &v) || !v)
			return wfb_bad_usage(c, "--session: loads per session, 1..64, not '%s'",
					     optarg);
		o->session = (unsigned)v;
		return 0;
	case 'G':
		return parse_gap(optarg, o) ? wfb_bad_usage(c,
							    "--gap: seconds MIN or MIN-MAX with "
							    "0 < MIN <= MAX, not '%s'",
							    optarg)
					    : 0;
	}
	return wfb_bad_usage(c, "%s", "bad option");
}

static int cmd_generate(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sites", required_argument, NULL, 's' },
		{ "instances", required_argument, NULL, 'i' },
		{ "unmonitored", required_argument, NULL, 'u' },
		{ "seed", required_argument, NULL, 'S' },
		{ "session", required_argument, NULL, 'L' },
		{ "gap", required_argument, NULL, 'G' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct cmd *c = wfb_find_cmd("generate");
	struct wfb_gen_opts o = { 0 };
	bool force = false, seed = false;
	const char *out = NULL;
	char err[512] = "";
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "s:i:u:S:o:h", lo, NULL)) != -1) {
		if (opt == 'h') {
			c->usage(stdout);
			return 0;
		} else if (opt == 'o') {
			out = optarg;
		} else if (opt == 'F') {
			force = true;
		} else if (opt == '?') {
			c->usage(stderr);
			return EXIT_BAD;
		} else if ((rc = gen_opt(c, opt, &o, &seed))) {
			return rc;
		}
	}
	if (optind != argc)
		return wfb_bad_usage(c, "unexpected argument '%s'", argv[optind]);
	if (!o.sites || !o.instances)
		return wfb_bad_usage(c, "%s", "--sites and --instances are required (> 0)");
	if (!seed)
		return wfb_bad_usage(c, "%s",
				     "--seed is required (the world is deterministic for it)");
	if (!out)
		return wfb_bad_usage(c, "%s", "-o DIR is required");
	if ((o.gap_min_s > 0) && !o.session)
		return wfb_bad_usage(c, "%s", "--gap is for sessions (--session L)");
	if (isatty(STDERR_FILENO))
		o.progress = gen_progress;
	rc = wfb_generate(&o, out, force, err, sizeof(err));
	if (rc)
		return wfb_fail("generate", rc, err);
	printf("generated %zu %s into %s: %u sites x %u instances, %u unmonitored, seed %llu\n",
	       (size_t)o.sites * o.instances + o.unmonitored, o.session ? "sessions" : "traces",
	       out, o.sites, o.instances, o.unmonitored, (unsigned long long)o.seed);
	if (o.session)
		printf("%u page loads per session, gaps %g-%g s; the loads: %s/loads\n", o.session,
		       o.gap_min_s > 0 ? o.gap_min_s : WFB_SESSION_GAP_MIN_S,
		       o.gap_min_s > 0 ? o.gap_max_s : WFB_SESSION_GAP_MAX_S, out);
	return 0;
}

/* ---------------------------------------------------------------- defend */

static void defend_usage(FILE *f)
{
	fprintf(f,
		"usage: wfbench defend (--policy FILE | --preset NAME) --dataset DIR -o OUT\n"
		"                      [--delay MS] [--bandwidth MBIT] [--mtu N] [--seed S]\n"
		"                      [--jobs N] [--force]\n"
		"\n"
		"Replay every trace of DIR through a defence and write what an observer next\n"
		"to the client sees (real and cover packets, sizes after shaping) to OUT.\n"
		"The client and the server each run their side of the policy with the same\n"
		"core the BPF data path runs.\n"
		"\n"
		"  -p, --policy FILE    a wfguard policy file (both sides are compiled)\n"
		"  -P, --preset NAME[:key=value,...]\n"
		"                       none|padme|front|tamaraw|buflo|regulator, the papers'\n"
		"                       defaults unless given (tamaraw:rho_out=0.04,L=50; the\n"
		"                       names of docs/policy.md); every parameter is printed\n"
		"  -d, --dataset DIR    the undefended dataset\n"
		"  -o, --output OUT     the defended dataset (written atomically)\n"
		"      --delay MS       one-way delay client<->server (default 20 ms)\n"
		"      --bandwidth MBIT per-direction bottleneck (default: none)\n"
		"      --mtu N          the device the policy runs on: its size limit is fitted\n"
		"                       as `wfguard attach` fits it (default: 1420 for\n"
		"                       `mode: tunnel`, WireGuard's; 1500 for shim mode)\n"
		"      --seed S         seed of the defences' random streams (default 1)\n"
		"  -j, --jobs N         threads (default: all cores); output is the same\n"
		"      --force          replace OUT if it is a dataset\n"
		"\n"
		"Overheads: bandwidth = sum of defended bytes / sum of original bytes - 1;\n"
		"latency = sum over traces of the time of the last real packet, defended /\n"
		"original - 1. Both as seen by the observer: in tunnel mode a trace's sizes\n"
		"are inner packets and the observer sees WireGuard data messages (32 bytes\n"
		"more, plaintext padded to 16 within the MTU), defended or not.\n"
		"A trace is one flow: a pause of the policy's episode time (episode.idle)\n"
		"between real packets starts a new episode, as on the data path, so a\n"
		"session (generate --session) replays with one episode per page load.\n");
}

static struct wfg_side_cfg defend_side[2];

/* meta.KEY=VALUE pairs the defended manifest records (wfb_defend_opts.meta). */
static const char *defend_meta[16];

static void meta_add(struct wfb_defend_opts *o, const char *key, const char *value)
{
	if (o->nmeta < sizeof(defend_meta) / sizeof(defend_meta[0]) / 2) {
		defend_meta[2 * o->nmeta] = key;
		defend_meta[2 * o->nmeta + 1] = value;
		o->nmeta++;
		o->meta = defend_meta;
	}
}

/* Every parameter the run used, printed before it starts (and recorded in the manifest). */
static void print_defend_setup(const char *preset, const struct wfb_defend_opts *o,
			       bool delay_default)
{
	char line[512];
	size_t i;

	for (i = 0; i < o->nmeta; i++) {
		if (!strcmp(o->meta[2 * i], "defend.preset_params"))
			printf("preset %s: %s\n", preset, o->meta[2 * i + 1]);
		if (!strcmp(o->meta[2 * i], "defend.policy_sha256"))
			printf("policy %s: sha256 %s\n", o->policy_name, o->meta[2 * i + 1]);
	}
	wfb_replay_params_text(&o->replay, line, sizeof(line));
	printf("replay: %s%s\n", line,
	       delay_default ? "; delay: the default 20 ms one way (--delay MS)" : "");
	printf("tool: %s\n", wfb_tool);
}

static void defend_progress(size_t done, size_t total, void *arg)
{
	double *t0 = arg, dt = (double)clock() / CLOCKS_PER_SEC - *t0, rate;

	rate = dt > 0 ? (double)done / dt : 0;
	fprintf(stderr, "\rdefend: %zu/%zu traces, %.0f/s, ETA %.0fs   ", done, total, rate,
		rate > 0 ? (double)(total - done) / rate : 0);
	if (done == total)
		fputc('\n', stderr);
}

static int cmd_defend(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "preset", required_argument, NULL, 'P' },
		{ "dataset", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "delay", required_argument, NULL, 'D' },
		{ "bandwidth", required_argument, NULL, 'B' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "seed", required_argument, NULL, 'S' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = wfb_find_cmd("defend");
	const char *policy = NULL, *preset = NULL, *dataset = NULL, *out = NULL;
	struct wfb_defend_opts o = {
		.replay = { .delay_ns = 20000000, .seed = 1, .unknown_size = 514 }
	};
	static struct wfg_policy dp; /* presets: shim mode, no rules */
	struct wfb_overhead ov;
	uint32_t mtu = 0;
	char err[512] = "";
	double t0 = (double)clock() / CLOCKS_PER_SEC;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool delay_set = false, delay_default;
	uint64_t v;
	int c, rc;

	o.jobs = ncpu > 0 ? (unsigned)ncpu : 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:P:d:o:j:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy = optarg;
			break;
		case 'P':
			preset = optarg;
			break;
		case 'd':
			dataset = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'D':
			if (wfb_parse_u64(optarg, 100000, &v))
				return wfb_bad_usage(self, "--delay: milliseconds, not '%s'",
						     optarg);
			o.replay.delay_ns = v * 1000000;
			delay_set = true;
			break;
		case 'B':
			o.replay.bandwidth_mbit = atof(optarg);
			if (!(o.replay.bandwidth_mbit > 0))
				return wfb_bad_usage(self, "--bandwidth: Mbit/s > 0, not '%s'",
						     optarg);
			break;
		case 'M':
			if (wfb_parse_u64(optarg, 65535, &v) || v < 68)
				return wfb_bad_usage(self, "--mtu: bytes, 68..65535, not '%s'",
						     optarg);
			mtu = (uint32_t)v;
			break;
		case 'S':
			if (wfb_parse_u64(optarg, UINT64_MAX, &o.replay.seed))
				return wfb_bad_usage(self, "--seed: a number, not '%s'", optarg);
			break;
		case 'j':
			if (wfb_parse_u64(optarg, 1024, &v) || !v)
				return wfb_bad_usage(self, "--jobs: 1..1024, not '%s'", optarg);
			o.jobs = (unsigned)v;
			break;
		case 'F':
			o.force = true;
			break;
		case 'h':
			defend_usage(stdout);
			return 0;
		default:
			return EXIT_BAD;
		}
	}
	if (!dataset || !out || !!policy == !!preset)
		return wfb_bad_usage(self, "%s",
				     "--dataset, -o and one of --policy/--preset are required");
	if (preset) {
		static struct wfb_preset_spec sp;

		rc = wfb_preset_spec_parse(preset, &sp, err, sizeof(err));
		if (rc)
			return wfb_bad_usage(self, "%s", err);
		rc = wfb_preset_spec_sides(&sp, defend_side, &dp, stderr, err, sizeof(err));
		if (rc)
			return wfb_fail("defend", rc, err);
		o.policy_name = preset;
		meta_add(&o, "defend.preset", sp.name);
		meta_add(&o, "defend.preset_params", sp.params[0] ? sp.params : "(none)");
	} else {
		static struct wfg_compiled_policy cp;
		static char hex[65];

		if (wfg_policy_load_report(policy, &cp, stderr))
			return EXIT_BAD;
		defend_side[0] = *wfg_policy_side(&cp, WFG_ROLE_CLIENT);
		defend_side[1] = *wfg_policy_side(&cp, WFG_ROLE_SERVER);
		dp = cp.dp;
		/* Each side draws its entry per episode, as the data path does (replay.c). */
		o.replay.pool = (const struct wfg_side_cfg(*)[2])cp.pool;
		o.replay.pool_n = cp.pool_n;
		for (c = 0; c < (int)cp.pool_n; c++)
			wfb_defend_fit(&dp, cp.pool[c], mtu, &o.replay);
		o.policy_name = policy;
		if (wfb_sha256_file(policy, hex))
			return wfb_fail("defend", -EIO, "cannot read the policy to hash it");
		meta_add(&o, "defend.policy", policy);
		meta_add(&o, "defend.policy_sha256", hex);
	}
	meta_add(&o, "defend.tool", wfb_tool);
	delay_default = !delay_set;
	wfb_defend_fit(&dp, defend_side, mtu, &o.replay);
	print_defend_setup(preset, &o, delay_default);
	fflush(stdout);
	if (isatty(STDERR_FILENO)) {
		o.progress = defend_progress;
		o.progress_arg = &t0;
	}
	rc = wfb_defend(&defend_side[0], &defend_side[1], dataset, out, &o, &ov, err, sizeof(err));
	if (rc)
		return wfb_fail("defend", rc, err);
	if (o.replay.pool_n)
		printf("pool: %u defences, each side drew one per episode (%llu draws)\n",
		       o.replay.pool_n, (unsigned long long)(ov.episodes[0] + ov.episodes[1]));
	printf("defended %s -> %s (%s; delay %llu ms%s)\n", dataset, out, o.policy_name,
	       (unsigned long long)(o.replay.delay_ns / 1000000),
	       o.replay.bandwidth_mbit > 0 ? ", bottleneck" : "");
	printf("%s mode, MTU %u: size limit client %u, server %u%s\n",
	       o.replay.mode == WFG_MODE_TUNNEL ? "tunnel" : "shim", o.replay.mtu,
	       defend_side[0].shape.max, defend_side[1].shape.max,
	       o.replay.mode == WFG_MODE_TUNNEL ? " (sizes seen as WireGuard data messages)" : "");
	printf("episodes: client %llu, server %llu over %llu traces\n",
	       (unsigned long long)ov.episodes[0], (unsigned long long)ov.episodes[1],
	       (unsigned long long)ov.traces);
	printf("%-10s %12s %12s %10s %10s %8s\n", "direction", "bytes orig", "bytes def",
	       "pkts orig", "pkts def", "covers");
	for (c = 0; c < 2; c++)
		printf("%-10s %12llu %12llu %10llu %10llu %8llu\n", c ? "in" : "out",
		       (unsigned long long)ov.bytes_orig[c], (unsigned long long)ov.bytes_def[c],
		       (unsigned long long)ov.pkts_orig[c], (unsigned long long)ov.pkts_def[c],
		       (unsigned long long)ov.covers[c]);
	printf("bandwidth overhead %.1f%%  (sum of defended bytes / sum of original bytes - 1)\n",
	       100 * wfb_overhead_bandwidth(&ov));
	printf("latency overhead   %.1f%%  (sum of time to last real packet, defended / original - "
	       "1)\n",
	       100 * wfb_overhead_latency(&ov));
	return 0;
}

/* ---------------------------------------------------------------- export */

static void export_usage(FILE *f)
{
	fprintf(f,
		"usage: wfbench export --format wang|maybenot|npy DATASET -o OUT [--seq-len L]\n"
		"                      [--force]\n"
		"\n"
		"Write every trace of a dataset (one `wfbench defend` wrote, too) in a format\n"
		"other tools read, so that they can judge it. OUT is a directory, written\n"
		"whole or not at all; `wfbench import` reads the wang and maybenot exports\n"
		"back to the same dataset (Wang's format has no cover kind).\n"
		"\n"
		"  -f, --format FMT   wang: SITE-INSTANCE files, unmonitored INDEX;\n"
		"                     maybenot: trace-SITE-INSTANCE.log, trace-u-INDEX.log;\n"
		"                     npy: times.npy (float64 s), sizes.npy (int64 ±bytes,\n"
		"                     ±1 unknown), kinds.npy (1 cover), traces x L, zero-\n"
		"                     padded; lengths.npy, labels.npy (-1 unmonitored),\n"
		"                     traces.csv (index,trace,label,site,source)\n"
		"                     every format: sites.txt ('LABEL NAME') if sites are named\n"
		"  -o, --output OUT   the directory to write\n"
		"      --seq-len L    npy: columns (default: the longest trace, lossless)\n"
		"      --force        replace OUT if an earlier export wrote it\n"
		"  -h, --help         this text\n"
		"See docs/trace-format.md, \"Export\".\n");
}

static int cmd_export(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "seq-len", required_argument, NULL, 'L' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct cmd *c = wfb_find_cmd("export");
	struct wfb_export_opts o = { 0 };
	const char *out = NULL;
	bool have_fmt = false;
	char err[512] = "";
	uint64_t v;
	size_t n;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "f:o:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (wfb_export_format_parse(optarg, &o.fmt))
				return wfb_bad_usage(c, "--format: wang, maybenot or npy, not '%s'",
						     optarg);
			have_fmt = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'L':
			if (wfb_parse_u64(optarg, 10000000, &v) || !v)
				return wfb_bad_usage(c, "--seq-len: a count > 0, not '%s'", optarg);
			o.seq_len = (size_t)v;
			break;
		case 'F':
			o.force = true;
			break;
		case 'h':
			c->usage(stdout);
			return 0;
		default:
			c->usage(stderr);
			return EXIT_BAD;
		}
	}
	if (!have_fmt || !out || optind != argc - 1)
		return wfb_bad_usage(c, "%s", "--format FMT, one DATASET and -o OUT are required");
	if (o.seq_len && o.fmt != WFB_EXPORT_NPY)
		return wfb_bad_usage(c, "%s", "--seq-len is for --format npy");
	rc = wfb_export(argv[optind], out, &o, &n, err, sizeof(err));
	if (rc)
		return wfb_fail("export", rc, err);
	printf("exported %zu traces of %s to %s\n", n, argv[optind], out);
	return 0;
}

/* ---------------------------------------------------------------- the table */

static int cmd_help(int argc, char **argv);
static void help_usage(FILE *f);

/* Replay, attacks, evaluation and sweeps (defend, attack, evaluate, sweep) join here. */
static const struct cmd cmds[] = {
	{ "import", cmd_import, import_usage,
	  "convert traces (Wang, Maybenot, pcap) to a dataset" },
	{ "info", cmd_info, info_usage, "summarise a dataset" },
	{ "export", cmd_export, export_usage,
	  "write a dataset as Wang, Maybenot or .npy files for other tools" },
	{ "generate", cmd_generate, generate_usage, "write a synthetic world as a dataset" },
	{ "defend", cmd_defend, defend_usage, "replay a dataset through a defence; overheads" },
	{ "play", wfb_play_cmd, wfb_play_usage, "play page loads as real UDP between two hosts" },
	{ "attack", wfb_cmd_attack, wfb_attack_usage, "cross-validate a WF attack on a dataset" },
	{ "evaluate", wfb_cmd_evaluate, wfb_evaluate_usage,
	  "defences x attacks: overheads, accuracy ± CI, plot" },
	{ "sweep", wfb_cmd_sweep, wfb_sweep_usage, "evaluate a policy over a parameter grid" },
	{ "search", wfb_cmd_search, wfb_search_usage,
	  "derive defences within overhead constraints" },
	{ "combo", wfb_cmd_combo, wfb_combo_usage, "stack kept defences into new ones" },
	{ "observe", wfb_observe_cmd, wfb_observe_usage,
	  "cleartext tests an observer has against covers, on a capture" },
	{ "live", wfl_cmd_live, wfl_live_usage,
	  "real page loads through a real tunnel: live vs simulated defence" },
	{ "help", cmd_help, help_usage, "show the help of a command" },
};

const struct cmd *wfb_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	}
	return NULL;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: wfbench COMMAND [options]     (wfbench COMMAND --help)\n\n"
		   "The wfguard trace-replay harness.\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nexit codes: 0 success, 1 bad input or usage, 2 internal error\n");
	fprintf(f, "this wfbench: %s\n", wfb_cluster_build());
}

static void help_usage(FILE *f)
{
	fprintf(f, "usage: wfbench help [COMMAND]\n");
}

static int cmd_help(int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	c = wfb_find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "wfbench: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_BAD;
	}
	c->usage(stdout);
	return 0;
}

static int run_main(int argc, char **argv)
{
	const struct cmd *c;

	wfb_tool = WFB_VERSION;
	if (argc < 2) {
		usage(stderr);
		return EXIT_BAD;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	c = wfb_find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "wfbench: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_BAD;
	}
	return c->run(argc - 1, argv + 1);
}

/* Under mpirun or srun, every rank runs the command (par.h, docs/cluster.md). */
int main(int argc, char **argv)
{
	char err[256] = "";

	if (wfb_cluster_init(&argc, &argv, err, sizeof(err))) {
		fprintf(stderr, "wfbench: %s\n", err);
		return EXIT_BAD;
	}
	return wfb_cluster_finish(run_main(argc, argv));
}
