#!/usr/bin/env bash
# bench/scale.sh: one stack per core (issue 15, docs/scale.md). Echo
# throughput and connection lifecycles per second of `synfin serve
# --threads N` on a multi-queue TUN device, for each N in SCALE_THREADS,
# beside the kernel's TCP over a veth pair, in the same run with the same
# load (bench/scale_load.c: one epoll process per load, kernel sockets).
# Each line also gives the CPU the server used (user + system, in cores:
# CPU seconds over wall seconds) and the rate per core of it, so that a
# machine whose cores are shared with the load still shows how far each
# stack is from its own core's limit. "run-q cores" (echo): the time the
# server's threads spent runnable but waiting for a core, over the wall
# time (/proc/PID/task/*/schedstat): CPU it wanted and did not get.
#
# Then the same over AF_XDP (docs/xdp.md): `synfin serve --xdp IFACE
# --queues N` for each N in SCALE_XDP_QUEUES, on a veth pair with that
# many queues each way, beside the kernel's TCP over that same pair (its
# client end's checksum offload off, as AF_XDP on a veth needs, so the
# kernel row is measured so too). A veth delivers on the RX queue numbered
# as the sender's TX queue: the client end gets N TX queues (ethtool -L)
# for the N-queue row, and net.core.txrehash=0 so a flow keeps its queue.
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
# SCALE_LOADS (load processes, 1), SCALE_STEER_RUNS (4; 0 skips it),
# SCALE_XDP_QUEUES ("1 2"; "" skips AF_XDP), SCALE_CONNECT_MB (100: the
# active opens over AF_XDP, `connect --xdp --queues N`; 0 skips them).
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
XDPQ=${SCALE_XDP_QUEUES-"1 2"}
A=sfs$$-a; B=sfs$$-b; T=sfs$$-t; L=sfs$$-l; X=sfs$$-x; Y=sfs$$-y
tmp=$(mktemp -d /tmp/sfs.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3
            for n in $A $B $T $L $X $Y; do ip netns del $n 2>/dev/null; done; rm -rf "$tmp"; }
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
run_delay() { # PID: ns its threads spent runnable but waiting for a core
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {printf "%.0f", s}'
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
  local w0 w1 we
  c0=$(cpu_ticks "$pid"); w0=$(run_delay "$pid")
  e=$(load "$ns" echo "$host" "$ECONNS")
  c1=$(cpu_ticks "$pid"); w1=$(run_delay "$pid")
  ce=$(awk -v t=$((c1 - c0)) -v h="$HZ" -v s="$SECS" 'BEGIN{printf "%.2f", t / h / s}')
  we=$(awk -v w=$((w1 - w0)) -v s="$SECS" 'BEGIN{printf "%.2f", w / 1e9 / s}')
  c0=$(cpu_ticks "$pid"); y=$(load "$ns" cycles "$host" "$CCONNS"); c1=$(cpu_ticks "$pid")
  cy=$(awk -v t=$((c1 - c0)) -v h="$HZ" -v s="$SECS" 'BEGIN{printf "%.2f", t / h / s}')
  printf "%-24s %9s %6s %6s %9s   %9s %6s %9s\n" "$name" "$e" "$ce" "$we" \
    "$(awk -v r="$e" -v c="$ce" 'BEGIN{printf "%.0f", (c > 0) ? r / c : 0}')" "$y" "$cy" \
    "$(awk -v r="$y" -v c="$cy" 'BEGIN{printf "%.0f", (c > 0) ? r / c : 0}')"
  echo "$name $e $y" >>"$tmp/rows"
}

