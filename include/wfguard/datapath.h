/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the data path programs (bpf/wfguard.bpf.c) and the controller share:
 * map value layouts, flow keys, counters, the carrier mark. One definition for
 * both sides; only fixed-size types.
 */
#ifndef WFGUARD_DATAPATH_H
#define WFGUARD_DATAPATH_H

#include <linux/bpf.h>

#include "core/core.h"
#include "shim.h"

#define WFG_MAX_RULES	 16
#define WFG_POLICY_SLOTS 2

/* Cover-packet framing that mimics the tunnel's cleartext header. */
enum wfg_profile {
	WFG_PROFILE_GENERIC = 0, /* random bytes */
	WFG_PROFILE_QUIC,	 /* short header: first bits + the flow's DCID (learned) */
	WFG_PROFILE_WIREGUARD,	 /* data message: type 4, receiver index, counter */
};

/*
 * A match rule on the flow as seen from this host: local and remote address
 * prefixes and port ranges (host byte order, inclusive). family 0 = either.
 */
struct wfg_rule {
	__u8 family; /* 0, 4 or 6 */
	__u8 local_prefix;
	__u8 remote_prefix;
	__u8 _pad;
	__u16 lport_lo, lport_hi;
	__u16 rport_lo, rport_hi;
	__u8 local[16];
	__u8 remote[16];
};

/* enum wfg_mode (shim or tunnel): core/wire.h, where the wire lengths of both are. */

/* Tunnel mode's defended unit: one flow per peer (the inner remote address,
 * for a server), or the whole device (a client: one tunnel, one peer). */
enum wfg_unit {
	WFG_UNIT_PEER = 0,
	WFG_UNIT_DEVICE = 1,
};

/* One policy, as the data path sees it. Two slots: the controller writes the
 * inactive one, then flips `active` (see struct wfg_ctl). */
struct wfg_policy {
	__u64 generation; /* bumped on every write; flows created under another restart */
	__u32 nrules;
	__u32 profile;	     /* enum wfg_profile */
	__u32 quic_dcid_len; /* until a flow learns its own (WFG_QUIC_DCID_LEN_DEFAULT) */
	__u32 role;	     /* enum wfg_dp_role: which side this host runs (for capture) */
	__u32 mode;	     /* enum wfg_mode */
	__u32 unit;	     /* enum wfg_unit (tunnel mode) */
	/* A pool of defences (docs/policy.md, "pool"; docs/defence-pools.md):
	 * pool_size 0 or 1, none; n > 1: one of n drawn per episode
	 * (core/defpool.h). Entry 0 is side; entry e >= 1 is element
	 * pool_base + e - 1 of map wfg_defpool. */
	__u32 pool_size;
	__u32 pool_base;
	struct wfg_rule rules[WFG_MAX_RULES];
	struct wfg_side_cfg side; /* the side this host runs (client or server) */
};

/*
 * Map wfg_defpool: an array of side configurations, sized when the data path
 * is loaded (a configuration is ~140 KB: a fixed 64 per slot cost 18 MB for
 * policies without a pool). Each policy slot owns wfg_defpool_cap() entries
 * from slot * cap; the loader writes a slot's entries before its policy, so a
 * flow never draws an entry of another policy.
 */
static inline __u32 wfg_defpool_cap(__u32 max_entries)
{
	return max_entries / WFG_POLICY_SLOTS;
}

/*
 * Port index (pinned as "wfg_ports"), so that UDP which is none of ours leaves
 * after two loads, as cheaply as TCP: each rule names its narrower port range
 * (local or remote) here, and a datagram whose local port is not in
 * lport_named and whose remote port is not in rport_named cannot match any
 * rule. A policy with a rule that takes every port on both ends (only its
 * addresses decide) sets every bit: every datagram is walked through the
 * rules. During a policy swap the controller keeps the union of both
 * policies' indexes, so the index never hides a flow that the active policy
 * matches.
 */
struct wfg_port_index {
	__u64 lport_named[65536 / 64];
	__u64 rport_named[65536 / 64];
};

static inline void wfg_port_bits_set(__u64 *bits, __u32 lo, __u32 hi)
{
	__u32 p;

	for (p = lo; p <= hi && p < 65536; p++)
		bits[p / 64] |= 1ULL << (p % 64);
}

