// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench live (live.h, docs/live-evaluation.md): the run. Each phase
 * (undefended, defended) gets namespaces and a tunnel of its own, a site
 * server, an observer capturing with libpcap, and a client that fetches the
 * whole schedule of page loads over the one long-lived tunnel with idle gaps
 * between them; the defended phase has wfguard on the server's device (and
 * on the client's, for a transport in shim mode). What carries the loads,
 * and which server and client fetch them, is the transport's
 * (transport.h). Both phases run at once unless --sequential.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cli.h"
#include "err.h"
#include "live.h"
#include "policy.h"
#include "split.h"
#include "wfguard/core/prng.h"

#define LOAD_TIMEOUT	 60 /* s */
#define CONNS_PER_ORIGIN 6

void wfl_live_usage(FILE *f)
{
	fprintf(f,
		"usage: wfbench live --sites N --loads M --policy FILE [--transport T]\n"
		"                    -o OUT [--client-policy FILE] [--connections C]\n"
		"                    [--seed S] [--time-scale F] [--gap MS]\n"
		"                    [--attacks LIST] [--folds K] [--jobs N] [--wfguard PATH]\n"
		"                    [--sequential] [--force]\n"
		"\n"
		"Fetch N x M page loads of the synthetic world (N sites, M loads each, in a\n"
		"shuffled order) as real HTTP through a real transport between network\n"
		"namespaces, once undefended and once with wfguard attached with the\n"
		"policy; capture both on the observer's link (libpcap), cut the captures\n"
		"into page loads by the schedule, and attack them. The simulator replays\n"
		"the undefended capture through the same policy (wfbench defend) and its\n"
		"prediction is printed beside the live figures. Root; makes and removes\n"
		"its own namespaces.\n"
		"\n"
		"  -s, --sites N         sites (>= 2)\n"
		"  -l, --loads M         page loads of each site (>= 2)\n"
		"  -p, --policy FILE     the defence: tunnel mode for wireguard (e.g.\n"
		"                        examples/policies/wireguard.yaml), the server's\n"
		"                        shim-mode policy for quic (examples/policies/quic.yaml)\n"
		"  -t, --transport T     wireguard: HTTP/1.1 over TCP in wireguard-go, wfguard\n"
		"                        in tunnel mode on the server's tunnel (the default);\n"
		"                        quic: HTTP/3 (ngtcp2's examples), wfguard in shim\n"
		"                        mode on both ends' links\n"
		"      --client-policy F the client end's policy (quic; default: FILE with\n"
		"                        -client before .yaml)\n"
		"      --connections C   load (one per page load), wave (one per dependency\n"
		"                        wave; quic's default) or long (refused, with why)\n"
		"  -o, --output OUT      the run's directory: datasets, captures, report\n"
		"  -S, --seed S          the world and the schedule (default 1)\n"
		"      --time-scale F    think and server times divided by F (default 4)\n"
		"      --gap MS          idle time after each load (default: the policy's\n"
		"                        episode time + 500, so that each load is an episode)\n"
		"  -a, --attacks LIST    default knn,cumul,kfp\n"
		"  -k, --folds K         default: M, at most 10\n"
		"  -j, --jobs N          threads of the attacks and the replay\n"
		"      --wfguard PATH    default: wfguard beside wfbench\n"
		"      --sequential      one phase after the other (default: both at once)\n"
		"      --force           replace OUT\n"
		"  -h, --help            this text\n"
		"\n"
		"OUT/report.txt and OUT/report.json: the live and the simulated accuracy and\n"
		"overheads side by side, with their definitions; OUT/{undefended,defended,\n"
		"simulated} the datasets; OUT/PHASE-run/ the captures, the loads and logs.\n");
}

/* ---------------------------------------------------------------- the client */

