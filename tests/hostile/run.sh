#!/usr/bin/env bash
# The drill scripts of the hostile-input checklist (tests/hostile/*.pkt,
# tests/hostile/README.md) over IPv4, over IPv6 and as an AF_INET6 socket
# on an IPv4 wire, as scripts/run-tests.sh runs tests/drill. (The C cases,
# tests/hostile/test_*.c, run as test binaries of the suite.) Exits
# non-zero if any script fails in any of the three.
set -u
SYNFIN=${SYNFIN:-build/synfin}
dir=$(dirname "$0")
rc=0
for v in ipv4 ipv6 ipv4-mapped-ipv6; do
  echo "== --ip_version=$v"
  "$SYNFIN" drill --ip_version=$v "$dir"/*.pkt || rc=1
done
exit $rc
