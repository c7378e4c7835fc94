/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ephemeral defences: a policy may hold a pool of defences, and every episode
 * of a flow runs one of them, drawn with the flow's own decision stream
 * (docs/policy.md, "pool"). The draw is part of the core so that the data path
 * and the harness draw the same entry for the same flow and seed.
 *
 * A caller with a pool of n defences (each a struct wfg_side_cfg) does:
 *
 *   wfg_flow_seed(f, key, stream);
 *   wfg_defpool_first(f, n);             f->defence: the first episode's entry
 *   wfg_flow_start(&pool[f->defence], f, now);
 *   ...
 *   wfg_defpool_turn(&pool[f->defence], f, op, now, n);   before every core call
 *   wfg_begin(&pool[f->defence], f, op, ...);             (the entry it may have changed)
 *
 * A pool of one draws nothing: its flow runs exactly as a policy without a
 * pool would.
 */
#ifndef WFGUARD_CORE_DEFPOOL_H
#define WFGUARD_CORE_DEFPOOL_H

#include "types.h"
#include "prng.h"
#include "flow.h"

/*
 * Defences in one pool at most (docs/policy.md, "pool"). Each entry is a whole
 * side configuration (~140 KB) in map wfg_defpool, twice (two policy slots, for
 * the live swap): 256 entries cost ~73 MB of kernel memory, which is where a
 * bound belongs; a pool of 64 costs ~18 MB. The loader sizes the map for the
 * policy's pool, so a policy without one pays for two entries.
 */
#define WFG_DEFPOOL_MAX 256

/* Draws that fall in the biased tail are redrawn at most this often. */
#define WFG_DEFPOOL_TRIES 4

/*
 * Uniform in [0, n), n >= 1, exactly: Lemire's multiply-shift with its
 * rejection step, so that no entry is favoured (a plain r % n or r * n >> 32
 * favours some entries by up to n / 2^32). A draw is rejected with
 * probability below n / 2^32 (<= 2^-24 for n <= WFG_DEFPOOL_MAX), so the bounded retry
 * almost never runs out; when it does, the last draw stands (deterministic:
 * the harness replays it the same).
 */
WFG_INLINE __u32 wfg_defpool_draw(struct wfg_prng *r, __u32 n)
{
	__u32 threshold, i;
	__u64 m;

	if (n <= 1)
		return 0;
	threshold = (__u32)(0u - n) % n; /* 2^32 mod n */
	m = (__u64)wfg_rand32(r) * n;
	for (i = 0; i < WFG_DEFPOOL_TRIES; i++) {
		if ((__u32)m >= threshold)
			break;
		m = (__u64)wfg_rand32(r) * n;
	}
	return (__u32)(m >> 32);
}

/* The first episode's defence: right after wfg_flow_seed(), before wfg_flow_start(). */
WFG_INLINE void wfg_defpool_first(struct wfg_flow_side *f, __u32 n)
{
	f->defence = wfg_defpool_draw(&f->mr.rng, n);
}

/*
 * Before core call op at now, with cur the configuration of the flow's
 * current entry: when the call begins a new episode (a real packet after the
 * episode's end, as wfg_episode_check() decides it under cur), draw that
 * episode's entry into f->defence and return 1; the call itself then runs
 * under the new entry, which begins the episode. 0: nothing changes.
 */
WFG_INLINE int wfg_defpool_turn(const struct wfg_side_cfg *cur, struct wfg_flow_side *f, __u32 op,
				__u64 now, __u32 n)
{
	if (n <= 1 || (op != WFG_OP_SEND_REAL && op != WFG_OP_RECV_NORMAL))
		return 0;
	if (!wfg_episode_due(cur, f, now))
		return 0;
	f->defence = wfg_defpool_draw(&f->mr.rng, n);
	f->episode_drawn = 1;
	return 1;
}

#endif /* WFGUARD_CORE_DEFPOOL_H */