static uint64_t now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Packets this namespace's dev sent (/proc/net/dev); 0 if it has none. */
static uint64_t tx_packets(const char *dev)
{
	FILE *f = fopen("/proc/net/dev", "r");
	char line[512];
	uint64_t v = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *name = line;
		unsigned long long x[10];

		if (!colon)
			continue;
		*colon = 0;
		while (*name == ' ')
			name++;
		if (!strcmp(name, dev) &&
		    sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &x[0],
			   &x[1], &x[2], &x[3], &x[4], &x[5], &x[6], &x[7], &x[8], &x[9]) == 10)
			v = x[9];
	}
	fclose(f);
	return v;
}

/*
 * The idle gap after a load: until the client's tunnel device has sent
 * nothing for gap_ns. Whatever real traffic a load leaves behind (a FIN, a
 * retransmission after a loss) makes the client send, so a quiet client
 * device means a quiet tunnel and the next load begins a new episode. (The
 * covers do not count: the client receives them and answers nothing.) At
 * most 10 gaps.
 */
static void idle_gap(const char *dev, uint64_t from_ns, uint64_t gap_ns)
{
	uint64_t last = from_ns, tx = tx_packets(dev), now;

	while (!wfl_stop && (now = now_real()) < last + gap_ns && now < from_ns + 10 * gap_ns) {
		uint64_t t;

		nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
		t = tx_packets(dev);
		if (t != tx) {
			tx = t;
			last = now_real();
		}
	}
}

struct client_arg {
	const struct wfl_opts *o;
	struct wfl_phase *ph;
};

/* A one-resource page: opens the tunnel (handshake) and measures the path. */
static int warm_up(const struct wfl_opts *o, const struct wfl_topo *t,
		   const struct wfl_fetch_opts *fo, struct wfl_shared *sh)
{
	struct wfb_page pg = { .n = 1, .origins = 1 };
	struct wfl_load_result r;
	char err[256];
	int rc, tries;

	pg.res[0] = (struct wfb_page_res){ .size = 1000, .req = 300, .parent = WFB_PAGE_ROOT };
	for (tries = 0; tries < 20; tries++) { /* the handshake may take a retry */
		rc = o->tr->fetch(t, fo, 0, &pg, &r, err, sizeof(err));
		if (!rc) {
			sh->warm_ns = r.connect_ns_min;
			return 0;
		}
		if (wfl_stop)
			break;
		sleep(1);
	}
	fprintf(stderr, "wfbench live: warm-up fetch: %s\n", err);
	return rc;
}

static int client_main(void *arg, int ready)
{
	struct client_arg *a = arg;
	const struct wfl_opts *o = a->o;
	struct wfl_shared *sh = a->ph->sh;
	struct wfl_fetch_opts fo = {
		.seed = o->seed,
		.family = a->ph->topo.family,
		.port = a->ph->topo.port,
		.time_scale = o->time_scale,
		.conns = CONNS_PER_ORIGIN,
		.timeout_ns = LOAD_TIMEOUT * 1000000000ULL,
		.stop = &wfl_stop,
	};
	struct wfb_gen_opts go = { .sites = o->sites, .instances = o->loads, .seed = o->seed };
	struct wfb_page *pg = malloc(sizeof(*pg));
	size_t k;

	if (write(ready, "r", 1) != 1 || !pg)
		return 2;
	memcpy(fo.server, a->ph->topo.server_in, sizeof(fo.server));
	if (warm_up(o, &a->ph->topo, &fo, sh))
		return 3;
	idle_gap(a->ph->topo.dev_c, now_real(), o->gap_ns);
	for (k = 0; k < sh->n && !wfl_stop; k++) {
		struct wfl_load *l = &sh->load[k];
		char err[256] = "";

		l->hdrerr = o->tr->covers_dropped(&a->ph->topo);
		l->rc = wfb_gen_page(&go, l->site, l->instance, pg);
		if (!l->rc)
			l->rc = o->tr->fetch(&a->ph->topo, &fo, l->site, pg, &l->r, err,
					     sizeof(err));
		if (l->rc && !wfl_stop)
			fprintf(stderr, "\nwfbench live: %s load %zu: %s\n", a->ph->name, k, err);
		idle_gap(a->ph->topo.dev_c, l->r.end_ns ? l->r.end_ns : now_real(), o->gap_ns);
		sh->done = (unsigned)k + 1;
	}
	sh->end_ns = now_real();
	sh->end_hdrerr = o->tr->covers_dropped(&a->ph->topo);
	free(pg);
	return wfl_stop ? 130 : 0;
}

