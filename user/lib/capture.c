// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Capture: records from the data path's wfg_capture ring buffer, kept per
 * flow, written as native traces (docs/trace-format.md) and an index
 * (docs/capture.md).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.h"
#include "err.h"
#include "trace_io.h"

#define DEFAULT_MAX_FLOWS   1024
#define DEFAULT_MAX_PACKETS (4u << 20)
#define MAX_FLOWS_LIMIT	    (1u << 20)

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* ------------------------------------------------------------ the flow table */

static size_t key_hash(const struct wfg_flow_key *k)
{
	const __u8 *b = (const __u8 *)k;
	__u64 h = 1469598103934665603ull; /* FNV-1a */
	size_t i;

	for (i = 0; i < sizeof(*k); i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 32));
}

/* The flow of k, created if there is room; NULL when max_flows are taken or memory is out. */
static struct wfg_cap_flow *flow_get(struct wfg_capture *c, const struct wfg_flow_key *k)
{
	size_t mask = c->index_size - 1, i = key_hash(k) & mask;
	struct wfg_cap_flow *f;

	while (c->index[i]) {
		f = &c->flows[c->index[i] - 1];
		if (!memcmp(&f->key, k, sizeof(*k)))
			return f;
		i = (i + 1) & mask;
	}
	if (c->nflows >= c->o.max_flows)
		return NULL;
	f = &c->flows[c->nflows];
	memset(f, 0, sizeof(*f));
	f->key = *k;
	c->index[i] = (__u32)++c->nflows;
	return f;
}

/* Append in time order: records of different CPUs, and egress departure
 * times in the future (EDT), arrive slightly out of order. Stable. */
static int flow_add(struct wfg_cap_flow *f, const struct wfg_cap_pkt *p)
{
	size_t i;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct wfg_cap_pkt *n = realloc(f->pkts, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		f->pkts = n;
		f->cap = cap;
	}
	for (i = f->n; i > 0 && f->pkts[i - 1].time_ns > p->time_ns; i--)
		;
	memmove(&f->pkts[i + 1], &f->pkts[i], (f->n - i) * sizeof(*p));
	f->pkts[i] = *p;
	f->n++;
	return 0;
}

static int on_record(void *ctx, void *data, size_t len)
{
	const struct wfg_capture_rec *r = data;
	struct wfg_capture *c = ctx;
	struct wfg_cap_flow *f;
	struct wfg_cap_pkt p;

	if (c->discard) {
		c->stale++;
		return 0;
	}
	if (len != sizeof(*r) || r->dir > WFG_CAP_INGRESS || r->kind > WFG_CAP_UNVERIFIED) {
		c->bad++;
		return 0;
	}
	c->records++;
	if (c->kept >= c->o.max_packets) {
		c->skipped_packets++;
		return 0;
	}
	f = flow_get(c, &r->key);
	if (!f) {
		c->skipped_flows++;
		return 0;
	}
	p.time_ns = r->time_ns;
	p.payload = r->payload;
	p.dir = r->dir;
	p.kind = r->kind;
	p.wire_len = r->wire_len;
	if (flow_add(f, &p)) {
		c->skipped_packets++;
		return 0;
	}
	f->count[r->dir][r->kind]++;
	c->kept++;
	return 0;
}

/* ------------------------------------------------------------ start / stop */

static int read_ctl(struct wfg_capture *c, struct wfg_ctl *ctl, char *err, size_t errlen)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(c->dp.ctl_fd, &zero, ctl))
		return wfg_err(err, errlen, errno, "%s: cannot read the control map: %s",
			       c->dp.ifname, strerror(errno));
	return 0;
}

static __u64 lost_counter(struct wfg_capture *c)
{
	__u64 st[WFG_STAT__COUNT];

	if (wfg_dp_stats(&c->dp, st, NULL, 0))
		return 0;
	return st[WFG_STAT_CAPTURE_LOST];
}

/* The role the attached policy recorded (wfguard attach / policy apply). */
static __u32 attached_role(struct wfg_capture *c, __u32 slot)
{
	struct wfg_policy *pol = malloc(sizeof(*pol));
	__u32 role = WFG_DP_ROLE_UNKNOWN;

	if (pol && !bpf_map_lookup_elem(c->dp.policy_fd, &slot, pol) &&
	    pol->role <= WFG_DP_ROLE_SERVER)
		role = pol->role;
	free(pol);
	return role;
}

