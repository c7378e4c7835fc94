// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real datasets are ragged: unequal instance counts per site, gaps in the
 * instance numbers, tiny time inversions, a sites.txt. The fixture is shaped
 * like issue 15's dataset (78 sites x 5, one trace missing, one 1 us
 * inversion), generated here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attacks.h"
#include "dataset.h"

#define WFB_TMP_TEMPLATE "/tmp/wfb-ragged-XXXXXX"
#include "tmpdir.h"

#define SITES		 78
#define INST		 5
#define GAP_SITE	 17 /* its instance 2 is missing */
#define GAP_INST	 2
#define INV_SITE	 40 /* its instance 3 has a packet 1 us before the one above it */
#define INV_INST	 3
#define INV_LINE	 12 /* that packet's line */
#define PKTS_PER_SITE(s) (20 + (s))

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* Packet k of (s, i): 1 ms apart, size encodes (s, i, k) so order can be checked. */
static long fixture_size(unsigned s, unsigned i, unsigned k)
{
	long v = 100 + (long)((s * 7 + i * 3 + k) % 1300);

	return k % 2 ? -v : v;
}

static void write_fixture(const char *dir)
{
	char path[512], line[64];
	unsigned s, i, k;

	mkdir(dir, 0755);
	for (s = 0; s < SITES; s++) {
		for (i = 0; i < INST; i++) {
			char *text;

			if (s == GAP_SITE && i == GAP_INST)
				continue;
			text = calloc(PKTS_PER_SITE(s) + 1, sizeof(line));
			for (k = 0; k < PKTS_PER_SITE(s); k++) {
				/* line INV_LINE (k = INV_LINE-1) 1 us before the line above */
				unsigned long us = k * 1000UL;

				if (s == INV_SITE && i == INV_INST && k == INV_LINE - 1)
					us = (k - 1) * 1000UL - 1;
				snprintf(line, sizeof(line), "%lu.%06lu\t%ld\n", us / 1000000,
					 us % 1000000, fixture_size(s, i, k));
				strcat(text, line);
			}
			snprintf(path, sizeof(path), "%s/%u-%u", dir, s, i);
			write_file(path, text);
			free(text);
		}
	}
	snprintf(path, sizeof(path), "%s/sites.txt", dir);
	{
		char *names = calloc(SITES, 32);

		for (s = 0; s < SITES; s++) {
			snprintf(line, sizeof(line), "site%u.example\n", s);
			strcat(names, line);
		}
		write_file(path, names);
		free(names);
	}
}

static int import_with(enum wfb_order order, const char *unmon, struct wfb_import_report *rep,
		       char *err, size_t len)
{
	struct wfb_import_opts o = { .fmt = WFB_FMT_WANG, .order = order, .force = true };

	if (unmon)
		cr_assert_eq(wfb_import_parse_unmon(unmon, &o, err, len), 0, "%s", err);
	return wfb_import(tmp_path("src"), tmp_path("ds"), &o, rep, err, len);
}

TestSuite(ragged, .init = make_tmpdir, .fini = rm_tmpdir);

