/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The padding pool's producer (see struct wfg_pool_chunk): fills the chunks the
 * data path has used up with fresh random bytes, in the map's own memory.
 */
#ifndef WFGUARD_USER_POOL_H
#define WFGUARD_USER_POOL_H

#include <stddef.h>

#include "wfguard/datapath.h"

struct wfg_pool {
	void *mem;		   /* the map, mmap()ed; or any memory laid out like it */
	size_t len;		   /* of the mapping; 0 when mem is not ours to unmap */
	size_t stride;		   /* bytes from one chunk to the next */
	__u32 nchunks;		   /* all CPUs' */
	unsigned long long filled; /* chunks filled so far */
};

/* Map the pool of an attached data path (map fd). 0 or -errno. */
int wfg_pool_open(struct wfg_pool *p, int map_fd, char *err, size_t errlen);
void wfg_pool_close(struct wfg_pool *p);

/*
 * Fill every EMPTY chunk with getrandom() bytes and publish it FULL. Chunks
 * the data path holds (TAKEN) or has not used (FULL) stay as they are.
 * Returns how many chunks were filled, or -errno.
 */
int wfg_pool_refill(struct wfg_pool *p);

#endif
