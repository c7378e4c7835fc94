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

#include "parse.h"

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
