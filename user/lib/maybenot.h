/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maybenot v2 machine strings ("02eNp...") as core machines.
 *
 * A string is "02" + base64 (standard alphabet, padded) of a zlib stream whose
 * content (at most 1 MiB) is the bincode 1.3 encoding (varint integers, little
 * endian) of a Maybenot v2 Machine. docs/maybenot-format.md describes the format
 * byte by byte, the checks and the error messages.
 *
 *   wfg_mb_decode()  string -> struct wfg_mb_machine (syntax and Maybenot's
 *                    validation rules; nothing about the core's limits)
 *   wfg_mb_add()     struct wfg_mb_machine -> one machine of a side builder
 *                    (the core's limits: states, targets, tables per side)
 *   wfg_mb_print()   one line per state, for `wfguard policy check`
 *   wfg_mb_free()
 *
 * Decoding trusts nothing: every read is bounds-checked and every allocation is
 * bounded by the size of the decompressed data.
 */
#ifndef WFGUARD_USER_MAYBENOT_H
#define WFGUARD_USER_MAYBENOT_H

#include <stddef.h>
#include <stdio.h>

#include "wfguard/core/types.h"
#include "dist_build.h"
#include "side_build.h"

/* Maybenot's special transition targets (its STATE_END, STATE_SIGNAL) and limits. */
#define WFG_MB_STATE_END	0xffffffffULL
#define WFG_MB_STATE_SIGNAL	0xfffffffeULL
#define WFG_MB_STATE_MAX	100000	   /* states per machine */
#define WFG_MB_MAX_DECOMPRESSED (1u << 20) /* bytes of bincode */

struct wfg_mb_trans {
	__u64 target; /* state index, WFG_MB_STATE_END or WFG_MB_STATE_SIGNAL */
	double prob;  /* (0, 1]: Maybenot's f32 (exactly), or a policy's number */
};

struct wfg_mb_counter {
	enum wfg_counter_op op; /* WFG_CTR_INCREMENT, _DECREMENT or _SET */
	int has_dist;		/* 0: the value is 1 */
	struct wfg_dist_spec dist;
	int copy; /* use the other counter's value (takes priority over dist) */
};

/* Optional parts are NULL when Maybenot's Option is None. */
struct wfg_mb_state {
	/* kind, bypass, replace, cancel_*, timeout, duration, has_limit, limit
	 * (fields a kind does not have are 0) */
	struct wfg_action_spec *action;
	struct wfg_mb_counter *counter[2]; /* A, B */
	/* per event, numbered as enum wfg_event; ntrans[e] == 0 <=> trans[e] == NULL */
	struct wfg_mb_trans *trans[WFG_EV_COUNT];
	__u32 ntrans[WFG_EV_COUNT];
};

/*
 * A machine before it is placed in a side: what a string decodes to, and what
 * the policy compiler builds an inline machine into (kept for printing and tests).
 */
struct wfg_mb_machine {
	struct wfg_machine_limits limits; /* fractions 0..1, microseconds, as Maybenot */
	__u32 nstates;			  /* 1..WFG_MB_STATE_MAX */
	struct wfg_mb_state *states;
};

/*
 * Decode and validate a machine string (surrounding ASCII whitespace ignored).
 * Returns 0 and *out (free with wfg_mb_free), or -EINVAL (-ENOMEM) with a
 * one-line reason in err, e.g.
 *   not a v2 machine (prefix must be "02")
 *   base64: invalid character '-' at 17         (offset in the string)
 *   zlib: incorrect data check
 *   byte 53: unknown distribution type 14 (state 1, action timeout)
 *                                               (offset in the decompressed data)
 *   byte 108: trailing bytes after machine (3 left)
 *   state 1, NormalSent: target 7 does not exist
 *   state 0, TunnelRecv: probabilities sum to 1.2
 */
int wfg_mb_decode(const char *str, struct wfg_mb_machine **out, char *err, size_t errlen);

void wfg_mb_free(struct wfg_mb_machine *m);

/*
 * The inverse of wfg_mb_decode (maybenot_encode.c): the machine as a v2 string
 * (bincode, zlib at the best level, base64), malloc'd into *out. Probabilities
 * are written as Maybenot's f32. Returns 0 or -errno with the reason in err.
 */
int wfg_mb_encode(const struct wfg_mb_machine *m, char **out, char *err, size_t errlen);

/*
 * Add the machine to a side being built: wfg_sb_machine() with its limits, then
 * its states in order (the machine's state indexes are the builder's state
 * indexes), actions, counters and transitions (END/SIGNAL become
 * WFG_STATE_END/WFG_STATE_SIGNAL). Returns the machine index or a negative
 * errno with the reason in sb->err (E2BIG when the machine exceeds what one
 * side of the core holds). The caller still runs wfg_sb_finish().
 *
 * who names the machine in the reasons ("Maybenot state 3: ..."), and has
 * what one side holds checked up front so that the reason speaks of the whole
 * machine. NULL: the builder's reasons as they are (the policy compiler
 * reports them at the machine's element).
 */
int wfg_machine_add(struct wfg_side_builder *sb, const struct wfg_mb_machine *m, const char *who);

/* A decoded machine string: wfg_machine_add(sb, m, "Maybenot"). */
int wfg_mb_add(struct wfg_side_builder *sb, const struct wfg_mb_machine *m);

/* A human summary: one line of limits, then one line per state. */
void wfg_mb_print(FILE *f, const struct wfg_mb_machine *m);

/* "NormalRecv", ... (NULL if out of range): wfg_event_name() of events.h. */
const char *wfg_mb_event_name(unsigned ev);

#endif
