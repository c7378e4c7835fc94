// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench observe: the observer classifier (observe.h, docs/observer.md) on a
 * capture, as a table, a JSON object, and with -v every flagged packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"
#include "observe.h"

void wfb_observe_usage(FILE *f)
{
	int t;

	fprintf(f, "usage: wfbench observe --client ADDR [--port N] [--proto P] [--dcid-len N]\n"
		   "                       [--sizes N,N,...] [--json] [-v] PCAP\n"
		   "\n"
		   "Try every cheap cleartext test a passive observer has to single out cover\n"
		   "packets in one UDP tunnel flow of a capture, and count per test and\n"
		   "direction the packets it flags. A defence whose covers cannot be told\n"
		   "apart leaves every count at 0. Reference: docs/observer.md.\n"
		   "\n"
		   "  -c, --client ADDR   the client's IPv4/IPv6 address (directions)\n"
		   "  -p, --port N        a UDP port of the flow, at either end (default: the\n"
		   "                      client's busiest UDP flow)\n"
		   "  -P, --proto P       auto|wireguard|quic|udp: the tunnel's framing, for the\n"
		   "                      protocol tests (default auto: what most datagrams show)\n"
		   "      --dcid-len N    QUIC: DCID length when no long header shows it (1..20;\n"
		   "                      default: the longest prefix most short headers share)\n"
		   "  -s, --sizes LIST    size_set: the allowed UDP payload sizes of the tunnel's\n"
		   "                      data messages (comma-separated)\n"
		   "  -j, --json          one JSON object instead of the table\n"
		   "  -v, --verbose       list every flagged packet (record number, time, tests)\n"
		   "  -h, --help          this text\n"
		   "\n"
		   "tests:\n");
	for (t = 0; t < WFB_OBS_NTESTS; t++)
		fprintf(f, "  %-14s %s\n", wfb_obs_test_name[t], wfb_obs_test_what[t]);
}

/* "288,544,1056" into a malloc'd array; -EINVAL. */
static int parse_sizes(const char *s, uint32_t **out, size_t *n)
{
	size_t cap = 1;
	uint32_t *v;
	const char *c;
	uint64_t x;
	char *end;

	for (c = s; *c; c++)
		cap += *c == ',';
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*n = 0;
	for (c = s;; c = end + 1) {
		char buf[16];
		size_t len = strcspn(c, ",");

		if (!len || len >= sizeof(buf))
			break;
		memcpy(buf, c, len);
		buf[len] = 0;
		if (wfb_parse_u64(buf, 65507, &x))
			break;
		v[(*n)++] = (uint32_t)x;
		end = (char *)c + len;
		if (!*end) {
			*out = v;
			return 0;
		}
	}
	free(v);
	return -EINVAL;
}

static void print_addr(const struct wfb_addr *a, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->a, buf, sizeof(buf));
	printf(a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", buf, port);
}

static void print_table(const char *path, const struct wfb_obs_opts *o,
			const struct wfb_obs_report *r)
{
	int t;

	printf("capture   %s: %zu records, %zu not of the flow\n", path, r->records, r->other);
	printf("flow      client ");
	print_addr(&o->client, r->client_port);
	printf(" <-> ");
	print_addr(&r->peer, r->peer_port);
	printf(", framing %s\n", wfb_obs_proto_name(r->proto));
	if (r->proto == WFB_OBS_QUIC)
		printf("dcid      length %u to the client, %u from it\n",
		       r->dcid_len[WFB_OBS_TO_CLIENT], r->dcid_len[WFB_OBS_FROM_CLIENT]);
	printf("%-14s %10s %12s  %s\n", "test", "to client", "from client", "flags a packet whose");
	for (t = 0; t < WFB_OBS_NTESTS; t++) {
		if (!(r->ran >> t & 1)) {
			printf("%-14s %10s %12s  %s\n", wfb_obs_test_name[t], "-", "-",
			       wfb_obs_test_what[t]);
			continue;
		}
		printf("%-14s %10zu %12zu  %s\n", wfb_obs_test_name[t],
		       r->by_test[t][WFB_OBS_TO_CLIENT], r->by_test[t][WFB_OBS_FROM_CLIENT],
		       wfb_obs_test_what[t]);
	}
	printf("%-14s %10zu %12zu\n", "any test", r->flagged[WFB_OBS_TO_CLIENT],
	       r->flagged[WFB_OBS_FROM_CLIENT]);
	printf("%-14s %10zu %12zu\n", "packets", r->packets[WFB_OBS_TO_CLIENT],
	       r->packets[WFB_OBS_FROM_CLIENT]);
}

static void print_json_addr(const char *key, const struct wfb_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->a, buf, sizeof(buf));
	printf("\"%s\":\"%s\"", key, buf);
}

