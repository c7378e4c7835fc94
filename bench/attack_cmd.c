// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench attack: cross-validating one attack (bench/attacks/) on a dataset,
 * and exporting its features for attacks written elsewhere.
 * Definitions: docs/evaluation.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval_cmd.h"

/* --model, --save-model: a model trained elsewhere, or kept for elsewhere */
enum { OPT_MODEL = 1100, OPT_SAVE_MODEL, OPT_CV };
struct model_paths {
	const char *load, *save;
};

void wfb_attack_usage(FILE *f)
{
	const struct wfa_attack *const *a;

	fprintf(f, "usage: wfbench attack --attack NAME --dataset DIR [--folds K] [--open-world]\n"
		   "                      [--seed S] [--jobs N] [--params k=v,...] [--r R]\n"
		   "                      [--export-features FILE.csv|FILE.npy] [--seq-len L] "
		   "[--json]\n"
		   "                      [--save-model F | --model F]\n"
		   "\n"
		   "Cross-validate one attack on a dataset (e.g. one `wfbench defend` wrote): the\n"
		   "traces are split into K stratified folds; each fold is predicted by a model\n"
		   "fitted on the others. Prints the accuracy per fold and its mean with a 95%%\n"
		   "Student-t interval over the folds. Definitions: docs/evaluation.md.\n"
		   "\n"
		   "  -a, --attack NAME        the attack:");
	for (a = wfa_all(); *a; a++)
		fprintf(f, " %s", (*a)->name);
	fprintf(f,
		"\n"
		"  -d, --dataset DIR        the dataset\n"
		"  -k, --folds K            folds, 2..%d (default 10); each class needs K traces\n"
		"  -w, --open-world         add the unmonitored traces (trained on as one class);\n"
		"                           prints TPR, WPR, FPR, precision, recall, r-precision\n"
		"      --r R                r of r-precision: unmonitored page loads per\n"
		"                           monitored one in the setting judged (default 10)\n"
		"  -S, --seed S             folds and the attack's randomness (default 1)\n"
		"  -j, --jobs N             threads (default: all cores); results are the same\n"
		"      --params LIST        the attack's parameters, key=value,... (its defaults)\n"
		"  -x, --export-features F  write the features and stop: F.csv (label,f1..fn)\n"
		"                           or F.npy (float64) with F.labels.npy, F.folds.npy,\n"
		"                           F.dir.npy and F.tiktok.npy (sequences); both with\n"
		"                           F.folds.csv (index,trace,label,fold,site)\n"
		"      --cv                 with --export-features: cross-validate as well\n"
		"      --seq-len L          length of the exported sequences (default %d)\n"
		"      --json               one JSON object instead of the table\n"
		"      --save-model F       no cross-validation: train on every trace, write\n"
		"                           the model to F (df, tiktok, rf)\n"
		"      --model F            no cross-validation: test the model in F (trained\n"
		"                           elsewhere, --save-model) on every trace\n"
		"  -h, --help               this text\n",
		WFE_MAX_FOLDS, WFE_SEQ_LEN);
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

static int attack_opt(const struct cmd *self, int opt, struct ev_common *c, const char **export,
		      size_t *seqlen, bool *json, struct model_paths *mp)
{
	uint64_t v;
	int rc;

	switch (opt) {
	case OPT_MODEL:
		mp->load = optarg;
		return 0;
	case OPT_SAVE_MODEL:
		mp->save = optarg;
		return 0;
	case 'a':
		return ev_parse_attacks(self, optarg, c);
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
	rc = ev_common_opt(self, opt, c);
	if (rc == 1) {
		self->usage(stderr);
		return EXIT_BAD;
	}
	return rc ? rc - 1 : 0;
}

/* Fit on every row and save, or load and predict every row. */
static int model_file(struct ev_common *c, const struct wfe_data *d, const struct model_paths *mp,
		      char *err, size_t errlen)
{
	const struct wfa_attack *a = c->att[0];
	struct wfa_opts o = { .seed = c->cv.seed,
			      .threads = c->cv.threads ? c->cv.threads : 1,
			      .open_world = c->cv.open_world,
			      .params = c->cv.params,
			      .stop = (volatile const int *)&ev_stop };
	size_t i, right = 0;
	void *m = NULL;
	int rc, got;

	ev_catch_sigint();
	rc = mp->save ? a->fit(&m, d->X, d->y, d->n, &o, err, errlen)
		      : a->load(&m, mp->load, err, errlen);
	if (!rc && mp->save) {
		rc = a->save(m, mp->save, err, errlen);
		if (!rc)
			printf("%s: trained on %zu traces%s; model written to %s\n", a->name, d->n,
			       ev_stop ? " (interrupted: the best epoch so far)" : "", mp->save);
	}
	for (i = 0; !rc && mp->load && i < d->n; i++) {
		rc = a->predict(m, d->X + i * d->nf, &got);
		right += !rc && got == d->y[i];
	}
	if (!rc && mp->load)
		printf("%s: model %s on %s: accuracy %.4f (%zu of %zu)\n", a->name, mp->load,
		       c->dataset, d->n ? (double)right / (double)d->n : 0.0, right, d->n);
	if (rc && !*err)
		snprintf(err, errlen, "%s: %s", a->name, strerror(-rc));
	if (m)
		a->free(m);
	return rc;
}

static int run_attack(struct ev_common *c, const char *export, bool cv, size_t seqlen, bool json,
		      const struct model_paths *mp)
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
	if (mp->load || mp->save) {
		rc = model_file(c, &d, mp, err, sizeof(err));
		wfe_data_free(&d);
		return rc ? wfb_fail("attack", rc, err) : 0;
	}
	fold = calloc(d.n, sizeof(*fold));
	rc = fold ? wfe_folds(d.y, d.n, c->cv.folds, c->cv.seed, fold, err, sizeof(err)) : -ENOMEM;
	if (!rc && export)
		rc = export_features(export, c->dataset, &d, fold, seqlen, err, sizeof(err));
	if (!rc && export && !cv) {
		printf("features of %zu traces (%s, %zu each) exported to %s, %u folds in its "
		       ".folds.csv; no cross-validation (--cv runs it)\n",
		       d.n, a->name, d.nf, export, c->cv.folds);
		free(fold);
		wfe_data_free(&d);
		return 0;
	}
	if (!rc) {
		if (isatty(STDERR_FILENO)) {
			c->cv.progress = ev_fold_progress;
			c->cv.fit_progress = ev_fit_progress;
			c->cv.progress_arg = (void *)a->name;
		}
		ev_catch_sigint();
		c->cv.stop = (volatile int *)&ev_stop;
		rc = wfe_cv(a, &d, fold, &c->cv, &r, err, sizeof(err));
	}
	if (!rc) {
		if (json)
			ev_print_attack_json(c, a, &d, &r);
		else
			ev_print_attack_table(c, a, &d, &r);
		if (export)
			fprintf(stderr, "features exported to %s (see docs/evaluation.md)\n",
				export);
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
		{ "cv", no_argument, NULL, OPT_CV },
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "save-model", required_argument, NULL, OPT_SAVE_MODEL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = wfb_find_cmd("attack");
	const char *export = NULL;
	size_t seqlen = WFE_SEQ_LEN;
	struct model_paths mp = { NULL, NULL };
	struct ev_common c;
	bool json = false, cv = false;
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
		if (opt == OPT_CV) {
			cv = true;
			continue;
		}
		rc = attack_opt(self, opt, &c, &export, &seqlen, &json, &mp);
		if (rc)
			return rc;
	}
	if (optind != argc)
		return wfb_bad_usage(self, "unexpected argument '%s'", argv[optind]);
	if (c.natt != 1 || !c.dataset)
		return wfb_bad_usage(self, "%s",
				     "--attack NAME (one) and --dataset DIR are required");
	if (export && (strlen(export) < 5 || (strcmp(export + strlen(export) - 4, ".csv") &&
					      strcmp(export + strlen(export) - 4, ".npy"))))
		return wfb_bad_usage(self, "--export-features: '%s' must end in .csv or .npy",
				     export);
	if (cv && !export)
		return wfb_bad_usage(self, "%s",
				     "--cv is for --export-features (without it the "
				     "attack cross-validates anyway)");
	if (mp.load && mp.save)
		return wfb_bad_usage(self, "%s", "--model and --save-model exclude each other");
	if ((mp.load || mp.save) && !c.att[0]->save)
		return wfb_bad_usage(self, "%s: no model files (df, tiktok, rf have them)",
				     c.att[0]->name);
	if ((mp.load || mp.save) && (export || json))
		return wfb_bad_usage(
			self, "%s",
			"--model/--save-model do not cross-validate: no --export-features, --json");
	rc = ev_plan(self, &c);
	if (rc)
		return rc;
	return run_attack(&c, export, cv, seqlen, json, &mp);
}
