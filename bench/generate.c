// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The synthetic world (docs/synthetic-world.md): a page model per site, and for
 * each instance a page load simulated over a UDP tunnel as the client's ISP
 * would see it. Everything is drawn from SplitMix64 streams keyed by
 * (seed, site, instance): one trace never depends on another.
 *
 * Times inside are double milliseconds; the trace gets integer nanoseconds.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wfguard/core/prng.h"

#include "err.h"
#include "dataset.h"
#include "generate.h"

#define OVH	  60.0		       /* tunnel + transport overhead per datagram */
#define MSS	  (WFB_GEN_MTU - OVH)  /* payload per full datagram */
#define IW	  10		       /* initial congestion window, packets */
#define ACK_DELAY 25.0		       /* ms: delayed-ACK timer */
#define MAX_BASE  150		       /* resources in a site model (besides the HTML) */
#define MAX_RES	  (MAX_BASE + 1 + 8)   /* plus the HTML and per-instance extras */
#define MAX_ORIG  8		       /* origins (connections) */
#define MAX_RESP  (MAX_RES + MAX_ORIG) /* responses: resources and handshake flights */
#define MAX_PAGE  5e6		       /* bytes: heavier pages are scaled down */

enum rtype { R_HTML, R_CSS, R_JS, R_IMG, R_FONT, R_XHR, R_BEACON, R_NTYPES };

#define LATE (-1) /* parent of resources requested after onload */

/* ---------------------------------------------------------------- random numbers */

struct rng {
	__u64 s;
};

enum { TAG_SITE = 1, TAG_INSTANCE, TAG_UNMON_SITE, TAG_UNMON_INSTANCE, TAG_SESSION };

static struct rng rng_for(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b)
{
	struct rng r = { .s = seed };
	__u64 h = wfg_splitmix64(&r.s);

	r.s = h ^ (tag * 0xd1b54a32d192ed03ULL);
	h = wfg_splitmix64(&r.s);
	r.s = h ^ (a * 0x8cb92ba72f3d8dd7ULL);
	h = wfg_splitmix64(&r.s);
	r.s = h ^ (b * 0xabc98388fb8fac03ULL);
	return r;
}

static double runi(struct rng *r)
{
	return (double)(wfg_splitmix64(&r->s) >> 11) * 0x1.0p-53;
}

static double rrange(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * runi(r);
}

/* Log-uniform in [lo, hi]. */
static double rlogu(struct rng *r, double lo, double hi)
{
	return exp(rrange(r, log(lo), log(hi)));
}

