// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libbpf's log into a buffer (bpflog.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "bpflog.h"

static char log_buf[1 << 16];

static int log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t n = strlen(log_buf);

	if (level == LIBBPF_DEBUG || n >= sizeof(log_buf) - 1)
		return 0;
	return vsnprintf(log_buf + n, sizeof(log_buf) - n, fmt, ap);
}

void wfgt_log_capture(void)
{
	log_buf[0] = 0;
	libbpf_set_print(log_print);
}

const char *wfgt_log(void)
{
	return log_buf;
}

const char *wfgt_log_tail(size_t n)
{
	size_t len = strlen(log_buf);

	return len > n ? log_buf + len - n : log_buf;
}
