// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Traces in memory and on disk: Wang's format, the Maybenot simulator's,
 * wfguard's own (text) and pcap/pcapng through libpcap.
 * Rules for each: docs/trace-format.md.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include <netinet/in.h>

#include "err.h"
#include "trace.h"

#define NATIVE_HEADER "wfguard-trace v1"
#define NATIVE_MAGIC  "wfguard-trace "

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

/* ---------------------------------------------------------------- lexing helpers */

const char *wfb_quote(const char *s, char *buf, size_t len)
{
	size_t i = 0, max = len - 4;

	for (; *s && i < max; s++) {
		if (*s == '\t' && i + 2 <= max) {
			buf[i++] = '\\';
			buf[i++] = 't';
		} else if (*s == '\t') {
			break;
		} else {
			buf[i++] = isprint((unsigned char)*s) ? *s : '?';
		}
	}
	if (*s) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = 0;
	return buf;
}

int wfb_parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9)
			return -EINVAL;
		if (x > (max - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* Seconds with an exponent (1e-05, as Python writes small floats). */
static int parse_seconds_exp(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || !isfinite(v))
		return -EINVAL;
	if (v < 0)
		return v > -1e-9 ? (*ns = 0, 0) : -EDOM;
	if (v * 1e9 >= 18446744073709551615.0)
		return -ERANGE;
	*ns = (uint64_t)llround(v * 1e9);
	return 0;
}

/* Seconds as a decimal number into nanoseconds, exactly (rounded at the 10th decimal). */
int wfb_parse_seconds(const char *s, uint64_t *ns)
{
	const uint64_t max_sec = UINT64_MAX / 1000000000ULL - 1;
	uint64_t sec = 0, frac = 0, scale = 100000000ULL;
	const char *p = s + (*s == '-');
	int digits = 0, tenth = -1;

	if (strspn(p, "0123456789.eE+-") != strlen(p))
		return -EINVAL;
	if (strpbrk(p, "eE"))
		return parse_seconds_exp(s, ns);
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (sec > max_sec)
			return -ERANGE;
		sec = sec * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits++) {
			if (scale) {
				frac += (uint64_t)(*p - '0') * scale;
				scale /= 10;
			} else if (tenth < 0) {
				tenth = *p - '0';
			}
		}
	}
	if (*p || !digits)
		return -EINVAL;
	if (*s == '-' && (sec || frac))
		return -EDOM;
	if (sec > max_sec)
		return -ERANGE;
	*ns = sec * 1000000000ULL + frac + (tenth >= 5);
	return 0;
}

/* "12.5" for 12500000000 ns: exact, trailing zeros dropped, at least one decimal. */
char *wfb_fmt_seconds(uint64_t ns, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%llu.%09llu", (unsigned long long)(ns / 1000000000ULL),
			 (unsigned long long)(ns % 1000000000ULL));

	while (n > 0 && (size_t)n < len && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = 0;
	return buf;
}

/* Split s in place at runs of any character of `sep`; returns the field count (max+1 = more). */
int wfb_split(char *s, const char *sep, char **fields, int max)
{
	int n = 0;

	for (;;) {
		s += strspn(s, sep);
		if (!*s)
			return n;
		if (n == max)
			return max + 1;
		fields[n++] = s;
		s += strcspn(s, sep);
		if (!*s)
			return n;
		*s++ = 0;
	}
}

/* Split at every comma (empty fields count); fields trimmed of blanks. */
static int split_commas(char *s, char **fields, int max)
{
	int n = 0;

	for (;;) {
		char *end = strchr(s, ',');

		if (n == max)
			return max + 1;
		if (end)
			*end = 0;
		fields[n++] = wfb_trim(s);
		if (!end)
			return n;
		s = end + 1;
	}
}

