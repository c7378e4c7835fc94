// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int journal;

/*
 * JOURNAL_STREAM is inherited by whatever the service starts, and stderr may
 * have been redirected since: it counts only while it still names the
 * device and inode stderr is open on.
 */
void wfg_log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	journal = 0;
	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return;
	if (fstat(STDERR_FILENO, &st))
		return;
	journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int wfg_log_journal(void)
{
	return journal;
}

void wfg_vlog(int prio, const char *fmt, va_list ap)
{
	if (journal)
		fprintf(stderr, "<%d>", prio & LOG_PRIMASK);
	else
		fputs("wfguard: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void wfg_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wfg_vlog(prio, fmt, ap);
	va_end(ap);
}
