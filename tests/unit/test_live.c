// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live evaluation's parts that need no privilege (bench/live): bodies,
 * the site server and fetch client over loopback (every byte checked, a
 * server that sends wrong bytes caught), the page model, cutting a capture
 * by windows and gaps, and `import --split-gap`.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataset.h"
#include "generate.h"
#include "presets.h"
#include "sim.h"
#include "site.h"
#include "split.h"
#include "transport.h"

#define WFB_TMP_TEMPLATE "/tmp/wfb-live-XXXXXX"
#include "tmpdir.h"

TestSuite(live_split, .init = make_tmpdir, .fini = rm_tmpdir);

/* ---------------------------------------------------------------- bodies, pages */

Test(live_site, body_is_random_access)
{
	uint8_t whole[4096], part[1000];

	wfl_body(7, 3, 11, 0, whole, sizeof(whole));
	wfl_body(7, 3, 11, 1234, part, sizeof(part));
	cr_assert(!memcmp(whole + 1234, part, sizeof(part)),
		  "a body's bytes depend on their offset only");
	wfl_body(7, 3, 12, 1234, part, sizeof(part));
	cr_assert(memcmp(whole + 1234, part, sizeof(part)), "another resource, other bytes");
	wfl_body(8, 3, 11, 1234, part, sizeof(part));
	cr_assert(memcmp(whole + 1234, part, sizeof(part)), "another world, other bytes");
}

Test(live_site, page_model_is_the_generators)
{
	struct wfb_gen_opts o = { .sites = 5, .instances = 5, .seed = 3 };
	static struct wfb_page a, b;
	unsigned i, roots = 0;

	cr_assert_eq(wfb_gen_page(&o, 2, 1, &a), 0);
	cr_assert_eq(wfb_gen_page(&o, 2, 1, &b), 0);
	cr_assert(!memcmp(&a, &b, sizeof(a)), "deterministic");
	cr_assert_gt(a.n, 2);
	cr_assert_eq(a.res[0].parent, WFB_PAGE_ROOT, "the HTML first");
	for (i = 0; i < a.n; i++) {
		roots += a.res[i].parent == WFB_PAGE_ROOT;
		cr_assert(a.res[i].parent == WFB_PAGE_ROOT || a.res[i].parent == WFB_PAGE_ONLOAD ||
				  (a.res[i].parent >= 0 && (unsigned)a.res[i].parent < i),
			  "resource %u: parent %d comes before it", i, a.res[i].parent);
		cr_assert_lt(a.res[i].origin, a.origins);
		cr_assert_gt(a.res[i].size, 0);
	}
	cr_assert_eq(roots, 1);
	cr_assert_eq(wfb_gen_page(&o, 2, 2, &b), 0);
	cr_assert(memcmp(&a, &b, sizeof(a)), "another load of the site differs");
}

/* The QUIC client's waves: parents before children, onload last, none empty. */
Test(live_site, page_waves)
{
	struct wfb_gen_opts o = { .sites = 5, .instances = 5, .seed = 3 };
	static struct wfb_page pg;
	unsigned wave[WFB_PAGE_MAX_RES], n, i, per[WFB_PAGE_MAX_RES + 2], onload;
	int site;

	for (site = 0; site < 5; site++) {
		cr_assert_eq(wfb_gen_page(&o, site, 0, &pg), 0);
		n = wfl_page_waves(&pg, wave);
		memset(per, 0, sizeof(per));
		onload = 0;
		cr_assert_gt(n, 1, "site %d: a page has more than its HTML", site);
		cr_assert_eq(wave[0], 0, "the HTML is wave 0");
		for (i = 0; i < pg.n; i++) {
			int p = pg.res[i].parent;

			cr_assert_lt(wave[i], n);
			per[wave[i]]++;
			if (p >= 0)
				cr_assert_eq(wave[i], wave[p] + 1,
					     "resource %u: one after its parent", i);
			if (p == WFB_PAGE_ONLOAD) {
				cr_assert_eq(wave[i], n - 1, "onload resources come last");
				onload++;
			}
		}
		for (i = 0; onload && i < pg.n; i++)
			if (pg.res[i].parent != WFB_PAGE_ONLOAD)
				cr_assert_lt(wave[i], n - 1, "resource %u: in the onload wave", i);
		for (i = 0; i < n; i++)
			cr_assert_gt(per[i], 0, "site %d: wave %u is empty", site, i);
	}
}

