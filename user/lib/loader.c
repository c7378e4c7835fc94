// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>

#include "err.h"
#include "loader.h"
#include "netdev.h"
#include "xdp_attach.h"
#include "wfguard.skel.h"

#define TC_HANDLE   0x5746
#define TC_PRIORITY 0x5746

/* The pinned objects, by name under the interface's directory. */
static const char *const pinned_maps[] = { "wfg_policy",  "wfg_ctl",	"wfg_flows",
					   "wfg_stats",	  "wfg_covers", "wfg_scratch",
					   "wfg_capture", "wfg_ports",	"wfg_pad_pool",
					   "wfg_defpool" };
#define N_PINNED_MAPS (sizeof(pinned_maps) / sizeof(pinned_maps[0]))
static const char *const pinned_progs[] = { "wfg_egress", "wfg_ingress", "wfg_tun_egress",
					    "wfg_tun_ingress" };

#define WFG_STAT_NAME(id, name, help) [WFG_STAT_##id] = #name,
static const char *const stat_names[WFG_STAT__COUNT] = { WFG_STAT_LIST(WFG_STAT_NAME) };
#undef WFG_STAT_NAME
#define WFG_STAT_HELP(id, name, help) [WFG_STAT_##id] = help,
static const char *const stat_helps[WFG_STAT__COUNT] = { WFG_STAT_LIST(WFG_STAT_HELP) };
#undef WFG_STAT_HELP

const char *wfg_stat_name(enum wfg_stat s)
{
	return (unsigned)s < WFG_STAT__COUNT ? stat_names[s] : "?";
}

const char *wfg_stat_help(enum wfg_stat s)
{
	return (unsigned)s < WFG_STAT__COUNT ? stat_helps[s] : "?";
}

const char *wfg_pin_root(void)
{
	const char *r = getenv(WFG_PIN_ROOT_ENV);

	return r && r[0] ? r : WFG_PIN_ROOT;
}

/*
 * snprintf for paths: a path that does not fit is cut, and the lookup of the
 * cut path fails like that of any missing file (the pin root is the only
 * long part, and the operator chose it).
 */
__attribute__((format(printf, 3, 4))) static void pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif

/*
 * Which network namespace the calling thread is in. The inode number finds it
 * (/run/netns entries and /proc/PID/ns/net carry it) but is reused: nsfs hands
 * a new namespace the lowest free number. The cookie is never reused (a
 * 64-bit counter), so it tells a namespace from a dead one that had its number.
 */
int wfg_netns_self(struct wfg_netns_id *id)
{
	socklen_t len = sizeof(id->cookie);
	struct stat st;
	int fd;

	id->inode = id->cookie = 0;
	if (stat("/proc/thread-self/ns/net", &st))
		return -errno;
	id->inode = (unsigned long long)st.st_ino;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* made in this thread's netns */
	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &id->cookie, &len))
		id->cookie = 0; /* ENOPROTOOPT before 5.14: the inode alone */
	close(fd);
	return 0;
}

void wfg_netns_dir(const struct wfg_netns_id *id, char *buf, size_t len)
{
	if (!id)
		pathf(buf, len, "%s", wfg_pin_root());
	else if (id->cookie)
		pathf(buf, len, "%s/net-%llu-%llu", wfg_pin_root(), id->inode, id->cookie);
	else
		pathf(buf, len, "%s/net-%llu", wfg_pin_root(), id->inode);
}

/* This namespace's pin directory, where attach pins. */
static void netns_dir(char *buf, size_t len)
{
	struct wfg_netns_id self;

	wfg_netns_self(&self);
	wfg_netns_dir(&self, buf, len);
}

/* "net-<inode>" or "net-<inode>-<cookie>": a namespace's pin directory. */
static int netns_dir_name(const char *name, struct wfg_netns_id *id)
{
	char *end;

	if (strncmp(name, "net-", 4) || !isdigit((unsigned char)name[4]))
		return 0;
	id->inode = strtoull(name + 4, &end, 10);
	id->cookie = 0;
	if (*end == '-' && isdigit((unsigned char)end[1]))
		id->cookie = strtoull(end + 1, &end, 10);
	return !*end && id->inode;
}

int wfg_pins_netns(struct wfg_netns_id *ids, int max)
{
	DIR *d = opendir(wfg_pin_root());
	struct wfg_netns_id id;
	struct dirent *e;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)))
		if (netns_dir_name(e->d_name, &id) && n++ < max)
			ids[n - 1] = id;
	closedir(d);
	return n;
}

/* An interface's pin directory holds the control map; anything else is not one. */
static int is_pin_dir(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	if (name[0] == '.')
		return 0;
	pathf(path, sizeof(path), "%s/%s/wfg_ctl", dir, name);
	return !stat(path, &st);
}

