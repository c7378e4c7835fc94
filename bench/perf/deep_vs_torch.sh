#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# wfbench's DF against the same network in PyTorch (bench/perf/torch_df.py) on
# the same exported data and the same folds, in one run, so the figures are a
# ratio taken on the same machine at the same time (docs/benchmarks.md).
#   bench/perf/deep_vs_torch.sh BUILD [SITESxINSTANCES] [EPOCHS] [THREADS] [LENGTH] [BATCH]
# Defaults: the 10 x 60 synthetic world (seed 2018), 25 epochs, 1 thread, length
# 1000, batch 8 (the measurements' settings: docs/attacks/deep-measured.md).
# Both train on every training row of a fold (val=0) for a fixed number of
# epochs and test on the fold; both are timed whole (features, training,
# testing, and for PyTorch its start-up) with /usr/bin/time, per epoch =
# total / (folds x epochs). Skips (exit 0) when PyTorch or /usr/bin/time is missing.
set -u
B=${1:?usage: $0 BUILD [SITESxINSTANCES] [EPOCHS] [THREADS] [LENGTH] [BATCH]}
WORLD=${2:-10x60}
E=${3:-25}
J=${4:-1}
L=${5:-1000}
BATCH=${6:-8}
FOLDS=2
PY=/usr/bin/python3
HERE=$(dirname "$0")
W="$B/wfbench"
[ -x /usr/bin/time ] || { echo "deep_vs_torch: skipped: /usr/bin/time missing"; exit 0; }
if ! $PY -c 'import torch, numpy' 2>/dev/null; then
	echo "deep_vs_torch: skipped: no PyTorch for $PY (Debian: apt-get install python3-torch)"
	exit 0
fi
T=$(mktemp -d /tmp/wfb-deep-torch-XXXXXX)
trap 'rm -rf "$T"' EXIT

"$W" generate --sites "${WORLD%x*}" --instances "${WORLD#*x}" --seed 2018 -o "$T/w" >/dev/null ||
	exit 1
# the folds and the direction sequences both sides use
"$W" attack --attack df --dataset "$T/w" --folds $FOLDS --export-features "$T/f.npy" >/dev/null ||
	exit 1

# timed CMD...: runs it, its stdout to $T/out; "wall user sys maxrss_kb" to $T/time
timed() {
	/usr/bin/time -f '%e %U %S %M' -o "$T/time" "$@" >"$T/out" || {
		cat "$T/out"
		exit 1
	}
}

P="length=$L,batch=$BATCH,epochs=$E,patience=0,val=0,bn_momentum=0.9"
timed "$W" attack --attack df --dataset "$T/w" --folds $FOLDS --jobs "$J" --params "$P"
ours_acc=$(awk '$1 == "accuracy" { print $2 }' "$T/out")
read -r ours_wall ours_user ours_sys ours_rss <"$T/time"

timed $PY "$HERE/torch_df.py" "$T/f" --length "$L" --batch "$BATCH" --epochs "$E" \
	--threads "$J" --bn-momentum 0.9
cat "$T/out"
torch_acc=$(awk '$1 == "torch_df" && $2 == "accuracy" { print $3 }' "$T/out")
read -r torch_wall torch_user torch_sys torch_rss <"$T/time"

echo "world $WORLD, $FOLDS folds, $E epochs, length $L, batch $BATCH, $J thread(s)"
awk -v n=$((FOLDS * E)) -v oa="$ours_acc" -v ta="$torch_acc" \
	-v ow="$ours_wall" -v oc="$(echo "$ours_user $ours_sys" | awk '{ print $1 + $2 }')" \
	-v tw="$torch_wall" -v tc="$(echo "$torch_user $torch_sys" | awk '{ print $1 + $2 }')" \
	-v orss="$ours_rss" -v trss="$torch_rss" 'BEGIN {
	printf "%-8s accuracy %.4f  per epoch %7.2f s CPU %7.2f s wall  peak RSS %4.0f MB\n",
		"wfbench", oa, oc / n, ow / n, orss / 1024
	printf "%-8s accuracy %.4f  per epoch %7.2f s CPU %7.2f s wall  peak RSS %4.0f MB\n",
		"pytorch", ta, tc / n, tw / n, trss / 1024
	printf "ratio wfbench / pytorch: CPU %.2f, wall %.2f; accuracy difference %+.1f points\n",
		oc / tc, ow / tw, (oa - ta) * 100
}'
