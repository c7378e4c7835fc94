// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Defence pools on the data path against the core's replay: the programs
 * (loaded with the test clock) run a policy with a pool of 64 entries; flows
 * send real packets with pauses longer than the episode time, so every pause
 * begins an episode that draws an entry. After every packet the kernel flow's
 * entry (wfg_flow_side.defence) and its whole core state equal what the core
 * compiled in userspace draws and decides for the same flow key and clock:
 * the harness's replay (bench/replay.c) makes these same calls. Needs root.
 */
#include <criterion/criterion.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfrun.h"
#include "pkt.h"
#include "wfguard.skel.h"
#include "wfguard/flowkey.h"
#include "zoo.h"

#define MAXF	 2048
#define PORT	 4433
#define NPOOL	 64
#define FLOWS	 6
#define EPISODES 40

static struct wfguard_bpf *skel;
static struct wfg_policy pol;
static struct wfg_side_cfg pool[NPOOL];
static struct wfg_ctl ctl = { .keys = { { 5, 6 }, { 7, 8 } } };

/* Entries that differ in what they do (FRONT's cover count), so a wrong entry shows in the state
 * too. */
static void make_pool(void)
{
	int i;

	for (i = 0; i < NPOOL; i++) {
		zoo_kitchen_sink(&pool[i]);
		pool[i].episode_idle_ns = 500000000ULL;
		pool[i].front.max_covers = 10 + (__u32)i;
	}
}

static void setup(void)
{
	__u32 zero = 0, k;
	int i;

	if (geteuid() != 0)
		cr_skip_test("BPF tests need root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)");
	libbpf_set_print(NULL);
	skel = wfguard_bpf__open();
	cr_assert_not_null(skel);
	skel->rodata->wfg_test_clock = 1;
	/* sized as the loader sizes it for a pool of NPOOL (entry 0 is the policy's side) */
	cr_assert_eq(
		bpf_map__set_max_entries(skel->maps.wfg_defpool, WFG_POLICY_SLOTS * (NPOOL - 1)),
		0);
	cr_assert_eq(wfguard_bpf__load(skel), 0, "wfguard.bpf.o failed to load");
	make_pool();
	pol.side = pool[0];
	pol.pool_size = NPOOL;
	pol.pool_base = 0;
	pol.generation = 1;
	pol.nrules = 1;
	pol.rules[0].lport_hi = 65535;
	pol.rules[0].rport_lo = pol.rules[0].rport_hi = PORT;
	for (i = 0; i < 8; i++)
		ctl.master[i] = 0x5eed0000u + (__u32)i * 31;
	for (i = 1; i < NPOOL; i++) {
		k = (__u32)i - 1;
		cr_assert_eq(
			bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_defpool), &k, &pool[i], 0),
			0);
	}
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_policy), &zero, &pol, 0), 0);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.wfg_ctl), &zero, &ctl, 0), 0);
}

static void teardown(void)
{
	wfguard_bpf__destroy(skel);
}

TestSuite(defpool, .init = setup, .fini = teardown);

/* The userspace core's call for a real packet sent at now, as the replay makes it. */
static void core_send(struct wfg_flow_side *uf, __u64 now, __u32 len, struct wfg_decision *d)
{
	wfg_defpool_turn(&pool[uf->defence], uf, WFG_OP_SEND_REAL, now, NPOOL);
	wfg_on_send(&pool[uf->defence], uf, now, len + WFG_SHIM_LEN, WFG_SEND_REAL, 0, d);
}

Test(defpool, episodes_draw_the_entries_the_core_replays)
{
	static struct wfg_flow_side uf;
	static struct wfg_flow kf;
	uint8_t in[MAXF], out[MAXF];
	int seen[NPOOL] = { 0 }, distinct = 0, draws = 0, fl, ep, pk, i;
	__u64 now, rs = 99;

	for (fl = 0; fl < FLOWS; fl++) {
		__u16 cport = (__u16)(30000 + fl);
		struct wfg_flow_key key = { .family = 4,
					    .lport = htons(cport),
					    .rport = htons(PORT) };

		memcpy(key.laddr, frame_src4, 4);
		memcpy(key.raddr, frame_dst4, 4);
		now = 7000000000ULL + (__u64)fl * 1000000000000ULL;
		for (ep = 0; ep < EPISODES; ep++) {
			now += 1000000000ULL; /* past the episode time: a new episode */
			for (pk = 0; pk < 3; pk++) {
				size_t len = 100 + wfg_splitmix64(&rs) % 900;
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
				struct wfg_decision d;

				now += 1000000ULL;
				skel->bss->wfg_test_now = now;
				if (ep == 0 && pk == 0) {
					__u32 keymat[8];

					wfg_flow_key_material(ctl.master, &key, now, 0, keymat);
					wfg_flow_seed(&uf, keymat, wfg_flow_stream(&key));
					wfg_defpool_first(&uf, NPOOL);
					wfg_flow_start(&pool[uf.defence], &uf, now);
				}
				memset(in + 1024, (int)len, len);
				o.len = frame_build(in, &fs);
				cr_assert_eq(
					wfgt_prog_run(bpf_program__fd(skel->progs.wfg_egress), &o),
					0);
				core_send(&uf, now, (__u32)len, &d);
				cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.wfg_flows),
								 &key, &kf),
					     0);
				cr_assert_eq(
					kf.st.side.defence, uf.defence,
					"flow %d episode %d: data path ran entry %u, the core's "
					"replay drew %u",
					fl, ep, kf.st.side.defence, uf.defence);
				cr_assert_eq(memcmp(&kf.st.side, &uf, sizeof(uf)), 0,
					     "flow %d episode %d packet %d: state differs", fl, ep,
					     pk);
			}
			cr_assert_eq(uf.episodes, (__u32)ep + 1);
			draws++;
			if (!seen[uf.defence]++)
				distinct++;
		}
	}
	/* 240 uniform draws from 64 leave an entry unseen with probability
	 * (63/64)^240 ~ 2%: expect ~62 distinct; a stuck or narrow draw gives few. */
	cr_assert_eq(draws, FLOWS * EPISODES);
	cr_assert_gt(distinct, 48, "only %d of %d entries drawn in %d episodes", distinct, NPOOL,
		     draws);
	for (i = 0; i < NPOOL; i++)
		cr_assert_lt(seen[i], 20, "entry %d drawn %d times of %d", i, seen[i], draws);
}
