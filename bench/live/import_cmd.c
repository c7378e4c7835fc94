// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `wfbench import --format pcap --split-gap MS` (split.h): the command's part;
 * wfbench.c parses the other import options. Apart from split.c, which is
 * library code the unit tests link without the command line.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "dataset.h"
#include "split.h"

int wfl_split_opt(int opt, const char *arg, struct wfl_split_opts *s)
{
	uint64_t v;

	if (opt == 'L') {
		s->labels = arg;
		return 0;
	}
	if (wfb_parse_u64(arg, opt == 'G' ? 3600000 : 1000000, &v) || !v)
		return -EINVAL;
	if (opt == 'G')
		s->gap_ns = v * 1000000ULL;
	else
		s->min_packets = (size_t)v;
	return 0;
}

int wfl_import_split_cmd(char **src, int nsrc, const char *out, const struct wfb_import_opts *o,
			 const struct wfl_split_opts *s)
{
	const struct cmd *c = wfb_find_cmd("import");
	struct wfl_split_report r;
	char err[512] = "";
	int rc;

	if (!s->gap_ns)
		return wfb_bad_usage(c, "%s", "--labels and --split-min go with --split-gap MS");
	if (o->fmt != WFB_FMT_PCAP || !o->client)
		return wfb_bad_usage(c, "%s", "--split-gap needs --format pcap and --client ADDR");
	if (!out || nsrc != 1)
		return wfb_bad_usage(c, "%s", "--split-gap: one capture file SRC and -o DIR");
	if (o->instances)
		return wfb_bad_usage(c, "%s", "--instances does not go with --split-gap");
	rc = wfl_import_split(src[0], out, o->client, s->gap_ns, s->min_packets, s->labels,
			      o->force, &r, err, sizeof(err));
	if (rc)
		return wfb_fail("import", rc, err);
	printf("imported %zu page loads from %s into %s: %u sites x %u instances\n", r.pieces,
	       src[0], out, r.sites, r.instances);
	printf("split at silences of %llu ms or more; %zu pieces of fewer than %zu packets left "
	       "out\n",
	       (unsigned long long)(s->gap_ns / 1000000), r.dropped, s->min_packets);
	printf("pcap: %zu packets read, %zu kept; left out: %zu other hosts, %zu not IP, "
	       "%zu not TCP/UDP, %zu without payload, %zu fragments\n",
	       r.st.packets, r.st.kept, r.st.other_host, r.st.not_ip, r.st.not_tcpudp, r.st.empty,
	       r.st.fragment);
	return 0;
}