echo "== scale: $SECS s per figure, echo over $ECONNS connections, lifecycles over $CCONNS, $LOADS load process(es); $(nproc) cores"
printf "%-24s %9s %6s %6s %9s   %9s %6s %9s\n" "" "echo" "server" "run-q" "Mbit/s" "cycles" "server" "cycles/s"
printf "%-24s %9s %6s %6s %9s   %9s %6s %9s\n" "" "Mbit/s" "cores" "cores" "per core" "per s" "cores" "per core"
# (SIGPIPE ignored, across exec: a load closing with echo data in flight
# must not end the server)
ip netns exec $B bash -c "trap '' PIPE; exec '$tmp/load' serve 198.19.10.2 7" >"$tmp/ksrv.out" 2>&1 & kp=$!; pids+=($kp)
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
if [ -n "$XDPQ" ]; then
  nq=1; for n in $XDPQ; do [ "$n" -gt "$nq" ] && nq=$n; done
  for n in $X $Y; do
    ip netns add $n && ip netns exec $n ip link set lo up || exit 1
  done
  ip netns exec $X sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000" \
    net.core.txrehash=0
  ip -n $X link add sfs$$p numrxqueues "$nq" numtxqueues "$nq" type veth peer name sfs$$q \
    numrxqueues "$nq" numtxqueues "$nq" || exit 1
  ip -n $X link set sfs$$q netns $Y || exit 1
  ip -n $X addr add 198.19.11.1/24 dev sfs$$p && ip -n $X link set sfs$$p up || exit 1
  ip -n $Y addr add 198.19.11.3/24 dev sfs$$q && ip -n $Y link set sfs$$q up || exit 1
  ip netns exec $X ethtool -K sfs$$p tx off >/dev/null || exit 1
  ip netns exec $Y bash -c "trap '' PIPE; exec '$tmp/load' serve 198.19.11.3 7" >"$tmp/ksrv2.out" 2>&1 & kp2=$!; pids+=($kp2)
  sleep 0.5
  measure "kernel veth $nq q, csum off" $X 198.19.11.3 "$kp2"
  kill "$kp2"; wait "$kp2" 2>/dev/null
  for n in $XDPQ; do
    ip netns exec $X ethtool -L sfs$$p tx "$n" >/dev/null || exit 1
    ip netns exec $Y "$SYNFIN" serve --xdp sfs$$q --addr 198.19.11.2 --queues "$n" \
      --app echo:7 --ctl "$tmp/sx.sock" 2>"$tmp/sx.log" & sp=$!; pids+=($sp)
    for _ in $(seq 50); do [ -S "$tmp/sx.sock" ] && break; sleep 0.1; done
    measure "synfin AF_XDP $n queue(s)" $X 198.19.11.2 "$sp"
    for k in $(seq 0 $((n - 1))); do
      sfx=""; [ "$k" -gt 0 ] && sfx=".$k"
      "$SYNFIN" ss --ctl "$tmp/sx.sock$sfx" --stats |
        awk -v k="$k" '$1 ~ /^(PASSIVE_OPENS|RETRANSMITS|TLP_PROBES|DSACK_IN|xdp.rx|xdp.tx_full|xdp.tx_dropped|xdp.k_rx_dropped|xdp.handoff_full)$/ {s = s " " $1 " " $2}
                       END {print "    queue " k ":" s}' >&2
    done
    kill -TERM "$sp"; wait "$sp" 2>/dev/null; rm -f "$tmp"/sx.sock*
  done
  # Active opens (docs/xdp.md "Active opens"): the kernel's echo server in
  # X, and from Y N connections at once, one per thread of `synfin connect
  # --xdp --queues N` (each SCALE_CONNECT_MB each way, its own pattern
  # checked by its own stack), beside N kernel clients (kpeer.py) from Y's
  # kernel address over the same pair; Mbit/s each way summed: all the
  # bytes over the longest connection's time (handshake to the server's
  # FIN). The server's port is outside X's ephemeral range (1024-65000:
  # the loads above leave their ports in TIME_WAIT). SCALE_CONNECT_MB=0
  # skips it.
  CMB=${SCALE_CONNECT_MB:-100}
  if [ "$CMB" -gt 0 ] && "$SYNFIN" connect --help 2>&1 | grep -q -- --xdp; then
    ip netns exec $X python3 "$HERE/../tests/interop/kpeer.py" serve-echo-many 198.19.11.1 65100 \
      >"$tmp/kecho.out" 2>&1 & pids+=($!)
    for _ in $(seq 100); do grep -q listening "$tmp/kecho.out" && break; sleep 0.1; done
    echo "== active opens over AF_XDP: N connections at once, $CMB MB each way each; Mbit/s each way, summed"
    for n in $XDPQ; do
      ip netns exec $X ethtool -L sfs$$p tx "$n" >/dev/null || exit 1
      # (just after a change of its queues the pair refused connections
      # now and then: wait until one goes through)
      for _ in $(seq 50); do
        ip netns exec $Y python3 -c "import socket; socket.create_connection(('198.19.11.1', 65100), 1).close()" \
          2>/dev/null && break
        sleep 0.1
      done
      kcs=()
      for k in $(seq "$n"); do
        ip netns exec $Y timeout 120 python3 "$HERE/../tests/interop/kpeer.py" echo-client \
          198.19.11.1 65100 $((CMB << 20)) >"$tmp/kc$k.out" 2>&1 & kcs+=($!)
      done
      wait "${kcs[@]}"
      kr=$(cat "$tmp"/kc*.out | awk -v n="$n" -v b=$((CMB << 20)) '/echo equal/ {
             for (i = 1; i < NF; i++) if ($(i + 1) == "s") t = $i; if (t > m) m = t; ok++ }
             END {printf "%.0f", (ok == n && m > 0) ? n * b * 8 / m / 1e6 : 0}')
      [ "$kr" = 0 ] && { cat "$tmp"/kc*.out | tail -1; cat "$tmp/kecho.out"; } >&2
      rm -f "$tmp"/kc*.out
      q=""; [ "$n" -gt 1 ] && q="--queues $n"
      if [ "$n" -gt 1 ]; then
        ip netns exec $Y timeout 120 "$SYNFIN" connect --xdp sfs$$q --addr 198.19.11.2 $q \
          --send-bytes $((CMB << 20)) --ctl "$tmp/cx.sock" 198.19.11.1 65100 2>"$tmp/cx.log" >/dev/null
      else # one thread writes the echo out: checked here
        ip netns exec $Y timeout 120 "$SYNFIN" connect --xdp sfs$$q --addr 198.19.11.2 \
          --send-bytes $((CMB << 20)) --ctl "$tmp/cx.sock" 198.19.11.1 65100 2>"$tmp/cx.log" |
          cmp -s - <(python3 -c "import sys; n = $((CMB << 20)); b = bytes(i % 251 for i in range(251)) * 4096
while n > 0: sys.stdout.buffer.write(b[:min(n, len(b))]); n -= len(b)") &&
          sed -i 's/(written out)/(pattern intact)/' "$tmp/cx.log"
      fi
      sr=$(awk -v n="$n" -v b=$((CMB << 20)) '/pattern intact\) in/ {
             for (i = 1; i < NF; i++) if ($(i + 1) == "s") t = $i; if (t > m) m = t; ok++ }
             END {printf "%.0f", (ok == n && m > 0) ? n * b * 8 / m / 1e6 : 0}' "$tmp/cx.log")
      printf "%-24s kernel %6s   synfin connect --xdp %6s   (%s)\n" "$n connection(s)" "$kr" "$sr" \
        "$(awk -v a="$sr" -v b="$kr" 'BEGIN{printf "%.2f", (b > 0) ? a / b : 0}')"
      grep -o "thread [0-9]*: .*handed to other queues [0-9]*" "$tmp/cx.log" |
        sed 's/(owned by queue [0-9]*), //; s/ bytes (pattern intact)//; s/^/    /' >&2
    done
  fi
fi
# ratios: N threads (queues) / 1, and AF_XDP / the kernel over the same veth
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b > 0) ? a / b : 0}'; }
for link in TUN AF_XDP; do
  one=$(awk -v l="$link" '$1 == "synfin" && $2 == l && $3 == 1 {print $(NF-1), $NF}' "$tmp/rows")
  [ -n "$one" ] || continue
  while read -r _ _ n _ e y; do
    [ "$n" = 1 ] && continue
    set -- $one
    echo "synfin $link $n / 1: echo $(ratio "$e" "$1")x, lifecycles $(ratio "$y" "$2")x"
  done < <(awk -v l="$link" '$1 == "synfin" && $2 == l' "$tmp/rows")
done
kx=$(awk '$1 == "kernel" && $5 == "csum" {print $(NF-1), $NF}' "$tmp/rows")
if [ -n "$kx" ]; then
  while read -r _ _ n _ e y; do
    set -- $kx
    echo "synfin AF_XDP $n queue(s) / kernel, same veth: echo $(ratio "$e" "$1")x, lifecycles $(ratio "$y" "$2")x"
  done < <(awk '$1 == "synfin" && $2 == "AF_XDP"' "$tmp/rows")
fi

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
