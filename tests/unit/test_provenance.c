// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What results record to be reproduced: --preset NAME:key=value (compiled as
 * the policy it stands for, every parameter listed), SHA-256 identities, and
 * the defended manifest's meta lines.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "defend.h"
#include "generate.h"
#include "preset_spec.h"
#include "presets.h"
#include "sha256.h"

#define WFB_TMP_TEMPLATE "/tmp/wfb-prov-XXXXXX"
#include "tmpdir.h"

static void hex_of(const char *text, char out[65])
{
	struct wfb_sha256 s;

	wfb_sha256_init(&s);
	wfb_sha256_update(&s, text, strlen(text));
	wfb_sha256_hex(&s, out);
}

/* FIPS 180-4's examples, and a message that crosses the padding boundary. */
Test(provenance, sha256_known_answers)
{
	char h[65];

	hex_of("abc", h);
	cr_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of("", h);
	cr_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", h);
	cr_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(provenance, preset_spec_lists_every_parameter)
{
	struct wfb_preset_spec sp;
	char err[256];

	cr_assert_eq(wfb_preset_spec_parse("tamaraw:rho_out=0.04,L=50", &sp, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(sp.name, "tamaraw");
	cr_assert_str_eq(sp.given, "rho_out=0.04,L=50");
	cr_assert_str_eq(sp.params, "rho_out=0.04,rho_in=0.012,L=50,size=1400,idle_stop=0");
	cr_assert(strstr(sp.yaml, "params: {rho_out: 0.04, L: 50}"), "%s", sp.yaml);
	cr_assert_eq(wfb_preset_spec_parse("front", &sp, err, sizeof(err)), 0);
	cr_assert_str_eq(sp.params, "N_c=1700,N_s=1700,W_min=1,W_max=14");
	cr_assert_eq(wfb_preset_spec_parse("padme:x=1", &sp, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "--preset padme takes no parameters");
	cr_assert_eq(wfb_preset_spec_parse("tamaraw:L=5}", &sp, err, sizeof(err)), -EINVAL);
	cr_assert_eq(wfb_preset_spec_parse("tamaraw:L", &sp, err, sizeof(err)), -EINVAL);
	cr_assert_eq(wfb_preset_spec_parse("nope:L=1", &sp, err, sizeof(err)), -EINVAL);
}

/* Values are checked by the policy compiler: out of range or unknown keys refused. */
Test(provenance, preset_spec_values_checked_by_the_compiler)
{
	struct wfg_side_cfg sides[2];
	struct wfb_preset_spec sp;
	struct wfg_policy dp;
	char err[256];
	FILE *diag = tmpfile();

	cr_assert_eq(wfb_preset_spec_parse("tamaraw:L=0", &sp, err, sizeof(err)), 0);
	cr_assert_eq(wfb_preset_spec_sides(&sp, sides, &dp, diag, err, sizeof(err)), -EINVAL);
	cr_assert_eq(wfb_preset_spec_parse("tamaraw:Lx=4", &sp, err, sizeof(err)), 0);
	cr_assert_eq(wfb_preset_spec_sides(&sp, sides, &dp, diag, err, sizeof(err)), -EINVAL);
	fclose(diag);
}

/*
 * `--preset NAME` compiled as a policy replays exactly as the preset's own
 * sides (wfg_preset_sides), and a parameter given as its default changes
 * nothing: the same defended traces, byte for byte.
 */
static void defend_into(const struct wfg_side_cfg *s, const char *out)
{
	struct wfb_defend_opts o = {
		.replay = { .delay_ns = 20000000, .seed = 1, .unknown_size = 514, .mtu = 1500 },
		.jobs = 2,
		.force = true
	};
	struct wfb_overhead ov;
	char err[512];

	cr_assert_eq(
		wfb_defend(&s[0], &s[1], tmp_path("w"), tmp_path(out), &o, &ov, err, sizeof(err)),
		0, "%s", err);
}

static bool same_traces(const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && for f in %s/*.trace; do cmp -s $f %s/$(basename $f) "
		 "|| exit 1; done",
		 tmpdir, a, b);
	return system(cmd) == 0;
}

TestSuite(provenance_replay, .init = make_tmpdir, .fini = rm_tmpdir);

Test(provenance_replay, preset_spec_replays_as_the_preset)
{
	static const char *const names[] = { "front", "tamaraw", "regulator", "buflo" };
	struct wfb_gen_opts g = { .sites = 2, .instances = 2, .seed = 3 };
	struct wfg_side_cfg a[2], b[2];
	struct wfb_preset_spec sp;
	struct wfg_policy dp;
	char err[512];
	size_t i;

	cr_assert_eq(wfb_generate(&g, tmp_path("w"), false, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_eq(wfg_preset_sides(names[i], a, err, sizeof(err)), 0);
		cr_assert_eq(wfb_preset_spec_parse(names[i], &sp, err, sizeof(err)), 0);
		cr_assert_eq(wfb_preset_spec_sides(&sp, b, &dp, stderr, err, sizeof(err)), 0, "%s",
			     err);
		defend_into(a, "a");
		defend_into(b, "b");
		cr_assert(same_traces("a", "b"), "%s", names[i]);
	}
	cr_assert_eq(wfb_preset_spec_parse("tamaraw:L=100", &sp, err, sizeof(err)), 0);
	cr_assert_eq(wfb_preset_spec_sides(&sp, b, &dp, stderr, err, sizeof(err)), 0);
	defend_into(b, "b");
	cr_assert(same_traces("a", "b") == false); /* a is buflo's now */
	cr_assert_eq(wfg_preset_sides("tamaraw", a, err, sizeof(err)), 0);
	defend_into(a, "a");
	cr_assert(same_traces("a", "b"), "L=100 is tamaraw's default");
	cr_assert_eq(wfb_preset_spec_parse("tamaraw:L=50", &sp, err, sizeof(err)), 0);
	cr_assert_eq(wfb_preset_spec_sides(&sp, b, &dp, stderr, err, sizeof(err)), 0);
	defend_into(b, "b");
	cr_assert(!same_traces("a", "b"), "L=50 must change the output");
}

Test(provenance_replay, defended_manifest_records_the_run)
{
	struct wfb_gen_opts g = { .sites = 2, .instances = 2, .seed = 3 };
	static const char *const meta[] = { "defend.preset_params", "L=50", "defend.tool",
					    "wfbench test" };
	struct wfb_defend_opts o = {
		.replay = { .delay_ns = 7000000, .seed = 9, .unknown_size = 514, .mtu = 1500 },
		.jobs = 1,
		.meta = meta,
		.nmeta = 2
	};
	struct wfg_side_cfg s[2];
	struct wfb_overhead ov;
	struct wfb_dataset ds;
	char err[512], path[512], hex[65];

	cr_assert_eq(wfb_generate(&g, tmp_path("w"), false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wfg_preset_sides("front", s, err, sizeof(err)), 0);
	cr_assert_eq(
		wfb_defend(&s[0], &s[1], tmp_path("w"), tmp_path("d"), &o, &ov, err, sizeof(err)),
		0, "%s", err);
	cr_assert_eq(wfb_dataset_open(&ds, tmp_path("d"), err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/manifest", tmp_path("w"));
	cr_assert_eq(wfb_sha256_file(path, hex), 0);
	cr_assert_str_eq(wfb_dataset_meta(&ds, "defend.input_manifest_sha256"), hex);
	cr_assert(strstr(wfb_dataset_meta(&ds, "defend.replay"), "delay_ns=7000000 "), "%s",
		  wfb_dataset_meta(&ds, "defend.replay"));
	cr_assert(strstr(wfb_dataset_meta(&ds, "defend.replay"), " seed=9 "));
	cr_assert_str_eq(wfb_dataset_meta(&ds, "defend.preset_params"), "L=50");
	cr_assert_str_eq(wfb_dataset_meta(&ds, "defend.tool"), "wfbench test");
	wfb_dataset_close(&ds);
}
