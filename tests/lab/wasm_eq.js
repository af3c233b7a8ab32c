// The page's re-runs are the real run: for each case, the WebAssembly
// build of `synfin sim` (run through lab.js's own WASI shim) writes the
// same bytes on stdout as the native command, JSON and summary alike, and
// exits the same way. Usage: node wasm_eq.js SYNFIN WASM
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { labWasiRun } = require(path.join(__dirname, '../../tools/synfin/lab/web/lab.js'));

const [synfin, wasmPath] = process.argv.slice(2);
const mod = new WebAssembly.Module(fs.readFileSync(wasmPath));
const cases = [
  ['lifecycle'],
  ['lifecycle', '--seed', '7', '--delay', '3'],
  ['lifecycle', '--drop', '3'],
  ['lifecycle', '--drop', '1,5', '--hold', '4:120', '--dup-dgram', '2'],
  ['lost-final-ack'],
  ['old-duplicate-syn', '--drop', '2'],
  ['simultaneous-close', '--loss', '0.2', '--seed', '3'],
  ['syn-flood'],
  ['keepalive', '--ipv6'],
  ['bulk', '--bytes', '200k', '--loss', '0.02', '--dup', '0.01', '--reorder', '0.01', '--corrupt', '0.01', '--mtu', '600'],
  ['bulk', '--bytes', '300k', '--rcvbuf', '4k', '--sndbuf', '16k'],
  ['refused', '--mtu', '50'],           // out of range: exit 2, the same message
  ['nonesuch'],
];
let passed = 0, failed = 0;
for (const c of cases) {
  const name = c.join(' ');
  let nat, natCode = 0;
  try {
    nat = execFileSync(synfin, ['sim', ...c, '--json', '-', '--quiet', '--no-color'],
      { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  } catch (e) { nat = e.stdout; natCode = e.status; }
  const t0 = Date.now();
  const w = labWasiRun(mod, c);
  const ms = Date.now() - t0;
  const same = Buffer.from(w.out).equals(nat) && w.code === natCode;
  // what the page reads: the JSON array first, whole, then the summary
  // (bulk and syn-flood print a report: it must come after the array)
  let parses = natCode === 2;
  if (!parses) {
    try { parses = JSON.parse(w.out.slice(0, w.out.indexOf('\n]\n') + 3)).length > 0; } catch (e) { parses = false; }
  }
  if (!parses) console.log(`  ${name}: stdout does not start with the whole JSON array`);
  if (same && parses && (natCode !== 0 || w.out.includes('"dgram"'))) {
    passed++;
    console.log(`PASS ${name}: ${nat.length} bytes identical, exit ${natCode} (wasm ${ms} ms)`);
  } else {
    failed++;
    console.log(`FAIL ${name}: native ${nat.length} bytes exit ${natCode}, wasm ${w.out.length} exit ${w.code}: ${w.err.slice(0, 300)}`);
    const a = nat.toString().split('\n'), b = w.out.split('\n');
    for (let i = 0; i < Math.max(a.length, b.length); i++)
      if (a[i] !== b[i]) { console.log(`  line ${i + 1}\n  native: ${a[i]}\n  wasm:   ${b[i]}`); break; }
  }
}
console.log(`wasm_eq: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
