// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <linux/ethtool.h>
#include <net/if_arp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "netdev.h"
#include "wfguard/datapath.h"

static int dev_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	if (ioctl(fd, req, ifr))
		rc = -errno;
	close(fd);
	return rc;
}

int wfg_netdev_is_l3(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int rc = dev_ioctl(ifname, SIOCGIFHWADDR, &ifr);

	if (rc)
		return rc;
	/* WireGuard and TUN report ARPHRD_NONE; other IP-in-IP tunnels their own. */
	return ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER &&
	       ifr.ifr_hwaddr.sa_family != ARPHRD_LOOPBACK;
}

int wfg_netdev_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int rc = dev_ioctl(ifname, SIOCGIFMTU, &ifr);

	return rc ? rc : ifr.ifr_mtu;
}

/* The legacy get/set pair of one offload (ETHTOOL_G/S{GSO,TSO}). */
static int offload(const char *ifname, __u32 cmd, __u32 *value)
{
	struct ethtool_value ev = { .cmd = cmd, .data = value ? *value : 0 };
	struct ifreq ifr = { 0 };
	int rc;

	ifr.ifr_data = (void *)&ev;
	rc = dev_ioctl(ifname, SIOCETHTOOL, &ifr);
	if (!rc && value)
		*value = ev.data;
	return rc;
}

int wfg_netdev_offloads_off(const char *ifname, unsigned *turned_off, char *err, size_t errlen)
{
	static const struct {
		__u32 get, set;
		unsigned flag;
		const char *name;
	} ol[] = {
		{ ETHTOOL_GGSO, ETHTOOL_SGSO, WFG_ATTACHED_GSO_OFF,
		  "generic-segmentation-offload" },
		{ ETHTOOL_GTSO, ETHTOOL_STSO, WFG_ATTACHED_TSO_OFF, "tcp-segmentation-offload" },
	};
	size_t i;
	int rc;

	*turned_off = 0;
	for (i = 0; i < sizeof(ol) / sizeof(ol[0]); i++) {
		__u32 on = 0, off = 0;

		if (offload(ifname, ol[i].get, &on) || !on)
			continue; /* not there, or already off */
		rc = offload(ifname, ol[i].set, &off);
		if (rc) {
			wfg_netdev_offloads_restore(ifname, *turned_off);
			*turned_off = 0;
			return wfg_err(err, errlen, -rc, "%s: cannot turn %s off: %s", ifname,
				       ol[i].name, strerror(-rc));
		}
		*turned_off |= ol[i].flag;
	}
	return 0;
}

void wfg_netdev_offloads_restore(const char *ifname, unsigned turned_off)
{
	__u32 on = 1;

	if (turned_off & WFG_ATTACHED_GSO_OFF)
		offload(ifname, ETHTOOL_SGSO, &on);
	if (turned_off & WFG_ATTACHED_TSO_OFF)
		offload(ifname, ETHTOOL_STSO, &on);
}
