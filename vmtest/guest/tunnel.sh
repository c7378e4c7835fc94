#!/usr/bin/env bash
# Tunnel mode against kernel WireGuard (docs/tunnel-mode.md), run by vmtest in
# Debian's 6.1 guest (docs/vmtest.md, suite `tunnel`); on a host whose kernel
# has wireguard.ko it runs as it is, elsewhere it skips:
#   vmtest/guest/tunnel.sh [BUILD]      (wfguard: $WFGUARD_BIN or BUILD/wfguard)
#
# Client, observer and server namespaces on veth; `ip link add wg0 type
# wireguard` at both ends, default MTU (1420), stock client; wfguard only on the
# server's wg0. Phase 1, examples/policies/wireguard.yaml as shipped (FRONT,
# buckets): four page loads over IPv4 in one tunnel with idle gaps longer than
# the episode idle (3 s), then one over IPv6 (the peer's second unit). Phase
# 2, vmtest/guest/tunnel-paced.yaml (the same with Tamaraw, which delays):
# sch_fq on wg0, one page load with it, one after removing it, to show the EDT
# departure times are what spaces the packets. The tunnel devices are named
# wfk<pid>w, not wg0: wfguard's pins are named by the device, and on a host a
# real wg0 may have its own.
# Prints TAP (and into $WFG_TAP): one line per check below.
#
# What vmtest/run.sh puts into the guest for this script:
# vmtest-tools: bash wg tcpdump ethtool nsenter
# vmtest-modules: wireguard
# vmtest-files: tests/net/lib/tap.sh tests/net/lib/tunnel_checks.sh
# vmtest-files: examples/policies/wireguard.yaml vmtest/guest/tunnel-paced.yaml
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/tests/net/lib/tap.sh"
. "$top/tests/net/lib/tunnel_checks.sh"
build=${1:-build}
wfg=${WFGUARD_BIN:-$build/wfguard}
example=$top/examples/policies/wireguard.yaml
pol_paced=$top/vmtest/guest/tunnel-paced.yaml
rho_ms=20     # tunnel-paced.yaml's rho_in
loads=4       # phase 1's page loads
gap=4         # s after each load: its covers, then more than the 3 s episode idle
allowed="0 256 512 1024 1420" # wireguard.yaml's buckets as WireGuard pads them; 0: keepalive

# Without wireguard.ko (or a tool) this cannot run; in the vmtest guest,
# where run.sh supplied all of it, that is a failure.
cannot_run() {
	if [ -n "${WFG_VMTEST:-}" ]; then
		tap_plan 1
		tap_fail "$1"
		tap_check "tunnel::prerequisites"
		exit 1
	fi
	echo "tunnel-kwg: SKIP: $1"
	tap_skip_all "tunnel::kernel_wireguard" "$1"
	exit 0
}
[ "$(id -u)" = 0 ] || cannot_run "needs root"
for tool in wg tcpdump ethtool busybox nsenter; do
	command -v $tool >/dev/null || cannot_run "$tool missing (scripts/deps.sh)"
done
[ -x "$wfg" ] || cannot_run "no wfguard at $wfg"
probe=wfkprobe$$ # in a namespace of its own: nothing appears on the host
ip netns add $probe || cannot_run "cannot create a network namespace"
ip -n $probe link add wg0 type wireguard 2>/dev/null
rc=$?
ip netns del $probe
[ $rc = 0 ] || cannot_run "this kernel has no WireGuard (wireguard.ko)"

