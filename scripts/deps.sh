#!/usr/bin/env bash
# Install the Debian packages wfguard needs, only those that are missing.
#   scripts/deps.sh          install what is missing (needs root and apt)
#   scripts/deps.sh --check  exit 1 and list what is missing, install nothing
set -euo pipefail

packages=(
	make gcc clang llvm pkg-config clang-format-14 # clang-format-14: make format-check
	libbpf-dev bpftool libelf-dev zlib1g-dev libpcap-dev
	libxdp-dev xdp-tools # XDP through libxdp's dispatcher; xdp-loader shares the device in tests
	libcriterion-dev libyaml-dev libjansson-dev libsvm-dev
	libclang-rt-14-dev # clang-14's sanitizer runtimes and libFuzzer (-fsanitize=fuzzer: make fuzz)
	libopenblas-dev # wfbench only: the deep attacks' matrix products (bench/attacks/nn)
	iproute2 tcpdump gnuplot-nox # the demo's observer; evaluate's plots
	wireguard-go wireguard-tools ethtool busybox-static # tunnel mode against a stock WireGuard peer
	iperf3 # make bench: TCP through the tunnel with and without wfguard
	jq # tests/net/live.sh reads wfbench live's report.json
	libopenmpi-dev openmpi-bin # wfbench over MPI ranks (docs/cluster.md, tests/cluster/mpi.sh)
	ngtcp2-server ngtcp2-client openssl # shim mode on real HTTP/3 (tests/net/quic_shim.sh)
	qemu-system-x86 busybox-static cpio xz-utils zstd # vmtest (xz, zstd: other kernels' modules)
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	echo "missing packages: ${missing[*]}"
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages (${missing[*]}); run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
