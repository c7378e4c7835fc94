// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy files (user/lib/policy.c): every schema element compiles to the
 * expected core fields (tests/policies/good/), every broken file in
 * tests/policies/bad/ fails with the first error its first line announces
 * ("# expect: LINE:COL: message"), the examples compile, and nothing is
 * written on error. Run from the repository root.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define GOOD "tests/policies/good/"
#define BAD  "tests/policies/bad/"

static struct wfg_compiled_policy *cp;
static struct wfg_diags diags;

static void setup(void)
{
	cp = calloc(1, sizeof(*cp));
	cr_assert(cp);
	memset(&diags, 0, sizeof(diags));
}

static void teardown(void)
{
	free(cp);
}

TestSuite(policy, .init = setup, .fini = teardown);

static void load_ok(const char *path)
{
	int rc = wfg_policy_load(path, cp, &diags), i;

	for (i = 0; i < diags.n; i++)
		cr_log_error("%s", diags.d[i].msg);
	cr_assert_eq(rc, 0, "%s does not compile: %s", path, diags.n ? diags.d[0].msg : "?");
	cr_assert_eq(diags.n, 0);
	cr_assert_eq(diags.truncated, 0);
}

static void load_mem_ok(const char *text)
{
	int rc = wfg_policy_load_mem("mem.yaml", text, strlen(text), cp, &diags);

	cr_assert_eq(rc, 0, "does not compile: %s", diags.n ? diags.d[0].msg : "?");
}

/* The .yaml files of a directory, sorted; returns the count. */
static int list_yaml(const char *dir, char names[][256], int max)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	cr_assert(d, "cannot open %s (run the tests from the repository root)", dir);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".yaml") && n < max)
			snprintf(names[n++], 256, "%s%s", dir, de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
	return n;
}

static const struct wfg_state *state(const struct wfg_side_cfg *s, int machine, int st)
{
	cr_assert_lt((__u32)machine, s->nmachines);
	cr_assert_lt((__u32)st, s->machines[machine].state_count);
	return &s->states[s->machines[machine].state_first + st];
}

static const struct wfg_trans *trans(const struct wfg_side_cfg *s, const struct wfg_state *st,
				     enum wfg_event ev, int k)
{
	cr_assert_lt(k, st->trans_count[ev]);
	return &s->trans[st->trans_first[ev] + k];
}

/* Inclusive u32 threshold of a cumulative probability, as the core stores it. */
static __u32 cum(double p)
{
	return p >= 1.0 ? 0xffffffffu : (__u32)(p * 4294967296.0 + 0.5) - 1;
}

