#!/usr/bin/env bash
# Builds each fuzz/fuzz_*.c with libFuzzer + ASan + UBSan and runs it for
# FUZZ_SECONDS (default 20) from its kept corpus fuzz/corpus/NAME (every
# input there is replayed first, so a crash found once stays a failure).
# A crash fails the run; turn the crash input into a corpus file and, for a
# rule, a unit or drill test. docs/testing.md has the whole story.
#
#   FUZZ_SECONDS=N  seconds of fuzzing per fuzzer (after the replay)
#   FUZZ_ONLY="timeline twostack"  only these (names without fuzz_)
#   FUZZ_MERGE=1    after the run, add the inputs that found new edges
#                   to fuzz/corpus/NAME (libFuzzer -merge=1 -use_counters=0:
#                   only inputs reaching code the kept corpus does not),
#                   at most FUZZ_MAX_LEN bytes each (default 4096)
#   FUZZ_NICE=N     run the fuzzers under nice -n N (default 0)
#   FUZZ_TIMEOUT=S  one input running longer fails the run (default 60)
#   FUZZ_JOBS=N     fuzzers running at once (default 2, CI's cores)
# A fuzzer needs only the core (src/base, wire, tcp, stack); one that needs
# more names it on a line of its own: "fuzz-sources: src/link/sim.c ...";
# libFuzzer flags of its own likewise: "fuzz-flags: -len_control=0".
# Each run prints the CPU seconds it took (user + system).
set -euo pipefail
BUILD=${BUILD:-build/fuzz}
SECS=${FUZZ_SECONDS:-20}
MAXLEN=${FUZZ_MAX_LEN:-4096}
# One input taking longer is a failure (libFuzzer's default is 20 minutes):
# fuzz_twostack's ACK storm took 96 s for one input and passed.
TIMEOUT=${FUZZ_TIMEOUT:-60}
JOBS=${FUZZ_JOBS:-2}
NICE=${FUZZ_NICE:-0}
mkdir -p "$BUILD/obj"
CFLAGS=(-std=c11 -g -O1 -D_GNU_SOURCE -Iinclude -Isrc -Itools/synfin -Itools
        -fsanitize=address,undefined -fno-sanitize-recover=all)

# The core once into objects (with coverage), then each fuzzer links them.
compile() { # src -> obj, skipped when the object is newer than the source
  # and every header (a header change rebuilds everything)
  local src=$1 obj=$BUILD/obj/$(echo "$1" | tr / _).o
  if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ "$BUILD/obj/.headers" -nt "$obj" ]; then
    clang "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
  echo "$obj"
}
newest=$(ls -t include/synfin/*.h src/*/*.h fuzz/*.h | head -1)
[ -e "$BUILD/obj/.headers" ] && [ ! "$newest" -nt "$BUILD/obj/.headers" ] || touch "$BUILD/obj/.headers"
CORE_OBJ=()
for s in src/base/*.c src/wire/*.c src/tcp/*.c src/stack/*.c; do
  CORE_OBJ+=("$(compile "$s")")
done

# Every fuzzer is built first, one after the other (they share objects),
# then run FUZZ_JOBS at a time, each report printed whole, in name order.
names=()
for f in fuzz/fuzz_*.c; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .c)
  short=${name#fuzz_}
  if [ -n "${FUZZ_ONLY:-}" ] && ! [[ " $FUZZ_ONLY " == *" $short "* ]]; then
    continue
  fi
  extra=()
  for s in $(sed -n 's/.*fuzz-sources: *\([^*]*\).*/\1/p' "$f"); do
    extra+=("$(compile "$s")")
  done
  clang "${CFLAGS[@]}" -fsanitize=fuzzer "$f" "${CORE_OBJ[@]}" ${extra[@]+"${extra[@]}"} -o "$BUILD/$name"
  names+=("$name")
done

run_one() { # NAME: its report to $BUILD/NAME.report; $BUILD/NAME.ok if it passed
  local name=$1 short=${1#fuzz_} f=fuzz/$1.c ok=1
  local flags more_seeds bin="$BUILD/$1" work="$BUILD/corpus-$1" seeds="fuzz/corpus/$short"
  flags=$(sed -n 's/.*fuzz-flags: *\([^*]*\).*/\1/p' "$f")
  # read-only seed folders of the repository's own (each read recursively
  # with the kept corpus; nothing is written there): "fuzz-seeds: tests/drill"
  more_seeds=$(sed -n 's/.*fuzz-seeds: *\([^*]*\).*/\1/p' "$f")
  mkdir -p "$work" "$seeds"
  {
    echo "fuzz: $name for ${SECS}s (kept corpus: $(ls "$seeds" | wc -l) inputs)"
    if /usr/bin/time -f "%U %S" -o "$BUILD/$name.cpu" nice -n "$NICE" \
         "$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -max_len="$MAXLEN" -timeout="$TIMEOUT" \
         -artifact_prefix="$BUILD/$name-" -print_final_stats=1 $flags \
         "$work" "$seeds" $more_seeds >"$BUILD/$name.log" 2>&1; then
      grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$BUILD/$name.log" | tail -1 || true
      grep -E 'stat::number_of_executed_units' "$BUILD/$name.log" || true
    else
      ok=0; echo "FAIL $name"; tail -40 "$BUILD/$name.log"
    fi
    tail -1 "$BUILD/$name.cpu" | awk -v n="$name" '{printf "fuzz: %s CPU %.0f s\n", n, $1 + $2}' || true
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
      local before; before=$(ls "$seeds" | wc -l)
      nice -n "$NICE" "$bin" -merge=1 -use_counters=0 -max_len="$MAXLEN" -rss_limit_mb=2048 \
        "$seeds" "$work" >"$BUILD/$name.merge.log" 2>&1 || { echo "merge failed: $BUILD/$name.merge.log"; ok=0; }
      echo "fuzz: $name corpus $before -> $(ls "$seeds" | wc -l) inputs, $(cat "$seeds"/* | wc -c) bytes"
    fi
  } >"$BUILD/$name.report" 2>&1
  [ $ok = 1 ] && touch "$BUILD/$name.ok"
  return 0
}

for name in ${names[@]+"${names[@]}"}; do
  rm -f "$BUILD/$name.ok" "$BUILD/$name.report"
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  run_one "$name" &
done
wait
passed=0; failed=0
for name in ${names[@]+"${names[@]}"}; do
  cat "$BUILD/$name.report"
  if [ -e "$BUILD/$name.ok" ]; then passed=$((passed+1)); else failed=$((failed+1)); fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
