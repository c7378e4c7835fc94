/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What wfbench's command files share (wfbench.c holds the table and main;
 * play_cmd.c, attack_cmd.c, evaluate_cmd.c and sweep_cmd.c hold commands):
 * the command record and the error/usage helpers. Exit codes: 0 success,
 * 1 bad input or usage, 2 internal.
 */
#ifndef WFBENCH_CLI_H
#define WFBENCH_CLI_H

#include <stdio.h>

#define EXIT_BAD      1
#define EXIT_INTERNAL 2

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *f);
	const char *summary;
};

const struct cmd *wfb_find_cmd(const char *name);
/* "wfbench VERSION (commit C)", recorded in what the commands write; main sets it. */
extern const char *wfb_tool;
/* "wfbench CMD: err" (or strerror(-rc)) on stderr; the exit code for rc. */
int wfb_fail(const char *cmd, int rc, const char *err);
/* "wfbench CMD: <fmt with arg> (see wfbench CMD --help)"; EXIT_BAD. */
int wfb_bad_usage(const struct cmd *c, const char *fmt, const char *arg);

/* attack_cmd.c, evaluate_cmd.c, sweep_cmd.c: cross-validation, the policy x attack
 * table, sweeps (what they share: eval_cmd.h) */
int wfb_cmd_attack(int argc, char **argv);
void wfb_attack_usage(FILE *f);
int wfb_cmd_evaluate(int argc, char **argv);
void wfb_evaluate_usage(FILE *f);
int wfb_cmd_sweep(int argc, char **argv);
void wfb_sweep_usage(FILE *f);

/* search_cmd.c: defence search and combination (search_run.h, docs/search.md) */
int wfb_cmd_search(int argc, char **argv);
void wfb_search_usage(FILE *f);
int wfb_cmd_combo(int argc, char **argv);
void wfb_combo_usage(FILE *f);

/* observe_cmd.c: the observer classifier on a capture (observe.h) */
int wfb_observe_cmd(int argc, char **argv);
void wfb_observe_usage(FILE *f);

#endif
