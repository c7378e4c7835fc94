// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Maybenot machine decoder. An input that starts with "02" is a machine
 * string as a policy would hold it; any other input is taken as the machine's
 * decompressed bytes and made into a string here (zlib, base64, "02"), so the
 * fuzzer spends its time in the decoder's parser rather than in base64 and
 * zlib checks. A decoded machine is printed and placed in a side, as the
 * policy compiler does with it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "maybenot.h"
#include "side_build.h"

#define MAX_BYTES (64u << 10)

static char *as_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = 0;
	}
	return s;
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3, out += 4) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[0] = abc[v >> 18];
		out[1] = abc[v >> 12 & 63];
		out[2] = abc[v >> 6 & 63];
		out[3] = abc[v & 63];
	}
	if (n - i == 1) {
		out[0] = abc[in[i] >> 2];
		out[1] = abc[(in[i] & 3) << 4];
		out[2] = out[3] = '=';
		out += 4;
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[0] = abc[v >> 10];
		out[1] = abc[v >> 4 & 63];
		out[2] = abc[(v & 15) << 2];
		out[3] = '=';
		out += 4;
	}
	*out = 0;
}

/* "02" + base64(zlib(data)). */
static char *machine_string(const uint8_t *data, size_t size)
{
	uLongf zlen = compressBound(size);
	uint8_t *z = malloc(zlen);
	char *s = NULL;

	if (z && compress2(z, &zlen, data, size, 6) == Z_OK) {
		s = malloc(2 + (zlen + 2) / 3 * 4 + 1);
		if (s) {
			memcpy(s, "02", 2);
			base64(z, zlen, s + 2);
		}
	}
	free(z);
	return s;
}

static void place(const struct wfg_mb_machine *m)
{
	static struct wfg_side_cfg cfg;
	static struct wfg_side_builder sb;
	static FILE *null;

	if (!null)
		null = fopen("/dev/null", "w");
	if (null)
		wfg_mb_print(null, m);
	memset(&cfg, 0, sizeof(cfg));
	wfg_sb_init(&sb, &cfg);
	if (wfg_mb_add(&sb, m) >= 0)
		wfg_sb_finish(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wfg_mb_machine *m = NULL;
	char err[256] = "";
	char *s;
	int rc;

	if (size > MAX_BYTES)
		return -1;
	if (size >= 2 && data[0] == '0' && data[1] == '2')
		s = as_string(data, size);
	else
		s = machine_string(data, size);
	if (!s)
		return 0;
	rc = wfg_mb_decode(s, &m, err, sizeof(err));
	free(s);
	if (rc) {
		fuzz_require(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
		fuzz_require(err[0], "refused without a reason");
		fuzz_require(!m, "a refused machine was returned");
		return 0;
	}
	fuzz_require(m && m->nstates >= 1 && m->nstates <= WFG_MB_STATE_MAX, "%u states",
		     m ? m->nstates : 0);
	place(m);
	wfg_mb_free(m);
	return 0;
}
