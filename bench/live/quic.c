// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The QUIC transport of a live run (transport.h, docs/live-evaluation.md):
 * HTTP/3 over QUIC on the underlay, with Debian's ngtcp2 examples as the web
 * server and browser, and wfguard in shim mode on both ends' veths (s0 with
 * the server's policy, c0 with the client's), as tests/net/quic_shim.sh runs
 * them.
 *
 * The example server (gtlsserver) serves files from a directory; the example
 * client (gtlsclient) opens one connection, requests every URI it is given
 * once the handshake is done, and exits when all are in. It takes no request
 * after that, so our client drives it: the page's bodies are written as files
 * first (the same bytes site.c's server sends), then the page is fetched one
 * client run per dependency wave (or one for the whole load), each run
 * resuming the TLS session of the one before, and every file that arrives is
 * compared byte for byte with what it must hold.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <jansson.h>

#include "err.h"
#include "policy.h"
#include "transport.h"

#define QUIC_PORT 443
/* The UDP payload both examples send at most: the shim's trailer then fits
 * under the policies' 1452-byte limit with room to spare, as attach advises. */
#define QUIC_MAX_PAYLOAD "--max-udp-payload-size=1400"
#define BODY_CHUNK	 65536

static uint64_t now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) && errno == EINTR && !wfl_stop)
		;
}

static void path_in(const struct wfl_topo *t, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", t->workdir, name);
}

/* A self-signed certificate for the server and the shim's key file. */
static int quic_credentials(struct wfl_topo *t, char *err, size_t errlen)
{
	char key[4200], cert[4200], log[4200];
	char *req[] = { "openssl", "req",   "-x509", "-newkey", "rsa:2048",
			"-nodes",  "-days", "2",     "-subj",	"/CN=wfbench-live",
			"-keyout", key,	    "-out",  cert,	NULL };
	char *gen[] = { (char *)t->wfguard, "keys", "generate", t->keys, NULL };

	path_in(t, "key.pem", key, sizeof(key));
	path_in(t, "cert.pem", cert, sizeof(cert));
	path_in(t, "credentials.log", log, sizeof(log));
	path_in(t, "shim.keys", t->keys, sizeof(t->keys));
	if (wfl_run(NULL, req, NULL, NULL, log))
		return wfg_err(err, errlen, EIO,
			       "openssl req (the server's certificate) failed: %s", log);
	if (wfl_run(NULL, gen, NULL, NULL, log))
		return wfg_err(err, errlen, EIO, "wfguard keys generate failed: %s", log);
	return 0;
}

static int quic_up(struct wfl_topo *t, struct wfl_procs *ps, char *err, size_t errlen)
{
	char dir[4200];
	int rc;

	(void)ps;
	t->filter = "udp port 443";
	t->family = AF_INET;
	t->port = QUIC_PORT;
	memcpy(t->server_in, (uint8_t[]){ 10, 77, 2, 2 }, 4);
	/* no tunnel: the defence sits on the underlay veths */
	snprintf(t->dev_c, sizeof(t->dev_c), "c0");
	snprintf(t->dev_s, sizeof(t->dev_s), "s0");
	path_in(t, "www", dir, sizeof(dir));
	if (mkdir(dir, 0755) && errno != EEXIST)
		return wfg_err(err, errlen, errno, "%s: %s", dir, strerror(errno));
	path_in(t, "got", dir, sizeof(dir));
	if (mkdir(dir, 0755) && errno != EEXIST)
		return wfg_err(err, errlen, errno, "%s: %s", dir, strerror(errno));
	rc = quic_credentials(t, err, errlen);
	return rc ? rc : wfl_veth_topo(t, err, errlen);
}

static void quic_down(struct wfl_topo *t)
{
	wfl_netns_down(t);
}

