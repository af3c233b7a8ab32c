#!/usr/bin/env bash
# synfin tun2socks, UDP (issue 12 items 2 and 6): DNS over UDP to a local
# dnsmasq through the TUN, direct (IPv4 and IPv6) and through dante's
# SOCKS5 UDP ASSOCIATE; then a flood from 5,000 source ports to 5,000
# destinations, with the process's open fds and resident memory measured
# while it runs, and DNS checked again after it.
#
# Two namespaces (named t2u<PID>-e and t2u<PID>-s): "e" holds synfin, its
# TUN device and the client (dig, python3), "s" the servers. Addresses in
# 198.18.0.0/15 and 2001:db8::/32 only; every wait bounded by `timeout`;
# everything created deleted by name on exit, failure included.
#
#   e: t2u0 (TUN, 198.18.0.1/24)  e0 198.18.2.1/24, 2001:db8:2::1/64
#   s: s0 198.18.2.2/24, 2001:db8:2::2/64: dnsmasq :53, danted :1080
#   routes in e: 198.18.2.2/32 and 2001:db8:2::2/128 into the TUN (the
#   client's DNS server), 198.19.0.0/16 (the flood) into the TUN first and
#   via e0 second; synfin's sockets are bound to e0 (--out-iface), so they
#   take the e0 routes and never loop back into the TUN.
#
# Needs root, /dev/net/tun, ip, dnsmasq, dig, danted, python3
# (scripts/deps.sh installs them). If one is missing it says which and
# fails: it never passes without running.
# Env: SYNFIN (binary, default build/plain/synfin), UDP_FLOOD (5000).
set -u
SYNFIN=${SYNFIN:-build/plain/synfin}
SYNFIN=$(readlink -f "$SYNFIN")
FLOOD=${UDP_FLOOD:-5000}
UDPMAX=256
E="t2u$$-e"; S="t2u$$-s"; VE="t2u$$e0"; VS="t2u$$s0"; TUN=t2u0
tmp=$(mktemp -d /tmp/t2u.XXXXXX)
HERE=$(cd "$(dirname "$0")" && pwd)
LABEL="t2s udp"
. "$HERE/lib.sh"
t2s_need ip python3 timeout dnsmasq dig danted

# ------------------------------------------------------------- the network
ip netns add "$E" && ip netns add "$S" || { echo "0 passed, 1 failed"; exit 1; }
ip link add "$VE" type veth peer name "$VS"
ip link set "$VE" netns "$E"; ip link set "$VS" netns "$S"
ine ip link set lo up; ins ip link set lo up
ine ip addr add 198.18.2.1/24 dev "$VE"
ine ip -6 addr add 2001:db8:2::1/64 dev "$VE" nodad
ine ip link set "$VE" up
ins ip addr add 198.18.2.2/24 dev "$VS"
ins ip -6 addr add 2001:db8:2::2/64 dev "$VS" nodad
ins ip link set "$VS" up

# ------------------------------------------------------------- the servers
ins timeout 600 dnsmasq --no-daemon --port 53 --bind-interfaces \
  --listen-address=198.18.2.2 --listen-address=2001:db8:2::2 \
  --no-resolv --no-hosts --log-queries --address=/test.example/198.18.9.9 \
  --address=/test.example/2001:db8:9::9 --pid-file="$tmp/dnsmasq.pid" \
  --log-facility="$tmp/dnsmasq.log" >"$tmp/dnsmasq.out" 2>&1 &
pids+=($!)
cat >"$tmp/danted.conf" <<EOF
logoutput: $tmp/danted.log
internal: 198.18.2.2 port = 1080
external: 198.18.2.2
external: 2001:db8:2::2
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
socks pass {
  from: 0.0.0.0/0 to: 0.0.0.0/0
  command: udpassociate udpreply connect
  log: connect disconnect iooperation
}
socks pass {
  from: 0.0.0.0/0 to: ::/0
  command: udpassociate udpreply connect
  log: connect disconnect iooperation
}
socks pass {
  from: ::/0 to: 0.0.0.0/0
  command: udpreply
  log: connect disconnect iooperation
}
EOF
start_danted() {
  ip netns exec "$S" timeout 600 danted -f "$tmp/danted.conf" -N 1 \
    -p "$tmp/danted.pid" >>"$tmp/danted.out" 2>&1 &
  pids+=($!)
}
start_danted
ins_dig() { ins dig +time=1 +tries=1 "$@"; }
if ! wait_for 5 ins_dig @198.18.2.2 test.example A +short ||
   ! wait_for 5 ins bash -c 'exec 3<>/dev/tcp/198.18.2.2/1080'; then
  notok "servers start (dnsmasq, danted)"
  echo "$passed passed, $failed failed"; exit 1
