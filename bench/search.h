/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Defence search (wfbench search, combo): random Maybenot machines derived
 * from a seed, simulated with the shared core on a small environment of
 * traces, kept when their overheads fall within constraints. docs/search.md
 * states the derivation, the constraints and the measures.
 *
 * A defence is a list of machines per side. It becomes a policy file (inline
 * machines, what wfguard attaches) and one Maybenot v2 string per machine;
 * it is simulated through that very policy text, so what was measured is
 * what the data path would run.
 *
 * Library code: no printing; 0 or -errno with one line in err.
 */
#ifndef WFBENCH_SEARCH_H
#define WFBENCH_SEARCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "maybenot.h"
#include "replay.h"

/* A closed interval of an overhead (a fraction: 0.5 is 50%). */
struct wfs_range {
	double min, max;
};

struct wfs_constraints {
	struct wfs_range client_load;	 /* client->server bytes: defended / original - 1 */
	struct wfs_range server_load;	 /* server->client bytes: defended / original - 1 */
	struct wfs_range delay;		 /* latency overhead (docs/replay.md) */
	unsigned states_min, states_max; /* states per derived machine */
	bool blocking;			 /* derived machines may block outgoing traffic */
	unsigned env;			 /* traces in the simulation environment */
	uint32_t padding_size;		 /* bytes of a padding packet (the policy's cover_size) */
	unsigned tries;			 /* at most tries * n candidates per search */
};

void wfs_constraints_default(struct wfs_constraints *c);
/*
 * "key: value" lines ('#' comments): client_load, server_load and delay take
 * MIN..MAX (fractions), states MIN..MAX, blocking yes|no, env, padding_size
 * and tries numbers. Keys not given keep their defaults. Errors are
 * "file:line:col: what".
 */
int wfs_constraints_load(const char *path, struct wfs_constraints *c, char *err, size_t errlen);
/* The constraints in the file format, loadable again. */
void wfs_constraints_write(FILE *f, const struct wfs_constraints *c);
/* Within every range (inclusive). */
struct wfs_metrics;
bool wfs_within(const struct wfs_constraints *c, const struct wfs_metrics *m);

/* ---------------------------------------------------------------- defences */

struct wfs_defence {
	struct wfg_mb_machine *m[2][WFG_MAX_MACHINES]; /* [0] client, [1] server */
	unsigned n[2];
};

void wfs_defence_free(struct wfs_defence *d);

/*
 * Candidate `index` of the search with `seed`: one machine per side, each of
 * states_min..states_max states (a start state, then padding, and blocking
 * or timer states), limits and budgets, all drawn from a stream keyed by
 * (seed, index, side) only: the same defence whatever else is derived.
 */
int wfs_derive(uint64_t seed, uint64_t index, const struct wfs_constraints *c,
	       struct wfs_defence *d, char *err, size_t errlen);

/*
 * Stack two defences: a's machines then b's, per side (at most
 * WFG_MAX_MACHINES a side: -E2BIG). The machines are copied.
 */
int wfs_stack(const struct wfs_defence *a, const struct wfs_defence *b, struct wfs_defence *out,
	      char *err, size_t errlen);

/* Combo candidate `index`: two different defences a, b of m (m >= 2), from (seed, index). */
void wfs_combo_pick(uint64_t seed, uint64_t index, unsigned m, unsigned *a, unsigned *b);

/*
 * The defence as a policy file (malloc'd, NUL-terminated): version 1, role
 * server, every UDP flow, the key file /etc/wfguard/keys, cover_size, and the
 * machines inline (side: client / server). `title` becomes the first comment.
 */
int wfs_policy_text(const struct wfs_defence *d, const struct wfs_constraints *c, const char *title,
		    char **text, size_t *len);

/* "client 02..." and "server 02..." lines, one a machine (malloc'd). */
int wfs_maybenot_text(const struct wfs_defence *d, char **text, char *err, size_t errlen);
/* Those lines back into a defence (wfg_mb_decode); errors "name:line: reason". */
int wfs_maybenot_parse(const char *name, const char *text, struct wfs_defence *d, char *err,
		       size_t errlen);

/* ---------------------------------------------------------------- simulation */

/* The environment: a few traces of the dataset, in memory. */
struct wfs_env {
	struct wfb_trace *t;
	size_t *index; /* each trace's position in the dataset (its replay stream) */
	size_t n;
	struct wfb_replay_opts replay;
};

/*
 * n traces spread evenly over the dataset's monitored traces (positions
 * i * monitored / n): the same environment for every seed. Replay options
 * as evaluate's defaults (20 ms one-way, no bottleneck), streams from seed.
 */
int wfs_env_load(const char *dataset, unsigned n, uint64_t seed, struct wfs_env *e, char *err,
		 size_t errlen);
void wfs_env_free(struct wfs_env *e);

struct wfs_metrics {
	double client_load, server_load, delay;
};

/*
 * Compile the policy text (errors as "name:line:col: ...") and replay the
 * environment through both its sides; the overheads summed over the traces.
 */
int wfs_simulate(const struct wfs_env *e, const char *name, const char *text, size_t len,
		 struct wfs_metrics *m, char *err, size_t errlen);

#endif /* WFBENCH_SEARCH_H */
