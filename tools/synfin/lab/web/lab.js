/* The TCP lab: plays the events of one run of synfin's simulator (the JSON
 * of `synfin sim --json`, embedded in the page) against one time cursor,
 * and re-runs the real stack compiled to WebAssembly when the page has it.
 * Plain JavaScript, no library, no network. Frame budget: a cursor move
 * (step, play, click) redraws the visible ladder rows, both state
 * diagrams and the plot cursors in under 16 ms at 100,000 events; the
 * plots themselves are drawn once per run, zoom or resize into offscreen
 * canvases (decimated to one column per pixel), never per step. */
'use strict';

/* Runs `synfin sim ARGS --json - --quiet --no-color` in the module: a
 * WASI program, its stdout and stderr into buffers. */
function labWasiRun(wasmModule, args) {
  const argv = ['synfin', 'sim', ...args, '--json', '-', '--quiet', '--no-color'];
  const enc = new TextEncoder();
  const out = [], err = [];
  let mem = null, exitCode = null;
  const view = () => new DataView(mem.buffer);
  class Exit { constructor(c) { this.code = c; } }
  const argBytes = argv.map((a) => enc.encode(a + '\0'));
  const wasi = {
    args_sizes_get(pc, ps) { view().setUint32(pc, argv.length, true); view().setUint32(ps, argBytes.reduce((s, b) => s + b.length, 0), true); return 0; },
    args_get(pv, pb) { const v = view(); let p = pb; argBytes.forEach((b, i) => { v.setUint32(pv + 4 * i, p, true); new Uint8Array(mem.buffer, p, b.length).set(b); p += b.length; }); return 0; },
    environ_sizes_get(pc, ps) { view().setUint32(pc, 0, true); view().setUint32(ps, 0, true); return 0; },
    environ_get() { return 0; },
    fd_write(fd, iovs, n, pw) {
      const v = view(); let tot = 0;
      for (let i = 0; i < n; i++) {
        const p = v.getUint32(iovs + 8 * i, true), l = v.getUint32(iovs + 8 * i + 4, true);
        const chunk = new Uint8Array(mem.buffer, p, l).slice();
        (fd === 1 ? out : err).push(chunk); tot += l;
      }
      v.setUint32(pw, tot, true); return 0;
    },
    fd_close() { return 0; },
    fd_seek() { return 70; }, // ESPIPE
    fd_fdstat_get(fd, p) { const v = view(); v.setUint8(p, fd <= 2 ? 2 : 0); v.setUint16(p + 2, 0, true); v.setBigUint64(p + 8, 0n, true); v.setBigUint64(p + 16, 0n, true); return fd <= 2 ? 0 : 8; },
    fd_prestat_get() { return 8; }, // EBADF: no preopened directories
    fd_prestat_dir_name() { return 8; },
    path_open() { return 76; }, // ENOTCAPABLE
    proc_exit(c) { throw new Exit(c); },
    clock_time_get(id, prec, p) { view().setBigUint64(p, 0n, true); return 0; }, // the core never reads a clock
    random_get(p, n) { new Uint8Array(mem.buffer, p, n).fill(0); return 0; },
  };
  const imports = { wasi_snapshot_preview1: new Proxy(wasi, { get: (o, k) => o[k] || (() => 52) }) }; // ENOSYS
  const inst = new WebAssembly.Instance(wasmModule, imports);
  mem = inst.exports.memory;
  try { inst.exports._start(); exitCode = 0; } catch (x) { if (x instanceof Exit) exitCode = x.code; else throw x; }
  const cat = (chunks) => { const n = chunks.reduce((s, c) => s + c.length, 0), b = new Uint8Array(n); let o = 0; for (const c of chunks) { b.set(c, o); o += c.length; } return new TextDecoder().decode(b); };
  return { code: exitCode, out: cat(out), err: cat(err) };
}

/* The run's events, as the views read them (docs/lab.md, "The events in
 * the page"): n; get(i), event i as the JSON's object (built when first
 * asked for, then kept); col(path), a Float64Array of one field over all
 * events ("tcp.cwnd"; a string as its number in strs, true 1, false 0,
 * absent NaN); has(path), whether each event has the field; bits(path,
 * words), which of words each event's array of strings holds (bit k for
 * words[k]); sid(s), the number of string s (-1: no event has it). */

/* From the page's packed events (tools/synfin/lab/pack.c). Throws an
 * Error naming the byte where the data stops making sense. */
function labUnpack(bytes) {
  let p = 0;
  const len = bytes.length;
  const bad = (what) => { throw new Error(`packed events: ${what} at byte ${p} of ${len}`); };
  const v = () => {
    let x = 0, m = 1, b;
    do { if (p >= len) bad('cut short'); b = bytes[p++]; x += (b & 127) * m; m *= 128; } while (b & 128);
    return x;
  };
  if (len < 4 || String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]) !== 'SFP1') bad('not synfin\'s packed events');
  p = 4;
  const td = new TextDecoder('utf-8', { fatal: true });
  const table = () => {
    const l = v();
    if (p + l > len) bad('cut short');
    let a;
    try { a = JSON.parse(td.decode(bytes.subarray(p, p + l))); } catch (x) { bad('a table is not JSON (' + x.message + ')'); }
    if (!Array.isArray(a)) bad('a table is not a JSON array');
    p += l;
    return a;
  };
  const strs = table();
  const shapes = table().map(labShape);
  const n = v(), nv = v();
  if (n > len || nv > len) bad('more events or values than bytes');
  const shapeOf = new Uint32Array(n), rowOff = new Uint32Array(n + 1);
  const vals = new Float64Array(nv);
  let o = 0;
  const ns = shapes.length, nstr = strs.length, types = shapes.map((sh) => Uint8Array.from(sh.types));
  for (let i = 0; i < n; i++) {
    const s = v();
    if (s >= ns) bad('no such shape');
    shapeOf[i] = s; rowOff[i] = o;
    const ty = types[s], m = ty.length;
    if (o + m > nv) bad('more values than counted');
    for (let k = 0; k < m; k++) {
      let x = 0, mul = 1, b;
      do { if (p >= len) bad('cut short'); b = bytes[p++]; x += (b & 127) * mul; mul *= 128; } while (b & 128);
      if (ty[k] === 0) x = x % 2 ? -(x + 1) / 2 : x / 2;
      else if (x >= nstr) bad('no such string');
      vals[o++] = x;
    }
  }
  rowOff[n] = o;
  if (o !== nv) bad('fewer values than counted');
  if (p !== len) bad('bytes after the last event');
  const cache = new Array(n);
  let sidMap = null;
  // per shape: where path is (slot, type) or its constant
  const where = (path) => shapes.map((sh) => {
    const k = sh.paths.get(path);
    if (k !== undefined) return k;
    return sh.consts.has(path) ? { c: sh.consts.get(path) } : null;
  });
  return {
    n, strs,
    get(i) {
      let e = cache[i];
      if (e === undefined) e = cache[i] = shapes[shapeOf[i]].build(vals, rowOff[i], strs);
      return e;
    },
    col(path) {
      const w = where(path), out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const q = w[shapeOf[i]];
        if (q === null) out[i] = NaN;
        else if (typeof q === 'number') {
          const x = vals[rowOff[i] + q];
          out[i] = shapes[shapeOf[i]].types[q] === 2 ? Number(strs[x]) : x;
        } else out[i] = q.c === true ? 1 : q.c === false ? 0 : typeof q.c === 'number' ? q.c : NaN;
      }
      return out;
    },
    has(path) {
      const h = shapes.map((sh) => sh.all.has(path)), out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = h[shapeOf[i]] ? 1 : 0;
      return out;
    },
    bits(path, words) {
      const bit = new Int32Array(nstr);
      words.forEach((w, k) => { const id = this.sid(w); if (id >= 0) bit[id] |= 1 << k; });
      const slots = shapes.map((sh) => sh.slots.flatMap((s, k) => (s.parent === path && sh.types[k] === 1 ? [k] : [])));
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const sl = slots[shapeOf[i]];
        let b = 0;
        for (let q = 0; q < sl.length; q++) b |= bit[vals[rowOff[i] + sl[q]]];
        out[i] = b;
      }
      return out;
    },
    sid(s) {
      if (!sidMap) { sidMap = new Map(); strs.forEach((x, k) => { if (!sidMap.has(x)) sidMap.set(x, k); }); }
      const k = sidMap.get(s);
      return k === undefined ? -1 : k;
    },
  };
}

/* One shape (pack.c's template): its value slots (path, type 0 integer,
 * 1 string, 2 other number), its constants, every path in it, and a
 * builder of the event's object from the values. */
function labShape(t) {
  const slots = [], types = [], paths = new Map(), consts = new Map(), all = new Set();
  function walk(x, path, parent) {
    if (path) all.add(path);
    if (x === '\u0001n' || x === '\u0001s' || x === '\u0001f') {
      const k = slots.length, ty = x === '\u0001n' ? 0 : x === '\u0001s' ? 1 : 2;
      slots.push({ path, parent }); types.push(ty); paths.set(path, k);
      if (ty === 0) return (V, o) => V[o + k];
      if (ty === 1) return (V, o, S) => S[V[o + k]];
      return (V, o, S) => Number(S[V[o + k]]);
    }
    const sub = (p) => (path ? path + '.' + p : String(p));
    if (Array.isArray(x)) {
      const fs = x.map((y, j) => walk(y, sub(j), path));
      return (V, o, S) => { const a = new Array(fs.length); for (let j = 0; j < fs.length; j++) a[j] = fs[j](V, o, S); return a; };
    }
    if (x !== null && typeof x === 'object') {
      const ks = Object.keys(x), fs = ks.map((key) => walk(x[key], sub(key), path));
      const proto = ks.includes('__proto__'); // an own property, as JSON.parse makes it
      return (V, o, S) => {
        const r = {};
        for (let j = 0; j < ks.length; j++) {
          if (proto && ks[j] === '__proto__') Object.defineProperty(r, ks[j], { value: fs[j](V, o, S), enumerable: true, writable: true, configurable: true });
          else r[ks[j]] = fs[j](V, o, S);
        }
        return r;
      };
    }
    consts.set(path, x);
    return () => x;
  }
  const build = walk(t, '', null);
  return { slots, types, paths, consts, all, build };
}

