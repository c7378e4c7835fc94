#!/usr/bin/env bash
# wfbench on data shaped like a real dataset (issue 15), through the command line:
# a world exported as Wang files, one trace removed and one time inverted, imported
# whole; the attacks' checks before any work (folds, open-world k, parameters) and
# --export-features without the cross-validation. No privilege, no network.
#   tests/cli/wfbench_real_data.sh BUILD
set -u
wfbench=$1/wfbench
work=$(mktemp -d /tmp/wfb-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

check() { # check NAME COMMAND...: COMMAND must succeed
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
	fi
}

has() { grep -qF -- "$2" "$1"; }

"$wfbench" generate --sites 6 --instances 5 --unmonitored 0 --seed 3 -o "$work/world" >/dev/null
"$wfbench" export --format wang "$work/world" -o "$work/wang" >/dev/null
rm "$work/wang/2-3"                                   # a failed page load: a gap
awk 'NR == 5 { $1 = "0" } { print $1 "\t" $2 }' "$work/wang/4-1" > "$work/t" &&
	mv "$work/t" "$work/wang/4-1"                     # one packet back in time
printf 'a.example\nb.example\nc.example\nd.example\ne.example\nf.example\n' > "$work/wang/sites.txt"

"$wfbench" import --format wang "$work/wang" -o "$work/ds" >"$work/out" 2>"$work/err"
check "import exits 0" test $? = 0
check "import reports the counts" has "$work/out" "instances per site: 4 to 5; 1 sites have fewer than 5"
check "import reports the gap" has "$work/out" "1 sites have gaps in their instance numbers"
check "import warns of the inversion" has "$work/err" "warning: 1 packets in 1 files are earlier"
check "import names the sites" has "$work/out" "site names: 6 of 6 sites named"
"$wfbench" import --format wang --strict-time "$work/wang" -o "$work/strict" 2>"$work/err"
check "--strict-time refuses" test $? = 1
check "--strict-time names the line" has "$work/err" "4-1:5: time goes backwards"

"$wfbench" attack --attack knn --dataset "$work/ds" --folds 10 >"$work/out" 2>"$work/err"
check "--folds 10 on 4 instances refused" test $? = 1
check "... with what to pass" has "$work/err" "site 2 (c.example) has only 4 traces"
check "... --folds 4 or fewer" has "$work/err" "pass --folds 4 or fewer"
"$wfbench" attack --attack cumul --dataset "$work/ds" --params c=8,gamma=0.5 --jobs 2 \
	>"$work/out" 2>"$work/err"
check "the default folds adapt" test $? = 0
check "... and say so" has "$work/err" "note: 4 folds, not the default 10"

"$wfbench" attack --attack cumul --dataset "$work/ds" --params nope=1 \
	--export-features "$work/f.csv" 2>"$work/err"
check "bad attack parameters refused" test $? = 1
check "... before anything is written" test ! -e "$work/f.folds.csv"

"$wfbench" import --format wang --unmonitored 5 "$work/wang" -o "$work/ow" >/dev/null 2>&1
"$wfbench" attack --attack knn --dataset "$work/ow" --open-world 2>"$work/err"
check "open-world k=5 with 3 training traces refused" test $? = 1
check "... with the k to pass" has "$work/err" "pass --params k=3"

"$wfbench" attack --attack knn --dataset "$work/ds" --export-features "$work/f.csv" \
	>"$work/out" 2>"$work/err"
check "--export-features exits 0" test $? = 0
check "--export-features does not cross-validate" has "$work/out" "no cross-validation (--cv runs it)"
check "folds.csv carries the site names" has "$work/f.folds.csv" ",c.example,"

"$wfbench" defend --preset tamaraw:L=50 --dataset "$work/ds" -o "$work/def" >"$work/out"
check "defend --preset with parameters" test $? = 0
check "... prints every parameter" has "$work/out" "rho_out=0.04,rho_in=0.012,L=50,"
check "... and the delay default" has "$work/out" "the default 20 ms one way"
check "... records them" has "$work/def/manifest" "meta.defend.preset_params=rho_out=0.04,rho_in=0.012,L=50,"
check "... and the input's identity" has "$work/def/manifest" \
	"meta.defend.input_manifest_sha256=$(sha256sum "$work/ds/manifest" | cut -d' ' -f1)"
check "... keeps the names" has "$work/def/manifest" "site=2 c.example"

echo "wfbench on real-shaped data: $pass checks passed, $fail failed"
[ "$fail" = 0 ]
