// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Transports of a live run (transport.h): the namespaces they share, the
 * table, and WireGuard: wireguard-go (Debian's package, over TUN) at both
 * ends, stock, MTU 1420, as tests/net/lib/wg_topo.sh builds it for the
 * tunnel-mode tests, carrying the site server and client of site.c
 * (HTTP/1.1 over TCP). QUIC is quic.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include "err.h"
#include "transport.h"
#include "policy.h"

#define WG_PORT	  "51820"
#define SITE_PORT 8080

const char *const wfl_conns_name[WFL_CONNS_N] = { "load", "wave", "long" };

int wfl_topo_init(struct wfl_topo *t, const char *tag, const char *workdir)
{
	memset(t, 0, sizeof(*t));
	if (strlen(tag) > 8 ||
	    snprintf(t->workdir, sizeof(t->workdir), "%s", workdir) >= (int)sizeof(t->workdir))
		return -ENAMETOOLONG;
	snprintf(t->tag, sizeof(t->tag), "%s", tag);
	snprintf(t->ns_c, sizeof(t->ns_c), "%s-c", tag);
	snprintf(t->ns_o, sizeof(t->ns_o), "%s-o", tag);
	snprintf(t->ns_s, sizeof(t->ns_s), "%s-s", tag);
	/* wireguard-go's control socket, /var/run/wireguard/DEV.sock, is global: unique names */
	snprintf(t->dev_c, sizeof(t->dev_c), "%sc", tag);
	snprintf(t->dev_s, sizeof(t->dev_s), "%ss", tag);
	t->obs_dev = "o0";
	return wfb_addr_parse("10.77.1.2", &t->client);
}

/* `ip ARGS...` (in ns when not NULL); 0 or an error line. */
static int ip(const char *ns, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ip(const char *ns, char *err, size_t errlen, const char *fmt, ...)
{
	char line[512], cmd[512], *argv[24], *save = NULL, *tok;
	int argc = 0, rc;
	va_list ap;

	argv[argc++] = "ip";
	if (ns) {
		argv[argc++] = "-n";
		argv[argc++] = (char *)ns;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s", line);
	for (tok = strtok_r(line, " ", &save); tok && argc < 23; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	rc = wfl_run(NULL, argv, NULL, NULL, NULL);
	if (rc)
		return wfg_err(err, errlen, rc < 0 ? -rc : EIO, "ip %s%s %s: failed (%d)",
			       ns ? "-n " : "", ns ? ns : "", cmd, rc);
	return 0;
}

int wfl_veth_topo(struct wfl_topo *t, char *err, size_t errlen)
{
	const char *ns[3] = { t->ns_c, t->ns_o, t->ns_s };
	int i, rc = 0;

	for (i = 0; !rc && i < 3; i++) {
		rc = ip(NULL, err, errlen, "netns add %s", ns[i]);
		if (!rc)
			t->made = (unsigned)i + 1;
		if (!rc)
			rc = ip(ns[i], err, errlen, "link set lo up");
	}
	if (!rc)
		rc = ip(NULL, err, errlen, "link add %sa netns %s type veth peer name o0 netns %s",
			t->tag, t->ns_c, t->ns_o);
	if (!rc)
		rc = ip(NULL, err, errlen, "link add %sb netns %s type veth peer name o1 netns %s",
			t->tag, t->ns_s, t->ns_o);
	if (!rc)
		rc = ip(t->ns_c, err, errlen, "link set %sa name c0", t->tag);
	if (!rc)
		rc = ip(t->ns_s, err, errlen, "link set %sb name s0", t->tag);
	if (!rc)
		rc = ip(t->ns_c, err, errlen, "addr add 10.77.1.2/24 dev c0");
	if (!rc)
		rc = ip(t->ns_o, err, errlen, "addr add 10.77.1.1/24 dev o0");
	if (!rc)
		rc = ip(t->ns_o, err, errlen, "addr add 10.77.2.1/24 dev o1");
	if (!rc)
		rc = ip(t->ns_s, err, errlen, "addr add 10.77.2.2/24 dev s0");
	for (i = 0; !rc && i < 3; i++)
		rc = ip(ns[i], err, errlen, "link set %s up", i == 0 ? "c0" : i == 2 ? "s0" : "o0");
	if (!rc)
		rc = ip(t->ns_o, err, errlen, "link set o1 up");
	if (!rc)
		rc = ip(t->ns_c, err, errlen, "route add default via 10.77.1.1");
	if (!rc)
		rc = ip(t->ns_s, err, errlen, "route add default via 10.77.2.1");
	if (!rc) {
		char *argv[] = { "sysctl", "-qw", "net.ipv4.ip_forward=1", NULL };

		rc = wfl_run(t->ns_o, argv, NULL, NULL, NULL);
		if (rc)
			rc = wfg_err(err, errlen, EIO, "sysctl net.ipv4.ip_forward=1 in %s failed",
				     t->ns_o);
	}
	return rc;
}

static int file_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	return n ? 0 : -ENODATA;
}

/* A private key (wg genkey) in DIR/NAME.key and its public key in pub. */
static int wg_keys(const struct wfl_topo *t, const char *name, char *pub, size_t len, char *err,
		   size_t errlen)
{
	char key[4200], pubf[4200];
	char *gen[] = { "wg", "genkey", NULL }, *pk[] = { "wg", "pubkey", NULL };
	mode_t old = umask(077);
	int rc;

	snprintf(key, sizeof(key), "%s/%s.key", t->workdir, name);
	snprintf(pubf, sizeof(pubf), "%s/%s.pub", t->workdir, name);
	rc = wfl_run(NULL, gen, NULL, key, NULL);
	if (!rc)
		rc = wfl_run(NULL, pk, key, pubf, NULL);
	umask(old);
	if (!rc)
		rc = file_text(pubf, pub, len);
	return rc ? wfg_err(err, errlen, EIO, "wg genkey/pubkey failed (%d)", rc) : 0;
}

/* wireguard-go for dev in ns, in the foreground (tracked), and its device up. */
static int wg_go(struct wfl_topo *t, struct wfl_procs *ps, const char *ns, const char *dev,
		 char *err, size_t errlen)
{
	char log[4200],
		*argv[] = { "env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", "-f", (char *)dev,
			    NULL };
	int i, rc;

	snprintf(log, sizeof(log), "%s/%s.log", t->workdir, dev);
	rc = wfl_spawn(ps, "wireguard-go", ns, argv, log);
	if (rc)
		return wfg_err(err, errlen, -rc, "wireguard-go: %s", strerror(-rc));
	for (i = 0; i < 100; i++) {
		char *show[] = { "ip", "link", "show", (char *)dev, NULL };

		if (!wfl_run(ns, show, NULL, NULL, "/dev/null"))
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	}
	return wfg_err(err, errlen, ETIMEDOUT, "wireguard-go made no device %s in 5 s (log: %s)",
		       dev, log);
}

static int wg_set(const char *ns, char *err, size_t errlen, char *const argv[])
{
	int rc = wfl_run(ns, argv, NULL, NULL, NULL);

	return rc ? wfg_err(err, errlen, EIO, "wg set in %s failed (%d)", ns, rc) : 0;
}

static int wg_tunnel(struct wfl_topo *t, struct wfl_procs *ps, char *err, size_t errlen)
{
	char cpub[128], spub[128], ckey[4200], skey[4200];
	int rc;

	rc = wg_keys(t, "client", cpub, sizeof(cpub), err, errlen);
	if (!rc)
		rc = wg_keys(t, "server", spub, sizeof(spub), err, errlen);
	if (!rc)
		rc = wg_go(t, ps, t->ns_s, t->dev_s, err, errlen);
	if (!rc)
		rc = wg_go(t, ps, t->ns_c, t->dev_c, err, errlen);
	snprintf(ckey, sizeof(ckey), "%s/client.key", t->workdir);
	snprintf(skey, sizeof(skey), "%s/server.key", t->workdir);
	if (!rc) {
		char *a[] = { "wg", "set",  t->dev_s, "listen-port", WG_PORT,	     "private-key",
			      skey, "peer", cpub,     "allowed-ips", "10.99.0.2/32", NULL };

		rc = wg_set(t->ns_s, err, errlen, a);
	}
	if (!rc) {
		char *a[] = { "wg",
			      "set",
			      t->dev_c,
			      "private-key",
			      ckey,
			      "peer",
			      spub,
			      "allowed-ips",
			      "10.99.0.0/24",
			      "endpoint",
			      "10.77.2.2:" WG_PORT,
			      NULL };

		rc = wg_set(t->ns_c, err, errlen, a);
	}
	if (!rc)
		rc = ip(t->ns_s, err, errlen, "addr add 10.99.0.1/24 dev %s", t->dev_s);
	if (!rc)
		rc = ip(t->ns_c, err, errlen, "addr add 10.99.0.2/24 dev %s", t->dev_c);
	if (!rc)
		rc = ip(t->ns_s, err, errlen, "link set %s mtu 1420 up", t->dev_s);
	if (!rc)
		rc = ip(t->ns_c, err, errlen, "link set %s mtu 1420 up", t->dev_c);
	return rc;
}

static int wg_up(struct wfl_topo *t, struct wfl_procs *ps, char *err, size_t errlen)
{
	int rc = wfl_veth_topo(t, err, errlen);

	t->filter = "udp port " WG_PORT;
	t->family = AF_INET;
	t->port = SITE_PORT;
	memcpy(t->server_in, (uint8_t[]){ 10, 99, 0, 1 }, 4);
	return rc ? rc : wg_tunnel(t, ps, err, errlen);
}

void wfl_netns_down(struct wfl_topo *t)
{
	const char *ns[3] = { t->ns_c, t->ns_o, t->ns_s };
	unsigned i;

	for (i = 0; i < t->made; i++) {
		char *argv[] = { "ip", "netns", "del", (char *)ns[i], NULL };

		wfl_run(NULL, argv, NULL, NULL, "/dev/null");
	}
	t->made = 0;
}

/* Namespaces go with their devices; wireguard-go's sockets are its own to remove
 * (it ends first), leftovers of a killed one are removed here. */
static void wg_down(struct wfl_topo *t)
{
	char sock[64];

	wfl_netns_down(t);
	snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", t->dev_c);
	unlink(sock);
	snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", t->dev_s);
	unlink(sock);
}

/* The site server of site.c on t->port, in the server's namespace. */
static int site_server_main(void *arg, int ready)
{
	const struct wfl_topo *t = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(t->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc;
	char err[256] = "";

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 256)) {
		fprintf(stderr, "wfbench live: site server: %s\n", strerror(errno));
		return 2;
	}
	if (write(ready, "r", 1) != 1)
		return 2;
	rc = wfl_serve(fd, &wfl_stop, err, sizeof(err));
	if (rc)
		fprintf(stderr, "wfbench live: site server: %s\n", err);
	close(fd);
	return rc ? 1 : 0;
}

static int wg_serve(struct wfl_topo *t, struct wfl_procs *ps, char *err, size_t errlen)
{
	pid_t pid;
	int rc = wfl_fork(ps, "site server", t->ns_s, site_server_main, t, &pid);

	return rc ? wfg_err(err, errlen, -rc, "the site server did not start") : 0;
}

static int wg_fetch(const struct wfl_topo *t, const struct wfl_fetch_opts *o, int site,
		    const struct wfb_page *pg, struct wfl_load_result *r, char *err, size_t errlen)
{
	(void)t;
	return wfl_fetch(o, site, pg, r, err, errlen);
}

/*
 * The IP layer's InHdrErrors of the caller's namespace (the client's): the
 * stock client's IP layer drops the IPv4 covers there (tunnel-mode.md).
 */
static uint64_t wg_covers_dropped(const struct wfl_topo *t)
{
	FILE *f = fopen("/proc/net/snmp", "r");
	char names[2048], vals[2048];
	uint64_t v = 0;

	(void)t;
	if (!f)
		return 0;
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		char *sn = NULL, *sv = NULL, *n = strtok_r(names, " \n", &sn),
		     *x = strtok_r(vals, " \n", &sv);

		if (!n || strcmp(n, "Ip:"))
			continue;
		while ((n = strtok_r(NULL, " \n", &sn)) && (x = strtok_r(NULL, " \n", &sv)))
			if (!strcmp(n, "InHdrErrors"))
				v = strtoull(x, NULL, 10);
		break;
	}
	fclose(f);
	return v;
}

static const char *const wg_tools[] = { "ip", "wg", "wireguard-go", NULL };

const struct wfl_transport wfl_transport_wireguard = {
	.name = "wireguard",
	.tools = wg_tools,
	.policy_mode = WFG_MODE_TUNNEL,
	.sim_view = WFL_WG_INNER,
	.sizes = "WireGuard data messages",
	.conns = WFL_CONNS_LOAD,
	.refused = {
		[WFL_CONNS_WAVE] = "the site client keeps up to 6 connections per origin "
				   "open for the whole load, as a browser does",
		[WFL_CONNS_LONG] = "the site client closes its connections at the end of "
				   "each load; a pool kept across loads is not built",
	},
	.up = wg_up,
	.down = wg_down,
	.serve = wg_serve,
	.fetch = wg_fetch,
	.covers_dropped = wg_covers_dropped,
};

static const struct wfl_transport *const transports[] = {
	&wfl_transport_wireguard,
	&wfl_transport_quic,
};

const struct wfl_transport *wfl_transport_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (!strcmp(transports[i]->name, name))
			return transports[i];
	return NULL;
}

const char *wfl_transport_names(void)
{
	return "wireguard|quic";
}
