// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Defending a whole dataset: every trace replayed (bench/replay.c), in
 * parallel, written in dataset order. Each trace's streams are keyed by
 * (seed, trace index), so the output does not depend on the number of jobs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defend.h"
#include "err.h"
#include "loader.h"
#include "sha256.h"

struct slot {
	struct wfb_trace out;
	struct wfb_overhead ov;
	int rc;
	char err[256];
};

struct batch {
	const struct wfg_side_cfg *cli, *srv;
	const struct wfb_dataset *ds;
	const struct wfb_writer *w; /* each worker writes its traces' files */
	const struct wfb_defend_opts *o;
	struct slot *slots;
	size_t first, count;
	unsigned jobs, job;
};

static void *worker(void *arg)
{
	struct batch *b = arg;
	struct wfb_trace in;
	size_t k;

	wfb_trace_init(&in);
	for (k = b->job; k < b->count; k += b->jobs) {
		struct slot *s = &b->slots[k];
		const struct wfb_entry *e = &b->ds->e[b->first + k];
		struct wfb_replay_opts r = b->o->replay;

		in.n = 0;
		s->rc = wfb_dataset_read(b->ds, b->first + k, &in, s->err, sizeof(s->err));
		if (s->rc)
			continue;
		r.trace_index = b->first + k;
		s->rc = wfb_replay(b->cli, b->srv, &in, &r, &s->out, &s->ov);
		if (s->rc) {
			snprintf(s->err, sizeof(s->err), "trace %zu: replay failed: %s%s",
				 b->first + k, strerror(-s->rc),
				 s->rc == -E2BIG ? " (the policy sends over 50 packets, or runs "
						   "over 1000 events, per real one)"
						 : "");
			continue;
		}
		s->rc = wfb_writer_put(b->w, e->site, e->instance, e->src, &s->out, s->err,
				       sizeof(s->err));
	}
	wfb_trace_free(&in);
	return NULL;
}

void wfb_defend_fit(const struct wfg_policy *dp, struct wfg_side_cfg sides[2], uint32_t mtu,
		    struct wfb_replay_opts *r)
{
	__u32 lim;
	int k;

	if (!mtu)
		mtu = dp->mode == WFG_MODE_TUNNEL ? WFB_TUNNEL_MTU : WFB_SHIM_MTU;
	lim = wfg_policy_mtu_limit(dp, mtu);
	for (k = 0; k < 2; k++)
		wfg_side_fit_limit(&sides[k], lim);
	r->mode = dp->mode;
	r->mtu = mtu;
}

void wfb_replay_params_text(const struct wfb_replay_opts *r, char *buf, size_t len)
{
	snprintf(buf, len,
		 "delay_ns=%llu bandwidth_mbit=%g mode=%s mtu=%u%s seed=%llu unknown_size=%u "
		 "(stream keys: seed and trace index)",
		 (unsigned long long)r->delay_ns, r->bandwidth_mbit,
		 r->mode == WFG_MODE_TUNNEL ? "tunnel" : "shim", r->mtu,
		 r->mtu ? "" : " (the mode's default)", (unsigned long long)r->seed,
		 r->unknown_size);
}

/* What reproduces the output: the input's identity, the replay, the caller's keys. */
static int record_meta(struct wfb_writer *w, const char *dataset, const struct wfb_defend_opts *o,
		       char *err, size_t errlen)
{
	char path[4200], hex[65], line[512];
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "%s/manifest", dataset);
	if (wfb_sha256_file(path, hex))
		return wfg_err(err, errlen, EIO, "%s: cannot read it to record its hash", path);
	rc = wfb_writer_meta(w, "defend.input", dataset);
	if (!rc)
		rc = wfb_writer_meta(w, "defend.input_manifest_sha256", hex);
	wfb_replay_params_text(&o->replay, line, sizeof(line));
	if (!rc)
		rc = wfb_writer_meta(w, "defend.replay", line);
	snprintf(line, sizeof(line), "%u", o->jobs ? o->jobs : 1);
	if (!rc)
		rc = wfb_writer_meta(w, "defend.jobs", line);
	for (i = 0; !rc && i < o->nmeta; i++)
		rc = wfb_writer_meta(w, o->meta[2 * i], o->meta[2 * i + 1]);
	return rc ? wfg_err(err, errlen, ENOMEM, "out of memory") : 0;
}

/* The defended dataset keeps the sites' names (they label the attacks' results). */
static int carry_names(struct wfb_writer *w, const struct wfb_dataset *ds, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < ds->nsite_name; i++) {
		if (ds->site_name[i] && wfb_writer_site_name(w, (int)i, ds->site_name[i])) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

int wfb_defend(const struct wfg_side_cfg *cli, const struct wfg_side_cfg *srv, const char *dataset,
	       const char *outdir, const struct wfb_defend_opts *o, struct wfb_overhead *total,
	       char *err, size_t errlen)
{
	unsigned jobs = o->jobs ? o->jobs : 1, j;
	size_t per = (size_t)jobs * 8, first, k;
	struct wfb_writer *w = NULL;
	struct wfb_dataset ds;
	struct slot *slots;
	pthread_t *tids;
	struct batch *b;
	int rc;

	memset(total, 0, sizeof(*total));
	rc = wfb_dataset_open(&ds, dataset, err, errlen);
	if (rc)
		return rc;
	slots = calloc(per, sizeof(*slots));
	tids = calloc(jobs, sizeof(*tids));
	b = calloc(jobs, sizeof(*b));
	if (!slots || !tids || !b) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = wfb_writer_open(&w, outdir, o->force, err, errlen);
	if (!rc)
		rc = carry_names(w, &ds, err, errlen);
	if (!rc)
		rc = record_meta(w, dataset, o, err, errlen);
	if (rc)
		goto out;
	for (first = 0; first < ds.n && !rc; first += per) {
		size_t count = ds.n - first < per ? ds.n - first : per;

		for (k = 0; k < count; k++) {
			wfb_trace_init(&slots[k].out);
			slots[k].rc = 0;
		}
		for (j = 0; j < jobs; j++) {
			b[j] = (struct batch){ .cli = cli,
					       .srv = srv,
					       .ds = &ds,
					       .w = w,
					       .o = o,
					       .slots = slots,
					       .first = first,
					       .count = count,
					       .jobs = jobs,
					       .job = j };
			if (pthread_create(&tids[j], NULL, worker, &b[j])) {
				worker(&b[j]); /* no thread: do it here */
				tids[j] = 0;
			}
		}
		for (j = 0; j < jobs; j++)
			if (tids[j])
				pthread_join(tids[j], NULL);
		for (k = 0; k < count; k++) {
			const struct wfb_entry *e = &ds.e[first + k];

			if (!rc && slots[k].rc) {
				rc = slots[k].rc;
				snprintf(err, errlen, "%s", slots[k].err);
			}
			if (!rc)
				rc = wfb_writer_note(w, e->site, e->instance, e->src, &slots[k].out,
						     err, errlen);
			if (!rc)
				wfb_overhead_add(total, &slots[k].ov);
			wfb_trace_free(&slots[k].out);
		}
		if (o->progress)
			o->progress(first + count, ds.n, o->progress_arg);
	}
	if (!rc) {
		char source[512];

		snprintf(source, sizeof(source), "wfbench defend of %s (%s)", dataset,
			 o->policy_name ? o->policy_name : "?");
		rc = wfb_writer_commit(w, source, err, errlen);
		w = NULL;
	}
out:
	if (w)
		wfb_writer_abort(w);
	free(slots);
	free(tids);
	free(b);
	wfb_dataset_close(&ds);
	return rc;
}
