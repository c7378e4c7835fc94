// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The benchmark baseline for the data path: parse the frame like the real
 * programs do, then return. bench/perf/datapath divides by its cost.
 * keep() makes the parsed fields live: without it the compiler drops the
 * stores nobody reads, and the baseline would skip half of the parse.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void keep(struct wfg_pkt *p)
{
	asm volatile("" : : "r"(p) : "memory");
}

SEC("tc")
int min_tc(struct __sk_buff *skb)
{
	struct wfg_pkt p;

	if (bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128))
		return TC_ACT_OK;
	wfg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, &p);
	keep(&p);
	return TC_ACT_OK;
}

SEC("xdp")
int min_xdp(struct xdp_md *ctx)
{
	struct wfg_pkt p;

	wfg_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, &p);
	keep(&p);
	return XDP_PASS;
}

/*
 * The floor under any padding: parse, then grow the datagram by
 * bench_grow_bytes and write that many bytes into it, with no state, no
 * randomness, no trailer and no checksum work. bench/perf/datapath reports it
 * beside the padded path, as the part of its cost that no padding scheme
 * avoids.
 */
const volatile __u32 bench_grow_bytes = 700;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[2048]);
} bench_bytes SEC(".maps");

SEC("tc")
int min_tc_grow(struct __sk_buff *skb)
{
	__u32 zero = 0, n = bench_grow_bytes & 1023, len;
	struct wfg_pkt p;
	__u8 *bytes;

	if (bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128))
		return TC_ACT_OK;
	if (wfg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, &p) != WFG_PARSE_OK)
		return TC_ACT_OK;
	keep(&p);
	bytes = bpf_map_lookup_elem(&bench_bytes, &zero);
	len = skb->len;
	if (!bytes || !n || bpf_skb_change_tail(skb, len + n, 0))
		return TC_ACT_OK;
	bpf_skb_store_bytes(skb, len, bytes, n, 0);
	return TC_ACT_OK;
}