static int pid_alive(__u32 pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static int set_flag(struct wfg_capture *c, __u32 pid, char *err, size_t errlen)
{
	struct wfg_ctl ctl;
	__u32 zero = 0;
	int rc;

	rc = read_ctl(c, &ctl, err, errlen);
	if (rc)
		return rc;
	ctl.capture_pid = pid;
	if (bpf_map_update_elem(c->dp.ctl_fd, &zero, &ctl, 0))
		return wfg_err(err, errlen, errno, "%s: cannot write the control map: %s",
			       c->dp.ifname, strerror(errno));
	return 0;
}

static int alloc_tables(struct wfg_capture *c, char *err, size_t errlen)
{
	c->index_size = 16;
	while (c->index_size < 2 * (size_t)c->o.max_flows)
		c->index_size *= 2;
	c->index = calloc(c->index_size, sizeof(*c->index));
	c->flows = calloc(c->o.max_flows, sizeof(*c->flows));
	if (!c->index || !c->flows)
		return wfg_err(err, errlen, ENOMEM, "out of memory for %u flows", c->o.max_flows);
	return 0;
}

int wfg_capture_start(struct wfg_capture *c, const char *ifname, const struct wfg_capture_opts *o,
		      char *err, size_t errlen)
{
	struct wfg_ctl ctl;
	int rc;

	memset(c, 0, sizeof(*c));
	c->dp.capture_fd = -1;
	c->o = *o;
	if (!c->o.max_flows)
		c->o.max_flows = DEFAULT_MAX_FLOWS;
	if (!c->o.max_packets)
		c->o.max_packets = DEFAULT_MAX_PACKETS;
	if (c->o.max_flows > MAX_FLOWS_LIMIT)
		return wfg_err(err, errlen, EINVAL, "at most %u flows", MAX_FLOWS_LIMIT);
	rc = wfg_dp_open(ifname, &c->dp, err, errlen);
	if (rc)
		return rc;
	if (c->dp.capture_fd < 0) {
		rc = wfg_err(err, errlen, EOPNOTSUPP,
			     "%s: attached by a wfguard without capture (detach and attach again)",
			     ifname);
		goto fail;
	}
	rc = alloc_tables(c, err, errlen) ?: read_ctl(c, &ctl, err, errlen);
	if (rc)
		goto fail;
	if (ctl.capture_pid && ctl.capture_pid != (__u32)getpid() && pid_alive(ctl.capture_pid)) {
		rc = wfg_err(err, errlen, EBUSY, "%s: a capture is already running (pid %u)",
			     ifname, ctl.capture_pid);
		goto fail;
	}
	c->role = o->role ? o->role : attached_role(c, ctl.active & (WFG_POLICY_SLOTS - 1));
	c->rb = ring_buffer__new(c->dp.capture_fd, on_record, c, NULL);
	if (!c->rb) {
		rc = wfg_err(err, errlen, errno, "%s: capture ring buffer: %s", ifname,
			     strerror(errno));
		goto fail;
	}
	/* Whatever a capture that died left behind is not ours. */
	c->discard = 1;
	ring_buffer__consume(c->rb);
	c->discard = 0;
	c->lost_at_start = lost_counter(c);
	c->start_real_ns = clock_ns(CLOCK_REALTIME);
	c->start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	rc = set_flag(c, (__u32)getpid(), err, errlen);
	if (rc)
		goto fail;
	c->flag_set = 1;
	return 0;
fail:
	wfg_capture_free(c);
	return rc;
}

int wfg_capture_poll(struct wfg_capture *c, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
	int n;

	if (!c->rb)
		return -EINVAL;
	/* The programs submit without wakeups: drain, then sleep. */
	n = ring_buffer__consume(c->rb);
	if (n != 0 || timeout_ms <= 0)
		return n;
	if (nanosleep(&ts, NULL))
		return -errno;
	return ring_buffer__consume(c->rb);
}

int wfg_capture_stop(struct wfg_capture *c, char *err, size_t errlen)
{
	struct timespec grace = { 0, 20 * 1000 * 1000 };
	struct wfg_ctl ctl;
	int rc = 0;

	if (c->flag_set) {
		c->flag_set = 0;
		c->stop_mono_ns = clock_ns(CLOCK_MONOTONIC);
		rc = read_ctl(c, &ctl, err, errlen);
		if (!rc && ctl.capture_pid == (__u32)getpid())
			rc = set_flag(c, 0, err, errlen);
		/* A program that saw the flag just before may still submit. */
		nanosleep(&grace, NULL);
		c->lost = lost_counter(c) - c->lost_at_start;
	}
	if (c->rb)
		ring_buffer__consume(c->rb);
	return rc;
}

void wfg_capture_free(struct wfg_capture *c)
{
	size_t i;

	wfg_capture_stop(c, NULL, 0);
	if (c->rb)
		ring_buffer__free(c->rb);
	c->rb = NULL;
	for (i = 0; c->flows && i < c->nflows; i++)
		free(c->flows[i].pkts);
	free(c->flows);
	free(c->index);
	c->flows = NULL;
	c->index = NULL;
	c->nflows = 0;
	wfg_dp_close(&c->dp);
}

/* ------------------------------------------------------------ writing */

static void addr_str(char *buf, size_t len, const struct wfg_flow_key *k, const __u8 *a)
{
	if (!inet_ntop(k->family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void wfg_capture_flow_name(const struct wfg_flow_key *k, char *buf, size_t len)
{
	char l[64], r[64], *p;

	addr_str(l, sizeof(l), k, k->laddr);
	addr_str(r, sizeof(r), k, k->raddr);
	for (p = l; *p; p++)
		*p = *p == ':' ? '-' : *p; /* no ':' in file names */
	for (p = r; *p; p++)
		*p = *p == ':' ? '-' : *p;
	snprintf(buf, len, "udp_%s_%u_%s_%u.trace", l, ntohs(k->lport), r, ntohs(k->rport));
}

int wfg_capture_check_out(const char *dir, char *err, size_t errlen)
{
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (stat(dir, &st))
		return errno == ENOENT
			       ? 0
			       : wfg_err(err, errlen, errno, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return wfg_err(err, errlen, ENOTDIR, "%s: exists and is not a directory", dir);
	d = opendir(dir);
	if (!d)
		return wfg_err(err, errlen, errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			return wfg_err(err, errlen, EEXIST, "%s: exists and is not empty", dir);
		}
	}
	closedir(d);
	return 0;
}

/* Trace direction of a packet: client -> server? Unknown role: this host is the client. */
static bool trace_out(__u32 role, __u8 dir)
{
	bool out = dir == WFG_CAP_EGRESS;

	return role == WFG_DP_ROLE_SERVER ? !out : out;
}

static const char *role_name(__u32 role)
{
	return role == WFG_DP_ROLE_CLIENT   ? "client"
	       : role == WFG_DP_ROLE_SERVER ? "server"
					    : "unknown";
}

static int close_synced(FILE *f)
{
	int bad = fflush(f) || fsync(fileno(f));

	return fclose(f) || bad ? -EIO : 0;
}

static int write_flow(const struct wfg_capture *c, const struct wfg_cap_flow *f, const char *path)
{
	char l[64], r[64];
	__u64 t0 = f->n ? f->pkts[0].time_ns : 0;
	FILE *out = fopen(path, "w");
	size_t i;

	if (!out)
		return -errno;
	addr_str(l, sizeof(l), &f->key, f->key.laddr);
	addr_str(r, sizeof(r), &f->key, f->key.raddr);
	wfg_trace_write_header(out);
	fprintf(out, "# flow: udp %s%s%s:%u (local) <-> %s%s%s:%u (remote)\n",
		f->key.family == 6 ? "[" : "", l, f->key.family == 6 ? "]" : "",
		ntohs(f->key.lport), f->key.family == 6 ? "[" : "", r,
		f->key.family == 6 ? "]" : "", ntohs(f->key.rport));
	fprintf(out, "# captured on %s by wfguard capture, this host: %s (+ = client -> server)\n",
		c->dp.ifname, role_name(c->role));
	fprintf(out, "# first packet: CLOCK_MONOTONIC %llu ns; sizes: UDP payload on the wire\n",
		(unsigned long long)t0);
	for (i = 0; i < f->n; i++) {
		const struct wfg_cap_pkt *p = &f->pkts[i];

		wfg_trace_write_pkt(out, p->time_ns - t0, trace_out(c->role, p->dir), p->payload,
				    p->kind == WFG_CAP_COVER);
	}
	return close_synced(out);
}

static void fmt_utc(__u64 ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned long long)(ns % 1000000000ull));
}

static int write_index(const struct wfg_capture *c, const char *path)
{
	FILE *out = fopen(path, "w");
	char when[64], name[160], l[64], r[64];
	__u64 stop = c->stop_mono_ns ? c->stop_mono_ns : c->start_mono_ns;
	size_t i;

	if (!out)
		return -errno;
	fmt_utc(c->start_real_ns, when, sizeof(when));
	fprintf(out,
		"# wfguard capture: see docs/capture.md\n"
		"format=wfguard-capture v1\n"
		"interface=%s\nrole=%s\nstart=%s\nstart_monotonic_ns=%llu\nduration_ns=%llu\n"
		"records=%llu\nlost=%llu\nmalformed=%llu\nstale=%llu\nskipped_flows=%llu\n"
		"skipped_packets=%llu\nflows=%zu\n",
		c->dp.ifname, role_name(c->role), when, (unsigned long long)c->start_mono_ns,
		(unsigned long long)(stop - c->start_mono_ns), (unsigned long long)c->records,
		(unsigned long long)c->lost, (unsigned long long)c->bad,
		(unsigned long long)c->stale, (unsigned long long)c->skipped_flows,
		(unsigned long long)c->skipped_packets, c->nflows);
	fprintf(out, "# flow=FILE FAMILY LOCAL LPORT REMOTE RPORT PACKETS SENT_REAL SENT_COVER "
		     "RECV_REAL RECV_COVER RECV_UNVERIFIED FIRST_MONOTONIC_NS\n");
	for (i = 0; i < c->nflows; i++) {
		const struct wfg_cap_flow *f = &c->flows[i];

		wfg_capture_flow_name(&f->key, name, sizeof(name));
		addr_str(l, sizeof(l), &f->key, f->key.laddr);
		addr_str(r, sizeof(r), &f->key, f->key.raddr);
		fprintf(out, "flow=%s %u %s %u %s %u %zu %llu %llu %llu %llu %llu %llu\n", name,
			f->key.family, l, ntohs(f->key.lport), r, ntohs(f->key.rport), f->n,
			(unsigned long long)f->count[WFG_CAP_EGRESS][WFG_CAP_REAL],
			(unsigned long long)f->count[WFG_CAP_EGRESS][WFG_CAP_COVER],
			(unsigned long long)f->count[WFG_CAP_INGRESS][WFG_CAP_REAL],
			(unsigned long long)f->count[WFG_CAP_INGRESS][WFG_CAP_COVER],
			(unsigned long long)f->count[WFG_CAP_INGRESS][WFG_CAP_UNVERIFIED],
			(unsigned long long)(f->n ? f->pkts[0].time_ns : 0));
	}
	return close_synced(out);
}

int wfg_capture_write(const struct wfg_capture *c, const char *dir, char *err, size_t errlen)
{
	char path[4096 + 200], name[160];
	struct wfg_outdir o;
	size_t i;
	int rc;

	if (wfg_outdir_init(&o, dir))
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	if (strlen(o.dir) + 12 >= 4096) { /* path[] holds TMP/NAME */
		wfg_outdir_close(&o);
		return wfg_err(err, errlen, ENAMETOOLONG, "%s: name too long", dir);
	}
	rc = wfg_outdir_mktemp(&o, err, errlen);
	for (i = 0; !rc && i < c->nflows; i++) {
		wfg_capture_flow_name(&c->flows[i].key, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", o.tmp, name);
		rc = write_flow(c, &c->flows[i], path);
		if (rc)
			wfg_err(err, errlen, -rc, "%s: %s", path, strerror(-rc));
	}
	if (!rc) {
		snprintf(path, sizeof(path), "%s/index", o.tmp);
		rc = write_index(c, path);
		if (rc)
			wfg_err(err, errlen, -rc, "%s: %s", path, strerror(-rc));
	}
	if (!rc) {
		chmod(o.tmp, 0755); /* mkdtemp made it 0700 */
		rc = wfg_outdir_rename(&o);
		if (rc) {
			wfg_err(err, errlen, -rc,
				"cannot rename %s to %s: %s (the capture is in %s)", o.tmp, o.dir,
				strerror(-rc), o.tmp);
			free(o.tmp); /* a long capture: keep it for the operator */
			o.tmp = NULL;
		}
	}
	wfg_outdir_close(&o);
	return rc;
}