/* ---------------------------------------------------------------- server and client */

struct srv {
	int fd;
	uint16_t port;
	volatile sig_atomic_t stop;
	pthread_t th;
	bool corrupt; /* a server of our own that sends zero bytes instead */
};

static void *serve_thread(void *arg)
{
	struct srv *s = arg;
	char err[256];

	wfl_serve(s->fd, &s->stop, err, sizeof(err));
	return NULL;
}

/* Answers every request with the announced length of zero bytes. */
static void *corrupt_thread(void *arg)
{
	struct srv *s = arg;
	int c;

	while (!s->stop && (c = accept(s->fd, NULL, NULL)) >= 0) {
		char req[8192], hdr[128];
		unsigned long long seed, size, us;
		unsigned res;
		int site;
		ssize_t k = recv(c, req, sizeof(req) - 1, 0);
		static uint8_t zero[1 << 20];

		if (k > 0) {
			req[k] = 0;
			if (sscanf(req, "GET /s/%llu/%d/%u/%llu/%llu", &seed, &site, &res, &size,
				   &us) == 5) {
				int n = snprintf(hdr, sizeof(hdr),
						 "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n",
						 size);

				cr_assert_leq(size, sizeof(zero));
				send(c, hdr, (size_t)n, MSG_NOSIGNAL);
				send(c, zero, size, MSG_NOSIGNAL);
			}
		}
		close(c);
	}
	return NULL;
}

static void srv_start(struct srv *s, bool corrupt)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s->fd, 0);
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s->fd, 64), 0);
	cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	s->corrupt = corrupt;
	cr_assert_eq(pthread_create(&s->th, NULL, corrupt ? corrupt_thread : serve_thread, s), 0);
}

static void srv_stop(struct srv *s)
{
	s->stop = 1;
	shutdown(s->fd, SHUT_RDWR); /* wakes an accept() */
	pthread_join(s->th, NULL);
	close(s->fd);
}

static struct wfl_fetch_opts fetch_opts(const struct srv *s, uint64_t seed,
					volatile sig_atomic_t *stop)
{
	struct wfl_fetch_opts o = {
		.seed = seed,
		.family = AF_INET,
		.port = s->port,
		.time_scale = 100,
		.conns = 6,
		.timeout_ns = 30000000000ULL,
		.stop = stop,
	};

	memcpy(o.server, (uint8_t[]){ 127, 0, 0, 1 }, 4);
	return o;
}

Test(live_site, a_page_load_arrives_whole)
{
	struct wfb_gen_opts g = { .sites = 4, .instances = 4, .seed = 9 };
	static volatile sig_atomic_t stop;
	static struct wfb_page pg;
	struct wfl_load_result r;
	struct wfl_fetch_opts o;
	uint64_t want = 0;
	char err[256] = "";
	struct srv s;
	unsigned i;
	int site;

	srv_start(&s, false);
	o = fetch_opts(&s, g.seed, &stop);
	for (site = 0; site < 4; site++) {
		cr_assert_eq(wfb_gen_page(&g, site, 0, &pg), 0);
		for (i = 0, want = 0; i < pg.n; i++)
			want += pg.res[i].size;
		cr_assert_eq(wfl_fetch(&o, site, &pg, &r, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(r.resources, pg.n);
		cr_assert_eq(r.failed, 0);
		cr_assert_eq(r.mismatched, 0);
		cr_assert_eq(r.bytes, want, "site %d: %llu body bytes of %llu", site,
			     (unsigned long long)r.bytes, (unsigned long long)want);
		cr_assert_leq(r.connections, pg.origins * 6);
		cr_assert_geq(r.end_ns, r.start_ns);
	}
	srv_stop(&s);
}

Test(live_site, wrong_bytes_are_caught)
{
	struct wfb_gen_opts g = { .sites = 2, .instances = 2, .seed = 9 };
	static volatile sig_atomic_t stop;
	static struct wfb_page pg;
	struct wfl_load_result r;
	struct wfl_fetch_opts o;
	char err[256] = "";
	struct srv s;

	srv_start(&s, true);
	o = fetch_opts(&s, g.seed, &stop);
	o.conns = 1;
	cr_assert_eq(wfb_gen_page(&g, 1, 0, &pg), 0);
	pg.n = 1; /* the HTML alone: the corrupt server closes after each answer */
	cr_assert_eq(wfl_fetch(&o, 1, &pg, &r, err, sizeof(err)), -EIO);
	cr_assert_gt(r.mismatched, pg.res[0].size / 2, "%llu of %u bytes flagged",
		     (unsigned long long)r.mismatched, pg.res[0].size);
	cr_assert(strstr(err, "differ"), "%s", err);
	srv_stop(&s);
}

Test(live_site, a_missing_server_fails_the_load)
{
	static volatile sig_atomic_t stop;
	static struct wfb_page pg = { .n = 1, .origins = 1 };
	struct wfl_load_result r;
	struct wfl_fetch_opts o;
	char err[256] = "";
	struct srv s;

	srv_start(&s, false);
	srv_stop(&s); /* the port is closed now */
	o = fetch_opts(&s, 1, &stop);
	pg.res[0] = (struct wfb_page_res){ .size = 100, .req = 100, .parent = WFB_PAGE_ROOT };
	cr_assert_eq(wfl_fetch(&o, 0, &pg, &r, err, sizeof(err)), -EIO);
	cr_assert_eq(r.failed, 1);
}

/* ---------------------------------------------------------------- cutting captures */

static void push(struct wfl_capture *c, uint64_t t, int dir, uint32_t size, uint8_t type)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->p = realloc(c->p, c->cap * sizeof(*c->p));
		cr_assert_not_null(c->p);
	}
	c->p[c->n++] =
		(struct wfl_cpkt){ .time_ns = t, .dir = (int8_t)dir, .size = size, .type = type };
}

