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
  half-close abort refused syn-retransmit old-duplicate-syn self-connect
  keepalive syn-flood bulk zero-window"
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
bad --mtu --mtu 68
bad --mtu --mtu 103
bad --mtu --mtu 65536
bad --delay --delay -5
bad --jitter --jitter -1
bad --bandwidth --bandwidth 10X
bad --lang --lang fr
bad --scenario --scenario no-such-thing
bad --scenario no-such-thing
bad --bytes --bytes 0
bad --bytes --bytes 1.5
bad --conns --conns 0
bad --soak --soak abc
bad --soak --soak 5 --loss 0.1
bad --pcap --soak 5 --pcap "$tmp/soak.pcap"
bad --json many --json "$tmp/many.json"
bad --explain --quiet --explain
bad --frobnicate --frobnicate
bad --ce-threshold --ce-threshold 10k
bad --ce-threshold --bandwidth 10M --ce-threshold 0
bad --ce-threshold --bandwidth 10M --queue 10k --ce-threshold 20k
bad --queue --queue 5k
bad --queue --bandwidth 10M --queue 1.5
bad --ecn --ecn 3
bad --ecn --ecn on

# --list names every scenario with the states each side visits; together
# they visit all eleven states, and none is left unavailable.
"$SYNFIN" sim --list >"$tmp/out" 2>"$tmp/err"
if grep -q "^lifecycle" "$tmp/out" && grep -q "^many" "$tmp/out" &&
   grep -q "^self-connect" "$tmp/out" && ! grep -q "not yet" "$tmp/out"; then ok "--list"; else notok "--list"; fi
check "--list: all eleven states visited" \
  '[ "$(grep -o "\b[A-Z_12]\{4,\}\b" "$tmp/out" | sort -u | grep -c -x -E "CLOSED|LISTEN|SYN_SENT|SYN_RCVD|ESTABLISHED|FIN_WAIT_1|FIN_WAIT_2|CLOSE_WAIT|CLOSING|LAST_ACK|TIME_WAIT")" = 11 ]'

# keepalive finds the vanished server after 20 s idle and 3 probes 5 s apart.
"$SYNFIN" sim keepalive --no-color >"$tmp/out" 2>&1
check "keepalive: 3 probes, then ETIMEDOUT at 35 s" \
  '[ "$(grep -c "keepalive timer" "$tmp/out")" = 4 ] && grep -q "keepalive probes unanswered" "$tmp/out" && grep -q "keepalive: ok after 35.040 s" "$tmp/out"'
# syn-flood: cookies sent for the flood, one validated for the real client.
"$SYNFIN" sim syn-flood --no-color >"$tmp/out" 2>&1
check "syn-flood: cookies sent and validated" \
  'grep -q "SYN cookies sent, 1 validated" "$tmp/out" && grep -q "carries a SYN cookie" "$tmp/out" && grep -q "^syn-flood: ok" "$tmp/out"'
# zero-window (RFC 9293 3.8.6.1): the server reads nothing for 2 s, its
# 4 KB buffer fills and it advertises win=0; the client's persist timer
# fires and its probe (one byte beyond the closed window) leaves at once;
# when the reader resumes the window reopens and the bytes arrive intact.
"$SYNFIN" sim zero-window --no-color >"$tmp/out" 2>&1
check "zero-window: win=0, then the persist timer and a one-byte probe" \
  'grep -q "^zero-window: ok" "$tmp/out" && awk "/◀.* win=0 /{z=1} z&&/persist timer/{p=NR} p&&NR==p+1&&/├.* len=1 /{ok=1} END{exit !ok}" "$tmp/out"'
"$SYNFIN" sim zero-window --quiet --json "$tmp/zw.json" >/dev/null 2>&1
check "zero-window JSON: the first probe follows a persist timer, window 0" \
  'python3 -c "
