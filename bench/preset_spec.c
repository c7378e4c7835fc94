// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --preset NAME[:key=value,...] (preset_spec.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "preset_spec.h"
#include "presets.h"

/* A key of the schema, a number as the schema reads it: nothing YAML would read otherwise. */
static bool plain(const char *s, size_t n, const char *allowed)
{
	return n && strspn(s, allowed) >= n;
}

#define KEY_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define NUM_CHARS "0123456789.eE+-"

/* "k=v,k=v" -> YAML "k: v, k: v" into out, checking each pair's shape. */
static int given_yaml(const char *given, char *out, size_t len, char *err, size_t errlen)
{
	const char *p = given;
	size_t n = 0;

	while (*p) {
		size_t pair = strcspn(p, ","), klen = strcspn(p, "=");

		if (klen >= pair || !plain(p, klen, KEY_CHARS) ||
		    !plain(p + klen + 1, pair - klen - 1, NUM_CHARS))
			return wfg_err(err, errlen, EINVAL,
				       "--preset: '%.*s': expected key=number (e.g. "
				       "tamaraw:rho_out=0.04,L=50)",
				       (int)pair, p);
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%.*s: %.*s", n ? ", " : "",
				      (int)klen, p, (int)(pair - klen - 1), p + klen + 1);
		p += pair + (p[pair] == ',');
	}
	return n < len ? 0 : wfg_err(err, errlen, EINVAL, "--preset: too many parameters");
}

/* The value of key in "k=v,..." (NULL if absent), its length in *vlen. */
static const char *find_value(const char *list, const char *key, size_t klen, size_t *vlen)
{
	const char *p = list;

	while (*p) {
		size_t pair = strcspn(p, ","), kl = strcspn(p, "=");

		if (kl == klen && !strncmp(p, key, klen)) {
			*vlen = pair - kl - 1;
			return p + kl + 1;
		}
		p += pair + (p[pair] == ',');
	}
	return NULL;
}

/* The defaults with the given values in their place. */
static void merge_params(struct wfb_preset_spec *sp, const char *defaults)
{
	const char *p = defaults;
	size_t n = 0;

	sp->params[0] = 0;
	while (*p && n < sizeof(sp->params)) {
		size_t pair = strcspn(p, ","), kl = strcspn(p, "="), vlen;
		const char *v = find_value(sp->given, p, kl, &vlen);

		if (!v) {
			v = p + kl + 1;
			vlen = pair - kl - 1;
		}
		n += (size_t)snprintf(sp->params + n, sizeof(sp->params) - n, "%s%.*s=%.*s",
				      n ? "," : "", (int)kl, p, (int)vlen, v);
		p += pair + (p[pair] == ',');
	}
}

int wfb_preset_spec_parse(const char *arg, struct wfb_preset_spec *sp, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');
	size_t nlen = colon ? (size_t)(colon - arg) : strlen(arg);
	char defaults[1024], params[sizeof(sp->given) + 64] = "";

	memset(sp, 0, sizeof(*sp));
	if (snprintf(sp->arg, sizeof(sp->arg), "%s", arg) >= (int)sizeof(sp->arg) ||
	    nlen >= sizeof(sp->name) || (colon && strlen(colon + 1) >= sizeof(sp->given)))
		return wfg_err(err, errlen, EINVAL, "--preset: '%s' is too long", arg);
	memcpy(sp->name, arg, nlen);
	snprintf(sp->given, sizeof(sp->given), "%s", colon ? colon + 1 : "");
	if (!strcmp(sp->name, "none") || !strcmp(sp->name, "padme")) {
		if (sp->given[0])
			return wfg_err(err, errlen, EINVAL, "--preset %s takes no parameters",
				       sp->name);
		return 0;
	}
	if (wfg_preset_param_defaults(sp->name, defaults, sizeof(defaults)))
		return wfg_err(err, errlen, EINVAL,
			       "unknown preset '%s' (none, padme, front, tamaraw, buflo, "
			       "regulator)",
			       sp->name);
	if (given_yaml(sp->given, params, sizeof(params), err, errlen))
		return -EINVAL;
	merge_params(sp, defaults);
	/* The policy a preset stands for: shim mode, a rule the harness ignores. */
	snprintf(sp->yaml, sizeof(sp->yaml),
		 "version: 1\nmatch:\n  - local_port: 443\ndefence:\n  - preset: %s\n%s%s%s",
		 sp->name, sp->given[0] ? "    params: {" : "", params, sp->given[0] ? "}\n" : "");
	return 0;
}

int wfb_preset_spec_sides(const struct wfb_preset_spec *sp, struct wfg_side_cfg sides[2],
			  struct wfg_policy *dp, FILE *diag, char *err, size_t errlen)
{
	static struct wfg_compiled_policy cp; /* ~290 KB */
	char name[600];

	memset(dp, 0, sizeof(*dp));
	if (!sp->yaml[0])
		return wfg_preset_sides(sp->name, sides, err, errlen);
	snprintf(name, sizeof(name), "--preset %s", sp->arg);
	if (wfg_policy_load_mem_report(name, sp->yaml, strlen(sp->yaml), &cp, diag))
		return wfg_err(err, errlen, EINVAL, "--preset %s: not a valid preset (above)",
			       sp->arg);
	sides[0] = *wfg_policy_side(&cp, WFG_ROLE_CLIENT);
	sides[1] = *wfg_policy_side(&cp, WFG_ROLE_SERVER);
	dp->mode = cp.dp.mode; /* shim; the rule is not the harness's business */
	return 0;
}
