/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loading the data path onto an interface and finding it again: the programs
 * and maps are pinned under /sys/fs/bpf/wfguard/net-<netns inode>-<netns
 * cookie>/<ifname>/, so every later command (status, stats, policy apply,
 * run, detach) works from the pins, across restarts of the controller.
 *
 * Errors come back as -errno with a one-line reason in err; nothing is
 * printed here.
 */
#ifndef WFGUARD_USER_LOADER_H
#define WFGUARD_USER_LOADER_H

#include <stddef.h>

#include "wfguard/datapath.h"

#define WFG_PIN_ROOT	 "/sys/fs/bpf/wfguard"
#define WFG_PIN_ROOT_ENV "WFGUARD_PIN_ROOT"

/*
 * Where the pins live: $WFGUARD_PIN_ROOT if set (a directory on a bpffs, e.g.
 * for `ip netns exec`, which hides /sys/fs/bpf), else WFG_PIN_ROOT.
 */
const char *wfg_pin_root(void);

enum wfg_xdp_mode {
	WFG_XDP_NATIVE = 0,
	WFG_XDP_SKB,
};

/*
 * A policy's pool of defences for the data path (docs/policy.md, "pool"):
 * side[i][role] is entry i, n of them; side[0][role] is the policy's own side.
 * NULL or n <= 1: no pool.
 */
struct wfg_dp_pool {
	const struct wfg_side_cfg (*side)[2];
	__u32 n;
	int role; /* enum wfg_role: the side this host runs */
};

struct wfg_attach_opts {
	enum wfg_xdp_mode xdp_mode;
	const struct wfg_dp_pool *pool; /* the policy's pool, or NULL */
	__u32 pool_max;	   /* size map wfg_defpool for pools of up to this many (0: the policy's) */
	__u32 max_flows;   /* flow table size; 0 = default */
	int install_fq;	   /* the policy delays packets: sch_fq is required */
	int xdp_exclusive; /* the device's only XDP program, no libxdp dispatcher */
};

/*
 * Fit a policy to the device it runs on: the size limit (shape.max) defaults
 * from the MTU and never exceeds it. Tunnel mode: inner packets up to the MTU.
 * Shim mode: UDP payloads up to MTU - 28 (IPv4 only) or MTU - 48 (rules that
 * take IPv6). A lower `limit` in the policy stays.
 */
void wfg_policy_fit_mtu(struct wfg_policy *pol, __u32 mtu);
/* Its two halves, for the harness, which fits both sides of a policy the same
 * way: the limit that pol's mode and rules allow on a device of `mtu` (0: none
 * fits), and a side's size limit lowered to lim (a lower one stays). */
__u32 wfg_policy_mtu_limit(const struct wfg_policy *pol, __u32 mtu);
void wfg_side_fit_limit(struct wfg_side_cfg *side, __u32 lim);

/* Handles on an attached interface's pinned objects. */
struct wfg_dp {
	char ifname[32];
	int ifindex;
	int policy_fd, ctl_fd, flows_fd, stats_fd, covers_fd;
	int capture_fd; /* -1 when attached by a wfguard without capture */
	int ports_fd;	/* -1 when attached by a wfguard without the port index */
	int pool_fd;	/* the padding pool; -1 likewise */
	int defpool_fd; /* the pools of defences (wfg_defpool); -1 likewise */
};

int wfg_dp_attach(const char *ifname, const struct wfg_policy *pol, const struct wfg_ctl *ctl,
		  const struct wfg_attach_opts *opts, char *err, size_t errlen);
int wfg_dp_detach(const char *ifname, char *err, size_t errlen);

/* Does the policy delay packets (pacing, blocking)? Then EDT needs sch_fq. */
int wfg_policy_delays(const struct wfg_policy *pol);

/* Open the pins of an attached interface; wfg_dp_close() releases them. */
int wfg_dp_open(const char *ifname, struct wfg_dp *dp, char *err, size_t errlen);
void wfg_dp_close(struct wfg_dp *dp);

/*
 * Is the attachment dp opened still the live one? NULL if so; otherwise why
 * not: detached (its pins are gone), attached anew (the pins name other
 * maps), or its device deleted or replaced by another of the same name (the
 * programs went with the old device; only `detach` clears the pins).
 */
const char *wfg_dp_stale(const struct wfg_dp *dp);

/*
 * Live policy swap: write the inactive slot with the next generation, then
 * flip the active slot. Flows restart under the new policy at their next
 * packet; none runs a mix of the two.
 */
int wfg_dp_apply(struct wfg_dp *dp, const struct wfg_policy *pol, const struct wfg_dp_pool *pool,
		 char *err, size_t errlen);

/* The largest pool (defences, entry 0 included) the attached map holds per policy slot. */
__u32 wfg_dp_pool_capacity(const struct wfg_dp *dp);

/* Sum of the per-CPU counters. */
int wfg_dp_stats(struct wfg_dp *dp, __u64 out[WFG_STAT__COUNT], char *err, size_t errlen);

/* Counter names for tables and JSON ("pkts_seen", ...). */
const char *wfg_stat_name(enum wfg_stat s);
/* One line on what the counter counts (WFG_STAT_LIST). */
const char *wfg_stat_help(enum wfg_stat s);

/* 1 if the interface has wfguard attached (its pin directory exists). */
int wfg_dp_attached(const char *ifname);

/*
 * A network namespace: its inode number (what /run/netns and /proc/PID/ns/net
 * show; reused once it dies) and its cookie (SO_NETNS_COOKIE, Linux 5.14+;
 * never reused; 0 where the kernel has none). Pins live under
 * ROOT/net-<inode>-<cookie>/IFACE, or ROOT/net-<inode>/IFACE without a cookie
 * (and as wfguard pinned before cookies); the oldest layout, ROOT/IFACE, is
 * still found.
 */
struct wfg_netns_id {
	unsigned long long inode, cookie;
};

/* The calling thread's namespace: 0, or -errno when /proc cannot tell. */
int wfg_netns_self(struct wfg_netns_id *id);
/* Its pin directory (id NULL: ROOT, the oldest layout's). */
void wfg_netns_dir(const struct wfg_netns_id *id, char *buf, size_t len);

/*
 * What the pin root holds, for `wfguard status` without a device. Namespaces:
 * the ids of the ROOT/net-* directories (cookie 0: net-<inode>), at most max
 * of them; the number found (all of them, even when more than max) or -errno.
 * Interfaces: the names pinned in ns's directory (NULL: ROOT/IFACE, which no
 * namespace owns), likewise.
 */
int wfg_pins_netns(struct wfg_netns_id *ids, int max);
int wfg_pins_ifaces(const struct wfg_netns_id *ns, char (*names)[32], int max);

/*
 * Remove the pins of dead namespaces that had this one's inode number (their
 * cookie differs: they cannot be alive, since two namespaces never share an
 * inode number). The number of attachments removed; note names them and
 * their directories. 0 without cookies.
 */
int wfg_pins_reap_dead(char *note, size_t notelen);

#endif
