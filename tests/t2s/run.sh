#!/usr/bin/env bash
# synfin tun2socks against real clients and servers, in network namespaces
# (named t2s<PID>-s and t2s<PID>-e), addresses in 198.18.0.0/15 only, every
# wait bounded, everything created deleted by name on exit (trap).
#
#   server ns  veth 198.18.1.2/24 (the proxies: microsocks :1080, dante
#              :1081 with username/password), 198.18.2.2/32 on lo (the
#              services: python http.server :8080, iperf3 -s :5201,
#              t2s_peer.py servers :7000-7002)
#   engine ns  veth 198.18.1.1/24, the TUN (kernel 198.18.0.1/24), routes
#              198.18.2.0/24 and 198.19.99.0/24 (nobody's) into the TUN;
#              the clients run here (curl, iperf3, python, nc)
#
# Needs root, /dev/net/tun, ip, python3, curl, iperf3, microsocks, danted,
# openssl, iptables (scripts/deps.sh installs them); says which is missing and fails.
# Env: SYNFIN (binary), T2S_ONLY (a regex of case names).
set -u
SYNFIN=${SYNFIN:-build/synfin}
SYNFIN=$(readlink -f "$SYNFIN")
HERE=$(cd "$(dirname "$0")" && pwd)
PEER="python3 $HERE/t2s_peer.py"
ONLY=${T2S_ONLY:-.}
S="t2s$$-s"; E="t2s$$-e"; TUN="t2s$$"; VE="t2s$$e"; VS="t2s$$s"
tmp=$(mktemp -d /tmp/t2s.XXXXXX)
LABEL=t2s
. "$HERE/lib.sh"
t2s_need ip python3 curl iperf3 microsocks danted openssl unshare timeout sha256sum iptables
bg() { # LOG COMMAND...: in the background, remembered for cleanup
  local log=$1; shift
  "$@" >"$tmp/$log" 2>&1 &
  pids+=($!)
  LASTPID=$!
}

# ---------------------------------------------------------------- topology
ip netns add "$S" && ip netns add "$E" || { echo "t2s: cannot create namespaces"; echo "0 passed, 1 failed"; exit 1; }
ins ip link set lo up; ine ip link set lo up
ip link add "$VE" netns "$E" type veth peer name "$VS" netns "$S"
ine ip addr add 198.18.1.1/24 dev "$VE"; ine ip link set "$VE" up
ins ip addr add 198.18.1.2/24 dev "$VS"; ins ip link set "$VS" up
ins ip addr add 198.18.2.2/32 dev lo
ins ip -6 addr add 2001:db8:2::2/128 dev lo
# direct mode: marked sockets reach the services over the veth
ine ip rule add fwmark 0x5f lookup 95 pref 100
ine ip route add 198.18.2.0/24 via 198.18.1.2 dev "$VE" table 95
ine ip route add unreachable 198.19.99.0/24 table 95

head -c 3000000 /dev/urandom >"$tmp/file.bin"
head -c 32000000 /dev/zero >"$tmp/big.bin"
want=$(sha256sum <"$tmp/file.bin" | cut -c1-64)
bg http.out ip netns exec "$S" python3 -m http.server 8080 --bind 198.18.2.2 -d "$tmp"
bg http6.out ip netns exec "$S" python3 -m http.server 8081 --bind 2001:db8:2::2 -d "$tmp"
bg iperf.out ip netns exec "$S" iperf3 -s -B 198.18.2.2 -p 5201
bg rr.out ip netns exec "$S" $PEER reqresp-server 198.18.2.2 7000
bg hc.out ip netns exec "$S" $PEER halfclose-server 198.18.2.2 7001
bg st.out ip netns exec "$S" $PEER stream-server 198.18.2.2 7002
bg sink.out ip netns exec "$S" $PEER sink-server 198.18.2.2 7003
bg delayed.out ip netns exec "$S" $PEER delayed-server 198.18.2.2 7004 4 "$tmp/file.bin"
bg delayed2.out ip netns exec "$S" $PEER delayed-server 198.18.2.2 7005 2 "$tmp/file.bin"
bg garbage.out ip netns exec "$S" $PEER garbage-server 198.18.1.2 1082
bg silent.out ip netns exec "$S" $PEER silent-server 198.18.1.2 1083
bg midgreet.out ip netns exec "$S" $PEER midgreet-server 198.18.1.2 1084
bg banner.out ip netns exec "$S" $PEER banner-server 198.18.1.2 1085
bg pipeline.out ip netns exec "$S" $PEER pipeline-server 198.18.1.2 1086
start_microsocks() { bg ms.out ip netns exec "$S" microsocks -i 198.18.1.2 -p 1080; MSPID=$LASTPID; }
start_microsocks
# dante with username/password: a user that exists only in a private mount
# namespace's /etc/passwd and /etc/shadow (bind-mounted copies)
cp /etc/passwd "$tmp/passwd"; cp /etc/shadow "$tmp/shadow"
echo "t2suser:x:4242:4242::/nonexistent:/usr/sbin/nologin" >>"$tmp/passwd"
echo "t2suser:$(openssl passwd -6 -salt t2ssalt 's3cret'):19000:0:99999:7:::" >>"$tmp/shadow"
cat >"$tmp/danted.conf" <<EOF
logoutput: $tmp/danted.out
internal: 198.18.1.2 port = 1081
external: $VS
socksmethod: username
user.privileged: root
user.unprivileged: nobody
client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect }
EOF
bg dante.log ip netns exec "$S" unshare -m sh -c "mount --bind $tmp/passwd /etc/passwd && \
  mount --bind $tmp/shadow /etc/shadow && exec danted -f $tmp/danted.conf -p $tmp/danted.pid"
for p in 8080 5201 7000 7001 7002 7003 7004 7005; do
  wait_for 5 ins bash -c "echo >/dev/tcp/198.18.2.2/$p" || echo "t2s: server on :$p did not start"
done
wait_for 5 ins bash -c "echo >/dev/tcp/2001:db8:2::2/8081" || echo "t2s: server on [2001:db8:2::2]:8081 did not start"
wait_for 5 ins bash -c "echo >/dev/tcp/198.18.1.2/1080" || echo "t2s: microsocks did not start"
wait_for 5 ins bash -c "echo >/dev/tcp/198.18.1.2/1083" || echo "t2s: the silent server did not start"
wait_for 5 ins bash -c "echo >/dev/tcp/198.18.1.2/1084" || echo "t2s: the mid-greeting server did not start"
wait_for 5 ins bash -c "echo >/dev/tcp/198.18.1.2/1085" || echo "t2s: the banner server did not start"
wait_for 5 ins bash -c "echo >/dev/tcp/198.18.1.2/1086" || echo "t2s: the pipeline server did not start"
wait_for 5 ins bash -c "echo >/dev/tcp/198.18.1.2/1081" || echo "t2s: danted did not start"

