// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Defence search (bench/search.c, search_run.c): derivation is a function of
 * the seed; derived machines compile, and survive the Maybenot string round
 * trip; kept defences (search and combo) satisfy the constraints when their
 * written policy files are simulated again; an interrupted run resumes to the
 * same files without redoing finished candidates.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "policy.h"
#include "search.h"
#include "search_run.h"

#define WFB_TMP_TEMPLATE "/tmp/wfb-search-XXXXXX"
#include "tmpdir.h"

TestSuite(search, .init = make_tmpdir, .fini = rm_tmpdir);

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void world(const char *dir)
{
	struct wfb_gen_opts o = { .sites = 5, .instances = 4, .seed = 9 };
	char err[256];

	cr_assert_eq(wfb_generate(&o, dir, false, err, sizeof(err)), 0, "%s", err);
}

/* Candidate i as its policy text and its Maybenot lines. */
static void texts(uint64_t seed, uint64_t i, const struct wfs_constraints *c, char **pol, char **mb)
{
	struct wfs_defence d;
	char err[256];
	size_t len;

	cr_assert_eq(wfs_derive(seed, i, c, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfs_policy_text(&d, c, "t", pol, &len), 0);
	cr_assert_eq(wfs_maybenot_text(&d, mb, err, sizeof(err)), 0, "%s", err);
	wfs_defence_free(&d);
}

Test(search, derivation_is_a_function_of_seed_and_index)
{
	struct wfs_constraints c;
	char *p1, *m1, *p2, *m2, *p3, *m3;
	uint64_t i;
	unsigned differ = 0;

	wfs_constraints_default(&c);
	for (i = 0; i < 30; i++) {
		/* derived in another order, and with others in between: the same */
		texts(3, 29 - i, &c, &p3, &m3);
		texts(3, i, &c, &p1, &m1);
		texts(3, i, &c, &p2, &m2);
		cr_assert_str_eq(p1, p2, "candidate %llu", (unsigned long long)i);
		cr_assert_str_eq(m1, m2);
		free(p2);
		free(m2);
		texts(4, i, &c, &p2, &m2);
		differ += strcmp(m1, m2) != 0;
		free(p1);
		free(m1);
		free(p2);
		free(m2);
		free(p3);
		free(m3);
	}
	cr_assert_eq(differ, 30, "another seed must give other machines (%u of 30 differ)", differ);
}

Test(search, derived_machines_have_3_to_4_states_and_compile)
{
	struct wfg_compiled_policy *cp = malloc(sizeof(*cp));
	struct wfs_constraints c;
	struct wfs_defence d;
	unsigned states[5] = { 0 }, blocks = 0, k, s;
	char err[256], *pol;
	size_t len;
	uint64_t i;

	wfs_constraints_default(&c);
	for (i = 0; i < 200; i++) {
		cr_assert_eq(wfs_derive(11, i, &c, &d, err, sizeof(err)), 0, "%s", err);
		for (k = 0; k < 2; k++) {
			cr_assert_eq(d.n[k], 1);
			cr_assert(d.m[k][0]->nstates >= 3 && d.m[k][0]->nstates <= 4);
			states[d.m[k][0]->nstates]++;
			for (s = 0; s < d.m[k][0]->nstates; s++) {
				const struct wfg_action_spec *a = d.m[k][0]->states[s].action;

				blocks += a && a->kind == WFG_ACT_BLOCK;
			}
		}
		cr_assert_eq(wfs_policy_text(&d, &c, "t", &pol, &len), 0);
		cr_assert_eq(wfg_policy_load_mem_report("derived", pol, len, cp, stderr), 0,
			     "candidate %llu does not compile:\n%s", (unsigned long long)i, pol);
		free(pol);
		wfs_defence_free(&d);
	}
	cr_assert(states[3] > 50 && states[4] > 50, "3: %u, 4: %u", states[3], states[4]);
	cr_assert_gt(blocks, 0);
	/* blocking: no */
	c.blocking = false;
	for (i = 0; i < 100; i++) {
		cr_assert_eq(wfs_derive(11, i, &c, &d, err, sizeof(err)), 0, "%s", err);
		for (k = 0; k < 2; k++)
			for (s = 0; s < d.m[k][0]->nstates; s++)
				cr_assert(!d.m[k][0]->states[s].action ||
					  d.m[k][0]->states[s].action->kind != WFG_ACT_BLOCK);
		wfs_defence_free(&d);
	}
	free(cp);
}

/* What a side compiles to, from a policy text. */
static void compile_sides(const char *text, struct wfg_side_cfg out[2])
{
	struct wfg_compiled_policy *cp = malloc(sizeof(*cp));

	cr_assert_eq(wfg_policy_load_mem_report("p", text, strlen(text), cp, stderr), 0);
	out[0] = *wfg_policy_side(cp, WFG_ROLE_CLIENT);
	out[1] = *wfg_policy_side(cp, WFG_ROLE_SERVER);
	free(cp);
}

Test(search, maybenot_strings_round_trip_through_the_decoder)
{
	struct wfg_side_cfg *a = malloc(2 * sizeof(*a)), *b = malloc(2 * sizeof(*b));
	struct wfs_constraints c;
	struct wfs_defence d;
	char err[256], *pol, *mb, *pol2, *mb2;
	size_t len;
	uint64_t i;

	wfs_constraints_default(&c);
	for (i = 0; i < 60; i++) {
		texts(5, i, &c, &pol, &mb);
		cr_assert_eq(strncmp(mb, "client 02", 9), 0, "%s", mb);
		/* decoded by wfg_mb_decode, the very machines again */
		cr_assert_eq(wfs_maybenot_parse("mb", mb, &d, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(d.n[0], 1);
		cr_assert_eq(d.n[1], 1);
		cr_assert_eq(wfs_policy_text(&d, &c, "t", &pol2, &len), 0);
		cr_assert_str_eq(pol, pol2, "candidate %llu", (unsigned long long)i);
		cr_assert_eq(wfs_maybenot_text(&d, &mb2, err, sizeof(err)), 0, "%s", err);
		cr_assert_str_eq(mb, mb2);
		/* and the core runs the same tables either way */
		compile_sides(pol, a);
		compile_sides(pol2, b);
		cr_assert_eq(memcmp(a, b, 2 * sizeof(*a)), 0);
		wfs_defence_free(&d);
		free(pol);
		free(mb);
		free(pol2);
		free(mb2);
	}
	free(a);
	free(b);
}

/* The ranges checked here, not by wfs_within: the test must not trust what it tests. */
static bool inside(const struct wfs_constraints *c, const struct wfs_metrics *m)
{
	return m->client_load >= c->client_load.min && m->client_load <= c->client_load.max &&
	       m->server_load >= c->server_load.min && m->server_load <= c->server_load.max &&
	       m->delay >= c->delay.min && m->delay <= c->delay.max;
}

/* Every kept defence of outdir, its policy file re-simulated: within c, as recorded. */
static unsigned check_kept(const char *outdir, const char *dataset, uint64_t seed,
			   const struct wfs_constraints *c, unsigned machines)
{
	char path[512], line[1024], name[32], pol[128], mb[128], *text, *mbt;
	struct wfg_compiled_policy *cp = malloc(sizeof(*cp));
	struct wfs_metrics m, rec;
	struct wfs_defence d;
	struct wfs_env env;
	unsigned long long cand;
	unsigned n = 0;
	char err[512], par[80];
	FILE *f;

	cr_assert_eq(wfs_env_load(dataset, c->env, seed, &env, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/defences.csv", outdir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f)) {
		cr_assert_eq(sscanf(line, "%31[^,],%llu,%lf,%lf,%lf,%79[^,],%127[^,],%127[^,\n]",
				    name, &cand, &rec.client_load, &rec.server_load, &rec.delay,
				    par, pol, mb),
			     8, "%s", line);
		snprintf(path, sizeof(path), "%s/%s", outdir, pol);
		/* what `wfguard policy check` reads */
		cr_assert_eq(wfg_policy_load_report(path, cp, stderr), 0, "%s", path);
		text = slurp(path);
		cr_assert_eq(wfs_simulate(&env, name, text, strlen(text), &m, err, sizeof(err)), 0,
			     "%s", err);
		cr_assert(inside(c, &m), "%s: client %f server %f delay %f", name, m.client_load,
			  m.server_load, m.delay);
		cr_assert_float_eq(m.client_load, rec.client_load, 1e-6);
		cr_assert_float_eq(m.server_load, rec.server_load, 1e-6);
		cr_assert_float_eq(m.delay, rec.delay, 1e-6);
		snprintf(path, sizeof(path), "%s/%s", outdir, mb);
		mbt = slurp(path);
		cr_assert_eq(wfs_maybenot_parse(path, mbt, &d, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(d.n[0], machines);
		cr_assert_eq(d.n[1], machines);
		wfs_defence_free(&d);
		free(mbt);
		free(text);
		n++;
	}
	fclose(f);
	wfs_env_free(&env);
	free(cp);
	return n;
}

static unsigned count_results(const char *outdir, const char *what)
{
	char path[512], line[1024];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/candidates.csv", outdir);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

static void tight(struct wfs_constraints *c)
{
	wfs_constraints_default(c);
	c->env = 6;
	c->client_load = (struct wfs_range){ 0.02, 0.3 };
	c->server_load = (struct wfs_range){ 0, 0.2 };
	c->delay = (struct wfs_range){ 0, 0.05 };
}

Test(search, kept_defences_satisfy_the_constraints_when_simulated_again)
{
	struct wfs_run_opts o = {
		.dataset = tmp_path("w"), .outdir = tmp_path("s"), .seed = 2, .n = 8
	};
	struct wfs_run_report rep;
	char err[512];

	world(o.dataset);
	tight(&o.c);
	cr_assert_eq(wfs_run(&o, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.kept, 8);
	cr_assert_eq(check_kept(o.outdir, o.dataset, o.seed, &o.c, 1), 8);
	/* the constraints did refuse some */
	cr_assert_gt(count_results(o.outdir, ",outside,"), 0);
	cr_assert_eq(count_results(o.outdir, ",kept,"), 8);
}

Test(search, combo_keeps_the_constraints)
{
	struct wfs_run_opts o = {
		.dataset = tmp_path("w"), .outdir = tmp_path("s"), .seed = 2, .n = 6
	};
	struct wfs_run_report rep;
	char err[512];

	world(o.dataset);
	tight(&o.c);
	cr_assert_eq(wfs_run(&o, &rep, err, sizeof(err)), 0, "%s", err);
	o.from = o.outdir;
	o.outdir = tmp_path("c");
	o.n = 4;
	o.seed = 3;
	cr_assert_eq(wfs_run(&o, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.kept, 4);
	cr_assert_eq(check_kept(o.outdir, o.dataset, o.seed, &o.c, 2), 4);
}

static volatile sig_atomic_t stop_flag;

static void stop_after_first_round(uint64_t done, unsigned kept, void *arg)
{
	(void)done;
	(void)kept;
	(void)arg;
	stop_flag = 1;
}

static void same_file(const char *a, const char *b, const char *name)
{
	char pa[512], pb[512], *x, *y;

	snprintf(pa, sizeof(pa), "%s/%s", a, name);
	snprintf(pb, sizeof(pb), "%s/%s", b, name);
	x = slurp(pa);
	y = slurp(pb);
	cr_assert_str_eq(x, y, "%s differs", name);
	free(x);
	free(y);
}

Test(search, an_interrupted_search_resumes_to_the_same_files)
{
	struct wfs_run_opts o = {
		.dataset = tmp_path("w"), .outdir = tmp_path("full"), .seed = 4, .n = 10
	};
	struct wfs_run_report rep;
	char err[512];

	world(o.dataset);
	tight(&o.c);
	cr_assert_eq(wfs_run(&o, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(rep.candidates, 8, "the test needs more than one round");

	o.outdir = tmp_path("cut");
	o.progress = stop_after_first_round;
	o.stop = &stop_flag;
	cr_assert_eq(wfs_run(&o, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert(rep.interrupted);
	/* without --resume, the journal is not overwritten */
	o.progress = NULL;
	stop_flag = 0;
	cr_assert_eq(wfs_run(&o, &rep, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "--resume"), "%s", err);
	/* other settings: refused */
	o.resume = true;
	o.seed = 5;
	cr_assert_eq(wfs_run(&o, &rep, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "other settings"), "%s", err);
	o.seed = 4;
	cr_assert_eq(wfs_run(&o, &rep, err, sizeof(err)), 0, "%s", err);
	cr_assert(!rep.interrupted);
	cr_assert_eq(rep.resumed, 4, "one round of one rank: 4 candidates from the journal");
	same_file(tmp_path("full"), o.outdir, "candidates.csv");
	same_file(tmp_path("full"), o.outdir, "defences.csv");
	same_file(tmp_path("full"), o.outdir, "defences/d00001.yaml");
}

Test(search, constraint_files_report_file_line_column)
{
	struct wfs_constraints c;
	char err[256];
	FILE *f;

	wfs_constraints_default(&c);
	f = fopen(tmp_path("c.txt"), "w");
	fputs("# comment\nclient_load: 0..0.5\nstates: 3..4\nblocking: no\n", f);
	fclose(f);
	cr_assert_eq(wfs_constraints_load(tmp_path("c.txt"), &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_float_eq(c.client_load.max, 0.5, 0);
	cr_assert(!c.blocking);

	f = fopen(tmp_path("c.txt"), "w");
	fputs("delay: 0..0.1\nserver_load: 0.5..0.2\n", f);
	fclose(f);
	cr_assert_eq(wfs_constraints_load(tmp_path("c.txt"), &c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "c.txt:2:14: server_load: expected MIN..MAX"), "%s", err);

	f = fopen(tmp_path("c.txt"), "w");
	fputs("  delya: 0..1\n", f);
	fclose(f);
	cr_assert_eq(wfs_constraints_load(tmp_path("c.txt"), &c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "c.txt:1:3: 'delya': unknown key"), "%s", err);
}

/* A valid machine whose timer re-arms itself forever and sends nothing: cut, not endless. */
Test(search, a_timer_that_loops_forever_is_cut, .timeout = 60)
{
	static const char pol[] = "version: 1\n"
				  "match: [{}]\n"
				  "defence:\n"
				  "  - machine:\n"
				  "      states:\n"
				  "        - name: s0\n"
				  "          on: {normal_sent: tick}\n"
				  "        - name: tick\n"
				  "          action: {type: timer, duration: 1000}\n"
				  "          on: {timer_end: tick}\n";
	struct wfs_constraints c;
	struct wfs_metrics m;
	struct wfs_env env;
	char err[512];

	world(tmp_path("w"));
	wfs_constraints_default(&c);
	cr_assert_eq(wfs_env_load(tmp_path("w"), 2, 1, &env, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfs_simulate(&env, "loop", pol, strlen(pol), &m, err, sizeof(err)), -E2BIG);
	cr_assert(strstr(err, "runaway"), "%s", err);
	wfs_env_free(&env);
}
