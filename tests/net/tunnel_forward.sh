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
. "$(dirname "$0")/lib/private_pins.sh"
private_pins_or_reexec "$0" "$@"
[ -c /dev/net/tun ] || { echo "tunfwd: SKIP: no /dev/net/tun"; exit 0; }

. "$(dirname "$0")/lib/wg_topo.sh"
wgt_init wff$$ 94
fail=0
bad() { echo "tunfwd: FAIL: $*"; fail=1; }

wgt_topo upstream
wgt_wireguard_go 10.94.3.0/24 || { bad "wireguard-go did not start"; exit 1; }
ip -n $U route add 10.99.0.0/24 via 10.94.3.1

mkdir -p $work/www $work/got
for r in 1 2 3; do head -c $((r * 300 * 1024 + r * 777)) /dev/urandom >$work/www/f$r; done
wgt_spawn $U busybox httpd -f -p 10.94.3.2:8080 -h $work/www

nsx $S "$wfg" attach $WS --policy "$pol" >/dev/null 2>$work/attach.err || { bad "attach failed"; exit 1; }
grep -q "forwards, and traffic received on .*s1" $work/attach.err ||
	bad "attach did not warn about forwarded GSO from s1: $(cat $work/attach.err)"
wgt_spawn $S "$wfg" run $WS >$work/run.log 2>&1
wgt_wait_for $work/run.log "pumping covers" || bad "wfguard run did not start"

stat_of() { wgt_stat $S $WS "$1"; }
allowed=" 0 256 512 1024 1420 "
# One page load from the upstream, observed: echo "unshaped_gso odd total".
load() { # name
	local g0 n odd=0 total=0
	g0=$(stat_of unshaped_gso)
	wgt_spawn $O tcpdump -q -i o1 -w $work/$1.pcap -U udp port 51820 >$work/$1-tcpdump.log 2>&1
	local tcpd=$spawned
	wgt_wait_for $work/$1-tcpdump.log "listening on" || bad "$1: tcpdump did not start"
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
