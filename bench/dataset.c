// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Datasets on disk: the manifest, atomic writing (a temporary directory and a
 * rename: user/lib/trace_io.c, shared with `wfguard capture`) and import from
 * directories of Wang, Maybenot, pcap or native traces. Layout and naming rules:
 * docs/trace-format.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "dataset.h"
#include "trace_io.h"

#define MANIFEST  "manifest"
#define TRACE_EXT ".trace"

/* ---------------------------------------------------------------- small helpers */

static char *path_join(const char *dir, const char *name, const char *ext)
{
	size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s%s", dir, name, ext);
	return p;
}

/* A copy of dir without trailing slashes ("out/" -> "out", "/" stays). */
static char *dir_name(const char *dir)
{
	char *d = strdup(dir);
	size_t n;

	if (!d)
		return NULL;
	n = strlen(d);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = 0;
	return d;
}

/* Newlines would break the manifest's one-line values. */
static void one_line(char *s)
{
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r')
			*s = ' ';
	}
}

void wfb_entry_name(int site, unsigned instance, char *buf, size_t len)
{
	if (site == WFB_UNMON)
		snprintf(buf, len, "u-%u", instance);
	else
		snprintf(buf, len, "%d-%u", site, instance);
}

const char *wfb_units_name(enum wfb_units u)
{
	return u == WFB_UNITS_NONE ? "none" : "bytes";
}

/* "3-7" -> site 3, instance 7; "u-4" -> unmonitored 4. */
static int parse_entry_name(const char *s, int *site, unsigned *inst)
{
	char buf[64], *dash;
	uint64_t a, b;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (!dash)
		return -EINVAL;
	*dash = 0;
	if (wfb_parse_u64(dash + 1, UINT32_MAX, &b))
		return -EINVAL;
	*inst = (unsigned)b;
	if (!strcmp(buf, "u")) {
		*site = WFB_UNMON;
		return 0;
	}
	if (wfb_parse_u64(buf, INT32_MAX, &a))
		return -EINVAL;
	*site = (int)a;
	return 0;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct wfb_entry *a = pa, *b = pb;
	unsigned sa = a->site == WFB_UNMON ? UINT32_MAX : (unsigned)a->site;
	unsigned sb = b->site == WFB_UNMON ? UINT32_MAX : (unsigned)b->site;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	return a->instance < b->instance ? -1 : a->instance > b->instance;
}

/*
 * Sorted entries against the shape: sites 0..sites-1, each with instances
 * 0..k-1 for some lo <= k <= hi, then unmonitored 0..unmon-1. Returns 0 (and
 * each site's k in count), or names the first trace missing (-EINVAL) or out
 * of the shape or listed twice (-ERANGE) in `name`.
 */
static int check_shape(const struct wfb_entry *e, size_t n, unsigned sites, unsigned lo,
		       unsigned hi, unsigned unmon, unsigned *count, char *name, size_t len)
{
	size_t i = 0;
	unsigned s, k;

	for (s = 0; s < sites; s++) {
		for (k = 0; i < n && e[i].site == (int)s; k++, i++) {
			if (e[i].instance < k || k >= hi) {
				wfb_entry_name(e[i].site, e[i].instance, name, len);
				return -ERANGE;
			}
			if (e[i].instance != k)
				break;
		}
		if (k < lo || (i < n && e[i].site == (int)s)) {
			wfb_entry_name((int)s, k, name, len);
			return -EINVAL;
		}
		count[s] = k;
	}
	for (k = 0; k < unmon; k++, i++) {
		if (i < n && e[i].site != WFB_UNMON) {
			wfb_entry_name(e[i].site, e[i].instance, name, len);
			return -ERANGE;
		}
		if (i >= n || e[i].instance != k) {
			wfb_entry_name(WFB_UNMON, k, name, len);
			return i < n && e[i].instance < k ? -ERANGE : -EINVAL;
		}
	}
	if (i < n) {
		wfb_entry_name(e[i].site, e[i].instance, name, len);
		return -ERANGE;
	}
	return 0;
}

static void count_range(const unsigned *count, unsigned sites, unsigned *lo, unsigned *hi)
{
	unsigned s;

	*lo = sites ? count[0] : 0;
	*hi = *lo;
	for (s = 1; s < sites; s++) {
		*lo = count[s] < *lo ? count[s] : *lo;
		*hi = count[s] > *hi ? count[s] : *hi;
	}
}

/* ---------------------------------------------------------------- reading */

struct mf {
	const char *path;
	size_t line;
	bool seen_format, seen_sites, seen_inst, seen_unmon, seen_units, seen_count, seen_min;
	uint64_t count;
	size_t cap;
};