static int side_eq(const struct wfg_side_cfg *a, const struct wfg_side_cfg *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* ---------------------------------------------------------------- good corpus */

Test(policy, minimal_defaults)
{
	const struct wfg_rule *r;
	int s;

	load_ok(GOOD "minimal.yaml");
	cr_assert_eq(cp->role, WFG_ROLE_SERVER);
	cr_assert_eq(cp->dp.nrules, 1);
	r = &cp->dp.rules[0];
	cr_assert_eq(r->family, 0);
	cr_assert_eq(r->local_prefix, 0);
	cr_assert_eq(r->remote_prefix, 0);
	cr_assert_eq(r->lport_lo, 0);
	cr_assert_eq(r->lport_hi, 65535);
	cr_assert_eq(r->rport_lo, 0);
	cr_assert_eq(r->rport_hi, 65535);
	cr_assert_eq(cp->dp.profile, WFG_PROFILE_GENERIC);
	cr_assert_eq(cp->dp.quic_dcid_len, 0);
	cr_assert_str_empty(cp->keys_path);
	cr_assert_eq(cp->max_flows, 65536);
	for (s = 0; s < 2; s++) {
		cr_assert_eq(wfg_policy_side(cp, s)->nmachines, 0);
		cr_assert_eq(wfg_policy_side(cp, s)->shape.mode, WFG_SHAPE_NONE);
		cr_assert_eq(wfg_policy_side(cp, s)->shape.max, 0);
		cr_assert_eq(wfg_policy_side(cp, s)->cover_size, 0);
		cr_assert_eq(wfg_policy_side(cp, s)->front.max_covers, 0);
		cr_assert_eq(wfg_policy_side(cp, s)->pace.mode, WFG_PACE_NONE);
		cr_assert_eq(wfg_policy_side(cp, s)->max_padding_frac, 0);
		cr_assert_eq(wfg_policy_side(cp, s)->max_blocking_frac, 0);
	}
	cr_assert(side_eq(&cp->dp.side, wfg_policy_side(cp, WFG_ROLE_SERVER)));
	cr_assert(strstr(cp->summary, "role: server"), "%s", cp->summary);
}

Test(policy, match_rules)
{
	static const __u8 v4_10[16] = { 10 }, v4_host[16] = { 192, 0, 2, 1 };
	static const __u8 v6_net[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01 };
	const struct wfg_rule *r = cp->dp.rules;

	load_ok(GOOD "match.yaml");
	cr_assert_eq(cp->role, WFG_ROLE_CLIENT);
	cr_assert(side_eq(&cp->dp.side, wfg_policy_side(cp, WFG_ROLE_CLIENT)));
	cr_assert_eq(cp->dp.nrules, 4);
	cr_assert_eq(r[0].family, 4);
	cr_assert_arr_eq(r[0].local, v4_10, 16);
	cr_assert_eq(r[0].local_prefix, 8);
	cr_assert_arr_eq(r[0].remote, v4_host, 16);
	cr_assert_eq(r[0].remote_prefix, 32, "a bare address is a /32");
	cr_assert_eq(r[0].lport_lo, 443);
	cr_assert_eq(r[0].lport_hi, 443);
	cr_assert_eq(r[0].rport_lo, 1024);
	cr_assert_eq(r[0].rport_hi, 65535);
	cr_assert_eq(r[1].family, 6, "family from the address");
	cr_assert_arr_eq(r[1].local, v6_net, 16);
	cr_assert_eq(r[1].local_prefix, 48);
	cr_assert_eq(r[1].rport_lo, 0);
	cr_assert_eq(r[1].rport_hi, 65535);
	cr_assert_eq(r[2].family, 6);
	cr_assert_eq(r[2].remote_prefix, 0);
	cr_assert_eq(r[2].lport_lo, 51820, "a quoted port");
	cr_assert_eq(r[2].lport_hi, 51820);
	cr_assert_eq(r[3].family, 4, "0.0.0.0/0 still means IPv4");
	cr_assert_eq(r[3].remote_prefix, 0);
}

Test(policy, shim_quic_and_relative_keys)
{
	load_ok(GOOD "shim-quic.yaml");
	cr_assert_eq(cp->dp.profile, WFG_PROFILE_QUIC);
	cr_assert_eq(cp->dp.quic_dcid_len, 20);
	cr_assert_str_eq(cp->keys_path, "tests/policies/good/keys/wfguard.keys");
	cr_assert_eq(cp->max_flows, 1000);
}

/* Flows learn their connection id length; the policy's is only the fallback. */
Test(policy, shim_quic_without_a_length_takes_the_default)
{
	load_ok(GOOD "shim-quic-learn.yaml");
	cr_assert_eq(cp->dp.profile, WFG_PROFILE_QUIC);
	cr_assert_eq(cp->dp.quic_dcid_len, WFG_QUIC_DCID_LEN_DEFAULT);
	cr_assert(strstr(cp->summary, "learnt per flow; 8 bytes until then"), "%s", cp->summary);
}

Test(policy, shim_wireguard_absolute_keys)
{
	load_ok(GOOD "shim-wireguard.yaml");
	cr_assert_eq(cp->dp.profile, WFG_PROFILE_WIREGUARD);
	cr_assert_str_eq(cp->keys_path, "/etc/wfguard/keys");
	cr_assert_eq(cp->max_flows, 16);
}

Test(policy, load_mem_keeps_relative_keys)
{
	load_mem_ok("version: 1\nmatch: [{}]\nshim: {keys: k.txt}\n");
	cr_assert_str_eq(cp->keys_path, "k.txt");
}

Test(policy, shape_modes)
{
	int s;

	load_ok(GOOD "shape-pad-to.yaml");
	for (s = 0; s < 2; s++) {
		cr_assert_eq(wfg_policy_side(cp, s)->shape.mode, WFG_SHAPE_PAD_TO);
		cr_assert_eq(wfg_policy_side(cp, s)->shape.size, 1200);
		cr_assert_eq(wfg_policy_side(cp, s)->shape.max, 1300);
		cr_assert_eq(wfg_policy_side(cp, s)->cover_size, 1000);
	}
	load_ok(GOOD "shape-multiple.yaml");
	cr_assert_eq(wfg_policy_side(cp, 0)->shape.mode, WFG_SHAPE_MULTIPLE);
	cr_assert_eq(wfg_policy_side(cp, 0)->shape.size, 512);
	cr_assert_eq(wfg_policy_side(cp, 1)->shape.size, 512);
	load_ok(GOOD "shape-padme.yaml");
	cr_assert_eq(wfg_policy_side(cp, 0)->shape.mode, WFG_SHAPE_PADME);
	cr_assert_eq(wfg_policy_side(cp, 1)->shape.mode, WFG_SHAPE_PADME);
	load_ok(GOOD "shape-random.yaml");
	cr_assert_eq(wfg_policy_side(cp, 1)->shape.mode, WFG_SHAPE_RANDOM);
	cr_assert_eq(wfg_policy_side(cp, 1)->shape.lo, 300);
	cr_assert_eq(wfg_policy_side(cp, 1)->shape.hi, 1400);
	load_ok(GOOD "shape-limit-only.yaml");
	cr_assert_eq(wfg_policy_side(cp, 0)->shape.mode, WFG_SHAPE_NONE);
	cr_assert_eq(wfg_policy_side(cp, 0)->shape.max, 1400);
}

Test(policy, shape_buckets)
{
	static const __u32 want[8] = { 64, 128, 256, 512, 768, 1024, 1280, 1452 };
	int s;

	load_ok(GOOD "shape-buckets.yaml");
	for (s = 0; s < 2; s++) {
		cr_assert_eq(wfg_policy_side(cp, s)->shape.mode, WFG_SHAPE_BUCKETS);
		cr_assert_eq(wfg_policy_side(cp, s)->shape.nbuckets, 8);
		cr_assert_arr_eq(wfg_policy_side(cp, s)->shape.buckets, want, sizeof(want));
		cr_assert_eq(wfg_policy_side(cp, s)->shape.max, 1452);
	}
}

Test(policy, side_limits)
{
	int s;

	load_ok(GOOD "limits.yaml");
	for (s = 0; s < 2; s++) {
		cr_assert_eq(wfg_policy_side(cp, s)->max_padding_frac, 16384, "0.25 in Q16");
		cr_assert_eq(wfg_policy_side(cp, s)->max_blocking_frac, 1,
			     "0: the smallest fraction");
		cr_assert_eq(wfg_policy_side(cp, s)->nmachines, s == WFG_ROLE_SERVER ? 2 : 1);
		cr_assert_eq(wfg_policy_side(cp, s)->machines[0].allowed_padding_packets, 10);
		cr_assert_eq(wfg_policy_side(cp, s)->machines[0].max_padding_frac, 0,
			     "omitted: no limit");
	}
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_SERVER)->machines[1].allowed_blocked_us, 5000);
}

