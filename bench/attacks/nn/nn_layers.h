/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One layer's forward and backward arithmetic (layers.c), for net.c only. */
#ifndef WFBENCH_NN_LAYERS_H
#define WFBENCH_NN_LAYERS_H

#include "wfguard/core/prng.h"

#include "nn.h"

/* SplitMix64 on the harness's uint64_t (the core's helper takes a __u64). */
static inline uint64_t nn_rand64(uint64_t *state)
{
	__u64 s = *state, v = wfg_splitmix64(&s);

	*state = s;
	return v;
}

/* w->act[i] -> w->act[i + 1] for b samples. */
void nn_layer_forward(struct nn_net *net, const struct nn_layer *l, struct nn_work *w, size_t i,
		      size_t b, bool training);
/* w->dcur (w.r.t. act[i + 1]) -> w->dnext (w.r.t. act[i]); adds to net->grads. */
void nn_layer_backward(struct nn_net *net, const struct nn_layer *l, struct nn_work *w, size_t i,
		       size_t b);

#endif /* WFBENCH_NN_LAYERS_H */
