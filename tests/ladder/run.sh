#!/usr/bin/env bash
# Tests of `synfin ladder FILE`: the sim's own captures (pcap and pcapng)
# give the same segments and states as `synfin sim`; tcpdump captures of
# the kernel's connections over loopback (Ethernet, Linux cooked SLL and
# SLL2) are drawn with the states inferred; several connections need
# --conn; bad input gets one line and a non-zero exit. Prints "N passed,
# N failed"; exits non-zero on any failure.
set -u
SYNFIN=${SYNFIN:-build/synfin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
need_tools tshark xmllint editcap mergecap python3

# The labels of the arrows, in order, and the per-side state paths.
labels() { grep -o '[A-Z][A-Z,]* seq=[-0-9]*[^─▶◀✗]*' "$1" | sed 's/ *$//'; }
paths()  { grep -E '^(client|server|host) ' "$1" | sed 's/ CLOSED$//; s/  */ /g'; }
# The windows the ladder shows (in bytes: RFC 7323 scaling applied), and
# tshark's calculated window sizes (it scales from the SYNs it saw, as the
# ladder must), one a segment in capture order.
wins()   { labels "$1" | grep -o 'win=[0-9]*' | cut -d= -f2; }
tshark_wins() { tshark -r "$1" -T fields -e tcp.window_size 2>/dev/null; }

for s in lifecycle simultaneous-open simultaneous-close half-close abort refused \
         self-connect lost-final-ack; do
  "$SYNFIN" sim "$s" --no-color --pcap "$tmp/$s.pcap" >"$tmp/sim.out" 2>"$tmp/err"
  "$SYNFIN" ladder "$tmp/$s.pcap" --no-color --svg "$tmp/$s.svg" >"$tmp/lad.out" 2>"$tmp/err"
  check "$s: ladder exits 0" '[ $? = 0 ]'
  labels "$tmp/sim.out" >"$tmp/a"; labels "$tmp/lad.out" >"$tmp/b"
  check "$s: same segments as synfin sim" 'cmp -s "$tmp/a" "$tmp/b" && [ -s "$tmp/a" ] || { diff "$tmp/a" "$tmp/b" >"$tmp/err"; false; }'
  paths "$tmp/sim.out" | grep -v -e "no connection" >"$tmp/a"; paths "$tmp/lad.out" | grep -v "no state change" >"$tmp/b"
  check "$s: same states as synfin sim (TIME_WAIT's end aside)" 'cmp -s "$tmp/a" "$tmp/b" || { diff "$tmp/a" "$tmp/b" >"$tmp/err"; false; }'
  check "$s: SVG well-formed" 'xmllint --noout "$tmp/$s.svg" 2>"$tmp/err"'
  check "$s: windows scaled as tshark scales them" 'wins "$tmp/lad.out" >"$tmp/a"; tshark_wins "$tmp/$s.pcap" >"$tmp/b"; [ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b" || { diff "$tmp/a" "$tmp/b" >"$tmp/err"; false; }'
done
# The handshake's shift, learned from the capture: 511 after SYNs with
# wscale 7 is 65408 bytes; SYN windows are never scaled (RFC 7323 2.2).
check "lifecycle pcap: win=65408 after the handshake, not the field 511" \
  '"$SYNFIN" ladder "$tmp/lifecycle.pcap" --no-color >"$tmp/out" 2>"$tmp/err" &&
   grep -q "ACK seq=1 ack=1 win=65408" "$tmp/out" && grep -q "SYN seq=0 win=65535" "$tmp/out" && ! grep -q "win=511" "$tmp/out"'
# Only the client offers Window Scale: no scaling either way (RFC 7323 2.2).
python3 "$(dirname "$0")/one-sided-wscale.py" "$tmp/one.pcap"
"$SYNFIN" ladder "$tmp/one.pcap" --no-color >"$tmp/out" 2>"$tmp/err"
check "one-sided wscale: windows unscaled (511, 1000), as tshark has them" \
  'grep -q "ACK seq=1 ack=1 win=511\$\|ACK seq=1 ack=1 win=511 " "$tmp/out" && grep -q "win=1000" "$tmp/out" &&
   wins "$tmp/out" >"$tmp/a" && tshark_wins "$tmp/one.pcap" >"$tmp/b" && cmp -s "$tmp/a" "$tmp/b"'

# pcapng reads the same as pcap.
editcap -F pcapng "$tmp/lifecycle.pcap" "$tmp/l.pcapng" 2>"$tmp/err"
"$SYNFIN" ladder "$tmp/lifecycle.pcap" --no-color >"$tmp/a" 2>&1
"$SYNFIN" ladder "$tmp/l.pcapng" --no-color >"$tmp/b" 2>&1
check "pcapng draws as the pcap does" 'diff <(sed 1d "$tmp/a") <(sed 1d "$tmp/b") >"$tmp/err" && grep -q "TIME_WAIT" "$tmp/b"'

# Several connections: a list, and --conn picks one.
"$SYNFIN" sim --quiet --seed 5 --pcap "$tmp/s5.pcap" >/dev/null 2>&1
mergecap -w "$tmp/two.pcap" "$tmp/lifecycle.pcap" "$tmp/s5.pcap" 2>"$tmp/err"
"$SYNFIN" ladder "$tmp/two.pcap" --no-color >"$tmp/out" 2>"$tmp/err"; rc=$?
check "two connections without --conn: list, exit 2" '[ $rc = 2 ] && grep -q -- "--conn N" "$tmp/err" && [ "$(grep -c -- "->" "$tmp/out")" = 2 ]'
check "--list" '"$SYNFIN" ladder "$tmp/two.pcap" --list >"$tmp/out" 2>"$tmp/err" && grep -q "^   2  198.18.0.1" "$tmp/out"'
check "--conn 2" '"$SYNFIN" ladder "$tmp/two.pcap" --conn 2 --no-color >"$tmp/out" 2>"$tmp/err" && grep -q "connection 2 of 2" "$tmp/out" && grep -q "^server *LISTEN" "$tmp/out"'

# The kernel's own connection over loopback, captured by tcpdump on lo
# (Ethernet framing) and on any (Linux cooked, SLL2 and SLL).
need_tools tcpdump 2>/dev/null || { command -v tcpdump >/dev/null || apt-get install -y -qq tcpdump >/dev/null 2>&1; }
kcap() { # iface, out, port, extra tcpdump args, [address]
  timeout 20 tcpdump -i "$1" -U -w "$2" "tcp port $3" $4 2>"$tmp/td.err" & local pid=$!
  for _ in $(seq 50); do grep -q listening "$tmp/td.err" 2>/dev/null && break; sleep 0.1; done
  sleep 1 # "listening" comes a moment before packets are delivered
  timeout 10 python3 "$(dirname "$0")/kernel-conn.py" "$3" ${5:-} 2>>"$tmp/err"
  sleep 1.5; kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
port=$((20000 + RANDOM % 20000))
# The last two over IPv6 on ::1 (EtherType 0x86DD; ::1 is never valid on
# a wire, but a capture on lo has it): the ladder reads them too.
for cfg in "lo:EN10MB::" "any:SLL2::" "any:LINUX_SLL:-y LINUX_SLL:" "lo:EN10MB::::1" \
           "any:SLL2::::1"; do
  IFS=: read -r ifc want extra addr <<<"$cfg"
  port=$((port + 1)); f="$tmp/k-$want${addr:+-v6}.pcap"; want="$want${addr:+ IPv6 $addr}"
  kcap "$ifc" "$f" "$port" "$extra" "$addr"
  "$SYNFIN" ladder "$f" --no-color --svg "$tmp/k.svg" >"$tmp/out" 2>"$tmp/err"
  check "kernel capture ($want): handshake and close inferred" \
    'grep -q "^client *CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 .*TIME_WAIT$" "$tmp/out" &&
     grep -q "^server *LISTEN SYN_RCVD ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED$" "$tmp/out" &&
     grep -q "len=4" "$tmp/out" && xmllint --noout "$tmp/k.svg"'
  check "kernel capture ($want): windows scaled as tshark scales them" \
    'wins "$tmp/out" >"$tmp/a"; tshark_wins "$f" >"$tmp/b"; [ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b" || { diff "$tmp/a" "$tmp/b" >"$tmp/err"; false; }'
done

# ------------------------------------------------------------------ IPv6
# The sim's IPv6 captures (raw IP carries both versions): the same
# segments, states and windows as synfin sim --ipv6, the lifelines headed
# by the IPv6 addresses (RFC 5952, bracketed with the port).
for s in lifecycle simultaneous-open half-close abort refused self-connect lost-final-ack; do
  "$SYNFIN" sim "$s" --ipv6 --no-color --pcap "$tmp/6$s.pcap" >"$tmp/sim.out" 2>"$tmp/err"
  "$SYNFIN" ladder "$tmp/6$s.pcap" --no-color --svg "$tmp/6$s.svg" >"$tmp/lad.out" 2>"$tmp/err"
  check "$s over IPv6: ladder exits 0, lifelines [fd00::N]" '[ $? = 0 ] && grep -q "^ *time (ms)  \(client\|host\) \[fd00::1\]:[0-9]" "$tmp/lad.out" && grep -q "\[fd00::" "$tmp/6$s.svg"'
  labels "$tmp/sim.out" >"$tmp/a"; labels "$tmp/lad.out" >"$tmp/b"
  check "$s over IPv6: same segments as synfin sim" 'cmp -s "$tmp/a" "$tmp/b" && [ -s "$tmp/a" ] || { diff "$tmp/a" "$tmp/b" >"$tmp/err"; false; }'
  paths "$tmp/sim.out" | grep -v -e "no connection" >"$tmp/a"; paths "$tmp/lad.out" | grep -v "no state change" >"$tmp/b"
  check "$s over IPv6: same states as synfin sim" '[ -s "$tmp/b" ] && cmp -s "$tmp/a" "$tmp/b" || { diff "$tmp/a" "$tmp/b" >"$tmp/err"; false; }'
  check "$s over IPv6: windows scaled as tshark scales them, SVG well-formed" 'wins "$tmp/lad.out" >"$tmp/a"; tshark_wins "$tmp/6$s.pcap" >"$tmp/b"; [ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b" && xmllint --noout "$tmp/6$s.svg" 2>"$tmp/err"'
done
# A mixed capture (one connection over IPv4, one over IPv6): both listed
# with their addresses, each drawn.
mergecap -w "$tmp/mixed.pcap" "$tmp/lifecycle.pcap" "$tmp/6lifecycle.pcap" 2>"$tmp/err"
check "mixed capture: --list has 198.18.0.1 and [fd00::1]" \
  '"$SYNFIN" ladder "$tmp/mixed.pcap" --list >"$tmp/out" 2>"$tmp/err" && grep -q "^   [12]  198.18.0.1:[0-9]* *-> 198.18.0.2:80 " "$tmp/out" && grep -q "^   [12]  \[fd00::1\]:[0-9]* *-> \[fd00::2\]:80 " "$tmp/out"'
for n in 1 2; do
  check "mixed capture: --conn $n drawn with its states" \
    '"$SYNFIN" ladder "$tmp/mixed.pcap" --conn $n --no-color >"$tmp/out" 2>"$tmp/err" && grep -q "^server *LISTEN SYN_RCVD ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED" "$tmp/out"'
done
# Ethernet framing (0x86DD) and a Destination Options header before TCP
# (RFC 8200 4.6; the TCP checksum does not cover it): drawn as the raw
# capture is, and tshark reads the rewritten file clean.
python3 - "$tmp/6lifecycle.pcap" "$tmp/6eth.pcap" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
magic, vmaj, vmin, tz, sig, snap, lt = struct.unpack("<IHHiIII", raw[:24])
out = [struct.pack("<IHHiIII", magic, vmaj, vmin, tz, sig, snap, 1)]
o = 24
while o < len(raw):
    ts, tf, cl, ln = struct.unpack("<IIII", raw[o:o + 16]); d = raw[o + 16:o + 16 + cl]; o += 16 + cl
    assert d[0] >> 4 == 6
    plen = struct.unpack("!H", d[4:6])[0] + 8
    # next header 60 (Destination Options): 8 bytes, its next header TCP, a PadN of 6
    d = d[:4] + struct.pack("!H", plen) + bytes([60]) + d[7:40] + bytes([6, 0, 1, 4, 0, 0, 0, 0]) + d[40:]
    f = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x86\xdd" + d
    out.append(struct.pack("<IIII", ts, tf, len(f), len(f)) + f)
open(sys.argv[2], "wb").write(b"".join(out))
PY
"$SYNFIN" ladder "$tmp/6lifecycle.pcap" --no-color >"$tmp/a" 2>&1
"$SYNFIN" ladder "$tmp/6eth.pcap" --no-color >"$tmp/b" 2>&1
check "IPv6 in Ethernet with a Destination Options header: drawn as the raw capture" \
  'diff <(sed 1d "$tmp/a") <(sed 1d "$tmp/b") >"$tmp/err" && grep -q "TIME_WAIT" "$tmp/b" && ! grep -q "checksums not filled" "$tmp/b" && tshark_clean "$tmp/6eth.pcap"'

# Bad input: one line, non-zero exit, no crash.
badin() { # name, file
  "$SYNFIN" ladder "$2" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  check "bad input: $1 (rc $rc)" '[ $rc -ge 1 ] && [ $rc -le 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ]'
}
# cut inside the last record (a fixed length may fall on a record boundary
# as option sizes change)
head -c $(( $(wc -c <"$tmp/lifecycle.pcap") - 5 )) "$tmp/lifecycle.pcap" >"$tmp/trunc.pcap"
badin "truncated capture" "$tmp/trunc.pcap"
head -c 10 "$tmp/lifecycle.pcap" >"$tmp/short.pcap"
badin "truncated header" "$tmp/short.pcap"
echo "this is not a capture" >"$tmp/text.pcap"
badin "not a capture" "$tmp/text.pcap"
: >"$tmp/empty.pcap"
badin "empty file" "$tmp/empty.pcap"
badin "missing file" "$tmp/no-such-file.pcap"
python3 - "$tmp/udp.pcap" <<'PY'
import struct, sys
ip = bytes([0x45,0,0,29, 0,1,0,0, 64,17,0,0, 127,0,0,1, 127,0,0,1])
udp = struct.pack("!HHHH", 1000, 2000, 9, 0) + b"x"
pkt = ip + udp
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
    f.write(struct.pack("<IIII", 0, 0, len(pkt), len(pkt)) + pkt)
PY
badin "no TCP in it" "$tmp/udp.pcap"
"$SYNFIN" ladder "$tmp/lifecycle.pcap" --conn 3 >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--conn out of range (rc $rc)" '[ $rc = 2 ] && grep -q "has 1 connection" "$tmp/err"'
"$SYNFIN" ladder >"$tmp/out" 2>"$tmp/err"; rc=$?
check "no file (rc $rc)" '[ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ]'
# Random bytes after a valid header: never a crash.
for i in 1 2 3 4 5; do
  { head -c 24 "$tmp/lifecycle.pcap"; head -c 2000 /dev/urandom; } >"$tmp/rand.pcap"
  "$SYNFIN" ladder "$tmp/rand.pcap" >"$tmp/out" 2>"$tmp/err"; rc=$?
  check "random records $i: no crash (rc $rc)" '[ $rc -le 2 ]'
done

echo "ladder: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
