// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the text formats share: number and time lexing, quoting for
 * messages, field splitting, and the line reader that numbers lines for
 * "file:line:" errors (trace_text.h; public helpers in trace.h).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "trace_text.h"

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
int wfb_split_commas(char *s, char **fields, int max)
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

/* The next line, trimmed; NULL at the end or on a read error (see wfb_lines_error). */
char *wfb_lines_next(struct lines *l)
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

int wfb_lines_error(struct lines *l, char *err, size_t errlen)
{
	if (ferror(l->f))
		return wfg_err(err, errlen, EIO, "%s: read error: %s", l->name, strerror(errno));
	return 0;
}

int wfb_check_order(struct lines *l, const struct wfb_trace *t, uint64_t ns, bool seconds,
		    char *err, size_t errlen)
{
	char a[40], b[40];
	uint64_t prev;

	if (!t->n || t->pkts[t->n - 1].time_ns <= ns)
		return 0;
	prev = t->pkts[t->n - 1].time_ns;
	if (l->order != WFB_ORDER_STRICT) {
		if (!l->inv->count++)
			l->inv->first_line = l->lineno;
		if (prev - ns > l->inv->max_ns)
			l->inv->max_ns = prev - ns;
		return 0;
	}
	if (seconds)
		return LERR(l, EINVAL, "time goes backwards: %s s after %s s",
			    wfb_fmt_seconds(ns, a, sizeof(a)), wfb_fmt_seconds(prev, b, sizeof(b)));
	return LERR(l, EINVAL, "time goes backwards: %llu ns after %llu ns", (unsigned long long)ns,
		    (unsigned long long)prev);
}

/* KEEP: each packet no earlier than the one before it, in file order. */
static void raise_times(struct wfb_trace *t)
{
	size_t i;

	for (i = 1; i < t->n; i++) {
		if (t->pkts[i].time_ns < t->pkts[i - 1].time_ns)
			t->pkts[i].time_ns = t->pkts[i - 1].time_ns;
	}
}

/*
 * SORT: insertion sort, stable (ties keep file order) and linear in the
 * packets plus the distance they move, which is small for real inversions.
 */
static void sort_times(struct wfb_trace *t)
{
	size_t i, j;

	for (i = 1; i < t->n; i++) {
		struct wfb_pkt p = t->pkts[i];

		for (j = i; j > 0 && t->pkts[j - 1].time_ns > p.time_ns; j--)
			t->pkts[j] = t->pkts[j - 1];
		t->pkts[j] = p;
	}
}

int wfb_read_lines_ordered(FILE *f, const char *name, enum wfb_order order,
			   struct wfb_inversions *inv, struct wfb_trace *t, char *err,
			   size_t errlen,
			   int (*one)(struct lines *, char *, struct wfb_trace *, char *, size_t))
{
	struct wfb_inversions mine = { 0 };
	struct lines l = { .f = f, .name = name, .order = order, .inv = inv ? inv : &mine };
	char *line;
	int rc = 0;

	t->n = 0;
	memset(l.inv, 0, sizeof(*l.inv));
	while (!rc && (line = wfb_lines_next(&l))) {
		if (*line)
			rc = one(&l, line, t, err, errlen);
	}
	if (!rc)
		rc = wfb_lines_error(&l, err, errlen);
	free(l.buf);
	if (!rc && l.inv->count && order == WFB_ORDER_KEEP)
		raise_times(t);
	else if (!rc && l.inv->count && order == WFB_ORDER_SORT)
		sort_times(t);
	return rc;
}

/* Every non-blank line through `one`; the trace is emptied first. */
int wfb_read_lines(FILE *f, const char *name, struct wfb_trace *t, char *err, size_t errlen,
		   int (*one)(struct lines *, char *, struct wfb_trace *, char *, size_t))
{
	return wfb_read_lines_ordered(f, name, WFB_ORDER_STRICT, NULL, t, err, errlen, one);
}

int wfb_ns_field(struct lines *l, const char *s, uint64_t *ns, char *err, size_t errlen)
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

int wfb_size_field(struct lines *l, const char *s, uint32_t *size, char *err, size_t errlen)
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
