#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The shim's cost on the data path against the trailer it replaced, in one run:
# bench/perf/datapath from this build and from an older commit's build, run in
# turn (old, new, old, new, ...) on the same machine, each row's best kept;
# every row as a ratio to its own binary's parse-only baseline, then new / old.
# Needs root.
#   bench/perf/shim_cost.sh NEW_BUILD OLD_BUILD [RUNS [ROUNDS]]
# OLD_BUILD: e.g. `git archive 6d2bb3e | tar -x -C /tmp/old`, this commit's
# bench/perf/datapath.c copied over (the extra rows), then
# `make -C /tmp/old build/bench/perf/datapath`: /tmp/old/build.
set -euo pipefail

new=${1:?usage: shim_cost.sh NEW_BUILD OLD_BUILD [RUNS [ROUNDS]]}
old=${2:?usage: shim_cost.sh NEW_BUILD OLD_BUILD [RUNS [ROUNDS]]}
runs=${3:-20000}
rounds=${4:-3}
for b in "$new" "$old"; do
	[ -x "$b/bench/perf/datapath" ] || { echo "shim_cost: $b/bench/perf/datapath: not built" >&2; exit 2; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for ((r = 0; r < rounds; r++)); do
	"$old/bench/perf/datapath" "$runs" >"$out/old.$r"
	"$new/bench/perf/datapath" "$runs" >"$out/new.$r"
done

# The first table: "  <name>  <ns> <ratio>" between its header and the blank line.
rows() {
	awk '/^datapath: ns per packet/ { t = 1; next }
	     t && /^$/ { exit }
	     t && $1 != "program" { ns = $(NF - 1); $NF = ""; $(NF - 1) = ""; sub(/^ +/, ""); sub(/ +$/, "");
	                            printf "%s\t%s\n", $0, ns }' "$@"
}

echo "datapath $runs runs x $rounds rounds, best per row; old: $old, new: $new"
{
	for ((r = 0; r < rounds; r++)); do rows "$out/old.$r" | sed 's/^/old\t/'; done
	for ((r = 0; r < rounds; r++)); do rows "$out/new.$r" | sed 's/^/new\t/'; done
} | awk -F'\t' '
	{ k = $1 SUBSEP $2
	  if (!(k in best) || $3 < best[k]) best[k] = $3
	  if ($1 == "new" && !($2 in seen)) { seen[$2] = 1; order[n++] = $2 } }
	END {
		printf "| row | old ns | old / parse | new ns | new / parse | new / old |\n"
		printf "|---|---|---|---|---|---|\n"
		base = "baseline: parse only (tc)"
		for (i = 0; i < n; i++) {
			r = order[i]
			if (r == "baseline: parse only (xdp)") base = r
			o = best["old", r]; w = best["new", r]
			bo = best["old", base]; bw = best["new", base]
			printf "| %s | %.1f | %.2f | %.1f | %.2f | %.2f |\n", r, o, o / bo, w, w / bw, w / o
		}
	}'
echo
echo "C rows (new build, last round):"
sed -n '/^shim seal\/open in C/,$p' "$out/new.$((rounds - 1))"
