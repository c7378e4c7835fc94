// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live evaluation's site server and fetch client (site.h): HTTP/1.1 over
 * TCP, one poll() loop each, non-blocking sockets. Just enough HTTP for a
 * page load of the synthetic world: GET, Content-Length, keep-alive.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "err.h"
#include "site.h"

#define IO_CHUNK  65536
#define REQ_MAX	  8192 /* a request line and headers, X-Pad included */
#define HDR_MAX	  1024 /* a response's headers */
#define SRV_CONNS 1024

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Counter mode over a mixer: any offset can be produced without the bytes before it. */
void wfl_body(uint64_t seed, int site, unsigned res, uint64_t off, uint8_t *buf, size_t n)
{
	uint64_t key = mix64(mix64(seed ^ 0x6c697665ULL) ^ ((uint64_t)(uint32_t)site << 32 | res));
	size_t i = 0;

	while (i < n) {
		uint64_t word = off + i, w = mix64(key + (word >> 3) * 0x9e3779b97f4a7c15ULL);
		unsigned b = (unsigned)(word & 7);

		for (; b < 8 && i < n; b++, i++)
			buf[i] = (uint8_t)(w >> (8 * b));
	}
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ? -errno : 0;
}

/* ---------------------------------------------------------------- server */

enum srv_state { S_READ, S_WAIT, S_WRITE };

struct srv_conn {
	int fd;
	enum srv_state st;
	char req[REQ_MAX];
	size_t rlen;
	uint64_t due_ns; /* S_WAIT: when the answer may start */
	/* the response being written: headers, then the body */
	char hdr[HDR_MAX];
	size_t hlen, hsent;
	uint64_t seed, size, sent;
	int site;
	unsigned res;
	bool close_after;
};

struct server {
	struct srv_conn *c;
	size_t n;
	uint8_t buf[IO_CHUNK];
};

static void srv_drop(struct server *s, size_t i)
{
	close(s->c[i].fd);
	s->c[i] = s->c[--s->n];
}

/* "GET /s/SEED/SITE/RES/SIZE/SERVER_US HTTP/1.1": the answer's parameters, or 400. */
static void srv_parse(struct srv_conn *c)
{
	unsigned long long seed, size, us;
	int site, n = 0;
	unsigned res;

	c->hsent = c->sent = 0;
	if (sscanf(c->req, "GET /s/%llu/%d/%u/%llu/%llu HTTP/1.1%n", &seed, &site, &res, &size, &us,
		   &n) != 5 ||
	    !n || size > (1ULL << 32)) {
		c->hlen = (size_t)snprintf(c->hdr, sizeof(c->hdr),
					   "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
					   "Connection: close\r\n\r\n");
		c->size = 0;
		c->close_after = true;
		c->due_ns = 0;
		return;
	}
	c->seed = seed;
	c->site = site;
	c->res = res;
	c->size = size;
	c->due_ns = mono_ns() + us * 1000ULL;
	c->hlen = (size_t)snprintf(c->hdr, sizeof(c->hdr),
				   "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				   "Content-Length: %llu\r\n\r\n",
				   size);
}

/* Read what the peer sent; a whole request moves the connection on. -1: drop it. */
static int srv_read(struct srv_conn *c)
{
	ssize_t k = recv(c->fd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen, 0);
	char *end;
	size_t used;

	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (k == 0)
		return -1;
	c->rlen += (size_t)k;
	c->req[c->rlen] = 0;
	end = strstr(c->req, "\r\n\r\n");
	if (!end)
		return c->rlen == sizeof(c->req) - 1 ? -1 : 0;
	srv_parse(c);
	used = (size_t)(end + 4 - c->req);
	memmove(c->req, c->req + used, c->rlen - used); /* a pipelined request stays */
	c->rlen -= used;
	c->st = S_WAIT;
	return 0;
}