char *wfb_trim(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/* ---------------------------------------------------------------- line reader */

struct lines {
	FILE *f;
	const char *name;
	char *buf;
	size_t cap;
	size_t lineno;
};

/* The next line, trimmed; NULL at the end or on a read error (see lines_error). */
static char *lines_next(struct lines *l)
{
	ssize_t i, n = getline(&l->buf, &l->cap, l->f);

	if (n < 0)
		return NULL;
	l->lineno++;
	for (i = 0; i < n; i++) { /* NUL bytes: show them, do not cut the line there */
		if (!l->buf[i])
			l->buf[i] = '?';
	}
	return wfb_trim(l->buf);
}

static int lines_error(struct lines *l, char *err, size_t errlen)
{
	if (ferror(l->f))
		return wfg_err(err, errlen, EIO, "%s: read error: %s", l->name, strerror(errno));
	return 0;
}

#define LERR(l, code, fmt, ...) \
	wfg_err(err, errlen, code, "%s:%zu: " fmt, (l)->name, (l)->lineno, ##__VA_ARGS__)

/* ---------------------------------------------------------------- Wang */

#define WANG_SHAPE "expected '<time><TAB><±size>', got '%s'"

static int wang_time(struct lines *l, const char *s, uint64_t *ns, char *err, size_t errlen)
{
	char q[64];
	int rc = wfb_parse_seconds(s, ns);

	if (rc == -EDOM)
		return LERR(l, EINVAL, "negative time '%s'", wfb_quote(s, q, sizeof(q)));
	if (rc == -ERANGE)
		return LERR(l, EINVAL, "time '%s' out of range", wfb_quote(s, q, sizeof(q)));
	if (rc)
		return LERR(l, EINVAL, "bad time '%s': expected seconds as a decimal number",
			    wfb_quote(s, q, sizeof(q)));
	return 0;
}

static int wang_size(struct lines *l, const char *s, int *dir, uint32_t *size, char *err,
		     size_t errlen)
{
	const char *digits = s + (*s == '+' || *s == '-');
	uint64_t v;
	char q[64];
	int rc = wfb_parse_u64(digits, UINT32_MAX, &v);

	if (rc == -ERANGE)
		return LERR(l, EINVAL, "size '%s' out of range", wfb_quote(s, q, sizeof(q)));
	if (rc)
		return LERR(l, EINVAL,
			    "bad size '%s': expected a signed integer "
			    "(+ client to server, - server to client)",
			    wfb_quote(s, q, sizeof(q)));
	if (v == 0)
		return LERR(l, EINVAL, "size 0 has no direction");
	*dir = *s == '-' ? WFB_IN : WFB_OUT;
	*size = v == 1 ? 0 : (uint32_t)v; /* ±1: direction only, size unknown */
	return 0;
}

static int check_order(struct lines *l, const struct wfb_trace *t, uint64_t ns, bool seconds,
		       char *err, size_t errlen)
{
	char a[40], b[40];
	uint64_t prev;

	if (!t->n || t->pkts[t->n - 1].time_ns <= ns)
		return 0;
	prev = t->pkts[t->n - 1].time_ns;
	if (seconds)
		return LERR(l, EINVAL, "time goes backwards: %s s after %s s",
			    wfb_fmt_seconds(ns, a, sizeof(a)), wfb_fmt_seconds(prev, b, sizeof(b)));
	return LERR(l, EINVAL, "time goes backwards: %llu ns after %llu ns", (unsigned long long)ns,
		    (unsigned long long)prev);
}

/* Every non-blank line through `one`; the trace is emptied first. */
static int read_lines(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen,
		      int (*one)(struct lines *, char *, struct wfb_trace *, char *, size_t))
{
	struct lines l = { .f = f, .name = name };
	char *line;
	int rc = 0;

	t->n = 0;
	while (!rc && (line = lines_next(&l))) {
		if (*line)
			rc = one(&l, line, t, err, errlen);
	}
	if (!rc)
		rc = lines_error(&l, err, errlen);
	free(l.buf);
	return rc;
}

static int wang_one(struct lines *l, char *line, struct wfb_trace *t, char *err, size_t errlen)
{
	char *copy = strdup(line), *f[2], q[64];
	uint32_t size = 0;
	uint64_t ns = 0;
	int dir = 0, rc;

	if (!copy)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	if (wfb_split(copy, " \t", f, 2) != 2)
		rc = LERR(l, EINVAL, WANG_SHAPE, wfb_quote(line, q, sizeof(q)));
	else if (!(rc = wang_time(l, f[0], &ns, err, errlen)))
		rc = wang_size(l, f[1], &dir, &size, err, errlen);
	if (!rc)
		rc = check_order(l, t, ns, true, err, errlen);
	if (!rc && wfb_trace_push(t, ns, dir, size, WFB_REAL))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	free(copy);
	return rc;
}

int wfb_read_wang(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen)
{
	return read_lines(f, name, t, err, errlen, wang_one);
}

/* ---------------------------------------------------------------- Maybenot */

#define MAYBENOT_SHAPE "expected '<time_ns>,<s|r|sn|rn|sp|rp>[,<size>]', got '%s'"

static int maybenot_event(const char *s, int *dir, enum wfb_kind *kind)
{
	static const struct {
		const char *name;
		int dir;
		enum wfb_kind kind;
	} ev[] = {
		{ "s", WFB_OUT, WFB_REAL },   { "sn", WFB_OUT, WFB_REAL },
		{ "r", WFB_IN, WFB_REAL },    { "rn", WFB_IN, WFB_REAL },
		{ "sp", WFB_OUT, WFB_COVER }, { "rp", WFB_IN, WFB_COVER },
	};
	size_t i;

	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		if (!strcmp(s, ev[i].name)) {
			*dir = ev[i].dir;
			*kind = ev[i].kind;
			return 0;
		}
	}
	return -EINVAL;
}

static int ns_field(struct lines *l, const char *s, uint64_t *ns, char *err, size_t errlen)
{
	char q[64];
	int rc = wfb_parse_u64(s, UINT64_MAX, ns);

	if (rc == -ERANGE)
		return LERR(l, EINVAL, "time '%s' out of range", wfb_quote(s, q, sizeof(q)));
	if (rc)
		return LERR(l, EINVAL, "bad time '%s': expected nanoseconds as an unsigned integer",
			    wfb_quote(s, q, sizeof(q)));
	return 0;
}

static int size_field(struct lines *l, const char *s, uint32_t *size, char *err, size_t errlen)
{
	char q[64];
	uint64_t v;
	int rc = wfb_parse_u64(s, UINT32_MAX, &v);

	if (rc == -ERANGE)
		return LERR(l, EINVAL, "size '%s' out of range", wfb_quote(s, q, sizeof(q)));
	if (rc)
		return LERR(l, EINVAL, "bad size '%s': expected bytes as an unsigned integer",
			    wfb_quote(s, q, sizeof(q)));
	*size = (uint32_t)v;
	return 0;
}

static int maybenot_one(struct lines *l, char *line, struct wfb_trace *t, char *err, size_t errlen)
{
	char *copy = strdup(line), *f[3], q[64];
	enum wfb_kind kind = WFB_REAL;
	uint32_t size = 0;
	uint64_t ns = 0;
	int n, dir = 0, rc;

	if (!copy)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	n = split_commas(copy, f, 3);
	if (n < 2 || n > 3 || !*f[0] || !*f[1] || (n == 3 && !*f[2]))
		rc = LERR(l, EINVAL, MAYBENOT_SHAPE, wfb_quote(line, q, sizeof(q)));
	else if (!(rc = ns_field(l, f[0], &ns, err, errlen)) && maybenot_event(f[1], &dir, &kind))
		rc = LERR(l, EINVAL, "unknown event '%s': expected s, r, sn, rn, sp or rp",
			  wfb_quote(f[1], q, sizeof(q)));
	if (!rc && n == 3)
		rc = size_field(l, f[2], &size, err, errlen);
	if (!rc)
		rc = check_order(l, t, ns, false, err, errlen);
	if (!rc && wfb_trace_push(t, ns, dir, size, kind))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	free(copy);
	return rc;
}

int wfb_read_maybenot(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen)
{
	return read_lines(f, name, t, err, errlen, maybenot_one);
}

/* ---------------------------------------------------------------- native */

#define NATIVE_SHAPE "expected '<time_ns> <+|-> <size> <r|c>', got '%s'"

static int native_fields(struct lines *l, char **f, uint64_t *ns, int *dir, uint32_t *size,
			 enum wfb_kind *kind, char *err, size_t errlen)
{
	char q[64];
	int rc = ns_field(l, f[0], ns, err, errlen);

	if (rc)
		return rc;
	if (strcmp(f[1], "+") && strcmp(f[1], "-"))
		return LERR(l, EINVAL, "bad direction '%s': expected + or -",
			    wfb_quote(f[1], q, sizeof(q)));
	*dir = f[1][0] == '+' ? WFB_OUT : WFB_IN;
	rc = size_field(l, f[2], size, err, errlen);
	if (rc)
		return rc;
	if (strcmp(f[3], "r") && strcmp(f[3], "c"))
		return LERR(l, EINVAL, "bad kind '%s': expected r (real) or c (cover)",
			    wfb_quote(f[3], q, sizeof(q)));
	*kind = f[3][0] == 'c' ? WFB_COVER : WFB_REAL;
	return 0;
}

static int native_one(struct lines *l, char *line, struct wfb_trace *t, char *err, size_t errlen)
{
	char *copy, *f[4], q[64];
	enum wfb_kind kind = WFB_REAL;
	uint32_t size = 0;
	uint64_t ns = 0;
	int dir = 0, rc;

	if (*line == '#')
		return 0;
	copy = strdup(line);
	if (!copy)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	if (wfb_split(copy, " \t", f, 4) != 4)
		rc = LERR(l, EINVAL, NATIVE_SHAPE, wfb_quote(line, q, sizeof(q)));
	else
		rc = native_fields(l, f, &ns, &dir, &size, &kind, err, errlen);
	if (!rc)
		rc = check_order(l, t, ns, false, err, errlen);
	if (!rc && wfb_trace_push(t, ns, dir, size, kind))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	free(copy);
	return rc;
}

static int native_header(struct lines *l, char *err, size_t errlen)
{
	char *line = lines_next(l), q[64];

	if (!line) {
		int rc = lines_error(l, err, errlen);

		l->lineno = 1;
		return rc ? rc
			  : LERR(l, EINVAL, "empty file: expected the header '%s'", NATIVE_HEADER);
	}
	if (!strcmp(line, NATIVE_HEADER))
		return 0;
	if (!strncmp(line, NATIVE_MAGIC, strlen(NATIVE_MAGIC)))
		return LERR(l, EINVAL, "unsupported version '%s' (this build reads '%s')",
			    wfb_quote(line + strlen(NATIVE_MAGIC), q, sizeof(q)), NATIVE_HEADER);
	return LERR(l, EINVAL, "expected the header '%s', got '%s'", NATIVE_HEADER,
		    wfb_quote(line, q, sizeof(q)));
}

int wfb_read_native(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen)
{
	struct lines l = { .f = f, .name = name };
	char *line;
	int rc;

	t->n = 0;
	rc = native_header(&l, err, errlen);
	while (!rc && (line = lines_next(&l))) {
		if (*line)
			rc = native_one(&l, line, t, err, errlen);
	}
	if (!rc)
		rc = lines_error(&l, err, errlen);
	free(l.buf);
	return rc;
}

/* ---------------------------------------------------------------- writers */

static int write_status(FILE *f)
{
	return ferror(f) ? -EIO : 0;
}

int wfb_write_wang(FILE *f, const struct wfb_trace *t)
{
	char ts[40];
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];
		long long v = p->size ? (long long)p->size : 1;

		fprintf(f, "%s\t%lld\n", wfb_fmt_seconds(p->time_ns, ts, sizeof(ts)),
			p->dir == WFB_IN ? -v : v);
	}
	return write_status(f);
}

