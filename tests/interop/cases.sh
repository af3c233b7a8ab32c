# The interop cases, sourced by run.sh (which defines the helpers). Each
# case makes its own namespace so that one failing leaves the next clean.

# The address family the lifecycle cases below run over: IPv4 here; the
# IPv6 section at the end runs them again with IPv6 addresses. PKA is the
# kernel's address as the proxy app's target takes it ([IPv6] in brackets).
SRVA=$SRV; SFA=198.18.0.2; KA=198.18.0.1; ANY=0.0.0.0; PKA=$KA

t_handshake_nc() { # the handshake, and nc through echo and daytime
  newns || return 1; local ns=$NS
  start_synfin "$ns" hs serve $SRVA --app echo:7 --app daytime:13 || return 1
  [ "$(echo hello synfin | inns "$ns" timeout 10 nc -N $SFA 7)" = "hello synfin" ] || return 1
  inns "$ns" timeout 10 nc $SFA 13 </dev/null | grep -q '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]' || return 1
  stop_synfin hs
}
want handshake && check "handshake; nc through echo and daytime" t_handshake_nc

# chargen (RFC 864) and discard (RFC 863), the apps that relay through a
# buffer of their own (allocated on first use): chargen's lines checked
# across several buffers' worth, and discard takes 1 MB, answers nothing
# and closes after the client's FIN.
t_chargen_discard() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" cg serve $SRVA --app chargen:19 --app discard:9 || return 1
  inns "$ns" timeout 30 python3 - "$SFA" <<'EOF' || return 1
import socket, sys
lines = 3000  # 222,000 bytes: more than three 64 KB fills
want = b"".join(bytes(32 + (i + c) % 95 for c in range(72)) + b"\r\n"
                for i in range(lines))
s = socket.create_connection((sys.argv[1], 19), timeout=10)
got = b""
while len(got) < len(want):
    d = s.recv(65536)
    if not d:
        sys.exit("chargen: EOF after %d bytes" % len(got))
    got += d
if got[:len(want)] != want:
    sys.exit("chargen: pattern differs at byte %d" %
             next(i for i in range(len(want)) if got[i] != want[i]))
s.close()
s = socket.create_connection((sys.argv[1], 9), timeout=10)
s.sendall(bytes(range(256)) * 4096)
s.shutdown(socket.SHUT_WR)
back = s.recv(65536)
if back:
    sys.exit("discard: answered %d bytes" % len(back))
print("chargen %d bytes as RFC 864 says; discard took 1 MB, answered nothing" % len(want))
EOF
  stop_synfin cg
}
want handshake && check "chargen's lines as RFC 864 says; discard takes 1 MB and answers nothing" t_chargen_discard