static int quic_serve(struct wfl_topo *t, struct wfl_procs *ps, char *err, size_t errlen)
{
	char www[4200], key[4200], cert[4200], log[4200];
	/* one datagram per send: the defence pads and counts each one (attach warns
	 * of GSO), in both phases alike */
	char *argv[] = { "gtlsserver",
			 "-q",
			 "--max-gso-dgrams=1",
			 QUIC_MAX_PAYLOAD,
			 "-d",
			 www,
			 "10.77.2.2",
			 "443",
			 key,
			 cert,
			 NULL };
	int rc;

	path_in(t, "www", www, sizeof(www));
	path_in(t, "key.pem", key, sizeof(key));
	path_in(t, "cert.pem", cert, sizeof(cert));
	path_in(t, "server.log", log, sizeof(log));
	rc = wfl_spawn(ps, "gtlsserver", t->ns_s, argv, log);
	return rc ? wfg_err(err, errlen, -rc, "gtlsserver: %s", strerror(-rc)) : 0;
}

/* ---------------------------------------------------------------- the page as files */

static void res_name(char *buf, size_t len, int site, unsigned res, uint32_t size)
{
	snprintf(buf, len, "r%d-%u-%u", site, res, size);
}

/* The body of (site, res) as www/NAME, unless it is there already (the same
 * bytes: the body is a function of its name). */
static int put_body(const struct wfl_topo *t, uint64_t seed, int site, unsigned res, uint32_t size,
		    char *err, size_t errlen)
{
	char name[64], path[4300], tmp[4310];
	static uint8_t buf[BODY_CHUNK];
	struct stat st;
	uint64_t off;
	FILE *f;

	res_name(name, sizeof(name), site, res, size);
	snprintf(path, sizeof(path), "%s/www/%s", t->workdir, name);
	if (!stat(path, &st) && st.st_size == (off_t)size)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", tmp, strerror(errno));
	for (off = 0; off < size; off += BODY_CHUNK) {
		size_t n = size - off < BODY_CHUNK ? (size_t)(size - off) : BODY_CHUNK;

		wfl_body(seed, site, res, off, buf, n);
		if (fwrite(buf, 1, n, f) != n)
			break;
	}
	if (fclose(f) || off < size || rename(tmp, path)) {
		unlink(tmp);
		return wfg_err(err, errlen, EIO, "%s: cannot write", path);
	}
	return 0;
}

/*
 * got/NAME against the body it must hold: the bytes that arrived into *got,
 * those that differ into *bad; 0 when it is whole. The file is removed, so
 * the next load's fetch starts from nothing.
 */
static int check_body(const struct wfl_topo *t, uint64_t seed, int site, unsigned res,
		      uint32_t size, uint64_t *got, uint64_t *bad)
{
	static uint8_t buf[BODY_CHUNK], want[BODY_CHUNK];
	char name[64], path[4300];
	uint64_t off = 0;
	size_t n, i;
	FILE *f;

	*got = 0;
	res_name(name, sizeof(name), site, res, size);
	snprintf(path, sizeof(path), "%s/got/%s", t->workdir, name);
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		size_t cmp = off + n <= size ? n : off < size ? (size_t)(size - off) : 0;

		wfl_body(seed, site, res, off, want, cmp);
		for (i = 0; i < cmp; i++)
			*bad += buf[i] != want[i];
		off += n;
	}
	fclose(f);
	unlink(path);
	*got = off;
	return off == size ? 0 : -EIO;
}

/* ---------------------------------------------------------------- the waves */

/*
 * Each resource's wave: the HTML 0, a resource one more than its parent (the
 * page model puts parents first), the onload ones after every other wave.
 * Returns the number of waves.
 */
