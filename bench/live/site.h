/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The live evaluation's web (docs/live-evaluation.md): a site server and a
 * fetch client speaking HTTP/1.1 over TCP, for page loads of the synthetic
 * world (generate.h: wfb_gen_page) through a real tunnel.
 *
 * A resource's body is a pure function of (world seed, site, resource) and
 * its offset, so the client knows every byte it must receive and checks it.
 * The request names everything the server needs (site, resource, size,
 * server time): the server holds no site model.
 *
 * Library code: functions return 0 or -errno and write one line into err.
 */
#ifndef WFBENCH_LIVE_SITE_H
#define WFBENCH_LIVE_SITE_H

#include <signal.h>
#include <stdint.h>
#include <stddef.h>

#include "generate.h"

/* Body bytes [off, off + n) of resource res of site: the same on both ends. */
void wfl_body(uint64_t seed, int site, unsigned res, uint64_t off, uint8_t *buf, size_t n);

/*
 * Serve on the listening TCP socket lfd until *stop: any number of keep-alive
 * connections, requests "GET /s/SEED/SITE/RES/SIZE/SERVER_US", answered after
 * SERVER_US microseconds with SIZE body bytes.
 */
int wfl_serve(int lfd, volatile sig_atomic_t *stop, char *err, size_t errlen);

/* How a page load is fetched. */
struct wfl_fetch_opts {
	uint64_t seed;	    /* the world's seed (bodies, and the page models) */
	int family;	    /* AF_INET or AF_INET6 */
	uint8_t server[16]; /* the site server's address, port below */
	uint16_t port;
	double time_scale;   /* think and server times are divided by this (>= 1) */
	unsigned conns;	     /* connections per origin at most (browsers: 6) */
	uint64_t timeout_ns; /* a load that takes longer fails */
	volatile sig_atomic_t *stop;
};

/* What one page load did. */
struct wfl_load_result {
	uint64_t start_ns, end_ns; /* CLOCK_REALTIME: first connect, last body byte */
	unsigned resources, failed;
	uint64_t bytes;	     /* body bytes received */
	uint64_t mismatched; /* body bytes that differ from what the server must send */
	unsigned connections;
	uint64_t connect_ns_min; /* the fastest TCP handshake: the path's RTT */
};

/*
 * Fetch page pg (of `site`) in its dependency waves: the HTML, each resource
 * once the part of its parent that names it is in and its delay has passed,
 * the onload resources after every other one, over up to o->conns keep-alive
 * connections per origin, all closed at the end. Returns 0 when every
 * resource came whole (bytes checked: r->mismatched must be 0 too), else
 * -EIO (some failed), -ETIMEDOUT, -EINTR (stopped) or another -errno.
 */
int wfl_fetch(const struct wfl_fetch_opts *o, int site, const struct wfb_page *pg,
	      struct wfl_load_result *r, char *err, size_t errlen);

#endif /* WFBENCH_LIVE_SITE_H */