t_echo_big() { # size MB, extra serve flags...
  local mb=$1; shift
  newns || return 1; local ns=$NS
  start_synfin "$ns" big serve $SRVA --app echo:7 "$@" || return 1
  inns "$ns" env KPEER_TIMEOUT=${KPEER_TIMEOUT:-30} timeout 900 $KPEER echo-client $SFA 7 $((mb << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  sss big --stats | grep -E '^(RETRANSMITS|tun.rx_lost|tun.tx_lost|tun.rx_reordered) ' | tr '\n' ' '; echo
  stop_synfin big && [ $rc -eq 0 ]
}
want echo-clean && check "echo ${MB} MB kernel client -> synfin, equal byte for byte" t_echo_big "$MB"
want echo-lossy && check "echo ${LOSSY_MB} MB with 2% loss + 2% reordering on synfin's side" \
  t_echo_big "$LOSSY_MB" --loss 0.02 --reorder 0.02 --rto-min 200 --seed 5

# --busy-poll USEC (docs/tun.md "Busy polling"): after a turn that read or
# wrote, the loop looks on for USEC before it sleeps; every thread's
# stack counts its busy turns (with --threads 2, each queue's loop). Then
# idle: the loop sleeps (a loop that kept looking would take the whole
# second); without the option, no busy turn.
bp_stat() { # NAME SUFFIX: tun.busy_turns of one thread's stack
  "$SYNFIN" ss --ctl "$tmp/$1.sock$2" --stats | awk '$1=="tun.busy_turns"{print $2}'
}
bp_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
t_busy_poll_tun() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" bp serve $SRVA --app echo:7 --busy-poll 1000 || return 1
  inns "$ns" env KPEER_TIMEOUT=30 timeout 120 $KPEER echo-client $SFA 7 $((2 << 20)) || return 1
  inns "$ns" timeout 60 $KPEER lifecycles $SFA 7 200 || return 1
  local sfx t all=""
  for sfx in "" .1; do
    [ -z "$sfx" ] || [ -S "$tmp/bp.sock$sfx" ] || continue
    t=$(bp_stat bp "$sfx"); all="$all ${t:-none}"
    [ "${t:-0}" -gt 0 ] || { echo "busy turns:$all"; return 1; }
  done
  sleep 0.3
  local p c0 c1 hz; eval "p=\$pid_bp"; hz=$(getconf CLK_TCK)
  c0=$(bp_ticks "$p"); sleep 1; c1=$(bp_ticks "$p")
  echo "busy turns (each thread):$all; idle CPU $((c1 - c0)) ticks of $hz in 1 s"
  [ $((c1 - c0)) -le $((hz / 5)) ] || return 1
  stop_synfin bp || return 1
  start_synfin "$ns" bq serve $SRVA --app echo:7 || return 1
  inns "$ns" timeout 60 $KPEER lifecycles $SFA 7 50 || return 1
  echo "without --busy-poll: busy turns $(bp_stat bq "")"
  [ "$(bp_stat bq "")" = 0 ] || return 1
  stop_synfin bq
}
want busy-poll && check "--busy-poll 1000 over TUN: busy turns counted, echo 2 MB and 200 lifecycles; idle it sleeps (under 0.2 s of CPU in 1 s); none without it" t_busy_poll_tun
want busy-poll && check "--busy-poll with a bad value: one line, exit 2" \
  eval '! "$SYNFIN" serve $SRVA --app echo:7 --busy-poll 2ms 2>"$tmp/bp.err" && [ "$(wc -l <"$tmp/bp.err")" = 1 ] && grep -q -- "--busy-poll wants a number in 0..100000, not .2ms." "$tmp/bp.err" && cat "$tmp/bp.err"'

t_echo_sack() { # the kernel's net.ipv4.tcp_sack (0|1; IPv6 too) in its namespace
  local on=$1
  newns || return 1; local ns=$NS
  inns "$ns" sysctl -qw net.ipv4.tcp_sack="$on" || return 1
  start_synfin "$ns" big serve $SRVA --app echo:7 --loss 0.02 --rto-min 200 --seed 7 || return 1
  inns "$ns" env KPEER_TIMEOUT=${KPEER_TIMEOUT:-30} timeout 900 $KPEER echo-client $SFA 7 $((LOSSY_MB << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  local rec
  rec=$(sss big --stats | awk '$1=="SACK_RECOVERIES"{print $2}')
  echo "tcp_sack=$on: SACK_RECOVERIES ${rec:-missing}" \
    "$(sss big --stats | awk '$1 ~ /^(TLP_PROBES|TLP_REPAIRS|DSACK_IN|SACK_UNDO)$/ {printf "%s %s ", $1, $2}')"
  stop_synfin big && [ $rc -eq 0 ] && [ -n "$rec" ] &&
    if [ "$on" = 1 ]; then [ "$rec" -gt 0 ]; else [ "$rec" -eq 0 ]; fi
}
want sack && check "echo ${LOSSY_MB} MB, 2% loss, kernel tcp_sack=1: SACK recovery used" t_echo_sack 1
want sack && check "echo ${LOSSY_MB} MB, 2% loss, kernel tcp_sack=0: no SACK, NewReno" t_echo_sack 0

t_client() { # synfin connect -> kernel echo server, size MB
  local mb=$1; shift
  newns || return 1; local ns=$NS
  head -c $((mb << 20)) /dev/urandom >"$tmp/in.bin"
  start_kserver "$ns" serve-echo $ANY 9000 || return 1
  inns "$ns" timeout 300 "$SYNFIN" connect $SRVA "$@" --ctl "$tmp/cl.sock" -q $KA 9000 \
    <"$tmp/in.bin" >"$tmp/out.bin" 2>"$tmp/client.log"
  local rc=$?
  local a b; a=$(sha256sum <"$tmp/in.bin"); b=$(sha256sum <"$tmp/out.bin")
  echo "client: rc $rc, in $(stat -c %s "$tmp/in.bin") out $(stat -c %s "$tmp/out.bin")"
  [ $rc -eq 0 ] && [ "$a" = "$b" ]
}
want client && check "synfin connect -> kernel echo server, ${MB} MB, SHA-256 equal" t_client "$MB"

# Both TUN data paths whatever INTEROP_OFFLOAD says: --offload (the
# default; the kernel's TSO super-packets in, our merged GSO packets out;
# with impairments the driver cuts super-packets read back into segments
# and merges none) and --no-offload (one datagram per read and write).
OFF_MB=${INTEROP_OFFLOAD_MB:-100}
for o in --offload --no-offload; do
  want offload && check "$o: echo ${OFF_MB} MB kernel client -> synfin, equal byte for byte" \
    t_echo_big "$OFF_MB" $o
  want offload && check "$o: synfin connect -> kernel echo server, ${MB} MB" t_client "$MB" $o
  want offload && check "$o: echo 2 MB with 2% loss + 2% reordering" \
    t_echo_big 2 $o --loss 0.02 --reorder 0.02 --rto-min 200 --seed 5
done

# RFC 7323 against the kernel with its own sysctls (in the test's
# namespace only): net.ipv4.tcp_window_scaling and tcp_timestamps on or
# off. A 4 MB echo must come back intact; the kernel's SYN carries
# wscale / TS as the sysctls say, and synfin's SYN,ACK answers with each
# only if the kernel's SYN had it (RFC 7323 2.3, 3.2).
t_rfc7323() { # ws ts (0/1)
  local ws=$1 ts=$2
  newns || return 1; local ns=$NS
  inns "$ns" sysctl -qw net.ipv4.tcp_window_scaling="$ws" net.ipv4.tcp_timestamps="$ts" || return 1
  # The SYNs as synfin's own capture has them (--pcap: every datagram of
  # its device, written when synfin stops): a live tcpdump beside it once
  # caught nothing on a loaded machine although it said it was listening.
  start_synfin "$ns" o7 serve $SRV --pcap "$tmp/o7.pcap" --app echo:7 || return 1
  inns "$ns" env KPEER_TIMEOUT=30 timeout 120 $KPEER echo-client 198.18.0.2 7 $((4 << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  stop_synfin o7
  tcpdump -r "$tmp/o7.pcap" -nn -v -c 2 'tcp port 7 and (tcp[tcpflags] & tcp-syn) != 0' \
    >"$tmp/syn.txt" 2>"$tmp/tcpdump.err"
  local syn synack
  syn=$(tr '\n' ' ' <"$tmp/syn.txt" | grep -o 'Flags \[S\],[^]]*]' | head -1)
  synack=$(tr '\n' ' ' <"$tmp/syn.txt" | grep -o 'Flags \[S\.\],[^]]*]' | head -1)
  echo "kernel SYN:     $syn"; echo "synfin SYN,ACK: $synack"
  [ $rc -eq 0 ] && [ -n "$syn" ] && [ -n "$synack" ] || return 1
  has() { case "$1" in *"$2"*) echo 1;; *) echo 0;; esac; }
  [ "$(has "$syn" wscale)" = "$ws" ] && [ "$(has "$synack" wscale)" = "$ws" ] &&
    [ "$(has "$syn" "TS val")" = "$ts" ] && [ "$(has "$synack" "TS val")" = "$ts" ] ||
    { echo "options not as negotiated (wscale $ws, timestamps $ts)"; return 1; }
}
for o in "1 1" "1 0" "0 1" "0 0"; do
  set -- $o
  want rfc7323 && check "RFC 7323: kernel tcp_window_scaling=$1 tcp_timestamps=$2: 4 MB echo, SYN options as negotiated" t_rfc7323 "$1" "$2"
done

# The other way: synfin connects to a kernel echo server; synfin's SYN
# offers both options whatever the kernel's sysctls, the kernel's SYN,ACK
# takes them up as its sysctls say, and a 4 MB echo comes back intact.
t_rfc7323_client() { # ws ts (0/1)
  local ws=$1 ts=$2
  newns || return 1; local ns=$NS
  inns "$ns" sysctl -qw net.ipv4.tcp_window_scaling="$ws" net.ipv4.tcp_timestamps="$ts" || return 1
  head -c $((4 << 20)) /dev/urandom >"$tmp/in.bin"
  start_kserver "$ns" serve-echo 0.0.0.0 9000 || return 1
  inns "$ns" timeout 120 "$SYNFIN" connect $SRV --ctl "$tmp/c7.sock" --pcap "$tmp/c7.pcap" \
    -q 198.18.0.1 9000 <"$tmp/in.bin" >"$tmp/out.bin" 2>"$tmp/client.log"
  local rc=$?
  tcpdump -r "$tmp/c7.pcap" -nn -v -c 2 'tcp port 9000 and (tcp[tcpflags] & tcp-syn) != 0' \
    >"$tmp/syn.txt" 2>"$tmp/tcpdump.err"
  local a b; a=$(sha256sum <"$tmp/in.bin"); b=$(sha256sum <"$tmp/out.bin")
  local syn synack
  syn=$(tr '\n' ' ' <"$tmp/syn.txt" | grep -o 'Flags \[S\],[^]]*]' | head -1)
  synack=$(tr '\n' ' ' <"$tmp/syn.txt" | grep -o 'Flags \[S\.\],[^]]*]' | head -1)
  echo "synfin SYN:     $syn"; echo "kernel SYN,ACK: $synack"
  echo "client: rc $rc, out $(stat -c %s "$tmp/out.bin") bytes"
  [ $rc -eq 0 ] && [ "$a" = "$b" ] && [ -n "$syn" ] && [ -n "$synack" ] || return 1
  has() { case "$1" in *"$2"*) echo 1;; *) echo 0;; esac; }
  [ "$(has "$syn" wscale)" = 1 ] && [ "$(has "$syn" "TS val")" = 1 ] &&
    [ "$(has "$synack" wscale)" = "$ws" ] && [ "$(has "$synack" "TS val")" = "$ts" ] ||
    { echo "options not as negotiated (wscale $ws, timestamps $ts)"; return 1; }
}
for o in "1 1" "0 0"; do
  set -- $o
  want rfc7323 && check "RFC 7323: synfin connect -> kernel with tcp_window_scaling=$1 tcp_timestamps=$2: 4 MB echo, SYN options" t_rfc7323_client "$1" "$2"
done

t_refused() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" rf serve $SRVA --app echo:7 || return 1
  inns "$ns" timeout 10 $KPEER expect-refused $SFA 1 || return 1
  stop_synfin rf || return 1
  # and synfin's client against a closed kernel port: exit 3
  newns || return 1; local ns2=$NS
  inns "$ns2" timeout 20 "$SYNFIN" connect $SRVA --ctl "$tmp/rc.sock" -q $KA 9 </dev/null
  [ $? -eq 3 ]
}
want refused && check "SYN to a closed port: ECONNREFUSED (kernel client; synfin connect exits 3)" t_refused