static int srv_write(struct server *s, struct srv_conn *c)
{
	while (c->hsent < c->hlen) {
		ssize_t k = send(c->fd, c->hdr + c->hsent, c->hlen - c->hsent, MSG_NOSIGNAL);

		if (k < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->hsent += (size_t)k;
	}
	while (c->sent < c->size) {
		size_t n = c->size - c->sent < IO_CHUNK ? (size_t)(c->size - c->sent) : IO_CHUNK;
		ssize_t k;

		wfl_body(c->seed, c->site, c->res, c->sent, s->buf, n);
		k = send(c->fd, s->buf, n, MSG_NOSIGNAL);
		if (k < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->sent += (uint64_t)k;
	}
	if (c->close_after)
		return -1;
	c->st = S_READ;
	return 0;
}

static void srv_accept(struct server *s, int lfd)
{
	int fd;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		if (s->n == SRV_CONNS || nonblock(fd)) {
			close(fd);
			continue;
		}
		memset(&s->c[s->n], 0, sizeof(s->c[s->n]));
		s->c[s->n++].fd = fd;
	}
}

/* The poll timeout: the nearest answer due, at most 100 ms (to see *stop). */
static int srv_timeout(const struct server *s, uint64_t now)
{
	uint64_t best = 100000000ULL;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->c[i].st == S_WAIT)
			best = s->c[i].due_ns <= now	     ? 0
			       : s->c[i].due_ns - now < best ? s->c[i].due_ns - now
							     : best;
	return (int)((best + 999999) / 1000000);
}

static void srv_step(struct server *s, struct pollfd *p)
{
	uint64_t now = mono_ns();
	size_t i;

	for (i = s->n; i-- > 0;) {
		struct srv_conn *c = &s->c[i];
		int rc = 0;

		if (p[i + 1].revents & (POLLERR | POLLHUP | POLLNVAL) && c->st == S_READ &&
		    !(p[i + 1].revents & POLLIN))
			rc = -1;
		else if (c->st == S_READ && p[i + 1].revents & POLLIN)
			rc = srv_read(c);
		if (!rc && c->st == S_WAIT && c->due_ns <= now)
			c->st = S_WRITE;
		if (!rc && c->st == S_WRITE)
			rc = srv_write(s, c);
		if (rc)
			srv_drop(s, i);
	}
}

int wfl_serve(int lfd, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct server *s = calloc(1, sizeof(*s));
	struct pollfd *p = calloc(SRV_CONNS + 1, sizeof(*p));
	int rc = 0;

	if (!s || !p || !(s->c = calloc(SRV_CONNS, sizeof(*s->c)))) {
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
		goto out;
	}
	rc = nonblock(lfd);
	while (!rc && !*stop) {
		size_t i;

		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (i = 0; i < s->n; i++)
			p[i + 1] = (struct pollfd){
				.fd = s->c[i].fd,
				.events = s->c[i].st == S_READ	  ? POLLIN
					  : s->c[i].st == S_WRITE ? POLLOUT
								  : 0,
			};
		if (poll(p, s->n + 1, srv_timeout(s, mono_ns())) < 0 && errno != EINTR) {
			rc = wfg_err(err, errlen, errno, "serve: poll: %s", strerror(errno));
			break;
		}
		srv_step(s, p);
		if (p[0].revents & POLLIN)
			srv_accept(s, lfd);
	}
	while (s && s->c && s->n)
		srv_drop(s, s->n - 1);
out:
	if (s)
		free(s->c);
	free(s);
	free(p);
	return rc;
}

/* ---------------------------------------------------------------- client */

enum res_state { R_WAITING, R_READY, R_FETCHING, R_DONE, R_FAILED };
enum conn_state { C_FREE, C_CONNECTING, C_IDLE, C_SENDING, C_HEADERS, C_BODY };

struct fres {
	enum res_state st;
	uint64_t ready_ns; /* R_READY: may be requested from then on (monotonic) */
	uint64_t got;	   /* body bytes in */
	bool discovered;
};

struct fconn {
	enum conn_state st;
	int fd;
	unsigned origin;
	int res; /* the resource under way, or -1 */
	uint64_t t_connect;
	char out[REQ_MAX];
	size_t olen, osent;
	char hdr[HDR_MAX];
	size_t hlen;
	uint64_t clen;
};

struct fetch {
	const struct wfl_fetch_opts *o;
	const struct wfb_page *pg;
	int site;
	struct fres r[WFB_PAGE_MAX_RES];
	struct fconn *c;
	unsigned nc;   /* o->conns per origin */
	unsigned left; /* resources neither done nor failed */
	unsigned pending_before_onload;
	bool onload;
	struct wfl_load_result *res;
	uint8_t buf[IO_CHUNK], want[IO_CHUNK];
};

static uint64_t scaled_ns(const struct fetch *f, double ms)
{
	return (uint64_t)(ms * 1e6 / f->o->time_scale);
}

