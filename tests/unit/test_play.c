// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Trace playback over real UDP sockets on the loopback (bench/play.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "generate.h"
#include "play.h"

static int udp_bound(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	return fd;
}

struct server_run {
	int fd;
	const struct wfb_trace *t;
	uint32_t want_id, got_id;
	struct wfb_play_opts o;
	struct wfb_play_report r;
	int ret;
	char err[256];
};

static const struct wfb_trace *lookup(void *arg, uint32_t id)
{
	struct server_run *s = arg;

	return id == s->want_id ? s->t : NULL;
}

static void *serve(void *arg)
{
	struct server_run *s = arg;

	static struct wfb_play_server sv;

	memset(&sv, 0, sizeof(sv));
	s->ret = wfb_play_server(s->fd, &sv, lookup, s, 5000000000ull, &s->got_id, &s->o, &s->r,
				 s->err, sizeof(s->err));
	return NULL;
}

/* Play t between two loopback sockets; both reports out. */
static void play(const struct wfb_trace *t, double speed, struct wfb_play_report *cli,
		 struct wfb_play_report *srv)
{
	struct server_run s = { .t = t, .want_id = 77 };
	struct sockaddr_in sa, ca;
	struct wfb_play_opts o;
	pthread_t th;
	char err[256] = "";
	int cfd, ret;

	wfb_play_defaults(&o);
	o.speed = speed;
	o.idle_ns = 1000000000ull;
	s.o = o;
	s.fd = udp_bound(&sa);
	cfd = udp_bound(&ca);
	cr_assert_eq(pthread_create(&th, NULL, serve, &s), 0);
	ret = wfb_play_client(cfd, (struct sockaddr *)&sa, sizeof(sa), t, 77, &o, cli, err,
			      sizeof(err));
	pthread_join(th, NULL);
	cr_assert_eq(ret, 0, "client: %s", err);
	cr_assert_eq(s.ret, 0, "server: %s", s.err);
	cr_assert_eq(s.got_id, 77);
	*srv = s.r;
	close(cfd);
	close(s.fd);
}

Test(play, a_page_load_arrives_complete_and_intact_both_ways)
{
	struct wfb_gen_opts g = { .sites = 3, .instances = 2, .seed = 5 };
	struct wfb_play_report cli, srv;
	struct wfb_trace t;
	size_t out = 0, i;
	uint64_t span;

	wfb_trace_init(&t);
	cr_assert_eq(wfb_gen_trace(&g, 1, 0, &t), 0);
	for (i = 0; i < t.n; i++)
		out += t.pkts[i].dir == WFB_OUT;
	span = t.pkts[t.n - 1].time_ns - t.pkts[0].time_ns;
	/* fast enough for a unit test: the page load in at most ~0.5 s */
	play(&t, span > 500000000ull ? (double)span / 5e8 : 1.0, &cli, &srv);
	cr_expect_eq(cli.sent, out);
	cr_expect_eq(srv.sent, t.n - out);
	cr_expect_eq(srv.expected, out);
	cr_expect_eq(cli.expected, t.n - out);
	cr_expect_eq(srv.received, out, "server got %zu of %zu", srv.received, out);
	cr_expect_eq(cli.received, t.n - out, "client got %zu of %zu", cli.received, t.n - out);
	cr_expect_eq(cli.corrupt + srv.corrupt, 0);
	cr_expect_eq(cli.bytes_sent, srv.bytes_received);
	cr_expect_eq(srv.bytes_sent, cli.bytes_received);
	wfb_trace_free(&t);
}

Test(play, a_trace_that_starts_with_the_server_says_hello_first)
{
	struct wfb_play_report cli, srv;
	struct wfb_trace t;

	wfb_trace_init(&t);
	wfb_trace_push(&t, 0, WFB_IN, 900, WFB_REAL);
	wfb_trace_push(&t, 1000000, WFB_OUT, 100, WFB_REAL);
	wfb_trace_push(&t, 2000000, WFB_IN, 3, WFB_REAL);    /* raised to the header */
	wfb_trace_push(&t, 3000000, WFB_IN, 5000, WFB_REAL); /* cut to WFB_PLAY_MAX */
	wfb_trace_push(&t, 4000000, WFB_OUT, 0, WFB_REAL);   /* unknown: 512 */
	play(&t, 1.0, &cli, &srv);
	cr_expect_eq(cli.sent, 2);
	cr_expect_eq(srv.sent, 3);
	cr_expect_eq(srv.received, 2);
	cr_expect_eq(cli.received, 3);
	cr_expect_eq(cli.bytes_received, 900 + WFB_PLAY_HDR + WFB_PLAY_MAX);
	cr_expect_eq(srv.bytes_received, 100 + 512);
	wfb_trace_free(&t);
}

Test(play, filler_depends_on_trace_sequence_and_size)
{
	uint8_t a[200], b[200], c[200];

	wfb_play_fill(a, sizeof(a), 1, 2);
	wfb_play_fill(b, sizeof(b), 1, 3);
	wfb_play_fill(c, sizeof(c), 2, 2);
	cr_expect_neq(memcmp(a + WFB_PLAY_HDR, b + WFB_PLAY_HDR, 200 - WFB_PLAY_HDR), 0);
	cr_expect_neq(memcmp(a + WFB_PLAY_HDR, c + WFB_PLAY_HDR, 200 - WFB_PLAY_HDR), 0);
	wfb_play_fill(b, sizeof(b), 1, 2);
	cr_expect_eq(memcmp(a, b, sizeof(a)), 0);
	cr_expect_eq(a[15], 200); /* size, big-endian */
}

