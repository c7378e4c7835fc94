#!/usr/bin/env bash
# make install into a scratch DESTDIR, then check what landed and that it runs.
#   scripts/test-install.sh BUILD
set -euo pipefail
build=${1:-build}
dest=$(mktemp -d /tmp/wfguard-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
make -s install BUILD="$build" DESTDIR="$dest" PREFIX=/usr >/dev/null
bad=0
check() {
	if [ -e "$dest$1" ]; then echo "  ok    $1"; else echo "  MISSING $1"; bad=1; fi
}
for f in /usr/sbin/wfguard /usr/bin/wfbench /usr/lib/wfguard/wfguard.bpf.o \
	/usr/share/man/man8/wfguard.8 /usr/share/man/man1/wfbench.1 \
	/usr/share/wfguard/policies/default.yaml /usr/share/doc/wfguard/README.md \
	/usr/share/doc/wfguard/policy.md /lib/systemd/system/wfguard@.service \
	/usr/share/bash-completion/completions/wfguard; do
	check "$f"
done
# the installed tools run and know their commands; the unit points at the installed binary
"$dest/usr/sbin/wfguard" policy check "$dest/usr/share/wfguard/policies/default.yaml" >/dev/null ||
	{ echo "  installed wfguard cannot check the installed default policy"; bad=1; }
"$dest/usr/bin/wfbench" --help | grep -q defend || { echo "  installed wfbench --help"; bad=1; }
grep -q '^ExecStart=/usr/sbin/wfguard run' "$dest/lib/systemd/system/wfguard@.service" ||
	{ echo "  the unit does not run /usr/sbin/wfguard"; bad=1; }
grep -q '^\.SH "wfguard ATTACH"' "$dest/usr/share/man/man8/wfguard.8" ||
	{ echo "  the man page lacks the attach command"; bad=1; }
readelf -h "$dest/usr/lib/wfguard/wfguard.bpf.o" | grep -q 'Linux BPF' ||
	{ echo "  wfguard.bpf.o is not an eBPF object"; bad=1; }
[ $bad = 0 ] && echo "install: every file in place, the installed tools run"
exit $bad
