/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Policy files: YAML (libyaml) compiled into what the data path and the
 * harness run. docs/policy.md is the reference for the schema, its semantics
 * and the checks; this is the only implementation.
 *
 * Nothing is half-applied: a policy with any error compiles to nothing, and
 * the caller's struct is left as it was. Every error found is reported (not
 * just the first), each as "file:line:col: message", sorted by position.
 */
#ifndef WFGUARD_USER_POLICY_H
#define WFGUARD_USER_POLICY_H

#include <stddef.h>
#include <stdio.h>

#include "wfguard/datapath.h"
#include "presets.h"

#define WFG_POLICY_MAX_DIAGS 64
#define WFG_POLICY_MAX_BYTES (1u << 20) /* larger files are refused */

struct wfg_diag {
	char msg[256]; /* "file:line:col: message" (line and column from 1) */
};

struct wfg_diags {
	int n;
	struct wfg_diag d[WFG_POLICY_MAX_DIAGS];
	int truncated; /* more errors were found than fit */
};

/*
 * A policy's episode time when it names none (docs/policy.md, "episode"):
 * longer than the pauses inside one page load, shorter than the time a person
 * spends on a page before the next.
 */
#define WFG_EPISODE_IDLE_DEFAULT_MS 3000

struct wfg_compiled_policy {
	/* What the data path reads: rules, profile, quic_dcid_len, role, and in
	 * dp.side the side this host runs. */
	struct wfg_policy dp;
	struct wfg_side_cfg peer; /* the other side (for the harness): wfg_policy_side() */
	enum wfg_role role;	  /* which side this host runs (`role:`, default server) */
	char keys_path[256];	  /* shim key file ("" if none); relative paths are
				   * resolved against the policy file's directory */
	__u32 max_flows;	  /* flow table bound */
	char summary[2048];	  /* human summary for `wfguard policy check` */
	/*
	 * A pool of defences (`pool:`, docs/policy.md): pool_n entries (0: no
	 * pool), pool[i][role] both sides of entry i, dp.side and peer entry 0;
	 * dp.pool_size is pool_n. On the heap: wfg_policy_release() frees it.
	 */
	__u32 pool_n;
	struct wfg_side_cfg (*pool)[2];
};

/*
 * Parse and compile the policy file at path. Returns 0, -EINVAL when the
 * policy has errors (all of them in diags), or another negative errno when
 * the file cannot be read (-ENOENT, -EFBIG, ...; one diag "file: reason") or
 * memory runs out. On any error *out is untouched. diags may be NULL.
 *
 * struct wfg_compiled_policy is large (~290 KB): allocate it on the heap or
 * make it static.
 */
int wfg_policy_load(const char *path, struct wfg_compiled_policy *out, struct wfg_diags *diags);

/* The same from memory; name is used in the messages. Relative key paths stay as written. */
int wfg_policy_load_mem(const char *name, const char *text, size_t len,
			struct wfg_compiled_policy *out, struct wfg_diags *diags);

/*
 * wfg_policy_load() for the programs: on an error, its diagnostics go to err,
 * one a line ("file:line:col: message"), then "file: more errors not shown"
 * when there were more than fit. Returns what wfg_policy_load() returns.
 */
int wfg_policy_load_report(const char *path, struct wfg_compiled_policy *out, FILE *err);

/* The same from memory (wfg_policy_load_mem()). */
int wfg_policy_load_mem_report(const char *name, const char *text, size_t len,
			       struct wfg_compiled_policy *out, FILE *err);

/* Free what a loaded policy holds on the heap (its pool); the struct stays
 * usable as a policy without a pool. */
void wfg_policy_release(struct wfg_compiled_policy *p);

/* The side `role` runs: dp.side for p->role, the peer side for the other. */
struct wfg_side_cfg *wfg_policy_side(struct wfg_compiled_policy *p, enum wfg_role role);

/* One match rule on one line, as `policy check` prints it ("IPv4, local any
 * port any, remote any port 4433"). */
void wfg_rule_describe(const struct wfg_rule *r, char *buf, size_t len);

/*
 * Run `role` on this host: sets p->role, moves side `role` into dp.side (the
 * other into peer) and records the role in dp.role for capture.
 */
void wfg_policy_for_role(struct wfg_compiled_policy *p, enum wfg_role role);

#endif