#define MERR(m, fmt, ...) \
	wfg_err(err, errlen, EINVAL, "%s:%zu: " fmt, (m)->path, (m)->line, ##__VA_ARGS__)

static int mf_uint(struct mf *m, const char *key, const char *v, unsigned *out, bool *seen,
		   char *err, size_t errlen)
{
	uint64_t x;
	char q[64];

	if (wfb_parse_u64(v, 100000000, &x))
		return MERR(m, "%s: expected a count, got '%s'", key, wfb_quote(v, q, sizeof(q)));
	*out = (unsigned)x;
	*seen = true;
	return 0;
}

static int mf_trace(struct wfb_dataset *ds, struct mf *m, char *v, char *err, size_t errlen)
{
	char *name = v, *pk, *src, q[64];
	struct wfb_entry *e;
	uint64_t packets;

	pk = name + strcspn(name, " \t");
	if (*pk)
		*pk++ = 0;
	pk += strspn(pk, " \t");
	src = pk + strcspn(pk, " \t");
	if (*src)
		*src++ = 0;
	src = wfb_trim(src);
	if (ds->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 256;

		e = realloc(ds->e, cap * sizeof(*e));
		if (!e)
			return wfg_err(err, errlen, ENOMEM, "out of memory");
		ds->e = e;
		m->cap = cap;
	}
	e = &ds->e[ds->n];
	memset(e, 0, sizeof(*e));
	if (parse_entry_name(name, &e->site, &e->instance))
		return MERR(m, "trace: bad name '%s' (expected SITE-INSTANCE or u-INDEX)",
			    wfb_quote(name, q, sizeof(q)));
	if (wfb_parse_u64(pk, SIZE_MAX, &packets))
		return MERR(m, "trace %s: expected a packet count, got '%s'", name,
			    wfb_quote(pk, q, sizeof(q)));
	e->packets = (size_t)packets;
	e->src = strdup(*src ? src : "-");
	if (!e->src)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	ds->n++;
	return 0;
}

static int mf_units(struct wfb_dataset *ds, struct mf *m, const char *key, const char *v, char *err,
		    size_t errlen)
{
	char q[64];

	if (!strcmp(key, "time_units")) {
		if (strcmp(v, "ns"))
			return MERR(m, "time_units: only 'ns' is known, got '%s'",
				    wfb_quote(v, q, sizeof(q)));
		return 0;
	}
	if (!strcmp(v, "bytes"))
		ds->units = WFB_UNITS_BYTES;
	else if (!strcmp(v, "none"))
		ds->units = WFB_UNITS_NONE;
	else
		return MERR(m, "size_units: expected 'bytes' or 'none', got '%s'",
			    wfb_quote(v, q, sizeof(q)));
	m->seen_units = true;
	return 0;
}

static int push_meta(char ***meta, size_t *n, const char *key, const char *v)
{
	char **p = realloc(*meta, (*n + 1) * sizeof(*p));
	size_t len = strlen(key) + strlen(v) + 2;

	if (!p)
		return -ENOMEM;
	*meta = p;
	p[*n] = malloc(len);
	if (!p[*n])
		return -ENOMEM;
	snprintf(p[*n], len, "%s=%s", key, v);
	one_line(p[*n]);
	(*n)++;
	return 0;
}

static int mf_meta(struct wfb_dataset *ds, const char *key, const char *v)
{
	return push_meta(&ds->meta, &ds->nmeta, key, v);
}

/* Names are kept until the shape is known (mf_check); "site=LABEL NAME". */
struct mf_name {
	unsigned site;
	char *name;
};

static int mf_site(struct wfb_dataset *ds, struct mf *m, char *v, char *err, size_t errlen)
{
	char *name = v + strcspn(v, " \t"), q[64];
	uint64_t site;
	char **names;

	if (*name)
		*name++ = 0;
	name = wfb_trim(name);
	if (wfb_parse_u64(v, 100000000, &site) || !*name)
		return MERR(m, "site: expected 'LABEL NAME', got '%s'", wfb_quote(v, q, sizeof(q)));
	if (site >= ds->nsite_name) {
		size_t cap = (size_t)site + 1;

		names = realloc(ds->site_name, cap * sizeof(*names));
		if (!names)
			return wfg_err(err, errlen, ENOMEM, "out of memory");
		memset(names + ds->nsite_name, 0, (cap - ds->nsite_name) * sizeof(*names));
		ds->site_name = names;
		ds->nsite_name = cap;
	}
	if (ds->site_name[site])
		return MERR(m, "site %llu named twice", (unsigned long long)site);
	ds->site_name[site] = strdup(name);
	return ds->site_name[site] ? 0 : wfg_err(err, errlen, ENOMEM, "out of memory");
}

static int mf_line(struct wfb_dataset *ds, struct mf *m, char *line, char *err, size_t errlen)
{
	char *eq = strchr(line, '='), *key = line, *v, q[64];

	if (!eq)
		return MERR(m, "expected 'key=value', got '%s'", wfb_quote(line, q, sizeof(q)));
	*eq = 0;
	key = wfb_trim(key);
	v = wfb_trim(eq + 1);
	if (!m->seen_format && strcmp(key, "format"))
		return MERR(m, "expected 'format=%s' first", WFB_DATASET_FORMAT);
	if (!strcmp(key, "format")) {
		if (strcmp(v, WFB_DATASET_FORMAT))
			return MERR(m, "unsupported format '%s' (this build reads '%s')",
				    wfb_quote(v, q, sizeof(q)), WFB_DATASET_FORMAT);
		m->seen_format = true;
		return 0;
	}
	if (!strcmp(key, "sites"))
		return mf_uint(m, key, v, &ds->sites, &m->seen_sites, err, errlen);
	if (!strcmp(key, "instances"))
		return mf_uint(m, key, v, &ds->instances, &m->seen_inst, err, errlen);
	if (!strcmp(key, "unmonitored"))
		return mf_uint(m, key, v, &ds->unmonitored, &m->seen_unmon, err, errlen);
	if (!strcmp(key, "min_instances"))
		return mf_uint(m, key, v, &ds->min_instances, &m->seen_min, err, errlen);
	if (!strcmp(key, "site"))
		return mf_site(ds, m, v, err, errlen);
	if (!strncmp(key, "meta.", 5) && key[5])
		return mf_meta(ds, key + 5, v) ? wfg_err(err, errlen, ENOMEM, "out of memory") : 0;
	if (!strcmp(key, "traces")) {
		if (wfb_parse_u64(v, SIZE_MAX, &m->count))
			return MERR(m, "traces: expected a count, got '%s'",
				    wfb_quote(v, q, sizeof(q)));
		m->seen_count = true;
		return 0;
	}
	if (!strcmp(key, "source")) {
		free(ds->source);
		ds->source = strdup(v);
		return ds->source ? 0 : wfg_err(err, errlen, ENOMEM, "out of memory");
	}
	if (!strcmp(key, "time_units") || !strcmp(key, "size_units"))
		return mf_units(ds, m, key, v, err, errlen);
	if (!strcmp(key, "trace"))
		return mf_trace(ds, m, v, err, errlen);
	return MERR(m, "unknown key '%s'", wfb_quote(key, q, sizeof(q)));
}

static int mf_read(struct wfb_dataset *ds, struct mf *m, FILE *f, char *err, size_t errlen)
{
	char *buf = NULL, *line;
	size_t cap = 0;
	int rc = 0;

	while (!rc && getline(&buf, &cap, f) >= 0) {
		m->line++;
		line = wfb_trim(buf);
		if (*line && *line != '#')
			rc = mf_line(ds, m, line, err, errlen);
	}
	free(buf);
	if (!rc && ferror(f))
		rc = wfg_err(err, errlen, EIO, "%s: read error", m->path);
	return rc;
}

static int mf_shape(struct wfb_dataset *ds, struct mf *m, char *err, size_t errlen);

/* The manifest's counts against its own index. */
static int mf_check(struct wfb_dataset *ds, struct mf *m, char *err, size_t errlen)
{
	if (!m->seen_format)
		return wfg_err(err, errlen, EINVAL, "%s: empty manifest", m->path);
	if (!m->seen_sites || !m->seen_inst || !m->seen_unmon || !m->seen_units)
		return wfg_err(err, errlen, EINVAL,
			       "%s: incomplete: needs sites, instances, unmonitored and size_units",
			       m->path);
	if (!ds->sites || !ds->instances)
		return wfg_err(err, errlen, EINVAL,
			       "%s: empty dataset (sites=%u, instances=%u): a dataset needs "
			       "at least one monitored trace",
			       m->path, ds->sites, ds->instances);
	if (m->seen_count && m->count != ds->n)
		return wfg_err(err, errlen, EINVAL, "%s: traces=%llu but %zu trace lines", m->path,
			       (unsigned long long)m->count, ds->n);
	if (!m->seen_min)
		ds->min_instances = ds->instances;
	if (!ds->min_instances || ds->min_instances > ds->instances)
		return wfg_err(err, errlen, EINVAL,
			       "%s: min_instances=%u: expected 1..instances (%u)", m->path,
			       ds->min_instances, ds->instances);
	if (ds->nsite_name > ds->sites)
		return wfg_err(err, errlen, EINVAL, "%s: site %zu is named but sites=%u", m->path,
			       ds->nsite_name - 1, ds->sites);
	if (ds->site_name && ds->nsite_name < ds->sites) {
		char **names = realloc(ds->site_name, ds->sites * sizeof(*names));

		if (!names)
			return wfg_err(err, errlen, ENOMEM, "out of memory");
		memset(names + ds->nsite_name, 0, (ds->sites - ds->nsite_name) * sizeof(*names));
		ds->site_name = names;
		ds->nsite_name = ds->sites;
	}
	return mf_shape(ds, m, err, errlen);
}

static int mf_shape(struct wfb_dataset *ds, struct mf *m, char *err, size_t errlen)
{
	char name[64], range[48];
	unsigned lo, hi, s;
	int rc;

	if (ds->min_instances == ds->instances)
		snprintf(range, sizeof(range), "instances=%u", ds->instances);
	else
		snprintf(range, sizeof(range), "instances=%u min_instances=%u", ds->instances,
			 ds->min_instances);
	ds->count = calloc(ds->sites, sizeof(*ds->count));
	ds->first = calloc((size_t)ds->sites + 1, sizeof(*ds->first));
	if (!ds->count || !ds->first)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	qsort(ds->e, ds->n, sizeof(*ds->e), entry_cmp);
	rc = check_shape(ds->e, ds->n, ds->sites, ds->min_instances, ds->instances, ds->unmonitored,
			 ds->count, name, sizeof(name));
	if (rc == -ERANGE)
		return wfg_err(err, errlen, EINVAL,
			       "%s: inconsistent: trace %s is outside sites=%u %s "
			       "unmonitored=%u (or listed twice)",
			       m->path, name, ds->sites, range, ds->unmonitored);
	if (rc)
		return wfg_err(err, errlen, EINVAL,
			       "%s: inconsistent: trace %s is missing (sites=%u %s "
			       "unmonitored=%u)",
			       m->path, name, ds->sites, range, ds->unmonitored);
	count_range(ds->count, ds->sites, &lo, &hi);
	if (lo != ds->min_instances || hi != ds->instances)
		return wfg_err(err, errlen, EINVAL,
			       "%s: inconsistent: sites have %u..%u instances, the manifest says "
			       "%s",
			       m->path, lo, hi, range);
	for (s = 0; s < ds->sites; s++)
		ds->first[s + 1] = ds->first[s] + ds->count[s];
	return 0;
}

/* Every listed file present, and no other trace file. */
static int check_files(const struct wfb_dataset *ds, char *err, size_t errlen)
{
	size_t i, found = 0, ext = strlen(TRACE_EXT);
	struct dirent *de;
	char name[64];
	DIR *d;

	for (i = 0; i < ds->n; i++) {
		struct stat st;
		char *p;
		int rc = 0;

		wfb_entry_name(ds->e[i].site, ds->e[i].instance, name, sizeof(name));
		p = path_join(ds->dir, name, TRACE_EXT);
		if (!p)
			return wfg_err(err, errlen, ENOMEM, "out of memory");
		if (stat(p, &st) || !S_ISREG(st.st_mode))
			rc = wfg_err(err, errlen, EINVAL,
				     "%s: inconsistent: listed in the manifest but missing", p);
		free(p);
		if (rc)
			return rc;
	}
	d = opendir(ds->dir);
	if (!d)
		return wfg_err(err, errlen, errno, "%s: %s", ds->dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		found += n > ext && !strcmp(de->d_name + n - ext, TRACE_EXT);
	}
	closedir(d);
	if (found != ds->n)
		return wfg_err(err, errlen, EINVAL,
			       "%s: inconsistent: %zu trace files but the manifest lists %zu",
			       ds->dir, found, ds->n);
	return 0;
}

int wfb_dataset_open(struct wfb_dataset *ds, const char *dir, char *err, size_t errlen)
{
	struct mf m = { 0 };
	char *path;
	FILE *f;
	int rc;

	memset(ds, 0, sizeof(*ds));
	ds->dir = dir_name(dir);
	path = ds->dir ? path_join(ds->dir, MANIFEST, "") : NULL;
	if (!path) {
		wfb_dataset_close(ds);
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	}
	m.path = path;
	f = fopen(path, "r");
	if (!f) {
		rc = errno == ENOENT ? wfg_err(err, errlen, ENOENT, "%s: not a dataset (no %s)",
					       ds->dir, path)
				     : wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	} else {
		rc = mf_read(ds, &m, f, err, errlen);
		fclose(f);
	}
	if (!rc)
		rc = mf_check(ds, &m, err, errlen);
	if (!rc)
		rc = check_files(ds, err, errlen);
	if (!rc && !ds->source)
		ds->source = strdup("-");
	free(path);
	if (rc)
		wfb_dataset_close(ds);
	return rc;
}

void wfb_dataset_close(struct wfb_dataset *ds)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		free(ds->e[i].src);
	for (i = 0; i < ds->nsite_name; i++)
		free(ds->site_name[i]);
	for (i = 0; i < ds->nmeta; i++)
		free(ds->meta[i]);
	free(ds->meta);
	free(ds->site_name);
	free(ds->count);
	free(ds->first);
	free(ds->e);
	free(ds->dir);
	free(ds->source);
	memset(ds, 0, sizeof(*ds));
}

