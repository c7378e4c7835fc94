// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `wfbench play`: a dataset's page loads as real UDP traffic (play.h). The
 * server side (--serve) answers whichever trace a client starts; the client
 * side plays the traces it is given, one fresh socket (one flow) per trace.
 *
 * Exit: 0 every datagram of every trace arrived intact both ways, 1 bad usage
 * or input, 3 something was lost or corrupted (the report says what).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "play.h"
#include "play_cmd.h"

#define PLAY_EXIT_BAD	  1
#define PLAY_EXIT_DAMAGED 3
#define PLAY_MAX_TRACES	  4096

void wfb_play_usage(FILE *f)
{
	fprintf(f,
		"usage: wfbench play --dataset DIR --peer ADDR:PORT [--trace NAME]... [--speed X]\n"
		"       wfbench play --dataset DIR --serve [--port PORT] [--bind ADDR] [--count "
		"N]\n"
		"                    [--wait S]\n"
		"\n"
		"Play page loads of a dataset as real UDP traffic between two hosts (e.g. two\n"
		"network namespaces): the client sends each trace's outgoing packets, the\n"
		"server its incoming ones, at the trace's times. Every datagram is checked\n"
		"on arrival (header + filler), so a defended path must deliver them intact.\n"
		"\n"
		"  -d, --dataset DIR    the dataset (both sides read the same one)\n"
		"  -p, --peer ADDR:PORT client: the server (10.0.0.2:443, [fd00::2]:443)\n"
		"  -t, --trace NAME     client: a trace to play (3-7, u-12); repeatable;\n"
		"                       default: instance 0 of every site\n"
		"  -x, --speed X        trace time / wall time (default 1: real time)\n"
		"  -s, --serve          server: answer the traces clients start\n"
		"  -P, --port PORT      server: UDP port to listen on (default 443)\n"
		"  -b, --bind ADDR      server: address to bind (default: any, IPv6 + IPv4)\n"
		"  -n, --count N        server: stop after N traces (default: run until killed)\n"
		"  -w, --wait S         server: stop when no trace starts for S seconds\n"
		"                       (default 30); client: wait this long for replies\n"
		"                       after its last send (default 2)\n"
		"  -h, --help           this text\n"
		"\n"
		"One line per trace: name, datagrams sent and received/expected, bytes, corrupt,\n"
		"worst send lateness. Exit codes: 0 all intact, 1 bad usage or input, 3 lost or\n"
		"corrupted datagrams.\n");
}

struct play_args {
	const char *dataset, *peer, *bind;
	const char *names[PLAY_MAX_TRACES];
	size_t nnames;
	bool serve;
	unsigned port, count;
	double speed, wait_s;
};

/* All traces of the dataset in memory (both sides need them by index). */
struct loaded {
	struct wfb_dataset ds;
	struct wfb_trace *t;
};

static const struct wfb_trace *lookup_trace(void *arg, uint32_t id)
{
	struct loaded *l = arg;

	return id < l->ds.n ? &l->t[id] : NULL;
}

