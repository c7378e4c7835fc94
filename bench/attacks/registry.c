// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The attacks wfbench knows, by name (attacks.h). */
#include <stddef.h>
#include <string.h>

#include "attacks.h"

static const struct wfa_attack *const all[] = { &wfa_knn,    &wfa_cumul, &wfa_kfp, &wfa_df,
						&wfa_tiktok, &wfa_rf,	 NULL };

const struct wfa_attack *const *wfa_all(void)
{
	return all;
}

const struct wfa_attack *wfa_find(const char *name)
{
	size_t i;

	for (i = 0; name && all[i]; i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}
