#!/usr/bin/env bash
# vmtest: run test binaries inside qemu (TCG) on a Debian kernel, with the
# modules the data path needs (veth, sch_fq, sch_netem, cls_bpf, sch_ingress).
#
#   vmtest/run.sh [options] SUITE:"bin1 bin2" [SUITE:"..."]...
#
# A test is a criterion binary (ELF) or a shell script of this repository. A
# script says what the guest needs in comment lines (each may repeat):
#   # vmtest-tools: bash wg       host programs, copied with their libraries
#   # vmtest-modules: wireguard   kernel modules (and their dependencies)
#   # vmtest-files: a/b.yaml      repository files, at /wfg/src/a/b.yaml
# It runs from /wfg/src (the script at its repository path), with WFG_TAP
# naming the file for its TAP report (docs/vmtest.md, "Shell suites").
#
# Options (each also from the environment):
#   --build DIR      build directory (BUILD, default build)
#   --kernel PKG     Debian package: a meta package (linux-image-cloud-amd64) or
#                    a versioned one (linux-image-6.1.0-56-cloud-amd64)
#                    (VMTEST_KERNEL, default linux-image-cloud-amd64)
#   --timeout S      whole VM run, seconds; qemu is killed after (VMTEST_TIMEOUT, 1800)
#   --out DIR        console log and result (default BUILD/vmtest/run)
#   VMTEST_BIN_TIMEOUT (900) one test binary in the guest; VMTEST_SMP (2),
#   VMTEST_MEM (1024, MiB); VMTEST_CACHE (vmtest/cache); VMTEST_MODULES (more
#   modules to load); VMTEST_QEMU (qemu-system-x86_64).
#
# The kernel package is fetched with `apt-get download` into the cache once and
# unpacked there; the initramfs (busybox-static, the binaries and their shared
# library closure, iproute2's ip and tc, the modules, vmtest/guest/init) is
# rebuilt each run. The guest prints one sentinel line,
#   WFGUARD-VMTEST-RESULT: run=N passed=P failed=F skipped=S ... status=0
# which this script parses; a guest that stops without it (panic, hang, timeout)
# has failed.
#
# Exit: 0 all passed, or SKIP (no qemu / busybox-static / cpio, or the kernel
# package cannot be had: a clear "vmtest: SKIP" line, not a failure); 1 tests
# failed in the guest; 2 the harness or the guest broke down.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=${BUILD:-build}
kernel=${VMTEST_KERNEL:-linux-image-cloud-amd64}
timeout=${VMTEST_TIMEOUT:-1800}
bin_timeout=${VMTEST_BIN_TIMEOUT:-900}
smp=${VMTEST_SMP:-2}
mem=${VMTEST_MEM:-1024}
cache=${VMTEST_CACHE:-$here/cache}
modules="veth tun sch_fq sch_netem cls_bpf sch_ingress ${VMTEST_MODULES:-}"
out=
suites=()

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "vmtest: unknown option $1" >&2; exit 2 ;;
	*) suites+=("$1"); shift ;;
	esac
done
out=${out:-$build/vmtest/run}
mkdir -p "$out"
rm -f "$out/result" "$out/console.log"
result_file=$out/result
t_begin=$(date +%s)

say() { echo "vmtest: $*"; }
skip() {
	say "SKIP: $*"
	say "SKIP: the kernel-facing tests were NOT run on a second kernel (not counted as a failure)"
	echo "SKIP: $*" >"$result_file"
	exit 0
}
die() {
	say "ERROR: $*" >&2
	echo "ERROR: $*" >"$result_file"
	exit 2
}