# start_engine NAME ARGS...: synfin tun2socks in the engine ns, waited for
# until its control socket answers; then the client routes into the TUN.
start_engine() {
  local name=$1; shift
  ip netns exec "$E" "$SYNFIN" tun2socks --tun "$TUN" --ctl "$tmp/$name.sock" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  ENGINE=$!
  pids+=("$ENGINE")
  wait_for 5 "$SYNFIN" ss --ctl "$tmp/$name.sock" || return 1
  [ -n "${NOROUTES:-}" ] && return 0
  ine ip route add 198.18.2.0/24 dev "$TUN"
  ine ip route add 198.19.99.0/24 dev "$TUN"
  if [ -n "${WITH6:-}" ]; then
    ine ip -6 route add 2001:db8:2::/64 dev "$TUN" && ine ip -6 route add 2001:db8:99::/64 dev "$TUN"
  fi
}
# stop_engine: SIGTERM, exit 0 within the grace (2 s) and a margin
stop_engine() {
  kill -TERM "$ENGINE" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$ENGINE" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$ENGINE" 2>/dev/null; then kill -KILL "$ENGINE"; return 1; fi
  wait "$ENGINE"
}
sss() { "$SYNFIN" ss --ctl "$tmp/$1.sock" "${@:2}"; }
stat_of() { sss "$1" --stats | awk -v k="$2" '$1==k {print $2}'; }

# the kernel's NAPI threads of our TUN: napi/DEV-ID, cut to 15 characters
napi_comm() { local k="napi/$TUN-"; ps -eo comm | grep "^${k:0:15}"; }
napi_on() { # ENGINE: its TUN's NAPI polls in a kernel thread
  local v; v=$(stat_of "$1" tun.napi_thread)
  { napi_comm; echo "tun.napi_thread $v"; } >"$tmp/napi.log"
  [ "$v" = 1 ] && grep -q "^napi/" "$tmp/napi.log"; }
