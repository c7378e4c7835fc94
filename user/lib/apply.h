/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `policy apply` (and `run`'s reload) with the checks that keep a live shim
 * pair working (docs/policy.md, "Applying a policy live"): a policy whose
 * rules would stop matching defended flows that are still live, or whose key
 * file would change the sending key or drop a key the peer may still send
 * with, is refused unless forced. Then wfg_dp_apply() (the checks attach
 * runs, the atomic swap) and the key file's keys.
 */
#ifndef WFGUARD_USER_APPLY_H
#define WFGUARD_USER_APPLY_H

#include <stddef.h>

#include "loader.h"
#include "policy.h"

/* A flow is live when its last packet is at most this old. */
#define WFG_LIVE_FLOW_NS (120ULL * 1000000000ULL)

/* The first rule of pol that matches flow key k (0-based), or -1. */
int wfg_policy_rule_for(const struct wfg_policy *pol, const struct wfg_flow_key *k);

/*
 * Shim mode: the live flows (seen in the last WFG_LIVE_FLOW_NS) that the
 * active policy's rules match and next's do not. Their number, or -errno; the
 * first few in msg, each with the live rule it matched.
 */
int wfg_dp_flows_orphaned(const struct wfg_dp *dp, const struct wfg_policy *next, char *msg,
			  size_t msglen);

/*
 * Apply cp to the attachment dp, refusing (-EINVAL, nothing changed) what the
 * checks above find unless force. note gets what else was done ("" if
 * nothing), e.g. the key file's spare key loaded.
 */
int wfg_dp_apply_checked(struct wfg_dp *dp, const struct wfg_compiled_policy *cp, int force,
			 char *note, size_t notelen, char *err, size_t errlen);

#endif
