#!/usr/bin/env bash
# Tests of `synfin sim`: every scenario passes its own state assertions,
# the output is deterministic for a seed, options are checked, and the
# lifecycle ladder shows the states in order. Prints ok/not ok lines and
# "N passed, N failed"; exits non-zero on any failure.
set -u
SYNFIN=${SYNFIN:-build/synfin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../ladder/lib.sh"

scenarios="lifecycle simultaneous-open simultaneous-close lost-final-ack
  half-close abort refused syn-retransmit old-duplicate-syn self-connect"
for s in $scenarios; do
  if "$SYNFIN" sim "$s" --no-color >"$tmp/out" 2>"$tmp/err" &&
     grep -q "^$s: ok" "$tmp/out"; then ok "scenario $s"; else notok "scenario $s"; fi
done

# Impairments do not break the scenario's own bookkeeping (it may fail the
# state assertions, but it must end and say so, never crash).
for s in lifecycle half-close; do
  "$SYNFIN" sim "$s" --no-color --seed 3 --loss 0.2 --dup 0.1 --reorder 0.1 \
    --corrupt 0.1 --jitter 5 >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -le 1 ] && grep -q "^$s: " "$tmp/out"; then ok "$s under impairments ends (rc $rc)"
  else notok "$s under impairments ends (rc $rc)"; fi
done

# Determinism: the same seed and options give byte-identical output.
for args in "lifecycle --seed 7" "lifecycle --seed 7 --loss 0.3 --jitter 3" \
            "half-close --seed 2 --dup 0.2 --reorder 0.2 --corrupt 0.1"; do
  "$SYNFIN" sim $args --no-color >"$tmp/a" 2>&1
  "$SYNFIN" sim $args --no-color >"$tmp/b" 2>&1
  if cmp -s "$tmp/a" "$tmp/b" && [ -s "$tmp/a" ]; then ok "deterministic: $args"
  else notok "deterministic: $args"; fi
done
# ... and a different seed with loss gives a different one.
"$SYNFIN" sim lifecycle --seed 1 --loss 0.3 --no-color >"$tmp/a" 2>&1
"$SYNFIN" sim lifecycle --seed 2 --loss 0.3 --no-color >"$tmp/b" 2>&1
if ! cmp -s "$tmp/a" "$tmp/b"; then ok "different seed, different output"
else notok "different seed, different output"; fi

# Bad options: exit 2 with a one-line message naming the option.
bad() { # expected-word, args...
  local word=$1; shift
  "$SYNFIN" sim "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq 2 ] && grep -q -- "$word" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ]
  then ok "rejects $*"; else notok "rejects $* (rc $rc)"; fi
}
bad --loss --loss 1.5
bad --loss --loss -0.1
bad --dup --dup abc
bad --corrupt --corrupt 2
bad --reorder --reorder 7
bad --mtu --mtu 0
bad --mtu --mtu 67
bad --delay --delay -5
bad --jitter --jitter -1
bad --bandwidth --bandwidth 10X
bad --lang --lang fr
bad --scenario --scenario no-such-thing
bad --scenario no-such-thing
bad --scenario bulk
bad --explain --quiet --explain
bad --frobnicate --frobnicate

# --list names every scenario, the later ones as not yet available.
"$SYNFIN" sim --list >"$tmp/out" 2>"$tmp/err"
if grep -q "^lifecycle" "$tmp/out" && grep -q "^bulk.*not yet available" "$tmp/out" &&
   grep -q "^self-connect" "$tmp/out"; then ok "--list"; else notok "--list"; fi

# The lifecycle ladder shows each side's states in order.
"$SYNFIN" sim --no-color >"$tmp/out" 2>"$tmp/err"
order="CLOSED → LISTEN|CLOSED → SYN_SENT|SYN seq=0|LISTEN → SYN_RCVD|SYN,ACK seq=0 ack=1|SYN_SENT → ESTABLISHED|SYN_RCVD → ESTABLISHED|ESTABLISHED → FIN_WAIT_1|ESTABLISHED → CLOSE_WAIT|CLOSE_WAIT → LAST_ACK|FIN_WAIT_1 → FIN_WAIT_2|FIN_WAIT_2 → TIME_WAIT|LAST_ACK → CLOSED|time-wait expired|TIME_WAIT → CLOSED"
line=0; inorder=1
IFS='|' read -ra pats <<<"$order"
for p in "${pats[@]}"; do
  n=$(grep -n -F -- "$p" "$tmp/out" | head -1 | cut -d: -f1)
  if [ -z "$n" ] || [ "$n" -le "$line" ]; then inorder=0; echo "    missing or out of order: $p"; break; fi
  line=$n
done
[ "$inorder" = 1 ] && ok "lifecycle ladder states in order" || notok "lifecycle ladder states in order"
if ! grep -q $'\033' "$tmp/out"; then ok "no colour when piped"; else notok "no colour when piped"; fi

# Losses show as ✗ on the arrow; --explain speaks English or Chinese.
"$SYNFIN" sim lost-final-ack --no-color >"$tmp/out" 2>&1
grep -q "✗" "$tmp/out" && grep -q "retransmit" "$tmp/out" && ok "lost segment drawn with ✗" || notok "lost segment drawn with ✗"
"$SYNFIN" sim --explain --no-color >"$tmp/out" 2>&1
grep -q "three-way handshake" "$tmp/out" && grep -q "2\*MSL" "$tmp/out" && ok "--explain" || notok "--explain"
"$SYNFIN" sim --explain --lang zh --no-color >"$tmp/out" 2>&1
grep -q "三次握手" "$tmp/out" && grep -q "四次挥手" "$tmp/out" && ok "--explain --lang zh" || notok "--explain --lang zh"
"$SYNFIN" sim --quiet >"$tmp/out" 2>&1
[ "$(wc -l <"$tmp/out")" -le 5 ] && grep -q "lifecycle: ok" "$tmp/out" && ok "--quiet" || notok "--quiet"
"$SYNFIN" sim --msl 5 --quiet >"$tmp/out" 2>&1
grep -q "after 10.060 s" "$tmp/out" && ok "--msl 5: TIME_WAIT is 10 s" || notok "--msl 5: TIME_WAIT is 10 s"

