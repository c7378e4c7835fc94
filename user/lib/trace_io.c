// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Native traces and atomic output directories (trace_io.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "trace_io.h"

/* ------------------------------------------------------------ native traces */

void wfg_trace_write_header(FILE *f)
{
	fprintf(f, "%s\n", WFG_TRACE_HEADER);
}

void wfg_trace_write_pkt(FILE *f, uint64_t time_ns, bool out, uint32_t size, bool cover)
{
	fprintf(f, "%llu %c %u %c\n", (unsigned long long)time_ns, out ? '+' : '-', size,
		cover ? 'c' : 'r');
}

/* ------------------------------------------------------------ output directories */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -1 : 0;
}

int wfg_remove_tree(const char *dir)
{
	/* depth first, not following links: what a link points at is not ours */
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

int wfg_outdir_init(struct wfg_outdir *o, const char *dir)
{
	size_t n;

	o->tmp = NULL;
	o->files_synced = false;
	o->dir = strdup(dir);
	if (!o->dir)
		return -ENOMEM;
	n = strlen(o->dir);
	while (n > 1 && o->dir[n - 1] == '/')
		o->dir[--n] = 0; /* "out/" -> "out", "/" stays */
	return 0;
}

int wfg_outdir_mktemp(struct wfg_outdir *o, char *err, size_t errlen)
{
	size_t n = strlen(o->dir) + 16;
	int rc;

	o->tmp = malloc(n);
	if (!o->tmp)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	snprintf(o->tmp, n, "%s.tmp-XXXXXX", o->dir);
	if (!mkdtemp(o->tmp)) {
		rc = wfg_err(err, errlen, errno, "%s: %s", o->tmp, strerror(errno));
		free(o->tmp);
		o->tmp = NULL; /* nothing to remove */
		return rc;
	}
	return 0;
}

/*
 * Every file in tmp on disk before the rename publishes them: the writer did
 * it file by file (then only the directory's entries remain), or syncfs.
 */
static void sync_tree(const struct wfg_outdir *o)
{
	int fd = open(o->tmp, O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		if (o->files_synced)
			fsync(fd);
		else
			syncfs(fd);
		close(fd);
	}
}

/* The rename itself on disk: fsync the directory that holds dir. */
static void sync_parent(const char *dir)
{
	char *parent = strdup(dir), *slash;
	int fd;

	if (!parent)
		return;
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	fd = open(slash ? parent : ".", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(parent);
}

static void published(struct wfg_outdir *o)
{
	sync_parent(o->dir);
	free(o->tmp);
	o->tmp = NULL; /* it is dir now */
}

int wfg_outdir_rename(struct wfg_outdir *o)
{
	sync_tree(o);
	if (rename(o->tmp, o->dir))
		return -errno;
	published(o);
	return 0;
}

int wfg_outdir_exchange(struct wfg_outdir *o)
{
	size_t n = strlen(o->dir) + 16;
	char *old;
	int rc = 0;

	sync_tree(o);
	if (!renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->dir, RENAME_EXCHANGE)) {
		wfg_remove_tree(o->tmp); /* now the old directory */
		published(o);
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* No RENAME_EXCHANGE on this file system: two renames, a moment without dir. */
	old = malloc(n);
	if (!old)
		return -ENOMEM;
	snprintf(old, n, "%s.old-XXXXXX", o->dir);
	if (!mkdtemp(old) || rmdir(old) || rename(o->dir, old) || rename(o->tmp, o->dir)) {
		rc = -errno;
	} else {
		wfg_remove_tree(old);
		published(o);
	}
	free(old);
	return rc;
}

void wfg_outdir_close(struct wfg_outdir *o)
{
	if (o->tmp)
		wfg_remove_tree(o->tmp);
	free(o->tmp);
	free(o->dir);
	o->tmp = NULL;
	o->dir = NULL;
}
