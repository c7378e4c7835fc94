// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The core under gcc -Wall -Wextra -Wconversion -Wshadow -Werror: every entry
 * point is instantiated here so that each one is compiled and checked.
 */
#include "wfguard/core/core.h"

__u64 wfg_strict_all(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now);

__u64 wfg_strict_all(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f, __u64 now)
{
	static const __u32 key[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct wfg_decision d;
	__u64 acc = 0;

	wfg_flow_init(cfg, f, now, key, 7);
	wfg_on_send(cfg, f, now, 100, WFG_SEND_REAL, 0, &d);
	acc += d.depart_ns + d.pad_to + d.covers;
	wfg_on_send(cfg, f, now, 100, WFG_SEND_COVER, WFG_ACT_F_BYPASS, &d);
	acc += d.depart_ns + d.pad_to;
	wfg_on_recv(cfg, f, now + 1, 0, &d);
	acc += d.timer_ns;
	wfg_on_timer(cfg, f, now + 2, &d);
	acc += d.timer_ns + wfg_padme(1000) + wfg_isqrt64(now);
	acc += wfg_shape_target(&cfg->shape, 300, &f->mr.rng);
	acc += wfg_dist_sample(cfg, &cfg->states[0].action.timeout, &f->mr.rng);
	wfg_on(cfg, f, WFG_OP_SEND_REAL, now + 3,
	       wfg_wire_core_len(WFG_MODE_SHIM, cfg, WFG_OP_SEND_REAL, 700), 0, &d);
	acc += wfg_wire_len(WFG_MODE_SHIM, cfg, WFG_OP_SEND_REAL, 700, &d);
	acc += wfg_wire_observed_len(WFG_MODE_TUNNEL, wfg_wire_tun_cover_len(d.pad_to, 6), 1420);
	return acc;
}
