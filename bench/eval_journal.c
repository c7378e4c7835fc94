// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The journal of evaluate and sweep (OUTDIR/journal.txt): one line per
 * defence whose attacks all completed, doubles exact (%a), so that a resumed
 * run writes the very bytes an uninterrupted one would. Its second line is
 * a fingerprint of everything the results depend on; a journal with another
 * one is refused. docs/cluster.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval_cmd.h"
#include "journal.h"

#define JOURNAL_MAGIC "wfbench-journal v1 evaluate"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* What the results depend on: settings, then the variants' names and compiled sides. */
static void fingerprint(const struct ev_run *r, char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, off;
	unsigned a;

	off = (size_t)snprintf(
		buf, len,
		"%s dataset=%s folds=%u seed=%llu world=%s r=%a params=%s "
		"delay=%llu bw=%a attacks=",
		r->cmd, r->c.dataset, r->c.cv.folds, (unsigned long long)r->c.cv.seed,
		r->c.cv.open_world ? "open" : "closed", r->c.cv.r,
		r->c.cv.params ? r->c.cv.params : "-", (unsigned long long)r->def.replay.delay_ns,
		r->def.replay.bandwidth_mbit);
	for (a = 0; a < r->c.natt && off < len; a++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", a ? "," : "",
					r->c.att[a]->name);
	for (i = 0; i < r->nv; i++) {
		h = fnv(h, r->v[i].name, strlen(r->v[i].name) + 1);
		h = fnv(h, r->v[i].pv, r->np * sizeof(r->v[i].pv[0])); /* the rest is unset */
		if (r->v[i].side)
			h = fnv(h, r->v[i].side, 2 * sizeof(*r->v[i].side));
	}
	if (off < len)
		snprintf(buf + off, len - off, " defences=%zu hash=%016llx", r->nv,
			 (unsigned long long)h);
}

/* "v I BW LAT" then per attack "TRACES MEAN SD HALF N TPR WPR FPR PREC REC RPREC R". */
static int parse_line(struct ev_run *r, const char *line)
{
	struct ev_unit u;
	unsigned long long i, traces;
	int n = 0, k;
	unsigned a;
	const char *p = line;

	memset(&u, 0, sizeof(u));
	if (sscanf(p, "v %llu %la %la%n", &i, &u.bw, &u.lat, &n) != 3 || i >= r->nv)
		return -EINVAL;
	p += n;
	for (a = 0; a < r->c.natt; a++) {
		struct ev_row *w = &u.rows[a];

		k = sscanf(p, " %llu %la %la %la %u %la %la %la %la %la %la %la%n", &traces,
			   &w->acc.mean, &w->acc.sd, &w->acc.half, &w->acc.n, &w->owm.tpr,
			   &w->owm.wpr, &w->owm.fpr, &w->owm.precision, &w->owm.recall,
			   &w->owm.r_precision, &w->owm.r, &n);
		if (k != 12)
			return -EINVAL;
		p += n;
		w->v = (size_t)i;
		w->a = a;
		w->bw = u.bw;
		w->lat = u.lat;
		w->traces = (size_t)traces;
	}
	if (*p)
		return -EINVAL;
	u.done = 1;
	r->units[i] = u;
	return 0;
}

static int journal_line(void *ctx, const char *line, const char *path, unsigned lineno, char *err,
			size_t errlen)
{
	if (!parse_line(ctx, line))
		return 0;
	snprintf(err, errlen, "%s:%u: not a journal line", path, lineno);
	return -EINVAL;
}

static const struct wfb_journal_kind eval_journal = {
	.magic = JOURNAL_MAGIC,
	.what = "an evaluate/sweep journal",
	.retry = "resume with the same settings and defences, or leave --resume out to start "
		 "again",
	.line = journal_line,
};

int ev_journal_open(struct ev_run *r, char *err, size_t errlen)
{
	char path[4200], fp[1024];
	bool existed;
	size_t i;
	int rc;

	rc = ev_path(r, "journal.txt", path, sizeof(path));
	if (rc) {
		snprintf(err, errlen, "%s: path too long", r->outdir);
		return rc;
	}
	fingerprint(r, fp, sizeof(fp));
	if (r->resume && (rc = wfb_journal_read(path, &eval_journal, fp, r, &existed, err, errlen)))
		return rc;
	/* Rewritten whole: a line cut by a crash must not stay in front of new ones. */
	r->journal = fopen(path, "w");
	if (!r->journal) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	fprintf(r->journal, "%s\n%s\n", JOURNAL_MAGIC, fp);
	for (i = 0; i < r->nv; i++)
		if (r->units[i].done)
			ev_journal_add(r, i);
	return 0;
}

void ev_journal_add(struct ev_run *r, size_t i)
{
	const struct ev_unit *u = &r->units[i];
	unsigned a;

	fprintf(r->journal, "v %zu %a %a", i, u->bw, u->lat);
	for (a = 0; a < r->c.natt; a++) {
		const struct ev_row *w = &u->rows[a];

		fprintf(r->journal, " %zu %a %a %a %u %a %a %a %a %a %a %a", w->traces, w->acc.mean,
			w->acc.sd, w->acc.half, w->acc.n, w->owm.tpr, w->owm.wpr, w->owm.fpr,
			w->owm.precision, w->owm.recall, w->owm.r_precision, w->owm.r);
	}
	fputc('\n', r->journal);
	fflush(r->journal);
	fsync(fileno(r->journal));
}