fi

# ------------------------------------------------------------- synfin
# start_t2s NAME ARGS...: synfin tun2socks in e, its control socket
# $tmp/NAME.sock, waited for (bounded); routes into the TUN once it is up.
start_t2s() {
  local name=$1; shift
  # (ip netns exec execs synfin: $! is synfin's pid, for kill and /proc)
  ip netns exec "$E" "$SYNFIN" tun2socks --tun "$TUN" --out-iface "$VE" \
    --host6 fd00:5f::1/64 --ctl "$tmp/$name.sock" --udp-max "$UDPMAX" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.log" &
  t2s_pid=$!
  pids+=("$t2s_pid")
  wait_for 5 "$SYNFIN" ss --ctl "$tmp/$name.sock" || return 1
  ine ip route add 198.18.2.2/32 dev "$TUN" &&
  ine ip -6 route add 2001:db8:2::2/128 dev "$TUN" &&
  ine ip route add 198.19.0.0/16 dev "$TUN" metric 10 &&
  ine ip route replace 198.19.0.0/16 via 198.18.2.2 dev "$VE" metric 20
}
stop_t2s() { # NAME: SIGTERM; it must exit 0 (no sanitizer report, no leak)
  kill -TERM "$t2s_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$t2s_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$t2s_pid" 2>/dev/null
  wait "$t2s_pid" 2>/dev/null
  local rc=$?
  # the device (and its routes) went with the process
  check "$1: synfin stops cleanly on SIGTERM (exit $rc)" \
    test "$rc" -eq 0 -a -z "$(grep -E 'Sanitizer|runtime error' "$tmp/$1.log")"
}
stat_of() { # NAME KEY: one counter from `synfin ss --stats`
  "$SYNFIN" ss --ctl "$tmp/$1.sock" --stats 2>/dev/null |
    awk -v k="t2s.udp.$2" '$1 == k { print $2 }'
}
dig_is() { # WANT DIG-ARGS...: dig through the TUN answers WANT
  local want=$1; shift
  local got
  got=$(ine timeout 10 dig +time=2 +tries=2 "$@" +short 2>&1)
  [ "$got" = "$want" ] || { echo "dig $*: got '$got', want '$want'" >>"$tmp/dig.log"; return 1; }
}
nfds() { ls "/proc/$t2s_pid/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$t2s_pid/status" 2>/dev/null; }

# 1. direct: IPv4 and IPv6 DNS, the answers through the relay's socket
# A connected UDP socket's datagram to a port a reject rule refuses: the
# client gets ECONNREFUSED from the ICMP port unreachable (RFC 1122
# 3.2.2.1, RFC 4443 3.1), not a timeout
refused_udp() { # HOST [PORT (9999)]
  ine timeout 10 python3 - "$1" "${2:-9999}" <<'EOF'
import socket, sys
h = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((h, int(sys.argv[2])))
s.send(b"x")
try:
    s.recv(100)
except ConnectionRefusedError:
    sys.exit(0)
except socket.timeout:
    print("no ICMP: timed out"); sys.exit(1)
sys.exit(1)
EOF
}
udp_err() { # WANT HOST PORT: a connected UDP socket's send and recv
  # fail with errno WANT (an ICMP error came back), not a timeout
  ine timeout 10 python3 - "$@" <<'EOF' >>"$tmp/udp_err.log" 2>&1
import errno, socket, sys
want, h = sys.argv[1], sys.argv[2]
v6 = ":" in h
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
# Linux takes net and host unreachable as soft errors for UDP too (as RFC
# 1122 4.2.3.9 has them for TCP; icmp_err_convert's fatal 0): a socket
# hears of them only with IP_RECVERR / IPV6_RECVERR, as resolvers set it
s.setsockopt(socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP, 25 if v6 else 11, 1)
s.settimeout(3)
s.connect((h, int(sys.argv[3])))
s.send(b"x")
try:
    s.recv(100)
except socket.timeout:
    print(h, "no ICMP: timed out"); sys.exit(1)
except OSError as e:
    got = errno.errorcode.get(e.errno, str(e.errno))
    print(h, "got", got, "want", want); sys.exit(got != want)
print(h, "an answer came"); sys.exit(1)
EOF
}
if start_t2s direct --direct --rule 198.18.2.2:9999=reject --rule '[2001:db8:2::2]:9999=reject'; then
  check "direct: a rejected UDP port is ECONNREFUSED (ICMP port unreachable)" refused_udp 198.18.2.2
  check "direct: the same over IPv6 (ICMPv6 port unreachable)" refused_udp 2001:db8:2::2
  iu=$(stat_of direct icmp_unreach)
  check "direct: ICMP errors counted ($iu)" test "${iu:-0}" -ge 2
  # A port closed in the server namespace: its kernel's ICMP port
  # unreachable reaches synfin's socket (IP_RECVERR) and is passed on to
  # the client as its own, so the client fails at once here too
  check "direct: a closed port at the destination is ECONNREFUSED (its ICMP passed on)" \
    refused_udp 198.18.2.2 9998
  check "direct: the same over IPv6 (ICMPv6 port unreachable passed on)" \
    refused_udp 2001:db8:2::2 9998
  ip_=$(stat_of direct icmp_passed)
  check "direct: passed-on ICMP errors counted ($ip_)" test "${ip_:-0}" -ge 2
  check "direct: dig A over IPv4 through the TUN" dig_is 198.18.9.9 @198.18.2.2 test.example A
  check "direct: dig AAAA over IPv6 through the TUN" dig_is 2001:db8:9::9 @2001:db8:2::2 test.example AAAA
  check "direct: IPv6 with a Destination Options header before UDP" \
    ine timeout 10 python3 - <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