/* The index of pol's rules (userspace, before the programs see pol). */
static inline void wfg_port_index_build(struct wfg_port_index *ix, const struct wfg_policy *pol)
{
	__u32 i, lspan, rspan;

	__builtin_memset(ix, 0, sizeof(*ix));
	for (i = 0; i < pol->nrules && i < WFG_MAX_RULES; i++) {
		const struct wfg_rule *r = &pol->rules[i];

		if (r->lport_lo > r->lport_hi || r->rport_lo > r->rport_hi)
			continue; /* an empty range: the rule matches nothing */
		lspan = (__u32)r->lport_hi - r->lport_lo;
		rspan = (__u32)r->rport_hi - r->rport_lo;
		if (lspan <= rspan)
			wfg_port_bits_set(ix->lport_named, r->lport_lo, r->lport_hi);
		else
			wfg_port_bits_set(ix->rport_named, r->rport_lo, r->rport_hi);
	}
}

/* dst becomes an index that lets through what either lets through. */
static inline void wfg_port_index_merge(struct wfg_port_index *dst,
					const struct wfg_port_index *src)
{
	__u32 i;

	for (i = 0; i < 65536 / 64; i++) {
		dst->lport_named[i] |= src->lport_named[i];
		dst->rport_named[i] |= src->rport_named[i];
	}
}

/* May a flow with these ports (host byte order, this host's view) match a rule? */
static inline int wfg_port_index_may_match(const struct wfg_port_index *ix, __u16 lport,
					   __u16 rport)
{
	return (ix->lport_named[lport / 64] >> (lport % 64) & 1) ||
	       (ix->rport_named[rport / 64] >> (rport % 64) & 1);
}

/*
 * The side a host runs, numbered once: client 0, server 1, also the index of
 * the side in the controller's and the harness's two-side arrays. What the
 * policy slot (and capture's options) record is the role + 1, so that 0, a
 * slot written by something other than `wfguard`, stays "unknown".
 */
enum wfg_role {
	WFG_ROLE_CLIENT = 0,
	WFG_ROLE_SERVER = 1,
};

enum wfg_dp_role {
	WFG_DP_ROLE_UNKNOWN = 0,
	WFG_DP_ROLE_CLIENT = WFG_ROLE_CLIENT + 1,
	WFG_DP_ROLE_SERVER = WFG_ROLE_SERVER + 1,
};

static inline __u32 wfg_dp_role(enum wfg_role role)
{
	return (__u32)role + 1;
}

/* Controller-owned knobs, one array entry. */
struct wfg_ctl {
	__u32 active;		     /* policy slot in use */
	__u32 key_slot;		     /* shim key used for sending (0 or 1) */
	__u32 ifindex;		     /* the device the programs are attached to */
	__u32 attach_flags;	     /* WFG_ATTACHED_*: what the controller must undo on detach */
	struct wfg_shim_key keys[2]; /* receive verifies under both */
	__u32 master[8];	     /* secret from which per-flow stream keys derive */
	__u32 capture_pid;	     /* != 0: emit capture records (the capturing process) */
	__u32 _pad;
};

#define WFG_ATTACHED_FQ	       0x1  /* we installed sch_fq as root qdisc */
#define WFG_ATTACHED_CLSACT    0x2  /* we created the clsact qdisc */
#define WFG_ATTACHED_XDP_SKB   0x4  /* XDP in generic (skb) mode */
#define WFG_ATTACHED_TUNNEL    0x8  /* tunnel mode: TC egress + TC ingress, no XDP */
#define WFG_ATTACHED_GSO_OFF   0x10 /* we turned generic segmentation offload off */
#define WFG_ATTACHED_TSO_OFF   0x20 /* we turned TCP segmentation offload off */
#define WFG_ATTACHED_GSO_SEGS  0x40 /* we capped the device's gso_max_segs at 1 */
#define WFG_ATTACHED_XDP_ALONE 0x80 /* XDP attached alone, not under libxdp's dispatcher */

