/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the libFuzzer targets share (tests/fuzz, docs/fuzzing.md): a found bug
 * is a sanitizer report or a broken promise of the code under test, and the
 * latter must abort so that libFuzzer keeps the input.
 */
#ifndef WFGUARD_FUZZ_H
#define WFGUARD_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* A promise the code under test broke: say which, with the input's verdict, and abort. */
#define fuzz_require(cond, ...)                                               \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz: broken promise: " #cond ": "); \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

#endif
