#!/usr/bin/env bash
# The drill runner's own tests. Each *.pkt here opens with
#   // expect-pass                 the script must pass, or
#   // expect-fail: <text>         the script must fail and the output must
#                                  contain <text>
# plus a few cases about the command itself (summary line, --coverage,
# --parse-only). Prints one ok / not ok line per case; exits non-zero on any
# mismatch. Needs SYNFIN=<path to the synfin binary>.
set -u
cd "$(dirname "$0")"
SYNFIN=${SYNFIN:-../../build/synfin}
case $SYNFIN in /*) ;; *) SYNFIN="$OLDPWD/$SYNFIN" ;; esac
[ -x "$SYNFIN" ] || { echo "run.sh: no synfin binary at $SYNFIN" >&2; exit 2; }
passed=0; failed=0; n=0
out=$(mktemp); trap 'rm -f "$out"' EXIT

report() { # ok?, name, detail
  n=$((n+1))
  if [ "$1" = 1 ]; then passed=$((passed+1)); echo "ok $n - $2"
  else failed=$((failed+1)); echo "not ok $n - $2: $3"; sed 's/^/    # /' "$out" | head -8
  fi
}

for f in *.pkt; do
  first=$(head -1 "$f")
  "$SYNFIN" drill "$f" >"$out" 2>&1; rc=$?
  case $first in
    "// expect-pass")
      if [ $rc -eq 0 ] && grep -qx "PASS $f" "$out" && grep -qx "drill: 1 passed, 0 failed" "$out"
      then report 1 "$f"; else report 0 "$f" "expected to pass (exit $rc)"; fi ;;
    "// expect-fail: "*)
      want=${first#"// expect-fail: "}
      if [ $rc -ne 0 ] && grep -qF -- "$want" "$out" && grep -qx "drill: 0 passed, 1 failed" "$out"
      then report 1 "$f"; else report 0 "$f" "expected failure with '$want' (exit $rc)"; fi ;;
    *) report 0 "$f" "first line is neither // expect-pass nor // expect-fail: TEXT" ;;
  esac
done

# Several files: one verdict each, then the summary line alone.
"$SYNFIN" drill pass-sysctl.pkt fail-wrong-ack.pkt >"$out" 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -qx "drill: 1 passed, 1 failed" "$out" &&
   grep -q "^FAIL fail-wrong-ack.pkt:7: outbound segment mismatch" "$out" &&
   grep -q "^  expected: S. 0:0(0) ack 2 <...> at 0.000000s" "$out" &&
   grep -q "^  actual:   S. 0:0(0) ack 1 win 65535 <mss 1460> at 0.000000s" "$out"
then report 1 "two files: verdicts, expected/actual lines, summary"
else report 0 "two files" "exit $rc"; fi

# --coverage on one script: most transitions are not exercised -> non-zero.
"$SYNFIN" drill --coverage pass-sysctl.pkt >"$out" 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -q "SYN_SENT -> CLOSED .*(TIMEOUT_RETRANSMIT) *1 scripts" "$out" &&
   grep -q "NOT EXERCISED" "$out" && grep -qE "^coverage: [0-9]+ of [0-9]+ transitions exercised$" "$out"
then report 1 "--coverage table and exit status"
else report 0 "--coverage" "exit $rc"; fi

# --parse-only checks syntax without running: a failing script parses.
"$SYNFIN" drill --parse-only fail-wrong-ack.pkt fail-parse-error.pkt >"$out" 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -qx "drill: 1 passed, 1 failed" "$out"
then report 1 "--parse-only"; else report 0 "--parse-only" "exit $rc"; fi

# Command-line options apply to every file: a 600 ms tolerance accepts the
# retransmission at 1 s that fail-too-late.pkt expects at 0.5 s.
"$SYNFIN" drill --tolerance_usecs=600000 fail-too-late.pkt >"$out" 2>&1; rc=$?
if [ $rc -eq 0 ]; then report 1 "--tolerance_usecs on the command line"
else report 0 "--tolerance_usecs" "exit $rc"; fi

"$SYNFIN" drill --bogus=1 pass-sysctl.pkt >"$out" 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -q "unknown option --bogus" "$out"
then report 1 "unknown command-line option"; else report 0 "unknown command-line option" "exit $rc"; fi

# --mtu: a value that is no number, and one too small for an MSS, on the
# command line; both name the option and the value.
"$SYNFIN" drill --mtu=abc pass-mtu.pkt >"$out" 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -q "^synfin drill: --mtu=abc: needs a non-negative integer value" "$out"
then report 1 "--mtu=abc on the command line"; else report 0 "--mtu=abc" "exit $rc"; fi
"$SYNFIN" drill --mtu=103 pass-mtu.pkt >"$out" 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -q "^synfin drill: --mtu=103: the MTU must be 104 to 65535" "$out"
then report 1 "--mtu=103 on the command line"; else report 0 "--mtu=103" "exit $rc"; fi
# the smallest MTU the stack takes: MSS 64
"$SYNFIN" drill -v --mtu=104 pass-sysctl.pkt >"$out" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q "> S  0:0(0) win 65535 <mss 64>" "$out"
then report 1 "--mtu=104 on the command line"; else report 0 "--mtu=104" "exit $rc"; fi

# -v prints segments both ways and state changes.
"$SYNFIN" drill -v pass-sysctl.pkt >"$out" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q "> S  0:0(0) win 65535 <mss 1460>" "$out" &&
   grep -q "state SYN_SENT -> CLOSED (TIMEOUT_RETRANSMIT)" "$out"
then report 1 "-v trace"; else report 0 "-v trace" "exit $rc"; fi

# Option lists and ECN marks (packetdrill's syntax). Inbound: -v shows the
# options read back from the built datagram, in the written order, nop as
# one byte, EOL padding to a multiple of 4, SACK edges relative to the
# stack's ISN, the ECN mark from the IP header.
"$SYNFIN" drill -v pass-linux-syn-options.pkt >"$out" 2>&1; rc=$?
if [ $rc -eq 0 ] &&
   grep -q "< S  0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>$" "$out" &&
   grep -q "< S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,nop,TS val 500 ecr 7,nop,wscale 7>$" "$out" &&
   grep -q "< .  1:1(0) ack 1 win 65535 <nop,nop,TS val 110 ecr 0>$" "$out"
then report 1 "-v: Linux's SYN option layout as built"; else report 0 "-v Linux layout" "exit $rc"; fi
"$SYNFIN" drill -v pass-sack-ts-established.pkt >"$out" 2>&1; rc=$?
if [ $rc -eq 0 ] &&
   grep -q "< .  1:1(0) ack 1001 win 65535 <nop,nop,sack 2001:3001>$" "$out" &&
   grep -q "< .  1:1(0) ack 3001 win 65535 <nop,nop,TS val 200 ecr 0,nop,nop,sack 1:1001 2001:3001 4001:5001>$" "$out" &&
   grep -q "< P. 1:11(10) ack 3001 win 65535 <TS val 300 ecr 12345,eol,eol>$" "$out"
then report 1 "-v: SACK blocks relative, EOL padding"; else report 0 "-v SACK/TS" "exit $rc"; fi
"$SYNFIN" drill -v pass-ecn-marks.pkt >"$out" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q "< SEW 0:0(0) win 65535 <mss 1000>$" "$out" &&
   grep -q "< \[ect0\] .  1:1(0) ack 1 win 65535$" "$out" &&
   grep -q "< \[ce\] P. 1:11(10) ack 1 win 65535$" "$out" &&
   grep -q "< \[ect1\] P. 11:21(10) ack 1 win 65535$" "$out"
then report 1 "-v: inbound ECN marks"; else report 0 "-v ECN marks" "exit $rc"; fi
# Outbound mismatches show both lists / both marks.
"$SYNFIN" drill fail-options-order.pkt >"$out" 2>&1
if grep -q "^  expected: S. 0:0(0) ack 1 <mss 1460,nop,wscale 7> at" "$out" &&
   grep -q "^  actual:   S. 0:0(0) ack 1 win 65535 <mss 1460> at" "$out"
then report 1 "option mismatch shows both lists"; else report 0 "option mismatch lists" "see output"; fi
"$SYNFIN" drill fail-ecn-outbound.pkt >"$out" 2>&1
if grep -q "^  expected: \[ect0\] S. 0:0(0) ack 1 <mss 1460> at" "$out" &&
   grep -q "^  actual:   \[noecn\] S. 0:0(0) ack 1 win 65535 <mss 1460> at" "$out"
then report 1 "ECN mismatch shows both marks"; else report 0 "ECN mismatch marks" "see output"; fi

# The runner's unit checks of its option builder, option and ECN matching
# and TS/SACK numbering on hand-made datagrams (the stack sends no TS,
# SACK or ECN marks yet).
"$SYNFIN" drill --self-test >"$out" 2>&1; rc=$?
if [ $rc -eq 0 ] && ! grep -q "^not ok" "$out" && grep -qE "^drill self-test: [0-9]+ passed, 0 failed$" "$out"
then report 1 "--self-test ($(grep -c '^ok' "$out") checks)"; else report 0 "--self-test" "exit $rc"; fi

echo "drill-selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
