/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Robust Fingerprinting (rf.c, docs/attacks/rf.md): its matrix and network, for tests and tools. */
#ifndef WFBENCH_RF_H
#define WFBENCH_RF_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

/*
 * The traffic aggregation matrix of one rf feature row (the first `length`
 * values; 0 ends it): tam[0][s] counts outgoing and tam[1][s] incoming
 * packets of time slot s of `slots` over `span` seconds.
 */
void rf_tam(const double *row, size_t length, size_t slots, double span, float *tam);
/* The authors' network for a 2 x slots matrix and `classes` outputs, from seed. */
int rf_build(struct nn_net *net, size_t slots, size_t classes, float bn_momentum, uint64_t seed);

#endif /* WFBENCH_RF_H */
