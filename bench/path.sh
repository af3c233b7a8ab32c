#!/usr/bin/env bash
# bench/path.sh: the path grid (issue 10): goodput of one bulk transfer in
# each direction at once, for synfin (two stacks in the simulator), Linux
# (two kernels in namespaces across `synfin relay`) and Linux against
# synfin on TUN across the same relay. Root (namespaces, TUN devices);
# without root only the synfin column runs. A benchmark: it asserts nothing.
# Env: PATH_MB (each way per cell, default 4; a 100 Mbit/s cell at least
# PATH_BDPS bandwidth-delay products, default 100), PATH_CAP (seconds per
# run, default 20), PATH_RUNS (runs per cell and column, the table shows
# the median and min-max; default 3), SYNFIN (default: builds
# build/bench/synfin).
set -eu
cd "$(dirname "$0")/.."
if [ -z "${SYNFIN:-}" ]; then
  make -j2 all BUILD=build/bench >/dev/null
  SYNFIN=build/bench/synfin
fi
echo "# $(uname -r), $(nproc) CPUs, $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
exec "$SYNFIN" bench --only path --path-mb "${PATH_MB:-4}" --path-cap "${PATH_CAP:-20}" \
  --path-runs "${PATH_RUNS:-3}" --path-bdps "${PATH_BDPS:-100}"