size_t wfb_dataset_index(const struct wfb_dataset *ds, int site, unsigned instance)
{
	if (site == WFB_UNMON)
		return ds->first[ds->sites] + instance;
	return ds->first[site] + instance;
}

const char *wfb_site_label(const struct wfb_dataset *ds, int site, char *buf, size_t len)
{
	if (site == WFB_UNMON)
		return "unmonitored";
	if (ds->site_name && site >= 0 && (size_t)site < ds->nsite_name && ds->site_name[site])
		return ds->site_name[site];
	snprintf(buf, len, "%d", site);
	return buf;
}

const char *wfb_dataset_meta(const struct wfb_dataset *ds, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < ds->nmeta; i++) {
		if (!strncmp(ds->meta[i], key, n) && ds->meta[i][n] == '=')
			return ds->meta[i] + n + 1;
	}
	return NULL;
}

int wfb_dataset_read(const struct wfb_dataset *ds, size_t i, struct wfb_trace *t, char *err,
		     size_t errlen)
{
	char name[64], *p;
	int rc;

	if (i >= ds->n)
		return wfg_err(err, errlen, EINVAL, "%s: no trace %zu", ds->dir, i);
	wfb_entry_name(ds->e[i].site, ds->e[i].instance, name, sizeof(name));
	p = path_join(ds->dir, name, TRACE_EXT);
	if (!p)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	rc = wfb_trace_load(p, WFB_FMT_NATIVE, NULL, t, err, errlen);
	if (!rc && t->n != ds->e[i].packets)
		rc = wfg_err(err, errlen, EINVAL,
			     "%s: inconsistent: %zu packets, the manifest says %zu", p, t->n,
			     ds->e[i].packets);
	free(p);
	return rc;
}

/* ---------------------------------------------------------------- writing */

struct wfb_writer {
	struct wfg_outdir out; /* DIR, and DIR.tmp-XXXXXX where everything is written */
	bool force;
	bool any_size;
	struct wfb_entry *e;
	size_t n, cap;
	char **site_name; /* by label, nsite_name of them */
	size_t nsite_name;
	char **meta; /* "KEY=VALUE" */
	size_t nmeta;
};