Test(policy, machine_frac_zero_is_smallest)
{
	load_mem_ok("version: 1\nmatch: [{}]\ndefence:\n  - machine:\n"
		    "      limits: {allowed_padding_packets: 5, max_padding_frac: 0}\n"
		    "      states:\n        - {name: a, on: {normal_sent: b}}\n"
		    "        - {name: b, action: {type: padding}}\n");
	cr_assert_eq(wfg_policy_side(cp, 0)->machines[0].allowed_padding_packets, 5);
	cr_assert_eq(wfg_policy_side(cp, 0)->machines[0].max_padding_frac, 1);
}

Test(policy, preset_front)
{
	int s;

	load_ok(GOOD "preset-front.yaml");
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_CLIENT)->front.max_covers, 100);
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_SERVER)->front.max_covers, 2500);
	for (s = 0; s < 2; s++) {
		const struct wfg_front_cfg *f = &wfg_policy_side(cp, s)->front;

		cr_assert_eq(f->window_min_ns, 500000000ull);
		cr_assert_eq(f->window_max_ns, 7250000000ull);
		cr_assert_lt(f->exp_table, WFG_MAX_DISTS, "Exp(1) table built");
		cr_assert_eq(wfg_policy_side(cp, s)->cover_size, 1400,
			     "FRONT's default cover size");
		cr_assert_eq(wfg_policy_side(cp, s)->nmachines, 0);
	}
}

Test(policy, preset_defaults_from_the_paper)
{
	struct wfg_front_params p;
	int s;

	wfg_front_defaults(&p);
	load_ok(GOOD "preset-defaults.yaml");
	for (s = 0; s < 2; s++) {
		cr_assert_eq(wfg_policy_side(cp, s)->front.max_covers, s ? p.n_server : p.n_client);
		cr_assert_eq(wfg_policy_side(cp, s)->front.window_min_ns, (__u64)(p.w_min * 1e9));
		cr_assert_eq(wfg_policy_side(cp, s)->front.window_max_ns, (__u64)(p.w_max * 1e9));
	}
	cr_assert_eq(wfg_policy_side(cp, 0)->front.max_covers, 1700);
}

Test(policy, preset_per_side)
{
	load_ok(GOOD "preset-side.yaml");
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_SERVER)->front.max_covers, 800);
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_SERVER)->front.window_max_ns, 14000000000ull);
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_CLIENT)->front.max_covers, 50);
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_CLIENT)->front.window_max_ns, 3000000000ull);
}

Test(policy, preset_tamaraw)
{
	int s;

	load_ok(GOOD "preset-tamaraw.yaml");
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_CLIENT)->pace.interval_ns, 50000000ull,
		     "rho_out");
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_SERVER)->pace.interval_ns, 10000000ull, "rho_in");
	for (s = 0; s < 2; s++) {
		const struct wfg_side_cfg *c = wfg_policy_side(cp, s);

		cr_assert_eq(c->pace.mode, WFG_PACE_CONSTANT);
		cr_assert_eq(c->pace.pad_multiple, 50);
		cr_assert_eq(c->pace.idle_stop_ns, 2000000000ull);
		cr_assert_eq(c->shape.mode, WFG_SHAPE_PAD_TO);
		cr_assert_eq(c->shape.size, 1000);
		cr_assert_eq(c->shape.max, 1000, "the limit, equal to the size");
		cr_assert_eq(c->cover_size, 1000);
	}
}

/*
 * A constant-size defence: covers and real packets at one size. Without a
 * limit the size is the limit (a real packet that cannot be padded to it
 * exactly leaves unshaped); the default size follows a given limit.
 */
