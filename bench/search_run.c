// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The search/combo run (search_run.h): rounds of candidates over the ranks,
 * the journal, the output files.
 *
 * Candidate i is a pure function of (seed, i) (and, for combo, of the kept
 * defences it stacks), and is kept or not on its own simulation alone; the
 * result is the first n kept candidates in index order. So the outputs do
 * not depend on how many ranks shared the work, nor on which rounds were
 * done before an interruption: only which candidates are known matters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "journal.h"
#include "par.h"
#include "search_run.h"

#define PER_RANK 4 /* candidates a rank simulates per round */

enum {
	OUT_UNKNOWN = -1,
	OUT_OUTSIDE = 0, /* simulated; outside the constraints */
	OUT_KEPT = 1,
	OUT_FAILED = 2, /* did not compile, or its replay ran away */
};

/* One candidate's outcome: fixed size, so that ranks can gather them as bytes. */
struct outcome {
	uint64_t index;
	int32_t status;
	uint32_t parent[2]; /* combo: positions in the kept defences of --from */
	uint32_t _pad;
	struct wfs_metrics m;
	char why[160]; /* OUT_FAILED: the first line of the reason */
};

struct run {
	const struct wfs_run_opts *o;
	const struct wfb_par *par;
	struct wfs_env env;
	/* combo: the defences of --from, and their names */
	struct wfs_defence *from;
	char (*from_name)[32];
	unsigned nfrom;
	uint64_t limit;	       /* candidates at most: tries * n */
	struct outcome *known; /* [limit], OUT_UNKNOWN where not evaluated yet */
	FILE *journal;	       /* rank 0 */
	char *err;
	size_t errlen;
};

static const char *kind_name(const struct run *r)
{
	return r->o->from ? "combo" : "search";
}

/* ---------------------------------------------------------------- candidates */

static int candidate(const struct run *r, uint64_t i, struct wfs_defence *d, unsigned parent[2],
		     char *err, size_t errlen)
{
	if (!r->o->from) {
		parent[0] = parent[1] = 0;
		return wfs_derive(r->o->seed, i, &r->o->c, d, err, errlen);
	}
	wfs_combo_pick(r->o->seed, i, r->nfrom, &parent[0], &parent[1]);
	return wfs_stack(&r->from[parent[0]], &r->from[parent[1]], d, err, errlen);
}

static void candidate_name(const struct run *r, uint64_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%c%05llu", r->o->from ? 'c' : 'd', (unsigned long long)i);
}

static void evaluate(const struct run *r, uint64_t i, struct outcome *out)
{
	struct wfs_defence d;
	char name[32], why[512] = "";
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->index = i;
	candidate_name(r, i, name, sizeof(name));
	rc = candidate(r, i, &d, out->parent, why, sizeof(why));
	if (!rc) {
		rc = wfs_policy_text(&d, &r->o->c, name, &text, &len);
		if (rc)
			snprintf(why, sizeof(why), "out of memory");
		wfs_defence_free(&d);
	}
	if (!rc)
		rc = wfs_simulate(&r->env, name, text, len, &out->m, why, sizeof(why));
	free(text);
	if (rc) {
		out->status = OUT_FAILED;
		snprintf(out->why, sizeof(out->why), "%s", why);
		return;
	}
	out->status = wfs_within(&r->o->c, &out->m) ? OUT_KEPT : OUT_OUTSIDE;
}

/* ---------------------------------------------------------------- journal */

/* The settings a journal's outcomes depend on (not n: more can be asked for later). */
static char *fingerprint(const struct run *r)
{
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "%s seed=%llu dataset=%s from=%s; ", kind_name(r),
		(unsigned long long)r->o->seed, r->o->dataset, r->o->from ? r->o->from : "-");
	wfs_constraints_write(f, &r->o->c);
	if (fclose(f))
		return NULL;
	for (p = buf; *p; p++)
		if (*p == '\n')
			*p = ';';
	return buf;
}

#define JOURNAL_MAGIC "wfbench-journal v1"

