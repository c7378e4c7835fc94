/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The counters in the Prometheus text exposition format: one family per
 * counter of the one stats table (WFG_STAT_LIST in wfguard/datapath.h),
 * wfguard_<name>_total with the table's help text and an interface label.
 * For `wfguard stats --prometheus` and the node_exporter textfile that
 * `wfguard run --textfile` keeps (docs/cli-json.md, "Prometheus").
 */
#ifndef WFGUARD_USER_METRICS_H
#define WFGUARD_USER_METRICS_H

#include <stdio.h>

#include "wfguard/datapath.h"

/* Every counter of st for ifname to f; 0 or -EIO when f reports a write error. */
int wfg_metrics_write(FILE *f, const char *ifname, const __u64 st[WFG_STAT__COUNT]);

/*
 * The same into the file at path, atomically: written to a temporary file in
 * path's directory (node_exporter skips names not ending in .prom), flushed,
 * then renamed over path, so that a scrape sees the old file or the new one,
 * never half of one. 0 or -errno with the reason in err.
 */
int wfg_metrics_textfile(const char *path, const char *ifname, const __u64 st[WFG_STAT__COUNT],
			 char *err, size_t errlen);

#endif