Test(policy, constant_size_presets_send_real_packets_and_covers_at_one_size)
{
	static const char *const files[] = { GOOD "preset-buflo.yaml", GOOD "preset-regulator.yaml",
					     GOOD "preset-constant-size-default.yaml" };
	static const __u32 want[] = { 1200, 1300, 1452 };
	int f, s;

	for (f = 0; f < 3; f++) {
		load_ok(files[f]);
		for (s = 0; s < 2; s++) {
			const struct wfg_side_cfg *c = wfg_policy_side(cp, s);

			cr_assert_eq(c->shape.mode, WFG_SHAPE_PAD_TO, "%s", files[f]);
			cr_assert_eq(c->shape.size, want[f], "%s side %d", files[f], s);
			cr_assert_eq(c->shape.max, want[f], "%s side %d: limit", files[f], s);
			cr_assert_eq(c->cover_size, want[f], "%s side %d: covers", files[f], s);
		}
	}
}

Test(policy, preset_buflo)
{
	int s;

	load_ok(GOOD "preset-buflo.yaml");
	for (s = 0; s < 2; s++) {
		const struct wfg_side_cfg *c = wfg_policy_side(cp, s);

		cr_assert_eq(c->pace.mode, WFG_PACE_CONSTANT);
		cr_assert_eq(c->pace.interval_ns, 10000000ull);
		cr_assert_eq(c->pace.min_active_ns, 5000000000ull);
		cr_assert_eq(c->shape.size, 1200);
	}
}

Test(policy, preset_regulator)
{
	const struct wfg_side_cfg *srv, *cli;

	load_ok(GOOD "preset-regulator.yaml");
	srv = wfg_policy_side(cp, WFG_ROLE_SERVER);
	cli = wfg_policy_side(cp, WFG_ROLE_CLIENT);
	cr_assert_eq(srv->pace.mode, WFG_PACE_DECAY);
	cr_assert_eq(srv->pace.interval_at[0], 10000000ull, "1/R");
	cr_assert_eq(srv->pace.cover_budget, 1000);
	cr_assert_eq(srv->pace.surge_queue_ns, 2000000000ull);
	cr_assert_eq(srv->shape.size, 1300);
	cr_assert_eq(srv->nmachines, 0);
	cr_assert_eq(srv->pace.start_packets, 10, "the authors' start phase");
	cr_assert_eq(srv->pace.start_interval_ns, 100000000ull, "10 packets/s");
	cr_assert_eq(cli->pace.mode, WFG_PACE_FOLLOW, "the client follows the downloads");
	cr_assert_eq(cli->pace.follow_ratio_q16, 2 * WFG_FRAC_ONE + WFG_FRAC_ONE / 2, "U = 2.5");
	cr_assert_eq(cli->pace.delay_cap_ns, 1000000000ull, "C = 1 s");
	cr_assert_eq(cli->pace.start_interval_ns, 200000000ull, "5 packets/s");
	cr_assert(cli->pace.flags & WFG_PACE_F_START_ON_RECV);
	cr_assert_eq(cli->nmachines, 0);
	cr_assert_eq(cli->shape.size, 1300);
}

Test(policy, maybenot_strings)
{
	const struct wfg_side_cfg *cli, *srv;
	const struct wfg_state *st;

	load_ok(GOOD "maybenot.yaml");
	cli = wfg_policy_side(cp, WFG_ROLE_CLIENT);
	srv = wfg_policy_side(cp, WFG_ROLE_SERVER);
	cr_assert_eq(cli->nmachines, 1);
	cr_assert_eq(cli->machines[0].state_count, 2);
	cr_assert_eq(cli->machines[0].allowed_padding_packets, ~0ull);
	st = state(cli, 0, 1);
	cr_assert_eq(st->action.kind, WFG_ACT_PADDING);
	cr_assert_eq(st->action.timeout.table, WFG_DIST_CONST);
	cr_assert_eq(st->action.timeout.constant, 5000000, "5 s in µs");
	cr_assert_eq(trans(cli, state(cli, 0, 0), WFG_EV_TUNNEL_RECV, 0)->target, 1);
	cr_assert_eq(srv->nmachines, 2);
	cr_assert_eq(srv->machines[0].state_count, 1, "the no-op machine");
	cr_assert_eq(srv->machines[1].state_count, 2);
	cr_assert_eq(state(srv, 1, 1)->action.timeout.constant, 1000000);
}

