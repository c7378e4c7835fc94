#!/usr/bin/env bash
# A bounded run of every libFuzzer target (docs/fuzzing.md):
#   tests/fuzz/run.sh BUILD [SECONDS]     SECONDS per target (default 4; make test's run)
# Each starts from its seeds in the tree (tests/fuzz/corpus/TARGET, and for the policy
# compiler every policy the tests and examples hold) and grows a scratch corpus under
# BUILD/fuzz/run/ that is thrown away. A crash, a sanitizer report, a slow input
# (-timeout) or a broken promise fails the run; the input is kept as
# BUILD/fuzz/artifacts/TARGET-*: add it to the target's seeds (and a regression test)
# when the bug is fixed.
set -uo pipefail
build=${1:-build}
secs=${2:-4}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

declare -A seeds=(
	[fuzz_policy]="$here/corpus/policy $top/tests/policies/good $top/tests/policies/bad $top/examples/policies"
	[fuzz_maybenot]="$here/corpus/maybenot"
	[fuzz_trace_native]="$here/corpus/trace_native"
	[fuzz_trace_wang]="$here/corpus/trace_wang"
	[fuzz_trace_maybenot]="$here/corpus/trace_maybenot"
	[fuzz_trace_pcap]="$here/corpus/trace_pcap"
)
order=(fuzz_policy fuzz_maybenot fuzz_trace_native fuzz_trace_wang fuzz_trace_maybenot fuzz_trace_pcap)

rm -rf "$build/fuzz/run"
mkdir -p "$build/fuzz/run" "$build/fuzz/artifacts"
failed=0 passed=0
for t in "${order[@]}"; do
	bin=$build/fuzz/$t
	if [ ! -x "$bin" ]; then
		echo "  FAIL  $t: $bin not built (make fuzz)"
		failed=$((failed + 1))
		continue
	fi
	work=$build/fuzz/run/$t
	log=$build/fuzz/run/$t.log
	mkdir -p "$work"
	# shellcheck disable=SC2086 # the seed list is words
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz/artifacts/$t-" "$work" ${seeds[$t]} >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc -eq 0 ]; then
		echo "  ok    $t: ${runs:-?} inputs in ${secs} s, corpus $(ls "$work" | wc -l) new"
		passed=$((passed + 1))
	else
		echo "  FAIL  $t (exit $rc): the input is in $build/fuzz/artifacts/; its log's end:"
		grep -E 'ERROR|SUMMARY|broken promise|Test unit written|runtime error' "$log" |
			head -8 | sed 's/^/        /'
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
