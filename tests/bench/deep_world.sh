#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make test-long: DF, Tik-Tok and RF on the 10 x 60 synthetic world (seed 2018),
# undefended and under the FRONT preset, 2-fold cross-validation
# (docs/attacks/deep-measured.md). Bars (issue 16): every attack >= 0.95
# undefended; under FRONT, RF above DF. Slow: hours on 2 shared cores.
# Usage: tests/bench/deep_world.sh BUILD [JOBS]
# (WFB_DEEP_WORLD=SITESxINSTANCES and WFB_DEEP_EPOCHS=E shrink it for a smoke run.)
set -u
B=${1:?usage: $0 BUILD [JOBS]}
J=${2:-2}
W="$B/wfbench"
T=$(mktemp -d /tmp/wfb-deep-world-XXXXXX)
trap 'rm -rf "$T"' EXIT
# small worlds need small batches: the steps, not the epochs, decide (deep-measured.md)
E=${WFB_DEEP_EPOCHS:-25}
SITES=${WFB_DEEP_WORLD%x*}
INST=${WFB_DEEP_WORLD#*x}
[ -n "${WFB_DEEP_WORLD:-}" ] || { SITES=10; INST=60; }
SEQ="length=1000,batch=8,epochs=$E,patience=0,val=0.1,bn_momentum=0.9"
TAM="length=5000,slots=300,span=5,batch=8,epochs=$E,patience=0,val=0.1,bn_momentum=0.9"
bad=0

"$W" generate --sites "$SITES" --instances "$INST" --seed 2018 -o "$T/w" >/dev/null || exit 1
"$W" defend --preset front --dataset "$T/w" -o "$T/wf" --jobs "$J" >/dev/null || exit 1

# accuracy ATTACK DATASET PARAMS -> the mean over the folds
accuracy() {
	"$W" attack --attack "$1" --dataset "$T/$2" --folds 2 --jobs "$J" --params "$3" |
		awk '$1 == "accuracy" { print $2 }'
}

for a in df tiktok rf; do
	p=$SEQ
	[ "$a" = rf ] && p=$TAM
	for d in w wf; do
		v=$(accuracy "$a" "$d" "$p")
		eval "acc_${a}_$d=\${v:-0}"
		echo "$a $d: accuracy ${v:-failed}"
	done
	if ! awk -v v="$(eval echo \$acc_${a}_w)" 'BEGIN { exit !(v >= 0.95) }'; then
		echo "FAIL: $a undefended below 0.95"
		bad=1
	fi
done
if ! awk -v r="$acc_rf_wf" -v d="$acc_df_wf" 'BEGIN { exit !(r > d) }'; then
	echo "FAIL: under FRONT RF ($acc_rf_wf) does not beat DF ($acc_df_wf)"
	bad=1
fi
exit $bad
