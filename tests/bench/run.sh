#!/usr/bin/env bash
# Smoke test of `synfin bench`: a quick run ends with exit 0, prints the
# table, writes JSON that parses and has a number for every synfin cell.
# Speed is never asserted. Prints "N passed, N failed".
set -u
SYNFIN=${SYNFIN:-build/synfin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
ok()    { passed=$((passed+1)); echo "ok - $1"; }
notok() { failed=$((failed+1)); echo "not ok - $1"; sed 's/^/    /' "$tmp/err" 2>/dev/null | tail -5; }

if "$SYNFIN" bench --quick --json "$tmp/b.json" >"$tmp/out" 2>"$tmp/err"; then
  ok "bench --quick exits 0"
else
  notok "bench --quick exits 0"
fi
if grep -q '^graceful lifecycles/s' "$tmp/out" && grep -q 'synfin/Linux' "$tmp/out"; then
  ok "table printed"
else
  notok "table printed"
fi
if python3 - "$tmp/b.json" <<'PY' 2>"$tmp/err"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
for k in ("graceful", "abort", "graceful_full", "abort_full", "bulk",
          "mem_estab", "mem_syn", "mem_tw"):
    v = r[k]["synfin"]
    if v is None and k.startswith("mem_") and "mallinfo2" in d["notes"]["synfin"]:
        continue  # sanitizer builds replace malloc: no heap figures
    assert isinstance(v, (int, float)) and v > 0, (k, v)
assert set(d["notes"]) == {"synfin", "Linux", "lwIP"}
PY
then ok "JSON parses, every synfin cell is a positive number (memory: or says why not)"
else notok "JSON parses, every synfin cell is a positive number (memory: or says why not)"; fi

"$SYNFIN" bench --only nosuch >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 2 ]; then ok "bad option exits 2"; else notok "bad option exits 2"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
