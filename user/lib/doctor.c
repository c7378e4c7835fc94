// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE /* unshare() */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "doctor.h"
#include "loader.h"
#include "netdev.h"

void wfg_doctor_add(struct wfg_doctor *d, enum wfg_verdict v, const char *check, const char *fmt,
		    ...)
{
	struct wfg_finding *f;
	va_list ap;

	if (d->n >= WFG_DOCTOR_MAX)
		return;
	f = &d->f[d->n++];
	f->verdict = v;
	snprintf(f->check, sizeof(f->check), "%s", check);
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

enum wfg_verdict wfg_doctor_worst(const struct wfg_doctor *d)
{
	enum wfg_verdict w = WFG_DOC_OK;
	int i;

	for (i = 0; i < d->n; i++)
		if (d->f[i].verdict > w)
			w = d->f[i].verdict;
	return w;
}

/* The program types the data path loads: TC (both modes) and XDP (shim ingress). */
static void check_bpf(struct wfg_doctor *d)
{
	int tc = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL);
	int xdp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL);

	if (tc == 1 && xdp == 1)
		wfg_doctor_add(d, WFG_DOC_OK, "bpf", "the kernel loads TC and XDP programs");
	else
		wfg_doctor_add(d, WFG_DOC_FAIL, "bpf",
			       "the kernel refused a TC (%s) or XDP (%s) test program: run as "
			       "root (CAP_BPF, CAP_NET_ADMIN) on a kernel with CONFIG_BPF_SYSCALL "
			       "and CONFIG_NET_CLS_BPF (docs/vmtest.md lists tested kernels)",
			       tc == 1 ? "ok" : "refused", xdp == 1 ? "ok" : "refused");
}

/* The pins need a bpffs at (or above) the pin root. */
static void check_bpffs(struct wfg_doctor *d)
{
	char dir[256], *slash;
	struct statfs sfs;

	snprintf(dir, sizeof(dir), "%s", wfg_pin_root());
	/* the root itself may not exist yet: attach creates it on the bpffs above */
	while (statfs(dir, &sfs) && (slash = strrchr(dir, '/')) && slash != dir)
		*slash = 0;
	if (sfs.f_type == BPF_FS_MAGIC)
		wfg_doctor_add(d, WFG_DOC_OK, "bpffs", "%s is on a bpffs", wfg_pin_root());
	else
		wfg_doctor_add(d, WFG_DOC_WARN, "bpffs",
			       "%s is not on a bpffs: attach mounts one at /sys/fs/bpf (or set "
			       "%s to a directory on a bpffs, e.g. under `ip netns exec`)",
			       wfg_pin_root(), WFG_PIN_ROOT_ENV);
}

/*
 * Can sch_fq be had? Tried on the loopback device of a network namespace
 * made for the test and gone with it: the operator's devices stay untouched,
 * and a modular sch_fq is loaded on demand as attach would load it.
 */
static int fq_available(void)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", 1);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		if (unshare(CLONE_NEWNET))
			_exit(3);
		execlp("tc", "tc", "qdisc", "add", "dev", "lo", "root", "fq", (char *)NULL);
		_exit(4);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -ECHILD;
	return WEXITSTATUS(st) == 0   ? 1
	       : WEXITSTATUS(st) == 3 ? -EPERM
	       : WEXITSTATUS(st) == 4 ? -ENOENT
				      : 0;
}

static void check_fq(struct wfg_doctor *d, const struct wfg_compiled_policy *cp)
{
	int delays = cp && wfg_policy_delays(&cp->dp);
	int fq = fq_available();

	if (fq == 1)
		wfg_doctor_add(d, WFG_DOC_OK, "fq", "sch_fq is available%s",
			       delays ? " (the policy delays packets: "
					"attach installs it)"
				      : "");
	else if (fq < 0)
		wfg_doctor_add(d, delays ? WFG_DOC_FAIL : WFG_DOC_WARN, "fq",
			       "sch_fq could not be probed (%s): %s",
			       fq == -ENOENT ? "no tc(8): install iproute2" : strerror(-fq),
			       delays ? "the policy delays packets and needs it"
				      : "policies that pace or block need it");
	else
		wfg_doctor_add(d, delays ? WFG_DOC_FAIL : WFG_DOC_WARN, "fq",
			       "sch_fq is not available (no sch_fq module or CONFIG_NET_SCH_FQ): "
			       "%s; install the kernel's modules package (sch_fq.ko) or build "
			       "with CONFIG_NET_SCH_FQ",
			       delays ? "attach refuses this policy, which delays packets"
			       : cp   ? "this policy does not delay packets, but pacing and "
					"blocking ones need it"
				      : "policies that pace or block need it");
}

