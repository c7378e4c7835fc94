// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench attack, evaluate and sweep: cross-validating the attacks
 * (bench/attacks/) on datasets, the defence x attack table with overheads, and
 * trade-off curves over policy parameters. Definitions: docs/evaluation.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attacks.h"
#include "eval.h"
#include "cli.h"
#include "dataset.h"
#include "defend.h"
#include "presets.h"
#include "trace.h"
#include "policy.h"

/* ---------------------------------------------------------------- attack */

#define EV_MAX_ATTACKS 8

void wfb_attack_usage(FILE *f)
{
	const struct wfa_attack *const *a;

	fprintf(f, "usage: wfbench attack --attack NAME --dataset DIR [--folds K] [--open-world]\n"
		   "                      [--seed S] [--jobs N] [--params k=v,...] [--r R]\n"
		   "                      [--export-features FILE.csv|FILE.npy] [--seq-len L] [--json]\n"
		   "\n"
		   "Cross-validate one attack on a dataset (e.g. one `wfbench defend` wrote): the\n"
		   "traces are split into K stratified folds; each fold is predicted by a model\n"
		   "fitted on the others. Prints the accuracy per fold and its mean with a 95%%\n"
		   "Student-t interval over the folds. Definitions: docs/evaluation.md.\n"
		   "\n"
		   "  -a, --attack NAME        the attack:");
	for (a = wfa_all(); *a; a++)
		fprintf(f, " %s", (*a)->name);
	fprintf(f, "\n"
		   "  -d, --dataset DIR        the dataset\n"
		   "  -k, --folds K            folds, 2..%d (default 10); each class needs K traces\n"
		   "  -w, --open-world         add the unmonitored traces (trained on as one class);\n"
		   "                           prints TPR, WPR, FPR, precision, recall, r-precision\n"
		   "      --r R                r of r-precision: unmonitored page loads per\n"
		   "                           monitored one in the setting judged (default 10)\n"
		   "  -S, --seed S             folds and the attack's randomness (default 1)\n"
		   "  -j, --jobs N             threads (default: all cores); results are the same\n"
		   "      --params LIST        the attack's parameters, key=value,... (its defaults)\n"
		   "  -x, --export-features F  write the features before evaluating: F.csv\n"
		   "                           (label,f1..fn) or F.npy (float64) with F.labels.npy,\n"
		   "                           F.folds.npy, F.dir.npy and F.tiktok.npy (sequences);\n"
		   "                           both with F.folds.csv (index,trace,label,fold)\n"
		   "      --seq-len L          length of the exported sequences (default %d)\n"
		   "      --json               one JSON object instead of the table\n"
		   "  -h, --help               this text\n",
		WFE_MAX_FOLDS, WFE_SEQ_LEN);
}

/* Options shared by attack, evaluate and sweep. */
struct ev_common {
	const char *dataset;
	const struct wfa_attack *att[EV_MAX_ATTACKS];
	unsigned natt;
	struct wfe_cv_opts cv;
};

static void ev_common_init(struct ev_common *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	c->cv.folds = 10;
	c->cv.seed = 1;
	c->cv.r = 10;
	c->cv.threads = ncpu > 0 ? (unsigned)ncpu : 1;
}

/* "knn,cumul" -> attacks; 0 or the exit code of a usage error. */
static int parse_attacks(const struct cmd *self, const char *list, struct ev_common *c)
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

enum { OPT_R = 1000, OPT_PARAMS, OPT_SEQLEN, OPT_JSON, OPT_DELAY, OPT_BW, OPT_NODEF };

/* One shared option; returns 0 when handled, 1 when not ours, or a usage exit code + 1. */
static int common_opt(const struct cmd *self, int opt, struct ev_common *c)
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

static volatile sig_atomic_t ev_stop;

static void ev_on_sigint(int sig)
{
	(void)sig;
	ev_stop = 1;
}

