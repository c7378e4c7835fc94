// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench search and wfbench combo: the command lines of search_run.h.
 * docs/search.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "eval_cmd.h"
#include "par.h"
#include "search_run.h"

#define SEARCH_COMMON_HELP                                                                     \
	"  -d, --dataset DIR      the traces; the environment is env of its monitored ones\n"  \
	"  -n, --count N          defences to keep (default 10)\n"                             \
	"  -S, --seed S           the derivation and the replay streams (default 1)\n"         \
	"  -c, --constraints FILE overhead ranges and derivation settings (docs/search.md);\n" \
	"                         default: client_load 0..1, server_load 0..1, delay\n"        \
	"                         0..0.3, states 3..4, blocking yes, env 20,\n"                \
	"                         padding_size 1400, tries 50\n"                               \
	"  -o, --output DIR       results (default wfbench-search): defences.csv,\n"           \
	"                         defences/NAME.yaml (policies), defences/NAME.mb (Maybenot\n" \
	"                         strings), candidates.csv, constraints.txt, journal.txt\n"    \
	"      --resume           continue the run whose journal is in DIR (after Ctrl-C or\n" \
	"                         a killed rank): finished candidates are not done again\n"    \
	"  -h, --help             this text\n"                                                 \
	"\n"                                                                                   \
	"The result is the first N candidates (in candidate order) within the\n"               \
	"constraints, at most tries * N candidates looked at; the same with any number\n"      \
	"of MPI ranks (mpirun -np K wfbench ...; docs/cluster.md).\n"

void wfb_search_usage(FILE *f)
{
	fprintf(f, "usage: wfbench search --dataset DIR [-n N] [--seed S] [--constraints FILE]\n"
		   "                      [-o DIR] [--resume]\n"
		   "\n"
		   "Derive random defences (a Maybenot machine per side: 3-4 states, padding,\n"
		   "blocking and timers, limits) from the seed, simulate each on a small\n"
		   "environment of the dataset's traces with the shared core, and keep those\n"
		   "whose client load, server load and delay fall within the constraints.\n"
		   "Every kept defence is a policy file (`wfguard policy check` it) and\n"
		   "Maybenot v2 strings.\n"
		   "\n" SEARCH_COMMON_HELP);
}

void wfb_combo_usage(FILE *f)
{
	fprintf(f, "usage: wfbench combo --from DIR --dataset DIR [-n N] [--seed S]\n"
		   "                     [--constraints FILE] [-o DIR] [--resume]\n"
		   "\n"
		   "Stack two different kept defences of a search (or combo) run into one (the\n"
		   "machines of both, per side) and keep the stacks within the constraints,\n"
		   "simulated as `search` does. Pairs are drawn from the seed.\n"
		   "\n"
		   "  -f, --from DIR         a search or combo output (its defences.csv)\n"
		   "" SEARCH_COMMON_HELP);
}

static void search_progress(uint64_t done, unsigned kept, void *arg)
{
	fprintf(stderr, "\r%s: %llu candidates, %u kept   ", (const char *)arg,
		(unsigned long long)done, kept);
}

static int search_main(const char *cmdname, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dataset", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 'S' },
		{ "constraints", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'f' },
		{ "resume", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = wfb_find_cmd(cmdname);
	bool combo = cmdname[0] == 'c';
	struct wfs_run_opts o = { .outdir = combo ? "wfbench-combo" : "wfbench-search",
				  .seed = 1,
				  .n = 10 };
	const char *cfile = NULL;
	struct wfs_run_report rep;
	char err[512] = "";
	uint64_t v;
	int opt, rc;

	wfs_constraints_default(&o.c);
	optind = 1;
	while ((opt = getopt_long(argc, argv, combo ? "d:n:S:c:o:f:h" : "d:n:S:c:o:h", lo, NULL)) !=
	       -1) {
		switch (opt) {
		case 'd':
			o.dataset = optarg;
			break;
		case 'n':
			if (wfb_parse_u64(optarg, 100000, &v) || !v)
				return wfb_bad_usage(self, "-n: 1..100000 defences, not '%s'",
						     optarg);
			o.n = (unsigned)v;
			break;
		case 'S':
			if (wfb_parse_u64(optarg, UINT64_MAX, &o.seed))
				return wfb_bad_usage(self, "--seed: a number, not '%s'", optarg);
			break;
		case 'c':
			cfile = optarg;
			break;
		case 'o':
			o.outdir = optarg;
			break;
		case 'f':
			if (!combo)
				return wfb_bad_usage(self, "%s", "--from is combo's");
			o.from = optarg;
			break;
		case 'R':
			o.resume = true;
			break;
		case 'h':
			self->usage(stdout);
			return 0;
		default:
			self->usage(stderr);
			return EXIT_BAD;
		}
	}
	if (optind != argc)
		return wfb_bad_usage(self, "unexpected argument '%s'", argv[optind]);
	if (!o.dataset)
		return wfb_bad_usage(self, "%s", "--dataset DIR is required");
	if (combo && !o.from)
		return wfb_bad_usage(self, "%s", "--from DIR (a search's output) is required");
	if (cfile && (rc = wfs_constraints_load(cfile, &o.c, err, sizeof(err))))
		return wfb_fail(cmdname, rc, err);
	if (isatty(STDERR_FILENO) && wfb_par_leader()) {
		o.progress = search_progress;
		o.progress_arg = (void *)cmdname;
	}
	ev_catch_sigint();
	o.stop = &ev_stop;
	rc = wfs_run(&o, &rep, err, sizeof(err));
	if (o.progress)
		fputs("\r\033[K", stderr);
	if (rc)
		return wfb_fail(cmdname, rc, err);
	if (rep.interrupted) {
		fprintf(stderr,
			"wfbench %s: interrupted after %llu candidates; `wfbench %s ... --resume` "
			"continues from %s/journal.txt\n",
			cmdname, (unsigned long long)rep.candidates, cmdname, o.outdir);
		return 130;
	}
	printf("%s: %llu candidates (%llu from the journal), %u kept within the constraints "
	       "(%s); %s/defences.csv\n",
	       cmdname, (unsigned long long)rep.candidates, (unsigned long long)rep.resumed,
	       rep.kept, wfb_par()->name, o.outdir);
	if (rep.kept < o.n)
		fprintf(stderr,
			"wfbench %s: only %u of %u found within %u x %u candidates: widen the "
			"constraints or raise tries\n",
			cmdname, rep.kept, o.n, o.c.tries, o.n);
	return 0;
}

int wfb_cmd_search(int argc, char **argv)
{
	return search_main("search", argc, argv);
}

int wfb_cmd_combo(int argc, char **argv)
{
	return search_main("combo", argc, argv);
}
