// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench export round trips: a ragged, named dataset with cover packets and
 * unknown sizes, exported as wang / maybenot and imported back, equals the
 * original (Wang's format loses only the cover kind); the npy export, read
 * back here, holds every packet.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "export.h"
#include "trace_io.h"

#define WFB_TMP_TEMPLATE "/tmp/wfb-export-XXXXXX"
#include "tmpdir.h"

/* Packet k of trace (s, i): covers every 5th, an unknown size every 7th. */
static void make_trace(struct wfb_trace *t, int s, unsigned i)
{
	unsigned k, n = 3 + (unsigned)(s + 1) * 2 + i;

	wfb_trace_init(t);
	for (k = 0; k < n; k++)
		cr_assert_eq(wfb_trace_push(t, k * 1234567ULL + (k == 2 ? 1 : 0),
					    k % 3 ? WFB_IN : WFB_OUT,
					    k % 7 == 6 ? 0 : 60 + 13 * k + (unsigned)s,
					    k % 5 == 4 ? WFB_COVER : WFB_REAL),
			     0);
}

/* 3 sites with 3, 2, 3 instances (ragged), 2 unmonitored; sites 0 and 2 named. */
static void write_source(const char *dir)
{
	static const unsigned inst[3] = { 3, 2, 3 };
	struct wfb_writer *w;
	struct wfb_trace t;
	char err[256];
	unsigned s, i;

	cr_assert_eq(wfb_writer_open(&w, dir, false, err, sizeof(err)), 0, "%s", err);
	for (s = 0; s < 3; s++) {
		for (i = 0; i < inst[s]; i++) {
			make_trace(&t, (int)s, i);
			cr_assert_eq(wfb_writer_add(w, (int)s, i, "src", &t, err, sizeof(err)), 0,
				     "%s", err);
			wfb_trace_free(&t);
		}
	}
	for (i = 0; i < 2; i++) {
		make_trace(&t, WFB_UNMON, i);
		cr_assert_eq(wfb_writer_add(w, WFB_UNMON, i, "u", &t, err, sizeof(err)), 0);
		wfb_trace_free(&t);
	}
	cr_assert_eq(wfb_writer_site_name(w, 0, "a.example"), 0);
	cr_assert_eq(wfb_writer_site_name(w, 2, "c.example, with a comma"), 0);
	cr_assert_eq(wfb_writer_commit(w, "test", err, sizeof(err)), 0, "%s", err);
}

static void export_to(enum wfb_export_format fmt, const char *out)
{
	struct wfb_export_opts o = { .fmt = fmt };
	char err[512];
	size_t n;

	cr_assert_eq(wfb_export(tmp_path("src"), tmp_path(out), &o, &n, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(n, 10);
}

static void strip_kinds(struct wfb_trace *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		t->pkts[i].kind = WFB_REAL;
}

static void import_and_compare(enum wfb_format fmt, const char *from, bool kinds)
{
	struct wfb_import_opts o = { .fmt = fmt, .order = WFB_ORDER_STRICT };
	struct wfb_import_report rep;
	struct wfb_dataset a, b;
	struct wfb_trace ta, tb;
	char err[512];
	size_t i;

	cr_assert_eq(wfb_import(tmp_path(from), tmp_path("back"), &o, &rep, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(wfb_dataset_open(&a, tmp_path("src"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfb_dataset_open(&b, tmp_path("back"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(b.n, a.n);
	cr_assert_eq(b.sites, 3);
	cr_assert_eq(b.min_instances, 2);
	cr_assert_eq(b.unmonitored, 2);
	cr_assert_str_eq(b.site_name[0], "a.example");
	cr_assert_null(b.site_name[1]);
	cr_assert_str_eq(b.site_name[2], "c.example, with a comma");
	wfb_trace_init(&ta);
	wfb_trace_init(&tb);
	for (i = 0; i < a.n; i++) {
		cr_assert_eq(a.e[i].site, b.e[i].site);
		cr_assert_eq(a.e[i].instance, b.e[i].instance);
		cr_assert_eq(wfb_dataset_read(&a, i, &ta, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(wfb_dataset_read(&b, i, &tb, err, sizeof(err)), 0, "%s", err);
		if (!kinds)
			strip_kinds(&ta);
		cr_assert(wfb_trace_equal(&ta, &tb), "trace %zu differs after %s", i, from);
	}
	wfb_trace_free(&ta);
	wfb_trace_free(&tb);
	wfb_dataset_close(&a);
	wfb_dataset_close(&b);
	cr_assert_eq(wfg_remove_tree(tmp_path("back")), 0);
}

TestSuite(export, .init = make_tmpdir, .fini = rm_tmpdir);

Test(export, wang_and_maybenot_import_back_equal)
{
	write_source(tmp_path("src"));
	export_to(WFB_EXPORT_MAYBENOT, "m");
	import_and_compare(WFB_FMT_MAYBENOT, "m", true);
	export_to(WFB_EXPORT_WANG, "w");
	import_and_compare(WFB_FMT_WANG, "w", false);
}

/* A .npy file's header length and its payload. */
static void *read_npy(const char *path, size_t *len, char *descr_shape, size_t dslen)
{
	FILE *f = fopen(path, "rb");
	unsigned char head[10];
	size_t hl;
	long end;
	void *data;

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fread(head, 1, 10, f), 10);
	cr_assert_eq(memcmp(head, "\x93NUMPY\x01\x00", 8), 0);
	hl = head[8] | (size_t)head[9] << 8;
	cr_assert_lt(hl, dslen);
	cr_assert_eq(fread(descr_shape, 1, hl, f), hl);
	descr_shape[hl] = 0;
	fseek(f, 0, SEEK_END);
	end = ftell(f);
	*len = (size_t)end - 10 - hl;
	data = malloc(*len);
	fseek(f, (long)(10 + hl), SEEK_SET);
	cr_assert_eq(fread(data, 1, *len, f), *len);
	fclose(f);
	return data;
}

Test(export, npy_holds_every_packet)
{
	char head[256], path[512];
	struct wfb_dataset ds;
	struct wfb_trace t;
	double *times;
	int64_t *sizes, *kinds, *lens, *labels;
	size_t len, i, j, L = 0, n;
	char err[256];

	write_source(tmp_path("src"));
	export_to(WFB_EXPORT_NPY, "n");
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("src"), err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < ds.n; i++)
		L = ds.e[i].packets > L ? ds.e[i].packets : L;
	n = ds.n;
	snprintf(path, sizeof(path), "%s/times.npy", tmp_path("n"));
	times = read_npy(path, &len, head, sizeof(head));
	cr_assert(strstr(head, "'descr': '<f8'"), "%s", head);
	cr_assert_eq(len, n * L * 8);
	snprintf(path, sizeof(path), "%s/sizes.npy", tmp_path("n"));
	sizes = read_npy(path, &len, head, sizeof(head));
	cr_assert_eq(len, n * L * 8);
	snprintf(path, sizeof(path), "%s/kinds.npy", tmp_path("n"));
	kinds = read_npy(path, &len, head, sizeof(head));
	snprintf(path, sizeof(path), "%s/lengths.npy", tmp_path("n"));
	lens = read_npy(path, &len, head, sizeof(head));
	cr_assert_eq(len, n * 8);
	snprintf(path, sizeof(path), "%s/labels.npy", tmp_path("n"));
	labels = read_npy(path, &len, head, sizeof(head));
	wfb_trace_init(&t);
	for (i = 0; i < n; i++) {
		cr_assert_eq(wfb_dataset_read(&ds, i, &t, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(lens[i], (int64_t)t.n);
		cr_assert_eq(labels[i], ds.e[i].site);
		for (j = 0; j < L; j++) {
			const struct wfb_pkt *p = j < t.n ? &t.pkts[j] : NULL;
			int64_t want = p ? (p->size ? (int64_t)p->size : 1) * p->dir : 0;

			cr_assert_eq(sizes[i * L + j], want, "trace %zu packet %zu", i, j);
			cr_assert_eq(kinds[i * L + j], p && p->kind == WFB_COVER);
			cr_assert_float_eq(times[i * L + j], p ? (double)p->time_ns / 1e9 : 0,
					   1e-12);
		}
	}
	wfb_trace_free(&t);
	wfb_dataset_close(&ds);
	free(times);
	free(sizes);
	free(kinds);
	free(lens);
	free(labels);
}

Test(export, refuses_to_replace_what_it_did_not_write)
{
	struct wfb_export_opts o = { .fmt = WFB_EXPORT_WANG, .force = true };
	char err[512], path[512];
	size_t n;
	FILE *f;

	write_source(tmp_path("src"));
	export_to(WFB_EXPORT_WANG, "w");
	cr_assert_eq(wfb_export(tmp_path("src"), tmp_path("w"), &o, &n, err, sizeof(err)), 0, "%s",
		     err);
	o.force = false;
	cr_assert_eq(wfb_export(tmp_path("src"), tmp_path("w"), &o, &n, err, sizeof(err)), -EEXIST);
	snprintf(path, sizeof(path), "%s/notes", tmp_path("home"));
	mkdir(tmp_path("home"), 0755);
	f = fopen(path, "w");
	fputs("precious\n", f);
	fclose(f);
	o.force = true;
	cr_assert_eq(wfb_export(tmp_path("src"), tmp_path("home"), &o, &n, err, sizeof(err)),
		     -EEXIST);
	cr_assert(strstr(err, "is not an export; not replacing it"), "%s", err);
}
