/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SHA-256 (FIPS 180-4), for the identity of what a result was made from: a
 * dataset's manifest, a policy file. Not for secrets (the shim's keys use
 * SipHash in the data path).
 */
#ifndef WFBENCH_SHA256_H
#define WFBENCH_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct wfb_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t buf[64];
	size_t nbuf;
};

void wfb_sha256_init(struct wfb_sha256 *s);
void wfb_sha256_update(struct wfb_sha256 *s, const void *data, size_t len);
/* The digest as 64 lowercase hex digits and a NUL. */
void wfb_sha256_hex(struct wfb_sha256 *s, char out[65]);
/* The digest of a whole file as hex; -errno. */
int wfb_sha256_file(const char *path, char out[65]);

#endif