t_abort() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" ab serve $SRVA --app discard:9 || return 1
  local before; before=$(sss ab --stats | awk '$1=="RST_IN"{print $2}')
  inns "$ns" timeout 10 $KPEER abort $SFA 9 || return 1
  wait_for 5 bash -c "[ \$($SYNFIN ss --ctl $tmp/ab.sock --stats | awk '\$1==\"RST_IN\"{print \$2}') -gt $before ]" || return 1
  sss ab state connected | grep -q $KA && return 1
  stop_synfin ab || return 1
  # synfin's client aborting: the kernel reader sees ECONNRESET
  newns || return 1; local ns2=$NS
  start_kserver "$ns2" serve-sink $ANY 9001 expect-reset || return 1
  local sp=$kserver_pid
  inns "$ns2" timeout 20 "$SYNFIN" connect $SRVA --ctl "$tmp/ac.sock" -q --send-bytes 100000 --abort $KA 9001 </dev/null
  wait $sp; local rc=$?
  cat "$tmp/kserver.log"; [ $rc -eq 0 ]
}
want abort && check "SO_LINGER 0 abort: synfin resets; kernel reader gets ECONNRESET" t_abort

t_kernel_closes_first() { # kernel active closer: TIME_WAIT there, CLOSE_WAIT then LAST_ACK here
  newns || return 1; local ns=$NS
  start_synfin "$ns" kc serve $SRVA --app echo:7 --close-delay 1500 || return 1
  mkfifo "$tmp/fifo"
  ip netns exec "$ns" timeout 30 $KPEER hold $SFA 7 "$tmp/fifo" >"$tmp/hold.log" 2>&1 &
  local hp=$!; pids+=($hp)
  exec 7>"$tmp/fifo"
  wait_for 5 sf_has kc established $KA || return 1
  echo shutdown >&7
  wait_for 5 sf_has kc close-wait $KA || { echo "no CLOSE_WAIT"; return 1; }
  wait_for 5 k_has "$ns" fin-wait-2 $SFA || { echo "kernel not FIN_WAIT_2"; return 1; }
  sss kc state close-wait
  sss kc --set loss-in=1 >/dev/null   # the kernel's last ACK never arrives
  wait_for 5 sf_has kc last-ack $KA || { echo "no LAST_ACK"; return 1; }
  wait_for 5 k_has "$ns" time-wait $SFA || { echo "kernel not TIME_WAIT"; return 1; }
  sss kc state last-ack; inns "$ns" ss -tan state time-wait
  sss kc --set loss-in=0 >/dev/null
  echo exit >&7; exec 7>&-
  wait_for 10 bash -c "! $SYNFIN ss --ctl $tmp/kc.sock state connected | grep -q $KA" || return 1
  stop_synfin kc
}
want close && check "kernel closes first: kernel TIME_WAIT; synfin CLOSE_WAIT then LAST_ACK" t_kernel_closes_first

t_synfin_closes_first() { # synfin active closer (daytime): TIME_WAIT here, CLOSE_WAIT then LAST_ACK there
  newns || return 1; local ns=$NS
  start_synfin "$ns" sc serve $SRVA --app daytime:13 || return 1
  mkfifo "$tmp/fifo2"
  ip netns exec "$ns" timeout 30 $KPEER hold $SFA 13 "$tmp/fifo2" >"$tmp/hold.log" 2>&1 &
  pids+=($!)
  exec 8>"$tmp/fifo2"
  wait_for 5 k_has "$ns" close-wait $SFA || { echo "kernel not CLOSE_WAIT"; return 1; }
  wait_for 5 sf_has sc fin-wait-2 $KA || { echo "synfin not FIN_WAIT_2"; return 1; }
  inns "$ns" ss -tan state close-wait
  sss sc --set loss-out=1 >/dev/null  # synfin's ACK of the kernel's FIN is lost
  echo readall >&8; echo close >&8
  wait_for 5 k_has "$ns" last-ack $SFA || { echo "kernel not LAST_ACK"; return 1; }
  wait_for 5 sf_has sc time-wait $KA || { echo "synfin not TIME_WAIT"; return 1; }
  inns "$ns" ss -tan state last-ack; sss sc state time-wait
  sss sc --set loss-out=0 >/dev/null
  echo exit >&8; exec 8>&-
  grep -q "read [1-9][0-9]* bytes then EOF" "$tmp/hold.log" || return 1
  stop_synfin sc
}
want close && check "synfin closes first: synfin TIME_WAIT; kernel CLOSE_WAIT then LAST_ACK" t_synfin_closes_first

# SIGTERM with a peer that never closes: synfin serve sends its FIN (the
# kernel's socket goes to CLOSE_WAIT and stays, its application holding
# it), waits --grace 1, then resets what is still open (RFC 9293 3.10.5
# ABORT) rather than leave the kernel's socket waiting on a stack that is
# gone; one line says so, exit 0.
t_grace_reset() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" gr serve $SRVA --app echo:7 --grace 1 || return 1
  mkfifo "$tmp/fifo7"
  ip netns exec "$ns" timeout 30 $KPEER hold $SFA 7 "$tmp/fifo7" >"$tmp/hold.log" 2>&1 &
  pids+=($!)
  exec 9>"$tmp/fifo7"
  wait_for 5 sf_has gr established $KA || { echo "not established"; return 1; }
  stop_synfin gr; local rc=$?
  cat "$tmp/gr.log"; echo "exit $rc"
  inns "$ns" ss -tanH "( dport = :7 )"
  local left; left=$(inns "$ns" ss -tanH state close-wait "( dport = :7 )" | wc -l)
  echo exit >&9; exec 9>&-
  [ $rc -eq 0 ] && [ "$left" -eq 0 ] &&
    grep -q "^synfin serve: --grace 1.0 s ran out: 1 connection reset$" "$tmp/gr.log"
}
want close && check "SIGTERM, the peer never closes: FIN, then after --grace a RST (the kernel's socket not left in CLOSE_WAIT), one line, exit 0" t_grace_reset

t_proxy() { # kernel client -> synfin proxy -> kernel echo server, half-close kept
  newns || return 1; local ns=$NS
  start_synfin "$ns" px serve $SRVA --app proxy:8080=$PKA:9002 || return 1
  start_kserver "$ns" serve-echo $KA 9002 || return 1
  inns "$ns" timeout 120 $KPEER echo-client $SFA 8080 $((MB << 20)) || return 1
  stop_synfin px
}
want proxy && check "proxy app carries a kernel-to-kernel ${MB} MB echo intact (half-close kept)" t_proxy

