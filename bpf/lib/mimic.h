/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shim-mode covers in the flow's own IP header fields. The pump's carrier
 * comes from a raw socket: TOS 0, no DF, an ID the kernel counts up, TTL 64,
 * while the application's datagrams carry its ECN marking (ECT(0) from a QUIC
 * stack), DF (path MTU discovery) and, with DF, ID 0. A passive observer reads
 * those fields for free (docs/observer.md: ip_tos, ip_df, ip_id, ip_ttl), so a
 * cover takes them from the flow's last real datagram: IPv4 TOS, ID, flags
 * and TTL (the ID one past the last real one's unless that was 0, which
 * DF-marked datagrams of Linux sockets carry), IPv6 traffic class, flow label
 * and hop limit.
 */
#ifndef WFGUARD_BPF_LIB_MIMIC_H
#define WFGUARD_BPF_LIB_MIMIC_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/stats.h"

/* A real datagram's header fields, for the flow's next covers. */
static __always_inline void mimic_learn(struct __sk_buff *skb, struct wfg_flow_state *st,
					const struct wfg_pkt *p)
{
	if (bpf_skb_load_bytes(skb, p->l3_off, st->ip_head, sizeof(st->ip_head)) == 0)
		st->ip_seen = p->family;
}

/*
 * The carrier in skb takes the flow's fields (see the top). Returns 0, or -1
 * when the header could not be rewritten (counted; the caller drops the
 * carrier rather than send a cover that stands out). Global: verified once.
 */
__attribute__((noinline)) int mimic_cover(struct __sk_buff *skb, struct wfg_flow_state *st,
					  const struct wfg_pkt *p)
{
	__u8 cur[12], want[12];
	__s64 diff;
	__u16 id;

	if (!skb || !st || !p)
		return -1;
	if (st->ip_seen != p->family)
		return 0; /* no real datagram seen yet: nothing to look like */
	if (bpf_skb_load_bytes(skb, p->l3_off, cur, sizeof(cur)))
		goto err;
	__builtin_memcpy(want, cur, sizeof(want));
	if (p->family == 6) {
		__builtin_memcpy(want, st->ip_head, 4); /* version, class, flow label */
		want[7] = st->ip_head[7];		/* hop limit */
		if (bpf_skb_store_bytes(skb, p->l3_off, want, 8, 0))
			goto err;
		return 0; /* no header checksum; the pseudo header has none of these */
	}
	want[1] = st->ip_head[1]; /* TOS: DSCP and ECN */
	id = (__u16)(st->ip_head[4] << 8 | st->ip_head[5]);
	if (id) {
		id++;
		st->ip_head[4] = (__u8)(id >> 8);
		st->ip_head[5] = (__u8)id;
	}
	want[4] = (__u8)(id >> 8);
	want[5] = (__u8)id;
	want[6] = st->ip_head[6]; /* flags (DF); the offset is 0 in both */
	want[7] = st->ip_head[7];
	want[8] = st->ip_head[8]; /* TTL */
	diff = bpf_csum_diff((__be32 *)cur, sizeof(cur), (__be32 *)want, sizeof(want), 0);
	if (diff < 0 || bpf_skb_store_bytes(skb, p->l3_off, want, 10, 0) ||
	    bpf_l3_csum_replace(skb, p->l3_off + 10, 0, (__u32)diff, 0))
		goto err;
	return 0;
err:
	stat_add(WFG_STAT_ERR_STORE, 1);
	return -1;
}

#endif /* WFGUARD_BPF_LIB_MIMIC_H */
