#!/usr/bin/env bash
# `make unit`: runs C test binaries of one build ($BUILD/tests/unit/,
# system/, hostile/ and attack/). Each argument is a binary's path, or
# NAME[:CASE,CASE...]: NAME is a test file's name with or without test_
# (wire, test_wire), or DIR/NAME (unit/, system/, hostile/, attack/); the CASEs go to the binary
# as its arguments (a case's name or a part of names, or --list). Each
# binary prints its own "FILE: N passed, N failed"; the exit status is
# non-zero if any binary failed, 2 if a NAME names no test.
set -u
BUILD=${BUILD:-build}
rc=0
for spec in "$@"; do
  args=()
  if [ -f "$spec" ] && [ -x "$spec" ]; then
    bin=$spec
  else
    name=${spec%%:*}
    if [ "$name" != "$spec" ]; then IFS=, read -ra args <<<"${spec#*:}"; fi
    dirs="unit system hostile attack"
    case $name in unit/* | system/* | hostile/* | attack/*) dirs=${name%%/*}; name=${name#*/} ;; esac
    name=${name#test_}
    bin=
    for d in $dirs; do
      if [ -f "tests/$d/test_$name.c" ]; then bin=$BUILD/tests/$d/test_$name; break; fi
    done
    if [ -z "$bin" ]; then
      echo "run-unit: no test named '${spec%%:*}'; the C tests are:" >&2
      for f in tests/unit/test_*.c tests/system/test_*.c tests/hostile/test_*.c tests/attack/test_*.c; do
        [ -f "$f" ] && echo "  $(basename "$(dirname "$f")")/$(basename "$f" .c | sed 's/^test_//')" >&2
      done
      exit 2
    fi
  fi
  "$bin" "${args[@]}"
  r=$?
  [ "$r" -ne 0 ] && rc=$r
done
exit "$rc"
