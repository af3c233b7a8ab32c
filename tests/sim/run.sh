#!/usr/bin/env bash
# Tests of `synfin sim`: every scenario passes its own state assertions,
# the output is deterministic for a seed, options are checked, and the
# lifecycle ladder shows the states in order. Prints ok/not ok lines and
# "N passed, N failed"; exits non-zero on any failure.
set -u
SYNFIN=${SYNFIN:-build/synfin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
ok()    { passed=$((passed+1)); echo "ok - $1"; }
notok() { failed=$((failed+1)); echo "not ok - $1"; [ -f "$tmp/err" ] && sed 's/^/    /' "$tmp/err" | tail -5; }

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

echo "sim: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
