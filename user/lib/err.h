/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Error reporting for library code: write one line into the caller's buffer, never print. */
#ifndef WFGUARD_USER_ERR_H
#define WFGUARD_USER_ERR_H

#include <stddef.h>

/* snprintf into err (when err is not NULL) and return -code (code is a positive errno). */
int wfg_err(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
