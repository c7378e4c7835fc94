#!/usr/bin/env bash
# The main job (make demo): wfguard end to end on this machine, then the harness.
#
#   scripts/demo.sh [BUILD] [--quick] [--check] [--keep DIR]
#
# 1. three network namespaces, client -- observer -- server, joined by veth;
# 2. a handful of synthetic page loads played as real UDP between client and server,
#    first undefended, then with `wfguard attach` on both ends (examples/policies/
#    default.yaml and its client half) and `wfguard run` pumping cover packets;
# 3. what the observer captured in both runs, side by side, and `wfguard stats`;
# 4. `wfbench evaluate` of the default policy and of no defence, three attacks;
# 5. what to try next.
# --quick: fewer and faster page loads, a smaller world (the test in `make test`).
# --check: verify the demo's claims and exit non-zero when one does not hold.
# Without root, steps 1-3 are skipped (they need namespaces and BPF) with a message.
set -euo pipefail

args=("$@")
build=build
quick=0
check=0
keep=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--check) check=1 ;;
	--keep) keep=$2; shift ;;
	-*) echo "usage: $0 [BUILD] [--quick] [--check] [--keep DIR]" >&2; exit 1 ;;
	*) build=$1 ;;
	esac
	shift
done
# where the host has no bpffs for wfguard's pins, run in a mount namespace with one
if [ "$(id -u)" = 0 ]; then
	. "$(dirname "$0")/../tests/net/lib/private_pins.sh"
	private_pins_or_reexec "$0" "${args[@]}"
fi
wfguard=$(realpath "$build/wfguard")
wfbench=$(realpath "$build/wfbench")
policies=$(realpath examples/policies)
work=$(mktemp -d /tmp/wfguard-demo.XXXXXX)
results=$(realpath -m "$build/demo") # what the demo leaves: captures, evaluation, plot
rm -rf "$results" && mkdir -p "$results"
ns_c=wfd-cli-$$ ns_o=wfd-obs-$$ ns_s=wfd-srv-$$
pids=()
failures=0

# wfguard pins under /sys/fs/bpf: `ip netns exec` would give it a private /sys, so enter
# only the network namespace.
wfg() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$wfguard" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
claim() { # claim DESCRIPTION test-command...
	local what=$1
	shift
	if "$@"; then
		printf '  ok    %s\n' "$what"
	else
		printf '  FAIL  %s\n' "$what"
		failures=$((failures + 1))
	fi
}

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${attached:-}" ]; then
		wfg "$ns_c" detach c0 >/dev/null 2>&1 || true
		wfg "$ns_s" detach s0 >/dev/null 2>&1 || true
	fi
	for ns in "$ns_c" "$ns_o" "$ns_s"; do ip netns del "$ns" 2>/dev/null || true; done
	if [ -n "$keep" ]; then
		mkdir -p "$keep" && cp -r "$work"/. "$keep"/ && echo "demo files kept in $keep"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 1. namespaces
setup_net() {
	say "1. three namespaces: client 10.77.1.1 -- observer (router, captures) -- server 10.77.2.1"
	for ns in "$ns_c" "$ns_o" "$ns_s"; do ip netns add "$ns"; done
	ip link add c0 netns "$ns_c" type veth peer name o1 netns "$ns_o"
	ip link add s0 netns "$ns_s" type veth peer name o2 netns "$ns_o"
	ip -n "$ns_c" addr add 10.77.1.1/24 dev c0
	ip -n "$ns_o" addr add 10.77.1.2/24 dev o1
	ip -n "$ns_o" addr add 10.77.2.2/24 dev o2
	ip -n "$ns_s" addr add 10.77.2.1/24 dev s0
	for l in "$ns_c c0" "$ns_o o1" "$ns_o o2" "$ns_s s0" "$ns_c lo" "$ns_o lo" "$ns_s lo"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip -n "$ns_c" route add default via 10.77.1.2
	ip -n "$ns_s" route add default via 10.77.2.2
	ip netns exec "$ns_o" sysctl -qw net.ipv4.ip_forward=1
	echo "  $ns_c (c0) <-veth-> (o1) $ns_o (o2) <-veth-> (s0) $ns_s; the observer records o1"
}

