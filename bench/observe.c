// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The observer classifier (observe.h, docs/observer.md). Two steps: read the
 * capture and keep the flow's datagrams with what each test needs
 * (obs_read); then run the tests, each of which only sets flag bits.
 *
 * Two kinds of test. Protocol rules hold for every genuine packet (a valid
 * IPv4 header checksum, WireGuard's reserved zeros, QUIC's fixed bit, a
 * counter never repeated): a packet that breaks one is flagged. Consistency
 * tests compare a field with what the direction's other packets show (the
 * usual TTL, the session's receiver index, the connection's DCID): the
 * observer does not know which packets are real, but covers made by another
 * sender than the tunnel's own stack differ from the majority.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include "err.h"
#include "observe.h"
#include "pktdec.h"

#define OBS_NAME(id, name, what) name,
#define OBS_WHAT(id, name, what) what,
const char *const wfb_obs_test_name[WFB_OBS_NTESTS] = { WFB_OBS_TESTS(OBS_NAME) };
const char *const wfb_obs_test_what[WFB_OBS_NTESTS] = { WFB_OBS_TESTS(OBS_WHAT) };
#undef OBS_NAME
#undef OBS_WHAT

#define BIT(t) (1u << (t))
#define NA     UINT32_MAX /* a feature the packet does not have */

enum obs_csum { CSUM_UNKNOWN, CSUM_VALID, CSUM_ZERO, CSUM_WRONG };

static const char *const proto_names[] = {
	[WFB_OBS_AUTO] = "auto",
	[WFB_OBS_UDP] = "udp",
	[WFB_OBS_WIREGUARD] = "wireguard",
	[WFB_OBS_QUIC] = "quic",
};

