/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Wire lengths: what the core is asked to size for the packet in hand, and
 * what then leaves on the wire, in both modes of the data path. The BPF
 * programs, the kernel test program core_check and the harness's replay all
 * call these, so the sizes the harness records are the data path's by
 * construction rather than by a second copy of the arithmetic.
 *
 * Lengths are what the data path measures: in shim mode the UDP payload (the
 * shim trailer included once a packet is shaped), in tunnel mode the inner IP
 * packet. What an observer outside the tunnel sees of that is the last helper
 * here (docs/replay.md, "Wire sizes").
 */
#ifndef WFGUARD_CORE_WIRE_H
#define WFGUARD_CORE_WIRE_H

#include "types.h"
#include "flow.h"

/* The shim trailer (docs/wire-format.md; the trailer itself is in shim.h). */
#define WFG_SHIM_NONCE_LEN  8
#define WFG_SHIM_MASKED_LEN 4
#define WFG_SHIM_SEQ_LEN    8
#define WFG_SHIM_TAG_LEN    8
#define WFG_SHIM_CHECK_LEN  4
#define WFG_SHIM_LEN                                                                      \
	(WFG_SHIM_NONCE_LEN + WFG_SHIM_MASKED_LEN + WFG_SHIM_SEQ_LEN + WFG_SHIM_TAG_LEN + \
	 WFG_SHIM_CHECK_LEN)

/*
 * Where the programs sit (docs/tunnel-mode.md). Shim mode: on the underlay, UDP
 * tunnels, both ends run wfguard (TC egress pads with a trailer, XDP strips).
 * Tunnel mode: on the tunnel device itself (WireGuard, TUN), inner IP packets
 * padded past their IP length and covers the peer's stack discards, so a stock
 * peer needs nothing.
 */
enum wfg_mode {
	WFG_MODE_SHIM = 0,
	WFG_MODE_TUNNEL = 1,
};

/* A tunnel-mode cover is at least a bare IP header. */
#define WFG_TUN_HDR4 20
#define WFG_TUN_HDR6 40

/*
 * WireGuard's data message (the observer's view in tunnel mode): a 16-byte
 * header (type, reserved, receiver index, counter) and a 16-byte Poly1305 tag
 * around the plaintext, which is zero-padded to a multiple of 16 but never
 * beyond the device's MTU.
 */
#define WFG_WG_DATA_OVERHEAD 32
#define WFG_WG_PAD_MULTIPLE  16

/*
 * The length the core sizes (wfg_begin's len) for op on a packet of len bytes.
 * A real packet in shim mode carries the trailer once the side shapes; a
 * cover's carrier is one byte of payload (plus the trailer in shim mode);
 * receive and timer events have no length.
 */
WFG_INLINE __u32 wfg_wire_core_len(__u32 mode, const struct wfg_side_cfg *cfg, __u32 op, __u32 len)
{
	if (op == WFG_OP_SEND_COVER)
		return mode == WFG_MODE_TUNNEL ? 1 : 1 + WFG_SHIM_LEN;
	if (op != WFG_OP_SEND_REAL)
		return 0;
	if (mode == WFG_MODE_TUNNEL || cfg->shape.mode == WFG_SHAPE_NONE)
		return len;
	return len + WFG_SHIM_LEN;
}

/*
 * The length the packet in hand leaves with after decision d: a real packet
 * of len bytes is grown to the result (len: it leaves as it came: unshaped,
 * beyond the size limit, or no room for the trailer); a cover is built at the
 * result (tunnel mode: then at least an IP header, wfg_wire_tun_cover_len()).
 */
WFG_INLINE __u32 wfg_wire_len(__u32 mode, const struct wfg_side_cfg *cfg, __u32 op, __u32 len,
			      const struct wfg_decision *d)
{
	if (op == WFG_OP_SEND_COVER)
		return d->pad_to;
	if (op != WFG_OP_SEND_REAL || (d->flags & WFG_DEC_UNSHAPED))
		return len;
	if (mode == WFG_MODE_TUNNEL)
		return d->pad_to > len ? d->pad_to : len;
	if (cfg->shape.mode == WFG_SHAPE_NONE || d->pad_to < len + WFG_SHIM_LEN)
		return len;
	return d->pad_to;
}

/* A tunnel-mode cover of len bytes as built: never shorter than its IP header. */
WFG_INLINE __u32 wfg_wire_tun_cover_len(__u32 len, __u32 family)
{
	__u32 hlen = family == 6 ? WFG_TUN_HDR6 : WFG_TUN_HDR4;

	return len < hlen ? hlen : len;
}

/*
 * What an observer outside the tunnel sees of a packet that left the data
 * path with len bytes: shim mode, the UDP payload itself; tunnel mode, the
 * UDP payload of WireGuard's data message for that inner packet on a device
 * of this MTU.
 */
WFG_INLINE __u32 wfg_wire_observed_len(__u32 mode, __u32 len, __u32 mtu)
{
	__u32 padded;

	if (mode != WFG_MODE_TUNNEL)
		return len;
	padded = len + (WFG_WG_PAD_MULTIPLE - len % WFG_WG_PAD_MULTIPLE) % WFG_WG_PAD_MULTIPLE;
	if (padded > mtu)
		padded = mtu > len ? mtu : len;
	return padded + WFG_WG_DATA_OVERHEAD;
}

#endif /* WFGUARD_CORE_WIRE_H */
