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

static __always_inline int prefix_match(const __u8 *a, const __u8 *r, __u32 prefix)
{
	int b;

	for (b = 0; b < 16; b++) {
		__s32 bits = (__s32)prefix - b * 8;
		__u8 mask;

		if (bits <= 0)
			break;
		mask = bits >= 8 ? 0xff : (__u8)(0xff << (8 - bits));
		if ((a[b] ^ r[b]) & mask)
			return 0;
	}
	return 1;
}

static __always_inline int rule_matches(const struct wfg_rule *r, const struct wfg_flow_key *k)
{
	__u16 lport = bpf_ntohs(k->lport), rport = bpf_ntohs(k->rport);

	if (r->family && r->family != k->family)
		return 0;
	if (lport < r->lport_lo || lport > r->lport_hi)
		return 0;
	if (rport < r->rport_lo || rport > r->rport_hi)
		return 0;
	return prefix_match(k->laddr, r->local, r->local_prefix) &&
	       prefix_match(k->raddr, r->remote, r->remote_prefix);
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
		if (rule_matches(&pol->rules[i], k))
			return 1;
	}
	return 0;
}

#endif /* WFGUARD_BPF_LIB_MATCH_H */
