#!/usr/bin/env bash
# wfbench over MPI ranks and resumed runs (docs/cluster.md):
#   - a sweep and a search under `mpirun -np 3` write the same files, byte for
#     byte, as with one process;
#   - a sweep whose rank is killed, and a search stopped by Ctrl-C, resume from
#     their journal (with another number of ranks) without redoing what was
#     done, to the same files.
# Without mpirun (or a wfbench built without MPI) the MPI parts are skipped
# with a message; the resume checks run in one process.
#   tests/cluster/mpi.sh BUILD
set -u
build=${1:-build}
wfb=$(readlink -f "$build/wfbench")
wfg=$(readlink -f "$build/wfguard")
work=$(mktemp -d /tmp/wfb-mpi-XXXXXX)
# Our own wfbench processes (by PID: those running in $work), should a check leave one.
cleanup() {
	local pid
	for pid in $(pgrep -f "^$wfb "); do
		[ "$(readlink /proc/$pid/cwd 2>/dev/null)" = "$work" ] && kill -KILL "$pid"
	done
	rm -rf "$work"
}
trap cleanup EXIT
fail=0
bad() { echo "cluster: FAIL: $*"; fail=1; }
ok() { echo "cluster: ok: $*"; }

mpi=1
if ! command -v mpirun >/dev/null; then
	echo "cluster: SKIP (MPI parts): mpirun missing (scripts/deps.sh: openmpi-bin)"
	mpi=0
elif ! "$wfb" help | grep -q "built with MPI"; then
	echo "cluster: SKIP (MPI parts): $("$wfb" help | tail -1)"
	mpi=0
fi
# Open MPI refuses root unless told; oversubscribe: more ranks than this machine's cores.
mpirun_k() {
	local k=$1
	shift
	mpirun --allow-run-as-root --oversubscribe -np "$k" "$@"
}

cd "$work"
cat >front.yaml <<'EOF'
version: 1
match:
  - {}
defence:
  - preset: front
    params: {N_c: 500, N_s: 500, W_min: 1, W_max: 14}
EOF
"$wfb" generate --sites 5 --instances 6 --seed 2 -o world >/dev/null || { bad "generate"; exit 1; }
sweep=(sweep --policy front.yaml --param defence.0.params.N_c=100:1200:100 -d world -a knn,cumul -k 3 -j 1)
search=(search -d world -n 12 --seed 3)
search_long=(search -d world -n 80 --seed 5)

# The reference: one process, uninterrupted.
"$wfb" "${sweep[@]}" -o sw1 >/dev/null 2>sw1.err || bad "sweep -np 1: $(cat sw1.err)"
"$wfb" "${search[@]}" -o se1 >/dev/null 2>se1.err || bad "search: $(cat se1.err)"
"$wfb" "${search_long[@]}" -o sel >/dev/null 2>sel.err || bad "search: $(cat sel.err)"
[ "$(grep -c ',knn,' sw1/results.csv)" = 12 ] || bad "sweep: 12 knn rows expected"
[ "$(tail -n +2 se1/defences.csv | wc -l)" = 12 ] || bad "search: 12 defences expected"

