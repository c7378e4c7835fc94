// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The core inside the kernel: tests/progs/core_check.bpf.o must pass the verifier,
 * and for the same configuration, seed and event sequence it must decide
 * exactly what the same core compiled in userspace decides (decisions and the
 * whole flow state, byte for byte). Needs root; skips otherwise.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core_check.skel.h"
#include "core_check.h"
#include "bpflog.h"
#include "bpfrun.h"
#include "presets.h"
#include "zoo.h"

static struct core_check_bpf *skel;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("BPF tests need root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)");
	wfgt_log_capture();
	skel = core_check_bpf__open_and_load();
	cr_assert_not_null(skel, "core_check.bpf.o failed to load:\n%s", wfgt_log());
}

static void teardown(void)
{
	core_check_bpf__destroy(skel);
	skel = NULL;
}

static void put_cfg(const struct wfg_side_cfg *cfg)
{
	__u32 zero = 0;

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.check_cfg), &zero, cfg, 0), 0);
}

static void kernel_run(const struct wfg_check_cmd *cmd, struct wfg_check_out *out)
{
	__u8 pkt[64] = { 0 };
	struct wfgt_run r = { .in = pkt, .len = sizeof(pkt) };
	__u32 zero = 0;
	int err;

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.check_cmd), &zero, cmd, 0), 0);
	err = wfgt_prog_run(bpf_program__fd(skel->progs.core_check), &r);
	cr_assert_eq(err, 0, "test run failed: %s", strerror(errno));
	cr_assert_eq(r.retval, 0 /* TC_ACT_OK */);
	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.check_out), &zero, out), 0);
	cr_assert_eq(out->status, 0);
}

static void kernel_flow(struct wfg_flow_side *f)
{
	__u32 zero = 0;

	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.check_flow), &zero, f), 0);
}

/* The userspace side of one command: the same calls core_check makes. */
static void user_run(const struct wfg_side_cfg *cfg, struct wfg_flow_side *f,
		     const struct wfg_check_cmd *cmd, struct wfg_decision *d)
{
	if (cmd->op < WFG_OP__COUNT)
		wfg_on(cfg, f, cmd->op, cmd->now_ns, cmd->len, (__u8)cmd->flags, d);
	else if (cmd->op == WFG_CHECK_INIT)
		wfg_flow_init(cfg, f, cmd->now_ns, cmd->key, cmd->stream);
}

/*
 * The wire helpers on decision d for a packet of len bytes, in the kernel
 * (on the decision it just made) and here: both modes must agree.
 */
static void wire_agrees(const struct wfg_side_cfg *cfg, __u32 op, __u32 len,
			const struct wfg_decision *d, int seq, int step)
{
	struct wfg_check_cmd cmd = { .op = WFG_CHECK_WIRE, .arg = op, .len = len };
	struct wfg_check_out out;
	__u32 mode, core, wire;

	for (mode = WFG_MODE_SHIM; mode <= WFG_MODE_TUNNEL; mode++) {
		cmd.flags = mode;
		kernel_run(&cmd, &out);
		core = wfg_wire_core_len(mode, cfg, op, len);
		wire = wfg_wire_len(mode, cfg, op, len, d);
		cr_assert(out.samples[WFG_CHECK_WIRE_CORE] == core &&
				  out.samples[WFG_CHECK_WIRE_LEN] == wire &&
				  out.samples[WFG_CHECK_WIRE_OBSERVED] ==
					  wfg_wire_observed_len(mode, wire, WFG_CHECK_WIRE_MTU),
			  "seq %d step %d mode %u: kernel wire lengths %u/%u/%u, userspace %u/%u",
			  seq, step, mode, out.samples[0], out.samples[1], out.samples[2], core,
			  wire);
	}
}

TestSuite(core_check, .init = setup, .fini = teardown);

Test(core_check, verifier_accepts_every_entry_point)
{
	/* setup() asserted the load; check the program is really there. */
	cr_assert_gt(bpf_program__fd(skel->progs.core_check), 0);
}

struct diff_totals {
	int total, covers, blocked, timers, episodes;
};

