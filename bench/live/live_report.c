// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench live, after the run (live.h): each phase's capture cut into its
 * page loads by the schedule and written as datasets, the simulator's
 * replay of the undefended capture through the policy, the attacks on all
 * three, and the report (OUT/report.txt, OUT/report.json) with the checks
 * a test asserts. Definitions: docs/live-evaluation.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attacks.h"
#include "cli.h"
#include "dataset.h"
#include "defend.h"
#include "sim.h"
#include "err.h"
#include "eval.h"
#include "live.h"
#include "policy.h"
#include "presets.h"
#include "split.h"

#define MAX_ATTACKS  8
#define GAP_MIN_PKTS 8 /* a piece between gaps with fewer is no page load (keepalives) */

enum { DS_UNDEF, DS_DEF, DS_SIM, DS_N };
static const char *const ds_name[DS_N] = { "undefended", "defended", "simulated" };

/* What a phase's capture holds, per load and in all. */
struct phase_sum {
	uint64_t *bytes, *covers; /* per load: bytes in its window, covers the client dropped */
	size_t *packets;
	uint64_t bytes_total, load_ns_total;
	size_t empty, failed, resources, covered, by_gap, gap_dropped, inversions;
	uint64_t mismatched, body_bytes;
};

struct report {
	const struct wfl_opts *o;
	struct wfl_phase *ph;
	struct phase_sum sum[WFL_PHASES];
	const struct wfa_attack *att[MAX_ATTACKS];
	unsigned natt;
	struct wfe_ci acc[DS_N][MAX_ATTACKS];
	bool have[DS_N][MAX_ATTACKS];
	double bw[DS_N], lat[DS_N];
	struct wfb_overhead sim;
	size_t sim_conns; /* client connections the simulator replayed, each a flow */
	uint64_t sim_delay_ns;
	char path[DS_N][4200], inner[4200];
};

static int simulate(struct report *R, const struct wfl_capture *cap, char *err, size_t errlen);

static uint64_t window_end(const struct wfl_shared *sh, size_t k)
{
	return k + 1 < sh->n ? sh->load[k + 1].r.start_ns : sh->end_ns;
}

static void write_loads(const struct wfl_phase *ph, const struct phase_sum *s)
{
	char path[4200];
	FILE *f;
	size_t k;

	snprintf(path, sizeof(path), "%s/loads", ph->dir);
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "# wfbench live loads (docs/live-evaluation.md)\n"
		   "# LOAD SITE-INSTANCE START_NS END_NS RESOURCES FAILED BODY_BYTES MISMATCHED "
		   "CONNECTIONS RC PACKETS BYTES COVERS_DROPPED\n");
	for (k = 0; k < ph->sh->n; k++) {
		const struct wfl_load *l = &ph->sh->load[k];

		fprintf(f,
			"%zu %d-%u %" PRIu64 " %" PRIu64 " %u %u %" PRIu64 " %" PRIu64
			" %u %d %zu %" PRIu64 " %" PRIu64 "\n",
			k, l->site, l->instance, l->r.start_ns, l->r.end_ns, l->r.resources,
			l->r.failed, l->r.bytes, l->r.mismatched, l->r.connections, l->rc,
			s->packets[k], s->bytes[k], s->covers[k]);
	}
	fclose(f);
}

/* Page loads the idle gaps alone find, from the first scheduled load on (the
 * warm-up before it is not one of them). */
static size_t loads_by_gap(const struct wfl_capture *cap, const struct wfl_shared *sh,
			   uint64_t gap_ns, size_t *dropped)
{
	struct wfl_capture from = *cap;

	while (from.n && from.p->time_ns < sh->load[0].r.start_ns) {
		from.p++;
		from.n--;
	}
	return wfl_split_gaps(&from, gap_ns, GAP_MIN_PKTS, NULL, NULL, 0, dropped);
}

/* The phase's capture into OUT/NAME (and, undefended over WireGuard,
 * OUT/undefended-inner too). */
