// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The in-memory trace, format names and addresses, and loading/saving a file
 * in any format (the formats themselves: wang.c, maybenot.c, native.c,
 * pcap.c). Rules for each: docs/trace-format.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "err.h"
#include "trace.h"
#include "trace_text.h"

/* ---------------------------------------------------------------- the trace */

void wfb_trace_init(struct wfb_trace *t)
{
	memset(t, 0, sizeof(*t));
}

void wfb_trace_free(struct wfb_trace *t)
{
	free(t->pkts);
	wfb_trace_init(t);
}

int wfb_trace_push(struct wfb_trace *t, uint64_t time_ns, int dir, uint32_t size,
		   enum wfb_kind kind)
{
	struct wfb_pkt *p;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;

		p = realloc(t->pkts, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		t->pkts = p;
		t->cap = cap;
	}
	p = &t->pkts[t->n++];
	p->time_ns = time_ns;
	p->size = size;
	p->dir = (int8_t)dir;
	p->kind = (uint8_t)kind;
	p->_pad = 0;
	return 0;
}

int wfb_trace_check(const struct wfb_trace *t, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];

		if (p->dir != WFB_OUT && p->dir != WFB_IN)
			return wfg_err(err, errlen, EINVAL, "packet %zu: direction %d", i + 1,
				       p->dir);
		if (p->kind != WFB_REAL && p->kind != WFB_COVER)
			return wfg_err(err, errlen, EINVAL, "packet %zu: kind %u", i + 1, p->kind);
		if (i && p->time_ns < p[-1].time_ns)
			return wfg_err(err, errlen, EINVAL,
				       "packet %zu: time goes backwards: %llu ns after %llu ns",
				       i + 1, (unsigned long long)p->time_ns,
				       (unsigned long long)p[-1].time_ns);
	}
	return 0;
}

bool wfb_trace_equal(const struct wfb_trace *a, const struct wfb_trace *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		const struct wfb_pkt *p = &a->pkts[i], *q = &b->pkts[i];

		if (p->time_ns != q->time_ns || p->size != q->size || p->dir != q->dir ||
		    p->kind != q->kind)
			return false;
	}
	return true;
}

void wfb_trace_stats(const struct wfb_trace *t, struct wfb_trace_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];
		int d = p->dir == WFB_OUT ? 0 : 1;

		st->packets[d]++;
		st->bytes[d] += p->size;
		st->cover += p->kind == WFB_COVER;
	}
	if (t->n)
		st->duration_ns = t->pkts[t->n - 1].time_ns;
}

/* ---------------------------------------------------------------- names */

static const char *const format_names[] = {
	[WFB_FMT_WANG] = "wang",
	[WFB_FMT_MAYBENOT] = "maybenot",
	[WFB_FMT_PCAP] = "pcap",
	[WFB_FMT_NATIVE] = "native",
};

int wfb_format_parse(const char *name, enum wfb_format *fmt)
{
	size_t i;

	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (!strcmp(name, format_names[i])) {
			*fmt = (enum wfb_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *wfb_format_name(enum wfb_format fmt)
{
	if ((size_t)fmt >= sizeof(format_names) / sizeof(format_names[0]))
		return "?";
	return format_names[fmt];
}

int wfb_addr_parse(const char *s, struct wfb_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, addr->a) == 1) {
		addr->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr->a) == 1) {
		addr->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* ---------------------------------------------------------------- files */

int wfb_trace_load(const char *path, enum wfb_format fmt, const struct wfb_addr *client,
		   struct wfb_trace *t, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	if (fmt == WFB_FMT_PCAP) {
		if (!client)
			return wfg_err(err, errlen, EINVAL, "%s: pcap needs the client address",
				       path);
		return wfb_read_pcap(path, client, t, NULL, err, errlen);
	}
	f = fopen(path, "r");
	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	if (fmt == WFB_FMT_WANG)
		rc = wfb_read_wang(f, path, t, err, errlen);
	else if (fmt == WFB_FMT_MAYBENOT)
		rc = wfb_read_maybenot(f, path, t, err, errlen);
	else
		rc = wfb_read_native(f, path, t, err, errlen);
	fclose(f);
	return rc;
}

int wfb_trace_load_ordered(const char *path, enum wfb_format fmt, enum wfb_order order,
			   struct wfb_inversions *inv, struct wfb_trace *t, char *err,
			   size_t errlen)
{
	FILE *f;
	int rc;

	if (inv)
		memset(inv, 0, sizeof(*inv));
	if (order == WFB_ORDER_STRICT || (fmt != WFB_FMT_WANG && fmt != WFB_FMT_MAYBENOT))
		return order == WFB_ORDER_STRICT
			       ? wfb_trace_load(path, fmt, NULL, t, err, errlen)
			       : wfg_err(err, errlen, EINVAL,
					 "%s: keeping or sorting inverted times is for the wang "
					 "and maybenot formats",
					 path);
	f = fopen(path, "r");
	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	if (fmt == WFB_FMT_WANG)
		rc = wfb_read_wang_ordered(f, path, order, inv, t, err, errlen);
	else
		rc = wfb_read_maybenot_ordered(f, path, order, inv, t, err, errlen);
	fclose(f);
	return rc;
}

static int write_fmt(FILE *f, enum wfb_format fmt, const struct wfb_trace *t)
{
	if (fmt == WFB_FMT_WANG)
		return wfb_write_wang(f, t);
	if (fmt == WFB_FMT_MAYBENOT)
		return wfb_write_maybenot(f, t);
	return wfb_write_native(f, t);
}

int wfb_trace_save(const char *path, enum wfb_format fmt, const struct wfb_trace *t, char *err,
		   size_t errlen)
{
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	FILE *f = NULL;
	int fd, rc;

	if (fmt == WFB_FMT_PCAP)
		return wfg_err(err, errlen, EINVAL, "%s: use wfb_write_pcap for pcap", path);
	if (!tmp)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	snprintf(tmp, n, "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = wfg_err(err, errlen, errno, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		rc = -ENOMEM;
	} else {
		rc = write_fmt(f, fmt, t);
		if (fclose(f) && !rc)
			rc = -errno;
	}
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc) {
		unlink(tmp);
		wfg_err(err, errlen, -rc, "%s: %s", path, strerror(-rc));
	}
	free(tmp);
	return rc;
}