/* ---------------------------------------------------------------- the observer */

struct capture_arg {
	struct wfl_phase *ph;
};

static int capture_main(void *arg, int ready)
{
	struct capture_arg *a = arg;
	char pcap[4200], stats[4200], err[512] = "";
	int rc;

	snprintf(pcap, sizeof(pcap), "%s/capture.pcap", a->ph->dir);
	snprintf(stats, sizeof(stats), "%s/capture.stats", a->ph->dir);
	rc = wfl_capture_live(a->ph->topo.obs_dev, a->ph->topo.filter, pcap, stats, ready,
			      &wfl_stop, err, sizeof(err));
	if (rc)
		fprintf(stderr, "wfbench live: capture: %s\n", err);
	return rc ? 2 : 0;
}

/* ---------------------------------------------------------------- phases */

/* One end the defence attaches to: the server's (the policy) or the client's. */
struct wfl_end {
	const char *ns, *dev, *policy, *suffix; /* suffix: of its logs and outputs */
};

static unsigned defended_ends(const struct wfl_opts *o, struct wfl_phase *ph, struct wfl_end end[2])
{
	end[0] = (struct wfl_end){ ph->topo.ns_s, ph->topo.dev_s, o->policy, "" };
	end[1] = (struct wfl_end){ ph->topo.ns_c, ph->topo.dev_c, o->client_policy, "-client" };
	return o->tr->client_defended ? 2 : 1;
}

/* `wfguard VERB DEV` at end e; stats go to PHASE-run/wfguard[-client]-stats.json. */
static int wfguard(const struct wfl_opts *o, struct wfl_phase *ph, const struct wfl_end *e,
		   const char *verb)
{
	char log[4200], out[4200];
	char *attach[] = { (char *)o->wfguard, "attach", (char *)e->dev, "--policy",
			   (char *)e->policy,  "--keys", ph->topo.keys,	 NULL };
	char *other[] = { (char *)o->wfguard, (char *)verb, (char *)e->dev, "--json", NULL };

	snprintf(log, sizeof(log), "%s/wfguard%s.log", ph->dir, e->suffix);
	snprintf(out, sizeof(out), "%s/wfguard%s-%s.json", ph->dir, e->suffix, verb);
	if (!ph->topo.keys[0])
		attach[5] = NULL; /* tunnel mode: no shim, no keys */
	if (!strcmp(verb, "attach"))
		return wfl_run(e->ns, attach, NULL, log, log);
	if (!strcmp(verb, "detach"))
		other[3] = NULL;
	return wfl_run(e->ns, other, NULL, strcmp(verb, "detach") ? out : log, log);
}

/* The defence on each end: attached, and its pump running. */
static int defend(const struct wfl_opts *o, struct wfl_phase *ph, char *err, size_t errlen)
{
	struct wfl_end end[2];
	unsigned n = defended_ends(o, ph, end), i;
	int rc = 0;

	for (i = 0; !rc && i < n; i++) {
		char *run[] = { (char *)o->wfguard, "run", (char *)end[i].dev, NULL };
		char log[4200];

		snprintf(log, sizeof(log), "%s/wfguard%s-run.log", ph->dir, end[i].suffix);
		rc = wfguard(o, ph, &end[i], "attach");
		if (rc)
			return wfg_err(err, errlen, EIO,
				       "wfguard attach %s failed (%d): see %s/wfguard%s.log",
				       end[i].dev, rc, ph->dir, end[i].suffix);
		ph->run = 1;
		rc = wfl_spawn(&ph->ps, "wfguard run", end[i].ns, run, log);
		if (rc)
			rc = wfg_err(err, errlen, -rc, "wfguard run: %s", strerror(-rc));
	}
	return rc;
}