# RFC 8200 4.6: Next Header (set by the kernel), Hdr Ext Len 0, PadN of 4
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, b"\0\0\x01\x04\0\0\0\0")
q = bytes.fromhex("4242010000010000000000000474657374076578616d706c650000010001")
s.settimeout(3)
for _ in range(2):
    s.sendto(q, ("2001:db8:2::2", 53))
    try:
        a = s.recv(2000)
    except socket.timeout:
        continue
    sys.exit(0 if a[:2] == b"\x42\x42" and a.endswith(bytes([198, 18, 9, 9])) else 1)
sys.exit(1)
EOF
  out=$(stat_of direct dgrams_out); in=$(stat_of direct dgrams_in)
  check "direct: relay counted both queries and answers ($out out, $in in)" \
    test "${out:-0}" -ge 3 -a "${in:-0}" -ge 3
  check "direct: dnsmasq saw the queries from e0's addresses, not the TUN's" \
    grep -q "query\[A\] test.example from 198.18.2.1" "$tmp/dnsmasq.log"

  # 2. the flood: FLOOD source ports, FLOOD destinations 198.19.x.y:9
  fd0=$(nfds); rss0=$(rss_kb)
  ine timeout 120 python3 - "$FLOOD" >"$tmp/flood.log" 2>&1 <<'EOF' &