# ---------------------------------------------------------------- 2. page loads
# play RUN: the page loads between client and server, captured on the observer.
play() {
	local run=$1 rc=0
	ip netns exec "$ns_o" tcpdump -i o1 -Z root -U -s 96 -w "$work/$run.pcap" udp \
		>/dev/null 2>"$work/$run.tcpdump" &
	local tcpd=$!
	sleep 1 # tcpdump is listening
	ip netns exec "$ns_s" "$wfbench" play --serve --dataset "$work/pages" --port 443 \
		--count "$npages" --wait 30 >"$work/$run.server" &
	local srv=$!
	sleep 0.3
	ip netns exec "$ns_c" "$wfbench" play --dataset "$work/pages" --peer 10.77.2.1:443 \
		--speed "$speed" --wait 3 >"$work/$run.client" || rc=$?
	wait "$srv" || rc=$?
	sleep 0.5
	kill -INT "$tcpd" 2>/dev/null || true
	wait "$tcpd" || true
	cp "$work/$run.pcap" "$results/"
	sed 's/^/  client: /' "$work/$run.client"
	return $rc
}

# summary RUN: packets, bytes and sizes per direction as the observer saw them.
summary() {
	tcpdump -r "$work/$1.pcap" -nn -q 2>/dev/null | awk -v run="$1" '
		/ UDP, length / {
			dir = ($3 ~ /^10\.77\.1\.1\./) ? "out" : "in"
			n = $NF + 0; p[dir]++; b[dir] += n; sizes[dir "," n] = 1
			h = n < 256 ? "<256" : n < 512 ? "256-511" : n < 1024 ? "512-1023" : n < 1400 ? "1024-1399" : ">=1400"
			hist[dir "," h]++
		}
		END {
			for (d in p) { u = 0; for (k in sizes) if (index(k, d ",") == 1) u++; us[d] = u }
			printf "%s packets_out=%d packets_in=%d bytes_out=%d bytes_in=%d sizes_out=%d sizes_in=%d", run, p["out"], p["in"], b["out"], b["in"], us["out"], us["in"]
			split("<256 256-511 512-1023 1024-1399 >=1400", hs, " ")
			for (i = 1; i <= 5; i++) printf " h%d_out=%d h%d_in=%d", i, hist["out," hs[i]], i, hist["in," hs[i]]
			printf "\n"
		}'
}
field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"; }
# the sizes the client sent, in a run's capture
sizes_out() {
	tcpdump -r "$work/$1.pcap" -nn -q 2>/dev/null |
		awk '/ UDP, length / && $3 ~ /^10\.77\.1\.1\./ { print $NF }' | sort -n | uniq
}
played_total() { # played_total RUN client|server sent|bytes-out
	awk -v k="$3" '$2 == "sent" { s += $3; b += $8 } END { print (k == "sent" ? s : b) }' \
		"$work/$1.$2"
}

side_by_side() {
	local a b
	a=$(summary plain)
	b=$(summary defended)
	say "3. what the observer saw (o1), undefended vs defended"
	printf '  %-28s %14s %14s\n' "" undefended defended
	for k in packets_out packets_in bytes_out bytes_in sizes_out sizes_in; do
		printf '  %-28s %14s %14s\n' "$k" "$(field "$a" $k)" "$(field "$b" $k)"
	done
	echo "  UDP payload sizes (client->server / server->client):"
	local i=1
	for h in "<256" "256-511" "512-1023" "1024-1399" ">=1400"; do
		printf '  %-28s %6s / %-6s %6s / %-6s\n' "  $h" "$(field "$a" h${i}_out)" \
			"$(field "$a" h${i}_in)" "$(field "$b" h${i}_out)" "$(field "$b" h${i}_in)"
		i=$((i + 1))
	done
	echo "  distinct client sizes, defended: $(sizes_out defended | tr '\n' ' ')"
	if [ $check = 1 ]; then
		say "checks"
		claim "undefended: the observer saw every datagram the client sent, at its size" \
			test "$(field "$a" packets_out)" = "$(played_total plain client sent)" -a \
			"$(field "$a" bytes_out)" = "$(played_total plain client bytes)"
		claim "undefended: ... and every datagram the server sent" \
			test "$(field "$a" packets_in)" = "$(played_total plain server sent)" -a \
			"$(field "$a" bytes_in)" = "$(played_total plain server bytes)"
		claim "defended: every client datagram on the wire is one of the policy's buckets" \
			test -z "$(sizes_out defended | grep -vxE '256|512|1024|1452')"
		claim "defended: more packets on the wire than were played (FRONT's covers)" \
			test "$(($(field "$b" packets_out) + $(field "$b" packets_in)))" -gt \
			"$(($(played_total defended client sent) + $(played_total defended server sent)))"
		claim "defended: the observer's size profile differs from the undefended one" \
			test "$(sizes_out plain | md5sum)" != "$(sizes_out defended | md5sum)"
	fi
}