static int journal_line(void *ctx, const char *line, const char *path, unsigned lineno, char *err,
			size_t errlen)
{
	struct run *r = ctx;
	unsigned long long i;
	int status, n = 0;
	unsigned a, b;
	double m[3];
	struct outcome *o;

	if (sscanf(line, "%llu %d %u %u %la %la %la %n", &i, &status, &a, &b, &m[0], &m[1], &m[2],
		   &n) != 7 ||
	    status < OUT_OUTSIDE || status > OUT_FAILED)
		return wfg_err(err, errlen, EINVAL, "%s:%u: not a journal line", path, lineno);
	if (i >= r->limit)
		return 0; /* a later run asked for more: beyond this one's reach */
	o = &r->known[i];
	memset(o, 0, sizeof(*o));
	*o = (struct outcome){
		.index = i, .status = status, .parent = { a, b }, .m = { m[0], m[1], m[2] }
	};
	snprintf(o->why, sizeof(o->why), "%s", line + n);
	return 0;
}

static const struct wfb_journal_kind search_journal = {
	.magic = JOURNAL_MAGIC,
	.what = "a wfbench journal",
	.retry = "resume it with the same ones, or use another -o",
	.line = journal_line,
};

/* Rank 0: read the journal of an earlier run (resume), or refuse one (no resume). */
static int journal_read(struct run *r, const char *path, const char *fp, bool *existed)
{
	*existed = false;
	if (!r->o->resume && access(path, F_OK) == 0)
		return wfg_err(r->err, r->errlen, EEXIST,
			       "%s exists: an earlier run's; --resume continues it, or remove it",
			       path);
	return wfb_journal_read(path, &search_journal, fp, r, existed, r->err, r->errlen);
}

static int journal_open(struct run *r, const char *path, const char *fp, bool fresh)
{
	r->journal = fopen(path, fresh ? "w" : "a");
	if (!r->journal)
		return wfg_err(r->err, r->errlen, errno, "%s: %s", path, strerror(errno));
	if (fresh)
		fprintf(r->journal, "%s\n%s\n", JOURNAL_MAGIC, fp);
	return 0;
}

/* Each outcome on one line, doubles exact (%a); flushed to disk before the next round. */
static void journal_add(struct run *r, const struct outcome *o)
{
	fprintf(r->journal, "%llu %d %u %u %a %a %a %s\n", (unsigned long long)o->index, o->status,
		o->parent[0], o->parent[1], o->m.client_load, o->m.server_load, o->m.delay, o->why);
}

static void journal_sync(struct run *r)
{
	fflush(r->journal);
	fsync(fileno(r->journal));
}

/* ---------------------------------------------------------------- setup */

static int path_in(const struct run *r, const char *dir, const char *name, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
		return wfg_err(r->err, r->errlen, ENAMETOOLONG, "%s: path too long", dir);
	return 0;
}

