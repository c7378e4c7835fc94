// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Playing a trace as real UDP traffic (play.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "play.h"

static const uint8_t play_magic[4] = { 'W', 'F', 'P', '1' };
#define PLAY_HELLO 0xffffffffu

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void wfb_play_fill(uint8_t *buf, size_t size, uint32_t id, uint32_t seq)
{
	uint64_t s = (uint64_t)id << 32 | seq;
	size_t i;

	memcpy(buf, play_magic, 4);
	put32(buf + 4, id);
	put32(buf + 8, seq);
	put32(buf + 12, (uint32_t)size);
	for (i = WFB_PLAY_HDR; i < size; i += 8) {
		/* splitmix64: cheap, and every byte depends on (id, seq, position) */
		uint64_t z = (s += 0x9e3779b97f4a7c15ull);
		size_t k;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		for (k = 0; k < 8 && i + k < size; k++)
			buf[i + k] = (uint8_t)(z >> (8 * k));
	}
}

void wfb_play_defaults(struct wfb_play_opts *o)
{
	o->speed = 1.0;
	o->idle_ns = 2000000000ull;
	o->unknown_size = 512;
}

static size_t wire_size(const struct wfb_pkt *p, const struct wfb_play_opts *o)
{
	size_t sz = p->size ? p->size : o->unknown_size;

	if (sz < WFB_PLAY_HDR)
		sz = WFB_PLAY_HDR;
	return sz > WFB_PLAY_MAX ? WFB_PLAY_MAX : sz;
}

/* One side's state while a trace plays. */
struct player {
	int fd;
	const struct wfb_trace *t;
	uint32_t id;
	int my_dir;	/* WFB_OUT for the client */
	size_t next;	/* next packet of the trace to look at for sending */
	uint64_t start; /* wall clock of trace time t[0] */
	uint8_t *seen;	/* per packet: received already */
	const struct wfb_play_opts *o;
	struct wfb_play_report *r;
	const struct sockaddr *peer;
	socklen_t peerlen;
	uint64_t last_rx;
	/* server: where the next trace's first datagram goes; get tells ours from others */
	struct wfb_play_server *sv;
	wfb_play_lookup_fn get;
	void *get_arg;
};

static uint64_t due_at(const struct player *p, size_t i)
{
	double rel = (double)(p->t->pkts[i].time_ns - p->t->pkts[0].time_ns) / p->o->speed;

	return p->start + (uint64_t)rel;
}

static void skip_theirs(struct player *p)
{
	while (p->next < p->t->n && p->t->pkts[p->next].dir != p->my_dir)
		p->next++;
}

static int send_one(struct player *p, uint32_t seq, size_t size, char *err, size_t errlen)
{
	uint8_t buf[WFB_PLAY_MAX];
	ssize_t n;

	wfb_play_fill(buf, size, p->id, seq);
	n = sendto(p->fd, buf, size, 0, p->peer, p->peerlen);
	if (n < 0) {
		snprintf(err, errlen, "sendto: %s", strerror(errno));
		return -errno;
	}
	p->r->sent += seq != PLAY_HELLO;
	p->r->bytes_sent += (uint64_t)n;
	return 0;
}

/* Send every packet of mine that is due. */
static int send_due(struct player *p, char *err, size_t errlen)
{
	uint64_t now = now_ns();
	int ret;

	for (skip_theirs(p); p->next < p->t->n && due_at(p, p->next) <= now; skip_theirs(p)) {
		uint64_t due = due_at(p, p->next);

		if (now - due > p->r->late_ns)
			p->r->late_ns = now - due;
		ret = send_one(p, (uint32_t)p->next, wire_size(&p->t->pkts[p->next], p->o), err,
			       errlen);
		if (ret)
			return ret;
		p->next++;
	}
	return 0;
}