int wfg_pins_ifaces(const struct wfg_netns_id *ns, char (*names)[32], int max)
{
	char dir[256];
	struct dirent *e;
	int n = 0;
	DIR *d;

	wfg_netns_dir(ns, dir, sizeof(dir));
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (strlen(e->d_name) >= 32 || !is_pin_dir(dir, e->d_name))
			continue;
		if (n++ < max)
			pathf(names[n - 1], 32, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

/*
 * The directory that holds ifname's pins for this namespace: its own
 * (net-<inode>-<cookie>), else one of the older layouts that has them —
 * net-<inode> (before cookies, and on kernels without them) or ROOT itself —
 * else its own, where attach creates them. Pins in an older layout cannot
 * prove whose they are; wfg_dp_stale()'s program check still applies.
 */
static void ns_dir_for(const char *ifname, char *dir, size_t len)
{
	struct wfg_netns_id self, legacy;
	char path[512];
	struct stat st;

	wfg_netns_self(&self);
	wfg_netns_dir(&self, dir, len);
	pathf(path, sizeof(path), "%s/%s", dir, ifname);
	if (!stat(path, &st))
		return;
	legacy = (struct wfg_netns_id){ .inode = self.inode };
	wfg_netns_dir(&legacy, path, sizeof(path));
	if (self.cookie && is_pin_dir(path, ifname)) {
		pathf(dir, len, "%s", path);
		return;
	}
	if (is_pin_dir(wfg_pin_root(), ifname))
		wfg_netns_dir(NULL, dir, len);
}

static void pin_path(char *buf, size_t len, const char *ifname, const char *name)
{
	char dir[256];

	ns_dir_for(ifname, dir, sizeof(dir));
	if (name)
		pathf(buf, len, "%s/%s/%s", dir, ifname, name);
	else
		pathf(buf, len, "%s/%s", dir, ifname);
}

/* Unpin everything in dir/ifname and remove it; 0 or -errno. */
static int unpin_dir(const char *dir, const char *ifname)
{
	char path[600];
	struct dirent *e;
	DIR *d;

	pathf(path, sizeof(path), "%s/%s", dir, ifname);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char pin[900];

		if (e->d_name[0] == '.')
			continue;
		pathf(pin, sizeof(pin), "%s/%s", path, e->d_name);
		unlink(pin);
	}
	if (d)
		closedir(d);
	return rmdir(path) ? -errno : 0;
}

int wfg_pins_reap_dead(char *note, size_t notelen)
{
	static struct wfg_netns_id ids[256];
	static char names[64][32];
	struct wfg_netns_id self;
	char dir[256];
	size_t off = 0;
	int n, i, k, nif, reaped = 0;

	note[0] = 0;
	if (wfg_netns_self(&self) || !self.cookie)
		return 0; /* without cookies no dead namespace can be told from this one */
	n = wfg_pins_netns(ids, 256);
	for (i = 0; i < n && i < 256; i++) {
		if (ids[i].inode != self.inode || !ids[i].cookie || ids[i].cookie == self.cookie)
			continue;
		wfg_netns_dir(&ids[i], dir, sizeof(dir));
		nif = wfg_pins_ifaces(&ids[i], names, 64);
		for (k = 0; k < nif && k < 64; k++) {
			if (unpin_dir(dir, names[k]))
				continue;
			reaped++;
			if (off < notelen)
				off += (size_t)snprintf(note + off, notelen - off, "%s%s",
							reaped > 1 ? ", " : "", names[k]);
		}
		rmdir(dir);
		if (off < notelen)
			off += (size_t)snprintf(note + off, notelen - off, " (%s)", dir);
	}
	return reaped;
}

int wfg_dp_attached(const char *ifname)
{
	char dir[256];
	struct stat st;

	pin_path(dir, sizeof(dir), ifname, NULL);
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_bpffs(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC;
}

/*
 * 1 if this process runs in a mount namespace other than init's, as under
 * `ip netns exec` (which also mounts a fresh /sys without bpffs): a bpffs
 * mounted here would vanish, pins and all, when the process exits. 0 if it
 * is init's; -errno if that cannot be told, which the caller treats as 1: a
 * guess that mounts would lose the pins after a successful attach.
 */
static int transient_mount_ns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/mnt", &self) || stat("/proc/1/ns/mnt", &init))
		return -errno;
	return self.st_ino != init.st_ino || self.st_dev != init.st_dev;
}

#define NO_BPFFS_HINT                                                                           \
	"/sys/fs/bpf is not a bpffs in this mount namespace (ip netns exec?): pins made "       \
	"here would vanish when wfguard exits; use nsenter --net=..., or set " WFG_PIN_ROOT_ENV \
	" to a directory on a bpffs mounted outside /sys"

/* The pin root on a bpffs; /sys/fs/bpf mounted if it is not (as systemd would). */
static int ensure_bpffs(char *err, size_t errlen)
{
	const char *root = wfg_pin_root();
	int rc;

	if (strcmp(root, WFG_PIN_ROOT)) {
		if (mkdir(root, 0700) && errno != EEXIST)
			return wfg_err(err, errlen, errno, "%s (%s): %s", root, WFG_PIN_ROOT_ENV,
				       strerror(errno));
		if (!is_bpffs(root))
			return wfg_err(err, errlen, EINVAL, "%s (%s) is not on a bpffs", root,
				       WFG_PIN_ROOT_ENV);
		return 0;
	}
	if (is_bpffs("/sys/fs/bpf"))
		goto mkroot;
	rc = transient_mount_ns();
	if (rc < 0)
		return wfg_err(err, errlen, EOPNOTSUPP,
			       "/sys/fs/bpf is not a bpffs, and whether a bpffs mounted here "
			       "would outlive wfguard cannot be told (/proc/1/ns/mnt: %s); mount "
			       "one on /sys/fs/bpf first, or set " WFG_PIN_ROOT_ENV
			       " to a directory on a bpffs",
			       strerror(-rc));
	if (rc)
		return wfg_err(err, errlen, EOPNOTSUPP, NO_BPFFS_HINT);
	mkdir("/sys/fs/bpf", 0700);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return wfg_err(err, errlen, errno, "cannot mount bpffs on /sys/fs/bpf: %s",
			       strerror(errno));
mkroot:
	if (mkdir(WFG_PIN_ROOT, 0700) && errno != EEXIST)
		return wfg_err(err, errlen, errno, "%s: %s", WFG_PIN_ROOT, strerror(errno));
	return 0;
}

/* Run tc(8) for qdisc management (sch_fq); its stderr is captured into err. */
static int run_cmd(const char *prog, char *err, size_t errlen, const char *a1, const char *a2,
		   const char *a3, const char *a4, const char *a5, const char *a6)
{
	int pipefd[2], status;
	char out[512] = "";
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd))
		return wfg_err(err, errlen, errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return wfg_err(err, errlen, errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pipefd[1], 2);
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execlp(prog, prog, a1, a2, a3, a4, a5, a6, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s", prog, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	n = read(pipefd[0], out, sizeof(out) - 1);
	if (n > 0)
		out[n] = 0;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	out[strcspn(out, "\n")] = 0;
	return wfg_err(err, errlen, EIO, "%s", out[0] ? out : "command failed");
}

#define run_tc(...) run_cmd("tc", __VA_ARGS__)

/*
 * TCP builds GSO super-packets whatever the device's offloads say (it always
 * segments in software, after the TC hook), so tunnel mode caps the device's
 * GSO at one segment: every skb the stack hands it is one packet of its own
 * size, which the egress program can shape. Detach puts the kernel's default
 * (65535) back.
 */
static int gso_max_segs(const char *ifname, const char *segs, char *err, size_t errlen)
{
	return run_cmd("ip", err, errlen, "link", "set", "dev", ifname, "gso_max_segs", segs);
}

/* Everything pinned for ifname, from the one directory that holds it (looked
 * up once: the lookup of an older layout goes by the control map, which goes
 * first). */
static void unpin_all(const char *ifname)
{
	char dir[256];

	ns_dir_for(ifname, dir, sizeof(dir));
	unpin_dir(dir, ifname);
	if (strcmp(dir, wfg_pin_root()))
		rmdir(dir); /* when it was the namespace's last attachment */
}

static int pin_all(struct wfguard_bpf *skel, const char *ifname, char *err, size_t errlen)
{
	struct bpf_map *maps[] = { skel->maps.wfg_policy,   skel->maps.wfg_ctl,
				   skel->maps.wfg_flows,    skel->maps.wfg_stats,
				   skel->maps.wfg_covers,   skel->maps.wfg_scratch,
				   skel->maps.wfg_capture,  skel->maps.data_ports,
				   skel->maps.wfg_pad_pool, skel->maps.wfg_defpool };
	struct bpf_program *progs[] = { skel->progs.wfg_egress, skel->progs.wfg_ingress,
					skel->progs.wfg_tun_egress, skel->progs.wfg_tun_ingress };

	_Static_assert(sizeof(maps) / sizeof(maps[0]) == N_PINNED_MAPS, "a name for every map");
	char path[256];
	size_t i;

	netns_dir(path, sizeof(path));
	if (mkdir(path, 0700) && errno != EEXIST)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	pin_path(path, sizeof(path), ifname, NULL);
	if (mkdir(path, 0700))
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		pin_path(path, sizeof(path), ifname, pinned_maps[i]);
		if (bpf_map__pin(maps[i], path))
			return wfg_err(err, errlen, errno, "pin %s: %s", path, strerror(errno));
	}
	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		pin_path(path, sizeof(path), ifname, pinned_progs[i]);
		if (bpf_program__pin(progs[i], path))
			return wfg_err(err, errlen, errno, "pin %s: %s", path, strerror(errno));
	}
	return 0;
}