tap_plan 16
tag=wfk$$
C=${tag}c O=${tag}o S=${tag}s
W=${tag}w # the tunnel device at both ends
work=$(mktemp -d)
# The example policy with FRONT's window W_max 8 -> 2 s: with W up to 8 s a
# load's few covers (n ~ U[1, 600]) can all fall after the 3 s idle that ends
# its episode, about one load in 80 (a CI run saw it); within 2 s, one in 4000.
pol=$work/wireguard.yaml
sed -e 's/W_max: 8/W_max: 2/' "$example" >$pol
pids=()
tcpd=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in $C $O $S; do ip netns del $n 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
nsx() { tun_nsx "$@"; }
bg() { # NS CMD...: started in NS, its pid in $! and in pids (killed at exit)
	local ns=$1
	shift
	nsenter --net=/run/netns/$ns "$@" &
	pids+=($!)
}
stop() { # PID [signal]: end one process this script started
	kill -"${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# ---------------------------------------------------------------- the tunnel
for n in $C $O $S; do
	ip netns add $n
	ip -n $n link set lo up
done
ip link add ${tag}a netns $C type veth peer name o0 netns $O
ip link add ${tag}b netns $S type veth peer name o1 netns $O
ip -n $C link set ${tag}a name c0
ip -n $S link set ${tag}b name s0
ip -n $C addr add 10.92.1.2/24 dev c0 && ip -n $C link set c0 up
ip -n $O addr add 10.92.1.1/24 dev o0 && ip -n $O link set o0 up
ip -n $O addr add 10.92.2.1/24 dev o1 && ip -n $O link set o1 up
ip -n $S addr add 10.92.2.2/24 dev s0 && ip -n $S link set s0 up
ip -n $C route add default via 10.92.1.1
ip -n $S route add default via 10.92.2.1
nsx $O sysctl -qw net.ipv4.ip_forward=1

# Kernel WireGuard, created in each namespace (its UDP socket lives there), stock.
wg genkey >$work/ck && wg pubkey <$work/ck >$work/cp
wg genkey >$work/sk && wg pubkey <$work/sk >$work/sp
ip -n $S link add $W type wireguard || tap_fail "cannot create $W in the server namespace"
ip -n $C link add $W type wireguard || tap_fail "cannot create $W in the client namespace"
nsx $S wg set $W listen-port 51820 private-key $work/sk \
	peer "$(cat $work/cp)" allowed-ips 10.99.0.2/32,fd99::2/128 || tap_fail "wg set (server)"
nsx $C wg set $W private-key $work/ck \
	peer "$(cat $work/sp)" allowed-ips 10.99.0.0/24,fd99::/64 endpoint 10.92.2.2:51820 ||
	tap_fail "wg set (client)"
ip -n $S addr add 10.99.0.1/24 dev $W && ip -n $S addr add fd99::1/64 dev $W nodad
ip -n $C addr add 10.99.0.2/24 dev $W && ip -n $C addr add fd99::2/64 dev $W nodad
ip -n $S link set $W up && ip -n $C link set $W up
mtu=$(ip -n $S link show dev $W | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
[ "$mtu" = 1420 ] || tap_fail "$W's default MTU is ${mtu:-?}, the policy is written for 1420"
nsx $C ping -c 1 -W 10 10.99.0.1 >/dev/null || tap_fail "no ping through the tunnel (handshake?)"
echo "tunnel-kwg: kernel WireGuard up: $(nsx $C wg show $W latest-handshakes | wc -l) peer, MTU $mtu"
tap_check "tunnel::kernel_wireguard_between_stock_peers"

# The site: four pages of three files.
mkdir -p $work/www $work/got
for p in 1 2 3 4; do
	for r in 1 2 3; do
		head -c $(((p * 37 + r * 11) * 1024 + r * 777)) /dev/urandom >$work/www/p$p-r$r
	done
done
bg $S busybox httpd -f -p 8080 -h $work/www >$work/httpd.log 2>&1 # IPv6 and IPv4

fetch_page() { # page number [host [dir]]: its three files into dir (got/)
	local r host=${2:-10.99.0.1} dir=${3:-$work/got}
	for r in 1 2 3; do
		nsx $C busybox wget -q -O $dir/p$1-r$r http://$host:8080/p$1-r$r ||
			tap_fail "fetch p$1-r$r from $host failed"
	done
}
start_observer() { # pcap file: the observer's capture of the tunnel's UDP
	local i
	bg $O tcpdump -Z root -q -i o1 -w "$1" -U udp port 51820 >"$1.log" 2>&1
	tcpd=$!
	for i in $(seq 100); do # its "listening on o1" (slow under TCG)
		grep -q listening "$1.log" 2>/dev/null && break
		sleep 0.1
	done
}
pump_ready() { # log: wfguard run said "pumping covers" (covers asked for before are dropped)
	local i
	for i in $(seq 200); do
		grep -q "pumping covers" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	tap_fail "wfguard run did not start: $(tail -n 3 "$1")"
}
stop_observer() {
	sleep 0.5
	stop $tcpd INT
}
client_counters() { # the client's view: IP discards, ICMP sent, what its wg device received
	echo "$(tun_snmp $C Ip InHdrErrors) $(tun_snmp $C IpExt InCsumErrors)" \
		"$(tun_snmp $C Icmp OutMsgs) $(tun_netdev $C $W rx_packets)" \
		"$(tun_netdev $C $W rx_errors) $(tun_snmp6 $C Ip6InTruncatedPkts)" \
		"$(($(tun_snmp6 $C Icmp6OutDestUnreachs) + $(tun_snmp6 $C Icmp6OutParmProblems)))"
}

# ---------------------------------------------------------------- phase 1: wireguard.yaml
state0=$(tun_dev_state $S $W)
echo "tunnel-kwg: $W before attach: $state0"
out=$(nsx $S "$wfg" attach $W --policy "$pol" 2>&1) || tap_fail "attach: $out"
echo "tunnel-kwg: $out"
state_on=$(tun_dev_state $S $W)
echo "tunnel-kwg: $W attached: $state_on"
case " $state_on " in *" gso=off "*) ;; *) tap_fail "GSO still on: $state_on" ;; esac
case " $state_on " in *" gso_max_segs=1 "*) ;; *) tap_fail "gso_max_segs not 1: $state_on" ;; esac
case $out in *sch_fq*) tap_fail "FRONT does not delay, yet attach installed sch_fq" ;; esac
tap_check "tunnel::attach_fits_the_wg_device"

