// The TCP lab in a real browser (headless Chromium over the DevTools
// pipe): loads the pages tests/lab/run.sh wrote, steps with the keyboard,
// drops a segment and checks the re-run differs as it should, switches to
// Chinese, takes screenshots and checks they have content, and times the
// redraw of a 100,000-event page against the frame budget.
// Usage: node browser.js CHROMIUM DIR (DIR holds the pages; screenshots go there)
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, openPage, pngStats } = require('./cdp');

const [chromium, dir] = process.argv.slice(2);
// The frame budget (lab.js's header): a cursor move redraws in one 60 Hz
// frame; a full re-render of the plots (new run, zoom, resize) aims at
// 250 ms (about 100 ms on an idle machine) and is held to 1 s here: a
// loaded 2-core CI machine measured 385 ms; a freeze is seconds.
const MOVE_BUDGET_MS = 16, FULL_BUDGET_MS = 1000;
// The load budget (docs/lab.md): a 100,000-event page shows its ladder,
// diagrams and text within 1.5 s of the navigation's start (lab.loadMs.shown)
// and its plots soon after (ready). Held to twice that here, best of three
// loads (the machine is shared); the JSON.parse of old took 3.4-8.6 s.
const LOAD_BUDGET_MS = 1500, LOAD_BOUND_MS = 2 * LOAD_BUDGET_MS;
let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log(`PASS ${name}${detail ? ': ' + detail : ''}`); }
  else { failed++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
}
const url = (f) => 'file://' + path.resolve(dir, f);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(p, cond, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await p.evaluate(cond);
    if (v || Date.now() > end) return v;
    await sleep(100);
  }
}
async function shot(p, name) {
  const png = await p.screenshot();
  fs.writeFileSync(path.join(dir, name), png);
  const st = pngStats(png);
  check(`screenshot ${name} has content`, st.colours >= 8 && st.notBackground > st.width * st.height * 0.03,
    `${st.width}x${st.height}, ${st.colours} colours, ${st.notBackground} pixels not background`);
}

// In Chinese every word the page shows is Chinese: each event selected in
// turn, the page's text (less the language menu's "English") and the
// ladder's rows go through tests/sim/zh_words.py, the command line's check.
const { spawnSync } = require('child_process');
const SCENARIO_NAMES = ['lifecycle', 'simultaneous-open', 'simultaneous-close', 'lost-final-ack', 'half-close',
  'abort', 'refused', 'syn-retransmit', 'old-duplicate-syn', 'self-connect', 'keepalive', 'syn-flood', 'bulk', 'zero-window', 'many'];
async function zhCheck(p, what) {
  await p.evaluate(`lab.setLang('zh')`);
  const text = await p.evaluate(`(() => { const out = [];
    const n = Math.min(lab.n, 400);
    for (let i = 0; i < n; i++) { lab.setCur(i); out.push(lab.rowText(i)); out.push(document.body.innerText.replace('English', '')); }
    return out.join('\\n'); })()`);
  const r = spawnSync('python3', [path.join(__dirname, '../sim/zh_words.py'), ...SCENARIO_NAMES], { input: text, encoding: 'utf8' });
  check(`Chinese page (${what}): no English word`, r.status === 0 && /[\u4e00-\u9fff]/.test(text), (r.stdout || r.stderr || '').trim().split('\n').slice(0, 6).join(' | '));
  await p.evaluate(`lab.setLang('en')`);
}

