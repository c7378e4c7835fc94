/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Processes of a live run, each in a network namespace of the run's own
 * (/run/netns/NAME, made with `ip netns add`): commands run to completion,
 * daemons and forked helpers that the run tracks by PID and ends itself.
 * Nothing here ends a process it did not start.
 */
#ifndef WFBENCH_LIVE_PROC_H
#define WFBENCH_LIVE_PROC_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define WFL_MAX_PROCS 32

struct wfl_procs {
	pid_t pid[WFL_MAX_PROCS];
	char what[WFL_MAX_PROCS][32];
	size_t n;
};

/* Set by SIGINT/SIGTERM once wfl_catch_signals() ran; forked helpers see it too. */
extern volatile sig_atomic_t wfl_stop;
void wfl_catch_signals(void);

/*
 * Run argv (PATH searched) in namespace ns (NULL: this one) and wait. stdin
 * from in_path, stdout to out_path (each NULL: /dev/null), stderr to log_path
 * (NULL: inherited). Returns the exit status, or -errno.
 */
int wfl_run(const char *ns, char *const argv[], const char *in_path, const char *out_path,
	    const char *log_path);

/* Start argv in ns in the background, stdout and stderr to log_path; tracked. */
int wfl_spawn(struct wfl_procs *ps, const char *what, const char *ns, char *const argv[],
	      const char *log_path);

/*
 * Fork a helper that enters ns and returns fn(arg, ready_fd) as its exit code.
 * The helper writes one byte to ready_fd when it is ready (listening,
 * capturing); wfl_fork waits up to 10 s for it. Tracked.
 */
int wfl_fork(struct wfl_procs *ps, const char *what, const char *ns,
	     int (*fn)(void *arg, int ready_fd), void *arg, pid_t *pid);

/* Wait for pid; its exit status (128 + signal when killed), -errno. */
int wfl_wait(struct wfl_procs *ps, pid_t pid);

/* 1 and its status in *status when pid has ended (reaped, untracked), else 0. */
int wfl_exited(struct wfl_procs *ps, pid_t pid, int *status);

/* SIGTERM to pid, SIGKILL after grace_ms; then reaped and untracked. */
void wfl_end(struct wfl_procs *ps, pid_t pid, unsigned grace_ms);

/* End every tracked process, newest first. */
void wfl_end_all(struct wfl_procs *ps);

#endif /* WFBENCH_LIVE_PROC_H */
