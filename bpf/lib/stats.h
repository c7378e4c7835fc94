/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counters (enum wfg_stat, per-CPU): the data path fails open and says why
 * here. The controller sums the CPUs (wfguard stats).
 */
#ifndef WFGUARD_BPF_LIB_STATS_H
#define WFGUARD_BPF_LIB_STATS_H

#include "lib/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WFG_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} wfg_stats SEC(".maps");

static __always_inline void stat_add(enum wfg_stat s, __u64 v)
{
	__u32 k = s;
	__u64 *c = bpf_map_lookup_elem(&wfg_stats, &k);

	if (c)
		*c += v;
}

/* A real packet left unshaped: the total and its reason. */
static __always_inline void stat_unshaped(enum wfg_stat reason)
{
	stat_add(WFG_STAT_UNSHAPED, 1);
	stat_add(reason, 1);
}

#endif /* WFGUARD_BPF_LIB_STATS_H */