int wfb_write_maybenot(FILE *f, const struct wfb_trace *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];
		const char *ev = p->dir == WFB_OUT ? "s" : "r";

		if (p->kind == WFB_COVER)
			ev = p->dir == WFB_OUT ? "sp" : "rp";
		if (p->size)
			fprintf(f, "%llu,%s,%u\n", (unsigned long long)p->time_ns, ev, p->size);
		else
			fprintf(f, "%llu,%s\n", (unsigned long long)p->time_ns, ev);
	}
	return write_status(f);
}

int wfb_write_native(FILE *f, const struct wfb_trace *t)
{
	size_t i;

	fprintf(f, "%s\n", NATIVE_HEADER);
	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];

		fprintf(f, "%llu %c %u %c\n", (unsigned long long)p->time_ns,
			p->dir == WFB_OUT ? '+' : '-', p->size, p->kind == WFB_COVER ? 'c' : 'r');
	}
	return write_status(f);
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

/* ---------------------------------------------------------------- pcap */

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

enum pcap_verdict {
	PV_KEEP,
	PV_NOT_IP,
	PV_NOT_TCPUDP,
	PV_OTHER_HOST,
	PV_EMPTY,
	PV_FRAGMENT,
	PV_BAD, /* truncated or malformed headers: an error */
};

