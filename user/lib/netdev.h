/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the loader asks of a network device: is it an L3 tunnel device (no
 * Ethernet header), its MTU, and the segmentation offloads that tunnel mode
 * turns off while attached (a GSO super-packet is cut into segments after the
 * TC hook, so each segment would keep its true size).
 */
#ifndef WFGUARD_USER_NETDEV_H
#define WFGUARD_USER_NETDEV_H

#include <stddef.h>
#include <linux/types.h>

/* 1: no link-layer header (WireGuard, TUN); 0: Ethernet-like; -errno. */
int wfg_netdev_is_l3(const char *ifname);
/* The device's MTU, or -errno. */
int wfg_netdev_mtu(const char *ifname);

/* Offloads that tunnel mode turns off (WFG_ATTACHED_GSO_OFF/TSO_OFF bits). */
int wfg_netdev_offloads_off(const char *ifname, unsigned *turned_off, char *err, size_t errlen);
/* Turn back on what wfg_netdev_offloads_off() turned off. */
void wfg_netdev_offloads_restore(const char *ifname, unsigned turned_off);

/*
 * Forwarded traffic: when this host forwards (IPv4 or IPv6), the devices other
 * than `tunnel` whose received packets reach the tunnel as GSO super-packets
 * (GRO on, or a veth, which passes its local sender's GSO skbs on whole). Their
 * segments are cut after the TC hook and keep their sizes. Returns how many
 * (names space-separated in `names`), 0 when the host does not forward, -errno.
 */
int wfg_netdev_forwarded_gso(const char *tunnel, char *names, size_t len);

/* One device feature by its ethtool name ("tx-udp-segmentation"): 1 on, 0 off, -errno. */
int wfg_netdev_feature(const char *ifname, const char *name);

/*
 * What an operator must set so that the shim-mode egress hook sees one
 * datagram per skb (docs/datapath.md, "UDP GSO"), as one line of text for
 * ifname, whose shaping limit is `limit` (0: none known). Super-packets are
 * built by the sending socket (UDP_SEGMENT), whatever the device's
 * tx-udp-segmentation says; the text names its state. Returns snprintf's.
 */
int wfg_netdev_gso_advice(const char *ifname, __u32 limit, char *buf, size_t len);

#endif