static int phase_up(const struct wfl_opts *o, struct wfl_phase *ph, char *err, size_t errlen)
{
	static struct capture_arg ca[WFL_PHASES];
	struct capture_arg *cap = &ca[ph->defended];
	int rc;

	rc = o->tr->up(&ph->topo, &ph->ps, err, errlen);
	if (!rc && (rc = o->tr->serve(&ph->topo, &ph->ps, err, errlen)))
		rc = wfg_err(err, errlen, -rc, "%s: %s", ph->name, err);
	cap->ph = ph;
	if (!rc &&
	    (rc = wfl_fork(&ph->ps, "capture", ph->topo.ns_o, capture_main, cap, &ph->capture)))
		rc = wfg_err(err, errlen, -rc, "%s: the observer's capture did not start",
			     ph->name);
	if (!rc && ph->defended)
		rc = defend(o, ph, err, errlen);
	return rc;
}

/* Stop what the phase started, in order: the client, the pump, the defence, the
 * capture (flushed), the server, the tunnel. Safe to call twice. */
static void phase_down(const struct wfl_opts *o, struct wfl_phase *ph)
{
	size_t i;

	if (ph->client > 0) {
		wfl_end(&ph->ps, ph->client, 2000);
		ph->client = 0;
	}
	if (ph->run) {
		struct wfl_end end[2];
		unsigned n = defended_ends(o, ph, end), e;

		for (i = ph->ps.n; i-- > 0;)
			if (!strcmp(ph->ps.what[i], "wfguard run"))
				wfl_end(&ph->ps, ph->ps.pid[i], 2000);
		for (e = 0; e < n; e++) {
			wfguard(o, ph, &end[e], "stats");
			wfguard(o, ph, &end[e], "detach");
		}
		ph->run = 0;
	}
	if (ph->capture > 0) {
		wfl_end(&ph->ps, ph->capture, 5000);
		ph->capture = 0;
	}
	wfl_end_all(&ph->ps);
	o->tr->down(&ph->topo);
}

static void shuffle_schedule(const struct wfl_opts *o, struct wfl_shared *sh)
{
	__u64 s = o->seed ^ 0x5c4ed01eULL;
	size_t k, n = sh->n;

	for (k = 0; k < n; k++) {
		sh->load[k].site = (int)(k % o->sites);
		sh->load[k].instance = (unsigned)(k / o->sites);
	}
	for (k = n; k > 1; k--) {
		size_t j = (size_t)(wfg_splitmix64(&s) % k);
		struct wfl_load t = sh->load[k - 1];

		sh->load[k - 1] = sh->load[j];
		sh->load[j] = t;
	}
}

static int phase_init(const struct wfl_opts *o, struct wfl_phase *ph, int which, char *err,
		      size_t errlen)
{
	size_t n = (size_t)o->sites * o->loads,
	       bytes = sizeof(*ph->sh) + n * sizeof(ph->sh->load[0]);
	char tag[16];

	memset(ph, 0, sizeof(*ph));
	ph->name = which == WFL_DEFENDED ? "defended" : "undefended";
	ph->defended = which == WFL_DEFENDED;
	if (snprintf(ph->dir, sizeof(ph->dir), "%s/%s-run", o->out, ph->name) >=
	    (int)sizeof(ph->dir))
		return wfg_err(err, errlen, ENAMETOOLONG, "%s: path too long", o->out);
	if (mkdir(ph->dir, 0700) && errno != EEXIST)
		return wfg_err(err, errlen, errno, "%s: %s", ph->dir, strerror(errno));
	snprintf(tag, sizeof(tag), "wl%u%c", (unsigned)getpid() % 100000, ph->defended ? 'd' : 'u');
	if (wfl_topo_init(&ph->topo, tag, ph->dir))
		return wfg_err(err, errlen, ENAMETOOLONG, "%s: path too long", ph->dir);
	ph->topo.conns = o->conns;
	ph->topo.wfguard = o->wfguard;
	ph->sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ph->sh == MAP_FAILED) {
		ph->sh = NULL;
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	}
	memset(ph->sh, 0, bytes);
	ph->sh->n = n;
	shuffle_schedule(o, ph->sh);
	return 0;
}