/* Flow key, from this host's point of view (egress: src = local). */
struct wfg_flow_key {
	__u8 family;
	__u8 _pad;
	__u16 lport; /* network byte order */
	__u16 rport;
	__u16 _pad2;
	__u8 laddr[16];
	__u8 raddr[16];
};

/*
 * Does address a fall in the prefix (prefix bits of r)? IPv4 addresses sit in
 * the first 4 bytes. Written for the verifier (a constant bound, then break),
 * and shared with userspace so both ends of the controller judge alike.
 */
static inline int wfg_prefix_match(const __u8 *a, const __u8 *r, __u32 prefix)
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

/*
 * Does rule r take the flow k? lport and rport are k's ports in host byte
 * order (the caller converts: bpf_ntohs in BPF, ntohs here). The one rule
 * test: the data path's policy_matches() and `policy apply`'s check of live
 * flows (user/lib/apply.c) both call it.
 */
static inline int wfg_rule_matches(const struct wfg_rule *r, const struct wfg_flow_key *k,
				   __u16 lport, __u16 rport)
{
	if (r->family && r->family != k->family)
		return 0;
	if (lport < r->lport_lo || lport > r->lport_hi)
		return 0;
	if (rport < r->rport_lo || rport > r->rport_hi)
		return 0;
	return wfg_prefix_match(k->laddr, r->local, r->local_prefix) &&
	       wfg_prefix_match(k->raddr, r->remote, r->remote_prefix);
}

/*
 * QUIC connection ids (RFC 9000 §17.2): a short header does not say how long
 * its destination connection id is; the handshake's long headers do. What a
 * flow has learned of the id its own short headers carry (quic_flags):
 */
#define WFG_QUIC_MAX_CID	  20   /* the longest id QUIC v1 allows */
#define WFG_QUIC_DCID_LEN_DEFAULT 8    /* until learned, unless the policy says */
#define WFG_QUIC_HAVE_ID	  0x01 /* dcid holds id bytes (a long or short header) */
#define WFG_QUIC_HAVE_SHORT	  0x02 /* quic_first is a real short header's */
#define WFG_QUIC_LEN_LEARNED	  0x04 /* dcid_len came from a long header */
#define WFG_QUIC_LEN_DEFAULTED	  0x08 /* short headers left before any long header */

/* A flow's state; apart from its timer so that functions can take it as plain memory. */
struct wfg_flow_state {
	struct wfg_flow_side side;
	struct wfg_prng pad_rng; /* padding bytes and nonces: apart from the decisions' stream */
	__u64 generation;
	__u64 created_ns;
	__u64 last_ns;
	__u64 timer_at_ns; /* deadline the timer is armed for; 0 = none */
	__u64 busy;	   /* try-lock: 0 free, 1 held (64-bit cmpxchg: BPF ISA v1) */
	__u32 slot;
	__u32 _pad1;
	__u32 pkts_out, pkts_in;
	__u64 bytes_out, bytes_in;
	__u32 covers_req, covers_sent;
	/* The shim's sequence numbers (docs/wire-format.md, "Replays"): the next
	 * one this host sends on the flow, and the window of the peer's. Neither
	 * is touched by flow_reset: the peer's numbering goes on under a new
	 * policy. seq_out moves by atomic add (a contended packet holds no lock);
	 * rx_busy is the window's own try-lock, held for a few instructions. */
	__u64 seq_out;
	__u64 rx_busy;
	struct wfg_replay rx;
	/* QUIC (docs/wire-format.md, "QUIC connection ids"): the destination
	 * connection id this host's short headers carry, its first dcid_len
	 * bytes once learned from a long header (WFG_QUIC_LEN_LEARNED). */
	__u8 dcid[WFG_QUIC_MAX_CID];
	__u8 dcid_len;
	__u8 quic_flags; /* WFG_QUIC_* */
	__u8 quic_first; /* first byte of the last short header sent */
	__u8 wg_seen;
	__u8 tun_family; /* tunnel mode: family of tun_saddr/daddr; 0 = none seen */
	__u8 ip_seen;	 /* shim mode: family of ip_head; 0 = no real datagram yet */
	__u8 _pad[2];
	/* Shim mode: the first bytes of the last real datagram's IP header, which
	 * covers copy (bpf/lib/mimic.h). */
	__u8 ip_head[12];
	__u32 wg_receiver;
	__u64 wg_counter;
	/* Tunnel mode: the inner addresses of the flow's last real packet, so
	 * that covers route to the same peer (network byte order). */
	__u8 tun_saddr[16];
	__u8 tun_daddr[16];
};