Test(live_split, windows_and_the_inner_view)
{
	struct wfl_capture c = { 0 };
	struct wfb_trace t;
	uint64_t first;

	push(&c, 100, 1, 148, 1);   /* handshake initiation */
	push(&c, 200, -1, 92, 2);   /* response */
	push(&c, 300, 1, 32, 4);    /* keepalive */
	push(&c, 400, 1, 288, 4);   /* 256 bytes inside */
	push(&c, 500, -1, 1452, 4); /* 1420 inside */
	push(&c, 900, -1, 544, 4);
	wfb_trace_init(&t);
	cr_assert_eq(wfl_capture_window(&c, 150, 900, WFL_WIRE, &t, &first, NULL), 0);
	cr_assert_eq(t.n, 4);
	cr_assert_eq(first, 200);
	cr_assert_eq(t.pkts[0].time_ns, 0);
	cr_assert_eq(t.pkts[3].time_ns, 300);
	cr_assert_eq(t.pkts[3].size, 1452);
	cr_assert_eq(t.pkts[0].dir, -1);
	cr_assert_eq(wfl_capture_window(&c, 0, 1000, WFL_WG_INNER, &t, &first, NULL), 0);
	cr_assert_eq(t.n, 3, "data messages with a packet only");
	cr_assert_eq(first, 400);
	cr_assert_eq(t.pkts[0].size, 256);
	cr_assert_eq(t.pkts[1].size, 1420);
	cr_assert_eq(t.pkts[2].size, 512);
	wfb_trace_free(&t);
	free(c.p);
}

Test(live_split, gaps)
{
	struct wfl_capture c = { 0 };
	size_t starts[8], ends[8], dropped, n, k;
	uint64_t t = 0;

	for (k = 0; k < 10; k++) /* a load: 10 packets 1 ms apart */
		push(&c, t += 1000000, 1, 100, 4);
	t += 5000000000ULL;
	push(&c, t, 1, 32, 4); /* a lone keepalive in the gap */
	t += 5000000000ULL;
	for (k = 0; k < 12; k++)
		push(&c, t += 1000000, -1, 100, 4);
	n = wfl_split_gaps(&c, 2000000000ULL, 8, starts, ends, 8, &dropped);
	cr_assert_eq(n, 2);
	cr_assert_eq(dropped, 1);
	cr_assert_eq(starts[0], 0);
	cr_assert_eq(ends[0], 10);
	cr_assert_eq(starts[1], 11);
	cr_assert_eq(ends[1], 23);
	n = wfl_split_gaps(&c, 2000000000ULL, 1, starts, ends, 8, &dropped);
	cr_assert_eq(n, 3, "the keepalive is a piece of its own when pieces may be tiny");
	n = wfl_split_gaps(&c, 20000000000ULL, 8, starts, ends, 8, &dropped);
	cr_assert_eq(n, 1, "no silence that long: one piece");
	free(c.p);
}

