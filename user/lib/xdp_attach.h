/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The XDP side of attach, through libxdp's dispatcher, so that wfguard shares
 * a device with other XDP programs (DDoS filters on edge servers, xdp-filter,
 * anything loaded with xdp-loader): the dispatcher runs each program in turn
 * by priority and passes a packet on while a program returns XDP_PASS.
 *
 * wfguard runs first (WFG_XDP_RUN_PRIO): it drops its covers and strips its
 * trailers, so that the programs after it see what they would see on a host
 * without wfguard: the peer's original datagrams.
 *
 * The dispatcher needs freplace (Linux 5.10+ with BTF) and a bpffs for its
 * state (/sys/fs/bpf/xdp, or $LIBXDP_BPFFS). Where it cannot load, libxdp
 * attaches wfguard's program alone, as before (and then, as before, the device
 * must have no other XDP program). `--xdp-exclusive` asks for that directly.
 */
#ifndef WFGUARD_USER_XDP_ATTACH_H
#define WFGUARD_USER_XDP_ATTACH_H

#include <stddef.h>
#include <linux/types.h>

struct bpf_object;

/* Lower runs earlier; libxdp's default for programs that say nothing is 50. */
#define WFG_XDP_RUN_PRIO 10

enum wfg_xdp_how {
	WFG_XDP_HOW_DISPATCHER,		 /* one program among others under libxdp's dispatcher */
	WFG_XDP_HOW_ALONE,		 /* the device's only XDP program (no dispatcher) */
	WFG_XDP_HOW_ALONE_NO_DISPATCHER, /* alone: libxdp's dispatcher object is missing */
};

/*
 * Load obj (not yet loaded: libxdp loads it, the XDP program `prog_name` as
 * an extension of the dispatcher) and attach that program to ifindex, in skb
 * (generic) or native mode. exclusive: no dispatcher. *how says what it got.
 */
int wfg_xdp_attach(struct bpf_object *obj, const char *prog_name, int ifindex, int skb_mode,
		   int exclusive, enum wfg_xdp_how *how, char *err, size_t errlen);

/*
 * Take the XDP program with id prog_id off ifindex: out of the dispatcher
 * (the others stay) or, attached alone, off the device. 0 also when it is no
 * longer there; -errno.
 */
int wfg_xdp_detach(int ifindex, int skb_mode, __u32 prog_id);

/* The id of the program behind an fd (a pin), 0 if it cannot be told. */
__u32 wfg_xdp_prog_id(int prog_fd);

/* Route libxdp's messages like libbpf's: warnings always, the rest with -v. */
void wfg_xdp_set_verbosity(int verbose);

#endif
