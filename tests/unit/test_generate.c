// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The synthetic world: determinism, valid traces, sites that resemble themselves. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "generate.h"
#include "policy.h"
#include "presets.h"
#include "replay.h"

#define WFB_TMP_TEMPLATE "/tmp/wfb-gen-XXXXXX"
#include "tmpdir.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Number of files of a that differ from (or are missing in) b; -1 if a has no files. */
static int diff_dirs(const char *a, const char *b)
{
	DIR *d = opendir(a);
	struct dirent *de;
	int files = 0, differ = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		char pa[512], pb[512];
		size_t la, lb;
		char *x, *y;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(pa, sizeof(pa), "%s/%s", a, de->d_name);
		snprintf(pb, sizeof(pb), "%s/%s", b, de->d_name);
		files++;
		f = fopen(pb, "rb");
		if (!f) {
			differ++;
			continue;
		}
		fclose(f);
		x = slurp(pa, &la);
		y = slurp(pb, &lb);
		differ += la != lb || memcmp(x, y, la);
		free(x);
		free(y);
	}
	closedir(d);
	return files ? differ : -1;
}

static void generate(const char *dir, unsigned sites, unsigned inst, unsigned unmon, uint64_t seed)
{
	struct wfb_gen_opts o = {
		.sites = sites, .instances = inst, .unmonitored = unmon, .seed = seed
	};
	char err[256];

	cr_assert_eq(wfb_generate(&o, dir, false, err, sizeof(err)), 0, "%s", err);
}

Test(generate, same_seed_same_bytes_other_seed_differs, .init = make_tmpdir, .fini = rm_tmpdir)
{
	struct wfb_dataset ds;
	char err[256];

	generate(tmp_path("a"), 3, 4, 2, 42);
	generate(tmp_path("b"), 3, 4, 2, 42);
	generate(tmp_path("c"), 3, 4, 2, 43);
	cr_assert_eq(diff_dirs(tmp_path("a"), tmp_path("b")), 0);
	cr_assert_eq(diff_dirs(tmp_path("b"), tmp_path("a")), 0);
	/* every trace of another seed differs, and the manifest (packet counts, source) */
	cr_assert_eq(diff_dirs(tmp_path("a"), tmp_path("c")), 3 * 4 + 2 + 1);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("a"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.sites, 3);
	cr_assert_eq(ds.instances, 4);
	cr_assert_eq(ds.unmonitored, 2);
	cr_assert_str_eq(ds.source, "generate --sites 3 --instances 4 --unmonitored 2 --seed 42");
	wfb_dataset_close(&ds);
}

/* A trace depends on (seed, site, instance) only, not on the size of the world. */
Test(generate, traces_do_not_depend_on_world_size)
{
	struct wfb_gen_opts small = { .sites = 3, .instances = 3, .seed = 7 };
	struct wfb_gen_opts big = { .sites = 50, .instances = 20, .unmonitored = 9, .seed = 7 };
	struct wfb_trace a, b;

	wfb_trace_init(&a);
	wfb_trace_init(&b);
	cr_assert_eq(wfb_gen_trace(&small, 2, 1, &a), 0);
	cr_assert_eq(wfb_gen_trace(&big, 2, 1, &b), 0);
	cr_assert(wfb_trace_equal(&a, &b));
	cr_assert_eq(wfb_gen_trace(&small, WFB_UNMON, 1, &a), 0);
	cr_assert_eq(wfb_gen_trace(&big, WFB_UNMON, 1, &b), 0);
	cr_assert(wfb_trace_equal(&a, &b));
	cr_assert_eq(wfb_gen_trace(&big, 1, 1, &b), 0);
	cr_assert_not(wfb_trace_equal(&a, &b));
	wfb_trace_free(&a);
	wfb_trace_free(&b);
}

/* Every trace: starts at 0 with the client, times in order, datagrams of 1..MTU bytes. */
Test(generate, traces_are_valid_page_loads)
{
	struct wfb_gen_opts o = { .sites = 30, .instances = 3, .seed = 1 };
	struct wfb_trace t;
	char err[128];
	unsigned s, i;

	wfb_trace_init(&t);
	for (s = 0; s < o.sites; s++) {
		for (i = 0; i < o.instances; i++) {
			struct wfb_trace_stats st;
			size_t k;

			cr_assert_eq(wfb_gen_trace(&o, (int)s, i, &t), 0);
			cr_assert_eq(wfb_trace_check(&t, err, sizeof(err)), 0, "%s", err);
			cr_assert_eq(t.pkts[0].time_ns, 0);
			cr_assert_eq(t.pkts[0].dir, WFB_OUT);
			for (k = 0; k < t.n; k++) {
				cr_assert(t.pkts[k].size >= 1 && t.pkts[k].size <= WFB_GEN_MTU);
				cr_assert_eq(t.pkts[k].kind, WFB_REAL);
			}
			wfb_trace_stats(&t, &st);
			cr_assert_gt(st.packets[0], 3);
			cr_assert_gt(st.packets[1], 3);
			cr_assert_gt(st.bytes[1], st.bytes[0], "site %u: more up than down", s);
			cr_assert_lt(st.duration_ns, 120000000000ULL);
		}
	}
	wfb_trace_free(&t);
}

