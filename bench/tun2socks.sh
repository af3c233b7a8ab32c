#!/usr/bin/env bash
# bench/tun2socks.sh: synfin tun2socks against the kernel path (the kernel's
# TCP + iptables REDIRECT to redsocks, sing-box's "system" stack) and
# against `synfin serve`'s proxy app (issue 12 item 7), one run, the same
# clients and servers for every engine, in two topologies:
#
#   gateway  the client in its own namespace (c), routed through the
#            engine's namespace (e); TUN MTU 1500
#   local    the client in the engine's namespace; TUN MTU $T2SB_MTU (65000)
#
#   c: 198.18.3.2 --veth-- e: 198.18.3.1 | TUN 198.18.0.1/24 (synfin .0.2)
#                          e: 198.18.1.1 --veth-- s: 198.18.1.2 (SOCKS5
#                          :1080, bench/t2s_bench.c: splice, 1 MB pipes)
#                                                  s: 198.18.2.2 on lo
#                                                  (iperf3 -s :5201,
#                                                  rr-server :7001..)
#
# Engines: t2s (synfin tun2socks --proxy socks5://198.18.1.2:1080), kernel
# (redsocks -> the same SOCKS5 server), t2s-direct (synfin tun2socks
# --direct: no SOCKS hop), serve (synfin serve --app proxy:P=198.18.2.2:P:
# one fixed port forward, no SOCKS hop; the client connects to 198.18.0.2),
# t2s-pipe (t2s with --socks-pipeline: greeting and CONNECT in one send;
# the SOCKS server then answers both in one write), t2s-nonapi (t2s with
# --no-napi-thread: the kernel's work for each TUN write in the engine's
# thread, as before 2026-12-04; T2SB_EXTRA adds
# arguments to these two and t2s-direct), hev
# (hev-socks5-tunnel, not in Debian: T2SB_HEV=path to its binary; its
# TUN MTU in local is T2SB_HEV_MTU, default 8500, its own default).
# Figures: iperf3 single stream up and down ($T2SB_SECS s each, the
# receiver's rate), connect/64 B request/64 B response/close cycles per
# second from a concurrent client ($T2SB_CONC threads, $T2SB_SECS s), CPU
# seconds per GB over both iperf3 runs (utime+stime of the engine process
# and of the SOCKS server, from /proc; the kernel's softirq work is charged
# to no process), and the engine's resident memory (VmRSS) at start and
# with $T2SB_IDLE idle flows (each after one request/response). After the
# table, per cycle: the CPU time (schedstat, all threads) and context
# switches of the engine and of the SOCKS server during the cycles.
#
# A benchmark, not a test: root; namespaces t2b<PID>-{c,e,s}, addresses in
# 198.18.0.0/15 only, deleted by name on exit. Needs ip, iptables, redsocks,
# iperf3, cc, python3 (scripts/deps.sh installs them).
# Env: SYNFIN (default build/plain/synfin), T2SB_SECS (5), T2SB_CONC (32),
# T2SB_IDLE (1000), T2SB_MTU (65000), T2SB_ENGINES ("t2s kernel t2s-direct
# serve"), T2SB_TOPOS ("gateway local"), T2SB_PERF (a path prefix: perf
# record of the engine during the iperf3 runs, and during the cycles to
# PREFIX.TOPO.ENGINE.cycles; synfin's counters after them in .stats),
# T2SB_STRACE (a path prefix: strace -c -f of the engine during the cycles
# to PREFIX.TOPO.ENGINE.strace, with the cycle count appended: syscalls
# per cycle by type; it slows the engine, so its cycles/s count for nothing),
# T2SB_SYSPERF (a path prefix: perf record -a, every core, during the
# iperf3 runs, to PREFIX.TOPO.ENGINE, and during the cycles to
# PREFIX.TOPO.ENGINE.cycles), T2SB_CYCLES_ONLY (set: no iperf3, for repeated cycle comparisons with a
# small T2SB_IDLE). --quick: 1 s, 100 idle flows.
set -u
SYNFIN=$(readlink -f "${SYNFIN:-build/plain/synfin}")
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${T2SB_SECS:-5}; CONC=${T2SB_CONC:-32}; IDLE=${T2SB_IDLE:-1000}
BIGMTU=${T2SB_MTU:-65000}
ENGINES=${T2SB_ENGINES:-t2s kernel t2s-direct serve}
TOPOS=${T2SB_TOPOS:-gateway local}
if [ "${1:-}" = --quick ]; then SECS=1; IDLE=100; fi
for t in ip iptables redsocks iperf3 cc python3; do
  command -v $t >/dev/null || { echo "tun2socks bench: missing $t (scripts/deps.sh installs it)"; exit 1; }
