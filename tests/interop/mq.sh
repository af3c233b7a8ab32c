# Multi-queue TUN (issue 15, docs/scale.md), sourced by run.sh after the
# other cases: `synfin serve|connect|tun2socks --threads 2`, one stack per thread,
# each on its own queue of sf0, the queue picked by synfin's steering
# program from the two ports. INTEROP_ONLY=mq runs them all, INTEROP_ONLY=mq-t2s (mq-cases, -spread,
# -connect, -shutdown, -bad, -ipv6) one group.

# The lifecycle cases of cases.sh again, over IPv4, with 2 threads. `sss`
# asks every thread's control socket (NAME.sock, NAME.sock.1), since a
# connection lives on whichever stack its SYN reached.
SRVA="$SRV --threads 2"; SFA=198.18.0.2; KA=198.18.0.1; ANY=0.0.0.0; PKA=$KA
sss_one() { "$SYNFIN" ss --ctl "$tmp/$1.sock" "${@:2}"; }
sss() {
  "$SYNFIN" ss --ctl "$tmp/$1.sock" "${@:2}" || return 1
  [ ! -S "$tmp/$1.sock.1" ] || "$SYNFIN" ss --ctl "$tmp/$1.sock.1" "${@:2}"
}
want mq-cases && check "mq 2 threads: handshake; nc through echo and daytime" t_handshake_nc
want mq-cases && check "mq 2 threads: echo ${MB} MB kernel client -> synfin, equal byte for byte" t_echo_big "$MB"
want mq-cases && check "mq 2 threads: echo ${LOSSY_MB} MB with 2% loss + 2% reordering" \
  t_echo_big "$LOSSY_MB" --loss 0.02 --reorder 0.02 --rto-min 200 --seed 5
want mq-cases && check "mq 2 threads --no-offload: echo ${MB} MB" t_echo_big "$MB" --no-offload
want mq-cases && check "mq 2 threads: kernel closes first (CLOSE_WAIT, LAST_ACK)" t_kernel_closes_first
want mq-cases && check "mq 2 threads: synfin closes first (TIME_WAIT)" t_synfin_closes_first
want mq-cases && check "mq 2 threads: proxy app, ${MB} MB echo intact" t_proxy
want mq-cases && check "mq 2 threads: SIGTERM mid-echo: FIN sent, exit 0" t_sigterm
want mq-cases && check "mq 2 threads: --busy-poll 1000: both threads' loops look on; idle they sleep" t_busy_poll_tun

# stat NAME SOCKET-SUFFIX KEY: one counter of one thread
mq_stat() { "$SYNFIN" ss --ctl "$tmp/$1.sock$2" --stats | awk -v k="$3" '$1==k{print $2}'; }

# Kernel clients to `serve --threads 2`: 32 echo connections, all answered;
# the SYNs spread over both queues (each stack accepted some: the
# listener is on every stack) and no datagram reached a queue other than
# the one its ports steer to.
t_mq_spread() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" sp serve $SRVA --app echo:7 || return 1
  local i got
  for i in $(seq 32); do
    got=$(echo "hello $i" | inns "$ns" timeout 10 nc -N $SFA 7)
    [ "$got" = "hello $i" ] || { echo "connection $i: '$got'"; return 1; }
  done
  local p0 p1 w0 w1
  p0=$(mq_stat sp "" PASSIVE_OPENS); p1=$(mq_stat sp .1 PASSIVE_OPENS)
  w0=$(mq_stat sp "" tun.rx_wrong_queue); w1=$(mq_stat sp .1 tun.rx_wrong_queue)
  echo "passive opens: thread 0 $p0, thread 1 $p1; wrong queue: $w0, $w1"
  stop_synfin sp && [ "$((p0 + p1))" -eq 32 ] && [ "$p0" -gt 0 ] && [ "$p1" -gt 0 ] &&
    [ "$w0" -eq 0 ] && [ "$w1" -eq 0 ]
}
want mq-spread && check "mq 2 threads: 32 kernel clients spread over both stacks, none on a wrong queue" t_mq_spread


