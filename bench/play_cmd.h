/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `wfbench play` (play_cmd.c): the command, kept apart from wfbench.c's table. */
#ifndef WFBENCH_PLAY_CMD_H
#define WFBENCH_PLAY_CMD_H

#include <stdio.h>

int wfb_play_cmd(int argc, char **argv);
void wfb_play_usage(FILE *f);

#endif