# What search writes, wfguard takes: every policy, and the Maybenot strings as a policy.
checked=0
for f in se1/defences/*.yaml; do
	"$wfg" policy check "$f" >/dev/null 2>check.err || bad "wfguard policy check $f: $(cat check.err)"
	checked=$((checked + 1))
done
mb=$(ls se1/defences/*.mb | head -1)
{
	printf 'version: 1\nmatch: [{}]\ndefence:\n  - maybenot:\n'
	printf '      client: %s\n' "$(awk '$1 == "client" { print $2 }' "$mb")"
	printf '      server: %s\n' "$(awk '$1 == "server" { print $2 }' "$mb")"
} >mb.yaml
"$wfg" policy check mb.yaml >/dev/null 2>check.err || bad "wfguard policy check of $mb's strings: $(cat check.err)"
[ $fail = 0 ] && ok "wfguard policy check: the $checked kept policies and $mb's Maybenot strings"

same_sweep() { # DIR: its results equal sw1's
	cmp -s sw1/results.csv "$1/results.csv" && cmp -s sw1/results.json "$1/results.json"
}
same_search() { # DIR: every file but the journal equal to se1's
	diff -r -x journal.txt se1 "$1" >/dev/null
}

if [ $mpi = 1 ]; then
	mpirun_k 3 "$wfb" "${sweep[@]}" -o sw3 >/dev/null 2>sw3.err || bad "sweep -np 3: $(cat sw3.err)"
	same_sweep sw3 && ok "sweep: -np 3 results.csv and results.json identical to -np 1" ||
		bad "sweep: -np 3 differs from -np 1: $(diff sw1/results.csv sw3/results.csv | head -5)"
	mpirun_k 3 "$wfb" "${search[@]}" -o se3 >se3.out 2>se3.err || bad "search -np 3: $(cat se3.err)"
	grep -q "MPI.*, 3 ranks)" se3.out || bad "search -np 3 did not run as one job of 3 ranks: $(cat se3.out)"
	same_search se3 && ok "search: -np 3 files identical to -np 1" ||
		bad "search: -np 3 differs: $(diff -r -x journal.txt se1 se3 | head -5)"
fi

# Wait (at most 60 s) until FILE has at least N lines; 0 if it did.
wait_lines() {
	local i
	for i in $(seq 600); do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# A sweep whose rank dies (SIGKILL) after the first point: resumed with 2 ranks (or 1).
if [ $mpi = 1 ]; then
	mpirun_k 3 "$wfb" "${sweep[@]}" -o swk >/dev/null 2>swk.err &
	launcher=$!
	wait_lines swk/journal.txt 3 || bad "sweep: no point done in 60 s"
	# a rank, not mpirun (whose command line names wfbench too)
	victim=$(pgrep -f "^$wfb sweep .* -o swk\$" | head -1)
	[ -n "$victim" ] && kill -KILL "$victim"
	wait "$launcher" && bad "sweep: mpirun exited 0 although a rank was killed"
	ranks=2
else
	"$wfb" "${sweep[@]}" -o swk >/dev/null 2>swk.err &
	pid=$!
	wait_lines swk/journal.txt 3 || bad "sweep: no point done in 60 s"
	kill -KILL $pid
	wait $pid
	ranks=1
fi
done_before=$(($(wc -l <swk/journal.txt) - 2))
[ "$done_before" -lt 12 ] || bad "sweep: all 12 points were done before the kill; the test proves nothing"
if [ $ranks = 2 ]; then
	mpirun_k 2 "$wfb" "${sweep[@]}" -o swk --resume >/dev/null 2>swk2.err
else
	"$wfb" "${sweep[@]}" -o swk --resume >/dev/null 2>swk2.err
fi || bad "sweep --resume: $(cat swk2.err)"
grep -q "$done_before of 12 defences done already" swk2.err ||
	bad "sweep --resume did not take the $done_before finished points: $(cat swk2.err)"
same_sweep swk && ok "sweep: killed after $done_before of 12 points, resumed on $ranks rank(s): identical results" ||
	bad "sweep: resumed results differ: $(diff sw1/results.csv swk/results.csv | head -5)"

# A search stopped by Ctrl-C (SIGINT to the one process), resumed.
"$wfb" "${search_long[@]}" -o sei >/dev/null 2>sei.err &
pid=$!
wait_lines sei/journal.txt 3 || bad "search: nothing done in 60 s"
kill -INT $pid
wait $pid
rc=$?
if [ $rc = 130 ]; then
	grep -q -- "--resume" sei.err || bad "search: the interrupt message names no --resume: $(cat sei.err)"
	"$wfb" "${search_long[@]}" -o sei >/dev/null 2>sei2.err && bad "search: an existing journal was overwritten without --resume"
	"$wfb" "${search_long[@]}" -o sei --resume >sei3.out 2>sei3.err || bad "search --resume: $(cat sei3.err)"
	grep -Eq "\(([1-9][0-9]*) from the journal\)" sei3.out || bad "search --resume used no journal line: $(cat sei3.out)"
	diff -r -x journal.txt sel sei >/dev/null && ok "search: Ctrl-C, then --resume ($(grep -o '[0-9]* from the journal' sei3.out)): identical files" ||
		bad "search: resumed files differ: $(diff -r -x journal.txt sel sei | head -5)"
elif [ $rc = 0 ]; then
	echo "cluster: note: the search finished before Ctrl-C reached it; the interrupt was not tested"
else
	bad "search: exit $rc after Ctrl-C (130 expected): $(cat sei.err)"
fi

[ $fail = 0 ] && echo "cluster: PASS" || echo "cluster: FAILED"
exit $fail
