// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "loader.h"
#include "metrics.h"

/*
 * The exposition format's escapes: in a HELP text backslash and newline, in
 * a label value also the double quote.
 */
static void put_escaped(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\' || (quote && *s == '"'))
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

int wfg_metrics_write(FILE *f, const char *ifname, const __u64 st[WFG_STAT__COUNT])
{
	int i;

	for (i = 0; i < WFG_STAT__COUNT; i++) {
		const char *name = wfg_stat_name(i);

		fprintf(f, "# HELP wfguard_%s_total ", name);
		put_escaped(f, wfg_stat_help(i), 0);
		fprintf(f, "\n# TYPE wfguard_%s_total counter\n", name);
		fprintf(f, "wfguard_%s_total{interface=\"", name);
		put_escaped(f, ifname, 1);
		fprintf(f, "\"} %llu\n", (unsigned long long)st[i]);
	}
	return ferror(f) ? -EIO : 0;
}

int wfg_metrics_textfile(const char *path, const char *ifname, const __u64 st[WFG_STAT__COUNT],
			 char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, rc;

	/* not ending in .prom: the collector ignores it while it is written */
	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return wfg_err(err, errlen, ENAMETOOLONG, "%s: name too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return wfg_err(err, errlen, errno, "%s: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		rc = wfg_err(err, errlen, errno, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return rc;
	}
	rc = wfg_metrics_write(f, ifname, st);
	if (fflush(f) && !rc)
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return wfg_err(err, errlen, -rc, "%s: %s", path, strerror(-rc));
	}
	return 0;
}