static int phase_datasets(struct report *R, int which, char *err, size_t errlen)
{
	struct wfl_phase *ph = &R->ph[which];
	struct wfl_shared *sh = ph->sh;
	struct phase_sum *s = &R->sum[which];
	struct wfb_writer *w[2] = { NULL, NULL };
	/* the inner view only where there is a tunnel to look into */
	int nviews = which == WFL_UNDEFENDED && R->o->tr->sim_view == WFL_WG_INNER ? 2 : 1, v, rc;
	struct wfl_capture cap;
	struct wfb_trace t;
	char pcap[4200];
	size_t k;

	snprintf(pcap, sizeof(pcap), "%s/capture.pcap", ph->dir);
	rc = wfl_capture_read(pcap, &ph->topo.client, &cap, err, errlen);
	if (rc)
		return rc;
	s->inversions = cap.inversions;
	s->bytes = calloc(sh->n, sizeof(*s->bytes));
	s->covers = calloc(sh->n, sizeof(*s->covers));
	s->packets = calloc(sh->n, sizeof(*s->packets));
	if (!s->bytes || !s->covers || !s->packets)
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	for (v = 0; !rc && v < nviews; v++)
		rc = wfb_writer_open(&w[v], v ? R->inner : R->path[which], true, err, errlen);
	wfb_trace_init(&t);
	for (k = 0; !rc && k < sh->n; k++) {
		const struct wfl_load *l = &sh->load[k];
		size_t i;

		s->failed += l->rc != 0;
		s->resources += l->r.resources;
		s->mismatched += l->r.mismatched;
		s->body_bytes += l->r.bytes;
		s->load_ns_total += l->r.end_ns - l->r.start_ns;
		s->covers[k] =
			(k + 1 < sh->n ? sh->load[k + 1].hdrerr : sh->end_hdrerr) - l->hdrerr;
		s->covered += s->covers[k] > 0;
		for (v = 0; !rc && v < nviews; v++) {
			rc = wfl_capture_window(&cap, l->r.start_ns, window_end(sh, k),
						v ? WFL_WG_INNER : WFL_WIRE, &t, NULL, NULL);
			if (rc) {
				rc = wfg_err(err, errlen, ENOMEM, "out of memory");
				break;
			}
			if (!v) {
				s->packets[k] = t.n;
				for (i = 0; i < t.n; i++)
					s->bytes[k] += t.pkts[i].size;
				s->bytes_total += s->bytes[k];
			}
			if (!t.n) {
				s->empty += !v;
				rc = wfg_err(
					err, errlen, ENODATA,
					"%s: load %zu (site %d): nothing captured in its window",
					ph->name, k, l->site);
				break;
			}
			rc = wfb_writer_add(w[v], l->site, l->instance, "-", &t, err, errlen);
		}
	}
	wfb_trace_free(&t);
	if (!rc)
		s->by_gap = loads_by_gap(&cap, sh, R->o->gap_ns / 2, &s->gap_dropped);
	for (v = 0; v < nviews; v++) {
		char src[256];

		snprintf(src, sizeof(src), "live %s capture, %s view, %s", ph->name,
			 v ? "WireGuard inner" : "wire", R->o->tr->name);
		if (!rc)
			rc = wfb_writer_commit(w[v], src, err, errlen);
		else if (w[v])
			wfb_writer_abort(w[v]);
	}
	if (!rc && which == WFL_UNDEFENDED)
		rc = simulate(R, &cap, err, errlen);
	write_loads(ph, s);
	wfl_capture_free(&cap);
	return rc;
}

/* The packets of in (times relative to its start) in [from, to), times from
 * from; the time of the last real one (from from) into *last. */
static int trace_window(const struct wfb_trace *in, uint64_t from, uint64_t to,
			struct wfb_trace *out, uint64_t *last)
{
	size_t i;

	out->n = 0;
	*last = 0;
	for (i = 0; i < in->n; i++) {
		const struct wfb_pkt *p = &in->pkts[i];

		if (p->time_ns < from || p->time_ns >= to)
			continue;
		if (p->kind == WFB_REAL)
			*last = p->time_ns - from;
		if (wfb_trace_push(out, p->time_ns - from, p->dir, p->size, (enum wfb_kind)p->kind))
			return -ENOMEM;
	}
	return 0;
}

