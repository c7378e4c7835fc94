#!/usr/bin/env bash
# Tunnel mode against a stock WireGuard peer (docs/tunnel-mode.md), as a user
# would run it: wireguard-go on both ends between client, observer and server
# namespaces; wfguard only on the server's tunnel device; files fetched over
# HTTP (busybox httpd and wget) through the tunnel in several page loads with
# idle gaps. Checks what the observer's own capture shows and what the stock
# client's stack did with the covers.
#   tests/net/tunnel.sh BUILD
set -u
build=${1:-build}
wfg=$(readlink -f "$build/wfguard")
pol=$(readlink -f examples/policies/wireguard.yaml)
for tool in wireguard-go wg busybox tcpdump ethtool; do
	command -v $tool >/dev/null || { echo "tunnel: SKIP: $tool missing (scripts/deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "tunnel: SKIP: needs root"; exit 0; }
[ -c /dev/net/tun ] || { echo "tunnel: SKIP: no /dev/net/tun"; exit 0; }

tag=wft$$
C=${tag}c O=${tag}o S=${tag}s
work=$(mktemp -d)
pids=()
fail=0
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for n in $C $O $S; do ip netns del $n 2>/dev/null; done
	rm -rf "$work" /var/run/wireguard/${tag}c.sock /var/run/wireguard/${tag}s.sock
}
trap cleanup EXIT
bad() { echo "tunnel: FAIL: $*"; fail=1; }
nsx() { local ns=$1; shift; nsenter --net=/run/netns/$ns "$@"; }

for n in $C $O $S; do ip netns add $n; ip -n $n link set lo up; done
ip link add ${tag}a netns $C type veth peer name o0 netns $O
ip link add ${tag}b netns $S type veth peer name o1 netns $O
ip -n $C link set ${tag}a name c0; ip -n $S link set ${tag}b name s0
ip -n $C addr add 10.91.1.2/24 dev c0; ip -n $C link set c0 up
ip -n $O addr add 10.91.1.1/24 dev o0; ip -n $O link set o0 up
ip -n $O addr add 10.91.2.1/24 dev o1; ip -n $O link set o1 up
ip -n $S addr add 10.91.2.2/24 dev s0; ip -n $S link set s0 up
ip -n $C route add default via 10.91.1.1; ip -n $S route add default via 10.91.2.1
nsx $O sysctl -qw net.ipv4.ip_forward=1

