# Shared by tests/t2s/run.sh and tests/t2s/udp.sh: sourced after they set
# LABEL (how a missing tool is reported), S and E (the namespaces), tmp
# (their scratch folder) and, for run.sh, ONLY (a regex of case names).
# T2S_KEEP=1 keeps tmp (the engines' logs) for a look after a failure.
pids=()
passed=0; failed=0
ONLY=${ONLY:-.}

# Kills what the script started, then the namespaces (and whatever still
# runs in them) by name, then tmp: on every exit, failure included.
t2s_cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  ip netns pids "$S" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns pids "$E" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$S" 2>/dev/null; ip netns del "$E" 2>/dev/null
  if [ -n "${T2S_KEEP:-}" ]; then echo "$LABEL: kept $tmp (T2S_KEEP)"; else rm -rf "$tmp"; fi
}
trap t2s_cleanup EXIT

# t2s_need TOOL...: root, /dev/net/tun, the tools and $SYNFIN, or a line
# naming what is missing and a failure: never a pass without running.
t2s_need() {
  local missing=() t
  [ "$(id -u)" -eq 0 ] || missing+=("root (run as root)")
  [ -c /dev/net/tun ] || missing+=("/dev/net/tun (modprobe tun)")
  for t in "$@"; do
    command -v "$t" >/dev/null || missing+=("$t (scripts/deps.sh installs it)")
  done
  [ -x "$SYNFIN" ] || missing+=("synfin binary at $SYNFIN")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "$LABEL: CANNOT RUN: missing: ${missing[*]}"
    echo "0 passed, 1 failed"
    exit 1
  fi
}

ok()    { passed=$((passed+1)); echo "ok - $1"; }
notok() {
  failed=$((failed+1)); echo "not ok - $1"
  for f in "$tmp"/*.log; do [ -s "$f" ] && { echo "    --- $(basename "$f")"; tail -8 "$f" | sed 's/^/    /'; }; done
}
check() { local name=$1; shift; [[ "$name" =~ $ONLY ]] || return 0
  if "$@"; then ok "$name"; else notok "$name"; fi; }
ins() { ip netns exec "$S" "$@"; }
ine() { ip netns exec "$E" "$@"; }
wait_for() { # SECONDS COMMAND...
  local n=$(( $1 * 10 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
