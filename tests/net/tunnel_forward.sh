#!/usr/bin/env bash
# Tunnel mode on a server that forwards (a VPN server routing its client's
# traffic to an upstream host), with a stock wireguard-go client:
#
#   client ==wg== observer == server (wfguard on its wg device) -- upstream
#
# Forwarded TCP reaches the tunnel device as GSO super-packets (here from the
# upstream's veth; on real hardware from GRO), which the programs cannot shape.
# Checks that this is never silent: attach names the device and the remedy,
# unshaped_gso counts every such packet and the observer does see true sizes;
# and that the remedy works: with the upstream's sender capped at one segment,
# nothing is unshaped and the observer sees only the policy's sizes. Files
# fetched are byte-identical either way.
#   tests/net/tunnel_forward.sh BUILD
set -u
build=${1:-build}
wfg=$(readlink -f "$build/wfguard")
pol=$(readlink -f examples/policies/wireguard.yaml)
for tool in wireguard-go wg busybox tcpdump ethtool; do
	command -v $tool >/dev/null || { echo "tunfwd: SKIP: $tool missing (scripts/deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "tunfwd: SKIP: needs root"; exit 0; }
[ -c /dev/net/tun ] || { echo "tunfwd: SKIP: no /dev/net/tun"; exit 0; }

tag=wff$$
C=${tag}c O=${tag}o S=${tag}s U=${tag}u WC=${tag}c WS=${tag}s
work=$(mktemp -d)
pids=()
fail=0
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for n in $C $O $S $U; do ip netns del $n 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
bad() { echo "tunfwd: FAIL: $*"; fail=1; }
nsx() { local ns=$1; shift; nsenter --net=/run/netns/$ns "$@"; }

for n in $C $O $S $U; do ip netns add $n; ip -n $n link set lo up; done
ip link add ${tag}a netns $C type veth peer name o0 netns $O
ip link add ${tag}b netns $S type veth peer name o1 netns $O
ip link add ${tag}d netns $S type veth peer name u0 netns $U
ip -n $C link set ${tag}a name c0; ip -n $S link set ${tag}b name s0; ip -n $S link set ${tag}d name s1
ip -n $C addr add 10.94.1.2/24 dev c0; ip -n $C link set c0 up
ip -n $O addr add 10.94.1.1/24 dev o0; ip -n $O link set o0 up
ip -n $O addr add 10.94.2.1/24 dev o1; ip -n $O link set o1 up
ip -n $S addr add 10.94.2.2/24 dev s0; ip -n $S link set s0 up
ip -n $S addr add 10.94.3.1/24 dev s1; ip -n $S link set s1 up
ip -n $U addr add 10.94.3.2/24 dev u0; ip -n $U link set u0 up
ip -n $C route add default via 10.94.1.1; ip -n $S route add default via 10.94.2.1
ip -n $U route add default via 10.94.3.1
nsx $O sysctl -qw net.ipv4.ip_forward=1
nsx $S sysctl -qw net.ipv4.ip_forward=1

umask 077 # wg: keys readable by root only
wg genkey >$work/ck; wg pubkey <$work/ck >$work/cp; wg genkey >$work/sk; wg pubkey <$work/sk >$work/sp
umask 022
for side in $S:$WS $C:$WC; do
	ns=${side%%:*} dev=${side##*:}
	nsenter --net=/run/netns/$ns env WG_PROCESS_FOREGROUND=1 wireguard-go -f $dev \
		>$work/$dev.log 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do nsx $ns ip link show $dev >/dev/null 2>&1 && break; sleep 0.1; done
	nsx $ns ip link show $dev >/dev/null 2>&1 || { bad "wireguard-go did not start"; exit 1; }
done
nsx $S wg set $WS listen-port 51820 private-key $work/sk peer $(cat $work/cp) allowed-ips 10.99.0.2/32
nsx $C wg set $WC private-key $work/ck peer $(cat $work/sp) allowed-ips 10.99.0.0/24,10.94.3.0/24 \
	endpoint 10.94.2.2:51820
nsx $S ip addr add 10.99.0.1/24 dev $WS; nsx $S ip link set $WS mtu 1420 up
nsx $C ip addr add 10.99.0.2/24 dev $WC; nsx $C ip link set $WC mtu 1420 up
nsx $C ip route add 10.94.3.0/24 dev $WC
ip -n $U route add 10.99.0.0/24 via 10.94.3.1

mkdir -p $work/www $work/got
for r in 1 2 3; do head -c $((r * 300 * 1024 + r * 777)) /dev/urandom >$work/www/f$r; done
nsenter --net=/run/netns/$U busybox httpd -f -p 10.94.3.2:8080 -h $work/www &
pids+=($!)

nsx $S "$wfg" attach $WS --policy "$pol" >/dev/null 2>$work/attach.err || { bad "attach failed"; exit 1; }
grep -q "forwards, and traffic received on .*s1" $work/attach.err ||
	bad "attach did not warn about forwarded GSO from s1: $(cat $work/attach.err)"
nsenter --net=/run/netns/$S "$wfg" run $WS >$work/run.log 2>&1 &
pids+=($!)
sleep 0.5

stat_of() { nsx $S "$wfg" stats $WS --json | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
allowed=" 0 256 512 1024 1420 "
# One page load from the upstream, observed: echo "unshaped_gso odd total".
load() { # name
	local g0 n odd=0 total=0
	g0=$(stat_of unshaped_gso)
	nsenter --net=/run/netns/$O tcpdump -q -i o1 -w $work/$1.pcap -U udp port 51820 \
		>/dev/null 2>&1 &
	local tcpd=$!
	pids+=($tcpd)
	sleep 0.5
	for r in 1 2 3; do
		nsx $C busybox wget -q -O $work/got/$1-f$r http://10.94.3.2:8080/f$r ||
			bad "$1: fetch f$r failed"
		cmp -s $work/www/f$r $work/got/$1-f$r || bad "$1: f$r differs after the tunnel"
	done
	sleep 0.5
	kill -INT $tcpd 2>/dev/null
	wait $tcpd 2>/dev/null
	for n in $(tcpdump -nn -r $work/$1.pcap 'src host 10.94.2.2 and udp[8] = 4' 2>/dev/null |
		sed -n 's/.*length \([0-9]*\)$/\1/p'); do
		total=$((total + 1))
		case "$allowed" in *" $((n - 32)) "*) ;; *) odd=$((odd + 1)) ;; esac
	done
	echo "$(($(stat_of unshaped_gso) - g0)) $odd $total"
}

read -r gso odd total <<<"$(load plain)"
echo "tunfwd: upstream sends GSO: $gso super-packets unshaped (counted), observer saw $odd of $total data messages at true sizes"
[ "$gso" -gt 0 ] || bad "forwarded GSO was not counted as unshaped_gso"
[ "$odd" -gt 0 ] || bad "expected the observer to see true sizes from forwarded GSO (the leak the warning names)"

# The remedy the warning names: the sender capped at one segment.
nsx $U ethtool -K u0 gso off tso off >/dev/null 2>&1
nsx $U ip link set dev u0 gso_max_segs 1
read -r gso odd total <<<"$(load capped)"
echo "tunfwd: upstream capped: $gso unshaped, observer saw $odd of $total data messages at true sizes"
[ "$gso" = 0 ] || bad "$gso super-packets still unshaped with the sender capped"
[ "$odd" = 0 ] || bad "$odd data messages at true sizes with the sender capped"
[ "$total" -gt 100 ] || bad "the observer saw only $total data messages"

nsx $S "$wfg" detach $WS >/dev/null || bad "detach failed"
[ $fail = 0 ] && echo "tunfwd: forwarded traffic: uncapped GSO warned about and counted; capped, only policy sizes; files intact"
exit $fail
