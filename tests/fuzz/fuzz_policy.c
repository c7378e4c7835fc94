// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The policy compiler: YAML text in, a compiled policy or diagnostics out.
 * Beyond not crashing it promises (policy.h) that a policy with errors
 * reports at least one, each as "name:line:col: message", and compiles to
 * nothing (the output struct untouched).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "policy.h"

#define NAME "fuzz"

static struct wfg_compiled_policy out, untouched;
static struct wfg_diags diags;

/* "fuzz:LINE:COL: " with both numbers from 1. */
static int has_position(const char *msg)
{
	unsigned line, col;
	int n = 0;

	if (sscanf(msg, NAME ":%u:%u: %n", &line, &col, &n) != 2 || !n)
		return 0;
	return line >= 1 && col >= 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc, i;

	memset(&out, 0x5a, sizeof(out));
	memset(&untouched, 0x5a, sizeof(untouched));
	memset(&diags, 0, sizeof(diags));
	rc = wfg_policy_load_mem(NAME, (const char *)data, size, &out, &diags);
	if (rc == 0) {
		fuzz_require(diags.n == 0, "accepted with %d diagnostics", diags.n);
		wfg_policy_release(&out); /* a pool lives on the heap */
		return 0;
	}
	fuzz_require(rc == -EINVAL || rc == -EFBIG || rc == -ENOMEM, "rc %d", rc);
	fuzz_require(!memcmp(&out, &untouched, sizeof(out)), "a refused policy wrote its output");
	if (rc != -EINVAL)
		return 0;
	fuzz_require(diags.n >= 1, "refused without a diagnostic");
	for (i = 0; i < diags.n; i++)
		fuzz_require(has_position(diags.d[i].msg), "diagnostic without a position: %s",
			     diags.d[i].msg);
	return 0;
}
