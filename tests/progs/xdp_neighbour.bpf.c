// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdp_neighbour: another XDP program on wfguard's device, the way an edge
 * server's DDoS filter would be, for tests/net/test_cli's coexistence case.
 * It passes everything and counts the UDP datagrams to one port and the
 * largest UDP payload it saw: running after wfguard under libxdp's
 * dispatcher, it must see only the peer's real datagrams (covers dropped,
 * trailers stripped). IPv4 over Ethernet only: that is all the test sends.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct neighbour_seen {
	__u64 datagrams;
	__u64 max_payload;
};

/* The UDP destination port to count (host order), set before load. */
const volatile __u16 watch_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct neighbour_seen);
} seen SEC(".maps");

SEC("xdp")
int xdp_neighbour(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct neighbour_seen *s;
	struct iphdr *ip;
	struct udphdr *udp;
	__u32 zero = 0;
	__u64 len;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end || bpf_ntohs(udp->dest) != watch_port)
		return XDP_PASS;
	s = bpf_map_lookup_elem(&seen, &zero);
	if (!s)
		return XDP_PASS;
	len = bpf_ntohs(udp->len) - sizeof(*udp);
	__sync_fetch_and_add(&s->datagrams, 1);
	if (len > s->max_payload)
		s->max_payload = len; /* one sender at a time: a race only loses a maximum */
	return XDP_PASS;
}