static double rnorm(struct rng *r)
{
	double u = 1.0 - runi(r), v = runi(r); /* u in (0, 1] */

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Log-normal with the given median; heavy-tailed for sigma >= 1. */
static double rlogn(struct rng *r, double median, double sigma)
{
	return median * exp(sigma * rnorm(r));
}

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static unsigned rbelow(struct rng *r, unsigned n)
{
	return (unsigned)(runi(r) * n) % (n ? n : 1);
}

/* ---------------------------------------------------------------- page models */

struct res {
	int type, origin;
	int parent;    /* resource index, LATE, or -2 for the HTML */
	double size;   /* response bytes */
	double req;    /* request bytes */
	double disc;   /* discovered at this fraction of the parent received */
	double delay;  /* ms from discovery to request (parse, exec, think) */
	double srv;    /* ms of server time */
	double keep;   /* probability that an instance loads it */
	double jitter; /* sigma of the per-instance size factor */
	bool in, fail; /* per instance */
};

struct origin {
	double rtt;	   /* ms */
	double cert;	   /* bytes of the server's handshake flight */
	double dns_cached; /* probability the name is cached */
};

struct site {
	int nres, norig;
	struct res res[MAX_RES];
	struct origin orig[MAX_ORIG];
};

static const double type_weight[R_NTYPES] = {
	[R_CSS] = 0.12,	 [R_JS] = 0.28,	 [R_IMG] = 0.40,
	[R_FONT] = 0.06, [R_XHR] = 0.10, [R_BEACON] = 0.04,
};

static int pick_type(struct rng *r)
{
	double u = runi(r);
	int t;

	for (t = R_CSS; t < R_BEACON; t++) {
		if (u < type_weight[t])
			return t;
		u -= type_weight[t];
	}
	return R_BEACON;
}

/* Response size by type: log-normal, heavier tails for scripts and images. */
static double type_size(struct rng *r, int type)
{
	switch (type) {
	case R_HTML:
		return clamp(rlogn(r, 40000, 0.9), 3000, 600000);
	case R_CSS:
		return clamp(rlogn(r, 12000, 1.0), 300, 400000);
	case R_JS:
		return clamp(rlogn(r, 25000, 1.3), 300, 1500000);
	case R_IMG:
		return clamp(rlogn(r, 10000, 1.5), 100, 2000000);
	case R_FONT:
		return clamp(rlogn(r, 30000, 0.5), 5000, 200000);
	case R_XHR:
		return clamp(rlogn(r, 1500, 1.2), 50, 200000);
	default:
		return rrange(r, 60, 400);
	}
}

/* A random earlier resource of `type` (not late), or 0 (the HTML). */
static int earlier_of(const struct site *s, int i, int type, struct rng *r)
{
	int j, n = 0, k;

	for (j = 1; j < i; j++)
		n += s->res[j].type == type && s->res[j].parent != LATE;
	if (!n)
		return 0;
	k = (int)rbelow(r, (unsigned)n);
	for (j = 1; j < i; j++) {
		if (s->res[j].type == type && s->res[j].parent != LATE && !k--)
			return j;
	}
	return 0;
}

/* Dependency waves: HTML -> CSS/JS -> fonts, images, XHR -> ...; some after onload. */
static int pick_parent(const struct site *s, int i, int type, struct rng *r)
{
	double u = runi(r);

	switch (type) {
	case R_CSS:
		return u < 0.15 ? earlier_of(s, i, R_CSS, r) : 0;
	case R_JS:
		return u < 0.30 ? earlier_of(s, i, R_JS, r) : 0;
	case R_IMG:
		if (u < 0.12)
			return LATE;
		return u < 0.35	  ? earlier_of(s, i, R_CSS, r)
		       : u < 0.50 ? earlier_of(s, i, R_JS, r)
				  : 0;
	case R_FONT:
		return earlier_of(s, i, R_CSS, r);
	case R_XHR:
		return u < 0.12 ? LATE : earlier_of(s, i, R_JS, r);
	default:
		return LATE;
	}
}

/* First party (0), CDN (1) or a third party (2..). */
static int pick_origin(const struct site *s, int type, struct rng *r)
{
	double u = runi(r);
	int third = s->norig > 2 ? 2 + (int)rbelow(r, (unsigned)(s->norig - 2)) : s->norig - 1;
	int cdn = s->norig > 1 ? 1 : 0;

	switch (type) {
	case R_CSS:
	case R_JS:
		return u < 0.5 ? 0 : u < 0.9 ? cdn : third;
	case R_IMG:
		return u < 0.4 ? 0 : u < 0.9 ? cdn : third;
	case R_FONT:
		return cdn;
	case R_XHR:
		return u < 0.6 ? 0 : third;
	default:
		return third;
	}
}

static double server_time(const struct res *x, struct rng *r)
{
	if (x->type == R_HTML || x->type == R_XHR || x->type == R_BEACON)
		return x->origin == 0 ? rlogu(r, 20, 300) : rlogu(r, 5, 120);
	return x->origin == 0 ? rlogu(r, 2, 40) : rlogu(r, 1, 15);
}

/* When a resource is requested: parse delay, script execution or think time. */
static void discovery(struct res *x, const struct site *s, struct rng *r)
{
	if (x->parent == LATE) {
		x->disc = 1;
		x->delay = rlogu(r, 50, 2500);
	} else if (x->parent == 0) {
		x->disc = x->type == R_CSS  ? rrange(r, 0.02, 0.25)
			  : x->type == R_JS ? rrange(r, 0.05, 1.0)
					    : rrange(r, 0.1, 1.0);
		x->delay = rrange(r, 0.5, 5);
	} else {
		x->disc = 1;
		x->delay = s->res[x->parent].type == R_CSS ? rlogu(r, 1, 10) : rlogu(r, 5, 150);
	}
}

static void res_build(struct site *s, int i, struct rng *r)
{
	struct res *x = &s->res[i];
	bool volatile_ = runi(r) < 0.10; /* rotating content, ads */

	x->type = pick_type(r);
	x->parent = pick_parent(s, i, x->type, r);
	x->origin = pick_origin(s, x->type, r);
	x->size = type_size(r, x->type);
	x->req = x->type == R_BEACON ? rlogu(r, 400, 4000) : clamp(rlogn(r, 350, 0.4), 80, 1300);
	x->srv = server_time(x, r);
	x->keep = volatile_ ? rrange(r, 0.3, 0.9) : rrange(r, 0.97, 1.0);
	x->jitter = volatile_ ? 0.4 : x->type == R_XHR ? 0.2 : 0.003;
	discovery(x, s, r);
}

static void origins_build(struct site *s, struct rng *r)
{
	int k;

	s->norig = 1;
	while (s->norig < 6 && runi(r) < 0.6)
		s->norig++;
	for (k = 0; k < s->norig; k++) {
		struct origin *o = &s->orig[k];

		o->rtt = k == 0 ? rlogu(r, 15, 200) : k == 1 ? rlogu(r, 5, 40) : rlogu(r, 10, 150);
		o->cert = rrange(r, 2500, 6000);
		o->dns_cached = k == 0 ? 0.3 : k == 1 ? 0.6 : 0.5;
	}
}

static void site_build(struct site *s, struct rng *r)
{
	struct res *html = &s->res[0];
	double total = 0;
	int i;

	memset(s, 0, sizeof(*s));
	origins_build(s, r);
	html->type = R_HTML;
	html->parent = -2;
	html->size = type_size(r, R_HTML);
	html->req = rrange(r, 300, 700);
	html->srv = server_time(html, r);
	html->keep = 1;
	html->jitter = rrange(r, 0.01, 0.12);
	s->nres = 1 + (int)clamp(round(rlogn(r, 25, 0.8)), 2, MAX_BASE);
	for (i = 1; i < s->nres; i++)
		res_build(s, i, r);
	for (i = 0; i < s->nres; i++)
		total += s->res[i].size;
	for (i = 0; total > MAX_PAGE && i < s->nres; i++)
		s->res[i].size *= MAX_PAGE / total;
}

/* ---------------------------------------------------------------- instances */

/* 0-4 resources this page load has and the model does not (ads, experiments). */
static void add_extras(struct site *s, struct rng *r)
{
	static const int types[] = { R_IMG, R_IMG, R_IMG, R_IMG, R_IMG,
				     R_XHR, R_XHR, R_XHR, R_JS,	 R_JS };
	double u = runi(r);
	int n = u < 0.20 ? 1 : u < 0.25 ? 2 + (int)rbelow(r, 3) : 0;

	while (n-- > 0 && s->nres < MAX_RES) {
		struct res *x = &s->res[s->nres];

		memset(x, 0, sizeof(*x));
		x->type = types[rbelow(r, 10)];
		x->parent = runi(r) < 0.3 ? LATE : 0;
		if (runi(r) < 0.3 && s->norig < MAX_ORIG) {
			struct origin *o = &s->orig[s->norig];

			o->rtt = rlogu(r, 10, 150);
			o->cert = rrange(r, 2500, 6000);
			o->dns_cached = 0;
			x->origin = s->norig++;
		} else {
			x->origin = (int)rbelow(r, (unsigned)s->norig);
		}
		x->size = type_size(r, x->type);
		x->req = clamp(rlogn(r, 350, 0.4), 80, 1300);
		x->srv = rlogu(r, 5, 120);
		x->keep = 1;
		x->in = true;
		discovery(x, s, r);
		s->nres++;
	}
}

/* Which resources this load has, their sizes and server times. */
static void instance_build(struct site *s, struct rng *r, double cpu)
{
	int i;

	for (i = 0; i < s->nres; i++) {
		struct res *x = &s->res[i];
		int p = x->parent;

		x->in = i == 0 ||
			(runi(r) < x->keep && (p < 0 || (s->res[p].in && !s->res[p].fail)));
		x->size = fmax(50, x->size * exp(x->jitter * rnorm(r)));
		x->srv *= exp(0.3 * rnorm(r));
		if (p > 0 && s->res[p].type == R_JS)
			x->delay *= cpu;
		x->fail = i > 0 && runi(r) < 0.01; /* a 404 or an error page */
		if (x->fail)
			x->size = rrange(r, 150, 400);
	}
	add_extras(s, r);
}

/* ---------------------------------------------------------------- simulation */

struct gpkt {
	double t;
	uint32_t seq, size;
	int dir;
};

struct conn {
	double owd;	   /* ms, one way */
	int state;	   /* 0 idle, 1 handshaking, 2 open */
	double *arr, *ack; /* per packet: arrival at the client, ACK arrival at the server */
	size_t sent, cap;
	long pending; /* packet waiting for a delayed ACK, or -1 */
	int wait[MAX_RES], nwait;
};

struct resp {
	int res; /* resource, or -1 for a handshake flight */
	int conn;
	double ready, total, sent;
	uint64_t last; /* round-robin among ready responses */
	int next_kid;
	bool active;
};

struct sim {
	struct site *s;
	struct rng *r;
	double bw;	 /* bytes per ms at the bottleneck */
	size_t cwnd_max; /* packets */
	double link_free;
	uint64_t served;
	struct conn conn[MAX_ORIG];
	struct resp resp[MAX_RESP];
	int nresp;
	int kid_start[MAX_RES + 1], kids[MAX_RES];
	int outstanding;
	bool onload;
	struct gpkt *pk;
	size_t npk, cappk;
	int err;
};

static void emit(struct sim *m, double t, int dir, double size)
{
	if (m->npk == m->cappk) {
		size_t cap = m->cappk ? 2 * m->cappk : 1024;
		struct gpkt *p = realloc(m->pk, cap * sizeof(*p));

		if (!p) {
			m->err = -ENOMEM;
			return;
		}
		m->pk = p;
		m->cappk = cap;
	}
	m->pk[m->npk].t = t;
	m->pk[m->npk].seq = (uint32_t)m->npk;
	m->pk[m->npk].size = (uint32_t)lround(clamp(size, 1, WFB_GEN_MTU));
	m->pk[m->npk].dir = dir;
	m->npk++;
}

static double ack_size(struct sim *m)
{
	return OVH + rrange(m->r, 8, 30);
}

static int new_resp(struct sim *m, int res, int conn, double ready, double total)
{
	struct resp *p = &m->resp[m->nresp];

	if (m->nresp >= MAX_RESP)
		return -1;
	memset(p, 0, sizeof(*p));
	p->res = res;
	p->conn = conn;
	p->ready = ready;
	p->total = fmax(1, total);
	p->last = m->served;
	p->next_kid = res >= 0 ? m->kid_start[res] : 0;
	p->active = true;
	return m->nresp++;
}

static void send_request(struct sim *m, int i, double t)
{
	const struct res *x = &m->s->res[i];
	struct conn *c = &m->conn[x->origin];
	double left = x->req;
	int k = 0;

	while (left > 0) {
		emit(m, t + 0.05 * k++, WFB_OUT, OVH + fmin(left, MSS));
		left -= MSS;
	}
	new_resp(m, i, x->origin, t + c->owd + x->srv, x->size);
}

/* DNS if not cached, the client's Initial, then the server's handshake flight. */
static void connect_origin(struct sim *m, int k, double t)
{
	const struct origin *o = &m->s->orig[k];
	struct conn *c = &m->conn[k];

	if (runi(m->r) >= o->dns_cached) {
		double dns = rlogu(m->r, 5, 60);

		emit(m, t, WFB_OUT, OVH + rrange(m->r, 20, 50));
		emit(m, t + dns, WFB_IN, OVH + rrange(m->r, 40, 180));
		t += dns + 0.2;
	}
	emit(m, t, WFB_OUT, 1250); /* a padded QUIC Initial */
	new_resp(m, -1, k, t + c->owd + 0.5, o->cert);
	c->state = 1;
}

static void request(struct sim *m, int i, double t)
{
	const struct res *x = &m->s->res[i];
	struct conn *c = &m->conn[x->origin];

	if (x->parent != LATE)
		m->outstanding++;
	if (c->state == 2) {
		send_request(m, i, t);
		return;
	}
	if (c->state == 0)
		connect_origin(m, x->origin, t);
	c->wait[c->nwait++] = i;
}

static void handshake_done(struct sim *m, struct conn *c, double t)
{
	int j;

	emit(m, t + 0.3, WFB_OUT, OVH + rrange(m->r, 40, 80)); /* client Finished */
	c->state = 2;
	for (j = 0; j < c->nwait; j++)
		send_request(m, c->wait[j], t + 0.3 + 0.02 * j);
	c->nwait = 0;
}

static void ack_now(struct sim *m, struct conn *c, double t)
{
	emit(m, t, WFB_OUT, ack_size(m));
	c->ack[c->pending] = t + c->owd;
	c->pending = -1;
}

/* Delayed ACKs: one per two packets, or after ACK_DELAY for a lone one. */
static void on_arrival(struct sim *m, struct conn *c, double t)
{
	size_t j = c->sent - 1;

	c->arr[j] = t;
	if (c->pending >= 0 && t - c->arr[c->pending] <= ACK_DELAY) {
		c->ack[j] = t + c->owd;
		ack_now(m, c, t);
		return;
	}
	if (c->pending >= 0)
		ack_now(m, c, c->arr[c->pending] + ACK_DELAY);
	c->pending = (long)j;
	c->ack[j] = t + ACK_DELAY + c->owd; /* until a second packet comes */
}

static int conn_grow(struct conn *c)
{
	size_t cap;
	double *a, *b;

	if (c->sent < c->cap)
		return 0;
	cap = c->cap ? 2 * c->cap : 512;
	a = realloc(c->arr, cap * sizeof(*a));
	if (a)
		c->arr = a;
	b = a ? realloc(c->ack, cap * sizeof(*b)) : NULL;
	if (!b)
		return -ENOMEM;
	c->ack = b;
	c->cap = cap;
	return 0;
}

/* Slow start by ACK clock: packet k leaves once packet (k-IW)/2 is acknowledged. */
static double cwnd_gate(const struct sim *m, const struct conn *c)
{
	size_t k = c->sent, idx;

	if (k < IW)
		return 0;
	idx = (k - IW) / 2;
	if (k >= m->cwnd_max && k - m->cwnd_max > idx)
		idx = k - m->cwnd_max;
	return c->ack[idx];
}

static void page_loaded(struct sim *m, double t)
{
	int i;

	m->onload = true;
	for (i = 1; i < m->s->nres; i++) {
		const struct res *x = &m->s->res[i];

		if (x->in && x->parent == LATE)
			request(m, i, t + x->delay);
	}
}

/* The client got more of response p at time t: discover, complete. */
static void deliver(struct sim *m, struct resp *p, double t)
{
	bool done = p->sent >= p->total;
	struct conn *c = &m->conn[p->conn];
	int end;

	if (p->res < 0) {
		if (done) {
			p->active = false;
			handshake_done(m, c, t);
		}
		return;
	}
	end = m->kid_start[p->res + 1];
	while (p->next_kid < end) {
		const struct res *k = &m->s->res[m->kids[p->next_kid]];

		if (!done && k->disc * p->total > p->sent)
			break;
		request(m, m->kids[p->next_kid++], t + k->delay);
	}
	if (!done)
		return;
	p->active = false;
	if (c->pending >= 0)
		ack_now(m, c, t);
	if (m->s->res[p->res].parent != LATE && --m->outstanding == 0 && !m->onload)
		page_loaded(m, t);
}

/* The next datagram on the bottleneck: earliest possible, least recently served. */
static int pick(const struct sim *m, double *when)
{
	double best = INFINITY;
	int i, b = -1;

	for (i = 0; i < m->nresp; i++) {
		const struct resp *p = &m->resp[i];
		double t;

		if (!p->active)
			continue;
		t = fmax(fmax(p->ready, m->link_free), cwnd_gate(m, &m->conn[p->conn]));
		if (t < best - 1e-9 || (t < best + 1e-9 && p->last < m->resp[b].last)) {
			best = t;
			b = i;
		}
	}
	*when = best;
	return b;
}

static void serve(struct sim *m, int i, double t)
{
	struct resp *p = &m->resp[i];
	struct conn *c = &m->conn[p->conn];
	double payload = fmin(MSS, p->total - p->sent), size = payload + OVH, arr;

	if (conn_grow(c)) {
		m->err = -ENOMEM;
		return;
	}
	m->link_free = t + size / m->bw;
	arr = m->link_free + c->owd;
	emit(m, arr + rlogu(m->r, 0.005, 0.3), WFB_IN, size);
	c->sent++;
	p->sent += payload;
	p->last = ++m->served;
	on_arrival(m, c, arr);
	deliver(m, p, arr);
}

/* Children of each resource, in discovery order. */
static void index_kids(struct sim *m)
{
	const struct site *s = m->s;
	int i, j, n[MAX_RES + 1] = { 0 };

	for (i = 1; i < s->nres; i++) {
		if (s->res[i].in && s->res[i].parent >= 0)
			n[s->res[i].parent + 1]++;
	}
	for (i = 0; i < s->nres; i++)
		n[i + 1] += n[i];
	memcpy(m->kid_start, n, sizeof(n));
	for (i = 1; i < s->nres; i++) {
		if (s->res[i].in && s->res[i].parent >= 0)
			m->kids[n[s->res[i].parent]++] = i;
	}
	for (i = 0; i < s->nres; i++) { /* insertion sort by disc */
		for (j = m->kid_start[i] + 1; j < m->kid_start[i + 1]; j++) {
			int k = j, v = m->kids[j];

			while (k > m->kid_start[i] &&
			       s->res[m->kids[k - 1]].disc > s->res[v].disc) {
				m->kids[k] = m->kids[k - 1];
				k--;
			}
			m->kids[k] = v;
		}
	}
}

static void sim_net(struct sim *m, double rtt_factor)
{
	int k;
	double rtt0 = m->s->orig[0].rtt * rtt_factor;

	m->bw = rlogu(m->r, 10, 100) * 1e6 / 8 / 1000; /* 10-100 Mbit/s in bytes per ms */
	m->cwnd_max = (size_t)fmax(IW, 2 * m->bw * rtt0 / WFB_GEN_MTU);
	for (k = 0; k < m->s->norig; k++) {
		m->conn[k].owd = m->s->orig[k].rtt * rtt_factor / 2;
		m->conn[k].pending = -1;
	}
}

static void sim_free(struct sim *m)
{
	int k;

	for (k = 0; k < MAX_ORIG; k++) {
		free(m->conn[k].arr);
		free(m->conn[k].ack);
	}
	free(m->pk);
}

static int gpkt_cmp(const void *a, const void *b)
{
	const struct gpkt *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int to_trace(struct sim *m, struct wfb_trace *t)
{
	size_t i;
	double t0;

	qsort(m->pk, m->npk, sizeof(*m->pk), gpkt_cmp);
	t->n = 0;
	t0 = m->npk ? m->pk[0].t : 0;
	for (i = 0; i < m->npk; i++) {
		uint64_t ns = (uint64_t)llround((m->pk[i].t - t0) * 1e6);

		if (wfb_trace_push(t, ns, m->pk[i].dir, m->pk[i].size, WFB_REAL))
			return -ENOMEM;
	}
	return 0;
}

/* One page load's draws: its network's RTT factor, then its resources. */
static double instance_draw(struct site *s, struct rng *r)
{
	double rtt_factor = exp(0.15 * rnorm(r)), cpu = exp(0.25 * rnorm(r));

	instance_build(s, r, cpu);
	return rtt_factor;
}

static int simulate(struct site *s, struct rng *r, struct wfb_trace *t)
{
	struct sim *m = calloc(1, sizeof(*m));
	double rtt_factor, when;
	int i, k, rc;

	if (!m)
		return -ENOMEM;
	m->s = s;
	m->r = r;
	rtt_factor = instance_draw(s, r);
	sim_net(m, rtt_factor);
	index_kids(m);
	request(m, 0, 0.0);
	while (!m->err && (i = pick(m, &when)) >= 0)
		serve(m, i, when);
	for (k = 0; k < s->norig; k++) { /* lone packets still waiting for their ACK */
		struct conn *c = &m->conn[k];

		if (c->pending >= 0)
			ack_now(m, c, c->arr[c->pending] + ACK_DELAY);
	}
	rc = m->err ? m->err : to_trace(m, t);
	sim_free(m);
	free(m);
	return rc;
}

/* ---------------------------------------------------------------- API */

/* The site model of (site, instance) and the instance's own stream, positioned
 * before the instance's draws. NULL: out of memory. */
static struct site *page_model(const struct wfb_gen_opts *o, int site, unsigned instance,
			       struct rng *ri)
{
	bool unmon = site == WFB_UNMON;
	struct rng rs = rng_for(o->seed, unmon ? TAG_UNMON_SITE : TAG_SITE,
				unmon ? instance : (uint64_t)site, 0);
	struct site *s = malloc(sizeof(*s));

	*ri = rng_for(o->seed, unmon ? TAG_UNMON_INSTANCE : TAG_INSTANCE,
		      unmon ? instance : (uint64_t)site, unmon ? 0 : instance);
	if (s)
		site_build(s, &rs);
	return s;
}

int wfb_gen_trace(const struct wfb_gen_opts *o, int site, unsigned instance, struct wfb_trace *t)
{
	struct rng ri;
	struct site *s = page_model(o, site, instance, &ri);
	int rc;

	if (!s)
		return -ENOMEM;
	rc = simulate(s, &ri, t);
	free(s);
	return rc;
}

/* The page's own resource index of each model resource the load has, or -1. */
static void page_index(const struct site *s, int idx[MAX_RES])
{
	int i, n = 0;

	for (i = 0; i < s->nres; i++)
		idx[i] = s->res[i].in ? n++ : -1;
}

int wfb_gen_page(const struct wfb_gen_opts *o, int site, unsigned instance, struct wfb_page *pg)
{
	struct rng ri;
	struct site *s = page_model(o, site, instance, &ri);
	int i, idx[MAX_RES];

	_Static_assert(WFB_PAGE_MAX_RES >= MAX_RES, "a page holds every resource of a load");
	_Static_assert(WFB_PAGE_MAX_ORIGINS >= MAX_ORIG, "and every origin");
	if (!s)
		return -ENOMEM;
	instance_draw(s, &ri);
	page_index(s, idx);
	memset(pg, 0, sizeof(*pg));
	pg->origins = (unsigned)s->norig;
	for (i = 0; i < s->nres; i++) {
		const struct res *x = &s->res[i];
		struct wfb_page_res *p = &pg->res[pg->n];

		if (!x->in)
			continue;
		p->size = (uint32_t)lround(fmax(1, x->size));
		p->req = (uint32_t)lround(x->req);
		p->origin = (unsigned)x->origin;
		p->parent = x->parent == LATE ? WFB_PAGE_ONLOAD
			    : x->parent < 0   ? WFB_PAGE_ROOT
					      : idx[x->parent];
		p->disc = x->disc;
		p->delay_ms = x->delay;
		p->server_ms = x->srv;
		pg->n++;
	}
	free(s);
	return 0;
}

static double gap_min(const struct wfb_gen_opts *o)
{
	return o->gap_min_s > 0 || o->gap_max_s > 0 ? o->gap_min_s : WFB_SESSION_GAP_MIN_S;
}

static double gap_max(const struct wfb_gen_opts *o)
{
	return o->gap_min_s > 0 || o->gap_max_s > 0 ? o->gap_max_s : WFB_SESSION_GAP_MAX_S;
}

/* Append load l (times from 0) to t at offset `at`. */
static int append_load(struct wfb_trace *t, const struct wfb_trace *l, uint64_t at)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (wfb_trace_push(t, at + l->pkts[i].time_ns, l->pkts[i].dir, l->pkts[i].size,
				   (enum wfb_kind)l->pkts[i].kind))
			return -ENOMEM;
	return 0;
}

int wfb_gen_session(const struct wfb_gen_opts *o, int site, unsigned instance, struct wfb_trace *t,
		    struct wfb_load *loads)
{
	bool unmon = site == WFB_UNMON;
	struct rng r = rng_for(o->seed, TAG_SESSION, unmon ? o->sites : (uint64_t)site, instance);
	/* instances the world's dataset does not have, one per (session, load) */
	uint64_t first =
		(unmon ? o->sites : (uint64_t)site) * ((uint64_t)o->instances + o->unmonitored) +
		instance;
	struct wfb_trace l;
	uint64_t at = 0;
	unsigned k;
	int rc = 0;

	if (!o->session || o->session > WFB_SESSION_MAX_LOADS || !o->sites ||
	    !(gap_min(o) > 0 && gap_max(o) >= gap_min(o)))
		return -EINVAL;
	t->n = 0;
	wfb_trace_init(&l);
	for (k = 0; !rc && k < o->session; k++) {
		struct wfb_load *ld = &loads[k];

		if (k) {
			at = t->pkts[t->n - 1].time_ns +
			     (uint64_t)(rlogu(&r, gap_min(o), gap_max(o)) * 1e9);
			ld->site = (int)rbelow(&r, o->sites);
			ld->instance = o->instances + (unsigned)(first * WFB_SESSION_MAX_LOADS + k);
		} else {
			ld->site = site;
			ld->instance = instance;
		}
		l.n = 0;
		rc = wfb_gen_trace(o, ld->site, ld->instance, &l);
		if (!rc && !l.n)
			rc = -EINVAL;
		if (!rc)
			rc = append_load(t, &l, at);
		ld->first_ns = at;
		ld->last_ns = t->n ? t->pkts[t->n - 1].time_ns : at;
	}
	wfb_trace_free(&l);
	return rc;
}

/* One line per load of a session: "TRACE LOAD SITE-INSTANCE FIRST_NS LAST_NS". */
static int loads_append(char **text, size_t *len, int site, unsigned inst,
			const struct wfb_load *loads, unsigned n)
{
	char name[64], page[64];
	unsigned k;

	wfb_entry_name(site, inst, name, sizeof(name));
	for (k = 0; k < n; k++) {
		char line[256], *p;
		int m;

		wfb_entry_name(loads[k].site, loads[k].instance, page, sizeof(page));
		m = snprintf(line, sizeof(line), "%s %u %s %llu %llu\n", name, k, page,
			     (unsigned long long)loads[k].first_ns,
			     (unsigned long long)loads[k].last_ns);
		p = realloc(*text, *len + (size_t)m + 1);
		if (!p)
			return -ENOMEM;
		memcpy(p + *len, line, (size_t)m + 1);
		*text = p;
		*len += (size_t)m;
	}
	return 0;
}

struct gen_out {
	struct wfb_writer *w;
	struct wfb_trace t;
	struct wfb_load loads[WFB_SESSION_MAX_LOADS];
	char *loads_text;
	size_t loads_len;
};

static int gen_one(struct gen_out *g, const struct wfb_gen_opts *o, int site, unsigned inst,
		   char *err, size_t errlen)
{
	int rc = o->session ? wfb_gen_session(o, site, inst, &g->t, g->loads)
			    : wfb_gen_trace(o, site, inst, &g->t);

	if (!rc && o->session)
		rc = loads_append(&g->loads_text, &g->loads_len, site, inst, g->loads, o->session);
	if (rc)
		return wfg_err(err, errlen, -rc, "generate: %s", strerror(-rc));
	return wfb_writer_add(g->w, site, inst, "-", &g->t, err, errlen);
}

static const char LOADS_HEADER[] =
	"# wfbench session loads (docs/synthetic-world.md): one line per page load\n"
	"# TRACE LOAD SITE-INSTANCE FIRST_NS LAST_NS\n";

int wfb_generate(const struct wfb_gen_opts *o, const char *dir, bool force, char *err,
		 size_t errlen)
{
	size_t total = (size_t)o->sites * o->instances + o->unmonitored, done = 0;
	struct gen_out *g;
	char source[256];
	unsigned s, i;
	int rc;

	if (!o->sites || !o->instances)
		return wfg_err(err, errlen, EINVAL,
			       "generate: --sites and --instances must be > 0");
	if (o->session &&
	    (o->session > WFB_SESSION_MAX_LOADS || !(gap_min(o) > 0 && gap_max(o) >= gap_min(o))))
		return wfg_err(err, errlen, EINVAL,
			       "generate: sessions need 1..%d loads and 0 < gap min <= max",
			       WFB_SESSION_MAX_LOADS);
	g = calloc(1, sizeof(*g));
	if (!g)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	rc = wfb_writer_open(&g->w, dir, force, err, errlen);
	if (rc) {
		free(g);
		return rc;
	}
	wfb_trace_init(&g->t);
	for (s = 0; !rc && s < o->sites + 1; s++) {
		unsigned n = s < o->sites ? o->instances : o->unmonitored;

		for (i = 0; !rc && i < n; i++) {
			rc = gen_one(g, o, s < o->sites ? (int)s : WFB_UNMON, i, err, errlen);
			if (!rc && o->progress)
				o->progress(++done, total, o->arg);
		}
	}
	wfb_trace_free(&g->t);
	if (!rc && o->session) {
		char *text = malloc(sizeof(LOADS_HEADER) + g->loads_len);

		rc = text ? 0 : wfg_err(err, errlen, ENOMEM, "out of memory");
		if (text) {
			memcpy(text, LOADS_HEADER, sizeof(LOADS_HEADER));
			memcpy(text + sizeof(LOADS_HEADER) - 1, g->loads_text, g->loads_len + 1);
			rc = wfb_writer_sidecar(g->w, "loads", text, err, errlen);
			free(text);
		}
	}
	free(g->loads_text);
	if (rc) {
		wfb_writer_abort(g->w);
		free(g);
		return rc;
	}
	if (o->session)
		snprintf(source, sizeof(source),
			 "generate --sites %u --instances %u --unmonitored %u --seed %llu "
			 "--session %u --gap %g-%g",
			 o->sites, o->instances, o->unmonitored, (unsigned long long)o->seed,
			 o->session, gap_min(o), gap_max(o));
	else
		snprintf(source, sizeof(source),
			 "generate --sites %u --instances %u --unmonitored %u --seed %llu",
			 o->sites, o->instances, o->unmonitored, (unsigned long long)o->seed);
	rc = wfb_writer_commit(g->w, source, err, errlen);
	free(g);
	return rc;
}