unsigned wfl_page_waves(const struct wfb_page *pg, unsigned *wave)
{
	unsigned i, last = 0;

	for (i = 0; i < pg->n; i++) {
		int p = pg->res[i].parent;

		wave[i] = p >= 0 && (unsigned)p < i ? wave[p] + 1 : 0;
		if (p != WFB_PAGE_ONLOAD && wave[i] > last)
			last = wave[i];
	}
	for (i = 0; i < pg->n; i++)
		if (pg->res[i].parent == WFB_PAGE_ONLOAD)
			wave[i] = last + 1;
	for (i = 0; i < pg->n; i++)
		if (pg->res[i].parent == WFB_PAGE_ONLOAD)
			return last + 2;
	return last + 1;
}

/*
 * One run of the example client: a connection (resuming the session of the
 * runs before), the resources of pg whose wave is in [from, to) requested at
 * once, every stream in before it exits. 0, or the client's failure.
 */
static int client_run(const struct wfl_topo *t, int site, const struct wfb_page *pg,
		      const unsigned *wave, unsigned from, unsigned to, uint64_t timeout_ns)
{
	static char uris[WFB_PAGE_MAX_RES][160];
	char got[4200], sess[4200], tp[4200], log[4200], secs[24], addr[INET6_ADDRSTRLEN];
	char *argv[WFB_PAGE_MAX_RES + 24];
	unsigned i, w;
	int argc = 0;

	path_in(t, "got", got, sizeof(got));
	path_in(t, "session.pem", sess, sizeof(sess));
	path_in(t, "session.tp", tp, sizeof(tp));
	path_in(t, "client.log", log, sizeof(log));
	inet_ntop(t->family, t->server_in, addr, sizeof(addr));
	snprintf(secs, sizeof(secs), "%llu", (unsigned long long)(timeout_ns / 1000000000ULL + 1));
	argv[argc++] = "timeout";
	argv[argc++] = "-k";
	argv[argc++] = "2";
	argv[argc++] = secs;
	argv[argc++] = "gtlsclient";
	argv[argc++] = "-q";
	argv[argc++] = "--exit-on-all-streams-close";
	argv[argc++] = QUIC_MAX_PAYLOAD;
	argv[argc++] = "--download";
	argv[argc++] = got;
	argv[argc++] = "--session-file";
	argv[argc++] = sess;
	argv[argc++] = "--tp-file";
	argv[argc++] = tp;
	argv[argc++] = addr;
	argv[argc++] = "443";
	/* the waves in order, each in the page's order */
	for (w = from; w < to; w++) {
		for (i = 0; i < pg->n; i++) {
			char name[64];

			if (wave[i] != w)
				continue;
			res_name(name, sizeof(name), site, i, pg->res[i].size);
			snprintf(uris[i], sizeof(uris[i]), "https://%s:443/%s", addr, name);
			argv[argc++] = uris[i];
		}
	}
	argv[argc] = NULL;
	return wfl_run(NULL, argv, NULL, NULL, log);
}

/* The path's round trip: a TCP connect to the server's port, which nothing
 * listens on, is refused one round trip later. 0 if it was not. */
static uint64_t refused_connect_ns(const struct wfl_topo *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(t->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint64_t t0 = now_real(), d;

	memcpy(&a.sin_addr, t->server_in, 4);
	if (fd < 0)
		return 0;
	d = connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno == ECONNREFUSED ? now_real() - t0
										   : 0;
	close(fd);
	return d;
}

/* The smallest delay of wave w's resources: when the first of them is asked for. */
static uint64_t wave_delay_ns(const struct wfb_page *pg, const unsigned *wave, unsigned w,
			      double time_scale)
{
	double ms = -1;
	unsigned i;

	for (i = 0; i < pg->n; i++)
		if (wave[i] == w && (ms < 0 || pg->res[i].delay_ms < ms))
			ms = pg->res[i].delay_ms;
	return ms > 0 ? (uint64_t)(ms * 1e6 / time_scale) : 0;
}

static int check_page(const struct wfl_topo *t, const struct wfl_fetch_opts *o, int site,
		      const struct wfb_page *pg, struct wfl_load_result *r, char *err,
		      size_t errlen)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < pg->n; i++) {
		uint64_t got = 0;

		r->resources++;
		if (!check_body(t, o->seed, site, i, pg->res[i].size, &got, &r->mismatched))
			continue;
		r->failed++;
		if (!rc)
			rc = wfg_err(err, errlen, EIO, "resource %u of site %d: %llu of %u bytes",
				     i, site, (unsigned long long)got, pg->res[i].size);
	}
	for (i = 0; i < pg->n; i++)
		r->bytes += pg->res[i].size;
	return rc;
}