static int tc_detach(int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	int rc = bpf_tc_detach(&hook, &opts);

	if (flags & WFG_ATTACHED_TUNNEL) {
		LIBBPF_OPTS(bpf_tc_opts, in, .handle = TC_HANDLE, .priority = TC_PRIORITY);

		hook.attach_point = BPF_TC_INGRESS;
		bpf_tc_detach(&hook, &in);
	}

	if (flags & WFG_ATTACHED_CLSACT) {
		hook.attach_point = BPF_TC_EGRESS | BPF_TC_INGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	return rc;
}

/*
 * Write pol's port index; with `also`, the union of both (what the programs
 * need while either policy may be active). A torn write is harmless: every
 * word is the old or the new value, and both let through what must pass.
 */
static int write_port_index(int fd, const struct wfg_policy *pol, const struct wfg_policy *also)
{
	static struct wfg_port_index ix, other;
	__u32 zero = 0;

	if (fd < 0)
		return 0; /* attached by a wfguard without the index: nothing to keep */
	wfg_port_index_build(&ix, pol);
	if (also) {
		wfg_port_index_build(&other, also);
		wfg_port_index_merge(&ix, &other);
	}
	return bpf_map_update_elem(fd, &zero, &ix, 0);
}

__u32 wfg_policy_mtu_limit(const struct wfg_policy *pol, __u32 mtu)
{
	__u32 i;
	int v6 = 0;

	if (pol->mode == WFG_MODE_TUNNEL)
		return mtu;
	for (i = 0; i < pol->nrules && i < WFG_MAX_RULES; i++)
		v6 |= pol->rules[i].family != 4;
	return mtu > 48 ? mtu - (v6 ? 48 : 28) : 0;
}

void wfg_side_fit_limit(struct wfg_side_cfg *side, __u32 lim)
{
	if (lim && (!side->shape.max || side->shape.max > lim))
		side->shape.max = lim;
}

void wfg_policy_fit_mtu(struct wfg_policy *pol, __u32 mtu)
{
	wfg_side_fit_limit(&pol->side, wfg_policy_mtu_limit(pol, mtu));
}

/* Tunnel mode on an L3 device, shim mode on an Ethernet one; say which fits. */
/* EDT needs sch_fq as the device's root qdisc: install it, or say why not. */
static int install_fq(const char *ifname, char *err, size_t errlen)
{
	char why[256];

	if (!run_tc(err, errlen, "qdisc", "replace", "dev", ifname, "root", "fq"))
		return 0;
	snprintf(why, sizeof(why), "%s", err);
	return wfg_err(err, errlen, EOPNOTSUPP,
		       "%s: the policy delays packets (pacing or blocking) and EDT needs "
		       "sch_fq, which could not be installed: %s",
		       ifname, why);
}

int wfg_policy_delays(const struct wfg_policy *pol)
{
	__u32 s;

	if (pol->side.pace.mode != WFG_PACE_NONE)
		return 1;
	for (s = 0; s < WFG_MAX_STATES; s++)
		if (pol->side.states[s].action.kind == WFG_ACT_BLOCK)
			return 1;
	return 0;
}

/*
 * Tunnel mode on a host that forwards (a VPN server routing its clients'
 * traffic): packets that arrive through GRO or from a local veth reach the
 * tunnel device as GSO super-packets, which the programs cannot shape (the
 * cap on gso_max_segs binds only this host's own TCP). Say which devices and
 * what to do; measured in docs/tunnel-mode.md.
 */
static void warn_forwarded_gso(const char *tunnel)
{
	char names[256];
	int n = wfg_netdev_forwarded_gso(tunnel, names, sizeof(names));

	if (n <= 0)
		return;
	fprintf(stderr,
		"wfguard: warning: %s: this host forwards, and traffic received on %s reaches "
		"%s as GSO super-packets, which leave unshaped (counted as unshaped_gso). Turn "
		"GRO off there (ethtool -K DEV gro off); for a local container's veth, cap "
		"its sender instead (ip link set DEV gso_max_segs 1 inside the container). "
		"See docs/tunnel-mode.md, Segmentation.\n",
		tunnel, names, tunnel);
}

/* Pins whose attachment is gone (its device deleted, its namespace too). */
static int stale_pins(const char *ifname)
{
	struct wfg_dp old;
	int stale = 0;

	if (!wfg_dp_open(ifname, &old, NULL, 0)) {
		stale = wfg_dp_stale(&old) != NULL;
		wfg_dp_close(&old);
	}
	return stale;
}

static int check_device_mode(const char *ifname, const struct wfg_policy *pol, char *err,
			     size_t errlen)
{
	int l3 = wfg_netdev_is_l3(ifname);

	if (l3 < 0)
		return wfg_err(err, errlen, -l3, "%s: cannot read the device type: %s", ifname,
			       strerror(-l3));
	if (l3 && pol->mode != WFG_MODE_TUNNEL)
		return wfg_err(
			err, errlen, EINVAL,
			"%s is a tunnel device (no Ethernet header): the policy's shim mode "
			"runs on the underlay; on the tunnel device itself use `mode: tunnel`",
			ifname);
	if (!l3 && pol->mode == WFG_MODE_TUNNEL)
		return wfg_err(err, errlen, EINVAL,
			       "%s has an Ethernet header: `mode: tunnel` attaches to the tunnel "
			       "device (wg0, tun0), shim mode to the underlay",
			       ifname);
	return 0;
}

static int tc_attach_ingress(struct bpf_tc_hook *hook, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	struct bpf_tc_hook in = *hook;

	in.attach_point = BPF_TC_INGRESS;
	tco.prog_fd = prog_fd;
	return bpf_tc_attach(&in, &tco);
}

/*
 * Map wfg_defpool's entries per policy slot for a pool of n defences (entry 0
 * is the policy's side, not in the map); at least one, an array's least.
 */
static __u32 defpool_cap(__u32 n)
{
	return n > 2 ? n - 1 : 1;
}

/*
 * Write entries 1..n-1 of pool at base (the slot's first entry), each fitted
 * to the device as the policy's side is (wfg_policy_fit_mtu): they share its
 * sizes. Before the slot's policy names them.
 */
static int write_pool(int fd, const struct wfg_policy *pol, const struct wfg_dp_pool *pool,
		      __u32 base, const char *ifname)
{
	static struct wfg_side_cfg e;
	int mtu = wfg_netdev_mtu(ifname);
	__u32 i, k;

	for (i = 1; pool && i < pool->n; i++) {
		e = pool->side[i][pool->role];
		if (mtu > 0)
			wfg_side_fit_limit(&e, wfg_policy_mtu_limit(pol, (__u32)mtu));
		k = base + i - 1;
		if (bpf_map_update_elem(fd, &k, &e, 0))
			return -errno;
	}
	return 0;
}

int wfg_dp_attach(const char *ifname, const struct wfg_policy *pol_in, const struct wfg_ctl *ctl_in,
		  const struct wfg_attach_opts *opts, char *err, size_t errlen)
{
	static struct wfg_policy fitted;
	const struct wfg_policy *pol = &fitted;
	unsigned offloads_off = 0;
	int tunnel, mtu;
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	struct wfguard_bpf *skel = NULL;
	struct wfg_ctl ctl = *ctl_in;
	enum wfg_xdp_how xdp_how = WFG_XDP_HOW_DISPATCHER;
	int ifindex, rc, stage = 0, ncpu, xdp_attached = 0;
	__u32 zero = 0, pool_n;

	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex)
		return wfg_err(err, errlen, ENODEV, "%s: no such interface", ifname);
	if (strlen(ifname) >= IFNAMSIZ)
		return wfg_err(err, errlen, EINVAL, "%s: interface name too long", ifname);
	rc = check_device_mode(ifname, pol_in, err, errlen);
	if (rc)
		return rc;
	tunnel = pol_in->mode == WFG_MODE_TUNNEL;
	fitted = *pol_in;
	mtu = wfg_netdev_mtu(ifname);
	if (mtu > 0)
		wfg_policy_fit_mtu(&fitted, (__u32)mtu);
	rc = ensure_bpffs(err, errlen);
	if (rc)
		return rc;
	if (wfg_dp_attached(ifname) && stale_pins(ifname))
		wfg_dp_detach(ifname, NULL, 0); /* clears only the pins: the device is not theirs */
	if (wfg_dp_attached(ifname))
		return wfg_err(err, errlen, EEXIST,
			       "%s: wfguard is already attached (wfguard detach %s first)", ifname,
			       ifname);
	skel = wfguard_bpf__open();
	if (!skel)
		return wfg_err(err, errlen, errno, "cannot open the BPF object: %s",
			       strerror(errno));
	if (opts->max_flows)
		bpf_map__set_max_entries(skel->maps.wfg_flows, opts->max_flows);
	/* Sized here, from the policy: each entry is a whole side (~140 KB). */
	pool_n = opts->pool && opts->pool->n > 1 ? opts->pool->n : 0;
	bpf_map__set_max_entries(
		skel->maps.wfg_defpool,
		WFG_POLICY_SLOTS * defpool_cap(opts->pool_max > pool_n ? opts->pool_max : pool_n));
	fitted.pool_size = pool_n;
	fitted.pool_base = 0; /* slot 0 */
	ncpu = libbpf_num_possible_cpus();
	if (ncpu > 0) { /* the padding pool: WFG_POOL_CHUNKS_PER_CPU chunks for each CPU */
		skel->rodata->wfg_pool_chunks = WFG_POOL_CHUNKS_PER_CPU;
		bpf_map__set_max_entries(skel->maps.wfg_pad_pool,
					 (__u32)ncpu * WFG_POOL_CHUNKS_PER_CPU);
	}
	if (tunnel) {
		if (wfguard_bpf__load(skel)) {
			rc = wfg_err(err, errlen, errno,
				     "the kernel refused the BPF programs (%s); run with -v for "
				     "the verifier log",
				     strerror(errno));
			goto out;
		}
	} else {
		/*
		 * libxdp loads the object, the XDP program as an extension of its
		 * dispatcher, and attaches it at once. It is inert until the policy
		 * below is written (no rules: every packet passes).
		 */
		rc = wfg_xdp_attach(skel->obj, "wfg_ingress", ifindex,
				    opts->xdp_mode == WFG_XDP_SKB, opts->xdp_exclusive, &xdp_how,
				    err, errlen);
		if (rc) {
			char why[200];

			snprintf(why, sizeof(why), "%s", err);
			rc = wfg_err(err, errlen, -rc,
				     "%s: cannot attach the XDP program in %s mode: %s%s", ifname,
				     opts->xdp_mode == WFG_XDP_SKB ? "skb" : "native", why,
				     opts->xdp_mode == WFG_XDP_NATIVE && rc != -EBUSY &&
						     rc != -EEXIST
					     ? " (try --xdp-mode skb; -v shows the verifier log)"
					     : "");
			goto out;
		}
		xdp_attached = 1;
		if (xdp_how != WFG_XDP_HOW_DISPATCHER)
			ctl.attach_flags |= WFG_ATTACHED_XDP_ALONE;
		if (xdp_how == WFG_XDP_HOW_ALONE_NO_DISPATCHER)
			fprintf(stderr,
				"wfguard: warning: %s: libxdp's dispatcher (xdp-dispatcher.o, "
				"package libxdp1) is missing: XDP attached alone, no other XDP "
				"program can share the device\n",
				ifname);
	}
	ctl.active = 0;
	ctl.ifindex = (__u32)ifindex;
	ctl.attach_flags |= opts->xdp_mode == WFG_XDP_SKB ? WFG_ATTACHED_XDP_SKB : 0;
	if (opts->install_fq) {
		rc = install_fq(ifname, err, errlen);
		if (rc)
			goto out;
		ctl.attach_flags |= WFG_ATTACHED_FQ;
	}
	stage = 1;
	rc = write_pool(bpf_map__fd(skel->maps.wfg_defpool), pol, opts->pool, 0, ifname);
	if (rc) {
		rc = wfg_err(err, errlen, -rc, "cannot write the pool of defences: %s",
			     strerror(-rc));
		goto out;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, pol, 0) ||
	    write_port_index(bpf_map__fd(skel->maps.data_ports), pol, NULL) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0)) {
		rc = wfg_err(err, errlen, errno, "cannot write the policy: %s", strerror(errno));
		goto out;
	}
	hook.ifindex = ifindex;
	rc = bpf_tc_hook_create(&hook);
	if (rc == 0) {
		ctl.attach_flags |= WFG_ATTACHED_CLSACT;
		bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0);
	} else if (rc != -EEXIST) {
		rc = wfg_err(err, errlen, -rc, "%s: cannot create the clsact qdisc: %s", ifname,
			     strerror(-rc));
		goto out;
	}
	stage = 2;
	tco.prog_fd = bpf_program__fd(tunnel ? skel->progs.wfg_tun_egress : skel->progs.wfg_egress);
	rc = bpf_tc_attach(&hook, &tco);
	if (rc) {
		rc = wfg_err(err, errlen, -rc, "%s: cannot attach the TC egress program: %s",
			     ifname, strerror(-rc));
		goto out;
	}
	stage = 3;
	if (tunnel) {
		ctl.attach_flags |= WFG_ATTACHED_TUNNEL;
		rc = tc_attach_ingress(&hook, bpf_program__fd(skel->progs.wfg_tun_ingress));
		if (rc) {
			rc = wfg_err(err, errlen, -rc,
				     "%s: cannot attach the TC ingress program: %s", ifname,
				     strerror(-rc));
			goto out;
		}
		rc = wfg_netdev_offloads_off(ifname, &offloads_off, err, errlen);
		if (rc)
			goto out;
		ctl.attach_flags |= offloads_off;
		if (gso_max_segs(ifname, "1", err, errlen) == 0)
			ctl.attach_flags |= WFG_ATTACHED_GSO_SEGS;
		else
			fprintf(stderr,
				"wfguard: warning: %s: cannot cap GSO at one segment (%s): "
				"TCP super-packets leave with their segments' sizes "
				"(counted as unshaped_gso)\n",
				ifname, err);
		warn_forwarded_gso(ifname);
		stage = 4;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0)) {
			rc = wfg_err(err, errlen, errno, "cannot write the control map: %s",
				     strerror(errno));
			goto out;
		}
		rc = pin_all(skel, ifname, err, errlen);
		goto out;
	}
	stage = 4;
	rc = pin_all(skel, ifname, err, errlen);
