#!/usr/bin/env bash
# The vmtest harness's self-test (make vmtest-selftest).
#
#   vmtest/selftest.sh [run.sh options] SUITE:"bins"... selftest:"BUILD/vmtest/test_broken"
#
# Runs vmtest/run.sh with the given binaries, one of which is test_broken: it
# loads vmtest/broken/broken.bpf.o, which 6.1's verifier rejects, next to a
# control test that loads a minimal program. The self-test passes only if the
# harness reports that run as a failure in the guest (run.sh exit 1, the
# sentinel line present), caused by test_broken's one test alone (the control
# passed), with the kernel's rejection in the console. A pass of the VM run, a harness breakdown
# (no sentinel, timeout) or any other failing binary fails the self-test. When
# run.sh skips (no qemu, no kernel package), so does this.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=build
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; args+=("$1" "$2"); shift 2 ;;
	--out) shift 2 ;; # the self-test has its own
	--kernel | --timeout) args+=("$1" "$2"); shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
out=$build/vmtest/selftest

"$here/run.sh" --out "$out" "${args[@]}"
rc=$?
result=$(cat "$out/result" 2>/dev/null)
echo
echo "== vmtest self-test"
fail() {
	echo "  $*"
	echo "vmtest-selftest: FAILED: the harness did not report the broken object as it must"
	exit 1
}
case $result in
SKIP:*)
	echo "vmtest-selftest: SKIP: the VM could not run ($result)"
	exit 0
	;;
WFGUARD-VMTEST-RESULT:*) ;;
*) fail "no result line from the guest (run.sh exit $rc): ${result:-nothing}" ;;
esac
[ "$rc" = 1 ] || fail "run.sh exited $rc; a guest with a failing test must make it exit 1"
failed_bins=$(sed -n 's/.* failed_binaries=\([^ ]*\).*/\1/p' <<<"$result")
[ "$failed_bins" = test_broken ] ||
	fail "failed binaries: '$failed_bins' (want exactly test_broken)"
passed=$(sed -n 's/.* passed=\([^ ]*\).*/\1/p' <<<"$result")
failed=$(sed -n 's/.* failed=\([^ ]*\).*/\1/p' <<<"$result")
[ "$failed" = 1 ] || fail "$failed tests failed (want exactly 1: broken_object_loads_and_runs)"
[ "${passed:-0}" -ge 1 ] || fail "the control test (a minimal program loads) did not pass"
grep -aq 'VMTEST-SELFTEST: broken.bpf.o rejected by this kernel' "$out/console.log" ||
	fail "test_broken failed, but not because the kernel rejected broken.bpf.o"
echo "  the guest reported: $result"
echo "  the kernel's verdict on broken.bpf.o:"
sed -n '/VMTEST-SELFTEST: broken.bpf.o rejected/,/END PROG LOAD LOG/p' "$out/console.log" |
	grep -a -B3 'processed [0-9]* insns' | head -n 4 | sed 's/^\[----\] */    /'
echo "vmtest-selftest: OK: the broken object failed the VM run (run.sh exit 1), as it must"
exit 0
