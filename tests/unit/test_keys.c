// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The controller's key logic without a kernel: the key file parser, how a key
 * file fits live slots (what `policy apply` decides, docs/policy.md), and the
 * userspace copy of the data path's rule test that the live-flow check uses.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "keys.h"

static const struct wfg_shim_key A = { 1, 2 }, B = { 3, 4 }, N = { 5, 6 }, N2 = { 7, 8 };

static char path[64];

static void write_keys(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/wfg-keys-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

Test(keys, file_with_two_lines_one_line_and_bad_lines)
{
	struct wfg_shim_key k[2];
	char err[256], want[128];

	write_keys("# comment\n\n00000000000000a1 00000000000000b2\nc3 d4\nff ff\n");
	cr_assert_eq(wfg_keys_load(path, k, err, sizeof(err)), 0, "%s", err);
	cr_assert(k[0].k0 == 0xa1 && k[0].k1 == 0xb2 && k[1].k0 == 0xc3 && k[1].k1 == 0xd4);
	unlink(path);
	write_keys("a1 b2\n");
	cr_assert_eq(wfg_keys_load(path, k, err, sizeof(err)), 0, "%s", err);
	cr_assert(k[1].k0 == 0xa1 && k[1].k1 == 0xb2, "one line fills both slots");
	unlink(path);
	write_keys("a1 b2\nnot hex\n");
	cr_assert_eq(wfg_keys_load(path, k, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:1: expected two hex words", path);
	cr_assert_str_eq(err, want);
	unlink(path);
	write_keys("# nothing\n");
	cr_assert_eq(wfg_keys_load(path, k, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "no key"), "%s", err);
	unlink(path);
}

Test(keys, ids_differ_and_do_not_show_the_key)
{
	cr_assert_neq(wfg_key_id(&A), wfg_key_id(&B));
	cr_assert_eq(wfg_key_id(&A), wfg_key_id(&(struct wfg_shim_key){ 1, 2 }));
	cr_assert_neq(wfg_key_id(&A), (__u32)A.k0);
}

static enum wfg_keys_fit fit(struct wfg_shim_key s0, struct wfg_shim_key s1, __u32 sending,
			     struct wfg_shim_key f0, struct wfg_shim_key f1)
{
	struct wfg_ctl live = { .key_slot = sending, .keys = { s0, s1 } };
	struct wfg_shim_key file[2] = { f0, f1 };
	char why[256] = "";
	enum wfg_keys_fit r = wfg_keys_fit(&live, file, why, sizeof(why));

	cr_assert(r == WFG_KEYS_SAME || why[0], "a refusal or a change without a reason");
	return r;
}

/* docs/policy.md's table, row by row. */
Test(keys, fit_of_a_key_file_against_live_slots)
{
	cr_assert_eq(fit(A, B, 0, A, B), WFG_KEYS_SAME, "what attach loaded");
	cr_assert_eq(fit(B, A, 1, A, B), WFG_KEYS_SAME, "slots swapped, same behaviour");
	cr_assert_eq(fit(N, N, 1, N, N2), WFG_KEYS_ADDS_SPARE, "after retire");
	cr_assert_eq(fit(N, N, 0, N, N), WFG_KEYS_SAME, "a one-line file after retire");
	cr_assert_eq(fit(A, B, 0, N, N2), WFG_KEYS_OTHER_SEND, "another key file");
	cr_assert_eq(fit(N, N, 0, A, B), WFG_KEYS_OTHER_SEND, "the old file after a rotation");
	cr_assert_eq(fit(A, N, 1, N, N2), WFG_KEYS_DROPS_ACCEPT, "mid-rotation: A still in use");
}

static void key4(struct wfg_flow_key *k, const char *l, int lp, const char *r, int rp)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	inet_pton(AF_INET, l, k->laddr);
	inet_pton(AF_INET, r, k->raddr);
	k->lport = htons((__u16)lp);
	k->rport = htons((__u16)rp);
}

Test(keys, rule_for_a_flow_key_takes_ports_prefixes_and_family)
{
	struct wfg_policy pol = { .nrules = 2 };
	struct wfg_flow_key k;

	pol.rules[0] = (struct wfg_rule){ .family = 6, .lport_hi = 65535, .rport_hi = 65535 };
	pol.rules[1] = (struct wfg_rule){ .family = 4,
					  .lport_hi = 65535,
					  .rport_lo = 4433,
					  .rport_hi = 4433,
					  .remote_prefix = 24 };
	inet_pton(AF_INET, "10.78.2.0", pol.rules[1].remote);
	key4(&k, "10.78.1.1", 5555, "10.78.2.1", 4433);
	cr_assert_eq(wfg_policy_rule_for(&pol, &k), 1);
	key4(&k, "10.78.1.1", 5555, "10.78.2.1", 4434);
	cr_assert_eq(wfg_policy_rule_for(&pol, &k), -1, "another port");
	key4(&k, "10.78.1.1", 5555, "10.78.3.1", 4433);
	cr_assert_eq(wfg_policy_rule_for(&pol, &k), -1, "outside the prefix");
	k.family = 6;
	cr_assert_eq(wfg_policy_rule_for(&pol, &k), 0, "the IPv6 rule");
}