/* Is buf (len bytes) a valid datagram of this trace from the peer? Counts it. */
static void take(struct player *p, const uint8_t *buf, size_t len)
{
	uint8_t want[WFB_PLAY_MAX];
	uint32_t seq;

	if (len < WFB_PLAY_HDR || memcmp(buf, play_magic, 4) || get32(buf + 4) != p->id) {
		if (p->sv && !p->sv->len && len >= WFB_PLAY_HDR && len <= sizeof(p->sv->buf) &&
		    !memcmp(buf, play_magic, 4) && p->get(p->get_arg, get32(buf + 4))) {
			memcpy(p->sv->buf, buf, len); /* the client started its next trace */
			p->sv->len = len;
			return;
		}
		p->r->stray++;
		return;
	}
	seq = get32(buf + 8);
	if (seq == PLAY_HELLO || seq >= p->t->n || p->t->pkts[seq].dir == p->my_dir ||
	    get32(buf + 12) != len || len != wire_size(&p->t->pkts[seq], p->o) || p->seen[seq]) {
		p->r->corrupt += seq != PLAY_HELLO;
		return;
	}
	wfb_play_fill(want, len, p->id, seq);
	if (memcmp(want, buf, len)) {
		p->r->corrupt++;
		return;
	}
	p->seen[seq] = 1;
	p->r->received++;
	p->r->bytes_received += len;
	p->last_rx = now_ns();
}

static bool next_started(const struct player *p)
{
	return p->sv && p->sv->len;
}

static void drain(struct player *p)
{
	uint8_t buf[WFB_PLAY_MAX + 64];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t n;

	while (!next_started(p) && (n = recvfrom(p->fd, buf, sizeof(buf), MSG_DONTWAIT,
						 (struct sockaddr *)&from, &fromlen)) >= 0) {
		take(p, buf, (size_t)n);
		if (next_started(p)) {
			p->sv->from = from;
			p->sv->fromlen = fromlen;
		}
		fromlen = sizeof(from);
	}
}

/* Wait for the socket until `until` (wall clock); ppoll's resolution is the timer's. */
static int wait_rx(int fd, uint64_t until)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t now = now_ns();
	struct timespec ts = { 0, 0 };

	if (until > now) {
		ts.tv_sec = (time_t)((until - now) / 1000000000ull);
		ts.tv_nsec = (long)((until - now) % 1000000000ull);
	}
	return ppoll(&pfd, 1, &ts, NULL);
}

static int run(struct player *p, char *err, size_t errlen)
{
	int ret;

	p->last_rx = now_ns();
	for (;;) {
		uint64_t until;

		ret = send_due(p, err, errlen);
		if (ret)
			return ret;
		drain(p);
		if (next_started(p))
			return 0; /* the client is done with this trace */
		skip_theirs(p);
		if (p->next >= p->t->n) {
			if (p->r->received >= p->r->expected)
				return 0;
			until = p->last_rx + p->o->idle_ns;
			if (now_ns() >= until)
				return 0; /* the peer went quiet: the report says what is missing */
		} else {
			until = due_at(p, p->next);
		}
		if (wait_rx(p->fd, until) < 0 && errno != EINTR) {
			snprintf(err, errlen, "ppoll: %s", strerror(errno));
			return -errno;
		}
	}
}

/*
 * A page load's response burst arrives faster than one loop turn drains: give
 * the socket room for a few thousand datagrams (best effort; FORCE needs root).
 */
static void grow_rcvbuf(int fd)
{
	int sz = 8 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static int player_init(struct player *p, int fd, const struct wfb_trace *t, uint32_t id, int my_dir,
		       const struct wfb_play_opts *o, struct wfb_play_report *r, char *err,
		       size_t errlen)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(p, 0, sizeof(*p));
	if (!t->n || !(o->speed > 0)) {
		snprintf(err, errlen, t->n ? "speed must be positive" : "empty trace");
		return -EINVAL;
	}
	grow_rcvbuf(fd);
	p->seen = calloc(t->n, 1);
	if (!p->seen) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->fd = fd;
	p->t = t;
	p->id = id;
	p->my_dir = my_dir;
	p->o = o;
	p->r = r;
	for (i = 0; i < t->n; i++)
		r->expected += t->pkts[i].dir != my_dir;
	return 0;
}