static void progress(const struct wfl_phase *ph, size_t nph, time_t t0, bool tty)
{
	static unsigned last;
	unsigned done = 0;
	size_t i;

	for (i = 0; i < nph; i++)
		done += ph[i].sh->done;
	if (!tty && done / 10 == last / 10 && done != ph[0].sh->n * nph)
		return;
	last = done;
	fprintf(stderr, "%slive:", tty ? "\r" : "");
	for (i = 0; i < nph; i++)
		fprintf(stderr, " %s %u/%zu", ph[i].name, ph[i].sh->done, ph[i].sh->n);
	fprintf(stderr, " page loads, %lds%s", (long)(time(NULL) - t0), tty ? "   " : "\n");
}

/* Start the clients of phases [0, nph) and wait for them all. */
static int run_clients(const struct wfl_opts *o, struct wfl_phase *ph, size_t nph, char *err,
		       size_t errlen)
{
	static struct client_arg ca[WFL_PHASES];
	bool tty = isatty(STDERR_FILENO);
	time_t t0 = time(NULL);
	size_t i, running = nph;
	int rc = 0;

	for (i = 0; !rc && i < nph; i++) {
		ca[i] = (struct client_arg){ .o = o, .ph = &ph[i] };
		rc = wfl_fork(&ph[i].ps, "client", ph[i].topo.ns_c, client_main, &ca[i],
			      &ph[i].client);
		if (rc)
			return wfg_err(err, errlen, -rc, "%s: the client did not start",
				       ph[i].name);
	}
	while (running && !wfl_stop) {
		nanosleep(&(struct timespec){ .tv_nsec = 250000000 }, NULL);
		progress(ph, nph, t0, tty);
		for (i = 0, running = 0; i < nph; i++) {
			if (ph[i].client > 0 && wfl_exited(&ph[i].ps, ph[i].client, &ph[i].status))
				ph[i].client = 0;
			running += ph[i].client > 0;
		}
	}
	if (tty)
		fputc('\n', stderr);
	if (wfl_stop)
		return wfg_err(err, errlen, EINTR, "interrupted");
	for (i = 0; i < nph; i++)
		if (ph[i].status)
			return wfg_err(err, errlen, EIO, "%s: the client failed (exit %d)",
				       ph[i].name, ph[i].status);
	return 0;
}

static void read_capture_stats(struct wfl_phase *ph)
{
	char path[4200];
	unsigned r = 0, d = 0, i = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/capture.stats", ph->dir);
	f = fopen(path, "r");
	if (f && fscanf(f, "received %u dropped %u ifdropped %u", &r, &d, &i) == 3) {
		ph->cap_received = r;
		ph->cap_dropped = (uint64_t)d + i;
	} else {
		ph->cap_dropped = UINT64_MAX; /* unknown: the report says so */
	}
	if (f)
		fclose(f);
}

/* The phases, at once or one after the other; every phase is down on return. */
static int run_phases(const struct wfl_opts *o, struct wfl_phase ph[WFL_PHASES], char *err,
		      size_t errlen)
{
	size_t i, first, per = o->sequential ? 1 : WFL_PHASES;
	int rc = 0;

	for (first = 0; !rc && first < WFL_PHASES; first += per) {
		for (i = first; !rc && i < first + per; i++)
			rc = phase_up(o, &ph[i], err, errlen);
		if (!rc)
			rc = run_clients(o, &ph[first], per, err, errlen);
		for (i = first; i < first + per; i++) {
			phase_down(o, &ph[i]);
			read_capture_stats(&ph[i]);
		}
	}
	return rc;
}

/* ---------------------------------------------------------------- the command */

static int parse_u(const char *s, uint64_t max, uint64_t *v)
{
	return wfb_parse_u64(s, max, v);
}

