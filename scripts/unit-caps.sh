#!/usr/bin/env bash
# Run by scripts/test-install.sh inside `unshare -m -n` (a throwaway network and mount
# namespace): the installed wfguard@.service's own ExecStartPre, ExecStart and ExecStop
# lines for a veth device, each with only the capabilities its CapabilityBoundingSet=
# leaves, and /etc/wfguard/ moved to a scratch directory.
#   scripts/unit-caps.sh UNIT WFGUARD POLICY
set -euo pipefail
unit=$1 wfg=$2 policy=$3
dir=$(mktemp -d /tmp/wfguard-caps.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	umount "$dir/bpf" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
mkdir "$dir/bpf"
mount -t bpf bpf "$dir/bpf" # private: the pins die with the namespace
export WFGUARD_PIN_ROOT=$dir/bpf/wfguard
ip link add wfgc0 type veth peer name wfgc1
ip link set wfgc0 up
ip link set wfgc1 up
sed 's|/etc/wfguard/keys|keys|' "$policy" >"$dir/wfgc0.yaml"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
echo "capabilities: $caps"

# One Exec line of the unit as the shell runs it: the instance, $$, the paths.
exec_line() {
	sed -n "s/^$1=-\\{0,1\\}//p" "$unit" | sed -e "s/%i/wfgc0/g" -e 's/\$\$/$/g' \
		-e "s|/usr/sbin/wfguard|$wfg|g" -e "s|/etc/wfguard/|$dir/|g"
}
as_unit() { eval "setpriv --bounding-set=-all,$caps --no-new-privs -- $*"; }

as_unit "$wfg" keys generate "$dir/keys" >/dev/null
as_unit "$(exec_line ExecStartPre)" 2>/dev/null # (attach's GSO advice)
as_unit "$(exec_line ExecStartPre)" 2>/dev/null # again: already attached, no error
as_unit "$(exec_line ExecStart)" --textfile "$dir/wfguard.prom" --interval 1 2>"$dir/run.log" &
pid=$!
for _ in $(seq 50); do
	[ -e "$dir/wfguard.prom" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
[ -e "$dir/wfguard.prom" ] || { cat "$dir/run.log"; exit 1; }
as_unit "$wfg" stats wfgc0 --prometheus | grep -q '^wfguard_pkts_seen_total{interface="wfgc0"}'
SERVICE_RESULT=success as_unit "$(exec_line ExecStop)" >/dev/null
for _ in $(seq 50); do # the daemon ends with its attachment, within a second or two
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && { echo "run outlived ExecStop (still attached?)"; exit 1; }
wait "$pid" || { cat "$dir/run.log"; exit 1; }
pid=
as_unit "$wfg" status wfgc0 >/dev/null 2>&1 && { echo "ExecStop left it attached"; exit 1; }
exit 0