/*
 * The sides the live run defends, fitted as attach fits them: the server's
 * side of the policy, and the client's side of the client's policy where the
 * transport runs one (shim mode), else a stock client.
 */
static int sim_sides(struct report *R, struct wfg_side_cfg sides[2], struct wfb_replay_opts *ro,
		     char *err, size_t errlen)
{
	static struct wfg_compiled_policy cp, ccp;

	if (wfg_policy_load_report(R->o->policy, &cp, stderr))
		return wfg_err(err, errlen, EINVAL, "%s: does not compile", R->o->policy);
	/* A stock client (WireGuard): nothing defends its side. */
	if (wfg_preset_sides("none", sides, err, errlen))
		return -EINVAL;
	if (R->o->tr->client_defended) {
		if (wfg_policy_load_report(R->o->client_policy, &ccp, stderr))
			return wfg_err(err, errlen, EINVAL, "%s: does not compile",
				       R->o->client_policy);
		sides[0] = *wfg_policy_side(&ccp, WFG_ROLE_CLIENT);
	}
	/* Two policies' pools would need a draw of each side's own size: not done
	 * yet; refused rather than simulated as their entry 0 alone. */
	if (cp.pool_n || (R->o->tr->client_defended && ccp.pool_n))
		return wfg_err(err, errlen, EOPNOTSUPP,
			       "%s: a pool of defences: the live run's simulated prediction does "
			       "not replay pools yet (wfbench defend and evaluate do)",
			       cp.pool_n ? R->o->policy : R->o->client_policy);
	sides[1] = *wfg_policy_side(&cp, WFG_ROLE_SERVER);
	wfb_defend_fit(&cp.dp, sides, 0, ro);
	return 0;
}

/*
 * The simulator's prediction: the undefended phase's packets in the view the
 * defence sees (the transport's: WireGuard's inner packets, or the UDP
 * payloads in shim mode), the session from the first load on, each of the
 * client's connections as its own flow (the core begins its episodes where a
 * flow's real packets pause, as the data path does), replayed through the
 * policy and cut by the same windows into OUT/simulated.
 */
static int simulate(struct report *R, const struct wfl_capture *cap, char *err, size_t errlen)
{
	const struct wfl_shared *sh = R->ph[WFL_UNDEFENDED].sh;
	struct wfb_replay_opts ro = { .seed = R->o->seed, .unknown_size = 514 };
	struct wfg_side_cfg sides[2];
	struct wfb_trace in, out, w;
	struct wfb_writer *wr = NULL;
	uint64_t base = 0, lat_orig = 0, lat_def = 0;
	uint16_t *cport;
	size_t k;
	int rc;

	rc = sim_sides(R, sides, &ro, err, errlen);
	if (rc)
		return rc;
	/* the one-way delay of the live path: half the warm-up's round trip */
	R->sim_delay_ns = sh->warm_ns / 2;
	ro.delay_ns = R->sim_delay_ns;
	wfb_trace_init(&in);
	wfb_trace_init(&out);
	wfb_trace_init(&w);
	cport = calloc(cap->n ? cap->n : 1, sizeof(*cport));
	rc = cport ? wfl_capture_window(cap, sh->load[0].r.start_ns, sh->end_ns, R->o->tr->sim_view,
					&in, &base, cport)
		   : -ENOMEM;
	if (!rc)
		rc = wfl_sim_connections(sides, &in, cport, &ro, &out, &R->sim, &R->sim_conns);
	free(cport);
	if (rc)
		rc = wfg_err(err, errlen, -rc, "simulator: replay: %s", strerror(-rc));
	if (!rc)
		rc = wfb_writer_open(&wr, R->path[DS_SIM], true, err, errlen);
	for (k = 0; !rc && k < sh->n; k++) {
		uint64_t from = sh->load[k].r.start_ns, to = window_end(sh, k), lo, ld;

		from = from > base ? from - base : 0;
		to = to > base ? to - base : 0;
		rc = trace_window(&in, from, to, &w, &lo);
		if (!rc)
			rc = trace_window(&out, from, to, &w, &ld);
		if (rc) {
			rc = wfg_err(err, errlen, ENOMEM, "out of memory");
			break;
		}
		lat_orig += lo;
		lat_def += ld;
		rc = w.n ? wfb_writer_add(wr, sh->load[k].site, sh->load[k].instance, "-", &w, err,
					  errlen)
			 : wfg_err(err, errlen, ENODATA,
				   "simulator: load %zu: nothing in its window", k);
	}
	if (!rc)
		rc = wfb_writer_commit(wr,
				       "live: the undefended session replayed through the policy",
				       err, errlen);
	else if (wr)
		wfb_writer_abort(wr);
	R->lat[DS_SIM] = lat_orig ? (double)lat_def / (double)lat_orig - 1 : 0;
	wfb_trace_free(&in);
	wfb_trace_free(&out);
	wfb_trace_free(&w);
	return rc;
}

