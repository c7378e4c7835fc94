#!/usr/bin/env bash
# TCP throughput through a wireguard-go tunnel, wfguard in tunnel mode on the
# server's tunnel device vs no wfguard, alternating rounds in one run, so the
# figure is a ratio within the same script (docs/benchmarks.md).
#   bench/perf/tunnel_iperf.sh BUILD [ROUNDS] [SECONDS] [POLICY]
# VARIANT=segs1 measures the attach's segmentation change alone instead (GSO
# and TSO off, gso_max_segs 1, no programs): the share of the cost that is
# one MSS per skb rather than wfguard's per-packet work.
# The client downloads (iperf3 -R): the server's sending side is the defended
# one. Namespaces client -- observer -- server; nothing leaves them.
set -u
build=${1:-build}
rounds=${2:-6}
secs=${3:-5}
pol=$(readlink -f "${4:-examples/policies/wireguard.yaml}")
wfg=$(readlink -f "$build/wfguard")
for tool in wireguard-go wg iperf3; do
	command -v $tool >/dev/null || { echo "tunnel_iperf: skipped: $tool missing"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "tunnel_iperf: skipped: needs root"; exit 0; }
[ -c /dev/net/tun ] || { echo "tunnel_iperf: skipped: no /dev/net/tun"; exit 0; }

. "$(dirname "$0")/../../tests/net/lib/wg_topo.sh"
wgt_init wfi$$ 92
wgt_topo
wgt_wireguard_go || { echo "tunnel_iperf: wireguard-go did not start"; exit 1; }
wgt_spawn $S iperf3 -s -B 10.99.0.1 -p 5201 >$work/iperf-s.log 2>&1
sleep 1

# One round: bits per second the client received.
round() {
	nsx $C iperf3 -c 10.99.0.1 -p 5201 -R -t $secs -J 2>/dev/null |
		sed -n 's/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' | tail -1
}
run_pid=
variant=${VARIANT:-wfguard}
with_wfguard() {
	if [ "$variant" = segs1 ]; then
		nsx $S ethtool -K $WS gso off tso off >/dev/null 2>&1
		nsx $S ip link set dev $WS gso_max_segs 1
		return 0
	fi
	nsx $S "$wfg" attach $WS --policy "$pol" >/dev/null || return 1
	wgt_spawn $S "$wfg" run $WS >$work/run.log 2>&1
	run_pid=$spawned
}
without_wfguard() {
	if [ "$variant" = segs1 ]; then
		nsx $S ethtool -K $WS gso on tso on >/dev/null 2>&1
		nsx $S ip link set dev $WS gso_max_segs 65535
		return 0
	fi
	[ -n "$run_pid" ] && { kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; }
	run_pid=
	nsx $S "$wfg" detach $WS >/dev/null
}

base=() def=()
for r in $(seq $rounds); do
	b=$(round)
	with_wfguard || { echo "tunnel_iperf: attach failed"; exit 1; }
	d=$(round)
	[ "$variant" = segs1 ] || stats=$(nsx $S "$wfg" stats $WS --json)
	without_wfguard
	base+=("$b") def+=("$d")
	echo "tunnel_iperf: round $r: without $(awk -v x=$b 'BEGIN { printf "%.0f", x / 1e6 }') Mbit/s," \
		"with $(awk -v x=$d 'BEGIN { printf "%.0f", x / 1e6 }') Mbit/s"
done
[ "$variant" = segs1 ] || echo "tunnel_iperf: last round's server stats: $stats"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mean() { awk '{ s += $1 } END { print s / NR }'; }
mb=$(printf '%s\n' "${base[@]}" | mean) md=$(printf '%s\n' "${def[@]}" | mean)
eb=$(printf '%s\n' "${base[@]}" | median) ed=$(printf '%s\n' "${def[@]}" | median)
awk -v r=$rounds -v v=$variant -v mb=$mb -v md=$md -v eb=$eb -v ed=$ed 'BEGIN {
	printf "tunnel_iperf: %s, %d rounds: mean without %.0f Mbit/s, with %.0f Mbit/s: ratio %.2f (medians %.0f / %.0f: %.2f)\n",
		v, r, mb / 1e6, md / 1e6, md / mb, eb / 1e6, ed / 1e6, ed / eb }'
