/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tunnels a live run carries its page loads through
 * (docs/live-evaluation.md). Every transport builds the same three
 * namespaces, client -- observer -- server, joined by veth with the observer
 * routing; what differs is the tunnel between client and server, where the
 * defence attaches, and what the observer captures.
 *
 *   client  c0 10.77.1.2 ---- o0 10.77.1.1  observer  o1 10.77.2.1 ---- s0 10.77.2.2  server
 *
 * The names carry a tag of the run's own (its PID and the phase), so runs and
 * other tests never meet; the addresses repeat in every run's namespaces.
 */
#ifndef WFBENCH_LIVE_TRANSPORT_H
#define WFBENCH_LIVE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "proc.h"
#include "trace.h"

struct wfl_topo {
	char ns_c[32], ns_o[32], ns_s[32];
	char dev_c[16], dev_s[16]; /* the tunnel devices (client, server) */
	const char *obs_dev;	   /* the observer's link to the client */
	const char *filter;	   /* what the observer captures (pcap filter) */
	struct wfb_addr client;	   /* the client's underlay address: directions */
	int family;		   /* of the addresses inside the tunnel */
	uint8_t server_in[16];	   /* the site server's address inside the tunnel */
	char workdir[4096];	   /* keys and logs */
	unsigned made;		   /* namespaces made (for down) */
};

struct wfl_transport {
	const char *name;
	/* Namespaces, links and the tunnel up, its daemons tracked in ps. */
	int (*up)(struct wfl_topo *t, struct wfl_procs *ps, char *err, size_t errlen);
	/* Everything up() made, gone (its daemons are ended by the caller first). */
	void (*down)(struct wfl_topo *t);
};

/* By name ("wireguard"); NULL if there is none. */
const struct wfl_transport *wfl_transport_find(const char *name);

/* t's names from tag (at most 8 characters) and its work directory. */
int wfl_topo_init(struct wfl_topo *t, const char *tag, const char *workdir);

#endif /* WFBENCH_LIVE_TRANSPORT_H */
