#!/usr/bin/env node
// The explorer on a long sentence, in headless chromium: that every view is
// drawn, and how long it takes — printed, never asserted (the figures depend
// on the machine and its load; docs/RESULTS.md keeps them with both).
//
//   node long_sentence.mjs PAGE
//
// PAGE: an offline page with a long record, e.g. from
//   node make_synthetic_record.mjs --length 250 --d-model 64 --heads 4 --layers 2 --html PAGE
// Prints: the time from navigation to the first drawing (parsing the page
// and its record included), a redraw of every view from the parsed record,
// switching the layer and the attention (until the next frame is painted),
// and the main thread's long tasks (over 50 ms) in each phase.
import { chromium } from 'playwright-core';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

if (process.argv.length !== 3) {
  console.error('usage: node long_sentence.mjs PAGE');
  process.exit(2);
}
const url = pathToFileURL(resolve(process.argv[2])).href;
let failures = 0;
function check(ok, what, detail) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what + (!ok && detail !== undefined ? ': ' + detail : ''));
  if (!ok) failures++;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Before any script of the page: note long tasks, and when the record is first drawn.
  await page.addInitScript(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push([e.startTime, e.duration]); })
      .observe({ type: 'longtask', buffered: true });
    new MutationObserver((_, obs) => {
      if (document.body && document.body.classList.contains('has-record')) { window.firstDrawn = performance.now(); obs.disconnect(); }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['class'] });
  });
  await page.goto(url, { waitUntil: 'load', timeout: 300000 });
  await page.waitForFunction(() => window.firstDrawn !== undefined, null, { timeout: 300000 });
  const rec = await page.evaluate(() => ({ S: window.explorer.record.source.pieces.length, T: window.explorer.record.target.pieces.length,
    D: window.explorer.record.config.d_model, H: window.explorer.record.config.heads, L: window.explorer.record.encoder.layers.length,
    decL: window.explorer.record.decoder.layers.length, synthetic: !!window.explorer.record.synthetic }));
  const count = (sel) => page.$$eval(sel, (xs) => xs.length);
  check(await count('#head-view g.token') === rec.S * 2 && await count('#head-view line.attn') > 0, 'head view drawn');
  check(await count('#model-view .thumb canvas') === (rec.L + 2 * rec.decL) * rec.H, 'model view drawn');
  check(await count('#attention-table tbody tr') === rec.S, 'self-attention table drawn');
  check(await count('#multi-head .heatmap') === rec.H + 2, 'multi-head maps drawn');
  check(await count('#positional .heatmap') === 1 && await count('#add-norm .heatmap') === 4, 'positional encoding and add & norm drawn');
  check(await count('#outputs .step') === rec.T, 'output distributions drawn');
  check(await count('#beam-search g.node') > 0, 'beam drawn');

  // Time until the next frame is painted after `action` (run in the page).
  const timed = (action) => page.evaluate(async (code) => {
    const before = window.longTasks.length, t0 = performance.now();
    await (0, eval)(code)();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    await new Promise((r) => setTimeout(r, 100));   // let the observer report the phase's long tasks
    return { ms: performance.now() - t0 - 100, long: window.longTasks.slice(before).map(([, d]) => Math.round(d)) };
  }, action);
  const load = await page.evaluate(() => ({ ms: window.firstDrawn, long: window.longTasks.map(([, d]) => Math.round(d)) }));
  const redraw = await timed('() => window.explorer.draw(window.explorer.record)');
  const layer = await timed("() => { const s = document.getElementById('attention-layer'); s.value = '1'; s.dispatchEvent(new Event('change')); }");
  const kind = await timed("() => { const s = document.getElementById('attention-kind'); s.value = 'cross'; s.dispatchEvent(new Event('change')); }");
  const fmt = (x) => Math.round(x.ms) + ' ms (long tasks: ' + (x.long.length ? x.long.join(', ') + ' ms' : 'none') + ')';
  const size = await page.evaluate(() => document.getElementById('explain-record').textContent.length);
  console.log((rec.synthetic ? 'synthetic record' : 'record') + ': ' + rec.S + ' source pieces, ' + rec.T + ' decoder positions, d_model ' + rec.D + ', ' +
    rec.H + ' heads, ' + rec.L + ' + ' + rec.decL + ' layers, ' + (size / 1e6).toFixed(1) + ' MB of JSON');
  console.log('first drawing (page and record parsed, every view drawn): ' + fmt(load));
  console.log('redraw every view from the parsed record: ' + fmt(redraw));
  console.log('switch layer (views 1-3): ' + fmt(layer));
  console.log('switch attention to encoder-decoder (views 1-3): ' + fmt(kind));
  check(errors.length === 0, 'no page errors', errors.join(' | '));
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