Test(policy, presets_strings_and_machines_mixed)
{
	const struct wfg_side_cfg *cli, *srv;

	load_ok(GOOD "mixed.yaml");
	cli = wfg_policy_side(cp, WFG_ROLE_CLIENT);
	srv = wfg_policy_side(cp, WFG_ROLE_SERVER);
	cr_assert_eq(cli->nmachines, 3, "inline, two strings (regulator's client is a pacer)");
	cr_assert_eq(cli->pace.mode, WFG_PACE_FOLLOW);
	cr_assert_eq(cli->machines[0].state_count, 2);
	cr_assert_eq(cli->machines[1].state_count, 1);
	cr_assert_eq(cli->machines[2].state_count, 2);
	cr_assert_eq(state(cli, 2, 1)->action.timeout.constant, 20000, "20 ms");
	cr_assert_eq(srv->nmachines, 3);
	cr_assert_eq(state(srv, 1, 1)->action.timeout.constant, 1000000);
	cr_assert_eq(state(srv, 2, 1)->action.timeout.constant, 20000);
	cr_assert_eq(cli->shape.mode, WFG_SHAPE_PAD_TO, "mode none keeps the preset's size");
	cr_assert_eq(cli->shape.size, 1452, "the default size follows the limit");
	cr_assert_eq(cli->shape.max, 1452);
	cr_assert_eq(srv->pace.mode, WFG_PACE_DECAY);
}

Test(policy, machine_every_part)
{
	int s;

	load_ok(GOOD "machine-full.yaml");
	for (s = 0; s < 2; s++) {
		const struct wfg_side_cfg *c = wfg_policy_side(cp, s);
		const struct wfg_machine_cfg *mc = &c->machines[0];
		const struct wfg_state *st;

		cr_assert_eq(c->nmachines, s == WFG_ROLE_SERVER ? 2 : 1,
			     "second machine: server only");
		cr_assert_eq(mc->state_count, 5);
		cr_assert_eq(mc->allowed_padding_packets, 7);
		cr_assert_eq(mc->max_padding_frac, 32768);
		cr_assert_eq(mc->allowed_blocked_us, 1000);
		cr_assert_eq(mc->max_blocking_frac, 16384);

		st = state(c, 0, 0); /* start */
		cr_assert_eq(st->action.kind, WFG_ACT_NONE);
		cr_assert_eq(st->trans_count[WFG_EV_NORMAL_SENT], 2);
		cr_assert_eq(trans(c, st, WFG_EV_NORMAL_SENT, 0)->target, 1);
		cr_assert_eq(trans(c, st, WFG_EV_NORMAL_SENT, 0)->cum_max, cum(0.25));
		cr_assert_eq(trans(c, st, WFG_EV_NORMAL_SENT, 1)->target, 2);
		cr_assert_eq(trans(c, st, WFG_EV_NORMAL_SENT, 1)->cum_max, 0xffffffffu);
		cr_assert_eq(trans(c, st, WFG_EV_NORMAL_RECV, 0)->target, 3);
		cr_assert_eq(trans(c, st, WFG_EV_NORMAL_RECV, 0)->cum_max, cum(0.5),
			     "p 0.5: room for no transition");
		cr_assert_eq(trans(c, st, WFG_EV_TUNNEL_RECV, 0)->target, WFG_STATE_SIGNAL);

		st = state(c, 0, 1); /* pad */
		cr_assert_eq(st->action.kind, WFG_ACT_PADDING);
		cr_assert_eq(st->action.flags, WFG_ACT_F_BYPASS | WFG_ACT_F_LIMIT);
		cr_assert_neq(st->action.timeout.table, WFG_DIST_CONST,
			      "uniform 100..200: a table");
		cr_assert_eq(st->action.limit.table, WFG_DIST_CONST);
		cr_assert_eq(st->action.limit.constant, 3);
		cr_assert_eq(st->counter[0].op, WFG_CTR_INCREMENT);
		cr_assert_eq(st->counter[0].copy, 0);
		cr_assert_eq(st->counter[0].value.constant, 2);
		cr_assert_eq(st->counter[1].op, WFG_CTR_SET);
		cr_assert_eq(st->counter[1].copy, 1);
		cr_assert_eq(trans(c, st, WFG_EV_PADDING_SENT, 0)->target, 1);
		cr_assert_eq(trans(c, st, WFG_EV_PADDING_SENT, 0)->cum_max, cum(0.9));
		cr_assert_eq(trans(c, st, WFG_EV_PADDING_SENT, 1)->target, WFG_STATE_END);
		cr_assert_eq(trans(c, st, WFG_EV_PADDING_SENT, 1)->cum_max, 0xffffffffu);
		cr_assert_eq(trans(c, st, WFG_EV_LIMIT_REACHED, 0)->target, 4);

		st = state(c, 0, 2); /* block */
		cr_assert_eq(st->action.kind, WFG_ACT_BLOCK);
		cr_assert_eq(st->action.flags, WFG_ACT_F_BYPASS | WFG_ACT_F_REPLACE);
		cr_assert_eq(st->action.timeout.table, WFG_DIST_CONST);
		cr_assert_eq(st->action.timeout.constant, 0);
		cr_assert_neq(st->action.duration.table, WFG_DIST_CONST);
		cr_assert_leq(c->dists[st->action.duration.table].q[WFG_DIST_INTERVALS], 9000,
			      "max clamps the table");
		cr_assert_eq(st->counter[0].op, WFG_CTR_DECREMENT);
		cr_assert_eq(st->counter[0].value.constant, 1, "no value: 1");
		cr_assert_eq(st->counter[1].op, WFG_CTR_NONE);
		cr_assert_eq(trans(c, st, WFG_EV_COUNTER_ZERO, 0)->target, 0);
		cr_assert_eq(trans(c, st, WFG_EV_BLOCKING_END, 0)->target, 3);

		st = state(c, 0, 3); /* timer */
		cr_assert_eq(st->action.kind, WFG_ACT_UPDATE_TIMER);
		cr_assert_eq(st->action.flags, WFG_ACT_F_REPLACE);
		cr_assert_eq(st->action.duration.constant, 20000);
		cr_assert_eq(trans(c, st, WFG_EV_TIMER_END, 0)->target, 4);
		cr_assert_eq(trans(c, st, WFG_EV_SIGNAL, 0)->target, 0);

		st = state(c, 0, 4); /* cancel */
		cr_assert_eq(st->action.kind, WFG_ACT_CANCEL);
		cr_assert_eq(st->action.flags, WFG_CANCEL_ACTION | WFG_CANCEL_INTERNAL);
		cr_assert_eq(trans(c, st, WFG_EV_NORMAL_SENT, 0)->target, WFG_STATE_END);
	}
	cr_assert_eq(state(wfg_policy_side(cp, WFG_ROLE_SERVER), 1, 0)->action.flags,
		     WFG_CANCEL_INTERNAL);
	cr_assert_eq(wfg_policy_side(cp, WFG_ROLE_SERVER)->machines[1].max_padding_frac, 0);
}

