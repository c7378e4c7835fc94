/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A --preset argument of defend and evaluate: "NAME" or
 * "NAME:key=value,..." (`--preset tamaraw:rho_out=0.04,L=50`). The
 * parameters are the policy schema's (docs/policy.md): the preset is compiled
 * as the one-defence policy it stands for, so the policy compiler checks
 * names and ranges and `--preset X` replays exactly as a policy naming X.
 */
#ifndef WFBENCH_PRESET_SPEC_H
#define WFBENCH_PRESET_SPEC_H

#include <stdio.h>

#include "policy.h"

struct wfb_preset_spec {
	char arg[512];	   /* as given */
	char name[32];	   /* the preset */
	char given[480];   /* "key=value,..." as given, "" if none */
	char params[1024]; /* every parameter, the given ones in place of the defaults */
	char yaml[2048];   /* the policy it compiles as ("" for none and padme) */
};

/* Split and check the syntax; the values are checked when compiled. -EINVAL. */
int wfb_preset_spec_parse(const char *arg, struct wfb_preset_spec *p, char *err, size_t errlen);
/*
 * Both sides ([client, server]) and the data path's view (mode, rules) of the
 * preset: none and padme from wfg_preset_sides, the others compiled from
 * p->yaml (diagnostics to diag). -EINVAL (err says why).
 */
int wfb_preset_spec_sides(const struct wfb_preset_spec *p, struct wfg_side_cfg sides[2],
			  struct wfg_policy *dp, FILE *diag, char *err, size_t errlen);

#endif