# `synfin connect --threads 2`: each thread opens its connection from a
# local port that steers to its own queue; 6 runs (12 connections), every
# reply must reach the thread that opened the connection: each thread's
# echo comes back whole. The control: --any-port (a random port, whatever
# its queue): a connection whose port steers to the other thread's queue
# never gets its SYN,ACK (the other stack answers it with a RST) and times
# out, the others complete (at least 4 runs, and up to 12 until one port
# steers away: all 24 ports steering home by chance is 1 in 2^24; with a
# fixed 4 runs, 1 in 256 failed the suite now and then).
t_mq_connect() {
  newns || return 1; local ns=$NS
  ip netns exec "$ns" timeout 120 $KPEER serve-echo-many $ANY 9000 >"$tmp/kserver.log" 2>&1 &
  pids+=($!)
  wait_for 5 grep -q listening "$tmp/kserver.log" || return 1
  local i rc k
  for i in $(seq 6); do
    inns "$ns" timeout 60 "$SYNFIN" connect $SRVA --ctl "$tmp/mc.sock" -q \
      --send-bytes 300000 $KA 9000 2>"$tmp/mc.log"; rc=$?
    grep "thread" "$tmp/mc.log"
    [ $rc -eq 0 ] || { cat "$tmp/mc.log"; return 1; }
    for k in 0 1; do
      grep -q "thread $k: local port [0-9]* (steers to queue $k), queue $k: sent 300000, received 300000 bytes (pattern intact); datagrams in [1-9][0-9]*, on a wrong queue 0$" "$tmp/mc.log" || return 1
    done
  done
  local away=0 home=0 line
  for i in $(seq 12); do
    [ "$i" -gt 4 ] && [ "$away" -gt 0 ] && break
    inns "$ns" timeout 60 "$SYNFIN" connect $SRVA --ctl "$tmp/ma.sock" -q --any-port \
      --connect-timeout 2 --send-bytes 1000 $KA 9000 2>"$tmp/ma.log"
    for k in 0 1; do
      line=$(grep "thread $k: local port" "$tmp/ma.log")
      echo "$line"
      if echo "$line" | grep -q "(steers to queue $k)"; then
        echo "$line" | grep -q "received 1000 bytes (pattern intact)" || return 1
        home=$((home + 1))
      else
        echo "$line" | grep -q "received 0 bytes" || return 1
        away=$((away + 1))
      fi
    done
  done
  echo "--any-port control: $home ports steering home completed, $away steering away failed"
  [ "$away" -gt 0 ]
}
want mq-connect && check "mq connect --threads 2: each thread's connections answered on its own queue (and not without the port choice)" t_mq_connect

# SIGTERM with connections open on both stacks: every thread closes its
# listeners and connections, the process exits 0 within --grace, and
# the device is gone. Then a queue that stops: the device deleted under a
# running `serve --threads 2` ends every thread, exit 1, a line naming
# the queue.
t_mq_shutdown() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" sd serve $SRVA --app echo:7 --grace 3 || return 1
  local i
  for i in $(seq 8); do
    ip netns exec "$ns" timeout 30 $KPEER stream-client $SFA 7 "$tmp/started$i" >"$tmp/stream$i.log" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 8); do wait_for 10 grep -q receiving "$tmp/started$i" || return 1; done
  local e0 e1
  e0=$(mq_stat sd "" ESTABLISHED); e1=$(mq_stat sd .1 ESTABLISHED)
  echo "established: thread 0 $e0, thread 1 $e1"
  [ "$e0" -gt 0 ] && [ "$e1" -gt 0 ] || return 1
  stop_synfin sd || { echo "synfin did not exit 0"; return 1; }
  inns "$ns" ip link show sf0 >/dev/null 2>&1 && { echo "sf0 still there"; return 1; }
  for i in $(seq 8); do timeout 10 tail -s 0.05 --pid="${pids[-$i]}" -f /dev/null; done
  grep -h "stream-client" "$tmp"/stream*.log | sort | uniq -c | head -4
  start_synfin "$ns" dd serve $SRVA --app echo:7 || return 1
  inns "$ns" ip link del sf0 || return 1
  timeout 10 tail -s 0.05 --pid="$pid_dd" -f /dev/null
  wait "$pid_dd"; local rc=$?
  cat "$tmp/dd.log"
  [ $rc -eq 1 ] && grep -q "^synfin serve: queue [01] of sf0 failed: " "$tmp/dd.log"
}
want mq-shutdown && check "mq 2 threads: SIGTERM ends every thread (exit 0); a deleted device ends all (exit 1)" t_mq_shutdown

