// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Processes of a live run (proc.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "proc.h"

volatile sig_atomic_t wfl_stop;

static void on_signal(int sig)
{
	(void)sig;
	wfl_stop = 1;
}

void wfl_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* In the child: enter ns; on failure the child exits 126. */
static void enter_ns(const char *ns)
{
	char path[256];
	int fd;

	if (!ns)
		return;
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "wfbench live: cannot enter namespace %s: %s\n", ns,
			strerror(errno));
		_exit(126);
	}
	close(fd);
}

static void redirect(int to, const char *path, int flags)
{
	int fd = open(path ? path : "/dev/null", flags, 0600);

	if (fd < 0 || dup2(fd, to) < 0)
		_exit(126);
	close(fd);
}

static void child_signals(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

int wfl_run(const char *ns, char *const argv[], const char *in_path, const char *out_path,
	    const char *log_path)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (!pid) {
		child_signals();
		enter_ns(ns);
		redirect(0, in_path, O_RDONLY);
		redirect(1, out_path, O_WRONLY | O_CREAT | O_TRUNC);
		if (log_path)
			redirect(2, log_path, O_WRONLY | O_CREAT | O_APPEND);
		execvp(argv[0], argv);
		fprintf(stderr, "wfbench live: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int track(struct wfl_procs *ps, pid_t pid, const char *what)
{
	if (ps->n == WFL_MAX_PROCS) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -EMFILE;
	}
	ps->pid[ps->n] = pid;
	snprintf(ps->what[ps->n], sizeof(ps->what[0]), "%s", what);
	ps->n++;
	return 0;
}

static void untrack(struct wfl_procs *ps, pid_t pid)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		if (ps->pid[i] != pid)
			continue;
		memmove(&ps->pid[i], &ps->pid[i + 1], (ps->n - i - 1) * sizeof(ps->pid[0]));
		memmove(ps->what[i], ps->what[i + 1], (ps->n - i - 1) * sizeof(ps->what[0]));
		ps->n--;
		return;
	}
}

int wfl_spawn(struct wfl_procs *ps, const char *what, const char *ns, char *const argv[],
	      const char *log_path)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		child_signals();
		enter_ns(ns);
		redirect(0, NULL, O_RDONLY);
		redirect(1, log_path, O_WRONLY | O_CREAT | O_APPEND);
		redirect(2, log_path, O_WRONLY | O_CREAT | O_APPEND);
		execvp(argv[0], argv);
		fprintf(stderr, "wfbench live: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return track(ps, pid, what);
}

int wfl_fork(struct wfl_procs *ps, const char *what, const char *ns,
	     int (*fn)(void *arg, int ready_fd), void *arg, pid_t *out)
{
	int fds[2], rc;
	struct pollfd p;
	pid_t pid;
	char b;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (!pid) {
		close(fds[0]);
		enter_ns(ns);
		rc = fn(arg, fds[1]);
		fflush(NULL);
		_exit(rc);
	}
	close(fds[1]);
	rc = track(ps, pid, what);
	p = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	if (!rc && (poll(&p, 1, 10000) != 1 || read(fds[0], &b, 1) != 1))
		rc = -ETIMEDOUT; /* it failed, or it hangs: the caller ends it */
	close(fds[0]);
	*out = pid;
	return rc;
}

int wfl_wait(struct wfl_procs *ps, pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	untrack(ps, pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int wfl_exited(struct wfl_procs *ps, pid_t pid, int *status)
{
	int st;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return 0;
	untrack(ps, pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 1;
}

void wfl_end(struct wfl_procs *ps, pid_t pid, unsigned grace_ms)
{
	unsigned waited = 0;
	int st;

	kill(pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (waited >= grace_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
		waited += 20;
	}
	untrack(ps, pid);
}

void wfl_end_all(struct wfl_procs *ps)
{
	while (ps->n)
		wfl_end(ps, ps->pid[ps->n - 1], 2000);
}