t_sigterm() { # SIGTERM mid-transfer: FIN, every echoed byte delivered, exit 0
  newns || return 1; local ns=$NS
  # the IPv4 case's files would let the IPv6 one signal before its client
  # has even connected (it failed so in every full run, never alone)
  rm -f "$tmp/started" "$tmp/stream.log"
  start_synfin "$ns" st serve $SRVA --app echo:7 || return 1
  # the kernel's route to synfin's address (IPv6 too) before the client
  # starts: once seen as "Network is unreachable" on a loaded machine
  wait_for 5 inns "$ns" ip route get "$SFA" || return 1
  ip netns exec "$ns" timeout 60 $KPEER stream-client $SFA 7 "$tmp/started" >"$tmp/stream.log" 2>&1 &
  local cp=$!; pids+=($cp)
  # SIGTERM once the echo flows (a fixed 0.5 s once saw no byte back yet
  # on a loaded machine)
  wait_for 10 grep -q receiving "$tmp/started" || return 1
  sleep 0.2
  stop_synfin st || { echo "synfin did not exit 0"; return 1; }
  wait $cp; local rc=$?
  cat "$tmp/stream.log"; [ $rc -eq 0 ]
}
want sigterm && check "SIGTERM mid-echo: FIN sent, echoed bytes a prefix, exit 0" t_sigterm

t_bad_input() { # floods and junk from the kernel's side; the server keeps serving
  newns || return 1; local ns=$NS
  start_synfin "$ns" bi serve $SRV --app echo:7 --backlog 16 || return 1
  # The TUN device's queue (500 datagrams by default) is longer than the
  # burst, so that what the kernel hands synfin does not depend on how fast
  # a loaded machine schedules synfin's reads: every junk datagram arrives.
  inns "$ns" ip link set sf0 txqueuelen 10000 || return 1
  inns "$ns" timeout 20 python3 - <<'PY' || return 1
import socket, struct, random
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
src, dst = socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2")
def ip(proto, payload, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20+len(payload), random.getrandbits(16), frag, 64, proto, 0, src, dst)
    return h + payload
def tcp(sport, flags, seq=1, good=True, data=b""):
    t = struct.pack("!HHIIBBHHH", sport, 7, seq, 0, 5 << 4, flags, 65535, 0, 0) + data
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(t)) + t)
    if not good: c ^= 0x5555
    return t[:16] + struct.pack("!H", c) + t[18:]
for i in range(3000):   # a SYN flood from many ports
    raw.sendto(ip(6, tcp(1024 + i, 0x02, seq=random.getrandbits(32))), ("198.18.0.2", 0))
for i in range(200):
    raw.sendto(ip(6, tcp(5000 + i, 0x02, good=False)), ("198.18.0.2", 0))    # bad TCP checksum
    raw.sendto(ip(6, tcp(6000 + i, 0x02))[:30], ("198.18.0.2", 0))            # runt TCP
    raw.sendto(ip(6, tcp(7000 + i, 0x02), frag=0x2000), ("198.18.0.2", 0))   # a fragment (MF)
    raw.sendto(ip(17, b"\0" * 16), ("198.18.0.2", 0))                         # UDP
    raw.sendto(ip(6, tcp(8000 + i, 0x03)), ("198.18.0.2", 0))                # SYN+FIN
print("sent junk")
PY
  inns "$ns" timeout 5 ping -6 -c 2 -W 1 -I sf0 ff02::1 >/dev/null 2>&1   # IPv6 onto the wire
  # 1000 junk datagrams (200 each of five kinds), each dropped and counted
  # once synfin has read them all
  drops_at_least() { [ "$(sss bi --stats | awk '$1=="DROPS"{print $2}')" -ge "$1" ]; }
  wait_for 15 drops_at_least 1000
  sss bi --stats | grep -E '^(DROPS|drop\.[A-Z_]+) [1-9]' | tr '\n' ' '; echo
  local k
  for k in IP_FRAGMENT IP_PROTO TCP_SHORT TCP_CSUM LISTEN_SYN_FIN; do
    [ "$(sss bi --stats | awk -v k="drop.$k" '$1==k{print $2}')" -ge 200 ] ||
      { echo "drop.$k: fewer than the 200 sent"; return 1; }
  done
  sleep 1
  [ "$(echo still serving | inns "$ns" timeout 10 nc -N 198.18.0.2 7)" = "still serving" ] || return 1
  stop_synfin bi
}
want bad-input && check "junk, fragments, bad checksums, IPv6, a SYN flood: dropped, counted, still serving" t_bad_input

t_bad_options() { # one-line errors, non-zero exits
  newns || return 1; local ns=$NS
  "$SYNFIN" serve --app echo:7 --addr 300.1.1.1 2>"$tmp/e1"; [ $? -ne 0 ] && [ "$(wc -l <"$tmp/e1")" -eq 1 ] || return 1
  "$SYNFIN" serve --app echo:7 --host 198.18.0.1/24 --addr 198.19.0.2 2>"$tmp/e2"; [ $? -ne 0 ] || return 1
  "$SYNFIN" serve --app nosuch:7 2>"$tmp/e3"; [ $? -ne 0 ] || return 1
  start_synfin "$ns" bo serve $SRV --app echo:7 || return 1
  inns "$ns" "$SYNFIN" serve $SRV --app echo:7 --ctl "$tmp/bo2.sock" 2>"$tmp/e4"; local rc=$?
  cat "$tmp"/e1 "$tmp"/e2 "$tmp"/e3 "$tmp"/e4
  [ $rc -ne 0 ] && grep -q "in use" "$tmp/e4" || return 1
  stop_synfin bo
}
want options && check "bad address, unknown app, device name in use: one-line errors, non-zero exit" t_bad_options

t_keepalive() { # keepalive finds a kernel peer that vanished with its namespace
  newns || return 1; local a=$NS; newns || return 1; local b=$NS
  start_synfin "$a" ka serve $SRV --app echo:7 --keepalive 1,1,3 || return 1
  ip link add "sfk$$a" type veth peer name "sfk$$b" || return 1
  ip link set "sfk$$a" netns "$a"; ip link set "sfk$$b" netns "$b"
  inns "$a" ip addr add 198.19.7.1/24 dev "sfk$$a"; inns "$a" ip link set "sfk$$a" up
  inns "$b" ip addr add 198.19.7.2/24 dev "sfk$$b"; inns "$b" ip link set "sfk$$b" up
  inns "$b" ip route add 198.18.0.0/24 via 198.19.7.1
  inns "$a" sysctl -qw net.ipv4.ip_forward=1
  mkfifo "$tmp/fifo3"
  ip netns exec "$b" timeout 60 $KPEER hold 198.18.0.2 7 "$tmp/fifo3" >"$tmp/hold.log" 2>&1 &
  pids+=($!)
  exec 9>"$tmp/fifo3"
  wait_for 5 sf_has ka established 198.19.7.2 || return 1
  inns "$a" ip link del "sfk$$a"          # the peer's link goes first: no FIN gets out
  echo exit >&9; exec 9>&-
  ip netns del "$b"
  wait_for 15 bash -c "$SYNFIN ss --ctl $tmp/ka.sock >/dev/null && ! $SYNFIN ss --ctl $tmp/ka.sock state all | grep -q 198.19.7.2" || { sss ka; return 1; }
  sss ka --stats | grep -E '^(TIMEOUTS|RST_IN|RESETS) '
  # it must have been the keepalive timing out, not a FIN or RST that got out
  [ "$(sss ka --stats | awk '$1=="TIMEOUTS"{print $2}')" -ge 1 ] || return 1
  stop_synfin ka
}
want keepalive && check "keepalive finds a kernel peer whose namespace was deleted" t_keepalive

