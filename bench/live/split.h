/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * An observer's capture of a browsing session cut into page loads
 * (docs/live-evaluation.md): by the run's known schedule (each load's
 * window, from its start to the next one's) or by idle gaps, and written as
 * datasets. Directions come from the client's address.
 */
#ifndef WFBENCH_LIVE_SPLIT_H
#define WFBENCH_LIVE_SPLIT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace.h"

/* One captured datagram of the client's: absolute capture time, direction,
 * UDP payload bytes, and its first payload byte (WireGuard: the message type). */
struct wfl_cpkt {
	uint64_t time_ns; /* the capture's clock (CLOCK_REALTIME) */
	uint32_t size;
	int8_t dir;
	uint8_t type;
	uint16_t cport; /* the client's TCP/UDP port: which of its connections */
};

struct wfl_capture {
	struct wfl_cpkt *p;
	size_t n, cap;
	size_t inversions; /* packets recorded before the one they follow (reordered) */
	struct wfb_pcap_stats st;
};

/* Read every TCP/UDP packet with payload to or from client (libpcap, ns precision). */
int wfl_capture_read(const char *path, const struct wfb_addr *client, struct wfl_capture *c,
		     char *err, size_t errlen);
void wfl_capture_free(struct wfl_capture *c);

/*
 * Capture on dev (this namespace) with libpcap, ns timestamps, filter, into
 * pcap_path until *stop; one byte to ready_fd once capturing; libpcap's
 * counts ("received R dropped D ifdropped I") into stats_path at the end.
 */
int wfl_capture_live(const char *dev, const char *filter, const char *pcap_path,
		     const char *stats_path, int ready_fd, volatile sig_atomic_t *stop, char *err,
		     size_t errlen);

/* WireGuard: a data message (type 4) carries an inner packet padded to 16 after
 * 16 bytes of header and before a 16-byte tag; 32 bytes is a keepalive. */
#define WFL_WG_DATA	   4
#define WFL_WG_DATA_OVHEAD 32

/* What a trace holds of the captured packets. */
enum wfl_view {
	WFL_WIRE,     /* every datagram as the observer sees it (UDP payload bytes) */
	WFL_WG_INNER, /* WireGuard data messages with a packet: the padded inner packet
		       * (UDP payload - 32): the sizes `wfbench defend` takes in tunnel mode */
};

/* The packets of [from_ns, to_ns) into t, times from the first of them, whose
 * capture time goes to *first_ns (may be NULL); cport (NULL, or room for c->n)
 * gets each one's client port. */
int wfl_capture_window(const struct wfl_capture *c, uint64_t from_ns, uint64_t to_ns,
		       enum wfl_view view, struct wfb_trace *t, uint64_t *first_ns,
		       uint16_t *cport);

/*
 * Cut at every silence of at least gap_ns between consecutive packets: the
 * pieces' first packet indices into starts[] (at most max), pieces of fewer
 * than min_packets dropped (*dropped counts them). Returns the piece count.
 */
size_t wfl_split_gaps(const struct wfl_capture *c, uint64_t gap_ns, size_t min_packets,
		      size_t *starts, size_t *ends, size_t max, size_t *dropped);

/*
 * `wfbench import --format pcap --split-gap MS`: one capture file of many page
 * loads into a dataset, a load per piece between gaps. labels (may be NULL): a
 * file with one site number per line, the site of each piece in order (every
 * piece needs one); without it every piece is an instance of site 0.
 */
struct wfl_split_report {
	size_t pieces, dropped;
	unsigned sites, instances;
	struct wfb_pcap_stats st;
};

int wfl_import_split(const char *pcap, const char *dir, const struct wfb_addr *client,
		     uint64_t gap_ns, size_t min_packets, const char *labels, bool force,
		     struct wfl_split_report *rep, char *err, size_t errlen);

/* wfbench import's options for it, and the command's part (wfbench.c parses the rest). */
struct wfl_split_opts {
	uint64_t gap_ns;
	size_t min_packets;
	const char *labels;
};

struct wfb_import_opts;
/* --split-gap MS, --split-min N, --labels FILE (opt 'G', 'M', 'L'); -EINVAL. */
int wfl_split_opt(int opt, const char *arg, struct wfl_split_opts *s);
/* The import with --split-gap: one SRC, pcap, --client; an exit code. */
int wfl_import_split_cmd(char **src, int nsrc, const char *out, const struct wfb_import_opts *o,
			 const struct wfl_split_opts *s);

#endif /* WFBENCH_LIVE_SPLIT_H */