static int live_opt(const struct cmd *c, int opt, struct wfl_opts *o)
{
	char msg[256];
	uint64_t v;

	switch (opt) {
	case 's':
	case 'l':
		if (parse_u(optarg, 100000, &v) || v < 2)
			return wfb_bad_usage(c, "expected a count >= 2, got '%s'", optarg);
		*(opt == 's' ? &o->sites : &o->loads) = (unsigned)v;
		return 0;
	case 'p':
		o->policy = optarg;
		return 0;
	case 't':
		o->tr = wfl_transport_find(optarg);
		if (o->tr)
			return 0;
		snprintf(msg, sizeof(msg), "--transport: unknown '%s' (%s)", optarg,
			 wfl_transport_names());
		return wfb_bad_usage(c, "%s", msg);
	case 'P':
		o->client_policy = optarg;
		return 0;
	case 'C':
		for (o->conns = 0; o->conns < WFL_CONNS_N; o->conns++)
			if (!strcmp(optarg, wfl_conns_name[o->conns]))
				return 0;
		return wfb_bad_usage(c, "--connections: load, wave or long, not '%s'", optarg);
	case 'o':
		o->out = optarg;
		return 0;
	case 'S':
		return parse_u(optarg, UINT64_MAX, &o->seed)
			       ? wfb_bad_usage(c, "--seed: a number, not '%s'", optarg)
			       : 0;
	case 'T':
		o->time_scale = atof(optarg);
		return o->time_scale >= 1 && o->time_scale <= 1000
			       ? 0
			       : wfb_bad_usage(c, "--time-scale: 1..1000, not '%s'", optarg);
	case 'G':
		if (parse_u(optarg, 600000, &v) || !v)
			return wfb_bad_usage(c, "--gap: milliseconds 1..600000, not '%s'", optarg);
		o->gap_ns = v * 1000000ULL;
		return 0;
	case 'a':
		o->attacks = optarg;
		return 0;
	case 'k':
		if (parse_u(optarg, 100, &v) || v < 2)
			return wfb_bad_usage(c, "--folds: 2..100, not '%s'", optarg);
		o->folds = (unsigned)v;
		return 0;
	case 'j':
		if (parse_u(optarg, 1024, &v) || !v)
			return wfb_bad_usage(c, "--jobs: 1..1024, not '%s'", optarg);
		o->jobs = (unsigned)v;
		return 0;
	case 'W':
		o->wfguard = optarg;
		return 0;
	case 'Q':
		o->sequential = true;
		return 0;
	case 'F':
		o->force = true;
		return 0;
	}
	c->usage(stderr);
	return EXIT_BAD;
}

/* Policy file path compiled into cp, in the mode and role the transport runs it in. */
static int load_policy(const struct wfl_opts *o, const char *path, int role,
		       struct wfg_compiled_policy *cp)
{
	static const char *const mode_name[] = {
		[WFG_MODE_SHIM] = "shim", [WFG_MODE_TUNNEL] = "tunnel"
	};

	if (wfg_policy_load_report(path, cp, stderr))
		return -EINVAL;
	if (cp->dp.mode != (unsigned)o->tr->policy_mode) {
		fprintf(stderr, "wfbench live: %s: the %s transport needs a %s-mode policy\n", path,
			o->tr->name, mode_name[o->tr->policy_mode]);
		return -EINVAL;
	}
	if (cp->pool_n) { /* before any page load: the report's simulation could not run it */
		fprintf(stderr,
			"wfbench live: %s: a pool of defences: the live run's simulated "
			"prediction does not replay pools yet (wfbench defend and evaluate do)\n",
			path);
		return -EINVAL;
	}
	if (o->tr->client_defended && (int)cp->role != role) {
		fprintf(stderr, "wfbench live: %s: expected role: %s (the %s's end)\n", path,
			role == WFG_ROLE_CLIENT ? "client" : "server",
			role == WFG_ROLE_CLIENT ? "client" : "server");
		return -EINVAL;
	}
	return 0;
}

