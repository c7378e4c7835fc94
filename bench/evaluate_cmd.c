// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench evaluate: the defence x attack table with overheads, over
 * policies, presets and the undefended dataset. Definitions: docs/evaluation.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval_cmd.h"
#include "preset_spec.h"
#include "presets.h"

void wfb_evaluate_usage(FILE *f)
{
	fprintf(f,
		"usage: wfbench evaluate [--policy FILE ...] [--preset NAME ...] [--no-defence]\n"
		"                        --dataset DIR --attacks LIST [--folds K] [-o OUTDIR]\n"
		"\n"
		"Replay the dataset through every defence (wfbench defend), run every attack\n"
		"on each defended dataset (wfbench attack), and print one table: bandwidth\n"
		"and latency overhead, accuracy per attack ± 95%% CI. Plots accuracy against\n"
		"bandwidth overhead when gnuplot is installed. docs/evaluation.md.\n"
		"\n"
		"  -p, --policy FILE      a policy file; more files may follow as arguments\n"
		"  -P, --preset NAME[:key=value,...]  none|padme|front|tamaraw|buflo|regulator,\n"
		"                         parameters as in `defend --preset` (repeatable)\n"
		"  -n, --no-defence       the dataset itself as a baseline (no "
		"replay)\n" EV_COMMON_HELP);
}

static int ev_add_policy(struct ev_run *r, const char *path, struct wfg_compiled_policy *cp)
{
	struct ev_variant *v;
	char name[128];

	if (wfg_policy_load_report(path, cp, stderr))
		return EXIT_BAD;
	ev_policy_name(path, name, sizeof(name));
	v = ev_add(r, name);
	if (!v || ev_policy_sides(v, cp))
		return wfb_fail(r->cmd, -ENOMEM, "out of memory");
	if (v->pool_n)
		printf("%s: a pool of %u defences, each side draws one per episode\n", v->name,
		       v->pool_n);
	if (ev_policy_source(v, path))
		return wfb_fail(r->cmd, -EIO, "cannot read the policy to hash it");
	return 0;
}

static int ev_add_preset(struct ev_run *r, const char *preset)
{
	struct wfg_side_cfg *s = malloc(2 * sizeof(*s));
	static struct wfb_preset_spec sp;
	struct wfg_policy dp;
	struct ev_variant *v;
	char err[256] = "";
	int rc;

	if (!s)
		return wfb_fail(r->cmd, -ENOMEM, "out of memory");
	rc = wfb_preset_spec_parse(preset, &sp, err, sizeof(err));
	if (!rc)
		rc = wfb_preset_spec_sides(&sp, s, &dp, stderr, err, sizeof(err));
	v = rc ? NULL : ev_add(r, preset);
	if (!rc && !v)
		rc = -ENOMEM;
	if (rc) {
		free(s);
		return wfb_fail(r->cmd, rc, err);
	}
	v->side = s;
	snprintf(v->source, sizeof(v->source), "preset %s: %s", sp.name,
		 sp.params[0] ? sp.params : "(no parameters)");
	printf("%s: %s\n", v->name, v->source);
	return 0;
}

static int evaluate_variants(struct ev_run *r, int argc, char **argv, const char **pol, size_t npol,
			     const char **pre, size_t npre, bool nodef)
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
		{ "resume", no_argument, NULL, OPT_RESUME },
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