/* The same interface over events already parsed (a re-run's JSON). */
function labFromObjects(objs) {
  const n = objs.length, strs = [], ids = new Map();
  const intern = (s) => { let k = ids.get(s); if (k === undefined) { k = strs.length; strs.push(s); ids.set(s, k); } return k; };
  const at = (o, parts) => { for (const q of parts) { if (o === null || typeof o !== 'object') return undefined; o = o[q]; } return o; };
  return {
    n, strs,
    get: (i) => objs[i],
    col(path) {
      const parts = path.split('.'), out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const x = at(objs[i], parts);
        out[i] = typeof x === 'number' ? x : typeof x === 'string' ? intern(x) : x === true ? 1 : x === false ? 0 : NaN;
      }
      return out;
    },
    has(path) {
      const parts = path.split('.'), out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = at(objs[i], parts) === undefined ? 0 : 1;
      return out;
    },
    bits(path, words) {
      const parts = path.split('.'), out = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const a = at(objs[i], parts);
        if (Array.isArray(a)) for (let k = 0; k < words.length; k++) if (a.includes(words[k])) out[i] |= 1 << k;
      }
      return out;
    },
    sid: (s) => intern(s),
  };
}

/* node (tests/lab) loads this file for the shim and the events' decoder. */
if (typeof module === 'object' && module.exports) module.exports = { labWasiRun, labUnpack, labFromObjects };