/* Data on disk before the close: the dataset is published without a syncfs. */
static int flush_close(FILE *f)
{
	int rc = 0;

	if (fflush(f) || fdatasync(fileno(f)))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

/* An existing DIR may be replaced only if it is a dataset or an empty directory. */
static int replaceable(const char *dir, char *err, size_t errlen)
{
	char *p = path_join(dir, MANIFEST, ""), buf[256] = "";
	struct stat st;
	size_t n = 0;
	DIR *d;
	FILE *f;

	if (!p)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	f = fopen(p, "r");
	free(p);
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		fclose(f);
		if (strstr(buf, "format=" WFB_DATASET_FORMAT))
			return 0;
	}
	if (!stat(dir, &st) && S_ISDIR(st.st_mode) && (d = opendir(dir))) {
		struct dirent *de;

		n = 0;
		while ((de = readdir(d)))
			n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
		closedir(d);
		if (!n)
			return 0;
	}
	return wfg_err(err, errlen, EEXIST, "%s exists and is not a dataset; not replacing it",
		       dir);
}

static int exists_check(const char *dir, bool force, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st)) {
		if (errno == ENOENT)
			return 0;
		return wfg_err(err, errlen, errno, "%s: %s", dir, strerror(errno));
	}
	if (!force)
		return wfg_err(err, errlen, EEXIST, "%s exists (--force replaces it)", dir);
	return replaceable(dir, err, errlen);
}

int wfb_writer_open(struct wfb_writer **wp, const char *dir, bool force, char *err, size_t errlen)
{
	struct wfb_writer *w = calloc(1, sizeof(*w));
	int rc;

	*wp = NULL;
	if (!w || wfg_outdir_init(&w->out, dir)) {
		free(w);
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	}
	w->force = force;
	w->out.files_synced = true; /* every file: flush_close */
	rc = exists_check(w->out.dir, force, err, errlen);
	if (!rc)
		rc = wfg_outdir_mktemp(&w->out, err, errlen);
	if (rc) {
		wfb_writer_abort(w);
		return rc;
	}
	*wp = w;
	return 0;
}

int wfb_writer_sidecar(struct wfb_writer *w, const char *name, const char *text, char *err,
		       size_t errlen)
{
	char *p = path_join(w->out.tmp, name, "");
	FILE *f;
	int rc = 0;

	if (!p)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	f = fopen(p, "wx");
	if (!f) {
		rc = wfg_err(err, errlen, errno, "%s: %s", p, strerror(errno));
	} else {
		if (fputs(text, f) == EOF)
			rc = -EIO;
		if (flush_close(f) && !rc)
			rc = -EIO;
		if (rc)
			wfg_err(err, errlen, EIO, "%s: write error", p);
	}
	free(p);
	return rc;
}

static int write_trace_file(const char *path, const struct wfb_trace *t, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wx");
	int rc;

	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	rc = wfb_write_native(f, t);
	if (!rc)
		rc = flush_close(f);
	else
		fclose(f);
	if (rc)
		return wfg_err(err, errlen, -rc, "%s: %s", path, strerror(-rc));
	return 0;
}

static int writer_push(struct wfb_writer *w, int site, unsigned instance, const char *src,
		       size_t packets)
{
	struct wfb_entry *e;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;

		e = realloc(w->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		w->e = e;
		w->cap = cap;
	}
	e = &w->e[w->n];
	e->site = site;
	e->instance = instance;
	e->packets = packets;
	e->src = strdup(src && *src ? src : "-");
	if (!e->src)
		return -ENOMEM;
	one_line(e->src);
	w->n++;
	return 0;
}

int wfb_writer_put(const struct wfb_writer *w, int site, unsigned instance, const char *src,
		   const struct wfb_trace *t, char *err, size_t errlen)
{
	char name[64], *p;
	int rc;

	wfb_entry_name(site, instance, name, sizeof(name));
	if (site < 0 && site != WFB_UNMON)
		return wfg_err(err, errlen, EINVAL, "bad site %d", site);
	if (!t->n)
		return wfg_err(err, errlen, EINVAL, "%s: empty trace (no packets)",
			       src ? src : name);
	rc = wfb_trace_check(t, err, errlen);
	if (rc)
		return rc;
	p = path_join(w->out.tmp, name, TRACE_EXT);
	if (!p)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	rc = write_trace_file(p, t, err, errlen);
	free(p);
	if (rc == -EEXIST)
		return wfg_err(err, errlen, EINVAL, "trace %s given twice (again from %s)", name,
			       src ? src : "-");
	return rc;
}

int wfb_writer_note(struct wfb_writer *w, int site, unsigned instance, const char *src,
		    const struct wfb_trace *t, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		w->any_size |= t->pkts[i].size != 0;
	if (writer_push(w, site, instance, src, t->n))
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	return 0;
}

int wfb_writer_add(struct wfb_writer *w, int site, unsigned instance, const char *src,
		   const struct wfb_trace *t, char *err, size_t errlen)
{
	int rc = wfb_writer_put(w, site, instance, src, t, err, errlen);

	return rc ? rc : wfb_writer_note(w, site, instance, src, t, err, errlen);
}

/*
 * sites/instances/unmonitored from what was added: every site up to the
 * largest needs instances 0..k-1 (k >= 1, any k: datasets may be ragged),
 * the unmonitored 0..K-1. lo: the fewest instances a site has.
 */
static int writer_shape(struct wfb_writer *w, unsigned *sites, unsigned *inst, unsigned *lo,
			unsigned *unmon, char *err, size_t errlen)
{
	unsigned *count;
	size_t i;
	char name[64];
	int rc;

	*sites = *inst = *unmon = 0;
	for (i = 0; i < w->n; i++) {
		const struct wfb_entry *e = &w->e[i];

		if (e->site == WFB_UNMON) {
			*unmon = e->instance + 1 > *unmon ? e->instance + 1 : *unmon;
			continue;
		}
		*sites = (unsigned)e->site + 1 > *sites ? (unsigned)e->site + 1 : *sites;
		*inst = e->instance + 1 > *inst ? e->instance + 1 : *inst;
	}
	if (!w->n || !*sites)
		return wfg_err(err, errlen, EINVAL, "empty dataset: no monitored trace");
	if (w->nsite_name > *sites)
		return wfg_err(err, errlen, EINVAL, "site %zu is named but has no trace",
			       w->nsite_name - 1);
	count = calloc(*sites, sizeof(*count));
	if (!count)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	qsort(w->e, w->n, sizeof(*w->e), entry_cmp);
	rc = check_shape(w->e, w->n, *sites, 1, *inst, *unmon, count, name, sizeof(name));
	if (rc)
		wfg_err(err, errlen, EINVAL,
			"inconsistent dataset: trace %s is missing (sites=%u, up to %u instances, "
			"unmonitored=%u)",
			name, *sites, *inst, *unmon);
	else
		count_range(count, *sites, lo, inst);
	free(count);
	return rc ? -EINVAL : 0;
}

