#!/usr/bin/env bash
# bench/xdp.sh: echo throughput and connection lifecycles of synfin over
# AF_XDP (serve --xdp, docs/xdp.md) against the kernel's TCP over the same
# veth pair, in one run with the same python client (tests/interop/kpeer.py).
#
# One veth pair between namespaces sfb<PID>-k (the client, 198.19.70.1/24)
# and sfb<PID>-s (the server side: the kernel at 198.19.70.3, synfin at
# 198.19.70.2 behind the XDP program). The client's veth end sends with its
# checksum offload off, as the AF_XDP link needs (docs/xdp.md); that also
# turns its TSO off, so the kernel is measured both ways: with the client's
# offloads as synfin needs them ("same veth"), and with them on (veth's
# defaults). The kernel rows run before synfin attaches its program.
#
# A benchmark, not a test: nothing is asserted. Root; addresses in
# 198.18.0.0/15. Env: BENCH_MB (default 100), BENCH_CONNS (default 1000),
# BENCH_MTU (default 1500; up to 3826 one 4 KB AF_XDP frame per frame,
# above it up to 65535 AF_XDP multi-buffer: docs/xdp.md "Jumbo frames"),
# BENCH_XDP_ARGS (more synfin serve options, e.g. "--sndbuf 1048576
# --rcvbuf 1048576"), BENCH_PERF (a path prefix: perf record of synfin's
# server during each AF_XDP row's echo, to PREFIX.1, .2, ...), SYNFIN
# (default build/synfin), BENCH_ROWS (synfin's rows: "NAME|SERVE OPTIONS"
# separated by ";", default auto, generic, --xdp-tx thread, --busy-poll
# 1000), BENCH_ROUNDS (default 1: the kernel's and
# synfin's echo rows run that many times, interleaved, with the ratio of
# each round and the median of each row and ratio at the end: on a shared
# machine one round's ratio drifts by a third), BENCH_PEER_NAPI (1:
# the client's veth end receives in a NAPI thread of its own with GRO,
# and the server's end has TSO off, which a veth needs to hand frames to
# the peer's GRO: the peer's receive path then runs off the sender's
# thread, as it would behind a real NIC; for the kernel's rows and
# synfin's alike; docs/xdp.md "Where the time goes").
set -u
SYNFIN=$(readlink -f "${SYNFIN:-build/synfin}")
HERE=$(cd "$(dirname "$0")" && pwd)
KPEER="python3 $HERE/../tests/interop/kpeer.py"
MB=${BENCH_MB:-100}; CONNS=${BENCH_CONNS:-1000}; MTU=${BENCH_MTU:-1500}
BENCH_XDP_ARGS=${BENCH_XDP_ARGS:-}
K=sfb$$-k; S=sfb$$-s; VK=sfb$$k; VS=sfb$$s
KA=198.19.70.1; SA=198.19.70.2; HA=198.19.70.3
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3
            ip netns del $K 2>/dev/null; ip netns del $S 2>/dev/null; rm -f /tmp/sfb$$.sock; }
trap cleanup EXIT
ip netns add $K && ip netns add $S || exit 1
ip link add $VK mtu "$MTU" type veth peer name $VS mtu "$MTU" || exit 1
ip link set $VK netns $K && ip link set $VS netns $S || exit 1
for n in $K $S; do ip netns exec $n ip link set lo up; done
ip -n $K addr add $KA/24 dev $VK && ip -n $K link set $VK up || exit 1
ip -n $S addr add $HA/24 dev $VS && ip -n $S link set $VS up || exit 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
mbit() { sed -n 's/.*(\([0-9.]*\) Mbit.*/\1/p' | tail -1; }
run_echo() { # label addr: the client's line; the rate in $rate
  local out; out=$(ip netns exec $K timeout 600 $KPEER echo-client "$2" 7 $((MB << 20)) 2>&1)
  printf "%-36s%s\n" "$1" "$out"; rate=$(echo "$out" | mbit)
}
run_life() { # label addr
  printf "%-36s" "$1"; ip netns exec $K timeout 300 $KPEER lifecycles "$2" 7 "$CONNS"
}

if [ "${BENCH_PEER_NAPI:-0}" = 1 ]; then
  ip netns exec $K ethtool -K $VK gro on >/dev/null &&
    ip netns exec $K sh -c "echo 1 > /sys/class/net/$VK/threaded" &&
    ip netns exec $S ethtool -K $VS tso off >/dev/null || exit 1
  echo "== BENCH_PEER_NAPI=1: $VK (the client's end) GRO on, threaded NAPI; $VS TSO off"
