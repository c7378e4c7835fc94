// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The padding pool's producer. The data path takes a FULL chunk with a
 * compare-and-swap and gives it back EMPTY the same way; here a chunk is
 * written only while EMPTY and published FULL with a release store after its
 * bytes, so the data path never sees a FULL chunk with old bytes in it.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <bpf/bpf.h>

#include "pool.h"
#include "wfguard/core/prng.h"
#include "err.h"

int wfg_pool_open(struct wfg_pool *p, int map_fd, char *err, size_t errlen)
{
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	size_t len;
	void *mem;

	memset(p, 0, sizeof(*p));
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &ilen))
		return wfg_err(err, errlen, errno, "padding pool: %s", strerror(errno));
	if (info.value_size != sizeof(struct wfg_pool_chunk) || !(info.map_flags & BPF_F_MMAPABLE))
		return wfg_err(err, errlen, EINVAL,
			       "padding pool: chunks of %u bytes (flags %#x), this wfguard expects "
			       "%zu, mmapable",
			       info.value_size, info.map_flags, sizeof(struct wfg_pool_chunk));
	/* array elements are 8-aligned; the mapping is whole pages */
	p->stride = (sizeof(struct wfg_pool_chunk) + 7) & ~(size_t)7;
	len = p->stride * info.max_entries;
	len = (len + 4095) & ~(size_t)4095;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (mem == MAP_FAILED)
		return wfg_err(err, errlen, errno, "padding pool: mmap: %s", strerror(errno));
	p->mem = mem;
	p->len = len;
	p->nchunks = info.max_entries;
	return 0;
}

void wfg_pool_close(struct wfg_pool *p)
{
	if (p->mem && p->len)
		munmap(p->mem, p->len);
	p->mem = NULL;
	p->len = 0;
}

/*
 * n bytes (a multiple of 64) of ChaCha8 keystream under a fresh key from
 * getrandom(): the padding keystream's own cipher, about three times faster
 * than getrandom() for the bulk, and each key serves one chunk only.
 */
static int fill(__u8 *b, size_t n)
{
	__u32 key[8], block[16];
	size_t i;

	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return -errno;
	for (i = 0; i + 64 <= n; i += 64) {
		wfg_chacha_block(key, 0, i / 64, WFG_CHACHA_ROUNDS, block);
		memcpy(b + i, block, 64);
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(block, sizeof(block));
	return 0;
}

int wfg_pool_refill(struct wfg_pool *p)
{
	int filled = 0, rc;
	__u32 i;

	for (i = 0; i < p->nchunks; i++) {
		struct wfg_pool_chunk *c =
			(struct wfg_pool_chunk *)((char *)p->mem + i * p->stride);

		if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != WFG_POOL_EMPTY)
			continue;
		rc = fill(c->bytes, sizeof(c->bytes));
		if (rc)
			return rc;
		__atomic_store_n(&c->state, WFG_POOL_FULL, __ATOMIC_RELEASE);
		filled++;
	}
	p->filled += (unsigned long long)filled;
	return filled;
}
