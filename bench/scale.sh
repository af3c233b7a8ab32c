#!/usr/bin/env bash
# bench/scale.sh: one stack per core (issue 15, docs/scale.md). Echo
# throughput and connection lifecycles per second of `synfin serve
# --threads N` on a multi-queue TUN device, for each N in SCALE_THREADS,
# beside the kernel's TCP over a veth pair, in the same run with the same
# load (bench/scale_load.c: one epoll process per load, kernel sockets).
# Each line also gives the CPU the server used (user + system, in cores:
# CPU seconds over wall seconds) and the rate per core of it, so that a
# machine whose cores are shared with the load still shows how far each
# stack is from its own core's limit.
#
# Then how the kernel steers a multi-queue TUN device without synfin's
# steering program (--steer-kernel): connections opened by `synfin connect
# --threads 2` whose kernel peer answers only after 4 s of silence (the
# kernel's flow table forgets a flow after 3 s without a write from its
# queue), counted by where the late answer landed.
#
# A benchmark, not a test. Root; namespaces sfs<PID>-*; addresses in
# 198.18.0.0/15. Env: SYNFIN (default build/synfin), SCALE_SECS (5),
# SCALE_THREADS ("1 2"), SCALE_ECHO_CONNS (8), SCALE_CYCLE_CONNS (64),
# SCALE_LOADS (load processes, 1), SCALE_STEER_RUNS (4; 0 skips it).
# Wider (N cores): SCALE_THREADS="1 2 4 8" SCALE_LOADS=4 on a machine with
# at least N + LOADS cores, the loads pinned away from the stacks
# (SCALE_LOAD_CPUS="8-11" runs them under taskset).
set -u
SYNFIN=$(readlink -f "${SYNFIN:-build/synfin}")
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${SCALE_SECS:-5}; THREADS=${SCALE_THREADS:-"1 2"}
ECONNS=${SCALE_ECHO_CONNS:-8}; CCONNS=${SCALE_CYCLE_CONNS:-64}
LOADS=${SCALE_LOADS:-1}; STEER_RUNS=${SCALE_STEER_RUNS:-4}
LOADCPU=${SCALE_LOAD_CPUS:-}
A=sfs$$-a; B=sfs$$-b; T=sfs$$-t; L=sfs$$-l
tmp=$(mktemp -d /tmp/sfs.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3
            for n in $A $B $T $L; do ip netns del $n 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
cc -O2 -o "$tmp/load" "$HERE/scale_load.c" || exit 1
for n in $A $B $T; do
  ip netns add $n && ip netns exec $n ip link set lo up || exit 1
  # the load closes first: TIME_WAIT on its side, reused (timestamps on)
  ip netns exec $n sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
done
ip link add sfs$$x type veth peer name sfs$$y || exit 1
ip link set sfs$$x netns $A; ip link set sfs$$y netns $B
ip netns exec $A ip addr add 198.19.10.1/24 dev sfs$$x; ip netns exec $A ip link set sfs$$x up
ip netns exec $B ip addr add 198.19.10.2/24 dev sfs$$y; ip netns exec $B ip link set sfs$$y up

cpu_ticks() { # PID: user + system ticks of the process, all its threads
  awk '{print $14 + $15}' "/proc/$1/stat"
}
# load NS MODE HOST CONNS: LOADS processes for SECS; prints the summed rate
load() {
  local ns=$1 mode=$2 host=$3 conns=$4 i
  local tset=""; [ -n "$LOADCPU" ] && tset="taskset -c $LOADCPU"
  for i in $(seq "$LOADS"); do
    ip netns exec "$ns" $tset "$tmp/load" "$mode" "$host" 7 "$conns" "$SECS" >"$tmp/load$i.out" 2>&1 &
  done
  wait
  awk '{s += $2} END {printf "%.0f", s}' "$tmp"/load*.out
  grep -h -v "^$mode" "$tmp"/load*.out >&2
}
HZ=$(getconf CLK_TCK)
# measure NAME NS HOST SERVER-PID: one table line
measure() {
  local name=$1 ns=$2 host=$3 pid=$4 c0 c1 e y ce cy
  c0=$(cpu_ticks "$pid"); e=$(load "$ns" echo "$host" "$ECONNS"); c1=$(cpu_ticks "$pid")
  ce=$(awk -v t=$((c1 - c0)) -v h="$HZ" -v s="$SECS" 'BEGIN{printf "%.2f", t / h / s}')
  c0=$(cpu_ticks "$pid"); y=$(load "$ns" cycles "$host" "$CCONNS"); c1=$(cpu_ticks "$pid")
  cy=$(awk -v t=$((c1 - c0)) -v h="$HZ" -v s="$SECS" 'BEGIN{printf "%.2f", t / h / s}')
  printf "%-24s %9s %6s %9s   %9s %6s %9s\n" "$name" "$e" "$ce" \
    "$(awk -v r="$e" -v c="$ce" 'BEGIN{printf "%.0f", (c > 0) ? r / c : 0}')" "$y" "$cy" \
    "$(awk -v r="$y" -v c="$cy" 'BEGIN{printf "%.0f", (c > 0) ? r / c : 0}')"
  echo "$name $e $y" >>"$tmp/rows"
}

echo "== scale: $SECS s per figure, echo over $ECONNS connections, lifecycles over $CCONNS, $LOADS load process(es); $(nproc) cores"
printf "%-24s %9s %6s %9s   %9s %6s %9s\n" "" "echo" "server" "Mbit/s" "cycles" "server" "cycles/s"
printf "%-24s %9s %6s %9s   %9s %6s %9s\n" "" "Mbit/s" "cores" "per core" "per s" "cores" "per core"
ip netns exec $B "$tmp/load" serve 198.19.10.2 7 >"$tmp/ksrv.out" 2>&1 & kp=$!; pids+=($kp)
sleep 0.5
measure "kernel veth" $A 198.19.10.2 "$(pgrep -P $kp -x load || echo $kp)"
for n in $THREADS; do
  ip netns exec $T "$SYNFIN" serve --tun sf0 --threads "$n" --app echo:7 \
    --ctl "$tmp/sf.sock" 2>"$tmp/sf.log" & sp=$!; pids+=($sp)
  for _ in $(seq 50); do [ -S "$tmp/sf.sock" ] && break; sleep 0.1; done
  # the synfin process itself (ip netns exec execs it: same pid)
  measure "synfin TUN $n thread(s)" $T 198.18.0.2 "$sp"
  kill -TERM "$sp"; wait "$sp" 2>/dev/null; rm -f "$tmp"/sf.sock*
done
one=$(awk '$1 == "synfin" && $3 == 1 {print $(NF-1), $NF}' "$tmp/rows")
while read -r _ _ n e y; do
  [ "$n" = 1 ] && continue
  set -- $one
  echo "synfin $n threads / 1 thread: echo $(awk -v a="$e" -v b="$1" 'BEGIN{printf "%.2f", (b > 0) ? a / b : 0}')x, lifecycles $(awk -v a="$y" -v b="$2" 'BEGIN{printf "%.2f", (b > 0) ? a / b : 0}')x"
done < <(grep '^synfin' "$tmp/rows" | sed 's/thread(s)//')

[ "$STEER_RUNS" -gt 0 ] || exit 0
echo
echo "== where late answers land: connect --threads 2, the kernel peer answering after 4 s of silence ($STEER_RUNS runs, 2 connections each)"
late='
import socket, sys, threading, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 9100)); ls.listen(64); print("listening", flush=True)
def serve(c):
    b = c.recv(1000); time.sleep(4); c.sendall(b); c.close()
while True:
    c, _ = ls.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()'
ip netns add $L && ip netns exec $L ip link set lo up || exit 1
ip netns exec $L python3 -c "$late" >"$tmp/late.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/late.log" && break; sleep 0.1; done
for mode in --steer-kernel ""; do
  ok=0; lost=0
  runs=$STEER_RUNS; [ -z "$mode" ] && runs=$(( (STEER_RUNS + 1) / 2 ))
  for _ in $(seq "$runs"); do
    ip netns exec $L timeout 20 "$SYNFIN" connect --tun sf1 --threads 2 $mode -q \
      --ctl "$tmp/lc.sock" --send-bytes 100 198.18.0.1 9100 2>"$tmp/lc.log"
    ok=$((ok + $(grep -c 'received 100 bytes (pattern intact)' "$tmp/lc.log")))
    lost=$((lost + $(grep -c 'received 0 bytes' "$tmp/lc.log")))
    grep -h "thread [01]:" "$tmp/lc.log" | sed 's/^synfin connect: /    /' >&2
  done
  echo "${mode:---steering program (default)}: $ok connections got their late answer, $lost lost it to the other queue (counted there as tun.rx_wrong_queue)"
done
