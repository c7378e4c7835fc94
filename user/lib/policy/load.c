// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The driver: read the file, let libyaml load the one document, run the three
 * phases (see internal.h) and hand over the result only when nothing failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void ir_free(struct ir *ir)
{
	int i, s, k;

	if (!ir)
		return;
	for (i = 0; i < ir->nelem; i++) {
		for (s = 0; s < 2; s++)
			for (k = 0; k < ir->el[i].nmb[s]; k++)
				wfg_mb_free(ir->el[i].mb[s][k]);
		ir_machine_free(ir->el[i].m);
	}
	free(ir);
}

/* The character at a mark (line and column in characters), or -1. */
static int char_at(const char *text, size_t len, yaml_mark_t m)
{
	size_t i = 0, line = 0, col = 0;

	while (i < len && line < m.line)
		if (text[i++] == '\n')
			line++;
	for (; i < len && text[i] != '\n'; i++) {
		if (((unsigned char)text[i] & 0xc0) == 0x80)
			continue;
		if (col++ == m.column)
			return (unsigned char)text[i];
	}
	return -1;
}

static void yaml_error(struct pctx *c, yaml_parser_t *p, const char *text, size_t len)
{
	if (p->error == YAML_READER_ERROR) {
		unsigned line = 1, col = 1;
		size_t i;

		for (i = 0; i < p->problem_offset && i < len; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		err_line(c, line, col, "YAML: %s", p->problem ? p->problem : "cannot read input");
		return;
	}
	if (p->error == YAML_SCANNER_ERROR && char_at(text, len, p->problem_mark) == '\t')
		err_mark(c, p->problem_mark,
			 "YAML: a tab cannot indent or start a value (use spaces)");
	else if (p->context)
		err_mark(c, p->problem_mark, "YAML: %s (%s at %u:%u)",
			 p->problem ? p->problem : "syntax error", p->context,
			 (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
	else
		err_mark(c, p->problem_mark, "YAML: %s", p->problem ? p->problem : "syntax error");
}

/*
 * Nesting deeper than any policy needs, caught by a streaming pass before
 * libyaml composes the document: its scanner checks every open flow level at
 * every token, so a file of 40,000 '[' takes seconds to refuse. Returns 0, or
 * -1 with the error reported at the first level too deep. A syntax error stops
 * the pass quietly; the full parse reports it.
 */
#define POLICY_MAX_DEPTH 32

static int check_depth(struct pctx *c, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, rc = 0, done = 0;

	if (!yaml_parser_initialize(&p))
		return 0;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && yaml_parser_parse(&p, &ev)) {
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > POLICY_MAX_DEPTH) {
				err_mark(c, ev.start_mark,
					 "nested more than %d levels deep (lists and mappings "
					 "inside one another): no policy needs that",
					 POLICY_MAX_DEPTH);
				rc = -1;
				done = 1;
			}
		} else if (ev.type == YAML_SEQUENCE_END_EVENT ||
			   ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		} else if (ev.type == YAML_STREAM_END_EVENT) {
			done = 1;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/*
 * YAML can spell a NUL byte ("\0", "\x00") inside a quoted string; C would
 * read the string only up to it, so "generic\0junk" would pass as "generic".
 * No value of a policy holds one: every such scalar is an error, keys too.
 */
static void check_nul(struct pctx *c, yaml_document_t *doc)
{
	yaml_node_t *n;

	for (n = doc->nodes.start; n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE &&
		    strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
			err_at(c, n,
			       "a string with a NUL byte (\\0) in it: no policy value "
			       "holds one");
}

static int load(const char *name, const char *basedir, const char *text, size_t len,
		struct wfg_compiled_policy *outp, struct wfg_diags *diags)
{
	struct pctx c = { .file = name, .basedir = basedir, .cap = RAW_MAX };
	struct wfg_side_builder *sb = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int rc = -EINVAL, parsed = 0, s;

	c.raw = calloc(RAW_MAX, sizeof(*c.raw));
	c.cp = calloc(1, sizeof(*c.cp));
	c.ir = calloc(1, sizeof(*c.ir));
	sb = malloc(sizeof(*sb));
	if (!c.raw || !c.cp || !c.ir || !sb) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		goto out_free;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (check_depth(&c, text, len))
		goto out_parser;
	if (!yaml_parser_load(&parser, &doc)) {
		if (parser.error == YAML_MEMORY_ERROR)
			rc = -ENOMEM;
		else
			yaml_error(&c, &parser, text, len);
		goto out_parser;
	}
	parsed = 1;
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		err_line(&c, 1, 1, "empty policy file (no YAML document)");
		goto out_doc;
	}
	{
		yaml_document_t more;

		if (!yaml_parser_load(&parser, &more)) {
			yaml_error(&c, &parser, text, len);
		} else {
			if (yaml_document_get_root_node(&more))
				err_mark(&c, more.start_mark,
					 "a policy file holds one YAML document (found a second)");
			yaml_document_delete(&more);
		}
	}
	check_nul(&c, &doc);
	c.ir->root = root;
	parse_top(&c, root);
	check_policy(&c);
	/* the role first: it says which side is built into dp.side */
	c.cp->role = (enum wfg_role)c.ir->role;
	for (s = 0; s < 2; s++)
		build_side(&c, s, sb);
	if (!c.nraw && !c.lost && build_pool(&c, sb)) {
		rc = -ENOMEM;
		goto out_doc;
	}
	if (!c.nraw && !c.lost) {
		wfg_policy_for_role(c.cp, c.cp->role);
		summarize(&c);
		memcpy(outp, c.cp, sizeof(*outp));
		c.cp->pool = NULL; /* the caller's now */
		rc = 0;
	}
out_doc:
	if (parsed)
		yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
out_free:
	if (rc == -ENOMEM && c.raw)
		err_io(&c, "out of memory");
	if (c.raw)
		emit_diags(&c, diags);
	else if (diags)
		memset(diags, 0, sizeof(*diags));
	ir_free(c.ir);
	if (c.cp)
		free(c.cp->pool);
	free(c.cp);
	free(c.raw);
	free(sb);
	return rc;
}

int wfg_policy_load_mem(const char *name, const char *text, size_t len,
			struct wfg_compiled_policy *out, struct wfg_diags *diags)
{
	return load(name, NULL, text, len, out, diags);
}

int wfg_policy_load(const char *path, struct wfg_compiled_policy *out, struct wfg_diags *diags)
{
	struct pctx c = { .file = path, .cap = 1 };
	struct raw_diag raw[1];
	char *text = NULL, *dir, *slash;
	size_t len = 0, n;
	FILE *f;
	int rc;

	c.raw = raw;
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		err_io(&c, "cannot open: %s", strerror(errno));
		goto fail;
	}
	text = malloc(WFG_POLICY_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		rc = -ENOMEM;
		err_io(&c, "out of memory");
		goto fail;
	}
	while ((n = fread(text + len, 1, WFG_POLICY_MAX_BYTES + 1 - len, f)) > 0) {
		len += n;
		if (len > WFG_POLICY_MAX_BYTES)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		err_io(&c, "cannot read: %s", strerror(errno));
		fclose(f);
		goto fail;
	}
	fclose(f);
	if (len > WFG_POLICY_MAX_BYTES) {
		rc = -EFBIG;
		err_io(&c, "file too large (policies are at most %u bytes)", WFG_POLICY_MAX_BYTES);
		goto fail;
	}
	dir = strdup(path);
	if (!dir) {
		rc = -ENOMEM;
		err_io(&c, "out of memory");
		goto fail;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		strcpy(dir, ".");
	rc = load(path, dir, text, len, out, diags);
	free(dir);
	free(text);
	return rc;
fail:
	free(text);
	emit_diags(&c, diags);
	return rc;
}

void wfg_policy_release(struct wfg_compiled_policy *p)
{
	free(p->pool);
	p->pool = NULL;
	p->pool_n = 0;
	p->dp.pool_size = 0;
}

struct wfg_side_cfg *wfg_policy_side(struct wfg_compiled_policy *p, enum wfg_role role)
{
	return role == p->role ? &p->dp.side : &p->peer;
}

/* Through a small buffer: a side is large, and this must not fail. */
static void swap_sides(struct wfg_side_cfg *x, struct wfg_side_cfg *y)
{
	unsigned char *a = (unsigned char *)x, *b = (unsigned char *)y, tmp[4096];
	size_t off, n;

	for (off = 0; off < sizeof(*x); off += n) {
		n = sizeof(*x) - off < sizeof(tmp) ? sizeof(*x) - off : sizeof(tmp);
		memcpy(tmp, a + off, n);
		memcpy(a + off, b + off, n);
		memcpy(b + off, tmp, n);
	}
}

void wfg_policy_for_role(struct wfg_compiled_policy *p, enum wfg_role role)
{
	if (role != p->role)
		swap_sides(&p->dp.side, &p->peer);
	p->role = role;
	p->dp.role = wfg_dp_role(role);
}

static void print_diags(const char *name, const struct wfg_diags *d, FILE *err)
{
	int i;

	for (i = 0; i < d->n; i++)
		fprintf(err, "%s\n", d->d[i].msg);
	if (d->truncated)
		fprintf(err, "%s: more errors not shown\n", name);
}

int wfg_policy_load_report(const char *path, struct wfg_compiled_policy *out, FILE *err)
{
	struct wfg_diags diags;
	int rc = wfg_policy_load(path, out, &diags);

	if (rc)
		print_diags(path, &diags, err);
	return rc;
}

int wfg_policy_load_mem_report(const char *name, const char *text, size_t len,
			       struct wfg_compiled_policy *out, FILE *err)
{
	struct wfg_diags diags;
	int rc = wfg_policy_load_mem(name, text, len, out, &diags);

	if (rc)
		print_diags(name, &diags, err);
	return rc;
}
