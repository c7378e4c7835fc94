/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The transports a live run carries its page loads over
 * (docs/live-evaluation.md). Every transport builds the same three
 * namespaces, client -- observer -- server, joined by veth with the observer
 * routing; what differs is what runs between client and server (a tunnel,
 * or QUIC on the underlay), which web server and client fetch the pages,
 * where the defence attaches, and what the observer captures.
 *
 *   client  c0 10.77.1.2 ---- o0 10.77.1.1  observer  o1 10.77.2.1 ---- s0 10.77.2.2  server
 *
 * The names carry a tag of the run's own (its PID and the phase), so runs and
 * other tests never meet; the addresses repeat in every run's namespaces.
 */
#ifndef WFBENCH_LIVE_TRANSPORT_H
#define WFBENCH_LIVE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc.h"
#include "site.h"
#include "split.h"
#include "trace.h"

/* How a page load's requests share connections (--connections). */
enum wfl_conns {
	WFL_CONNS_LOAD, /* opened by the load and closed at its end */
	WFL_CONNS_WAVE, /* one per dependency wave of the load */
	WFL_CONNS_LONG, /* one kept open across the loads */
	WFL_CONNS_N,
};

extern const char *const wfl_conns_name[WFL_CONNS_N];

struct wfl_topo {
	char tag[16];
	char ns_c[32], ns_o[32], ns_s[32];
	char dev_c[16], dev_s[16]; /* where each end's traffic leaves: the defence's devices */
	const char *obs_dev;	   /* the observer's link to the client */
	const char *filter;	   /* what the observer captures (pcap filter) */
	struct wfb_addr client;	   /* the client's underlay address: directions */
	int family;		   /* of the site server's address */
	uint8_t server_in[16];	   /* the site server's address, as the client reaches it */
	uint16_t port;		   /* the site server's port */
	enum wfl_conns conns;	   /* what the run asked for (transport-checked) */
	const char *wfguard;	   /* the binary (the client end's counters) */
	char keys[4200];	   /* the shim's key file both ends share ("" if none) */
	char workdir[4096];	   /* keys, certificates, files and logs */
	unsigned made;		   /* namespaces made (for down) */
};

struct wfl_transport {
	const char *name;
	const char *const *tools; /* the commands it runs, NULL-terminated */
	int policy_mode;	  /* WFG_MODE_TUNNEL or WFG_MODE_SHIM: what --policy must be */
	bool client_defended;	  /* wfguard on the client's end too (with its own policy) */
	enum wfl_view sim_view;	  /* the capture's view the simulator replays */
	const char *sizes;	  /* what the simulator's sizes are (the report says) */
	enum wfl_conns conns;	  /* the default connection model */
	/* Why a connection model cannot be run (NULL: it can). */
	const char *refused[WFL_CONNS_N];
	/* Namespaces, links and the tunnel up, its daemons tracked in ps. */
	int (*up)(struct wfl_topo *t, struct wfl_procs *ps, char *err, size_t errlen);
	/* Everything up() made, gone (its daemons are ended by the caller first). */
	void (*down)(struct wfl_topo *t);
	/* The site server in t->ns_s, tracked in ps; its log in t->workdir. */
	int (*serve)(struct wfl_topo *t, struct wfl_procs *ps, char *err, size_t errlen);
	/* One page load, from the client's namespace, as wfl_fetch() (site.h). */
	int (*fetch)(const struct wfl_topo *t, const struct wfl_fetch_opts *o, int site,
		     const struct wfb_page *pg, struct wfl_load_result *r, char *err,
		     size_t errlen);
	/* A counter of the covers the client's end has thrown away so far. */
	uint64_t (*covers_dropped)(const struct wfl_topo *t);
};

/* By name ("wireguard", "quic"); NULL if there is none. */
const struct wfl_transport *wfl_transport_find(const char *name);
/* The names, for messages ("wireguard|quic"). */
const char *wfl_transport_names(void);

/* t's names from tag (at most 8 characters) and its work directory. */
int wfl_topo_init(struct wfl_topo *t, const char *tag, const char *workdir);

/* ---------------------------------------------------------------- for transports */

/* The three namespaces and their veths, addressed and routed (transport.c). */
int wfl_veth_topo(struct wfl_topo *t, char *err, size_t errlen);
/* The namespaces of wfl_veth_topo gone (with their devices). */
void wfl_netns_down(struct wfl_topo *t);

extern const struct wfl_transport wfl_transport_wireguard, wfl_transport_quic;

/*
 * quic.c: the dependency wave of each resource of pg into wave[] (the HTML 0,
 * a resource one more than its parent, the onload ones after all others);
 * returns the number of waves.
 */
unsigned wfl_page_waves(const struct wfb_page *pg, unsigned *wave);

#endif /* WFBENCH_LIVE_TRANSPORT_H */
