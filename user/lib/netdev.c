// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* 1 if a sysctl file reads as a non-zero number. */
static int sysctl_on(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

/* Does traffic that ifname receives reach other devices as GSO super-packets?
 * GRO builds them; a veth hands over its local sender's GSO skbs whole. */
static int delivers_gso(const char *ifname)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	__u32 gro = 0;

	if (offload(ifname, ETHTOOL_GGRO, &gro) == 0 && gro)
		return 1;
	ifr.ifr_data = (void *)&di;
	return dev_ioctl(ifname, SIOCETHTOOL, &ifr) == 0 && strcmp(di.driver, "veth") == 0;
}

int wfg_netdev_forwarded_gso(const char *tunnel, char *names, size_t len)
{
	struct if_nameindex *all, *i;
	size_t used = 0;
	int found = 0;

	if (len)
		names[0] = '\0';
	if (!sysctl_on("/proc/sys/net/ipv4/ip_forward") &&
	    !sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding"))
		return 0;
	all = if_nameindex();
	if (!all)
		return -errno;
	for (i = all; i->if_index; i++) {
		int n;

		if (!strcmp(i->if_name, tunnel) || !strcmp(i->if_name, "lo") ||
		    !delivers_gso(i->if_name))
			continue;
		n = snprintf(names + used, len - used, "%s%s", found ? " " : "", i->if_name);
		if (n > 0 && (size_t)n < len - used)
			used += (size_t)n;
		found++;
	}
	if_freenameindex(all);
	return found;
}

/* One feature's state by its ethtool name (ETH_SS_FEATURES): 1 on, 0 off, -errno. */
int wfg_netdev_feature(const char *ifname, const char *name)
{
	/* the header and the one count it returns for the one set asked for */
	union {
		struct ethtool_sset_info hdr;
		__u8 bytes[sizeof(struct ethtool_sset_info) + sizeof(__u32)];
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_FEATURES } };
	struct ethtool_gstrings *names = NULL;
	struct ethtool_gfeatures *feat = NULL;
	struct ifreq ifr = { 0 };
	__u32 n, blocks, i;
	int rc;

	ifr.ifr_data = (void *)&info;
	rc = dev_ioctl(ifname, SIOCETHTOOL, &ifr);
	if (rc)
		return rc;
	n = info.hdr.sset_mask ? info.hdr.data[0] : 0;
	blocks = (n + 31) / 32;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	feat = calloc(1, sizeof(*feat) + blocks * sizeof(feat->features[0]));
	if (!names || !feat) {
		rc = -ENOMEM;
		goto out;
	}
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_FEATURES;
	names->len = n;
	ifr.ifr_data = (void *)names;
	rc = dev_ioctl(ifname, SIOCETHTOOL, &ifr);
	if (rc)
		goto out;
	feat->cmd = ETHTOOL_GFEATURES;
	feat->size = blocks;
	ifr.ifr_data = (void *)feat;
	rc = dev_ioctl(ifname, SIOCETHTOOL, &ifr);
	if (rc)
		goto out;
	rc = -ENOENT;
	for (i = 0; i < n; i++) {
		if (strncmp((const char *)names->data + (size_t)i * ETH_GSTRING_LEN, name,
			    ETH_GSTRING_LEN))
			continue;
		rc = !!(feat->features[i / 32].active & (1u << (i % 32)));
		break;
	}
out:
	free(names);
	free(feat);
	return rc;
}

int wfg_netdev_gso_advice(const char *ifname, __u32 limit, char *buf, size_t len)
{
	int on = wfg_netdev_feature(ifname, "tx-udp-segmentation");
	char payload[64] = "the shape limit minus 20";

	if (limit > WFG_SHIM_LEN)
		snprintf(payload, sizeof(payload), "%u bytes (the limit %u minus the shim)",
			 limit - WFG_SHIM_LEN, limit);
	return snprintf(
		buf, len,
		"%s: UDP GSO: datagrams a socket sends as one super-packet (UDP_SEGMENT, "
		"the default of most QUIC stacks) leave unshaped, counted as unshaped_gso; "
		"the device (%s) cannot prevent it. Turn GSO off in the "
		"application (ngtcp2: --max-gso-dgrams=1; quic-go: QUIC_GO_DISABLE_GSO=true) "
		"and keep its UDP payload at or below %s (docs/datapath.md, UDP GSO).",
		ifname,
		on > 0	  ? "tx-udp-segmentation on"
		: on == 0 ? "tx-udp-segmentation off"
			  : "tx-udp-segmentation unknown",
		payload);
}
