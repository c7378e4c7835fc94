/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The processes a run is spread over (docs/cluster.md). One process by
 * default; wfbench started by mpirun or srun installs MPI's operations
 * (bench/cluster/mpi.c) before any command runs. The commands split their
 * units of work (sweep points, defences, search candidates) by rank in
 * rounds, and every rank ends each round holding every result of it, in
 * unit order: what they write cannot depend on the number of ranks.
 */
#ifndef WFBENCH_PAR_H
#define WFBENCH_PAR_H

#include <stddef.h>

struct wfb_par {
	int rank, size;
	const char *name; /* "single process", "MPI (Open MPI 4.1)" ... */
	/* Every rank gives len bytes; all gets size * len of them, in rank order. 0 or -errno. */
	int (*allgather)(const void *mine, void *all, size_t len);
	/* len bytes of rank 0's buf into every rank's buf. 0 or -errno. */
	int (*bcast)(void *buf, size_t len);
};

/* The processes of this run (one unless wfb_par_set was called). */
const struct wfb_par *wfb_par(void);
void wfb_par_set(const struct wfb_par *p);

/* Rank 0 writes the results; the others compute their share and stay quiet. */
static inline int wfb_par_leader(void)
{
	return wfb_par()->rank == 0;
}

/*
 * wfbench's main: bench/cluster/mpi.c when wfbench was built with MPI, else
 * bench/cluster/none.c. init joins the MPI job when the process was started
 * by mpirun or srun (and installs its wfb_par), and otherwise does nothing;
 * finish leaves it: an exit code other than 0 aborts every rank, so that none
 * waits forever for a rank that stopped.
 */
int wfb_cluster_init(int *argc, char ***argv, char *err, size_t errlen);
int wfb_cluster_finish(int code);
/* "built with MPI (Open MPI ...)" or "built without MPI". */
const char *wfb_cluster_build(void);

#endif