out:
	if (rc) {
		if (xdp_attached)
			wfg_xdp_detach(ifindex, opts->xdp_mode == WFG_XDP_SKB,
				       wfg_xdp_prog_id(bpf_program__fd(skel->progs.wfg_ingress)));
		wfg_netdev_offloads_restore(ifname, offloads_off);
		if (ctl.attach_flags & WFG_ATTACHED_GSO_SEGS)
			gso_max_segs(ifname, "65535", NULL, 0);
		if (stage >= 2)
			tc_detach(ifindex, ctl.attach_flags);
		if (stage >= 1 && (ctl.attach_flags & WFG_ATTACHED_FQ))
			run_tc(NULL, 0, "qdisc", "del", "dev", ifname, "root", NULL);
		unpin_all(ifname);
	}
	wfguard_bpf__destroy(skel); /* the kernel keeps what is attached and pinned */
	return rc;
}

int wfg_dp_open(const char *ifname, struct wfg_dp *dp, char *err, size_t errlen)
{
	int *fds[] = { &dp->policy_fd, &dp->ctl_fd, &dp->flows_fd, &dp->stats_fd, &dp->covers_fd };
	char path[256];
	size_t i;

	memset(dp, 0, sizeof(*dp));
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		*fds[i] = -1;
	dp->capture_fd = dp->ports_fd = dp->pool_fd = dp->defpool_fd = -1;
	if (!wfg_dp_attached(ifname)) {
		if (!strcmp(wfg_pin_root(), WFG_PIN_ROOT) && !is_bpffs("/sys/fs/bpf"))
			return wfg_err(err, errlen, ENOENT, "%s: wfguard is not attached here (%s)",
				       ifname, NO_BPFFS_HINT);
		return wfg_err(err, errlen, ENOENT, "%s: wfguard is not attached", ifname);
	}
	snprintf(dp->ifname, sizeof(dp->ifname), "%s", ifname);
	dp->ifindex = (int)if_nametoindex(ifname);
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		pin_path(path, sizeof(path), ifname, pinned_maps[i]);
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0) {
			int e = errno;

			wfg_dp_close(dp);
			return wfg_err(err, errlen, e, "%s: %s", path, strerror(e));
		}
	}
	pin_path(path, sizeof(path), ifname, "wfg_capture");
	dp->capture_fd = bpf_obj_get(path); /* optional: older attachments lack it */
	pin_path(path, sizeof(path), ifname, "wfg_ports");
	dp->ports_fd = bpf_obj_get(path); /* likewise */
	pin_path(path, sizeof(path), ifname, "wfg_pad_pool");
	dp->pool_fd = bpf_obj_get(path); /* likewise */
	pin_path(path, sizeof(path), ifname, "wfg_defpool");
	dp->defpool_fd = bpf_obj_get(path); /* likewise */
	return 0;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.id : 0;
}

