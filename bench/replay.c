// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "wfguard/core/core.h"

#define BASE_NS WFB_REPLAY_BASE_NS /* the core's clock starts above 0 */

/* A packet in flight, arriving at the other side. */
struct arrival {
	uint64_t at;
	uint64_t seq; /* tie-break: FIFO among equal times */
	uint32_t size;
	int8_t dir;
	uint8_t kind;
};

struct heap {
	struct arrival *a;
	size_t n, cap;
};

static int heap_less(const struct arrival *x, const struct arrival *y)
{
	return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

static int heap_push(struct heap *h, struct arrival v)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		struct arrival *a = realloc(h->a, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	i = h->n++;
	while (i && heap_less(&v, &h->a[(i - 1) / 2])) {
		h->a[i] = h->a[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->a[i] = v;
	return 0;
}

static struct arrival heap_pop(struct heap *h)
{
	struct arrival top = h->a[0], last = h->a[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_less(&h->a[c + 1], &h->a[c]))
			c++;
		if (!heap_less(&h->a[c], &last))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n)
		h->a[i] = last;
	return top;
}

struct handoff {
	uint64_t at;
	size_t i;
};

static int cmp_handoff(const void *a, const void *b)
{
	const struct handoff *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

struct side {
	const struct wfg_side_cfg *cfg;
	struct wfg_flow_side flow;
	uint64_t timer; /* the side's next deadline, 0 = none */
	int dir;	/* the direction this side sends: WFB_OUT for the client */
};

struct sim {
	const struct wfb_replay_opts *o;
	struct side side[2]; /* [0] client, [1] server */
	struct heap inflight;
	uint64_t link_free[2];
	uint64_t seq;
	struct wfb_trace *out;
	struct wfb_overhead *ov;
	size_t budget; /* packets the observer may still see */
	size_t steps;  /* events left to simulate: timers that send nothing count too */
};

static int di(int dir)
{
	return dir == WFB_OUT ? 0 : 1;
}

static uint32_t mtu_of(const struct wfb_replay_opts *o)
{
	return o->mtu ? o->mtu : WFB_TUNNEL_MTU;
}

/* What the observer sees of a packet the data path sends with len bytes. */
static uint32_t observed(const struct wfb_replay_opts *o, uint32_t len)
{
	return wfg_wire_observed_len(o->mode, len, mtu_of(o));
}

/*
 * Put a departing packet of len bytes (the data path's length) on the wire:
 * observer record and link (what the observer sees of it), arrival (len).
 */
static int transmit(struct sim *s, int dir, uint64_t depart, uint32_t len, int kind)
{
	uint64_t start = depart, arrive;
	uint32_t size = observed(s->o, len);
	int d = di(dir);

	if (!s->budget)
		return -E2BIG;
	s->budget--;
	if (s->o->bandwidth_mbit > 0) {
		if (s->link_free[d] > start)
			start = s->link_free[d];
		s->link_free[d] = start + (uint64_t)((double)size * 8e3 / s->o->bandwidth_mbit);
		arrive = s->link_free[d] + s->o->delay_ns;
	} else {
		arrive = start + s->o->delay_ns;
	}
	/* The observer sits at the client: it sees outgoing packets leave and
	 * incoming ones arrive. */
	s->ov->pkts_def[d]++;
	s->ov->bytes_def[d] += size;
	if (kind == WFB_COVER)
		s->ov->covers[d]++;
	else if ((dir == WFB_OUT ? start : arrive) > s->ov->last_real_def_ns)
		s->ov->last_real_def_ns = dir == WFB_OUT ? start : arrive;
	if (wfb_trace_push(s->out, (dir == WFB_OUT ? start : arrive) - BASE_NS, dir, size, kind))
		return -ENOMEM;
	return heap_push(&s->inflight, (struct arrival){ .at = arrive,
							 .seq = s->seq++,
							 .size = len,
							 .dir = (int8_t)dir,
							 .kind = (uint8_t)kind });
}

/* One core call of side sd, logged: what the data path's core_decide() does. */
static void decide(struct sim *s, struct side *sd, enum wfg_core_op op, uint64_t now, uint32_t len,
		   uint8_t flags, struct wfg_decision *d)
{
	const struct wfb_replay_opts *o = s->o;
	int k = sd->dir == WFB_IN;

	if (o->pool_n > 1 && wfg_defpool_turn(sd->cfg, &sd->flow, op, now, o->pool_n)) {
		sd->cfg = &o->pool[sd->flow.defence][k];
		if (o->draw_log)
			o->draw_log(o->log_arg, k, sd->flow.episodes + 1, sd->flow.defence);
	}
	wfg_on(sd->cfg, &sd->flow, op, now, wfg_wire_core_len(s->o->mode, sd->cfg, op, len), flags,
	       d);
	if (s->o->log)
		s->o->log(s->o->log_arg, sd->dir == WFB_IN, op, now,
			  op == WFG_OP_SEND_COVER ? wfg_wire_core_len(s->o->mode, sd->cfg, op, len)
						  : len,
			  flags, d);
	if (op == WFG_OP_TIMER)
		sd->timer = d->timer_ns > now ? d->timer_ns : (d->timer_ns ? now + 1 : 0);
	else
		sd->timer = d->timer_ns;
}

/* Send the covers a decision asks for, at `now`, machine covers first. */
static int send_covers(struct sim *s, struct side *sd, const struct wfg_decision *d, uint64_t now)
{
	uint32_t k, len, machines = d->cover_machines;
	int rc;

	for (k = 0; k < d->covers; k++) {
		struct wfg_decision c;
		uint8_t flags = 0;
		int m;

		for (m = 0; m < WFG_MAX_MACHINES; m++) {
			if (machines & (1u << m)) {
				machines &= ~(1u << m);
				flags = (d->cover_bypass >> m) & 1 ? WFG_ACT_F_BYPASS : 0;
				break;
			}
		}
		decide(s, sd, WFG_OP_SEND_COVER, now, 0, flags, &c);
		len = wfg_wire_len(s->o->mode, sd->cfg, WFG_OP_SEND_COVER, 0, &c);
		if (s->o->mode == WFG_MODE_TUNNEL) /* built on the flow's IPv4 addresses */
			len = wfg_wire_tun_cover_len(len, 4);
		rc = transmit(s, sd->dir, c.depart_ns, len, WFB_COVER);
		if (rc)
			return rc;
	}
	return 0;
}

static int send_real(struct sim *s, struct side *sd, uint64_t now, uint32_t size)
{
	struct wfg_decision d;
	int rc;

	decide(s, sd, WFG_OP_SEND_REAL, now, size, 0, &d);
	rc = transmit(s, sd->dir, d.depart_ns,
		      wfg_wire_len(s->o->mode, sd->cfg, WFG_OP_SEND_REAL, size, &d), WFB_REAL);
	return rc ? rc : send_covers(s, sd, &d, now);
}

static int receive(struct sim *s, const struct arrival *a)
{
	struct side *sd = &s->side[a->dir == WFB_OUT ? 1 : 0];
	struct wfg_decision d;

	decide(s, sd, a->kind == WFB_COVER ? WFG_OP_RECV_PADDING : WFG_OP_RECV_NORMAL, a->at,
	       a->size, 0, &d);
	return send_covers(s, sd, &d, a->at);
}

static int fire_timer(struct sim *s, struct side *sd)
{
	uint64_t now = sd->timer;
	struct wfg_decision d;

	decide(s, sd, WFG_OP_TIMER, now, 0, 0, &d);
	return send_covers(s, sd, &d, now);
}

static void keys_for(uint64_t seed, uint64_t index, int side, __u32 key[8])
{
	__u64 s = seed ^ (index * 0x9e3779b97f4a7c15ULL) ^ ((__u64)side << 63);
	int i;

	for (i = 0; i < 8; i += 2) {
		uint64_t v = wfg_splitmix64(&s);

		key[i] = (__u32)v;
		key[i + 1] = (__u32)(v >> 32);
	}
}

static const struct wfb_pkt *sort_base;

static int cmp_time(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (sort_base[x].time_ns != sort_base[y].time_ns)
		return sort_base[x].time_ns < sort_base[y].time_ns ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * Packets are recorded when the simulation decides them, which is not time
 * order (EDT departures lie ahead). Order them by time, stably (replay.h).
 */
int wfb_trace_sort_time(struct wfb_trace *t, size_t from)
{
	size_t n = t->n - from, i, *idx;
	struct wfb_pkt *tmp;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

	idx = malloc((n ? n : 1) * sizeof(*idx));
	tmp = malloc((n ? n : 1) * sizeof(*tmp));
	if (!idx || !tmp) {
		free(idx);
		free(tmp);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		idx[i] = i;
	pthread_mutex_lock(&lock); /* qsort has no context argument */
	sort_base = t->pkts + from;
	qsort(idx, n, sizeof(*idx), cmp_time);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < n; i++)
		tmp[i] = t->pkts[from + idx[i]];
	memcpy(t->pkts + from, tmp, n * sizeof(*tmp));
	free(idx);
	free(tmp);
	return 0;
}

int wfb_replay(const struct wfg_side_cfg *client, const struct wfg_side_cfg *server,
	       const struct wfb_trace *in, const struct wfb_replay_opts *o, struct wfb_trace *out,
	       struct wfb_overhead *ov)
{
	struct handoff *h;
	struct sim *s;
	size_t i, next = 0, first_out = out->n;
	int rc = 0, k;

	memset(ov, 0, sizeof(*ov));
	s = calloc(1, sizeof(*s));
	h = calloc(in->n ? in->n : 1, sizeof(*h));
	if (!s || !h) {
		free(s);
		free(h);
		return -ENOMEM;
	}
	s->o = o;
	s->out = out;
	s->ov = ov;
	s->budget = 50 * in->n + 10000;
	/* A machine whose timer re-arms itself forever sends nothing, so the
	 * packet budget never ends it (a valid Maybenot machine can do this). */
	s->steps = 1000 * in->n + 100000;
	s->side[0].cfg = client;
	s->side[0].dir = WFB_OUT;
	s->side[1].cfg = server;
	s->side[1].dir = WFB_IN;
	for (k = 0; k < 2; k++) {
		__u32 key[8];

		keys_for(o->seed, o->trace_index, k, key);
		if (k == 0 && o->client_key)
			memcpy(key, o->client_key, sizeof(key));
		wfg_flow_seed(&s->side[k].flow, key,
			      k == 0 && o->client_key ? o->client_stream : o->trace_index);
		if (o->pool_n > 1) {
			wfg_defpool_first(&s->side[k].flow, o->pool_n);
			s->side[k].cfg = &o->pool[s->side[k].flow.defence][k];
			if (o->draw_log)
				o->draw_log(o->log_arg, k, 1, s->side[k].flow.defence);
		}
		wfg_flow_start(s->side[k].cfg, &s->side[k].flow, BASE_NS);
	}
	/* Original sizes and the time each packet is handed to its sender: the
	 * client at its observation time, the server one delay earlier. */
	for (i = 0; i < in->n; i++) {
		const struct wfb_pkt *p = &in->pkts[i];
		uint32_t size = p->size ? p->size : o->unknown_size;
		int d = di(p->dir);

		ov->pkts_orig[d]++;
		ov->bytes_orig[d] += observed(o, size);
		if (p->kind == WFB_REAL && p->time_ns > ov->last_real_orig_ns)
			ov->last_real_orig_ns = p->time_ns;
		h[i].i = i;
		h[i].at = BASE_NS + p->time_ns;
		if (p->dir == WFB_IN)
			h[i].at = h[i].at > BASE_NS + o->delay_ns ? h[i].at - o->delay_ns : BASE_NS;
	}
	qsort(h, in->n, sizeof(*h), cmp_handoff);
	while (!rc) {
		uint64_t t_hand = next < in->n ? h[next].at : UINT64_MAX;
		uint64_t t_arr = s->inflight.n ? s->inflight.a[0].at : UINT64_MAX;
		uint64_t t_c = s->side[0].timer ? s->side[0].timer : UINT64_MAX;
		uint64_t t_s = s->side[1].timer ? s->side[1].timer : UINT64_MAX;
		uint64_t t = t_hand;

		t = t_arr < t ? t_arr : t;
		t = t_c < t ? t_c : t;
		t = t_s < t ? t_s : t;
		if (t == UINT64_MAX)
			break;
		if (!s->steps--) {
			rc = -E2BIG;
			break;
		}
		if (t == t_arr) {
			struct arrival a = heap_pop(&s->inflight);

			rc = receive(s, &a);
		} else if (t == t_hand) {
			const struct wfb_pkt *p = &in->pkts[h[next].i];

			if (p->kind == WFB_REAL)
				rc = send_real(s, &s->side[p->dir == WFB_OUT ? 0 : 1], t,
					       p->size ? p->size : o->unknown_size);
			next++;
		} else {
			rc = fire_timer(s, &s->side[t == t_c ? 0 : 1]);
		}
	}
	for (k = 0; k < 2; k++)
		ov->episodes[k] = s->side[k].flow.episodes;
	ov->traces = 1;
	if (ov->last_real_def_ns >= BASE_NS)
		ov->last_real_def_ns -= BASE_NS;
	if (!rc)
		rc = wfb_trace_sort_time(out, first_out);
	free(s->inflight.a);
	free(s);
	free(h);
	return rc;
}

void wfb_overhead_add(struct wfb_overhead *a, const struct wfb_overhead *b)
{
	int d;

	for (d = 0; d < 2; d++) {
		a->bytes_orig[d] += b->bytes_orig[d];
		a->bytes_def[d] += b->bytes_def[d];
		a->pkts_orig[d] += b->pkts_orig[d];
		a->pkts_def[d] += b->pkts_def[d];
		a->covers[d] += b->covers[d];
		a->episodes[d] += b->episodes[d];
	}
	a->traces += b->traces;
	a->last_real_orig_ns += b->last_real_orig_ns;
	a->last_real_def_ns += b->last_real_def_ns;
}

double wfb_overhead_bandwidth(const struct wfb_overhead *o)
{
	double orig = (double)(o->bytes_orig[0] + o->bytes_orig[1]);

	return orig > 0 ? (double)(o->bytes_def[0] + o->bytes_def[1]) / orig - 1 : 0;
}

double wfb_overhead_latency(const struct wfb_overhead *o)
{
	return o->last_real_orig_ns ? (double)o->last_real_def_ns / (double)o->last_real_orig_ns - 1
				    : 0;
}
