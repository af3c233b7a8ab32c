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

# The events a page carries: its JSON, or a long run's gzipped (base64)
page_events() { node -e '
  const fs = require("fs"), zlib = require("zlib");
  const page = fs.readFileSync(process.argv[1], "utf8");
  const z = page.match(/<script type="text\/plain" id="lab-data-z">([^<]*)<\/script>/);
  const j = page.match(/<script type="application\/json" id="lab-data">([\s\S]*?)<\/script>/);
  process.stdout.write(z && z[1].trim() ? zlib.gunzipSync(Buffer.from(z[1], "base64")) : j[1]);' "$1"; }
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
# the same JSON in the page as --json writes (less the '<' escaping)
"$SYNFIN" sim lifecycle --quiet --json "$OUT/lifecycle.json" >/dev/null
node -e '
  const fs = require("fs");
  const page = fs.readFileSync(process.argv[1], "utf8");
  const m = page.match(/<script type="application\/json" id="lab-data">([\s\S]*?)<\/script>/);
  const a = JSON.stringify(JSON.parse(m[1])), b = JSON.stringify(JSON.parse(fs.readFileSync(process.argv[2], "utf8")));
  process.exit(a === b ? 0 : 1);' "$OUT/lifecycle.html" "$OUT/lifecycle.json" &&
  ok "the page embeds the run's --json events" || bad "the page embeds the run's --json events"
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
if "$SYNFIN" ladder "$OUT/c.pcap" --quiet --html "$OUT/capture.html" >/dev/null && grep -q '"state"' "$OUT/capture.html"; then
  ok "ladder CAPTURE --html: $(stat -c %s "$OUT/capture.html") bytes"; else bad "ladder CAPTURE --html"; fi
printf 'not a capture' > "$OUT/junk.pcap"
if "$SYNFIN" ladder "$OUT/junk.pcap" --html "$OUT/junk.html" >/dev/null 2>"$OUT/err"; then bad "ladder junk --html"; else
  ok "ladder of a non-capture refused: $(head -1 "$OUT/err")"; fi

# a damaged page (its events cut short): the page must say so
sed 's/"event":"sent"/"event":"sent/' "$OUT/lifecycle.html" > "$OUT/damaged.html"

# 100,000 events: a long bulk run
"$SYNFIN" sim bulk --bytes 27M --quiet --html "$OUT/big.html" >/dev/null
echo "page sizes: lifecycle $(stat -c %s "$OUT/lifecycle.html") bytes, 100k-event bulk $(stat -c %s "$OUT/big.html") bytes"
# a long run's events are gzipped in the page, and are the --json events
"$SYNFIN" sim bulk --quiet --json "$OUT/bulk.json" >/dev/null
if grep -q '<script type="application/json" id="lab-data"></script>' "$OUT/bulk.html" &&
   [ "$(page_events "$OUT/bulk.html" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s))))')" = \
     "$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1]))))' "$OUT/bulk.json")" ]; then
  ok "bulk page: its events gzipped ($(stat -c %s "$OUT/bulk.html") bytes; JSON $(stat -c %s "$OUT/bulk.json")), the --json events"
else bad "bulk page: gzipped events"; fi

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "SKIP browser tests: chromium is not installed (scripts/deps.sh installs Debian's chromium)"
else
  if timeout 600 node tests/lab/browser.js "$CHROMIUM" "$OUT"; then ok "browser"; else bad "browser"; fi
fi
echo "lab: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