Test(policy, maybenot_action_names)
{
	const struct wfg_side_cfg *c = wfg_policy_side(cp, 0);

	load_mem_ok("version: 1\nmatch: [{}]\ndefence:\n  - machine:\n      states:\n"
		    "        - {name: a, on: {normal_sent: b}}\n"
		    "        - {name: b, action: {type: send_padding}, on: {normal_sent: c}}\n"
		    "        - {name: c, action: {type: block_outgoing, duration: 5},"
		    " on: {normal_sent: d}}\n"
		    "        - {name: d, action: {type: update_timer, duration: 7}}\n");
	cr_assert_eq(state(c, 0, 1)->action.kind, WFG_ACT_PADDING);
	cr_assert_eq(state(c, 0, 2)->action.kind, WFG_ACT_BLOCK);
	cr_assert_eq(state(c, 0, 2)->action.duration.constant, 5);
	cr_assert_eq(state(c, 0, 3)->action.kind, WFG_ACT_UPDATE_TIMER);
	cr_assert_eq(state(c, 0, 3)->action.duration.constant, 7);
}

Test(policy, machine_every_distribution)
{
	const struct wfg_side_cfg *c;
	int i;

	load_ok(GOOD "machine-dists.yaml");
	c = wfg_policy_side(cp, 0);
	cr_assert_eq(c->machines[0].state_count, WFG_DK_COUNT);
	for (i = 0; i < WFG_DK_COUNT; i++) {
		const struct wfg_state *st = state(c, 0, i);

		cr_assert_eq(st->action.kind, WFG_ACT_PADDING);
		cr_assert_neq(st->action.timeout.table, WFG_DIST_CONST, "state s%d: a table", i);
		cr_assert_lt(st->action.timeout.table, WFG_MAX_DISTS);
	}
	cr_assert(c->dists[state(c, 0, WFG_DK_BINOMIAL)->action.timeout.table].flags &
			  WFG_DIST_F_STEP,
		  "discrete kinds are step tables");
}

Test(policy, yaml_features)
{
	load_ok(GOOD "yaml-features.yaml");
	cr_assert_eq(cp->dp.nrules, 2);
	cr_assert(!memcmp(&cp->dp.rules[0], &cp->dp.rules[1], sizeof(cp->dp.rules[0])),
		  "an alias repeats its anchor");
	cr_assert_eq(cp->dp.rules[1].lport_lo, 443);
	cr_assert_eq(wfg_policy_side(cp, 0)->shape.nbuckets, 2);
	cr_assert_eq(wfg_policy_side(cp, 0)->nmachines, 1, "'defense' is 'defence'");
	cr_assert_eq(state(wfg_policy_side(cp, 0), 0, 0)->action.flags, WFG_ACT_F_BYPASS);
}

Test(policy, good_corpus_compiles)
{
	static char names[64][256];
	int n = list_yaml(GOOD, names, 64), i;

	cr_assert_geq(n, 15);
	for (i = 0; i < n; i++) {
		memset(&diags, 0, sizeof(diags));
		cr_expect_eq(wfg_policy_load(names[i], cp, &diags), 0, "%s: %s", names[i],
			     diags.n ? diags.d[0].msg : "?");
		wfg_policy_release(cp);
	}
}

/* ---------------------------------------------------------------- examples */