/* One packet being decoded: the bytes, how far we are, and what we found. */
struct pdec {
	const uint8_t *d;
	uint32_t caplen;
	uint32_t off;	/* start of the current header */
	uint32_t l4len; /* IP payload bytes after the network headers */
	int family;	/* AF_INET, AF_INET6 */
	int proto;	/* IPPROTO_TCP, IPPROTO_UDP, ... */
	const uint8_t *src, *dst;
	const char *what; /* PV_BAD: which header */
	uint32_t size;	  /* PV_KEEP: payload bytes */
	int dir;
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool have(const struct pdec *p, uint32_t n)
{
	return p->off + n <= p->caplen;
}

static enum pcap_verdict bad(struct pdec *p, const char *what)
{
	p->what = what;
	return PV_BAD;
}

/* Ethertype to the IP version it carries (0: not IP). */
static int ethertype_ip(uint16_t type)
{
	return type == 0x0800 ? 4 : type == 0x86dd ? 6 : 0;
}

/* Skip the link header; *ver = 4, 6 or 0 (not IP). */
static enum pcap_verdict link_layer(struct pdec *p, int dlt, int *ver)
{
	uint16_t type;

	switch (dlt) {
	case DLT_EN10MB:
		if (!have(p, 14))
			return bad(p, "Ethernet");
		type = be16(p->d + 12);
		p->off = 14;
		while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
			if (!have(p, 4))
				return bad(p, "VLAN");
			type = be16(p->d + p->off + 2);
			p->off += 4;
		}
		*ver = ethertype_ip(type);
		return PV_KEEP;
	case DLT_LINUX_SLL:
		if (!have(p, 16))
			return bad(p, "Linux cooked");
		*ver = ethertype_ip(be16(p->d + 14));
		p->off = 16;
		return PV_KEEP;
	case DLT_LINUX_SLL2:
		if (!have(p, 20))
			return bad(p, "Linux cooked v2");
		*ver = ethertype_ip(be16(p->d));
		p->off = 20;
		return PV_KEEP;
	case DLT_NULL:
	case DLT_LOOP:
		p->off = 4;
		break;
	default: /* DLT_RAW, DLT_IPV4, DLT_IPV6 */
		p->off = 0;
		break;
	}
	if (!have(p, 1))
		return bad(p, "IP");
	*ver = p->d[p->off] >> 4;
	if (*ver != 4 && *ver != 6)
		*ver = 0;
	return PV_KEEP;
}