/* The id of the pinned program `name` of ifname's attachment, or 0. */
static __u32 pinned_prog_id(const char *ifname, const char *name)
{
	char path[256];
	__u32 id;
	int fd;

	pin_path(path, sizeof(path), ifname, name);
	fd = bpf_obj_get(path);
	id = wfg_xdp_prog_id(fd);
	if (fd >= 0)
		close(fd);
	return id;
}

/*
 * Are the device's hooks still running this attachment's programs? The name
 * and index can both come back (a namespace recreated with the inode of a
 * deleted one numbers its devices alike), the programs cannot.
 */
static int owns_device(const char *ifname, const struct wfg_ctl *ctl)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ctl->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	const char *prog =
		ctl->attach_flags & WFG_ATTACHED_TUNNEL ? "wfg_tun_egress" : "wfg_egress";

	if (if_nametoindex(ifname) != ctl->ifindex || bpf_tc_query(&hook, &o))
		return 0;
	return o.prog_id && o.prog_id == pinned_prog_id(ifname, prog);
}

const char *wfg_dp_stale(const struct wfg_dp *dp)
{
	struct wfg_ctl ctl;
	char path[256];
	__u32 zero = 0, pinned;
	int fd;

	if (!wfg_dp_attached(dp->ifname))
		return "detached";
	pin_path(path, sizeof(path), dp->ifname, "wfg_ctl");
	fd = bpf_obj_get(path);
	pinned = map_id(fd);
	if (fd >= 0)
		close(fd);
	if (pinned != map_id(dp->ctl_fd))
		return "attached anew since";
	if (bpf_map_lookup_elem(dp->ctl_fd, &zero, &ctl))
		return "its control map cannot be read";
	if (!if_nametoindex(dp->ifname))
		return "the device is gone";
	if (if_nametoindex(dp->ifname) != ctl.ifindex)
		return "the device was replaced by another of the same name";
	if (!owns_device(dp->ifname, &ctl))
		return "its programs are no longer on the device";
	return NULL;
}

