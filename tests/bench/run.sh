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
if grep -q '^graceful lifecycles/s' "$tmp/out" && grep -q 'synfin/Linux' "$tmp/out" &&
   grep -q '^graceful lifecycles/s, IPv6 ' "$tmp/out" && grep -q '^bulk MB/s, IPv6 ' "$tmp/out"; then
  ok "table printed (IPv6 rows too)"
else
  notok "table printed (IPv6 rows too)"
fi
if python3 - "$tmp/b.json" <<'PY' 2>"$tmp/err"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
for k in ("graceful", "abort", "graceful_full", "abort_full", "bulk",
          "mem_estab", "mem_syn", "mem_tw", "graceful6", "abort6", "bulk6"):
    v = r[k]["synfin"]
    if v is None and k.startswith("mem_") and "mallinfo2" in d["notes"]["synfin"]:
        continue  # sanitizer builds replace malloc: no heap figures
    assert isinstance(v, (int, float)) and v > 0, (k, v)
assert set(d["notes"]) == {"synfin", "Linux", "lwIP"}
# the IPv6 rows: lwIP's back end is IPv4 only; Linux's (root) has them
for k in ("graceful6", "abort6", "bulk6"):
    assert r[k]["lwIP"] is None, (k, r[k]["lwIP"])
    if "skipped" not in d["notes"]["Linux"]:
        assert isinstance(r[k]["Linux"], (int, float)) and r[k]["Linux"] > 0, (k, r[k])
PY
then ok "JSON parses, every synfin cell is a positive number (memory: or says why not)"
else notok "JSON parses, every synfin cell is a positive number (memory: or says why not)"; fi

"$SYNFIN" bench --only nosuch >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 2 ]; then ok "bad option exits 2"; else notok "bad option exits 2"; fi
"$SYNFIN" bench --pacing 2 >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 2 ] && grep -q "bad value '2' for --pacing: give a number from 0 to 1" "$tmp/err"; then
  ok "a bad value names the value, the option and the range"
else notok "a bad value names the value, the option and the range"; fi

# The path grid (synfin relay between namespaces for the Linux and TUN
# columns): two cells of 256 KB each way, each run 3 times per column
# (the default), a row of medians and a min-max row under it. Every cell
# must have a number in each column that can run here (Linux and TUN
# need root); no speed asserted.
if "$SYNFIN" bench --only path --quick >"$tmp/out" 2>"$tmp/err"; then
  ok "bench --only path --quick exits 0"
else
  notok "bench --only path --quick exits 0"
fi
if python3 - "$tmp/out" "$(id -u)" "$tmp/err" <<'PY' 2>"$tmp/err2"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
root = sys.argv[2] == "0"
assert "median of 3 runs" in open(sys.argv[1]).read(), "no run count"
assert "2 cells, 3 runs each" in open(sys.argv[3]).read(), "no run count on stderr"
i = next(k for k, l in enumerate(lines) if l.startswith("path ") and "synfin/cubic" in l)
rows = lines[i + 1:i + 5:2]
ranges = lines[i + 2:i + 6:2]
assert len(rows) == 2 and all(r.startswith("rtt ") for r in rows), rows
num = lambda s: float(s.rstrip("*"))
for r, m in zip(rows, ranges):
    cols = re.split(r"\s{2,}", r.strip())
    # synfin, Linux cubic, ratio, TUN, ratio, and (when the namespace's
    # default congestion control is another) Linux default and ratio
    assert len(cols) in (6, 8), cols
    # the min-max row: the same columns without the ratios
    rng = re.split(r"\s{2,}", m.strip())
    assert rng[0] == "min-max of 3" and len(rng) == (4 if len(cols) == 6 else 5), (m, rng)
    for k, v in zip((1, 2, 4, 6), rng[1:]):
        if cols[k] == "n/a":
            assert v == "-", (cols[k], v)
            continue
        lo, hi = (num(x) for x in v.split("-"))
        # the median lies in it (the range has 3-4 digits: rounding)
        assert 0 < lo and lo * 0.995 <= num(cols[k]) <= hi * 1.005, (cols[k], v)
    assert num(cols[1]) > 0, r          # synfin (simulator)
    if root:
        assert num(cols[2]) > 0, r      # Linux cubic across the relay
        assert num(cols[4]) > 0, r      # TUN
        assert cols[3].endswith("x") and cols[5].endswith("x"), r
        if len(cols) == 8:
            assert num(cols[6]) > 0 and cols[7].endswith("x"), r
    else:
        assert cols[2] == "n/a", r
PY
then ok "path table: median of 3 runs and min-max in every column (Linux and TUN: as root)"
else notok "path table: median of 3 runs and min-max in every column (Linux and TUN: as root)"; cat "$tmp/err2"; sed 's/^/    /' "$tmp/out" | tail -8; fi

# --path-runs 1: one run, no min-max row; a bad count names the range.
if "$SYNFIN" bench --only path --quick --path-runs 1 --backends synfin >"$tmp/out" 2>"$tmp/err" &&
   grep -q "median of 1 run " "$tmp/out" && ! grep -q "min-max of" "$tmp/out"; then
  ok "--path-runs 1: one run, no min-max row"
else notok "--path-runs 1: one run, no min-max row"; fi
"$SYNFIN" bench --only path --path-runs 0 >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 2 ] && grep -q "bad value '0' for --path-runs" "$tmp/err"; then
  ok "--path-runs 0 exits 2 and names the option"
else notok "--path-runs 0 exits 2 and names the option"; fi

# A 100 Mbit/s cell's transfer is --path-bdps BDPs when that is more
# than --path-mb (20 ms: 250 KB a BDP, 40 BDPs = 10 MB), in its label.
if "$SYNFIN" bench --only path --backends synfin --path-runs 1 --path-mb 1 --path-bdps 40 \
     --path-cells "rtt 20 ms, 100M" >"$tmp/out" 2>"$tmp/err" &&
   grep -q "^rtt 20 ms, 100M, 1-BDP queue, 10 MB " "$tmp/out"; then
  ok "a 100M cell's size in BDPs, in its label"
else notok "a 100M cell's size in BDPs, in its label"; sed 's/^/    /' "$tmp/out" | tail -4; fi

# As root, -v adds each real cell's two directions (their times are each
# side's own end: the peer's FIN read), synfin's counters on TUN, the
# kernels' TcpExt counters and each namespace's device drops, and
# --path-pcap writes a capture of synfin's TUN side per cell.
if [ "$(id -u)" = 0 ]; then
  if "$SYNFIN" bench --only path --quick --path-runs 1 -v --path-pcap "$tmp/p.pcap" >"$tmp/out" 2>"$tmp/err" &&
     [ "$(grep -cE ', TUN: A->synfin [0-9.]+ Mbit/s \([0-9.]+ s\), synfin->A [0-9.]+ Mbit/s' "$tmp/err")" = 2 ] &&
     [ "$(grep -cE ', Linux: A->B [0-9.]+ Mbit/s \([0-9.]+ s\), B->A ' "$tmp/err")" -ge 2 ] &&
     [ "$(grep -c '^  TUN, synfin: IP_IN=' "$tmp/err")" = 2 ] &&
     [ "$(grep -c '^  TUN, B, devices: pt rx [0-9]* (drop [0-9]*) tx ' "$tmp/err")" = 2 ] &&
     [ -s "$tmp/p.pcap.1" ] && [ -s "$tmp/p.pcap.2" ]; then
    ok "path -v: each direction's time, synfin's counters, device drops; --path-pcap: one capture a cell"
  else
    notok "path -v: each direction's time, synfin's counters, device drops; --path-pcap: one capture a cell"
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