/* First Ctrl-C: stop after the current step; the handler resets, so a second one kills. */
static void ev_catch_sigint(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ev_on_sigint;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

static void ev_fold_progress(unsigned done, unsigned folds, void *arg)
{
	fprintf(stderr, "\r%s: fold %u/%u   ", (const char *)arg, done, folds);
	if (done == folds)
		fputs("\r\033[K", stderr);
}

/* F.csv or F.npy -> the files docs/evaluation.md lists. */
static int export_features(const char *path, const char *dataset, const struct wfe_data *d,
			   const unsigned *fold, size_t seqlen, char *err, size_t errlen)
{
	size_t len = strlen(path), i;
	char base[4096], p1[4200], p2[4200];
	bool npy = len > 4 && !strcmp(path + len - 4, ".npy");
	int64_t *v;
	int rc;

	if (!npy && !(len > 4 && !strcmp(path + len - 4, ".csv"))) {
		snprintf(err, errlen, "--export-features: '%s' must end in .csv or .npy", path);
		return -EINVAL;
	}
	snprintf(base, sizeof(base), "%.*s", (int)(len - 4), path);
	snprintf(p1, sizeof(p1), "%s.folds.csv", base);
	rc = wfe_export_folds_csv(p1, dataset, d, fold, err, errlen);
	if (rc || !npy)
		return rc ? rc : wfe_export_csv(path, d, err, errlen);
	rc = wfe_write_npy_f64(path, d->X, d->n, d->nf, err, errlen);
	v = malloc((d->n ? d->n : 1) * sizeof(*v));
	if (!rc && !v) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	for (i = 0; !rc && i < d->n; i++)
		v[i] = d->y[i];
	snprintf(p1, sizeof(p1), "%s.labels.npy", base);
	if (!rc)
		rc = wfe_write_npy_i64(p1, v, d->n, err, errlen);
	for (i = 0; !rc && i < d->n; i++)
		v[i] = fold[i];
	snprintf(p1, sizeof(p1), "%s.folds.npy", base);
	if (!rc)
		rc = wfe_write_npy_i64(p1, v, d->n, err, errlen);
	free(v);
	snprintf(p1, sizeof(p1), "%s.dir.npy", base);
	snprintf(p2, sizeof(p2), "%s.tiktok.npy", base);
	if (!rc)
		rc = wfe_export_sequences(dataset, d, seqlen, p1, p2, err, errlen);
	return rc;
}

static void print_attack_table(const struct ev_common *c, const struct wfa_attack *a,
			       const struct wfe_data *d, const struct wfe_result *r)
{
	unsigned f;

	printf("attack   %s (%s)\n", a->name, a->cite);
	printf("dataset  %s: %zu traces (%u sites%s), %zu features each", c->dataset, d->n,
	       d->sites, c->cv.open_world ? " + unmonitored" : "", d->nf);
	if (d->dropped)
		printf(", %zu traces the attack cannot use left out", d->dropped);
	printf("\nsetup    %s world, %u stratified folds, seed %llu\n",
	       c->cv.open_world ? "open" : "closed", r->folds, (unsigned long long)c->cv.seed);
	printf("fold  accuracy%s\n", c->cv.open_world ? "       TPR       FPR" : "");
	for (f = 0; f < r->folds; f++) {
		printf("%4u  %8.4f", f + 1, r->acc[f]);
		if (c->cv.open_world)
			printf("  %8.4f  %8.4f", r->tpr[f], r->fpr[f]);
		putchar('\n');
	}
	printf("accuracy %.4f ± %.4f (95%% CI, Student t over %u folds; sd %.4f)\n",
	       r->acc_ci.mean, r->acc_ci.half, r->folds, r->acc_ci.sd);
	if (!c->cv.open_world)
		return;
	printf("open world (pooled over the folds): TPR %.4f ± %.4f, WPR %.4f, FPR %.4f ± %.4f\n",
	       r->owm.tpr, r->tpr_ci.half, r->owm.wpr, r->owm.fpr, r->fpr_ci.half);
	printf("  precision %.4f, recall %.4f, r-precision %.4f (r = %g)\n", r->owm.precision,
	       r->owm.recall, r->owm.r_precision, r->owm.r);
}

static void fjson_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* A number, or null when it is not finite (JSON has no NaN). */
static void fjson_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static void fjson_ow(FILE *f, const struct wfe_ow_metrics *m)
{
	fputs(",\"tpr\":", f);
	fjson_num(f, m->tpr);
	fputs(",\"wpr\":", f);
	fjson_num(f, m->wpr);
	fputs(",\"fpr\":", f);
	fjson_num(f, m->fpr);
	fputs(",\"precision\":", f);
	fjson_num(f, m->precision);
	fputs(",\"recall\":", f);
	fjson_num(f, m->recall);
	fputs(",\"r_precision\":", f);
	fjson_num(f, m->r_precision);
	fputs(",\"r\":", f);
	fjson_num(f, m->r);
}

static void print_attack_json(const struct ev_common *c, const struct wfa_attack *a,
			      const struct wfe_data *d, const struct wfe_result *r)
{
	unsigned f;

	printf("{\"attack\":");
	fjson_str(stdout, a->name);
	printf(",\"dataset\":");
	fjson_str(stdout, c->dataset);
	printf(",\"world\":\"%s\",\"traces\":%zu,\"dropped\":%zu,\"folds\":%u,\"seed\":%llu,"
	       "\"accuracy_per_fold\":[",
	       c->cv.open_world ? "open" : "closed", d->n, d->dropped, r->folds,
	       (unsigned long long)c->cv.seed);
	for (f = 0; f < r->folds; f++) {
		printf(f ? "," : "");
		fjson_num(stdout, r->acc[f]);
	}
	printf("],\"accuracy\":");
	fjson_num(stdout, r->acc_ci.mean);
	printf(",\"accuracy_ci95\":");
	fjson_num(stdout, r->acc_ci.half);
	printf(",\"accuracy_sd\":");
	fjson_num(stdout, r->acc_ci.sd);
	if (c->cv.open_world)
		fjson_ow(stdout, &r->owm);
	printf("}\n");
}

static int attack_opt(const struct cmd *self, int opt, struct ev_common *c, const char **export,
		      size_t *seqlen, bool *json)
{
	uint64_t v;
	int rc;

	switch (opt) {
	case 'a':
		return parse_attacks(self, optarg, c);
	case 'x':
		*export = optarg;
		return 0;
	case OPT_PARAMS:
		c->cv.params = optarg;
		return 0;
	case OPT_SEQLEN:
		if (wfb_parse_u64(optarg, 1000000, &v) || !v)
			return wfb_bad_usage(self, "--seq-len: 1..1000000, not '%s'", optarg);
		*seqlen = (size_t)v;
		return 0;
	case OPT_JSON:
		*json = true;
		return 0;
	}
	rc = common_opt(self, opt, c);
	if (rc == 1) {
		self->usage(stderr);
		return EXIT_BAD;
	}
	return rc ? rc - 1 : 0;
}

static int run_attack(struct ev_common *c, const char *export, size_t seqlen, bool json)
{
	const struct wfa_attack *a = c->att[0];
	struct wfe_data d;
	struct wfe_result r;
	unsigned *fold = NULL;
	char err[512] = "";
	int rc;

	if (isatty(STDERR_FILENO))
		fprintf(stderr, "%s: features of %s ...", a->name, c->dataset);
	rc = wfe_load_features(c->dataset, a, c->cv.open_world, c->cv.threads, &d, err,
			       sizeof(err));
	if (isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);
	if (rc)
		return wfb_fail("attack", rc, err);
	fold = calloc(d.n, sizeof(*fold));
	rc = fold ? wfe_folds(d.y, d.n, c->cv.folds, c->cv.seed, fold, err, sizeof(err)) : -ENOMEM;
	if (!rc && export)
		rc = export_features(export, c->dataset, &d, fold, seqlen, err, sizeof(err));
	if (!rc) {
		if (isatty(STDERR_FILENO)) {
			c->cv.progress = ev_fold_progress;
			c->cv.progress_arg = (void *)a->name;
		}
		ev_catch_sigint();
		c->cv.stop = (volatile int *)&ev_stop;
		rc = wfe_cv(a, &d, fold, &c->cv, &r, err, sizeof(err));
	}
	if (!rc) {
		if (json)
			print_attack_json(c, a, &d, &r);
		else
			print_attack_table(c, a, &d, &r);
		if (export)
			fprintf(stderr, "features exported to %s (see docs/evaluation.md)\n", export);
		wfe_result_free(&r);
	}
	free(fold);
	wfe_data_free(&d);
	if (rc == -EINTR)
		return 130;
	return rc ? wfb_fail("attack", rc, err) : 0;
}

int wfb_cmd_attack(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "attack", required_argument, NULL, 'a' },
		{ "dataset", required_argument, NULL, 'd' },
		{ "folds", required_argument, NULL, 'k' },
		{ "open-world", no_argument, NULL, 'w' },
		{ "seed", required_argument, NULL, 'S' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "params", required_argument, NULL, OPT_PARAMS },
		{ "r", required_argument, NULL, OPT_R },
		{ "export-features", required_argument, NULL, 'x' },
		{ "seq-len", required_argument, NULL, OPT_SEQLEN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = wfb_find_cmd("attack");
	const char *export = NULL;
	size_t seqlen = WFE_SEQ_LEN;
	struct ev_common c;
	bool json = false;
	int opt, rc;

	ev_common_init(&c);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "a:d:k:wS:j:x:h", lo, NULL)) != -1) {
		if (opt == 'h') {
			self->usage(stdout);
			return 0;
		}
		if (opt == '?') {
			self->usage(stderr);
			return EXIT_BAD;
		}
		rc = attack_opt(self, opt, &c, &export, &seqlen, &json);
		if (rc)
			return rc;
	}
	if (optind != argc)
		return wfb_bad_usage(self, "unexpected argument '%s'", argv[optind]);
	if (c.natt != 1 || !c.dataset)
		return wfb_bad_usage(self, "%s", "--attack NAME (one) and --dataset DIR are required");
	if (export && (strlen(export) < 5 || (strcmp(export + strlen(export) - 4, ".csv") &&
					      strcmp(export + strlen(export) - 4, ".npy"))))
		return wfb_bad_usage(self, "--export-features: '%s' must end in .csv or .npy", export);
	return run_attack(&c, export, seqlen, json);
}