# iperf3 (kernel client) -> synfin proxy -> iperf3 (kernel server), upload
# and download (-R), each with --offload and with --no-offload, one short
# run each (INTEROP_IPERF_SECS, default 3). A relative check, both rates
# from the same run of this case: with offload the kernel hands synfin 64 KB
# super-packets, and when the delayed-ACK rule took one for a single
# "full-sized" segment every window waited 200 ms for its ACK (issue 8:
# 4 Mbit/s against 700 without offload). The case fails if, in either
# direction, the --offload rate is below half the --no-offload rate, or if,
# in either mode, the upload is below a quarter of the download.
IPERF_SECS=${INTEROP_IPERF_SECS:-3}
iperf_rate() { # json file: the receiver's Mbit/s, or nothing
  python3 -c 'import json, sys
try:
    j = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("iperf3: %s is not JSON: %s" % (sys.argv[1], e))
bps = j.get("end", {}).get("sum_received", {}).get("bits_per_second")
if bps is None:
    sys.exit("iperf3: no result: %s" % j.get("error", "?"))
print("%.1f" % (bps / 1e6))' "$1"
}
t_iperf3_mode() { # --offload|--no-offload: sets rate_up and rate_down
  local mode=$1 name=ip${1//-/}
  rate_up=; rate_down=
  newns || return 1; local ns=$NS
  start_synfin "$ns" "$name" serve $SRV "$mode" --app proxy:5201=198.18.0.1:5202 || return 1
  ip netns exec "$ns" timeout 60 iperf3 -s -B 198.18.0.1 -p 5202 >"$tmp/iperf3-server.log" 2>&1 &
  local sp=$!; pids+=("$sp")
  wait_for 5 bash -c "ip netns exec $ns ss -tlnH | grep -q '198.18.0.1:5202'" || { echo "iperf3 -s not listening"; return 1; }
  local r
  for r in up down; do
    local flag=; [ $r = down ] && flag=-R
    inns "$ns" timeout $((IPERF_SECS + 15)) iperf3 -c 198.18.0.2 -p 5201 -t "$IPERF_SECS" $flag -J \
      >"$tmp/iperf3-$name-$r.json" 2>"$tmp/iperf3-client.log"
    eval "rate_$r=\$(iperf_rate \"\$tmp/iperf3-\$name-\$r.json\")"
  done
  sss "$name" --stats | grep -E '^(DELAYED_ACKS|tun.rx_gso|tun.rx_gso_segs|tun.tx_gso) ' | tr '\n' ' '; echo
  kill "$sp" 2>/dev/null
  stop_synfin "$name"
}
iperf3_mode_twice() {
  t_iperf3_mode "$1" && [ -n "$rate_up" ] && [ -n "$rate_down" ] && return 0
  t_iperf3_mode "$1"
}
iperf3_ratio_bad() { # up_off up_no down_off down_no: prints why, exit 0 if bad
  awk -v uo="$1" -v un="$2" -v do_="$3" -v dn="$4" 'BEGIN {
    bad = 0
    if (uo < un / 2) { print "upload: --offload below half of --no-offload"; bad = 1 }
    if (do_ < dn / 2) { print "download: --offload below half of --no-offload"; bad = 1 }
    # the two directions run the same code in synfin (receive one side,
    # send the other); upload crawled at a twentieth of download while a
    # drained receive ring was freed and allocated again for every read,
    # and grown (copied) for nearly every segment
    if (un < dn / 4) { print "--no-offload: upload below a quarter of download"; bad = 1 }
    if (uo < do_ / 4) { print "--offload: upload below a quarter of download"; bad = 1 }
    exit !bad }'
}
max_rate() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { m = a > b ? a : b; if (m > 0) print m }'; }
t_iperf3() {
  local up_off= down_off= up_no= down_no= round rc=0
  # a mode whose run gave no rate (an iperf3 client that timed out on a
  # starved machine, as under the sanitizers with other builds beside
  # them) is run once more before the case fails. The defect this case
  # guards against costs offload a factor of hundreds; a shared 2-core
  # machine under ASan moves one 3 s rate by a factor of two. So when the
  # first round's ratio fails, both modes run a second round and each keeps
  # its better rate: noise only lowers rates, the defect stays.
  for round in 1 2; do
    rc=0
    iperf3_mode_twice --offload || rc=1
    up_off=$(max_rate "$up_off" "$rate_up"); down_off=$(max_rate "$down_off" "$rate_down")
    iperf3_mode_twice --no-offload || rc=1
    up_no=$(max_rate "$up_no" "$rate_up"); down_no=$(max_rate "$down_no" "$rate_down")
    echo "round $round: iperf3 through synfin proxy (Mbit/s, best so far): upload (kernel -> synfin) --offload ${up_off:-none}, --no-offload ${up_no:-none}; download (-R) --offload ${down_off:-none}, --no-offload ${down_no:-none}"
    [ $rc -eq 0 ] && [ -n "$up_off" ] && [ -n "$up_no" ] && [ -n "$down_off" ] && [ -n "$down_no" ] || continue
    iperf3_ratio_bad "$up_off" "$up_no" "$down_off" "$down_no" || return 0
  done
  return 1
}
want iperf3 && check "iperf3 both ways through the proxy: --offload at least half the --no-offload rate, upload at least a quarter of download" t_iperf3