static int attack(struct report *R, int ds, unsigned a, char *err, size_t errlen)
{
	struct wfe_cv_opts cv = {
		.folds = R->o->folds, .seed = R->o->seed, .threads = R->o->jobs, .r = 10
	};
	struct wfe_result res;
	struct wfe_data d;
	unsigned *fold;
	int rc;

	fprintf(stderr, "live: %s / %s ...\n", ds_name[ds], R->att[a]->name);
	rc = wfe_load_features(R->path[ds], R->att[a], false, cv.threads, &d, err, errlen);
	if (rc)
		return rc;
	fold = calloc(d.n, sizeof(*fold));
	rc = fold ? wfe_folds(d.y, d.n, cv.folds, cv.seed, fold, err, errlen)
		  : wfg_err(err, errlen, ENOMEM, "out of memory");
	if (!rc)
		rc = wfe_cv(R->att[a], &d, fold, &cv, &res, err, errlen);
	if (!rc) {
		R->acc[ds][a] = res.acc_ci;
		R->have[ds][a] = true;
		wfe_result_free(&res);
	}
	free(fold);
	wfe_data_free(&d);
	return rc;
}

static int parse_attacks(struct report *R, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", R->o->attacks);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct wfa_attack *a = wfa_find(tok);

		if (!a)
			return wfg_err(err, errlen, EINVAL, "--attacks: unknown attack '%s'", tok);
		if (R->natt == MAX_ATTACKS)
			return wfg_err(err, errlen, EINVAL, "--attacks: at most %d", MAX_ATTACKS);
		R->att[R->natt++] = a;
	}
	return R->natt ? 0 : wfg_err(err, errlen, EINVAL, "--attacks: none named");
}

static double ratio_minus_1(double a, double b)
{
	return b > 0 ? a / b - 1 : 0;
}

/* ---------------------------------------------------------------- output */

static void print_acc(FILE *f, const struct report *R, int ds, unsigned a)
{
	if (R->have[ds][a])
		fprintf(f, "  %6.3f ± %.3f", R->acc[ds][a].mean, R->acc[ds][a].half);
	else
		fprintf(f, "  %14s", "-");
}