if (typeof document !== 'undefined') (function () {
  const $ = (id) => document.getElementById(id);
  const errors = [];
  function fatal(msg) {
    const f = $('fatal');
    f.textContent = msg;
    f.hidden = false;
  }

  /* ------------------------------------------------------------ words */
  const UI = {
    en: {
      back: 'back', step: 'step', nextstate: 'next state change', play: 'play', pause: 'pause',
      speed: 'speed', lang: 'language', rerun: 'Change the network and run the real stack again',
      scenario: 'scenario', seed: 'seed', delay: 'delay (ms)', loss: 'loss (0..1)',
      mtu: 'MTU (MSS = MTU − 40)', bytes: 'bulk bytes', pause: 'reader pause (ms)', sndbuf: 'send buffer', rcvbuf: 'receive buffer', picks: 'per datagram', run: 'run again',
      ladder: 'Ladder', explain: 'This event', tsg: 'Time-sequence graph',
      cc: 'Congestion control and timers (from the stack, after each segment it sends)',
      event: 'event', of: 'of', time: 'time', ms: 'ms', bytesU: 'B', per: '/s',
      drop: 'drop this datagram and run again', hold: 'delay it 200 ms and run again',
      dup: 'duplicate it and run again',
      running: 'running the stack…', ran: 'ran', events: 'events',
      nowasm: 'Re-runs are unavailable: this browser has no WebAssembly (the recorded run still shows).',
      nomodule: 'Re-runs are unavailable: this page was written without the WebAssembly build (make lab-wasm).',
      capture: 'This page shows a capture: there is no scenario to run again.',
      failed: 'the scenario\'s own check failed (the loss changed what it expects): ',
      badopt: 'the simulator refused this: ', range: 'must be in',
      lost: 'LOST', dupd: 'DUPLICATE', reord: 'REORDERED', corrupt: 'CORRUPTED', retx: 'retransmission',
      arrives: 'arrives at', timer: 'timer fired', dropped: 'dropped by the stack',
      state: 'state', sent: 'sent', datagram: 'datagram',
      dir: (a, b) => `${a} → ${b} data`,
      tsglegend: 'black: segments (vertical: its bytes); red: retransmissions; ✕: lost; green: ACK line (what the sender has seen acknowledged); violet: receive window edge (ack + window); ochre: SACK blocks. Blue line: the cursor.',
      cclegend: 'per side: cwnd (blue), ssthresh (orange, dashed), flight size (black), peer window (violet); lower band (ms): RTO (green) and SRTT (magenta, dashed; from the first RTT measurement, RFC 6298).',
      help: 'Keys: → or j step, ← or k back, n next state change, p previous, space play/pause, Home/End, l language, d drop the selected datagram, + / − zoom the graph.',
      fsm: (h) => `${h}: RFC 9293 Figure 5`,
      none: '(no connection)',
      nodata: 'This run has no events to show.',
      badjson: 'The page\'s events are not readable JSON: ',
      nogzip: 'this browser cannot inflate the page\'s compressed events (DecompressionStream)',
      badevents: 'The page\'s events cannot be read (damaged?): ',
      noseg: 'no segment here',
      retxline: 'A retransmission: these bytes were sent before, and no ACK covered them in time.',
      fastretx: 'A fast retransmission: duplicate ACKs or SACK blocks showed this segment missing, so it is sent again before its retransmission timer fires (RFC 5681 3.2, RFC 6675).',
      wasmfail: 'The WebAssembly module did not start: ',
      exercises: 'Exercises', exercise: 'exercise', exstart: 'start', excheck: 'this is the event',
      exright: '✓ Right.', exwrong: '✗ Not this one. ', exneed: 'This exercise runs its own scenario: it needs re-runs (WebAssembly).',
      exsteps: 'Step (→, n) to the event the question asks for, then press “this is the event”.',
    },
    zh: {
      back: '后退', step: '前进', nextstate: '下一个状态变化', play: '播放', pause: '暂停',
      speed: '速度', lang: '语言', rerun: '修改网络，重新运行真实的协议栈',
      scenario: '场景', seed: '随机种子', delay: '时延（毫秒）', loss: '丢包率（0..1）',
      mtu: 'MTU（MSS = MTU − 40）', bytes: '批量字节数', pause: '读取暂停（毫秒）', sndbuf: '发送缓冲区', rcvbuf: '接收缓冲区', picks: '单个数据报', run: '重新运行',
      ladder: '梯形图', explain: '当前事件', tsg: '时间-序号图',
      cc: '拥塞控制与定时器（协议栈每发送一个报文段后的值）',
      event: '事件', of: '/', time: '时间', ms: '毫秒', bytesU: '字节', per: '/秒',
      drop: '丢弃这个数据报并重新运行', hold: '延迟它 200 毫秒并重新运行',
      dup: '复制它并重新运行',
      running: '正在运行协议栈……', ran: '已运行', events: '个事件',
      nowasm: '无法重新运行：此浏览器不支持 WebAssembly（仍可查看已记录的运行）。',
      nomodule: '无法重新运行：生成本页面时没有 WebAssembly 版本（make lab-wasm）。',
      capture: '本页面显示的是抓包文件：没有可以重新运行的场景。',
      failed: '场景自身的检查未通过（丢包改变了它预期的过程）：',
      badopt: '模拟器拒绝了这个参数：', range: '取值范围',
      lost: '丢失', dupd: '重复', reord: '乱序', corrupt: '损坏', retx: '重传',
      arrives: '到达', timer: '定时器到期', dropped: '被协议栈丢弃',
      state: '状态', sent: '发送', datagram: '数据报',
      dir: (a, b) => `${a} → ${b} 的数据`,
      tsglegend: '黑色：报文段（竖线为其字节范围）；红色：重传；✕：丢失；绿色：ACK 线（发送方已收到的确认）；紫色：接收窗口右沿（ack + 窗口）；赭色：SACK 块。蓝线：光标。',
      cclegend: '每一端：cwnd（蓝）、ssthresh（橙，虚线）、在途数据量（黑）、对端窗口（紫）；下方（毫秒）：RTO（绿）与平滑往返时间 SRTT（品红，虚线；自第一次往返时间测量起，RFC 6298）。',
      help: '按键：→ 或 j 前进，← 或 k 后退，n 下一个状态变化，p 上一个，空格 播放/暂停，Home/End，l 切换语言，d 丢弃所选数据报，+ / − 缩放图。',
      fsm: (h) => `${h === 'client' ? '客户端' : h === 'server' ? '服务器' : '主机'}：RFC 9293 图 5`,
      none: '（无连接）',
      nodata: '这次运行没有可显示的事件。',
      badjson: '页面中的事件不是有效的 JSON：',
      nogzip: '此浏览器无法解压页面中压缩的事件（DecompressionStream）',
      badevents: '无法读取页面中的事件（已损坏？）：',
      noseg: '这里没有报文段',
      retxline: '这是一次重传：这些字节之前发送过，但没有及时得到确认。',
      fastretx: '快速重传：重复的 ACK 或 SACK 块表明这个报文段丢失了，所以在重传定时器到期之前就重发它（RFC 5681 3.2，RFC 6675）。',
      wasmfail: 'WebAssembly 模块无法启动：',
      exercises: '练习', exercise: '练习', exstart: '开始', excheck: '就是这个事件',
      exright: '✓ 正确。', exwrong: '✗ 不是这个。', exneed: '这个练习要运行它自己的场景：需要重新运行（WebAssembly）。',
      exsteps: '用 →、n 逐步前进到题目所问的事件，然后按“就是这个事件”。',
    },
  };
  const HOSTZH = { client: '客户端', server: '服务器', host: '主机' };
  // the Chinese words come from ladder/text.c (the page's texts), as
  // `synfin sim --lang zh` prints them; persist says what it is for
  const TIMERZH = (t) => (t === 'persist' ? '坚持（零窗口探测）' : (texts.timers_zh || {})[t] || t);
  const dropWord = (name) => (lang === 'zh' ? (texts.drops_zh || {})[name] || name : name);
  const noteWord = (n) => (lang === 'zh' ? (texts.notes_zh || {})[n] || n : n);
  const causeWord = (c) => (lang === 'zh' ? (texts.causes_zh || {})[c] || c : (texts.causes[c] || c));
  // Figure 5's edge labels, in Chinese (the state names stay as the RFC writes them)
  const EDGEZH = {
    'passive OPEN': '被动打开', 'active OPEN / snd SYN': '主动打开 / 发 SYN',
    'rcv SYN / snd SYN,ACK': '收 SYN / 发 SYN,ACK', 'SEND / snd SYN': 'SEND / 发 SYN', 'rcv RST': '收 RST',
    'rcv ACK of SYN': '收到 SYN 的 ACK', 'rcv SYN,ACK / snd ACK': '收 SYN,ACK / 发 ACK',
    'CLOSE / snd FIN': 'CLOSE / 发 FIN', 'rcv FIN / snd ACK': '收 FIN / 发 ACK', 'rcv ACK of FIN': '收到 FIN 的 ACK',
    'Timeout=2MSL': '超时 = 2MSL', CLOSE: 'CLOSE',
  };
  let lang = 'en';
  const T = (k) => UI[lang][k];
  const hostWord = (h) => (lang === 'zh' ? HOSTZH[h] || h : h);

  /* ----------------------------------------------------------- the data */
  const texts = JSON.parse($('lab-texts').textContent);
  let baseArgs = JSON.parse($('lab-args').textContent).split('\x1f').filter((a) => a.length);
  let run = null; // the run shown: events and what is derived from them
  let cur = 0;

  function u32(x) { return x >>> 0; }

  /* Everything the views need, computed once per run, from the events'
   * columns (D: labUnpack or labFromObjects): no event object is built. */
  const KEYS = ['SYN', 'SYNACK', 'HS_ACK', 'DATA', 'ACK', 'FIN', 'FIN_ACK', 'RST', 'RST_REFUSED', 'RST_OLD', 'OLD'];
  const K = {};
  KEYS.forEach((k, q) => { K[k] = q; });
  function prep(D) {
    const n = D.n;
    const evc = D.col('event'), host = D.col('host'), hname = D.col('host_name'), T = D.col('t_ns'), arr = D.col('arrive_ns');
    const remote = D.col('remote'), toSt = D.col('to_state'), valid = D.col('valid'), from = D.col('from');
    const seq = D.col('seq'), ack = D.col('ack'), len = D.col('len'), wsc = D.col('win_scaled'), timer = D.col('timer');
    const hasFlags = D.has('flags'), hasTcp = D.has('tcp'), hasSack = D.has('options.sack');
    const FSYN = 1, FACK = 2, FFIN = 4, FRST = 8;
    const fl = D.bits('flags', ['SYN', 'ACK', 'FIN', 'RST']);
    const NINJ = 1, NDUP = 2;
    const nw = D.bits('network', ['injected', 'duplicate']);
    const E = { sent: D.sid('sent'), lost: D.sid('lost'), state: D.sid('state'), timer: D.sid('timer'), note: D.sid('note'),
      drop: D.sid('drop'), delivered: D.sid('delivered'), retransmit: D.sid('retransmit') };
    let nh = 1;
    const names = ['host', ''];
    for (let i = 0; i < n; i++) {
      const h = host[i];
      if (h >= 0 && h < 2) {
        if (h + 1 > nh) nh = h + 1;
        if (hname[i] >= 0 && D.strs[hname[i]]) names[h] = D.strs[hname[i]];
      }
    }
    const st = [new Int8Array(n), new Int8Array(n)];
    const lastTr = [new Int32Array(n), new Int32Array(n)];
    const STATES = ['CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RCVD', 'ESTABLISHED', 'FIN_WAIT_1',
      'FIN_WAIT_2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'];
    const sidx = {};
    STATES.forEach((x, q) => { sidx[x] = q; });
    const stOf = new Map(), listener = new Map(); // by string number
    const stateNo = (id) => { let q = stOf.get(id); if (q === undefined) { q = sidx[D.strs[id]] ?? 0; stOf.set(id, q); } return q; };
    const isListener = (id) => { let q = listener.get(id); if (q === undefined) { q = id >= 0 && String(D.strs[id]).endsWith(':0'); listener.set(id, q); } return q; };
    const stateIdx = [];
    const cs = [0, 0], lt = [-1, -1];
    const isn = [null, null];
    const maxEnd = [0, 0];
    const retx = new Uint8Array(n);
    // explainer memory (ladder/model.c's endpoint): ISN seen, SYN,ACK got, handshake acked, FIN
    const ep = [{}, {}];
    const exKey = new Int8Array(n).fill(-1);
    const seg = [[], []]; // by sender: indices of sent/lost events
    const ackIn = [[], []]; // by data sender: ACK segments reaching it
    const cc = [[], []];
    let tEnd = 0;
    let haveDelivered = false;
    for (let i = 0; i < n; i++) if (evc[i] === E.delivered) { haveDelivered = true; break; }
    for (let i = 0; i < n; i++) {
      const ev = evc[i];
      const h = host[i] === 1 ? 1 : 0;
      // the plots span the segments (not a TIME_WAIT's idle minute after them)
      if (ev !== E.state && ev !== E.timer && ev !== E.note && ev !== E.drop) {
        if (T[i] > tEnd) tEnd = T[i];
        if (arr[i] > tEnd) tEnd = arr[i]; // NaN (absent) is not
      }
      if (ev === E.state && !isListener(remote[i])) {
        cs[h] = stateNo(toSt[i]);
        lt[h] = i;
        stateIdx.push(i);
      } else if (ev === E.state) {
        // a listener: drawn, lit while it is the only thing this side has
        if (cs[h] === 0 || cs[h] === 1) { cs[h] = stateNo(toSt[i]); lt[h] = i; stateIdx.push(i); }
      }
      st[0][i] = cs[0]; st[1][i] = cs[1];
      lastTr[0][i] = lt[0]; lastTr[1][i] = lt[1];
      if ((ev === E.sent || ev === E.lost) && valid[i] !== 0 && hasFlags[i]) {
        const s = from[i] === 1 ? 1 : 0;
        const d = nh === 1 ? 0 : 1 - s;
        const f = fl[i];
        const syn = !!(f & FSYN), fin = !!(f & FFIN), rst = !!(f & FRST);
        const isAck = !!(f & FACK);
        const inj = !!(nw[i] & NINJ);
        if (syn && !inj && (!isAck || isn[s] === null)) isn[s] = seq[i];
        if (isn[s] === null) isn[s] = seq[i];
        const rel = u32(seq[i] - isn[s]);
        const end = rel + len[i] + (syn ? 1 : 0) + (fin ? 1 : 0);
        const dup = !!(nw[i] & NDUP);
        if (!dup && end > rel && end <= maxEnd[s] && !syn) retx[i] = 1;
        if (!dup && end > maxEnd[s]) maxEnd[s] = end;
        if (!dup) seg[s].push(i);
        // which teaching line (ladder/model.c explain_seg)
        const src = ep[s], dst = ep[d];
        let k;
        if (inj) k = K.OLD;
        else if (rst && !src.hasIsn && isAck) k = K.RST_REFUSED;
        else if (rst && src.gotSynack && !src.hsAcked) k = K.RST_OLD;
        else if (rst) k = K.RST;
        else if (syn && isAck) k = K.SYNACK;
        else if (syn) k = K.SYN;
        else if (fin) k = K.FIN;
        else if (len[i]) k = K.DATA;
        else if (dst.finSent && ack[i] === u32(dst.finSeq + 1)) k = K.FIN_ACK;
        else if (src.gotSynack && !src.hsAcked) k = K.HS_ACK;
        else k = K.ACK;
        exKey[i] = k;
        if (!inj) {
          if (syn) src.hasIsn = true;
          if (syn && isAck) dst.gotSynack = true;
          if (k === K.HS_ACK) src.hsAcked = true;
          if (fin) { src.finSent = true; src.finSeq = u32(seq[i] + len[i]); }
        }
        if (hasTcp[i]) cc[s].push(i);
        if (!haveDelivered && isAck && ev === E.sent) ackIn[d].push(i);
      }
      if (ev === E.delivered && valid[i] !== 0 && hasFlags[i] && (fl[i] & FACK)) {
        ackIn[h].push(i);
      }
    }
    // the plots' series as typed arrays (fast to scan at 100,000 events)
    const tc = {};
    for (const f of ['cwnd', 'ssthresh', 'flight', 'snd_wnd', 'rto_us', 'srtt_us']) tc[f] = D.col('tcp.' + f);
    const ccA = cc.map((idx) => {
      const m = idx.length, a = { t: new Float64Array(m), cwnd: new Float64Array(m), ssthresh: new Float64Array(m),
        flight: new Float64Array(m), snd_wnd: new Float64Array(m), rto: new Float64Array(m), srtt: new Float64Array(m) };
      idx.forEach((i, q) => {
        a.t[q] = T[i]; a.cwnd[q] = tc.cwnd[i]; a.ssthresh[q] = tc.ssthresh[i]; a.flight[q] = tc.flight[i];
        a.snd_wnd[q] = tc.snd_wnd[i]; a.rto[q] = tc.rto_us[i] / 1000;
        a.srtt[q] = (tc.srtt_us[i] || 0) / 1000; // 0: not measured yet (not drawn)
      });
      return a;
    });
    // the time-sequence graph's, by data sender: segments (time, byte
    // offset from the ISN, length, 1 retransmitted | 2 lost) and the ACKs
    // reaching it (time, ack and window edge as offsets, SACK event)
    const sg = [0, 1].map((s) => {
      const idx = seg[s].filter((i) => valid[i] !== 0), m = idx.length;
      const a = { t: new Float64Array(m), y: new Float64Array(m), len: new Float64Array(m), sp: new Uint8Array(m) };
      idx.forEach((i, q) => {
        a.t[q] = T[i]; a.y[q] = u32(seq[i] - (isn[s] ?? 0)); a.len[q] = len[i];
        a.sp[q] = retx[i] | (evc[i] === E.lost ? 2 : 0);
      });
      return a;
    });
    const ak = [0, 1].map((s) => {
      const idx = ackIn[s].filter((i) => valid[i] !== 0), m = idx.length;
      const a = { t: new Float64Array(m), a: new Float64Array(m), w: new Float64Array(m), sack: new Int32Array(m) };
      idx.forEach((i, q) => {
        a.t[q] = T[i]; a.a[q] = u32(ack[i] - (isn[s] ?? 0)); a.w[q] = wsc[i];
        a.sack[q] = hasSack[i] ? i : -1;
      });
      return a;
    });
    return { D, E: (i) => D.get(i), n, nh, names, st, lastTr, stateIdx, isn, retx, exKey, seg, ackIn, cc, ccA, sg, ak, tEnd, STATES,
      col: { t: T, ev: evc, from, seq, ack, len, host, timer, fl }, id: E };
  }

  /* ---------------------------------------------------------- the ladder */
  const RH = 20;
  const lad = $('ladder'), ladScroll = $('ladder-scroll'), ladSpacer = $('ladder-spacer');
  let ladW = 600, ladH = 400, dpr = 1;
  let plotW = 0;
  let ladTop = 0; // the ladder's scrollTop, kept here: reading it would force a layout

  function fmtT(ns) { return (ns / 1e6).toFixed(3); }
  function relSeq(e, s) { return run.isn[s] === null ? e.seq : u32(e.seq - run.isn[s]); }
  function segLabel(e) {
    if (e.valid === false) return `(${dropWord(e.error)})`;
    const s = e.from === 1 ? 1 : 0, d = run.nh === 1 ? 0 : 1 - s;
    let t = `${e.flags.join(',')} seq=${relSeq(e, s)}`;
    if (e.flags.includes('ACK')) t += ` ack=${run.isn[d] === null ? e.ack : u32(e.ack - run.isn[d])}`;
    t += ` win=${e.win_scaled}`;
    if (e.len) t += ` len=${e.len}`;
    const o = e.options || {};
    const op = [];
    if (o.mss) op.push(`mss ${o.mss}`);
    if (o.wscale !== undefined) op.push(`wscale ${o.wscale}`); // the option names as the command line's ladder writes them
    if (o.sack_ok) op.push('sackOK');
    if (o.ts_val !== undefined) op.push('TS');
    if (o.sack) op.push('sack ' + o.sack.map((b) => `${u32(b[0] - (run.isn[d] ?? 0))}-${u32(b[1] - (run.isn[d] ?? 0))}`).join(' '));
    if (op.length) t += ` <${op.join(',')}>`;
    return t;
  }
  function netMarks(e) {
    const m = [];
    if (e.event === 'lost') m.push('✕ ' + T('lost'));
    if (e.network && e.network.includes('duplicate')) m.push(T('dupd'));
    if (e.network && e.network.includes('reordered')) m.push(T('reord'));
    if (e.network && e.network.includes('corrupted')) m.push(T('corrupt'));
    return m;
  }
  function rowText(i) {
    const e = run.E(i);
    switch (e.event) {
      case 'sent': case 'lost': {
        const m = netMarks(e);
        if (run.retx[i]) m.push(T('retx'));
        return `#${e.dgram ?? '?'} ${segLabel(e)}${m.length ? '  [' + m.join(', ') + ']' : ''}`;
      }
      case 'delivered': return `${T('arrives')} ${hostWord(e.host_name)}: ${e.flags ? e.flags.join(',') : dropWord(e.error)}`;
      case 'state': return `${e.from_state} → ${e.to_state}  (${causeWord(e.cause)})`;
      case 'timer': return `↻ ${lang === 'zh' ? TIMERZH(e.timer) : e.timer} ${T('timer')}`;
      case 'drop': return `✗ ${T('dropped')}: ${lang === 'zh' ? dropWord(e.reason) : e.reason_text || e.reason}`;
      default: return e.text ? noteWord(e.text) : e.event;
    }
  }
  function sizeLadder() {
    dpr = window.devicePixelRatio || 1;
    ladW = ladScroll.clientWidth;
    ladH = ladScroll.clientHeight;
    lad.width = Math.max(1, ladW * dpr);
    lad.height = Math.max(1, ladH * dpr);
    lad.style.width = ladW + 'px';
    lad.style.height = ladH + 'px';
    ladSpacer.style.height = (run ? run.n * RH + RH : 0) + 'px';
    plotW = $('tsg').clientWidth; // read here (load, resize), not per frame
  }
  function drawLadder() {
    const g = lad.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, ladW, ladH);
    if (!run) return;
    const top = ladTop;
    const first = Math.max(0, Math.floor(top / RH) - 1);
    const last = Math.min(run.n, first + Math.ceil(ladH / RH) + 2);
    const x0 = 84, x1 = run.nh === 1 ? x0 + 40 : ladW - 40;
    const colX = [x0, x1];
    g.font = '11px ui-monospace, monospace';
    g.textBaseline = 'middle';
    // lifelines
    g.strokeStyle = '#bbb';
    g.lineWidth = 1;
    for (let c = 0; c < run.nh; c++) { g.beginPath(); g.moveTo(colX[c], 0); g.lineTo(colX[c], ladH); g.stroke(); }
    for (let i = first; i < last; i++) {
      const y = i * RH - top + RH;
      const e = run.E(i);
      if (i === cur) {
        g.fillStyle = '#fff3b0';
        g.fillRect(0, y - RH / 2, ladW, RH);
        g.fillStyle = '#000';
        g.fillText('▶', 2, y);
      }
      g.fillStyle = '#666';
      g.fillText(fmtT(e.t_ns), 12, y);
      const h = e.host === 1 && run.nh > 1 ? 1 : 0;
      const mid = (x0 + x1) / 2;
      if (e.event === 'sent' || e.event === 'lost') {
        const from = colX[e.from === 1 ? 1 : 0], to = colX[run.nh === 1 ? 0 : (e.to === 1 ? 1 : 0)];
        const lost = e.event === 'lost';
        const ex = lost ? (from + to) / 2 : to;
        g.strokeStyle = lost ? '#c00' : run.retx[i] ? '#c00' : (e.from === 1 ? '#b34700' : '#1f5fbf');
        g.lineWidth = run.retx[i] ? 2 : 1.3;
        if (e.network && e.network.includes('duplicate')) g.setLineDash([4, 3]);
        g.beginPath(); g.moveTo(from, y - 6); g.lineTo(ex, y + 6); g.stroke();
        g.setLineDash([]);
        if (lost) {
          g.fillStyle = '#c00';
          g.font = 'bold 13px sans-serif';
          g.fillText('✕', ex - 5, y + 6);
          g.font = '11px ui-monospace, monospace';
        } else if (from !== to) {
          const dir = Math.sign(to - from);
          g.beginPath(); g.moveTo(to, y + 6); g.lineTo(to - 7 * dir, y + 2); g.lineTo(to - 6 * dir, y + 8); g.closePath();
          g.fillStyle = g.strokeStyle; g.fill();
        }
        g.fillStyle = '#111';
        const txt = rowText(i);
        const tw = g.measureText(txt).width;
        let tx = mid - tw / 2;
        if (tx < x0 + 4) tx = x0 + 4;
        g.fillStyle = 'rgba(255,255,255,0.85)';
        g.fillRect(tx - 2, y - 8, Math.min(tw, ladW - tx) + 4, 11);
        g.fillStyle = lost ? '#a00' : '#111';
        g.fillText(txt, tx, y - 3);
      } else {
        const cx = colX[h];
        g.fillStyle = e.event === 'state' ? '#000' : '#555';
        if (e.event === 'state') {
          g.font = 'bold 11px ui-monospace, monospace';
        }
        const txt = rowText(i);
        const tw = g.measureText(txt).width;
        let tx = h === 0 ? cx + 6 : cx - 6 - tw;
        if (run.nh === 1) tx = cx + 6;
        if (tx < 86) tx = 86;
        if (e.event === 'state') {
          g.fillStyle = '#e8f0ff';
          g.fillRect(tx - 3, y - 8, tw + 6, 16);
          g.strokeStyle = '#333';
          g.strokeRect(tx - 3, y - 8, tw + 6, 16);
          g.fillStyle = '#000';
        }
        g.fillText(txt, tx, y);
        g.font = '11px ui-monospace, monospace';
        g.beginPath(); g.arc(cx, y, 2.5, 0, 7); g.fill();
      }
    }
  }

  /* -------------------------------------------------- the state machines */
  // RFC 9293 Figure 5, laid out as the RFC draws it.
  const POS = {
    CLOSED: [260, 22], LISTEN: [260, 85], SYN_RCVD: [80, 150], SYN_SENT: [440, 150],
    ESTABLISHED: [260, 205], FIN_WAIT_1: [80, 270], CLOSE_WAIT: [440, 270],
    FIN_WAIT_2: [80, 335], CLOSING: [260, 300], LAST_ACK: [440, 335],
    TIME_WAIT: [200, 395], 'CLOSED*': [440, 400],
  };
  const EDGES = [ // from, to, label (Figure 5's event / action)
    ['CLOSED', 'LISTEN', 'passive OPEN'], ['CLOSED', 'SYN_SENT', 'active OPEN / snd SYN'],
    ['LISTEN', 'SYN_RCVD', 'rcv SYN / snd SYN,ACK'], ['LISTEN', 'SYN_SENT', 'SEND / snd SYN'],
    ['SYN_RCVD', 'LISTEN', 'rcv RST'],
    ['SYN_SENT', 'SYN_RCVD', 'rcv SYN / snd SYN,ACK'], ['SYN_RCVD', 'ESTABLISHED', 'rcv ACK of SYN'],
    ['SYN_SENT', 'ESTABLISHED', 'rcv SYN,ACK / snd ACK'], ['SYN_RCVD', 'FIN_WAIT_1', 'CLOSE / snd FIN'],
    ['ESTABLISHED', 'FIN_WAIT_1', 'CLOSE / snd FIN'], ['ESTABLISHED', 'CLOSE_WAIT', 'rcv FIN / snd ACK'],
    ['FIN_WAIT_1', 'FIN_WAIT_2', 'rcv ACK of FIN'], ['FIN_WAIT_1', 'CLOSING', 'rcv FIN / snd ACK'],
    ['FIN_WAIT_2', 'TIME_WAIT', 'rcv FIN / snd ACK'], ['CLOSING', 'TIME_WAIT', 'rcv ACK of FIN'],
    ['CLOSE_WAIT', 'LAST_ACK', 'CLOSE / snd FIN'], ['LAST_ACK', 'CLOSED*', 'rcv ACK of FIN'],
    ['TIME_WAIT', 'CLOSED*', 'Timeout=2MSL'], ['LISTEN', 'CLOSED', 'CLOSE'],
    ['SYN_SENT', 'CLOSED', 'CLOSE'],
  ];
  const SVGNS = 'http://www.w3.org/2000/svg';
  function mk(tag, attrs, parent) {
    const el = document.createElementNS(SVGNS, tag);
    for (const k in attrs) el.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(el);
    return el;
  }
  const fsm = [];
  function buildFsm(k) {
    const svg = $('fsm' + k);
    svg.textContent = '';
    const defs = mk('defs', {}, svg);
    for (const [id, col] of [['ah', '#999'], ['ahl', '#d40000']]) {
      const m = mk('marker', { id: id + k, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' }, defs);
      mk('path', { d: 'M0,0 L10,5 L0,10 z', fill: col }, m);
    }
    const edges = {};
    const gE = mk('g', {}, svg);
    for (const [a, b, label] of EDGES) {
      const [xa, ya] = POS[a], [xb, yb] = POS[b];
      const dx = xb - xa, dy = yb - ya, len = Math.hypot(dx, dy) || 1;
      // stop at the boxes' edges (boxes 116 x 24)
      const cut = (ux, uy) => Math.min(Math.abs(58 / (ux || 1e-9)), Math.abs(12 / (uy || 1e-9)));
      const ux = dx / len, uy = dy / len, c = cut(ux, uy) + 2;
      const off = (a === 'SYN_RCVD' && b === 'LISTEN') || (a === 'LISTEN' && b === 'CLOSED') ? 8 : 0;
      const line = mk('line', { x1: xa + ux * c - uy * off, y1: ya + uy * c + ux * off,
        x2: xb - ux * c - uy * off, y2: yb - uy * c + ux * off, class: 'ed', 'marker-end': `url(#ah${k})` }, gE);
      const lab = mk('text', { x: (xa + xb) / 2 - uy * (off + 6), y: (ya + yb) / 2 + ux * (off + 6) - 2, class: 'elab', 'text-anchor': 'middle' }, gE);
      lab.textContent = label;
      lab.dataset.en = label;
      edges[a.replace('*', '') + '>' + b.replace('*', '')] = edges[a.replace('*', '') + '>' + b.replace('*', '')] || [line, lab];
    }
    const extra = mk('line', { class: 'ed extra last', x1: 0, y1: 0, x2: 0, y2: 0, visibility: 'hidden', 'marker-end': `url(#ahl${k})` }, gE);
    const extraLab = mk('text', { class: 'elab last', x: 0, y: 0, visibility: 'hidden', 'text-anchor': 'middle' }, gE);
    const nodes = {};
    for (const s in POS) {
      const g = mk('g', { class: 'st' }, svg);
      const [x, y] = POS[s];
      mk('rect', { x: x - 58, y: y - 12, width: 116, height: 24, rx: 5 }, g);
      const t = mk('text', { x, y }, g);
      t.textContent = s.replace('*', '');
      nodes[s] = [g, t];
    }
    fsm[k] = { svg, edges, nodes, extra, extraLab, lit: null, lastEdge: null };
  }
  function drawFsm(k) {
    const F = fsm[k];
    const figure = F.svg.parentNode;
    figure.style.display = k < run.nh ? '' : 'none';
    if (k >= run.nh) return;
    const s = run.STATES[run.st[k][cur]];
    const li = run.lastTr[k][cur];
    const le = li >= 0 ? run.E(li) : null;
    // CLOSED at the end of a connection lights the lower CLOSED
    let node = s;
    if (s === 'CLOSED' && le && le.from_state !== 'CLOSED') node = 'CLOSED*';
    if (F.lit !== node) {
      if (F.lit) { F.nodes[F.lit][0].classList.remove('on'); F.nodes[F.lit][1].textContent = F.lit.replace('*', ''); }
      F.nodes[node][0].classList.add('on');
      F.nodes[node][1].textContent = '▶ ' + node.replace('*', '');
      F.lit = node;
    }
    const key = le ? le.from_state + '>' + le.to_state : null;
    if (F.lastEdge !== li) {
      if (F.lastEdgeEls) for (const el of F.lastEdgeEls) el.classList.remove('last');
      F.lastEdgeEls = null;
      F.extra.setAttribute('visibility', 'hidden');
      F.extraLab.setAttribute('visibility', 'hidden');
      if (key && F.edges[key]) {
        F.lastEdgeEls = F.edges[key];
        for (const el of F.lastEdgeEls) el.classList.add('last');
        F.lastEdgeEls[0].setAttribute('marker-end', `url(#ahl${k})`);
      } else if (key) { // a transition Figure 5 does not draw (RST, timeouts)
        const a = POS[le.from_state], b = POS[node === 'CLOSED*' ? 'CLOSED*' : le.to_state];
        if (a && b) {
          F.extra.setAttribute('x1', a[0] + 30); F.extra.setAttribute('y1', a[1] + 12);
          F.extra.setAttribute('x2', b[0] - 30); F.extra.setAttribute('y2', b[1] - 12);
          F.extra.setAttribute('visibility', 'visible');
          F.extraLab.setAttribute('x', (a[0] + b[0]) / 2 + 20); F.extraLab.setAttribute('y', (a[1] + b[1]) / 2);
          F.extraLab.textContent = causeWord(le.cause);
          F.extraLab.setAttribute('visibility', 'visible');
        }
      }
      for (const kk in F.edges) if (!F.lastEdgeEls || F.edges[kk] !== F.lastEdgeEls) F.edges[kk][0].setAttribute('marker-end', `url(#ah${k})`);
      F.lastEdge = li;
    }
    $('fsm' + k + '-cap').textContent = UI[lang].fsm(run.names[k] || 'host') + ' — ' + s +
      (le ? `  (${causeWord(le.cause)})` : '');
  }

  /* ------------------------------------------------------------ the plots */
  let tsgDir = 0, zoom = 1, viewT0 = 0;
  const layers = {}; // offscreen canvases, by plot
  function canvasSize(c) {
    const w = c.clientWidth || 600, h = c.clientHeight || 200;
    c.width = w * dpr; c.height = h * dpr;
    return [w, h];
  }
  function viewRange() {
    const span = run.tEnd / zoom || 1;
    let t0 = viewT0;
    const tc = run.col.t[cur];
    if (tc < t0 || tc > t0 + span) t0 = Math.max(0, tc - span / 2);
    if (t0 + span > run.tEnd) t0 = Math.max(0, run.tEnd - span);
    viewT0 = t0;
    return [t0, t0 + span];
  }
  // first index in idx (sorted by time) whose event is at or after t
  function lowerBound(idx, t) {
    let lo = 0, hi = idx.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (run.col.t[idx[m]] < t) lo = m + 1; else hi = m; }
    return lo;
  }
  function renderTsg(key) {
    const c = $('tsg');
    const [w, h] = canvasSize(c);
    const off = document.createElement('canvas');
    off.width = c.width; off.height = c.height;
    const g = off.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff'; g.fillRect(0, 0, w, h);
    const [t0, t1] = viewRange();
    const S = run.sg[tsgDir], A = run.ak[tsgDir];
    const lb = (arr, t) => { let lo = 0, hi = arr.length; while (lo < hi) { const m = (lo + hi) >> 1; if (arr[m] < t) lo = m + 1; else hi = m; } return lo; };
    const i0 = Math.max(0, lb(S.t, t0) - 1), i1 = Math.min(S.t.length, lb(S.t, t1) + 1);
    const a0 = Math.max(0, lb(A.t, t0) - 1), a1 = Math.min(A.t.length, lb(A.t, t1) + 1);
    // y range over what is visible
    let ymin = Infinity, ymax = -Infinity;
    for (let k = i0; k < i1; k++) {
      const y = S.y[k]; if (y < ymin) ymin = y; const y2 = y + S.len[k] + 1; if (y2 > ymax) ymax = y2;
    }
    // the window edge widens the range by at most the data's own span (a
    // 64 KB window over a 36-byte request would flatten the data)
    const dataMax = ymax, span = Math.max(isFinite(ymin) ? ymax - ymin : 0, 64);
    for (let k = a0; k < a1; k++) { const y = A.a[k] + A.w[k]; if (y > ymax && y - ymax < 1e9) ymax = Math.min(y, dataMax + span); }
    if (!isFinite(ymin)) { ymin = 0; ymax = 1; }
    if (ymax <= ymin) ymax = ymin + 1;
    const L = 64, R = 8, TP = 8, B = 18;
    const X = (t) => L + (t - t0) / (t1 - t0 || 1) * (w - L - R);
    const Y = (v) => h - B - (v - ymin) / (ymax - ymin) * (h - B - TP);
    g.strokeStyle = '#ddd'; g.fillStyle = '#666'; g.font = '10px sans-serif';
    for (let q = 0; q <= 4; q++) {
      const v = ymin + (ymax - ymin) * q / 4, y = Y(v);
      g.beginPath(); g.moveTo(L, y); g.lineTo(w - R, y); g.stroke();
      g.fillText(Math.round(v).toString(), 2, y + 3);
      const t = t0 + (t1 - t0) * q / 4;
      g.fillText(fmtT(t) + ' ' + T('ms'), Math.min(X(t), w - 60), h - 4);
    }
    // ACK line and window edge (steps, one path each, one step per pixel
    // column), SACK blocks
    const pA = new Path2D(), pW = new Path2D(), pS = new Path2D();
    let lastX = -1, lastA = 0, lastW = 0;
    for (let k = a0; k < a1; k++) {
      const x = X(A.t[k]), ya = Y(A.a[k]), yw = Y(A.a[k] + A.w[k]);
      if (k === a0) { pA.moveTo(x, ya); pW.moveTo(x, yw); }
      else if ((x | 0) !== (lastX | 0) || k + 1 === a1) { pA.lineTo(x, lastA); pA.lineTo(x, ya); pW.lineTo(x, lastW); pW.lineTo(x, yw); }
      lastX = x; lastA = ya; lastW = yw;
      if (A.sack[k] >= 0) {
        const isn = run.isn[tsgDir] ?? 0;
        for (const bl of run.E(A.sack[k]).options.sack) { pS.moveTo(x + 1, Y(u32(bl[0] - isn))); pS.lineTo(x + 1, Y(u32(bl[1] - isn))); }
      }
    }
    g.lineWidth = 1;
    g.strokeStyle = '#2a7d2a'; g.stroke(pA);
    g.strokeStyle = '#7a4bb0'; g.stroke(pW);
    g.strokeStyle = '#c08a00'; g.lineWidth = 3; g.stroke(pS);
    // ordinary segments: one line per pixel column, from the lowest to
    // the highest byte sent in it; retransmissions (R) and losses (✕)
    // each drawn, red
    const pN = new Path2D(), pR = new Path2D();
    const marks = [];
    let col = -1, cLo = 0, cHi = 0;
    const flush = () => { if (col >= 0) { pN.moveTo(col + 0.5, cLo); pN.lineTo(col + 0.5, Math.min(cHi, cLo - 1.5)); } };
    for (let k = i0; k < i1; k++) {
      const x = X(S.t[k]);
      const y0 = Y(S.y[k]), y1 = Y(S.y[k] + Math.max(S.len[k], 1));
      if (S.sp[k]) {
        pR.moveTo(x, y0); pR.lineTo(x, Math.min(y1, y0 - 1.5));
        if (marks.length < 2000) marks.push([x, y1, S.sp[k] & 2 ? '✕' : 'R']);
        continue;
      }
      if ((x | 0) !== col) { flush(); col = x | 0; cLo = y0; cHi = y1; }
      else { if (y0 > cLo) cLo = y0; if (y1 < cHi) cHi = y1; }
    }
    flush();
    g.lineWidth = 1; g.strokeStyle = '#111'; g.stroke(pN);
    g.lineWidth = 2; g.strokeStyle = '#c00'; g.stroke(pR);
    g.fillStyle = '#c00'; g.font = 'bold 10px sans-serif';
    for (const [x, y, ch] of marks) g.fillText(ch, ch === 'R' ? x + 2 : x - 4, ch === 'R' ? y : y - 2);
    layers.tsg = { off, key, X, w, h };
  }
  function renderCc(k, key) {
    const c = $('cc' + k);
    c.style.display = k < run.nh ? '' : 'none';
    if (k >= run.nh) return;
    const [w, h] = canvasSize(c);
    const off = document.createElement('canvas');
    off.width = c.width; off.height = c.height;
    const g = off.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff'; g.fillRect(0, 0, w, h);
    const [t0, t1] = viewRange();
    const idx = run.cc[k];
    const i0 = Math.max(0, lowerBound(idx, t0) - 1), i1 = Math.min(idx.length, lowerBound(idx, t1) + 1);
    let ymax = 1, rmax = 1;
    const A = run.ccA[k];
    for (let q = i0; q < i1; q++) {
      ymax = Math.max(ymax, A.cwnd[q], A.flight[q], A.snd_wnd[q]);
      rmax = Math.max(rmax, A.rto[q], A.srtt[q]);
    }
    const L = 64, R = 8, top = 14, mid = h * 0.68, bot = h - 4;
    const X = (t) => L + (t - t0) / (t1 - t0 || 1) * (w - L - R);
    const Y = (v) => mid - Math.min(v, ymax * 1.05) / (ymax * 1.05) * (mid - top);
    const YR = (v) => bot - v / (rmax * 1.1) * (bot - mid - 6);
    g.fillStyle = '#111'; g.font = 'bold 11px sans-serif';
    g.fillText(hostWord(run.names[k] || 'host'), 4, 11);
    g.font = '10px sans-serif'; g.fillStyle = '#666';
    g.fillText(ymax + ' ' + T('bytesU'), 4, top + 12); g.fillText(Math.round(rmax) + ' ' + T('ms'), 4, mid + 16);
    g.strokeStyle = '#ddd'; g.beginPath(); g.moveTo(L, mid); g.lineTo(w - R, mid); g.stroke();
    const series = [['cwnd', '#1f5fbf', []], ['ssthresh', '#e08000', [5, 3]], ['flight', '#111', []],
      ['snd_wnd', '#7a4bb0', []]];
    for (const [f, col, dash] of series) {
      g.strokeStyle = col; g.setLineDash(dash); g.lineWidth = 1.2; g.beginPath();
      let started = false, lastCol = -2;
      for (let q = i0; q < i1; q++) {
        const x = X(A.t[q]);
        let v = A[f][q];
        if (f === 'ssthresh' && v > ymax * 1.05) v = ymax * 1.05; // "infinite" at start
        if ((x | 0) === lastCol && q + 1 < i1) continue;
        lastCol = x | 0;
        if (!started) { g.moveTo(x, Y(v)); started = true; } else g.lineTo(x, Y(v));
      }
      g.stroke();
    }
    g.setLineDash([]);
    g.strokeStyle = '#2a7d2a'; g.beginPath();
    let started = false, lc = -2;
    for (let q = i0; q < i1; q++) {
      const x = X(A.t[q]), y = YR(A.rto[q]);
      if ((x | 0) === lc && q + 1 < i1) continue;
      lc = x | 0;
      if (!started) { g.moveTo(x, y); started = true; } else g.lineTo(x, y);
    }
    g.stroke();
    // SRTT (RFC 6298 2), dashed, on the RTO's scale; from its first measurement
    g.strokeStyle = '#c0307a'; g.setLineDash([4, 2]); g.lineWidth = 1.5; g.beginPath();
    started = false; lc = -2;
    let srttMax = 0;
    for (let q = i0; q < i1; q++) {
      const v = A.srtt[q];
      if (!v) continue;
      if (v > srttMax) srttMax = v;
      const x = X(A.t[q]), y = YR(v);
      if ((x | 0) === lc && q + 1 < i1) continue;
      lc = x | 0;
      if (!started) { g.moveTo(x, y); started = true; } else g.lineTo(x, y);
    }
    g.stroke(); g.setLineDash([]);
    layers['cc' + k] = { off, key, X, w, h, srttMax };
  }
  function drawPlots() {
    const [t0, t1] = viewRange();
    const key = `${t0}:${t1}:${tsgDir}:${lang}:${plotW}:${runId}`;
    if (!layers.tsg || layers.tsg.key !== key) renderTsg(key);
    for (let k = 0; k < 2; k++) if (!layers['cc' + k] || layers['cc' + k].key !== key) renderCc(k, key);
    const t = run.col.t[cur];
    for (const name of ['tsg', 'cc0', 'cc1']) {
      const Lr = layers[name];
      if (!Lr) continue;
      const c = $(name);
      const g = c.getContext('2d');
      g.setTransform(1, 0, 0, 1, 0, 0);
      g.drawImage(Lr.off, 0, 0);
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      const x = Lr.X(t);
      g.strokeStyle = '#0a58ca'; g.lineWidth = 1.5; g.beginPath(); g.moveTo(x, 0); g.lineTo(x, Lr.h); g.stroke();
    }
  }

  /* ------------------------------------------------------ the explanation */
  function stateText(e) {
    for (const [to, from, cause, en, zh] of texts.states) {
      if (to === e.to_state && (from === '*' || from === e.from_state) && (cause === '*' || cause === e.cause))
        return lang === 'zh' ? zh : en;
    }
    return '';
  }
  const ex = (k) => (texts.explain[k] ? texts.explain[k][lang === 'zh' ? 1 : 0] : '');
  function explainOf(i) {
    const e = run.E(i);
    const parts = [];
    if (e.event === 'sent' || e.event === 'lost' || e.event === 'delivered') {
      let k = KEYS[run.exKey[i]];
      if (e.event === 'delivered') {
        // the same datagram's sent event carries its kind
        const C = run.col;
        for (let j = i - 1; j >= 0 && j > i - 5000; j--) {
          if (C.ev[j] === run.id.sent && C.seq[j] === e.seq && C.ack[j] === e.ack && C.from[j] === e.from && C.len[j] === e.len) { k = KEYS[run.exKey[j]]; break; }
        }
      }
      if (k) parts.push(ex(k));
      if (run.retx[i]) parts.push(fastRetx(i) ? T('fastretx') : ex('RETRANSMIT') || T('retxline'));
      if (e.event === 'lost') parts.push(ex('LOST') + (e.reason_text ? ` (${lang === 'zh' ? dropWord('net.' + e.reason) : e.reason_text})` : ''));
      if (e.network && e.network.includes('duplicate')) parts.push(ex('DUP'));
      if (e.network && e.network.includes('reordered')) parts.push(ex('REORDER'));
      if (e.network && e.network.includes('corrupted')) parts.push(ex('CORRUPT'));
    } else if (e.event === 'state') {
      parts.push(stateText(e));
      parts.push(`(${causeWord(e.cause)})`);
    } else if (e.event === 'timer') {
      if (e.timer === 'time-wait') parts.push(ex('TW_EXPIRED'));
    } else if (e.event === 'drop') {
      parts.push(ex('DROP') + (e.reason_text ? ` (${lang === 'zh' ? dropWord(e.reason) : e.reason_text})` : ''));
    }
    return parts.filter((p) => p).join(' ');
  }
  function drawExplain() {
    const e = run.E(cur);
    $('ev-head').textContent = `${T('time')} ${fmtT(e.t_ns)} ${T('ms')} · ${hostWord(e.host_name || '')} · ${rowText(cur)}`;
    $('ev-explain').textContent = explainOf(cur);
    const act = $('ev-actions');
    act.textContent = '';
    if ((e.event === 'sent' || e.event === 'lost') && e.dgram && wasmBytes) {
      for (const [what, label] of [['--drop', 'drop'], ['--hold', 'hold'], ['--dup-dgram', 'dup']]) {
        const b = document.createElement('button');
        b.textContent = T(label);
        b.dataset.pick = what;
        b.addEventListener('click', () => pick(what, e.dgram));
        act.appendChild(b);
      }
    }
  }

  /* ------------------------------------------------------- the exercises */
  // Each runs a scenario; the student steps to the event asked for.
  const isSeg = (e) => e.event === 'sent' || e.event === 'lost';
  const evs = (a, b) => { const r = []; for (let i = a; i < b; i++) r.push(run.E(i)); return r; };
  const has = (e, f) => e.flags && e.flags.includes(f);
  const EXERCISES = [
    { id: 'isn', args: ['lifecycle'],
      q: { en: 'The handshake: step to the segment that carries the server\'s initial sequence number (ISN).',
        zh: '三次握手：前进到携带服务器初始序号（ISN）的那个报文段。' },
      hint: { en: 'Each side announces its ISN in its own SYN; the server\'s SYN is also an ACK.', zh: '每一端都在自己的 SYN 中告知 ISN；服务器的 SYN 同时也是 ACK。' },
      ok: (e) => isSeg(e) && e.from === 1 && has(e, 'SYN') && has(e, 'ACK') },
    { id: 'timewait', args: ['lifecycle'],
      q: { en: 'The four-way close: step to the moment the client enters TIME_WAIT. How long will it stay?',
        zh: '四次挥手：前进到客户端进入 TIME_WAIT 的时刻。它会停留多久？' },
      hint: { en: 'The side that closes first waits; look for its state change after the peer\'s FIN.', zh: '先关闭的一方要等待；找它收到对端 FIN 之后的状态变化。' },
      ok: (e) => e.event === 'state' && e.host === 0 && e.to_state === 'TIME_WAIT' },
    { id: 'closing', args: ['simultaneous-close'],
      q: { en: 'Simultaneous close: step to a state change into CLOSING.', zh: '同时关闭：前进到进入 CLOSING 的状态变化。' },
      hint: { en: 'A FIN arrives while our own FIN is still unacknowledged.', zh: '我方的 FIN 尚未被确认时，收到了对方的 FIN。' },
      ok: (e) => e.event === 'state' && e.to_state === 'CLOSING' },
    { id: 'synbackoff', args: ['syn-retransmit'],
      q: { en: 'A lost SYN and backoff: the link is down for 10 s. Step to the SYN sent at the second retransmission timeout.',
        zh: '丢失的 SYN 与退避：链路中断 10 秒。前进到第二次重传超时时发出的 SYN。' },
      hint: { en: 'The timeout doubles each time: 1 s, then 2 s more.', zh: '超时时间每次加倍：1 秒，然后再 2 秒。' },
      ok: (e, i) => isSeg(e) && e.from === 0 && has(e, 'SYN') && !has(e, 'ACK') &&
        evs(0, i + 1).filter((x) => isSeg(x) && x.from === 0 && has(x, 'SYN') && !has(x, 'ACK')).length === 3 },
    { id: 'lostack', args: ['lost-final-ack'],
      q: { en: 'The last ACK is lost: step to the server\'s retransmission that repairs it.', zh: '最后一个 ACK 丢失：前进到服务器为此进行的重传。' },
      hint: { en: 'The server never saw the ACK of its FIN, so its FIN is sent again.', zh: '服务器没有收到对其 FIN 的确认，于是重发 FIN。' },
      ok: (e, i) => isSeg(e) && e.from === 1 && has(e, 'FIN') && run.retx[i] === 1 },
    { id: 'zerowindow', args: ['zero-window'],
      q: { en: 'A zero window: the server stops reading, its receive buffer fills and it advertises win=0. Step to the client\'s first zero-window probe.',
        zh: '零窗口：服务器停止读取，接收缓冲区被填满，通告 win=0。前进到客户端发出的第一个零窗口探测报文。' },
      hint: { en: 'After an ACK with win=0 the sender waits for its persist timer, then sends one byte beyond the closed window (RFC 9293 3.8.6.1).',
        zh: '收到 win=0 的 ACK 后，发送方等待坚持定时器到期，然后越过关闭的窗口发送一个字节（RFC 9293 3.8.6.1）。' },
      ok: (e, i) => zeroProbe(e) && !evs(0, i).some(zeroProbe) },
    { id: 'synflood', args: ['syn-flood'],
      q: { en: 'A SYN flood: spoofed SYNs fill the server\'s SYN queue. Step to the moment the real client\'s connection is established anyway.',
        zh: 'SYN 洪泛：伪造的 SYN 塞满了服务器的 SYN 队列。前进到真实客户端的连接仍然建立起来的时刻。' },
      hint: { en: 'A SYN cookie carries the connection in the ISN; the client does not notice.', zh: 'SYN cookie 把连接信息放在 ISN 里；客户端察觉不到。' },
      ok: (e) => e.event === 'state' && e.host === 0 && e.to_state === 'ESTABLISHED' },
    { id: 'fastretx', args: ['bulk', '--bytes', '100k', '--loss', '0.03', '--seed', '2'],
      q: { en: 'Loss and fast retransmit: step to a retransmission sent before any retransmission timer fired (duplicate ACKs or SACK told the sender).',
        zh: '丢包与快速重传：前进到一个在任何重传定时器到期之前就发出的重传（重复 ACK 或 SACK 通知了发送方）。' },
      hint: { en: 'Red segments are retransmissions; a fast one follows ACKs, not a "retransmit" timer row.', zh: '红色的报文段是重传；快速重传紧跟在 ACK 之后，而不是在“重传定时器到期”之后。' },
      ok: (e, i) => isSeg(e) && fastRetx(i) },
  ];
  // a segment with data sent while the peer's window is zero: a probe
  const zeroProbe = (e) => isSeg(e) && e.from === 0 && e.len > 0 && !!e.tcp && e.tcp.snd_wnd === 0;
  let exercise = null;
  /* Whether event i is a retransmission sent with no retransmission timer
   * fired at its host since the first copy of those bytes went out. */
  function fastRetx(i) {
    const e = run.E(i);
    if (!run.retx[i]) return false;
    // the first copy (looked for in the 20,000 events before: a frame's
    // worth of work at most)
    let j = -1;
    const C = run.col, I = run.id;
    for (let k = i - 1; k >= 0 && k >= i - 20000; k--) if ((C.ev[k] === I.sent || C.ev[k] === I.lost) && C.from[k] === e.from && C.seq[k] === e.seq) j = k;
    for (let k = Math.max(j, 0); k < i; k++) if (C.ev[k] === I.timer && C.host[k] === e.from && C.timer[k] === I.retransmit) return false;
    return j >= 0;
  }
  function fillExercises() {
    const sel = $('ex-sel'), v = sel.value;
    sel.textContent = '';
    EXERCISES.forEach((x, k) => {
      const o = document.createElement('option');
      o.value = k;
      o.textContent = `${k + 1}. ${x.q[lang].split(/[:：]/)[0]}`;
      sel.appendChild(o);
    });
    if (v) sel.value = v;
    if (exercise) $('ex-q').textContent = exercise.q[lang] + ' ' + T('exsteps');
  }
  function startExercise() {
    const x = EXERCISES[Number($('ex-sel').value)];
    $('ex-result').textContent = ''; $('ex-result').className = '';
    const same = form.scenario === x.args[0] && x.args.length === 1 && !form.opts.some((o) => ['--drop', '--hold', '--dup-dgram', '--loss'].includes(o[0]));
    lab.lastAnswer = undefined;
    const go = () => { exercise = x; $('ex-q').textContent = x.q[lang] + ' ' + T('exsteps'); $('ex-check').disabled = false; setCur(0); };
    if (same) return go();
    if (!wasmModule) { $('ex-result').textContent = T('exneed'); $('ex-result').className = 'bad'; return; }
    runWith(x.args, go);
  }
  function checkExercise() {
    if (!exercise) return;
    const good = !!exercise.ok(run.E(cur), cur);
    lab.lastAnswer = good;
    showAnswer();
  }
  function showAnswer() {
    if (!exercise || lab.lastAnswer === undefined) return;
    $('ex-result').textContent = lab.lastAnswer ? T('exright') : T('exwrong') + exercise.hint[lang];
    $('ex-result').className = lab.lastAnswer ? 'good' : 'bad';
  }

  /* -------------------------------------------------------- the cursor */
  let plotsLater = false; // at load: the plots after the first paint
  function drawAll() {
    if (!run) return;
    drawLadder();
    drawFsm(0); drawFsm(1);
    if (!plotsLater) drawPlots();
    drawExplain();
    $('pos').textContent = `${T('event')} ${cur + 1} ${T('of')} ${run.n} · ${fmtT(run.col.t[cur])} ${T('ms')}`;
  }
  function setCur(i, scroll = true) {
    if (!run) return;
    cur = Math.max(0, Math.min(run.n - 1, i));
    if (scroll) {
      const y = cur * RH + RH;
      if (y < ladTop + RH || y > ladTop + ladH - RH) {
        ladTop = Math.max(0, Math.min(y - ladH / 2, run.n * RH + RH - ladH));
        ladScroll.scrollTop = ladTop;
      }
    }
    drawAll();
  }
  function nextState(dir) {
    const s = run.stateIdx;
    if (dir > 0) { for (const i of s) if (i > cur) return setCur(i); setCur(run.n - 1); }
    else { for (let k = s.length - 1; k >= 0; k--) if (s[k] < cur) return setCur(s[k]); setCur(0); }
  }
  let playing = null;
  function play() {
    if (playing) { cancelAnimationFrame(playing.raf); playing = null; $('b-play').firstElementChild.textContent = T('play'); return; }
    playing = { last: performance.now(), acc: 0, raf: 0 };
    $('b-play').firstElementChild.textContent = T('pause');
    const tick = (now) => {
      if (!playing) return;
      playing.acc += (now - playing.last) / 1000 * Number($('speed').value);
      playing.last = now;
      const k = Math.floor(playing.acc);
      if (k > 0) { playing.acc -= k; setCur(cur + k); }
      if (cur >= run.n - 1) { play(); return; }
      playing.raf = requestAnimationFrame(tick);
    };
    playing.raf = requestAnimationFrame(tick);
  }

  let titleEn = null;
  function setLang(l) {
    lang = l;
    document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
    $('lang').value = l;
    for (const el of document.querySelectorAll('[data-t]')) el.textContent = T(el.dataset.t);
    for (const o of $('speed').options) o.textContent = o.value + T('per');
    // the title: in Chinese its command and scenario (or file) only, the
    // names typed; the description is English
    if (!titleEn) titleEn = $('title').textContent;
    $('title').textContent = l === 'zh' ? titleEn.split(' · ').slice(0, 2).join(' · ') : titleEn;
    $('b-play').firstElementChild.textContent = T(playing ? 'pause' : 'play');
    $('tsg-legend').textContent = T('tsglegend');
    $('cc-legend').textContent = T('cclegend');
    $('help').textContent = T('help');
    for (const el of document.querySelectorAll('svg .elab[data-en]')) el.textContent = l === 'zh' ? EDGEZH[el.dataset.en] || el.dataset.en : el.dataset.en;
    fillExercises();
    showAnswer();
    if (sayFn) $('rerun-msg').textContent = sayFn();
    fillDir();
    if (run) drawAll();
  }
  function fillDir() {
    const sel = $('tsg-dir');
    sel.textContent = '';
    if (!run) return;
    for (let s = 0; s < run.nh; s++) {
      const o = document.createElement('option');
      o.value = s;
      o.textContent = UI[lang].dir(hostWord(run.names[s]), hostWord(run.names[run.nh === 1 ? 0 : 1 - s]));
      sel.appendChild(o);
    }
    sel.value = tsgDir;
  }

  /* --------------------------------------------------- the re-runs (WASI) */
  let wasmBytes = null, wasmModule = null;
  const SCENARIOS = ['lifecycle', 'simultaneous-open', 'simultaneous-close', 'lost-final-ack', 'half-close',
    'abort', 'refused', 'syn-retransmit', 'old-duplicate-syn', 'self-connect', 'keepalive', 'syn-flood', 'bulk', 'zero-window'];
  const OUTPUT_OPTS = new Set(['--html', '--json', '--svg', '--pcap', '--capture', '--lang']);
  const FLAG_OPTS = new Set(['--quiet', '--explain', '--color', '--no-color', '--ladder', '--stats', '--absolute']);
  // The page's starting options: the command line that wrote it, less its outputs.
  function parseArgs(args) {
    const o = { scenario: 'lifecycle', opts: [] };
    for (let i = 0; i < args.length; i++) {
      let a = args[i], v = null;
      if (a.startsWith('--') && a.includes('=')) { v = a.slice(a.indexOf('=') + 1); a = a.slice(0, a.indexOf('=')); }
      if (!a.startsWith('-')) { o.scenario = a; continue; }
      if (FLAG_OPTS.has(a) || a === '--one-way' || a === '--ipv6') { if (!FLAG_OPTS.has(a)) o.opts.push([a, null]); continue; }
      if (v === null) v = args[++i];
      if (a === '--scenario') { o.scenario = v; continue; }
      if (OUTPUT_OPTS.has(a)) continue;
      o.opts.push([a, v]);
    }
    return o;
  }
  let form = parseArgs(baseArgs);
  function optVal(name) { const p = form.opts.find((x) => x[0] === name); return p ? p[1] : ''; }
  function fillForm() {
    const sel = $('f-scenario');
    if (!sel.options.length) for (const s of SCENARIOS) { const o = document.createElement('option'); o.value = o.textContent = s; sel.appendChild(o); }
    sel.value = form.scenario;
    // empty: the scenario's own default (bulk impairs its link unless a
    // rate is given, so nothing is passed that was not asked for)
    $('f-seed').value = optVal('--seed');
    $('f-delay').value = optVal('--delay');
    $('f-loss').value = optVal('--loss');
    $('f-mtu').value = optVal('--mtu');
    $('f-bytes').value = optVal('--bytes');
    $('f-pause').value = optVal('--read-pause');
    $('f-sndbuf').value = optVal('--sndbuf');
    $('f-rcvbuf').value = optVal('--rcvbuf');
    $('f-picks').value = form.opts.filter((x) => ['--drop', '--hold', '--dup-dgram'].includes(x[0])).map((x) => x.join(' ')).join(' ');
  }
  function formArgs() {
    const keep = form.opts.filter((x) => !['--seed', '--delay', '--loss', '--mtu', '--bytes', '--read-pause', '--sndbuf', '--rcvbuf', '--drop', '--hold', '--dup-dgram'].includes(x[0]));
    const a = [$('f-scenario').value];
    for (const [k, v] of keep) { a.push(k); if (v !== null) a.push(v); }
    const set = (k, id) => { const v = $(id).value.trim(); if (v !== '') a.push(k, v); };
    set('--seed', 'f-seed'); set('--delay', 'f-delay'); set('--loss', 'f-loss'); set('--mtu', 'f-mtu');
    set('--sndbuf', 'f-sndbuf'); set('--rcvbuf', 'f-rcvbuf');
    if (['bulk', 'zero-window'].includes($('f-scenario').value)) { set('--bytes', 'f-bytes'); set('--read-pause', 'f-pause'); }
    const picks = $('f-picks').value.trim();
    if (picks) a.push(...picks.split(/\s+/));
    return a;
  }
  function pick(what, n) {
    const box = $('f-picks');
    const cur0 = box.value.trim();
    box.value = (cur0 ? cur0 + ' ' : '') + (what === '--hold' ? `--hold ${n}:200` : `${what} ${n}`);
    rerun();
  }
  let runId = 0;
  // the message under the form, kept as a function of the language
  let sayFn = null;
  function say(fn) { sayFn = fn; $('rerun-msg').textContent = fn(); }
  function rerun(ev0) {
    if (ev0) ev0.preventDefault();
    const msg = $('rerun-msg');
    msg.className = '';
    if (!wasmModule) { say(() => T(typeof WebAssembly === 'object' ? 'nomodule' : 'nowasm')); msg.className = 'bad'; return; }
    for (const id of ['f-seed', 'f-delay', 'f-loss', 'f-mtu', 'f-pause']) {
      const el = $(id);
      if (!el.checkValidity()) { say(() => `${T('badopt')}${el.labels[0].textContent.trim()}: ${T('range')} ${el.min}..${el.max || '∞'}`); msg.className = 'bad'; return; }
    }
    runWith(formArgs());
  }
  function runWith(args, done) {
    const msg = $('rerun-msg');
    msg.className = '';
    say(() => T('running'));
    setTimeout(() => {
      let r;
      try { r = labWasiRun(wasmModule, args); } catch (x) { say(() => T('wasmfail') + x); msg.className = 'bad'; return; }
      const end = r.out.indexOf('\n]\n');
      if (r.code === 2 || end < 0) { say(() => T('badopt') + (r.err.trim() || 'exit ' + r.code)); msg.className = 'bad'; return; }
      let ev;
      try { ev = JSON.parse(r.out.slice(0, end + 3)); } catch (x) { say(() => T('badjson') + x.message); msg.className = 'bad'; return; }
      if (!ev.length) { say(() => T('nodata')); msg.className = 'bad'; return; }
      form = parseArgs(args);
      fillForm();
      $('title').textContent = titleEn = 'synfin sim ' + args.join(' ');
      document.title = 'TCP lab · synfin sim ' + args.join(' ');
      const keepCur = cur;
      load(labFromObjects(ev));
      setCur(Math.min(keepCur, run.n - 1));
      say(() => `${T('ran')}: synfin sim ${args.join(' ')} · ${ev.length} ${T('events')}` +
        (r.code ? ' · ' + T('failed') + r.err.trim().split('\n').pop() : ''));
      lab.lastRun = r;
      if (done) done();
    }, 10);
  }

  /* ------------------------------------------------------------ start */
  function load(D) {
    run = prep(D);
    runId++;
    for (const k in layers) delete layers[k];
    if (tsgDir >= run.nh) tsgDir = 0;
    fillDir();
    sizeLadder();
  }
  function onKey(e) {
    if (e.target && /INPUT|SELECT|TEXTAREA/.test(e.target.tagName)) return;
    if (e.target && e.target.tagName === 'BUTTON' && (e.key === ' ' || e.key === 'Enter')) return;
    const k = e.key;
    if (k === 'ArrowRight' || k === 'ArrowDown' || k === 'j') setCur(cur + 1);
    else if (k === 'ArrowLeft' || k === 'ArrowUp' || k === 'k') setCur(cur - 1);
    else if (k === 'PageDown') setCur(cur + Math.floor(ladH / RH));
    else if (k === 'PageUp') setCur(cur - Math.floor(ladH / RH));
    else if (k === 'Home') setCur(0);
    else if (k === 'End') setCur(run.n - 1);
    else if (k === 'n') nextState(1);
    else if (k === 'p') nextState(-1);
    else if (k === ' ') play();
    else if (k === 'l') setLang(lang === 'en' ? 'zh' : 'en');
    else if (k === '+' || k === '=') { zoom = Math.min(zoom * 2, 1e6); drawAll(); }
    else if (k === '-') { zoom = Math.max(1, zoom / 2); drawAll(); }
    else if (k === 'd') { const ev = run.E(cur); if (ev.dgram) pick('--drop', ev.dgram); }
    else return;
    e.preventDefault();
  }
  /* Base64 to bytes: the browser's own decoder where it has one (some
   * ten times faster on a long run's 4 MB), else atob. */
  function fromBase64(b64) {
    if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(b64);
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  /* The run's events: packed (tools/synfin/lab/pack.c), base64, for a
   * long run gzipped too; inflated by the browser, decoded by labUnpack
   * into typed arrays, not into objects. */
  async function readEvents(times) {
    const b64 = $('lab-data').textContent.trim();
    let t = performance.now();
    let bytes = fromBase64(b64);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      if (typeof DecompressionStream !== 'function') throw new Error(UI.en.nogzip + ' / ' + UI.zh.nogzip);
      bytes = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
    }
    times.inflate = performance.now() - t;
    t = performance.now();
    const D = labUnpack(bytes);
    times.decode = performance.now() - t;
    return D;
  }
  async function start() {
    let D;
    const times = {};
    const t0 = performance.now();
    try { D = await readEvents(times); } catch (x) { fatal(UI.en.badevents + x.message + ' / ' + UI.zh.badevents + x.message); return; }
    if (!D.n) { fatal(UI.en.nodata + ' / ' + UI.zh.nodata); return; }
    const t1 = performance.now();
    buildFsm(0); buildFsm(1);
    load(D);
    const t2 = performance.now();
    times.prep = t2 - t1;
    const w64 = $('lab-wasm').textContent.trim();
    if (w64 && typeof WebAssembly === 'object') {
      try {
        wasmBytes = fromBase64(w64);
        wasmModule = new WebAssembly.Module(wasmBytes);
      } catch (x) { wasmModule = null; say(() => T('wasmfail') + x); }
    }
    const t3 = performance.now();
    times.wasm = t3 - t2;
    if (!wasmModule) {
      $('b-run').disabled = true;
      const why = !baseArgs.length ? 'capture' : w64 && typeof WebAssembly !== 'object' ? 'nowasm' : 'nomodule';
      say(() => T(why));
    }
    fillForm();
    $('b-first').onclick = () => setCur(0);
    $('b-prev').onclick = () => setCur(cur - 1);
    $('b-next').onclick = () => setCur(cur + 1);
    $('b-state').onclick = () => nextState(1);
    $('b-play').onclick = play;
    $('b-zin').onclick = () => { zoom = Math.min(zoom * 2, 1e6); drawAll(); };
    $('b-zout').onclick = () => { zoom = Math.max(1, zoom / 2); drawAll(); };
    $('lang').onchange = (e) => setLang(e.target.value);
    $('tsg-dir').onchange = (e) => { tsgDir = Number(e.target.value); drawAll(); };
    $('rerun').addEventListener('submit', rerun);
    $('ex-start').onclick = startExercise;
    $('ex-check').onclick = checkExercise;
    ladScroll.addEventListener('scroll', () => { ladTop = ladScroll.scrollTop; requestAnimationFrame(drawLadder); });
    lad.addEventListener('click', (e) => {
      const r = lad.getBoundingClientRect();
      setCur(Math.floor((e.clientY - r.top + ladTop - RH / 2) / RH), false);
      ladScroll.focus();
    });
    document.addEventListener('keydown', onKey);
    window.addEventListener('resize', () => { sizeLadder(); drawAll(); });
    // The ladder, the diagrams and the text first; the plots (a full
    // render: some 100 ms at 100,000 events) once that is on screen.
    plotsLater = true;
    setLang('en'); // the switch (or l) turns it to Chinese
    setCur(0);
    times.draw = performance.now() - t3;
    times.shown = performance.now(); // since the page's navigation began
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    plotsLater = false;
    const t4 = performance.now();
    drawPlots();
    times.plots = performance.now() - t4;
    times.ready = performance.now();
    // tests/lab reports them (docs/lab.md's load budget)
    lab.loadMs = { script: performance.now() - t0, read: t1 - t0, ...times };
  }

  /* For tests (tests/lab): the state, and a timed redraw. */
  const lab = {
    get n() { return run ? run.n : 0; }, get cur() { return cur; }, get lang() { return lang; },
    get hasWasm() { return !!wasmModule; }, errors,
    event: (i) => run.E(i), rowText: (i) => rowText(i), setCur, nextState, setLang, rerun: () => rerun(),
    stateOf: (h) => run.STATES[run.st[h][cur]],
    pickDrop: (n) => pick('--drop', n),
    exercises: EXERCISES.length, exerciseIds: EXERCISES.map((x) => x.id),
    /* the largest SRTT (ms) each side's plot drew, and how many of the
     * plot's pixels have the SRTT line's colour */
    srttPlot: () => [0, 1].map((k) => {
      const Lr = layers['cc' + k];
      if (!Lr) return null;
      const d = Lr.off.getContext('2d').getImageData(0, 0, Lr.off.width, Lr.off.height).data;
      let px = 0;
      for (let q = 0; q < d.length; q += 4) if (Math.abs(d[q] - 0xc0) < 24 && Math.abs(d[q + 1] - 0x30) < 24 && Math.abs(d[q + 2] - 0x7a) < 24) px++;
      return { max: Lr.srttMax, px };
    }),
    exerciseOk: (k, i) => !!EXERCISES[k].ok(run.E(i), i),
    timeParts() {
      const r = {};
      for (const [nm, f] of [['tsg', () => renderTsg('x')], ['cc0', () => renderCc(0, 'x')], ['cc1', () => renderCc(1, 'x')],
        ['ladder', drawLadder], ['fsm', () => { drawFsm(0); drawFsm(1); }], ['explain', drawExplain]]) {
        const t = performance.now(); f(); r[nm] = performance.now() - t;
      }
      return r;
    },
    /* ms for k cursor moves spread over the run (each a full drawAll,
     * then the style and layout it causes), and for one full re-render
     * of the plots; painting is not counted */
    timeRedraw(k) {
      const t0 = performance.now();
      for (let q = 0; q < k; q++) { setCur(Math.floor((q + 0.5) * run.n / k)); void document.body.offsetHeight; }
      const t1 = performance.now();
      const full = [];
      for (let q = 0; q < 5; q++) {
        const ts = performance.now();
        for (const key in layers) delete layers[key];
        drawAll();
        full.push(performance.now() - ts);
      }
      full.sort((x, y) => x - y);
      return { perMove: (t1 - t0) / k, fullRender: full[2] }; // the median of 5
    },
  };
  window.lab = lab;
  window.addEventListener('error', (e) => errors.push(String(e.message)));
  // tests (and anything else) may wait for the events: lab.ready
  lab.ready = start().catch((x) => { fatal('TCP lab: ' + (x && x.stack || x)); errors.push(String(x)); });
})();