/* The client end's policy by default: FILE.yaml -> FILE-client.yaml, as
 * examples/policies/ names the halves of a pair. */
static int default_client_policy(struct wfl_opts *o)
{
	static char path[PATH_MAX];
	size_t n = strlen(o->policy);

	if (o->client_policy || !o->tr->client_defended)
		return 0;
	if (n < 5 || strcmp(o->policy + n - 5, ".yaml") || n + 8 > sizeof(path)) {
		fprintf(stderr, "wfbench live: %s: name the client's policy (--client-policy)\n",
			o->policy);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%.*s-client.yaml", (int)(n - 5), o->policy);
	if (access(path, R_OK)) {
		fprintf(stderr,
			"wfbench live: %s: no client policy beside %s (--client-policy FILE)\n",
			path, o->policy);
		return -EINVAL;
	}
	o->client_policy = path;
	return 0;
}

/* The policies checked, and the gap: the longest episode time of the sides
 * that run + 500 ms, so that each load is an episode of its own. */
static int default_gap(struct wfl_opts *o)
{
	struct wfg_compiled_policy *cp = malloc(sizeof(*cp));
	uint64_t idle = 0;
	int i, rc = 0;

	if (!cp)
		return -ENOMEM;
	for (i = 0; !rc && i < (o->tr->client_defended ? 2 : 1); i++) {
		/* the server's first: a policy of the wrong mode says so, not "no client's" */
		if (i)
			rc = default_client_policy(o);
		if (!rc)
			rc = load_policy(o, i ? o->client_policy : o->policy,
					 i ? WFG_ROLE_CLIENT : WFG_ROLE_SERVER, cp);
		if (!rc && cp->dp.side.episode_idle_ns > idle)
			idle = cp->dp.side.episode_idle_ns;
		if (!rc && cp->peer.episode_idle_ns > idle)
			idle = cp->peer.episode_idle_ns;
	}
	if (!o->gap_ns)
		o->gap_ns = (idle ? idle : 1000000000ULL) + 500000000ULL;
	free(cp);
	return rc;
}

static int default_wfguard(struct wfl_opts *o)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	char *slash;

	if (o->wfguard)
		return access(o->wfguard, X_OK) ? -errno : 0;
	if (n <= 0)
		return -ENOENT;
	path[n] = 0;
	slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "wfguard");
	o->wfguard = path;
	return access(path, X_OK) ? -errno : 0;
}

static int check_tools(const struct cmd *c, const struct wfl_transport *tr)
{
	char *argv[] = { "sh", "-c", NULL, NULL }, line[128];
	size_t i;

	if (geteuid())
		return wfb_bad_usage(c, "%s", "needs root (namespaces, a tunnel, a capture)");
	for (i = 0; tr->tools[i]; i++) {
		snprintf(line, sizeof(line), "command -v %s", tr->tools[i]);
		argv[2] = line;
		if (wfl_run(NULL, argv, NULL, NULL, NULL))
			return wfb_bad_usage(c, "%s is missing (scripts/deps.sh installs it)",
					     tr->tools[i]);
	}
	return access("/dev/net/tun", R_OK | W_OK) ? wfb_bad_usage(c, "%s", "no /dev/net/tun") : 0;
}

static int prepare_out(const struct wfl_opts *o, char *err, size_t errlen)
{
	struct stat st;

	if (!stat(o->out, &st)) {
		char *rm[] = { "rm", "-rf", "--", (char *)o->out, NULL };
		char probe[4200];

		/* a run's directory, whole or interrupted: it has the first phase's */
		snprintf(probe, sizeof(probe), "%s/undefended-run", o->out);
		if (!o->force)
			return wfg_err(err, errlen, EEXIST, "%s exists (--force replaces it)",
				       o->out);
		if (access(probe, F_OK) && rmdir(o->out))
			return wfg_err(err, errlen, EEXIST,
				       "%s: not a live run's directory, left alone", o->out);
		if (!access(o->out, F_OK) && wfl_run(NULL, rm, NULL, NULL, NULL))
			return wfg_err(err, errlen, EIO, "%s: cannot remove", o->out);
	}
	if (mkdir(o->out, 0755))
		return wfg_err(err, errlen, errno, "%s: %s", o->out, strerror(errno));
	return 0;
}

