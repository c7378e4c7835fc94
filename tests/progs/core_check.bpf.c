// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * core_check: the defence core inside a real BPF program, for the verifier
 * test and the kernel-vs-userspace differential test. One TC program, driven
 * by a command in an array map: each test run executes one core entry point on
 * the flow state kept in another map (or the wire-length helpers on its last
 * decision). Machine events are stepped with
 * bpf_loop(), the way the data path runs them.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/core_run.h"
#include "core_check.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wfg_side_cfg);
} check_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wfg_flow_side);
} check_flow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wfg_check_cmd);
} check_cmd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wfg_check_out);
} check_out SEC(".maps");

SEC("tc")
int core_check(struct __sk_buff *skb)
{
	const struct wfg_side_cfg *cfg;
	struct wfg_flow_side *flow;
	struct wfg_check_cmd *cmd;
	struct wfg_check_out *out;
	__u32 zero = 0, i;

	cfg = bpf_map_lookup_elem(&check_cfg, &zero);
	flow = bpf_map_lookup_elem(&check_flow, &zero);
	cmd = bpf_map_lookup_elem(&check_cmd, &zero);
	out = bpf_map_lookup_elem(&check_out, &zero);
	if (!cfg || !flow || !cmd || !out)
		return TC_ACT_SHOT;
	out->status = 0;

	if (cmd->op < WFG_OP__COUNT) {
		wfg_begin(cfg, flow, cmd->op, cmd->now_ns, cmd->len, (__u8)cmd->flags, &out->d);
		wfg_bpf_run(cfg, flow, &out->d);
		return TC_ACT_OK;
	}
	switch (cmd->op) {
	case WFG_CHECK_INIT:
		wfg_flow_init(cfg, flow, cmd->now_ns, cmd->key, cmd->stream);
		return TC_ACT_OK;
	case WFG_CHECK_DIST:
		for (i = 0; i < WFG_CHECK_SAMPLES; i++) {
			struct wfg_dist_ref ref = { .table = (__u16)cmd->len };

			out->samples[i] = wfg_dist_sample(cfg, &ref, &flow->mr.rng);
		}
		return TC_ACT_OK;
	case WFG_CHECK_SHAPE:
		out->d.pad_to = wfg_shape_target(&cfg->shape, cmd->len, &flow->mr.rng);
		return TC_ACT_OK;
	case WFG_CHECK_WIRE:
		out->samples[WFG_CHECK_WIRE_CORE] =
			wfg_wire_core_len(cmd->flags, cfg, cmd->arg, cmd->len);
		out->samples[WFG_CHECK_WIRE_LEN] =
			wfg_wire_len(cmd->flags, cfg, cmd->arg, cmd->len, &out->d);
		out->samples[WFG_CHECK_WIRE_OBSERVED] = wfg_wire_observed_len(
			cmd->flags, out->samples[WFG_CHECK_WIRE_LEN], WFG_CHECK_WIRE_MTU);
		return TC_ACT_OK;
	default:
		out->status = -1;
		return TC_ACT_OK;
	}
}
