// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reading a resumable run's journal (journal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "err.h"
#include "journal.h"

int wfb_journal_read(const char *path, const struct wfb_journal_kind *kind, const char *fp,
		     void *ctx, bool *existed, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = 0;

	*existed = false; /* until its header is read whole */
	if (!f)
		return errno == ENOENT
			       ? 0
			       : wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	while (!rc && (len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[len - 1] != '\n')
			break; /* cut short by a crash: that unit is done again */
		line[len - 1] = 0;
		if (lineno == 1 && strcmp(line, kind->magic))
			rc = wfg_err(err, errlen, EINVAL, "%s:1: not %s", path, kind->what);
		else if (lineno == 2 && strcmp(line, fp))
			rc = wfg_err(err, errlen, EINVAL,
				     "%s:2: written by a run with other settings (%s); %s", path,
				     line, kind->retry);
		else if (lineno == 2)
			*existed = true;
		else if (lineno > 2)
			rc = kind->line(ctx, line, path, lineno, err, errlen);
	}
	free(line);
	fclose(f);
	return rc;
}
