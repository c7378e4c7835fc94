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
. "$(dirname "$0")/lib/live_checks.sh"
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

[ "$(j .transport)" = quic ] || bad "the run went over $(j .transport)"
live_check_phases
# Every wave is a connection, a flow with a FRONT budget of its own on each end:
# a load without covers would be a fault here (a load has 2 or more waves).
covered=$(j .defended.loads_with_covers_dropped)
[ "$covered" = $n ] || bad "covers in only $covered of $n defended loads"
[ "$(j .undefended.loads_with_covers_dropped)" = 0 ] ||
	bad "covers counted in $(j .undefended.loads_with_covers_dropped) undefended loads"
# The simulator replays each of those connections (the client's port in the
# capture) as a flow of its own, as the data path keys them.
conns=$(j .overhead.simulated.connections)
[ "$conns" -ge $((2 * n)) ] || bad "the simulator replayed $conns connections for $n loads of 2 or more waves"
live_check_attacks
live_check_namespaces_gone

[ $fail = 0 ] && echo "livequic: $n page loads each phase over HTTP/3: every byte intact, one load per window ($(j .undefended.loads_by_gap) found by the gaps), covers in $covered of $n defended loads, $conns connections simulated, $lower attacks less accurate ($(live_bandwidth))"
exit $fail
