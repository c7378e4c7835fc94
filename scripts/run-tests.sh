#!/usr/bin/env bash
# Run the test binaries of each suite, keep going after a failure, print one
# summary line per suite and exit non-zero if anything failed.
#   scripts/run-tests.sh BUILD suite:"bin1 bin2" suite2:"..." suite3:"!command args"
# A suite whose value starts with '!' is one command (vmtest: a VM run); its
# last output line goes into the summary. After the summary, up to 8 lines of
# each failure's own words (criterion's assertion messages, TAP "not ok" lines,
# "FAIL:" reasons): CI keeps only the tail of a run, and the tail must say what
# broke, not only where.
set -u
why=()
# why_of LOG NAME: the lines of LOG that say why NAME failed, into why[].
why_of() {
	local lines
	lines=$(grep -a -E -A2 'Assertion Failed|^\[FAIL\]|^ *not ok|: FAIL: |^ *FAIL: |^\[----\].*(error|fail)' "$1" |
		grep -a -v -E '^--$|^\[----\] *$' | head -n 8 | cut -c1-300)
	[ -n "$lines" ] && why+=("$2:" "$(sed 's/^/    /' <<<"$lines")")
}
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
		[ "$rc" -eq 0 ] || why_of "$log" "$suite"
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
		log=$(mktemp)
		"$bin" --jobs 2 2>&1 | tee "$log"
		if [ "${PIPESTATUS[0]}" -ne 0 ]; then
			bad=$((bad + 1))
			failed+=("$suite:$bin")
			why_of "$log" "$suite:$bin"
		fi
		rm -f "$log"
	done
	summary+=("$(printf '%-6s %2d binaries, %d failed' "$suite" "$n" "$bad")")
done
echo
echo "== test summary ($build)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
	[ ${#why[@]} -eq 0 ] || printf '  %s\n' "${why[@]}"
	printf '  FAILED: %s\n' "${failed[@]}"
	exit 1
fi
echo "  all suites passed"
