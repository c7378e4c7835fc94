// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Equivalence: a synthetic page load replayed by the harness (wfbench's
 * engine) and the same sequence of client events pushed through the data
 * path programs (test clock) give the same shaped sizes, cover requests and
 * departure times, packet for packet. The client runs RegulaTor's client side
 * (shaping plus a machine that pads at packet events); timers are not part
 * of this comparison (the test clock leaves them unarmed; core_check's
 * differential covers them). Needs root; skips otherwise.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "generate.h"
#include "bpfrun.h"
#include "pkt.h"
#include "side_build.h"
#include "replay.h"
#include "wfguard.skel.h"
#include "wfguard/flowkey.h"

#define MAXF  2048
#define PORT  4433
#define CPORT 5000

struct logged {
	enum wfg_core_op op;
	uint64_t now;
	uint32_t len;
	uint8_t flags;
	struct wfg_decision d;
};

static struct logged *events;
static size_t nevents, capevents;

static void log_cb(void *arg, int server, enum wfg_core_op op, uint64_t now, uint32_t len,
		   uint8_t flags, const struct wfg_decision *d)
{
	(void)arg;
	if (server)
		return;
	if (nevents == capevents) {
		capevents = capevents ? capevents * 2 : 1024;
		events = realloc(events, capevents * sizeof(*events));
		cr_assert_not_null(events);
	}
	events[nevents++] =
		(struct logged){ .op = op, .now = now, .len = len, .flags = flags, .d = *d };
}

static int ring_count(void *ctx, void *data, size_t len)
{
	const struct wfg_cover_req *r = data;

	if (len == sizeof(*r))
		*(unsigned *)ctx += r->count;
	return 0;
}

