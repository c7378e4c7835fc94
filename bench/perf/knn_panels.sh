#!/usr/bin/env bash
# Wang's k-NN, the distance loops over row panels (the default) vs row by row
# (panels=0, the implementation before), `wfbench attack --attack knn` on the same
# synthetic world, folds and seed in one run, alternating; prints each run's wall
# and CPU time, the ratio to the row-by-row baseline, peak RSS and the accuracy
# per fold, which must be identical (docs/benchmarks.md).
#   bench/perf/knn_panels.sh BUILD [SITES] [INSTANCES] [FOLDS] [JOBS] [ROUNDS]
# (defaults 50 50 2 2 1)
set -u
build=${1:-build}
sites=${2:-50}
inst=${3:-50}
folds=${4:-2}
jobs=${5:-2}
rounds=${6:-1}
wfb=$(readlink -f "$build/wfbench")
work=$(mktemp -d /tmp/knn_panels.XXXXXX)
trap 'rm -rf "$work"' EXIT
set -e
"$wfb" generate --sites "$sites" --instances "$inst" --seed 1 -o "$work/ds" >/dev/null

# One run: "wall cpu rss_kib per-fold-accuracies"
run() {
	/usr/bin/time -f '%e %U %S %M' -o "$work/t" "$wfb" attack --attack knn \
		--dataset "$work/ds" --folds "$folds" --seed 1 --jobs "$jobs" \
		${1:+--params "$1"} --json >"$work/o"
	read -r wall user sys rss <"$work/t"
	accs=$(sed -n 's/.*"accuracy_per_fold":\[\([^]]*\)\].*/\1/p' "$work/o")
	echo "$wall $(echo "$user + $sys" | bc) $rss $accs"
}
echo "knn_panels: ${sites}x${inst} world, $folds folds, --jobs $jobs; $(nproc) cores," \
	"load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-26s %8s %8s %6s %6s %8s  %s\n' run wall_s cpu_s wall_x cpu_x rss_MiB accuracy_per_fold
status=0
for r in $(seq "$rounds"); do
	read -r bw bc brss bacc < <(run panels=0)
	read -r w c rss acc < <(run "")
	printf '%-26s %8.2f %8.2f %6.2f %6.2f %8.1f  %s\n' "row by row (baseline)" "$bw" "$bc" 1 1 \
		"$(echo "$brss / 1024" | bc -l)" "$bacc"
	printf '%-26s %8.2f %8.2f %6.2f %6.2f %8.1f  %s\n' "panels of 8 (default)" "$w" "$c" \
		"$(echo "$w / $bw" | bc -l)" "$(echo "$c / $bc" | bc -l)" \
		"$(echo "$rss / 1024" | bc -l)" "$acc"
	if [ "$acc" != "$bacc" ]; then
		echo "knn_panels: the accuracies differ: $acc vs $bacc"
		status=1
	fi
done
exit $status
