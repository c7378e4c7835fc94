// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * An experiment, not part of the data path (bench/perf/covers.c, docs/covers.md):
 * two ways of making cover packets at a real packet's event, on one test flow.
 *
 *   clone: K copies with bpf_clone_redirect to this device's egress. Each copy
 *          re-enters this program carrying CC_MARK_CLONE in skb->mark and is
 *          rewritten into a cover-sized datagram whose skb->tstamp is
 *          now + (i + 1) * step (EDT: sch_fq would hold it until then).
 *   ring:  one request for K covers on a ring buffer, in the data path's
 *          format (struct wfg_cover_req), for the controller's pump
 *          (user/lib/pump.c), whose marked carriers are rewritten here.
 *   none:  the per-packet work only (parse, match, count): the baseline.
 *   chain: each clone clones itself again, to find the kernel's nesting limit.
 *
 * Covers are plain valid UDP (IPv4, UDP checksum 0), not wfguard covers: this
 * is about cost and timing. The tag byte at payload offset 4 says what a
 * datagram is (0: real, 1..K: clone i, 0xff: a pump cover).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/parse.h"
#include "wfguard/datapath.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CC_MARK_CLONE 0x43430000u /* | depth << 8 | index */
#define CC_MARK_MASK  0xffff0000u
#define CC_MAX_K      16
#define CC_TAG_OFF    4
#define CC_TAG_PUMP   0xff

enum cc_mode {
	CC_NONE = 0,
	CC_CLONE,
	CC_RING,
	CC_CHAIN,
};

/* Set by userspace before a run. */
__u32 cc_mode;
__u32 cc_k;	    /* covers per real packet */
__u64 cc_step_ns;   /* cover i leaves at now + (i + 1) * step */
__u32 cc_cover_len; /* UDP payload bytes of a cover */
__u32 cc_port;	    /* the test flow's destination port */
__u32 cc_drop_port; /* the XDP program drops UDP to this port */
__u32 cc_chain_max; /* chain mode: nesting depth to try */

/* Counters, read and reset by userspace. */
__u64 cc_real;	    /* real packets of the test flow */
__u64 cc_clones;    /* bpf_clone_redirect calls that returned 0 */
__u64 cc_clone_err; /* ... that failed */
__u64 cc_clone_ns;  /* time spent in the clone loop (bpf_ktime) */
__u64 cc_covers;    /* clones rewritten into covers */
__u64 cc_carriers;  /* pump carriers rewritten into covers */
__u64 cc_rewrite_err;
__u64 cc_posted; /* ring requests */
__u64 cc_post_err;
__u64 cc_clone_sk;   /* clones that still had a socket (skb->sk) */
__u64 cc_edt_sum_ns; /* sum of tstamp - now over the covers given one */
__u64 cc_rx_dropped; /* datagrams of the cost flow that reached the receiver's XDP */
__u32 cc_depth_max;  /* chain: deepest re-entry seen */
__u32 cc_chain_fail; /* chain: depth of the first failed clone (0: none) */
__s32 cc_chain_errno;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} cc_covers_rb SEC(".maps");

static __always_inline int pull_parse(struct __sk_buff *skb, struct wfg_pkt *p)
{
	if (bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128))
		return -1;
	if (wfg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, p) != WFG_PARSE_OK)
		return -1;
	return p->family == 4 ? 0 : -1;
}

/* Grow or shrink the datagram to a cover's size and fix the lengths. */
static __always_inline int resize(struct __sk_buff *skb, const struct wfg_pkt *p)
{
	__u32 len = cc_cover_len & 0x3fff;
	__be16 old_tot = bpf_htons((__u16)(p->pay_off - p->l3_off + p->pay_len));
	__be16 new_tot = bpf_htons((__u16)(p->pay_off - p->l3_off + len));
	__be16 ulen = bpf_htons((__u16)(8 + len)), zero = 0;

	if (bpf_skb_change_tail(skb, p->pay_off + len, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, p->l3_off + 2, &new_tot, 2, 0) ||
	    bpf_l3_csum_replace(skb, p->l3_off + 10, old_tot, new_tot, 2) ||
	    bpf_skb_store_bytes(skb, p->l4_off + 4, &ulen, 2, 0) ||
	    bpf_skb_store_bytes(skb, p->l4_off + 6, &zero, 2, 0))
		return -1;
	return 0;
}

