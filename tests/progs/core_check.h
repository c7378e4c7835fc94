/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The command block of tests/progs/core_check.bpf.c, a test program that drives every
 * core entry point inside the kernel so that tests can compare its decisions
 * with the same core compiled in userspace.
 */
#ifndef WFGUARD_CORE_CHECK_H
#define WFGUARD_CORE_CHECK_H

#include "wfguard/core/core.h"

/*
 * What one test run does: a core entry point (cmd.op < WFG_OP__COUNT, enum
 * wfg_core_op: wfg_begin() with cmd.len and cmd.flags, stepped under
 * bpf_loop()), or one of these.
 */
enum wfg_check_op {
	WFG_CHECK_INIT = WFG_OP__COUNT, /* wfg_flow_init(key, stream) */
	WFG_CHECK_DIST,			/* sample dists[len] n times into out.samples */
	WFG_CHECK_SHAPE,		/* out.d.pad_to = wfg_shape_target(len) */
	WFG_CHECK_WIRE, /* the wire helpers on out.d as it stands (see struct wfg_check_out) */
};

#define WFG_CHECK_SAMPLES 16

struct wfg_check_cmd {
	__u32 op;    /* enum wfg_core_op or enum wfg_check_op */
	__u32 len;   /* send: the length the core sizes; dist: table; shape, wire: packet length */
	__u32 arg;   /* wire: the core op whose lengths to compute */
	__u32 flags; /* cover send: cover flags; wire: enum wfg_mode */
	__u64 now_ns;
	__u32 key[8]; /* init */
	__u64 stream; /* init */
};

/* WFG_CHECK_WIRE's answers, in out.samples[] */
enum wfg_check_wire {
	WFG_CHECK_WIRE_CORE,	 /* wfg_wire_core_len(mode, cfg, arg, len) */
	WFG_CHECK_WIRE_LEN,	 /* wfg_wire_len(mode, cfg, arg, len, &out.d) */
	WFG_CHECK_WIRE_OBSERVED, /* wfg_wire_observed_len(mode, that, WFG_CHECK_WIRE_MTU) */
};
#define WFG_CHECK_WIRE_MTU 1420

struct wfg_check_out {
	struct wfg_decision d;
	__u32 samples[WFG_CHECK_SAMPLES];
	__s32 status;
	__u32 _pad;
};

#endif
