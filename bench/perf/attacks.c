// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Cost of each attack on the synthetic world: feature extraction, training and
 * testing time, and accuracy, on an even/odd instance split (half to train,
 * half to test). Times are ratios against a baseline measured in the same
 * run: generating the world's traces (the synthetic model plus its network
 * simulation), which every experiment pays once.
 *
 *   build/bench/perf/attacks [sites] [instances] [threads]     (default 50 50 2)
 *
 * The parameters that set the cost are each attack's defaults (docs/attacks/):
 * k-FP 1000 trees, sqrt(d) features per split; CUMUL the 4 x 4 (C, gamma) grid
 * with 10 internal folds; k-NN one round of weight learning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacks.h"
#include "generate.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct split {
	double *Xtr, *Xte;
	int *ytr, *yte;
	size_t ntr, nte;
};

static int extract_all(const struct wfa_attack *a, struct wfb_trace *t, const int *site,
		       const unsigned *inst, size_t n, struct split *s)
{
	size_t i, nf = a->nfeatures;

	s->Xtr = calloc(n * nf, sizeof(double));
	s->Xte = calloc(n * nf, sizeof(double));
	s->ytr = calloc(n, sizeof(int));
	s->yte = calloc(n, sizeof(int));
	if (!s->Xtr || !s->Xte || !s->ytr || !s->yte)
		return -1;
	s->ntr = s->nte = 0;
	for (i = 0; i < n; i++) {
		int test = inst[i] & 1;
		double *row = test ? &s->Xte[s->nte * nf] : &s->Xtr[s->ntr * nf];

		if (a->extract(&t[i], row))
			continue;
		if (test)
			s->yte[s->nte++] = site[i];
		else
			s->ytr[s->ntr++] = site[i];
	}
	return 0;
}

static void split_free(struct split *s)
{
	free(s->Xtr);
	free(s->Xte);
	free(s->ytr);
	free(s->yte);
}

int main(int argc, char **argv)
{
	struct wfb_gen_opts g = { .sites = argc > 1 ? (unsigned)atoi(argv[1]) : 50,
				  .instances = argc > 2 ? (unsigned)atoi(argv[2]) : 50,
				  .seed = 1 };
	unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
	const struct wfa_attack *const *a;
	size_t n = (size_t)g.sites * g.instances, i = 0;
	struct wfb_trace *t = calloc(n, sizeof(*t));
	int *site = calloc(n, sizeof(int));
	unsigned *inst = calloc(n, sizeof(unsigned));
	double t0, base;
	unsigned s, k;

	if (!t || !site || !inst || g.instances < 2)
		return 1;
	t0 = now_s();
	for (s = 0; s < g.sites; s++) {
		for (k = 0; k < g.instances; k++, i++) {
			wfb_trace_init(&t[i]);
			if (wfb_gen_trace(&g, (int)s, k, &t[i]))
				return 1;
			site[i] = (int)s;
			inst[i] = k;
		}
	}
	base = now_s() - t0;
	printf("world: %u sites x %u instances (%zu traces), train on even instances, test on odd;"
	       " %u threads\n",
	       g.sites, g.instances, n, threads);
	printf("baseline: generating the world took %.2f s\n\n", base);
	printf("%-6s %9s %9s %9s %9s %9s %9s %9s\n", "attack", "features", "extract", "ratio",
	       "train", "ratio", "test", "accuracy");
	for (a = wfa_all(); *a; a++) {
		struct wfa_opts o = { .seed = 1, .threads = threads };
		struct split sp;
		double te, tf, tp;
		size_t right = 0, j;
		void *model = NULL;
		char err[256] = "";

		t0 = now_s();
		if (extract_all(*a, t, site, inst, n, &sp))
			return 1;
		te = now_s() - t0;
		t0 = now_s();
		if ((*a)->fit(&model, sp.Xtr, sp.ytr, sp.ntr, &o, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", (*a)->name, err);
			return 1;
		}
		tf = now_s() - t0;
		t0 = now_s();
		for (j = 0; j < sp.nte; j++) {
			int label;

			if (!(*a)->predict(model, &sp.Xte[j * (*a)->nfeatures], &label))
				right += label == sp.yte[j];
		}
		tp = now_s() - t0;
		printf("%-6s %9zu %8.2fs %9.2f %8.2fs %9.1f %8.2fs %9.3f\n", (*a)->name,
		       (*a)->nfeatures, te, te / base, tf, tf / base, tp,
		       (double)right / (double)sp.nte);
		fflush(stdout);
		(*a)->free(model);
		split_free(&sp);
	}
	printf("\n(ratio: time / baseline; test = predicting every test row on one thread)\n");
	for (i = 0; i < n; i++)
		wfb_trace_free(&t[i]);
	free(t);
	free(site);
	free(inst);
	return 0;
}
