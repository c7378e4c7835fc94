// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The evaluation commands' reports: the attack's fold table and JSON, the
 * evaluate/sweep table, results.csv and results.json (rewritten as rows
 * complete), and the accuracy-vs-bandwidth plot (gnuplot, when installed).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eval_cmd.h"

/* ---------------------------------------------------------------- wfbench attack */

void ev_print_attack_table(const struct ev_common *c, const struct wfa_attack *a,
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
	printf("accuracy %.4f ± %.4f (95%% CI, Student t over %u folds; sd %.4f)\n", r->acc_ci.mean,
	       r->acc_ci.half, r->folds, r->acc_ci.sd);
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

void ev_print_attack_json(const struct ev_common *c, const struct wfa_attack *a,
			  const struct wfe_data *d, const struct wfe_result *r)
{
	unsigned f;

	printf("{\"attack\":");
	fjson_str(stdout, a->name);
	printf(",\"tool\":");
	fjson_str(stdout, wfb_tool);
	printf(",\"dataset\":");
	fjson_str(stdout, c->dataset);
	printf(",\"dataset_manifest_sha256\":\"%s\",\"params\":", c->dataset_sha256);
	fjson_str(stdout, c->cv.params ? c->cv.params : "defaults");
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

void ev_csv_header(struct ev_run *r)
{
	size_t i;

	fputs("policy", r->csv);
	for (i = 0; i < r->np; i++) {
		fputc(',', r->csv);
		wfe_csv_field(r->csv, r->pname[i]);
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

void ev_csv_row(struct ev_run *r, const struct ev_row *w)
{
	const struct ev_variant *v = &r->v[w->v];
	size_t i;

	wfe_csv_field(r->csv, v->name);
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
	fputs(",\"defence\":", f);
	fjson_str(f, v->source[0] ? v->source : "none: the dataset itself");
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
int ev_write_json(const struct ev_run *r)
{
	char path[4200], tmp[4300], replay[512];
	size_t i;
	FILE *f;
	int bad;

	if (ev_path(r, "results.json", path, sizeof(path)))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "{\"command\":\"%s\",\"tool\":", r->cmd);
	fjson_str(f, wfb_tool);
	fputs(",\"dataset\":", f);
	fjson_str(f, r->c.dataset);
	fprintf(f, ",\"dataset_manifest_sha256\":\"%s\",\"replay\":", r->c.dataset_sha256);
	wfb_replay_params_text(&r->def.replay, replay, sizeof(replay));
	fjson_str(f, replay);
	fprintf(f, ",\"attack_params\":\"defaults\",\"r\":");
	fjson_num(f, r->c.cv.r);
	fprintf(f,
		",\"world\":\"%s\",\"folds\":%u,\"seed\":%llu,\"defence_seed\":%llu,"
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

void ev_table(const struct ev_run *r)
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
				snprintf(cell, sizeof(cell), "%.3f ± %.3f", w->acc.mean,
					 w->acc.half);
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
	fprintf(f,
		"# wfbench %s: accuracy against bandwidth overhead (set terminal/output first)\n"
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

void ev_plot(const struct ev_run *r, bool sweep)
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