struct wfg_flow {
	struct wfg_flow_state st;
	struct bpf_timer timer;
};

/*
 * The padding pool (map wfg_pad_pool): random bytes made off the packet path by
 * `wfguard run`, so that a padded datagram copies its padding rather than
 * computing ~700 bytes of ChaCha8 while it waits. CPU c owns the chunks
 * c * chunks_per_cpu ... + chunks_per_cpu - 1, used in turn. A chunk goes
 * EMPTY -> (the controller fills it) FULL -> (the data path takes it) TAKEN ->
 * (used up) EMPTY, so every byte leaves at most once. When a CPU's next chunk
 * is not FULL, the flow's own keystream pads the datagram as before.
 */
#define WFG_POOL_CHUNK_BYTES	8192
#define WFG_POOL_CHUNKS_PER_CPU 16

enum wfg_pool_state {
	WFG_POOL_EMPTY = 0,
	WFG_POOL_FULL = 1,
	WFG_POOL_TAKEN = 2,
};

/*
 * Bytes past a chunk's end that are never read. The data path copies and sums
 * the padding straight from the chunk (no copy into its scratch first), and the
 * verifier cannot relate the offset to the length it copies: it checks the
 * largest offset plus the largest length against the value's size. So the
 * value has room for one whole growth (WFG_MAX_GROW) past the last offset.
 */
#define WFG_POOL_CHUNK_SLACK 2048

struct wfg_pool_chunk {
	__u64 state; /* enum wfg_pool_state; changed only by compare-and-swap or release store */
	__u8 bytes[WFG_POOL_CHUNK_BYTES];
	__u8 slack[WFG_POOL_CHUNK_SLACK]; /* never written, never sent */
};
_Static_assert(WFG_POOL_CHUNK_BYTES % 64 == 0, "chunks are whole ChaCha blocks");

/* A cover request from a timer, for the pump (ring buffer). */
struct wfg_cover_req {
	struct wfg_flow_key key;
	__u32 count;
	__u8 machines; /* bit i: machine i's padding */
	__u8 bypass;
	__u16 size;
};

/*
 * A capture record (ring buffer wfg_capture), emitted only while
 * wfg_ctl.capture_pid is set: one per packet of a matched flow, egress after
 * shaping (what leaves), ingress before stripping (what arrived). See
 * docs/capture.md.
 */
enum wfg_cap_dir {
	WFG_CAP_EGRESS = 0,
	WFG_CAP_INGRESS = 1,
};

enum wfg_cap_kind {
	WFG_CAP_REAL = 0,	/* egress: a real packet (shaped or not); ingress: verified real */
	WFG_CAP_COVER = 1,	/* egress: a cover we sent; ingress: a verified cover (dropped) */
	WFG_CAP_UNVERIFIED = 2, /* ingress only: no valid trailer, passed as it came */
};

struct wfg_capture_rec {
	__u64 time_ns;		 /* CLOCK_MONOTONIC; egress: the departure time (EDT) */
	struct wfg_flow_key key; /* this host's view (local = this host) */
	__u32 wire_len;		 /* bytes at the hook: skb->len (egress), frame (ingress) */
	__u16 payload;		 /* UDP payload bytes on the wire (trailer, padding included) */
	__u8 dir;		 /* enum wfg_cap_dir */
	__u8 kind;		 /* enum wfg_cap_kind */
};

/*
 * Pump carriers carry this mark (SO_MARK): the egress program turns them into
 * covers. Low byte: WFG_ACT_F_BYPASS if the cover may bypass blocking.
 */
#define WFG_MARK_CARRIER      0x57460000u
#define WFG_MARK_CARRIER_MASK 0xffff0000u

/*
 * The data path's counters: one list, from which the enum (WFG_STAT_<ID>), the
 * names that `wfguard stats` prints and its JSON keys (<name>), and the
 * Prometheus metric names (wfguard_<name>_total) all come.
 * X(ID, name, help)
 */
