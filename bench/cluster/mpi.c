// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench built with MPI: when mpirun or srun started it, the processes of
 * the job share the work through par.h's two collectives (docs/cluster.md).
 * Started any other way it runs alone and never touches MPI, so the same
 * binary behaves as one built without it.
 */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "par.h"

static struct wfb_par mpi_par;
static int joined;
static char version[64];

static int mpi_allgather(const void *mine, void *all, size_t len)
{
	if (len > INT_MAX)
		return -1;
	return MPI_Allgather(mine, (int)len, MPI_BYTE, all, (int)len, MPI_BYTE, MPI_COMM_WORLD) ==
			       MPI_SUCCESS
		       ? 0
		       : -5;
}

static int mpi_bcast(void *buf, size_t len)
{
	if (len > INT_MAX)
		return -1;
	return MPI_Bcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -5;
}

/* mpirun (Open MPI), or srun with PMIx or PMI-2, says who we are in the environment. */
static int launched_by_mpi(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int wfb_cluster_init(int *argc, char ***argv, char *err, size_t errlen)
{
	int len = 0;

	if (!launched_by_mpi())
		return 0;
	if (MPI_Init(argc, argv) != MPI_SUCCESS) {
		snprintf(err, errlen, "MPI_Init failed");
		return -1;
	}
	joined = 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &mpi_par.rank);
	MPI_Comm_size(MPI_COMM_WORLD, &mpi_par.size);
	MPI_Get_library_version(version, &len);
	version[strcspn(version, ",\n")] = 0;
	snprintf(version + strlen(version), sizeof(version) - strlen(version), ", %d ranks",
		 mpi_par.size);
	mpi_par.name = version;
	mpi_par.allgather = mpi_allgather;
	mpi_par.bcast = mpi_bcast;
	wfb_par_set(&mpi_par);
	/* Only rank 0 reports; the others' output would repeat it size times. */
	if (mpi_par.rank && !freopen("/dev/null", "w", stdout)) {
		snprintf(err, errlen, "rank %d: /dev/null: cannot quiet stdout", mpi_par.rank);
		return -1;
	}
	return 0;
}

int wfb_cluster_finish(int code)
{
	if (!joined)
		return code;
	if (code)
		MPI_Abort(MPI_COMM_WORLD, code);
	MPI_Finalize();
	return 0;
}

const char *wfb_cluster_build(void)
{
	return "built with MPI (mpirun -np K wfbench sweep|evaluate|search ...; docs/cluster.md)";
}