static int load_all(struct loaded *l, const char *dir, char *err, size_t errlen)
{
	size_t i;
	int rc = wfb_dataset_open(&l->ds, dir, err, errlen);

	if (rc)
		return rc;
	l->t = calloc(l->ds.n, sizeof(*l->t));
	if (!l->t)
		return -ENOMEM;
	for (i = 0; i < l->ds.n; i++) {
		wfb_trace_init(&l->t[i]);
		rc = wfb_dataset_read(&l->ds, i, &l->t[i], err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

static void unload(struct loaded *l)
{
	size_t i;

	for (i = 0; l->t && i < l->ds.n; i++)
		wfb_trace_free(&l->t[i]);
	free(l->t);
	wfb_dataset_close(&l->ds);
}

/* "10.0.0.2:443" or "[fd00::2]:443" */
static int parse_peer(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	size_t hl;

	if (!colon || colon == s || !colon[1])
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return -EINVAL;
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (getaddrinfo(host, colon + 1, &hints, &ai))
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void report(const char *name, const struct wfb_play_report *r)
{
	printf("%-8s sent %5zu  received %5zu/%-5zu  bytes out %9llu in %9llu  corrupt %zu  "
	       "late %.1f ms\n",
	       name, r->sent, r->received, r->expected, (unsigned long long)r->bytes_sent,
	       (unsigned long long)r->bytes_received, r->corrupt, (double)r->late_ns / 1e6);
	fflush(stdout);
}

static bool damaged(const struct wfb_play_report *r)
{
	return r->received < r->expected || r->corrupt;
}

static int play_client(const struct play_args *a, struct loaded *l)
{
	struct sockaddr_storage peer;
	struct wfb_play_opts o;
	socklen_t plen;
	char err[256], name[32];
	size_t i, k, done = 0, bad = 0;
	int fd, rc;

	if (parse_peer(a->peer, &peer, &plen)) {
		fprintf(stderr, "wfbench play: --peer '%s': expected ADDR:PORT\n", a->peer);
		return PLAY_EXIT_BAD;
	}
	wfb_play_defaults(&o);
	o.speed = a->speed;
	if (a->wait_s > 0)
		o.idle_ns = (uint64_t)(a->wait_s * 1e9);
	for (i = 0; i < l->ds.n; i++) {
		const struct wfb_entry *e = &l->ds.e[i];
		struct wfb_play_report r;

		wfb_entry_name(e->site, e->instance, name, sizeof(name));
		if (a->nnames) {
			for (k = 0; k < a->nnames && strcmp(a->names[k], name); k++)
				;
			if (k == a->nnames)
				continue;
		} else if (e->site == WFB_UNMON || e->instance) {
			continue;
		}
		fd = socket(peer.ss_family, SOCK_DGRAM, 0);
		if (fd < 0) {
			perror("wfbench play: socket");
			return PLAY_EXIT_BAD;
		}
		rc = wfb_play_client(fd, (struct sockaddr *)&peer, plen, &l->t[i], (uint32_t)i, &o,
				     &r, err, sizeof(err));
		close(fd);
		if (rc) {
			fprintf(stderr, "wfbench play: %s: %s\n", name, err);
			return PLAY_EXIT_BAD;
		}
		report(name, &r);
		bad += damaged(&r);
		done++;
	}
	if (done < (a->nnames ? a->nnames : 1)) {
		fprintf(stderr, "wfbench play: %zu of the traces asked for are not in %s\n",
			(a->nnames ? a->nnames : 1) - done, a->dataset);
		return PLAY_EXIT_BAD;
	}
	printf("played %zu traces, %zu damaged\n", done, bad);
	return bad ? PLAY_EXIT_DAMAGED : 0;
}

static int server_socket(const struct play_args *a)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	char spec[160];
	int fd, off = 0;

	if (a->bind) {
		snprintf(spec, sizeof(spec), strchr(a->bind, ':') ? "[%s]:%u" : "%s:%u", a->bind,
			 a->port);
		if (parse_peer(spec, &ss, &len))
			return -EINVAL;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t)a->port);
		len = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int play_server(const struct play_args *a, struct loaded *l)
{
	static struct wfb_play_server sv;
	struct wfb_play_opts o;
	char err[256], name[32];
	size_t played = 0, bad = 0;
	int fd = server_socket(a);

	if (fd < 0) {
		fprintf(stderr, "wfbench play: cannot listen on port %u: %s\n", a->port,
			strerror(-fd));
		return PLAY_EXIT_BAD;
	}
	wfb_play_defaults(&o);
	printf("serving %zu traces of %s on UDP port %u\n", l->ds.n, a->dataset, a->port);
	fflush(stdout);
	while (!a->count || played < a->count) {
		struct wfb_play_report r;
		uint32_t id;
		int rc = wfb_play_server(fd, &sv, lookup_trace, l, (uint64_t)(a->wait_s * 1e9), &id,
					 &o, &r, err, sizeof(err));

		if (rc == -ETIMEDOUT)
			break;
		if (rc) {
			fprintf(stderr, "wfbench play: %s\n", err);
			close(fd);
			return PLAY_EXIT_BAD;
		}
		wfb_entry_name(l->ds.e[id].site, l->ds.e[id].instance, name, sizeof(name));
		report(name, &r);
		bad += damaged(&r);
		played++;
	}
	close(fd);
	printf("served %zu traces, %zu damaged\n", played, bad);
	if (a->count && played < a->count)
		return PLAY_EXIT_DAMAGED;
	return bad ? PLAY_EXIT_DAMAGED : 0;
}

static int parse_args(int argc, char **argv, struct play_args *a)
{
	static const struct option lo[] = {
		{ "dataset", required_argument, NULL, 'd' },
		{ "peer", required_argument, NULL, 'p' },
		{ "trace", required_argument, NULL, 't' },
		{ "speed", required_argument, NULL, 'x' },
		{ "serve", no_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'P' },
		{ "bind", required_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:p:t:x:sP:b:n:w:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'h':
			wfb_play_usage(stdout);
			return -1;
		case 'd':
			a->dataset = optarg;
			break;
		case 'p':
			a->peer = optarg;
			break;
		case 'b':
			a->bind = optarg;
			break;
		case 's':
			a->serve = true;
			break;
		case 't':
			if (a->nnames == PLAY_MAX_TRACES)
				return PLAY_EXIT_BAD;
			a->names[a->nnames++] = optarg;
			break;
		case 'x':
		case 'w':
		case 'P':
		case 'n': {
			double v = strtod(optarg, &end);

			if (*end || !(v > 0) ||
			    ((opt == 'P' || opt == 'n') && (v != (unsigned)v || v > 65535))) {
				fprintf(stderr, "wfbench play: bad value '%s' for -%c\n", optarg,
					opt);
				return PLAY_EXIT_BAD;
			}
			if (opt == 'x')
				a->speed = v;
			else if (opt == 'w')
				a->wait_s = v;
			else if (opt == 'P')
				a->port = (unsigned)v;
			else
				a->count = (unsigned)v;
			break;
		}
		default:
			wfb_play_usage(stderr);
			return PLAY_EXIT_BAD;
		}
	}
	if (optind != argc || !a->dataset || a->serve == !!a->peer) {
		fprintf(stderr, "wfbench play: need --dataset and exactly one of --peer, --serve "
				"(see wfbench play --help)\n");
		return PLAY_EXIT_BAD;
	}
	return 0;
}

int wfb_play_cmd(int argc, char **argv)
{
	static struct play_args a;
	struct loaded l = { 0 };
	char err[512] = "";
	int rc;

	memset(&a, 0, sizeof(a));
	a.speed = 1;
	a.port = 443;
	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!a.wait_s)
		a.wait_s = a.serve ? 30 : 0;
	rc = load_all(&l, a.dataset, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "wfbench play: %s\n", *err ? err : strerror(-rc));
		unload(&l);
		return PLAY_EXIT_BAD;
	}
	rc = a.serve ? play_server(&a, &l) : play_client(&a, &l);
	unload(&l);
	return rc;
}