/* ---------------------------------------------------------------- evaluate, sweep */

#define EV_MAX_VARIANTS 1000
#define EV_MAX_PARAMS	8

/* One defence to evaluate: a policy, a preset, a sweep point, or none at all. */
struct ev_variant {
	char name[128];		    /* in the table, the CSV and the plot */
	char dir[64];		    /* OUTDIR/defended/DIR */
	struct wfg_side_cfg *side;  /* [client, server]; NULL: the dataset as it is */
	double pv[EV_MAX_PARAMS];   /* sweep: the parameters' values */
};

struct ev_row {
	size_t v;
	unsigned a;
	double bw, lat;
	size_t traces;
	struct wfe_ci acc;
	struct wfe_ow_metrics owm;
};

struct ev_run {
	struct ev_common c;
	const char *cmd; /* "evaluate" or "sweep" */
	const char *outdir;
	struct wfb_defend_opts def;
	struct ev_variant *v;
	size_t nv;
	char *pname[EV_MAX_PARAMS]; /* sweep: the dotted paths */
	size_t np;
	struct ev_row *rows;
	size_t nrows;
	double *bw, *lat; /* per variant */
	FILE *csv;
	bool tty;
};

static void ev_free(struct ev_run *r)
{
	size_t i;

	for (i = 0; i < r->nv; i++)
		free(r->v[i].side);
	for (i = 0; i < r->np; i++)
		free(r->pname[i]);
	free(r->v);
	free(r->rows);
	free(r->bw);
	free(r->lat);
	if (r->csv)
		fclose(r->csv);
}

static struct ev_variant *ev_add(struct ev_run *r, const char *name)
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

static int ev_sides(struct ev_variant *v, const struct wfg_side_cfg *cli,
		    const struct wfg_side_cfg *srv)
{
	v->side = malloc(2 * sizeof(*v->side));
	if (!v->side)
		return -ENOMEM;
	v->side[0] = *cli;
	v->side[1] = *srv;
	return 0;
}

/* The policy file's name without directory and extension. */
static void policy_name(const char *path, char *buf, size_t len)
{
	const char *b = strrchr(path, '/'), *dot;

	b = b ? b + 1 : path;
	dot = strrchr(b, '.');
	snprintf(buf, len, "%.*s", (int)(dot && dot != b ? (size_t)(dot - b) : strlen(b)), b);
}

static int ev_add_policy(struct ev_run *r, const char *path, struct wfg_compiled_policy *cp)
{
	struct ev_variant *v;
	char name[128];

	if (wfg_policy_load_report(path, cp, stderr))
		return EXIT_BAD;
	policy_name(path, name, sizeof(name));
	v = ev_add(r, name);
	if (!v || ev_sides(v, wfg_policy_side(cp, WFG_ROLE_CLIENT),
			   wfg_policy_side(cp, WFG_ROLE_SERVER)))
		return wfb_fail(r->cmd, -ENOMEM, "out of memory");
	return 0;
}