bg $S "$wfg" run $W >$work/run1.log 2>&1
pump=$!
pump_ready $work/run1.log
start_observer $work/obs1.pcap
read -r hdr0 csum0 icmp0 rx0 rxerr0 trunc0 icmp6_0 <<<"$(client_counters)"
covered=0
for p in $(seq $loads); do
	before=$(tun_snmp $C Ip InHdrErrors)
	fetch_page $p
	sleep $gap
	after=$(tun_snmp $C Ip InHdrErrors)
	echo "tunnel-kwg: page load $p: $((after - before)) covers discarded by the stock client"
	[ $((after - before)) -gt 0 ] && covered=$((covered + 1))
done
# IPv6 covers are the only packets kernel WireGuard refuses (rx_errors):
# none so far, and only IPv6 covers from here on.
rxerr_v4=$(tun_netdev $C $W rx_errors)
mkdir -p $work/got6
fetch_page 1 "[fd99::1]" $work/got6
sleep $gap
# No covers in flight while the counters are read (they are read one by one).
stop $pump
sleep 0.5
stop_observer
read -r hdr1 csum1 icmp1 rx1 rxerr1 trunc1 icmp6_1 <<<"$(client_counters)"
stats=$(nsx $S "$wfg" stats $W --json)
echo "tunnel-kwg: server stats: $stats"
echo "tunnel-kwg: client $W: $((rx1 - rx0)) packets received, $((rxerr1 - rxerr0)) rx_errors" \
	"($((rxerr_v4 - rxerr0)) over IPv4, $((rxerr1 - rxerr_v4)) in the IPv6 load);" \
	"server $W tx_dropped $(tun_netdev $S $W tx_dropped); $(nsx $C wg show $W transfer)"

diff=$(tun_differing_files $work/www $work/got | grep '^p[1-4]-' | tr '\n' ' ')
[ -z "$diff" ] || tap_fail "differ after the tunnel (sha256): $diff"
tap_check "tunnel::files_byte_identical"

[ $covered = $loads ] || tap_fail "only $covered of $loads page loads got covers"
tap_check "tunnel::every_page_load_got_covers"

