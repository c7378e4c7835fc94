#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# wfbench attack --save-model / --model (docs/attacks/nn.md): train Tik-Tok on a
# tiny world, write the model, test it from the file; a file of another attack,
# an attack without model files and a missing file are refused.
# Usage: tests/bench/deep_model.sh BUILD
set -u
B=${1:?usage: $0 BUILD}
W="$B/wfbench"
T=$(mktemp -d /tmp/wfb-deep-model-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$W" generate --sites 3 --instances 6 --seed 1 -o "$T/w" >/dev/null || fail generate
"$W" attack --attack tiktok --dataset "$T/w" --jobs 1 \
	--params length=64,epochs=2,batch=4,val=0 --save-model "$T/m" >"$T/out" ||
	fail "--save-model: $(cat "$T/out")"
grep -q "trained on 18 traces; model written to $T/m" "$T/out" || fail "save: $(cat "$T/out")"
head -c 28 "$T/m" | grep -qx "tiktok 1 length 64 classes 3" || fail "header: $(head -1 "$T/m")"
"$W" attack --attack tiktok --dataset "$T/w" --model "$T/m" >"$T/out" || fail "--model"
grep -Eq "^tiktok: model .* accuracy [01]\.[0-9]{4} \([0-9]+ of 18\)$" "$T/out" ||
	fail "test: $(cat "$T/out")"
"$W" attack --attack rf --dataset "$T/w" --model "$T/m" 2>"$T/err" && fail "rf took a tiktok file"
grep -q "m:1: a tiktok model, not rf" "$T/err" || fail "wrong attack: $(cat "$T/err")"
"$W" attack --attack knn --dataset "$T/w" --model "$T/m" 2>"$T/err" && fail "knn took a model"
grep -q "knn: no model files" "$T/err" || fail "knn: $(cat "$T/err")"
"$W" attack --attack tiktok --dataset "$T/w" --model "$T/none" 2>/dev/null && fail "missing file"
"$W" attack --attack tiktok --dataset "$T/w" --model "$T/m" --save-model "$T/m2" 2>/dev/null &&
	fail "both options"
echo "deep_model: ok"