static int ev_add_preset(struct ev_run *r, const char *preset)
{
	struct wfg_side_cfg *s = malloc(2 * sizeof(*s));
	struct ev_variant *v;
	char err[256] = "";
	int rc;

	if (!s)
		return wfb_fail(r->cmd, -ENOMEM, "out of memory");
	rc = wfg_preset_sides(preset, s, err, sizeof(err));
	v = rc ? NULL : ev_add(r, preset);
	if (!rc && !v)
		rc = -ENOMEM;
	if (rc) {
		free(s);
		return wfb_fail(r->cmd, rc, err);
	}
	v->side = s;
	return 0;
}

/* ---- output files */

static int ev_path(const struct ev_run *r, const char *name, char *buf, size_t len)
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

/* A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_header(struct ev_run *r)
{
	size_t i;

	fputs("policy", r->csv);
	for (i = 0; i < r->np; i++) {
		fputc(',', r->csv);
		csv_str(r->csv, r->pname[i]);
	}
	fputs(",attack,world,folds,seed,traces,bandwidth_overhead,latency_overhead,accuracy,"
	      "accuracy_ci95,accuracy_sd,tpr,wpr,fpr,precision,recall,r_precision,r\n",
	      r->csv);
	fflush(r->csv);
}

static void csv_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, ",%.6g", v);
	else
		fputs(",", f);
}

static void csv_row(struct ev_run *r, const struct ev_row *w)
{
	const struct ev_variant *v = &r->v[w->v];
	size_t i;

	csv_str(r->csv, v->name);
	for (i = 0; i < r->np; i++)
		fprintf(r->csv, ",%.10g", v->pv[i]);
	fprintf(r->csv, ",%s,%s,%u,%llu,%zu", r->c.att[w->a]->name,
		r->c.cv.open_world ? "open" : "closed", r->c.cv.folds,
		(unsigned long long)r->c.cv.seed, w->traces);
	csv_num(r->csv, w->bw);
	csv_num(r->csv, w->lat);
	csv_num(r->csv, w->acc.mean);
	csv_num(r->csv, w->acc.half);
	csv_num(r->csv, w->acc.sd);
	if (r->c.cv.open_world) {
		csv_num(r->csv, w->owm.tpr);
		csv_num(r->csv, w->owm.wpr);
		csv_num(r->csv, w->owm.fpr);
		csv_num(r->csv, w->owm.precision);
		csv_num(r->csv, w->owm.recall);
		csv_num(r->csv, w->owm.r_precision);
		csv_num(r->csv, w->owm.r);
	} else {
		fputs(",,,,,,,", r->csv);
	}
	fputc('\n', r->csv);
	fflush(r->csv);
	fsync(fileno(r->csv));
}

static void json_row(FILE *f, const struct ev_run *r, const struct ev_row *w)
{
	const struct ev_variant *v = &r->v[w->v];
	size_t i;

	fputs("{\"policy\":", f);
	fjson_str(f, v->name);
	if (r->np) {
		fputs(",\"params\":{", f);
		for (i = 0; i < r->np; i++) {
			fputs(i ? "," : "", f);
			fjson_str(f, r->pname[i]);
			fputc(':', f);
			fjson_num(f, v->pv[i]);
		}
		fputc('}', f);
	}
	fputs(",\"attack\":", f);
	fjson_str(f, r->c.att[w->a]->name);
	fprintf(f, ",\"traces\":%zu,\"bandwidth_overhead\":", w->traces);
	fjson_num(f, w->bw);
	fputs(",\"latency_overhead\":", f);
	fjson_num(f, w->lat);
	fputs(",\"accuracy\":", f);
	fjson_num(f, w->acc.mean);
	fputs(",\"accuracy_ci95\":", f);
	fjson_num(f, w->acc.half);
	fputs(",\"accuracy_sd\":", f);
	fjson_num(f, w->acc.sd);
	if (r->c.cv.open_world)
		fjson_ow(f, &w->owm);
	fputc('}', f);
}

/* results.json with every completed row, replaced atomically after each one. */
static int ev_write_json(const struct ev_run *r)
{
	char path[4200], tmp[4300];
	size_t i;
	FILE *f;
	int bad;

	if (ev_path(r, "results.json", path, sizeof(path)))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "{\"command\":\"%s\",\"dataset\":", r->cmd);
	fjson_str(f, r->c.dataset);
	fprintf(f, ",\"world\":\"%s\",\"folds\":%u,\"seed\":%llu,\"defence_seed\":%llu,"
		   "\"delay_ms\":%llu,\"bandwidth_definition\":\"sum of defended bytes / sum of "
		   "original bytes - 1\",\"latency_definition\":\"sum of time to last real packet, "
		   "defended / original - 1\",\"results\":[",
		r->c.cv.open_world ? "open" : "closed", r->c.cv.folds,
		(unsigned long long)r->c.cv.seed, (unsigned long long)r->def.replay.seed,
		(unsigned long long)(r->def.replay.delay_ns / 1000000));
	for (i = 0; i < r->nrows; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_row(f, r, &r->rows[i]);
	}
	fputs("\n]}\n", f);
	bad = ferror(f);
	if (fclose(f) || bad || rename(tmp, path)) {
		unlink(tmp);
		return -EIO;
	}
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
static int ev_defend(struct ev_run *r, size_t i, char *ds, size_t dslen, char *err,
		     size_t errlen)
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