static void write_manifest_extras(FILE *f, const struct wfb_writer *w)
{
	size_t i;

	for (i = 0; i < w->nsite_name; i++) {
		if (w->site_name[i])
			fprintf(f, "site=%zu %s\n", i, w->site_name[i]);
	}
	for (i = 0; i < w->nmeta; i++)
		fprintf(f, "meta.%s\n", w->meta[i]);
}

static int write_manifest(struct wfb_writer *w, const char *source, unsigned sites, unsigned inst,
			  unsigned lo, unsigned unmon, char *err, size_t errlen)
{
	char *p = path_join(w->out.tmp, MANIFEST, ""), *src = strdup(source ? source : "-");
	char name[64];
	FILE *f = NULL;
	size_t i;
	int rc = 0;

	if (!p || !src || !(f = fopen(p, "w"))) {
		rc = wfg_err(err, errlen, p && src ? errno : ENOMEM, "%s: %s", p ? p : "manifest",
			     strerror(p && src ? errno : ENOMEM));
		goto out;
	}
	one_line(src);
	fprintf(f, "# wfbench dataset: see docs/trace-format.md\n");
	fprintf(f, "format=%s\nsites=%u\ninstances=%u\nunmonitored=%u\ntraces=%zu\n",
		WFB_DATASET_FORMAT, sites, inst, unmon, w->n);
	if (lo != inst)
		fprintf(f, "min_instances=%u\n", lo);
	fprintf(f, "source=%s\ntime_units=ns\nsize_units=%s\n", src,
		wfb_units_name(w->any_size ? WFB_UNITS_BYTES : WFB_UNITS_NONE));
	write_manifest_extras(f, w);
	fprintf(f, "# trace=NAME PACKETS SOURCE (file NAME.trace)\n");
	for (i = 0; i < w->n; i++) {
		wfb_entry_name(w->e[i].site, w->e[i].instance, name, sizeof(name));
		fprintf(f, "trace=%s %zu %s\n", name, w->e[i].packets, w->e[i].src);
	}
	if (ferror(f) | flush_close(f))
		rc = wfg_err(err, errlen, EIO, "%s: write error", p);
out:
	free(p);
	free(src);
	return rc;
}

/* Put tmp in place of an existing dataset: swap atomically, then delete the old one. */
static int replace_dir(struct wfb_writer *w, char *err, size_t errlen)
{
	int rc = exists_check(w->out.dir, true, err, errlen);

	if (rc)
		return rc;
	rc = wfg_outdir_exchange(&w->out);
	if (rc == -ENOMEM)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	if (rc)
		return wfg_err(err, errlen, -rc, "%s: %s", w->out.dir, strerror(-rc));
	return 0;
}

static int install(struct wfb_writer *w, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (!lstat(w->out.dir, &st)) {
		if (!w->force)
			return wfg_err(err, errlen, EEXIST, "%s exists (--force replaces it)",
				       w->out.dir);
		return replace_dir(w, err, errlen);
	}
	rc = wfg_outdir_rename(&w->out);
	if (rc)
		return wfg_err(err, errlen, -rc, "%s: %s", w->out.dir, strerror(-rc));
	return 0;
}

int wfb_writer_commit(struct wfb_writer *w, const char *source, char *err, size_t errlen)
{
	unsigned sites, inst, lo = 0, unmon;
	int rc = writer_shape(w, &sites, &inst, &lo, &unmon, err, errlen);

	if (!rc)
		rc = write_manifest(w, source, sites, inst, lo, unmon, err, errlen);
	if (!rc)
		rc = install(w, err, errlen); /* on success nothing is left to remove */
	wfb_writer_abort(w);
	return rc;
}

void wfb_writer_abort(struct wfb_writer *w)
{
	size_t i;

	if (!w)
		return;
	wfg_outdir_close(&w->out);
	for (i = 0; i < w->n; i++)
		free(w->e[i].src);
	for (i = 0; i < w->nsite_name; i++)
		free(w->site_name[i]);
	for (i = 0; i < w->nmeta; i++)
		free(w->meta[i]);
	free(w->site_name);
	free(w->meta);
	free(w->e);
	free(w);
}

int wfb_writer_site_name(struct wfb_writer *w, int site, const char *name)
{
	if (site < 0 || !name || !*name)
		return -EINVAL;
	if ((size_t)site >= w->nsite_name) {
		char **p = realloc(w->site_name, ((size_t)site + 1) * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + w->nsite_name, 0, ((size_t)site + 1 - w->nsite_name) * sizeof(*p));
		w->site_name = p;
		w->nsite_name = (size_t)site + 1;
	}
	free(w->site_name[site]);
	w->site_name[site] = strdup(name);
	if (!w->site_name[site])
		return -ENOMEM;
	one_line(w->site_name[site]);
	return 0;
}

int wfb_writer_meta(struct wfb_writer *w, const char *key, const char *value)
{
	return push_meta(&w->meta, &w->nmeta, key, value ? value : "-");
}

/* ---------------------------------------------------------------- import: names */

#define MAX_KEY 4

struct item {
	char *name; /* in SRC */
	bool unmon;
	bool moved;	       /* a monitored site's trace made unmonitored (--unmonitored) */
	uint64_t key[MAX_KEY]; /* key[0]: site (or unmonitored index); the rest: instance */
	int site;
	unsigned instance;
};

/* Compare names with digit runs as numbers ("2" < "10"). */
static int natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			size_t la, lb;

			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			la = strspn(a, "0123456789");
			lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			if (strncmp(a, b, la))
				return strncmp(a, b, la);
			a += la;
			b += la;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

/* Split "a-b-c" (up to the first '.') into fields; count, or -1 if too many. */
static int name_fields(const char *name, char *buf, size_t len, char **f, int max)
{
	size_t n = strcspn(name, ".");

	if (n >= len)
		return -1;
	memcpy(buf, name, n);
	buf[n] = 0;
	if (!n || buf[0] == '-' || buf[n - 1] == '-' || strstr(buf, "--"))
		return 0;
	return wfb_split(buf, "-", f, max);
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 18;
}

/* SITE-INSTANCE, INDEX, u-INDEX (with any extension); false if none. */
static bool parse_std_name(struct item *it)
{
	char buf[256], *f[3];
	int n = name_fields(it->name, buf, sizeof(buf), f, 2);

	if (n == 1 && all_digits(f[0])) {
		it->unmon = true;
		it->key[0] = strtoull(f[0], NULL, 10);
		return true;
	}
	if (n != 2 || !all_digits(f[1]))
		return false;
	it->unmon = !strcmp(f[0], "u");
	if (!it->unmon && !all_digits(f[0]))
		return false;
	it->key[0] = strtoull(it->unmon ? f[1] : f[0], NULL, 10);
	it->key[1] = it->unmon ? 0 : strtoull(f[1], NULL, 10);
	return true;
}

/*
 * Maybenot: the name ends in 2..MAX_KEY numeric fields: SITE-INSTANCE[-MORE],
 * or in u-INDEX (unmonitored; wfbench export writes them so).
 */
