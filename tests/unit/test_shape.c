// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Size shaping: every mode, the size limit, never shrinking. */
#include <criterion/criterion.h>

#include "wfguard/core/shape.h"

static struct wfg_prng rng;

static void init(void)
{
	wfg_prng_init_seed(&rng, 1, 0);
}

TestSuite(shape, .init = init);

Test(shape, none_keeps_length)
{
	struct wfg_shape_cfg s = { .mode = WFG_SHAPE_NONE };

	cr_assert_eq(wfg_shape_target(&s, 321, &rng), 321);
}

Test(shape, pad_to_and_limit)
{
	struct wfg_shape_cfg s = { .mode = WFG_SHAPE_PAD_TO, .size = 1200, .max = 1300 };

	cr_assert_eq(wfg_shape_target(&s, 100, &rng), 1200);
	cr_assert_eq(wfg_shape_target(&s, 1200, &rng), 1200);
	cr_assert_eq(wfg_shape_target(&s, 1250, &rng), 1250, "never shrinks");
	s.size = 1400; /* beyond max: unchanged */
	cr_assert_eq(wfg_shape_target(&s, 100, &rng), 100);
	cr_assert_eq(wfg_shape_want(&s, 100, &rng), 1400);
}

Test(shape, multiple)
{
	struct wfg_shape_cfg s = { .mode = WFG_SHAPE_MULTIPLE, .size = 512 };

	cr_assert_eq(wfg_shape_target(&s, 1, &rng), 512);
	cr_assert_eq(wfg_shape_target(&s, 512, &rng), 512);
	cr_assert_eq(wfg_shape_target(&s, 513, &rng), 1024);
}

Test(shape, buckets_smallest_fitting)
{
	struct wfg_shape_cfg s = { .mode = WFG_SHAPE_BUCKETS,
				   .nbuckets = 3,
				   .buckets = { 200, 600, 1300 } };

	cr_assert_eq(wfg_shape_target(&s, 1, &rng), 200);
	cr_assert_eq(wfg_shape_target(&s, 200, &rng), 200);
	cr_assert_eq(wfg_shape_target(&s, 201, &rng), 600);
	cr_assert_eq(wfg_shape_target(&s, 1300, &rng), 1300);
	cr_assert_eq(wfg_shape_target(&s, 1301, &rng), 1301, "larger than every bucket");
}

/* Padmé reference: exact definition, computed with plain integer math. */
static unsigned padme_ref(unsigned L)
{
	unsigned E = 0, S = 0, e, mask;

	if (L < 2)
		return L;
	for (e = L; e > 1; e >>= 1)
		E++;
	for (e = E; e > 1; e >>= 1)
		S++;
	S += 1;
	if (E <= S)
		return L;
	mask = (1u << (E - S)) - 1;
	return (L + mask) & ~mask;
}

Test(shape, padme_matches_definition_and_bound)
{
	struct wfg_shape_cfg s = { .mode = WFG_SHAPE_PADME };
	unsigned L;

	cr_assert_eq(wfg_padme(1000), 1024); /* E=9, S=4: multiple of 32 */
	cr_assert_eq(wfg_padme(1500), 1536);
	for (L = 1; L < 70000; L++) {
		unsigned t = wfg_shape_target(&s, L, &rng);

		cr_assert_eq(t, padme_ref(L), "L=%u", L);
		cr_assert(t >= L && (double)t <= L * 1.12 + 1, "L=%u t=%u", L, t);
	}
}

Test(shape, random_within_bounds_and_spread)
{
	struct wfg_shape_cfg s = { .mode = WFG_SHAPE_RANDOM, .lo = 500, .hi = 1000 };
	unsigned seen_lo = 2000, seen_hi = 0;
	int i;

	for (i = 0; i < 20000; i++) {
		unsigned t = wfg_shape_target(&s, 700, &rng);

		cr_assert(t >= 700 && t <= 1000, "t=%u", t);
		seen_lo = t < seen_lo ? t : seen_lo;
		seen_hi = t > seen_hi ? t : seen_hi;
	}
	cr_assert_eq(seen_lo, 700);
	cr_assert_eq(seen_hi, 1000);
	cr_assert_eq(wfg_shape_target(&s, 1100, &rng), 1100, "above hi: unchanged");
}