# WireGuard (wireguard-go, the Debian package: a TUN device), stock both ends.
wg genkey > $work/ck; wg pubkey < $work/ck > $work/cp
wg genkey > $work/sk; wg pubkey < $work/sk > $work/sp
start_wg() { # ns ifname
	nsenter --net=/run/netns/$1 env WG_PROCESS_FOREGROUND=1 wireguard-go -f $2 >$work/$2.log 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do nsx $1 ip link show $2 >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
start_wg $S ${tag}s || { bad "wireguard-go did not start"; exit 1; }
start_wg $C ${tag}c || { bad "wireguard-go did not start"; exit 1; }
WS=${tag}s WC=${tag}c
nsx $S wg set $WS listen-port 51820 private-key $work/sk peer $(cat $work/cp) allowed-ips 10.99.0.2/32
nsx $C wg set $WC private-key $work/ck peer $(cat $work/sp) allowed-ips 10.99.0.0/24 \
	endpoint 10.91.2.2:51820
nsx $S ip addr add 10.99.0.1/24 dev $WS; nsx $S ip link set $WS mtu 1420 up
nsx $C ip addr add 10.99.0.2/24 dev $WC; nsx $C ip link set $WC mtu 1420 up

# The site: a few pages of a few files each.
mkdir -p $work/www $work/got
for p in 1 2 3 4; do
	for r in 1 2 3; do
		head -c $(( (p * 37 + r * 11) * 1024 + r * 777 )) /dev/urandom > $work/www/p$p-r$r
	done
done
nsenter --net=/run/netns/$S busybox httpd -f -p 10.99.0.1:8080 -h $work/www &
pids+=($!)

gso_before=$(nsx $S ethtool -k $WS | awk '/generic-segmentation-offload/ {print $2}')
segs_before=$(nsx $S ip -d link show $WS | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
qdisc_before=$(nsx $S tc qdisc show dev $WS | awk '{print $2}' | head -1)
nsx $S "$wfg" attach $WS --policy "$pol" || { bad "attach failed"; exit 1; }
gso_on=$(nsx $S ethtool -k $WS | awk '/generic-segmentation-offload/ {print $2}')
[ "$gso_on" = off ] || bad "GSO still $gso_on on $WS while attached"
nsenter --net=/run/netns/$S "$wfg" run $WS >$work/run.log 2>&1 &
pids+=($!)
nsenter --net=/run/netns/$O tcpdump -q -i o1 -w $work/obs.pcap -U udp port 51820 >/dev/null 2>&1 &
tcpd=$!
pids+=($tcpd)
sleep 1

snmp() { # ns field: the IP layer's counter in that namespace
	nsx $1 awk -v f=$2 '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 }
		else for (i = 1; i <= NF; i++) if (n[i] == f) print $i }' /proc/net/snmp
}
icmp_out() { nsx $1 awk '/^Icmp:/ { if (!h) h = 1; else print $15 }' /proc/net/snmp; }
icmp0=$(icmp_out $C)
loads=4 covered=0
for p in $(seq $loads); do
	before=$(snmp $C InHdrErrors)
	for r in 1 2 3; do
		nsx $C busybox wget -q -O $work/got/p$p-r$r http://10.99.0.1:8080/p$p-r$r ||
			bad "fetch p$p-r$r failed"
	done
	sleep 4 # the page's covers, then an idle gap longer than the policy's episode
	after=$(snmp $C InHdrErrors)
	echo "tunnel: page load $p: $((after - before)) covers discarded by the stock client"
	[ $((after - before)) -gt 0 ] && covered=$((covered + 1))
done
kill -INT $tcpd 2>/dev/null; sleep 0.5

for f in $work/www/*; do
	cmp -s "$f" $work/got/$(basename $f) || bad "$(basename $f) differs after the tunnel"
done
[ $covered = $loads ] || bad "only $covered of $loads page loads got covers"
[ "$(icmp_out $C)" = "$icmp0" ] || bad "the client sent ICMP ($icmp0 -> $(icmp_out $C))"
stats=$(nsx $S "$wfg" stats $WS --json)
echo "tunnel: server stats: $stats"
episodes=$(echo "$stats" | sed -n 's/.*"episodes":\([0-9]*\).*/\1/p')
[ "${episodes:-0}" -ge $((loads - 1)) ] || bad "$episodes new episodes for $loads loads"

# The observer's view: every WireGuard data message from the server carries a
# plaintext of a size the policy allows (buckets and the cover size, as
# WireGuard pads them to 16 within the MTU), or 0 (a keepalive).
allowed=" 0 256 512 1024 1420 "
sizes=$(tcpdump -nn -r $work/obs.pcap 'src host 10.91.2.2 and udp[8] = 4' 2>/dev/null |
	sed -n 's/.*length \([0-9]*\)$/\1/p')
total=0 odd=0
for n in $sizes; do
	total=$((total + 1))
	case "$allowed" in *" $((n - 32)) "*) ;; *) odd=$((odd + 1)) ;; esac
done
echo "tunnel: observer saw $total data messages from the server, $odd at sizes the policy does not allow"
[ $total -gt 100 ] || bad "the observer saw only $total data messages"
[ $odd = 0 ] || bad "$odd data messages show a true size"

nsx $S "$wfg" detach $WS || bad "detach failed"
gso_after=$(nsx $S ethtool -k $WS | awk '/generic-segmentation-offload/ {print $2}')
qdisc_after=$(nsx $S tc qdisc show dev $WS | awk '{print $2}' | head -1)
segs_after=$(nsx $S ip -d link show $WS | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
[ "$segs_after" = "$segs_before" ] || bad "gso_max_segs $segs_before before attach, $segs_after after"
[ "$gso_after" = "$gso_before" ] || bad "GSO $gso_before before attach, $gso_after after detach"
[ "$qdisc_after" = "$qdisc_before" ] || bad "qdisc $qdisc_before before, $qdisc_after after"
[ $fail = 0 ] && echo "tunnel: $loads page loads over a stock wireguard-go peer: files intact, every load covered, $total data messages at policy sizes, no ICMP, device restored"
exit $fail