# ------------------------------------------------ --pcap, --svg, --json
need_tools tshark xmllint python3
if "$SYNFIN" sim --quiet --pcap "$tmp/probe.pcap" 2>"$tmp/err" >/dev/null; then ok "--pcap works (built with libpcap)"
else notok "--pcap works (built with libpcap)"; fi
for s in $scenarios; do
  rm -f "$tmp/s.pcap" "$tmp/s.svg" "$tmp/s.json"
  "$SYNFIN" sim "$s" --quiet --pcap "$tmp/s.pcap" --svg "$tmp/s.svg" --json "$tmp/s.json" >/dev/null 2>"$tmp/err"
  check "$s: tshark reads the pcap clean" 'tshark_clean "$tmp/s.pcap"'
  check "$s: SVG is well-formed XML" 'xmllint --noout "$tmp/s.svg" 2>"$tmp/err"'
  check "$s: JSON parses" 'python3 -m json.tool "$tmp/s.json" >/dev/null 2>"$tmp/err"'
done
# Segments in the pcap are the ladder's: the lifecycle has 11, and the JSON
# has one "sent" per datagram and the states each side visits.
"$SYNFIN" sim --quiet --pcap "$tmp/l.pcap" --json "$tmp/l.json" >/dev/null 2>&1
check "lifecycle pcap has 11 segments" '[ "$(tshark -r "$tmp/l.pcap" 2>/dev/null | wc -l)" = 11 ]'
check "lifecycle JSON: 11 sent, 11 delivered, server reaches LAST_ACK" \
  'python3 -c "
import json,sys; e=json.load(open(sys.argv[1]))
k=[x[\"event\"] for x in e]
assert k.count(\"sent\")==11 and k.count(\"delivered\")==11, k
assert any(x.get(\"to_state\")==\"LAST_ACK\" and x[\"host_name\"]==\"server\" for x in e)
assert e[2][\"t_ns\"]==0 and any(x.get(\"flags\")==[\"SYN\"] and x.get(\"options\",{}).get(\"mss\")==1460 for x in e)
" "$tmp/l.json" 2>"$tmp/err"'
# Determinism: the same seed gives identical pcap bytes, another seed not.
for i in a b; do "$SYNFIN" sim lifecycle --quiet --seed 7 --loss 0.3 --jitter 3 --pcap "$tmp/$i.pcap" >/dev/null 2>&1; done
"$SYNFIN" sim lifecycle --quiet --seed 8 --loss 0.3 --jitter 3 --pcap "$tmp/c.pcap" >/dev/null 2>&1
check "same seed, identical pcap bytes" 'cmp -s "$tmp/a.pcap" "$tmp/b.pcap" && [ -s "$tmp/a.pcap" ]'
check "different seed, different pcap" '! cmp -s "$tmp/a.pcap" "$tmp/c.pcap"'
# Impaired runs still write clean captures at the wire (corruption happens
# after the capture point) ...
"$SYNFIN" sim half-close --quiet --seed 2 --loss 0.2 --dup 0.2 --reorder 0.2 --corrupt 0.2 \
  --pcap "$tmp/i.pcap" --svg "$tmp/i.svg" --json "$tmp/i.json" >/dev/null 2>&1
check "impaired: pcap clean at the wire" 'tshark_clean "$tmp/i.pcap"'
check "impaired: SVG well-formed, has a lost-segment cross" 'xmllint --noout "$tmp/i.svg" && grep -q "stroke=\"#c62828\" stroke-width=\"2.5\"" "$tmp/i.svg"'
check "impaired: JSON parses, has lost and corrupted" 'python3 -m json.tool "$tmp/i.json" >/dev/null && grep -q "\"event\":\"lost\"" "$tmp/i.json" && grep -q corrupted "$tmp/i.json"'
# ... while at the receiving host the corrupted copies show bad checksums.
"$SYNFIN" sim half-close --quiet --seed 2 --corrupt 0.3 --capture server --pcap "$tmp/x.pcap" >/dev/null 2>&1
check "--capture server: corrupted copies have bad checksums" \
  '[ -n "$(tshark -r "$tmp/x.pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -Y "tcp.checksum.status == \"Bad\" || ip.checksum.status == \"Bad\" || _ws.malformed" 2>/dev/null)" ]'
check "--capture server does not see the lost final ACK" \
  '"$SYNFIN" sim lost-final-ack --quiet --capture server --pcap "$tmp/cl.pcap" >/dev/null 2>&1 &&
   "$SYNFIN" sim lost-final-ack --quiet --pcap "$tmp/w.pcap" >/dev/null 2>&1 &&
   [ "$(tshark -r "$tmp/cl.pcap" 2>/dev/null | wc -l)" -lt "$(tshark -r "$tmp/w.pcap" 2>/dev/null | wc -l)" ] && tshark_clean "$tmp/cl.pcap"'
bad --capture --capture client
bad --capture --pcap "$tmp/p.pcap" --capture moon
bad --pcap --pcap /nonexistent-dir/x.pcap
bad --svg --svg /nonexistent-dir/x.svg
bad --json --json /nonexistent-dir/x.json

echo "sim: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
