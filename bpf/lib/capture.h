/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Capture records for `wfguard capture` (docs/capture.md): one per packet of
 * a matched flow while the controller asks for them.
 */
#ifndef WFGUARD_BPF_LIB_CAPTURE_H
#define WFGUARD_BPF_LIB_CAPTURE_H

#include "lib/maps.h"
#include "lib/stats.h"

/* Capture records for `wfguard capture` (struct wfg_capture_rec, 56 + 8 bytes
 * each with the ring's header: ~32k records). Written only while
 * wfg_ctl.capture_pid is set. */
#define WFG_CAPTURE_RING (2 * 1024 * 1024)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WFG_CAPTURE_RING);
} wfg_capture SEC(".maps");

_Static_assert(sizeof(struct wfg_flow_key) == 5 * sizeof(__u64), "capture copies 5 words");

/* capture_emit's last argument: payload bytes, direction, kind. */
#define CAP_INFO(payload, dir, kind) \
	((__u32)((payload) > 0xffff ? 0xffff : (payload)) << 16 | (__u32)(dir) << 8 | (__u32)(kind))

/*
 * One capture record. Callers test wfg_ctl.capture_pid first, so that a host
 * that is not capturing pays one load and one branch per packet. Global:
 * verified once, and its record never touches the callers' stack.
 */
__attribute__((noinline)) int capture_emit(const struct wfg_flow_key *k, __u64 time_ns,
					   __u32 wire_len, __u32 info)
{
	const __u64 *src = (const __u64 *)k;
	struct wfg_capture_rec *r;
	__u64 *dst;

	if (!k)
		return 0;
	r = bpf_ringbuf_reserve(&wfg_capture, sizeof(*r), 0);
	if (!r) {
		stat_add(WFG_STAT_CAPTURE_LOST, 1);
		return 0;
	}
	r->time_ns = time_ns;
	/* five words: a byte-wise copy (the key is 2-aligned) costs stack */
	dst = (__u64 *)&r->key;
	dst[0] = src[0];
	dst[1] = src[1];
	dst[2] = src[2];
	dst[3] = src[3];
	dst[4] = src[4];
	r->wire_len = wire_len;
	r->payload = (__u16)(info >> 16);
	r->dir = (__u8)(info >> 8);
	r->kind = (__u8)info;
	/* No wakeup (an irq_work per packet): the capture drains on its own clock. */
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

#endif /* WFGUARD_BPF_LIB_CAPTURE_H */
