/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy's pool of defences on the data path (docs/policy.md, "pool";
 * docs/defence-pools.md): the map of side configurations and the choice of
 * the one a flow's episode runs. The draw itself is the core's
 * (core/defpool.h), on the flow's stream.
 */
#ifndef WFGUARD_BPF_LIB_DEFPOOL_H
#define WFGUARD_BPF_LIB_DEFPOOL_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/stats.h"
#include "wfguard/datapath.h"

/* One entry here: the loader sizes it from the policy (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WFG_POLICY_SLOTS);
	__type(key, __u32);
	__type(value, struct wfg_side_cfg);
} wfg_defpool SEC(".maps");

/*
 * Entry `entry` of pol's pool: the policy's own side for entry 0 and for a
 * policy without a pool. An entry the map does not hold (never, when the
 * loader sized it for the policy) falls back to entry 0, so the flow stays
 * defended (counted).
 */
static __always_inline const struct wfg_side_cfg *defpool_cfg(const struct wfg_policy *pol,
							      __u32 entry)
{
	const struct wfg_side_cfg *c;
	__u32 k;

	if (pol->pool_size <= 1 || !entry)
		return &pol->side;
	k = pol->pool_base + entry - 1;
	c = bpf_map_lookup_elem(&wfg_defpool, &k);
	if (!c) {
		stat_add(WFG_STAT_ERR_POOL, 1);
		return &pol->side;
	}
	return c;
}

/*
 * The entry a core call op at now runs: a pool policy's flow whose call begins
 * an episode first draws that episode's entry (core/defpool.h).
 *
 * A static function of its own, not inlined: core_decide sits on the deepest
 * call chain (program, core_decide, the bpf_loop callback, wfg_transition, the
 * PRNG refill: exactly 512 bytes on 6.1, docs/vmtest.md), and the lookups'
 * keys and spills here grew its frame from 64 to 72 bytes (96 rounded: 544).
 * Called from core_decide, this frame is on a short chain of its own. Not
 * global, so that it may return the map value.
 */
static __attribute__((noinline)) const struct wfg_side_cfg *
pool_entry(const struct wfg_policy *pol, struct wfg_flow_side *side, __u64 now, __u32 op)
{
	if (pol->pool_size <= 1)
		return &pol->side;
	if (wfg_defpool_turn(defpool_cfg(pol, side->defence), side, op, now, pol->pool_size))
		stat_add(WFG_STAT_POOL_DRAWS, 1);
	return defpool_cfg(pol, side->defence);
}

#endif /* WFGUARD_BPF_LIB_DEFPOOL_H */
