// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Differential: the data path programs themselves (loaded with the test
 * clock) against the core compiled in userspace. 50 flows x 200 random
 * packets (sent, received plain, received padded, received covers): after
 * every packet the flow's core state in the kernel map equals the userspace
 * core's byte for byte, and the output frame's size and EDT timestamp are
 * what the userspace decision says. Needs root; skips otherwise.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "bpfrun.h"
#include "pkt.h"
#include "wfguard.skel.h"
#include "wfguard/flowkey.h"
#include "zoo.h"

#define MAXF 2048
#define PORT 4433

static struct wfguard_bpf *skel;
static struct wfg_policy pol;
static struct wfg_ctl ctl = { .keys = { { 5, 6 }, { 7, 8 } } };

static void setup(void)
{
	__u32 zero = 0;
	int i;

	if (geteuid() != 0)
		cr_skip_test("BPF tests need root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)");
	libbpf_set_print(NULL);
	skel = wfguard_bpf__open();
	cr_assert_not_null(skel);
	skel->rodata->wfg_test_clock = 1;
	cr_assert_eq(wfguard_bpf__load(skel), 0,
		     "wfguard.bpf.o failed to load with the test clock");
	zoo_kitchen_sink(&pol.side);
	pol.generation = 1;
	pol.nrules = 1;
	pol.rules[0].lport_hi = 65535;
	pol.rules[0].rport_lo = pol.rules[0].rport_hi = PORT;
	for (i = 0; i < 8; i++)
		ctl.master[i] = 0xabc00000u + (__u32)i * 77;
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);
}

static void teardown(void)
{
	wfguard_bpf__destroy(skel);
}

TestSuite(datapath_diff, .init = setup, .fini = teardown);

/* A frame from the server (port 4433) to the client port; optionally shimmed. */
static size_t peer_frame(uint8_t *f, __u16 cport, size_t len, int kind, __u64 nonce)
{
	static uint8_t pl[1500];
	struct frame_spec fs = { .family = 4,
				 .proto = 17,
				 .sport = PORT,
				 .dport = cport,
				 .reverse = 1,
				 .payload = pl,
				 .len = len };
	static __u64 peer_seq = 1000;
	struct wfg_shim_trailer t;
	struct wfg_shim_hdr h;
	size_t n, i;

	for (i = 0; i < len; i++)
		pl[i] = (uint8_t)(i * 3 + nonce);
	if (kind == 0)
		return frame_build(f, &fs);
	/* kind 1: padded to len + 100, kind 2: a cover of len + 100 */
	fs.len = len + 100;
	n = frame_build(f, &fs); /* checksum recomputed below is not needed by XDP */
	/* Sealed as the peer would: its addresses, ports, body, and the next
	 * number of its direction (one counter: the window is per flow, and a
	 * number never repeats across flows either). */
	memset(&h, 0, sizeof(h));
	memcpy(h.saddr, f + 14 + 12, 4);
	memcpy(h.daddr, f + 14 + 16, 4);
	h.family = 4;
	h.sport = htons(PORT);
	h.dport = htons(cport);
	h.wire_len = (__u16)fs.len;
	wfg_shim_seal(&ctl.keys[0], &t, nonce, ++peer_seq, &h, f + 42,
		      kind == 1 ? (__u16)len : WFG_SHIM_COVER_LEN, 0x1234);
	memcpy(f + n - WFG_SHIM_LEN, &t, sizeof(t));
	return n;
}

Test(datapath_diff, programs_decide_like_the_userspace_core)
{
	static struct wfg_flow_side uf;
	static struct wfg_flow kf;
	uint8_t in[MAXF], out[MAXF];
	__u64 rs = 777, now;
	int seq, step, events = 0, delayed = 0, padded = 0, recv_pad = 0;

	for (seq = 0; seq < 50; seq++) {
		__u16 cport = (__u16)(20000 + seq);
		struct wfg_flow_key key = { .family = 4,
					    .lport = htons(cport),
					    .rport = htons(PORT) };
		int started = 0;

		memcpy(key.laddr, frame_src4, 4);
		memcpy(key.raddr, frame_dst4, 4);
		now = 5000000000ULL + (__u64)seq * 1000000000ULL;
		for (step = 0; step < 200; step++, events++) {
			__u64 r = wfg_splitmix64(&rs);
			struct wfg_decision d;
			__u32 zero = 0;
			int kind = (int)((r >> 8) % 4);
			size_t len = 1 + (r >> 16) % 1200, n;

			now += (r >> 32) % 2000000;
			skel->bss->wfg_test_now = now;
			if (!started) {
				__u32 keymat[8];

				wfg_flow_key_material(ctl.master, &key, now, 0, keymat);
				wfg_flow_init(&pol.side, &uf, now, keymat, wfg_flow_stream(&key));
				started = 1;
			}
			if (kind <= 1) {
				struct frame_spec fs = { .family = 4,
							 .proto = 17,
							 .sport = cport,
							 .dport = PORT,
							 .payload = in + 1024,
							 .len = len };
				struct __sk_buff ctx = { 0 };
				struct wfgt_run o = {
					.in = in, .out = out, .out_size = MAXF, .skb = &ctx
				};
				const char *why = "";
				long got;

				memset(in + 1024, (int)r, len);
				n = frame_build(in, &fs);
				o.len = n;
				cr_assert_eq(
					wfgt_prog_run(bpf_program__fd(skel->progs.wfg_egress), &o),
					0);
				wfg_on_send(&pol.side, &uf, now, (__u32)len + WFG_SHIM_LEN,
					    WFG_SEND_REAL, 0, &d);
				got = frame_check_udp(out, o.out_len, &why);
				cr_assert_geq(got, 0, "%s", why);
				if (d.flags & WFG_DEC_UNSHAPED)
					cr_assert_eq(got, (long)len);
				else
					cr_assert_eq(got, (long)d.pad_to,
						     "seq %d step %d: wire %ld, core %u", seq, step,
						     got, d.pad_to);
				padded += got > (long)len;
				cr_assert_eq(ctx.tstamp, d.depart_ns > now ? d.depart_ns : 0,
					     "seq %d step %d: tstamp", seq, step);
				delayed += d.depart_ns > now;
			} else {
				struct wfgt_run o = { .in = in, .out = out, .out_size = MAXF };
				int pk = kind == 2 ? (int)((r >> 40) % 2) : 2;

				n = peer_frame(in, cport, len, pk, r);
				o.len = n;
				cr_assert_eq(
					wfgt_prog_run(bpf_program__fd(skel->progs.wfg_ingress), &o),
					0);
				cr_assert_eq(o.retval, pk == 2 ? XDP_DROP : XDP_PASS);
				wfg_on_recv(&pol.side, &uf, now, pk == 2, &d);
				recv_pad += pk == 2;
			}
			cr_assert_eq(
				bpf_map_lookup_elem(bpf_map__fd(skel->maps.wfg_flows), &key, &kf),
				0);
			cr_assert_eq(
				memcmp(&kf.st.side, &uf, sizeof(uf)), 0,
				"seq %d step %d: kernel flow state differs from the userspace core",
				seq, step);
			(void)zero;
		}
	}
	cr_assert_eq(events, 10000);
	cr_assert_gt(delayed, 1000, "paced/blocked packets: %d", delayed);
	cr_assert_gt(padded, 1000);
	cr_assert_gt(recv_pad, 500);
}
