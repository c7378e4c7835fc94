// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One trace reader (bench/trace), chosen at build time: FUZZ_FORMAT is the
 * format's name as wfbench spells it (native, wang, maybenot, pcap). Beyond
 * not crashing, a reader promises (trace.h) a reason for every refusal and a
 * trace whose times never go backwards for every acceptance.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "trace.h"

#ifndef FUZZ_FORMAT
#error "build with -DFUZZ_FORMAT='\"native\"' (or wang, maybenot, pcap)"
#endif

static void check(int rc, const struct wfb_trace *t, const char *err)
{
	char why[256];

	if (rc) {
		fuzz_require(rc < 0, "rc %d", rc);
		fuzz_require(err[0], "refused (rc %d) without a reason", rc);
		return;
	}
	fuzz_require(!wfb_trace_check(t, why, sizeof(why)), "accepted a bad trace: %s", why);
}

/* libpcap reads a path: the input goes into a memory file, read back by its /proc name. */
static int read_pcap(const uint8_t *data, size_t size, struct wfb_trace *t)
{
	static const char *const clients[] = { "10.0.0.1", "fd00::1" };
	static char path[64];
	static int fd = -1;
	struct wfb_addr client;
	char err[256];
	size_t i;
	int rc;

	if (fd < 0) {
		fd = memfd_create("fuzz.pcap", 0);
		if (fd < 0)
			return -1;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return -1;
	/* each family's client: the transport headers are read only for its packets */
	for (i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		err[0] = 0;
		wfb_addr_parse(clients[i], &client);
		rc = wfb_read_pcap(path, &client, t, NULL, err, sizeof(err));
		check(rc, t, err);
	}
	return 0;
}

static int read_text(enum wfb_format fmt, const uint8_t *data, size_t size, struct wfb_trace *t)
{
	FILE *f = fmemopen((void *)data, size, "r");
	char err[256] = "";
	int rc;

	if (!f)
		return 0; /* fmemopen refuses an empty buffer */
	if (fmt == WFB_FMT_WANG)
		rc = wfb_read_wang(f, "fuzz", t, err, sizeof(err));
	else if (fmt == WFB_FMT_MAYBENOT)
		rc = wfb_read_maybenot(f, "fuzz", t, err, sizeof(err));
	else
		rc = wfb_read_native(f, "fuzz", t, err, sizeof(err));
	fclose(f);
	check(rc, t, err);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static enum wfb_format fmt;
	static int have_fmt;
	struct wfb_trace t;
	int rc;

	if (!have_fmt) {
		fuzz_require(!wfb_format_parse(FUZZ_FORMAT, &fmt), "unknown format %s",
			     FUZZ_FORMAT);
		have_fmt = 1;
	}
	wfb_trace_init(&t);
	rc = fmt == WFB_FMT_PCAP ? read_pcap(data, size, &t) : read_text(fmt, data, size, &t);
	wfb_trace_free(&t);
	return rc;
}
