// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfguard-core-demo: what each preset does to one page load, seen by an
 * observer next to the client. Both ends run the defence core (the same code
 * the BPF programs run); the page load is a built-in synthetic one, or a
 * Maybenot-format trace given as the argument. No network model beyond "the
 * observer sees each packet when it departs" — the full replay harness
 * (wfbench) comes with its own issue.
 *
 *   wfguard-core-demo [trace.log]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "presets.h"
#include "wfguard/core/core.h"

#define MAXP 20000
#define MS   1000000ULL

struct pkt {
	__u64 t;
	int dir; /* +1 client -> server, -1 server -> client */
	__u32 size;
};

static struct pkt trace[MAXP];
static int ntrace;

/* A page load: a request, the HTML, three waves of resources, think times. */
static void builtin_trace(void)
{
	__u64 s = 2026, t = 0;
	int wave, i, j;

	trace[ntrace++] = (struct pkt){ 0, +1, 420 };
	t = 40 * MS;
	for (i = 0; i < 30; i++, t += 300000)
		trace[ntrace++] = (struct pkt){ t, -1, 1350 };
	for (wave = 0; wave < 3; wave++) {
		int resources = 4 + wave * 3;

		t += 60 * MS;
		for (i = 0; i < resources; i++) {
			int n = 3 + (int)(wfg_splitmix64(&s) % 25);

			trace[ntrace++] =
				(struct pkt){ t, +1, 300 + (__u32)(wfg_splitmix64(&s) % 200) };
			t += 20 * MS + wfg_splitmix64(&s) % (30 * MS);
			for (j = 0; j < n; j++, t += 200000)
				trace[ntrace++] = (struct pkt){
					t, -1,
					j == n - 1 ? 200 + (__u32)(wfg_splitmix64(&s) % 1100) : 1350
				};
			if (j % 8 == 0)
				trace[ntrace++] = (struct pkt){ t, +1, 60 };
		}
	}
}

/* Maybenot simulator format: time_ns,s|r[,size] (sizes default to 514, a Tor cell). */
static int read_trace(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) && ntrace < MAXP) {
		unsigned long long t;
		char dir[4];
		unsigned size = 514;
		int n = sscanf(line, "%llu,%3[a-z],%u", &t, dir, &size);

		lineno++;
		if (n < 2 || (dir[0] != 's' && dir[0] != 'r')) {
			fprintf(stderr, "%s:%d: expected 'time_ns,s|r[,size]'\n", path, lineno);
			fclose(f);
			return -1;
		}
		if (dir[1] == 'p')
			continue; /* padding in the input is not the page */
		trace[ntrace++] = (struct pkt){ (__u64)t, dir[0] == 's' ? +1 : -1, size };
	}
	fclose(f);
	return ntrace ? 0 : -1;
}

struct wire {
	unsigned pkts[2], covers[2], distinct;
	unsigned long long bytes[2];
	__u64 last_real;
	unsigned char seen[65536]; /* which wire sizes appeared */
};

struct side {
	struct wfg_side_cfg cfg;
	struct wfg_flow_side flow;
	struct wfg_decision d;
};

static struct side cli, srv;

static void count(struct wire *w, int dir, __u32 size, int cover, __u64 depart)
{
	int i = dir > 0 ? 0 : 1;

	w->pkts[i]++;
	w->bytes[i] += size;
	if (!w->seen[size & 0xffff]++)
		w->distinct++;
	w->covers[i] += (unsigned)cover;
	if (!cover && depart > w->last_real)
		w->last_real = depart;
}

static void send_covers(struct side *from, struct side *to, int dir, __u64 now, struct wire *w)
{
	unsigned k, n = from->d.covers;

	for (k = 0; k < n; k++) {
		struct wfg_decision c, r;

		wfg_on_send(&from->cfg, &from->flow, now, 1, WFG_SEND_COVER, 0, &c);
		count(w, dir, c.pad_to, 1, c.depart_ns);
		wfg_on_recv(&to->cfg, &to->flow, c.depart_ns, 1, &r);
		if (r.covers) {
			to->d = r;
			send_covers(to, from, -dir, c.depart_ns, w);
		}
	}
}