static void make_ready(struct fetch *f, int i, uint64_t now)
{
	f->r[i].st = R_READY;
	f->r[i].discovered = true;
	f->r[i].ready_ns = now + scaled_ns(f, f->pg->res[i].delay_ms);
}

/* The kids of resource i whose part of it is in, and the onload wave. */
static void discover(struct fetch *f, int i, uint64_t now)
{
	const struct wfb_page_res *p = &f->pg->res[i];
	unsigned j;

	for (j = 0; j < f->pg->n; j++) {
		const struct wfb_page_res *k = &f->pg->res[j];

		if (k->parent == i && !f->r[j].discovered &&
		    (f->r[i].st == R_DONE || (double)f->r[i].got >= k->disc * (double)p->size))
			make_ready(f, (int)j, now);
	}
}

static void finish(struct fetch *f, int i, enum res_state st, uint64_t now)
{
	unsigned j;

	f->r[i].st = st;
	f->left--;
	if (st == R_FAILED) /* what it would have revealed never comes */
		f->res->failed++;
	else
		discover(f, i, now);
	if (f->pg->res[i].parent != WFB_PAGE_ONLOAD && --f->pending_before_onload == 0) {
		f->onload = true;
		for (j = 0; j < f->pg->n; j++)
			if (f->pg->res[j].parent == WFB_PAGE_ONLOAD)
				make_ready(f, (int)j, now);
	}
	/* a failed parent's kids that were never discovered will never be */
	if (st == R_FAILED)
		for (j = 0; j < f->pg->n; j++)
			if (f->pg->res[j].parent == i && !f->r[j].discovered) {
				f->r[j].discovered = true;
				finish(f, (int)j, R_FAILED, now);
			}
}

static void conn_close(struct fetch *f, struct fconn *c, uint64_t now)
{
	if (c->res >= 0 && f->r[c->res].st == R_FETCHING)
		finish(f, c->res, R_FAILED, now);
	close(c->fd);
	c->st = C_FREE;
	c->res = -1;
}

/* The request for resource i, X-Pad making it the model's request size. */
static void build_request(struct fetch *f, struct fconn *c, int i)
{
	const struct wfb_page_res *p = &f->pg->res[i];
	int n = snprintf(c->out, sizeof(c->out),
			 "GET /s/%" PRIu64 "/%d/%d/%u/%" PRIu64
			 " HTTP/1.1\r\nHost: o%u.s%d.test\r\n",
			 f->o->seed, f->site, i, p->size,
			 (uint64_t)(p->server_ms * 1e3 / f->o->time_scale), p->origin, f->site);
	size_t want = p->req < sizeof(c->out) - 64 ? p->req : sizeof(c->out) - 64;
	size_t pad = (size_t)n + 13 < want ? want - (size_t)n - 13 : 0; /* "X-Pad: \r\n\r\n\r\n" */

	c->olen = (size_t)n;
	memcpy(c->out + c->olen, "X-Pad: ", 7);
	c->olen += 7;
	memset(c->out + c->olen, 'p', pad);
	c->olen += pad;
	memcpy(c->out + c->olen, "\r\n\r\n", 4);
	c->olen += 4;
	c->osent = c->hlen = 0;
	c->clen = 0;
	c->res = i;
	f->r[i].st = R_FETCHING;
	f->res->resources++;
}

