#!/usr/bin/env bash
# Installs what synfin's build and tests need on Debian 12, when missing.
# Safe to run again: it only calls apt-get for packages not yet installed.
set -euo pipefail
pkgs=(build-essential clang libclang-rt-14-dev libpcap-dev tshark libxml2-utils
      iproute2 python3 netcat-openbsd liblwip-dev tcpdump pkg-config iperf3)
# the TCP lab (tools/synfin/lab, tests/lab): the page's sources made C
# arrays, the simulator as WebAssembly (clang's wasm32-wasi), node for the
# byte-for-byte test, headless Chromium (and a Chinese font) for the browser test
pkgs+=(xxd nodejs wasi-libc lld-14 libclang-rt-14-dev-wasm32 chromium fonts-wqy-microhei)
# (long runs' events gzip-compressed in the page)
pkgs+=(zlib1g-dev)
# synfin tun2socks (tests/t2s): SOCKS5 servers, clients, DNS
pkgs+=(microsocks dante-server curl openssl dnsmasq-base dnsutils)
# bench/tun2socks.sh: the kernel path (iptables REDIRECT to redsocks)
pkgs+=(iptables redsocks)
# AF_XDP (src/link/xdp.c, tests/xdp, bench/xdp.sh): libxdp and libbpf for the
# synfin tool, clang's bpf target (in clang) for the XDP program, ethtool
# to turn the veth peer's checksum offload off, xdp-tools to look at it
pkgs+=(libxdp-dev libbpf-dev xdp-tools ethtool)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo 'wireshark-common wireshark-common/install-setuid boolean false' | $SUDO debconf-set-selections 2>/dev/null || true
# iperf3 (the interop suite's throughput case) asks whether to start a daemon
echo 'iperf3 iperf3/start_daemon boolean false' | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
