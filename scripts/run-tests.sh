#!/usr/bin/env bash
# Runs every test of one build: the C test binaries given as arguments
# (tests/unit and tests/system), the drill scripts (with the
# transition-coverage table), the drill runner's own tests, and any
# tests/*/run.sh suites. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
SYNFIN="$BUILD/synfin"
passed=0; failed=0; failures=()
run() { # name, command... (each line says how long it took: CI's budget)
  local name=$1; shift
  local t0=$SECONDS
  "$@" >"$BUILD/last-test.log" 2>&1
  said "$name" $? $((SECONDS - t0))
}
said() { # name, exit status, seconds: its line, and its output if it failed
  local name=$1
  if [ "$2" -eq 0 ]; then
    passed=$((passed+1)); echo "PASS $name ($3 s)"
  else
    failed=$((failed+1)); failures+=("$name"); echo "FAIL $name ($3 s)"
    # the failing cases first, with what they printed after them (a long
    # suite's tail may not reach them), then the end of the output
    if grep -q '^not ok' "$BUILD/last-test.log"; then
      grep -A20 '^not ok' "$BUILD/last-test.log" | head -120 | sed 's/^/    /'
      echo "    ... (the end of the output:)"
    fi
    sed 's/^/    /' "$BUILD/last-test.log" | tail -40
  fi
}
# (a binary $BUILD/tests/unit/test_x is named unit/test_x, one in
# $BUILD/tests/system/ system/test_x)
# The C test binaries are CPU-bound and independent (no shared names,
# ports or files): TEST_JOBS (default 2, the cores CI has) run at once,
# each into its own log, their lines then said in order.
jobs_max=${TEST_JOBS:-2}
i=0
for t in "$@"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  ( t0=$SECONDS; "$t" >"$BUILD/last-test.$i.log" 2>&1
    echo "$? $((SECONDS - t0))" >"$BUILD/last-test.$i.rc" ) &
  i=$((i+1))
done
wait
i=0
for t in "$@"; do
  read -r rc secs <"$BUILD/last-test.$i.rc" || { rc=1; secs=0; }
  mv "$BUILD/last-test.$i.log" "$BUILD/last-test.log"; rm -f "$BUILD/last-test.$i.rc"
  said "$(basename "$(dirname "$t")")/$(basename "$t")" "$rc" "$secs"
  i=$((i+1))
done
if [ -d tests/drill ] && ls tests/drill/*/*.pkt >/dev/null 2>&1; then
  run "drill (all scripts, coverage)" "$SYNFIN" drill --coverage tests/drill/*/*.pkt
  # show the coverage table and per-script results even when it passes
  sed 's/^/    /' "$BUILD/last-test.log" | tail -80
  # The same scripts over IPv6 and as an AF_INET6 socket on an IPv4 wire
  # (packetdrill's --ip_version), less those tests/drill/ipv6-exclude.txt
  # names with the reason (IPv4-only rules, each with an IPv6 counterpart).
  # The runner keeps a script's MSS arithmetic over IPv6 (tools/drill/README.md).
  v6=(); stale=()
  while read -r f _; do # a name on the list that is no script is an error
    case $f in ''|'#'*) ;; *) [ -f "$f" ] || stale+=("$f") ;; esac
  done <tests/drill/ipv6-exclude.txt
  [ ${#stale[@]} -eq 0 ] || run "tests/drill/ipv6-exclude.txt names no script: ${stale[*]}" false
  for f in tests/drill/*/*.pkt; do
    grep -q "^$f[[:space:]]" tests/drill/ipv6-exclude.txt || v6+=("$f")
  done
  run "drill over IPv6 (${#v6[@]} scripts)" "$SYNFIN" drill --ip_version=ipv6 "${v6[@]}"
  tail -1 "$BUILD/last-test.log" | sed 's/^/    /'
  run "drill over IPv4-mapped IPv6 (all scripts)" "$SYNFIN" drill --ip_version=ipv4-mapped-ipv6 tests/drill/*/*.pkt
  tail -1 "$BUILD/last-test.log" | sed 's/^/    /'
fi
for s in tests/*/run.sh; do
  [ -x "$s" ] || continue
  run "$(dirname "$s")" env SYNFIN="$SYNFIN" BUILD="$BUILD" "$s"
done
echo
echo "suite ($BUILD): $passed passed, $failed failed in $SECONDS s"
[ "$failed" -eq 0 ]