[ ${#suites[@]} -gt 0 ] || die "no test binaries given (SUITE:\"bin ...\")"

# ------------------------------------------------------------------ tools
qemu=${VMTEST_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || skip "$qemu is not installed (package qemu-system-x86)"
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		busybox=$b
		break
	fi
done
[ -n "$busybox" ] || skip "no static busybox (package busybox-static)"
command -v cpio >/dev/null || skip "cpio is not installed"
for t in ip tc; do
	command -v $t >/dev/null || skip "iproute2's $t is not installed"
done
for t in dpkg-deb objcopy gzip ldd; do
	command -v $t >/dev/null || die "$t is missing"
done

# ------------------------------------------------------------------ kernel package
mkdir -p "$cache"
# One run at a time fetches and unpacks into the cache (released when this script exits).
exec 9>"$cache/.lock"
flock 9

# The versioned image package behind a meta package (its first linux-image-N dependency).
resolve_kernel() {
	local want=$1 dep
	case $want in
	linux-image-[0-9]*) echo "$want"; return 0 ;;
	esac
	dep=$(apt-cache depends "$want" 2>/dev/null |
		awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$dep" ] && [ "$(id -u)" = 0 ]; then
		# a fresh machine may never have run apt-get update
		apt-get update -qq >/dev/null 2>&1
		dep=$(apt-cache depends "$want" 2>/dev/null |
			awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	fi
	if [ -n "$dep" ]; then
		echo "$dep" >"$cache/$want.resolved"
		echo "$dep"
	elif [ -s "$cache/$want.resolved" ]; then
		cat "$cache/$want.resolved" # offline: what it meant last time
	fi
}

kpkg=$(resolve_kernel "$kernel")
[ -n "$kpkg" ] || skip "cannot resolve $kernel to a kernel image package (no apt lists, no network to the archive, and nothing cached in $cache)"

# The candidate version if apt knows it; a cached .deb of that version, else download.
kver_apt=$(apt-cache policy "$kpkg" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
deb=
if [ -n "$kver_apt" ] && [ "$kver_apt" != "(none)" ]; then
	f=$cache/${kpkg}_${kver_apt//:/%3a}_amd64.deb
	[ -s "$f" ] && deb=$f
fi
if [ -z "$deb" ]; then
	say "fetching $kpkg with apt-get download (cached in $cache)"
	if (cd "$cache" && apt-get download -o APT::Sandbox::User=root "$kpkg") >"$out/apt.log" 2>&1; then
		deb=$(ls -t "$cache/${kpkg}"_*.deb 2>/dev/null | head -n1)
	else
		deb=$(ls -t "$cache/${kpkg}"_*.deb 2>/dev/null | head -n1)
		[ -n "$deb" ] || skip "apt-get download $kpkg failed (no network to the archive?): $(tail -n1 "$out/apt.log")"
		say "apt-get download failed; using the cached $(basename "$deb")"
	fi
fi
[ -s "$deb" ] || skip "no package file for $kpkg"

kdir=$cache/$(basename "$deb" .deb)
if [ ! -f "$kdir/.unpacked" ]; then
	rm -rf "$kdir"
	dpkg-deb -x "$deb" "$kdir" || die "cannot unpack $deb"
	touch "$kdir/.unpacked"
fi
flock -u 9
moddir=$(ls -d "$kdir"/lib/modules/*/ "$kdir"/usr/lib/modules/*/ 2>/dev/null | head -n1)
moddir=${moddir%/}
[ -n "$moddir" ] || die "$deb has no lib/modules/"
kver=$(basename "$moddir")
vmlinuz=
for f in "$kdir/boot/vmlinuz-$kver" "$moddir/vmlinuz"; do
	[ -f "$f" ] && vmlinuz=$f && break
done
[ -n "$vmlinuz" ] || die "$deb has no vmlinuz for $kver"

# ------------------------------------------------------------------ rootfs
rootfs=$out/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/usr/{bin,sbin,lib,lib64} "$rootfs"/{proc,sys,dev,tmp,run,root,etc,var,wfg/modules}
for d in bin sbin lib lib64; do
	ln -s usr/$d "$rootfs/$d"
done
ln -s ../run "$rootfs/var/run"
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
echo "root:x:0:" >"$rootfs/etc/group"

# /bin/sh is dash: Debian's busybox sh prefers its own applets to $PATH, and the
# tests' shell commands need iproute2's ip and tc, not busybox's. The other
# applets come from `busybox --install -s` in the guest, which keeps existing
# files (dash, ip, tc).
install -m 755 "$busybox" "$rootfs/usr/bin/busybox"

# An ELF and the shared libraries it needs (as ldd resolves them here).
copy_elf() {
	local src=$1 dst=$2 lib
	install -D -m 755 "$src" "$rootfs$dst" || die "cannot copy $src"
	for lib in $(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		[ -e "$rootfs$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$rootfs$lib"
		case $lib in */libxdp.so*) copy_libxdp_objects "$lib" ;; esac
	done
}

# libxdp loads its dispatcher from a BPF object beside the library
# (Debian: /usr/lib/<triplet>/bpf/xdp-dispatcher.o), not from within it.
copy_libxdp_objects() {
	local dir
	dir=$(dirname "$1")/bpf
	[ -e "$rootfs$dir/xdp-dispatcher.o" ] || [ ! -f "$dir/xdp-dispatcher.o" ] ||
		install -D -m 644 "$dir/xdp-dispatcher.o" "$rootfs$dir/xdp-dispatcher.o"
}
command -v dash >/dev/null || die "dash is missing"
copy_elf "$(command -v dash)" /usr/bin/dash
ln -s dash "$rootfs/usr/bin/sh"
copy_elf "$(command -v ip)" /usr/sbin/ip
copy_elf "$(command -v tc)" /usr/sbin/tc
# The controller, for suites that drive the real binary (tests/net/test_cli).
wfguard_bin=
if [ -x "$build/wfguard" ]; then
	copy_elf "$build/wfguard" /usr/sbin/wfguard
	wfguard_bin=/usr/sbin/wfguard
fi

# The values of a script's "# vmtest-KEY: ..." lines, space-separated.
script_needs() {
	sed -n "s/^# vmtest-$2: *//p" "$1" | tr '\n' ' '
}

# A shell test: the script and the repository files it names under /wfg/src,
# the host programs it names (a missing one is left to fail in the guest, where
# the script reports it), the modules it names added to the list to load.
add_script() {
	local suite=$1 src=$2 rel f t p
	rel=$(realpath --relative-to="$top" "$src")
	case $rel in ../* | /*) die "$src: a shell suite must be a file of this repository" ;; esac
	install -D -m 755 "$src" "$rootfs/wfg/src/$rel" || die "cannot copy $src"
	for f in $(script_needs "$src" files); do
		[ -f "$top/$f" ] || die "$src needs $f (vmtest-files), which does not exist"
		install -D -m 644 "$top/$f" "$rootfs/wfg/src/$f"
	done
	for t in $(script_needs "$src" tools); do
		if ! p=$(command -v "$t"); then
			say "WARNING: $t (needed by $rel) is not installed here (scripts/deps.sh)"
			continue
		fi
		[ -e "$rootfs$p" ] || copy_elf "$(readlink -f "$p")" "$p"
	done
	modules="$modules $(script_needs "$src" modules)"
	echo "$suite /wfg/src/$rel script" >>"$rootfs/wfg/tests.list"
}

: >"$rootfs/wfg/tests.list"
nbins=0
for arg in "${suites[@]}"; do
	suite=${arg%%:*}
	for bin in ${arg#*:}; do
		[ -x "$bin" ] || die "$bin is not built"
		if [ "$(head -c 4 "$bin" | tail -c 3)" = ELF ]; then
			copy_elf "$bin" "/wfg/bin/$suite/$(basename "$bin")"
			echo "$suite /wfg/bin/$suite/$(basename "$bin") elf" >>"$rootfs/wfg/tests.list"
		else
			add_script "$suite" "$bin"
		fi
		nbins=$((nbins + 1))
	done
done

# Modules: each wanted one and its dependencies (from .modinfo), dependencies
# first; built-in ones are skipped; compressed ones are unpacked here.
declare -A modpath=() modstate=()
while IFS= read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	modpath[${n//-/_}]=$f
done < <(find "$moddir" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
builtin=" $(sed 's#.*/##; s#\.ko.*##; s#-#_#g' "$moddir/modules.builtin" 2>/dev/null | tr '\n' ' ') "
: >"$rootfs/wfg/modules.list"

add_module() {
	local n=${1//-/_} src ko deps d
	case ${modstate[$n]:-} in
	done | busy) return 0 ;;
	esac
	if [[ $builtin == *" $n "* ]]; then
		modstate[$n]=done
		echo "$n (built in)" >>"$out/modules.txt"
		return 0
	fi
	src=${modpath[$n]:-}
	[ -n "$src" ] || die "module $n is neither built into $kver nor in $(basename "$deb")"
	modstate[$n]=busy
	ko=$rootfs/wfg/modules/$n.ko
	case $src in
	*.ko.xz) xz -dc "$src" >"$ko" ;;
	*.ko.zst) zstd -qdc "$src" >"$ko" ;;
	*.ko.gz) gzip -dc "$src" >"$ko" ;;
	*) cp "$src" "$ko" ;;
	esac || die "cannot unpack $src (xz-utils / zstd installed?)"
	deps=$(objcopy -O binary --only-section=.modinfo "$ko" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' ')
	for d in $deps; do
		add_module "$d"
	done
	echo "/wfg/modules/$n.ko" >>"$rootfs/wfg/modules.list"
	echo "$n${deps:+ (needs $deps)}" >>"$out/modules.txt"
	modstate[$n]=done
}
: >"$out/modules.txt"
for m in $modules; do
	add_module "$m"
done

install -m 755 "$here/guest/init" "$rootfs/init"
cat >"$rootfs/wfg/env" <<EOF
WFG_KVER='$kver'
WFG_BIN_TIMEOUT='$bin_timeout'
WFGUARD_BIN='$wfguard_bin'
export WFGUARD_BIN
EOF

initrd=$out/initramfs.cpio.gz
(cd "$rootfs" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$initrd" ||
	die "cannot build the initramfs"
t_ready=$(date +%s)
say "kernel $kver ($(basename "$deb")); modules: $(grep -c . "$rootfs/wfg/modules.list") to load" \
	"($(tr '\n' ' ' <"$out/modules.txt" | sed 's/ $//')); $nbins tests (binaries, scripts);" \
	"initramfs $(($(stat -c %s "$initrd") / 1024 / 1024)) MiB; prepared in $((t_ready - t_begin)) s"

# ------------------------------------------------------------------ boot
log=$out/console.log
say "booting qemu (TCG, $smp CPUs, $mem MiB; timeout ${timeout}s); console in $log"
# --foreground: Ctrl-C reaches qemu too (the default would shield it from the terminal).
timeout --foreground -k 10 "$timeout" "$qemu" \
	-accel tcg,thread=multi -cpu max -smp "$smp" -m "$mem" \
	-nographic -nodefaults -no-reboot -serial stdio \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 rdinit=/init panic=-1 oops=panic quiet loglevel=4" \
	</dev/null 2>&1 | tr -d '\r' | sed -u 's/\x1b[[(][0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
	tee "$log" | sed -u 's/^/  vm| /'
qrc=${PIPESTATUS[0]}
t_end=$(date +%s)

sentinel=$(grep -a '^WFGUARD-VMTEST-RESULT:' "$log" | tail -n1)
echo
echo "== vmtest summary (kernel $kver, qemu ${smp}x TCG)"
grep -a '^WFGUARD-VMTEST-BIN:' "$log" | sed 's/^WFGUARD-VMTEST-BIN: /  /'
if [ -z "$sentinel" ]; then
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		die "the guest did not finish within ${timeout}s (qemu killed); see $log"
	fi
	die "the guest stopped without its result line (qemu exit $qrc: panic, crash or hang?); see $log"
fi
echo "$sentinel" >"$result_file"
echo "  $sentinel"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" ${sentinel#*:}"; }
echo "  time: $((t_end - t_begin)) s in all ($((t_ready - t_begin)) s preparing, $((t_end - t_ready)) s in qemu," \
	"$(field seconds) s of it running tests)"
summary="vmtest: $(field passed) passed, $(field failed) failed"
[ "$(field skipped)" = 0 ] || summary="$summary, $(field skipped) skipped"
echo "$summary"
if [ "$(field status)" != 0 ]; then
	# CI keeps only the tail of a run: the failed checks and their reasons go
	# last, so that the tail says what broke, not only which binary.
	echo "  failed checks (first 5):"
	grep -a '^not ok \|\[FAIL\]' "$log" | head -n 5 | cut -c1-400 | sed 's/^/    /'
	say "FAILED in the guest (kernel $kver): failed binaries: $(field failed_binaries)," \
		"modules not loaded: $(field modules_failed)"
	exit 1
fi
exit 0
