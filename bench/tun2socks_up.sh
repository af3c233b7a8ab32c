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
# T2SU_PERF (file: perf record -g of the engine in the window), T2SU_SYSC
# (file: perf stat of the engine's syscalls by type in the window),
# T2SU_STATS (prefix: synfin's counters at the window's start and end,
# PREFIX.before / .after).
set -u
SYNFIN=$(readlink -f "${SYNFIN:-build/plain/synfin}")
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${T2SU_SECS:-5}; ENG=${T2SU_ENGINE:-t2s}; MTU=${T2SU_MTU:-65000}; DIR=${T2SU_DIR:-}
TOPO=${T2SU_TOPO:-local}
case $TOPO in local) ;; gateway) MTU=1500 ;; *) echo "tun2socks_up: T2SU_TOPO is local or gateway, not $TOPO"; exit 2 ;; esac
C=t2u$$-c; E=t2u$$-e; S=t2u$$-s; VCE=t2u$$ce; VEC=t2u$$ec; VES=t2u$$es; VSE=t2u$$se; TUN=t2u$$t
tmp=$(mktemp -d /tmp/t2u.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for n in $C $E $S; do ip netns pids $n 2>/dev/null | xargs -r kill -KILL 2>/dev/null; done
  for n in $C $E $S; do ip netns del $n 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
for t in ip iperf3 cc python3; do
  command -v $t >/dev/null || { echo "tun2socks_up: missing $t (scripts/deps.sh installs it)"; exit 1; }
done
case $ENG in t2s) [ -x "$SYNFIN" ] || { echo "tun2socks_up: no synfin at $SYNFIN"; exit 1; } ;;
  kernel) for t in iptables redsocks; do command -v $t >/dev/null || { echo "tun2socks_up: missing $t"; exit 1; }; done ;;
  *) echo "tun2socks_up: T2SU_ENGINE is t2s or kernel, not $ENG"; exit 2 ;; esac
cc -O2 -pthread -o "$tmp/t2sb" "$HERE/t2s_bench.c" || exit 1
B=$tmp/t2sb
ine() { ip netns exec $E "$@"; }
ins() { ip netns exec $S "$@"; }
CL=ine
for n in $E $S; do ip netns add $n && ip netns exec $n ip link set lo up || exit 1; done
if [ "$TOPO" = gateway ]; then
  CL=inc; inc() { ip netns exec $C "$@"; }
  ip netns add $C && inc ip link set lo up || exit 1
  ine sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  ip link add $VCE netns $C type veth peer name $VEC netns $E || exit 1
  inc ip addr add 198.18.3.2/24 dev $VCE; inc ip link set $VCE up
  inc ip route add default via 198.18.3.1
  ine ip addr add 198.18.3.1/24 dev $VEC; ine ip link set $VEC up
fi
ip link add $VES netns $E type veth peer name $VSE netns $S || exit 1
ine ip addr add 198.18.1.1/24 dev $VES; ine ip link set $VES up
ins ip addr add 198.18.1.2/24 dev $VSE; ins ip link set $VSE up
ins ip addr add 198.18.2.2/32 dev lo
ins ip route add 198.18.3.0/24 via 198.18.1.1
ip netns exec $S iperf3 -s -B 198.18.2.2 -p 5201 >/dev/null 2>&1 & pids+=($!)
ip netns exec $S "$B" socks 198.18.1.2 1080 >/dev/null 2>&1 & SOCKS=$!; pids+=($!)
sleep 0.5
if [ "$ENG" = t2s ]; then
  ip netns exec $E "$SYNFIN" tun2socks --tun $TUN --mtu $MTU --ctl "$tmp/e.sock" \
    --proxy socks5://198.18.1.2:1080 ${T2SU_EXTRA:-} >"$tmp/engine.log" 2>&1 & ENGP=$!; pids+=($!)
  for _ in $(seq 50); do "$SYNFIN" ss --ctl "$tmp/e.sock" >/dev/null 2>&1 && break; sleep 0.1; done
  if [ "$TOPO" = gateway ]; then
    ine ip rule add iif $VEC lookup 100 pref 100; ine ip route add default dev $TUN table 100
  else
    ine ip route add 198.18.2.0/24 dev $TUN
  fi
else
  cat >"$tmp/rs.conf" <<EOF
base { log_debug = off; log_info = off; log = stderr; daemon = off; redirector = iptables; }
redsocks { local_ip = 0.0.0.0; local_port = 12345; ip = 198.18.1.2; port = 1080; type = socks5; }
EOF
  ip netns exec $E redsocks -c "$tmp/rs.conf" >"$tmp/engine.log" 2>&1 & ENGP=$!; pids+=($!)
  ine ip route add 198.18.2.0/24 via 198.18.1.2
  if [ "$TOPO" = gateway ]; then
    ine iptables -t nat -A PREROUTING -i $VEC -p tcp -d 198.18.2.0/24 -j REDIRECT --to-ports 12345
  else
    ine iptables -t nat -A OUTPUT -p tcp -d 198.18.2.0/24 -j REDIRECT --to-ports 12345
  fi
  sleep 0.3
fi
kill -0 $ENGP 2>/dev/null || { echo "tun2socks_up: $ENG did not start"; cat "$tmp/engine.log"; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
mach() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
stats() { [ -n "${T2SU_STATS:-}" ] && [ "$ENG" = t2s ] && "$SYNFIN" ss --ctl "$tmp/e.sock" --stats >"$1"; }
$CL iperf3 -c 198.18.2.2 -p 5201 -t $((SECS + 2)) $DIR -J >"$tmp/iperf.json" 2>/dev/null & IP=$!
sleep 1.5
[ "$ENG" = t2s ] && "$SYNFIN" ss --ctl "$tmp/e.sock" --stats >"$tmp/c0"
stats "${T2SU_STATS:-}.before"
e0=$(ticks $ENGP); s0=$(ticks $SOCKS); m0=$(mach); t0=$(date +%s.%N)
[ -n "${T2SU_SYSC:-}" ] && { perf stat -x, -o "$T2SU_SYSC" -p $ENGP -e \
  'syscalls:sys_enter_read,syscalls:sys_enter_writev,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_readv,syscalls:sys_enter_ppoll,syscalls:sys_enter_epoll_wait,context-switches' \
  sleep 3 & SCP=$!; }
[ -n "${T2SU_PERF:-}" ] && { perf record -q -F 999 -g -p $ENGP -o "$T2SU_PERF" >/dev/null 2>&1 & PP=$!; }
sleep 3
[ -n "${T2SU_PERF:-}" ] && { kill -INT $PP; wait $PP; }
[ -n "${T2SU_SYSC:-}" ] && wait $SCP
e1=$(ticks $ENGP); s1=$(ticks $SOCKS); m1=$(mach); t1=$(date +%s.%N)
[ "$ENG" = t2s ] && "$SYNFIN" ss --ctl "$tmp/e.sock" --stats >"$tmp/c1"
stats "${T2SU_STATS:-}.after"
wait $IP
python3 - "$tmp" $((e1 - e0)) $((s1 - s0)) $((m1 - m0)) $t0 $t1 "$ENG" "$DIR" <<'EOF'
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
