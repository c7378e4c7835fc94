/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The observer classifier (docs/observer.md): given what a passive observer
 * captured of one UDP tunnel, try every cheap cleartext test that could
 * single out cover packets (IP and UDP header fields, WireGuard's and QUIC's
 * cleartext framing, sizes) and count, per test and direction, the packets
 * each one flags. A test "singles out" packets if it flags any: a defence
 * whose covers cannot be told apart makes every test flag nothing.
 *
 * Library code: returns 0 or a negative errno, with one line in err.
 */
#ifndef WFBENCH_OBSERVE_H
#define WFBENCH_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace.h"

/* X(ID, name, what a flagged packet shows). One list: the enum, the names in
 * the report, the JSON keys and the help text. */
#define WFB_OBS_TESTS(X)                                                                       \
	X(IP_CSUM, "ip_csum", "IPv4 header checksum does not verify")                          \
	X(IP_HDR, "ip_hdr", "IPv4 header length / IPv6 next header not the direction's usual") \
	X(IP_TTL, "ip_ttl", "TTL / hop limit not the direction's usual")                       \
	X(IP_TOS, "ip_tos", "TOS / traffic class (DSCP, ECN) not the direction's usual")       \
	X(IP_DF, "ip_df", "IPv4 don't-fragment bit not the direction's usual")                 \
	X(IP_ID, "ip_id", "IPv4 ID breaks the direction's pattern (constant, or counting up)") \
	X(IP6_FLOW, "ip6_flowlabel", "IPv6 flow label not the direction's usual")              \
	X(UDP_LEN, "udp_len", "UDP length disagrees with the IP length")                       \
	X(UDP_CSUM, "udp_csum", "UDP checksum valid/zero/wrong, not as the direction's usual") \
	X(SIZE_SET, "size_set", "tunnel data message of a size not in --sizes")                \
	X(WG_TYPE, "wg_type", "WireGuard: message type not 1..4")                              \
	X(WG_RESERVED, "wg_reserved", "WireGuard: reserved bytes 1..3 not zero")               \
	X(WG_LEN, "wg_len", "WireGuard: length not the type's (data: 32 + 16k)")               \
	X(WG_INDEX, "wg_index", "WireGuard: receiver index of no session of this direction")   \
	X(WG_COUNTER, "wg_counter",                                                            \
	  "WireGuard: counter repeated, older than the window, or far "                        \
	  "ahead")                                                                             \
	X(QUIC_FIXED, "quic_fixed", "QUIC: fixed bit (0x40) clear")                            \
	X(QUIC_DCID, "quic_dcid", "QUIC short header: DCID not the connection's")              \
	X(QUIC_LEN, "quic_len", "QUIC short header: too short for DCID, packet number and tag")

#define WFB_OBS_ENUM(id, name, what) WFB_OBS_##id,
enum wfb_obs_test { WFB_OBS_TESTS(WFB_OBS_ENUM) WFB_OBS_NTESTS };
#undef WFB_OBS_ENUM

extern const char *const wfb_obs_test_name[WFB_OBS_NTESTS];
extern const char *const wfb_obs_test_what[WFB_OBS_NTESTS];

/* The tunnel's cleartext framing, which decides the protocol tests. */
enum wfb_obs_proto {
	WFB_OBS_AUTO, /* the framing most of the flow's datagrams have */
	WFB_OBS_UDP,  /* none: IP/UDP and size tests only */
	WFB_OBS_WIREGUARD,
	WFB_OBS_QUIC,
};

int wfb_obs_proto_parse(const char *s, enum wfb_obs_proto *p);
const char *wfb_obs_proto_name(enum wfb_obs_proto p);

/* Directions, as report indices. */
enum { WFB_OBS_FROM_CLIENT = 0, WFB_OBS_TO_CLIENT = 1 };

/* WireGuard's replay window (both implementations: 8192 - 64 counters). */
#define WFB_OBS_WG_WINDOW 8128

struct wfb_obs_opts {
	struct wfb_addr client;
	uint16_t port;		  /* a UDP port of the flow (either end); 0: the busiest flow */
	enum wfb_obs_proto proto; /* WFB_OBS_AUTO by default */
	unsigned dcid_len;	  /* QUIC, when no long header shows it: 1..20; 0: learn */
	const uint32_t *sizes;	  /* size_set: the allowed UDP payload sizes; NULL: off */
	size_t nsizes;
};

#define WFB_OBS_HEAD 48 /* UDP payload bytes kept per packet: the longest header read */

/* One datagram of the flow: what the tests read, and what they flagged. */
struct wfb_obs_pkt {
	uint64_t t_ns;	/* since the capture's first record */
	size_t record;	/* 1-based record number in the file */
	uint32_t flags; /* 1 << enum wfb_obs_test per test that flagged it */
	uint32_t size;	/* UDP payload bytes (from the UDP length) */
	uint32_t flowlabel;
	uint16_t ipid;
	uint8_t dir; /* WFB_OBS_FROM_CLIENT or WFB_OBS_TO_CLIENT */
	uint8_t v6;
	uint8_t ttl, tos, df, hdr;
	uint8_t csum; /* UDP checksum: enum in observe.c (unknown, valid, zero, wrong) */
	uint8_t nhead;
	uint8_t head[WFB_OBS_HEAD];
	/* the flow: the peer's address and both ports */
	uint8_t peer[16];
	uint16_t cport, pport;
};

struct wfb_obs_report {
	enum wfb_obs_proto proto; /* as given, or detected */
	struct wfb_addr peer;
	uint16_t client_port, peer_port;
	unsigned dcid_len[2]; /* QUIC: DCID length checked per direction (0: none known) */
	size_t records;	      /* pcap records read */
	size_t other;	      /* records not of the flow (other hosts, ports, protocols) */
	size_t packets[2];    /* the flow's datagrams per direction */
	size_t flagged[2];    /* ... flagged by at least one test */
	size_t by_test[WFB_OBS_NTESTS][2];
	uint32_t ran; /* 1 << test for every test that applied to this flow */
	struct wfb_obs_pkt *pkts;
	size_t n;
};

/* Read a pcap/pcapng capture and run every test on the flow. */
int wfb_observe(const char *path, const struct wfb_obs_opts *o, struct wfb_obs_report *r, char *err,
		size_t errlen);
void wfb_obs_report_free(struct wfb_obs_report *r);

#endif
