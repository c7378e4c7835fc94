/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `wfguard capture`: per-flow traces from the data path itself. While a
 * capture runs, the programs emit one record per packet of a defended flow
 * into the wfg_capture ring buffer (egress after shaping, ingress before
 * stripping); this collects them per flow and writes one trace per flow in
 * the harness's native format plus an index. Format, costs and semantics:
 * docs/capture.md.
 *
 * Library code: 0 or -errno, one line in err; nothing is printed here.
 */
#ifndef WFGUARD_USER_CAPTURE_H
#define WFGUARD_USER_CAPTURE_H

#include <stddef.h>

#include "loader.h"

struct ring_buffer;

struct wfg_capture_opts {
	__u32 max_flows;   /* flows kept (later ones are counted, not kept); 0 = 1024 */
	__u64 max_packets; /* packets kept over all flows; 0 = 4M (16 bytes each) */
	__u32 role;	   /* enum wfg_dp_role; UNKNOWN = from the attached policy */
};

/* One packet as kept: trace direction is decided at write time (role). */
struct wfg_cap_pkt {
	__u64 time_ns; /* CLOCK_MONOTONIC */
	__u16 payload; /* UDP payload bytes on the wire */
	__u8 dir;      /* enum wfg_cap_dir */
	__u8 kind;     /* enum wfg_cap_kind */
	__u32 wire_len;
};

struct wfg_cap_flow {
	struct wfg_flow_key key;
	struct wfg_cap_pkt *pkts; /* in time order */
	size_t n, cap;
	__u64 count[2][3]; /* [enum wfg_cap_dir][enum wfg_cap_kind] */
};

struct wfg_capture {
	struct wfg_dp dp;
	struct ring_buffer *rb;
	struct wfg_capture_opts o;
	__u32 role;	       /* resolved: CLIENT, SERVER or UNKNOWN */
	int flag_set;	       /* our pid is in wfg_ctl.capture_pid */
	int discard;	       /* drop records (stale ones, before the start) */
	__u64 start_mono_ns;   /* CLOCK_MONOTONIC at the start */
	__u64 start_real_ns;   /* CLOCK_REALTIME at the start */
	__u64 stop_mono_ns;    /* at the stop; 0 while running */
	__u64 lost_at_start;   /* the capture_lost counter at the start */
	__u64 lost;	       /* records the ring could not hold (counter delta) */
	__u64 records;	       /* records received */
	__u64 stale;	       /* records discarded before the start */
	__u64 bad;	       /* records of an unexpected size */
	__u64 skipped_flows;   /* packets of flows beyond max_flows */
	__u64 skipped_packets; /* packets beyond max_packets */
	__u64 kept;	       /* packets kept */
	struct wfg_cap_flow *flows;
	size_t nflows;
	__u32 *index; /* open addressing: flow number + 1, 0 = empty */
	size_t index_size;
};

/*
 * Refuse an output directory that exists and is not empty (so that a long
 * capture is not lost at the end). 0, -EEXIST or -ENOTDIR.
 */
int wfg_capture_check_out(const char *dir, char *err, size_t errlen);

/*
 * Open the interface's pins, discard stale records, set wfg_ctl.capture_pid.
 * -ENOENT not attached, -EOPNOTSUPP attached without a capture map, -EBUSY a
 * live capture runs (its pid in err). On error nothing is left set.
 */
int wfg_capture_start(struct wfg_capture *c, const char *ifname, const struct wfg_capture_opts *o,
		      char *err, size_t errlen);

/*
 * Collect what arrived; if nothing had, sleep timeout_ms and collect again
 * (the programs submit without wakeups). Records read, or -errno (-EINTR on
 * a signal).
 */
int wfg_capture_poll(struct wfg_capture *c, int timeout_ms);

/*
 * Clear the flag (if it is still ours) and collect what is left. Safe to call
 * twice and after a failed start.
 */
int wfg_capture_stop(struct wfg_capture *c, char *err, size_t errlen);

/*
 * Write DIR atomically: everything into DIR.tmp-XXXXXX, then a rename (DIR
 * may exist if empty). One native trace per flow, named by its 5-tuple, and
 * DIR/index. Call after wfg_capture_stop().
 */
int wfg_capture_write(const struct wfg_capture *c, const char *dir, char *err, size_t errlen);

/* The trace file name of a flow ("udp_10.0.0.1_5555_192.0.2.7_443.trace"). */
void wfg_capture_flow_name(const struct wfg_flow_key *k, char *buf, size_t len);

void wfg_capture_free(struct wfg_capture *c);

#endif
