/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Deep Fingerprinting and Tik-Tok (df.c, docs/attacks/df.md): DF's network, for tests and tools. */
#ifndef WFBENCH_DF_H
#define WFBENCH_DF_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#include "deep.h"

/* Features per trace: the first 5000 directions (the paper's input length). */
#define DF_INPUT_MAX DEEP_INPUT_MAX

/* The paper's network for `length` inputs and `classes` outputs, initialised from seed. */
int df_build(struct nn_net *net, size_t length, size_t classes, float bn_momentum, uint64_t seed);
/*
 * A fitted DF model (what wfa_df.fit gave) to a file and back: a header with
 * the input length and the caller's labels, then the network (nn_save).
 */
int df_save(const void *model, const char *path, char *err, size_t errlen);
int df_load(void **model, const char *path, char *err, size_t errlen);

#endif /* WFBENCH_DF_H */