/*
 * 50 random sequences of 200 events, each run by the kernel's core and by
 * userspace's: decisions and flow states must be identical after every event.
 * One gap in `long_gap_every` is up to `long_gap_ns` (episode boundaries).
 */
static void run_differential(const struct wfg_side_cfg *cfg, __u64 seed, int long_gap_every,
			     __u64 long_gap_ns, struct diff_totals *t)
{
	static struct wfg_flow_side uf, kf;
	struct wfg_check_cmd cmd;
	struct wfg_check_out out;
	struct wfg_decision ud;
	__u64 rs = seed, now;
	int seq, step;

	put_cfg(cfg);
	for (seq = 0; seq < 50; seq++) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.op = WFG_CHECK_INIT;
		now = 1000000000ULL;
		cmd.now_ns = now;
		for (step = 0; step < 8; step++)
			cmd.key[step] = (__u32)wfg_splitmix64(&rs);
		cmd.stream = (__u64)seq;
		kernel_run(&cmd, &out);
		user_run(cfg, &uf, &cmd, &ud);
		ud.timer_ns = 0;
		for (step = 0; step < 200; step++, t->total++) {
			__u64 r = wfg_splitmix64(&rs);

			memset(&cmd, 0, sizeof(cmd));
			/* Half the time go to the pending deadline, else a random gap. */
			if (ud.timer_ns && ud.timer_ns >= now && (r & 1)) {
				now = ud.timer_ns;
				cmd.op = WFG_OP_TIMER;
				t->timers++;
			} else {
				if (long_gap_every && (r >> 48) % (__u64)long_gap_every == 0)
					now += (r >> 8) % long_gap_ns;
				else
					now += (r >> 8) % 3000000;
				switch ((r >> 4) % 4) {
				case 0:
				case 1:
					cmd.op = WFG_OP_SEND_REAL;
					cmd.len = 40 + (__u32)((r >> 32) % 1300);
					break;
				case 2:
					cmd.op = (r >> 40) & 1 ? WFG_OP_RECV_PADDING
							       : WFG_OP_RECV_NORMAL;
					break;
				default:
					cmd.op = WFG_OP_SEND_COVER;
					cmd.flags = (r >> 40) & 1 ? WFG_ACT_F_BYPASS : 0;
					cmd.len = 100;
					break;
				}
			}
			cmd.now_ns = now;
			kernel_run(&cmd, &out);
			user_run(cfg, &uf, &cmd, &ud);
			cr_assert_eq(
				memcmp(&out.d, &ud, sizeof(ud)), 0,
				"seq %d step %d op %u: kernel decision differs (depart %llu/%llu "
				"timer %llu/%llu pad %u/%u covers %u/%u flags %x/%x)",
				seq, step, cmd.op, (unsigned long long)out.d.depart_ns,
				(unsigned long long)ud.depart_ns,
				(unsigned long long)out.d.timer_ns, (unsigned long long)ud.timer_ns,
				out.d.pad_to, ud.pad_to, out.d.covers, ud.covers, out.d.flags,
				ud.flags);
			kernel_flow(&kf);
			cr_assert_eq(memcmp(&kf, &uf, sizeof(uf)), 0,
				     "seq %d step %d: kernel flow state differs", seq, step);
			/* The wire helpers on this decision: for the length sent and for
			 * one near the tunnel MTU, where WireGuard's padding is capped. */
			if (cmd.op == WFG_OP_SEND_REAL || cmd.op == WFG_OP_SEND_COVER) {
				wire_agrees(cfg, cmd.op, cmd.len, &ud, seq, step);
				wire_agrees(cfg, cmd.op, 1380 + cmd.len % 60, &ud, seq, step);
			}
			t->covers += (int)ud.covers;
			t->blocked += !!(ud.flags & WFG_DEC_BLOCKED);
			t->episodes += !!(ud.flags & WFG_DEC_EPISODE);
		}
	}
}

