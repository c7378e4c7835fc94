#!/usr/bin/env bash
# CUMUL's training and testing, wfbench vs sklearn's SVC grid, on the same exported
# features, outer folds and (C, gamma) grid in one run; prints each one's time, the
# ratio to sklearn (the baseline) and both accuracies (docs/benchmarks.md).
#   bench/perf/cumul_sklearn.sh BUILD [SITES] [INSTANCES] [OUTER_FOLDS] [JOBS] [ROUNDS]
# (defaults 50 50 2 2 1). Rows: sklearn at the default inner folds; wfbench's
# defaults; wfbench without the kernel cache (kmat_mb=0, the grid as it ran
# before); both at 10 inner folds. sklearn is Debian's python3-sklearn
# (/usr/bin/python3); without it the script says so and stops.
set -u
build=${1:-build}
sites=${2:-50}
inst=${3:-50}
folds=${4:-2}
jobs=${5:-2}
rounds=${6:-1}
py=/usr/bin/python3
here=$(dirname "$0")
wfb=$(readlink -f "$build/wfbench")
if ! $py -c 'import sklearn' 2>/dev/null; then
	echo "cumul_sklearn: skipped: $py has no sklearn (apt-get install python3-sklearn)"
	exit 0
fi
work=$(mktemp -d /tmp/cumul_sklearn.XXXXXX)
trap 'rm -rf "$work"' EXIT
set -e
inner=$(sed -n 's/^#define GRID_FOLDS *\([0-9]*\).*/\1/p' "$here/../attacks/cumul.c")
"$wfb" generate --sites "$sites" --instances "$inst" --seed 1 -o "$work/ds" >/dev/null
"$wfb" attack --attack cumul --dataset "$work/ds" --folds "$folds" --seed 1 \
	-x "$work/f.npy" >/dev/null

# One wfbench run: "wall cpu accuracy" (whole process: reads, extracts, cross-validates).
ours() {
	/usr/bin/time -f '%e %U %S' -o "$work/t" "$wfb" attack --attack cumul --dataset "$work/ds" \
		--folds "$folds" --seed 1 --jobs "$jobs" ${1:+--params "$1"} --json >"$work/o"
	read -r wall user sys <"$work/t"
	acc=$(sed -n 's/.*"accuracy":[[:space:]]*\([0-9.]*\).*/\1/p' "$work/o" | head -1)
	echo "$wall $(echo "$user + $sys" | bc) $acc"
}
# One sklearn run: "wall cpu accuracy"; wall is its fit + predict, cpu the whole process's.
theirs() {
	/usr/bin/time -f '%U %S' -o "$work/t" $py "$here/cumul_sklearn.py" "$work/f.npy" "$1" \
		"$jobs" 2 1 >"$work/o"
	read -r user sys <"$work/t"
	read -r wall acc best <"$work/o"
	echo "$wall $(echo "$user + $sys" | bc) $acc"
}
row() { # label base_wall base_cpu wall cpu acc
	printf '%-44s %8.2f %8.2f %6.2f %6.2f %8s\n' "$1" "$4" "$5" "$(echo "$4 / $2" | bc -l)" \
		"$(echo "$5 / $3" | bc -l)" "$6"
}
echo "cumul_sklearn: ${sites}x${inst} world, $folds outer folds, --jobs $jobs, grid 4x4," \
	"wfbench default inner folds $inner; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-44s %8s %8s %6s %6s %8s\n' run wall_s cpu_s wall_x cpu_x accuracy
for r in $(seq "$rounds"); do
	read -r bw bc ba < <(theirs "$inner")
	row "sklearn GridSearchCV, $inner inner folds (baseline)" "$bw" "$bc" "$bw" "$bc" "$ba"
	read -r w c a < <(ours "")
	row "wfbench defaults ($inner inner folds, kernel cache)" "$bw" "$bc" "$w" "$c" "$a"
	read -r w c a < <(ours "grid_folds=$inner,kmat_mb=0")
	row "wfbench $inner inner folds, no kernel cache" "$bw" "$bc" "$w" "$c" "$a"
	read -r w c a < <(ours "grid_folds=10,kmat_mb=0")
	row "wfbench 10 inner folds, no cache (before)" "$bw" "$bc" "$w" "$c" "$a"
	read -r w c a < <(ours "grid_folds=10")
	row "wfbench 10 inner folds, kernel cache" "$bw" "$bc" "$w" "$c" "$a"
	read -r w10 c10 a10 < <(theirs 10)
	row "sklearn, 10 inner folds" "$bw" "$bc" "$w10" "$c10" "$a10"
done