/* Three page loads of two sites in one capture file, 4 s apart. */
static void write_session(const char *path)
{
	struct wfb_addr cl, sv;
	struct wfb_trace t;
	char err[256];
	int load, k;

	wfb_trace_init(&t);
	cr_assert_eq(wfb_addr_parse("10.1.0.2", &cl), 0);
	cr_assert_eq(wfb_addr_parse("10.2.0.2", &sv), 0);
	for (load = 0; load < 4; load++)
		for (k = 0; k < 20 + load; k++)
			cr_assert_eq(wfb_trace_push(
					     &t,
					     (uint64_t)load * 4000000000ULL + (uint64_t)k * 1000000,
					     k % 3 ? WFB_IN : WFB_OUT, 200 + (uint32_t)k, WFB_REAL),
				     0);
	cr_assert_eq(wfb_write_pcap(path, &t, &cl, &sv, err, sizeof(err)), 0, "%s", err);
	wfb_trace_free(&t);
}

Test(live_split, import_split_gap)
{
	struct wfl_split_report r;
	struct wfb_dataset ds;
	struct wfb_addr cl;
	struct wfb_trace t;
	char err[512] = "";
	FILE *f;

	write_session(tmp_path("s.pcap"));
	cr_assert_eq(wfb_addr_parse("10.1.0.2", &cl), 0);
	f = fopen(tmp_path("labels"), "w");
	fputs("# site per load\n0\n1\n1\n0\n", f);
	fclose(f);
	cr_assert_eq(wfl_import_split(tmp_path("s.pcap"), tmp_path("ds"), &cl, 1000000000ULL, 8,
				      tmp_path("labels"), false, &r, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(r.pieces, 4);
	cr_assert_eq(r.sites, 2);
	cr_assert_eq(r.instances, 2);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("ds"), err, sizeof(err)), 0, "%s", err);
	wfb_trace_init(&t);
	/* site 1 instance 1 is the third load: 22 packets, from time 0 */
	cr_assert_eq(wfb_dataset_read(&ds, wfb_dataset_index(&ds, 1, 1), &t, err, sizeof(err)), 0);
	cr_assert_eq(t.n, 22);
	cr_assert_eq(t.pkts[0].time_ns, 0);
	cr_assert_eq(t.pkts[0].dir, WFB_OUT);
	cr_assert_eq(t.pkts[21].size, 221);
	wfb_trace_free(&t);
	wfb_dataset_close(&ds);

	/* a labels file that does not match what the gaps found */
	f = fopen(tmp_path("labels3"), "w");
	fputs("0\n1\n1\n", f);
	fclose(f);
	cr_assert_eq(wfl_import_split(tmp_path("s.pcap"), tmp_path("ds3"), &cl, 1000000000ULL, 8,
				      tmp_path("labels3"), false, &r, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "3 labels for 4 page loads"), "%s", err);
	f = fopen(tmp_path("labelsx"), "w");
	fputs("0\nsite\n1\n0\n", f);
	fclose(f);
	cr_assert_eq(wfl_import_split(tmp_path("s.pcap"), tmp_path("dsx"), &cl, 1000000000ULL, 8,
				      tmp_path("labelsx"), false, &r, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "labelsx:2:1: expected a site number"), "%s", err);
	/* gaps longer than any silence: one piece of site 0 */
	cr_assert_eq(wfl_import_split(tmp_path("s.pcap"), tmp_path("ds1"), &cl, 10000000000ULL, 8,
				      NULL, false, &r, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(r.pieces, 1);
}

/* ---------------------------------------------------------------- the simulator's flows */

/* A session of two connections, interleaved: every other packet each. */
static void two_connections(struct wfb_trace *in, uint16_t *cport, size_t n)
{
	size_t i;

	wfb_trace_init(in);
	for (i = 0; i < n; i++) {
		cport[i] = i % 2 ? 40002 : 40001;
		cr_assert_eq(wfb_trace_push(in, 1000000 + i * 2000000, i % 3 ? WFB_IN : WFB_OUT,
					    i % 3 ? 1200 : 300, WFB_REAL),
			     0);
	}
}

/* Connection k's packets alone, from its first at time 0. */
static uint64_t one_connection(const struct wfb_trace *in, const uint16_t *cport, uint16_t port,
			       struct wfb_trace *sub)
{
	uint64_t offset = 0;
	size_t i;

	wfb_trace_init(sub);
	for (i = 0; i < in->n; i++) {
		if (cport[i] != port)
			continue;
		if (!sub->n)
			offset = in->pkts[i].time_ns;
		cr_assert_eq(wfb_trace_push(sub, in->pkts[i].time_ns - offset, in->pkts[i].dir,
					    in->pkts[i].size, WFB_REAL),
			     0);
	}
	return offset;
}

static size_t count_at(const struct wfb_trace *t, const struct wfb_pkt *p)
{
	size_t i, k = 0;

	for (i = 0; i < t->n; i++)
		k += !memcmp(&t->pkts[i], p, sizeof(*p));
	return k;
}

/*
 * Each connection is replayed as its own flow (its own streams, trace index by
 * first packet), what they send merged in time order: the merge holds exactly
 * both replays' packets, shifted to their connection's start, and FRONT's
 * covers come from two budgets, so more than one flow's replay of the session.
 */
Test(live_sim, each_connection_its_own_flow)
{
	enum { N = 200 };
	struct wfb_replay_opts ro = { .seed = 7, .unknown_size = 514 };
	struct wfb_trace in, out, sub[2], alone[2], whole;
	struct wfb_overhead ov, ov1, ovw;
	struct wfg_side_cfg sides[2];
	uint16_t cport[N], same[N];
	uint64_t offset[2];
	char err[256] = "";
	size_t conns, i, k;

	cr_assert_eq(wfg_preset_sides("front", sides, err, sizeof(err)), 0, "%s", err);
	two_connections(&in, cport, N);
	wfb_trace_init(&out);
	cr_assert_eq(wfl_sim_connections(sides, &in, cport, &ro, &out, &ov, &conns), 0);
	cr_assert_eq(conns, 2);
	for (i = 1; i < out.n; i++)
		cr_assert_geq(out.pkts[i].time_ns, out.pkts[i - 1].time_ns, "packet %zu", i);
	for (k = 0; k < 2; k++) {
		struct wfb_replay_opts r1 = ro;

		offset[k] = one_connection(&in, cport, k ? 40002 : 40001, &sub[k]);
		r1.trace_index = k;
		wfb_trace_init(&alone[k]);
		cr_assert_eq(wfb_replay(&sides[0], &sides[1], &sub[k], &r1, &alone[k], &ov1), 0);
		for (i = 0; i < alone[k].n; i++) {
			struct wfb_pkt p = alone[k].pkts[i];

			p.time_ns += offset[k];
			cr_assert_geq(count_at(&out, &p), 1, "connection %zu packet %zu missing", k,
				      i);
		}
	}
	cr_assert_eq(out.n, alone[0].n + alone[1].n);
	cr_assert_gt(ov.covers[0] + ov.covers[1], 0);

	/* one port: exactly the replay of the whole session as one flow */
	for (i = 0; i < N; i++)
		same[i] = 5555;
	ro.trace_index = 0;
	wfb_trace_init(&whole);
	cr_assert_eq(wfb_replay(&sides[0], &sides[1], &in, &ro, &whole, &ovw), 0);
	cr_assert_eq(wfl_sim_connections(sides, &in, same, &ro, &out, &ov, &conns), 0);
	cr_assert_eq(conns, 1);
	cr_assert(wfb_trace_equal(&out, &whole), "one connection differs from one replay");
	/* the same counts; times from the connection's first packet, 1 ms in */
	cr_assert_eq(memcmp(&ov, &ovw, offsetof(struct wfb_overhead, last_real_orig_ns)), 0);
	cr_assert_eq(ov.last_real_orig_ns + in.pkts[0].time_ns, ovw.last_real_orig_ns);
	cr_assert_eq(ov.last_real_def_ns + in.pkts[0].time_ns, ovw.last_real_def_ns);
	for (k = 0; k < 2; k++) {
		wfb_trace_free(&sub[k]);
		wfb_trace_free(&alone[k]);
	}
	wfb_trace_free(&whole);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
}