# IPv4 covers pass kernel WireGuard (honest length, allowed source: no
# rx_errors) and die at the IP layer's header checksum, nowhere else.
discards=$((hdr1 - hdr0)) sent=$(tun_json_num "$stats" covers_sent)
echo "tunnel-kwg: client Ip InHdrErrors +$discards, InCsumErrors +$((csum1 - csum0)); server covers_sent ${sent:-?}"
[ $discards -gt 0 ] || tap_fail "the client discarded no packet at the IP layer"
[ $((csum1 - csum0)) = $discards ] || tap_fail "InHdrErrors +$discards but InCsumErrors +$((csum1 - csum0))"
[ $((rxerr_v4 - rxerr0)) = 0 ] ||
	tap_fail "client $W rx_errors +$((rxerr_v4 - rxerr0)) over IPv4: WireGuard refused packets"
[ $((discards + rxerr1 - rxerr_v4)) -le "${sent:-0}" ] ||
	tap_fail "$discards + $((rxerr1 - rxerr_v4)) discards but only ${sent:-0} covers sent: real packets lost"
[ $((rx1 - rx0)) -ge $discards ] || tap_fail "$W received $((rx1 - rx0)) < $discards discards"
tap_check "tunnel::covers_pass_wireguard_and_die_at_the_ip_checksum"

[ "$icmp1" = "$icmp0" ] || tap_fail "the client sent ICMP (OutMsgs $icmp0 -> $icmp1)"
[ "$icmp6_1" = "$icmp6_0" ] ||
	tap_fail "the client sent ICMPv6 errors (unreachable, parameter problem: $icmp6_0 -> $icmp6_1)"
tap_check "tunnel::no_icmp_from_the_client"

# IPv6 covers (payload length 65535) die in kernel WireGuard itself, as a
# dishonest length (rx_errors, rx_length_errors), before IPv6 sees them.
diff=$(tun_differing_files $work/www $work/got6 | grep '^p1-' | tr '\n' ' ')
[ -z "$diff" ] || tap_fail "differ after the tunnel over IPv6 (sha256): $diff"
[ $((rxerr1 - rxerr_v4)) -gt 0 ] || tap_fail "the IPv6 page load got no covers (client $W rx_errors unchanged)"
[ "$trunc1" = "$trunc0" ] || tap_fail "IPv6 saw truncated packets ($trunc0 -> $trunc1): WireGuard passed them"
flows=$(tun_json_num "$stats" flows_created)
[ "${flows:-0}" = 2 ] || tap_fail "${flows:-0} flows created, want 2 (the peer's IPv4 and IPv6 units)"
tap_check "tunnel::ipv6_load_intact_and_its_covers_die_in_wireguard"

read -r total odd <<<"$(tun_wg_data $work/obs1.pcap 10.92.2.2 | tun_sizes_outside "$allowed")"
echo "tunnel-kwg: observer saw $total data messages from the server, $odd at sizes the policy does not allow"
[ "$total" -gt 100 ] || tap_fail "the observer saw only $total data messages" \
	"(capture: $(wc -c <$work/obs1.pcap) bytes; tcpdump: $(tr '\n' ' ' <$work/obs1.pcap.log))"
[ "$odd" = 0 ] || tap_fail "$odd data messages show a size outside $allowed: $(tun_wg_data \
	$work/obs1.pcap 10.92.2.2 | awk -v a=" $allowed " 'index(a, " " $2 " ") == 0 { print $2 }' |
	sort -n | uniq -c | head -5 | tr '\n' ' ')"
tap_check "tunnel::observer_sees_only_policy_sizes"

episodes=$(tun_json_num "$stats" episodes)
[ "${episodes:-0}" -ge $((loads - 1)) ] || tap_fail "${episodes:-0} new episodes for $loads loads"
tap_check "tunnel::a_new_episode_per_page_load"

out=$(nsx $S "$wfg" detach $W 2>&1) || tap_fail "detach: $out"
state1=$(tun_dev_state $S $W)
[ "$state1" = "$state0" ] || tap_fail "$W after detach: $state1, before: $state0"
tap_check "tunnel::detach_restores_the_device"

