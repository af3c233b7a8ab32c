#!/usr/bin/env bash
# The TCP lab (docs/lab.md): `synfin sim --html` and `synfin ladder --html`
# write self-contained pages; the WebAssembly build of the simulator gives
# the native command's bytes (wasm_eq.js, in node); headless Chromium
# drives the pages (browser.js). Called by scripts/run-tests.sh with
# SYNFIN and BUILD; the browser part is skipped, saying so, only when
# Chromium is not installed (scripts/deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SYNFIN=${SYNFIN:-$BUILD/synfin}
OUT="$BUILD/lab-test"
rm -rf "$OUT"
mkdir -p "$OUT"
passed=0; failed=0
ok()  { passed=$((passed+1)); echo "PASS $*"; }
bad() { failed=$((failed+1)); echo "FAIL $*"; }

# The WebAssembly stack; if the synfin under test was linked before it
# existed, `make lab-wasm` relinks it with the module embedded (under
# `make test`, MAKEFLAGS carries the build's variables: SAN, CC).
if ! command -v node >/dev/null; then bad "node is needed (scripts/deps.sh)"; exit 1; fi
WASM="$BUILD/lab/synfin-lab.wasm"
make -s "$WASM" BUILD="$BUILD" >"$OUT/make.log" 2>&1 || { cat "$OUT/make.log"; bad "make $WASM"; exit 1; }
has_wasm() { "$SYNFIN" sim --quiet --html "$OUT/probe.html" >/dev/null &&
             ! grep -q '<script type="text/plain" id="lab-wasm"></script>' "$OUT/probe.html"; }
if ! has_wasm; then
  make -s lab-wasm BUILD="$BUILD" >"$OUT/make.log" 2>&1 || { cat "$OUT/make.log"; bad "make lab-wasm"; exit 1; }
  has_wasm || { bad "synfin sim --html embeds no WebAssembly after make lab-wasm"; exit 1; }
fi

# byte for byte: the page's re-run equals the command line's run
if node tests/lab/wasm_eq.js "$SYNFIN" "$WASM"; then ok "wasm run equals synfin sim --json"; else bad "wasm run equals synfin sim --json"; fi

# The events a page carries, decoded as the page decodes them (lab.js's
# labUnpack over tools/synfin/lab/pack.c's bytes), as one JSON array
page_events() { node tests/lab/unpack.js "$1"; }
# a JSON file (or stdin: -) as one canonical line
canon() { node -e 'const fs = require("fs"); console.log(JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1] === "-" ? 0 : process.argv[1], "utf8"))))' "$1"; }
# the pages: every scenario writes one, each with its JSON and the module
for sc in $("$SYNFIN" sim --list | awk '/^[a-z]/ {print $1}'); do
  [ "$sc" = many ] && continue
  "$SYNFIN" sim "$sc" --quiet --html "$OUT/$sc.html" >/dev/null || true
  page_events "$OUT/$sc.html" >"$OUT/$sc.events" 2>/dev/null || true
  if [ -s "$OUT/$sc.html" ] && grep -q '"dgram"' "$OUT/$sc.events" &&
     ! grep -q '@@[A-Z]*@@' "$OUT/$sc.html" && ! grep -qiE '<script[^>]+src=|<link[^>]|<img|<iframe|@import|url\(http|fetch\(|XMLHttpRequest' "$OUT/$sc.html"; then
    ok "sim $sc --html: $(stat -c %s "$OUT/$sc.html") bytes, self-contained"
  else
    bad "sim $sc --html"
  fi
done
# the page's events, decoded, are the events --json writes
"$SYNFIN" sim lifecycle --quiet --json "$OUT/lifecycle.json" >/dev/null
if [ "$(page_events "$OUT/lifecycle.html" | canon -)" = "$(canon "$OUT/lifecycle.json")" ] &&
   [ "$(grep -c '"event"' "$OUT/lifecycle.json")" -gt 20 ]; then
  ok "the page's events, decoded, are the run's --json events ($(stat -c %s "$OUT/lifecycle.json") bytes of JSON)"
else bad "the page's events, decoded, are the run's --json events"; fi
# bad input: an output that cannot be made, many (no trace), a bad --drop
if "$SYNFIN" sim --html /nonexistent/dir/x.html >/dev/null 2>"$OUT/err"; then bad "--html unwritable"; else
  grep -q -- '--html' "$OUT/err" && ok "--html to an unwritable path: $(cat "$OUT/err")" || bad "--html message"; fi
if "$SYNFIN" sim many --html "$OUT/m.html" >/dev/null 2>"$OUT/err"; then bad "many --html"; else ok "many --html refused: $(cat "$OUT/err")"; fi
if "$SYNFIN" sim --drop 0 >/dev/null 2>"$OUT/err"; then bad "--drop 0"; else ok "--drop 0 refused: $(cat "$OUT/err")"; fi

