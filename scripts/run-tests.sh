#!/usr/bin/env bash
# Run the test binaries of each suite, keep going after a failure, print one
# summary line per suite and exit non-zero if anything failed.
#   scripts/run-tests.sh BUILD suite:"bin1 bin2" suite2:"..." suite3:"!command args"
# A suite whose value starts with '!' is one command (vmtest: a VM run); its
# last output line goes into the summary.
set -u
build=$1
shift
failed=()
summary=()
for arg in "$@"; do
	suite=${arg%%:*}
	bins=${arg#*:}
	n=0
	bad=0
	if [ "${bins:0:1}" = "!" ]; then
		echo "==> [$suite] ${bins:1}"
		log=$(mktemp)
		bash -c "${bins:1}" 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
		last=$(tail -n 1 "$log")
		rm -f "$log"
		if [ "$rc" -ne 0 ]; then
			failed+=("$suite")
			summary+=("$(printf '%-6s FAILED (exit %d): %s' "$suite" "$rc" "$last")")
		else
			summary+=("$(printf '%-6s %s' "$suite" "$last")")
		fi
		continue
	fi
	for bin in $bins; do
		n=$((n + 1))
		echo "==> [$suite] $bin"
		if ! "$bin" --jobs 2; then
			bad=$((bad + 1))
			failed+=("$suite:$bin")
		fi
	done
	summary+=("$(printf '%-6s %2d binaries, %d failed' "$suite" "$n" "$bad")")
done
echo
echo "== test summary ($build)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
	printf '  FAILED: %s\n' "${failed[@]}"
	exit 1
fi
echo "  all suites passed"