Test(core_check, differential_random_sequences)
{
	static struct wfg_side_cfg cfg;
	struct diff_totals t = { 0 };

	zoo_kitchen_sink(&cfg);
	run_differential(&cfg, 12345, 0, 0, &t);
	/* The sequences must have exercised the interesting paths. */
	cr_assert_eq(t.total, 10000);
	cr_assert_gt(t.covers, 100, "only %d covers in 10^4 events", t.covers);
	cr_assert_gt(t.blocked, 10, "only %d blocked packets", t.blocked);
	cr_assert_gt(t.timers, 500, "only %d timer events", t.timers);
	/* Episodes off, but the pacer's page (idle_stop 20 ms) ends them. */
	cr_assert_gt(t.episodes, 10, "only %d ends of the pacer's schedule", t.episodes);
}

/* The same with episodes: idle 4 ms, one gap in 8 up to 12 ms. */
Test(core_check, differential_across_episode_boundaries)
{
	static struct wfg_side_cfg cfg;
	struct diff_totals t = { 0 };

	zoo_kitchen_sink(&cfg);
	cfg.episode_idle_ns = 4000000;
	run_differential(&cfg, 777, 8, 12000000, &t);
	cr_assert_eq(t.total, 10000);
	cr_assert_gt(t.episodes, 200, "only %d episode boundaries", t.episodes);
	cr_assert_gt(t.covers, 100, "only %d covers in 10^4 events", t.covers);
}

/*
 * RegulaTor's two sides at a millisecond scale: the server's start phase and
 * decaying schedule, the client's follow-mode slots and delay cap, all of
 * which run on receive events and timers as well as on sends.
 */
Test(core_check, differential_regulator_sides)
{
	static struct wfg_side_cfg cfg;
	static struct wfg_side_builder sb;
	struct wfg_regulator_params p;
	int role;

	wfg_regulator_defaults(&p);
	p.R = 2000;
	p.D = 0.5;
	p.T = 0.004;
	p.N = 60;
	p.C = 0.002;
	p.start_packets = 3;
	p.idle_stop = 0.02;
	for (role = 0; role < 2; role++) {
		struct diff_totals t = { 0 };

		wfg_sb_init(&sb, &cfg);
		zoo_check(&sb,
			  wfg_preset_regulator(&sb, role ? WFG_ROLE_SERVER : WFG_ROLE_CLIENT, &p),
			  "regulator");
		cfg.episode_idle_ns = 8000000;
		zoo_check(&sb, wfg_sb_finish(&sb), "finish");
		run_differential(&cfg, 4242 + (__u64)role, 8, 12000000, &t);
		cr_assert_gt(t.covers, 100, "role %d: only %d covers", role, t.covers);
		cr_assert_gt(t.timers, 500, "role %d: only %d timer events", role, t.timers);
		cr_assert_gt(t.episodes, 20, "role %d: only %d episodes", role, t.episodes);
	}
}

Test(core_check, dist_and_shape_match_userspace)
{
	static struct wfg_side_cfg cfg;
	static struct wfg_flow_side uf;
	struct wfg_check_cmd cmd = { .op = WFG_CHECK_INIT, .now_ns = 1, .stream = 9 };
	struct wfg_check_out out;
	struct wfg_decision ud;
	__u32 i, len;

	zoo_kitchen_sink(&cfg);
	put_cfg(&cfg);
	kernel_run(&cmd, &out);
	user_run(&cfg, &uf, &cmd, &ud);
	memset(&cmd, 0, sizeof(cmd));
	cmd.op = WFG_CHECK_DIST;
	cmd.len = cfg.front.exp_table;
	kernel_run(&cmd, &out);
	for (i = 0; i < WFG_CHECK_SAMPLES; i++) {
		struct wfg_dist_ref ref = { .table = (__u16)cfg.front.exp_table };

		cr_assert_eq(out.samples[i], wfg_dist_sample(&cfg, &ref, &uf.mr.rng), "sample %u",
			     i);
	}
	for (len = 1; len < 1500; len += 37) {
		cmd.op = WFG_CHECK_SHAPE;
		cmd.len = len;
		kernel_run(&cmd, &out);
		cr_assert_eq(out.d.pad_to, wfg_shape_target(&cfg.shape, len, &uf.mr.rng), "len %u",
			     len);
	}
}
