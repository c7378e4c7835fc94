/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `wfguard doctor IFACE`: what this host and device offer the data path,
 * checked without touching the device, each finding with what to fix. The
 * checks only read (sysfs, ethtool, the pins) or probe in a throwaway network
 * namespace (sch_fq); nothing is printed here.
 */
#ifndef WFGUARD_USER_DOCTOR_H
#define WFGUARD_USER_DOCTOR_H

#include "policy.h"

enum wfg_verdict {
	WFG_DOC_OK = 0,
	WFG_DOC_WARN, /* works, but not as well as it could: the text says why */
	WFG_DOC_FAIL, /* attach (or the defence) would fail: the text says what to fix */
};

struct wfg_finding {
	enum wfg_verdict verdict;
	char check[24]; /* short name: "bpf", "bpffs", "device", "mtu", "fq", ... */
	char text[640]; /* what was found and, unless ok, what to do */
};

#define WFG_DOCTOR_MAX 24

struct wfg_doctor {
	int n;
	struct wfg_finding f[WFG_DOCTOR_MAX];
};

/* Add a finding (silently dropped past WFG_DOCTOR_MAX). */
void wfg_doctor_add(struct wfg_doctor *d, enum wfg_verdict v, const char *check, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

/*
 * The host and device checks for ifname; with cp (may be NULL) also what the
 * policy needs of them (its size limit against the MTU, sch_fq when it
 * delays packets). Findings are appended to d.
 */
void wfg_doctor_run(const char *ifname, const struct wfg_compiled_policy *cp, struct wfg_doctor *d);

/* The worst verdict in d. */
enum wfg_verdict wfg_doctor_worst(const struct wfg_doctor *d);

#endif