fi
ROUNDS=${BENCH_ROUNDS:-1}
case $ROUNDS in ''|*[!0-9]*|0) echo "BENCH_ROUNDS must be a count of 1 or more, not '$ROUNDS'" >&2; exit 2;; esac
echo "== veth MTU $MTU; echo $MB MB each way (python client: sendall 64 KB, recv_into 256 KB, each read compared); $CONNS lifecycles; $ROUNDS round(s)"
ip netns exec $S $KPEER serve-echo-many $HA 7 >/dev/null & pids+=($!)
sleep 0.5
kernel_rows() {
  ip netns exec $K ethtool -K $VK tx on >/dev/null || exit 1
  run_echo "kernel, client offloads on:" $HA; kon=$rate
  ip netns exec $K ethtool -K $VK tx off >/dev/null || exit 1
  run_echo "kernel, same veth (client tx csum off):" $HA; koff=$rate
  [ "$round" = 1 ] && run_life "kernel lifecycles:" $HA
}

xdp_row() { # label mode-args...
  local label=$1; shift
  ip netns exec $S "$SYNFIN" serve --xdp $VS --addr $SA --app echo:7 "$@" \
    --ctl /tmp/sfb$$.sock 2>/tmp/sfb$$.log & local p=$!; pids+=($p)
  for _ in $(seq 50); do "$SYNFIN" ss --ctl /tmp/sfb$$.sock >/dev/null 2>&1 && break; sleep 0.1; done
  grep -v "echo on" /tmp/sfb$$.log | sed 's/^synfin serve: /    /; s/; control socket.*//'
  local perfp=""  # BENCH_PERF=PREFIX: perf record of the server during the echo
  if [ -n "${BENCH_PERF:-}" ]; then
    rows=$((${rows:-0} + 1))
    perf record -q -F 999 --call-graph dwarf,16384 -p $p -o "$BENCH_PERF.$rows" >/dev/null 2>&1 & perfp=$!
  fi
  local c0; c0=$(cpu_ticks $p)
  run_echo "$label" $SA; xrate=$rate
  [ -n "$perfp" ] && { kill -INT $perfp; wait $perfp 2>/dev/null; }
  # the server's own CPU (user + system, all its threads; the kernel's
  # softirq work it runs counts, the client's receive path in its sendto()
  # too) per GB echoed each way: steadier than the rate on a shared machine
  awk -v t=$(( $(cpu_ticks $p) - c0 )) -v hz="$(getconf CLK_TCK)" -v mb=$MB \
    'BEGIN { printf "    server CPU %.2f s, %.2f s per GB each way\n", t / hz, t / hz / (mb / 1024) }'
  [ "$round" = 1 ] && run_life "$label lifecycles:" $SA
  "$SYNFIN" ss --ctl /tmp/sfb$$.sock --stats | grep -E '^(RETRANSMITS|xdp.tx_full|xdp.tx_dropped|TLP_PROBES|DSACK_IN|xdp.kicks|xdp.tx_thread|xdp.k_[a-z_]*|xdp.[rt]x_sg[a-z_]*|xdp.busy_turns) ' | tr '\n' ' '; echo
  kill -TERM $p; timeout 10 tail --pid=$p -f /dev/null; rm -f /tmp/sfb$$.log
}
# synfin's rows: a short name (in the ratio lines) and serve's options;
# a row whose option this synfin does not have is left out (--xdp-tx: the
# TX ring pushed by a thread of the queue's own, where the other rows push
# it from the stack's loop; --busy-poll: the loop looks again for 1000
# us after a turn that moved frames before it sleeps)
rows_spec=("auto|" "generic|--xdp-mode generic")
"$SYNFIN" serve --help 2>&1 | grep -q -- --xdp-tx && rows_spec+=("auto TX thread|--xdp-tx thread")
"$SYNFIN" serve --help 2>&1 | grep -q -- --busy-poll && rows_spec+=("auto busy-poll 1000|--busy-poll 1000")
# BENCH_ROWS="NAME|OPTIONS;NAME|OPTIONS...": these rows instead
if [ -n "${BENCH_ROWS:-}" ]; then IFS=';' read -r -a rows_spec <<<"$BENCH_ROWS"; fi
ratio_line() { # prefix, then "kon koff name=rate..." on stdin
  awk -v pre="$1" '{ on = $1; off = $2; if (on <= 0 || off <= 0) exit
    printf "%sratio to the kernel (same veth / offloads on):", pre
    for (i = 3; i <= NF; i++) { split($i, f, "="); gsub(/_/, " ", f[1]); printf "%s %s %.2f / %.2f", (i > 3 ? "," : ""), f[1], f[2] / off, f[2] / on }
    print "" }'
}
all=""  # a line a round: kon koff name=rate...
for round in $(seq "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && echo "-- round $round of $ROUNDS ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"
  kernel_rows
  line="${kon:-0} ${koff:-0}"
  for spec in "${rows_spec[@]}"; do
    name=${spec%%|*}; args=${spec#*|}
    # shellcheck disable=SC2086
    xdp_row "synfin AF_XDP, $name:" $args $BENCH_XDP_ARGS
    line="$line ${name// /_}=${xrate:-0}"
  done
  [ "$ROUNDS" -gt 1 ] && echo "$line" | ratio_line "    round $round: "
  all="$all$line
"
done
# Active opens (docs/xdp.md "Active opens"): the same echo the other way
# round, the client in S and the kernel's echo server in K: the kernel's
# client (S's kernel address) against `synfin connect --xdp` (synfin's),
# one connection, BENCH_MB each way, over the same veth (K's checksum
# offload off, as above). synfin's rate is its own summary line's (from
# the handshake to the server's FIN, as kpeer.py's), the echo checked
# against the --send-bytes pattern's SHA-256. BENCH_CONNECT=0 skips it.
crate=""; kcrate=""
if [ "${BENCH_CONNECT:-1}" = 1 ] && "$SYNFIN" connect --help 2>&1 | grep -q -- --xdp; then
  ip netns exec $K $KPEER serve-echo-many $KA 9000 >/dev/null & pids+=($!)
  sleep 0.5
  out=$(ip netns exec $S timeout 600 $KPEER echo-client $KA 9000 $((MB << 20)) 2>&1)
  printf "%-36s%s\n" "kernel client -> kernel server:" "$out"; kcrate=$(echo "$out" | mbit)
  want=$(python3 -c "
import hashlib, sys
n = int(sys.argv[1]); blk = bytes(i % 251 for i in range(251)) * 4096; h = hashlib.sha256()
while n > 0: h.update(blk[:min(n, len(blk))]); n -= len(blk)
print(h.hexdigest())" $((MB << 20)))
  for mode in auto generic; do
    got=$(ip netns exec $S timeout 600 "$SYNFIN" connect --xdp $VS --addr $SA --xdp-mode $mode \
          --send-bytes $((MB << 20)) $KA 9000 2>/tmp/sfb$$.clog | sha256sum | cut -d' ' -f1)
    line=$(grep "thread 0: local port" /tmp/sfb$$.clog)
    [ "$got" = "$want" ] && ok="sha256 equal" || ok="sha256 DIFFERENT"
    r=$(echo "$line" | sed -n 's/.*(\([0-9.]*\) Mbit.*/\1/p')
    crate="$crate $mode ${r:-0}"
    printf "%-36s%s, %s\n" "synfin connect --xdp, $mode:" "$(echo "$line" | sed 's/.*received/received/; s/ (written out)//; s/;.*//')" "$ok"
    echo "    $(echo "$line" | sed 's/.*; frames/frames/')"
    rm -f /tmp/sfb$$.clog
  done
fi
if [ "$ROUNDS" = 1 ]; then
  printf "%s" "$all" | ratio_line ""
else
  # medians over the rounds: of each row's rate, and of each round's ratio
  printf "%s" "$all" | awk '
    function med(a, n,   i, j, t, b) { for (i = 1; i <= n; i++) b[i] = a[i]
      for (i = 2; i <= n; i++) for (j = i; j > 1 && b[j - 1] > b[j]; j--) { t = b[j]; b[j] = b[j - 1]; b[j - 1] = t }
      return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2 }
    $1 > 0 && $2 > 0 { n++; on[n] = $1; off[n] = $2
      for (i = 3; i <= NF; i++) { split($i, f, "="); k = i - 2; name[k] = f[1]; nr = k
        r[k, n] = f[2]; q[k, n] = f[2] / $2; qo[k, n] = f[2] / $1 } }
    END { if (!n) exit
      printf "medians of %d rounds, Mbit/s each way: kernel offloads on %.0f, same veth %.0f; synfin", n, med(on, n), med(off, n)
      for (k = 1; k <= nr; k++) { for (i = 1; i <= n; i++) { a[i] = r[k, i] }; nm = name[k]; gsub(/_/, " ", nm); printf "%s %s %.0f", (k > 1 ? "," : ""), nm, med(a, n) }
      print ""
      printf "median ratio to the kernel (same veth / offloads on):"
      for (k = 1; k <= nr; k++) { for (i = 1; i <= n; i++) { a[i] = q[k, i]; b2[i] = qo[k, i] }; nm = name[k]; gsub(/_/, " ", nm)
        printf "%s %s %.2f / %.2f", (k > 1 ? "," : ""), nm, med(a, n), med(b2, n) }
      print "" }'
fi
[ -n "$crate" ] && [ -n "$kcrate" ] && awk -v s="$crate" -v k="$kcrate" 'BEGIN {
  n = split(s, f, " "); if (k <= 0) exit
  printf "active opens: synfin connect --xdp / the kernel client, same veth:"
  for (i = 1; i < n; i += 2) printf " %s %.2f", f[i], f[i + 1] / k; print "" }'