/* A clone (tag 1..K) or a pump carrier (tag 0xff) becomes a cover leaving `delay` from now. */
static __always_inline int make_cover(struct __sk_buff *skb, __u8 tag, __u64 delay)
{
	struct wfg_pkt p;

	if (pull_parse(skb, &p) || resize(skb, &p))
		return -1;
	if (cc_cover_len > CC_TAG_OFF &&
	    bpf_skb_store_bytes(skb, p.pay_off + CC_TAG_OFF, &tag, 1, 0))
		return -1;
	skb->mark = 0;
	if (delay) {
		skb->tstamp = bpf_ktime_get_ns() + delay;
		__sync_fetch_and_add(&cc_edt_sum_ns, delay);
	}
	return 0;
}

/* K clones of the real packet in hand, each re-entering this program. */
static __always_inline void clone_covers(struct __sk_buff *skb)
{
	__u32 mark = skb->mark, i;
	__u64 t0 = bpf_ktime_get_ns();

	for (i = 0; i < CC_MAX_K && i < cc_k; i++) {
		skb->mark = CC_MARK_CLONE | i;
		if (bpf_clone_redirect(skb, skb->ifindex, 0))
			__sync_fetch_and_add(&cc_clone_err, 1);
		else
			__sync_fetch_and_add(&cc_clones, 1);
	}
	skb->mark = mark;
	__sync_fetch_and_add(&cc_clone_ns, bpf_ktime_get_ns() - t0);
}

/* One request for K covers, as the data path posts it for the pump. */
static __always_inline void post_request(const struct wfg_pkt *p)
{
	struct wfg_cover_req *r = bpf_ringbuf_reserve(&cc_covers_rb, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&cc_post_err, 1);
		return;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->key.family = 4;
	r->key.lport = p->sport;
	r->key.rport = p->dport;
	__builtin_memcpy(r->key.laddr, p->saddr, 4);
	__builtin_memcpy(r->key.raddr, p->daddr, 4);
	r->count = cc_k;
	r->size = (__u16)cc_cover_len;
	bpf_ringbuf_submit(r, 0);
	__sync_fetch_and_add(&cc_posted, 1);
}

/* Chain mode: a clone at depth d clones itself (depth d + 1) before it becomes a cover. */
static __always_inline void chain_on(struct __sk_buff *skb, __u32 depth)
{
	long rc;

	if (depth > cc_depth_max)
		cc_depth_max = depth;
	if (depth >= cc_chain_max || depth >= 64)
		return;
	skb->mark = CC_MARK_CLONE | (depth + 1) << 8;
	rc = bpf_clone_redirect(skb, skb->ifindex, 0);
	if (rc && !cc_chain_fail) {
		cc_chain_fail = depth + 1;
		cc_chain_errno = (__s32)rc;
	}
}

/* A datagram that re-entered as our clone. */
static __always_inline int on_clone(struct __sk_buff *skb)
{
	__u32 idx = skb->mark & 0xff, depth = (skb->mark >> 8) & 0xff;

	if (skb->sk)
		__sync_fetch_and_add(&cc_clone_sk, 1);
	if (cc_mode == CC_CHAIN)
		chain_on(skb, depth);
	if (make_cover(skb, (__u8)(idx + 1), (idx + 1) * cc_step_ns)) {
		__sync_fetch_and_add(&cc_rewrite_err, 1);
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&cc_covers, 1);
	return TC_ACT_OK;
}

SEC("tc")
int cc_egress(struct __sk_buff *skb)
{
	struct wfg_pkt p;

	if ((skb->mark & CC_MARK_MASK) == CC_MARK_CLONE)
		return on_clone(skb);
	if ((skb->mark & WFG_MARK_CARRIER_MASK) == WFG_MARK_CARRIER) {
		if (make_cover(skb, CC_TAG_PUMP, 0)) {
			__sync_fetch_and_add(&cc_rewrite_err, 1);
			return TC_ACT_SHOT; /* a carrier never leaves as itself */
		}
		__sync_fetch_and_add(&cc_carriers, 1);
		return TC_ACT_OK;
	}
	if (pull_parse(skb, &p) || p.dport != bpf_htons((__u16)cc_port))
		return TC_ACT_OK;
	__sync_fetch_and_add(&cc_real, 1);
	if (cc_mode == CC_CLONE || cc_mode == CC_CHAIN)
		clone_covers(skb);
	else if (cc_mode == CC_RING)
		post_request(&p);
	return TC_ACT_OK;
}

/*
 * The receiving end drops the test flow at once, as wfguard's XDP drops covers.
 * Its own IPv4-only parse: with wfg_parse inlined here clang merges the IPv4 and
 * IPv6 UDP header pointers and the verifier loses the bound on the merged one.
 */
SEC("xdp")
int cc_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	if (udp->dest != bpf_htons((__u16)cc_drop_port))
		return XDP_PASS;
	__sync_fetch_and_add(&cc_rx_dropped, 1);
	return XDP_DROP;
}