Test(ragged, issue_shaped_dataset_imports_whole)
{
	struct wfb_import_report rep;
	struct wfb_dataset ds;
	struct wfb_trace t;
	char err[512], want[512];
	size_t i;

	write_fixture(tmp_path("src"));
	cr_assert_eq(import_with(WFB_ORDER_KEEP, NULL, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.files, SITES * INST - 1);
	cr_assert_eq(rep.sites, SITES);
	cr_assert_eq(rep.instances, INST);
	cr_assert_eq(rep.min_instances, INST - 1);
	cr_assert_eq(rep.ragged_sites, 1);
	cr_assert_str_eq(rep.fewest_site, "17 (17-0...)");
	cr_assert_eq(rep.gaps, 1);
	cr_assert_eq(rep.inv.count, 1);
	cr_assert_eq(rep.inv.max_ns, 1000);
	snprintf(want, sizeof(want), "%s:%d", tmp_path("src/40-3"), INV_LINE);
	cr_assert_str_eq(rep.inv_first, want);
	cr_assert_eq(rep.named, SITES);

	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("ds"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.n, SITES * INST - 1);
	cr_assert_eq(ds.instances, INST);
	cr_assert_eq(ds.min_instances, INST - 1);
	cr_assert_eq(ds.count[GAP_SITE], INST - 1);
	cr_assert_eq(ds.count[GAP_SITE + 1], INST);
	/* the gap is closed up: instance 2 of site 17 is the file 17-3 */
	i = wfb_dataset_index(&ds, GAP_SITE, 2);
	cr_assert_str_eq(ds.e[i].src, "17-3");
	cr_assert_str_eq(ds.site_name[5], "site5.example");
	cr_assert_not_null(wfb_dataset_meta(&ds, "import.time_inversions"));

	/* file order kept; the early packet takes its predecessor's time */
	wfb_trace_init(&t);
	i = wfb_dataset_index(&ds, INV_SITE, INV_INST);
	cr_assert_eq(wfb_dataset_read(&ds, i, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.pkts[INV_LINE - 1].time_ns, t.pkts[INV_LINE - 2].time_ns);
	cr_assert_eq(t.pkts[INV_LINE - 1].size,
		     (uint32_t)labs(fixture_size(INV_SITE, INV_INST, INV_LINE - 1)));
	wfb_dataset_close(&ds);

	/* --sort: the early packet moves up one place, keeping its time */
	cr_assert_eq(import_with(WFB_ORDER_SORT, NULL, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.inv.count, 1);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("ds"), err, sizeof(err)), 0, "%s", err);
	i = wfb_dataset_index(&ds, INV_SITE, INV_INST);
	cr_assert_eq(wfb_dataset_read(&ds, i, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.pkts[INV_LINE - 2].size,
		     (uint32_t)labs(fixture_size(INV_SITE, INV_INST, INV_LINE - 1)));
	cr_assert_eq(t.pkts[INV_LINE - 2].time_ns, (INV_LINE - 2) * 1000000ULL - 1000);
	wfb_dataset_close(&ds);
	wfb_trace_free(&t);

	/* strict: an error naming the line */
	cr_assert_eq(import_with(WFB_ORDER_STRICT, NULL, &rep, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "src/40-3:12: time goes backwards: 0.009999 s after 0.01 s"), "%s",
		  err);
}

Test(ragged, unmonitored_sites_keep_the_other_names)
{
	struct wfb_import_report rep;
	struct wfb_dataset ds;
	char err[512];

	write_fixture(tmp_path("src"));
	cr_assert_eq(import_with(WFB_ORDER_KEEP, "0,70-77", &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.sites, SITES - 9);
	cr_assert_eq(rep.unmonitored, 9 * INST);
	cr_assert_eq(rep.sites_unmon, 9);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("ds"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.sites, SITES - 9);
	cr_assert_eq(ds.unmonitored, 9 * INST);
	cr_assert_str_eq(ds.site_name[0], "site1.example"); /* site 1 is label 0 now */
	cr_assert_str_eq(ds.site_name[ds.sites - 1], "site69.example");
	cr_assert_str_eq(ds.e[wfb_dataset_index(&ds, WFB_UNMON, 0)].src, "0-0");
	wfb_dataset_close(&ds);

	cr_assert_eq(import_with(WFB_ORDER_KEEP, "90", &rep, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "--unmonitored: no site numbered 90..90 in the source");
	{
		struct wfb_import_opts o = { 0 };

		cr_assert_eq(wfb_import_parse_unmon("3,x", &o, err, sizeof(err)), -EINVAL);
		cr_assert_eq(wfb_import_parse_unmon("9-3", &o, err, sizeof(err)), -EINVAL);
		cr_assert_str_eq(err, "--unmonitored: 9-3 is empty");
	}
}

Test(ragged, equal_refuses_and_manifest_checks_the_range)
{
	struct wfb_import_opts o = { .fmt = WFB_FMT_WANG, .equal = true, .order = WFB_ORDER_KEEP };
	struct wfb_import_report rep;
	struct wfb_dataset ds;
	char err[512], cmd[1024];

	write_fixture(tmp_path("src"));
	cr_assert_eq(wfb_import(tmp_path("src"), tmp_path("ds"), &o, &rep, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "site '17' (17-0...) has 4 instances, site '0' has 5"), "%s", err);
	cr_assert_eq(import_with(WFB_ORDER_KEEP, NULL, &rep, err, sizeof(err)), 0, "%s", err);
	/* a manifest whose min_instances does not match the traces */
	snprintf(cmd, sizeof(cmd), "sed -i 's/^min_instances=4$/min_instances=3/' %s/manifest",
		 tmp_path("ds"));
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("ds"), err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "inconsistent: sites have 4..5 instances, the manifest says "
			      "instances=5 min_instances=3"),
		  "%s", err);
	/* a trace line gone: the site has a hole, which is no dataset */
	snprintf(cmd, sizeof(cmd),
		 "sed -i 's/^min_instances=3$/min_instances=4/; /^trace=3-1 /d' %s/manifest; "
		 "sed -i 's/^traces=389$/traces=388/' %s/manifest; rm %s/3-1.trace",
		 tmp_path("ds"), tmp_path("ds"), tmp_path("ds"));
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("ds"), err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "inconsistent: trace 3-1 is missing"), "%s", err);
}

/* Attacks refuse, before any work, what cannot work on such data (issue 15). */
Test(ragged, attack_checks_refuse_up_front)
{
	struct wfa_shape sh = { .rows = 300, .min_train = 3, .open_world = true };
	char err[512];

	cr_assert_eq(wfa_knn.check(&sh, err, sizeof(err)), -EINVAL); /* default k = 5 */
	cr_assert(strstr(err, "only 3 training traces; pass --params k=3"), "%s", err);
	sh.params = "k=3";
	cr_assert_eq(wfa_knn.check(&sh, err, sizeof(err)), 0, "%s", err);
	sh.params = NULL;
	sh.open_world = false; /* closed world: k = 1, a majority vote */
	cr_assert_eq(wfa_knn.check(&sh, err, sizeof(err)), 0, "%s", err);
	sh.open_world = true;
	sh.min_train = 2;
	cr_assert_eq(wfa_kfp.check(&sh, err, sizeof(err)), -EINVAL); /* default k = 3 */
	cr_assert(strstr(err, "pass --params k=2"), "%s", err);
	sh.params = "gamma=x";
	cr_assert_eq(wfa_cumul.check(&sh, err, sizeof(err)), -EINVAL);
	sh.params = "epochs=0";
	cr_assert_eq(wfa_df.check(&sh, err, sizeof(err)), -EINVAL, "%s", err);
}