# RFC 3168 ECN against the kernel, net.ipv4.tcp_ecn set inside the test's
# own namespace (1: the kernel asks and accepts; 0: off). tcpdump in the
# namespace records the handshake's flags and the data's ECN field (the
# low bits of the TOS byte: tcpdump -v prints ECT(0)).
ecn_capture() { # ns file: tcpdump on every interface of ns, waited for
  # (ip netns exec itself, not inns: a backgrounded function is a
  # subshell, whose pid the INT below would not end: the stop then
  # waited out its 5 s and left tcpdump running)
  ip netns exec "$1" timeout 120 tcpdump -i any -nn -v -U -w "$2" tcp >"$tmp/tcpdump.log" 2>&1 &
  pids+=("$!"); tcpdump_pid=$!
  wait_for 5 grep -q "listening on" "$tmp/tcpdump.log"
}
ecn_capture_stop() {
  sleep 0.3; kill -INT "$tcpdump_pid" 2>/dev/null; timeout 5 tail -s 0.05 --pid="$tcpdump_pid" -f /dev/null
  tcpdump -nn -v -r "$1" 2>/dev/null >"$1.txt"
}
# The kernel (client) asks with tcp_ecn=1 or not with 0; synfin serve
# (default --ecn 2) accepts when asked.
t_ecn_kclient() { # kernel tcp_ecn value
  local k=$1
  newns || return 1; local ns=$NS
  inns "$ns" sysctl -q -w net.ipv4.tcp_ecn="$k" || return 1
  start_synfin "$ns" ecn serve $SRV --app echo:7 || return 1
  ecn_capture "$ns" "$tmp/ecn.pcap" || { echo "tcpdump did not start"; return 1; }
  inns "$ns" env KPEER_TIMEOUT=30 timeout 120 $KPEER echo-client 198.18.0.2 7 $((2 << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  ecn_capture_stop "$tmp/ecn.pcap"
  local f="$tmp/ecn.pcap.txt" ok=1
  local syn synack ect
  syn=$(grep -c "198.18.0.1\.[0-9]* > 198.18.0.2\.7: Flags \[SEW\]" "$f")
  synack=$(grep -c "198.18.0.2\.7 > 198.18.0.1\.[0-9]*: Flags \[S\.E\]" "$f")
  ect=$(grep -c "ECT(0)" "$f")
  echo "tcp_ecn=$k: ECN-setup SYN $syn, ECN-setup SYN-ACK $synack, ECT(0) datagrams $ect"
  sss ecn --stats | grep -E '^(ECN_[A-Z_]*|RETRANSMITS) ' | tr '\n' ' '; echo
  if [ "$k" = 1 ]; then
    [ "$syn" -ge 1 ] && [ "$synack" -ge 1 ] && [ "$ect" -gt 10 ] || ok=0
    # tcpdump -v: the IP line (with the ECN field), then the TCP line
    local from_sf from_k
    from_sf=$(grep -A1 "ECT(0)" "$f" | grep -c "198.18.0.2\.7 >")
    from_k=$(grep -A1 "ECT(0)" "$f" | grep -c "> 198.18.0.2\.7:")
    echo "ECT(0) from synfin $from_sf, from the kernel $from_k"
    [ "$from_sf" -gt 5 ] && [ "$from_k" -gt 5 ] || ok=0
  else
    [ "$syn" = 0 ] && [ "$synack" = 0 ] && [ "$ect" = 0 ] || ok=0
    grep -q "Flags \[S\]" "$f" && grep -q "Flags \[S\.\]" "$f" || ok=0
  fi
  stop_synfin ecn && [ $rc -eq 0 ] && [ $ok = 1 ]
}
want ecn && check "ECN: kernel client tcp_ecn=1 -> synfin: negotiated, ECT(0) data both ways, 2 MB echoed" t_ecn_kclient 1
want ecn && check "ECN: kernel client tcp_ecn=0 -> synfin: plain handshake, Not-ECT, 2 MB echoed" t_ecn_kclient 0
# synfin connect --ecn 1 asks; the kernel server accepts with tcp_ecn=1
# (or 2, its default), refuses with 0.
t_ecn_sfclient() { # kernel tcp_ecn value
  local k=$1
  newns || return 1; local ns=$NS
  inns "$ns" sysctl -q -w net.ipv4.tcp_ecn="$k" || return 1
  head -c $((2 << 20)) /dev/urandom >"$tmp/in.bin"
  start_kserver "$ns" serve-echo 0.0.0.0 9000 || return 1
  ecn_capture "$ns" "$tmp/ecn.pcap" || { echo "tcpdump did not start"; return 1; }
  inns "$ns" timeout 120 "$SYNFIN" connect $SRV --ecn 1 --ctl "$tmp/cl.sock" -q 198.18.0.1 9000 \
    <"$tmp/in.bin" >"$tmp/out.bin" 2>"$tmp/client.log"
  local rc=$?
  ecn_capture_stop "$tmp/ecn.pcap"
  local a b; a=$(sha256sum <"$tmp/in.bin"); b=$(sha256sum <"$tmp/out.bin")
  local f="$tmp/ecn.pcap.txt" ok=1
  local syn synack ect
  syn=$(grep -c "198.18.0.2\.[0-9]* > 198.18.0.1\.9000: Flags \[SEW\]" "$f")
  synack=$(grep -c "198.18.0.1\.9000 > 198.18.0.2\.[0-9]*: Flags \[S\.E\]" "$f")
  ect=$(grep -c "ECT(0)" "$f")
  echo "tcp_ecn=$k: synfin's ECN-setup SYN $syn, kernel's ECN-setup SYN-ACK $synack, ECT(0) datagrams $ect; rc $rc, SHA-256 $([ "$a" = "$b" ] && echo equal || echo DIFFERENT)"
  [ "$syn" -ge 1 ] || ok=0
  if [ "$k" = 1 ]; then
    [ "$synack" -ge 1 ] && [ "$ect" -gt 10 ] || ok=0
  else
    [ "$synack" = 0 ] && [ "$ect" = 0 ] || ok=0
  fi
  [ $rc -eq 0 ] && [ "$a" = "$b" ] && [ $ok = 1 ]
}
want ecn && check "ECN: synfin connect --ecn 1 -> kernel tcp_ecn=1: negotiated, 2 MB echoed" t_ecn_sfclient 1
want ecn && check "ECN: synfin connect --ecn 1 -> kernel tcp_ecn=0: refused, plain, 2 MB echoed" t_ecn_sfclient 0

# ---------------------------------------------------------------- IPv6
# The lifecycle cases again over IPv6 (issue 11): synfin at fd00:5f::2,
# the kernel at fd00:5f::1/64 on the TUN device (RFC 4193 local addresses
# only; a TUN device is point-to-point and NOARP, so the kernel runs no
# DAD on it and the address is usable at once). serve listens dual-stack;
# every address the cases use is IPv6, so nothing can pass over IPv4. The
# echo and synfin-client cases run with and without offload (TSO6 super-
# packets in, merged TCPv6 GSO packets out / one datagram per write).
SRVA="$SRV --addr6 fd00:5f::2 --host6 fd00:5f::1/64"; SFA=fd00:5f::2; KA=fd00:5f::1; ANY=::
PKA="[$KA]"
want ipv6 && check "IPv6: handshake; nc through echo and daytime" t_handshake_nc
for o in --offload --no-offload; do
  want ipv6 && check "IPv6 $o: echo ${MB} MB kernel client -> synfin, equal byte for byte" t_echo_big "$MB" $o
  want ipv6 && check "IPv6 $o: synfin connect -> kernel echo server, ${MB} MB, SHA-256 equal" t_client "$MB" $o
done
# With --offload the IPv6 bytes must really take the offload paths: the
# kernel's TSO6 super-packets read (tun.rx_gso) and our merged TCPv6 GSO
# packets written (tun.tx_gso), the echo intact. The kernel's timestamps
# are off in the namespace (net.ipv4.tcp_timestamps covers IPv6 too): only
# segments without TCP options are merged (gso_plain_data).
t_echo6_gso() {
  newns || return 1; local ns=$NS
  inns "$ns" sysctl -qw net.ipv4.tcp_timestamps=0 || return 1
  start_synfin "$ns" g6 serve $SRVA --offload --app echo:7 || return 1
  inns "$ns" env KPEER_TIMEOUT=30 timeout 120 $KPEER echo-client $SFA 7 $((4 << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  local rx tx
  rx=$(sss g6 --stats | awk '$1=="tun.rx_gso"{print $2}')
  tx=$(sss g6 --stats | awk '$1=="tun.tx_gso"{print $2}')
  echo "tun.rx_gso ${rx:-missing} tun.tx_gso ${tx:-missing}"
  stop_synfin g6 && [ $rc -eq 0 ] && [ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ]
}
want ipv6 && check "IPv6 --offload: 4 MB echo through TSO6 super-packets in and TCPv6 GSO packets out" t_echo6_gso
# Bad IPv6 options: one line naming what was wrong, exit 2, nothing
# created; ss prints the IPv6 columns whole, in brackets (RFC 5952 text).
t_bad_options6() {
  local e=$tmp/e6 bad=0
  try() { # expected-words, then the arguments
    local want=$1; shift
    "$SYNFIN" "$@" 2>"$e" >/dev/null </dev/null; local rc=$?
    echo "  $* -> rc $rc: $(cat "$e")"
    [ $rc -eq 2 ] && [ "$(wc -l <"$e")" -eq 1 ] && grep -q -- "$want" "$e" || bad=1
  }
  try "an IPv4 address" serve --app echo:7 --addr6 198.18.0.2
  try "not an IPv6 address" serve --app echo:7 --addr6 fd00::g
  try "multicast" serve --app echo:7 --addr6 ff02::1
  try "IPv4-mapped" serve --app echo:7 --addr6 ::ffff:198.18.0.2
  try "unspecified" serve --app echo:7 --host6 ::/64
  try "prefix" serve --app echo:7 --host6 fd00:5f::1/200
  try "prefix" serve --app echo:7 --addr6 fd00:60::2 --host6 fd00:5f::1/64
  try "minimum of 1280" serve --app echo:7 --addr6 fd00:5f::2 --mtu 1000
  try "no IPv6 address" connect fd00:5f::1 9
  try "HOST wants" connect fd00:5f::1::2 9
  try "proxy:PORT=\[IPV6\]:PORT" serve --app 'proxy:80=[fd00::g]:80'
  [ $bad -eq 0 ] || return 1
  newns || return 1; local ns=$NS
  # a long address (29 characters with brackets and port: wider than the
  # 21 of ss's IPv4 columns and the 23 the control socket once carried)
  local long=fd00:5f::1234:5678:9abc:2
  start_synfin "$ns" so6 serve $SRV --addr6 $long --host6 fd00:5f::1/64 --app echo:7 || return 1
  mkfifo "$tmp/fifo6"
  ip netns exec "$ns" timeout 30 $KPEER hold $long 7 "$tmp/fifo6" >"$tmp/hold.log" 2>&1 &
  pids+=($!)
  exec 9>"$tmp/fifo6"
  wait_for 5 sf_has so6 established "fd00:5f::1" || { exec 9>&-; return 1; }
  sss so6; sss so6 --json
  local okss=0
  sss so6 state established | grep -q "^ESTAB .* \[$long\]:7  *\[fd00:5f::1\]:[0-9]" &&
    sss so6 --json | grep -q "\"local\": \"\[$long\]:7\"" && okss=1
  echo exit >&9; exec 9>&-
  [ $okss -eq 1 ] || return 1
  stop_synfin so6
}
want ipv6 && check "IPv6: bad --addr6/--host6/HOST: one-line errors naming what is wrong; ss prints [IPv6]:port whole" t_bad_options6
want ipv6 && check "IPv6: SYN to a closed port: ECONNREFUSED (kernel client; synfin connect exits 3)" t_refused
want ipv6 && check "IPv6: SO_LINGER 0 abort: synfin resets; kernel reader gets ECONNRESET" t_abort
want ipv6 && check "IPv6: kernel closes first: kernel TIME_WAIT; synfin CLOSE_WAIT then LAST_ACK" t_kernel_closes_first
want ipv6 && check "IPv6: synfin closes first: synfin TIME_WAIT; kernel CLOSE_WAIT then LAST_ACK" t_synfin_closes_first
# Loss, reordering and SACK over IPv6: synfin's impairments on its TUN
# side (as the IPv4 cases above), the kernel's tcp_sack sysctl (it covers
# IPv6), the proxy app to an IPv6 target, and SIGTERM mid-echo. The
# ECN and RFC 7323 cases stay IPv4: they read the handshake with tcpdump
# filters on tcp[] bytes, which tcpdump has for IPv4 only (the drill
# scripts of tests/drill/ecn and rfc7323 run over IPv6 in the suite).
want ipv6 && check "IPv6: echo ${LOSSY_MB} MB with 2% loss + 2% reordering on synfin's side" \
  t_echo_big "$LOSSY_MB" --loss 0.02 --reorder 0.02 --rto-min 200 --seed 5
want ipv6 && check "IPv6: echo ${LOSSY_MB} MB, 2% loss, kernel tcp_sack=1: SACK recovery used" t_echo_sack 1
want ipv6 && check "IPv6: echo ${LOSSY_MB} MB, 2% loss, kernel tcp_sack=0: no SACK, NewReno" t_echo_sack 0
want ipv6 && check "IPv6: proxy app carries a kernel-to-kernel ${MB} MB echo to [fd00:5f::1] intact" t_proxy
want ipv6 && check "IPv6: SIGTERM mid-echo: FIN sent, echoed bytes a prefix, exit 0" t_sigterm
SRVA=$SRV; SFA=198.18.0.2; KA=198.18.0.1; ANY=0.0.0.0; PKA=$KA

# The csum-offload cases' client namespace cl behind synfin's namespace
# ns: a veth pair vr (ns, 198.18.1.1) - vc (cl, 198.18.1.2), cl routed
# to synfin's 198.18.0.0/24 through ns, which forwards.
csum_gateway() { # ns cl
  local ns=$1 cl=$2
  inns "$ns" ip link add vr type veth peer name vc netns "$cl" || return 1
  inns "$ns" ip addr add 198.18.1.1/24 dev vr && inns "$ns" ip link set vr up || return 1
  inns "$cl" ip addr add 198.18.1.2/24 dev vc && inns "$cl" ip link set vc up || return 1
  inns "$cl" ip route add 198.18.0.0/24 via 198.18.1.1 || return 1
  inns "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.sf0.rp_filter=0
}

# Checksum offload (virtio 1.x 5.1.6.2; docs/tun.md): with --offload no
# TCP checksum is summed where the kernel does not need one: what the
# kernel hands synfin with NEEDS_CSUM goes to the core unchecked
# (CSUM_IN_SKIPPED, tun.rx_csum_skipped), and synfin's segments carry only
# the pseudo-header sum with NEEDS_CSUM (CSUM_OUT_PARTIAL,
# tun.tx_csum_partial). A gateway: the kernel client sits in another
# namespace behind a veth whose router side has tx checksumming off, so
# the router's kernel completes synfin's partial checksums in software
# (skb_checksum_help) and the client's kernel checks every one (RFC 9293
# 3.1): the echo must come back whole and TcpInCsumErrors stay 0. A SYN
# with a bad checksum sent by a raw socket (no NEEDS_CSUM, no DATA_VALID)
# is still dropped and counted (TCP_CSUM). --no-offload: nothing skipped,
# nothing partial. With --pcap the driver completes the checksums for the
# capture alone (tun.rx_csum_skipped stays 0, the core still skips and
# still sends partial ones): tcpdump -vv must find none incorrect.
t_csum_offload() { # --offload|--no-offload [pcap]
  local mode=$1 pcap=${2:-}
  newns || return 1; local ns=$NS
  newns || return 1; local cl=$NS
  local extra=()
  [ -n "$pcap" ] && extra=(--pcap "$tmp/co.pcap")
  start_synfin "$ns" co serve $SRVA --app echo:7 "$mode" "${extra[@]}" || return 1
  csum_gateway "$ns" "$cl" || return 1
  inns "$ns" ethtool -K vr tx off >/dev/null || return 1
  inns "$cl" nstat -n >/dev/null
  inns "$cl" env KPEER_TIMEOUT=30 timeout 120 $KPEER echo-client $SFA 7 $((4 << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  local cerr
  cerr=$(inns "$cl" nstat -az TcpInCsumErrors | awk '$1=="TcpInCsumErrors"{print $2}')
  st() { sss co --stats | awk -v k="$1" '$1==k{print $2}'; }
  local skip part rskip tpart bad0
  skip=$(st CSUM_IN_SKIPPED); part=$(st CSUM_OUT_PARTIAL)
  rskip=$(st tun.rx_csum_skipped); tpart=$(st tun.tx_csum_partial)
  bad0=$(st drop.TCP_CSUM)
  echo "$mode: client TcpInCsumErrors ${cerr:-missing}; CSUM_IN_SKIPPED $skip CSUM_OUT_PARTIAL $part tun.rx_csum_skipped $rskip tun.tx_csum_partial $tpart drop.TCP_CSUM $bad0"
  [ $rc -eq 0 ] && [ "${cerr:-x}" = 0 ] && [ "$bad0" = 0 ] || return 1
  if [ -n "$pcap" ]; then
    [ "$skip" -gt 0 ] && [ "$part" -gt 0 ] && [ "$rskip" = 0 ] && [ "$tpart" -gt 0 ] || return 1
  elif [ "$mode" = --offload ]; then
    [ "$skip" -gt 0 ] && [ "$part" -gt 0 ] && [ "$rskip" -gt 0 ] && [ "$tpart" -gt 0 ] || return 1
  else
    [ "$skip" = 0 ] && [ "$part" = 0 ] && [ "$rskip" = 0 ] && [ "$tpart" = 0 ] || return 1
  fi
  inns "$ns" timeout 20 python3 - <<'PY' || return 1
import socket, struct
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
src, dst = socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2")
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
for i in range(50):
    t = struct.pack("!HHIIBBHHH", 9000 + i, 7, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(t)) + t) ^ 0x5555
    t = t[:16] + struct.pack("!H", c) + t[18:]
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(t), i, 0, 64, 6, 0, src, dst)
    raw.sendto(h + t, ("198.18.0.2", 0))
PY
  bad_at_least() { [ "$(st drop.TCP_CSUM)" -ge 50 ]; }
  wait_for 10 bad_at_least || { echo "drop.TCP_CSUM $(st drop.TCP_CSUM), not 50"; return 1; }
  echo "$mode: 50 bad checksums injected without the flag: drop.TCP_CSUM $(st drop.TCP_CSUM)"
  stop_synfin co || return 1
  [ -z "$pcap" ] && return 0
  # the capture: every TCP checksum complete but the 50 injected ones
  local n bad
  n=$(tcpdump -nn -vv -r "$tmp/co.pcap" tcp 2>/dev/null | grep -c 'cksum')
  bad=$(tcpdump -nn -vv -r "$tmp/co.pcap" tcp 2>/dev/null | grep -c 'incorrect')
  echo "pcap: $n TCP segments, $bad with an incorrect checksum (50 injected)"
  [ "$n" -gt 1000 ] && [ "$bad" = 50 ]
}
for o in --offload --no-offload; do
  want csum-offload && check "checksum offload $o: gateway echo 4 MB, kernel-completed checksums valid, bad ones still dropped" \
    t_csum_offload $o
done
want csum-offload && check "checksum offload --offload --pcap: the capture's checksums complete" \
  t_csum_offload --offload pcap

# The same gateway over IPv6 (RFC 8200 8.1 pseudo-header): synfin at
# fd00:5f::2, the client at fd00:60::2 behind a veth whose router side has
# tx checksumming off; the router's kernel completes synfin's partial
# TCPv6 checksums (csum_start 40) in software and the client's checks
# them (TcpInCsumErrors covers IPv6 too).
t_csum_offload6() {
  newns || return 1; local ns=$NS
  newns || return 1; local cl=$NS
  start_synfin "$ns" co6 serve $SRV --addr6 fd00:5f::2 --host6 fd00:5f::1/64 \
    --app echo:7 --offload || return 1
  inns "$ns" ip link add vr type veth peer name vc netns "$cl" || return 1
  inns "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
  inns "$ns" ip -6 addr add fd00:60::1/64 dev vr nodad && inns "$ns" ip link set vr up || return 1
  inns "$cl" ip -6 addr add fd00:60::2/64 dev vc nodad && inns "$cl" ip link set vc up || return 1
  inns "$cl" ip -6 route add fd00:5f::/64 via fd00:60::1 || return 1
  inns "$ns" ethtool -K vr tx off >/dev/null || return 1
  inns "$cl" nstat -n >/dev/null
  # the client's route to synfin's address before it connects (as
  # t_sigterm waits; a ping here never answered: scripts/deps.sh installs
  # no ping, so the wait ran out its 5 s every time)
  wait_for 5 inns "$cl" ip -6 route get fd00:5f::2 || return 1
  inns "$cl" env KPEER_TIMEOUT=30 timeout 120 $KPEER echo-client fd00:5f::2 7 $((4 << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  local cerr skip part
  cerr=$(inns "$cl" nstat -az TcpInCsumErrors | awk '$1=="TcpInCsumErrors"{print $2}')
  skip=$(sss co6 --stats | awk '$1=="CSUM_IN_SKIPPED"{print $2}')
  part=$(sss co6 --stats | awk '$1=="CSUM_OUT_PARTIAL"{print $2}')
  echo "IPv6: client TcpInCsumErrors ${cerr:-missing}; CSUM_IN_SKIPPED $skip CSUM_OUT_PARTIAL $part"
  stop_synfin co6 && [ $rc -eq 0 ] && [ "${cerr:-x}" = 0 ] && [ "$skip" -gt 0 ] && [ "$part" -gt 0 ]
}
want csum-offload && check "checksum offload IPv6 --offload: gateway echo 4 MB, kernel-completed TCPv6 checksums valid" \
  t_csum_offload6

# DATA_VALID (virtio 1.x 5.1.6.2: "the data in the packet has been
# validated"): the client's veth sends with tx checksumming off (its
# kernel sums every segment: nothing comes NEEDS_CSUM but what the
# router's GRO merges), the router's veth receives with GRO on, which
# checks each checksum; the TUN then marks the single segments DATA_VALID
# and synfin skips them too (tun.rx_csum_skipped above tun.rx_gso, the
# merged ones). With GRO off nobody checked them: the core checks every
# one (CSUM_IN_SKIPPED 0).
t_csum_data_valid() { # on|off (the router's GRO)
  local gro=$1
  newns || return 1; local ns=$NS
  newns || return 1; local cl=$NS
  start_synfin "$ns" dv serve $SRVA --app echo:7 --offload || return 1
  csum_gateway "$ns" "$cl" || return 1
  inns "$cl" ethtool -K vc tx off >/dev/null || return 1
  inns "$ns" ethtool -K vr gro "$gro" >/dev/null || return 1
  inns "$cl" env KPEER_TIMEOUT=30 timeout 120 $KPEER echo-client $SFA 7 $((4 << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  st() { sss dv --stats | awk -v k="$1" '$1==k{print $2}'; }
  local skip rskip gso rx
  skip=$(st CSUM_IN_SKIPPED); rskip=$(st tun.rx_csum_skipped); gso=$(st tun.rx_gso); rx=$(st tun.rx)
  echo "GRO $gro: tun.rx $rx tun.rx_gso $gso tun.rx_csum_skipped $rskip CSUM_IN_SKIPPED $skip drop.TCP_CSUM $(st drop.TCP_CSUM)"
  stop_synfin dv && [ $rc -eq 0 ] || return 1
  if [ "$gro" = on ]; then [ "$rskip" -gt "$gso" ] && [ "$skip" = "$rskip" ]
  else [ "$skip" = 0 ] && [ "$rskip" = 0 ]; fi
}
want csum-offload && check "checksum offload: segments the router's GRO checked come DATA_VALID and are skipped" \
  t_csum_data_valid on
want csum-offload && check "checksum offload: segments nobody checked (router GRO off, client tx csum off) are all checked" \
  t_csum_data_valid off
