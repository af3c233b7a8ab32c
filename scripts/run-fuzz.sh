#!/usr/bin/env bash
# Builds each fuzz/fuzz_*.c with libFuzzer + ASan + UBSan and runs it for
# FUZZ_SECONDS (default 20) from its seed corpus fuzz/corpus/NAME. A crash
# fails the run; turn the crash input into a unit test.
set -euo pipefail
BUILD=${BUILD:-build/fuzz}
SECS=${FUZZ_SECONDS:-20}
mkdir -p "$BUILD"
CORE_SRC=$(ls src/base/*.c src/wire/*.c src/tcp/*.c src/stack/*.c 2>/dev/null || true)
passed=0; failed=0
for f in fuzz/fuzz_*.c; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .c)
  bin="$BUILD/$name"
  clang -std=c11 -g -O1 -D_GNU_SOURCE -Iinclude -Isrc -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=all "$f" $CORE_SRC -o "$bin"
  work="$BUILD/corpus-$name"; mkdir -p "$work"
  seeds="fuzz/corpus/${name#fuzz_}"
  echo "fuzz: $name for ${SECS}s"
  if "$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -artifact_prefix="$BUILD/$name-" \
       "$work" ${seeds:+$( [ -d "$seeds" ] && echo "$seeds")} >"$BUILD/$name.log" 2>&1; then
    passed=$((passed+1)); tail -1 "$BUILD/$name.log"
  else
    failed=$((failed+1)); echo "FAIL $name"; tail -40 "$BUILD/$name.log"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
