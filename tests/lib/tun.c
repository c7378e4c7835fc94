// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A TUN device for the tunnel-mode suites (tun.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "tun.h"

int wfgt_tun_create(const char *name, int flags)
{
	struct ifreq ifr = { .ifr_flags = (short)flags };
	int fd;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "/dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF: %s", strerror(errno));
	return fd;
}

void wfgt_tun_attach(int ifindex, int egress_fd, int ingress_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_EGRESS | BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, eg, .handle = 1, .priority = 1, .prog_fd = egress_fd);
	LIBBPF_OPTS(bpf_tc_opts, in, .handle = 1, .priority = 1, .prog_fd = ingress_fd);

	cr_assert_eq(bpf_tc_hook_create(&hook), 0, "clsact: %s", strerror(errno));
	hook.attach_point = BPF_TC_EGRESS;
	cr_assert_eq(bpf_tc_attach(&hook, &eg), 0, "tc egress: %s", strerror(errno));
	hook.attach_point = BPF_TC_INGRESS;
	cr_assert_eq(bpf_tc_attach(&hook, &in), 0, "tc ingress: %s", strerror(errno));
}

ssize_t wfgt_dev_send(int ifindex, const void *pkt, size_t n, __u32 mark)
{
	__u16 eth = ((const __u8 *)pkt)[0] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP;
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_ifindex = ifindex,
				  .sll_protocol = htons(eth) };
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0), e;
	ssize_t sent;

	cr_assert_geq(fd, 0, "packet socket: %s", strerror(errno));
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)), 0);
	sent = sendto(fd, pkt, n, 0, (struct sockaddr *)&to, sizeof(to));
	e = errno;
	close(fd);
	errno = e;
	return sent;
}