/* Attack a on the dataset ds of variant i; appends the row. */
static int ev_attack(struct ev_run *r, size_t i, unsigned a, const char *ds, char *err,
		     size_t errlen)
{
	const struct wfa_attack *att = r->c.att[a];
	struct wfe_cv_opts o = r->c.cv;
	struct ev_row *w = &r->rows[r->nrows];
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
		o.progress_arg = label;
	}
	o.stop = (volatile int *)&ev_stop;
	if (!rc)
		rc = wfe_cv(att, &d, fold, &o, &res, err, errlen);
	if (!rc) {
		*w = (struct ev_row){ .v = i, .a = a, .bw = r->bw[i], .lat = r->lat[i],
				      .traces = d.n, .acc = res.acc_ci, .owm = res.owm };
		r->nrows++;
		csv_row(r, w);
		rc = ev_write_json(r);
		if (rc)
			snprintf(err, errlen, "%s/results.json: %s", r->outdir, strerror(-rc));
		wfe_result_free(&res);
	}
	free(fold);
	wfe_data_free(&d);
	return rc;
}

static void ev_table(const struct ev_run *r)
{
	size_t i, k;
	unsigned a;

	printf("%-24s %10s %10s", "policy", "bandwidth", "latency");
	for (a = 0; a < r->c.natt; a++)
		printf("  %-17s", r->c.att[a]->name);
	putchar('\n');
	for (i = 0; i < r->nv; i++) {
		bool any = false;

		for (k = 0; k < r->nrows; k++)
			any |= r->rows[k].v == i;
		if (!any)
			continue;
		printf("%-24s %9.1f%% %9.1f%%", r->v[i].name, 100 * r->bw[i], 100 * r->lat[i]);
		for (a = 0; a < r->c.natt; a++) {
			const struct ev_row *w = NULL;
			char cell[64] = "-";

			for (k = 0; k < r->nrows; k++)
				if (r->rows[k].v == i && r->rows[k].a == a)
					w = &r->rows[k];
			if (w)
				snprintf(cell, sizeof(cell), "%.3f ± %.3f", w->acc.mean, w->acc.half);
			printf("  %-17s", cell);
		}
		putchar('\n');
	}
	printf("accuracy: mean ± 95%% CI (Student t) over %u stratified folds, %s world",
	       r->c.cv.folds, r->c.cv.open_world ? "open" : "closed");
	printf("\nbandwidth: sum of defended bytes / sum of original bytes - 1; latency: sum of "
	       "time to last real packet, defended / original - 1\n");
}

/* ---- plot */

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[4096];

	for (p = path; p && *p; p = end + (*end != 0)) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p, prog);
		if (end > p && !access(buf, X_OK))
			return true;
	}
	return false;
}

/* Per attack a data file "plot-NAME.dat": bandwidth %, accuracy, ci, name. */
static int ev_plot_data(const struct ev_run *r, unsigned a)
{
	char name[128], path[4300];
	size_t k;
	FILE *f;

	snprintf(name, sizeof(name), "plot-%s.dat", r->c.att[a]->name);
	if (ev_path(r, name, path, sizeof(path)))
		return -ENAMETOOLONG;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# bandwidth_overhead_percent\taccuracy\tci95\tpolicy\n");
	for (k = 0; k < r->nrows; k++) {
		const struct ev_row *w = &r->rows[k];

		if (w->a == a)
			fprintf(f, "%.6g\t%.6g\t%.6g\t\"%s\"\n", 100 * w->bw, w->acc.mean,
				isfinite(w->acc.half) ? w->acc.half : 0, r->v[w->v].name);
	}
	return fclose(f) ? -EIO : 0;
}

static int ev_plot_script(const struct ev_run *r, bool sweep)
{
	char path[4300];
	unsigned a;
	FILE *f;

	if (ev_path(r, "plot.gp", path, sizeof(path)))
		return -ENAMETOOLONG;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# wfbench %s: accuracy against bandwidth overhead (set terminal/output first)\n"
		   "set datafile separator \"\\t\"\nset xlabel \"bandwidth overhead (%%)\"\n"
		   "set ylabel \"accuracy (mean, 95%% CI over %u folds)\"\nset yrange [0:1.05]\n"
		   "set grid\nset key outside right top\nset termoption noenhanced\n"
		   "set title \"%s world\"\nplot ",
		r->cmd, r->c.cv.folds, r->c.cv.open_world ? "open" : "closed");
	for (a = 0; a < r->c.natt; a++) {
		const char *n = r->c.att[a]->name;

		fprintf(f, "%s'plot-%s.dat' using 1:2:3 with yerrorbars lc %u pt 7 title '%s'",
			a ? ", \\\n     " : "", n, a + 1, n);
		if (!a) /* the policies' names once, next to the first attack's points */
			fprintf(f, ", \\\n     '' using 1:2:4 with labels offset 0,-1 font ',8' "
				   "notitle");
		if (sweep)
			fprintf(f, ", \\\n     '' using 1:2 with lines lc %u notitle", a + 1);
	}
	fputc('\n', f);
	return fclose(f) ? -EIO : 0;
}

