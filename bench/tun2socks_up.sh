#!/usr/bin/env bash
# bench/tun2socks_up.sh: one iperf3 stream through synfin tun2socks (or the
# kernel path) in a topology of bench/tun2socks.sh, with probes over a 3 s
# window in its middle: where an upload's CPU goes per byte and per
# syscall (bench/README.md, tun2socks, "the upload").
#
#   local:   e: the client (iperf3 -c) and the engine; TUN MTU $T2SU_MTU
#   gateway: c: 198.18.3.2 --veth-- e: 198.18.3.1, routed into the TUN
#            (MTU 1500) or REDIRECTed to redsocks
#   e: 198.18.1.1 --veth-- s: 198.18.1.2 (SOCKS5 :1080, bench/t2s_bench.c)
#                          s: 198.18.2.2 on lo (iperf3 -s :5201)
#
# One line: the receiver's rate (whole run and the window), the CPU of the
# engine, the SOCKS server and the whole machine (/proc/stat, every core)
# in the window, each per GB moved; for t2s from synfin's counters: the
# share of bytes sent upstream straight from the device's read
# (DIRECT_DELIVERED), bytes per TUN read, TUN writes per read.
#
# A benchmark, not a test: root; namespaces t2u<PID>-{c,e,s}, addresses in
# 198.18.0.0/15 only, deleted by name on exit. Needs ip, iptables,
# redsocks, iperf3, cc, python3, perf for T2SU_PERF/T2SU_SYSC.
# Env: SYNFIN (build/plain/synfin), T2SU_ENGINE (t2s | kernel), T2SU_SECS
# (5: iperf3 runs SECS + 2 s, the window is 1.5 s in), T2SU_DIR (-R: a
# download), T2SU_TOPO (local | gateway), T2SU_MTU (65000, local),
# T2SU_EXTRA (more tun2socks arguments),
# T2SU_PERF (file: perf record -g of the engine in the window; T2SU_PERF_CG
# replaces -g, e.g. "--call-graph dwarf,16384"), T2SU_SYSC
# (file: perf stat of the engine's syscalls by type in the window),
# T2SU_STATS (prefix: synfin's counters at the window's start and end,
# PREFIX.before / .after).
set -u
SYNFIN=$(readlink -f "${SYNFIN:-build/plain/synfin}")
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${T2SU_SECS:-5}; ENGINE=${T2SU_ENGINE:-t2s}; BIGMTU=${T2SU_MTU:-65000}; DIR=${T2SU_DIR:-}
TOPO=${T2SU_TOPO:-local}
case $TOPO in local|gateway) ;; *) echo "tun2socks_up: T2SU_TOPO is local or gateway, not $TOPO"; exit 2 ;; esac
for t in ip iperf3 cc python3; do
  command -v $t >/dev/null || { echo "tun2socks_up: missing $t (scripts/deps.sh installs it)"; exit 1; }
done
case $ENGINE in t2s) [ -x "$SYNFIN" ] || { echo "tun2socks_up: no synfin at $SYNFIN"; exit 1; } ;;
  kernel) for t in iptables redsocks; do command -v $t >/dev/null || { echo "tun2socks_up: missing $t"; exit 1; }; done ;;
  *) echo "tun2socks_up: T2SU_ENGINE is t2s or kernel, not $ENGINE"; exit 2 ;; esac
. "$HERE/t2s_net.sh"
t2s_net_init t2u
t2s_net_up
t2s_servers
t2s_servers_wait
CL=ine; [ "$TOPO" = gateway ] && CL=inc
if [ "$ENGINE" = t2s ]; then
  start_t2s "$TOPO" 0 --proxy socks5://198.18.1.2:1080 ${T2SU_EXTRA:-}
else
  start_kernel "$TOPO" 0
