// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Prometheus exposition (user/lib/metrics.c) read back by a strict
 * parser (tests/lib/prom.c): one family per counter of the stats table with
 * its help text, names unique, values and the escaped label as written; the
 * textfile replaced atomically. And the log's journal priorities
 * (user/lib/log.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "prom.h"

#define WFB_TMP_TEMPLATE "/tmp/wfg-metrics-XXXXXX"
#include "tmpdir.h"

/* A label with every character the format escapes. */
#define IFNAME "fe\"q\\x\n"

static void values(__u64 *st)
{
	int i;

	for (i = 0; i < WFG_STAT__COUNT; i++)
		st[i] = (__u64)i * 1000003ULL + 7 + (i == 0 ? (1ULL << 63) : 0);
}

static void check_doc(const char *text, const __u64 *st)
{
	static struct prom_doc doc;
	char err[256], name[128];
	int i;

	cr_assert_eq(prom_parse(text, "interface", &doc, err, sizeof(err)), 0, "%s\n%s", err, text);
	cr_assert_eq(doc.n, WFG_STAT__COUNT, "%d families for %d counters", doc.n, WFG_STAT__COUNT);
	for (i = 0; i < WFG_STAT__COUNT; i++) {
		const struct prom_sample *s;

		snprintf(name, sizeof(name), "wfguard_%s_total", wfg_stat_name(i));
		s = prom_find(&doc, name);
		cr_assert_not_null(s, "no %s", name);
		cr_assert_eq(s->value, st[i], "%s: %llu, want %llu", name, s->value,
			     (unsigned long long)st[i]);
		cr_assert_str_eq(s->help, wfg_stat_help(i));
		cr_assert_str_eq(s->label, IFNAME);
	}
}

Test(metrics, every_counter_once_with_its_help_and_value)
{
	__u64 st[WFG_STAT__COUNT];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	values(st);
	cr_assert_eq(wfg_metrics_write(f, IFNAME, st), 0);
	fclose(f);
	check_doc(text, st);
	free(text);
}

/* The parser is strict enough to fail: what it must refuse, it refuses. */
Test(metrics, the_parser_refuses_what_a_scraper_would)
{
#define FAMILY "# HELP wfguard_x_total h\n# TYPE wfguard_x_total counter\n"
	static const char *const bad[] = {
		"wfguard_x_total{interface=\"a\"} 1\n", /* no HELP/TYPE */
		(FAMILY "wfguard_x_total{interface=\"a\"} 1\n" FAMILY
			"wfguard_x_total{interface=\"a\"} 2\n"),    /* twice */
		(FAMILY "wfguard_x_total{interface=\"a\"b\"} 1\n"), /* unescaped quote */
		(FAMILY "wfguard_x_total{interface=\"a\"} -1\n"),   /* not a counter */
		"# HELP wfguard_x_total h\n# TYPE wfguard_x_total gauge\n",
		"# HELP 9x h\n",
	};
#undef FAMILY
	static struct prom_doc doc;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(prom_parse(bad[i], "interface", &doc, err, sizeof(err)), -1,
			     "case %zu accepted", i);
}

static char *slurp(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

Test(metrics, textfile_is_replaced_whole_and_leaves_no_temporary, .init = make_tmpdir,
     .fini = rm_tmpdir)
{
	__u64 st[WFG_STAT__COUNT];
	struct stat before, after;
	char err[256], cmd[300];
	int fd;

	values(st);
	cr_assert_eq(wfg_metrics_textfile(tmp_path("wfguard.prom"), IFNAME, st, err, sizeof(err)),
		     0, "%s", err);
	check_doc(slurp(tmp_path("wfguard.prom")), st);
	/* a reader holding the old file keeps reading the old one: a new inode each time */
	fd = open(tmp_path("wfguard.prom"), O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &before), 0);
	st[3] += 5;
	cr_assert_eq(wfg_metrics_textfile(tmp_path("wfguard.prom"), IFNAME, st, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(stat(tmp_path("wfguard.prom"), &after), 0);
	cr_assert_neq(before.st_ino, after.st_ino, "written in place, not renamed");
	close(fd);
	check_doc(slurp(tmp_path("wfguard.prom")), st);
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", tmpdir);
	cr_assert_eq(system(cmd), 0, "a temporary file was left beside the textfile");
	/* an unwritable place: an error that names the file, nothing left */
	cr_assert_eq(wfg_metrics_textfile(tmp_path("no/such/dir.prom"), "x", st, err, sizeof(err)),
		     -ENOENT);
	cr_assert(strstr(err, "no/such/dir.prom"), "%s", err);
}

/* ---------------------------------------------------------------- log */

/* stderr into a file for fn's messages; the file's text. */
static char *logged(void (*fn)(void), int as_journal)
{
	char js[64];
	struct stat st;
	int saved = dup(2), fd;

	fflush(stderr);
	fd = open(tmp_path("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	dup2(fd, 2);
	close(fd);
	fstat(2, &st);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (as_journal ? 0 : 1));
	setenv("JOURNAL_STREAM", js, 1);
	wfg_log_init();
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	wfg_log_init();
	return slurp(tmp_path("stderr"));
}

static void three_messages(void)
{
	wfg_log(LOG_ERR, "cannot %s", "attach");
	wfg_log(LOG_WARNING, "a warning");
	wfg_log(LOG_INFO, "pumping covers for %s", "eth0");
}

Test(log, journal_priorities_only_when_stderr_is_the_journal, .init = make_tmpdir,
     .fini = rm_tmpdir)
{
	cr_assert_str_eq(logged(three_messages, 1),
			 "<3>cannot attach\n<4>a warning\n<6>pumping covers for eth0\n");
	/* JOURNAL_STREAM inherited, but stderr is some other file now */
	cr_assert_str_eq(logged(three_messages, 0), "wfguard: cannot attach\nwfguard: a warning\n"
						    "wfguard: pumping covers for eth0\n");
	cr_assert_eq(wfg_log_journal(), 0);
}
