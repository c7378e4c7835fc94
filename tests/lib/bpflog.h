/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libbpf's log, kept instead of printed: a suite installs the capture before
 * loading an object and shows the log only when the load fails, where the
 * verifier says why. Debug messages are dropped (they would fill the buffer
 * with every relocation). In libwfgtest.a.
 */
#ifndef WFG_TESTS_BPFLOG_H
#define WFG_TESTS_BPFLOG_H

#include <stddef.h>

/* Empty the buffer and route libbpf's warnings and info into it. */
void wfgt_log_capture(void);

/* What libbpf logged since the last wfgt_log_capture(). */
const char *wfgt_log(void);

/* Its last `n` bytes at most: the verifier's verdict ends a long log. */
const char *wfgt_log_tail(size_t n);

#endif