fetch_ok() { # curl the file through the tunnel, SHA-256 checked
  rm -f "$tmp/got.bin"
  ine timeout 20 curl -sS -o "$tmp/got.bin" http://198.18.2.2:8080/file.bin 2>"$tmp/curl.log" &&
    [ "$(sha256sum <"$tmp/got.bin" | cut -c1-64)" = "$want" ]
}
fetch6_ok() { # the same over IPv6
  rm -f "$tmp/got.bin"
  ine timeout 20 curl -sS -o "$tmp/got.bin" "http://[2001:db8:2::2]:8081/file.bin" 2>"$tmp/curl.log" &&
    [ "$(sha256sum <"$tmp/got.bin" | cut -c1-64)" = "$want" ]
}
errno_is() { # WANT HOST PORT
  local got; got=$(ine timeout 10 $PEER errno "$2" "$3" 2>&1)
  [ "$got" = "$1" ] || { echo "connect $2:$3: $got, want $1" >"$tmp/errno.log"; return 1; }
}
udp_errno_is() { # WANT HOST PORT: a connected UDP socket's send and
  # recv: the errno name an ICMP error gave it, or "timeout"
  local got; got=$(ine timeout 10 python3 - "$2" "$3" <<'EOF' 2>&1
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# net and host unreachable are soft errors for a Linux UDP socket (as
# RFC 1122 4.2.3.9 has them for TCP): heard only with IP_RECVERR (11)
s.setsockopt(socket.IPPROTO_IP, 11, 1)
s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"x")
try:
    s.recv(100)
    print("answered")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
EOF
)
  [ "$got" = "$1" ] || { echo "UDP to $2:$3: $got, want $1" >"$tmp/errno.log"; return 1; }
}
iperf_dir() { # ARGS: a short run each way, sane result
  ine timeout 20 iperf3 -c 198.18.2.2 -p 5201 -t 2 -J "$@" >"$tmp/iperf.json" 2>"$tmp/iperf.log" || return 1
  local bps
  bps=$(python3 -c "import json;print(int(json.load(open('$tmp/iperf.json'))['end']['sum_received']['bits_per_second']))")
  echo "iperf3 $* $((bps / 1000000)) Mbit/s" >>"$tmp/iperf.txt"
  echo "    iperf3 ${*:-(up)}: $((bps / 1000000)) Mbit/s"
  [ "$bps" -gt 1000000 ]
}
many_ok() { ine timeout 90 $PEER many 198.18.2.2 7000 1000 >"$tmp/many.log" 2>&1; }
halfclose_ok() {
  ine timeout 20 $PEER halfclose 198.18.2.2 7001 200000 >"$tmp/hc.log" 2>&1 || return 1
  # nc too: it shuts its write side at stdin's end (-N) and still reads
  local got; got=$(printf 'hello' | ine timeout 10 nc -N 198.18.2.2 7001)
  [ "$got" = "got 5 $(printf hello | sha256sum | cut -c1-64)" ] || { echo "nc: '$got'" >"$tmp/nc.log"; return 1; }
}
flow_moving() { # ENGINE PORT up|down: ss lists a flow to PORT (its
  # upstream named) that relayed bytes that way; its lines in ss.log
  sss "$1" | grep -E "198.18.2.2:$2 " >"$tmp/ss.log"
  grep -qE "198.18.2.2:$2 .*via:[a-z0-9]+ .*$3:[1-9]" "$tmp/ss.log"
}
ss_shows_flow() { # a slow flow is listed with its upstream and bytes
  # (waited for, up to 10 s: a fixed 0.6 s is not enough on a loaded machine)
  ine timeout 20 nc 198.18.2.2 7002 >/dev/null &
  local p=$!
  wait_for 10 flow_moving a 7002 down
  sss a --mem | grep -E "198.18.2.2:7002 " >"$tmp/ssmem.log"
  kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
  grep -qE "198.18.2.2:7002 .*via:socks5 up:0 down:[1-9]" "$tmp/ss.log" &&
    # --mem: its storages, sized to what they hold, within its buffers
    awk 'match($0, /mem:\(r[0-9]+,rb[0-9]+,t[0-9]+,tb[0-9]+\)/) {
           split(substr($0, RSTART + 5, RLENGTH - 6), f, /,?[a-z]+/)
           ok = f[2] <= f[3] + f[3] / 8 + 16384 && f[4] <= f[5] + f[5] / 2 } END { exit !ok }' "$tmp/ssmem.log"
}
proxy_killed() { # mid-upload: the client sees a reset, the engine lives on
  # (a proxy that dies with bytes unread resets its connections; one that
  # had read everything sends a FIN, which is passed on as such, and the
  # next bytes sent to it are answered with a reset, passed on too).
  # "Mid-transfer" is waited for, not assumed after a fixed sleep: on a
  # loaded machine the client's connect once came after the kill (it was
  # refused, and the case failed with the proxy still dead).
  # (under two CPU hogs the upload moved its first bytes 2.9-7.1 s after
  # its start: python's start-up and each `synfin ss` are slow then)
  ine timeout 60 $PEER upload 198.18.2.2 7003 45 >"$tmp/upload.log" 2>&1 &
  local c=$! rc=0 t0; t0=$(date +%s%N)
  if wait_for 30 flow_moving a 7003 up; then
    kill -KILL "$MSPID"
    echo "    (the upload moved bytes $(( ($(date +%s%N) - t0) / 1000000 )) ms after its start)"
  else
    echo "the upload's flow never moved bytes" >>"$tmp/upload.log"; kill "$c"; rc=1
  fi
  wait "$c"
  wait "$MSPID" 2>/dev/null
  sss a --stats | grep -E "t2s.(upstream_resets|client_resets|bytes_up)" >>"$tmp/upload.log"
  grep -qE "ECONNRESET|EPIPE" "$tmp/upload.log" || rc=1
  kill -0 "$ENGINE" || rc=1
  # the proxy back whatever happened, so that the cases after this one run
  start_microsocks
  wait_for 10 ins bash -c "echo >/dev/tcp/198.18.1.2/1080" && fetch_ok && [ "$rc" -eq 0 ]
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
slow_reader_idle() { # a client reading at 1 MB/s for 3 s, far behind the
  # server (32 MB, more than every buffer on the way holds): the engine
  # waits for room in the client's connection, it does not spin
  local t0 t1 c0 c1 rc
  t0=$(cpu_ticks "$ENGINE"); c0=$(date +%s%N)
  ine timeout 20 curl -sS --limit-rate 1M --max-time 3 -o /dev/null http://198.18.2.2:8080/big.bin 2>"$tmp/slow.log"
  rc=$?
  [ "$rc" -eq 28 ] || { echo "curl: $rc, want 28 (stopped by --max-time)" >>"$tmp/slow.log"; return 1; }
  t1=$(cpu_ticks "$ENGINE"); c1=$(date +%s%N)
  echo "engine CPU $(( (t1 - t0) * 10 )) ms in $(( (c1 - c0) / 1000000 )) ms" >>"$tmp/slow.log"
  sed 's/^/    /' "$tmp/slow.log" | tail -1
  [ $(( (t1 - t0) * 10 )) -lt $(( (c1 - c0) / 1000000 / 4 )) ] # under a quarter of a core
}
sigterm_graceful() { # a flow open at SIGTERM gets a FIN; exit 0 in time
  # (the flow is waited for, up to 10 s, not assumed after 0.5 s: on a
  # loaded machine the SIGTERM once came before its upstream was open, and
  # a flow not yet open is refused, not closed; under two CPU hogs nc had
  # its second line 0.23-0.49 s after its start)
  ine timeout 20 nc 198.18.2.2 7002 >"$tmp/nc-term.out" 2>"$tmp/nc-term.log" &
  local p=$! t0; t0=$(date +%s%N)
  wait_for 10 grep -q "line 1" "$tmp/nc-term.out" || echo "nc: no line 1 in 10 s" >>"$tmp/nc-term.log"
  echo "    (nc had its second line $(( ($(date +%s%N) - t0) / 1000000 )) ms after its start)"
  stop_engine || return 1
  wait "$p"; local rc=$?
  grep -q "line 1" "$tmp/nc-term.out" && [ "$rc" -eq 0 ] && grep -q stopped "$tmp/a.err"
}

# --------------------------------------------------------------- cases
if WITH6=1 start_engine a --proxy socks5://198.18.1.2:1080 --rule 198.18.2.2:7998=reject \
    --host6 fd00:5f::1/64 --grace 2 --stats; then
  check "microsocks: curl 3 MB, SHA-256" fetch_ok
  check "microsocks: IPv6 curl 3 MB, SHA-256" fetch6_ok
  check "IPv6 unreachable upstream: ENETUNREACH (ICMPv6)" errno_is ENETUNREACH 2001:db8:99::1 80
  check "microsocks: iperf3 up (2 s)" iperf_dir
  check "microsocks: iperf3 down (2 s)" iperf_dir -R
  check "microsocks: 1000 concurrent request/response" many_ok
  # 1000 idle flows closed at once (their FINs, then ACKs of ours, in one
  # burst): the TUN's queue (500 datagrams by default) dropped hundreds,
  # each flow then waiting for a retransmission timeout; sf_tun_config
  # raises it (SF_TUN_TXQLEN)
  burst_clean() { local rto0 kd0 rto kd
    rto0=$(stat_of a RTO_EVENTS); kd0=$(stat_of a tun.kernel_dropped)
    ine timeout 60 $PEER hold 198.18.2.2 7000 1000 idle 1 >"$tmp/burst.log" 2>&1 || return 1
    # until every connection is gone from the stack: a FIN or ACK lost
    # keeps its connection (and its timer) until the retransmission
    # timeout, 200 ms to 1 s, has sent it again; with none left no timer
    # can fire any more (at most the 3 s once slept here)
    wait_for 3 bash -c "! '$SYNFIN' ss --ctl '$tmp/a.sock' state all | grep -q '198.18.2.2:7000 '"
    rto=$(stat_of a RTO_EVENTS); kd=$(stat_of a tun.kernel_dropped)
    echo "RTO_EVENTS $rto0 -> $rto, tun.kernel_dropped $kd0 -> $kd" >>"$tmp/burst.log"
    [ -n "$rto" ] && [ -n "$kd" ] && [ "$kd" = "$kd0" ] && [ "$rto" = "$rto0" ]; }
  check "1000 flows at once: no datagram dropped at the TUN, no retransmission timeout" burst_clean
  # the clients closed first: the ACK of each FIN waited for ours
  # (cfg.fin_ack_delay, RFC 1122 4.2.3.2; tests/drill/close/fin-ack-delay-*)
  # (waited for: the last FINs may still be on their way when many ends)
  fin_delayed() { local n; n=$(stat_of a FIN_ACK_DELAYED); echo "FIN_ACK_DELAYED $n" >"$tmp/fin.log"
    [ "${n:-0}" -ge 1000 ]; }
  check "client closing first: the ACK of its FIN delayed" wait_for 10 fin_delayed
  fds_back() { wait_for 5 bash -c "[ \$(ls /proc/$ENGINE/fd | wc -l) -lt 30 ]" ||
    { echo "engine fds: $(ls /proc/$ENGINE/fd | wc -l)" >"$tmp/fds.log"; return 1; }; }
  check "after them: the engine's descriptors back below 30" fds_back
  # (not through microsocks: it closes both ways at the first EOF)
  check "refused upstream: ECONNREFUSED" errno_is ECONNREFUSED 198.18.2.2 7999
  check "unreachable upstream: ENETUNREACH" errno_is ENETUNREACH 198.19.99.1 80
  check "--rule reject: ECONNREFUSED" errno_is ECONNREFUSED 198.18.2.2 7998
  check "the TUN's NAPI polls in a kernel thread (the default)" napi_on a
  check "synfin ss: flow with upstream and bytes" ss_shows_flow
  check "proxy killed mid-transfer: client error, next flow fine" proxy_killed
  check "SIGTERM: open flow ends with FIN, exit 0" sigterm_graceful
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
  grep -A30 totals "$tmp/a.err" | sed 's/^/    /' | grep -E "flows |bytes|refused|unreach|resets|clean" 
else
  notok "engine (microsocks) started"; cat "$tmp/a.err"
fi
ine ip route flush dev "$TUN" 2>/dev/null

if start_engine b --proxy socks5://t2suser:s3cret@198.18.1.2:1081 --grace 2; then
  check "dante username/password: curl 3 MB, SHA-256" fetch_ok
  check "dante: iperf3 down (2 s)" iperf_dir -R
  check "dante: refused upstream: ECONNREFUSED" errno_is ECONNREFUSED 198.18.2.2 7999
  check "dante: half-close both ways (python, nc -N)" halfclose_ok
  # a client that never closes: the engine's FIN leaves its socket in
  # CLOSE_WAIT; when --grace (2 s) runs out the engine resets what is
  # still open (its flows, as before; and since sf_stack_abort_all the
  # connections no flow holds any more, none here), so the client's
  # socket is not left waiting on a stack that is gone; one line says so
  grace_reset() {
    ine timeout 20 $PEER hold 198.18.2.2 7000 1 idle 8 >"$tmp/gr.log" 2>&1 & local hp=$!
    wait_for 5 grep -q "connected 1" "$tmp/gr.log" || { kill $hp; return 1; }
    stop_engine; local rc=$?
    ine ss -tanH "( dport = :7000 )" >>"$tmp/gr.log"
    local left; left=$(ine ss -tanH state close-wait "( dport = :7000 )" | wc -l)
    kill $hp 2>/dev/null; wait $hp 2>/dev/null
    grep "ran out" "$tmp/b.err" >>"$tmp/gr.log"
    [ $rc -eq 0 ] && [ "$left" -eq 0 ] &&
      grep -q "^synfin tun2socks: --grace 2.0 s ran out: [0-9]* flows\? and [0-9]* other connections\? reset$" "$tmp/b.err"
  }
  check "dante: SIGTERM with a client that never closes: after --grace a RST (its socket not left in CLOSE_WAIT), one line, exit 0" grace_reset
  kill -0 "$ENGINE" 2>/dev/null && stop_engine # (when T2S_ONLY skipped the check)
else
  notok "engine (dante) started"; cat "$tmp/b.err"
fi

# --socks-pipeline: greeting, username/password and CONNECT in one send
# (dante reads past the greeting; a server that answers nothing until it
# has both greeting and request tells that they came together)
if start_engine p --proxy socks5://t2suser:s3cret@198.18.1.2:1081 --socks-pipeline --grace 2; then
  check "dante pipelined, username/password: curl 3 MB, SHA-256" fetch_ok
  check "dante pipelined: half-close both ways (python, nc -N)" halfclose_ok
  check "dante pipelined: refused upstream: ECONNREFUSED" errno_is ECONNREFUSED 198.18.2.2 7999
  # learnt from the first flow: it alone probed, and the rest went pipelined
  pipe_learnt_good() { local n pr fb; n=$(stat_of p t2s.pipelined); pr=$(stat_of p t2s.pipe_probes)
    fb=$(stat_of p t2s.pipe_fallbacks); echo "pipelined $n probes $pr fallbacks $fb" >"$tmp/pipe.log"
    [ "${n:-0}" -ge 4 ] && [ "$pr" = 1 ] && [ "$fb" = 0 ]; }
  check "dante pipelined: one probe, then every handshake pipelined" pipe_learnt_good
  check "dante pipelined: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (dante pipelined) started"; cat "$tmp/p.err"
fi
pipelined_ok() { # what the client reads through the pipeline server
  ine timeout 10 $PEER readall 198.18.2.2 25 5 >"$tmp/pipe.log" 2>&1; grep -qx "eof 15" "$tmp/pipe.log"; }
if start_engine pq --proxy socks5://198.18.1.2:1086 --socks-pipeline --grace 2; then
  check "--socks-pipeline: greeting and CONNECT arrive together" pipelined_ok
  check "--socks-pipeline: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (pipeline server) started"; cat "$tmp/pq.err"
fi
# --pcap: both ways in the capture (without it the tap takes only what
# is read: sf_tun.tap_in_only, no copy of what is written for it)
pcap_both() { local f="$tmp/t2s.pcap"; fetch_ok || return 1
  kill -TERM "$ENGINE"; wait "$ENGINE"
  python3 - "$f" >"$tmp/pcap.log" 2>&1 <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
off, out_data, in_syn = 24, 0, 0
while off + 16 <= len(b):
    n = struct.unpack_from("<I", b, off + 8)[0]
    d = b[off + 16: off + 16 + n]
    off += 16 + n
    if len(d) >= 40 and d[0] >> 4 == 4 and d[9] == 6:
        ihl = (d[0] & 15) * 4
        sport, dport = struct.unpack_from(">HH", d, ihl)
        hl = (d[ihl + 12] >> 4) * 4
        if sport == 8080 and len(d) > ihl + hl:
            out_data += len(d) - ihl - hl
        if dport == 8080 and d[ihl + 13] & 2:
            in_syn += 1
print("written payload", out_data, "SYNs read", in_syn)
sys.exit(0 if out_data >= 3000000 and in_syn >= 1 else 1)
PY
}
if start_engine pc --proxy socks5://198.18.1.2:1080 --pcap "$tmp/t2s.pcap" --grace 2; then
  check "--pcap: the file's bytes written toward the client and the SYN read" pcap_both
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (--pcap) started"; cat "$tmp/pc.err"
fi
# --no-napi-thread: every TUN write runs the kernel's work for it in the
# engine's thread, as before threaded NAPI became tun2socks' default (the
# engines above: napi_on)
if start_engine n --proxy socks5://t2suser:s3cret@198.18.1.2:1081 --no-napi-thread --grace 2; then
  napi_off() { ! sss n --stats | grep -q "^tun.napi_thread" && ! napi_comm >/dev/null; }
  check "--no-napi-thread: no NAPI thread" napi_off
  check "--no-napi-thread: curl 3 MB, SHA-256" fetch_ok
  check "--no-napi-thread: iperf3 up (2 s)" iperf_dir
  check "--no-napi-thread: iperf3 down (2 s)" iperf_dir -R
  check "--no-napi-thread: half-close both ways (python, nc -N)" halfclose_ok
  check "--no-napi-thread: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (--no-napi-thread) started"; cat "$tmp/n.err"
fi
# no sysfs of its namespace (nsenter, not ip netns exec): the thread is
# refused in one line, and the engine runs on without it
napi_refused() {
  nsenter --net=/run/netns/"$E" "$SYNFIN" tun2socks --tun "$TUN" --ctl "$tmp/nr.sock" \
    --proxy socks5://198.18.1.2:1080 --napi-thread >"$tmp/nr.out" 2>"$tmp/nr.err" &
  local p=$!; pids+=("$p")
  wait_for 5 "$SYNFIN" ss --ctl "$tmp/nr.sock" || { kill "$p"; return 1; }
  local v; v=$(stat_of nr tun.napi_thread)
  kill -TERM "$p"; wait "$p"
  grep -q "no NAPI thread on $TUN queue 0, .*is not this namespace's $TUN" "$tmp/nr.err" && [ "$v" = 0 ]; }
check "--napi-thread without a sysfs of its namespace: said, runs on" napi_refused
# microsocks 1.0.3 drops what comes after the greeting: the probe gets
# the method choice and then nothing; after 1 s its flow starts again one
# message at a time, and after two such probes pipelining stops
pipe_learnt_bad() { local pr fb n; pr=$(stat_of pm t2s.pipe_probes); fb=$(stat_of pm t2s.pipe_fallbacks)
  n=$(stat_of pm t2s.pipelined); echo "pipelined $n probes $pr fallbacks $fb" >"$tmp/pipe.log"
  [ "$pr" = 2 ] && [ "$fb" = 2 ] && [ "$n" = 2 ] &&
    [ "$(grep -c 'answered none of 2 pipelined requests' "$tmp/pm.err")" = 1 ]; }
if start_engine pm --proxy socks5://198.18.1.2:1080 --socks-pipeline --grace 2; then
  check "microsocks --socks-pipeline: 1st flow falls back: curl 3 MB, SHA-256" fetch_ok
  check "microsocks --socks-pipeline: 2nd flow falls back: curl 3 MB, SHA-256" fetch_ok
  check "microsocks --socks-pipeline: then no pipelining: curl 3 MB, SHA-256" fetch_ok
  check "microsocks --socks-pipeline: 2 probes, 2 fallbacks, said once" pipe_learnt_bad
  check "microsocks --socks-pipeline: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (microsocks pipelined) started"; cat "$tmp/pm.err"
fi
if start_engine pn --proxy socks5://198.18.1.2:1086 --grace 2; then
  check "without --socks-pipeline: the greeting waits alone (control)" errno_is ECONNREFUSED 198.18.2.2 25
  check "without --socks-pipeline: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (pipeline server, control) started"; cat "$tmp/pn.err"
fi

if start_engine c --proxy socks5://t2suser:wrong@198.18.1.2:1081 --grace 2; then
  check "dante, wrong password: the client is refused" errno_is ECONNREFUSED 198.18.2.2 8080
  check "dante, wrong password: counted" test "$(stat_of c t2s.socks_errors)" -ge 1
  check "dante, wrong password: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine # (when T2S_ONLY skipped the check)
else
  notok "engine (dante, wrong password) started"; cat "$tmp/c.err"
fi

if start_engine d --direct --fwmark 0x5f --grace 2; then
  check "direct (--fwmark): curl 3 MB, SHA-256" fetch_ok
  check "direct: iperf3 up (2 s)" iperf_dir
  check "direct: iperf3 down (2 s)" iperf_dir -R
  check "direct: refused upstream: ECONNREFUSED" errno_is ECONNREFUSED 198.18.2.2 7999
  check "direct: unreachable upstream (route): EHOSTUNREACH" errno_is EHOSTUNREACH 198.19.99.1 80
  # UDP to a destination this host has no way to (table 95's unreachable
  # route): the relay's send fails with EHOSTUNREACH, and the client gets
  # an ICMP host unreachable (RFC 792 type 3 code 1): its connected
  # socket fails at once, as a kernel sender's would. (Before: dropped,
  # counted as drop_send, and the client timed out.)
  check "direct UDP: unreachable destination (route): EHOSTUNREACH" udp_errno_is EHOSTUNREACH 198.19.99.1 9
  check "direct UDP: counted (t2s.udp.icmp_local)" test "$(stat_of d t2s.udp.icmp_local)" -ge 1
  check "direct: half-close both ways (python, nc -N)" halfclose_ok
  check "direct: a slow reader costs the engine little CPU" slow_reader_idle
  check "direct: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine # (when T2S_ONLY skipped the check)
else
  notok "engine (direct) started"; cat "$tmp/d.err"
fi

if start_engine e --direct --out-iface "$VE" --grace 2; then
  check "direct (--out-iface): curl 3 MB, SHA-256" fetch_ok
  check "direct (--out-iface): SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine # (when T2S_ONLY skipped the check)
else
  notok "engine (direct, --out-iface) started"; cat "$tmp/e.err"
fi

# hostile SOCKS servers: one answers garbage (the client is refused at
# once), one never answers (the SYN is dropped after --connect-timeout:
# the client times out; synfin counts it)
if start_engine g --proxy socks5://198.18.1.2:1082 --grace 2; then
  check "SOCKS server answering garbage: ECONNREFUSED" errno_is ECONNREFUSED 198.18.2.2 8080
  check "garbage: counted as a SOCKS error" test "$(stat_of g t2s.socks_errors)" -ge 1
  check "garbage: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (garbage SOCKS) started"; cat "$tmp/g.err"
fi
if start_engine h --proxy socks5://198.18.1.2:1083 --connect-timeout 1 --grace 2; then
  times_out() { T2S_TIMEOUT=3 errno_is ETIMEDOUT "$@"; }
  check "SOCKS server never answering: the client times out" times_out 198.18.2.2 8080
  check "silent: counted as an upstream timeout" test "$(stat_of h t2s.up_timeout)" -ge 1
  check "silent: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (silent SOCKS) started"; cat "$tmp/h.err"
fi

if start_engine k --proxy socks5://198.18.1.2:1084 --grace 2; then
  check "SOCKS server closing mid-greeting: ECONNREFUSED" errno_is ECONNREFUSED 198.18.2.2 8080
  check "mid-greeting: counted as a SOCKS error" test "$(stat_of k t2s.socks_errors)" -ge 1
  check "mid-greeting: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (SOCKS closing mid-greeting) started"; cat "$tmp/k.err"
fi

# a SOCKS server whose reply and first stream bytes share one segment:
# the engine reads the reply whole (one recv) and keeps what follows it
# for the client (flow.c, socks_leftover)
if start_engine bn --proxy socks5://198.18.1.2:1085 --grace 2; then
  banner_ok() { ine timeout 10 $PEER readall 198.18.2.2 25 5 >"$tmp/banner.log" 2>&1 &&
    grep -qx "eof 19" "$tmp/banner.log"; }
  check "SOCKS reply and the server's first bytes in one segment: the client gets them" banner_ok
  check "banner: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (banner SOCKS) started"; cat "$tmp/bn.err"
fi

# Bad input (issue 12), at a CI-sized scale: bounded fds and memory, the
# counters, and other flows unaffected (docs/tun2socks.md, "Bad input").
# --syn-backlog 8 and --max-flows 300 make the bounds easy to reach.
nfds() { ls "/proc/$ENGINE/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$ENGINE/status" 2>/dev/null; }
held() { # LOGNAME PEER-HOLD-ARGS...: a `hold` client in the background
  # until it printed its counts; its pid in HOLD (timeout's: a TERM to it
  # reaches the client)
  ip netns exec "$E" timeout 60 $PEER hold "${@:2}" >"$tmp/$1.log" 2>&1 &
  HOLD=$!
  wait_for 40 grep -q connected "$tmp/$1.log"
}
synq_cookies() { # a SYN flood fills the SYN queue (8); a real client then
  # completes through SYN cookies (RFC 4987 3.6) with its upstream opened
  # after the handshake, and the flood costs at most 8 upstream connects
  ine $PEER syns 198.18.0.100 198.18.2.2 7000 7000 40 >"$tmp/flood.log" 2>&1 || return 1
  sleep 0.5
  local held_now; held_now=$(stat_of j t2s.flows_open)
  ine timeout 30 $PEER many 198.18.2.2 7000 20 >"$tmp/many.log" 2>&1 || return 1
  local cf; cf=$(stat_of j t2s.cookie_flows)
  echo "    held by the flood: $held_now flows; cookie flows: $cf"
  [ "${held_now:-99}" -le 8 ] && [ "${cf:-0}" -ge 20 ]
}
syn_scan() { # SYNs to every port (65535, one source): fds and memory
  # bounded, the engine answers them all, and a fetch still works
  local f0 r0 f1 r1 syns0 syns1 mf=0 mr=0
  f0=$(nfds); r0=$(rss_kb); syns0=$(stat_of j t2s.syns)
  ine timeout 60 $PEER syns 198.18.0.101 198.18.2.2 1 65535 >"$tmp/scan.log" 2>&1 &
  local p=$!
  while kill -0 "$p" 2>/dev/null; do
    f1=$(nfds); r1=$(rss_kb)
    [ "${f1:-0}" -gt "$mf" ] && mf=$f1; [ "${r1:-0}" -gt "$mr" ] && mr=$r1
    sleep 0.1
  done
  wait "$p" || return 1
  syns1=$(stat_of j t2s.syns)
  echo "    scan: $(cat "$tmp/scan.log"); engine saw $((syns1 - syns0)) SYNs; fds $f0 -> max $mf; RSS $r0 -> max $mr kB"
  [ $((syns1 - syns0)) -ge 30000 ] && [ "$mf" -le $((f0 + 8 + 16)) ] &&
    [ $((mr - r0)) -lt 16384 ] && fetch_ok
}
over_max_flows() { # 400 connections held against --max-flows 300
  local f0 c r mf; f0=$(nfds)
  held hold400 198.18.2.2 7002 400 idle 30 || { kill "$HOLD"; return 1; }
  local o; read -r _ c _ r _ o < "$tmp/hold400.log"
  mf=$(nfds); local ov; ov=$(stat_of j t2s.over_limit)
  echo "    $(cat "$tmp/hold400.log"); fds $f0 -> $mf; over_limit $ov"
  kill "$HOLD"; wait "$HOLD" 2>/dev/null
  # (a connect or two may time out instead: counted as "other")
  [ "$c" -le 300 ] && [ "$c" -ge 250 ] && [ $((c + r + o)) -eq 400 ] && [ "$o" -le 5 ] &&
    [ "$mf" -le $((f0 + 300)) ] && [ "${ov:-0}" -ge "$r" ]
}
flows_back() { wait_for 15 bash -c "[ \$('$SYNFIN' ss --ctl $tmp/j.sock --stats | awk '\$1==\"t2s.flows_open\" {print \$2}') -le 8 ]"; }
# (memory bounds are checked on the stack's own count, mem.used less
# mem.idle, its cache of free buffers: resident memory is shown, but a
# sanitizer build's allocator keeps freed memory)
live_mem() { sss j --stats | awk '$1 == "mem.used" {u = $2} $1 == "mem.idle" {i = $2} END {print u - i}'; }
never_reading() { # 20 clients GET 32 MB each and never read: the engine
  # holds at most its buffers per flow, and another fetch goes through
  local r0 r1 used; r0=$(rss_kb)
  held noread 198.18.2.2 8080 20 noread 30 || { kill "$HOLD"; return 1; }
  sleep 2
  r1=$(rss_kb); used=$(live_mem)
  fetch_ok; local rc=$?
  echo "    $(cat "$tmp/noread.log"); RSS $r0 -> $r1 kB, stack memory in use (less its cache) $used"
  kill "$HOLD"; wait "$HOLD" 2>/dev/null
  grep -q "connected 20 " "$tmp/noread.log" && [ "$rc" -eq 0 ] && [ "${used:-99999999}" -lt $((20 * 256 * 1024)) ]
}
halfclosed_wait() { # 50 clients half-close and wait (the server keeps
  # sending): 50 flows stay, bounded (each at most its two 64 KB buffer
  # storages and a TCB), and others are unaffected
  local f0 r0 f1 r1 n u0; f0=$(nfds); r0=$(rss_kb); u0=$(live_mem)
  held halfc 198.18.2.2 7002 50 halfclose 30 || { kill "$HOLD"; return 1; }
  sleep 1
  f1=$(nfds); r1=$(rss_kb); n=$(stat_of j t2s.flows_open); local used; used=$(live_mem)
  many_small() { ine timeout 30 $PEER many 198.18.2.2 7000 50 >"$tmp/many.log" 2>&1; }
  many_small; local rc=$?
  echo "    $(cat "$tmp/halfc.log"); open flows $n, fds $f0 -> $f1, RSS $r0 -> $r1 kB, stack memory in use (less its cache) $used"
  kill "$HOLD"; wait "$HOLD" 2>/dev/null
  grep -q "connected 50 " "$tmp/halfc.log" && [ "$n" -ge 50 ] && [ "$rc" -eq 0 ] &&
    [ "$f1" -le $((f0 + 50 + 8)) ] && [ $((${used:-99999999} - ${u0:-0})) -lt $((50 * 136 * 1024)) ]
}
if start_engine j --direct --fwmark 0x5f --max-flows 300 --syn-backlog 8 --grace 2; then
  # (first: the flood's held SYNs fill the SYN queue for 30 s, and a
  # connection that gets a cookie is accepted before the flow limit is
  # checked, then reset: the counts below would be off by up to 8)
  check "bad input: 400 connections against --max-flows 300: the rest refused" over_max_flows
  check "bad input: flows back after them" flows_back
  check "bad input: SYN flood fills the SYN queue, real clients get in by SYN cookies" synq_cookies
  check "bad input: SYNs to all 65535 ports: bounded, then a fetch works" syn_scan
  check "bad input: flows back to the flood's held ones" flows_back
  check "bad input: 20 never-reading clients: bounded, another fetch works" never_reading
  mem_back() { local u; u=$(live_mem); { echo "live $u"; sss j; sss j --stats | grep -E "^mem|flows_open"; } >"$tmp/memback.log"; [ "${u:-99999999}" -lt 262144 ]; }
  check "bad input: their flows closed, the stack's memory in use back under 256 KB" wait_for 10 mem_back
  check "bad input: 50 half-closed clients waiting: bounded, others unaffected" halfclosed_wait
  check "bad input: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (bad input) started"; cat "$tmp/j.err"
fi

# A large TUN MTU (65000): the MSS advertised defaults to at most 16 KB, so
# an upload's window holds several segments and ACKs come without the
# delayed-ACK timer. A bug check with a wide margin, not a speed goal
# (bench/tun2socks.sh is): with the bug (BIGMSS=64000 reproduces it: --mss
# 64000) the upload ran at 40-50 Mbit/s whatever the CPU; without it 1-4
# Gbit/s here, but an ASan build on a machine loaded with two CPU hogs once
# moved only 142 Mbit/s: 100 is twice the bug's rate and under the slowest
# rate seen without it.
bigmtu_up() {
  ine timeout 20 iperf3 -c 198.18.2.2 -p 5201 -t 2 -J >"$tmp/iperf.json" 2>"$tmp/iperf.log" || return 1
  local bps; bps=$(python3 -c "import json;print(int(json.load(open('$tmp/iperf.json'))['end']['sum_received']['bits_per_second']))")
  echo "    iperf3 up, MTU 65000${BIGMSS:+, --mss $BIGMSS}: $((bps / 1000000)) Mbit/s"
  [ "$bps" -gt 100000000 ]
}
if start_engine l --direct --fwmark 0x5f --mtu 65000 ${BIGMSS:+--mss $BIGMSS} --grace 2; then
  check "MTU 65000: curl 3 MB, SHA-256" fetch_ok
  check "MTU 65000: iperf3 up is not held by the delayed-ACK timer" bigmtu_up
  check "MTU 65000: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (MTU 65000) started"; cat "$tmp/l.err"
fi

# SIGTERM while a client's connection is established on its side but its
# handshake ACK has not reached the engine (held here by an iptables rule
# dropping pure ACKs to :7002 on the TUN): the flow waits for its accept.
# It used to be dropped at SIGTERM with the listener: the client saw a
# reset instead of the end of its stream. Now the listener stays open
# through the grace, the retransmitted SYN-ACK gets its ACK once the rule
# is gone, and the flow is closed with a FIN like any other.
sigterm_wait_accept() {
  local rule=(OUTPUT -o "$TUN" -p tcp -d 198.18.2.2 --dport 7002 --tcp-flags SYN,ACK,FIN,RST,PSH ACK -j DROP)
  ine iptables -A "${rule[@]}" || { echo "iptables failed" >"$tmp/wa.log"; return 1; }
  ine timeout 30 $PEER readall 198.18.2.2 7002 15 >"$tmp/wa.out" 2>&1 &
  local p=$!
  # the client is established once the SYN-ACK came: the engine's flow
  # then waits for the ACK the rule drops
  cl_est() { [ -n "$(ine ss -Htn state established '( dst 198.18.2.2:7002 and src 198.18.0.1 )')" ]; }
  wait_for 10 cl_est || echo "the client never got its SYN-ACK" >>"$tmp/wa.log"
  kill -TERM "$ENGINE"
  wait_for 5 grep -q stopping "$tmp/n.err" || echo "the engine did not say stopping" >>"$tmp/wa.log"
  ine iptables -D "${rule[@]}"
  wait "$p"
  echo "client: $(tr '\n' ' ' <"$tmp/wa.out")" >>"$tmp/wa.log"
  stop_engine || { echo "the engine did not exit 0 in time" >>"$tmp/wa.log"; return 1; }
  grep -q "^eof " "$tmp/wa.out" && ! grep -q "did not\|never" "$tmp/wa.log"
}
if start_engine n --direct --fwmark 0x5f --grace 5 --stats; then
  check "SIGTERM before the client's ACK came: the flow is accepted, then ends with FIN" sigterm_wait_accept
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (SIGTERM before the ACK) started"; cat "$tmp/n.err"
fi

# --max-flows: beyond it a new SYN is refused; a flow that ends frees a place
max_flows_ok() {
  local hold=()
  for i in 1 2 3; do
    # (ip netns exec itself, not ine: a backgrounded function is a
    # subshell, which the kill below ended while its nc held the flow
    # until its own 15 s timeout)
    ip netns exec "$E" timeout 15 nc 198.18.2.2 7002 >/dev/null 2>&1 &
    hold+=($!)
  done
  wait_for 5 bash -c "[ \"\$('$SYNFIN' ss --ctl $tmp/i.sock --stats | awk '\$1==\"t2s.flows_open\" {print \$2}')\" = 3 ]" || { kill "${hold[@]}"; return 1; }
  errno_is ECONNREFUSED 198.18.2.2 7000 || { kill "${hold[@]}"; return 1; }
  kill "${hold[@]}"; wait "${hold[@]}" 2>/dev/null
  # (10 s: on a loaded machine the three flows once took over 5 s to end)
  wait_for 10 errno_is connected 198.18.2.2 7000 && [ "$(stat_of i t2s.over_limit)" -ge 1 ]
}
if start_engine i --direct --fwmark 0x5f --max-flows 3 --grace 2; then
  check "--max-flows 3: the 4th flow is refused, a place freed is taken" max_flows_ok
  check "--max-flows: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (--max-flows 3) started"; cat "$tmp/i.err"
fi

# --max-memory: the stack's buffers capped (cfg.mem_max, 1 MB: below one
# flow's autotuned buffers); a 3 MB file still arrives whole, the cap is
# reached and shown, and a too-small cap is refused in one line
memcap_ok() {
  fetch_ok && fetch_ok || return 1
  local peak; peak=$(stat_of m mem.peak)
  [ -n "$peak" ] && [ "$peak" -le 1048576 ] && [ "$peak" -gt 0 ] ||
    { echo "mem.peak '$peak' not in 1..1048576" >"$tmp/mem.log"; return 1; }
}
# At the cap (issue 12 item 4: "at the cap new flows are refused, and
# nothing crashes or is silently lost"): 24 connections, then on each a
# download that reads nothing (8 KB receive buffers). Their servers
# (t2s_peer.py delayed-server) answer 2 s later, once every request is in
# (a request that comes at the cap is dropped, and the client's backoff
# then outlasts the test's timeouts): 23 fill the stack's 1 MB with their
# send buffers (t2s.mem_full, the stack's cap flag); the 24th's server
# answers at 4 s, when its first
# bytes find no memory for a send buffer (SND_MEM_WAIT), and with nothing
# in flight no ACK would ever wake that flow: tun2socks tries it again
# every 50 ms (t2s.mem_waits; before, the flow stalled for good once
# memory freed: its download got no byte, the client's 10 s timeout; the
# same stall came now and then when the 24 were all answered at once).
# A new connection's SYN is then dropped unanswered (docs/tun2socks.md:
# as the stack and Linux do at their memory cap; the client sends it
# again), before any upstream is opened for it (t2s.mem_refused; before,
# each SYN opened an upstream that was dropped when its handshake could
# not be kept: t2s.accept_timeout). Then the downloads read: every one
# arrives whole, and a new fetch gets in.
memcap_full() {
  rm -f "$tmp/go"
  ine timeout 150 $PEER pausedget 198.18.2.2 7005 24 file.bin "$want" "$tmp/go" 7004 >"$tmp/paused.log" 2>&1 &
  local p=$! rc=0
  full() { [ "$(stat_of m t2s.mem_full)" = 1 ]; }
  wait_for 20 grep -q connected "$tmp/paused.log" && wait_for 10 full ||
    { echo "memory never full: $(sss m --stats | grep -E '^mem')" >>"$tmp/memcap.log"; rc=1; }
  wait_for 10 bash -c "[ \$('$SYNFIN' ss --ctl $tmp/m.sock --stats | awk '\$1 == \"SND_MEM_WAIT\" {print \$2}') -ge 1 ]" ||
    { echo "the late answer met no memory wait: $(sss m --stats | grep -E '^(SND_MEM_WAIT|mem)')" >>"$tmp/memcap.log"; rc=1; }
  local at0; at0=$(stat_of m t2s.accept_timeout)
  T2S_TIMEOUT=3 errno_is ETIMEDOUT 198.18.2.2 7000 || { echo "the probe: $(cat "$tmp/errno.log")" >>"$tmp/memcap.log"; rc=1; }
  local mr at1; mr=$(stat_of m t2s.mem_refused); at1=$(stat_of m t2s.accept_timeout)
  echo "    at the cap: $(sss m --stats | grep -E '^mem.(used|full)' | tr '\n' ' ')mem_refused ${mr:-none}, accept_timeout $at0 -> $at1" | tee -a "$tmp/memcap.log"
  [ "${mr:-0}" -ge 1 ] && [ "$at1" = "$at0" ] || rc=1
  touch "$tmp/go"
  if [ -n "${T2S_DEBUG:-}" ]; then sleep 6; sss m >"$tmp/ssdump.txt"; sss m --stats >"$tmp/ssstats.txt"; fi
  wait "$p" || rc=1
  echo "    $(tail -1 "$tmp/paused.log")"
  echo "    $(sss m --stats | grep -E '^(MEM_[A-Z_]*|SND_MEM_WAIT|RCV_MEM_DROP|RTO_EVENTS|RETRANSMITS|TIMEOUTS|SYN_DROPPED) ' | grep -v ' 0$' | tr '\n' ' ')"
  grep -q "^ok 24 " "$tmp/paused.log" || rc=1
  [ "$(stat_of m t2s.mem_waits)" -ge 1 ] || { echo "t2s.mem_waits: $(stat_of m t2s.mem_waits)" >>"$tmp/memcap.log"; rc=1; }
  fetch_ok || { echo "the fetch after: $(cat "$tmp/curl.log")" >>"$tmp/memcap.log"; rc=1; }
  [ "$rc" -eq 0 ]
}
# 100 concurrent request/response flows under the 1 MB cap: none of the
# stack's allocations refused. A flow's storages are sized to what they
# hold (4 KB each way for a ping and its pong); each took its whole buffer
# before (64 KB to send, 80 KB to receive): 100 flows would have needed
# 14 MB, and the cap refused SYNs and segments (the clients waited for
# retransmissions) while the stack held a few KB of bytes.
memcap_many() {
  local r0 r1; r0=$(stat_of m MEM_REFUSED)
  ine timeout 60 $PEER many 198.18.2.2 7000 100 >"$tmp/many-m.log" 2>&1 ||
    { cat "$tmp/many-m.log"; return 1; }
  r1=$(stat_of m MEM_REFUSED)
  echo "    MEM_REFUSED ${r0:-none} -> ${r1:-none}, mem.peak $(stat_of m mem.peak)"
  [ -n "$r1" ] && [ "$r1" = "$r0" ]
}
if start_engine m --direct --fwmark 0x5f --max-memory 1 --grace 2; then
  check "--max-memory 1: 100 concurrent request/response, no allocation refused" memcap_many
  check "--max-memory 1: two 3 MB fetches intact, peak memory within the cap" memcap_ok
  check "--max-memory 1, full: a new SYN dropped before its upstream, counted; 24 paused downloads then finish whole" memcap_full
  check "--max-memory: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
else
  notok "engine (--max-memory 1) started"; cat "$tmp/m.err"
fi
memcap_bad() {
  local out; out=$("$SYNFIN" tun2socks --tun "$TUN" --direct --max-memory 1 --rcvbuf 2000000 2>&1)
  [ $? -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | grep -q "mem_max"
}
check "--max-memory below the buffers: one line, refused" memcap_bad

# --print-routes' recipe B (this namespace's own traffic, all of it, but
# synfin's marked sockets) run as printed, with a default route in main
routes_b() {
  "$SYNFIN" tun2socks --tun "$TUN" --fwmark 0x77 --print-routes |
    awk '/^# B\./ {b = 1; next} /^# C\./ {b = 0} b && /^ip /'
}
if NOROUTES=1 start_engine f --direct --fwmark 0x77 --grace 2; then
  ine ip route add default via 198.18.1.2 dev "$VE"
  routes_b | while read -r line; do
    ine $line 2>>"$tmp/routes.log" || case "$line" in "ip -6"*) ;; *) echo "failed: $line" >>"$tmp/routes.log";; esac
  done
  routes_fetch_ok() { ! grep -q failed "$tmp/routes.log" 2>/dev/null && fetch_ok; }
  check "--print-routes recipe B as printed: curl 3 MB, SHA-256" routes_fetch_ok
  check "recipe B: the flow went through the engine" test "$(stat_of f t2s.bytes_down)" -ge 3000000
  check "recipe B: SIGTERM, exit 0" stop_engine
  kill -0 "$ENGINE" 2>/dev/null && stop_engine
  for p in 5200 5201; do ine ip rule del pref $p 2>/dev/null; ine ip -6 rule del pref $p 2>/dev/null; done
  ine ip route del default 2>/dev/null
