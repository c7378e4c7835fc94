# TAP from a shell test, so that vmtest's guest counts its checks like a
# criterion binary's (vmtest/guest/init). Sourced; POSIX sh.
#
#   tap_plan 3                  "1..3" first: checks a test never reached count as failed
#   tap_fail "why"              a reason the check under way fails (printed at once)
#   tap_check "suite::name"     ends that check: "ok N - name" or "not ok N - name - why"
#   tap_skip_all NAME "why"     the whole test cannot run here: "ok 1 - NAME # SKIP why"
#
# The lines go to stdout and, if WFG_TAP names a file, to that file too.
# tap_failed is the number of checks that failed so far.

tap_n=0
tap_failed=0
tap_why=

tap_emit() {
	echo "$*"
	[ -z "${WFG_TAP:-}" ] || echo "$*" >>"$WFG_TAP"
}

tap_plan() {
	[ -z "${WFG_TAP:-}" ] || : >"$WFG_TAP"
	tap_emit "1..$1"
}

tap_fail() {
	echo "  FAIL: $*"
	tap_why="$tap_why${tap_why:+; }$*"
}

tap_check() {
	tap_n=$((tap_n + 1))
	if [ -z "$tap_why" ]; then
		tap_emit "ok $tap_n - $1"
	else
		tap_emit "not ok $tap_n - $1 - $tap_why"
		tap_failed=$((tap_failed + 1))
	fi
	tap_why=
}

tap_skip_all() {
	[ -z "${WFG_TAP:-}" ] || : >"$WFG_TAP"
	tap_emit "1..1"
	tap_emit "ok 1 - $1 # SKIP $2"
}