static void print_text(FILE *f, const struct report *R)
{
	const struct wfl_opts *o = R->o;
	const struct phase_sum *u = &R->sum[WFL_UNDEFENDED], *d = &R->sum[WFL_DEFENDED];
	size_t n = R->ph[0].sh->n;
	unsigned a;

	fprintf(f, "live evaluation: %u sites x %u loads over %s (a connection per %s), policy %s",
		o->sites, o->loads, o->tr->name, wfl_conns_name[o->conns], o->policy);
	if (o->tr->client_defended)
		fprintf(f, " (client: %s)", o->client_policy);
	fputc('\n', f);
	fprintf(f,
		"seed %" PRIu64 ", time scale %g, gap %" PRIu64
		" ms, %u folds; simulator delay %.2f ms\n\n",
		o->seed, o->time_scale, o->gap_ns / 1000000, o->folds,
		(double)R->sim_delay_ns / 1e6);
	fprintf(f, "%-20s  %14s  %14s  %14s\n", "accuracy", "undefended", "defended live",
		"simulated");
	for (a = 0; a < R->natt; a++) {
		fprintf(f, "%-20s", R->att[a]->name);
		print_acc(f, R, DS_UNDEF, a);
		print_acc(f, R, DS_DEF, a);
		print_acc(f, R, DS_SIM, a);
		fputc('\n', f);
	}
	fprintf(f, "%-20s  %14s  %13.1f%%  %13.1f%%\n", "bandwidth overhead", "-",
		100 * R->bw[DS_DEF], 100 * R->bw[DS_SIM]);
	fprintf(f, "%-20s  %14s  %13.1f%%  %13.1f%%\n\n", "latency overhead", "-",
		100 * R->lat[DS_DEF], 100 * R->lat[DS_SIM]);
	fprintf(f, "accuracy: closed world, %u-fold stratified CV, mean ± 95%% CI\n", o->folds);
	fprintf(f,
		"bandwidth: live = bytes the observer saw in the defended loads' windows / in the\n"
		"  undefended ones - 1 (UDP payloads); simulated = the replay's defended / "
		"original\n"
		"  bytes - 1 over the undefended session (%s), each of the client's\n"
		"  connections a flow of its own (%zu in the session)\n",
		o->tr->sizes, R->sim_conns);
	fprintf(f, "latency: live = sum of load times (first connect to last body byte, the\n"
		   "  client's clock) defended / undefended - 1; simulated = sum over the loads'\n"
		   "  windows of the time to the last real packet, defended / original - 1\n\n");
	fprintf(f,
		"checks: %zu loads per phase; fetch failures %zu/%zu; body bytes differing %" PRIu64
		"/%" PRIu64 "\n",
		n, u->failed, d->failed, u->mismatched + d->mismatched,
		u->body_bytes + d->body_bytes);
	fprintf(f,
		"  capture drops %" PRIu64 "/%" PRIu64
		"; empty windows %zu/%zu; loads found by idle gaps "
		"(undefended) %zu of %zu\n",
		R->ph[0].cap_dropped, R->ph[1].cap_dropped, u->empty, d->empty, u->by_gap, n);
	fprintf(f,
		"  defended loads whose covers the client's end dropped: %zu of %zu (undefended: "
		"%zu)\n",
		d->covered, n, u->covered);
}

static void json_ci(FILE *f, const struct report *R, int ds, unsigned a)
{
	if (R->have[ds][a])
		fprintf(f, "{\"mean\":%.6f,\"half\":%.6f,\"sd\":%.6f,\"folds\":%u}",
			R->acc[ds][a].mean, R->acc[ds][a].half, R->acc[ds][a].sd, R->acc[ds][a].n);
	else
		fputs("null", f);
}

static void json_phase(FILE *f, const struct report *R, int which)
{
	const struct phase_sum *s = &R->sum[which];
	const struct wfl_phase *ph = &R->ph[which];

	fprintf(f,
		"{\"loads\":%zu,\"failed_loads\":%zu,\"resources\":%zu,\"body_bytes\":%" PRIu64
		",\"mismatched_bytes\":%" PRIu64 ",\"captured_bytes\":%" PRIu64
		",\"load_ns_total\":%" PRIu64 ",\"capture_received\":%" PRIu64
		",\"capture_dropped\":%" PRIu64 ",\"empty_windows\":%zu,\"loads_by_gap\":%zu"
		",\"gap_pieces_dropped\":%zu,\"loads_with_covers_dropped\":%zu,\"rtt_ns\":%" PRIu64
		",\"capture_reordered\":%zu}",
		ph->sh->n, s->failed, s->resources, s->body_bytes, s->mismatched, s->bytes_total,
		s->load_ns_total, ph->cap_received, ph->cap_dropped, s->empty, s->by_gap,
		s->gap_dropped, s->covered, ph->sh->warm_ns, s->inversions);
}