static int quic_fetch(const struct wfl_topo *t, const struct wfl_fetch_opts *o, int site,
		      const struct wfb_page *pg, struct wfl_load_result *r, char *err,
		      size_t errlen)
{
	unsigned wave[WFB_PAGE_MAX_RES], waves = wfl_page_waves(pg, wave), w, i;
	bool per_wave = t->conns == WFL_CONNS_WAVE;
	uint64_t deadline;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	for (i = 0; !rc && i < pg->n; i++)
		rc = put_body(t, o->seed, site, i, pg->res[i].size, err, errlen);
	if (rc)
		return rc;
	r->connect_ns_min = refused_connect_ns(t);
	r->start_ns = now_real();
	deadline = r->start_ns + o->timeout_ns;
	for (w = 0; w < waves; w = per_wave ? w + 1 : waves) {
		if (per_wave && w)
			sleep_ns(wave_delay_ns(pg, wave, w, o->time_scale));
		if (*o->stop)
			return wfg_err(err, errlen, EINTR, "interrupted");
		if (now_real() >= deadline)
			return wfg_err(err, errlen, ETIMEDOUT, "site %d: the load took over %llu s",
				       site, (unsigned long long)(o->timeout_ns / 1000000000ULL));
		r->connections++;
		/* a failed run shows in the files it left short */
		client_run(t, site, pg, wave, w, per_wave ? w + 1 : waves, deadline - now_real());
	}
	r->end_ns = now_real();
	rc = check_page(t, o, site, pg, r, err, errlen);
	if (!rc && r->mismatched)
		rc = wfg_err(err, errlen, EIO, "site %d: %llu body bytes differ", site,
			     (unsigned long long)r->mismatched);
	return rc;
}

/* covers_received of the client end's wfguard (`wfguard stats c0 --json`): the
 * covers its XDP program took out; 0 where none is attached. */
static uint64_t quic_covers_dropped(const struct wfl_topo *t)
{
	char *argv[] = { (char *)t->wfguard, "stats", (char *)t->dev_c, "--json", NULL };
	char out[4200];
	uint64_t v = 0;
	json_t *doc;

	path_in(t, "client-stats.json", out, sizeof(out));
	if (wfl_run(t->ns_c, argv, NULL, out, "/dev/null"))
		return 0;
	doc = json_load_file(out, 0, NULL);
	if (doc)
		v = (uint64_t)json_integer_value(json_object_get(doc, "covers_received"));
	json_decref(doc);
	return v;
}

static const char *const quic_tools[] = { "ip",	     "gtlsserver", "gtlsclient",
					  "openssl", "timeout",	   NULL };

const struct wfl_transport wfl_transport_quic = {
	.name = "quic",
	.tools = quic_tools,
	.policy_mode = WFG_MODE_SHIM,
	.client_defended = true,
	.sim_view = WFL_WIRE,
	.sizes = "UDP payloads",
	.conns = WFL_CONNS_WAVE,
	.refused = {
		[WFL_CONNS_LONG] = "Debian's ngtcp2 example client (0.12) requests all its "
				   "URIs once the handshake is done and takes no request "
				   "after that, so one connection cannot carry the waves and "
				   "the gaps of many loads",
	},
	.up = quic_up,
	.down = quic_down,
	.serve = quic_serve,
	.fetch = quic_fetch,
	.covers_dropped = quic_covers_dropped,
};
