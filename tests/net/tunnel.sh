#!/usr/bin/env bash
# Tunnel mode against a stock WireGuard peer (docs/tunnel-mode.md), as a user
# would run it: wireguard-go on both ends between client, observer and server
# namespaces; wfguard only on the server's tunnel device; files fetched over
# HTTP (busybox httpd and wget) through the tunnel in several page loads with
# idle gaps, over IPv4 and IPv6 inside the tunnel. Checks what the observer's
# own capture shows (the observer classifier, wfbench observe: no cleartext
# test singles out a packet) and what the stock client's stack did with the
# covers.
#   tests/net/tunnel.sh BUILD       (WFG_KEEP_PCAP=FILE keeps the observer's capture)
set -u
build=${1:-build}
wfg=$(readlink -f "$build/wfguard")
wfb=$(readlink -f "$build/wfbench")
for tool in wireguard-go wg busybox tcpdump ethtool; do
	command -v $tool >/dev/null || { echo "tunnel: SKIP: $tool missing (scripts/deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "tunnel: SKIP: needs root"; exit 0; }
. "$(dirname "$0")/lib/private_pins.sh"
private_pins_or_reexec "$0" "$@"
[ -c /dev/net/tun ] || { echo "tunnel: SKIP: no /dev/net/tun"; exit 0; }

. "$(dirname "$0")/lib/wg_topo.sh"
wgt_init wft$$ 91
# The example policy with a larger FRONT budget and shorter windows, so that a
# few page loads put well over 10^3 covers on the wire (FRONT draws n ~ U[1, N]
# per load) and each load's covers are sent before the next load begins.
pol=$work/policy.yaml
sed -e 's/N_s: 600/N_s: 2500/' -e 's/W_max: 8/W_max: 2/' examples/policies/wireguard.yaml >$pol
fail=0
bad() { echo "tunnel: FAIL: $*"; fail=1; }

wgt_topo
# WireGuard (wireguard-go, the Debian package: a TUN device), stock both ends.
wgt_wireguard_go || { bad "wireguard-go did not start"; exit 1; }

# The site: a few pages of a few files each.
mkdir -p $work/www $work/got
for p in 1 2 3 4 5 6; do
	for r in 1 2 3; do
		head -c $(( (p * 37 + r * 11) * 1024 + r * 777 )) /dev/urandom > $work/www/p$p-r$r
	done
done
wgt_spawn $S busybox httpd -f -p 8080 -h $work/www # IPv4 and IPv6

gso_before=$(nsx $S ethtool -k $WS | awk '/generic-segmentation-offload/ {print $2}')
segs_before=$(nsx $S ip -d link show $WS | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
qdisc_before=$(nsx $S tc qdisc show dev $WS | awk '{print $2}' | head -1)
nsx $S "$wfg" attach $WS --policy "$pol" || { bad "attach failed"; exit 1; }
gso_on=$(nsx $S ethtool -k $WS | awk '/generic-segmentation-offload/ {print $2}')
[ "$gso_on" = off ] || bad "GSO still $gso_on on $WS while attached"
wgt_spawn $S "$wfg" run $WS >$work/run.log 2>&1
wgt_spawn $O tcpdump -q -i o1 -w $work/obs.pcap -U udp port 51820 >$work/tcpdump.log 2>&1
tcpd=$spawned
# Covers asked for before the pump runs are dropped as stale: the first load
# must not begin before both daemons are ready.
wgt_wait_for $work/run.log "pumping covers" || bad "wfguard run did not start"
wgt_wait_for $work/tcpdump.log "listening on" || bad "tcpdump did not start"

snmp() { # ns field: the IP layer's counter in that namespace
	nsx $1 awk -v f=$2 '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 }
		else for (i = 1; i <= NF; i++) if (n[i] == f) print $i }' /proc/net/snmp
}
snmp6() { nsx $1 awk -v f=$2 '$1 == f { print $2 }' /proc/net/snmp6; }
icmp_out() { nsx $1 awk '/^Icmp:/ { if (!h) { for (i = 2; i <= NF; i++) if ($i == "OutMsgs") c = i; h = 1 } else print $c }' /proc/net/snmp; }
# Where the stock client discards an IPv6 cover: wireguard-go 0.0.20220316 adds
# 40 to the payload length in 16 bits (65535 + 40 = 39) and hands the kernel
# the first 39 bytes, which IPv6 refuses as a header error.
V6DROP=Ip6InHdrErrors
# ICMPv6 errors only: the client's kernel sends router solicitations and MLD
# reports of its own on the tunnel device.
icmp6_err() { nsx $1 awk '$1 ~ /^Icmp6Out(DestUnreachs|ParmProblems|TimeExcds|PktTooBigs)$/ { n += $2 }
	END { print n + 0 }' /proc/net/snmp6; }
icmp0=$(icmp_out $C) icmp60=$(icmp6_err $C)
loads4=4 loads6=2 covered=0 discarded=0
load() { # page family host counter
	local before after r
	before=$($4)
	for r in 1 2 3; do
		nsx $C busybox wget -q -O $work/got/p$1-r$r http://$3:8080/p$1-r$r ||
			bad "fetch p$1-r$r over IPv$2 failed"
	done
	sleep 4 # the page's covers, then an idle gap longer than the policy's episode
	after=$($4)
	echo "tunnel: page load $1 (IPv$2 inside): $((after - before)) covers discarded by the stock client"
	[ $((after - before)) -gt 0 ] && covered=$((covered + 1))
	discarded=$((discarded + after - before))
}
v4drops() { snmp $C InHdrErrors; }
v6drops() { snmp6 $C $V6DROP; }
snmp6_0=$(nsx $C cat /proc/net/snmp6)
for p in $(seq $loads4); do load $p 4 10.99.0.1 v4drops; done
for p in $(seq $((loads4 + 1)) $((loads4 + loads6))); do load $p 6 '[fd99::1]' v6drops; done
loads=$((loads4 + loads6))
# what else the IPv6 loads moved on the client (for the record)
nsx $C cat /proc/net/snmp6 | awk 'NR == FNR { v[$1] = $2; next }
	$1 ~ /^Ip6(InHdrErrors|InTruncatedPkts|InDiscards|InUnknownProtos|InReceives)$/ {
	printf "tunnel: client %s +%d\n", $1, $2 - v[$1] }' <(echo "$snmp6_0") -
kill -INT $tcpd 2>/dev/null; sleep 0.5
[ -n "${WFG_KEEP_PCAP:-}" ] && cp $work/obs.pcap "$WFG_KEEP_PCAP"

for f in $work/www/*; do
	cmp -s "$f" $work/got/$(basename $f) || bad "$(basename $f) differs after the tunnel"
done
[ $covered = $loads ] || bad "only $covered of $loads page loads got covers"
[ "$(icmp_out $C)" = "$icmp0" ] || bad "the client sent ICMP ($icmp0 -> $(icmp_out $C))"
[ "$(icmp6_err $C)" = "$icmp60" ] || bad "the client sent ICMPv6 errors"
stats=$(nsx $S "$wfg" stats $WS --json)
echo "tunnel: server stats: $stats"
stat() { echo "$stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
[ "$(stat episodes)" -ge $((loads - 2)) ] || bad "$(stat episodes) new episodes for $loads loads"
[ "$(stat flows_created)" = 2 ] || bad "$(stat flows_created) flows for one peer's two families"
covers=$(stat covers_sent)

# Nothing is lost between the tunnel device and the wire: wireguard-go sent a
# datagram for every inner packet the device handed it, but for the host's own
# multicast (no peer's, passed undefended: tun_multicast).
tun_tx=$(nsx $S ip -s -j link show dev $WS | sed -n 's/.*"tx":{"bytes":[0-9]*,"packets":\([0-9]*\).*/\1/p')
udp_out=$(nsx $S awk '/^Udp:/ { if (!h) h = 1; else print $5 }' /proc/net/snmp)
echo "tunnel: server: $tun_tx inner packets read by wireguard-go, $udp_out datagrams sent; $covers covers sent, $discarded discarded by the client"
# wireguard-go itself drops a packet now and then on a loaded 2-core host (its
# queues are bounded, with or without wfguard): up to 1 in 1000 is its own,
# more is ours.
lost=$((tun_tx - $(stat tun_multicast) - udp_out))
[ "$lost" -le $((tun_tx / 1000)) ] ||
	bad "$lost inner packets lost inside the server's tunnel (of $tun_tx; 1 in 1000 allowed)"

# The observer's view, through every cheap cleartext test (docs/observer.md):
# WireGuard's header, lengths, receiver index and counters, the IP and UDP
# fields, and the sizes the policy allows (buckets and keepalives, as WireGuard
# pads them to 16 within the MTU, plus its 32 bytes).
sizes=32,288,544,1056,1452
obs=$("$wfb" observe --client 10.91.1.2 --port 51820 --proto wireguard --sizes $sizes --json \
	$work/obs.pcap) || bad "wfbench observe failed"
jnum() { echo "$obs" | sed -n "s/.*\"$1\":{\"to_client\":\([0-9]*\).*/\1/p"; }
flagged=$(jnum flagged) total=$(jnum packets)
echo "tunnel: observer classifier: flagged ${flagged:-?} of ${total:-?} packets; covers on the wire $covers"
[ "${flagged:-1}" = 0 ] || bad "the classifier singled out $flagged packets from the server: $obs"
[ "${total:-0}" -gt 1000 ] || bad "the observer saw only ${total:-0} packets from the server"
[ "${covers:-0}" -ge 1000 ] || bad "only $covers covers sent (the claim needs 10^3)"
[ $discarded -ge 1000 ] || bad "only $discarded covers discarded by the client (the claim needs 10^3)"
# The same capture with the 1420 bucket left out of the allowed sizes: the
# classifier must flag those packets (it can fail here, not only in unit tests).
neg=$("$wfb" observe --client 10.91.1.2 --port 51820 --proto wireguard --sizes 32,288,544,1056 \
	--json $work/obs.pcap)
obs=$neg
[ "$(jnum flagged)" -gt 0 ] || bad "the classifier flagged nothing with the 1420 bucket disallowed"

nsx $S "$wfg" detach $WS || bad "detach failed"
gso_after=$(nsx $S ethtool -k $WS | awk '/generic-segmentation-offload/ {print $2}')
qdisc_after=$(nsx $S tc qdisc show dev $WS | awk '{print $2}' | head -1)
segs_after=$(nsx $S ip -d link show $WS | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
[ "$segs_after" = "$segs_before" ] || bad "gso_max_segs $segs_before before attach, $segs_after after"
[ "$gso_after" = "$gso_before" ] || bad "GSO $gso_before before attach, $gso_after after detach"
[ "$qdisc_after" = "$qdisc_before" ] || bad "qdisc $qdisc_before before, $qdisc_after after"
[ $fail = 0 ] && echo "tunnel: $loads page loads ($loads4 over IPv4, $loads6 over IPv6 inside) over a stock wireguard-go peer: files intact, every load covered, $covers covers, none singled out of $total packets, no ICMP, device restored"
exit $fail