/* gnuplot -e "set terminal T; set output 'OUT'" plot.gp, run in OUTDIR. */
static int run_gnuplot(const char *outdir, const char *term, const char *out, bool quiet)
{
	char setup[256];
	int status;
	pid_t pid;

	snprintf(setup, sizeof(setup), "set terminal %s size 900,560; set output '%s'", term, out);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (chdir(outdir))
			_exit(127);
		/* gnuplot's chatter ("empty x range" with one point) goes to a log */
		int fd = quiet ? open("/dev/null", O_WRONLY)
			       : open("plot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execlp("gnuplot", "gnuplot", "-e", setup, "plot.gp", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static void ev_plot(const struct ev_run *r, bool sweep)
{
	char png[4300];
	unsigned a;
	int rc = 0;

	for (a = 0; !rc && a < r->c.natt; a++)
		rc = ev_plot_data(r, a);
	if (!rc)
		rc = ev_plot_script(r, sweep);
	if (rc) {
		fprintf(stderr, "wfbench %s: writing the plot's data: %s\n", r->cmd, strerror(-rc));
		return;
	}
	if (!on_path("gnuplot")) {
		printf("plot: gnuplot is not on PATH; skipped (data and script: %s/plot.gp)\n",
		       r->outdir);
		return;
	}
	if (run_gnuplot(r->outdir, "svg", "accuracy-vs-bandwidth.svg", false)) {
		fprintf(stderr, "wfbench %s: gnuplot failed on %s/plot.gp (see %s/plot.log)\n",
			r->cmd, r->outdir, r->outdir);
		return;
	}
	printf("plot: %s/accuracy-vs-bandwidth.svg", r->outdir);
	if (!run_gnuplot(r->outdir, "pngcairo", "accuracy-vs-bandwidth.png", true) ||
	    !run_gnuplot(r->outdir, "png", "accuracy-vs-bandwidth.png", true)) {
		printf(" and .png");
	} else {
		ev_path(r, "accuracy-vs-bandwidth.png", png, sizeof(png));
		unlink(png);
		printf(" (this gnuplot has no PNG terminal)");
	}
	putchar('\n');
}

/* Every variant through every attack; rows are written as they complete. */
static int ev_run_all(struct ev_run *r)
{
	char err[512] = "", ds[4200], path[4200];
	size_t i;
	unsigned a;
	int rc = 0;

	r->rows = calloc(r->nv * r->c.natt, sizeof(*r->rows));
	r->bw = calloc(r->nv, sizeof(double));
	r->lat = calloc(r->nv, sizeof(double));
	if (!r->rows || !r->bw || !r->lat)
		return wfb_fail(r->cmd, -ENOMEM, "out of memory");
	rc = ev_path(r, "defended", path, sizeof(path));
	if (!rc)
		rc = mkdir_p(path);
	if (!rc)
		rc = ev_path(r, "results.csv", path, sizeof(path));
	if (!rc && !(r->csv = fopen(path, "w")))
		rc = -errno;
	if (rc) {
		snprintf(err, sizeof(err), "%s: %s", r->outdir, strerror(-rc));
		return wfb_fail(r->cmd, rc, err);
	}
	csv_header(r);
	r->tty = isatty(STDERR_FILENO);
	ev_catch_sigint();
	for (i = 0; !rc && i < r->nv; i++) {
		rc = ev_stop ? -EINTR : ev_defend(r, i, ds, sizeof(ds), err, sizeof(err));
		for (a = 0; !rc && a < r->c.natt; a++)
			rc = ev_stop ? -EINTR : ev_attack(r, i, a, ds, err, sizeof(err));
	}
	if (r->tty)
		fputs("\r\033[K", stderr);
	if (r->nrows)
		ev_table(r);
	if (rc == -EINTR) {
		fprintf(stderr, "wfbench %s: interrupted; %zu completed results in %s/results.csv\n",
			r->cmd, r->nrows, r->outdir);
		return 130;
	}
	if (rc)
		return wfb_fail(r->cmd, rc, err);
	printf("results: %s/results.csv, %s/results.json\n", r->outdir, r->outdir);
	ev_plot(r, r->np == 1); /* a curve through a one-parameter sweep */
	return 0;
}

/* Options evaluate and sweep share beyond ev_common; 1 when not ours. */
static int ev_opt(const struct cmd *self, int opt, struct ev_run *r)
{
	uint64_t v;
	int rc;

	switch (opt) {
	case 'a':
		return parse_attacks(self, optarg, &r->c);
	case 'o':
		r->outdir = optarg;
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
	rc = common_opt(self, opt, &r->c);
	if (rc == 1) {
		self->usage(stderr);
		return EXIT_BAD;
	}
	return rc ? rc - 1 : 0;
}

static void ev_init(struct ev_run *r, const char *cmd)
{
	memset(r, 0, sizeof(*r));
	ev_common_init(&r->c);
	r->cmd = cmd;
	r->outdir = "wfbench-results";
	r->def.replay = (struct wfb_replay_opts){
		.delay_ns = 20000000, .seed = 1, .unknown_size = 514, .shim_len = 20
	};
}

static int ev_check(const struct cmd *self, struct ev_run *r)
{
	if (!r->c.dataset)
		return wfb_bad_usage(self, "%s", "--dataset DIR is required");
	if (!r->c.natt)
		return wfb_bad_usage(self, "%s", "--attacks LIST is required (e.g. knn,cumul,kfp)");
	r->def.jobs = r->c.cv.threads;
	r->def.replay.seed = r->c.cv.seed;
	return 0;
}

#define EV_COMMON_HELP                                                                          \
	"  -d, --dataset DIR      the undefended dataset\n"                                      \
	"  -a, --attacks LIST     attacks, comma-separated (knn,cumul,kfp)\n"                     \
	"  -k, --folds K          stratified folds, 2..100 (default 10)\n"                       \
	"  -w, --open-world       add the unmonitored traces; the CSV gets TPR, FPR, ...\n"      \
	"      --r R              r of r-precision (default 10)\n"                               \
	"  -S, --seed S           the defences' streams, folds and attacks (default 1)\n"        \
	"  -j, --jobs N           threads (default: all cores); results are the same\n"          \
	"      --delay MS         one-way delay of the replay (default 20)\n"                    \
	"      --bandwidth MBIT   per-direction bottleneck of the replay (default: none)\n"      \
	"  -o, --output OUTDIR    results (default wfbench-results): defended/NNN (the\n"         \
	"                         defended datasets), results.csv, results.json, plot.gp,\n"      \
	"                         plot-ATTACK.dat, accuracy-vs-bandwidth.svg (with gnuplot)\n"    \
	"  -h, --help             this text\n"                                                   \
	"\n"                                                                                     \
	"Each (defence, attack) result is appended to results.csv (and results.json\n"          \
	"rewritten) when it completes; Ctrl-C stops after the current step (twice: now).\n"

void wfb_evaluate_usage(FILE *f)
{
	fprintf(f, "usage: wfbench evaluate [--policy FILE ...] [--preset NAME ...] [--no-defence]\n"
		   "                        --dataset DIR --attacks LIST [--folds K] [-o OUTDIR]\n"
		   "\n"
		   "Replay the dataset through every defence (wfbench defend), run every attack\n"
		   "on each defended dataset (wfbench attack), and print one table: bandwidth\n"
		   "and latency overhead, accuracy per attack ± 95%% CI. Plots accuracy against\n"
		   "bandwidth overhead when gnuplot is installed. docs/evaluation.md.\n"
		   "\n"
		   "  -p, --policy FILE      a policy file; more files may follow as arguments\n"
		   "  -P, --preset NAME      none|padme|front|tamaraw|buflo|regulator (repeatable)\n"
		   "  -n, --no-defence       the dataset itself as a baseline (no replay)\n" EV_COMMON_HELP);
}

static int evaluate_variants(struct ev_run *r, int argc, char **argv, const char **pol,
			     size_t npol, const char **pre, size_t npre, bool nodef)
{
	struct wfg_compiled_policy *cp = malloc(sizeof(*cp));
	size_t i;
	int rc = 0;

	if (!cp)
		return wfb_fail(r->cmd, -ENOMEM, "out of memory");
	if (nodef) {
		struct ev_variant *v = ev_add(r, "no-defence");

		rc = v ? 0 : wfb_fail(r->cmd, -ENOMEM, "out of memory");
	}
	for (i = 0; !rc && i < npre; i++)
		rc = ev_add_preset(r, pre[i]);
	for (i = 0; !rc && i < npol; i++)
		rc = ev_add_policy(r, pol[i], cp);
	for (i = optind; !rc && i < (size_t)argc; i++)
		rc = ev_add_policy(r, argv[i], cp);
	free(cp);
	if (!rc && !r->nv)
		rc = wfb_bad_usage(wfb_find_cmd(r->cmd), "%s",
			       "name at least one --policy, --preset or --no-defence");
	return rc;
}

int wfb_cmd_evaluate(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "preset", required_argument, NULL, 'P' },
		{ "no-defence", no_argument, NULL, 'n' },
		{ "no-defense", no_argument, NULL, 'n' },
		{ "dataset", required_argument, NULL, 'd' },
		{ "attacks", required_argument, NULL, 'a' },
		{ "folds", required_argument, NULL, 'k' },
		{ "open-world", no_argument, NULL, 'w' },
		{ "r", required_argument, NULL, OPT_R },
		{ "seed", required_argument, NULL, 'S' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "bandwidth", required_argument, NULL, OPT_BW },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = wfb_find_cmd("evaluate");
	const char **pol = calloc((size_t)argc + 1, sizeof(char *));
	const char **pre = calloc((size_t)argc + 1, sizeof(char *));
	size_t npol = 0, npre = 0;
	bool nodef = false;
	struct ev_run r;
	int opt, rc = 0;

	ev_init(&r, "evaluate");
	optind = 1;
	if (!pol || !pre)
		rc = wfb_fail("evaluate", -ENOMEM, "out of memory");
	while (!rc && (opt = getopt_long(argc, argv, "p:P:nd:a:k:wS:j:o:h", lo, NULL)) != -1) {
		if (opt == 'h') {
			self->usage(stdout);
			goto out;
		} else if (opt == '?') {
			self->usage(stderr);
			rc = EXIT_BAD;
		} else if (opt == 'p') {
			pol[npol++] = optarg;
		} else if (opt == 'P') {
			pre[npre++] = optarg;
		} else if (opt == 'n') {
			nodef = true;
		} else {
			rc = ev_opt(self, opt, &r);
		}
	}
	if (!rc)
		rc = ev_check(self, &r);
	if (!rc)
		rc = evaluate_variants(&r, argc, argv, pol, npol, pre, npre, nodef);
	if (!rc)
		rc = ev_run_all(&r);
out:
	free(pol);
	free(pre);
	ev_free(&r);
	return rc;
}

/* ---- sweep */

void wfb_sweep_usage(FILE *f)
{
	fprintf(f, "usage: wfbench sweep --policy FILE --param NAME=FROM:TO:STEP [--param ...]\n"
		   "                     --dataset DIR --attacks LIST [--folds K] [-o OUTDIR]\n"
		   "\n"
		   "Evaluate a policy at every point of a parameter grid (like `evaluate`): each\n"
		   "NAME is a dotted path into the policy's YAML, mapping keys and list indices\n"
		   "from 0 (defence.0.params.N_c, shape.buckets.2, cover_size). Several --param\n"
		   "span their product. The scalar is replaced, the YAML re-emitted and compiled;\n"
		   "a bad path or a point the policy rejects is an error before any work.\n"
		   "Prints the trade-off table, writes the CSV (a column per parameter) and plots\n"
		   "the curve.\n"
		   "\n"
		   "  -p, --policy FILE      the policy to sweep\n"
		   "  -x, --param SPEC       NAME=FROM:TO:STEP, TO included (repeatable, up to %d)\n"
		   EV_COMMON_HELP,
		EV_MAX_PARAMS);
}

static char *read_text(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *p;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	p = malloc(WFG_POLICY_MAX_BYTES + 1);
	*len = p ? fread(p, 1, WFG_POLICY_MAX_BYTES + 1, f) : 0;
	if (p && (ferror(f) || *len > WFG_POLICY_MAX_BYTES)) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ? "read error" : "too large");
		free(p);
		p = NULL;
	} else if (!p) {
		snprintf(err, errlen, "out of memory");
	}
	fclose(f);
	if (p)
		p[*len] = 0;
	return p;
}

