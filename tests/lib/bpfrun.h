/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One BPF_PROG_TEST_RUN wrapper and one per-CPU counter sum, for the BPF
 * suites (tests/bpf), the vmtest guest and the benchmarks (bench/perf).
 *
 * Header-only and free of criterion on purpose: the benchmarks use it too and
 * link neither the test framework nor libwfgtest.a. A caller asserts (tests)
 * or gives up on a row (benchmarks) on a non-zero return.
 */
#ifndef WFG_TESTS_BPFRUN_H
#define WFG_TESTS_BPFRUN_H

#include <stddef.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/*
 * One test run. TC programs get `skb` as their context both ways, so that
 * what the program writes (tstamp) comes back; XDP and programs without a
 * context leave it NULL. `out` NULL: the output frame is not wanted.
 */
struct wfgt_run {
	const void *in;
	size_t len;
	void *out;
	__u32 out_size;
	struct __sk_buff *skb;
	int repeat; /* 0 or 1: once; more: the kernel's own loop */
	/* filled by wfgt_prog_run() */
	__u32 out_len;	/* bytes written to out */
	__u32 retval;	/* the program's verdict (of the last run) */
	__u32 duration; /* mean ns per run, measured by the kernel */
};

/* 0, or libbpf's negative error with errno set. */
static inline int wfgt_prog_run(int prog_fd, struct wfgt_run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = r->in, .data_size_in = (__u32)r->len,
		    .data_out = r->out, .data_size_out = r->out ? r->out_size : 0,
		    .repeat = r->repeat);
	int err;

	if (r->skb) {
		o.ctx_in = r->skb;
		o.ctx_size_in = sizeof(*r->skb);
		o.ctx_out = r->skb;
		o.ctx_size_out = sizeof(*r->skb);
	}
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return err;
	r->out_len = o.data_size_out;
	r->retval = o.retval;
	r->duration = o.duration;
	return 0;
}

/* The sum over CPUs of entry `key` of a per-CPU array of __u64: 0 or -1. */
static inline int wfgt_percpu_sum(int map_fd, __u32 key, __u64 *sum)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 vals[512];

	*sum = 0;
	if (ncpu <= 0 || ncpu > 512 || bpf_map_lookup_elem(map_fd, &key, vals))
		return -1;
	for (i = 0; i < ncpu; i++)
		*sum += vals[i];
	return 0;
}

#endif
