// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Cutting an observer's capture into page loads (split.h): read once with
 * the harness's packet decoder, then windows by schedule or pieces by gaps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include "dataset.h"
#include "err.h"
#include "pktdec.h"
#include "split.h"

static int cap_push(struct wfl_capture *c, const struct wfl_cpkt *p)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4096;
		struct wfl_cpkt *q = realloc(c->p, cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		c->p = q;
		c->cap = cap;
	}
	c->p[c->n++] = *p;
	return 0;
}

static void cap_count(struct wfb_pcap_stats *st, enum wfb_pv v)
{
	if (v == WFB_PV_KEEP)
		st->kept++;
	else if (v == WFB_PV_NOT_IP)
		st->not_ip++;
	else if (v == WFB_PV_NOT_TCPUDP)
		st->not_tcpudp++;
	else if (v == WFB_PV_OTHER_HOST)
		st->other_host++;
	else if (v == WFB_PV_EMPTY)
		st->empty++;
	else if (v == WFB_PV_FRAGMENT)
		st->fragment++;
}

static int cap_loop(pcap_t *p, const char *path, const struct wfb_addr *client,
		    struct wfl_capture *c, char *err, size_t errlen)
{
	int dlt = pcap_datalink(p), rc;
	struct pcap_pkthdr *h;
	const u_char *data;

	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		struct wfb_pdec d = { .d = data, .caplen = h->caplen };
		enum wfb_pv v = wfb_pkt_decode(&d, dlt, client);
		struct wfl_cpkt k;

		c->st.packets++;
		if (v == WFB_PV_BAD)
			return wfg_err(err, errlen, EINVAL,
				       "%s: packet %zu: truncated or malformed %s header", path,
				       c->st.packets, d.what);
		cap_count(&c->st, v);
		if (v != WFB_PV_KEEP)
			continue;
		k = (struct wfl_cpkt){
			.time_ns = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec,
			.size = d.size,
			.dir = (int8_t)d.dir,
		};
		if (c->n && k.time_ns < c->p[c->n - 1].time_ns)
			c->inversions++;
		if (d.proto == IPPROTO_UDP && d.off + 8 < h->caplen)
			k.type = data[d.off + 8];
		if (d.off + 4 <= h->caplen) /* source port, then destination port */
			k.cport = (uint16_t)(data[d.off + (d.dir == WFB_OUT ? 0 : 2)] << 8 |
					     data[d.off + (d.dir == WFB_OUT ? 1 : 3)]);
		if (cap_push(c, &k))
			return wfg_err(err, errlen, ENOMEM, "out of memory");
	}
	if (rc == -1)
		return wfg_err(err, errlen, EINVAL, "%s: packet %zu: %s", path, c->st.packets + 1,
			       pcap_geterr(p));
	return 0;
}

/* A live capture on a multi-core host can record a packet a few microseconds
 * before the one it follows in the file: put them in time order, the file's
 * order where times tie (insertion sort: the inversions are few and short). */
static void time_order(struct wfl_capture *c)
{
	size_t i, j;

	for (i = 1; c->inversions && i < c->n; i++) {
		struct wfl_cpkt k = c->p[i];

		for (j = i; j > 0 && c->p[j - 1].time_ns > k.time_ns; j--)
			c->p[j] = c->p[j - 1];
		c->p[j] = k;
	}
}

int wfl_capture_read(const char *path, const struct wfb_addr *client, struct wfl_capture *c,
		     char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p;
	int rc;

	memset(c, 0, sizeof(*c));
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!p)
		return wfg_err(err, errlen, EINVAL, "%s: %s", path, ebuf);
	if (!wfb_dlt_supported(pcap_datalink(p)))
		rc = wfg_err(err, errlen, EINVAL, "%s: link type %d not supported", path,
			     pcap_datalink(p));
	else
		rc = cap_loop(p, path, client, c, err, errlen);
	pcap_close(p);
	if (!rc)
		time_order(c);
	return rc;
}

void wfl_capture_free(struct wfl_capture *c)
{
	free(c->p);
	memset(c, 0, sizeof(*c));
}

/* Whether packet p is in the view, and the size it has there. */
static bool in_view(const struct wfl_cpkt *p, enum wfl_view view, uint32_t *size)
{
	if (view == WFL_WIRE) {
		*size = p->size;
		return true;
	}
	if (p->type != WFL_WG_DATA || p->size <= WFL_WG_DATA_OVHEAD)
		return false;
	*size = p->size - WFL_WG_DATA_OVHEAD;
	return true;
}

int wfl_capture_window(const struct wfl_capture *c, uint64_t from_ns, uint64_t to_ns,
		       enum wfl_view view, struct wfb_trace *t, uint64_t *first_ns, uint16_t *cport)
{
	size_t lo = 0, hi = c->n, i;
	uint64_t base = 0;