t_mq_bad() { # bad --threads uses: one line, exit 2
  newns || return 1; local ns=$NS
  local too=$(( $(nproc) + 1 )) out rc
  out=$(inns "$ns" "$SYNFIN" serve $SRV --threads $too --app echo:7 2>&1); rc=$?
  echo "$out"; [ $rc -eq 2 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] &&
    echo "$out" | grep -q -- "--threads $too: give 1 to" || return 1
  out=$(inns "$ns" "$SYNFIN" serve $SRV --threads 0 --app echo:7 2>&1); rc=$?
  echo "$out"; [ $rc -eq 2 ] || return 1
  out=$(inns "$ns" "$SYNFIN" serve $SRV --threads 2 --pcap "$tmp/x.pcap" --app echo:7 2>&1); rc=$?
  echo "$out"; [ $rc -eq 2 ] && echo "$out" | grep -q -- "--pcap" || return 1
  out=$(inns "$ns" "$SYNFIN" connect $SRV --threads 2 $KA 9 </dev/null 2>&1); rc=$?
  echo "$out"; [ $rc -eq 2 ] && echo "$out" | grep -q -- "--send-bytes" || return 1
  ! inns "$ns" ip link show sf0 >/dev/null 2>&1
}
want mq-bad && check "mq bad input: --threads above the cores, 0, with --pcap, connect without --send-bytes" t_mq_bad

# `synfin tun2socks --threads 2 --direct`: a kernel client's flows into
# sf0 are relayed by the thread whose queue their SYN reached, out of a
# veth (fwmark 0x5f, table 95) to a kernel echo server in another
# namespace; 24 connections all echoed, both stacks relay some, SIGTERM
# ends both threads with exit 0.
t_mq_t2s() {
  newns || return 1; local e=$NS
  newns || return 1; local s=$NS
  local ve=sfq$$e vs=sfq$$s i got
  ip link add "$ve" netns "$e" type veth peer name "$vs" netns "$s" || return 1
  inns "$e" ip addr add 198.18.1.1/24 dev "$ve"; inns "$e" ip link set "$ve" up
  inns "$s" ip addr add 198.18.1.2/24 dev "$vs"; inns "$s" ip link set "$vs" up
  inns "$s" ip addr add 198.18.2.2/32 dev lo
  inns "$e" ip rule add fwmark 0x5f lookup 95 pref 100
  inns "$e" ip route add 198.18.2.0/24 via 198.18.1.2 dev "$ve" table 95
  ip netns exec "$s" timeout 120 $KPEER serve-echo-many 198.18.2.2 7000 >"$tmp/kserver.log" 2>&1 &
  pids+=($!)
  wait_for 5 grep -q listening "$tmp/kserver.log" || return 1
  start_synfin "$e" t2 tun2socks --tun sf0 --threads 2 --direct --fwmark 0x5f || return 1
  inns "$e" ip route add 198.18.2.0/24 dev sf0 || return 1
  for i in $(seq 24); do
    got=$(echo "flow $i" | inns "$e" timeout 10 nc -N 198.18.2.2 7000)
    [ "$got" = "flow $i" ] || { echo "flow $i: '$got'"; return 1; }
  done
  local p0 p1
  p0=$(mq_stat t2 "" PASSIVE_OPENS); p1=$(mq_stat t2 .1 PASSIVE_OPENS)
  echo "flows relayed: thread 0 $p0, thread 1 $p1"
  stop_synfin t2 && [ "$((p0 + p1))" -ge 24 ] && [ "$p0" -gt 0 ] && [ "$p1" -gt 0 ]
}
want mq-t2s && check "mq tun2socks --threads 2 --direct: 24 flows relayed by both stacks, SIGTERM exit 0" t_mq_t2s

# IPv6 with 2 threads (the steering program reads the ports after the
# 40-byte IPv6 header): every address the cases use is IPv6.
SRVA="$SRV --threads 2 --addr6 fd00:5f::2 --host6 fd00:5f::1/64"; SFA=fd00:5f::2; KA=fd00:5f::1; ANY=::
PKA="[$KA]"
want mq-ipv6 && check "mq 2 threads IPv6: handshake; nc through echo and daytime" t_handshake_nc
want mq-ipv6 && check "mq 2 threads IPv6: echo ${MB} MB kernel client -> synfin, equal byte for byte" t_echo_big "$MB"
want mq-ipv6 && check "mq 2 threads IPv6: 32 kernel clients spread over both stacks, none on a wrong queue" t_mq_spread
want mq-ipv6 && check "mq connect --threads 2 IPv6: each thread's connections answered on its own queue (and not without the port choice)" t_mq_connect
sss() { "$SYNFIN" ss --ctl "$tmp/$1.sock" "${@:2}"; }
