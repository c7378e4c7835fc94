// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfguard on a kernel without network namespace cookies (before 5.14, where
 * getsockopt(SO_NETNS_COOKIE) fails with ENOPROTOOPT), played here by a
 * seccomp filter that makes that one call fail so in the wfguard process:
 * the rest of the kernel is this one. Pins then go to ROOT/net-<inode>/
 * (docs/datapath.md, "Pins"); attach says what that costs; status, stats and
 * detach find them; and a wfguard on a kernel with cookies (the same binary
 * without the filter, as after a kernel upgrade with the pins still there)
 * finds them too and detach removes them. Needs root and ip(8).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static struct wfgt_scratch scratch;
static char bin[PATH_MAX], ns[32];

static void setup(void)
{
	wfgt_need_wfguard(bin);
	wfgt_scratch_make(&scratch, "wfgnc");
	snprintf(ns, sizeof(ns), "wfgnc-%d", getpid());
	cr_assert_eq(sh("ip netns add %s && ip -n %s link add n0 type veth peer name n1 && "
			"ip -n %s link set n0 up && ip -n %s link set n1 up",
			ns, ns, ns, ns),
		     0);
	cr_assert_eq(sh("'%s' keys generate %s/keys >/dev/null", bin, scratch.dir), 0);
}

static void teardown(void)
{
	if (ns[0])
		sh("ip netns del %s 2>/dev/null", ns);
	wfgt_scratch_remove(&scratch);
}

TestSuite(no_cookie, .init = setup, .fini = teardown, .timeout = 60);

/* getsockopt(_, SOL_SOCKET, SO_NETNS_COOKIE, ...) fails with ENOPROTOOPT; all else runs. */
static int deny_netns_cookie(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getsockopt, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_SOCKET, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SO_NETNS_COOKIE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOPROTOOPT),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/*
 * wfguard ARGS in the test's namespace, old_kernel: under the filter. Its
 * exit status; its stdout and stderr in tmp/out.
 */
static int wfg(int old_kernel, const char *args)
{
	char cmd[PATH_MAX + 512];
	int st;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		snprintf(cmd, sizeof(cmd), "exec nsenter --net=/run/netns/%s '%s' %s >%s/out 2>&1",
			 ns, bin, args, scratch.dir);
		if (old_kernel && deny_netns_cookie())
			_exit(99);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(98);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_neq(WEXITSTATUS(st), 99, "cannot install the seccomp filter");
	return WEXITSTATUS(st);
}

static const char *output(void)
{
	return wfgt_slurp(scratch.dir, "out");
}

/* How many pin directories of n0 have a name like pattern (find -path). */
static int n0_dirs(const char *pattern)
{
	char cmd[PATH_MAX + 256], line[PATH_MAX];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "find %s -type d -name n0 -path '%s'", scratch.pins, pattern);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p))
		n++;
	pclose(p);
	return n;
}

static void write_policy(void)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/p.yaml", scratch.dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("version: 1\nrole: server\nmatch:\n  - local_port: 4433\nshim:\n  keys: keys\n"
	      "shape: {mode: pad_to, size: 1000, limit: 1400}\n",
	      f);
	fclose(f);
}

Test(no_cookie, pins_keyed_by_inode_alone_work_and_survive_a_kernel_with_cookies)
{
	char args[256];

	write_policy();
	snprintf(args, sizeof(args), "attach n0 --policy %s/p.yaml --xdp-mode skb", scratch.dir);
	cr_assert_eq(wfg(1, args), 0, "attach without cookies: %s", output());
	cr_assert_not_null(strstr(output(), "gives no network namespace cookie"), "%s", output());
	cr_assert_eq(n0_dirs("*/net-[0-9]*[0-9]/n0"), 1, "no pins under net-<inode>/");
	cr_assert_eq(n0_dirs("*/net-*-*/n0"), 0, "pins under a cookie directory");

	cr_assert_eq(wfg(1, "status n0 --json"), 0, "%s", output());
	cr_assert_not_null(strstr(output(), "\"attached\":true"), "%s", output());
	cr_assert_eq(wfg(1, "stats n0 --json"), 0, "%s", output());
	cr_assert_eq(wfg(1, args), 1, "a second attach must be refused");
	cr_assert_not_null(strstr(output(), "already attached"), "%s", output());

	/* the kernel upgraded under running pins: the same binary, with cookies */
	cr_assert_eq(wfg(0, "status n0 --json"), 0, "with cookies: %s", output());
	cr_assert_not_null(strstr(output(), "\"attached\":true"), "%s", output());
	cr_assert_eq(wfg(0, "detach n0"), 0, "%s", output());
	cr_assert_eq(n0_dirs("*"), 0, "pins left after detach");
	cr_assert_eq(sh("ip -n %s link show n0 | grep -qi xdp", ns), 1, "XDP left on n0");
	cr_assert_eq(sh("tc -n %s filter show dev n0 egress | grep -q .", ns), 1, "TC left on n0");

	/* and back: attach and detach with no cookie at all */
	cr_assert_eq(wfg(1, args), 0, "%s", output());
	cr_assert_eq(wfg(1, "detach n0"), 0, "%s", output());
	cr_assert_eq(n0_dirs("*"), 0, "pins left after detach without cookies");
}