	t->n = 0;
	while (lo < hi) { /* the first packet at or after from_ns */
		size_t mid = lo + (hi - lo) / 2;

		if (c->p[mid].time_ns < from_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < c->n && c->p[i].time_ns < to_ns; i++) {
		uint32_t size;

		if (!in_view(&c->p[i], view, &size))
			continue;
		if (!t->n)
			base = c->p[i].time_ns;
		if (cport)
			cport[t->n] = c->p[i].cport;
		if (wfb_trace_push(t, c->p[i].time_ns - base, c->p[i].dir, size, WFB_REAL))
			return -ENOMEM;
	}
	if (first_ns)
		*first_ns = base;
	return 0;
}

size_t wfl_split_gaps(const struct wfl_capture *c, uint64_t gap_ns, size_t min_packets,
		      size_t *starts, size_t *ends, size_t max, size_t *dropped)
{
	size_t i, first = 0, n = 0;

	*dropped = 0;
	for (i = 1; i <= c->n && c->n; i++) {
		if (i < c->n && c->p[i].time_ns - c->p[i - 1].time_ns < gap_ns)
			continue;
		if (i - first < min_packets) {
			(*dropped)++;
		} else {
			if (n < max) {
				starts[n] = first;
				ends[n] = i;
			}
			n++;
		}
		first = i;
	}
	return n;
}

/* ---------------------------------------------------------------- import --split-gap */

/* The site of every piece, from a file of one number per line ('#' comments). */
static int read_labels(const char *path, int *site, size_t n, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t k = 0, lineno = 0;

	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *s = wfb_trim(line);
		uint64_t v;

		lineno++;
		if (!*s || *s == '#')
			continue;
		if (wfb_parse_u64(s, 1000000, &v)) {
			fclose(f);
			return wfg_err(err, errlen, EINVAL,
				       "%s:%zu:1: expected a site number, got '%s'", path, lineno,
				       s);
		}
		if (k < n)
			site[k] = (int)v;
		k++;
	}
	fclose(f);
	if (k != n)
		return wfg_err(err, errlen, EINVAL,
			       "%s: %zu labels for %zu page loads found by the gaps", path, k, n);
	return 0;
}

static int write_pieces(const struct wfl_capture *c, const size_t *starts, const size_t *ends,
			const int *site, size_t n, const char *dir, bool force, const char *source,
			char *err, size_t errlen)
{
	unsigned *next = calloc(1000001, sizeof(unsigned));
	struct wfb_writer *w = NULL;
	struct wfb_trace t;
	size_t k;
	int rc;

	if (!next)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	rc = wfb_writer_open(&w, dir, force, err, errlen);
	wfb_trace_init(&t);
	for (k = 0; !rc && k < n; k++) {
		uint64_t to = ends[k] < c->n ? c->p[ends[k]].time_ns : c->p[c->n - 1].time_ns + 1;

		rc = wfl_capture_window(c, c->p[starts[k]].time_ns, to, WFL_WIRE, &t, NULL, NULL);
		if (rc)
			rc = wfg_err(err, errlen, -rc, "out of memory");
		else
			rc = wfb_writer_add(w, site[k], next[site[k]]++, "-", &t, err, errlen);
	}
	wfb_trace_free(&t);
	free(next);
	if (rc) {
		if (w)
			wfb_writer_abort(w);
		return rc;
	}
	return wfb_writer_commit(w, source, err, errlen);
}

int wfl_import_split(const char *pcap, const char *dir, const struct wfb_addr *client,
		     uint64_t gap_ns, size_t min_packets, const char *labels, bool force,
		     struct wfl_split_report *rep, char *err, size_t errlen)
{
	struct wfl_capture c;
	size_t *starts = NULL, *ends = NULL, n, k;
	int *site = NULL, rc, maxsite = 0;
	char source[512];

	memset(rep, 0, sizeof(*rep));
	rc = wfl_capture_read(pcap, client, &c, err, errlen);
	if (rc)
		return rc;
	rep->st = c.st;
	n = wfl_split_gaps(&c, gap_ns, min_packets, NULL, NULL, 0, &rep->dropped);
	rep->pieces = n;
	if (!n) {
		wfl_capture_free(&c);
		return wfg_err(err, errlen, ENODATA,
			       "%s: no page load of %zu packets or more to or from the client",
			       pcap, min_packets);
	}
	starts = calloc(n, sizeof(*starts));
	ends = calloc(n, sizeof(*ends));
	site = calloc(n, sizeof(*site));
	if (!starts || !ends || !site)
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	if (!rc)
		wfl_split_gaps(&c, gap_ns, min_packets, starts, ends, n, &rep->dropped);
	if (!rc && labels)
		rc = read_labels(labels, site, n, err, errlen);
	for (k = 0; !rc && k < n; k++)
		maxsite = site[k] > maxsite ? site[k] : maxsite;
	snprintf(source, sizeof(source), "import --format pcap --split-gap %llu%s%s %s",
		 (unsigned long long)(gap_ns / 1000000), labels ? " --labels " : "",
		 labels ? labels : "", pcap);
	if (!rc)
		rc = write_pieces(&c, starts, ends, site, n, dir, force, source, err, errlen);
	if (!rc) {
		rep->sites = (unsigned)maxsite + 1;
		rep->instances = (unsigned)(n / rep->sites);
	}
	free(starts);
	free(ends);
	free(site);
	wfl_capture_free(&c);
	return rc;
}
