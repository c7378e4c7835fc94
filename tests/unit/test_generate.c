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