int wfl_cmd_live(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sites", required_argument, NULL, 's' },
		{ "loads", required_argument, NULL, 'l' },
		{ "policy", required_argument, NULL, 'p' },
		{ "transport", required_argument, NULL, 't' },
		{ "client-policy", required_argument, NULL, 'P' },
		{ "connections", required_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 'S' },
		{ "time-scale", required_argument, NULL, 'T' },
		{ "gap", required_argument, NULL, 'G' },
		{ "attacks", required_argument, NULL, 'a' },
		{ "folds", required_argument, NULL, 'k' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "wfguard", required_argument, NULL, 'W' },
		{ "sequential", no_argument, NULL, 'Q' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *c = wfb_find_cmd("live");
	struct wfl_opts o = {
		.seed = 1, .time_scale = 4, .attacks = "knn,cumul,kfp", .conns = WFL_CONNS_N
	};
	static struct wfl_phase ph[WFL_PHASES];
	char err[512] = "";
	int opt, rc, i;

	o.tr = wfl_transport_find("wireguard");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:l:p:t:o:S:a:k:j:h", lo, NULL)) != -1) {
		if (opt == 'h') {
			c->usage(stdout);
			return 0;
		}
		if ((rc = live_opt(c, opt, &o)))
			return rc;
	}
	if (optind != argc)
		return wfb_bad_usage(c, "unexpected argument '%s'", argv[optind]);
	if (!o.sites || !o.loads || !o.policy || !o.out)
		return wfb_bad_usage(c, "%s", "--sites, --loads, --policy and -o are required");
	if (!o.folds)
		o.folds = o.loads < 10 ? o.loads : 10;
	if (o.folds > o.loads)
		return wfb_bad_usage(c, "%s",
				     "--folds: at most --loads (each fold needs every site)");
	if (o.conns == WFL_CONNS_N)
		o.conns = o.tr->conns;
	if (o.tr->refused[o.conns]) {
		snprintf(err, sizeof(err), "--connections %s: not possible over %s: %s",
			 wfl_conns_name[o.conns], o.tr->name, o.tr->refused[o.conns]);
		return wfb_bad_usage(c, "%s", err);
	}
	if (o.client_policy && !o.tr->client_defended)
		return wfb_bad_usage(c,
				     "--client-policy: the %s transport's client runs no "
				     "wfguard",
				     o.tr->name);
	if ((rc = check_tools(c, o.tr)))
		return rc;
	if ((rc = default_wfguard(&o)))
		return wfb_fail("live", rc, "wfguard not found beside wfbench (--wfguard PATH)");
	if ((rc = default_gap(&o)))
		return EXIT_BAD;
	rc = prepare_out(&o, err, sizeof(err));
	for (i = 0; !rc && i < WFL_PHASES; i++)
		rc = phase_init(&o, &ph[i], i, err, sizeof(err));
	if (rc)
		return wfb_fail("live", rc, err);
	wfl_catch_signals();
	printf("live: %u sites x %u loads over %s (a connection per %s), policy %s, time scale "
	       "%g, gap %llu ms\n",
	       o.sites, o.loads, o.tr->name, wfl_conns_name[o.conns], o.policy, o.time_scale,
	       (unsigned long long)(o.gap_ns / 1000000));
	fflush(stdout);
	rc = run_phases(&o, ph, err, sizeof(err));
	if (rc == -EINTR) {
		fprintf(stderr,
			"wfbench live: interrupted; its namespaces and processes are gone, "
			"what it captured is in %s\n",
			o.out);
		return 130;
	}
	if (rc)
		return wfb_fail("live", rc, err);
	return wfl_report(&o, ph);
}
