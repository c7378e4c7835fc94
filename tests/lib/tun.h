/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A TUN device for the suites that run tunnel mode's programs on L3 packets
 * (BPF_PROG_TEST_RUN would hand a TC program an Ethernet frame): the device
 * in a network namespace of the calling test process's own, the tunnel
 * programs on its clsact hooks, and packets sent out of it as the pump sends
 * them. In libwfgtest.a; failures are criterion assertions.
 */
#ifndef WFG_TESTS_TUN_H
#define WFG_TESTS_TUN_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* Move the process into a new network namespace (gone with it: criterion
 * runs each test in its own process) and create TUN device `name` there with
 * `flags` (IFF_TUN, | IFF_NO_PI to drop the packet-information header).
 * Returns its descriptor; the device is down and has no address. */
int wfgt_tun_create(const char *name, int flags);

/* The clsact qdisc on ifindex, egress_fd and ingress_fd on its hooks. */
void wfgt_tun_attach(int ifindex, int egress_fd, int ingress_fd);

/* One packet out of ifindex through an AF_PACKET socket, with skb->mark
 * `mark` (a carrier's, or 0), as the pump sends: sendto's result (-1, errno
 * set, when the egress program dropped it: ENOBUFS). */
ssize_t wfgt_dev_send(int ifindex, const void *pkt, size_t n, __u32 mark);

#endif
