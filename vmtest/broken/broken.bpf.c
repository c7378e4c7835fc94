// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The vmtest harness's self-test object (make vmtest-selftest; never built by
 * `make` or run by `make vmtest`): a TC program that loads on newer kernels
 * (6.4+, the host's 6.18) and that Debian's 6.1 must reject.
 *
 * It sums 0..9 with an open-coded numeric iterator (bpf_iter_num_new / _next /
 * _destroy), a verifier feature of 6.4. On 6.1 the kfuncs are absent from
 * vmlinux BTF; declared __weak, libbpf leaves the calls unresolved ("call #0"),
 * which 6.1's verifier passes as calls that return nothing, and it rejects the
 * program where the loop reads bpf_iter_num_next()'s result: "R0 !read_ok"
 * (EACCES). It compiles with the project's clang and flags.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __weak __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __weak __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __weak __ksym;

SEC("tc")
int wfg_broken(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	int *v, sum = 0;

	(void)skb;
	bpf_iter_num_new(&it, 0, 10);
	while ((v = bpf_iter_num_next(&it)))
		sum += *v;
	bpf_iter_num_destroy(&it);
	return sum == 45 ? 0 /* TC_ACT_OK */ : 2 /* TC_ACT_SHOT */;
}

char LICENSE[] SEC("license") = "GPL";
