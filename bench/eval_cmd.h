/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What wfbench's evaluation commands share (attack_cmd.c, evaluate_cmd.c,
 * sweep_cmd.c): the options common to all three, the evaluate/sweep run
 * (eval_cmd.c: replay each variant, attack it, collect rows) and the report
 * writers (eval_report.c: table, CSV, JSON, plot). Private to these files;
 * the commands' entry points are in cli.h. Definitions: docs/evaluation.md.
 */
#ifndef WFBENCH_EVAL_CMD_H
#define WFBENCH_EVAL_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "attacks.h"
#include "cli.h"
#include "defend.h"
#include "eval.h"
#include "policy.h"

#define EV_MAX_ATTACKS 8

/* Options shared by attack, evaluate and sweep. */
struct ev_common {
	const char *dataset;
	const struct wfa_attack *att[EV_MAX_ATTACKS];
	unsigned natt;
	struct wfe_cv_opts cv;
	bool folds_set;		 /* --folds given: too large is refused, not adapted */
	char dataset_sha256[65]; /* of its manifest: the dataset's identity (ev_plan) */
};

enum { OPT_R = 1000, OPT_PARAMS, OPT_SEQLEN, OPT_JSON, OPT_DELAY, OPT_BW, OPT_NODEF, OPT_RESUME };

void ev_common_init(struct ev_common *c);
int ev_parse_attacks(const struct cmd *self, const char *list, struct ev_common *c);
/* One shared option; returns 0 when handled, 1 when not ours, or a usage exit code + 1. */
int ev_common_opt(const struct cmd *self, int opt, struct ev_common *c);

/* Set by the first Ctrl-C (ev_catch_sigint); the work stops after its current step. */
extern volatile sig_atomic_t ev_stop;
void ev_catch_sigint(void);
void ev_fold_progress(unsigned done, unsigned folds, void *arg);
void ev_fit_progress(unsigned fold, unsigned folds, size_t done, size_t total, void *arg);
/*
 * Before any work starts: the dataset's class sizes against the folds (the
 * default adapts down to the smallest class, with a note; a --folds too large
 * is refused with what to pass) and every attack's parameters against the
 * training sets' shape (wfa_attack.check). 0 or an exit code.
 */
int ev_plan(const struct cmd *self, struct ev_common *c);

/* ---------------------------------------------------------------- evaluate, sweep */

#define EV_MAX_VARIANTS 1000
#define EV_MAX_PARAMS	8

/* One defence to evaluate: a policy, a preset, a sweep point, or none at all. */
struct ev_variant {
	char name[128];		   /* in the table, the CSV and the plot */
	char dir[64];		   /* OUTDIR/defended/DIR */
	struct wfg_side_cfg *side; /* [client, server]; NULL: the dataset as it is */
	/* a policy's pool of defences (docs/policy.md, "pool"), [entry][side]; or NULL */
	struct wfg_side_cfg (*pool)[2];
	__u32 pool_n;
	double pv[EV_MAX_PARAMS]; /* sweep: the parameters' values */
	/* What reproduces it: "preset NAME: every parameter", "policy PATH sha256 HEX" */
	char source[1200];
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
	bool resume;	       /* --resume: continue OUTDIR/journal.txt */
	FILE *journal;	       /* rank 0 (eval_journal.c) */
	struct ev_unit *units; /* per variant: its results once done (any rank's) */
};

/*
 * A variant's results, as a rank hands them to the others (par.h: fixed size,
 * sent as bytes) and as the journal keeps them.
 */
struct ev_unit {
	int32_t rc;	/* 0, or what failed (err) */
	uint32_t done;	/* 1: every attack of the variant completed */
	double bw, lat; /* its overheads */
	struct ev_row rows[EV_MAX_ATTACKS];
	char err[256];
};

/* OUTDIR/journal.txt (eval_journal.c): rank 0 reads it on --resume (refusing a
 * journal of other settings) or starts it afresh, then adds each done variant. */
int ev_journal_open(struct ev_run *r, char *err, size_t errlen);
void ev_journal_add(struct ev_run *r, size_t i);

#define EV_COMMON_HELP                                                                         \
	"  -d, --dataset DIR      the undefended dataset\n"                                    \
	"  -a, --attacks LIST     attacks, comma-separated (knn,cumul,kfp)\n"                  \
	"  -k, --folds K          stratified folds, 2..100 (default 10)\n"                     \
	"  -w, --open-world       add the unmonitored traces; the CSV gets TPR, FPR, ...\n"    \
	"      --r R              r of r-precision (default 10)\n"                             \
	"  -S, --seed S           the defences' streams, folds and attacks (default 1)\n"      \
	"  -j, --jobs N           threads (default: all cores); results are the same\n"        \
	"      --delay MS         one-way delay of the replay (default 20)\n"                  \
	"      --bandwidth MBIT   per-direction bottleneck of the replay (default: none)\n"    \
	"  -o, --output OUTDIR    results (default wfbench-results): defended/NNN (the\n"      \
	"                         defended datasets), results.csv, results.json, plot.gp,\n"   \
	"                         plot-ATTACK.dat, accuracy-vs-bandwidth.svg (with gnuplot)\n" \
	"      --resume           continue the run in OUTDIR (journal.txt): points already\n"  \
	"                         done are not done again\n"                                   \
	"  -h, --help             this text\n"                                                 \
	"\n"                                                                                   \
	"results.csv and results.json are rewritten as each defence completes (all its\n"      \
	"attacks); Ctrl-C stops after the current step (twice: now); --resume goes on.\n"      \
	"Under mpirun -np K the defences are shared by K ranks: the same files\n"              \
	"(docs/cluster.md).\n"

void ev_init(struct ev_run *r, const char *cmd);
void ev_free(struct ev_run *r);
struct ev_variant *ev_add(struct ev_run *r, const char *name);
int ev_sides(struct ev_variant *v, const struct wfg_side_cfg *cli, const struct wfg_side_cfg *srv);
/* A compiled policy's sides, and its pool, which the variant takes over (cp has none after). */
int ev_policy_sides(struct ev_variant *v, struct wfg_compiled_policy *cp);
/* v->source = "policy PATH sha256 HEX"; -EIO if the file cannot be read. */
int ev_policy_source(struct ev_variant *v, const char *path);
/* The policy file's name without directory and extension. */
void ev_policy_name(const char *path, char *buf, size_t len);
int ev_opt(const struct cmd *self, int opt, struct ev_run *r);
int ev_check(const struct cmd *self, struct ev_run *r);
/* OUTDIR/name into buf; -ENAMETOOLONG. */
int ev_path(const struct ev_run *r, const char *name, char *buf, size_t len);
/* Every variant through every attack; rows are written as they complete. */
int ev_run_all(struct ev_run *r);

/* ---------------------------------------------------------------- reports (eval_report.c) */

void ev_print_attack_table(const struct ev_common *c, const struct wfa_attack *a,
			   const struct wfe_data *d, const struct wfe_result *r);
void ev_print_attack_json(const struct ev_common *c, const struct wfa_attack *a,
			  const struct wfe_data *d, const struct wfe_result *r);
void ev_csv_header(struct ev_run *r);
void ev_csv_row(struct ev_run *r, const struct ev_row *w);
/* results.json with every completed row, replaced atomically after each one. */
int ev_write_json(const struct ev_run *r);
void ev_table(const struct ev_run *r);
/* plot.gp and its data; the SVG (and PNG) when gnuplot is on PATH. */
void ev_plot(const struct ev_run *r, bool sweep);

#endif /* WFBENCH_EVAL_CMD_H */