static bool parse_maybenot_name(struct item *it)
{
	char buf[256], *f[32];
	int n = name_fields(it->name, buf, sizeof(buf), f, 31), run = 0, i;

	if (n < 2 || n > 31)
		return false;
	while (run < n && all_digits(f[n - 1 - run]))
		run++;
	if (run == 1 && n >= 2 && !strcmp(f[n - 2], "u")) { /* ...-u-INDEX: unmonitored */
		it->unmon = true;
		it->key[0] = strtoull(f[n - 1], NULL, 10);
		return true;
	}
	if (run < 2 || run > MAX_KEY)
		return false;
	for (i = 0; i < run; i++)
		it->key[i] = strtoull(f[n - run + i], NULL, 10);
	return true;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int i;

	if (a->unmon != b->unmon)
		return a->unmon ? 1 : -1;
	if (a->moved != b->moved)
		return a->moved ? 1 : -1;
	for (i = 0; i < MAX_KEY; i++) {
		if (a->key[i] != b->key[i])
			return a->key[i] < b->key[i] ? -1 : 1;
	}
	return natcmp(a->name, b->name);
}

static int item_name_cmp(const void *pa, const void *pb)
{
	return natcmp(((const struct item *)pa)->name, ((const struct item *)pb)->name);
}

static bool same_key(const struct item *a, const struct item *b)
{
	return a->unmon == b->unmon && a->moved == b->moved &&
	       !memcmp(a->key, b->key, sizeof(a->key));
}

/* ---------------------------------------------------------------- import: listing */

struct listing {
	struct item *it;
	size_t n, cap;
};

static void listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->it[i].name);
	free(l->it);
	memset(l, 0, sizeof(*l));
}

static int listing_add(struct listing *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct item *it = realloc(l->it, cap * sizeof(*it));

		if (!it)
			return -ENOMEM;
		l->it = it;
		l->cap = cap;
	}
	memset(&l->it[l->n], 0, sizeof(l->it[0]));
	l->it[l->n].name = strdup(name);
	if (!l->it[l->n].name)
		return -ENOMEM;
	l->n++;
	return 0;
}

/* Regular files of src, hidden ones left out. */
static int list_dir(const char *src, struct listing *l, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d = opendir(src);
	int rc = 0;

	if (!d)
		return wfg_err(err, errlen, errno, "%s: %s", src, strerror(errno));
	while (!rc && (de = readdir(d))) {
		struct stat st;
		char *p;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "sites.txt"))
			continue; /* hidden, or the site names (load_site_names) */
		p = path_join(src, de->d_name, "");
		if (!p) {
			rc = wfg_err(err, errlen, ENOMEM, "out of memory");
			break;
		}
		if (!stat(p, &st) && S_ISREG(st.st_mode) && listing_add(l, de->d_name))
			rc = wfg_err(err, errlen, ENOMEM, "out of memory");
		free(p);
	}
	closedir(d);
	return rc;
}

/* Name rules; files whose names are not traces are dropped (and counted). */
static void label_names(struct listing *l, enum wfb_format fmt, struct wfb_import_report *rep)
{
	size_t i, kept = 0;
	bool all = true;

	qsort(l->it, l->n, sizeof(*l->it), item_name_cmp);
	if (fmt == WFB_FMT_MAYBENOT) {
		for (i = 0; i < l->n && all; i++)
			all = parse_maybenot_name(&l->it[i]);
		if (!all) { /* numbered in name order: file k is site k */
			for (i = 0; i < l->n; i++) {
				memset(l->it[i].key, 0, sizeof(l->it[i].key));
				l->it[i].key[0] = i;
			}
			rep->sequential = true;
		}
		return;
	}
	for (i = 0; i < l->n; i++) {
		if (parse_std_name(&l->it[i])) {
			l->it[kept++] = l->it[i];
			continue;
		}
		if (!rep->skipped++)
			snprintf(rep->first_skipped, sizeof(rep->first_skipped), "%s",
				 l->it[i].name);
		free(l->it[i].name);
	}
	l->n = kept;
}

/* Dense labels in key order; duplicates are an error. */
static int assign_labels(struct listing *l, char *err, size_t errlen)
{
	size_t i;
	int site = -1;
	unsigned inst = 0, unmon = 0;

	qsort(l->it, l->n, sizeof(*l->it), item_cmp);
	for (i = 0; i < l->n; i++) {
		struct item *it = &l->it[i], *prev = i ? &l->it[i - 1] : NULL;

		if (prev && same_key(prev, it))
			return wfg_err(err, errlen, EINVAL, "'%s' and '%s' name the same trace",
				       prev->name, it->name);
		if (it->unmon) {
			it->site = WFB_UNMON;
			it->instance = unmon++;
			continue;
		}
		if (!prev || prev->key[0] != it->key[0]) {
			site++;
			inst = 0;
		}
		it->site = site;
		it->instance = inst++;
	}
	return 0;
}

static unsigned site_count(const struct listing *l, size_t *i)
{
	unsigned n = 0;
	int site = l->it[*i].site;

	while (*i < l->n && l->it[*i].site == site) {
		(*i)++;
		n++;
	}
	return n;
}

/* Were the site's instance numbers in SRC 0..n-1? (wang, pcap, native names) */
static bool numbered_densely(const struct listing *l, size_t start, unsigned n)
{
	unsigned k;

	for (k = 0; k < n; k++) {
		if (l->it[start + k].key[1] != k)
			return false;
	}
	return true;
}

static void note_fewest(const struct listing *l, size_t start, unsigned n,
			struct wfb_import_report *rep)
{
	if (n >= rep->min_instances && rep->min_instances)
		return;
	rep->min_instances = n;
	snprintf(rep->fewest_site, sizeof(rep->fewest_site), "%llu (%s...)",
		 (unsigned long long)l->it[start].key[0], l->it[start].name);
}

/*
 * The instance counts per site: any (ragged), all equal (`equal`), or at
 * least `want` each (cut to it). Counts, gaps and the fewest go to rep.
 */
static int check_sites(struct listing *l, const struct wfb_import_opts *o,
		       struct wfb_import_report *rep, char *err, size_t errlen)
{
	unsigned want = o->instances, first = 0, n, most = 0;
	size_t i = 0, start;

	while (i < l->n && l->it[i].site != WFB_UNMON) {
		start = i;
		n = site_count(l, &i);
		if (want && n < want)
			return wfg_err(err, errlen, EINVAL,
				       "inconsistent: site '%llu' (%s...) has %u instances, "
				       "fewer than --instances %u",
				       (unsigned long long)l->it[start].key[0], l->it[start].name,
				       n, want);
		if (o->equal && start && n != first)
			return wfg_err(
				err, errlen, EINVAL,
				"inconsistent: site '%llu' (%s...) has %u instances, "
				"site '%llu' has %u (--equal; --instances N keeps the first N of "
				"each)",
				(unsigned long long)l->it[start].key[0], l->it[start].name, n,
				(unsigned long long)l->it[0].key[0], first);
		if (!start)
			first = n;
		if (o->fmt != WFB_FMT_MAYBENOT && !numbered_densely(l, start, n))
			rep->gaps++;
		note_fewest(l, start, want ? want : n, rep);
		most = n > most ? n : most;
	}
	rep->instances = want ? want : most;
	rep->unmonitored = (unsigned)(l->n - i);
	rep->sites = i ? (unsigned)l->it[i - 1].site + 1 : 0;
	if (!rep->sites)
		return wfg_err(err, errlen, EINVAL, "empty dataset: no monitored trace found");
	for (i = 0; !want && i < l->n && l->it[i].site != WFB_UNMON;) {
		n = site_count(l, &i);
		rep->ragged_sites += n < rep->instances;
	}
	return 0;
}