/* Replay the trace through both sides, firing timers in time order. */
static void replay(struct wire *w)
{
	static const __u32 kc[8] = { 1 }, ks[8] = { 2 };
	__u64 base = 1000 * MS;
	int i = 0;

	memset(w, 0, sizeof(*w));
	wfg_flow_init(&cli.cfg, &cli.flow, base, kc, 1);
	wfg_flow_init(&srv.cfg, &srv.flow, base, ks, 1);
	cli.d.timer_ns = srv.d.timer_ns = 0;
	for (;;) {
		__u64 next = i < ntrace ? base + trace[i].t : ~0ULL;
		__u64 tc = cli.d.timer_ns ? cli.d.timer_ns : ~0ULL;
		__u64 ts = srv.d.timer_ns ? srv.d.timer_ns : ~0ULL;

		if (next == ~0ULL && tc == ~0ULL && ts == ~0ULL)
			break;
		if (tc <= next && tc <= ts) {
			wfg_on_timer(&cli.cfg, &cli.flow, tc, &cli.d);
			send_covers(&cli, &srv, +1, tc, w);
		} else if (ts <= next) {
			wfg_on_timer(&srv.cfg, &srv.flow, ts, &srv.d);
			send_covers(&srv, &cli, -1, ts, w);
		} else {
			struct side *from = trace[i].dir > 0 ? &cli : &srv;
			struct side *to = trace[i].dir > 0 ? &srv : &cli;
			struct wfg_decision r;

			wfg_on_send(&from->cfg, &from->flow, next, trace[i].size, WFG_SEND_REAL, 0,
				    &from->d);
			count(w, trace[i].dir, from->d.pad_to, 0, from->d.depart_ns);
			wfg_on_recv(&to->cfg, &to->flow, from->d.depart_ns, 0, &r);
			to->d.timer_ns = r.timer_ns;
			send_covers(from, to, trace[i].dir, next, w);
			if (r.covers) {
				to->d = r;
				send_covers(to, from, -trace[i].dir, from->d.depart_ns, w);
			}
			i++;
		}
		if (w->pkts[0] + w->pkts[1] > 200000)
			break; /* a runaway policy: stop the demo, not the machine */
	}
	w->last_real -= base;
}

static int build(const char *name)
{
	struct wfg_side_cfg *sides = malloc(2 * sizeof(*sides));
	char err[256];
	int rc;

	if (!sides)
		return -1;
	rc = wfg_preset_sides(name, sides, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	cli.cfg = sides[0];
	srv.cfg = sides[1];
	free(sides);
	return rc;
}

int main(int argc, char **argv)
{
	const char *presets[] = { "none", "padme", "front", "regulator", "tamaraw", "buflo" };
	static struct wire base, w;
	size_t k;

	if (argc > 1 && !strcmp(argv[1], "--help")) {
		printf("usage: %s [maybenot-trace.log]\n", argv[0]);
		return 0;
	}
	if (argc > 1 ? read_trace(argv[1]) : (builtin_trace(), 0))
		return 1;
	printf("wfguard core demo: one page load (%s, %d packets), observed at the client\n\n",
	       argc > 1 ? argv[1] : "built-in", ntrace);
	printf("%-10s %7s %7s %9s %9s %7s %7s %8s %8s\n", "defence", "out", "in", "out KB", "in KB",
	       "covers", "sizes", "bw ovh", "lat ovh");
	for (k = 0; k < sizeof(presets) / sizeof(presets[0]); k++) {
		if (build(presets[k]))
			return 1;
		replay(&w);
		if (k == 0)
			base = w;
		printf("%-10s %7u %7u %9.1f %9.1f %7u %7u %7.0f%% %7.0f%%\n", presets[k], w.pkts[0],
		       w.pkts[1], (double)w.bytes[0] / 1024, (double)w.bytes[1] / 1024,
		       w.covers[0] + w.covers[1], w.distinct,
		       100.0 * ((double)(w.bytes[0] + w.bytes[1]) /
					(double)(base.bytes[0] + base.bytes[1]) -
				1),
		       100.0 * ((double)w.last_real / (double)base.last_real - 1));
	}
	printf("\nbw ovh = defended bytes / undefended bytes - 1; lat ovh = time of the last real\n"
	       "packet defended / undefended - 1. Every decision above came from the same core\n"
	       "headers the BPF data path runs (docs/core.md). Next: make test, docs/.\n");
	return 0;
}