import json,sys; e=json.load(open(sys.argv[1]))
i=next(i for i,x in enumerate(e) if x[\"event\"]==\"sent\" and x[\"from\"]==0 and x[\"len\"]>0 and x[\"tcp\"][\"snd_wnd\"]==0)
assert e[i][\"len\"]==1, e[i]
t=[x for x in e[:i] if x[\"event\"]==\"timer\" and x[\"host\"]==0]
assert t and t[-1][\"timer\"]==\"persist\" and t[-1][\"t_ns\"]==e[i][\"t_ns\"], t[-1:]
" "$tmp/zw.json" 2>"$tmp/err"'
"$SYNFIN" sim zero-window --read-pause 0 --no-color >"$tmp/out" 2>&1
check "zero-window --read-pause 0: the window never closes" '! grep -q " win=0 " "$tmp/out" && grep -q "^zero-window: ok" "$tmp/out"'
bad --read-pause --read-pause 700000
bad --read-pause --read-pause -1
# RFC 6298 2: the JSON's tcp fields carry SRTT and RTTVAR (us): 0 before
# the first measurement; the lifecycle's RTT is twice the 10 ms delay.
"$SYNFIN" sim lifecycle --quiet --json "$tmp/rtt.json" >/dev/null 2>&1
check "JSON: srtt_us 0 before the first RTT sample, then 20 ms (RFC 6298 2.2)" \
  'python3 -c "
import json,sys; e=json.load(open(sys.argv[1])); t=[x for x in e if \"tcp\" in x]
assert t[0][\"tcp\"][\"srtt_us\"]==0 and t[0][\"tcp\"][\"rttvar_us\"]==0, t[0]
m=[x[\"tcp\"] for x in t if x[\"tcp\"][\"srtt_us\"]]
assert m and m[0][\"srtt_us\"]==20000 and m[0][\"rttvar_us\"]==10000, m[:1]
assert {x[\"host\"] for x in t if x[\"tcp\"][\"srtt_us\"]}=={0,1}
" "$tmp/rtt.json" 2>"$tmp/err"'
# bulk: intact under loss, duplication, reordering and corruption, one way
# or both, at small and jumbo MTUs; a summary unless --ladder.
for args in "--seed 1" "--seed 2 --loss 0.1 --dup 0.05 --reorder 0.05 --corrupt 0.05" \
            "--seed 3 --loss 0.15 --one-way" "--seed 4 --mtu 576 --loss 0.05 --reorder 0.1" \
            "--seed 5 --mtu 9000 --bandwidth 1G --corrupt 0.1" "--seed 6 --bytes 5M --loss 0.02"; do
  "$SYNFIN" sim bulk --no-color $args >"$tmp/out" 2>&1
  check "bulk $args: intact both ways" \
    '[ "$(grep -c "bytes intact" "$tmp/out")" = 2 ] && grep -q "^bulk: ok" "$tmp/out" && [ "$(wc -l <"$tmp/out")" -lt 12 ]'
done
# (1448 bytes a segment: RFC 7323 timestamps take 12 of the 1460, RFC 9293 3.7.1)
"$SYNFIN" sim bulk --bytes 20k --ladder --no-color >"$tmp/out" 2>&1
check "bulk --ladder draws the segments" '[ "$(grep -c -E "len=(1460|1448)" "$tmp/out")" -ge 20 ] && grep -q "^bulk: ok" "$tmp/out"'
for i in a b; do "$SYNFIN" sim bulk --quiet --bytes 200k --seed 9 --pcap "$tmp/$i.pcap" >/dev/null 2>&1; done
check "bulk: same seed, identical pcap" 'cmp -s "$tmp/a.pcap" "$tmp/b.pcap" && [ -s "$tmp/a.pcap" ]'
# RFC 3168 ECN over a CE-marking bottleneck (10 Mbit/s, 20 ms RTT, 30 kB
# queue, marking above 10 kB): with ECN the queue marks and never drops,
# and both sides answer the marks; without it the same queue drops.
"$SYNFIN" sim bulk --no-color --ecn 1 --bandwidth 10M --delay 10 --queue 30k \
  --ce-threshold 10k --bytes 1M >"$tmp/out" 2>&1
check "bulk --ecn 1 --ce-threshold: marks, no queue drops, reductions" \
  'grep -q "^network: [1-9][0-9]* CE-marked, 0 dropped at a full queue" "$tmp/out" && grep -q "^client: ECN on, [1-9][0-9]* CE received, [1-9][0-9]* ECE sent, [1-9][0-9]* ECE received, [1-9][0-9]* window reductions, [1-9][0-9]* CWR sent" "$tmp/out" && [ "$(grep -c "bytes intact" "$tmp/out")" = 2 ]'
"$SYNFIN" sim bulk --no-color --ecn 0 --bandwidth 10M --delay 10 --queue 30k \
  --ce-threshold 10k --bytes 1M >"$tmp/out" 2>&1
check "bulk --ecn 0 --ce-threshold: no marks, queue drops" \
  'grep -q "^network: 0 CE-marked, [1-9][0-9]* dropped at a full queue" "$tmp/out" && grep -q "^client: ECN off" "$tmp/out" && [ "$(grep -c "bytes intact" "$tmp/out")" = 2 ]'
# many: thousands of concurrent connections, every one completed.
"$SYNFIN" sim many >"$tmp/out" 2>&1
check "many: 2000 connections" 'grep -q "completed 2000, failed 0" "$tmp/out" && grep -q "peak TIME_WAIT 2000" "$tmp/out" && grep -q "^many: ok" "$tmp/out"'
"$SYNFIN" sim many --conns 3000 --loss 0.05 --seed 2 >"$tmp/out" 2>&1
check "many: 3000 connections under 5% loss" 'grep -q "completed 3000, failed 0" "$tmp/out" && grep -q "^many: ok" "$tmp/out"'

# soak: random networks and workloads, invariants after every event. 3000
# seeds take ~20 s in the plain build (~150 seeds/s); the sanitizer build,
# about 3 times slower, runs 200. --jobs 0: a worker per core (the same
# seeds, the output merged in seed order).
nseeds=3000
case "${BUILD:-}" in *san*) nseeds=200 ;; esac
"$SYNFIN" sim --soak $nseeds --jobs 0 >"$tmp/soak" 2>&1
check "soak: $nseeds seeds pass" 'grep -q "^soak: $nseeds seeds, $nseeds passed, 0 failed" "$tmp/soak"'
grep -E "FAILED|replay" "$tmp/soak" | head -20 | sed 's/^/    /'
tail -1 "$tmp/soak" | sed 's/^/    /'
"$SYNFIN" sim --soak 1 --seed 5 >"$tmp/out" 2>&1
check "soak: one seed replays with its trace" 'grep -q "^seed 5: ok" "$tmp/out" && grep -q "network:" "$tmp/out" && grep -q "SYN_SENT" "$tmp/out"'

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
# --lang zh: every word Chinese (zh_words.py lists what may stay ASCII:
# state names, flags, the segment's fields and options, RFC terms, names
# typed on the command line), for every scenario with --explain, under
# impairments, and bulk's ladder, counters and ECN lines; the checker
# itself finds the English of an English run.
for s in $("$SYNFIN" sim --list | awk '/^[a-z]/ {print $1}'); do
  "$SYNFIN" sim "$s" --lang zh --explain --no-color --conns 50 >"$tmp/out" 2>/dev/null
  check "--lang zh $s: no English word" 'python3 "$(dirname "$0")/zh_words.py" "$s" <"$tmp/out" >"$tmp/err"'
done
"$SYNFIN" sim half-close --lang zh --explain --no-color --seed 3 --loss 0.2 --dup 0.1 --reorder 0.1 --corrupt 0.1 >"$tmp/out" 2>/dev/null
check "--lang zh under impairments: no English word" 'grep -q "丢失" "$tmp/out" && python3 "$(dirname "$0")/zh_words.py" half-close <"$tmp/out" >"$tmp/err"'
"$SYNFIN" sim bulk --lang zh --ladder --stats --bytes 50k --ecn 1 --bandwidth 10M --ce-threshold 10k --no-color >"$tmp/out" 2>/dev/null
check "--lang zh bulk --ladder --stats --ecn: no English word" 'grep -q "字节完好" "$tmp/out" && python3 "$(dirname "$0")/zh_words.py" bulk <"$tmp/out" >"$tmp/err"'
"$SYNFIN" sim lifecycle --explain --no-color >"$tmp/out" 2>/dev/null
check "the zh check finds English words in an English run" '! python3 "$(dirname "$0")/zh_words.py" lifecycle <"$tmp/out" >/dev/null'
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
# Segments in the pcap are the ladder's: as many as the summary says, and the JSON
# has one "sent" per datagram and the states each side visits.
"$SYNFIN" sim --quiet --pcap "$tmp/l.pcap" --json "$tmp/l.json" >/dev/null 2>&1
n=$("$SYNFIN" sim --quiet 2>/dev/null | sed -n 's/^network: \([0-9]*\) datagrams sent.*/\1/p')
check "lifecycle pcap has the $n segments sent" '[ -n "$n" ] && [ "$(tshark -r "$tmp/l.pcap" 2>/dev/null | wc -l)" = "$n" ]'
check "lifecycle JSON: $n sent, $n delivered, server reaches LAST_ACK" \
  'python3 -c "
import json,sys; e=json.load(open(sys.argv[1])); n=int(sys.argv[2])
k=[x[\"event\"] for x in e]
assert k.count(\"sent\")==n and k.count(\"delivered\")==n, k
assert any(x.get(\"to_state\")==\"LAST_ACK\" and x[\"host_name\"]==\"server\" for x in e)
assert e[2][\"t_ns\"]==0 and any(x.get(\"flags\")==[\"SYN\"] and x.get(\"options\",{}).get(\"mss\")==1460 for x in e)
" "$tmp/l.json" "$n" 2>"$tmp/err"'
# RFC 7323 2.2: after the handshake the windows are shown in bytes, the
# field (511) shifted by the sender's wscale (7): 65408; SYN and SYN-ACK
# windows are never scaled. The ladder text, its SVG and the JSON's
# "win_scaled" ("win" stays the header field).
"$SYNFIN" sim --no-color --svg "$tmp/w.svg" --json "$tmp/w.json" >"$tmp/out" 2>"$tmp/err"
check "ladder: post-handshake windows scaled (win=65408, SYNs win=65535)" \
  'grep -q "├─* ACK seq=1 ack=1 win=65408 " "$tmp/out" && grep -q "SYN,ACK seq=0 ack=1 win=65535 " "$tmp/out" &&
   ! grep -q "win=511" "$tmp/out" && grep -q "win=65408" "$tmp/w.svg" && ! grep -q "win=511" "$tmp/w.svg"'
check "JSON: win is the field, win_scaled the bytes" \
  'python3 -c "
import json,sys; e=json.load(open(sys.argv[1])); s=[x for x in e if x[\"event\"]==\"sent\"]
syn=[x for x in s if \"SYN\" in x[\"flags\"]]; rest=[x for x in s if \"SYN\" not in x[\"flags\"]]
assert syn and all(x[\"win_scaled\"]==x[\"win\"]==65535 for x in syn), syn
assert rest and all(x[\"win\"]==511 and x[\"win_scaled\"]==65408 for x in rest), rest
" "$tmp/w.json" 2>"$tmp/err"'
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

# ------------------------------------------------------------ --ipv6
# Every scenario over IPv6-only hosts (fd00::1, ::2): its own assertions;
# the ladder headed by the IPv6 addresses (RFC 5952 text, in brackets with
# the port) and no IPv4 address anywhere; a pcap (raw IP) that tshark
# reads clean with every frame TCP over IPv6; an SVG and JSON with the
# bracketed addresses and hop limits.
for s in $scenarios; do
  rm -f "$tmp/6.pcap" "$tmp/6.svg" "$tmp/6.json"
  "$SYNFIN" sim "$s" --ipv6 --no-color --pcap "$tmp/6.pcap" --svg "$tmp/6.svg" --json "$tmp/6.json" >"$tmp/out" 2>"$tmp/err"
  check "$s --ipv6: ok, drawn between [fd00::1] and [fd00::2]" \
    'grep -q "^$s: ok" "$tmp/out" && { [ "$s" = bulk ] || grep -q "^ *time (ms)  \(client \[fd00::1\]:[0-9]* *server \[fd00::2\]:[0-9]*\|host \[fd00::1\]:5000\)$" "$tmp/out"; } && ! grep -q "198\.18\." "$tmp/out"'
  check "$s --ipv6: pcap all TCP over IPv6, tshark clean" \
    'tshark_clean "$tmp/6.pcap" && [ "$(tshark -r "$tmp/6.pcap" -Y "ipv6 && tcp && !ip" 2>/dev/null | wc -l)" = "$(tshark -r "$tmp/6.pcap" 2>/dev/null | wc -l)" ]'
  check "$s --ipv6: SVG and JSON with the IPv6 addresses" \
    'xmllint --noout "$tmp/6.svg" 2>"$tmp/err" && grep -q ">\[fd00::1\]:[0-9]*<" "$tmp/6.svg" && python3 -c "
import json,sys; e=json.load(open(sys.argv[1])); s=[x for x in e if x[\"event\"]==\"sent\" and x.get(\"valid\",True)]
assert s and all(x[\"src\"].startswith(\"[\") and \"hop_limit\" in x and \"ttl\" not in x for x in s), s[:2]
assert any(x[\"src\"].startswith(\"[fd00::1]:\") for x in s)
" "$tmp/6.json" 2>"$tmp/err"'
done
# The IPv6 MSS: 1440 at MTU 1500 (RFC 8200: 40 bytes of header), 516 at
# --mtu 576 (the bulk's segments fill it less 12 bytes of timestamps).
"$SYNFIN" sim bulk --ipv6 --mtu 576 --bytes 100k --seed 4 --ladder --no-color >"$tmp/out" 2>&1
check "bulk --ipv6 --mtu 576: MSS 516, segments of 504, intact" \
  'grep -q "mss 516" "$tmp/out" && grep -q "len=504" "$tmp/out" && ! grep -q -E "len=(50[5-9]|5[1-9][0-9]|[6-9][0-9][0-9])" "$tmp/out" && [ "$(grep -c "bytes intact" "$tmp/out")" = 2 ]'
"$SYNFIN" sim lifecycle --ipv6 --no-color >"$tmp/out" 2>&1
check "lifecycle --ipv6: SYN carries mss 1440" 'grep -q "SYN seq=0 win=65535 <mss 1440" "$tmp/out"'
# Deterministic over IPv6 too, and the impairments apply to IPv6 datagrams.
for i in a b; do "$SYNFIN" sim half-close --ipv6 --quiet --seed 2 --loss 0.2 --dup 0.2 --reorder 0.2 --corrupt 0.2 --pcap "$tmp/$i.pcap" --json "$tmp/$i.json" >"$tmp/$i.out" 2>&1; done
check "--ipv6 impaired: same seed, identical pcap and JSON" 'cmp -s "$tmp/a.pcap" "$tmp/b.pcap" && cmp -s "$tmp/a.json" "$tmp/b.json" && [ -s "$tmp/a.pcap" ]'
check "--ipv6 impaired: lost, duplicated, reordered and corrupted IPv6 datagrams" \
  'grep -q "\"event\":\"lost\"" "$tmp/a.json" && grep -q duplicate "$tmp/a.json" && grep -q reordered "$tmp/a.json" && grep -q corrupted "$tmp/a.json" && grep -q "^network: .* [1-9][0-9]* dropped, [1-9][0-9]* duplicated, [1-9][0-9]* reordered, [1-9][0-9]* corrupted" "$tmp/a.out"'
"$SYNFIN" sim many --ipv6 --conns 500 >"$tmp/out" 2>&1
check "many --ipv6: 500 connections over IPv6" 'grep -q "over IPv6" "$tmp/out" && grep -q "completed 500, failed 0" "$tmp/out" && grep -q "^many: ok" "$tmp/out"'
# The soak runs a quarter of its seeds on dual-stack hosts (seed 8 is one).
"$SYNFIN" sim --soak 1 --seed 8 >"$tmp/out" 2>&1
check "soak: seed 8 on dual-stack hosts, connections over IPv6 and IPv4" \
  'grep -q "^seed 8: ok" "$tmp/out" && grep -q "dual-stack hosts" "$tmp/out" && grep -q "over IPv6" "$tmp/out" && grep -q "\[fd00::1\]:[0-9]* -> \[fd00::2\]:" "$tmp/out"'
n6=0; for s in $(seq 1 40); do "$SYNFIN" sim --soak 1 --seed "$s" 2>/dev/null | grep -q "dual-stack hosts" && n6=$((n6 + 1)); done
check "soak: a share of the seeds on IPv6 ($n6 of 40)" '[ "$n6" -ge 4 ] && [ "$n6" -le 20 ]'

# --soak N --jobs J: J workers over the seeds, the reports merged in seed
# order, the same outcome as one process (SYNFIN_SOAK_FAIL fails seeds on
# purpose, to see the report).
bad --jobs --jobs 2
bad --jobs --soak 5 --jobs abc
SYNFIN_SOAK_FAIL=23,4,17 "$SYNFIN" sim --soak 30 --jobs 3 >"$tmp/a" 2>&1
SYNFIN_SOAK_FAIL=23,4,17 "$SYNFIN" sim --soak 30 >"$tmp/b" 2>&1
check "soak --jobs 3: seeds 4, 17, 23 reported in seed order, as by one process" \
  'grep -q "^soak: 30 seeds, 27 passed, 3 failed (.*3 jobs" "$tmp/a" && [ "$(grep -o "^seed [0-9]*" "$tmp/a" | tr -d "\n")" = "seed 4seed 17seed 23" ] && grep -q "replay: synfin sim --soak 1 --seed 17" "$tmp/a" && grep -q "^failed seeds: 4 17 23" "$tmp/a" && diff <(grep -v "^soak:\|^failed seeds" "$tmp/a") <(grep -v "^soak:" "$tmp/b") >/dev/null'
"$SYNFIN" sim --soak 200 --seed 1000 --jobs 0 >"$tmp/a" 2>&1
check "soak --jobs 0 (every core): 200 seeds pass" 'grep -q "^soak: 200 seeds, 200 passed, 0 failed" "$tmp/a"'
# Seeds the long soak found: a 2 KB send buffer over 20 % loss, where
# timestamp samples from ACKs of retransmitted data (echoing the first
# copy) drove the RTO to 60 s and the transfers past 3 virtual hours
# (tests/drill/rfc7323/ts-rtt-lost-ack.pkt); and a memory limit shrinking
# an autotuned buffer under an open window (seeds 11468, 23893); a socket
# refused at the memory limit (36278).
: >"$tmp/a"
for s in 7129 10257 11468 23893 32792 36278; do
  "$SYNFIN" sim --soak 1 --seed $s --quiet >>"$tmp/a" 2>&1
done
check "soak: seeds 7129, 10257, 11468, 23893, 32792, 36278 pass" '[ "$(grep -c "^soak: 1 seeds, 1 passed, 0 failed" "$tmp/a")" -eq 6 ]'
# Every feature on and off per seed, connection or socket: a memory
# limit and NewReno among them.
nmem=0; for s in $(seq 1 40); do "$SYNFIN" sim --soak 1 --seed "$s" 2>/dev/null | grep -q "memory limit" && nmem=$((nmem + 1)); done
check "soak: a share of the seeds under a memory limit ($nmem of 40)" '[ "$nmem" -ge 4 ] && [ "$nmem" -le 20 ]'

# --lang zh: the messages about bad input (stderr) are Chinese, wherever
# --lang stands; the names typed (options, values, files) stay as typed
# (tests/sim/zh_words.py, told the arguments); the same input in English
# says it in English.
has_cjk() { python3 -c 'import re, sys; sys.exit(0 if re.search("[\u4e00-\u9fff]", open(sys.argv[1], encoding="utf-8").read()) else 1)' "$1"; }
zh_err() { # expected-rc what args...
  local rc=$1 what=$2; shift 2
  : >"$tmp/err"
  "$SYNFIN" "$@" --lang zh >/dev/null 2>"$tmp/zh"; local got=$?
  "$SYNFIN" "$@" >/dev/null 2>"$tmp/en"
  if [ "$got" -eq "$rc" ] && [ -s "$tmp/zh" ] && has_cjk "$tmp/zh" &&
     python3 tests/sim/zh_words.py $scenarios many "$@" <"$tmp/zh" >"$tmp/err" &&
     ! has_cjk "$tmp/en" && ! cmp -s "$tmp/zh" "$tmp/en"; then
    ok "--lang zh error, $what: $(head -1 "$tmp/zh")"
  else
    cat "$tmp/zh" "$tmp/en" >>"$tmp/err"; notok "--lang zh error, $what (rc $got)"
  fi
}
zh_err 2 "a rate out of range" sim --loss 2
zh_err 2 "an MTU too small" sim --mtu 50
zh_err 2 "an unknown option" sim --bogus
zh_err 2 "a bad --drop" sim --drop x
zh_err 2 "two scenarios" sim lifecycle bulk
zh_err 2 "--jobs without --soak" sim --jobs 2
zh_err 2 "--explain with --quiet" sim --explain --quiet
zh_err 2 "an unknown scenario" sim nosuch
zh_err 2 "--capture without --pcap" sim --capture wire
zh_err 2 "--ce-threshold without --bandwidth" sim --ce-threshold 3000
zh_err 2 "a file that cannot be made" sim --json /nonexistent-dir/x.json
zh_err 2 "many with a trace" sim many --json "$tmp/m.json"
zh_err 2 "--soak with a scenario" sim lifecycle --soak 2
zh_err 1 "a scenario's check: the error expected" sim refused --loss 1 --quiet
zh_err 1 "a scenario's check: the states expected" sim keepalive --drop 1 --quiet
zh_err 2 "ladder: no capture" ladder
zh_err 2 "ladder: two captures" ladder a.pcap b.pcap
zh_err 2 "ladder: a bad --conn" ladder --conn 0 x.pcap
"$SYNFIN" sim lifecycle --quiet --pcap "$tmp/one.pcap" >/dev/null
zh_err 2 "ladder: --explain with --quiet" ladder "$tmp/one.pcap" --explain --quiet
# a file that is no capture: our words in Chinese, the reader's own
# reason (io/pcap.c) after them in parentheses, as it wrote it
printf 'not a capture' >"$tmp/junk.pcap"
"$SYNFIN" ladder "$tmp/junk.pcap" --lang zh >/dev/null 2>"$tmp/zh"; rc=$?
check "--lang zh error, ladder: not a capture ($(head -1 "$tmp/zh"))" \
  '[ "$rc" -eq 2 ] && grep -q "^synfin ladder: 无法读取抓包文件（.*junk.pcap" "$tmp/zh"'

echo "sim: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
