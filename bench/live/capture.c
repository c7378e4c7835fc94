// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The observer's capture of a live run (split.h): libpcap on the observer's
 * link, never wfguard's own capture, which sees the defended host's side.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include "err.h"
#include "split.h"

static pcap_t *capture_open(const char *dev, const char *filter, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	pcap_t *p = pcap_create(dev, ebuf);

	if (!p) {
		wfg_err(err, errlen, EINVAL, "%s: %s", dev, ebuf);
		return NULL;
	}
	pcap_set_snaplen(p, 128); /* the headers and WireGuard's type: sizes come from them */
	pcap_set_promisc(p, 0);
	pcap_set_immediate_mode(p, 1); /* no kernel block timeout to wait for */
	pcap_set_buffer_size(p, 32 << 20);
	pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
	if (pcap_activate(p) < 0 || pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) ||
	    pcap_setfilter(p, &prog)) {
		wfg_err(err, errlen, EINVAL, "%s: %s", dev, pcap_geterr(p));
		pcap_close(p);
		return NULL;
	}
	pcap_freecode(&prog);
	return p;
}

int wfl_capture_live(const char *dev, const char *filter, const char *pcap_path,
		     const char *stats_path, int ready_fd, volatile sig_atomic_t *stop, char *err,
		     size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_stat ps = { 0 };
	pcap_dumper_t *d;
	pcap_t *p = capture_open(dev, filter, err, errlen);
	FILE *f;

	if (!p)
		return -EINVAL;
	d = pcap_dump_open(p, pcap_path);
	if (!d || write(ready_fd, "r", 1) != 1) {
		wfg_err(err, errlen, EIO, "%s: %s", pcap_path, pcap_geterr(p));
		pcap_close(p);
		return -EIO;
	}
	/* non-blocking, our own poll: *stop is seen within 100 ms however quiet the link */
	if (pcap_setnonblock(p, 1, ebuf) < 0) {
		wfg_err(err, errlen, EIO, "%s: %s", dev, ebuf);
		pcap_dump_close(d);
		pcap_close(p);
		return -EIO;
	}
	while (!*stop) {
		struct pollfd pf = { .fd = pcap_get_selectable_fd(p), .events = POLLIN };

		poll(&pf, 1, 100);
		if (pcap_dispatch(p, -1, pcap_dump, (u_char *)d) < 0)
			break;
	}
	pcap_dispatch(p, -1, pcap_dump, (u_char *)d); /* what the buffer still holds */
	pcap_stats(p, &ps);
	pcap_dump_close(d);
	pcap_close(p);
	f = fopen(stats_path, "w");
	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", stats_path, strerror(errno));
	fprintf(f, "received %u dropped %u ifdropped %u\n", ps.ps_recv, ps.ps_drop, ps.ps_ifdrop);
	return fclose(f) ? wfg_err(err, errlen, EIO, "%s: write error", stats_path) : 0;
}
