// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* XDP attach through libxdp's dispatcher (xdp_attach.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>

#include "err.h"
#include "xdp_attach.h"

static int xdp_verbose;

static int xdp_log(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBXDP_DEBUG && xdp_verbose < 2)
		return 0;
	if (!xdp_verbose && level != LIBXDP_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void wfg_xdp_set_verbosity(int verbose)
{
	xdp_verbose = verbose;
	libxdp_set_print(xdp_log);
}

__u32 wfg_xdp_prog_id(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.id;
}

/* Attached alone, a program's id is the device's XDP program id. */
static int attached_alone(int ifindex, int skb_mode, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, &q))
		return 0;
	return (skb_mode ? q.skb_prog_id : q.drv_prog_id) == prog_id;
}

/* Attach prog through libxdp; alone: without the dispatcher, by libxdp's own switch. */
static int attach_prog(struct xdp_program *prog, int ifindex, enum xdp_attach_mode mode, int alone)
{
	int rc;

	if (alone)
		setenv("LIBXDP_SKIP_DISPATCHER", "1", 1);
	rc = xdp_program__attach(prog, ifindex, mode, 0);
	if (alone)
		unsetenv("LIBXDP_SKIP_DISPATCHER");
	return rc;
}

int wfg_xdp_attach(struct bpf_object *obj, const char *prog_name, int ifindex, int skb_mode,
		   int exclusive, enum wfg_xdp_how *how, char *err, size_t errlen)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .obj = obj, .prog_name = prog_name);
	enum xdp_attach_mode mode = skb_mode ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	struct xdp_program *prog;
	char why[128];
	__u32 id;
	int rc;

	*how = WFG_XDP_HOW_DISPATCHER;
	prog = xdp_program__create(&xo);
	rc = (int)libxdp_get_error(prog);
	if (rc) {
		libxdp_strerror(rc, why, sizeof(why));
		return wfg_err(err, errlen, -rc, "cannot prepare the XDP program: %s", why);
	}
	rc = xdp_program__set_run_prio(prog, WFG_XDP_RUN_PRIO);
	if (!rc)
		rc = attach_prog(prog, ifindex, mode, exclusive);
	if (rc == -ENOENT && !exclusive &&
	    bpf_program__fd(bpf_object__find_program_by_name(obj, prog_name)) < 0) {
		/*
		 * libxdp found no dispatcher object (xdp-dispatcher.o, package
		 * libxdp1) and loaded nothing: attach alone, as libxdp itself does
		 * where the kernel cannot run the dispatcher, and say so.
		 */
		*how = WFG_XDP_HOW_ALONE_NO_DISPATCHER;
		rc = attach_prog(prog, ifindex, mode, 1);
	}
	if (rc) {
		libxdp_strerror(rc, why, sizeof(why));
		xdp_program__close(prog);
		return wfg_err(err, errlen, -rc, "%s%s", why,
			       rc == -EBUSY || rc == -EEXIST
				       ? " (another XDP program is attached without libxdp's "
					 "dispatcher: load it with xdp-loader, or detach it)"
				       : "");
	}
	id = xdp_program__id(prog);
	if (*how != WFG_XDP_HOW_ALONE_NO_DISPATCHER)
		*how = attached_alone(ifindex, skb_mode, id) ? WFG_XDP_HOW_ALONE
							     : WFG_XDP_HOW_DISPATCHER;
	/* the bpf_object stays with the caller (the skeleton); the kernel keeps the link */
	xdp_program__close(prog);
	return 0;
}

int wfg_xdp_detach(int ifindex, int skb_mode, __u32 prog_id)
{
	enum xdp_attach_mode mode = skb_mode ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int rc = 0;

	if (attached_alone(ifindex, skb_mode, prog_id))
		return bpf_xdp_detach(ifindex, skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE,
				      NULL);
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return 0; /* nothing of libxdp's there: ours went with it */
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
		if (xdp_program__id(p) != prog_id)
			continue;
		rc = xdp_program__detach(p, ifindex, mode, 0);
		break;
	}
	xdp_multiprog__close(mp);
	return rc;
}
