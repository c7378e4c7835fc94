/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The attacks wfbench knows (each in bench/attacks/NAME.c), and the registry. */
#ifndef WFBENCH_ATTACKS_H
#define WFBENCH_ATTACKS_H

#include "attack.h"

extern const struct wfa_attack wfa_knn;	  /* knn.c: Wang et al., USENIX Security 2014 */
extern const struct wfa_attack wfa_cumul; /* cumul.c: Panchenko et al., NDSS 2016 */
extern const struct wfa_attack wfa_kfp;	  /* kfp.c: Hayes and Danezis, USENIX Security 2016 */

/* By name ("knn", "cumul", "kfp"); NULL when unknown. */
const struct wfa_attack *wfa_find(const char *name);
/* NULL-terminated list of every attack, in a stable order. */
const struct wfa_attack *const *wfa_all(void);

#endif
