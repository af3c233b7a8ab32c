#!/usr/bin/env bash
# synfin ss reads what a running synfin's control socket answers: a stand-in
# socket (python) answers "ss" with rows as tools/synfin/net/ctl.c writes
# them (ctl_ss_row: ... sd, SRTT us, RTTVAR us, receive storage, rcvbuf,
# send storage, sndbuf[, tun2socks' via, up, down]), and ss must print
# RFC 6298's SRTT/RTTVAR as ss -i does (rtt:SRTT/RTTVAR, ms; --json
# srtt_ms, rttvar_ms), nothing when not measured yet, keep tun2socks'
# columns, and with --mem the buffer memory as ss -m does
# (mem:(rSTORAGE,rbBUFFER,tSTORAGE,tbBUFFER); --json always).
set -u
SYNFIN=${SYNFIN:-build/synfin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed+1)); echo "ok - $1"; else failed=$((failed+1)); echo "not ok - $1"; sed 's/^/    /' "$tmp/out"; fi; }
printf 'ESTABLISHED\t198.18.0.2:7\t198.18.0.1:40000\t0\t100\t-\t-1\t200000000\t0\t1\t20000\t7500\t4096\t65535\t0\t65535\n' >"$tmp/rows"
printf 'LISTEN\t0.0.0.0:7\t0.0.0.0:0\t0\t0\t-\t-1\t1000000000\t0\t0\t0\t0\t0\t65535\t0\t65535\n' >>"$tmp/rows"
printf 'ESTABLISHED\t198.18.0.2:50000\t198.18.2.2:7002\t0\t0\t-\t-1\t200000000\t0\t-1\t31250\t9000\t0\t1048576\t8192\t262144\tsocks5\t0\t1234\n' >>"$tmp/rows"
serve() { # answers N connections with the rows
  timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
rows = open(sys.argv[2], "rb").read()
for _ in range(int(sys.argv[3])):
    c, _ = s.accept(); c.recv(100); c.sendall(rows); c.close()
' "$tmp/ctl.sock" "$tmp/rows" "$1" &
  for _ in $(seq 50); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
}
serve 3
"$SYNFIN" ss --ctl "$tmp/ctl.sock" >"$tmp/out" 2>&1
check "ss: rtt:SRTT/RTTVAR in ms, none before a measurement, tun2socks columns kept" \
  'grep -q "^ESTAB .*198.18.0.1:40000 *rtt:20.000/7.500$" "$tmp/out" && grep -q "^LISTEN .*0.0.0.0:0 *$" "$tmp/out" &&
   grep -q "198.18.2.2:7002 *rtt:31.250/9.000 via:socks5 up:0 down:1234$" "$tmp/out"'
"$SYNFIN" ss --ctl "$tmp/ctl.sock" --json >"$tmp/out" 2>&1
check "ss --json: srtt_ms and rttvar_ms when measured, the buffer memory" \
  'python3 -c "
import json, sys; r = json.load(open(sys.argv[1]))
assert r[0][\"srtt_ms\"] == 20.0 and r[0][\"rttvar_ms\"] == 7.5, r[0]
assert \"srtt_ms\" not in r[1], r[1]
assert r[2][\"srtt_ms\"] == 31.25 and r[2][\"upstream\"] == \"socks5\" and r[2][\"bytes_down\"] == 1234, r[2]
assert r[0][\"rcv_mem\"] == 4096 and r[0][\"rcvbuf\"] == 65535 and r[2][\"snd_mem\"] == 8192 and r[2][\"sndbuf\"] == 262144, r
" "$tmp/out"'
"$SYNFIN" ss --ctl "$tmp/ctl.sock" --mem >"$tmp/out" 2>&1
check "ss --mem: each connection's storages and buffers, after tun2socks' columns" \
  'grep -q "198.18.0.1:40000 *rtt:20.000/7.500 mem:(r4096,rb65535,t0,tb65535)$" "$tmp/out" &&
   grep -q "^LISTEN .*0.0.0.0:0 *mem:(r0,rb65535,t0,tb65535)$" "$tmp/out" &&
   grep -q "198.18.2.2:7002 *rtt:31.250/9.000 via:socks5 up:0 down:1234 mem:(r0,rb1048576,t8192,tb262144)$" "$tmp/out"'
wait
echo "ss: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