void wfg_dp_close(struct wfg_dp *dp)
{
	int *fds[] = { &dp->policy_fd, &dp->ctl_fd, &dp->flows_fd, &dp->stats_fd, &dp->covers_fd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (dp->capture_fd >= 0)
		close(dp->capture_fd);
	if (dp->ports_fd >= 0)
		close(dp->ports_fd);
	if (dp->pool_fd >= 0)
		close(dp->pool_fd);
	if (dp->defpool_fd >= 0)
		close(dp->defpool_fd);
	dp->capture_fd = dp->ports_fd = dp->pool_fd = dp->defpool_fd = -1;
}

int wfg_dp_detach(const char *ifname, char *err, size_t errlen)
{
	struct wfg_ctl ctl;
	struct wfg_dp dp;
	__u32 zero = 0, xdp_id;
	int rc, ifindex;

	rc = wfg_dp_open(ifname, &dp, err, errlen);
	if (rc)
		return rc;
	rc = bpf_map_lookup_elem(dp.ctl_fd, &zero, &ctl);
	xdp_id = pinned_prog_id(ifname, "wfg_ingress");
	/* A device deleted (or replaced by a namesake) took the programs with it:
	 * only the pins are left to clear, and the namesake is not ours to touch. */
	ifindex = !rc && owns_device(ifname, &ctl) ? dp.ifindex : 0;
	wfg_dp_close(&dp);
	if (rc)
		return wfg_err(err, errlen, errno, "%s: cannot read the control map: %s", ifname,
			       strerror(errno));
	if (ifindex) {
		if (!(ctl.attach_flags & WFG_ATTACHED_TUNNEL))
			wfg_xdp_detach(ifindex, !!(ctl.attach_flags & WFG_ATTACHED_XDP_SKB),
				       xdp_id);
		tc_detach(ifindex, ctl.attach_flags);
		wfg_netdev_offloads_restore(ifname, ctl.attach_flags);
		if (ctl.attach_flags & WFG_ATTACHED_GSO_SEGS)
			gso_max_segs(ifname, "65535", NULL, 0);
		if (ctl.attach_flags & WFG_ATTACHED_FQ)
			run_tc(NULL, 0, "qdisc", "del", "dev", ifname, "root", NULL);
	}
	unpin_all(ifname);
	return 0;
}

__u32 wfg_dp_pool_capacity(const struct wfg_dp *dp)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), cap;

	if (dp->defpool_fd < 0 || bpf_obj_get_info_by_fd(dp->defpool_fd, &info, &len))
		return 1;
	cap = wfg_defpool_cap(info.max_entries);
	return cap ? cap + 1 : 1; /* entry 0 is the policy's side */
}