# the page's per-datagram impairments, from the command line
"$SYNFIN" sim lifecycle --quiet --json "$OUT/p0.json" >/dev/null
"$SYNFIN" sim lifecycle --quiet --drop 4 --hold 2:150 --dup-dgram 1 --json "$OUT/p1.json" >/dev/null 2>&1 || true  # the server sees the SYN twice: its check fails
if node -e '
  const fs = require("fs");
  const a = JSON.parse(fs.readFileSync(process.argv[1])), b = JSON.parse(fs.readFileSync(process.argv[2]));
  const d = (e, n) => e.filter((x) => x.dgram === n && (x.event === "sent" || x.event === "lost"));
  const why = [];
  const l4 = d(b, 4)[0];
  if (!l4 || l4.event !== "lost" || l4.reason !== "FILTER") why.push("--drop 4 did not lose datagram 4");
  const a2 = d(a, 2)[0], b2 = d(b, 2)[0];
  if (!b2 || b2.arrive_ns - b2.t_ns !== a2.arrive_ns - a2.t_ns + 150e6) why.push("--hold 2:150 did not add 150 ms");
  // the copy is datagram 1 again, a duplicate (not an injected old one),
  // and the numbers after it are those of the run without it
  const b1 = d(b, 1), copy = b1[1];
  if (b1.length !== 2 || copy.t_ns !== b1[0].t_ns || copy.seq !== b1[0].seq || !copy.network.includes("duplicate") ||
      copy.network.includes("injected")) why.push("--dup-dgram 1: not one copy of datagram 1 marked duplicate");
  if (why.length) { console.log(why.join("; ")); process.exit(1); }' "$OUT/p0.json" "$OUT/p1.json"
then ok "--drop, --hold, --dup-dgram act on the numbered datagram"; else bad "--drop, --hold, --dup-dgram"; fi

# a capture: synfin ladder --html
"$SYNFIN" sim lost-final-ack --quiet --pcap "$OUT/c.pcap" >/dev/null
if "$SYNFIN" ladder "$OUT/c.pcap" --quiet --html "$OUT/capture.html" >/dev/null && page_events "$OUT/capture.html" | grep -q '"event":"state"'; then
  ok "ladder CAPTURE --html: $(stat -c %s "$OUT/capture.html") bytes"; else bad "ladder CAPTURE --html"; fi
printf 'not a capture' > "$OUT/junk.pcap"
if "$SYNFIN" ladder "$OUT/junk.pcap" --html "$OUT/junk.html" >/dev/null 2>"$OUT/err"; then bad "ladder junk --html"; else
  ok "ladder of a non-capture refused: $(head -1 "$OUT/err")"; fi

# a damaged page (its events cut short): the page must say so; and the
# decoder refuses such bytes in node too
node -e '
  const fs = require("fs");
  const page = fs.readFileSync(process.argv[1], "utf8");
  fs.writeFileSync(process.argv[2], page.replace(/(<script type="text\/plain" id="lab-data">)([^<]*)/, (m, a, b) => a + b.slice(0, (b.length >> 3) * 4)));' \
  "$OUT/lifecycle.html" "$OUT/damaged.html"
if node tests/lab/unpack.js "$OUT/damaged.html" >/dev/null 2>"$OUT/err"; then bad "cut-short events decoded"; else
  grep -q 'cut short' "$OUT/err" && ok "cut-short events refused: $(grep -o '^Error: packed events.*' "$OUT/err" | head -1)" || bad "cut-short events: $(head -3 "$OUT/err")"; fi

# 100,000 events: a long bulk run
"$SYNFIN" sim bulk --bytes 27M --quiet --html "$OUT/big.html" >/dev/null
echo "page sizes: lifecycle $(stat -c %s "$OUT/lifecycle.html") bytes, 100k-event bulk $(stat -c %s "$OUT/big.html") bytes"
# a long run's events are gzipped in the page, and decoded are the --json events
"$SYNFIN" sim bulk --quiet --json "$OUT/bulk.json" >/dev/null
if grep -q '<script type="text/plain" id="lab-data">H4sI' "$OUT/bulk.html" &&
   [ "$(page_events "$OUT/bulk.html" | canon -)" = "$(canon "$OUT/bulk.json")" ]; then
  ok "bulk page: its events packed and gzipped ($(stat -c %s "$OUT/bulk.html") bytes; JSON $(stat -c %s "$OUT/bulk.json")), decoded the --json events"
else bad "bulk page: gzipped events"; fi

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "SKIP browser tests: chromium is not installed (scripts/deps.sh installs Debian's chromium)"
else
  # the browsers' profiles go under $OUT/tmp, which must be empty after
  mkdir -p "$OUT/tmp"
  if TMPDIR="$OUT/tmp" timeout 600 node tests/lab/browser.js "$CHROMIUM" "$OUT"; then ok "browser"; else bad "browser"; fi
  left=$(find "$OUT/tmp" -mindepth 1 -maxdepth 1 | wc -l)
  if [ "$left" -eq 0 ]; then ok "the browsers' profile directories removed"; else bad "$left profile directories left in $OUT/tmp"; fi
fi
echo "lab: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
