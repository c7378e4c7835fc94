# Checks for the tunnel-mode tests (docs/tunnel-mode.md), sourced by
# vmtest/guest/tunnel.sh (kernel WireGuard in the vmtest guest). They read what
# a stock peer's kernel and an observer's capture show; nothing here starts or
# stops anything. POSIX sh with `local` (bash, dash, busybox ash), every name
# starts with tun_. tests/net/tunnel.sh (wireguard-go on the host) has its own
# copies of a few of these and can switch to this file.

# Run a command in the network namespace NS (ip netns add NS). nsenter is
# util-linux's: busybox's runs its own applets (ip, tc) before $PATH. Not ip
# netns exec: its private /sys has no bpffs, where wfguard pins its maps.
tun_nsx() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@"
}

# An IP-layer counter in NS: tun_snmp NS SECTION FIELD, e.g. tun_snmp c Ip
# InHdrErrors or tun_snmp c IpExt InCsumErrors. /proc/net/snmp and
# /proc/net/netstat both have, per section, a line of names and one of values.
tun_snmp() {
	tun_nsx "$1" awk -v s="$2:" -v f="$3" '
		$1 != s { next }
		!named { for (i = 2; i <= NF; i++) name[i] = $i; named = 1; next }
		{ for (i = 2; i <= NF; i++) if (name[i] == f) print $i }' /proc/net/snmp /proc/net/netstat
}

# An IPv6 counter of /proc/net/snmp6 in NS (one "Name value" a line):
# tun_snmp6 NS Ip6InTruncatedPkts.
tun_snmp6() {
	tun_nsx "$1" awk -v f="$2" '$1 == f { print $2 }' /proc/net/snmp6
}

# A device counter of DEV in NS from /proc/net/dev (per namespace, unlike
# /sys/class/net under nsenter): rx_packets rx_errors rx_dropped tx_packets
# tx_errors tx_dropped.
tun_netdev() {
	tun_nsx "$1" awk -v d="$2" -v f="$3" '
		BEGIN { col["rx_packets"] = 4; col["rx_errors"] = 5; col["rx_dropped"] = 6
			col["tx_packets"] = 12; col["tx_errors"] = 13; col["tx_dropped"] = 14 }
		{ sub(/:/, " : ") } # "wg0: 1 2" -> "wg0 : 1 2": $3 is rx_bytes
		$1 == d { print $(col[f]) }' /proc/net/dev
}

# What wfguard attach changes on DEV and detach must restore, as one line:
# "gso=on tso=on gso_max_segs=65535 qdisc=noqueue".
tun_dev_state() {
	local k segs qdisc

	k=$(tun_nsx "$1" ethtool -k "$2")
	segs=$(tun_nsx "$1" ip -d link show dev "$2" | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
	qdisc=$(tun_nsx "$1" tc qdisc show dev "$2" root | awk 'NR == 1 { print $2 }')
	echo "gso=$(echo "$k" | awk '$1 == "generic-segmentation-offload:" { print $2 }')" \
		"tso=$(echo "$k" | awk '$1 == "tcp-segmentation-offload:" { print $2 }')" \
		"gso_max_segs=$segs qdisc=$qdisc"
}

# The WireGuard data messages (type 4) that SRC sent in capture PCAP, one line
# each: "TIME PLAINTEXT" (capture time in s; the UDP payload minus WireGuard's
# 16-byte header and 16-byte tag: the padded inner packet, 0 for a keepalive).
# -Z root: Debian's tcpdump switches to user tcpdump, which a bare guest lacks.
tun_wg_data() {
	tcpdump -Z root -tt -nn -q -r "$1" "src host $2 and udp[8] = 4" 2>/dev/null |
		awk '$NF ~ /^[0-9]+$/ { print $1, $NF - 32 }'
}

# Of "TIME SIZE" lines on stdin, how many have a size not in ALLOWED (a
# space-separated list): prints "TOTAL ODD".
tun_sizes_outside() {
	awk -v allowed="$1" '
		BEGIN { n = split(allowed, a, " "); for (i = 1; i <= n; i++) ok[a[i]] = 1 }
		{ total++; if (!($2 in ok)) odd++ }
		END { print total + 0, odd + 0 }'
}

# Of "TIME SIZE" lines on stdin (in capture order), the gaps between
# consecutive messages sent in [FROM, TO] (s): prints "COUNT MEDIAN_MS".
tun_median_gap() {
	awk -v from="$1" -v to="$2" '
		$1 < from || $1 > to { next }
		seen { printf "%.3f\n", ($1 - last) * 1000 }
		{ last = $1; seen = 1 }' | sort -n |
		awk '{ g[NR] = $1 } END { if (NR) print NR, g[int((NR + 1) / 2)]; else print 0, 0 }'
}

# The names of the files in directory WANT whose copy in GOT is missing or
# differs (sha256).
tun_differing_files() {
	local f a b

	for f in "$1"/*; do
		if [ ! -f "$2/${f##*/}" ]; then
			echo "${f##*/}"
			continue
		fi
		a=$(sha256sum <"$f")
		b=$(sha256sum <"$2/${f##*/}")
		[ "$a" = "$b" ] || echo "${f##*/}"
	done
}

# A number from wfguard stats --json: tun_json_num JSON KEY.
tun_json_num() {
	echo "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
