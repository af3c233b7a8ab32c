// The events a lab page carries, decoded as the page decodes them
// (lab.js's labUnpack over the packed bytes of tools/synfin/lab/pack.c,
// inflated first when gzipped), written as one JSON array: tests/lab
// compares it with `synfin sim --json` of the same run.
// Usage: node unpack.js PAGE.html
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const { labUnpack } = require('../../tools/synfin/lab/web/lab.js');
const page = fs.readFileSync(process.argv[2], 'utf8');
const m = page.match(/<script type="text\/plain" id="lab-data">([^<]*)<\/script>/);
if (!m) { console.error(`${process.argv[2]}: no lab-data element`); process.exit(1); }
let bytes = Buffer.from(m[1].trim(), 'base64');
if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
const D = labUnpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
const out = [];
for (let i = 0; i < D.n; i++) out.push(JSON.stringify(D.get(i)));
process.stdout.write('[' + out.join(',') + ']\n');