import socket, sys, time
n = int(sys.argv[1])
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"flood %d" % i, ("198.19.%d.%d" % (i // 250, i % 250 + 1), 9))
    s.close()
    if i % 50 == 49:
        time.sleep(0.002)  # paced: the TUN's queue (500) is not the test
print("sent", n)
EOF
  fpid=$!
  maxfd=$fd0; maxrss=$rss0
  while kill -0 "$fpid" 2>/dev/null; do
    f=$(nfds); r=$(rss_kb)
    [ "${f:-0}" -gt "$maxfd" ] && maxfd=$f
    [ "${r:-0}" -gt "$maxrss" ] && maxrss=$r
    sleep 0.05
  done
  wait "$fpid"
  f=$(nfds); r=$(rss_kb)
  [ "${f:-0}" -gt "$maxfd" ] && maxfd=$f
  [ "${r:-0}" -gt "$maxrss" ] && maxrss=$r
  opened=$(stat_of direct assoc_opened); evicted=$(stat_of direct assoc_evicted)
  open_now=$(stat_of direct assoc_open)
  "$SYNFIN" ss --ctl "$tmp/direct.sock" --stats 2>/dev/null | grep "udp\." | sed 's/^/#   /'
  echo "# flood of $FLOOD: fds $fd0 -> max $maxfd (bound $UDPMAX more), RSS ${rss0} -> max ${maxrss} kB; associations opened $opened, evicted $evicted, open $open_now"
  check "flood: $FLOOD datagrams sent" grep -q "sent $FLOOD" "$tmp/flood.log"
  check "flood: at least $((FLOOD * 8 / 10)) associations opened ($opened)" test "${opened:-0}" -ge $((FLOOD * 8 / 10))
  check "flood: associations bounded by --udp-max $UDPMAX (open $open_now)" test "${open_now:-99999}" -le "$UDPMAX"
  check "flood: evictions counted ($evicted = $opened opened - $open_now open)" \
    test "${evicted:-0}" -eq $((opened - open_now))
  check "flood: open fds at most $UDPMAX above the start ($fd0 -> $maxfd)" test "$maxfd" -le $((fd0 + UDPMAX))
  check "flood: resident memory grew less than 8 MB (${rss0} -> ${maxrss} kB)" test $((maxrss - rss0)) -lt 8192
  check "flood: DNS still answers after it" dig_is 198.18.9.9 @198.18.2.2 test.example A

  # A router on the way answers net or host unreachable (RFC 792 type 3
  # code 0 / 1; RFC 4443 type 1 code 0): the server namespace forwards,
  # with an unreachable route (host unreachable) and no route at all (net
  # unreachable). synfin's socket hears of it (IP_RECVERR) and passes it
  # on: the client's connected socket fails at once with EHOSTUNREACH /
  # ENETUNREACH, not a timeout. (Before, only port unreachable was passed
  # on: these cases timed out.)
  ins sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ins ip route add unreachable 198.19.250.0/24
  ins ip -6 route add unreachable 2001:db8:99::/64
  ine ip -6 route add 2001:db8:99::/64 dev "$TUN" metric 10
  ine ip -6 route add 2001:db8:99::/64 via 2001:db8:2::2 dev "$VE" metric 20
  ip0=$(stat_of direct icmp_passed)
  check "direct: a router's host unreachable is EHOSTUNREACH (ICMP passed on)" \
    udp_err EHOSTUNREACH 198.19.250.1 9
  check "direct: a router's net unreachable is ENETUNREACH (ICMP passed on)" \
    udp_err ENETUNREACH 198.19.251.1 9
  check "direct: the same over IPv6 (ICMPv6 no route passed on)" \
    udp_err ENETUNREACH 2001:db8:99::1 9
  ip1=$(stat_of direct icmp_passed)
  check "direct: the three counted as passed on ($ip0 -> $ip1)" test "${ip1:-0}" -ge $((${ip0:-0} + 3))
  stop_t2s direct
else
  notok "direct: synfin tun2socks starts"
fi

# 3. through dante's UDP ASSOCIATE
if start_t2s proxy --proxy socks5://198.18.2.2:1080; then
  check "proxy: dig A through SOCKS5 UDP ASSOCIATE" dig_is 198.18.9.9 @198.18.2.2 test.example A
  check "proxy: a second query on the same association" dig_is 198.18.9.9 @198.18.2.2 test.example A
  check "proxy: dig AAAA over IPv6 through SOCKS5 UDP ASSOCIATE" dig_is 2001:db8:9::9 @2001:db8:2::2 test.example AAAA
  check "proxy: dnsmasq saw the IPv6 query from dante's address" \
    grep -q "query\[AAAA\] test.example from 2001:db8:2::2" "$tmp/dnsmasq.log"
  out=$(stat_of proxy dgrams_out); in=$(stat_of proxy dgrams_in)
  failed_legs=$(stat_of proxy legs_failed)
  check "proxy: relayed through the proxy ($out out, $in in, $failed_legs legs failed)" \
    test "${out:-0}" -ge 2 -a "${in:-0}" -ge 2 -a "${failed_legs:-1}" -eq 0
  check "proxy: dante relayed UDP" grep -qi "udp" "$tmp/danted.log"
  # the proxy dies: RFC 1928 section 7, the association ends with its
  # control connection; queries fail while it is down (counted), and work
  # again, on new associations, once it is back
  # (every danted process of the server namespace, by pid: the mother's
  # children hold the sessions)
  for p in $(ip netns pids "$S"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = danted ] && kill -KILL "$p"
  done
  proxy_closed() { test "$(stat_of proxy assoc_proxy_closed)" -ge 1; }
  check "proxy dies: its association closed with the control connection" \
    wait_for 5 proxy_closed
  check "proxy dies: a query fails meanwhile" \
    bash -c "! ip netns exec $E timeout 10 dig +time=1 +tries=1 @198.18.2.2 test.example A +short | grep -qx 198.18.9.9"
  lf=$(stat_of proxy legs_failed)
  check "proxy dies: the failed handshake is counted ($lf)" test "${lf:-0}" -ge 1
  start_danted
  wait_for 5 ins bash -c 'exec 3<>/dev/tcp/198.18.2.2/1080'
  check "proxy back: dig A works again" dig_is 198.18.9.9 @198.18.2.2 test.example A
  stop_t2s proxy
else
  notok "proxy: synfin tun2socks starts"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