# ---------------------------------------------------------------- phase 2: EDT with sch_fq
out=$(nsx $S "$wfg" attach $W --policy "$pol_paced" 2>&1) || tap_fail "attach (paced): $out"
echo "tunnel-kwg: $out"
qdisc=$(nsx $S tc qdisc show dev $W root | awk 'NR == 1 { print $2 }')
case $out in *"sch_fq installed"*) ;; *) tap_fail "attach did not say it installed sch_fq" ;; esac
[ "$qdisc" = fq ] || tap_fail "$W's root qdisc is ${qdisc:-none}, not fq"
tap_check "tunnel::paced_attach_installs_fq_on_the_wg_device"

bg $S "$wfg" run $W >$work/run2.log 2>&1
pump=$!
pump_ready $work/run2.log
start_observer $work/obs2.pcap
rm -f $work/got/*
# Page 1 with fq; then, a new episode later, page 2 without it (the programs
# still stamp departure times; noqueue ignores them).
t0=$EPOCHREALTIME
fetch_page 1
t1=$EPOCHREALTIME
sleep $gap
nsx $S tc qdisc del dev $W root
t2=$EPOCHREALTIME
fetch_page 2
t3=$EPOCHREALTIME
sleep 1.5
stop_observer
stats=$(nsx $S "$wfg" stats $W --json)
echo "tunnel-kwg: server stats: $stats"

diff=$(tun_differing_files $work/www $work/got | grep '^p[12]-' | tr '\n' ' ')
[ -z "$diff" ] || tap_fail "differ after the paced tunnel (sha256): $diff"
tap_check "tunnel::paced_files_byte_identical"

tun_wg_data $work/obs2.pcap 10.92.2.2 >$work/obs2.txt
read -r n_fq med_fq <<<"$(tun_median_gap $t0 $t1 <$work/obs2.txt)"
read -r n_nofq med_nofq <<<"$(tun_median_gap $t2 $t3 <$work/obs2.txt)"
delayed=$(tun_json_num "$stats" delayed)
echo "tunnel-kwg: server->client data messages while fetching: with fq $n_fq gaps, median $med_fq ms" \
	"(${rho_ms} ms schedule), $(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.2f", b - a }') s;" \
	"without fq $n_nofq gaps, median $med_nofq ms, $(awk -v a=$t2 -v b=$t3 'BEGIN { printf "%.2f", b - a }') s;" \
	"delayed ${delayed:-?}"
[ "$n_fq" -ge 20 ] || tap_fail "only $n_fq gaps with fq"
[ "${delayed:-0}" -gt 0 ] || tap_fail "the programs delayed nothing"
awk -v m="$med_fq" -v r=$rho_ms 'BEGIN { exit !(m >= r / 2) }' ||
	tap_fail "median gap $med_fq ms with fq, the schedule is $rho_ms ms"
tap_check "tunnel::edt_departure_times_hold_with_fq"

[ "$n_nofq" -ge 20 ] || tap_fail "only $n_nofq gaps without fq"
awk -v m="$med_nofq" -v r=$rho_ms 'BEGIN { exit !(m < r / 4) }' ||
	tap_fail "median gap $med_nofq ms without fq: the spacing does not come from EDT"
tap_check "tunnel::without_fq_the_same_policy_bursts"

read -r total odd <<<"$(tun_sizes_outside "0 1420" <$work/obs2.txt)"
echo "tunnel-kwg: paced: observer saw $total data messages from the server, $odd not 1420 (or 0)"
[ "$total" -gt 100 ] || tap_fail "the observer saw only $total data messages"
[ "$odd" = 0 ] || tap_fail "$odd data messages are not 1420 bytes"
tap_check "tunnel::paced_observer_sees_one_size"

stop $pump
out=$(nsx $S "$wfg" detach $W 2>&1) || tap_fail "detach: $out"
state2=$(tun_dev_state $S $W)
[ "$state2" = "$state0" ] || tap_fail "$W after detach: $state2, before: $state0"
tap_check "tunnel::paced_detach_restores_the_device"

[ $tap_failed = 0 ] && echo "tunnel-kwg: kernel WireGuard, stock client: $loads page loads intact and" \
	"covered, only policy sizes on the wire, no ICMP, EDT real with sch_fq, device restored"
exit $((tap_failed > 0))
