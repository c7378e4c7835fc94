// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What wfbench attack, evaluate and sweep share (eval_cmd.h): their common
 * options and Ctrl-C handling, and the evaluate/sweep run, which replays
 * every variant (defend), attacks each defended dataset and hands the rows to
 * the reports (eval_report.c). Definitions: docs/evaluation.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval_cmd.h"
#include "par.h"
#include "sha256.h"

void ev_common_init(struct ev_common *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	c->cv.folds = 10;
	c->cv.seed = 1;
	c->cv.r = 10;
	c->cv.threads = ncpu > 0 ? (unsigned)ncpu : 1;
}

/* "knn,cumul" -> attacks; 0 or the exit code of a usage error. */
int ev_parse_attacks(const struct cmd *self, const char *list, struct ev_common *c)
{
	char buf[256], *save = NULL, *tok;
	unsigned i;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return wfb_bad_usage(self, "--attacks: list too long: '%s'", list);
	c->natt = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct wfa_attack *a = wfa_find(tok);

		if (!a)
			return wfb_bad_usage(self, "unknown attack '%s'", tok);
		for (i = 0; i < c->natt; i++)
			if (c->att[i] == a)
				return wfb_bad_usage(self, "attack '%s' named twice", tok);
		if (c->natt == EV_MAX_ATTACKS)
			return wfb_bad_usage(self, "%s", "too many attacks");
		c->att[c->natt++] = a;
	}
	if (!c->natt)
		return wfb_bad_usage(self, "%s", "--attacks: name at least one attack");
	return 0;
}

/* One shared option; returns 0 when handled, 1 when not ours, or a usage exit code + 1. */
int ev_common_opt(const struct cmd *self, int opt, struct ev_common *c)
{
	uint64_t v;

	switch (opt) {
	case 'd':
		c->dataset = optarg;
		return 0;
	case 'k':
		if (wfb_parse_u64(optarg, WFE_MAX_FOLDS, &v) || v < 2)
			return 1 + wfb_bad_usage(self, "--folds: 2..100, not '%s'", optarg);
		c->cv.folds = (unsigned)v;
		c->folds_set = true;
		return 0;
	case 'w':
		c->cv.open_world = true;
		return 0;
	case 'S':
		if (wfb_parse_u64(optarg, UINT64_MAX, &c->cv.seed))
			return 1 + wfb_bad_usage(self, "--seed: a number, not '%s'", optarg);
		return 0;
	case 'j':
		if (wfb_parse_u64(optarg, 1024, &v) || !v)
			return 1 + wfb_bad_usage(self, "--jobs: 1..1024, not '%s'", optarg);
		c->cv.threads = (unsigned)v;
		return 0;
	case OPT_R:
		c->cv.r = atof(optarg);
		if (!(c->cv.r > 0))
			return 1 + wfb_bad_usage(self, "--r: a ratio > 0, not '%s'", optarg);
		return 0;
	}
	return 1;
}

const char *wfb_tool = "wfbench (version unknown)";

volatile sig_atomic_t ev_stop;

static void ev_on_sigint(int sig)
{
	(void)sig;
	ev_stop = 1;
}

