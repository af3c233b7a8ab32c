#!/usr/bin/env bash
# Builds synfin and runs the full benchmark (3 interleaved rounds: synfin,
# Linux, lwIP), writing the table to stdout and bench/results.json.
# Needs root for the Linux back end and liblwip-dev for lwIP
# (scripts/deps.sh installs it). Extra arguments go to `synfin bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/bench}
make -s BUILD="$BUILD" "$BUILD/synfin"
"$BUILD/synfin" bench --json bench/results.json "$@"
