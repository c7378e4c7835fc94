// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The port index (struct wfg_port_index): whatever the rules, it never hides a
 * datagram that some rule's port ranges take, and it does hide the ports no
 * rule names.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "wfguard/datapath.h"

static struct wfg_policy pol;
static struct wfg_port_index ix, other;

static void rule(__u32 i, __u16 llo, __u16 lhi, __u16 rlo, __u16 rhi)
{
	pol.rules[i].lport_lo = llo;
	pol.rules[i].lport_hi = lhi;
	pol.rules[i].rport_lo = rlo;
	pol.rules[i].rport_hi = rhi;
	if (pol.nrules <= i)
		pol.nrules = i + 1;
}

static int ports_in_rule(const struct wfg_rule *r, __u16 lport, __u16 rport)
{
	return lport >= r->lport_lo && lport <= r->lport_hi && rport >= r->rport_lo &&
	       rport <= r->rport_hi;
}

static __u32 rng = 12345;

static __u32 next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* A range like operators write: one port, a small range, every port, or empty. */
static void random_range(__u16 *lo, __u16 *hi)
{
	switch (next() % 4) {
	case 0:
		*lo = *hi = (__u16)next();
		break;
	case 1:
		*lo = (__u16)next();
		*hi = (__u16)(*lo + next() % 64 > 65535 ? 65535 : *lo + next() % 64);
		break;
	case 2:
		*lo = 0;
		*hi = 65535;
		break;
	default:
		*lo = 100;
		*hi = 99;
		break;
	}
}

Test(port_index, a_server_port_rule_hides_other_ports)
{
	memset(&pol, 0, sizeof(pol));
	rule(0, 443, 443, 0, 65535); /* a server: local 443, any client */
	wfg_port_index_build(&ix, &pol);
	cr_assert(wfg_port_index_may_match(&ix, 443, 51000));
	cr_assert(!wfg_port_index_may_match(&ix, 53, 51000), "DNS must leave early");
	cr_assert(!wfg_port_index_may_match(&ix, 51000, 443),
		  "local 51000 to remote 443 is the client's view, not this rule");
}

Test(port_index, either_end_rules_take_both_directions)
{
	memset(&pol, 0, sizeof(pol));
	rule(0, 0, 65535, 4433, 4433);
	rule(1, 4433, 4433, 0, 65535);
	wfg_port_index_build(&ix, &pol);
	cr_assert(wfg_port_index_may_match(&ix, 5000, 4433));
	cr_assert(wfg_port_index_may_match(&ix, 4433, 5000));
	cr_assert(!wfg_port_index_may_match(&ix, 5000, 53));
}

Test(port_index, a_rule_on_every_port_lets_everything_through)
{
	memset(&pol, 0, sizeof(pol));
	rule(0, 443, 443, 0, 65535);
	rule(1, 0, 65535, 0, 65535); /* addresses alone decide */
	wfg_port_index_build(&ix, &pol);
	cr_assert(wfg_port_index_may_match(&ix, 53, 53));
	cr_assert(wfg_port_index_may_match(&ix, 65535, 0));
}

Test(port_index, empty_ranges_match_nothing)
{
	memset(&pol, 0, sizeof(pol));
	rule(0, 10, 9, 0, 65535);
	wfg_port_index_build(&ix, &pol);
	cr_assert(!wfg_port_index_may_match(&ix, 10, 10));
	cr_assert(!wfg_port_index_may_match(&ix, 9, 9));
}

Test(port_index, never_hides_what_a_rule_takes_random_rules)
{
	int round, i, hidden = 0, probes = 0;

	for (round = 0; round < 2000; round++) {
		__u32 n = 1 + next() % WFG_MAX_RULES;

		memset(&pol, 0, sizeof(pol));
		for (i = 0; i < (int)n; i++) {
			random_range(&pol.rules[i].lport_lo, &pol.rules[i].lport_hi);
			random_range(&pol.rules[i].rport_lo, &pol.rules[i].rport_hi);
		}
		pol.nrules = n;
		wfg_port_index_build(&ix, &pol);
		for (i = 0; i < 64; i++) {
			/* half the probes inside a random rule's ranges */
			const struct wfg_rule *r = &pol.rules[next() % n];
			__u16 lp = (__u16)next(), rp = (__u16)next();
			__u32 k, any = 0;

			if ((i & 1) && r->lport_lo <= r->lport_hi && r->rport_lo <= r->rport_hi) {
				lp = (__u16)(r->lport_lo +
					     next() % (r->lport_hi - r->lport_lo + 1u));
				rp = (__u16)(r->rport_lo +
					     next() % (r->rport_hi - r->rport_lo + 1u));
			}
			for (k = 0; k < n; k++)
				any |= (__u32)ports_in_rule(&pol.rules[k], lp, rp);
			if (any)
				cr_assert(wfg_port_index_may_match(&ix, lp, rp),
					  "round %d: ports %u -> %u match a rule but the index "
					  "hides them",
					  round, lp, rp);
			else
				hidden += !wfg_port_index_may_match(&ix, lp, rp);
			probes++;
		}
	}
	cr_assert_gt(hidden, probes / 10, "the index should hide most unmatched ports (%d of %d)",
		     hidden, probes);
}

Test(port_index, the_union_keeps_both_policies)
{
	memset(&pol, 0, sizeof(pol));
	rule(0, 443, 443, 0, 65535);
	wfg_port_index_build(&ix, &pol);
	memset(&pol, 0, sizeof(pol));
	rule(0, 0, 65535, 51820, 51820);
	wfg_port_index_build(&other, &pol);
	cr_assert(!wfg_port_index_may_match(&ix, 40000, 51820));
	wfg_port_index_merge(&ix, &other);
	cr_assert(wfg_port_index_may_match(&ix, 443, 1000));
	cr_assert(wfg_port_index_may_match(&ix, 40000, 51820));
	cr_assert(!wfg_port_index_may_match(&ix, 53, 53));
}
