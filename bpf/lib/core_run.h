/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Running the core's event loop inside a BPF program: one event per bpf_loop
 * iteration, so the verifier checks the step once instead of unrolling the
 * whole loop. Callers do wfg_begin_*() first.
 */
#ifndef WFGUARD_BPF_LIB_CORE_RUN_H
#define WFGUARD_BPF_LIB_CORE_RUN_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "wfguard/core/core.h"

struct wfg_run_ctx {
	const struct wfg_side_cfg *cfg;
	struct wfg_flow_side *side;
	struct wfg_decision *d;
};

static long wfg_step_cb(__u32 i, void *data)
{
	struct wfg_run_ctx *rc = data;

	return wfg_step(rc->cfg, rc->side, rc->d) ? 0 : 1;
}

static __always_inline void wfg_bpf_run(const struct wfg_side_cfg *cfg, struct wfg_flow_side *side,
					struct wfg_decision *d)
{
	struct wfg_run_ctx rc = { .cfg = cfg, .side = side, .d = d };

	bpf_loop(WFG_MAX_STEPS, wfg_step_cb, &rc, 0);
	wfg_finish(cfg, side, d);
}

#endif