int wfb_obs_proto_parse(const char *s, enum wfb_obs_proto *p)
{
	size_t i;

	for (i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (!strcmp(s, proto_names[i])) {
			*p = (enum wfb_obs_proto)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *wfb_obs_proto_name(enum wfb_obs_proto p)
{
	return (unsigned)p < sizeof(proto_names) / sizeof(proto_names[0]) ? proto_names[p] : "?";
}

static void flag(struct wfb_obs_pkt *p, enum wfb_obs_test t)
{
	p->flags |= BIT(t);
}

/* ---------------------------------------------------------------- decoding */

static uint32_t sum16(uint32_t s, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += wfb_be16(b + i);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The UDP checksum's state; unknown when the datagram was not captured whole. */
static uint8_t udp_csum_state(const struct wfb_pdec *d, uint32_t udp_len)
{
	const uint8_t *ip = d->d + d->l3, *u = d->d + d->off;
	size_t alen = d->family == AF_INET ? 4 : 16;
	uint32_t s;

	if (!wfb_be16(u + 6))
		return d->family == AF_INET ? CSUM_ZERO : CSUM_WRONG;
	if (d->off + udp_len > d->caplen)
		return CSUM_UNKNOWN;
	s = sum16(0, ip + (d->family == AF_INET ? 12 : 8), 2 * alen);
	s += IPPROTO_UDP + udp_len;
	s = sum16(s, u, udp_len);
	return fold(s) == 0xffff ? CSUM_VALID : CSUM_WRONG;
}

/* The IP header fields; flags what needs only this packet. */
static void obs_ip(const struct wfb_pdec *d, struct wfb_obs_pkt *o)
{
	const uint8_t *ip = d->d + d->l3;

	if (d->family == AF_INET) {
		o->hdr = ip[0] & 15;
		o->tos = ip[1];
		o->ipid = wfb_be16(ip + 4);
		o->df = (ip[6] & 0x40) != 0;
		o->ttl = ip[8];
		if (fold(sum16(0, ip, (size_t)o->hdr * 4)) != 0xffff)
			flag(o, WFB_OBS_IP_CSUM);
	} else {
		o->v6 = 1;
		o->hdr = ip[6];
		o->tos = (uint8_t)((ip[0] & 15) << 4 | ip[1] >> 4);
		o->flowlabel = (uint32_t)(ip[1] & 15) << 16 | wfb_be16(ip + 2);
		o->ttl = ip[7];
	}
}

/* A decoded UDP datagram of the client into o. */
static void obs_decode(const struct wfb_pdec *d, uint64_t t_ns, size_t record,
		       struct wfb_obs_pkt *o)
{
	const uint8_t *u = d->d + d->off;
	uint32_t udp_len = wfb_be16(u + 4), avail;

	memset(o, 0, sizeof(*o));
	o->t_ns = t_ns;
	o->record = record;
	o->dir = d->dir == WFB_OUT ? WFB_OBS_FROM_CLIENT : WFB_OBS_TO_CLIENT;
	obs_ip(d, o);
	o->size = udp_len - 8;
	if (udp_len != d->l4len)
		flag(o, WFB_OBS_UDP_LEN);
	o->csum = udp_csum_state(d, udp_len);
	avail = d->caplen - d->off - 8;
	if (avail > o->size)
		avail = o->size;
	o->nhead = (uint8_t)(avail < WFB_OBS_HEAD ? avail : WFB_OBS_HEAD);
	memcpy(o->head, u + 8, o->nhead);
	memcpy(o->peer, d->dir == WFB_OUT ? d->dst : d->src, d->family == AF_INET ? 4 : 16);
	o->cport = wfb_be16(u + (d->dir == WFB_OUT ? 0 : 2));
	o->pport = wfb_be16(u + (d->dir == WFB_OUT ? 2 : 0));
}

struct obs_read {
	const char *path;
	pcap_t *pc;
	const struct wfb_obs_opts *o;
	struct wfb_obs_report *r;
	size_t cap;
	uint64_t base;
};

static int obs_push(struct obs_read *rd, const struct wfb_obs_pkt *p)
{
	struct wfb_obs_report *r = rd->r;

	if (r->n == rd->cap) {
		size_t cap = rd->cap ? 2 * rd->cap : 1024;
		struct wfb_obs_pkt *n = realloc(r->pkts, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->pkts = n;
		rd->cap = cap;
	}
	r->pkts[r->n++] = *p;
	return 0;
}

/* Every UDP datagram to or from the client (the flow is chosen afterwards). */
static int obs_loop(struct obs_read *rd, char *err, size_t errlen)
{
	int dlt = pcap_datalink(rd->pc), rc;
	struct pcap_pkthdr *h;
	const u_char *data;

	while ((rc = pcap_next_ex(rd->pc, &h, &data)) == 1) {
		struct wfb_pdec d = { .d = data, .caplen = h->caplen };
		uint64_t ns = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec;
		struct wfb_obs_pkt p;
		enum wfb_pv v = wfb_pkt_decode(&d, dlt, &rd->o->client);

		if (!rd->r->records++)
			rd->base = ns;
		if (v == WFB_PV_BAD) {
			char why[128];

			wfb_pdec_describe(&d, why, sizeof(why));
			return wfg_err(err, errlen, EINVAL, "%s: packet %zu: %s", rd->path,
				       rd->r->records, why);
		}
		if ((v != WFB_PV_KEEP && v != WFB_PV_EMPTY) || d.proto != IPPROTO_UDP) {
			rd->r->other++;
			continue;
		}
		obs_decode(&d, ns >= rd->base ? ns - rd->base : 0, rd->r->records, &p);
		if (obs_push(rd, &p))
			return wfg_err(err, errlen, ENOMEM, "out of memory");
	}
	if (rc == -1)
		return wfg_err(err, errlen, EINVAL, "%s: packet %zu: %s", rd->path,
			       rd->r->records + 1, pcap_geterr(rd->pc));
	return 0;
}

static int obs_read(const char *path, const struct wfb_obs_opts *o, struct wfb_obs_report *r,
		    char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct obs_read rd = { .path = path, .o = o, .r = r };
	FILE *f = fopen(path, "rb");
	int rc;

	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	rd.pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!rd.pc) {
		fclose(f);
		return wfg_err(err, errlen, EINVAL, "%s: not a pcap or pcapng file (%s)", path,
			       ebuf);
	}
	if (!wfb_dlt_supported(pcap_datalink(rd.pc))) {
		const char *name = pcap_datalink_val_to_name(pcap_datalink(rd.pc));

		rc = wfg_err(err, errlen, EINVAL, "%s: link type %d (%s) not supported", path,
			     pcap_datalink(rd.pc), name ? name : "unknown");
	} else {
		rc = obs_loop(&rd, err, errlen);
	}
	pcap_close(rd.pc); /* closes f */
	return rc;
}

/* ---------------------------------------------------------------- the flow */

static bool same_flow(const struct wfb_obs_pkt *a, const struct wfb_obs_pkt *b)
{
	return a->cport == b->cport && a->pport == b->pport && !memcmp(a->peer, b->peer, 16);
}

/* The flow to analyse: the busiest one with --port at either end (any port
 * without it). Returns its first packet's index, or -1. */
static long choose_flow(const struct wfb_obs_report *r, uint16_t port)
{
	size_t i, j, best_n = 0, cnt;
	long best = -1;
	bool *done = calloc(r->n ? r->n : 1, 1);

	if (!done)
		return -2;
	for (i = 0; i < r->n; i++) {
		const struct wfb_obs_pkt *p = &r->pkts[i];

		if (done[i] || (port && p->cport != port && p->pport != port))
			continue;
		for (cnt = 0, j = i; j < r->n; j++) {
			if (!done[j] && same_flow(p, &r->pkts[j])) {
				done[j] = true;
				cnt++;
			}
		}
		if (cnt > best_n) {
			best_n = cnt;
			best = (long)i;
		}
	}
	free(done);
	return best;
}

/* Keep only the flow of pkts[first]; the rest count as other. */
static void keep_flow(struct wfb_obs_report *r, size_t first, int family)
{
	struct wfb_obs_pkt key = r->pkts[first];
	size_t i, n = 0;

	for (i = 0; i < r->n; i++) {
		if (same_flow(&key, &r->pkts[i]))
			r->pkts[n++] = r->pkts[i];
		else
			r->other++;
	}
	r->n = n;
	r->peer.family = family;
	memcpy(r->peer.a, key.peer, 16);
	r->client_port = key.cport;
	r->peer_port = key.pport;
}

/* ---------------------------------------------------------------- consistency tests */

static int u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The most common value of get() over direction dir (NA: none applies).
 * Ties go to the smallest value. */
static uint32_t mode_of(const struct wfb_obs_report *r, int dir,
			uint32_t (*get)(const struct wfb_obs_pkt *), uint32_t *v)
{
	size_t i, k = 0, run, best_run = 0;
	uint32_t best = NA;

	for (i = 0; i < r->n; i++) {
		if (r->pkts[i].dir == dir && get(&r->pkts[i]) != NA)
			v[k++] = get(&r->pkts[i]);
	}
	qsort(v, k, sizeof(*v), u32cmp);
	for (i = 0; i < k; i += run) {
		for (run = 1; i + run < k && v[i + run] == v[i]; run++)
			;
		if (run > best_run) {
			best_run = run;
			best = v[i];
		}
	}
	return best;
}

static uint32_t get_hdr(const struct wfb_obs_pkt *p)
{
	return p->hdr;
}

static uint32_t get_ttl(const struct wfb_obs_pkt *p)
{
	return p->ttl;
}

static uint32_t get_tos(const struct wfb_obs_pkt *p)
{
	return p->tos;
}

static uint32_t get_df(const struct wfb_obs_pkt *p)
{
	return p->v6 ? NA : p->df;
}

static uint32_t get_flowlabel(const struct wfb_obs_pkt *p)
{
	return p->v6 ? p->flowlabel : NA;
}

static uint32_t get_ipid(const struct wfb_obs_pkt *p)
{
	return p->v6 ? NA : p->ipid;
}

static uint32_t get_csum(const struct wfb_obs_pkt *p)
{
	return p->csum == CSUM_UNKNOWN ? NA : p->csum;
}

static const struct mode_test {
	enum wfb_obs_test test;
	uint32_t (*get)(const struct wfb_obs_pkt *p);
} mode_tests[] = {
	{ WFB_OBS_IP_HDR, get_hdr },	     { WFB_OBS_IP_TTL, get_ttl },
	{ WFB_OBS_IP_TOS, get_tos },	     { WFB_OBS_IP_DF, get_df },
	{ WFB_OBS_IP6_FLOW, get_flowlabel }, { WFB_OBS_UDP_CSUM, get_csum },
};

/* Flag what differs from the direction's usual value, test by test. */
static int run_mode_tests(struct wfb_obs_report *r)
{
	uint32_t *v = malloc((r->n ? r->n : 1) * sizeof(*v)), m;
	size_t t, i;
	int dir;

	if (!v)
		return -ENOMEM;
	for (t = 0; t < sizeof(mode_tests) / sizeof(mode_tests[0]); t++) {
		const struct mode_test *mt = &mode_tests[t];

		for (dir = 0; dir < 2; dir++) {
			m = mode_of(r, dir, mt->get, v);
			if (m == NA)
				continue;
			r->ran |= BIT(mt->test);
			for (i = 0; i < r->n; i++) {
				uint32_t x = mt->get(&r->pkts[i]);

				if (r->pkts[i].dir == dir && x != NA && x != m)
					flag(&r->pkts[i], mt->test);
			}
		}
	}
	free(v);
	return 0;
}

/*
 * IPv4 IDs. Linux gives DF datagrams of an unconnected socket ID 0 and
 * counts per socket (connected) or per destination (no DF, with random
 * skips after idle time): constant, or counting up. The direction's pattern
 * is constant if most consecutive IDs repeat, counting if most go forward
 * (by less than half the ID space); anything else is random and tests
 * nothing. Counting: a packet is flagged if it does not go forward from the
 * last packet that did (so one odd packet flags only itself).
 */
static int run_ip_id(struct wfb_obs_report *r, int dir)
{
	size_t i, n = 0, same = 0, fwd = 0;
	struct wfb_obs_pkt *prev = NULL, *good = NULL;
	uint16_t mode_id;

	for (i = 0; i < r->n; i++) {
		struct wfb_obs_pkt *p = &r->pkts[i];
		uint16_t d;

		if (p->dir != dir || p->v6)
			continue;
		if (prev) {
			d = (uint16_t)(p->ipid - prev->ipid);
			same += d == 0;
			fwd += d != 0 && d < 0x8000;
			n++;
		}
		prev = p;
	}
	if (!n)
		return 0;
	r->ran |= BIT(WFB_OBS_IP_ID);
	if (2 * same > n) {
		uint32_t *v = malloc(r->n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		mode_id = (uint16_t)mode_of(r, dir, get_ipid, v);
		free(v);
		for (i = 0; i < r->n; i++) {
			if (r->pkts[i].dir == dir && !r->pkts[i].v6 && r->pkts[i].ipid != mode_id)
				flag(&r->pkts[i], WFB_OBS_IP_ID);
		}
	} else if (4 * fwd >= 3 * n) {
		for (i = 0; i < r->n; i++) {
			struct wfb_obs_pkt *p = &r->pkts[i];
			uint16_t d;

			if (p->dir != dir || p->v6)
				continue;
			d = good ? (uint16_t)(p->ipid - good->ipid) : 1;
			if (d == 0 || d >= 0x8000)
				flag(p, WFB_OBS_IP_ID);
			else
				good = p;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- sizes */

static void run_size_set(struct wfb_obs_report *r, const struct wfb_obs_opts *o)
{
	size_t i, k;

	if (!o->sizes)
		return;
	r->ran |= BIT(WFB_OBS_SIZE_SET);
	for (i = 0; i < r->n; i++) {
		struct wfb_obs_pkt *p = &r->pkts[i];

		/* the tunnel's data: handshakes have sizes of their own */
		if (r->proto == WFB_OBS_WIREGUARD && !(p->nhead && p->head[0] == 4))
			continue;
		if (r->proto == WFB_OBS_QUIC && !(p->nhead && !(p->head[0] & 0x80)))
			continue;
		for (k = 0; k < o->nsizes && o->sizes[k] != p->size; k++)
			;
		if (k == o->nsizes)
			flag(p, WFB_OBS_SIZE_SET);
	}
}

/* ---------------------------------------------------------------- WireGuard */

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const uint8_t *b)
{
	return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

/* Does the datagram look like WireGuard (type 1..4, reserved zero)? */
static bool wg_framed(const struct wfb_obs_pkt *p)
{
	return p->nhead >= 4 && p->head[0] >= 1 && p->head[0] <= 4 && !p->head[1] && !p->head[2] &&
	       !p->head[3];
}

/*
 * The lengths of WireGuard's messages. Data (type 4): a 16-byte header, the
 * plaintext padded to a multiple of 16 but never past the tunnel's MTU, a
 * 16-byte tag. The observer does not know the MTU; the largest plaintext of
 * the direction stands for it (mtu; 0: accept multiples of 16 only).
 */
static bool wg_len_ok(const struct wfb_obs_pkt *p, uint32_t mtu)
{
	switch (p->head[0]) {
	case 1:
		return p->size == 148;
	case 2:
		return p->size == 92;
	case 3:
		return p->size == 64;
	default:
		return p->size >= 32 && ((p->size - 32) % 16 == 0 || p->size - 32 == mtu);
	}
}

/* Per direction, the largest plaintext of a WireGuard data message. */
static void wg_mtus(const struct wfb_obs_report *r, uint32_t mtu[2])
{
	size_t i;

	mtu[0] = mtu[1] = 0;
	for (i = 0; i < r->n; i++) {
		const struct wfb_obs_pkt *p = &r->pkts[i];

		if (wg_framed(p) && p->head[0] == 4 && p->size >= 32 && p->size - 32 > mtu[p->dir])
			mtu[p->dir] = p->size - 32;
	}
}

static void run_wg_framing(struct wfb_obs_report *r, const uint32_t mtu[2])
{
	size_t i;

	r->ran |= BIT(WFB_OBS_WG_TYPE) | BIT(WFB_OBS_WG_RESERVED) | BIT(WFB_OBS_WG_LEN);
	for (i = 0; i < r->n; i++) {
		struct wfb_obs_pkt *p = &r->pkts[i];

		if (p->nhead < 4 || p->head[0] < 1 || p->head[0] > 4) {
			flag(p, WFB_OBS_WG_TYPE);
			continue;
		}
		if (p->head[1] || p->head[2] || p->head[3])
			flag(p, WFB_OBS_WG_RESERVED);
		if (!wg_len_ok(p, mtu[p->dir]))
			flag(p, WFB_OBS_WG_LEN);
	}
}

/* Receiver indices a direction's data messages may carry, learnt from the
 * handshakes (the initiator's sender index for data towards it, the
 * responder's for data towards the responder) or, before any handshake, the
 * first data message's. */
struct wg_indices {
	uint32_t *v;
	size_t n, cap;
	bool from_handshake; /* at least one came from a handshake */
};

static bool idx_has(const struct wg_indices *s, uint32_t x)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->v[i] == x)
			return true;
	}
	return false;
}

static int idx_add(struct wg_indices *s, uint32_t x)
{
	if (idx_has(s, x))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		uint32_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

/* One data message, for the counter test. */
struct wg_data {
	uint32_t dir, index;
	uint64_t counter;
	size_t pkt; /* index into r->pkts */
};

static int wg_data_cmp(const void *a, const void *b)
{
	const struct wg_data *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	if (x->counter != y->counter)
		return x->counter < y->counter ? -1 : 1;
	return x->pkt < y->pkt ? -1 : x->pkt > y->pkt;
}

/* Receiver indices, in capture order; collects the data messages. */
static int wg_index_pass(struct wfb_obs_report *r, const uint32_t mtu[2], struct wg_data *data,
			 size_t *ndata)
{
	struct wg_indices valid[2] = { 0 }, inits[2] = { 0 };
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < r->n; i++) {
		struct wfb_obs_pkt *p = &r->pkts[i];
		int d = p->dir, other = !d;

		if (!wg_framed(p) || !wg_len_ok(p, mtu[d]) || p->nhead < 16)
			continue;
		if (p->head[0] == 1) {
			rc = idx_add(&inits[d], le32(p->head + 4));
			if (!rc)
				rc = idx_add(&valid[other], le32(p->head + 4));
			valid[other].from_handshake = true;
		} else if (p->head[0] == 2) {
			/* the response answers an initiation from the other side */
			if (inits[other].n && !idx_has(&inits[other], le32(p->head + 8)))
				flag(p, WFB_OBS_WG_INDEX);
			rc = idx_add(&valid[other], le32(p->head + 4));
			if (!rc)
				rc = idx_add(&valid[d], le32(p->head + 8));
			valid[other].from_handshake = valid[d].from_handshake = true;
		} else if (p->head[0] == 4) {
			uint32_t x = le32(p->head + 4);

			if (!valid[d].n)
				rc = idx_add(&valid[d], x);
			if (!idx_has(&valid[d], x))
				flag(p, WFB_OBS_WG_INDEX);
			data[*ndata].dir = (uint32_t)d;
			data[*ndata].index = x;
			data[*ndata].counter = le64(p->head + 8);
			data[*ndata].pkt = i;
			(*ndata)++;
		}
	}
	for (i = 0; i < 2; i++) {
		free(valid[i].v);
		free(inits[i].v);
	}
	return rc;
}

/*
 * Counters of one session (data[0..n): one direction and receiver index).
 * Duplicates are flagged both (the observer cannot tell which one is the
 * tunnel's). Then in capture order: a counter older than the replay window
 * behind the highest seen, or further ahead than the window, is flagged
 * (and does not move the highest).
 */
static void wg_session(struct wfb_obs_report *r, const uint32_t mtu[2], struct wg_data *data,
		       size_t n)
{
	uint64_t max = 0;
	bool have_max = false;
	size_t i;

	for (i = 1; i < n; i++) {
		if (data[i].counter == data[i - 1].counter) {
			flag(&r->pkts[data[i].pkt], WFB_OBS_WG_COUNTER);
			flag(&r->pkts[data[i - 1].pkt], WFB_OBS_WG_COUNTER);
		}
	}
	for (i = 0; i < r->n; i++) {
		struct wfb_obs_pkt *p = &r->pkts[i];
		uint64_t c;

		if (p->dir != data[0].dir || !wg_framed(p) || p->head[0] != 4 || p->nhead < 16 ||
		    !wg_len_ok(p, mtu[p->dir]) || le32(p->head + 4) != data[0].index)
			continue;
		c = le64(p->head + 8);
		if (!have_max) {
			max = c;
			have_max = true;
		} else if (c + WFB_OBS_WG_WINDOW < max || c > max + WFB_OBS_WG_WINDOW) {
			flag(p, WFB_OBS_WG_COUNTER);
		} else if (c > max) {
			max = c;
		}
	}
}

static int run_wg_sessions(struct wfb_obs_report *r, const uint32_t mtu[2])
{
	struct wg_data *data = malloc((r->n ? r->n : 1) * sizeof(*data));
	size_t n = 0, i, j;
	int rc;

	if (!data)
		return -ENOMEM;
	r->ran |= BIT(WFB_OBS_WG_INDEX) | BIT(WFB_OBS_WG_COUNTER);
	rc = wg_index_pass(r, mtu, data, &n);
	if (!rc) {
		qsort(data, n, sizeof(*data), wg_data_cmp);
		for (i = 0; i < n; i = j) {
			for (j = i + 1;
			     j < n && data[j].dir == data[i].dir && data[j].index == data[i].index;
			     j++)
				;
			wg_session(r, mtu, data + i, j - i);
		}
	}
	free(data);
	return rc;
}

/* ---------------------------------------------------------------- QUIC */

static bool quic_long(const struct wfb_obs_pkt *p)
{
	return p->nhead && (p->head[0] & 0x80);
}

/* A long header's version (0: version negotiation, which has no fixed bit). */
static uint32_t quic_version(const struct wfb_obs_pkt *p)
{
	return p->nhead >= 5 ? (uint32_t)wfb_be16(p->head + 1) << 16 | wfb_be16(p->head + 3) : 0;
}

/* The source connection id of a long header: its length, or -1. */
static int quic_scid(const struct wfb_obs_pkt *p, const uint8_t **scid)
{
	unsigned dl, sl;

	if (p->nhead < 6)
		return -1;
	dl = p->head[5];
	if (dl > 20 || 6u + dl + 1 > p->nhead)
		return -1;
	sl = p->head[6 + dl];
	if (sl > 20 || 7u + dl + sl > p->nhead)
		return -1;
	*scid = p->head + 7 + dl;
	return (int)sl;
}

/*
 * The fixed bit is a protocol rule until a peer greases it (RFC 9287: after
 * grease_quic_bit, a sender may clear it; ngtcp2 does, in nearly every short
 * header). Per direction: when fewer than 1 % of the short headers have it
 * clear, every packet with it clear is flagged; when the sender greases, the
 * bit is a consistency test instead (the minority value is flagged while it
 * stays under 10 %), and a sender that sets it at random leaves nothing to tell.
 */
static void run_quic_fixed(struct wfb_obs_report *r)
{
	size_t i, clear[2] = { 0, 0 }, shorts[2] = { 0, 0 };
	int dir;

	r->ran |= BIT(WFB_OBS_QUIC_FIXED);
	for (i = 0; i < r->n; i++) {
		const struct wfb_obs_pkt *p = &r->pkts[i];

		if (!p->nhead || quic_long(p))
			continue;
		shorts[p->dir]++;
		clear[p->dir] += !(p->head[0] & 0x40);
	}
	for (i = 0; i < r->n; i++) {
		struct wfb_obs_pkt *p = &r->pkts[i];
		int bit = p->nhead && (p->head[0] & 0x40);

		dir = p->dir;
		if (quic_long(p) && !quic_version(p))
			continue;
		if (clear[dir] * 100 < shorts[dir]) {
			if (!bit)
				flag(p, WFB_OBS_QUIC_FIXED); /* the rule holds in this direction */
		} else if (!quic_long(p) && p->nhead) {
			int usual = clear[dir] * 2 > shorts[dir] ? 0 : 1;
			size_t minority = usual ? clear[dir] : shorts[dir] - clear[dir];

			if (bit != usual && minority * 10 < shorts[dir])
				flag(p, WFB_OBS_QUIC_FIXED);
		}
	}
}

struct cid {
	uint8_t b[20]; /* a prefix, zero past its length */
};

static int cid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct cid));
}

/* The most common l-byte DCID of dir's short headers into dcid; how many carry it. */
static size_t quic_dcid_mode(const struct wfb_obs_report *r, int dir, unsigned l, struct cid *v,
			     uint8_t *dcid, size_t *total)
{
	size_t i, k = 0, run, best = 0;

	for (i = 0; i < r->n; i++) {
		const struct wfb_obs_pkt *p = &r->pkts[i];

		if (p->dir != dir || quic_long(p) || p->nhead < 1 + l)
			continue;
		memset(&v[k], 0, sizeof(v[k]));
		memcpy(v[k++].b, p->head + 1, l);
	}
	qsort(v, k, sizeof(*v), cid_cmp);
	for (i = 0; i < k; i += run) {
		for (run = 1; i + run < k && !cid_cmp(&v[i + run], &v[i]); run++)
			;
		if (run > best) {
			best = run;
			memcpy(dcid, v[i].b, l);
		}
	}
	*total = k;
	return best;
}

/*
 * The DCID a direction's short headers must carry when no long header from
 * the other side named it: of length `len` if given, else the longest (at
 * most 20 bytes) that more than half of them share, the most common one.
 * Returns its length, or -1 (no short header, or out of memory).
 */
static int quic_dcid_guess(const struct wfb_obs_report *r, int dir, unsigned len, uint8_t *dcid)
{
	struct cid *v = malloc((r->n ? r->n : 1) * sizeof(*v));
	size_t best, total;
	int l, found = -1;

	if (!v)
		return -1;
	for (l = len ? (int)len : 20; l >= 0 && found < 0; l--) {
		best = quic_dcid_mode(r, dir, (unsigned)l, v, dcid, &total);
		if (best && (len || 2 * best > total))
			found = l;
	}
	free(v);
	return found;
}

/* Short headers of direction dir against the DCID the other side announced in
 * its last long header (its SCID), or the guessed one. */
static void run_quic_dcid_dir(struct wfb_obs_report *r, const struct wfb_obs_opts *o, int dir)
{
	uint8_t dcid[20] = { 0 };
	const uint8_t *scid;
	int len = -1, l;
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct wfb_obs_pkt *p = &r->pkts[i];

		if (p->dir != dir && quic_long(p) && quic_version(p) && quic_scid(p, &scid) >= 0)
			break;
	}
	if (i == r->n)
		len = quic_dcid_guess(r, dir, o->dcid_len, dcid);
	for (i = 0; i < r->n; i++) {
		struct wfb_obs_pkt *p = &r->pkts[i];

		if (p->dir != dir && quic_long(p) && quic_version(p) &&
		    (l = quic_scid(p, &scid)) >= 0) {
			len = l;
			memcpy(dcid, scid, (size_t)l);
		}
		if (p->dir != dir || quic_long(p) || len < 0)
			continue;
		r->dcid_len[dir] = (unsigned)len;
		r->ran |= BIT(WFB_OBS_QUIC_DCID) | BIT(WFB_OBS_QUIC_LEN);
		/* header protection samples 16 bytes from 4 past the packet number's start */
		if (p->size < 1u + (unsigned)len + 4 + 16)
			flag(p, WFB_OBS_QUIC_LEN);
		if (p->nhead < 1 + len || memcmp(p->head + 1, dcid, (size_t)len))
			flag(p, WFB_OBS_QUIC_DCID);
	}
}

/* ---------------------------------------------------------------- the run */

/* The framing most of the flow's datagrams have (more than half for WireGuard's
 * framing, three quarters for QUIC's one bit). */
static enum wfb_obs_proto detect_proto(const struct wfb_obs_report *r)
{
	size_t i, wg = 0, quic = 0;
	uint32_t mtu[2];

	wg_mtus(r, mtu);
	for (i = 0; i < r->n; i++) {
		wg += wg_framed(&r->pkts[i]) && wg_len_ok(&r->pkts[i], mtu[r->pkts[i].dir]);
		quic += r->pkts[i].nhead && (r->pkts[i].head[0] & 0x40);
	}
	if (2 * wg > r->n)
		return WFB_OBS_WIREGUARD;
	/* random bytes have the fixed bit half of the time */
	if (4 * quic > 3 * r->n)
		return WFB_OBS_QUIC;
	return WFB_OBS_UDP;
}

static int run_tests(struct wfb_obs_report *r, const struct wfb_obs_opts *o)
{
	size_t i, t;
	int rc, dir;

	r->ran |= BIT(WFB_OBS_UDP_LEN);
	if (r->peer.family == AF_INET)
		r->ran |= BIT(WFB_OBS_IP_CSUM);
	rc = run_mode_tests(r);
	for (dir = 0; !rc && dir < 2; dir++)
		rc = run_ip_id(r, dir);
	run_size_set(r, o);
	if (!rc && r->proto == WFB_OBS_WIREGUARD) {
		uint32_t mtu[2];

		wg_mtus(r, mtu);
		run_wg_framing(r, mtu);
		rc = run_wg_sessions(r, mtu);
	} else if (!rc && r->proto == WFB_OBS_QUIC) {
		run_quic_fixed(r);
		for (dir = 0; dir < 2; dir++)
			run_quic_dcid_dir(r, o, dir);
	}
	for (i = 0; i < r->n; i++) {
		const struct wfb_obs_pkt *p = &r->pkts[i];

		r->packets[p->dir]++;
		r->flagged[p->dir] += p->flags != 0;
		for (t = 0; t < WFB_OBS_NTESTS; t++)
			r->by_test[t][p->dir] += (p->flags >> t) & 1;
	}
	return rc;
}

int wfb_observe(const char *path, const struct wfb_obs_opts *o, struct wfb_obs_report *r, char *err,
		size_t errlen)
{
	char abuf[INET6_ADDRSTRLEN];
	long first;
	int rc;

	memset(r, 0, sizeof(*r));
	if (o->dcid_len > 20)
		return wfg_err(err, errlen, EINVAL, "a QUIC connection id has at most 20 bytes");
	rc = obs_read(path, o, r, err, errlen);
	if (rc)
		return rc;
	inet_ntop(o->client.family, o->client.a, abuf, sizeof(abuf));
	first = choose_flow(r, o->port);
	if (first == -2)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	if (first < 0 && o->port)
		return wfg_err(err, errlen, ENODATA,
			       "%s: no UDP datagram to or from %s on port %u (%zu packets read)",
			       path, abuf, o->port, r->records);
	if (first < 0)
		return wfg_err(err, errlen, ENODATA,
			       "%s: no UDP datagram to or from %s (%zu packets read)", path, abuf,
			       r->records);
	keep_flow(r, (size_t)first, o->client.family);
	r->proto = o->proto == WFB_OBS_AUTO ? detect_proto(r) : o->proto;
	rc = run_tests(r, o);
	return rc ? wfg_err(err, errlen, -rc, "out of memory") : 0;
}

void wfb_obs_report_free(struct wfb_obs_report *r)
{
	free(r->pkts);
	r->pkts = NULL;
	r->n = 0;
}
