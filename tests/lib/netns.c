// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Namespaces for the suites (netns.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "netns.h"

int netns_root = -1;

void netns_save_root(void)
{
	netns_root = open("/proc/self/ns/net", O_RDONLY);
}

void netns_go_home(void)
{
	if (netns_root < 0)
		return;
	setns(netns_root, CLONE_NEWNET);
	close(netns_root);
	netns_root = -1;
}

int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void enter(const char *ns)
{
	char path[128];
	int fd;

	if (!ns) {
		cr_assert_eq(setns(netns_root, CLONE_NEWNET), 0);
		return;
	}
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns %s: %s", ns, strerror(errno));
	close(fd);
}

int udp_socket(const char *ns, const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, big = 4 << 20;

	enter(ns);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	inet_pton(AF_INET, addr, &sa.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s:%d", addr, port);
	enter(NULL);
	return fd;
}

void wfgt_topo_name(struct wfgt_topo *t, const char *tag, int net)
{
	int pid = getpid();

	snprintf(t->c, sizeof(t->c), "%s-c%d", tag, pid);
	snprintf(t->o, sizeof(t->o), "%s-o%d", tag, pid);
	snprintf(t->s, sizeof(t->s), "%s-s%d", tag, pid);
	t->net = net;
}

int wfgt_topo_create(const struct wfgt_topo *t)
{
	wfgt_topo_destroy(t);
	return sh("set -e; C=%1$s; O=%2$s; S=%3$s; N=10.%4$d; "
		  "ip netns add $C; ip netns add $O; ip netns add $S; "
		  "ip link add c0 netns $C type veth peer name o0 netns $O; "
		  "ip link add s0 netns $S type veth peer name o1 netns $O; "
		  "ip -n $C addr add $N.1.1/24 dev c0; "
		  "ip -n $O addr add $N.1.2/24 dev o0; "
		  "ip -n $O addr add $N.2.2/24 dev o1; "
		  "ip -n $S addr add $N.2.1/24 dev s0; "
		  "for n in $C $O $S; do ip -n $n link set lo up; done; "
		  "ip -n $C link set c0 up; ip -n $S link set s0 up; "
		  "ip -n $O link set o0 up; ip -n $O link set o1 up; "
		  "ip -n $C route add default via $N.1.2; "
		  "ip -n $S route add default via $N.2.2; "
		  "ip netns exec $O sysctl -qw net.ipv4.ip_forward=1",
		  t->c, t->o, t->s, t->net);
}

void wfgt_topo_destroy(const struct wfgt_topo *t)
{
	if (!t->c[0])
		return;
	sh("for n in %s %s %s; do ip netns del $n 2>/dev/null; done; true", t->c, t->o, t->s);
}

/* The PID a sweepable name ends in (after TAG- and at least one more
 * character), 0 when the name is not one of TAG's or its PID is alive. */
static pid_t dead_owner(const char *name, const char *tag, const char *end_at)
{
	size_t n = strlen(tag);
	const char *end;
	const char *d;
	long pid;

	if (strncmp(name, tag, n) || name[n] != '-' || !name[n + 1])
		return 0;
	end = end_at ? strstr(name + n + 1, end_at) : name + strlen(name);
	if (!end)
		return 0;
	for (d = end; d > name + n + 1 && d[-1] >= '0' && d[-1] <= '9'; d--)
		;
	if (d == end)
		return 0;
	pid = strtol(d, NULL, 10);
	if (pid <= 1 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0; /* alive, or not ours to judge */
	return (pid_t)pid;
}

int wfgt_sweep_dead(const char *tag)
{
	static const struct {
		const char *dir, *cmd, *end_at; /* end_at: the PID ends before it */
	} where[] = {
		{ "/run/netns", "ip netns del '%s' 2>/dev/null", NULL },
		{ "/tmp", "rm -rf '/tmp/%s'", "-" },
	};
	int removed = 0;
	size_t w;

	for (w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		DIR *d = opendir(where[w].dir);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			if (!dead_owner(e->d_name, tag, where[w].end_at))
				continue;
			if (!sh(where[w].cmd, e->d_name))
				removed++;
		}
		if (d)
			closedir(d);
	}
	return removed;
}

int wfgt_observer_socket(const struct wfgt_topo *t)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd, big = 64 << 20;

	enter(t->o);
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	cr_assert_geq(fd, 0);
	/* root may exceed rmem_max: the capture must hold a whole run */
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)), 0);
	sll.sll_ifindex = (int)if_nametoindex("o0");
	cr_assert_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	enter(NULL);
	return fd;
}

void wfgt_private_pins(const char *dir, char *root)
{
	char path[PATH_MAX];

	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	snprintf(path, sizeof(path), "%s/bpf", dir);
	cr_assert(mkdir(path, 0700) == 0 || errno == EEXIST, "%s: %s", path, strerror(errno));
	cr_assert_eq(mount("bpf", path, "bpf", 0, "mode=0700"), 0, "bpffs: %s", strerror(errno));
	snprintf(root, PATH_MAX + 32, "%s/wfguard", path);
	setenv("WFGUARD_PIN_ROOT", root, 1);
	/* libxdp's dispatcher state beside the pins, for every libxdp user of the test */
	setenv("LIBXDP_BPFFS", path, 1);
}

void wfgt_private_pins_umount(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bpf", dir);
	umount2(path, MNT_DETACH);
}

void wfgt_scratch_make(struct wfgt_scratch *s, const char *tag)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/%s-%d-XXXXXX", tag, getpid());
	cr_assert_not_null(mkdtemp(s->dir));
	wfgt_private_pins(s->dir, s->pins);
}

void wfgt_scratch_remove(struct wfgt_scratch *s)
{
	if (!s->dir[0])
		return;
	wfgt_private_pins_umount(s->dir);
	sh("rm -rf '%s'", s->dir);
	s->dir[0] = 0;
}

void wfgt_need_wfguard(char *bin)
{
	const char *b = getenv("WFGUARD_BIN");

	if (geteuid() != 0)
		cr_skip_test("namespace tests need root");
	if (sh("command -v ip >/dev/null") != 0)
		cr_skip_test("iproute2 (ip) is not installed");
	if (!realpath(b && b[0] ? b : "build/wfguard", bin))
		cr_skip_test("no wfguard binary (set WFGUARD_BIN)");
}

const char *wfgt_slurp(const char *dir, const char *name)
{
	static char buf[4096];
	char path[PATH_MAX];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return "";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}
