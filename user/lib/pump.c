// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The pump: turns cover requests from the data path's ring buffer into
 * carrier datagrams on the flow's 5-tuple, marked so that the egress program
 * rewrites them into covers. Raw IP sockets with our own headers: no port is
 * bound, so the application's socket is never disturbed.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "pump.h"

static __u16 csum_fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __u32 csum_add(__u32 s, const void *p, size_t n)
{
	const __u8 *b = p;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (__u32)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (__u32)b[n - 1] << 8;
	return s;
}

int wfg_pump_open(struct wfg_pump *p, char *err, size_t errlen)
{
	int one = 1;

	p->fd_dev = -1;
	p->fd4 = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (p->fd4 < 0)
		return wfg_err(err, errlen, errno, "raw IPv4 socket: %s", strerror(errno));
	setsockopt(p->fd4, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	p->fd6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (p->fd6 >= 0)
		setsockopt(p->fd6, IPPROTO_IPV6, 36 /* IPV6_HDRINCL */, &one, sizeof(one));
	return 0;
}

int wfg_pump_open_dev(struct wfg_pump *p, int ifindex, char *err, size_t errlen)
{
	p->fd_dev = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->fd_dev < 0)
		return wfg_err(err, errlen, errno, "packet socket: %s", strerror(errno));
	p->ifindex = ifindex;
	return 0;
}

/* A tunnel-mode carrier: a bare IP header towards the flow's peer (its remote
 * address, zero for the device unit); the data path makes it a cover. */
static int send_dev(struct wfg_pump *p, const struct wfg_flow_key *k, __u32 mark)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = p->ifindex };
	__u8 pkt[40] = { 0 };
	size_t len;

	if (k->family == 6) {
		pkt[0] = 0x60;
		pkt[6] = 253;
		pkt[7] = 64;
		memcpy(pkt + 24, k->raddr, 16);
		to.sll_protocol = htons(ETH_P_IPV6);
		len = 40;
	} else {
		/* IPv4, also for the device unit (family 0): the data path rewrites
		 * the header in the flow's own family */
		pkt[0] = 0x45;
		pkt[3] = 20;
		pkt[8] = 64;
		pkt[9] = 253;
		memcpy(pkt + 16, k->raddr, 4);
		to.sll_protocol = htons(ETH_P_IP);
		len = 20;
	}
	if (setsockopt(p->fd_dev, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		return -errno;
	if (sendto(p->fd_dev, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

void wfg_pump_close(struct wfg_pump *p)
{
	if (p->fd_dev >= 0)
		close(p->fd_dev);
	p->fd_dev = -1;
	if (p->fd4 >= 0)
		close(p->fd4);
	if (p->fd6 >= 0)
		close(p->fd6);
	p->fd4 = p->fd6 = -1;
}

/* The UDP header of a carrier (1 zero byte of payload), checksum over the pseudo header. */
static void carrier_udp(__u8 *udp, const struct wfg_flow_key *k, const __u8 *addrs, size_t alen)
{
	__u16 udp_len = 8 + 1, c;
	__u32 s;

	memcpy(udp, &k->lport, 2);
	memcpy(udp + 2, &k->rport, 2);
	udp[5] = (__u8)udp_len;
	s = csum_add(0, addrs, alen) + IPPROTO_UDP + udp_len;
	c = csum_fold(csum_add(s, udp, udp_len));
	udp[6] = (__u8)(c >> 8);
	udp[7] = (__u8)c;
}

/* One carrier on the flow, valid checksums, marked. */
int wfg_pump_send(struct wfg_pump *p, const struct wfg_flow_key *k, int bypass)
{
	__u32 mark = WFG_MARK_CARRIER | (bypass ? WFG_ACT_F_BYPASS : 0);
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in to4 = { .sin_family = AF_INET };
	struct sockaddr *to = (struct sockaddr *)&to4;
	socklen_t tolen = sizeof(to4);
	__u8 pkt[64] = { 0 };
	size_t len;
	int fd;

	if (p->fd_dev >= 0)
		return send_dev(p, k, mark);
	if (k->family == 4) {
		pkt[0] = 0x45;
		pkt[3] = 20 + 9;
		pkt[8] = 64;
		pkt[9] = IPPROTO_UDP;
		memcpy(pkt + 12, k->laddr, 4);
		memcpy(pkt + 16, k->raddr, 4);
		carrier_udp(pkt + 20, k, pkt + 12, 8);
		memcpy(&to4.sin_addr, k->raddr, 4);
		fd = p->fd4;
		len = 20 + 9;
	} else {
		pkt[0] = 0x60;
		pkt[5] = 9;
		pkt[6] = IPPROTO_UDP;
		pkt[7] = 64;
		memcpy(pkt + 8, k->laddr, 16);
		memcpy(pkt + 24, k->raddr, 16);
		carrier_udp(pkt + 40, k, pkt + 8, 32);
		memcpy(&to6.sin6_addr, k->raddr, 16);
		to = (struct sockaddr *)&to6;
		tolen = sizeof(to6);
		fd = p->fd6;
		len = 40 + 9;
	}
	if (fd < 0)
		return -EAFNOSUPPORT;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		return -errno;
	if (sendto(fd, pkt, len, 0, to, tolen) < 0)
		return -errno;
	return 0;
}

/* All carriers of one request: machine covers keep their bypass flag. */
int wfg_pump_request(struct wfg_pump *p, const struct wfg_cover_req *r)
{
	__u32 i, sent = 0, machines = r->machines;
	int rc = 0;

	for (i = 0; i < r->count; i++) {
		int bypass = 0, m;

		for (m = 0; m < 8; m++) {
			if (machines & (1u << m)) {
				machines &= ~(1u << m);
				bypass = (r->bypass >> m) & 1;
				break;
			}
		}
		rc = wfg_pump_send(p, &r->key, bypass);
		if (rc)
			break;
		sent++;
	}
	p->sent += sent;
	if (rc)
		p->failed += r->count - sent;
	return rc;
}