static bool dlt_supported(int dlt)
{
	return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 ||
	       dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6 || dlt == DLT_NULL ||
	       dlt == DLT_LOOP;
}

static enum pcap_verdict ipv4(struct pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t ihl, total;

	if (!have(p, 20))
		return bad(p, "IPv4");
	ihl = (uint32_t)(h[0] & 15) * 4;
	total = be16(h + 2);
	if (ihl < 20 || total < ihl || !have(p, ihl))
		return bad(p, "IPv4");
	p->family = AF_INET;
	p->proto = h[9];
	p->src = h + 12;
	p->dst = h + 16;
	p->off += ihl;
	p->l4len = total - ihl;
	if (be16(h + 6) & 0x1fff)
		return PV_FRAGMENT;
	return PV_KEEP;
}

/* IPv6 and its extension headers up to the transport header. */
static enum pcap_verdict ipv6(struct pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t len;
	int nh, i;

	if (!have(p, 40))
		return bad(p, "IPv6");
	p->family = AF_INET6;
	p->src = h + 8;
	p->dst = h + 24;
	p->l4len = be16(h + 4);
	nh = h[6];
	p->off += 40;
	for (i = 0; i < 8; i++) {
		h = p->d + p->off;
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44 && nh != 51)
			break;
		if (!have(p, 8))
			return bad(p, "IPv6 extension");
		if (nh == 44 && (be16(h + 2) >> 3))
			return PV_FRAGMENT;
		len = nh == 44 ? 8 : nh == 51 ? ((uint32_t)h[1] + 2) * 4 : ((uint32_t)h[1] + 1) * 8;
		if (len > p->l4len)
			return bad(p, "IPv6 extension");
		nh = h[0];
		p->off += len;
		p->l4len -= len;
	}
	p->proto = nh;
	return PV_KEEP;
}

static enum pcap_verdict transport(struct pdec *p)
{
	const uint8_t *h = p->d + p->off;
	uint32_t hl;

	if (p->proto == IPPROTO_UDP) {
		if (!have(p, 8) || be16(h + 4) < 8)
			return bad(p, "UDP");
		p->size = be16(h + 4) - 8u;
	} else if (p->proto == IPPROTO_TCP) {
		if (!have(p, 13))
			return bad(p, "TCP");
		hl = (uint32_t)(h[12] >> 4) * 4;
		if (hl < 20 || hl > p->l4len)
			return bad(p, "TCP");
		p->size = p->l4len - hl;
	} else {
		return PV_NOT_TCPUDP;
	}
	return p->size ? PV_KEEP : PV_EMPTY;
}

