// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Data path cost per packet, as ratios against bpf/bench_min.bpf.c (which only
 * parses the frame) measured in the same run. Each figure is the mean of the
 * kernel's own timing of single test runs: with `repeat` the kernel would rerun
 * the program on the packet it already modified (padded, or stripped), so
 * every run here starts from the original frame. Needs root.
 *   build/bench/perf/datapath [runs [row]]
 * With a row number (0..12, the first table's order) only that row runs, five
 * times `runs`: a target for `perf record` that no other program dilutes.
 * bench/perf/shim_cost.sh runs this against the build of an older commit and
 * divides row by row (the shim's cost against the trailer it replaced).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_min.skel.h"
#include "bpfrun.h"
#include "pkt.h"
#include "pool.h"
#include "wfguard.skel.h"
#include "wfguard/datapath.h"
#include "wfguard/shim.h"
#include "zoo.h"

static struct wfg_policy pol;
static struct wfg_port_index ports;

#define NROWS	13
#define ROW_XDP 7 /* rows before it divide by the tc baseline */

/* The pooled program's padding pool, refilled between runs (untimed by the
 * kernel; timed here as the controller's share of a padded packet). */
static struct wfg_pool pool;
static double refill_ns;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void refill(void)
{
	double t0 = now_ns();

	if (wfg_pool_refill(&pool) < 0) {
		fprintf(stderr, "datapath: pool refill failed\n");
		exit(1);
	}
	refill_ns += now_ns() - t0;
}

static double run_pooled(int prog_fd, const uint8_t *frame, size_t n, __u32 mark, int runs,
			 int pooled)
{
	uint8_t out[2048];
	double total = 0;
	int i;

	for (i = 0; i < runs; i++) {
		/* afresh each run: the context comes back as the program left it */
		struct __sk_buff ctx = { .mark = mark };
		struct wfgt_run o = { .in = frame,
				      .len = n,
				      .out = out,
				      .out_size = sizeof(out),
				      .skb = mark ? &ctx : NULL,
				      .repeat = 1 };

		if (pooled && i % 64 == 0)
			refill();
		if (wfgt_prog_run(prog_fd, &o))
			return -1;
		total += o.duration;
	}
	return total / runs;
}

static __u64 stat_sum(struct wfguard_bpf *s, enum wfg_stat st)
{
	__u64 sum;

	return wfgt_percpu_sum(bpf_map__fd(s->maps.wfg_stats), (__u32)st, &sum) ? 0 : sum;
}

/* Does this run measure row k? (only: the one row asked for, or -1: all.) */
static int wanted(int only, int k)
{
	return only < 0 || only == k;
}

/*
 * The shim's keyed work alone, in C from the one header the programs use
 * (include/wfguard/shim.h): the trailer-only tag this project sent before
 * (mask + tag: two SipHash-2-4 over 16 and 20 bytes) against the tag over the
 * whole datagram (mask, seq mask, and SipHash over 64 + body bytes), sealing
 * and opening, at two body sizes. Same run, same CPU: the ratio is the cost of
 * binding the payload.
 */
#if WFG_SHIM_LEN > 20 /* (the C rows need the whole-datagram tag's API) */
static volatile __u64 shim_sink;

static void legacy_seal(const struct wfg_shim_key *k, __u64 nonce, __u16 wl)
{
	__u64 w[2] = { nonce, (__u64)wl | 0x1234ULL << 16 | 0x01bbULL << 32 | 1ULL << 48 };
	__u32 plain = (__u32)100 << 16 ^ (__u32)wfg_siphash24(k, w, 2, 0, 16);

	w[1] ^= 3ULL << 48;
	shim_sink += wfg_siphash24(k, w, 2, plain, 20);
}

static double shim_ns(int what, __u16 body_len, int runs)
{
	static const struct wfg_shim_key k = { 1, 2 };
	static __u8 body[1500];
	struct wfg_shim_trailer t;
	struct wfg_shim_hdr h = { .family = 4, .sport = 0x1234, .dport = 0x01bb };
	__u16 len, csum;
	__u64 seq;
	double t0;
	int i;

	h.wire_len = (__u16)(body_len + WFG_SHIM_LEN);
	wfg_shim_seal(&k, &t, 9, 1, &h, body, 100, 0);
	t0 = now_ns();
	for (i = 0; i < runs; i++) {
		switch (what) {
		case 0:
			legacy_seal(&k, (__u64)i, h.wire_len);
			break;
		case 1:
			wfg_shim_seal(&k, &t, (__u64)i, (__u64)i, &h, body, 100, 0);
			shim_sink += t.tag[0];
			break;
		case 2:
			shim_sink += (__u64)wfg_shim_open(&k, &t, &h, body, &len, &csum, &seq);
			break;
		default: /* not ours: the check fails, the body is never read */
			t.nonce[0] = (__u8)i; /* a fresh trailer each run: nothing hoisted */
			t.check[0] = (__u8)i ^ 0xa5;
			shim_sink += (__u64)wfg_shim_open(&k, &t, &h, body, &len, &csum, &seq);
			break;
		}
	}
	return (now_ns() - t0) / runs;
}

static void bench_shim(void)
{
	static const __u16 bodies[] = { 472, 1172 };
	double old, seal, open_, other;
	size_t b;
	int rep;

	printf("\nshim seal/open in C (include/wfguard/shim.h; 10^5 runs, best of 5)\n");
	printf("  %-40s %8s %8s\n", "work", "ns", "ratio");
	for (b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
		old = seal = open_ = other = 1e18;
		for (rep = 0; rep < 5; rep++) {
			double t;

			t = shim_ns(0, bodies[b], 100000);
			old = t < old ? t : old;
			t = shim_ns(1, bodies[b], 100000);
			seal = t < seal ? t : seal;
			t = shim_ns(2, bodies[b], 100000);
			open_ = t < open_ ? t : open_;
			t = shim_ns(3, bodies[b], 100000);
			other = t < other ? t : other;
		}
		printf("  old tag, trailer only (wire %4u B)        %8.1f %8.2f\n",
		       bodies[b] + WFG_SHIM_LEN, old, 1.0);
		printf("  seal, tag over the datagram (wire %4u B)  %8.1f %8.2f\n",
		       bodies[b] + WFG_SHIM_LEN, seal, seal / old);
		printf("  open, tag over the datagram (wire %4u B)  %8.1f %8.2f\n",
		       bodies[b] + WFG_SHIM_LEN, open_, open_ / old);
		printf("  open, not ours: check fails (wire %4u B)  %8.1f %8.2f\n",
		       bodies[b] + WFG_SHIM_LEN, other, other / old);
	}
}
#endif

static double run(int prog_fd, const uint8_t *frame, size_t n, __u32 mark, int runs)
{
	return run_pooled(prog_fd, frame, n, mark, runs, 0);
}

/*
 * The ingress program on `count` distinct frames, each once (kernel-timed):
 * a receiver with a replay window accepts a datagram once, so timing the
 * strip or the cover drop needs a fresh datagram per run.
 */
static double run_frames(int prog_fd, uint8_t (*frames)[2048], const __u32 *lens, int count)
{
	uint8_t out[2048];
	double total = 0;
	int i;

	for (i = 0; i < count; i++) {
		struct wfgt_run o = { .in = frames[i],
				      .len = lens[i],
				      .out = out,
				      .out_size = sizeof(out),
				      .repeat = 1 };

		if (wfgt_prog_run(prog_fd, &o))
			return -1;
		total += o.duration;
	}
	return total / count;
}

/* count datagrams sealed by the egress program from `in` (mark: a carrier's). */
static void seal_frames(int prog_fd, const uint8_t *in, size_t n, __u32 mark,
			uint8_t (*frames)[2048], __u32 *lens, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		struct __sk_buff ctx = { .mark = mark };
		struct wfgt_run o = { .in = in,
				      .len = n,
				      .out = frames[i],
				      .out_size = 2048,
				      .skb = mark ? &ctx : NULL,
				      .repeat = 1 };

		wfgt_prog_run(prog_fd, &o);
		lens[i] = o.out_len;
	}
}

/* Programs that leave the packet alone can use the kernel's own repeat loop:
 * no per-run timer overhead, so small differences show. */
static double run_repeat(int prog_fd, const uint8_t *frame, size_t n, int repeat)
{
	uint8_t out[2048];
	struct wfgt_run o = {
		.in = frame, .len = n, .out = out, .out_size = sizeof(out), .repeat = repeat
	};
	struct timespec t0, t1;

	/* Timed here, not by the kernel: its figure is whole nanoseconds per run,
	 * too coarse at ~20 ns; one syscall's overhead over 10^6 runs is noise. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (wfgt_prog_run(prog_fd, &o))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / repeat;
}

static void set_policy_mode(struct wfguard_bpf *skel, enum wfg_shape_mode mode, enum wfg_mode where)
{
	static struct wfg_side_builder sb;
	struct wfg_ctl ctl = { .keys = { { 1, 2 }, { 3, 4 } } };
	__u32 zero = 0;

	wfg_sb_init(&sb, &pol.side);
	pol.side.shape.mode = (__u8)mode;
	pol.side.shape.size = 1200;
	pol.side.shape.max = 1400;
	pol.side.cover_size = 1200;
	zoo_check(&sb, wfg_sb_finish(&sb), "finish");
	pol.generation++;
	pol.mode = where;
	/* The test frames' server port, seen from either end (tunnel mode: every
	 * inner packet; its rules name addresses only). */
	pol.nrules = 2;
	pol.rules[0].lport_hi = 65535;
	pol.rules[0].rport_lo = pol.rules[0].rport_hi = 4433;
	pol.rules[1].lport_lo = pol.rules[1].lport_hi = 4433;
	pol.rules[1].rport_hi = 65535;
	bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0);
	bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0);
	if (where == WFG_MODE_TUNNEL) {
		pol.nrules = 1;
		pol.rules[0].lport_lo = pol.rules[0].rport_lo = 0;
		pol.rules[0].lport_hi = pol.rules[0].rport_hi = 65535;
	}
	bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0);
	bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0);
	wfg_port_index_build(&ports, &pol);
	bpf_map_update_elem(bpf_map__fd(skel->maps.data_ports), &zero, &ports, 0);
}