static int write_json(const struct report *R, const char *path)
{
	const struct wfl_opts *o = R->o;
	FILE *f = fopen(path, "w");
	unsigned a;
	int ds;

	if (!f)
		return -errno;
	fprintf(f,
		"{\"sites\":%u,\"loads\":%u,\"transport\":\"%s\",\"connections\":\"%s\","
		"\"policy\":\"%s\",\"client_policy\":\"%s\",\"seed\":"
		"%" PRIu64 ",\"time_scale\":%g,\"gap_ms\":%" PRIu64
		",\"folds\":%u,\"sim_delay_ns\":%" PRIu64 ",\n\"accuracy\":{",
		o->sites, o->loads, o->tr->name, wfl_conns_name[o->conns], o->policy,
		o->client_policy ? o->client_policy : "", o->seed, o->time_scale,
		o->gap_ns / 1000000, o->folds, R->sim_delay_ns);
	for (a = 0; a < R->natt; a++) {
		fprintf(f, "%s\"%s\":{", a ? "," : "", R->att[a]->name);
		for (ds = 0; ds < DS_N; ds++) {
			fprintf(f, "%s\"%s\":", ds ? "," : "", ds_name[ds]);
			json_ci(f, R, ds, a);
		}
		fputc('}', f);
	}
	fprintf(f,
		"},\n\"overhead\":{\"defended\":{\"bandwidth\":%.6f,\"latency\":%.6f},"
		"\"simulated\":{\"bandwidth\":%.6f,\"latency\":%.6f,\"covers\":%" PRIu64
		",\"connections\":%zu}},\n",
		R->bw[DS_DEF], R->lat[DS_DEF], R->bw[DS_SIM], R->lat[DS_SIM],
		R->sim.covers[0] + R->sim.covers[1], R->sim_conns);
	fputs("\"undefended\":", f);
	json_phase(f, R, WFL_UNDEFENDED);
	fputs(",\n\"defended\":", f);
	json_phase(f, R, WFL_DEFENDED);
	fputs("}\n", f);
	return fclose(f) ? -EIO : 0;
}

static void sum_free(struct report *R)
{
	int i;

	for (i = 0; i < WFL_PHASES; i++) {
		free(R->sum[i].bytes);
		free(R->sum[i].covers);
		free(R->sum[i].packets);
	}
}

static int work(struct report *R, char *err, size_t errlen)
{
	unsigned a;
	int i, rc;

	rc = parse_attacks(R, err, errlen);
	for (i = 0; !rc && i < WFL_PHASES; i++)
		rc = phase_datasets(R, i, err, errlen);
	for (i = 0; !rc && i < DS_N; i++) {
		for (a = 0; !rc && a < R->natt; a++) {
			char aerr[512] = "";

			if (wfl_stop)
				rc = wfg_err(err, errlen, EINTR, "interrupted");
			else if (attack(R, i, a, aerr, sizeof(aerr))) /* the others still run */
				fprintf(stderr, "wfbench live: %s / %s: %s\n", ds_name[i],
					R->att[a]->name, aerr);
		}
	}
	R->bw[DS_DEF] = ratio_minus_1((double)R->sum[WFL_DEFENDED].bytes_total,
				      (double)R->sum[WFL_UNDEFENDED].bytes_total);
	R->lat[DS_DEF] = ratio_minus_1((double)R->sum[WFL_DEFENDED].load_ns_total,
				       (double)R->sum[WFL_UNDEFENDED].load_ns_total);
	R->bw[DS_SIM] = wfb_overhead_bandwidth(&R->sim);
	return rc;
}

int wfl_report(const struct wfl_opts *o, struct wfl_phase ph[WFL_PHASES])
{
	static struct report R;
	char err[512] = "", path[4200];
	FILE *f;
	int i, rc;

	memset(&R, 0, sizeof(R));
	R.o = o;
	R.ph = ph;
	for (i = 0; i < DS_N; i++)
		snprintf(R.path[i], sizeof(R.path[i]), "%s/%s", o->out, ds_name[i]);
	snprintf(R.inner, sizeof(R.inner), "%s/undefended-inner", o->out);
	rc = work(&R, err, sizeof(err));
	print_text(stdout, &R);
	snprintf(path, sizeof(path), "%s/report.txt", o->out);
	f = fopen(path, "w");
	if (f) {
		print_text(f, &R);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/report.json", o->out);
	if (write_json(&R, path) && !rc)
		rc = wfg_err(err, sizeof(err), EIO, "%s: cannot write", path);
	sum_free(&R);
	if (rc)
		return wfb_fail("live", rc, err);
	printf("report: %s/report.txt, %s/report.json\n", o->out, o->out);
	return 0;
}
