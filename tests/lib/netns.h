/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the namespace suites share (tests/net, vmtest/guest): running a shell
 * command, moving the calling thread between network namespaces, the
 * client -- observer -- server topology and the observer's capture socket.
 * In libwfgtest.a; failures are criterion assertions, so test binaries only.
 *
 * A suite calls netns_save_root() before entering any namespace and
 * netns_go_home() in its teardown.
 */
#ifndef WFG_TESTS_NETNS_H
#define WFG_TESTS_NETNS_H

#include <limits.h>

/* The namespace the test started in (open fd), or -1. */
extern int netns_root;

void netns_save_root(void);
/* Back into netns_root and close it (teardown: a failed test may be anywhere). */
void netns_go_home(void);

/* system() of a formatted command; its exit status, or -1. */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* This thread into namespace ns (by its `ip netns` name), or back home with NULL. */
void enter(const char *ns);

/* A UDP socket bound to addr:port inside namespace ns, with a big receive buffer. */
int udp_socket(const char *ns, const char *addr, int port);

/*
 * Client -- observer -- server, joined by two veth pairs; the observer routes:
 *
 *   client c0 10.NET.1.1 -- o0 10.NET.1.2  observer  o1 10.NET.2.2 -- s0 10.NET.2.1 server
 *
 * Each end's default route is the observer. Suites that run in parallel
 * (one process per test) tell their namespaces apart by name (the pid) and
 * their addresses by NET.
 */
struct wfgt_topo {
	char c[32], o[32], s[32]; /* `ip netns` names */
	int net;
};

/* Names "<tag>-c<pid>", "<tag>-o<pid>", "<tag>-s<pid>". */
void wfgt_topo_name(struct wfgt_topo *t, const char *tag, int net);
/* Remove leftovers of the same names, then build it: 0, or the shell's status. */
int wfgt_topo_create(const struct wfgt_topo *t);
/* Remove the namespaces (and with them the veths); nothing if never named. */
void wfgt_topo_destroy(const struct wfgt_topo *t);
/*
 * Remove what workers that died before their .fini left: the namespaces named
 * TAG-...PID (/run/netns) and the directories /tmp/TAG-PID-* of every PID no
 * longer alive. For a POST_ALL report hook, which runs in criterion's parent.
 * Returns how many it removed.
 */
int wfgt_sweep_dead(const char *tag);

/*
 * An AF_PACKET socket on the observer's client-facing o0. ETH_P_ALL, since
 * only those see outgoing frames too, i.e. both directions; SOCK_DGRAM, so
 * that a read starts at the IP header. The buffer holds a whole run.
 */
int wfgt_observer_socket(const struct wfgt_topo *t);

/*
 * Pins on a bpffs of the test's own: this process moves into a mount
 * namespace of its own, mounts a bpffs on DIR/bpf and points WFGUARD_PIN_ROOT
 * at DIR/bpf/wfguard (written to root, which holds PATH_MAX + 32), and
 * LIBXDP_BPFFS at DIR/bpf, where libxdp keeps its dispatcher's state. A suite
 * must not depend on the host's /sys/fs/bpf: a fresh machine may have none,
 * and wfguard rightly refuses to mount one where it cannot tell whether the
 * mount would outlive it; nor may suites running in parallel share pins.
 * The bpffs dies with the process; wfgt_private_pins_umount() is for suites
 * that also remove DIR.
 */
void wfgt_private_pins(const char *dir, char *root);
void wfgt_private_pins_umount(const char *dir);

/*
 * A suite's scratch directory /tmp/TAG-PID-XXXXXX with the pins on a private
 * bpffs inside it (wfgt_private_pins), and its removal (teardown: nothing if
 * never made).
 */
struct wfgt_scratch {
	char dir[64];
	char pins[PATH_MAX + 32]; /* WFGUARD_PIN_ROOT */
};
void wfgt_scratch_make(struct wfgt_scratch *s, const char *tag);
void wfgt_scratch_remove(struct wfgt_scratch *s);

/* Suites that run the real binary: skip unless root with ip(8), and find
 * $WFGUARD_BIN or build/wfguard (into bin, PATH_MAX), skipping without it. */
void wfgt_need_wfguard(char *bin);

/* The text of file NAME in dir (up to 4 KiB, in a buffer the next call reuses). */
const char *wfgt_slurp(const char *dir, const char *name);

#endif
