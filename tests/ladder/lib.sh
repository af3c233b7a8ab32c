# Shared by tests/sim/run.sh and tests/ladder/run.sh: counters, the tools
# the tests need (installed through scripts/deps.sh, never skipped), and a
# check that this synfin was built with libpcap.
passed=0; failed=0
ok()    { passed=$((passed+1)); echo "ok - $1"; }
notok() { failed=$((failed+1)); echo "not ok - $1"; [ -f "$tmp/err" ] && sed 's/^/    /' "$tmp/err" | tail -5; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

need_tools() { # tools...
  local missing=0
  for t in "$@"; do command -v "$t" >/dev/null || missing=1; done
  if [ $missing = 1 ]; then
    echo "# installing test tools with scripts/deps.sh"
    scripts/deps.sh >&2 || true
    for t in "$@"; do
      command -v "$t" >/dev/null || { echo "Bail out! $t is missing and scripts/deps.sh could not install it"; exit 1; }
    done
  fi
}

# tshark reads FILE with no malformed packets and no bad checksums.
tshark_clean() {
  [ -s "$1" ] && tshark -r "$1" >/dev/null 2>"$tmp/err" &&
  [ -z "$(tshark -r "$1" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
       -Y 'tcp.checksum.status == "Bad" || ip.checksum.status == "Bad" || _ws.malformed' 2>>"$tmp/err")" ]
}
