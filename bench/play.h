/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Playing a trace as real UDP traffic between two hosts (network namespaces in
 * the demo and tests): the client sends the trace's outgoing packets and the
 * server its incoming ones, each at the trace's times, so that an observer on
 * the path sees the page load and wfguard on either end can defend it.
 *
 * Every datagram carries a 16-byte header (magic, trace id, sequence number,
 * size) and filler derived from those, so the receiver checks that it got
 * exactly what was sent (byte-identical after wfguard's shim is stripped).
 * Sizes below the header are raised to it; sizes above WFB_PLAY_MAX are cut.
 *
 * Synchronisation: the client starts a trace with its first datagram (a
 * 16-byte hello when the trace does not begin with an outgoing packet); the
 * server starts that trace's clock when the datagram arrives, so both sides'
 * schedules are the trace's, shifted by the path's one-way delay.
 */
#ifndef WFBENCH_PLAY_H
#define WFBENCH_PLAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "trace.h"

#define WFB_PLAY_HDR 16
#define WFB_PLAY_MAX 1400 /* the synthetic world's largest datagram */

struct wfb_play_opts {
	double speed;	       /* trace time / wall time (1 = real time, 2 = twice as fast) */
	uint64_t idle_ns;      /* give up waiting for the peer after this long without a datagram */
	uint32_t unknown_size; /* bytes for packets of unknown size (0 in the trace) */
};

struct wfb_play_report {
	size_t sent, received, expected; /* datagrams; expected: the peer's share */
	uint64_t bytes_sent, bytes_received;
	size_t corrupt;	  /* wrong filler or header for this trace */
	size_t stray;	  /* datagrams of another trace or not ours (ignored) */
	uint64_t late_ns; /* worst lateness of a send behind its schedule */
};

/* Default options: real time, 2 s idle, 512-byte unknown sizes. */
void wfb_play_defaults(struct wfb_play_opts *o);

/*
 * Client side: play `t` (trace id `id`) over the UDP socket fd to `peer`.
 * Returns 0 when every datagram was sent (missing replies are counted, not an
 * error: the report says what arrived), or -errno.
 */
int wfb_play_client(int fd, const struct sockaddr *peer, socklen_t peerlen,
		    const struct wfb_trace *t, uint32_t id, const struct wfb_play_opts *o,
		    struct wfb_play_report *r, char *err, size_t errlen);

/*
 * A server's memory between traces: the first datagram of the next trace when
 * it arrived while the previous one was still playing. Zero it before the
 * first wfb_play_server call and pass the same one to every call.
 */
struct wfb_play_server {
	uint8_t buf[WFB_PLAY_MAX];
	size_t len; /* 0: nothing pending */
	struct sockaddr_storage from;
	socklen_t fromlen;
};

/*
 * Server side: wait (up to wait_ns) for a trace's first datagram on the bound
 * socket fd, read its trace id into *id, look the trace up with get(id) and
 * play its incoming packets back to the sender. get returns NULL for an id it
 * does not know (the datagram is counted stray and waiting goes on). A
 * datagram of another known trace ends the current one (the client moved on)
 * and starts the next call. -ETIMEDOUT when nothing started in time.
 */
typedef const struct wfb_trace *(*wfb_play_lookup_fn)(void *arg, uint32_t id);
int wfb_play_server(int fd, struct wfb_play_server *sv, wfb_play_lookup_fn get, void *arg,
		    uint64_t wait_ns, uint32_t *id, const struct wfb_play_opts *o,
		    struct wfb_play_report *r, char *err, size_t errlen);

/* The bytes of datagram (id, seq) of `size` bytes (size >= WFB_PLAY_HDR). */
void wfb_play_fill(uint8_t *buf, size_t size, uint32_t id, uint32_t seq);

#endif