static int conn_open(struct fetch *f, struct fconn *c, unsigned origin)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int one = 1;

	c->fd = socket(f->o->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (f->o->family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(f->o->port);
		memcpy(&a->sin_addr, f->o->server, 4);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(f->o->port);
		memcpy(&a->sin6_addr, f->o->server, 16);
		sl = sizeof(*a);
	}
	c->t_connect = mono_ns();
	if (connect(c->fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		int e = -errno;

		close(c->fd);
		return e;
	}
	c->st = C_CONNECTING;
	c->origin = origin;
	c->res = -1;
	f->res->connections++;
	return 0;
}

/* A connection for origin: an idle one, a new one if the pool has room, or NULL. */
static struct fconn *conn_for(struct fetch *f, unsigned origin, int *rc)
{
	struct fconn *pool = &f->c[origin * f->nc], *free_slot = NULL;
	unsigned k;

	*rc = 0;
	for (k = 0; k < f->nc; k++) {
		if (pool[k].st == C_IDLE)
			return &pool[k];
		if (pool[k].st == C_FREE && !free_slot)
			free_slot = &pool[k];
	}
	if (!free_slot)
		return NULL;
	*rc = conn_open(f, free_slot, origin);
	return *rc ? NULL : free_slot;
}

/* Hand every resource that is due to a connection; the next due time in *next. */
static int dispatch(struct fetch *f, uint64_t now, uint64_t *next)
{
	unsigned i;
	int rc;

	for (i = 0; i < f->pg->n; i++) {
		struct fconn *c;

		if (f->r[i].st != R_READY)
			continue;
		if (f->r[i].ready_ns > now) {
			if (f->r[i].ready_ns < *next)
				*next = f->r[i].ready_ns;
			continue;
		}
		c = conn_for(f, f->pg->res[i].origin, &rc);
		if (rc)
			return rc;
		if (!c)
			continue;
		build_request(f, c, (int)i);
		if (c->st == C_IDLE)
			c->st = C_SENDING;
	}
	return 0;
}

/* Body bytes in: count them, compare them with what the server must send; returns
 * how many of the n were this response's. */
static size_t body_in(struct fetch *f, struct fconn *c, const uint8_t *b, size_t n, uint64_t now)
{
	struct fres *r = &f->r[c->res];
	size_t i;

	if (r->got + n > c->clen)
		n = (size_t)(c->clen - r->got); /* more than announced: not ours to count */
	wfl_body(f->o->seed, f->site, (unsigned)c->res, r->got, f->want, n);
	for (i = 0; i < n; i++)
		f->res->mismatched += b[i] != f->want[i];
	r->got += n;
	f->res->bytes += n;
	f->res->end_ns = real_ns();
	discover(f, c->res, now);
	if (r->got == c->clen) {
		finish(f, c->res, c->clen == f->pg->res[c->res].size ? R_DONE : R_FAILED, now);
		c->res = -1;
		c->st = C_IDLE;
	}
	return n;
}

/* Response headers: status 200 and the length; -1 when they are not that. */
static int headers_in(struct fetch *f, struct fconn *c, size_t *used, const uint8_t *b, size_t n)
{
	size_t room = sizeof(c->hdr) - 1 - c->hlen, take = n < room ? n : room;
	char *end, *cl;
	size_t before = c->hlen;
	unsigned long long len;

	memcpy(c->hdr + c->hlen, b, take);
	c->hlen += take;
	c->hdr[c->hlen] = 0;
	end = strstr(c->hdr, "\r\n\r\n");
	if (!end) {
		*used = take;
		return c->hlen == sizeof(c->hdr) - 1 ? -1 : 0;
	}
	*used = (size_t)(end + 4 - c->hdr) - before;
	cl = strstr(c->hdr, "Content-Length: ");
	if (strncmp(c->hdr, "HTTP/1.1 200 ", 13) || !cl || sscanf(cl + 16, "%llu", &len) != 1 ||
	    len != f->pg->res[c->res].size)
		return -1;
	c->clen = len;
	c->st = C_BODY;
	return 0;
}

static int conn_recv(struct fetch *f, struct fconn *c, uint64_t now)
{
	ssize_t k = recv(c->fd, f->buf, sizeof(f->buf), 0);
	size_t off = 0, used;

	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (k == 0 || c->res < 0)
		return -1; /* closed, or bytes nobody asked for */
	while (off < (size_t)k && c->res >= 0) {
		if (c->st == C_HEADERS) {
			if (headers_in(f, c, &used, f->buf + off, (size_t)k - off))
				return -1;
			off += used;
			if (c->st == C_BODY && !c->clen) { /* an empty body */
				finish(f, c->res, R_DONE, now);
				c->res = -1;
				c->st = C_IDLE;
			}
		} else {
			off += body_in(f, c, f->buf + off, (size_t)k - off, now);
		}
	}
	return off < (size_t)k ? -1 : 0; /* bytes after the response nobody asked for */
}

static int conn_send(struct fconn *c)
{
	while (c->osent < c->olen) {
		ssize_t k = send(c->fd, c->out + c->osent, c->olen - c->osent, MSG_NOSIGNAL);

		if (k < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->osent += (size_t)k;
	}
	c->st = C_HEADERS;
	return 0;
}

static void conn_connected(struct fetch *f, struct fconn *c, uint64_t now)
{
	uint64_t d = now - c->t_connect;

	if (!f->res->connect_ns_min || d < f->res->connect_ns_min)
		f->res->connect_ns_min = d;
	c->st = c->res >= 0 ? C_SENDING : C_IDLE;
}

static void conn_event(struct fetch *f, struct fconn *c, short ev, uint64_t now)
{
	int bad = 0, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (c->st == C_CONNECTING && ev & (POLLOUT | POLLERR | POLLHUP)) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr)
			bad = 1;
		else
			conn_connected(f, c, now);
	}
	if (!bad && c->st == C_SENDING)
		bad = conn_send(c);
	if (!bad && (c->st == C_HEADERS || c->st == C_BODY || c->st == C_IDLE) &&
	    ev & (POLLIN | POLLHUP | POLLERR))
		bad = conn_recv(f, c, now);
	if (bad)
		conn_close(f, c, now);
}

