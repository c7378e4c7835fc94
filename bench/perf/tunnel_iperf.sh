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

tag=wfi$$
C=${tag}c O=${tag}o S=${tag}s WC=${tag}c WS=${tag}s
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for n in $C $O $S; do ip netns del $n 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
nsx() { local ns=$1; shift; nsenter --net=/run/netns/$ns "$@"; }

for n in $C $O $S; do ip netns add $n; ip -n $n link set lo up; done
ip link add ${tag}a netns $C type veth peer name o0 netns $O
ip link add ${tag}b netns $S type veth peer name o1 netns $O
ip -n $C link set ${tag}a name c0; ip -n $S link set ${tag}b name s0
ip -n $C addr add 10.92.1.2/24 dev c0; ip -n $C link set c0 up
ip -n $O addr add 10.92.1.1/24 dev o0; ip -n $O link set o0 up
ip -n $O addr add 10.92.2.1/24 dev o1; ip -n $O link set o1 up
ip -n $S addr add 10.92.2.2/24 dev s0; ip -n $S link set s0 up
ip -n $C route add default via 10.92.1.1; ip -n $S route add default via 10.92.2.1
nsx $O sysctl -qw net.ipv4.ip_forward=1

umask 077 # wg: keys readable by root only
wg genkey >$work/ck; wg pubkey <$work/ck >$work/cp; wg genkey >$work/sk; wg pubkey <$work/sk >$work/sp
umask 022
for side in $S:$WS $C:$WC; do
	ns=${side%%:*} dev=${side##*:}
	nsenter --net=/run/netns/$ns env WG_PROCESS_FOREGROUND=1 wireguard-go -f $dev \
		>$work/$dev.log 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do nsx $ns ip link show $dev >/dev/null 2>&1 && break; sleep 0.1; done
done
nsx $S wg set $WS listen-port 51820 private-key $work/sk peer $(cat $work/cp) allowed-ips 10.99.0.2/32
nsx $C wg set $WC private-key $work/ck peer $(cat $work/sp) allowed-ips 10.99.0.0/24 \
	endpoint 10.92.2.2:51820
nsx $S ip addr add 10.99.0.1/24 dev $WS; nsx $S ip link set $WS mtu 1420 up
nsx $C ip addr add 10.99.0.2/24 dev $WC; nsx $C ip link set $WC mtu 1420 up
nsx $S iperf3 -s -B 10.99.0.1 -p 5201 >$work/iperf-s.log 2>&1 &
pids+=($!)
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
	nsenter --net=/run/netns/$S "$wfg" run $WS >$work/run.log 2>&1 &
	run_pid=$!
	pids+=($run_pid)
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