Test(policy, examples_compile)
{
	static const char *const required[] = { "default.yaml",	 "front.yaml",
						"tamaraw.yaml",	 "regulator.yaml",
						"maybenot.yaml", "inline-machine.yaml" };
	static char names[64][256];
	int n = list_yaml("examples/policies/", names, 64), i, j;

	for (i = 0; i < (int)(sizeof(required) / sizeof(required[0])); i++) {
		for (j = 0; j < n; j++)
			if (strstr(names[j], required[i]))
				break;
		cr_expect_lt(j, n, "examples/policies/%s is missing", required[i]);
	}
	for (i = 0; i < n; i++) {
		memset(&diags, 0, sizeof(diags));
		cr_expect_eq(wfg_policy_load(names[i], cp, &diags), 0, "%s: %s", names[i],
			     diags.n ? diags.d[0].msg : "?");
		cr_expect_neq(cp->summary[0], 0);
		wfg_policy_release(cp);
	}
}

Test(policy, default_example)
{
	load_ok("examples/policies/default.yaml");
	cr_assert_eq(cp->role, WFG_ROLE_SERVER);
	cr_assert_eq(cp->dp.nrules, 2);
	cr_assert_eq(wfg_policy_side(cp, 1)->shape.mode, WFG_SHAPE_BUCKETS);
	cr_assert_eq(wfg_policy_side(cp, 1)->front.max_covers, 1700);
	cr_assert(strstr(cp->summary, "server side (this host)"), "%s", cp->summary);
	cr_assert(strstr(cp->summary, "buckets 256/512/1024/1452"), "%s", cp->summary);
}

Test(policy, for_role_switches_the_side)
{
	load_ok("examples/policies/front.yaml");
	cr_assert(side_eq(&cp->dp.side, wfg_policy_side(cp, WFG_ROLE_SERVER)));
	wfg_policy_for_role(cp, WFG_ROLE_CLIENT);
	cr_assert_eq(cp->role, WFG_ROLE_CLIENT);
	cr_assert(side_eq(&cp->dp.side, wfg_policy_side(cp, WFG_ROLE_CLIENT)));
}

/* ---------------------------------------------------------------- bad corpus */

Test(policy, bad_corpus_first_error)
{
	static char names[256][256];
	int n = list_yaml(BAD, names, 256), i;

	cr_assert_geq(n, 40, "the bad corpus has %d files", n);
	for (i = 0; i < n; i++) {
		char line[300], want[600];
		FILE *f = fopen(names[i], "r");
		int rc;

		cr_assert(f);
		cr_assert(fgets(line, sizeof(line), f), "%s: empty", names[i]);
		fclose(f);
		line[strcspn(line, "\n")] = 0;
		cr_assert(!strncmp(line, "# expect: ", 10), "%s: no '# expect: ' on line 1",
			  names[i]);
		snprintf(want, sizeof(want), "%s:%s", names[i], line + 10);
		memset(&diags, 0, sizeof(diags));
		rc = wfg_policy_load(names[i], cp, &diags);
		cr_expect_eq(rc, -EINVAL, "%s: rc %d", names[i], rc);
		if (diags.n < 1) {
			cr_expect_fail("%s: no error reported", names[i]);
			continue;
		}
		cr_expect_str_eq(diags.d[0].msg, want);
	}
}

Test(policy, error_leaves_output_untouched)
{
	struct wfg_compiled_policy *orig = malloc(sizeof(*orig));
	static char names[256][256];
	int n = list_yaml(BAD, names, 256), i;

	cr_assert(orig);
	memset(cp, 0xa5, sizeof(*cp));
	memcpy(orig, cp, sizeof(*orig));
	for (i = 0; i < n; i++)
		cr_assert_neq(wfg_policy_load(names[i], cp, &diags), 0);
	cr_assert(!memcmp(orig, cp, sizeof(*cp)), "a failed load wrote to *out");
	free(orig);
}

/* ---------------------------------------------------------------- collecting errors */

Test(policy, every_error_sorted)
{
	static const char text[] = "version: 1\n"		/* 1 */
				   "match:\n"			/* 2 */
				   "  - local_port: 99999\n"	/* 3 */
				   "shape:\n"			/* 4 */
				   "  mode: buckets\n"		/* 5 */
				   "  buckets: [500, 400]\n"	/* 6 */
				   "rol: client\n"		/* 7 */
				   "defence:\n"			/* 8 */
				   "  - preset: front\n"	/* 9 */
				   "    params: {W_max: 61}\n"; /* 10 */
	int rc = wfg_policy_load_mem("mem", text, sizeof(text) - 1, cp, &diags);

	cr_assert_eq(rc, -EINVAL);
	cr_assert_eq(diags.n, 4);
	cr_assert_str_eq(diags.d[0].msg,
			 "mem:3:17: 'local_port' must be between 0 and 65535, got 99999");
	cr_assert_str_eq(diags.d[1].msg,
			 "mem:6:18: buckets must be in ascending order: 400 after 500");
	cr_assert_str_eq(diags.d[2].msg, "mem:7:1: unknown key 'rol' (did you mean 'role'?)");
	cr_assert_str_eq(diags.d[3].msg, "mem:10:21: 'W_max' must be in (0, 60], got 61");
	cr_assert_eq(diags.truncated, 0);
}

