// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wfbench built without MPI (no mpicc when it was built): one process, and a
 * clear word when mpirun or srun started several (docs/cluster.md).
 */
#include <stdio.h>
#include <stdlib.h>

#include "par.h"

int wfb_cluster_init(int *argc, char ***argv, char *err, size_t errlen)
{
	const char *size = getenv("OMPI_COMM_WORLD_SIZE");

	(void)argc;
	(void)argv;
	if (!size)
		size = getenv("PMI_SIZE");
	if (size && atoi(size) > 1) {
		snprintf(err, errlen,
			 "started as one of %s ranks, but this wfbench was built without MPI "
			 "(install libopenmpi-dev and rebuild; docs/cluster.md)",
			 size);
		return -1;
	}
	return 0;
}

int wfb_cluster_finish(int code)
{
	return code;
}

const char *wfb_cluster_build(void)
{
	return "built without MPI";
}
