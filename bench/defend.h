/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Defending a whole dataset in parallel, deterministically (see defend.c). */
#ifndef WFBENCH_DEFEND_H
#define WFBENCH_DEFEND_H

#include <stdbool.h>

#include "dataset.h"
#include "replay.h"
#include "wfguard/datapath.h"

struct wfb_defend_opts {
	struct wfb_replay_opts replay; /* trace_index is set per trace */
	unsigned jobs;		       /* threads; 0 = 1 */
	bool force;		       /* replace an existing output dataset */
	const char *policy_name;       /* recorded in the output's manifest */
	/*
	 * Recorded too (meta.KEY=VALUE), beside what defend records itself (the
	 * input and its manifest's SHA-256, the replay's every parameter): the
	 * tool's version and commit, the policy's path and hash or the preset's
	 * parameters. Pairs key, value; nmeta pairs.
	 */
	const char *const *meta;
	size_t nmeta;
	void (*progress)(size_t done, size_t total, void *arg);
	void *progress_arg;
};

/*
 * Fit both sides of a policy to the device the data path would run on, as
 * `wfguard attach` does (wfg_policy_mtu_limit(): the mode and rules of dp
 * decide; a lower `limit` stays), and set the replay's mode and MTU to match.
 * mtu 0: WFB_TUNNEL_MTU in tunnel mode, WFB_SHIM_MTU in shim mode.
 */
void wfb_defend_fit(const struct wfg_policy *dp, struct wfg_side_cfg sides[2], uint32_t mtu,
		    struct wfb_replay_opts *r);

/* The replay's parameters as one line ("delay_ns=20000000 bandwidth_mbit=0 ..."). */
void wfb_replay_params_text(const struct wfb_replay_opts *r, char *buf, size_t len);

/* Replay every trace of `dataset` into the dataset `outdir` (written atomically). */
int wfb_defend(const struct wfg_side_cfg *cli, const struct wfg_side_cfg *srv, const char *dataset,
	       const char *outdir, const struct wfb_defend_opts *o, struct wfb_overhead *total,
	       char *err, size_t errlen);

#endif
