/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Does a policy defend this flow? The port index first (two loads, for the
 * UDP that is none of ours), then the rules' address prefixes and port ranges.
 */
#ifndef WFGUARD_BPF_LIB_MATCH_H
#define WFGUARD_BPF_LIB_MATCH_H

#include <bpf/bpf_endian.h>

#include "lib/maps.h"

/* 0 when no rule can match these ports (host byte order, this host's view). */
static __always_inline int ports_may_match(__u16 lport, __u16 rport)
{
	return wfg_port_index_may_match((const struct wfg_port_index *)wfg_port_bits, lport, rport);
}

/* Global: verified once, not on every path into it. */
__attribute__((noinline)) int policy_matches(const struct wfg_policy *pol,
					     const struct wfg_flow_key *k)
{
	int i;

	if (!pol || !k)
		return 0;
	for (i = 0; i < WFG_MAX_RULES; i++) {
		if (i >= pol->nrules)
			break;
		if (wfg_rule_matches(&pol->rules[i], k, bpf_ntohs(k->lport), bpf_ntohs(k->rport)))
			return 1;
	}
	return 0;
}

#endif /* WFGUARD_BPF_LIB_MATCH_H */
