/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the namespace suites share (tests/net, vmtest/guest): running a shell
 * command and moving the calling thread between network namespaces.
 * A suite sets netns_root = open("/proc/self/ns/net") before entering any.
 */
#ifndef WFG_TESTS_NETNS_H
#define WFG_TESTS_NETNS_H

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int netns_root = -1;

/* system() of a formatted command; its exit status, or -1. */
static __attribute__((format(printf, 1, 2), unused)) int sh(const char *fmt, ...)
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

/* This thread into namespace ns (by its `ip netns` name), or back home with NULL. */
static __attribute__((unused)) void enter(const char *ns)
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

/* A UDP socket bound to addr:port inside namespace ns, with a big receive buffer. */
static __attribute__((unused)) int udp_socket(const char *ns, const char *addr, int port)
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

#endif