done
[ -x "$SYNFIN" ] || { echo "tun2socks bench: no synfin at $SYNFIN"; exit 1; }
. "$HERE/t2s_net.sh"
t2s_net_init t2b
t2s_net_up

# ---------------------------------------------------------------- servers
t2s_servers
RUNS=$(( $(echo $ENGINES | wc -w) * $(echo $TOPOS | wc -w) ))
for i in $(seq $RUNS); do  # a port per run: no run meets the last one's TIME_WAITs
  ip netns exec $S "$B" rr-server 198.18.2.2 $((7000 + i)) >/dev/null 2>&1 & pids+=($!)
done
t2s_servers_wait

# ---------------------------------------------------------------- engines
# start_ENGINE TOPO PORT: sets ENG (pid), DST (the address the client uses)
# (ip netns exec, not a shell function, before each "&": $! is the process;
# start_t2s and start_kernel are bench/t2s_net.sh's)
start_t2s-direct() { start_t2s "$1" "$2" --direct --fwmark 0x5f ${T2SB_EXTRA:-}; }
start_t2s-nonapi() { start_t2s "$1" "$2" --proxy socks5://198.18.1.2:1080 --no-napi-thread ${T2SB_EXTRA:-}; }
start_t2s-pipe() { start_t2s "$1" "$2" --proxy socks5://198.18.1.2:1080 --socks-pipeline ${T2SB_EXTRA:-}; }
start_hev() { # TOPO PORT: hev-socks5-tunnel ($T2SB_HEV), the same SOCKS server
  [ -x "${T2SB_HEV:-}" ] || { echo "hev: set T2SB_HEV to a hev-socks5-tunnel binary" >"$tmp/engine.log"; ENG=""; return; }
  local mtu=1500; [ "$1" = local ] && mtu=${T2SB_HEV_MTU:-8500}
  cat >"$tmp/hev.yml" <<EOF
tunnel:
  name: $TUN
  mtu: $mtu
  multi-queue: false
  ipv4: 198.18.0.1
socks5:
  port: 1080
  address: 198.18.1.2
  udp: 'udp'
misc:
  log-level: warn
  limit-nofile: 65535
EOF
  ip netns exec $E "$T2SB_HEV" "$tmp/hev.yml" >"$tmp/engine.log" 2>&1 & ENG=$!; pids+=($!)
  for _ in $(seq 50); do ine ip link show $TUN >/dev/null 2>&1 && break; sleep 0.1; done
  ine ip link set $TUN up 2>/dev/null
  if [ "$1" = gateway ]; then
    ine ip rule add iif $VEC lookup 100 pref 100
    ine ip route add default dev $TUN table 100
  else
    ine ip route add 198.18.2.0/24 dev $TUN
  fi
  sleep 0.3
  DST=198.18.2.2
}
start_serve() { # TOPO PORT: proxy apps for iperf3 and the run's rr port
  local mtu=1500; [ "$1" = local ] && mtu=$BIGMTU
  ip netns exec $E "$SYNFIN" serve --tun $TUN --mtu $mtu --ctl "$tmp/e.sock" \
    --app proxy:5201=198.18.2.2:5201 --app proxy:$2=198.18.2.2:$2 \
    >"$tmp/engine.log" 2>&1 & ENG=$!; pids+=($!)
  for _ in $(seq 50); do "$SYNFIN" ss --ctl "$tmp/e.sock" >/dev/null 2>&1 && break; sleep 0.1; done
  ine ip route add 198.18.2.0/24 via 198.18.1.2
  DST=198.18.0.2
}
stop_engine() {
  kill -TERM "$ENG" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$ENG" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$ENG" 2>/dev/null
  ine iptables -t nat -F 2>/dev/null
  ine ip rule del pref 100 2>/dev/null
  ine ip route flush table 100 2>/dev/null
  ine ip route del 198.18.2.0/24 2>/dev/null
  sleep 0.5
}

# context switches of a process and its threads (each a sleep and a wake-up)
csw() { cat /proc/$1/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n + 0}'; }
# CPU time of a process and its threads, ns (schedstat: finer than ticks)
cpu_ns() { cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{n += $1} END {printf "%.0f", n}'; }
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null; }
iperf() { # NS DST [-R]: prints "BYTES BPS"
  ip netns exec "$1" timeout $((SECS + 20)) iperf3 -c "$2" -p 5201 -t "$SECS" ${3:-} -J 2>/dev/null |
    python3 -c 'import json, sys
try:
    j = json.load(sys.stdin)["end"]["sum_received"]; print(int(j["bytes"]), int(j["bits_per_second"]))
except Exception:
    print(0, 0)'
}

printf "%-9s %-10s %6s %6s %8s %7s %8s %6s %6s %6s\n" topo engine "up" "down" "cycles/s" \
  "cyc%cpu" "eng s/GB" "socks" "RSS0" "RSS${IDLE}"
rows=(); wks=(); mks=()
run=0
for topo in $TOPOS; do
  CL=inc; NS=$C; [ "$topo" = local ] && { CL=ine; NS=$E; }
  for eng in $ENGINES; do
    run=$((run + 1)); port=$((7000 + run))
    start_$eng $topo $port
    if ! kill -0 "$ENG" 2>/dev/null; then echo "$topo $eng: did not start"; cat "$tmp/engine.log"; continue; fi
    # idle flows first, on a fresh engine
    rss0=$(rss_mb $ENG)
    mkfifo "$tmp/hold"
    ip netns exec $NS "$B" idle $DST $port $IDLE 120 <"$tmp/hold" >"$tmp/idle.out" 2>&1 & ip_=$!
    exec 7>"$tmp/hold"
    for _ in $(seq 600); do grep -q ready "$tmp/idle.out" && break; sleep 0.1; done
    sleep 1
    rssn=$(rss_mb $ENG); ready=$(awk '/ready/ {print $2}' "$tmp/idle.out")
    exec 7>&-; wait $ip_ 2>/dev/null; rm -f "$tmp/hold"
    sleep 1
    e0=$(ticks $ENG); s0=$(ticks $SOCKS); w0=$(csw $ENG); ws0=$(csw $SOCKS); n0=$(cpu_ns $ENG); ns0=$(cpu_ns $SOCKS)
    m0=$(mach_ticks)
    if [ -n "${T2SB_PERF:-}" ]; then  # a profile of the engine during the cycles
      perf record -q -F 499 -g -p "$ENG" -o "$T2SB_PERF.$topo.$eng.cycles" >/dev/null 2>&1 & perfp=$!
    fi
    if [ -n "${T2SB_SYSPERF:-}" ]; then  # every core during the cycles
      perf record -q -a -F 499 -g -o "$T2SB_SYSPERF.$topo.$eng.cycles" >/dev/null 2>&1 & csperfp=$!
    fi
    if [ -n "${T2SB_STRACE:-}" ]; then  # syscalls of the engine during the cycles
      strace -c -f -q -p "$ENG" -o "$T2SB_STRACE.$topo.$eng.strace" >/dev/null 2>&1 & stp=$!
      sleep 0.5
    fi
    cout=$($CL "$B" cycles $DST $port $CONC $SECS)
    mcyc=$(( $(mach_ticks) - m0 ))
    cyc=$(echo "$cout" | awk '{print $6 ($8 > 0 ? "(" $8 "err)" : "")}')
    wk=$(echo "$cout" | awk -v t=$topo -v e=$eng -v w=$(( $(csw $ENG) - w0 )) -v ws=$(( $(csw $SOCKS) - ws0 )) \
      -v c=$(( $(cpu_ns $ENG) - n0 )) -v cs=$(( $(cpu_ns $SOCKS) - ns0 )) \
      '{n = $2 > 0 ? $2 : 1; printf "# %s %s a cycle: engine %.0f us CPU, %.1f context switches; SOCKS server %.0f us, %.1f", t, e, c / n / 1000, w / n, cs / n / 1000, ws / n}')
    wks+=("$wk")
    [ -n "${T2SB_STRACE:-}" ] && { kill -INT $stp; wait $stp 2>/dev/null
      echo "# $cout" >>"$T2SB_STRACE.$topo.$eng.strace"; }
    e1=$(ticks $ENG); s1=$(ticks $SOCKS)
    [ -n "${T2SB_SYSPERF:-}" ] && { kill -INT $csperfp; wait $csperfp 2>/dev/null; }
    [ -n "${T2SB_PERF:-}" ] && { kill -INT $perfp; wait $perfp 2>/dev/null
      "$SYNFIN" ss --ctl "$tmp/e.sock" --stats >"$T2SB_PERF.$topo.$eng.stats" 2>/dev/null; }
    ccpu="$(( (e1 - e0) / SECS ))/$(( (s1 - s0) / SECS ))"
    e0=$(ticks $ENG); s0=$(ticks $SOCKS); m0=$(mach_ticks)
    if [ -n "${T2SB_PERF:-}" ] && [ -z "${T2SB_CYCLES_ONLY:-}" ]; then  # a profile of the engine during iperf3
      perf record -q -F 499 --call-graph dwarf,16384 -p "$ENG" -o "$T2SB_PERF.$topo.$eng" >/dev/null 2>&1 & perfp=$!
    fi
    if [ -n "${T2SB_SYSPERF:-}" ] && [ -z "${T2SB_CYCLES_ONLY:-}" ]; then  # every core during iperf3
      perf record -q -a -F 499 -g -o "$T2SB_SYSPERF.$topo.$eng" >/dev/null 2>&1 & sperfp=$!
    fi
    if [ -n "${T2SB_CYCLES_ONLY:-}" ]; then bu=0 up=0 bd=0 down=0; else
      read -r bu up < <(iperf $NS $DST)
      read -r bd down < <(iperf $NS $DST -R)
    fi
    e1=$(ticks $ENG); s1=$(ticks $SOCKS); miperf=$(( $(mach_ticks) - m0 ))
    [ -n "${T2SB_PERF:-}" ] && [ -z "${T2SB_CYCLES_ONLY:-}" ] && { kill -INT $perfp; wait $perfp 2>/dev/null; }
    [ -n "${T2SB_SYSPERF:-}" ] && [ -z "${T2SB_CYCLES_ONLY:-}" ] && { kill -INT $sperfp; wait $sperfp 2>/dev/null; }
    mks+=("$(awk -v t=$topo -v e=$eng -v mc=$mcyc -v mi=$miperf -v cy="$cout" -v b=$((bu + bd)) -v s=$SECS 'BEGIN {
      split(cy, f, " "); n = f[2] > 0 ? f[2] : 1; gb = b / 1e9
      printf "# %s %s the machine (all cores, /proc/stat): %.0f us CPU a cycle, %.2f cores busy during the cycles", t, e, mc * 1e4 / n, mc / 100 / s
      if (gb > 0) printf "; %.2f s CPU per GB, %.2f cores busy, during iperf3", mi / 100 / gb, mi / 100 / (2 * s)
      }')")
    row=$(awk -v t=$topo -v e=$eng -v up=$up -v dn=$down -v cy="$cyc" -v b=$((bu + bd)) \
      -v cc="$ccpu" -v ec=$((e1 - e0)) -v sc=$((s1 - s0)) -v r0="$rss0" -v rn="$rssn" -v ok="${ready:-0}" -v n=$IDLE 'BEGIN {
        gb = b / 1e9; if (gb <= 0) gb = 1e-9
        sock = (e ~ /direct|serve/) ? "-" : sprintf("%.2f", sc / 100 / gb)
        if (e ~ /direct|serve/) sub("/.*", "/-", cc)
        printf "%-9s %-10s %6.2f %6.2f %8s %7s %8.2f %6s %6s %6s%s\n", t, e, up / 1e9, dn / 1e9, cy, cc,
          ec / 100 / gb, sock, r0, rn, (ok == n ? "" : " (" ok " of " n " idle flows)") }')
    echo "$row"; rows+=("$row")
    stop_engine
  done
done
printf '%s\n' "${wks[@]}"
printf '%s\n' "${mks[@]}"
echo "# up/down: iperf3 single stream, Gbit/s (receiver, $SECS s); cycles/s: $CONC concurrent"
echo "# clients for $SECS s; cyc%cpu: the engine's and SOCKS server's CPU during them (% of a core)"
echo "# s/GB: CPU seconds (user+sys) per GB moved over both iperf3"
echo "# runs, the engine's (kernel: redsocks') and the SOCKS server's; RSS in MB, at"
echo "# start and with $IDLE idle flows (kernel: redsocks' own; its state is in the kernel)"
