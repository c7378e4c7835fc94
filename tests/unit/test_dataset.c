// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Datasets: manifest round trip, atomic writing, import rules, inconsistencies, real data. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"

#define WFB_TMP_TEMPLATE "/tmp/wfb-dataset-XXXXXX"
#include "tmpdir.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* Entries of tmpdir starting with prefix (to find leftovers like out.tmp-XXXXXX). */
static int count_prefix(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/* A small distinct trace for (site, instance). */
static void make_trace(struct wfb_trace *t, int site, unsigned inst)
{
	unsigned i, n = 3 + inst + (unsigned)(site + 1) * 2;

	wfb_trace_init(t);
	for (i = 0; i < n; i++)
		wfb_trace_push(t, i * 1000ULL + (unsigned)site, i % 3 ? WFB_IN : WFB_OUT,
			       100 + i + inst, i == 4 ? WFB_COVER : WFB_REAL);
}

static void write_dataset(const char *dir, unsigned sites, unsigned inst, unsigned unmon,
			  bool force)
{
	struct wfb_writer *w;
	struct wfb_trace t;
	char err[256];
	unsigned s, i;

	cr_assert_eq(wfb_writer_open(&w, dir, force, err, sizeof(err)), 0, "%s", err);
	/* added out of order on purpose */
	for (i = 0; i < unmon; i++) {
		make_trace(&t, WFB_UNMON, i);
		cr_assert_eq(wfb_writer_add(w, WFB_UNMON, i, "u", &t, err, sizeof(err)), 0);
		wfb_trace_free(&t);
	}
	for (s = sites; s-- > 0;) {
		for (i = 0; i < inst; i++) {
			make_trace(&t, (int)s, i);
			cr_assert_eq(wfb_writer_add(w, (int)s, i, "x y", &t, err, sizeof(err)), 0,
				     "%s", err);
			wfb_trace_free(&t);
		}
	}
	cr_assert_eq(wfb_writer_commit(w, "test\nsource", err, sizeof(err)), 0, "%s", err);
}

TestSuite(dataset, .init = make_tmpdir, .fini = rm_tmpdir);

Test(dataset, write_then_open_and_read_equal)
{
	struct wfb_dataset ds;
	struct wfb_trace t, want;
	char err[256];
	size_t i;

	write_dataset(tmp_path("d"), 3, 2, 2, false);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("d/"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.sites, 3);
	cr_assert_eq(ds.instances, 2);
	cr_assert_eq(ds.unmonitored, 2);
	cr_assert_eq(ds.n, 8);
	cr_assert_str_eq(ds.source, "test source");
	cr_assert_eq(ds.units, WFB_UNITS_BYTES);
	cr_assert_eq(wfb_dataset_index(&ds, 2, 1), 5);
	cr_assert_eq(wfb_dataset_index(&ds, WFB_UNMON, 1), 7);
	wfb_trace_init(&t);
	for (i = 0; i < ds.n; i++) {
		cr_assert_eq(wfb_dataset_read(&ds, i, &t, err, sizeof(err)), 0, "%s", err);
		make_trace(&want, ds.e[i].site, ds.e[i].instance);
		cr_assert(wfb_trace_equal(&t, &want), "trace %zu", i);
		cr_assert_str_eq(ds.e[i].src, ds.e[i].site == WFB_UNMON ? "u" : "x y");
		wfb_trace_free(&want);
	}
	cr_assert_eq(ds.e[7].site, WFB_UNMON);
	cr_assert_eq(ds.e[7].instance, 1);
	wfb_trace_free(&t);
	wfb_dataset_close(&ds);
	cr_assert_eq(count_prefix("d.tmp-"), 0);
}

Test(dataset, existing_dir_needs_force_and_must_be_a_dataset)
{
	struct wfb_writer *w;
	struct wfb_dataset ds;
	char err[256];

	write_dataset(tmp_path("d"), 1, 1, 0, false);
	cr_assert_eq(wfb_writer_open(&w, tmp_path("d"), false, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "/d exists (--force replaces it)"), "%s", err);
	write_dataset(tmp_path("d"), 2, 3, 0, true); /* replaced as a whole */
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("d"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.n, 6);
	wfb_dataset_close(&ds);
	cr_assert_eq(count_prefix("d."), 0); /* neither tmp- nor old- left */

	mkdir(tmp_path("home"), 0755);
	write_file(tmp_path("home/notes.txt"), "precious\n");
	cr_assert_eq(wfb_writer_open(&w, tmp_path("home"), true, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "/home exists and is not a dataset; not replacing it"), "%s", err);
	cr_assert(exists(tmp_path("home/notes.txt")));
	mkdir(tmp_path("empty"), 0755);
	write_dataset(tmp_path("empty"), 1, 1, 0, true);
	cr_assert(exists(tmp_path("empty/manifest")));
}

Test(dataset, incomplete_or_empty_writes_leave_nothing)
{
	struct wfb_writer *w;
	struct wfb_trace t;
	char err[256];

	cr_assert_eq(wfb_writer_open(&w, tmp_path("d"), false, err, sizeof(err)), 0);
	cr_assert_eq(wfb_writer_commit(w, "x", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "empty dataset: no monitored trace");
	cr_assert_eq(wfb_writer_open(&w, tmp_path("d"), false, err, sizeof(err)), 0);
	make_trace(&t, 0, 0);
	cr_assert_eq(wfb_writer_add(w, 0, 0, NULL, &t, err, sizeof(err)), 0);
	cr_assert_eq(wfb_writer_add(w, 0, 0, "again", &t, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "trace 0-0 given twice (again from again)");
	cr_assert_eq(wfb_writer_add(w, 1, 1, NULL, &t, err, sizeof(err)), 0);
	cr_assert_eq(wfb_writer_commit(w, "x", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "inconsistent dataset: trace 1-0 is missing (sites=2, up to 2 "
			      "instances, unmonitored=0)");
	t.n = 0;
	cr_assert_eq(wfb_writer_open(&w, tmp_path("d"), false, err, sizeof(err)), 0);
	cr_assert_eq(wfb_writer_add(w, 0, 0, "f", &t, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "f: empty trace (no packets)");
	wfb_writer_abort(w);
	wfb_trace_free(&t);
	cr_assert(!exists(tmp_path("d")));
	cr_assert_eq(count_prefix("d"), 0);
}

/* The manifest and the directory must agree. */
Test(dataset, inconsistent_datasets_are_errors)
{
	struct wfb_dataset ds;
	struct wfb_trace t;
	char err[512], cmd[512];

	write_dataset(tmp_path("d"), 2, 2, 1, false);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("nope"), err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "/nope: not a dataset (no "), "%s", err);

	/* a packet count that does not match */
	snprintf(cmd, sizeof(cmd), "sed -i 's/^trace=1-0 [0-9]*/trace=1-0 99/' %s",
		 tmp_path("d/manifest"));
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("d"), err, sizeof(err)), 0, "%s", err);
	wfb_trace_init(&t);
	cr_assert_eq(wfb_dataset_read(&ds, 2, &t, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/d/1-0.trace: inconsistent: 7 packets, the manifest says 99"), "%s",
		  err);
	wfb_trace_free(&t);
	wfb_dataset_close(&ds);

	/* a trace file missing, then an extra one */
	rename(tmp_path("d/1-1.trace"), tmp_path("d/1-9.trace"));
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("d"), err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/d/1-1.trace: inconsistent: listed in the manifest but missing"),
		  "%s", err);
	snprintf(cmd, sizeof(cmd), "cp %s %s", tmp_path("d/1-9.trace"), tmp_path("d/1-1.trace"));
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("d"), err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/d: inconsistent: 6 trace files but the manifest lists 5"), "%s",
		  err);
}