struct feat {
	double in, out, nin, nout; /* log bytes and packets per direction */
};

static struct feat features(const struct wfb_trace *t)
{
	struct wfb_trace_stats st;
	struct feat f;

	wfb_trace_stats(t, &st);
	f.in = log((double)st.bytes[1] + 1);
	f.out = log((double)st.bytes[0] + 1);
	f.nin = log((double)st.packets[1] + 1);
	f.nout = log((double)st.packets[0] + 1);
	return f;
}

static double dist(const struct feat *a, const struct feat *b)
{
	return sqrt((a->in - b->in) * (a->in - b->in) + (a->out - b->out) * (a->out - b->out) +
		    (a->nin - b->nin) * (a->nin - b->nin) +
		    (a->nout - b->nout) * (a->nout - b->nout));
}

/*
 * Instances of a site resemble each other more than other sites' (the model
 * has a fingerprint), but not identically (instances vary): mean distances
 * within and across sites, and a nearest-neighbour guess on four totals.
 */
Test(generate, sites_resemble_themselves_more_than_others)
{
	enum { S = 20, I = 8, N = S * I };
	struct wfb_gen_opts o = { .sites = S, .instances = I, .seed = 2024 };
	static struct feat f[N];
	double intra = 0, inter = 0;
	size_t a, b, nintra = 0, ninter = 0, hits = 0, identical = 0;
	struct wfb_trace t;

	wfb_trace_init(&t);
	for (a = 0; a < N; a++) {
		cr_assert_eq(wfb_gen_trace(&o, (int)(a / I), (unsigned)(a % I), &t), 0);
		f[a] = features(&t);
	}
	wfb_trace_free(&t);
	for (a = 0; a < N; a++) {
		double best = INFINITY;
		size_t nn = 0;

		for (b = 0; b < N; b++) {
			double d = dist(&f[a], &f[b]);

			if (a == b)
				continue;
			if (a / I == b / I) {
				intra += d;
				nintra++;
				identical += d == 0;
			} else {
				inter += d;
				ninter++;
			}
			if (d < best) {
				best = d;
				nn = b;
			}
		}
		hits += nn / I == a / I;
	}
	intra /= (double)nintra;
	inter /= (double)ninter;
	cr_log_info("mean distance within sites %.3f, across sites %.3f; 1-NN %zu/%d", intra, inter,
		    hits, N);
	cr_assert_lt(intra, inter / 3, "within %.3f across %.3f", intra, inter);
	cr_assert_gt(hits, N / 2, "1-NN on totals: %zu of %d", hits, N);
	cr_assert_lt(hits, N, "instances should not be trivially separable");
	cr_assert_eq(identical, 0);
}