/* The device, its MTU against the policy's size limit, its offloads. */
static void check_device(struct wfg_doctor *d, const char *ifname,
			 const struct wfg_compiled_policy *cp)
{
	int mtu = wfg_netdev_mtu(ifname);
	__u32 fit, want;

	if (!if_nametoindex(ifname)) {
		wfg_doctor_add(d, WFG_DOC_FAIL, "device",
			       "%s: no such device in this network namespace (`ip link`; under "
			       "containers run doctor inside the container's namespace)",
			       ifname);
		return;
	}
	wfg_doctor_add(d, mtu > 0 ? WFG_DOC_OK : WFG_DOC_WARN, "device", "%s: MTU %d%s", ifname,
		       mtu, wfg_netdev_is_l3(ifname) == 1 ? ", no link-layer header (tunnel)" : "");
	if (!cp || mtu <= 0)
		return;
	fit = wfg_policy_mtu_limit(&cp->dp, (__u32)mtu);
	want = cp->dp.side.shape.max;
	if (!fit)
		wfg_doctor_add(d, WFG_DOC_FAIL, "mtu",
			       "MTU %d leaves no room for a shaped datagram: raise the MTU", mtu);
	else if (want > fit)
		wfg_doctor_add(d, WFG_DOC_WARN, "mtu",
			       "the policy's limit %u is above the %u bytes MTU %d allows (%s): "
			       "attach lowers it to %u; set `limit: %u` (or raise the MTU) so "
			       "both ends shape to the same size",
			       want, fit, mtu,
			       cp->dp.mode == WFG_MODE_TUNNEL ? "tunnel mode: inner packets"
							      : "shim mode: UDP payload",
			       fit, fit);
	else
		wfg_doctor_add(d, WFG_DOC_OK, "mtu", "size limit %u fits MTU %d (at most %u)",
			       want ? want : fit, mtu, fit);
	if (cp->dp.mode != WFG_MODE_TUNNEL && cp->dp.side.shape.mode != WFG_SHAPE_NONE) {
		char advice[768];

		wfg_netdev_gso_advice(ifname, want && want < fit ? want : fit, advice,
				      sizeof(advice));
		wfg_doctor_add(d, WFG_DOC_WARN, "gso", "%s", advice);
	}
}

/* Is something attached already, and live? */
static void check_attachment(struct wfg_doctor *d, const char *ifname)
{
	struct wfg_dp dp;
	const char *stale;
	char err[256];

	if (wfg_dp_open(ifname, &dp, err, sizeof(err))) {
		wfg_doctor_add(d, WFG_DOC_OK, "attached", "%s: not attached", ifname);
		return;
	}
	stale = wfg_dp_stale(&dp);
	wfg_dp_close(&dp);
	if (stale)
		wfg_doctor_add(d, WFG_DOC_WARN, "attached",
			       "%s: left-over pins of an attachment that is no longer live (%s): "
			       "`wfguard detach %s` removes them",
			       ifname, stale, ifname);
	else
		wfg_doctor_add(d, WFG_DOC_OK, "attached", "%s: wfguard is attached and live",
			       ifname);
}

void wfg_doctor_run(const char *ifname, const struct wfg_compiled_policy *cp, struct wfg_doctor *d)
{
	check_bpf(d);
	check_bpffs(d);
	check_device(d, ifname, cp);
	check_fq(d, cp);
	check_attachment(d, ifname);
}