/* A flipped byte and a datagram of another trace must be counted, not taken. */
Test(play, corrupt_and_stray_datagrams_are_counted_not_taken)
{
	struct server_run s;
	struct sockaddr_in sa, ca, xa;
	struct wfb_play_opts o;
	struct wfb_play_report cli;
	struct wfb_trace t;
	uint8_t buf[300];
	pthread_t th;
	char err[256] = "";
	int cfd, xfd, ret;

	wfb_trace_init(&t);
	wfb_trace_push(&t, 0, WFB_OUT, 100, WFB_REAL);
	wfb_trace_push(&t, 100000000, WFB_IN, 300, WFB_REAL);
	wfb_trace_push(&t, 200000000, WFB_IN, 300, WFB_REAL);
	memset(&s, 0, sizeof(s));
	s.t = &t;
	s.want_id = 9;
	wfb_play_defaults(&o);
	o.idle_ns = 300000000ull;
	s.o = o;
	s.fd = udp_bound(&sa);
	cfd = udp_bound(&ca);
	xfd = udp_bound(&xa);
	/* queued at the client before it starts: seq 1 with a flipped byte, and trace 8 */
	wfb_play_fill(buf, 300, 9, 1);
	buf[200] ^= 1;
	sendto(xfd, buf, 300, 0, (struct sockaddr *)&ca, sizeof(ca));
	wfb_play_fill(buf, 300, 8, 1);
	sendto(xfd, buf, 300, 0, (struct sockaddr *)&ca, sizeof(ca));
	cr_assert_eq(pthread_create(&th, NULL, serve, &s), 0);
	ret = wfb_play_client(cfd, (struct sockaddr *)&sa, sizeof(sa), &t, 9, &o, &cli, err,
			      sizeof(err));
	pthread_join(th, NULL);
	cr_assert_eq(ret, 0, "%s", err);
	cr_expect_eq(cli.corrupt, 1);
	cr_expect_eq(cli.stray, 1);
	cr_expect_eq(cli.received, 2, "the real seq 1 still counts once");
	close(cfd);
	close(xfd);
	close(s.fd);
	wfb_trace_free(&t);
}

Test(play, a_server_with_no_client_times_out)
{
	struct wfb_play_opts o;
	struct wfb_play_report r;
	struct sockaddr_in sa;
	struct server_run s = { 0 };
	struct wfb_play_server sv = { 0 };
	char err[256] = "";
	uint32_t id;
	int fd = udp_bound(&sa);

	wfb_play_defaults(&o);
	cr_expect_eq(
		wfb_play_server(fd, &sv, lookup, &s, 50000000ull, &id, &o, &r, err, sizeof(err)),
		-ETIMEDOUT);
	cr_expect(strstr(err, "no trace started"), "%s", err);
	close(fd);
}

struct two_traces {
	int fd;
	struct wfb_trace t[2];
	struct wfb_play_report r[2];
	int ret[2];
};

static const struct wfb_trace *lookup2(void *arg, uint32_t id)
{
	struct two_traces *s = arg;

	return id < 2 ? &s->t[id] : NULL;
}

static void *serve2(void *arg)
{
	struct two_traces *s = arg;
	struct wfb_play_server sv = { 0 };
	struct wfb_play_opts o;
	char err[256];
	uint32_t id;
	int i;

	wfb_play_defaults(&o);
	o.idle_ns = 500000000ull;
	for (i = 0; i < 2; i++)
		s->ret[i] = wfb_play_server(s->fd, &sv, lookup2, s, 3000000000ull, &id, &o,
					    &s->r[i], err, sizeof(err));
	return NULL;
}

/* The client's next trace starts while the server is still reading the last one. */
Test(play, back_to_back_traces_each_start_where_they_should)
{
	struct two_traces s;
	struct sockaddr_in sa, ca;
	struct wfb_play_opts o;
	struct wfb_play_report cr[2];
	pthread_t th;
	char err[256];
	int cfd, i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < 2; i++) {
		wfb_trace_init(&s.t[i]);
		wfb_trace_push(&s.t[i], 0, WFB_OUT, 100, WFB_REAL);
		wfb_trace_push(&s.t[i], 1000000, WFB_IN, 500, WFB_REAL);
		wfb_trace_push(&s.t[i], 2000000, WFB_OUT, 200, WFB_REAL); /* the client's last */
	}
	wfb_play_defaults(&o);
	s.fd = udp_bound(&sa);
	cfd = udp_bound(&ca);
	cr_assert_eq(pthread_create(&th, NULL, serve2, &s), 0);
	for (i = 0; i < 2; i++)
		cr_assert_eq(wfb_play_client(cfd, (struct sockaddr *)&sa, sizeof(sa), &s.t[i],
					     (uint32_t)i, &o, &cr[i], err, sizeof(err)),
			     0, "%s", err);
	pthread_join(th, NULL);
	for (i = 0; i < 2; i++) {
		cr_expect_eq(s.ret[i], 0);
		cr_expect_eq(s.r[i].received, 2, "trace %d: server got %zu of 2", i,
			     s.r[i].received);
		cr_expect_eq(cr[i].received, 1);
		cr_expect_eq(s.r[i].stray, 0);
	}
	close(cfd);
	close(s.fd);
	for (i = 0; i < 2; i++)
		wfb_trace_free(&s.t[i]);
}
