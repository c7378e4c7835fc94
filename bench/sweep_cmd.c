// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench sweep: a policy evaluated at every point of a parameter grid
 * (trade-off curves). Definitions: docs/evaluation.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_cmd.h"

void wfb_sweep_usage(FILE *f)
{
	fprintf(f,
		"usage: wfbench sweep --policy FILE --param NAME=FROM:TO:STEP [--param ...]\n"
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
		"  -x, --param SPEC       NAME=FROM:TO:STEP, TO included (repeatable, up to "
		"%d)\n" EV_COMMON_HELP,
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

	ev_policy_name(policy, base, sizeof(base));
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
			off += (size_t)snprintf(
				name + off, off < sizeof(name) ? sizeof(name) - off : 0,
				"%s%s=%.6g", i ? " " : "", leaf ? leaf + 1 : r->pname[i], pv[i]);
			if (off >= sizeof(name))
				off = sizeof(name) - 1;
		}
		rc = sweep_text(r, text, len, pv, &out, &outlen, err, sizeof(err));
		if (rc)
			break;
		snprintf(err, sizeof(err), "%s[%s]", base, name);
		if (wfg_policy_load_mem_report(err, out, outlen, cp, stderr)) {
			snprintf(err, sizeof(err), "%s: the policy rejects the point %s", policy,
				 name);
			rc = -EINVAL;
		}
		free(out);
		v = rc ? NULL : ev_add(r, name);
		if (!rc && (!v || ev_policy_sides(v, cp)))
			rc = -ENOMEM;
		if (!rc && ev_policy_source(v, policy)) {
			snprintf(err, sizeof(err), "%s: cannot read it to hash it", policy);
			rc = -EIO;
		}
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
		{ "resume", no_argument, NULL, OPT_RESUME },
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
		rc = wfb_bad_usage(self, "%s",
				   "--policy FILE and at least one --param are required");
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
