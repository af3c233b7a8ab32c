#!/usr/bin/env bash
# Runs every test of one build: the C test binaries given as arguments
# (tests/unit and tests/system), the drill scripts (with the
# transition-coverage table), the drill runner's own tests, and any
# tests/*/run.sh suites. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
SYNFIN="$BUILD/synfin"
passed=0; failed=0; failures=()
run() { # name, command...
  local name=$1; shift
  if "$@" >"$BUILD/last-test.log" 2>&1; then
    passed=$((passed+1)); echo "PASS $name"
  else
    failed=$((failed+1)); failures+=("$name"); echo "FAIL $name"
    sed 's/^/    /' "$BUILD/last-test.log" | tail -40
  fi
}
# (a binary $BUILD/tests/unit/test_x is named unit/test_x, one in
# $BUILD/tests/system/ system/test_x)
for t in "$@"; do run "$(basename "$(dirname "$t")")/$(basename "$t")" "$t"; done
if [ -d tests/drill ] && ls tests/drill/*/*.pkt >/dev/null 2>&1; then
  run "drill (all scripts, coverage)" "$SYNFIN" drill --coverage tests/drill/*/*.pkt
  # show the coverage table and per-script results even when it passes
  sed 's/^/    /' "$BUILD/last-test.log" | tail -80
fi
for s in tests/*/run.sh; do
  [ -x "$s" ] || continue
  run "$(dirname "$s")" env SYNFIN="$SYNFIN" BUILD="$BUILD" "$s"
done
echo
echo "suite ($BUILD): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
