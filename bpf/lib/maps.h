/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The data path's maps and its per-CPU scratch, in one place: what the
 * controller pins, sizes and fills (user/lib/loader.c) is declared here, and
 * every program and helper header reaches them through this one.
 */
#ifndef WFGUARD_BPF_LIB_MAPS_H
#define WFGUARD_BPF_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/parse.h"
#include "wfguard/datapath.h"

/*
 * Test clock, for the differential test only: set before load, it makes the
 * programs read time from wfg_test_now, derive flow keys without prandom and
 * leave timers unarmed. Production loads leave it 0 and the verifier prunes
 * every branch on it.
 */
const volatile __u8 wfg_test_clock = 0;
__u64 wfg_test_now = 0;

static __always_inline __u64 wfg_now(void)
{
	return wfg_test_clock ? wfg_test_now : bpf_ktime_get_ns();
}

/*
 * Where a new flow's shim sequence numbers start: the TAI clock in ns, so a
 * flow made again after the old one was evicted (or the host restarted)
 * numbers above what its peer's window last saw, as long as the old flow sent
 * fewer datagrams than nanoseconds passed (docs/wire-format.md, "Replays").
 */
static __always_inline __u64 wfg_seq_epoch(void)
{
	return wfg_test_clock ? wfg_test_now : bpf_ktime_get_tai_ns();
}

#define WFG_SCRATCH_BYTES 2048
#define WFG_MAX_GROW	  (WFG_SCRATCH_BYTES - 64)
_Static_assert(WFG_MAX_GROW <= WFG_POOL_CHUNK_SLACK,
	       "a growth read from a pool chunk stays inside it");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WFG_POLICY_SLOTS);
	__type(key, __u32);
	__type(value, struct wfg_policy);
} wfg_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wfg_ctl);
} wfg_ctl SEC(".maps");

/*
 * Ports some rule names (struct wfg_port_index): the cheap exit for UDP that
 * is none of ours. A global in its own section, so that reading it is a load
 * from a fixed address (no lookup); the loader pins the section's map as
 * "wfg_ports". Plain words laid out as a struct wfg_port_index, so that the
 * skeleton needs no wfguard header. Born "every port may match": a policy
 * written without an index is still walked in full.
 */
__u64 wfg_port_bits[2][65536 / 64] SEC(".data.ports") = {
	[0] = { [0 ... 65536 / 64 - 1] = ~0ULL },
};
_Static_assert(sizeof(wfg_port_bits) == sizeof(struct wfg_port_index), "one layout");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the controller sizes it from the policy */
	__type(key, struct wfg_flow_key);
	__type(value, struct wfg_flow);
} wfg_flows SEC(".maps");

struct pad_req {
	struct wfg_pkt p;
	__u32 keep;	      /* original payload bytes kept (0 for a cover) */
	__u32 new_pay;	      /* payload bytes on the wire */
	__u32 orig_len_field; /* into the trailer: kept length, or WFG_SHIM_COVER_LEN */
	__u32 profile;
	__u32 orig_csum;  /* ingress: the checksum the trailer restores */
	__u32 cover_dcid; /* QUIC covers: the connection id length to write */
	__u32 _req_pad;
	__u64 seq; /* egress: the sequence number to seal; ingress: the one verified */
};

/*
 * The shim's tag over a whole datagram (lib/mac.h), fed WFG_MAC_CHUNK bytes at
 * a time under bpf_loop: the SipHash states (ingress tries both keys in one
 * pass over the body), the chunk in hand (8 bytes of slack: the tail word is
 * read whole, then masked), and the trailer and header it binds, kept here
 * rather than on the programs' tight stacks.
 */
#define WFG_MAC_CHUNK 64

struct wfg_mac {
	struct wfg_sip s[2];
	__u8 buf[WFG_MAC_CHUNK + 8];
	__u64 tail;	/* the body's last len % 8 bytes, once read */
	__u32 off, end; /* next body byte and the body's end (packet offsets) */
	__u32 nkeys;	/* 1: sealing; 2: checking under both key slots */
	__u32 err;	/* a load failed: the tag is void */
	struct wfg_shim_trailer t;
	struct wfg_shim_hdr h;
};

/* What an ingress QUIC long header told about the id this host sends to. */
struct wfg_cid_seen {
	__u8 id[WFG_QUIC_MAX_CID];
	__u8 len;
	__u8 valid; /* 0: nothing learned from this packet */
	__u8 _pad[2];
};

/*
 * Per-CPU working memory. Programs on one CPU never interleave here: TC egress
 * runs with bottom halves off, XDP and the (soft) timer callbacks in softirq.
 */
struct wfg_scratch {
	__u8 bytes[WFG_SCRATCH_BYTES];
	struct wfg_decision d; /* the decision of the packet in hand */
	struct wfg_flow_key key __attribute__((aligned(8))); /* its flow (capture copies words) */
	struct pad_req req;				     /* the packet in hand */
	struct wfg_cid_seen cid;			     /* ingress: its QUIC long header */
	/* Template for new flows (too big for the stack), as raw bytes: a
	 * bpf_timer may not appear in a per-CPU map's BTF. */
	__u8 flow[sizeof(struct wfg_flow)] __attribute__((aligned(8)));
	/* This CPU's padding stream for packets whose flow is busy elsewhere
	 * (only pad_rng is used; keyed per policy generation, see shape_contended). */
	struct wfg_flow_state fallback;
	/* This CPU's place in the padding pool: chunk (of its own), offset, and
	 * whether it holds that chunk (TAKEN). */
	__u32 pool_chunk, pool_off, pool_held;
	__u32 pool_start; /* where the bytes pool_take() handed out begin in that chunk */
	struct wfg_mac mac __attribute__((aligned(8)));
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wfg_scratch);
} wfg_scratch SEC(".maps");

/* Padding pool chunks per CPU (struct wfg_pool_chunk); 0 leaves the pool out.
 * The loader sets it and the map's size (CPUs x chunks) before load. */
const volatile __u32 wfg_pool_chunks = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE); /* the controller fills chunks in place */
	__type(key, __u32);
	__type(value, struct wfg_pool_chunk);
} wfg_pad_pool SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} wfg_covers SEC(".maps");

static __always_inline struct wfg_ctl *get_ctl(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wfg_ctl, &zero);
}

static __always_inline struct wfg_policy *get_policy(__u32 slot)
{
	__u32 k = slot & (WFG_POLICY_SLOTS - 1);

	return bpf_map_lookup_elem(&wfg_policy, &k);
}

#endif /* WFGUARD_BPF_LIB_MAPS_H */