/* The policy text with every parameter set to point pt's values. */
static int sweep_text(const struct ev_run *r, const char *text, size_t len, const double *pv,
		      char **out, size_t *outlen, char *err, size_t errlen)
{
	char *cur = NULL, *next, val[64], e[400];
	size_t curlen = len, i;
	int rc = 0;

	for (i = 0; !rc && i < r->np; i++) {
		snprintf(val, sizeof(val), "%.10g", pv[i]);
		rc = wfe_yaml_set(cur ? cur : text, curlen, r->pname[i], val, &next, &curlen, e,
				  sizeof(e));
		if (rc)
			snprintf(err, errlen, "--param %s", e);
		free(cur);
		cur = rc ? NULL : next;
	}
	*out = cur;
	*outlen = curlen;
	return rc;
}

/* Every point of the grid, compiled; nothing has run yet. */
static int sweep_points(struct ev_run *r, const char *policy, double **vals, const size_t *nvals)
{
	struct wfg_compiled_policy *cp = malloc(sizeof(*cp));
	size_t i, total = 1, pt, len, outlen, at[EV_MAX_PARAMS] = { 0 };
	char err[512] = "", *text = NULL, *out, name[128], base[64];
	int rc = cp ? 0 : -ENOMEM;

	policy_name(policy, base, sizeof(base));
	for (i = 0; i < r->np; i++)
		total *= nvals[i];
	if (!rc && total > EV_MAX_VARIANTS) {
		snprintf(err, sizeof(err), "%zu points; at most %d", total, EV_MAX_VARIANTS);
		rc = -EINVAL;
	}
	if (!rc && !(text = read_text(policy, &len, err, sizeof(err))))
		rc = -EINVAL;
	for (pt = 0; !rc && pt < total; pt++) {
		struct ev_variant *v;
		double pv[EV_MAX_PARAMS];
		size_t k = pt, off = 0;

		for (i = r->np; i-- > 0;) { /* the last parameter varies fastest */
			at[i] = k % nvals[i];
			k /= nvals[i];
		}
		name[0] = 0;
		for (i = 0; i < r->np; i++) {
			const char *leaf = strrchr(r->pname[i], '.');

			pv[i] = vals[i][at[i]];
			off += (size_t)snprintf(name + off, off < sizeof(name) ? sizeof(name) - off : 0,
						"%s%s=%.6g", i ? " " : "",
						leaf ? leaf + 1 : r->pname[i], pv[i]);
			if (off >= sizeof(name))
				off = sizeof(name) - 1;
		}
		rc = sweep_text(r, text, len, pv, &out, &outlen, err, sizeof(err));
		if (rc)
			break;
		snprintf(err, sizeof(err), "%s[%s]", base, name);
		if (wfg_policy_load_mem_report(err, out, outlen, cp, stderr)) {
			snprintf(err, sizeof(err), "%s: the policy rejects the point %s", policy, name);
			rc = -EINVAL;
		}
		free(out);
		v = rc ? NULL : ev_add(r, name);
		if (!rc && (!v || ev_sides(v, wfg_policy_side(cp, WFG_ROLE_CLIENT),
					   wfg_policy_side(cp, WFG_ROLE_SERVER))))
			rc = -ENOMEM;
		if (!rc)
			memcpy(v->pv, pv, sizeof(pv));
	}
	free(text);
	free(cp);
	if (rc == -ENOMEM)
		snprintf(err, sizeof(err), "out of memory");
	return rc ? wfb_fail("sweep", rc, err) : 0;
}

