// A small DevTools-protocol client for headless Chromium over
// --remote-debugging-pipe (fd 3: commands in, fd 4: answers out, each a
// JSON message ended by a NUL byte): no npm package, no WebSocket. Also a
// PNG reader (node's zlib) to check a screenshot for content.
'use strict';
const { spawn } = require('child_process');
const zlib = require('zlib');

function launch(chromium, { width = 1400, height = 1000 } = {}) {
  const fs = require('fs');
  // the browser's profile: a directory of its own, removed when it exits
  // (and, if this process ends first, when this process does)
  const profile = fs.mkdtempSync(require('os').tmpdir() + '/lab-chromium-');
  const proc = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--no-default-browser-check', '--disable-extensions', '--disable-dev-shm-usage',
    '--remote-debugging-pipe', `--window-size=${width},${height}`,
    '--user-data-dir=' + profile,
    'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const toB = proc.stdio[3], fromB = proc.stdio[4];
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; if (stderr.length > 20000) stderr = stderr.slice(-10000); });
  let nextId = 1;
  const waiting = new Map();
  const listeners = [];
  let buf = Buffer.alloc(0);
  fromB.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    let z;
    while ((z = buf.indexOf(0)) >= 0) {
      const msg = JSON.parse(buf.subarray(0, z).toString());
      buf = buf.subarray(z + 1);
      if (msg.id && waiting.has(msg.id)) {
        const w = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.error) w.reject(new Error(`${w.method}: ${msg.error.message}`));
        else w.resolve(msg.result);
      } else if (msg.method) {
        for (const l of listeners.slice()) l(msg);
      }
    }
  });
  const removeProfile = () => fs.rmSync(profile, { recursive: true, force: true });
  const onExit = () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); removeProfile(); };
  process.on('exit', onExit);
  const exited = new Promise((res) => proc.on('exit', () => { removeProfile(); process.removeListener('exit', onExit); res(); }));
  function send(method, params = {}, sessionId, timeoutMs = 60000) {
    const id = nextId++;
    const m = { id, method, params };
    if (sessionId) m.sessionId = sessionId;
    toB.write(JSON.stringify(m) + '\0');
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { waiting.delete(id); reject(new Error(`${method}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
      waiting.set(id, { method, resolve: (r) => { clearTimeout(t); resolve(r); }, reject: (e) => { clearTimeout(t); reject(e); } });
    });
  }
  function on(fn) { listeners.push(fn); }
  function waitFor(pred, timeoutMs = 60000) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
      const l = (m) => { if (pred(m)) { clearTimeout(t); listeners.splice(listeners.indexOf(l), 1); resolve(m); } };
      listeners.push(l);
    });
  }
  async function close() {
    try { await send('Browser.close', {}, undefined, 5000); } catch (e) { /* gone already */ }
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  return { send, on, waitFor, close, proc, stderr: () => stderr };
}

/* Opens a page in a new tab; returns helpers bound to its session. */
async function openPage(b, url, { initScript } = {}) {
  const { targetId } = await b.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await b.send('Target.attachToTarget', { targetId, flatten: true });
  const s = (m, p, t) => b.send(m, p, sessionId, t);
  const problems = [];
  b.on((m) => {
    if (m.sessionId !== sessionId) return;
    if (m.method === 'Runtime.exceptionThrown')
      problems.push('exception: ' + (m.params.exceptionDetails.exception?.description || m.params.exceptionDetails.text));
    if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'assert'))
      problems.push('console.error: ' + m.params.args.map((a) => a.value ?? a.description).join(' '));
    if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error')
      problems.push('log: ' + m.params.entry.text + (m.params.entry.url ? ' ' + m.params.entry.url : ''));
  });
  await s('Page.enable');
  await s('Runtime.enable');
  await s('Log.enable');
  if (initScript) await s('Page.addScriptToEvaluateOnNewDocument', { source: initScript });
  const loaded = b.waitFor((m) => m.sessionId === sessionId && m.method === 'Page.loadEventFired', 120000);
  await s('Page.navigate', { url }, 120000);
  await loaded;
  async function evaluate(expr, timeoutMs) {
    const r = await s('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true }, timeoutMs);
    if (r.exceptionDetails) throw new Error('evaluate: ' + (r.exceptionDetails.exception?.description || r.exceptionDetails.text));
    return r.result.value;
  }
  async function key(k, code, keyCode) {
    const base = { key: k, code: code || k, windowsVirtualKeyCode: keyCode || 0 };
    await s('Input.dispatchKeyEvent', { type: 'keyDown', ...base, text: k.length === 1 ? k : undefined });
    await s('Input.dispatchKeyEvent', { type: 'keyUp', ...base });
  }
  async function screenshot() {
    const r = await s('Page.captureScreenshot', { format: 'png' }, 120000);
    return Buffer.from(r.data, 'base64');
  }
  // the lab reads its events asynchronously (a long run's are gzipped)
  await evaluate('window.lab && window.lab.ready ? window.lab.ready.then(() => true) : false', 120000);
  return { s, evaluate, key, screenshot, problems, sessionId, targetId };
}

/* A PNG (8-bit greyscale, RGB or RGBA, not interlaced): its size and how
 * many pixels differ from the most common colour, and in how many colours. */
function pngStats(png) {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8, w = 0, h = 0, depth = 0, ctype = 0;
  const idat = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off), type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') { w = data.readUInt32BE(0); h = data.readUInt32BE(4); depth = data[8]; ctype = data[9]; if (data[12]) throw new Error('interlaced PNG'); }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  if (depth !== 8) throw new Error('PNG depth ' + depth);
  const bpp = { 0: 1, 2: 3, 6: 4, 4: 2 }[ctype];
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = w * bpp;
  const img = Buffer.alloc(stride * h);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)], src = y * (stride + 1) + 1;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? img[y * stride + x - bpp] : 0, b = y ? img[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y ? img[(y - 1) * stride + x - bpp] : 0;
      let v = raw[src + x];
      if (f === 1) v += a; else if (f === 2) v += b; else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c); v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      img[y * stride + x] = v & 255;
    }
  }
  const counts = new Map();
  for (let i = 0; i < img.length; i += bpp) {
    const k = img.readUIntBE(i, Math.min(bpp, 3));
    counts.set(k, (counts.get(k) || 0) + 1);
  }
  let top = 0;
  for (const v of counts.values()) if (v > top) top = v;
  return { width: w, height: h, colours: counts.size, notBackground: w * h - top };
}

module.exports = { launch, openPage, pngStats };