struct mf_case {
	const char *text;
	const char *msg; /* after "DIR/manifest" */
};

static const struct mf_case mf_cases[] = {
	{ "", ": empty manifest" },
	{ "sites=1\n", ":1: expected 'format=wfguard-dataset v1' first" },
	{ "format=wfguard-dataset v2\n",
	  ":1: unsupported format 'wfguard-dataset v2' (this build reads 'wfguard-dataset v1')" },
	{ "format=wfguard-dataset v1\nsites\n", ":2: expected 'key=value', got 'sites'" },
	{ "format=wfguard-dataset v1\ncolour=blue\n", ":2: unknown key 'colour'" },
	{ "format=wfguard-dataset v1\nsites=x\n", ":2: sites: expected a count, got 'x'" },
	{ "format=wfguard-dataset v1\nsize_units=cells\n",
	  ":2: size_units: expected 'bytes' or 'none', got 'cells'" },
	{ "format=wfguard-dataset v1\ntime_units=s\n",
	  ":2: time_units: only 'ns' is known, got 's'" },
	{ "format=wfguard-dataset v1\ntrace=a-b 5 x\n",
	  ":2: trace: bad name 'a-b' (expected SITE-INSTANCE or u-INDEX)" },
	{ "format=wfguard-dataset v1\ntrace=0-0 five x\n",
	  ":2: trace 0-0: expected a packet count, got 'five'" },
	{ "format=wfguard-dataset v1\nsites=1\ninstances=1\n",
	  ": incomplete: needs sites, instances, unmonitored and size_units" },
	{ "format=wfguard-dataset v1\nsites=0\ninstances=0\nunmonitored=0\nsize_units=bytes\n",
	  ": empty dataset (sites=0, instances=0): a dataset needs at least one monitored trace" },
	{ "format=wfguard-dataset v1\nsites=1\ninstances=2\nunmonitored=0\nsize_units=bytes\n"
	  "trace=0-0 1 x\n",
	  ": inconsistent: trace 0-1 is missing (sites=1 instances=2 unmonitored=0)" },
	{ "format=wfguard-dataset v1\nsites=1\ninstances=1\nunmonitored=0\nsize_units=bytes\n"
	  "trace=0-0 1 x\ntrace=0-0 1 x\n",
	  ": inconsistent: trace 0-0 is outside sites=1 instances=1 unmonitored=0 (or listed "
	  "twice)" },
	{ "format=wfguard-dataset v1\nsites=1\ninstances=1\nunmonitored=0\nsize_units=bytes\n"
	  "traces=2\ntrace=0-0 1 x\n",
	  ": traces=2 but 1 trace lines" },
};

