/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The command block of tests/progs/core_check.bpf.c, a test program that drives every
 * core entry point inside the kernel so that tests can compare its decisions
 * with the same core compiled in userspace.
 */
#ifndef WFGUARD_CORE_CHECK_H
#define WFGUARD_CORE_CHECK_H

#include "wfguard/core/core.h"

enum wfg_check_op {
	WFG_CHECK_INIT = 0,
	WFG_CHECK_SEND,
	WFG_CHECK_RECV,
	WFG_CHECK_TIMER,
	WFG_CHECK_DIST,	 /* sample dists[arg] n times into out.samples */
	WFG_CHECK_SHAPE, /* out.pad_to = wfg_shape_target(len) */
};

#define WFG_CHECK_SAMPLES 16

struct wfg_check_cmd {
	__u32 op;
	__u32 len;   /* send: packet length; recv: is_padding; dist: table */
	__u32 kind;  /* send: enum wfg_send_kind */
	__u32 flags; /* send: cover flags */
	__u64 now_ns;
	__u32 key[8]; /* init */
	__u64 stream; /* init */
};

struct wfg_check_out {
	struct wfg_decision d;
	__u32 samples[WFG_CHECK_SAMPLES];
	__s32 status;
	__u32 _pad;
};

#endif