static short conn_events(const struct fconn *c)
{
	switch (c->st) {
	case C_CONNECTING:
	case C_SENDING:
		return POLLOUT;
	case C_HEADERS:
	case C_BODY:
	case C_IDLE:
		return POLLIN;
	default:
		return 0;
	}
}

static int fetch_loop(struct fetch *f, uint64_t deadline, char *err, size_t errlen)
{
	unsigned total = f->pg->origins * f->nc, k, np;
	struct pollfd p[WFB_PAGE_MAX_ORIGINS * 16];
	unsigned map[WFB_PAGE_MAX_ORIGINS * 16];
	int rc;

	while (f->left) {
		uint64_t now = mono_ns(), next = deadline;

		if (*f->o->stop)
			return wfg_err(err, errlen, EINTR, "fetch: stopped");
		if (now >= deadline)
			return wfg_err(
				err, errlen, ETIMEDOUT,
				"fetch: site %d: %u of %u resources still missing after %.0f s",
				f->site, f->left, f->pg->n, (double)f->o->timeout_ns / 1e9);
		rc = dispatch(f, now, &next);
		if (rc)
			return wfg_err(err, errlen, -rc, "fetch: connect: %s", strerror(-rc));
		for (k = np = 0; k < total; k++) {
			if (f->c[k].st == C_FREE)
				continue;
			p[np] = (struct pollfd){ .fd = f->c[k].fd,
						 .events = conn_events(&f->c[k]) };
			map[np++] = k;
		}
		if (poll(p, np, (int)((next - now + 999999) / 1000000)) < 0 && errno != EINTR)
			return wfg_err(err, errlen, errno, "fetch: poll: %s", strerror(errno));
		now = mono_ns();
		for (k = 0; k < np; k++)
			if (p[k].revents)
				conn_event(f, &f->c[map[k]], p[k].revents, now);
	}
	return 0;
}

int wfl_fetch(const struct wfl_fetch_opts *o, int site, const struct wfb_page *pg,
	      struct wfl_load_result *r, char *err, size_t errlen)
{
	struct fetch *f;
	unsigned k;
	int rc;

	if (!pg->n || pg->origins > WFB_PAGE_MAX_ORIGINS || !o->conns || o->conns > 16 ||
	    !(o->time_scale >= 1))
		return wfg_err(err, errlen, EINVAL, "fetch: bad page or options");
	f = calloc(1, sizeof(*f));
	if (f)
		f->c = calloc((size_t)pg->origins * o->conns, sizeof(*f->c));
	if (!f || !f->c) {
		free(f);
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	}
	memset(r, 0, sizeof(*r));
	f->o = o;
	f->pg = pg;
	f->site = site;
	f->nc = o->conns;
	f->res = r;
	f->left = pg->n;
	for (k = 0; k < pg->n; k++)
		f->pending_before_onload += pg->res[k].parent != WFB_PAGE_ONLOAD;
	r->start_ns = r->end_ns = real_ns();
	make_ready(f, 0, mono_ns());
	f->r[0].ready_ns = mono_ns(); /* the HTML at once */
	rc = fetch_loop(f, mono_ns() + o->timeout_ns, err, errlen);
	for (k = 0; k < pg->origins * o->conns; k++)
		if (f->c[k].st != C_FREE)
			conn_close(f, &f->c[k], mono_ns());
	if (!rc && (r->failed || r->mismatched))
		rc = wfg_err(err, errlen, EIO,
			     "fetch: site %d: %u resources failed, %" PRIu64 " body bytes differ",
			     site, r->failed, r->mismatched);
	free(f->c);
	free(f);
	return rc;
}