#define WFG_STAT_LIST(X)                                                                      \
	X(PKTS_SEEN, pkts_seen, "packets the programs looked at past the cheap exits")        \
	X(BYTES_SEEN, bytes_seen, "bytes of those packets")                                   \
	X(MATCHED, matched, "packets of a flow some rule defends")                            \
	X(SHAPED, shaped, "packets padded to the policy's size")                              \
	X(PADDED_BYTES, padded_bytes, "bytes of padding added")                               \
	X(DELAYED, delayed, "packets given a later departure (blocking, pacing)")             \
	X(UNSHAPED, unshaped, "packets that left unshaped, every reason (the next three)")    \
	X(UNSHAPED_TOO_BIG, unshaped_too_big, "shaping wanted more than the size limit")      \
	X(UNSHAPED_GSO, unshaped_gso, "GSO super-packets, segmented after the hook")          \
	X(UNSHAPED_CONTENDED, unshaped_contended,                                             \
	  "flow busy elsewhere and the policy alone could not shape it")                      \
	X(COVERS_REQUESTED, covers_requested, "cover packets the defence asked for")          \
	X(COVERS_SENT, covers_sent, "cover packets sent")                                     \
	X(COVERS_UNREADY, covers_unready,                                                     \
	  "cover requests dropped: the profile had no real packet to look like yet")          \
	X(COVERS_RECEIVED, covers_received, "the peer's covers recognised and dropped")       \
	X(STRIPPED, stripped, "datagrams whose shim was verified and removed")                \
	X(PASSED_UNVERIFIED, passed_unverified, "matched datagrams with no valid trailer")    \
	X(TAMPERED, tampered,                                                                 \
	  "datagrams dropped: the peer's trailer, but payload, address or port changed")      \
	X(REPLAYED, replayed,                                                                 \
	  "verified datagrams dropped: sequence number seen before or older than the window") \
	X(FLOWS_CREATED, flows_created, "flows (tunnel mode: peers) created")                 \
	X(EPISODES, episodes, "episodes begun after a flow's first (idle, then traffic)")     \
	X(POOL_DRAWS, pool_draws, "defences drawn from the policy's pool (flows, episodes)")  \
	X(ERR_POOL, err_pool, "a pool entry could not be read: the flow ran entry 0")         \
	X(QUIC_DCID_LEARNED, quic_dcid_learned,                                               \
	  "QUIC flows whose connection id length came from a long header")                    \
	X(QUIC_DCID_DEFAULTED, quic_dcid_defaulted,                                           \
	  "QUIC flows that sent short headers before any long header: the policy's length")   \
	X(ERR_PARSE, err_parse, "malformed or truncated packets, passed")                     \
	X(ERR_FLOW_TABLE, err_flow_table, "flow table refused a new flow")                    \
	X(ERR_CONTENDED, err_contended, "flow busy on another CPU: the core missed an event") \
	X(ERR_REPLAY_WINDOW, err_replay_window,                                               \
	  "verified datagrams dropped: their flow's replay window could not be checked")      \
	X(ERR_RESIZE, err_resize, "the kernel refused to grow or shrink a packet")            \
	X(ERR_STORE, err_store, "the kernel refused a packet write")                          \
	X(ERR_CSUM, err_csum, "a checksum update failed")                                     \
	X(ERR_TIMER, err_timer, "a flow timer could not be armed")                            \
	X(ERR_RINGBUF, err_ringbuf, "cover requests lost: the pump's ring was full")          \
	X(CAPTURE_LOST, capture_lost, "capture records that did not fit the ring")            \
	X(PAD_POOL_USED, pad_pool_used, "datagrams padded with bytes from the pool")          \
	X(PAD_POOL_DRY, pad_pool_dry, "the pool was empty: padded from the flow's keystream") \
	X(TUN_MULTICAST, tun_multicast, "tunnel mode: packets to multicast, no peer: undefended")

#define WFG_STAT_ENUM(id, name, help) WFG_STAT_##id,
enum wfg_stat { WFG_STAT_LIST(WFG_STAT_ENUM) WFG_STAT__COUNT };
#undef WFG_STAT_ENUM

#endif