static void print_json(const struct wfb_obs_opts *o, const struct wfb_obs_report *r)
{
	const char *sep = "";
	int t;

	printf("{");
	print_json_addr("client", &o->client);
	printf(",\"client_port\":%u,", r->client_port);
	print_json_addr("peer", &r->peer);
	printf(",\"peer_port\":%u,\"proto\":\"%s\",", r->peer_port, wfb_obs_proto_name(r->proto));
	if (r->proto == WFB_OBS_QUIC)
		printf("\"dcid_len\":{\"to_client\":%u,\"from_client\":%u},",
		       r->dcid_len[WFB_OBS_TO_CLIENT], r->dcid_len[WFB_OBS_FROM_CLIENT]);
	printf("\"records\":%zu,\"other\":%zu,", r->records, r->other);
	printf("\"packets\":{\"to_client\":%zu,\"from_client\":%zu},", r->packets[1],
	       r->packets[0]);
	printf("\"flagged\":{\"to_client\":%zu,\"from_client\":%zu},\"tests\":{", r->flagged[1],
	       r->flagged[0]);
	for (t = 0; t < WFB_OBS_NTESTS; t++) {
		if (!(r->ran >> t & 1))
			continue;
		printf("%s\"%s\":{\"to_client\":%zu,\"from_client\":%zu}", sep,
		       wfb_obs_test_name[t], r->by_test[t][1], r->by_test[t][0]);
		sep = ",";
	}
	printf("}}\n");
}

/* -v: one line per flagged packet, on stderr with --json (stdout stays one object). */
static void print_flagged(FILE *f, const struct wfb_obs_report *r)
{
	size_t i;
	int t;

	for (i = 0; i < r->n; i++) {
		const struct wfb_obs_pkt *p = &r->pkts[i];

		if (!p->flags)
			continue;
		fprintf(f, "record %zu at %.6f s, %s, %u bytes:", p->record, (double)p->t_ns / 1e9,
			p->dir == WFB_OBS_TO_CLIENT ? "to client" : "from client", p->size);
		for (t = 0; t < WFB_OBS_NTESTS; t++) {
			if (p->flags >> t & 1)
				fprintf(f, " %s", wfb_obs_test_name[t]);
		}
		fputc('\n', f);
	}
}

int wfb_observe_cmd(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "client", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "proto", required_argument, NULL, 'P' },
		{ "dcid-len", required_argument, NULL, 'D' },
		{ "sizes", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct cmd *c = wfb_find_cmd("observe");
	struct wfb_obs_opts o = { .proto = WFB_OBS_AUTO };
	struct wfb_obs_report r;
	bool json = false, verbose = false, client = false;
	uint32_t *sizes = NULL;
	char err[512] = "";
	uint64_t v;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:p:P:s:jvh", lo, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (wfb_addr_parse(optarg, &o.client))
				return wfb_bad_usage(
					c, "--client: '%s' is not an IPv4 or IPv6 address", optarg);
			client = true;
			break;
		case 'p':
			if (wfb_parse_u64(optarg, 65535, &v) || !v)
				return wfb_bad_usage(c, "--port: 1..65535, not '%s'", optarg);
			o.port = (uint16_t)v;
			break;
		case 'P':
			if (wfb_obs_proto_parse(optarg, &o.proto))
				return wfb_bad_usage(
					c, "--proto: auto, wireguard, quic or udp, not '%s'",
					optarg);
			break;
		case 'D':
			if (wfb_parse_u64(optarg, 20, &v) || !v)
				return wfb_bad_usage(c, "--dcid-len: 1..20 bytes, not '%s'",
						     optarg);
			o.dcid_len = (unsigned)v;
			break;
		case 's':
			free(sizes);
			sizes = NULL;
			if (parse_sizes(optarg, &sizes, &o.nsizes))
				return wfb_bad_usage(
					c, "--sizes: comma-separated sizes 0..65507, not '%s'",
					optarg);
			o.sizes = sizes;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			c->usage(stdout);
			return 0;
		default:
			c->usage(stderr);
			return EXIT_BAD;
		}
	}
	if (!client)
		return wfb_bad_usage(c, "%s", "--client ADDR is required");
	if (optind != argc - 1)
		return wfb_bad_usage(c, "%s", "expected exactly one PCAP");
	rc = wfb_observe(argv[optind], &o, &r, err, sizeof(err));
	free(sizes);
	if (rc) {
		wfb_obs_report_free(&r);
		return wfb_fail("observe", rc, err);
	}
	if (json)
		print_json(&o, &r);
	else
		print_table(argv[optind], &o, &r);
	if (verbose)
		print_flagged(json ? stderr : stdout, &r);
	wfb_obs_report_free(&r);
	return 0;
}