/* ---------------------------------------------------------------- import: --unmonitored */

int wfb_import_parse_unmon(const char *list, struct wfb_import_opts *o, char *err, size_t errlen)
{
	char buf[1024], *save = NULL, *tok, *dash;
	uint64_t lo, hi;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return wfg_err(err, errlen, EINVAL, "--unmonitored: list too long");
	o->n_unmon_ranges = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		dash = strchr(tok, '-');
		if (dash)
			*dash = 0;
		if (wfb_parse_u64(wfb_trim(tok), UINT32_MAX, &lo) ||
		    (dash && wfb_parse_u64(wfb_trim(dash + 1), UINT32_MAX, &hi)))
			return wfg_err(err, errlen, EINVAL,
				       "--unmonitored: expected site numbers N or N-M, "
				       "comma-separated, got '%s'",
				       list);
		if (!dash)
			hi = lo;
		if (hi < lo)
			return wfg_err(err, errlen, EINVAL, "--unmonitored: %llu-%llu is empty",
				       (unsigned long long)lo, (unsigned long long)hi);
		if (o->n_unmon_ranges == WFB_IMPORT_MAX_UNMON_RANGES)
			return wfg_err(err, errlen, EINVAL, "--unmonitored: more than %d ranges",
				       WFB_IMPORT_MAX_UNMON_RANGES);
		o->unmon_lo[o->n_unmon_ranges] = lo;
		o->unmon_hi[o->n_unmon_ranges++] = hi;
	}
	if (!o->n_unmon_ranges)
		return wfg_err(err, errlen, EINVAL, "--unmonitored: no site given");
	return 0;
}

/*
 * Monitored traces of the sites --unmonitored names become unmonitored (each
 * trace its own index). A range that matches no site is an error (a typo).
 */
static int move_unmonitored(struct listing *l, const struct wfb_import_opts *o,
			    struct wfb_import_report *rep, char *err, size_t errlen)
{
	uint64_t last = UINT64_MAX;
	unsigned r;
	size_t i;

