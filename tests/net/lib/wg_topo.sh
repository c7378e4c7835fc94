# The namespaces of the host's tunnel-mode scripts (tests/net/tunnel.sh,
# tests/net/tunnel_forward.sh, bench/perf/tunnel_iperf.sh): a client and a
# server joined through an observer that routes, WireGuard between them as
# wireguard-go (Debian's package, over TUN), stock on both ends. Sourced by
# bash scripts; the kernel-WireGuard guest script (vmtest/guest/tunnel.sh) has
# its own, POSIX sh, in the guest.
#
#   wgt_init TAG NET      names the namespaces $C $O $S $U and the tunnel devices
#                         $WC $WS after TAG; makes $work; installs wgt_cleanup as
#                         the EXIT trap
#   wgt_topo [upstream]   client c0 10.NET.1.2 -- o0 .1 observer o1 10.NET.2.1 --
#                         s0 .2 server; with "upstream", a fourth namespace U
#                         behind the server (s1 10.NET.3.1 -- u0 .2), the server
#                         forwarding
#   wgt_wireguard_go [CIDR...]  both ends' tunnels at MTU 1420: 10.99.0.1 and
#                         fd99::1 on the server, .2 on the client, whose allowed
#                         IPs add CIDR... (routed through the tunnel)
#   wgt_spawn NS CMD...   CMD in the background in NS; its own pid (nsenter execs
#                         it) is ended by the cleanup; echoes nothing, sets $spawned
#   nsx NS CMD...         CMD in NS (nsenter: ip netns exec would hide /sys/fs/bpf)
#   wgt_stat NS DEV NAME  one counter of `wfguard stats DEV --json` in NS ($wfg: the binary)

nsx() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@"
}

wgt_stat() { # NS DEV NAME
	nsx "$1" "$wfg" stats "$2" --json | sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p"
}

wgt_pids=()
wgt_init() { # TAG NET
	wgt_tag=$1 wgt_net=$2
	C=${1}c O=${1}o S=${1}s U=${1}u WC=${1}c WS=${1}s
	work=$(mktemp -d)
	trap wgt_cleanup EXIT
}

wgt_cleanup() {
	local p n
	for p in "${wgt_pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${wgt_pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for n in $C $O $S $U; do ip netns del $n 2>/dev/null; done
	rm -rf "$work" /var/run/wireguard/$WC.sock /var/run/wireguard/$WS.sock
}

wgt_spawn() { # NS CMD...
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@" &
	spawned=$!
	wgt_pids+=($spawned)
}

# wgt_wait_for FILE TEXT [SECONDS]: until a spawned daemon's log says it is
# ready (wfguard run: "pumping covers", tcpdump: "listening on"); a slow
# machine (the VM guest under TCG) takes seconds where a fixed sleep guessed.
wgt_wait_for() {
	local i
	for i in $(seq $((${3:-20} * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$wgt_tag: $1 never said \"$2\": $(tail -n 3 "$1" 2>/dev/null)" >&2
	return 1
}

wgt_topo() { # [upstream]
	local n=$wgt_net t=$wgt_tag ns
	for ns in $C $O $S; do ip netns add $ns; ip -n $ns link set lo up; done
	ip link add ${t}a netns $C type veth peer name o0 netns $O
	ip link add ${t}b netns $S type veth peer name o1 netns $O
	ip -n $C link set ${t}a name c0; ip -n $S link set ${t}b name s0
	ip -n $C addr add 10.$n.1.2/24 dev c0; ip -n $C link set c0 up
	ip -n $O addr add 10.$n.1.1/24 dev o0; ip -n $O link set o0 up
	ip -n $O addr add 10.$n.2.1/24 dev o1; ip -n $O link set o1 up
	ip -n $S addr add 10.$n.2.2/24 dev s0; ip -n $S link set s0 up
	ip -n $C route add default via 10.$n.1.1; ip -n $S route add default via 10.$n.2.1
	nsx $O sysctl -qw net.ipv4.ip_forward=1
	[ "${1:-}" = upstream ] || return 0
	ip netns add $U; ip -n $U link set lo up
	ip link add ${t}d netns $S type veth peer name u0 netns $U
	ip -n $S link set ${t}d name s1
	ip -n $S addr add 10.$n.3.1/24 dev s1; ip -n $S link set s1 up
	ip -n $U addr add 10.$n.3.2/24 dev u0; ip -n $U link set u0 up
	ip -n $U route add default via 10.$n.3.1
	nsx $S sysctl -qw net.ipv4.ip_forward=1
}

# wireguard-go in NS for device DEV: 0 once the device is there.
wgt_start_wireguard_go() { # NS DEV
	local i
	wgt_spawn $1 env WG_PROCESS_FOREGROUND=1 wireguard-go -f $2 >$work/$2.log 2>&1
	for i in $(seq 50); do nsx $1 ip link show $2 >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

wgt_wireguard_go() { # [CIDR...]: more of the client's allowed IPs
	local extra="" c
	for c in "$@"; do extra="$extra,$c"; done
	(umask 077 && wg genkey >$work/ck && wg genkey >$work/sk) # keys for root only
	wg pubkey <$work/ck >$work/cp; wg pubkey <$work/sk >$work/sp
	wgt_start_wireguard_go $S $WS && wgt_start_wireguard_go $C $WC || return 1
	nsx $S wg set $WS listen-port 51820 private-key $work/sk peer "$(cat $work/cp)" \
		allowed-ips 10.99.0.2/32,fd99::2/128
	nsx $C wg set $WC private-key $work/ck peer "$(cat $work/sp)" \
		allowed-ips 10.99.0.0/24,fd99::/64$extra endpoint 10.$wgt_net.2.2:51820
	nsx $S ip addr add 10.99.0.1/24 dev $WS; nsx $S ip addr add fd99::1/64 dev $WS nodad
	nsx $C ip addr add 10.99.0.2/24 dev $WC; nsx $C ip addr add fd99::2/64 dev $WC nodad
	nsx $S ip link set $WS mtu 1420 up; nsx $C ip link set $WC mtu 1420 up
	for c in "$@"; do nsx $C ip route add $c dev $WC; done
}
