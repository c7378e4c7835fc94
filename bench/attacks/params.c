// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The attacks' parameter strings ("k=5,trees=1000"; attacks.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks.h"

static bool key_known(const char *const *known, const char *k, size_t klen)
{
	for (; known && *known; known++)
		if (strlen(*known) == klen && !strncmp(*known, k, klen))
			return true;
	return false;
}

int wfa_param(const char *params, const char *const *known, const char *key, double *v, char *err,
	      size_t errlen)
{
	const char *p = params;
	int found = 0;

	while (p && *p) {
		const char *end = strchr(p, ',');
		const char *eq = memchr(p, '=', end ? (size_t)(end - p) : strlen(p));
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t klen = eq ? (size_t)(eq - p) : len;
		char num[64], *stop;
		double d;

		if (!eq || klen == 0) {
			snprintf(err, errlen, "attack parameter '%.*s': expected key=value",
				 (int)len, p);
			return -EINVAL;
		}
		if (!key_known(known, p, klen)) {
			snprintf(err, errlen, "unknown attack parameter '%.*s'", (int)klen, p);
			return -EINVAL;
		}
		len -= klen + 1;
		if (len == 0 || len >= sizeof(num)) {
			snprintf(err, errlen, "attack parameter '%.*s': bad value", (int)klen, p);
			return -EINVAL;
		}
		memcpy(num, eq + 1, len);
		num[len] = 0;
		errno = 0;
		d = strtod(num, &stop);
		if (*stop || errno || !isfinite(d)) {
			snprintf(err, errlen, "attack parameter '%.*s': '%s' is not a number",
				 (int)klen, p, num);
			return -EINVAL;
		}
		if (strlen(key) == klen && !strncmp(key, p, klen)) {
			*v = d;
			found = 1;
		}
		p = end ? end + 1 : NULL;
	}
	return found;
}