(async () => {
  const b = launch(chromium);
  try {
    /* ---- the default scenario: steps, states, language, a dropped segment */
    const p = await openPage(b, url('lifecycle.html'));
    const n0 = await p.evaluate('lab.n');
    check('page loads its events', n0 > 20, `${n0} events`);
    check('the page has the WebAssembly stack', await p.evaluate('lab.hasWasm'));
    // SRTT (RFC 6298) plotted per side: the largest value drawn is the
    // largest the run's events carry for that side, and the line is there
    const srtt = await p.evaluate(`(() => { const want = [0, 0];
      for (let i = 0; i < lab.n; i++) { const e = lab.event(i); if (!e.tcp || e.event === 'state') continue;
        want[e.from] = Math.max(want[e.from], e.tcp.srtt_us / 1000); }
      return { want, got: lab.srttPlot() }; })()`);
    check('SRTT plotted for each side', srtt.want.every((w, k) => w > 0 && srtt.got[k] && srtt.got[k].max === w && srtt.got[k].px > 20),
      JSON.stringify(srtt));
    await p.evaluate('document.getElementById("ladder-scroll").focus()');
    await p.key('ArrowRight', 'ArrowRight', 39);
    await p.key('ArrowRight', 'ArrowRight', 39);
    await p.key('ArrowRight', 'ArrowRight', 39);
    await p.key('ArrowLeft', 'ArrowLeft', 37);
    check('arrow keys step forward and back', await p.evaluate('lab.cur') === 2, `cursor ${await p.evaluate('lab.cur')}`);
    await p.key('n', 'KeyN', 78);
    const ev = await p.evaluate('lab.event(lab.cur)');
    check('n jumps to the next state change', ev.event === 'state', `${ev.event} ${ev.from_state}->${ev.to_state}`);
    // the diagram lights the state the event entered, and draws its transition
    const lit = await p.evaluate(`[...document.querySelectorAll('#fsm${ev.host} .st.on text')].map(t => t.textContent).join()`);
    check('state diagram lights the current state', lit.includes(ev.to_state), lit);
    const lastEdge = await p.evaluate(`document.querySelectorAll('#fsm${ev.host} .ed.last').length`);
    check('state diagram draws the last transition', lastEdge >= 1);
    for (let i = 0; i < 5; i++) await p.key('n', 'KeyN', 78);
    const estab = await p.evaluate('[lab.stateOf(0), lab.stateOf(1)]');
    check('both state machines follow the cursor', estab.every((s) => s), estab.join(' '));
    // explanation, then Chinese
    const en = await p.evaluate('document.getElementById("ev-explain").textContent');
    check('the selected event is explained in English', /[a-z]{3,}/.test(en), en.slice(0, 80));
    await p.key('l', 'KeyL', 76);
    const zh = await p.evaluate('document.getElementById("ev-explain").textContent');
    const zhUi = await p.evaluate('document.getElementById("b-next").textContent');
    check('l switches to Chinese', await p.evaluate('lab.lang') === 'zh' && /[\u4e00-\u9fff]/.test(zh) && /[\u4e00-\u9fff]/.test(zhUi), zh.slice(0, 40));
    await shot(p, 'lab-lifecycle-zh.png');
    await p.key('l', 'KeyL', 76);
    await zhCheck(p, 'lifecycle');
    // drop a data segment from the client: the re-run loses it and retransmits
    const dataSeg = await p.evaluate(`(() => { for (let i = 0; i < lab.n; i++) { const e = lab.event(i);
      if (e.event === 'sent' && e.from === 0 && e.len > 0) return { i, dgram: e.dgram, seq: e.seq }; } })()`);
    check('a data segment to drop', dataSeg && dataSeg.dgram > 0, JSON.stringify(dataSeg));
    await p.evaluate(`lab.setCur(${dataSeg.i})`);
    const btn = await p.evaluate(`[...document.querySelectorAll('#ev-actions button')].map(b => b.dataset.pick).join()`);
    check('a segment offers drop, delay and duplicate', btn === '--drop,--hold,--dup-dgram', btn);
    await p.evaluate(`document.querySelector('#ev-actions button[data-pick="--drop"]').click()`);
    const msg = await until(p, `/ran: synfin sim/.test(document.getElementById('rerun-msg').textContent) && document.getElementById('rerun-msg').textContent`);
    check('the re-run ran', !!msg, msg || await p.evaluate(`document.getElementById('rerun-msg').textContent`));
    const after = await p.evaluate(`(() => { let lost = null, resent = 0, n = lab.n;
      for (let i = 0; i < n; i++) { const e = lab.event(i);
        if (e.dgram === ${dataSeg.dgram} && e.event === 'lost') lost = e;
        if (e.event === 'sent' && e.from === 0 && e.seq === ${dataSeg.seq} && e.len > 0) resent++; }
      return { n, lost: lost && lost.reason, resent }; })()`);
    check('the re-run lost that datagram and sent its bytes again', after.lost === 'FILTER' && after.resent >= 1 && after.n !== n0,
      JSON.stringify(after) + ` (was ${n0} events)`);
    await shot(p, 'lab-lifecycle-drop.png');
    await zhCheck(p, 'lifecycle with a datagram dropped');
    // an option out of range typed into the page: a message, the run kept
    await p.evaluate(`document.getElementById('rerun-box').open = true; document.getElementById('f-mtu').value = '50'; document.getElementById('b-run').click()`);
    const bad = await until(p, `document.getElementById('rerun-msg').className === 'bad' && document.getElementById('rerun-msg').textContent`, 5000);
    check('an out-of-range option says so', !!bad && (await p.evaluate('lab.n')) === after.n, bad);
    await p.evaluate(`document.getElementById('f-mtu').value = '1500'; document.getElementById('f-picks').value = '--drop x'; document.getElementById('b-run').click()`);
    const bad2 = await until(p, `/--drop/.test(document.getElementById('rerun-msg').textContent) && document.getElementById('rerun-msg').textContent`, 5000);
    check('a bad --drop typed into the page: the simulator\'s message', !!bad2, bad2);
    // exercises: each one runs its scenario, has an event that answers it, checks it
    await p.evaluate(`document.getElementById('ex-box').open = true`);
    const nEx = await p.evaluate('lab.exercises');
    for (let k = 0; k < nEx; k++) {
      await p.evaluate(`lab.exDone = false; document.getElementById('ex-sel').value = '${k}'; document.getElementById('ex-start').click()`);
      await until(p, `!document.getElementById('ex-check').disabled && /ran|^$/.test(document.getElementById('rerun-msg').textContent) && lab.cur === 0`, 20000);
      await sleep(50);
      const ans = await p.evaluate(`(() => { for (let i = 0; i < lab.n; i++) if (lab.exerciseOk(${k}, i)) return i; return -1; })()`);
      await p.evaluate(`lab.setCur(0); document.getElementById('ex-check').click()`);
      const wrong = await p.evaluate(`lab.lastAnswer === false && document.getElementById('ex-result').className === 'bad'`);
      if (ans >= 0) await p.evaluate(`lab.setCur(${ans}); document.getElementById('ex-check').click()`);
      const right = ans >= 0 && await p.evaluate(`lab.lastAnswer === true && document.getElementById('ex-result').className === 'good'`);
      const q = await p.evaluate(`document.getElementById('ex-q').textContent`);
      check(`exercise ${k + 1} answerable and checked`, wrong && right, `answer at event ${ans}: ${q.slice(0, 70)}`);
      const id = await p.evaluate(`lab.exerciseIds[${k}]`);
      if (['lostack', 'zerowindow', 'synflood', 'synbackoff', 'fastretx'].includes(id)) await zhCheck(p, `exercise ${id}`);
    }
    await p.key('l', 'KeyL', 76);
    const zhEx = await p.evaluate(`document.getElementById('ex-q').textContent + document.getElementById('ex-result').textContent`);
    const zhWords = await p.evaluate(`[...document.querySelectorAll('[data-t]')].map(e => e.textContent).join('|')`);
    check('Chinese: the exercise and every labelled control', /[\u4e00-\u9fff]/.test(zhEx) && !/[A-Za-z]{3,}/.test(zhWords.replace(/MTU|MSS/g, '')), zhWords.slice(0, 120));
    await shot(p, 'lab-exercise-zh.png');
    await p.key('l', 'KeyL', 76);
    // play runs the cursor forward
    await p.evaluate('lab.setCur(0); document.getElementById("speed").value = "100"; document.getElementById("b-play").click()');
    await sleep(400);
    await p.evaluate('document.getElementById("b-play").click()');
    check('play moves the cursor', (await p.evaluate('lab.cur')) > 5, `cursor ${await p.evaluate('lab.cur')}`);
    check('no console errors (lifecycle page)', p.problems.length === 0, p.problems.join(' | '));

    /* ---- a capture: no re-run, says so */
    const c = await openPage(b, url('capture.html'));
    check('capture page loads', (await c.evaluate('lab.n')) > 10 && !(await c.evaluate('lab.hasWasm')));
    check('capture page says it cannot re-run', /capture/.test(await c.evaluate(`document.getElementById('rerun-msg').textContent`)));
    check('no console errors (capture page)', c.problems.length === 0, c.problems.join(' | '));

    /* ---- 100,000 events */
    let g = null, lm = null;
    for (let k = 0; k < 3 && !(lm && lm.shown < LOAD_BUDGET_MS); k++) {
      if (g) await b.send('Target.closeTarget', { targetId: g.targetId });
      g = await openPage(b, url('big.html'));
      const m = await g.evaluate('lab.loadMs');
      console.log(`big page load ${k + 1} (ms): ${JSON.stringify(m, (key, v) => (typeof v === 'number' ? Math.round(v) : v))}`);
      if (!lm || m.shown < lm.shown) lm = m;
    }
    const loadMs = lm.shown;
    const nBig = await g.evaluate('lab.n');
    check('big page has 100,000 events or more', nBig >= 100000, `${nBig} events`);
    check(`big page shown under ${LOAD_BOUND_MS} ms (budget ${LOAD_BUDGET_MS})`, lm.shown < LOAD_BOUND_MS,
      `shown at ${Math.round(lm.shown)} ms, plots ready at ${Math.round(lm.ready)} ms (events inflated ${Math.round(lm.inflate)}, decoded ${Math.round(lm.decode)}, views prepared ${Math.round(lm.prep)})`);
    await g.evaluate('lab.timeRedraw(5)'); // warm up
    let tm = await g.evaluate('lab.timeRedraw(200)');
    // A loaded machine only adds time: over budget, measure twice more and
    // keep each figure's best (a slow redraw is slow every time).
    for (let i = 0; i < 2 && (tm.perMove >= MOVE_BUDGET_MS || tm.fullRender >= FULL_BUDGET_MS); i++) {
      const t2 = await g.evaluate('lab.timeRedraw(200)');
      tm = { perMove: Math.min(tm.perMove, t2.perMove), fullRender: Math.min(tm.fullRender, t2.fullRender) };
    }
    console.log('parts (ms):', JSON.stringify(await g.evaluate('lab.timeParts()')));
    check(`cursor move under ${MOVE_BUDGET_MS} ms at ${nBig} events`, tm.perMove < MOVE_BUDGET_MS, `${tm.perMove.toFixed(2)} ms per move (mean of 200)`);
    check(`full plot re-render under ${FULL_BUDGET_MS} ms`, tm.fullRender < FULL_BUDGET_MS, `${tm.fullRender.toFixed(1)} ms`);
    await g.evaluate('lab.setCur(Math.floor(lab.n / 2))');
    await g.key('+', 'Equal', 187);
    await g.key('+', 'Equal', 187);
    await shot(g, 'lab-bulk.png');
    check('no console errors (big page)', g.problems.length === 0, g.problems.join(' | '));
    console.log(`TIMING events=${nBig} shown_ms=${Math.round(loadMs)} ready_ms=${Math.round(lm.ready)} move_ms=${tm.perMove.toFixed(2)} full_ms=${tm.fullRender.toFixed(1)}`);
  } catch (e) {
    check('browser run', false, e.stack);
  } finally {
    await b.close();
  }
  /* ---- bad input: a browser without WebAssembly, a page whose events are damaged */
  const b2 = launch(chromium);
  try {
    // as a browser without WebAssembly: the global removed before the page runs
    const p = await openPage(b2, url('lifecycle.html'), { initScript: 'delete globalThis.WebAssembly;' });
    const st = await p.evaluate(`[typeof WebAssembly, lab.n, lab.hasWasm, document.getElementById('rerun-msg').textContent, document.getElementById('b-run').disabled]`);
    check('without WebAssembly: the recorded run shows, re-runs say they are unavailable',
      st[0] === 'undefined' && st[1] > 20 && !st[2] && /WebAssembly/.test(st[3]) && st[4], JSON.stringify(st));
    check('no console errors (no WebAssembly)', p.problems.length === 0, p.problems.join(' | '));
    const d = await openPage(b2, url('damaged.html'));
    const f = await d.evaluate(`[document.getElementById('fatal').hidden, document.getElementById('fatal').textContent]`);
    check('damaged events: a clear message, not a blank page', !f[0] && /events cannot be read.*cut short/.test(f[1]), f[1].slice(0, 120));
  } catch (e) {
    check('browser run (bad input)', false, e.stack);
  } finally {
    await b2.close();
  }
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
