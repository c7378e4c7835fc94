/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy's pool of defences on the data path (docs/policy.md, "pool"):
 * the map of side configurations and the choice of the one a flow's episode
 * runs. The draw itself is the core's (core/defpool.h), on the flow's stream.
 */
#ifndef WFGUARD_BPF_LIB_DEFPOOL_H
#define WFGUARD_BPF_LIB_DEFPOOL_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/stats.h"
#include "wfguard/datapath.h"

_Static_assert((WFG_DEFPOOL_MAX & (WFG_DEFPOOL_MAX - 1)) == 0, "entries are masked");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WFG_DEFPOOL_ENTRIES);
	__type(key, __u32);
	__type(value, struct wfg_side_cfg);
} wfg_defpool SEC(".maps");

/*
 * The configuration entry `entry` of the pool of the policy in `slot`; the
 * policy's own side when it has no pool. An entry that cannot be read (never
 * for an array within bounds) falls back to entry 0, the policy's side:
 * the flow stays defended (counted).
 */
static __always_inline const struct wfg_side_cfg *defpool_cfg(const struct wfg_policy *pol,
							      __u32 slot, __u32 entry)
{
	const struct wfg_side_cfg *c;
	__u32 k;

	if (pol->pool_size <= 1 || !entry)
		return &pol->side;
	k = wfg_defpool_key(slot, entry);
	c = bpf_map_lookup_elem(&wfg_defpool, &k);
	if (!c) {
		stat_add(WFG_STAT_ERR_POOL, 1);
		return &pol->side;
	}
	return c;
}

#endif /* WFGUARD_BPF_LIB_DEFPOOL_H */