Test(generate, bad_options_and_existing_output, .init = make_tmpdir, .fini = rm_tmpdir)
{
	struct wfb_gen_opts o = { .sites = 0, .instances = 2, .seed = 1 };
	char err[256];

	cr_assert_eq(wfb_generate(&o, tmp_path("a"), false, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "generate: --sites and --instances must be > 0");
	o.sites = 1;
	cr_assert_eq(wfb_generate(&o, tmp_path("a"), false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfb_generate(&o, tmp_path("a"), false, err, sizeof(err)), -EEXIST);
	o.seed = 2;
	cr_assert_eq(wfb_generate(&o, tmp_path("a"), true, err, sizeof(err)), 0, "%s", err);
}

/* ------------------------------------------------------------ sessions */

#define SEC 1000000000ULL

/* Both sides of Padmé, with a policy's default episode time (3 s). */
static void episode_sides(struct wfg_side_cfg sides[2])
{
	char err[256];

	cr_assert_eq(wfg_preset_sides("padme", sides, err, sizeof(err)), 0, "%s", err);
	sides[0].episode_idle_ns = sides[1].episode_idle_ns =
		WFG_EPISODE_IDLE_DEFAULT_MS * 1000000ULL;
}

/* The longest silence between two packets of t[from, to). */
static uint64_t max_gap(const struct wfb_trace *t, size_t from, size_t to)
{
	uint64_t g = 0;
	size_t i;

	for (i = from + 1; i < to; i++)
		if (t->pkts[i].time_ns - t->pkts[i - 1].time_ns > g)
			g = t->pkts[i].time_ns - t->pkts[i - 1].time_ns;
	return g;
}

static struct wfb_overhead replay_once(const struct wfb_trace *t)
{
	static struct wfg_side_cfg sides[2];
	struct wfb_replay_opts o = { .delay_ns = 20000000, .unknown_size = 514, .seed = 1 };
	struct wfb_overhead ov;
	struct wfb_trace out;

	episode_sides(sides);
	wfb_trace_init(&out);
	cr_assert_eq(wfb_replay(&sides[0], &sides[1], t, &o, &out, &ov), 0);
	wfb_trace_free(&out);
	return ov;
}

/* A session of 4 loads, gaps 5-30 s (the default): the loads are the world's
 * pages laid end to end, and the replay begins one episode per load on each
 * side (the core decides by idle time alone). */
Test(generate, session_replays_one_episode_per_load)
{
	struct wfb_gen_opts o = { .sites = 5, .instances = 2, .seed = 11, .session = 4 };
	struct wfb_load loads[4];
	struct wfb_trace t, one;
	struct wfb_overhead ov;
	size_t at = 0;
	char err[256];
	int k;

	wfb_trace_init(&t);
	wfb_trace_init(&one);
	cr_assert_eq(wfb_gen_session(&o, 2, 1, &t, loads), 0);
	cr_assert_eq(wfb_trace_check(&t, err, sizeof(err)), 0, "%s", err);
	cr_assert(loads[0].site == 2 && loads[0].instance == 1 && loads[0].first_ns == 0);
	for (k = 0; k < 4; k++) {
		one.n = 0;
		cr_assert_eq(wfb_gen_trace(&o, loads[k].site, loads[k].instance, &one), 0);
		cr_assert_eq(t.pkts[at].time_ns, loads[k].first_ns, "load %d starts its packets",
			     k);
		cr_assert_eq(t.pkts[at + one.n - 1].time_ns, loads[k].last_ns);
		cr_assert_lt(max_gap(&t, at, at + one.n), 3 * SEC, "load %d pauses for 3 s", k);
		if (k) {
			uint64_t gap = loads[k].first_ns - loads[k - 1].last_ns;

			cr_assert(gap >= 5 * SEC && gap <= 30 * SEC, "gap %d: %llu ns", k,
				  (unsigned long long)gap);
		}
		at += one.n;
	}
	cr_assert_eq(at, t.n, "the session is its loads and nothing else");
	ov = replay_once(&t);
	cr_assert_eq(ov.episodes[0], 4, "client: %llu episodes for 4 loads",
		     (unsigned long long)ov.episodes[0]);
	cr_assert_eq(ov.episodes[1], 4, "server: %llu episodes for 4 loads",
		     (unsigned long long)ov.episodes[1]);
	wfb_trace_free(&t);
	wfb_trace_free(&one);
}

/* A dataset trace (one page load, its pauses under the episode time) stays one
 * episode, and so does a session whose gaps are shorter than the episode time. */
Test(generate, short_gaps_stay_one_episode)
{
	struct wfb_gen_opts o = { .sites = 6, .instances = 1, .seed = 4 };
	struct wfb_load loads[5];
	struct wfb_trace t;
	struct wfb_overhead ov;
	int site;

	wfb_trace_init(&t);
	for (site = 0; site < 6; site++) {
		t.n = 0;
		cr_assert_eq(wfb_gen_trace(&o, site, 0, &t), 0);
		cr_assert_lt(max_gap(&t, 0, t.n), 3 * SEC);
		ov = replay_once(&t);
		cr_assert(ov.episodes[0] == 1 && ov.episodes[1] == 1, "site %d: %llu/%llu episodes",
			  site, (unsigned long long)ov.episodes[0],
			  (unsigned long long)ov.episodes[1]);
	}
	o.session = 5;
	o.gap_min_s = 0.5;
	o.gap_max_s = 1.5;
	cr_assert_eq(wfb_gen_session(&o, 1, 0, &t, loads), 0);
	ov = replay_once(&t);
	cr_assert_eq(ov.episodes[0], 1, "gaps under idle: %llu episodes",
		     (unsigned long long)ov.episodes[0]);
	wfb_trace_free(&t);
}

/* `generate --session` writes a dataset like any other plus DIR/loads, one
 * line per load, and the same bytes for the same seed. */
Test(generate, session_dataset_lists_its_loads)
{
	struct wfb_gen_opts o = { .sites = 2, .instances = 2, .seed = 9, .session = 3 };
	struct wfb_dataset ds;
	char err[256], line[256], name[64], page[64];
	unsigned long long first, last;
	unsigned load, lines = 0;
	FILE *f;

	make_tmpdir();
	cr_assert_eq(wfb_generate(&o, tmp_path("s"), false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("s"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.n, 4);
	wfb_dataset_close(&ds);
	f = fopen(tmp_path("s/loads"), "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		cr_assert_eq(
			sscanf(line, "%63s %u %63s %llu %llu", name, &load, page, &first, &last), 5,
			"bad line '%s'", line);
		cr_assert_eq(load, lines % 3);
		cr_assert_leq(first, last);
		lines++;
	}
	fclose(f);
	cr_assert_eq(lines, 4 * 3);
	rm_tmpdir();
}