net_demo() {
	setup_net
	npages=4
	speed=1
	[ $quick = 1 ] && { npages=3; speed=4; }
	"$wfbench" generate --sites "$npages" --instances 1 --seed 7 -o "$work/pages" >/dev/null
	say "2a. $npages page loads played as UDP, undefended (wfbench play, ${speed}x real time)"
	play plain
	say "2b. the same page loads with wfguard on both ends (FRONT + size buckets)"
	"$wfguard" keys generate "$work/keys" >/dev/null
	attached=1
	echo "  server: wfguard attach s0 --policy examples/policies/default.yaml --keys KEYS"
	wfg "$ns_s" attach s0 --policy "$policies/default.yaml" \
		--keys "$work/keys" | sed 's/^/    /'
	echo "  client: wfguard attach c0 --policy examples/policies/default-client.yaml --keys KEYS"
	wfg "$ns_c" attach c0 --policy "$policies/default-client.yaml" \
		--keys "$work/keys" | sed 's/^/    /'
	# nsenter itself, not the wfg function: $! is then wfguard's own pid
	# (nsenter execs it), which cleanup ends; a function would leave a subshell's
	nsenter --net=/run/netns/"$ns_s" "$wfguard" run s0 >"$work/run-server.log" 2>&1 &
	pids+=($!)
	nsenter --net=/run/netns/"$ns_c" "$wfguard" run c0 >"$work/run-client.log" 2>&1 &
	pids+=($!)
	sleep 0.5
	local rc=0
	play defended || rc=$?
	[ $check = 1 ] && claim "defended: every real datagram arrived byte-identical (wfbench play exit 0)" \
		test $rc = 0
	sleep 1
	say "2c. wfguard stats on both ends"
	echo "  client (c0):"
	wfg "$ns_c" stats c0 | sed 's/^/    /'
	echo "  server (s0):"
	wfg "$ns_s" stats s0 | sed 's/^/    /'
	side_by_side
}

# ---------------------------------------------------------------- 4. evaluation
evaluate() {
	local sites=20 inst=20 folds=5 out=$results/evaluation
	[ $quick = 1 ] && { sites=10; inst=10; folds=3; }
	say "4. wfbench evaluate: default policy vs no defence, k-NN, CUMUL, k-FP ($sites sites x $inst loads)"
	"$wfbench" generate --sites $sites --instances $inst --seed 11 -o "$work/world" >/dev/null
	"$wfbench" evaluate --no-defence --policy "$policies/default.yaml" \
		--dataset "$work/world" --attacks knn,cumul,kfp --folds $folds -o "$out" |
		tee "$work/evaluate.out"
	if [ $check = 1 ]; then
		claim "evaluate: results.csv has a row for each of no defence, default x knn, cumul, kfp" \
			test "$(awk -F, 'NR > 1 { print $1 "," $2 }' "$out/results.csv" | sort | tr '\n' ' ')" \
			= "default,cumul default,kfp default,knn no-defence,cumul no-defence,kfp no-defence,knn "
		claim "evaluate: every attack is less accurate against the default policy than undefended" \
			awk -F, 'NR > 1 { acc[$1 "," $2] = $9 } END {
				split("knn cumul kfp", a, " ")
				for (i in a) if (!(acc["default," a[i]] < acc["no-defence," a[i]])) exit 1 }' \
			"$out/results.csv"
	fi
	echo "  results, plot and captures are in $results"
}

if [ "$(id -u)" = 0 ] && command -v tcpdump >/dev/null; then
	net_demo
else
	say "steps 1-3 skipped: they need root (namespaces, BPF) and tcpdump"
	[ $check = 1 ] && failures=$((failures + 1))
fi
evaluate

say "5. next"
cat <<'TXT'
  - your own traces:  wfbench import --format wang|maybenot|pcap SRC -o DATASET
  - other defences:   wfbench evaluate --preset tamaraw --preset regulator --dataset DATASET ...
  - trade-off curves: wfbench sweep --policy examples/policies/front.yaml --param ...
  - an edge server:   wfguard attach IFACE --policy FILE; wfguard stats IFACE --watch;
                      contrib/wfguard@.service; docs/policy.md, docs/datapath.md
TXT
if [ $check = 1 ]; then
	echo
	if [ $failures -ne 0 ]; then
		echo "demo: $failures claims did not hold"
		exit 1
	fi
	echo "demo: all claims held"
fi
