/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A dataset written out for other tools (`wfbench export`): Wang's format,
 * the Maybenot simulator's format, or NumPy arrays. The output directory is
 * written whole or not at all. Layouts: docs/trace-format.md, "Export".
 */
#ifndef WFBENCH_EXPORT_H
#define WFBENCH_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

enum wfb_export_format {
	WFB_EXPORT_WANG,
	WFB_EXPORT_MAYBENOT,
	WFB_EXPORT_NPY,
};

struct wfb_export_opts {
	enum wfb_export_format fmt;
	size_t seq_len; /* npy: columns; 0 = the longest trace (lossless) */
	bool force;	/* replace OUT if an earlier export wrote it */
};

/* "wang", "maybenot", "npy"; -EINVAL. */
int wfb_export_format_parse(const char *s, enum wfb_export_format *fmt);
/* Every trace of `dataset` into the directory `out`; traces written in *n. */
int wfb_export(const char *dataset, const char *out, const struct wfb_export_opts *o, size_t *n,
	       char *err, size_t errlen);

#endif
