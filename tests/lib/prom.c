// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

struct prom_parse {
	struct prom_doc *doc;
	char *err;
	size_t errlen;
	int line;
	char help_of[96], type_of[96]; /* the family the last HELP / TYPE lines named */
	char help[256];
};

static int bad(struct prom_parse *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "line %d: ", p->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]*, copied into name; the length read, 0 if none. */
static size_t metric_name(const char *s, char *name, size_t len)
{
	size_t i = 0;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':')
		i++;
	if (i >= len)
		return 0;
	memcpy(name, s, i);
	name[i] = 0;
	return i;
}

/* Undo the escapes (\\, \n and, in label values, \") up to an unescaped stop (0: the end). */
static const char *unescape(const char *s, char stop, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && *s != stop; s++) {
		char c = *s;

		if (c == '\\') {
			s++;
			if (*s == 'n')
				c = '\n';
			else if (*s == '\\' || (stop && *s == '"'))
				c = *s;
			else
				return NULL;
		}
		if (o + 1 >= len)
			return NULL;
		out[o++] = c;
	}
	out[o] = 0;
	return stop && *s != stop ? NULL : s;
}

static int comment(struct prom_parse *p, const char *l)
{
	char name[96];
	size_t n;

	if (!strncmp(l, "# HELP ", 7)) {
		n = metric_name(l + 7, name, sizeof(name));
		if (!n || l[7 + n] != ' ' || !unescape(l + 8 + n, 0, p->help, sizeof(p->help)))
			return bad(p, "malformed HELP line");
		snprintf(p->help_of, sizeof(p->help_of), "%s", name);
		return 0;
	}
	if (!strncmp(l, "# TYPE ", 7)) {
		n = metric_name(l + 7, name, sizeof(name));
		if (!n || strcmp(l + 7 + n, " counter"))
			return bad(p, "malformed TYPE line (want 'counter')");
		if (strcmp(name, p->help_of))
			return bad(p, "TYPE of %s without its HELP before it", name);
		snprintf(p->type_of, sizeof(p->type_of), "%s", name);
		return 0;
	}
	return 0; /* other comments are allowed */
}

static int sample(struct prom_parse *p, const char *l, const char *label_name)
{
	struct prom_sample *s;
	char name[96], *end;
	size_t n = metric_name(l, name, sizeof(name)), ln = strlen(label_name);
	const char *v;
	int i;

	if (!n)
		return bad(p, "not a metric name");
	if (strcmp(name, p->type_of))
		return bad(p, "sample of %s without its HELP and TYPE", name);
	for (i = 0; i < p->doc->n; i++)
		if (!strcmp(p->doc->s[i].name, name))
			return bad(p, "%s appears twice", name);
	if (p->doc->n >= PROM_MAX)
		return bad(p, "too many samples");
	s = &p->doc->s[p->doc->n];
	l += n;
	if (l[0] != '{' || strncmp(l + 1, label_name, ln) || strncmp(l + 1 + ln, "=\"", 2))
		return bad(p, "%s: want {%s=\"...\"}", name, label_name);
	v = unescape(l + 3 + ln, '"', s->label, sizeof(s->label));
	if (!v || strncmp(v, "\"} ", 3))
		return bad(p, "%s: malformed label", name);
	errno = 0;
	s->value = strtoull(v + 3, &end, 10);
	if (errno || end == v + 3 || *end || v[3] == '-')
		return bad(p, "%s: value is not a counter: '%s'", name, v + 3);
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->help, sizeof(s->help), "%s", p->help);
	p->doc->n++;
	return 0;
}

int prom_parse(const char *text, const char *label_name, struct prom_doc *doc, char *err,
	       size_t errlen)
{
	struct prom_parse p = { .doc = doc, .err = err, .errlen = errlen };
	char line[1024];
	const char *t = text;

	doc->n = 0;
	while (*t) {
		size_t n = strcspn(t, "\n");

		p.line++;
		if (t[n] != '\n')
			return bad(&p, "no newline at the end");
		if (n >= sizeof(line))
			return bad(&p, "line too long");
		memcpy(line, t, n);
		line[n] = 0;
		t += n + 1;
		if (line[0] == '#' ? comment(&p, line) : sample(&p, line, label_name))
			return -1;
	}
	return 0;
}

const struct prom_sample *prom_find(const struct prom_doc *doc, const char *name)
{
	int i;

	for (i = 0; i < doc->n; i++)
		if (!strcmp(doc->s[i].name, name))
			return &doc->s[i];
	return NULL;
}