fi
kill -0 $ENG 2>/dev/null || { echo "tun2socks_up: $ENGINE did not start"; cat "$tmp/engine.log"; exit 1; }
stats() { [ -n "${T2SU_STATS:-}" ] && [ "$ENGINE" = t2s ] && "$SYNFIN" ss --ctl "$tmp/e.sock" --stats >"$1"; }
$CL iperf3 -c 198.18.2.2 -p 5201 -t $((SECS + 2)) $DIR -J >"$tmp/iperf.json" 2>/dev/null & IP=$!
sleep 1.5
[ "$ENGINE" = t2s ] && "$SYNFIN" ss --ctl "$tmp/e.sock" --stats >"$tmp/c0"
stats "${T2SU_STATS:-}.before"
e0=$(ticks $ENG); s0=$(ticks $SOCKS); m0=$(mach_ticks); t0=$(date +%s.%N)
[ -n "${T2SU_SYSC:-}" ] && { perf stat -x, -o "$T2SU_SYSC" -p $ENG -e \
  'syscalls:sys_enter_read,syscalls:sys_enter_writev,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_readv,syscalls:sys_enter_ppoll,syscalls:sys_enter_epoll_wait,context-switches' \
  sleep 3 & SCP=$!; }
[ -n "${T2SU_PERF:-}" ] && { perf record -q -F 999 ${T2SU_PERF_CG:--g} -p $ENG -o "$T2SU_PERF" >/dev/null 2>&1 & PP=$!; }
sleep 3
[ -n "${T2SU_PERF:-}" ] && { kill -INT $PP; wait $PP; }
[ -n "${T2SU_SYSC:-}" ] && wait $SCP
e1=$(ticks $ENG); s1=$(ticks $SOCKS); m1=$(mach_ticks); t1=$(date +%s.%N)
[ "$ENGINE" = t2s ] && "$SYNFIN" ss --ctl "$tmp/e.sock" --stats >"$tmp/c1"
stats "${T2SU_STATS:-}.after"
wait $IP
python3 - "$tmp" $((e1 - e0)) $((s1 - s0)) $((m1 - m0)) $t0 $t1 "$ENGINE" "$DIR" <<'EOF'
import json, os, sys
tmp, et, st_, mt, t0, t1, eng = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
down = sys.argv[8] == "-R"
try:
    j = json.load(open(tmp + "/iperf.json"))
    rate = j["end"]["sum_received"]["bits_per_second"] / 1e9
except Exception:
    print("iperf3 failed"); sys.exit(1)
start = j["start"]["timestamp"]["timesecs"]
b = 0.0  # bytes in the window, from iperf3's 1 s intervals
for i in j["intervals"]:
    a, z = start + i["sum"]["start"], start + i["sum"]["end"]
    b += i["sum"]["bytes"] * max(0.0, min(z, t1) - max(a, t0)) / (z - a)
d = t1 - t0
ctr = {}
if eng == "t2s":
    for k, f in (("0", "c0"), ("1", "c1")):
        for line in open(os.path.join(tmp, f)):
            p = line.split()
            if len(p) == 2:
                ctr.setdefault(p[0], [0, 0])["01".index(k)] = float(p[1])
    dc = lambda n: ctr.get(n, [0, 0])[1] - ctr.get(n, [0, 0])[0]
    moved = dc("t2s.bytes_up") + dc("t2s.bytes_down")
    if moved > 0:
        b = moved  # synfin's own count of the window's bytes
gb = b / 1e9 if b > 0 else 1e-9
out = "%s: %.2f Gbit/s (window %.2f); CPU engine %.0f%% SOCKS %.0f%% machine %.2f cores; s/GB engine %.3f SOCKS %.3f machine %.3f" % (
    eng, rate, b * 8 / d / 1e9, et / d, st_ / d, mt / 100 / d, et / 100 / gb, st_ / 100 / gb, mt / 100 / gb)
if eng == "t2s" and down and dc("tun.tx") > 0:
    out += "; %.1f KB a TUN write, %.2f TUN reads a write" % (dc("tun.tx_bytes") / dc("tun.tx") / 1024, dc("tun.rx") / dc("tun.tx"))
elif eng == "t2s" and dc("tun.rx") > 0:
    up = dc("t2s.bytes_up")
    out += "; direct %.0f%%, %.1f KB a TUN read, %.2f TUN writes a read" % (
        100 * dc("DIRECT_DELIVERED") / up if up else 0, dc("tun.rx_bytes") / dc("tun.rx") / 1024, dc("tun.tx") / dc("tun.rx"))
print(out)
EOF