int wfb_play_client(int fd, const struct sockaddr *peer, socklen_t peerlen,
		    const struct wfb_trace *t, uint32_t id, const struct wfb_play_opts *o,
		    struct wfb_play_report *r, char *err, size_t errlen)
{
	struct player p;
	int ret = player_init(&p, fd, t, id, WFB_OUT, o, r, err, errlen);

	if (ret)
		return ret;
	p.peer = peer;
	p.peerlen = peerlen;
	p.start = now_ns();
	/* The server's clock starts with our first datagram: say hello if it is not ours. */
	if (t->pkts[0].dir != WFB_OUT)
		ret = send_one(&p, PLAY_HELLO, WFB_PLAY_HDR, err, errlen);
	if (!ret)
		ret = run(&p, err, errlen);
	free(p.seen);
	return ret;
}

/* The first datagram of some trace: its id and sender. */
static int await_start(int fd, struct wfb_play_server *sv, uint64_t wait_ns, wfb_play_lookup_fn get,
		       void *arg, uint8_t *buf, size_t *len, struct sockaddr_storage *from,
		       socklen_t *fromlen, uint32_t *id, const struct wfb_trace **t,
		       struct wfb_play_report *r, char *err, size_t errlen)
{
	uint64_t until = now_ns() + wait_ns;

	grow_rcvbuf(fd);
	for (;;) {
		ssize_t n;

		*fromlen = sizeof(*from);
		if (sv->len) { /* it arrived during the previous trace */
			n = (ssize_t)sv->len;
			memcpy(buf, sv->buf, sv->len);
			*from = sv->from;
			*fromlen = sv->fromlen;
			sv->len = 0;
		} else {
			n = recvfrom(fd, buf, WFB_PLAY_MAX + 64, MSG_DONTWAIT,
				     (struct sockaddr *)from, fromlen);
		}
		if (n >= WFB_PLAY_HDR && !memcmp(buf, play_magic, 4)) {
			*id = get32(buf + 4);
			*t = get(arg, *id);
			if (*t && (*t)->n) {
				*len = (size_t)n;
				return 0;
			}
		}
		if (n >= 0) {
			r->stray++;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(err, errlen, "recvfrom: %s", strerror(errno));
			return -errno;
		}
		if (now_ns() >= until) {
			snprintf(err, errlen, "no trace started within %.1f s",
				 (double)wait_ns / 1e9);
			return -ETIMEDOUT;
		}
		if (wait_rx(fd, until) < 0 && errno != EINTR) {
			snprintf(err, errlen, "ppoll: %s", strerror(errno));
			return -errno;
		}
	}
}

int wfb_play_server(int fd, struct wfb_play_server *sv, wfb_play_lookup_fn get, void *arg,
		    uint64_t wait_ns, uint32_t *id, const struct wfb_play_opts *o,
		    struct wfb_play_report *r, char *err, size_t errlen)
{
	uint8_t buf[WFB_PLAY_MAX + 64];
	struct sockaddr_storage from;
	socklen_t fromlen;
	const struct wfb_trace *t = NULL;
	struct wfb_play_report early = { 0 };
	struct player p;
	size_t len = 0;
	int ret;

	ret = await_start(fd, sv, wait_ns, get, arg, buf, &len, &from, &fromlen, id, &t, &early,
			  err, errlen);
	if (ret) {
		*r = early;
		return ret;
	}
	ret = player_init(&p, fd, t, *id, WFB_IN, o, r, err, errlen);
	if (ret)
		return ret;
	r->stray = early.stray;
	p.sv = sv;
	p.get = get;
	p.get_arg = arg;
	p.peer = (struct sockaddr *)&from;
	p.peerlen = fromlen;
	p.start = now_ns();
	take(&p, buf, len); /* the first datagram counts (a hello does not) */
	ret = run(&p, err, errlen);
	free(p.seen);
	return ret;
}
