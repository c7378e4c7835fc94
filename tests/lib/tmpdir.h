/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A scratch directory per unit suite: define WFB_TMP_TEMPLATE
 * ("/tmp/wfb-NAME-XXXXXX") before including; make_tmpdir() in the suite's
 * init, rm_tmpdir() in its fini, tmp_path("file") for paths inside it.
 */
#ifndef WFG_TESTS_TMPDIR_H
#define WFG_TESTS_TMPDIR_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[64];

static __attribute__((unused)) void make_tmpdir(void)
{
	strcpy(tmpdir, WFB_TMP_TEMPLATE);
	cr_assert_not_null(mkdtemp(tmpdir));
}

static __attribute__((unused)) void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

/* tmpdir/name; the last 8 results stay valid. */
static __attribute__((unused)) char *tmp_path(const char *name)
{
	static char buf[8][256];
	static int k;
	char *p = buf[k++ % 8];

	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

#endif