	for (r = 0; r < o->n_unmon_ranges; r++) {
		bool hit = false;

		for (i = 0; i < l->n; i++) {
			struct item *it = &l->it[i];

			if (it->unmon || it->key[0] < o->unmon_lo[r] || it->key[0] > o->unmon_hi[r])
				continue;
			it->moved = it->unmon = hit = true;
		}
		if (!hit)
			return wfg_err(err, errlen, EINVAL,
				       "--unmonitored: no site numbered %llu..%llu in the source",
				       (unsigned long long)o->unmon_lo[r],
				       (unsigned long long)o->unmon_hi[r]);
	}
	qsort(l->it, l->n, sizeof(*l->it), item_cmp);
	for (i = 0; i < l->n; i++) {
		if (l->it[i].moved && l->it[i].key[0] != last) {
			rep->sites_unmon++;
			last = l->it[i].key[0];
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- import: sites.txt */

#define MAX_SITE_NUMBER 10000000

struct site_names {
	char **name; /* by the site's number in the file names */
	size_t n;
};

static void site_names_free(struct site_names *sn)
{
	size_t i;

	for (i = 0; i < sn->n; i++)
		free(sn->name[i]);
	free(sn->name);
	memset(sn, 0, sizeof(*sn));
}

static int site_names_set(struct site_names *sn, uint64_t num, const char *name)
{
	if (num >= sn->n) {
		size_t cap = (size_t)num + 1;
		char **p = realloc(sn->name, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + sn->n, 0, (cap - sn->n) * sizeof(*p));
		sn->name = p;
		sn->n = cap;
	}
	if (sn->name[num])
		return -EEXIST;
	sn->name[num] = strdup(name);
	return sn->name[num] ? 0 : -ENOMEM;
}

/* "NUMBER NAME" (explicit) or "NAME" (line k, from 0, names site k). */
static int site_line(struct site_names *sn, const char *path, size_t lineno, char *line, int *style,
		     char *err, size_t errlen)
{
	size_t digits = strspn(line, "0123456789");
	int explicit = digits && (line[digits] == ' ' || line[digits] == '\t');
	uint64_t num = lineno - 1;
	int rc;

	if (*style >= 0 && explicit != *style)
		return wfg_err(err, errlen, EINVAL,
			       "%s:%zu: mixes 'NUMBER NAME' and 'NAME' lines (use one style)", path,
			       lineno);
	*style = explicit;
	if (explicit) {
		line[digits] = 0;
		if (wfb_parse_u64(line, MAX_SITE_NUMBER, &num))
			return wfg_err(err, errlen, EINVAL, "%s:%zu: site number out of range",
				       path, lineno);
		line = wfb_trim(line + digits + 1);
	}
	if (num > MAX_SITE_NUMBER)
		return wfg_err(err, errlen, EINVAL, "%s:%zu: too many lines", path, lineno);
	rc = site_names_set(sn, num, line);
	if (rc == -EEXIST)
		return wfg_err(err, errlen, EINVAL, "%s:%zu: site %llu named twice", path, lineno,
			       (unsigned long long)num);
	return rc ? wfg_err(err, errlen, ENOMEM, "out of memory") : 0;
}

static int read_site_names(const char *path, struct site_names *sn, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, *line;
	size_t cap = 0, lineno = 0;
	int style = -1, rc = 0;

	if (!f)
		return wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
	while (!rc && getline(&buf, &cap, f) >= 0) {
		lineno++;
		line = wfb_trim(buf);
		if (*line)
			rc = site_line(sn, path, lineno, line, &style, err, errlen);
	}
	free(buf);
	fclose(f);
	return rc;
}

/* --site-names FILE, else SRC/sites.txt if SRC is a directory that has one. */
static int load_site_names(const char *src, bool is_dir, const struct wfb_import_opts *o,
			   struct site_names *sn, struct wfb_import_report *rep, char *err,
			   size_t errlen)
{
	char *p = NULL;
	int rc;

	if (o->site_names) {
		p = strdup(o->site_names);
	} else if (is_dir) {
		p = path_join(src, "sites.txt", "");
		if (p && access(p, F_OK)) {
			free(p);
			return 0;
		}
	} else {
		return 0;
	}
	if (!p)
		return wfg_err(err, errlen, ENOMEM, "out of memory");
	rc = read_site_names(p, sn, err, errlen);
	if (!rc)
		snprintf(rep->site_names, sizeof(rep->site_names), "%s", p);
	free(p);
	return rc;
}

/* Each label's name: the name of the site number its traces had in SRC. */
static int name_sites(struct wfb_writer *w, const struct listing *l, const struct site_names *sn,
		      struct wfb_import_report *rep, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct item *it = &l->it[i];

		if (it->site == WFB_UNMON || it->instance || it->key[0] >= sn->n ||
		    !sn->name[it->key[0]])
			continue;
		if (wfb_writer_site_name(w, it->site, sn->name[it->key[0]]))
			return wfg_err(err, errlen, ENOMEM, "out of memory");
		rep->named++;
	}
	return 0;
}

/* ---------------------------------------------------------------- import: reading */

static void add_stats(struct wfb_pcap_stats *a, const struct wfb_pcap_stats *b)
{
	a->packets += b->packets;
	a->kept += b->kept;
	a->not_ip += b->not_ip;
	a->not_tcpudp += b->not_tcpudp;
	a->other_host += b->other_host;
	a->empty += b->empty;
	a->fragment += b->fragment;
}

static int import_one(struct wfb_writer *w, const char *path, const struct item *it,
		      const struct wfb_import_opts *o, struct wfb_trace *t,
		      struct wfb_import_report *rep, char *err, size_t errlen)
{
	struct wfb_pcap_stats st = { 0 };
	int rc;

	struct wfb_inversions inv = { 0 };

	if (o->fmt == WFB_FMT_PCAP) {
		rc = wfb_read_pcap(path, o->client, t, &st, err, errlen);
		add_stats(&rep->pcap, &st);
	} else if (o->fmt == WFB_FMT_WANG || o->fmt == WFB_FMT_MAYBENOT) {
		rc = wfb_trace_load_ordered(path, o->fmt, o->order, &inv, t, err, errlen);
	} else {
		rc = wfb_trace_load(path, o->fmt, NULL, t, err, errlen);
	}
	if (rc)
		return rc;
	if (inv.count) {
		if (!rep->inv_files++)
			snprintf(rep->inv_first, sizeof(rep->inv_first), "%s:%zu", path,
				 inv.first_line);
		rep->inv.count += inv.count;
		if (inv.max_ns > rep->inv.max_ns)
			rep->inv.max_ns = inv.max_ns;
	}
	if (!t->n)
		return wfg_err(err, errlen, EINVAL, "%s: empty trace (no packets)", path);
	rep->files++;
	return wfb_writer_add(w, it->site, it->instance, it->name, t, err, errlen);
}

static const char *order_name(enum wfb_order o)
{
	return o == WFB_ORDER_SORT ? "sort" : o == WFB_ORDER_KEEP ? "keep" : "strict";
}

/* What the manifest records about the import beyond `source`. */
static int import_meta(struct wfb_writer *w, const struct wfb_import_opts *o,
		       const struct wfb_import_report *rep)
{
	char v[256];
	int rc;

	snprintf(v, sizeof(v),
		 "%zu packets earlier than their predecessor in %zu files, "
		 "at most %llu ns; order=%s",
		 rep->inv.count, rep->inv_files, (unsigned long long)rep->inv.max_ns,
		 order_name(o->order));
	rc = wfb_writer_meta(w, "import.time_inversions", v);
	if (!rc && rep->site_names[0])
		rc = wfb_writer_meta(w, "import.site_names", rep->site_names);
	if (!rc && o->n_unmon_ranges) {
		size_t n = 0;
		unsigned r;

		for (r = 0; r < o->n_unmon_ranges && n < sizeof(v); r++)
			n += (size_t)snprintf(v + n, sizeof(v) - n, "%s%llu-%llu", r ? "," : "",
					      (unsigned long long)o->unmon_lo[r],
					      (unsigned long long)o->unmon_hi[r]);
		rc = wfb_writer_meta(w, "import.unmonitored_sites", v);
	}
	return rc ? -ENOMEM : 0;
}

static int import_all(const char *src, bool is_dir, const char *dir, struct listing *l,
		      const struct site_names *sn, const struct wfb_import_opts *o,
		      struct wfb_import_report *rep, char *err, size_t errlen)
{
	struct wfb_writer *w;
	struct wfb_trace t;
	char source[512];
	size_t i;
	int rc = wfb_writer_open(&w, dir, o->force, err, errlen);

	if (rc)
		return rc;
	rc = name_sites(w, l, sn, rep, err, errlen);
	wfb_trace_init(&t);
	for (i = 0; !rc && i < l->n; i++) {
		struct item *it = &l->it[i];
		char *p;

		if (o->instances && it->site != WFB_UNMON && it->instance >= o->instances)
			continue;
		p = is_dir ? path_join(src, it->name, "") : strdup(src);
		rc = p ? import_one(w, p, it, o, &t, rep, err, errlen)
		       : wfg_err(err, errlen, ENOMEM, "out of memory");
		free(p);
	}
	wfb_trace_free(&t);
	if (!rc && import_meta(w, o, rep))
		rc = wfg_err(err, errlen, ENOMEM, "out of memory");
	if (rc) {
		wfb_writer_abort(w);
		return rc;
	}
	snprintf(source, sizeof(source), "import --format %s %s", wfb_format_name(o->fmt), src);
	return wfb_writer_commit(w, source, err, errlen);
}

int wfb_import(const char *src, const char *dir, const struct wfb_import_opts *o,
	       struct wfb_import_report *rep, char *err, size_t errlen)
{
	struct site_names sn = { 0 };
	struct listing l = { 0 };
	struct stat st;
	bool is_dir;
	int rc;

	memset(rep, 0, sizeof(*rep));
	/* pcap and native read strictly: KEEP is their default, SORT a mistake */
	if (o->order == WFB_ORDER_SORT && o->fmt != WFB_FMT_WANG && o->fmt != WFB_FMT_MAYBENOT)
		return wfg_err(err, errlen, EINVAL, "--sort is for the wang and maybenot formats");
	if (o->fmt == WFB_FMT_PCAP && !o->client)
		return wfg_err(err, errlen, EINVAL, "pcap import needs --client ADDR");
	if (stat(src, &st))
		return wfg_err(err, errlen, errno, "%s: %s", src, strerror(errno));
	is_dir = S_ISDIR(st.st_mode);
	if (is_dir) {
		rc = list_dir(src, &l, err, errlen);
		if (!rc)
			label_names(&l, o->fmt, rep);
	} else {
		rc = listing_add(&l, src) ? wfg_err(err, errlen, ENOMEM, "out of memory") : 0;
	}
	if (!rc && !l.n)
		rc = wfg_err(err, errlen, EINVAL, "%s: empty: no trace files%s%s%s", src,
			     rep->skipped ? " (names like '" : "",
			     rep->skipped ? rep->first_skipped : "",
			     rep->skipped ? "' are not SITE-INSTANCE or INDEX)" : "");
	if (!rc && o->n_unmon_ranges)
		rc = move_unmonitored(&l, o, rep, err, errlen);
	if (!rc)
		rc = assign_labels(&l, err, errlen);
	if (!rc)
		rc = check_sites(&l, o, rep, err, errlen);
	if (!rc)
		rc = load_site_names(src, is_dir, o, &sn, rep, err, errlen);
	if (!rc)
		rc = import_all(src, is_dir, dir, &l, &sn, o, rep, err, errlen);
	site_names_free(&sn);
	listing_free(&l);
	return rc;
}
