#!/usr/bin/env bash
# The live evaluation over QUIC (docs/live-evaluation.md, "QUIC"): `wfbench
# live --transport quic` fetches 6 sites x 4 page loads of the synthetic world
# as HTTP/3 with Debian's ngtcp2 examples (a connection per dependency wave),
# undefended and with wfguard in shim mode on both ends' links
# (examples/policies/quic.yaml and quic-client.yaml as shipped), captures both
# on the observer's link with libpcap, cuts them by the schedule and attacks
# them. Checks what the run reports in OUT/report.json:
#   - every resource of every load arrived, every file byte as the server
#     must send it (the client compares each downloaded file);
#   - one page load per scheduled load: every load's window holds packets,
#     the idle gaps alone find as many in the undefended capture, libpcap
#     dropped nothing;
#   - covers in every defended load (the client end's wfguard took some out
#     in the load's window), none without the defence;
#   - at least one attack is less accurate against the defence than without,
#     and the defence costs bytes;
#   - none of the run's namespaces is left behind.
#   tests/net/live_quic.sh BUILD   (LIVE_SITES, LIVE_LOADS, LIVE_POLICY, LIVE_KEEP=DIR)
set -u
build=${1:-build}
wfb=$(readlink -f "$build/wfbench")
sites=${LIVE_SITES:-6} loads=${LIVE_LOADS:-4}
policy=${LIVE_POLICY:-examples/policies/quic.yaml}
for tool in gtlsserver gtlsclient openssl jq; do
	command -v $tool >/dev/null || { echo "livequic: SKIP: $tool missing (scripts/deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "livequic: SKIP: needs root"; exit 0; }
[ -c /dev/net/tun ] || { echo "livequic: SKIP: no /dev/net/tun"; exit 0; }
. "$(dirname "$0")/lib/private_pins.sh"
private_pins_or_reexec "$0" "$@"

out=${LIVE_KEEP:-$(mktemp -d)/run}
[ -n "${LIVE_KEEP:-}" ] || trap 'rm -rf "$(dirname "$out")"' EXIT
fail=0
bad() { echo "livequic: FAIL: $*"; fail=1; }

"$wfb" live --transport quic --sites $sites --loads $loads --policy "$policy" \
	--time-scale 8 --jobs 2 -o "$out" --force &
pid=$!
wait $pid || bad "wfbench live exited $?"
tag=wl$((pid % 100000)) # its namespaces' names (bench/live/live.c)
rep=$out/report.json
[ -f "$rep" ] || { bad "no $rep"; exit 1; }
n=$((sites * loads))
j() { jq -r "$1" "$rep"; }

[ "$(j .transport)" = quic ] || bad "the run went over $(j .transport)"
for ph in undefended defended; do
	[ "$(j .$ph.loads)" = $n ] || bad "$ph: $(j .$ph.loads) loads, $n scheduled"
	[ "$(j .$ph.failed_loads)" = 0 ] || bad "$ph: $(j .$ph.failed_loads) loads lost resources"
	[ "$(j .$ph.mismatched_bytes)" = 0 ] || bad "$ph: $(j .$ph.mismatched_bytes) body bytes differ"
	[ "$(j .$ph.body_bytes)" -gt 0 ] || bad "$ph: no body bytes fetched"
	[ "$(j .$ph.empty_windows)" = 0 ] || bad "$ph: $(j .$ph.empty_windows) loads captured empty"
	[ "$(j .$ph.capture_dropped)" = 0 ] || bad "$ph: libpcap dropped $(j .$ph.capture_dropped) packets"
done
[ "$(j .undefended.loads_by_gap)" = $n ] ||
	bad "the idle gaps cut the undefended capture into $(j .undefended.loads_by_gap) loads, $n scheduled"
# Every wave is a connection, a flow with a FRONT budget of its own on each end:
# a load without covers would be a fault here (a load has 2 or more waves).
covered=$(j .defended.loads_with_covers_dropped)
[ "$covered" = $n ] || bad "covers in only $covered of $n defended loads"
[ "$(j .undefended.loads_with_covers_dropped)" = 0 ] ||
	bad "covers counted in $(j .undefended.loads_with_covers_dropped) undefended loads"
lower=$(jq -r '[.accuracy[] | select(.undefended != null and .defended != null and
	.defended.mean < .undefended.mean)] | length' "$rep")
[ "$lower" -gt 0 ] || bad "no attack is less accurate against the policy: $(jq -c .accuracy "$rep")"
[ "$(jq -r '.overhead.defended.bandwidth > 0' "$rep")" = true ] ||
	bad "the defended loads cost no bytes: $(jq -c .overhead "$rep")"
left=$(ip netns list 2>/dev/null | grep -c "^$tag[ud]-[cos]\b" || true)
[ "$left" = 0 ] || bad "$left namespaces of the run left behind"

[ $fail = 0 ] && echo "livequic: $n page loads each phase over HTTP/3: every byte intact, one load per window ($(j .undefended.loads_by_gap) found by the gaps), covers in $covered of $n defended loads, $lower attacks less accurate (bandwidth +$(jq -r '.overhead.defended.bandwidth * 100 | floor' "$rep")% live, +$(jq -r '.overhead.simulated.bandwidth * 100 | floor' "$rep")% simulated)"
exit $fail
