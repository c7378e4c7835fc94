/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The pump: carrier datagrams for the data path's cover requests (see pump.c). */
#ifndef WFGUARD_USER_PUMP_H
#define WFGUARD_USER_PUMP_H

#include <stddef.h>

#include "wfguard/datapath.h"

struct wfg_pump {
	int fd4, fd6;
	int fd_dev; /* tunnel mode: a packet socket on the tunnel device, else -1 */
	int ifindex;
	unsigned long long sent, failed;
};

int wfg_pump_open(struct wfg_pump *p, char *err, size_t errlen);
/* Tunnel mode: carriers go straight to the tunnel device (no route needed:
 * the data path writes the cover's addresses from the flow). */
int wfg_pump_open_dev(struct wfg_pump *p, int ifindex, char *err, size_t errlen);
void wfg_pump_close(struct wfg_pump *p);
/* One carrier on flow k; bypass: the cover may bypass blocking. 0 or -errno. */
int wfg_pump_send(struct wfg_pump *p, const struct wfg_flow_key *k, int bypass);
/* Every carrier a request asks for. 0 or the first -errno. */
int wfg_pump_request(struct wfg_pump *p, const struct wfg_cover_req *r);

#endif