/* First Ctrl-C: stop after the current step; the handler resets, so a second one kills. */
void ev_catch_sigint(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ev_on_sigint;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

/*
 * Inside a fold: "knn: fold 3/10, training 42%", written when the percentage
 * changes (a fit may report thousands of steps a second).
 */
void ev_fit_progress(unsigned fold, unsigned folds, size_t done, size_t total, void *arg)
{
	static unsigned last = 101, last_fold;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	if (pct == last && fold == last_fold)
		return;
	last = pct;
	last_fold = fold;
	fprintf(stderr, "\r%s: fold %u/%u, training %3u%%   ", (const char *)arg, fold + 1, folds,
		pct);
}

void ev_fold_progress(unsigned done, unsigned folds, void *arg)
{
	fprintf(stderr, "\r%s: fold %u/%u   ", (const char *)arg, done, folds);
	if (done == folds)
		fputs("\r\033[K", stderr);
}

/* The smallest stratum the folds split: a monitored site, or the unmonitored traces. */
struct ev_smallest {
	size_t n;	/* its traces */
	size_t site_n;	/* the smallest monitored site's traces */
	size_t total;	/* traces in the evaluation */
	char what[160]; /* "site 17 (example.com)" or "the unmonitored traces" */
};

static void smallest_stratum(const struct wfb_dataset *ds, bool open_world, struct ev_smallest *m)
{
	unsigned s, at = 0;
	char buf[32];

	for (s = 1; s < ds->sites; s++)
		at = ds->count[s] < ds->count[at] ? s : at;
	m->n = m->site_n = ds->count[at];
	m->total = ds->first[ds->sites];
	if (ds->nsite_name > at && ds->site_name[at])
		snprintf(m->what, sizeof(m->what), "site %u (%s)", at, ds->site_name[at]);
	else
		snprintf(m->what, sizeof(m->what), "site %s",
			 wfb_site_label(ds, (int)at, buf, sizeof(buf)));
	if (open_world) {
		m->total += ds->unmonitored;
		if (ds->unmonitored && ds->unmonitored < m->n) {
			m->n = ds->unmonitored;
			snprintf(m->what, sizeof(m->what), "the unmonitored traces");
		}
	}
}

static int plan_folds(const struct cmd *self, struct ev_common *c, const struct ev_smallest *m)
{
	char msg[400];

	if (m->n < 2) {
		snprintf(msg, sizeof(msg),
			 "%s has 1 trace: cross-validation needs at least 2 of every class",
			 m->what);
		return wfb_bad_usage(self, "%s", msg);
	}
	if (m->n >= c->cv.folds)
		return 0;
	if (c->folds_set) {
		snprintf(msg, sizeof(msg),
			 "--folds %u: %s has only %zu traces and every class must be in every "
			 "fold; pass --folds %zu or fewer",
			 c->cv.folds, m->what, m->n, m->n);
		return wfb_bad_usage(self, "%s", msg);
	}
	fprintf(stderr,
		"wfbench %s: note: %zu folds, not the default %u: %s has only %zu traces "
		"(--folds K sets it)\n",
		self->name, m->n, c->cv.folds, m->what, m->n);
	c->cv.folds = (unsigned)m->n;
	return 0;
}

int ev_plan(const struct cmd *self, struct ev_common *c)
{
	struct wfb_dataset ds;
	struct ev_smallest m;
	struct wfa_shape sh;
	char err[512] = "", path[4200];
	unsigned a;
	int rc = wfb_dataset_open(&ds, c->dataset, err, sizeof(err));

	if (rc)
		return wfb_fail(self->name, rc, err);
	snprintf(path, sizeof(path), "%s/manifest", ds.dir);
	if (wfb_sha256_file(path, c->dataset_sha256))
		snprintf(c->dataset_sha256, sizeof(c->dataset_sha256), "unreadable");
	if (c->cv.open_world && !ds.unmonitored) {
		snprintf(err, sizeof(err),
			 "%s: open world needs unmonitored traces; the dataset has none "
			 "(wfbench import --unmonitored SITES makes some)",
			 c->dataset);
		wfb_dataset_close(&ds);
		return wfb_fail(self->name, -EINVAL, err);
	}
	smallest_stratum(&ds, c->cv.open_world, &m);
	wfb_dataset_close(&ds);
	rc = plan_folds(self, c, &m);
	if (rc)
		return rc;
	sh = (struct wfa_shape){
		.rows = m.total - m.total / c->cv.folds,
		.min_train = m.site_n - (m.site_n + c->cv.folds - 1) / c->cv.folds,
		.open_world = c->cv.open_world,
		.params = c->cv.params,
	};
	for (a = 0; a < c->natt; a++) {
		const struct wfa_attack *at = c->att[a];

		if (at->check && (rc = at->check(&sh, err, sizeof(err)))) {
			fprintf(stderr, "wfbench %s: %s (the fewest: %s, %zu traces, %u folds)\n",
				self->name, err, m.what, m.n, c->cv.folds);
			return EXIT_BAD;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- evaluate, sweep */

void ev_free(struct ev_run *r)
{
	size_t i;

	for (i = 0; i < r->nv; i++) {
		free(r->v[i].side);
		free(r->v[i].pool);
	}
	for (i = 0; i < r->np; i++)
		free(r->pname[i]);
	free(r->v);
	free(r->rows);
	free(r->bw);
	free(r->lat);
	free(r->units);
	if (r->csv)
		fclose(r->csv);
	if (r->journal)
		fclose(r->journal);
}

struct ev_variant *ev_add(struct ev_run *r, const char *name)
{
	struct ev_variant *v;
	size_t i, dup = 1;

	if (r->nv == EV_MAX_VARIANTS)
		return NULL;
	v = realloc(r->v, (r->nv + 1) * sizeof(*v));
	if (!v)
		return NULL;
	r->v = v;
	v = &r->v[r->nv];
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	for (i = 0; i < r->nv; i++) /* same name twice (front.yaml and --preset front) */
		if (!strcmp(r->v[i].name, v->name))
			snprintf(v->name, sizeof(v->name), "%s-%zu", name, ++dup);
	snprintf(v->dir, sizeof(v->dir), "%03zu", r->nv);
	r->nv++;
	return v;
}

int ev_sides(struct ev_variant *v, const struct wfg_side_cfg *cli, const struct wfg_side_cfg *srv)
{
	v->side = malloc(2 * sizeof(*v->side));
	if (!v->side)
		return -ENOMEM;
	v->side[0] = *cli;
	v->side[1] = *srv;
	return 0;
}

int ev_policy_sides(struct ev_variant *v, struct wfg_compiled_policy *cp)
{
	if (ev_sides(v, wfg_policy_side(cp, WFG_ROLE_CLIENT), wfg_policy_side(cp, WFG_ROLE_SERVER)))
		return -ENOMEM;
	v->pool = cp->pool;
	v->pool_n = cp->pool_n;
	cp->pool = NULL;
	cp->pool_n = 0;
	return 0;
}

int ev_policy_source(struct ev_variant *v, const char *path)
{
	char hex[65];

	if (wfb_sha256_file(path, hex))
		return -EIO;
	snprintf(v->source, sizeof(v->source), "policy %s sha256 %s", path, hex);
	return 0;
}

/* The policy file's name without directory and extension. */
void ev_policy_name(const char *path, char *buf, size_t len)
{
	const char *b = strrchr(path, '/'), *dot;

	b = b ? b + 1 : path;
	dot = strrchr(b, '.');
	snprintf(buf, len, "%.*s", (int)(dot && dot != b ? (size_t)(dot - b) : strlen(b)), b);
}

/* ---- output files */

int ev_path(const struct ev_run *r, const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", r->outdir, name) >= (int)len ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *dir)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- the work */

static void ev_defend_progress(size_t done, size_t total, void *arg)
{
	fprintf(stderr, "\r%s: defend %zu/%zu traces   ", (const char *)arg, done, total);
	if (done == total)
		fputs("\r\033[K", stderr);
}

/* Replay variant i into OUTDIR/defended/DIR (or use the dataset); its dataset path in ds. */
static int ev_defend(struct ev_run *r, size_t i, char *ds, size_t dslen, char *err, size_t errlen)
{
	struct ev_variant *v = &r->v[i];
	struct wfb_defend_opts o = r->def;
	struct wfb_overhead ov;
	int rc;

	if (!v->side) {
		snprintf(ds, dslen, "%s", r->c.dataset);
		r->bw[i] = r->lat[i] = 0;
		return 0;
	}
	if (snprintf(ds, dslen, "%s/defended/%s", r->outdir, v->dir) >= (int)dslen) {
		snprintf(err, errlen, "%s: path too long", r->outdir);
		return -ENAMETOOLONG;
	}
	o.force = true;
	o.policy_name = v->name;
	o.replay.pool = (const struct wfg_side_cfg(*)[2])v->pool;
	o.replay.pool_n = v->pool_n;
	if (r->tty) {
		o.progress = ev_defend_progress;
		o.progress_arg = v->name;
	}
	rc = wfb_defend(&v->side[0], &v->side[1], r->c.dataset, ds, &o, &ov, err, errlen);
	if (!rc) {
		r->bw[i] = wfb_overhead_bandwidth(&ov);
		r->lat[i] = wfb_overhead_latency(&ov);
	}
	return rc;
}

/* Attack a on the dataset ds of variant i: its row in *w. */
static int ev_attack(struct ev_run *r, size_t i, unsigned a, const char *ds, struct ev_row *w,
		     char *err, size_t errlen)
{
	const struct wfa_attack *att = r->c.att[a];
	struct wfe_cv_opts o = r->c.cv;
	char label[200];
	struct wfe_data d;
	struct wfe_result res;
	unsigned *fold;
	int rc;

	snprintf(label, sizeof(label), "%s / %s", r->v[i].name, att->name);
	if (r->tty)
		fprintf(stderr, "\r%s: features ...   ", label);
	rc = wfe_load_features(ds, att, o.open_world, o.threads, &d, err, errlen);
	if (rc)
		return rc;
	fold = calloc(d.n, sizeof(*fold));
	rc = fold ? wfe_folds(d.y, d.n, o.folds, o.seed, fold, err, errlen) : -ENOMEM;
	if (r->tty) {
		o.progress = ev_fold_progress;
		o.fit_progress = ev_fit_progress;
		o.progress_arg = label;
	}
	o.stop = (volatile int *)&ev_stop;
	if (!rc)
		rc = wfe_cv(att, &d, fold, &o, &res, err, errlen);
	if (!rc) {
		*w = (struct ev_row){ .v = i,
				      .a = a,
				      .bw = r->bw[i],
				      .lat = r->lat[i],
				      .traces = d.n,
				      .acc = res.acc_ci,
				      .owm = res.owm };
		wfe_result_free(&res);
	}
	free(fold);
	wfe_data_free(&d);
	return rc;
}

/* Variant i: replayed, then every attack; the outcome in *u. */
static void ev_unit_run(struct ev_run *r, size_t i, struct ev_unit *u)
{
	char ds[4200];
	unsigned a;
	int rc;

	memset(u, 0, sizeof(*u));
	rc = ev_stop ? -EINTR : ev_defend(r, i, ds, sizeof(ds), u->err, sizeof(u->err));
	u->bw = r->bw[i];
	u->lat = r->lat[i];
	for (a = 0; !rc && a < r->c.natt; a++)
		rc = ev_stop ? -EINTR : ev_attack(r, i, a, ds, &u->rows[a], u->err, sizeof(u->err));
	u->rc = rc;
	u->done = !rc;
}

/* The rows of every done variant, in variant order (what the reports read). */
static void ev_collect(struct ev_run *r)
{
	size_t i;
	unsigned a;

	r->nrows = 0;
	for (i = 0; i < r->nv; i++) {
		if (!r->units[i].done)
			continue;
		r->bw[i] = r->units[i].bw;
		r->lat[i] = r->units[i].lat;
		for (a = 0; a < r->c.natt; a++)
			r->rows[r->nrows++] = r->units[i].rows[a];
	}
}

/* results.csv and results.json of the done variants, each replaced whole. */
static int ev_write_results(struct ev_run *r, char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	size_t k;
	int rc;

	rc = ev_path(r, "results.csv", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!rc && !(r->csv = fopen(tmp, "w")))
		rc = -errno;
	if (!rc) {
		ev_csv_header(r);
		for (k = 0; k < r->nrows; k++)
			ev_csv_row(r, &r->rows[k]);
		rc = ferror(r->csv) ? -EIO : 0;
		if (fclose(r->csv) && !rc)
			rc = -EIO;
		r->csv = NULL;
	}
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (!rc)
		rc = ev_write_json(r);
	if (rc)
		snprintf(err, errlen, "%s: %s", r->outdir, strerror(-rc));
	return rc;
}

/*
 * One round: the next `size` variants not done yet, the j-th on rank j % size
 * (par.h); every rank then holds all of them. The first failure among them,
 * in variant order, is the round's.
 */
static int ev_round(struct ev_run *r, const struct wfb_par *par, size_t *next, char *err,
		    size_t errlen)
{
	struct ev_unit *all = calloc((size_t)par->size, sizeof(*all)), mine;
	size_t todo[1024], n = 0, j;
	int rc = 0;

	if (!all || par->size > 1024) {
		free(all);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (; *next < r->nv && n < (size_t)par->size; (*next)++)
		if (!r->units[*next].done)
			todo[n++] = *next;
	memset(&mine, 0, sizeof(mine));
	if ((size_t)par->rank < n)
		ev_unit_run(r, todo[par->rank], &mine);
	if (par->allgather(&mine, all, sizeof(mine))) {
		free(all);
		snprintf(err, errlen, "MPI allgather failed");
		return -EIO;
	}
	for (j = 0; j < n; j++) {
		if (all[j].done) {
			r->units[todo[j]] = all[j];
			if (r->journal)
				ev_journal_add(r, todo[j]);
		} else if (!rc) {
			rc = all[j].rc ? all[j].rc : -EIO;
			snprintf(err, errlen, "%s", all[j].err);
		}
	}
	free(all);
	return rc;
}

/* Rank 0's Ctrl-C decides for every rank. */
static bool ev_stop_all(const struct wfb_par *par)
{
	int32_t s = ev_stop;

	if (par->bcast(&s, sizeof(s)))
		return true;
	return s;
}

static int ev_setup(struct ev_run *r, const struct wfb_par *par, char *err, size_t errlen)
{
	struct {
		int32_t rc;
		char err[480];
	} st = { 0 };
	char path[4200];
	int rc;

	r->rows = calloc(r->nv * r->c.natt, sizeof(*r->rows));
	r->bw = calloc(r->nv, sizeof(double));
	r->lat = calloc(r->nv, sizeof(double));
	r->units = calloc(r->nv, sizeof(*r->units));
	if (!r->rows || !r->bw || !r->lat || !r->units) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Every rank replays its variants into OUTDIR/defended. */
	rc = ev_path(r, "defended", path, sizeof(path));
	if (!rc)
		rc = mkdir_p(path);
	if (rc)
		snprintf(err, errlen, "%s: %s", r->outdir, strerror(-rc));
	if (!rc && par->rank == 0)
		rc = ev_journal_open(r, err, errlen);
	st.rc = rc;
	snprintf(st.err, sizeof(st.err), "%s", rc ? err : "");
	if (par->bcast(&st, sizeof(st)) || par->bcast(r->units, r->nv * sizeof(*r->units))) {
		snprintf(err, errlen, "MPI broadcast failed");
		return -EIO;
	}
	if (st.rc && par->rank)
		snprintf(err, errlen, "rank 0: %s", st.err);
	return st.rc;
}

/* Every variant through every attack, shared by the ranks; reports as variants complete. */
int ev_run_all(struct ev_run *r)
{
	const struct wfb_par *par = wfb_par();
	char err[512] = "";
	size_t next = 0, resumed, i;
	int rc;

	rc = ev_setup(r, par, err, sizeof(err));
	if (rc)
		return wfb_fail(r->cmd, rc, err);
	for (i = 0, resumed = 0; i < r->nv; i++)
		resumed += r->units[i].done;
	if (resumed && par->rank == 0)
		fprintf(stderr, "wfbench %s: %zu of %zu defences done already (%s/journal.txt)\n",
			r->cmd, resumed, r->nv, r->outdir);
	r->tty = isatty(STDERR_FILENO) && par->rank == 0;
	ev_catch_sigint();
	ev_collect(r);
	if (par->rank == 0)
		rc = ev_write_results(r, err, sizeof(err));
	while (!rc && next < r->nv) {
		if (ev_stop_all(par)) {
			rc = -EINTR;
			break;
		}
		rc = ev_round(r, par, &next, err, sizeof(err));
		ev_collect(r);
		if (par->rank == 0) {
			int wrc = ev_write_results(r, err, sizeof(err));

			rc = rc ? rc : wrc;
		}
	}
	if (r->tty)
		fputs("\r\033[K", stderr);
	if (par->rank && rc)
		return EXIT_BAD; /* rank 0 says why */
	if (r->nrows && par->rank == 0)
		ev_table(r);
	if (rc == -EINTR) {
		fprintf(stderr,
			"wfbench %s: interrupted; %zu completed results in %s/results.csv; "
			"--resume continues\n",
			r->cmd, r->nrows, r->outdir);
		return 130;
	}
	if (rc)
		return wfb_fail(r->cmd, rc, err);
	if (par->rank)
		return 0;
	printf("results: %s/results.csv, %s/results.json\n", r->outdir, r->outdir);
	ev_plot(r, r->np == 1); /* a curve through a one-parameter sweep */
	return 0;
}

/* Options evaluate and sweep share beyond ev_common; 1 when not ours. */
int ev_opt(const struct cmd *self, int opt, struct ev_run *r)
{
	uint64_t v;
	int rc;

	switch (opt) {
	case 'a':
		return ev_parse_attacks(self, optarg, &r->c);
	case 'o':
		r->outdir = optarg;
		return 0;
	case OPT_RESUME:
		r->resume = true;
		return 0;
	case OPT_DELAY:
		if (wfb_parse_u64(optarg, 100000, &v))
			return wfb_bad_usage(self, "--delay: milliseconds, not '%s'", optarg);
		r->def.replay.delay_ns = v * 1000000;
		return 0;
	case OPT_BW:
		r->def.replay.bandwidth_mbit = atof(optarg);
		if (!(r->def.replay.bandwidth_mbit > 0))
			return wfb_bad_usage(self, "--bandwidth: Mbit/s > 0, not '%s'", optarg);
		return 0;
	}
	rc = ev_common_opt(self, opt, &r->c);
	if (rc == 1) {
		self->usage(stderr);
		return EXIT_BAD;
	}
	return rc ? rc - 1 : 0;
}

void ev_init(struct ev_run *r, const char *cmd)
{
	memset(r, 0, sizeof(*r));
	ev_common_init(&r->c);
	r->cmd = cmd;
	r->outdir = "wfbench-results";
	r->def.replay =
		(struct wfb_replay_opts){ .delay_ns = 20000000, .seed = 1, .unknown_size = 514 };
}

int ev_check(const struct cmd *self, struct ev_run *r)
{
	if (!r->c.dataset)
		return wfb_bad_usage(self, "%s", "--dataset DIR is required");
	if (!r->c.natt)
		return wfb_bad_usage(self, "%s", "--attacks LIST is required (e.g. knn,cumul,kfp)");
	r->def.jobs = r->c.cv.threads;
	r->def.replay.seed = r->c.cv.seed;
	return ev_plan(self, &r->c);
}