static void set_policy(struct wfguard_bpf *skel, enum wfg_shape_mode mode)
{
	set_policy_mode(skel, mode, WFG_MODE_SHIM);
}

/*
 * Tunnel mode's programs on inner packets. The test run hands a TC program the
 * buffer from its first byte, so a bare IP packet is what the program sees, as
 * on a tunnel device (the kernel reads its first 14 bytes as an Ethernet
 * header for skb->protocol, which these rows never use). Same baseline as the
 * shim rows: the parse-only tc program on the Ethernet frame of the same packet.
 */
static void bench_tunnel(struct wfguard_bpf *tun, int base_fd, const uint8_t *frame, size_t n,
			 int repeat)
{
	const uint8_t *inner = frame + 14;
	size_t in_len = n - 14;
	uint8_t cover[1200] = { 0x45, 0, 1200 >> 8, 1200 & 0xff, 0, 0, 0, 0, 64, 253 };
	const char *names[] = { "baseline: parse only (tc)", "tunnel egress: shape none",
				"tunnel egress: padded to 1200", "tunnel ingress: real, passed",
				"tunnel ingress: cover drop" };
	double best[5] = { 1e18, 1e18, 1e18, 1e18, 1e18 }, t[5];
	int rep, k;

	/* a cover as bpf/lib/tunnel.h builds it: from the peer (reversed), a
	 * header checksum one off */
	memcpy(cover + 12, inner + 16, 4);
	memcpy(cover + 16, inner + 12, 4);
	{
		__u32 sum = csum_add_bytes(0, cover, 20);
		__u16 c = (__u16)(csum_finish(sum) ^ 1);

		cover[10] = (uint8_t)(c >> 8);
		cover[11] = (uint8_t)c;
	}
	for (rep = 0; rep < 5; rep++) {
		t[0] = run(base_fd, frame, n, 0, repeat);
		set_policy_mode(tun, WFG_SHAPE_NONE, WFG_MODE_TUNNEL);
		t[1] = run(bpf_program__fd(tun->progs.wfg_tun_egress), inner, in_len, 0, repeat);
		set_policy_mode(tun, WFG_SHAPE_PAD_TO, WFG_MODE_TUNNEL);
		t[2] = run(bpf_program__fd(tun->progs.wfg_tun_egress), inner, in_len, 0, repeat);
		t[3] = run(bpf_program__fd(tun->progs.wfg_tun_ingress), inner, in_len, 0, repeat);
		t[4] = run(bpf_program__fd(tun->progs.wfg_tun_ingress), cover, sizeof(cover), 0,
			   repeat);
		for (k = 0; k < 5; k++)
			if (t[k] >= 0 && t[k] < best[k])
				best[k] = t[k];
	}
	if (stat_sum(tun, WFG_STAT_SHAPED) == 0 || stat_sum(tun, WFG_STAT_COVERS_RECEIVED) == 0)
		fprintf(stderr, "datapath: the tunnel rows did not pad or drop: figures void\n");
	printf("\ntunnel mode, inner IPv4 UDP packet of %zu bytes (same timing as above)\n",
	       in_len);
	printf("  %-32s %8s %8s\n", "program", "ns", "ratio");
	for (k = 0; k < 5; k++)
		printf("  %-32s %8.1f %8.2f\n", names[k], best[k], best[k] / best[0]);
}

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 20000, rep;
	/* cover_in: frame_build may write past the frame (padding to a minimum) */
	uint8_t changed[2048], cover_in[256];
	size_t cover_n;
	int only = argc > 2 ? atoi(argv[2]) : -1;
	struct wfguard_bpf *skel, *pooled, *tun;
	struct bench_min_bpf *min;
	uint8_t pl[500] = { 0 }, frame[2048], tcp[2048], padded[2048], cover[2048],
		zero1[1] = { 0 };
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = 5000,
				 .dport = 4433,
				 .payload = pl,
				 .len = sizeof(pl) };
	struct frame_spec ts = fs;
	double best[NROWS];
	const char *names[NROWS] = {
		"baseline: parse only (tc)",
		"tc: not matching (tcp)",
		"tc: matching, no padding",
		"tc: matching, padded to 1200",
		"  same, padding from the pool",
		"  pool refill (controller)",
		"floor: grow 700 B, nothing else",
		"baseline: parse only (xdp)",
		"xdp: strip",
		"xdp: cover drop",
		"xdp: matched, no trailer",
		"xdp: payload byte changed",
		"xdp: same datagram again",
	};
	static uint8_t fresh[2][20000][2048];
	static __u32 fresh_len[2][20000];
	__u32 plen;
	size_t n, tn;
	int k;

	if (repeat < 1 || repeat > 20000) {
		fprintf(stderr, "datapath: runs must be 1..20000\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("datapath: skipped (needs root)\n");
		return 0;
	}
	if (!getenv("WFG_VERBOSE"))
		libbpf_set_print(NULL);
	skel = wfguard_bpf__open_and_load();
	tun = wfguard_bpf__open_and_load(); /* its own maps: a tunnel-mode policy */
	min = bench_min_bpf__open_and_load();
	/* The same program with a padding pool, sized as the loader sizes it. */
	pooled = wfguard_bpf__open();
	if (pooled) {
		pooled->rodata->wfg_pool_chunks = WFG_POOL_CHUNKS_PER_CPU;
		bpf_map__set_max_entries(pooled->maps.wfg_pad_pool,
					 (__u32)libbpf_num_possible_cpus() *
						 WFG_POOL_CHUNKS_PER_CPU);
	}
	if (!skel || !tun || !min || !pooled || wfguard_bpf__load(pooled) ||
	    wfg_pool_open(&pool, bpf_map__fd(pooled->maps.wfg_pad_pool), NULL, 0)) {
		fprintf(stderr, "datapath: BPF objects failed to load\n");
		return 1;
	}
	n = frame_build(frame, &fs);
	ts.proto = 6;
	tn = frame_build(tcp, &ts);
	/* Frames for the ingress side, produced by the egress program itself. */
	set_policy(skel, WFG_SHAPE_PAD_TO);
	{
		uint8_t *in = cover_in;
		struct frame_spec cs = fs;
		struct wfgt_run o = {
			.in = frame, .len = n, .out = padded, .out_size = sizeof(padded)
		};
		struct __sk_buff ctx = { .mark = WFG_MARK_CARRIER };
		struct wfgt_run oc = {
			.in = in, .out = cover, .out_size = sizeof(cover), .skb = &ctx
		};

		wfgt_prog_run(bpf_program__fd(skel->progs.wfg_egress), &o);
		plen = o.out_len;
		cs.payload = zero1;
		cs.len = 1;
		oc.len = cover_n = frame_build(in, &cs);
		wfgt_prog_run(bpf_program__fd(skel->progs.wfg_egress), &oc);
		if (oc.out_len <= cover_n) {
			fprintf(stderr, "datapath: the carrier left as no cover\n");
			return 1;
		}
	}
	/* a padded datagram with one payload byte changed on the way */
	memcpy(changed, padded, plen);
	changed[n - sizeof(pl) + 17] ^= 0x10;
	set_policy(pooled, WFG_SHAPE_PAD_TO);
	for (k = 0; k < NROWS; k++)
		best[k] = 1e18;
	for (rep = 0; rep < 5; rep++) {
		double t[NROWS];
		__u64 used0 = stat_sum(pooled, WFG_STAT_PAD_POOL_USED);

		for (k = 0; k < NROWS; k++)
			t[k] = -1;
		if (wanted(only, 0))
			t[0] = run(bpf_program__fd(min->progs.min_tc), frame, n, 0, repeat);
		if (wanted(only, 1))
			t[1] = run(bpf_program__fd(skel->progs.wfg_egress), tcp, tn, 0, repeat);
		set_policy(skel, WFG_SHAPE_NONE);
		if (wanted(only, 2))
			t[2] = run(bpf_program__fd(skel->progs.wfg_egress), frame, n, 0, repeat);
		set_policy(skel, WFG_SHAPE_PAD_TO);
		if (wanted(only, 3))
			t[3] = run(bpf_program__fd(skel->progs.wfg_egress), frame, n, 0, repeat);
		refill_ns = 0;
		if (wanted(only, 4) || wanted(only, 5))
			t[4] = run_pooled(bpf_program__fd(pooled->progs.wfg_egress), frame, n, 0,
					  repeat, 1);
		/* the controller's time per padded packet, which left from the pool */
		if (t[4] >= 0)
			t[5] = refill_ns /
			       (double)(stat_sum(pooled, WFG_STAT_PAD_POOL_USED) - used0 ?: 1);
		if (t[4] >= 0 &&
		    stat_sum(pooled, WFG_STAT_PAD_POOL_USED) - used0 < (__u64)repeat * 9 / 10)
			fprintf(stderr, "datapath: the pool ran dry (%llu of %d from it)\n",
				(unsigned long long)(stat_sum(pooled, WFG_STAT_PAD_POOL_USED) -
						     used0),
				repeat);
		if (wanted(only, 6))
			t[6] = run(bpf_program__fd(min->progs.min_tc_grow), frame, n, 0, repeat);
		if (wanted(only, 7))
			t[7] = run(bpf_program__fd(min->progs.min_xdp), padded, plen, 0, repeat);
		if (wanted(only, 8) || wanted(only, 9)) {
			seal_frames(bpf_program__fd(skel->progs.wfg_egress), frame, n, 0, fresh[0],
				    fresh_len[0], repeat);
			seal_frames(bpf_program__fd(skel->progs.wfg_egress), cover_in, cover_n,
				    WFG_MARK_CARRIER, fresh[1], fresh_len[1], repeat);
		}
		if (wanted(only, 8))
			t[8] = run_frames(bpf_program__fd(skel->progs.wfg_ingress), fresh[0],
					  fresh_len[0], repeat);
		if (wanted(only, 9))
			t[9] = run_frames(bpf_program__fd(skel->progs.wfg_ingress), fresh[1],
					  fresh_len[1], repeat);
		if (wanted(only, 10))
			t[10] = run(bpf_program__fd(skel->progs.wfg_ingress), frame, n, 0, repeat);
		if (wanted(only, 11))
			t[11] = run(bpf_program__fd(skel->progs.wfg_ingress), changed, plen, 0,
				    repeat);
		if (wanted(only, 12))
			t[12] = run(bpf_program__fd(skel->progs.wfg_ingress), padded, plen, 0,
				    repeat);
		for (k = 0; k < NROWS; k++)
			if (t[k] >= 0 && t[k] < best[k])
				best[k] = t[k];
	}
	printf("datapath: ns per packet (mean of %d kernel-timed single runs, best of 5)\n",
	       repeat);
	printf("  %-32s %8s %8s\n", "program", "ns", "ratio");
	for (k = 0; k < NROWS; k++) {
		double base = k < ROW_XDP ? best[0] : best[ROW_XDP];

		if (only < 0)
			printf("  %-32s %8.1f %8.2f\n", names[k], best[k], best[k] / base);
		else if (k == only)
			printf("  %-32s %8.1f\n", names[k], best[k]);
	}
	if (only >= 0)
		goto out;
	{
		uint8_t other[2048];
		struct frame_spec os = fs;
		double b = 1e18, t1 = 1e18, t2 = 1e18, bx = 1e18, tx = 1e18, t;
		size_t on;

		os.dport = 53; /* UDP, but no rule matches */
		on = frame_build(other, &os);
		for (rep = 0; rep < 9; rep++) {
			t = run_repeat(bpf_program__fd(min->progs.min_tc), frame, n, 1000000);
			b = t >= 0 && t < b ? t : b;
			t = run_repeat(bpf_program__fd(skel->progs.wfg_egress), tcp, tn, 1000000);
			t1 = t >= 0 && t < t1 ? t : t1;
			t = run_repeat(bpf_program__fd(skel->progs.wfg_egress), other, on, 1000000);
			t2 = t >= 0 && t < t2 ? t : t2;
			t = run_repeat(bpf_program__fd(min->progs.min_xdp), other, on, 1000000);
			bx = t >= 0 && t < bx ? t : bx;
			t = run_repeat(bpf_program__fd(skel->progs.wfg_ingress), other, on,
				       1000000);
			tx = t >= 0 && t < tx ? t : tx;
		}
		printf("\nnon-matching traffic (kernel repeat loop, 10^6 runs, best of 9)\n");
		printf("  %-32s %8.1f %8.2f\n", "baseline: parse only (tc)", b, 1.0);
		printf("  %-32s %8.1f %8.2f\n", "tc: TCP", t1, t1 / b);
		printf("  %-32s %8.1f %8.2f\n", "tc: UDP, no rule matches", t2, t2 / b);
		printf("  %-32s %8.1f %8.2f\n", "baseline: parse only (xdp)", bx, 1.0);
		printf("  %-32s %8.1f %8.2f\n", "xdp: UDP, no rule matches", tx, tx / bx);
	}
	bench_tunnel(tun, bpf_program__fd(min->progs.min_tc), frame, n, repeat);
#if WFG_SHIM_LEN > 20
	bench_shim();
#endif
out:
	wfg_pool_close(&pool);
	wfguard_bpf__destroy(tun);
	wfguard_bpf__destroy(pooled);
	wfguard_bpf__destroy(skel);
	bench_min_bpf__destroy(min);
	return 0;
}
