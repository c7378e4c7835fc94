#!/usr/bin/env bash
# The main job (until the namespace demo of issue 8): the defence core on one page load,
# then the replay harness on a small synthetic world with each preset.
set -euo pipefail
build=${1:-build}
work=$(mktemp -d /tmp/wfguard-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

"$build/wfguard-core-demo"
echo
echo "== wfbench: a synthetic world of 10 sites x 5 page loads, replayed through each preset"
"$build/wfbench" generate --sites 10 --instances 5 --seed 1 -o "$work/world" >/dev/null
"$build/wfbench" info "$work/world" | head -8
printf '\n%-10s %12s %12s %10s\n' preset bandwidth latency covers
for p in none padme front regulator tamaraw buflo; do
	out=$("$build/wfbench" defend --preset "$p" --dataset "$work/world" -o "$work/$p")
	bw=$(sed -n 's/^bandwidth overhead \([^ ]*\).*/\1/p' <<<"$out")
	lat=$(sed -n 's/^latency overhead *\([^ ]*\).*/\1/p' <<<"$out")
	cov=$(awk '$1 == "out" || $1 == "in" { c += $6 } END { print c }' <<<"$out")
	printf '%-10s %12s %12s %10s\n' "$p" "$bw" "$lat" "$cov"
done
cat <<'TXT'

bandwidth = sum of defended bytes / sum of original bytes - 1; latency = sum of time to the
last real packet, defended / original - 1 (observer at the client, 20 ms one-way delay).
Next: `make test`; `build/wfbench defend --help`; docs/core.md, docs/replay.md.
TXT