static enum pcap_verdict decode(struct pdec *p, int dlt, const struct wfb_addr *client)
{
	size_t alen;
	enum pcap_verdict v;
	int ver = 0;

	v = link_layer(p, dlt, &ver);
	if (v != PV_KEEP)
		return v;
	if (!ver)
		return PV_NOT_IP;
	v = ver == 4 ? ipv4(p) : ipv6(p);
	if (v == PV_BAD)
		return v;
	alen = p->family == AF_INET ? 4 : 16;
	if (client->family == p->family && !memcmp(p->src, client->a, alen))
		p->dir = WFB_OUT;
	else if (client->family == p->family && !memcmp(p->dst, client->a, alen))
		p->dir = WFB_IN;
	else
		return PV_OTHER_HOST;
	if (v != PV_KEEP)
		return v;
	return transport(p);
}

static void count(struct wfb_pcap_stats *st, enum pcap_verdict v)
{
	size_t *c[] = {
		[PV_KEEP] = &st->kept,
		[PV_NOT_IP] = &st->not_ip,
		[PV_NOT_TCPUDP] = &st->not_tcpudp,
		[PV_OTHER_HOST] = &st->other_host,
		[PV_EMPTY] = &st->empty,
		[PV_FRAGMENT] = &st->fragment,
	};

	if (v < PV_BAD)
		(*c[v])++;
}

struct pcap_read {
	const char *path;
	pcap_t *p;
	struct wfb_trace *t;
	struct wfb_pcap_stats st;
	uint64_t base, prev;
};

static int pcap_keep(struct pcap_read *r, const struct pcap_pkthdr *h, const struct pdec *d,
		     char *err, size_t errlen)
{
	uint64_t ns = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec;

	if (!r->t->n)
		r->base = r->prev = ns;
	if (ns < r->prev)
		return wfg_err(err, errlen, EINVAL,
			       "%s: packet %zu: time goes backwards (%llu ns before the "
			       "previous packet)",
			       r->path, r->st.packets, (unsigned long long)(r->prev - ns));
	r->prev = ns;
	if (wfb_trace_push(r->t, ns - r->base, d->dir, d->size, WFB_REAL))
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	return 0;
}

static int pcap_loop_all(struct pcap_read *r, const struct wfb_addr *client, char *err,
			 size_t errlen)
{
	int dlt = pcap_datalink(r->p), rc;
	struct pcap_pkthdr *h;
	const u_char *data;

	while ((rc = pcap_next_ex(r->p, &h, &data)) == 1) {
		struct pdec d = { .d = data, .caplen = h->caplen };
		enum pcap_verdict v = decode(&d, dlt, client);

		r->st.packets++;
		if (v == PV_BAD)
			return wfg_err(err, errlen, EINVAL,
				       "%s: packet %zu: truncated or malformed %s header "
				       "(%u bytes captured)",
				       r->path, r->st.packets, d.what, h->caplen);
		count(&r->st, v);
		if (v == PV_KEEP && (rc = pcap_keep(r, h, &d, err, errlen)))
			return rc;
	}
	if (rc == -1)
		return wfg_err(err, errlen, EINVAL, "%s: packet %zu: %s", r->path,
			       r->st.packets + 1, pcap_geterr(r->p));
	return 0;
}

int wfb_read_pcap(const char *path, const struct wfb_addr *client, struct wfb_trace *t,
		  struct wfb_pcap_stats *st, char *err, size_t errlen)
{
	struct pcap_read r = { .path = path, .t = t };
	char ebuf[PCAP_ERRBUF_SIZE] = "", abuf[INET6_ADDRSTRLEN];
	FILE *f = fopen(path, "rb");
	int rc;

	t->n = 0;
	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	r.p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!r.p) {
		fclose(f);
		return wfg_err(err, errlen, EINVAL, "%s: not a pcap or pcapng file (%s)", path,
			       ebuf);
	}
	if (!dlt_supported(pcap_datalink(r.p))) {
		const char *name = pcap_datalink_val_to_name(pcap_datalink(r.p));

		rc = wfg_err(err, errlen, EINVAL, "%s: link type %d (%s) not supported", path,
			     pcap_datalink(r.p), name ? name : "unknown");
	} else {
		rc = pcap_loop_all(&r, client, err, errlen);
	}
	pcap_close(r.p); /* closes f */
	if (!rc && !t->n)
		rc = wfg_err(err, errlen, ENODATA,
			     "%s: no TCP/UDP packet with payload to or from %s (%zu packets read)",
			     path, inet_ntop(client->family, client->a, abuf, sizeof(abuf)),
			     r.st.packets);
	if (st)
		*st = r.st;
	return rc;
}

