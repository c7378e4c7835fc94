#!/usr/bin/env bash
# Shim mode with the `quic` cover profile on real HTTP/3 (Debian's ngtcp2
# examples, gtlsserver and gtlsclient), wfguard on both ends, as a MASQUE-style
# deployment would run it: client -- observer -- server namespaces, several
# downloads over QUIC, the observer's own capture run through the observer
# classifier (wfbench observe --proto quic). Checks that the files arrive
# byte-identical, that the covers (>= 10^3 on the wire) carry the connection's
# own DCID length, learnt from the handshake with no quic_dcid_len in the
# policy, and that no cheap cleartext test singles out a single packet.
#   tests/net/quic_shim.sh BUILD    (WFG_KEEP_PCAP=FILE keeps the capture)
set -u
build=${1:-build}
wfg=$(readlink -f "$build/wfguard")
wfb=$(readlink -f "$build/wfbench")
for tool in gtlsserver gtlsclient openssl tcpdump; do
	command -v $tool >/dev/null || { echo "quic: SKIP: $tool missing (scripts/deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "quic: SKIP: needs root"; exit 0; }
. "$(dirname "$0")/lib/private_pins.sh"
private_pins_or_reexec "$0" "$@"

. "$(dirname "$0")/lib/wg_topo.sh"
wgt_init wfq$$ 95
fail=0
bad() { echo "quic: FAIL: $*"; fail=1; }
wgt_topo
SRV=10.95.2.2 CLI=10.95.1.2
# A physical NIC puts finished UDP checksums on the wire; a veth passes the
# sender's partial ones on, which the observer would read as "wrong" for the
# application's datagrams only. Finish them in software, as on a real link.
nsx $S ethtool -K s0 tx off >/dev/null 2>&1
nsx $C ethtool -K c0 tx off >/dev/null 2>&1

# Both ends' policies: QUIC on 4433, covers in the quic profile (the DCID
# length is learnt), FRONT with a budget that puts > 10^3 covers on the wire.
"$wfg" keys generate $work/keys >/dev/null || { bad "keys generate"; exit 1; }
common="shim:
  keys: $work/keys
  profile: quic
shape:
  mode: buckets
  buckets: [256, 512, 1024, 1452]
defence:
  - preset: front
    params: {N_c: 1500, N_s: 1500, W_min: 0.5, W_max: 2}
cover_size: 1452
"
printf 'version: 1\nrole: server\nmatch:\n  - local_port: 4433\n%s' "$common" >$work/server.yaml
printf 'version: 1\nrole: client\nmatch:\n  - remote_port: 4433\n%s' "$common" >$work/client.yaml

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wfguard-test \
	-keyout $work/key.pem -out $work/cert.pem >/dev/null 2>&1 || { bad "openssl"; exit 1; }
mkdir -p $work/www $work/got
for f in 1 2 3 4; do head -c $((f * 200 * 1024 + f * 333)) /dev/urandom >$work/www/f$f; done

nsx $S "$wfg" attach s0 --policy $work/server.yaml >/dev/null 2>$work/attach-s.err ||
	{ bad "server attach: $(cat $work/attach-s.err)"; exit 1; }
nsx $C "$wfg" attach c0 --policy $work/client.yaml >/dev/null 2>$work/attach-c.err ||
	{ bad "client attach: $(cat $work/attach-c.err)"; exit 1; }
wgt_spawn $S "$wfg" run s0 >$work/run-s.log 2>&1
wgt_spawn $C "$wfg" run c0 >$work/run-c.log 2>&1
# GSO off and the UDP payload within the limit less the shim, as attach advises
wgt_spawn $S gtlsserver -q --max-gso-dgrams=1 --max-udp-payload-size=1400 -d $work/www \
	$SRV 4433 $work/key.pem $work/cert.pem >$work/server.log 2>&1
wgt_spawn $O tcpdump -q -B 32768 -i o1 -w $work/obs.pcap -U udp port 4433 >$work/tcpdump.log 2>&1
tcpd=$spawned
# Ground truth: the client's own record of which datagram was a cover, sent
# (after shaping) and received (before stripping), in wire order.
wgt_spawn $C "$wfg" capture c0 -o $work/truth >$work/capture.log 2>&1
capd=$spawned
wgt_wait_for $work/run-s.log "pumping covers" || bad "server's wfguard run did not start"
wgt_wait_for $work/run-c.log "pumping covers" || bad "client's wfguard run did not start"
wgt_wait_for $work/tcpdump.log "listening on" || bad "tcpdump did not start"
sleep 0.5 # gtlsserver and capture say nothing when ready

for f in 1 2 3 4; do
	(cd $work/got && nsx $C timeout 30 gtlsclient -q --exit-on-all-streams-close \
		--max-udp-payload-size=1400 --download $work/got $SRV 4433 https://$SRV:4433/f$f \
		>$work/client-f$f.log 2>&1)
	cmp -s $work/www/f$f $work/got/f$f || bad "f$f differs or is missing after QUIC"
	sleep 2.5 # the load's covers; FRONT's window ends within W_max
done
sleep 1
# the observer stops first: the client's record then holds at least what it saw
kill -INT $tcpd 2>/dev/null
wait $tcpd 2>/dev/null
kill -INT $capd 2>/dev/null
wait $capd 2>/dev/null
[ -n "${WFG_KEEP_PCAP:-}" ] && cp $work/obs.pcap "$WFG_KEEP_PCAP"

covers=$(($(wgt_stat $S s0 covers_sent) + $(wgt_stat $C c0 covers_sent)))
received=$(($(wgt_stat $S s0 covers_received) + $(wgt_stat $C c0 covers_received)))
learned=$(($(wgt_stat $S s0 quic_dcid_learned) + $(wgt_stat $C c0 quic_dcid_learned)))
gso=$(($(wgt_stat $S s0 unshaped_gso) + $(wgt_stat $C c0 unshaped_gso)))
echo "quic: covers sent $covers, recognised and dropped by the peers $received; flows that learnt their DCID length: $learned; unshaped GSO $gso"
[ $covers -ge 1000 ] || bad "only $covers covers on the wire"
[ $received -ge $((covers * 95 / 100)) ] || bad "the peers recognised only $received of $covers covers"
[ $learned -ge 2 ] || bad "the DCID length was learnt by $learned flows (both ends should)"
# Genuine traffic, end to end: the peers' datagrams all verify, none is taken
# for a changed one or a replay (docs/wire-format.md, "Receiving").
for c in tampered replayed err_replay_window; do
	v=$(($(wgt_stat $S s0 $c) + $(wgt_stat $C c0 $c)))
	echo "quic: $c $v"
	[ "$v" -eq 0 ] || bad "$v genuine datagrams counted as $c"
done

# Every connection (one per download) through the classifier. A flagged
# packet is looked up in the client's capture by its place in its direction
# (the observer and the client see the same datagrams in the same order):
# what counts is how many flagged packets were covers.
tcpdump -nn -r $work/obs.pcap 2>/dev/null >$work/obs.txt
flagged=0 packets=0 singled=0
for port in $(sed -n "s/.* $CLI\.\([0-9]*\) > $SRV\.4433:.*/\1/p" $work/obs.txt | sort -u); do
	"$wfb" observe --client $CLI --port $port --proto quic -v $work/obs.pcap >$work/obs-$port.txt 2>$work/obs.err ||
		{ bad "wfbench observe: $(cat $work/obs.err)"; continue; }
	truth=$(grep -l "$CLI:$port" $work/truth/*.trace 2>/dev/null | head -1)
	[ -n "$truth" ] || { bad "no capture of the client's flow from port $port"; continue; }
	set -- $(awk -v port=$port -v cli=$CLI -v truth="$truth" '
		FILENAME == truth { if ($0 ~ /^[0-9]/) { if ($2 == "+") up[++nu] = $4; else down[++nd] = $4 } next }
		FILENAME ~ /obs.txt$/ {
			if (index($0, cli "." port " >")) ord[NR] = "+" (++u)
			else if (index($0, "> " cli "." port ":")) ord[NR] = "-" (++d)
			next }
		/^packets / { n = $2 + $3 }
		/^record / { f++; o = ord[$2]; k = substr(o, 1, 1) == "+" ? up[substr(o, 2)] : down[substr(o, 2)]
			if (k == "c") c++ }
		END { print n + 0, f + 0, c + 0, nu + nd, u + d }' "$truth" $work/obs.txt $work/obs-$port.txt)
	packets=$((packets + $1)) flagged=$((flagged + $2)) singled=$((singled + $3))
	[ "$4" -ge "$5" ] || bad "port $port: the client captured $4 datagrams, fewer than the observer's $5 ($(tail -1 $work/tcpdump.log))"
	[ "$3" = 0 ] || grep "^record" $work/obs-$port.txt | head -20
done
echo "quic: observer classifier: flagged $flagged of $packets packets, of them $singled covers; covers on the wire $covers"
[ $packets -gt 1000 ] || bad "the classifier saw only $packets packets"
[ $singled = 0 ] || bad "the classifier singled out $singled covers"
# Real datagrams that stand out (ngtcp2's first ones, sent before ECN is
# validated, carry no ECT mark): a handful per connection, never a share.
# Covers that stood out as the majority would flag the real ones instead.
[ $((flagged * 100)) -le $packets ] || bad "$flagged of $packets packets stand out"

nsx $S "$wfg" detach s0 >/dev/null; nsx $C "$wfg" detach c0 >/dev/null
[ $fail = 0 ] && echo "quic: HTTP/3 over shim mode with quic covers: files intact, $covers covers, none singled out of $packets packets"
exit $fail