else
  notok "engine (recipe B) started"; cat "$tmp/f.err"
fi

check "bad proxy URL: one line, exit 2" bash -c \
  "out=\$('$SYNFIN' tun2socks --proxy socks5://h 2>&1); [ \$? -eq 2 ] && [ \$(echo \"\$out\" | wc -l) -eq 1 ]"
check "--socks-pipeline without --proxy: one line, exit 2" bash -c \
  "out=\$('$SYNFIN' tun2socks --tun x0 --direct --fwmark 7 --socks-pipeline 2>&1); \
   [ \$? -eq 2 ] && [ \$(echo \"\$out\" | wc -l) -eq 1 ] && echo \"\$out\" | grep -q 'needs --proxy'"
if command -v setpriv >/dev/null; then
  check "without CAP_NET_ADMIN: one line, exit 2" bash -c \
    "out=\$(setpriv --bounding-set=-net_admin '$SYNFIN' tun2socks --tun x0 --direct 2>&1); \
     [ \$? -eq 2 ] && [ \$(echo \"\$out\" | wc -l) -eq 1 ] && echo \"\$out\" | grep -q CAP_NET_ADMIN"
fi
check "--print-routes" bash -c "'$SYNFIN' tun2socks --tun x0 --fwmark 7 --print-routes | grep -q 'not fwmark 0x7 table 7'"