static char *read_all(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;
	FILE *m;
	char chunk[4096];

	if (!f) {
		wfg_err(err, errlen, errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	m = open_memstream(&buf, &len);
	while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	if (m)
		fclose(m);
	fclose(f);
	if (!buf)
		wfg_err(err, errlen, ENOMEM, "out of memory");
	return buf;
}

/* combo: FROM/defences.csv names the kept defences; FROM/defences/NAME.mb holds each. */
static int load_from(struct run *r)
{
	char path[4096], mb[4200], *list, *line, *save = NULL;
	unsigned lineno = 0;
	int rc;

	rc = path_in(r, r->o->from, "defences.csv", path, sizeof(path));
	if (rc)
		return rc;
	list = read_all(path, r->err, r->errlen);
	if (!list)
		return -EINVAL;
	for (line = strtok_r(list, "\n", &save); !rc && line; line = strtok_r(NULL, "\n", &save)) {
		char name[32], *text;
		void *p;

		if (lineno++ == 0)
			continue; /* the header */
		if (sscanf(line, "%31[^,]", name) != 1) {
			rc = wfg_err(r->err, r->errlen, EINVAL, "%s:%u: no defence name", path,
				     lineno);
			break;
		}
		p = realloc(r->from, (r->nfrom + 1) * sizeof(*r->from));
		if (p)
			r->from = p;
		p = p ? realloc(r->from_name, (r->nfrom + 1) * sizeof(*r->from_name)) : NULL;
		if (!p) {
			rc = wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
			break;
		}
		r->from_name = p;
		snprintf(mb, sizeof(mb), "%s/defences/%s.mb", r->o->from, name);
		text = read_all(mb, r->err, r->errlen);
		rc = text ? wfs_maybenot_parse(mb, text, &r->from[r->nfrom], r->err, r->errlen)
			  : -EINVAL;
		free(text);
		if (!rc)
			snprintf(r->from_name[r->nfrom++], sizeof(r->from_name[0]), "%s", name);
	}
	free(list);
	if (!rc && r->nfrom < 2)
		rc = wfg_err(r->err, r->errlen, EINVAL,
			     "%s: %u kept defences; combo stacks two different ones", path,
			     r->nfrom);
	return rc;
}

static int mkdir_one(const struct run *r, const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		return wfg_err(r->err, r->errlen, errno, "%s: %s", dir, strerror(errno));
	return 0;
}

/*
 * Rank 0 opens the output and the journal; every rank then learns whether
 * that worked and what the journal held, so that all stop or go on together.
 */
static int setup_shared(struct run *r, uint64_t *resumed)
{
	struct {
		int32_t rc;
		uint32_t _pad;
		uint64_t count;
		char err[256];
	} st = { 0 };
	char path[4096], *fp = fingerprint(r);
	uint64_t i, k;
	struct outcome *list = NULL;
	bool existed = false;
	int rc = fp ? 0 : -ENOMEM;

	if (r->par->rank == 0) {
		if (!rc)
			rc = mkdir_one(r, r->o->outdir);
		if (!rc)
			rc = path_in(r, r->o->outdir, "journal.txt", path, sizeof(path));
		if (!rc)
			rc = journal_read(r, path, fp, &existed);
		if (!rc)
			rc = journal_open(r, path, fp, !existed);
		for (i = 0; !rc && i < r->limit; i++)
			st.count += r->known[i].status != OUT_UNKNOWN;
		st.rc = rc;
		snprintf(st.err, sizeof(st.err), "%s", rc ? r->err : "");
	}
	free(fp);
	if (r->par->bcast(&st, sizeof(st)))
		return wfg_err(r->err, r->errlen, EIO, "MPI broadcast failed");
	if (st.rc) {
		if (r->par->rank)
			wfg_err(r->err, r->errlen, -st.rc, "rank 0: %s", st.err);
		return st.rc;
	}
	/* The journal's outcomes, from rank 0 to all. */
	*resumed = st.count;
	if (!st.count)
		return 0;
	list = calloc(st.count, sizeof(*list));
	if (!list)
		return wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
	if (r->par->rank == 0)
		for (i = 0, k = 0; i < r->limit && k < st.count; i++)
			if (r->known[i].status != OUT_UNKNOWN)
				list[k++] = r->known[i];
	rc = r->par->bcast(list, st.count * sizeof(*list));
	for (k = 0; !rc && k < st.count; k++)
		if (list[k].index < r->limit)
			r->known[list[k].index] = list[k];
	free(list);
	return rc ? wfg_err(r->err, r->errlen, EIO, "MPI broadcast failed") : 0;
}

/* ---------------------------------------------------------------- rounds */

/* Candidates below *frontier are all known; how many of them were kept. */
static unsigned advance(const struct run *r, uint64_t *frontier, unsigned *kept)
{
	while (*frontier < r->limit && *kept < r->o->n && r->known[*frontier].status != OUT_UNKNOWN)
		*kept += r->known[(*frontier)++].status == OUT_KEPT;
	return *kept;
}

/*
 * One round: the next size * PER_RANK unknown candidates from the frontier,
 * the j-th simulated by rank j % size; everybody gets everything.
 */
static int round_run(struct run *r, uint64_t frontier, bool *any)
{
	unsigned slots = (unsigned)r->par->size * PER_RANK, j, mine = 0;
	struct outcome *all = calloc(slots, sizeof(*all)), local[PER_RANK];
	uint64_t todo[PER_RANK * 1024], i;
	unsigned n = 0;
	int rc;

	if (!all || slots > PER_RANK * 1024) {
		free(all);
		return wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
	}
	for (i = frontier; i < r->limit && n < slots; i++)
		if (r->known[i].status == OUT_UNKNOWN)
			todo[n++] = i;
	*any = n > 0;
	memset(local, 0, sizeof(local));
	for (j = 0; j < PER_RANK; j++)
		local[j].status = OUT_UNKNOWN;
	for (j = (unsigned)r->par->rank; j < n; j += (unsigned)r->par->size)
		evaluate(r, todo[j], &local[mine++]);
	rc = r->par->allgather(local, all, sizeof(local));
	for (j = 0; !rc && j < slots; j++) {
		if (all[j].status == OUT_UNKNOWN)
			continue;
		r->known[all[j].index] = all[j];
		if (r->journal)
			journal_add(r, &all[j]);
	}
	if (r->journal)
		journal_sync(r);
	free(all);
	return rc ? wfg_err(r->err, r->errlen, EIO, "MPI allgather failed") : 0;
}

/* Rank 0's Ctrl-C decides for everyone, so that all ranks leave the same round. */
static int stop_requested(struct run *r, int *stop)
{
	int32_t s = r->o->stop && *r->o->stop;

	if (r->par->bcast(&s, sizeof(s)))
		return wfg_err(r->err, r->errlen, EIO, "MPI broadcast failed");
	*stop = s;
	return 0;
}

/* ---------------------------------------------------------------- output */

static int write_file(const struct run *r, const char *path, const char *text, size_t len)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return wfg_err(r->err, r->errlen, errno, "%s: %s", tmp, strerror(errno));
	if (fwrite(text, 1, len, f) != len || fclose(f)) {
		unlink(tmp);
		return wfg_err(r->err, r->errlen, EIO, "%s: write error", tmp);
	}
	if (rename(tmp, path))
		return wfg_err(r->err, r->errlen, errno, "%s: %s", path, strerror(errno));
	return 0;
}

static const char *status_name(int s)
{
	return s == OUT_KEPT ? "kept" : s == OUT_OUTSIDE ? "outside" : "failed";
}

static void parents(const struct run *r, const struct outcome *o, char *buf, size_t len)
{
	if (r->o->from)
		snprintf(buf, len, "%s+%s", r->from_name[o->parent[0]], r->from_name[o->parent[1]]);
	else
		snprintf(buf, len, "-");
}

/* A kept defence's policy and Maybenot strings, re-derived from its index. */
static int write_defence(const struct run *r, const struct outcome *o, FILE *index)
{
	char name[32], title[512], path[4200], *text = NULL, *mb = NULL, par[80];
	struct wfs_defence d;
	size_t len = 0;
	unsigned p[2];
	int rc;

	candidate_name(r, o->index, name, sizeof(name));
	parents(r, o, par, sizeof(par));
	rc = candidate(r, o->index, &d, p, r->err, r->errlen);
	if (rc)
		return rc;
	snprintf(title, sizeof(title),
		 "%s: wfbench %s --seed %llu, candidate %llu%s%s; on its environment: client "
		 "load %.4f, server load %.4f, delay %.4f",
		 name, kind_name(r), (unsigned long long)r->o->seed, (unsigned long long)o->index,
		 r->o->from ? " = " : "", r->o->from ? par : "", o->m.client_load, o->m.server_load,
		 o->m.delay);
	rc = wfs_policy_text(&d, &r->o->c, title, &text, &len);
	if (rc)
		wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
	if (!rc)
		rc = wfs_maybenot_text(&d, &mb, r->err, r->errlen);
	wfs_defence_free(&d);
	snprintf(path, sizeof(path), "%s/defences/%s.yaml", r->o->outdir, name);
	if (!rc)
		rc = write_file(r, path, text, len);
	snprintf(path, sizeof(path), "%s/defences/%s.mb", r->o->outdir, name);
	if (!rc)
		rc = write_file(r, path, mb, strlen(mb));
	if (!rc)
		fprintf(index, "%s,%llu,%.6f,%.6f,%.6f,%s,defences/%s.yaml,defences/%s.mb\n", name,
			(unsigned long long)o->index, o->m.client_load, o->m.server_load,
			o->m.delay, par, name, name);
	free(text);
	free(mb);
	return rc;
}

static int write_outputs(const struct run *r, uint64_t frontier)
{
	char path[4200], *cbuf = NULL, *dbuf = NULL, par[80];
	size_t clen = 0, dlen = 0;
	FILE *cand = open_memstream(&cbuf, &clen), *def = open_memstream(&dbuf, &dlen);
	uint64_t i;
	int rc = cand && def ? 0 : wfg_err(r->err, r->errlen, ENOMEM, "out of memory");

	snprintf(path, sizeof(path), "%s/defences", r->o->outdir);
	if (!rc)
		rc = mkdir_one(r, path);
	if (!rc) {
		fputs("candidate,client_load,server_load,delay,result,parents,reason\n", cand);
		fputs("name,candidate,client_load,server_load,delay,parents,policy,maybenot\n",
		      def);
	}
	for (i = 0; !rc && i < frontier; i++) {
		const struct outcome *o = &r->known[i];

		parents(r, o, par, sizeof(par));
		fprintf(cand, "%llu,%.6f,%.6f,%.6f,%s,%s,", (unsigned long long)i, o->m.client_load,
			o->m.server_load, o->m.delay, status_name(o->status), par);
		if (o->status == OUT_FAILED) {
			/* the reason as one quoted CSV field */
			const char *c;

			fputc('"', cand);
			for (c = o->why; *c; c++)
				fprintf(cand, *c == '"' ? "\"\"" : "%c", *c);
			fputc('"', cand);
		}
		fputc('\n', cand);
		if (o->status == OUT_KEPT)
			rc = write_defence(r, o, def);
	}
	if (cand && fclose(cand) && !rc)
		rc = wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
	if (def && fclose(def) && !rc)
		rc = wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
	if (!rc)
		rc = path_in(r, r->o->outdir, "candidates.csv", path, sizeof(path));
	if (!rc)
		rc = write_file(r, path, cbuf, clen);
	if (!rc)
		rc = path_in(r, r->o->outdir, "defences.csv", path, sizeof(path));
	if (!rc)
		rc = write_file(r, path, dbuf, dlen);
	free(cbuf);
	free(dbuf);
	return rc;
}

static int write_constraints(const struct run *r)
{
	char path[4200], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return wfg_err(r->err, r->errlen, ENOMEM, "out of memory");
	wfs_constraints_write(f, &r->o->c);
	fclose(f);
	rc = path_in(r, r->o->outdir, "constraints.txt", path, sizeof(path));
	if (!rc)
		rc = write_file(r, path, buf, len);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- the run */

static void run_free(struct run *r)
{
	unsigned i;

	for (i = 0; i < r->nfrom; i++)
		wfs_defence_free(&r->from[i]);
	free(r->from);
	free(r->from_name);
	free(r->known);
	if (r->journal)
		fclose(r->journal);
	wfs_env_free(&r->env);
}

int wfs_run(const struct wfs_run_opts *o, struct wfs_run_report *rep, char *err, size_t errlen)
{
	struct run r = { .o = o, .par = wfb_par(), .err = err, .errlen = errlen };
	uint64_t frontier = 0, i;
	unsigned kept = 0;
	bool any = true;
	int rc, stop = 0;

	memset(rep, 0, sizeof(*rep));
	r.limit = (uint64_t)o->c.tries * o->n;
	if (!o->n || !r.limit)
		return wfg_err(err, errlen, EINVAL, "nothing to search for (n = 0)");
	r.known = malloc(r.limit * sizeof(*r.known));
	if (!r.known)
		return wfg_err(err, errlen, ENOMEM, "out of memory (%llu candidates)",
			       (unsigned long long)r.limit);
	for (i = 0; i < r.limit; i++)
		r.known[i].status = OUT_UNKNOWN;
	rc = wfs_env_load(o->dataset, o->c.env, o->seed, &r.env, err, errlen);
	if (!rc && o->from)
		rc = load_from(&r);
	if (!rc)
		rc = setup_shared(&r, &rep->resumed);
	if (!rc && r.par->rank == 0)
		rc = write_constraints(&r);
	while (!rc && advance(&r, &frontier, &kept) < o->n && frontier < r.limit && any) {
		rc = stop_requested(&r, &stop);
		if (rc || stop)
			break;
		rc = round_run(&r, frontier, &any);
		if (!rc && o->progress && r.par->rank == 0)
			o->progress(frontier, kept, o->progress_arg);
	}
	rep->candidates = frontier;
	rep->kept = kept;
	rep->interrupted = stop;
	if (!rc && !stop && r.par->rank == 0)
		rc = write_outputs(&r, frontier);
	run_free(&r);
	return rc;
}