Test(dataset, malformed_manifests)
{
	struct wfb_dataset ds;
	char err[512], want[512];
	size_t i;

	mkdir(tmp_path("m"), 0755);
	for (i = 0; i < sizeof(mf_cases) / sizeof(mf_cases[0]); i++) {
		write_file(tmp_path("m/manifest"), mf_cases[i].text);
		cr_expect_eq(wfb_dataset_open(&ds, tmp_path("m"), err, sizeof(err)), -EINVAL,
			     "case %zu", i);
		snprintf(want, sizeof(want), "%s%s", tmp_path("m/manifest"), mf_cases[i].msg);
		cr_expect_str_eq(err, want, "case %zu", i);
	}
}

/* ---------------------------------------------------------------- import */

static int import(const char *src, enum wfb_format fmt, unsigned instances,
		  struct wfb_import_report *rep, char *err, size_t len)
{
	struct wfb_import_opts o = { .fmt = fmt, .instances = instances, .equal = !instances };

	err[0] = 0;
	return wfb_import(src, tmp_path("out"), &o, rep, err, len);
}

Test(dataset, import_wang_names_labels_and_units)
{
	struct wfb_import_report rep;
	struct wfb_dataset ds;
	struct wfb_trace t;
	char err[512];

	mkdir(tmp_path("w"), 0755);
	write_file(tmp_path("w/10-0"), "0.0\t1\n0.1\t-1\n");
	write_file(tmp_path("w/10-3.cell"), "0.0\t1\r\n");
	write_file(tmp_path("w/2-5"), "0.0\t-1\n0.5\t-1\n1\t1\n");
	write_file(tmp_path("w/2-7"), "0.0\t1\n");
	write_file(tmp_path("w/17"), "0\t1\n");
	write_file(tmp_path("w/u-3"), "0\t-1\n");
	write_file(tmp_path("w/README"), "not a trace\n");
	write_file(tmp_path("w/.hidden"), "junk\n");
	cr_assert_eq(import(tmp_path("w"), WFB_FMT_WANG, 0, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.files, 6);
	cr_assert_eq(rep.skipped, 1);
	cr_assert_str_eq(rep.first_skipped, "README");
	cr_assert_eq(rep.sites, 2);
	cr_assert_eq(rep.instances, 2);
	cr_assert_eq(rep.unmonitored, 2);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("out"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.units, WFB_UNITS_NONE); /* ±1 everywhere: no sizes */
	/* sites renumbered in numeric order: 2 -> 0, 10 -> 1; unmonitored 3 -> 0, 17 -> 1 */
	cr_assert_str_eq(ds.e[0].src, "2-5");
	cr_assert_str_eq(ds.e[1].src, "2-7");
	cr_assert_str_eq(ds.e[2].src, "10-0");
	cr_assert_str_eq(ds.e[3].src, "10-3.cell");
	cr_assert_str_eq(ds.e[4].src, "u-3");
	cr_assert_str_eq(ds.e[5].src, "17");
	wfb_trace_init(&t);
	cr_assert_eq(wfb_dataset_read(&ds, 0, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n, 3);
	cr_assert_eq(t.pkts[2].time_ns, 1000000000ULL);
	wfb_trace_free(&t);
	wfb_dataset_close(&ds);
}

Test(dataset, import_uneven_sites_duplicates_and_empties)
{
	struct wfb_import_report rep;
	struct wfb_dataset ds;
	char err[512], want[512];

	mkdir(tmp_path("w"), 0755);
	write_file(tmp_path("w/0-0"), "0\t1\n");
	write_file(tmp_path("w/0-1"), "0\t1\n");
	write_file(tmp_path("w/0-2"), "0\t1\n");
	write_file(tmp_path("w/4-0"), "0\t1\n");
	write_file(tmp_path("w/4-1"), "0\t1\n");
	cr_assert_eq(import(tmp_path("w"), WFB_FMT_WANG, 0, &rep, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "inconsistent: site '4' (4-0...) has 2 instances, site '0' has 3 "
			      "(--equal; --instances N keeps the first N of each)");
	cr_assert_eq(import(tmp_path("w"), WFB_FMT_WANG, 3, &rep, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "inconsistent: site '4' (4-0...) has 2 instances, fewer than "
			      "--instances 3");
	cr_assert_eq(import(tmp_path("w"), WFB_FMT_WANG, 2, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("out"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.n, 4);
	wfb_dataset_close(&ds);

	write_file(tmp_path("w/4-1.cell"), "0\t1\n");
	cr_assert_eq(import(tmp_path("w"), WFB_FMT_WANG, 2, &rep, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "'4-1' and '4-1.cell' name the same trace");
	unlink(tmp_path("w/4-1.cell"));

	snprintf(want, sizeof(want), "rm -r %s", tmp_path("out"));
	cr_assert_eq(system(want), 0);
	write_file(tmp_path("w/4-2"), "");
	snprintf(want, sizeof(want), "%s: empty trace (no packets)", tmp_path("w/4-2"));
	cr_assert_eq(import(tmp_path("w"), WFB_FMT_WANG, 0, &rep, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, want);

	mkdir(tmp_path("none"), 0755);
	write_file(tmp_path("none/notes"), "x");
	snprintf(want, sizeof(want),
		 "%s: empty: no trace files (names like 'notes' are not SITE-INSTANCE or INDEX)",
		 tmp_path("none"));
	cr_assert_eq(import(tmp_path("none"), WFB_FMT_WANG, 0, &rep, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, want);
	mkdir(tmp_path("unmon"), 0755);
	write_file(tmp_path("unmon/5"), "0\t1\n");
	cr_assert_eq(import(tmp_path("unmon"), WFB_FMT_WANG, 0, &rep, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "empty dataset: no monitored trace found");
}

/* A malformed file midway: an error naming file and line, and no DIR, no leftovers. */
Test(dataset, failed_import_leaves_no_directory)
{
	struct wfb_import_report rep;
	char err[512], want[512], name[32];
	int i;

	mkdir(tmp_path("w"), 0755);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "w/%d-0", i);
		write_file(tmp_path(name),
			   i == 13 ? "0.0\t1\n0.5\t-1\nbroken\n" : "0\t1\n0.1\t-1\n");
	}
	cr_assert_eq(import(tmp_path("w"), WFB_FMT_WANG, 0, &rep, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: expected '<time><TAB><±size>', got 'broken'",
		 tmp_path("w/13-0"));
	cr_assert_str_eq(err, want);
	cr_assert_eq(rep.files, 13);
	cr_assert(!exists(tmp_path("out")));
	cr_assert_eq(count_prefix("out"), 0);

	/* and a failed --force import leaves the old dataset as it was */
	write_dataset(tmp_path("out"), 1, 1, 0, false);
	{
		struct wfb_import_opts o = { .fmt = WFB_FMT_WANG, .force = true };

		cr_assert_eq(wfb_import(tmp_path("w"), tmp_path("out"), &o, &rep, err, sizeof(err)),
			     -EINVAL);
	}
	cr_assert(exists(tmp_path("out/0-0.trace")));
	cr_assert(!exists(tmp_path("out/1-0.trace")));
	cr_assert_eq(count_prefix("out"), 1);
}

Test(dataset, import_maybenot_names_with_site_and_instance)
{
	struct wfb_import_report rep;
	struct wfb_dataset ds;
	char err[512];

	mkdir(tmp_path("m"), 0755);
	write_file(tmp_path("m/data-x-standard-0003-0001-0001.log"), "0,s,514\n5,r,514\n");
	write_file(tmp_path("m/data-x-standard-0003-0000-0002.log"), "0,s,514\n");
	write_file(tmp_path("m/data-x-standard-0010-0000-0000.log"), "0,sn\n1,rp\n");
	write_file(tmp_path("m/data-x-standard-0010-0002-0000.log"), "0,s\n");
	cr_assert_eq(import(tmp_path("m"), WFB_FMT_MAYBENOT, 0, &rep, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert(!rep.sequential);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("out"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.sites, 2);
	cr_assert_eq(ds.instances, 2);
	cr_assert_str_eq(ds.e[0].src, "data-x-standard-0003-0000-0002.log");
	cr_assert_str_eq(ds.e[1].src, "data-x-standard-0003-0001-0001.log");
	cr_assert_str_eq(ds.e[2].src, "data-x-standard-0010-0000-0000.log");
	cr_assert_eq(ds.e[1].packets, 2);
	wfb_dataset_close(&ds);
}

Test(dataset, import_single_pcap_file)
{
	struct wfb_import_opts o = { .fmt = WFB_FMT_PCAP };
	struct wfb_import_report rep;
	struct wfb_addr c, s;
	struct wfb_dataset ds;
	struct wfb_trace t;
	char err[512];

	wfb_trace_init(&t);
	wfb_trace_push(&t, 0, WFB_OUT, 300, WFB_REAL);
	wfb_trace_push(&t, 20000000, WFB_IN, 1400, WFB_REAL);
	wfb_addr_parse("10.1.1.1", &c);
	wfb_addr_parse("10.2.2.2", &s);
	cr_assert_eq(wfb_write_pcap(tmp_path("one.pcap"), &t, &c, &s, err, sizeof(err)), 0);
	cr_assert_eq(wfb_import(tmp_path("one.pcap"), tmp_path("out"), &o, &rep, err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "pcap import needs --client ADDR");
	o.client = &c;
	cr_assert_eq(wfb_import(tmp_path("one.pcap"), tmp_path("out"), &o, &rep, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(rep.pcap.kept, 2);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("out"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ds.n, 1);
	cr_assert_eq(wfb_dataset_read(&ds, 0, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.pkts[1].size, 1400);
	cr_assert_eq(t.pkts[1].dir, WFB_IN);
	wfb_dataset_close(&ds);
	wfb_trace_free(&t);
}

/* ---------------------------------------------------------------- real Maybenot traces */

static const char *shared_traces(void)
{
	static char path[512];
	const char *base = getenv("WFG_SHARED_DATA");

	snprintf(path, sizeof(path), "%s/maybenot/traces", base ? base : "../shared/data");
	return path;
}

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	cr_assert_not_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

Test(dataset, real_maybenot_traces_packets_equal_lines)
{
	const char *dir = shared_traces();
	struct wfb_import_report rep;
	struct wfb_dataset ds;
	struct wfb_trace t;
	char err[512], path[1024];
	struct dirent *de;
	size_t i, files = 0;
	DIR *d = opendir(dir);

	if (!d)
		cr_skip_test("no shared data at %s (set WFG_SHARED_DATA)", dir);
	wfb_trace_init(&t);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		cr_assert_eq(wfb_trace_load(path, WFB_FMT_MAYBENOT, NULL, &t, err, sizeof(err)), 0,
			     "%s", err);
		cr_assert_eq(t.n, count_lines(path), "%s", path);
		cr_assert_eq(t.pkts[0].time_ns, 0, "%s", path);
		files++;
	}
	closedir(d);
	cr_assert_gt(files, 0);
	cr_assert_eq(import(dir, WFB_FMT_MAYBENOT, 0, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.files, files);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("out"), err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < ds.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ds.e[i].src);
		cr_assert_eq(ds.e[i].packets, count_lines(path), "%s", path);
		cr_assert_eq(wfb_dataset_read(&ds, i, &t, err, sizeof(err)), 0, "%s", err);
	}
	wfb_dataset_close(&ds);
	wfb_trace_free(&t);
}