/* ---------------------------------------------------------------- pcap writer */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += be16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IP + UDP headers for a datagram of `size` zero bytes; returns the header length. */
static uint32_t build_headers(uint8_t *b, const struct wfb_addr *src, const struct wfb_addr *dst,
			      uint32_t size, uint16_t sport, uint16_t dport)
{
	uint32_t alen = src->family == AF_INET ? 4 : 16, ipl = src->family == AF_INET ? 20 : 40;
	uint8_t *u = b + ipl, pseudo[40] = { 0 };
	uint32_t sum;

	memset(b, 0, ipl + 8);
	if (src->family == AF_INET) {
		b[0] = 0x45;
		put16(b + 2, ipl + 8 + size);
		b[8] = 64;
		b[9] = IPPROTO_UDP;
		memcpy(b + 12, src->a, 4);
		memcpy(b + 16, dst->a, 4);
		put16(b + 10, csum_fold(csum_add(0, b, 20)));
	} else {
		b[0] = 0x60;
		put16(b + 4, 8 + size);
		b[6] = IPPROTO_UDP;
		b[7] = 64;
		memcpy(b + 8, src->a, 16);
		memcpy(b + 24, dst->a, 16);
	}
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, 8 + size);
	/* checksum over the pseudo header and the UDP header; the payload is zeros */
	memcpy(pseudo, src->a, alen);
	memcpy(pseudo + alen, dst->a, alen);
	sum = csum_add(0, pseudo, 2 * alen) + IPPROTO_UDP + 8 + size;
	sum = csum_add(sum, u, 8);
	put16(u + 6, csum_fold(sum) ? csum_fold(sum) : 0xffff);
	return ipl + 8;
}

static int dump_packets(pcap_dumper_t *dump, const struct wfb_trace *t,
			const struct wfb_addr *client, const struct wfb_addr *server,
			const char *path, char *err, size_t errlen)
{
	uint8_t *buf = malloc(40 + 8 + 65535);
	struct pcap_pkthdr h;
	size_t i;
	int rc = 0;

	if (!buf)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	for (i = 0; i < t->n; i++) {
		const struct wfb_pkt *p = &t->pkts[i];
		bool out = p->dir == WFB_OUT;
		uint32_t hl;

		if (!p->size || p->size > 65507) {
			rc = wfg_err(err, errlen, EINVAL,
				     "%s: packet %zu: size %u cannot be a UDP datagram", path,
				     i + 1, p->size);
			break;
		}
		hl = build_headers(buf, out ? client : server, out ? server : client, p->size,
				   out ? 40000 : 443, out ? 443 : 40000);
		memset(buf + hl, 0, p->size);
		h.ts.tv_sec = (time_t)(p->time_ns / 1000000000ULL);
		h.ts.tv_usec = (suseconds_t)(p->time_ns % 1000000000ULL); /* ns precision */
		h.caplen = h.len = hl + p->size;
		pcap_dump((u_char *)dump, &h, buf);
	}
	free(buf);
	return rc;
}

int wfb_write_pcap(const char *path, const struct wfb_trace *t, const struct wfb_addr *client,
		   const struct wfb_addr *server, char *err, size_t errlen)
{
	pcap_t *p;
	pcap_dumper_t *dump;
	int rc;

	if (client->family != server->family)
		return wfg_err(err, errlen, EINVAL, "%s: client and server of different families",
			       path);
	p = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
	if (!p)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	dump = pcap_dump_open(p, path);
	if (!dump) {
		rc = wfg_err(err, errlen, EIO, "%s", pcap_geterr(p));
		pcap_close(p);
		return rc;
	}
	rc = dump_packets(dump, t, client, server, path, err, errlen);
	if (!rc && pcap_dump_flush(dump))
		rc = wfg_err(err, errlen, EIO, "%s: write error", path);
	pcap_dump_close(dump);
	pcap_close(p);
	if (rc)
		unlink(path);
	return rc;
}