# the benchmark (bench/tun2socks.sh, not run here: minutes, and its figures
# are no test) at least parses, and its helper builds warning-free
bench_parses() {
  bash -n "$HERE/../../bench/tun2socks.sh" &&
    ${CC:-cc} -O2 -Wall -Wextra -Werror -pthread -o "$tmp/t2sb" "$HERE/../../bench/t2s_bench.c"
}
check "bench/tun2socks.sh parses; bench/t2s_bench.c builds with -Werror" bench_parses
bench_quick() { # one engine, --quick (~8 s): a row with every figure, no
  # idle flow missing, and nothing left behind (its own namespaces)
  SYNFIN="$SYNFIN" T2SB_ENGINES=t2s T2SB_TOPOS=gateway timeout 60 \
    "$HERE/../../bench/tun2socks.sh" --quick >"$tmp/bench.log" 2>&1 || return 1
  awk '$1 == "gateway" && $2 == "t2s" && $3 > 0 && $4 > 0 && $5 > 0 && NF == 10 { ok = 1 }
       END { exit !ok }' "$tmp/bench.log"
}
check "bench/tun2socks.sh --quick (synfin tun2socks, gateway) gives every figure" bench_quick

# a sanitizer build reports what it found on stderr (and exits non-zero)
check "no sanitizer reports from any engine" bash -c "! grep -l Sanitizer $tmp/*.err"

# UDP (DNS through dnsmasq direct and via dante, a flood): its own script
# and namespaces, counted here as one case so that the suite runs it
if [[ "udp" =~ $ONLY ]] && [ -x "$HERE/udp.sh" ]; then
  if SYNFIN="$SYNFIN" timeout 120 "$HERE/udp.sh" >"$tmp/udp.out" 2>&1; then
    ok "UDP: tests/t2s/udp.sh ($(tail -1 "$tmp/udp.out"))"
  else
    notok "UDP: tests/t2s/udp.sh"; grep -v "^ok" "$tmp/udp.out" | tail -30 | sed 's/^/    /'
  fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
