// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The vmtest harness's self-test (make vmtest-selftest): load broken.bpf.o,
 * which 6.1's verifier rejects, and run it once. In the 6.1 guest this test
 * must fail, and the harness must report the run as failed; on a kernel that
 * has open-coded iterators (6.4+) it passes. A control test next to it loads a
 * minimal program, which must pass everywhere. Never part of `make test`.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpflog.h"
#include "broken.skel.h"

/* The control: BPF loading as such works in this kernel, so a failure of the
 * test below is the verifier's verdict on broken.bpf.o, nothing else. */
Test(selftest, a_minimal_program_loads)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd;

	if (geteuid() != 0)
		cr_skip_test("loading BPF needs root");
	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "wfg_minimal", "GPL", prog, 2, NULL);
	cr_assert_geq(fd, 0, "a two-instruction program was refused: %s", strerror(errno));
	close(fd);
}

Test(selftest, broken_object_loads_and_runs)
{
	uint8_t frame[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame));
	struct broken_bpf *skel;

	if (geteuid() != 0)
		cr_skip_test("loading BPF needs root");
	wfgt_log_capture();
	skel = broken_bpf__open_and_load();
	cr_assert_not_null(skel, "VMTEST-SELFTEST: broken.bpf.o rejected by this kernel:\n%s",
			   wfgt_log());
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.wfg_broken), &o), 0);
	cr_assert_eq(o.retval, 0, "the iterator did not sum 0..9");
	broken_bpf__destroy(skel);
}