static int sweep_param(struct ev_run *r, const char *spec, double **vals, size_t *nvals)
{
	char err[512] = "";
	int rc;

	if (r->np == EV_MAX_PARAMS)
		return wfb_bad_usage(wfb_find_cmd("sweep"), "at most %s --param", "8");
	rc = wfe_parse_range(spec, &r->pname[r->np], &vals[r->np], &nvals[r->np], EV_MAX_VARIANTS,
			     err, sizeof(err));
	if (rc)
		return wfb_bad_usage(wfb_find_cmd("sweep"), "--param %s", err);
	r->np++;
	return 0;
}

int wfb_cmd_sweep(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "param", required_argument, NULL, 'x' },
		{ "dataset", required_argument, NULL, 'd' },
		{ "attacks", required_argument, NULL, 'a' },
		{ "folds", required_argument, NULL, 'k' },
		{ "open-world", no_argument, NULL, 'w' },
		{ "r", required_argument, NULL, OPT_R },
		{ "seed", required_argument, NULL, 'S' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "bandwidth", required_argument, NULL, OPT_BW },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = wfb_find_cmd("sweep");
	double *vals[EV_MAX_PARAMS] = { 0 };
	size_t nvals[EV_MAX_PARAMS] = { 0 }, i;
	const char *policy = NULL;
	struct ev_run r;
	int opt, rc = 0;

	ev_init(&r, "sweep");
	optind = 1;
	while (!rc && (opt = getopt_long(argc, argv, "p:x:d:a:k:wS:j:o:h", lo, NULL)) != -1) {
		if (opt == 'h') {
			self->usage(stdout);
			goto out;
		} else if (opt == '?') {
			self->usage(stderr);
			rc = EXIT_BAD;
		} else if (opt == 'p') {
			policy = optarg;
		} else if (opt == 'x') {
			rc = sweep_param(&r, optarg, vals, nvals);
		} else {
			rc = ev_opt(self, opt, &r);
		}
	}
	if (!rc && optind != argc)
		rc = wfb_bad_usage(self, "unexpected argument '%s'", argv[optind]);
	if (!rc && (!policy || !r.np))
		rc = wfb_bad_usage(self, "%s", "--policy FILE and at least one --param are required");
	if (!rc)
		rc = ev_check(self, &r);
	if (!rc)
		rc = sweep_points(&r, policy, vals, nvals);
	if (!rc)
		rc = ev_run_all(&r);
out:
	for (i = 0; i < EV_MAX_PARAMS; i++)
		free(vals[i]);
	ev_free(&r);
	return rc;
}