Test(replay_bpf, harness_and_data_path_agree)
{
	static struct wfg_side_cfg cli, srv;
	static struct wfg_policy pol;
	static struct wfg_side_builder sb;
	struct wfg_ctl ctl = { .keys = { { 21, 22 }, { 23, 24 } } };
	struct wfg_machine_limits lim = { .allowed_padding_packets = ~0ULL };
	struct wfg_action_spec pad = { .kind = WFG_ACT_PADDING,
				       .replace = 1,
				       .timeout = wfg_dist_const(0),
				       .has_limit = 1,
				       .limit = { .kind = WFG_DK_UNIFORM, .p = { 1, 3 } } };
	int s0, s1;
	struct wfb_gen_opts g = { .sites = 4, .instances = 2, .seed = 3 };
	struct wfb_replay_opts o = { .delay_ns = 20000000, .unknown_size = 514 };
	struct wfg_flow_key key = { .family = 4, .lport = htons(CPORT), .rport = htons(PORT) };
	struct wfb_trace in, out;
	struct wfb_overhead ov;
	struct wfguard_bpf *skel;
	struct ring_buffer *rb;
	__u32 keymat[8], zero = 0;
	unsigned ring = 0;
	size_t i, sends = 0, covers = 0, recvs = 0;
	int k;

	if (geteuid() != 0)
		cr_skip_test("BPF tests need root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)");
	/* The sides: a shaping, padding client; an undefended server. */
	wfg_sb_init(&sb, &cli);
	cli.shape.mode = WFG_SHAPE_BUCKETS;
	cli.shape.nbuckets = 3;
	cli.shape.buckets[0] = 200;
	cli.shape.buckets[1] = 800;
	cli.shape.buckets[2] = 1400;
	cli.shape.max = 1500;
	cli.cover_size = 800;
	cr_assert_geq(wfg_sb_machine(&sb, &lim), 0);
	s0 = wfg_sb_state(&sb);
	s1 = wfg_sb_state(&sb);
	cr_assert_eq(wfg_sb_trans(&sb, s0, WFG_EV_NORMAL_RECV, (__u32)s1, 0.3), 0);
	cr_assert_eq(wfg_sb_action(&sb, s1, &pad), 0, "%s", sb.err);
	cr_assert_eq(wfg_sb_trans(&sb, s1, WFG_EV_LIMIT_REACHED, (__u32)s0, 1.0), 0);
	cr_assert_eq(wfg_sb_trans(&sb, s1, WFG_EV_NORMAL_RECV, (__u32)s1, 0.5), 0);
	cr_assert_eq(wfg_sb_finish(&sb), 0, "%s", sb.err);
	wfg_sb_init(&sb, &srv);
	cr_assert_eq(wfg_sb_finish(&sb), 0);
	for (k = 0; k < 8; k++)
		ctl.master[k] = 0x5150u + (__u32)k;
	memcpy(key.laddr, frame_src4, 4);
	memcpy(key.raddr, frame_dst4, 4);
	/* The kernel creates the flow at the first packet (trace time 0): same key. */
	wfg_flow_key_material(ctl.master, &key, WFB_REPLAY_BASE_NS, 0, keymat);
	o.client_key = keymat;
	o.client_stream = wfg_flow_stream(&key);
	o.log = log_cb;

	wfb_trace_init(&in);
	wfb_trace_init(&out);
	cr_assert_eq(wfb_gen_trace(&g, 1, 0, &in), 0);
	cr_assert(in.n > 100 && in.pkts[0].time_ns == 0 && in.pkts[0].dir == WFB_OUT,
		  "the page load must start with a client packet at 0");
	cr_assert_eq(wfb_replay(&cli, &srv, &in, &o, &out, &ov), 0);

	libbpf_set_print(NULL);
	skel = wfguard_bpf__open();
	cr_assert_not_null(skel);
	skel->rodata->wfg_test_clock = 1;
	cr_assert_eq(wfguard_bpf__load(skel), 0);
	pol.side = cli;
	pol.generation = 1;
	pol.nrules = 1;
	pol.rules[0].lport_hi = 65535;
	pol.rules[0].rport_lo = pol.rules[0].rport_hi = PORT;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.wfg_covers), ring_count, &ring, NULL);
	cr_assert_not_null(rb);

	for (i = 0; i < nevents; i++) {
		const struct logged *e = &events[i];
		uint8_t pl[1500] = { 0 }, f[MAXF], outf[MAXF];
		struct frame_spec fs = { .family = 4, .proto = 17, .payload = pl };
		struct __sk_buff ctx = { 0 };
		struct wfgt_run t = { .in = f, .out = outf, .out_size = MAXF };
		const char *why = "";
		long got;
		size_t n;

		cr_assert_neq(e->op, WFG_OP_TIMER, "this policy has no timers on the client");
		cr_assert_neq(e->op, WFG_OP_RECV_PADDING, "the server sends no covers");
		skel->bss->wfg_test_now = e->now;
		ring = 0;
		if (e->op == WFG_OP_RECV_NORMAL) {
			fs.reverse = 1;
			fs.sport = PORT;
			fs.dport = CPORT;
			fs.len = e->len;
			n = frame_build(f, &fs);
			t.len = n;
			cr_assert_eq(wfgt_prog_run(bpf_program__fd(skel->progs.wfg_ingress), &t),
				     0);
			cr_assert_eq(t.retval, XDP_PASS);
			recvs++;
		} else {
			fs.sport = CPORT;
			fs.dport = PORT;
			fs.len = e->op == WFG_OP_SEND_REAL ? e->len : 1;
			n = frame_build(f, &fs);
			ctx.mark = e->op == WFG_OP_SEND_COVER ? WFG_MARK_CARRIER | e->flags : 0;
			t.len = n;
			t.skb = &ctx;
			cr_assert_eq(wfgt_prog_run(bpf_program__fd(skel->progs.wfg_egress), &t), 0);
			got = frame_check_udp(outf, t.out_len, &why);
			cr_assert_geq(got, 0, "event %zu: %s", i, why);
			if (e->op == WFG_OP_SEND_REAL && (e->d.flags & WFG_DEC_UNSHAPED))
				cr_assert_eq(got, (long)e->len, "event %zu: unshaped size", i);
			else
				cr_assert_eq(
					got, (long)e->d.pad_to,
					"event %zu (%s at %llu): data path %ld bytes, harness %u",
					i, e->op == WFG_OP_SEND_REAL ? "send" : "cover",
					(unsigned long long)e->now, got, e->d.pad_to);
			cr_assert_eq(ctx.tstamp, e->d.depart_ns > e->now ? e->d.depart_ns : 0,
				     "event %zu: departure", i);
			if (e->op == WFG_OP_SEND_REAL)
				sends++;
			else
				covers++;
		}
		ring_buffer__consume(rb);
		cr_assert_eq(ring, e->d.covers, "event %zu: data path asked %u covers, harness %u",
			     i, ring, e->d.covers);
	}
	cr_assert_gt(sends, 50);
	cr_assert_gt(recvs, 50);
	cr_assert_gt(covers, 10, "the machine must have padded (%zu covers)", covers);
	ring_buffer__free(rb);
	wfguard_bpf__destroy(skel);
	wfb_trace_free(&in);
	wfb_trace_free(&out);
	free(events);
}