int wfg_dp_apply(struct wfg_dp *dp, const struct wfg_policy *pol, const struct wfg_dp_pool *pool,
		 char *err, size_t errlen)
{
	__u32 pool_n = pool && pool->n > 1 ? pool->n : 0, cap = wfg_dp_pool_capacity(dp);
	static struct wfg_policy cur;
	struct wfg_policy *next;
	struct wfg_ctl ctl;
	__u32 zero = 0, slot;
	int fq_installed = 0;

	if (bpf_map_lookup_elem(dp->ctl_fd, &zero, &ctl))
		return wfg_err(err, errlen, errno, "cannot read the control map: %s",
			       strerror(errno));
	if (bpf_map_lookup_elem(dp->policy_fd, &ctl.active, &cur))
		return wfg_err(err, errlen, errno, "cannot read the policy: %s", strerror(errno));
	next = malloc(sizeof(*next));
	if (!next)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	*next = *pol;
	if (wfg_netdev_mtu(dp->ifname) > 0)
		wfg_policy_fit_mtu(next, (__u32)wfg_netdev_mtu(dp->ifname));
	if (pool_n > cap) {
		free(next);
		return wfg_err(
			err, errlen, ENOSPC,
			"the policy's pool holds %u defences; the attached data path has "
			"room for %u (sized by attach%s): detach and attach with this policy, "
			"or attach with --pool-max %u",
			pool_n, cap, dp->defpool_fd < 0 ? ", by a wfguard without pools" : "",
			pool_n);
	}
	if (next->mode != cur.mode) {
		free(next);
		return wfg_err(err, errlen, EINVAL,
			       "the policy's mode differs from the attached one (%s): detach and "
			       "attach to change modes",
			       cur.mode == WFG_MODE_TUNNEL ? "tunnel" : "shim");
	}
	/* What attach checks, apply checks: a policy that delays needs sch_fq,
	 * installed before anything is written (a refusal changes nothing). */
	if (wfg_policy_delays(next) && !(ctl.attach_flags & WFG_ATTACHED_FQ)) {
		int rc = install_fq(dp->ifname, err, errlen);

		if (rc) {
			free(next);
			return rc;
		}
		fq_installed = 1;
	}
	next->generation = cur.generation + 1;
	slot = (ctl.active + 1) & (WFG_POLICY_SLOTS - 1);
	next->pool_size = pool_n;
	next->pool_base = slot * defpool_cap(cap);
	/* the spare slot's entries, before the policy that names them */
	if (pool_n && write_pool(dp->defpool_fd, next, pool, next->pool_base, dp->ifname)) {
		free(next);
		return wfg_err(err, errlen, errno, "cannot write the pool of defences: %s",
			       strerror(errno));
	}
	if (bpf_map_update_elem(dp->policy_fd, &slot, next, 0) ||
	    write_port_index(dp->ports_fd, &cur, next)) {
		free(next);
		return wfg_err(err, errlen, errno, "cannot write the policy: %s", strerror(errno));
	}
	free(next);
	/* Read again: keep what changed meanwhile (a capture's pid) in the flip. */
	if (bpf_map_lookup_elem(dp->ctl_fd, &zero, &ctl))
		return wfg_err(err, errlen, errno, "cannot read the control map: %s",
			       strerror(errno));
	ctl.active = slot;
	if (fq_installed)
		ctl.attach_flags |= WFG_ATTACHED_FQ; /* detach removes it */
	if (bpf_map_update_elem(dp->ctl_fd, &zero, &ctl, 0))
		return wfg_err(err, errlen, errno, "cannot switch policy slots: %s",
			       strerror(errno));
	/* The new policy is live; the union only costs speed from here on. */
	if (write_port_index(dp->ports_fd, pol, NULL))
		return wfg_err(err, errlen, errno,
			       "policy applied, but its port index could not be narrowed: %s",
			       strerror(errno));
	return 0;
}

int wfg_dp_stats(struct wfg_dp *dp, __u64 out[WFG_STAT__COUNT], char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus(), i, c;
	__u64 *vals;

	if (ncpu <= 0)
		return wfg_err(err, errlen, EINVAL, "cannot count CPUs");
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	for (i = 0; i < WFG_STAT__COUNT; i++) {
		__u32 k = (__u32)i;

		out[i] = 0;
		if (bpf_map_lookup_elem(dp->stats_fd, &k, vals)) {
			free(vals);
			return wfg_err(err, errlen, errno, "cannot read counters: %s",
				       strerror(errno));
		}
		for (c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}