Test(policy, too_many_errors_truncate)
{
	char text[4096];
	size_t off = 0;
	int i;

	off += (size_t)snprintf(text + off, sizeof(text) - off, "version: 1\nmatch: [{}]\n");
	for (i = 0; i < 70; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "bogus%d: 1\n", i);
	cr_assert_eq(wfg_policy_load_mem("mem", text, off, cp, &diags), -EINVAL);
	cr_assert_eq(diags.n, WFG_POLICY_MAX_DIAGS);
	cr_assert_eq(diags.truncated, 1);
	cr_assert(strstr(diags.d[0].msg, "mem:3:1: unknown key 'bogus0'"), "%s", diags.d[0].msg);
}

Test(policy, missing_file)
{
	int rc = wfg_policy_load("tests/policies/no-such-file.yaml", cp, &diags);

	cr_assert_eq(rc, -ENOENT);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(
		diags.d[0].msg,
		"tests/policies/no-such-file.yaml: cannot open: No such file or directory");
}

Test(policy, null_diags_allowed)
{
	cr_assert_eq(wfg_policy_load(BAD "empty.yaml", cp, NULL), -EINVAL);
	cr_assert_eq(wfg_policy_load(GOOD "minimal.yaml", cp, NULL), 0);
}

/* ---------------------------------------------------------------- pools */

#define POOL_TEXT(seed)                                                                  \
	"version: 1\nmatch: [{}]\ndefence:\n  - preset: front\n    params: {N_c: 900}\n" \
	"pool:\n  size: 64\n  seed: " #seed "\n"                                         \
	"  vary: {front: {N_s: [600, 2800], W_min: [0.5, 3], W_max: [6, 20]}}\n"

Test(policy, pool_entries_drawn_in_their_ranges)
{
	__u32 i, distinct_n = 0, prev = 0;
	int s;

	load_mem_ok(POOL_TEXT(7));
	cr_assert_eq(cp->pool_n, 64);
	cr_assert_eq(cp->dp.pool_size, 64);
	cr_assert_not_null(cp->pool);
	for (s = 0; s < 2; s++)
		cr_assert(side_eq(wfg_policy_side(cp, (enum wfg_role)s), &cp->pool[0][s]),
			  "entry 0 is the policy's side");
	for (i = 0; i < cp->pool_n; i++) {
		const struct wfg_side_cfg *cl = &cp->pool[i][WFG_ROLE_CLIENT],
					  *sv = &cp->pool[i][WFG_ROLE_SERVER];

		/* N_c is not varied: every entry keeps the element's 900 */
		cr_expect_eq(cl->front.max_covers, 900, "entry %u", i);
		cr_expect(sv->front.max_covers >= 600 && sv->front.max_covers <= 2800,
			  "entry %u: %u", i, sv->front.max_covers);
		cr_expect(sv->front.window_min_ns >= 500000000ULL &&
				  sv->front.window_min_ns <= 3000000000ULL,
			  "entry %u", i);
		cr_expect(sv->front.window_max_ns >= 6000000000ULL &&
				  sv->front.window_max_ns <= 20000000000ULL,
			  "entry %u", i);
		cr_expect(!memcmp(&sv->shape, &cp->pool[0][WFG_ROLE_SERVER].shape,
				  sizeof(sv->shape)));
		if (sv->front.max_covers != prev)
			distinct_n++;
		prev = sv->front.max_covers;
	}
	/* 64 uniform draws from 2201 values: a repeat in a row is rare; a stuck draw gives 1 */
	cr_expect_gt(distinct_n, 56, "%u changes of N_s over 64 entries", distinct_n);
	wfg_policy_release(cp);
	cr_assert_null(cp->pool);
	cr_assert_eq(cp->dp.pool_size, 0);
}

Test(policy, pool_is_the_same_for_a_seed_and_differs_between_seeds)
{
	struct wfg_compiled_policy *b = calloc(1, sizeof(*b));
	__u32 i, same = 0;

	cr_assert(b);
	load_mem_ok(POOL_TEXT(7));
	cr_assert_eq(wfg_policy_load_mem("b.yaml", POOL_TEXT(7), strlen(POOL_TEXT(7)), b, NULL), 0);
	cr_assert(!memcmp(cp->pool, b->pool, 64 * sizeof(*cp->pool)), "one seed, two pools");
	wfg_policy_release(b);
	cr_assert_eq(wfg_policy_load_mem("b.yaml", POOL_TEXT(8), strlen(POOL_TEXT(8)), b, NULL), 0);
	for (i = 0; i < 64; i++)
		same += cp->pool[i][1].front.max_covers == b->pool[i][1].front.max_covers;
	cr_expect_lt(same, 8, "seeds 7 and 8 agree on %u of 64 entries", same);
	cr_assert(strstr(cp->summary, "pool: 64 defences (seed 7)"), "%s", cp->summary);
	wfg_policy_release(b);
	wfg_policy_release(cp);
	free(b);
}
