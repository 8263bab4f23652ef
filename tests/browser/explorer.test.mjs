#!/usr/bin/env node
// End-to-end test of the explorer page (web/) in a real browser: Debian's
// headless chromium, driven by playwright-core.
//
//   node explorer.test.mjs PAGE_OR_URL [--screenshots DIR] [--sentence TEXT] [--beam N] [--prefix TEXT] [--metrics FILE] [--example TEXT] [--snapshots N] [--compare]
//
// PAGE_OR_URL is the offline page from `transformer explain --html` (the
// record inlined) or the URL of `transformer serve` (then the sentence is
// typed into the form and translated through POST /v1/explain). Every view
// must be drawn, the controls must change what is drawn, and the numbers of
// the self-attention table must be the record's. Exit code 0 when all pass.
// Environment: CHROMIUM (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { smallestDifferences } from './colour_vision.mjs';

const argv = process.argv.slice(2);
function option(name, dflt) {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
}
const screenshots = option('--screenshots', null);
const sentence = option('--sentence', 'Ein Mann fährt mit dem Fahrrad über die Straße.');
const beam = option('--beam', '4');
// The translation's forced beginning (an offline page's from explain
// --prefix, or typed into the served form's "Starts with" box): the record
// and the summary must show it, and show none without it.
const prefix = option('--prefix', null);
let metricsFile = option('--metrics', null);
// The model's own metrics.jsonl (run.sh passes it when the model directory
// has one): the page must draw it without being asked.
const modelHasMetrics = metricsFile !== null;
// The first line of the model's examples.txt: the served page's sentence box starts with it.
const example = option('--example', null);
// The number of snapshots in the model's probes.jsonl (run.sh counts them): "watch it learn" must show them.
const snapshots = Number(option('--snapshots', '0'));
// The page was written with explain --compare: the side-by-side view must show the second record.
const compared = argv.includes('--compare') ? (argv.splice(argv.indexOf('--compare'), 1), true) : false;
if (argv.length !== 1 || argv[0].startsWith('--')) {
  console.error('usage: node explorer.test.mjs PAGE_OR_URL [--screenshots DIR] [--sentence TEXT] [--beam N] [--prefix TEXT] [--metrics FILE] [--example TEXT] [--snapshots N] [--compare]');
  process.exit(2);
}
const target = /^(https?|file):/.test(argv[0]) ? argv[0] : pathToFileURL(resolve(argv[0])).href;

// A small metrics log when none is given, to drive the file picker.
if (!metricsFile) {
  metricsFile = join(tmpdir(), 'explorer-test-metrics.jsonl');
  const lines = [];
  for (let step = 50; step <= 800; step += 50) {
    lines.push(JSON.stringify({ step, epoch: 1 + Math.floor(step / 300), loss: 8 * Math.exp(-step / 300) + 2, lr: 5e-4 * Math.min(step / 400, Math.sqrt(400 / step)), target_tokens_per_s: 3000, elapsed_s: step * 1.2 }));
    if (step % 400 === 0) lines.push(JSON.stringify({ step, valid_loss: 4.4 - step / 800, valid_bleu: 6 + step / 40, valid_ppl: 80 - step / 20 }));
  }
  writeFileSync(metricsFile, lines.join('\n') + '\n');
}

let failures = 0, passes = 0;
function check(ok, what, detail) {
  if (ok) { passes++; console.log('ok   ' + what); }
  else { failures++; console.log('FAIL ' + what + (detail !== undefined ? ': ' + detail : '')); }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const consoleErrors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // The page must work offline: refuse every request other than the page itself and the served API.
  const origin = target.startsWith('http') ? new URL(target).origin : null;
  const foreign = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || (origin && url.startsWith(origin))) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  await page.goto(target, { waitUntil: 'load' });

  const inline = await page.$eval('#explain-record', (e) => e.textContent.trim().length > 0).catch(() => false);
  if (!inline) {
    console.log('no inline record: translating "' + sentence + '" (beam ' + beam + ') through the form');
    check(await page.isVisible('#translate-form'), 'the served page shows the sentence form');
    check(!(await page.isVisible('#offline-note')), 'the served page has no offline note');
    if (example !== null) {
      await page.waitForFunction(() => document.getElementById('sentence').value !== '', null, { timeout: 10000 }).catch(() => {});
      check(await page.inputValue('#sentence') === example, 'the served sentence box starts with the model\'s own example', await page.inputValue('#sentence'));
    }
    if (modelHasMetrics) {
      await page.waitForFunction(() => document.querySelectorAll('#training svg.line-chart path.series').length > 0, null, { timeout: 10000 }).catch(() => {});
      check(await page.$$eval('#training svg.line-chart path.series', (x) => x.length) >= 3 && /metrics\.jsonl/.test(await page.textContent('#metrics-status')),
        '8. served: the model\'s training curves appear without picking a file', await page.textContent('#metrics-status'));
    }
    await page.fill('#sentence', sentence);
    await page.fill('#beam', String(beam));
    if (prefix !== null) await page.fill('#prefix', prefix);
    await page.click('#translate');
  }
  await page.waitForFunction(() => document.body.classList.contains('has-record') || !document.getElementById('error').hidden, null, { timeout: 120000 }).catch(() => {});
  const errorText = await page.textContent('#error');
  check(await page.evaluate(() => document.body.classList.contains('has-record')), 'a record is drawn', errorText);
  if (!(await page.evaluate(() => document.body.classList.contains('has-record')))) throw new Error('nothing drawn; giving up');

  const rec = await page.evaluate(() => window.explorer.record);
  check(rec.format === 'transformer-explain' && rec.version === 1, 'the record is a transformer-explain version 1 record');
  const count = (sel) => page.$$eval(sel, (xs) => xs.length);
  // After a change of attention or layer the page draws views 2 and 3 in
  // tasks of their own; a task queued now runs after them.
  const settle = () => page.evaluate(() => new Promise((r) => setTimeout(r, 0)));

  // What a new user sees first (issue 17, item 0).
  check(!/\bnull\b/.test(await page.textContent('#summary')), 'the summary prints no stray "null"', await page.textContent('#summary'));
  if (prefix !== null) {
    const starts = rec.prefix && rec.prefix.ids.every((id, i) => rec.output.ids[i] === id);
    check(rec.prefix && rec.prefix.text === prefix && starts, 'the record\'s translation starts with the forced prefix', JSON.stringify(rec.prefix));
    check((await page.textContent('#summary')).includes('Forced to start with "' + prefix + '"'), 'the summary says which beginning was forced');
  } else {
    check(!rec.prefix && !(await page.textContent('#summary')).includes('Forced'), 'no prefix: none in the record or the summary');
  }
  if (inline) {
    check(!(await page.isVisible('#translate-form')), 'offline: no sentence box whose Translate button could not work');
    const note = await page.isVisible('#offline-note') ? await page.textContent('#offline-note') : '';
    check(note.includes(rec.source.text) && /transformer serve --model \S/.test(note), 'offline: the note shows the explained sentence and how to serve the model for others', note);
  }
  if (modelHasMetrics) {
    check(await count('#training svg.line-chart path.series') >= 3 && /metrics\.jsonl/.test(await page.textContent('#metrics-status')),
      '8. training: the model\'s own curves are drawn without picking a file', await page.textContent('#metrics-status'));
  }

  // Every view is drawn.
  check(await count('#head-view svg line.attn') > 0, '1. head view: attention lines drawn');
  check(await count('#head-view svg g.token') === rec.source.pieces.length * 2, '1. head view: source tokens in two columns');
  check(await count('#attention-table tbody tr') === rec.source.pieces.length, '2. self-attention table: one row per key');
  // A heat map's cells are one image, a pixel per value: its data-rows × data-cols, and its pixels decoded.
  const cells = (sel) => page.$$eval(sel + ' svg.heatmap image.cells', (xs) => xs.map((x) => [Number(x.dataset.rows), Number(x.dataset.cols)]));
  const mh = await cells('#multi-head'), a0 = rec.encoder.layers[0].self_attention;
  check(mh.length === rec.config.heads + 2 && mh.every(([r]) => r === rec.source.pieces.length) &&
    mh.slice(0, -2).every(([, c]) => c === a0.d_k) && mh.slice(-2).every(([, c]) => c === rec.config.d_model), '3. multi-head: H z maps, concat and output', JSON.stringify(mh));
  const pe = await cells('#positional');
  check(pe.length === 1 && pe[0][0] === rec.positional_encoding.interleaved.length && pe[0][1] === rec.positional_encoding.d_model, '4. positional encoding: positions × dimensions cells');
  const an = await cells('#add-norm');
  check(an.length === 4 && an.every(([r, c]) => r === 1 && c === rec.config.d_model), '5. add & norm: four strips');
  check(await count('#outputs .step') === rec.steps.length, '6. output distributions: one card per decoder position');
  check(await count('#outputs .bar-row.chosen') >= rec.steps.length, '6. output distributions: the chosen word highlighted at every position');
  if (rec.beam && rec.beam.steps && rec.beam.steps.length) {
    const nodes = rec.beam.steps.reduce((n, s) => n + s.hypotheses.length, 0);
    check(await count('#beam-search svg g.node') === nodes, '7. beam: one node per hypothesis');
    check(await count('#beam-search ol.nbest li') === rec.beam.final.length, '7. beam: the n-best list');
  } else {
    check(await count('#beam-search .note.empty') === 1, '7. beam: greedy record explained');
  }

  // 1. the head view reacts to its controls.
  const lineState = () => page.$$eval('#head-view svg line.attn', (ls) => ls.map((l) =>
    [l.dataset.h, l.getAttribute('y1'), l.getAttribute('y2'), l.getAttribute('stroke-opacity')].join(',')).join(';'));
  const visibleLines = () => page.$$eval('#head-view svg line.attn', (ls) => ls.filter((l) => Number(getComputedStyle(l).strokeOpacity) > 0).length);
  const before = await lineState();
  if (rec.encoder.layers.length > 1) {
    await page.selectOption('#attention-layer', '1'); await settle();
    check(await lineState() !== before, '1. head view: switching the layer changes the lines');
    await page.selectOption('#attention-layer', '0'); await settle();
    check(await lineState() === before, '1. head view: switching back restores them');
  } else {
    await page.selectOption('#attention-kind', 'cross'); await settle();
    check(await lineState() !== before, '1. head view: switching the attention changes the lines (one layer only)');
    await page.selectOption('#attention-kind', 'encoder'); await settle();
  }
  await page.click('#head-chips .chip[data-head="0"]'); await settle();
  const toggled = await lineState();
  check(toggled !== before && !toggled.split(';').some((l) => l.startsWith('0,')), '1. head view: toggling head 0 off removes its lines');
  await page.click('#head-chips .chip[data-head="0"]'); await settle();
  check(await lineState() === before, '1. head view: toggling head 0 back on restores them');

  // Usable by everyone: the keyboard reaches the tokens and the head chips,
  // and the head colours stay apart with colour-blindness.
  const active = () => page.evaluate(() => { const a = document.activeElement; return a && a.dataset ? [a.dataset.side || '', a.dataset.index || a.dataset.head || ''].join(':') : ''; });
  await page.focus('#head-view g.token.q[data-index="0"]');
  await page.keyboard.press('ArrowDown');
  check(await active() === 'q:1', 'keyboard: ↓ moves to the next query token', await active());
  const linesOnFocus = await visibleLines();
  await page.keyboard.press('Enter');
  check(await page.$eval('#attention-table', (t) => t.dataset.query) === '1', 'keyboard: Enter on a query token opens its calculation');
  await page.keyboard.press('ArrowRight');
  check(await active() === 'k:1', 'keyboard: → moves to the key column', await active());
  check(linesOnFocus > 0 && linesOnFocus < (await page.$$eval('#head-view line.attn', (ls) => ls.length)), 'keyboard: a focused token keeps only its lines, as hovering does');
  await page.focus('#head-chips .chip[data-head="0"]');
  await page.keyboard.press('Shift+Enter');
  const onlyZero = await page.$$eval('#head-chips .chip[aria-pressed=true]', (cs) => cs.map((c) => c.dataset.head).join());
  for (let h = 1; h < rec.config.heads; h++) { await page.focus('#head-chips .chip[data-head="' + h + '"]'); await page.keyboard.press('Enter'); }
  await settle();
  check(onlyZero === '0' && await lineState() === before, 'keyboard: Shift+Enter on a head chip shows only that head, Enter toggles the others back', onlyZero);
  await page.evaluate(() => document.activeElement.blur());
  const label = await page.getAttribute('#head-view g.token.q[data-index="0"]', 'aria-label');
  check(/attends most to/.test(label) && await page.getAttribute('#head-view svg', 'aria-label'), 'text alternative: a query token says which key each head attends to most', label);
  const chipColours = await page.$$eval('#head-chips .chip', (cs) => cs.slice(0, 8).map((c) => getComputedStyle(c).borderTopColor));
  const apart = smallestDifferences(chipColours);
  check(Object.values(apart).every((d) => d >= 10), 'palette: the head colours differ by ΔE ≥ 10 as seen with normal vision, protanopia, deuteranopia and tritanopia',
    JSON.stringify(Object.fromEntries(Object.entries(apart).map(([k, v]) => [k, Number(v.toFixed(1))]))));

  const allVisible = await visibleLines();
  const hoverIndex = Math.min(rec.source.pieces.length - 1, rec.source.pieces.findIndex((p) => /it$/.test(p)) >= 0 ? rec.source.pieces.findIndex((p) => /it$/.test(p)) : 1);
  await page.hover('#head-view g.token.q[data-index="' + hoverIndex + '"]');
  const focused = await visibleLines();
  check(focused > 0 && focused < allVisible, '1. head view: hovering a source token fades the other lines', focused + ' of ' + allVisible + ' visible');
  if (screenshots) { mkdirSync(screenshots, { recursive: true }); await page.locator('#head-view').screenshot({ path: join(screenshots, 'head-view.png') }); }
  await page.mouse.move(0, 0);
  check(await visibleLines() === allVisible, '1. head view: leaving the token shows every line again');

  // 2. clicking a token fills the table with the record's numbers.
  const query = Math.min(2, rec.source.pieces.length - 1);
  await page.click('#head-view g.token.q[data-index="' + query + '"]');
  const table = await page.$eval('#attention-table', (t) => ({
    kind: t.dataset.kind, layer: Number(t.dataset.layer), head: Number(t.dataset.head), query: Number(t.dataset.query),
    softmax: [...t.querySelectorAll('td[data-col=softmax]')].map((td) => Number(td.dataset.value)),
    scores: [...t.querySelectorAll('td[data-col=score]')].map((td) => Number(td.dataset.value)),
    scaled: [...t.querySelectorAll('td[data-col=scaled]')].map((td) => Number(td.dataset.value)),
    shown: [...t.querySelectorAll('td[data-col=softmax]')].map((td) => td.textContent),
  }));
  check(table.kind === 'encoder' && table.layer === 0 && table.query === query, '2. clicking a token shows its row', JSON.stringify([table.kind, table.layer, table.query]));
  const a = rec.encoder.layers[0].self_attention;
  const sum = table.softmax.reduce((s, x) => s + x, 0);
  check(Math.abs(sum - 1) < 1e-4, '2. the softmax column sums to 1', sum);
  const close = (xs, ys, tol) => xs.length === ys.length && xs.every((x, i) => Math.abs(x - ys[i]) <= tol * Math.max(1, Math.abs(ys[i])));
  check(close(table.softmax, a.weights[table.head][query], 1e-6), '2. softmax column = record weights', JSON.stringify(table.softmax.slice(0, 4)));
  check(close(table.scores, a.scores[table.head][query], 1e-6), '2. score column = record q·k');
  check(close(table.scaled, a.scaled[table.head][query], 1e-6), '2. ÷√d_k column = record scaled scores');
  check(close(table.scaled, a.scores[table.head][query].map((s) => s / Math.sqrt(a.d_k)), 1e-4), '2. scaled = score / √d_k');
  const dot = (x, y) => x.reduce((s, xi, d) => s + xi * y[d], 0);
  const maxScore = Math.max(1, ...a.scores[table.head][query].map(Math.abs));
  check(a.k[table.head].every((k, j) => Math.abs(dot(a.q[table.head][query], k) - table.scores[j]) <= 1e-4 * maxScore * Math.sqrt(a.d_k)), '2. score = q · k of the shown vectors');
  check(table.shown.every((t, i) => Math.abs(Number(t.replace('−', '-')) - table.softmax[i]) <= 1e-3 * Math.max(1, table.softmax[i]) + 5e-4), '2. the shown softmax values are the record\'s, rounded');
  const shortQ = await page.textContent('#attention-table td[data-col=q]');
  await page.click('#all-dims');
  const longQ = await page.textContent('#attention-table td[data-col=q]');
  check(a.d_k <= 4 || (longQ.length > shortQ.length && longQ.split(',').length === a.d_k), '2. "show all dimensions" shows every dimension of q');
  await page.click('#all-dims');
  if (screenshots) await page.locator('#self-attention').screenshot({ path: join(screenshots, 'self-attention.png') });

  // The other two attentions: encoder-decoder (T queries × S keys) and the decoder's masked self-attention.
  await page.selectOption('#attention-kind', 'cross'); await settle();
  check(await count('#head-view g.token.q') === rec.target.pieces.length && await count('#head-view g.token.k') === rec.source.pieces.length,
    '1. encoder-decoder attention: target queries, source keys');
  check(await count('#attention-table tbody tr') === rec.source.pieces.length, '2. encoder-decoder attention: one table row per source piece');
  await page.selectOption('#attention-kind', 'decoder'); await settle();
  await page.click('#query-tokens .token-button[data-index="1"]');
  const masked = await page.$$eval('#attention-table td[data-col=softmax]', (tds) => tds.map((td) => Number(td.dataset.value)));
  check(masked.length === rec.target.pieces.length && masked.slice(2).every((w) => w === 0) && Math.abs(masked[0] + masked[1] - 1) < 1e-4,
    '2. decoder masked self-attention: position 1 attends to positions 0 and 1 only', JSON.stringify(masked.slice(0, 4)));
  check(await count('#multi-head svg.heatmap') === rec.config.heads + 2, '3. multi-head follows the chosen attention');
  await page.selectOption('#attention-kind', 'encoder'); await settle();
  await page.click('#query-tokens .token-button[data-index="' + query + '"]');

  // 3. multi-head: hovering a cell reads out its value.
  await page.hover('#multi-head svg.concat', { position: { x: 100, y: 10 } });
  check(/=/.test(await page.textContent('#multi-head .readout')), '3. multi-head: hovering a cell shows its value');
  if (screenshots) await page.locator('#multi-head').screenshot({ path: join(screenshots, 'multi-head.png') });

  // 4. positional encoding: the toggle switches the heat map.
  const peFills = () => page.$eval('#positional svg.heatmap image.cells', (x) => x.getAttribute('href'));
  const form = rec.positional_encoding.form;
  const other = form === 'interleaved' ? 'concatenated' : 'interleaved';
  const pe1 = await peFills();
  if (screenshots) await page.locator('#positional').screenshot({ path: join(screenshots, 'positional-encoding-' + form + '.png') });
  await page.click('#pe-' + other);
  const pe2 = await peFills();
  check(pe1 !== pe2, '4. positional encoding: the toggle switches the heat map');
  if (screenshots) await page.locator('#positional').screenshot({ path: join(screenshots, 'positional-encoding-' + other + '.png') });
  await page.click('#pe-' + form);
  check(await peFills() === pe1, '4. positional encoding: toggling back restores it');

  // 5. add & norm: choosing another sub-layer redraws; post-norm output has mean 0.
  const stripState = () => page.$$eval('#add-norm svg.heatmap image.cells', (xs) => xs.map((x) => x.getAttribute('href')).join(';'));
  const an1 = await stripState();
  await page.selectOption('#an-sub', 'feed_forward');
  check(await stripState() !== an1, '5. add & norm: another sub-layer, other vectors');
  if (screenshots) await page.locator('#add-norm').screenshot({ path: join(screenshots, 'add-norm.png') });

  // 1b. the model view: every layer × head of each attention; a click opens that head in view 1.
  const H = rec.config.heads, encL = rec.encoder.layers.length, decL = rec.decoder.layers.length;
  check(await count('#model-view .thumb') === (encL + 2 * decL) * H && await count('#model-view .thumb canvas') === (encL + 2 * decL) * H,
    '1b. model view: one map per layer × head of the three attentions', await count('#model-view .thumb'));
  const thumbSel = '#model-view .thumb[data-kind="cross"][data-layer="' + (decL - 1) + '"][data-head="' + (H - 1) + '"]';
  const thumbCanvas = page.locator(thumbSel + ' canvas');
  check(await thumbCanvas.evaluate((c) => c.width === window.explorer.record.source.pieces.length && c.height === window.explorer.record.target.pieces.length),
    '1b. model view: an encoder-decoder map has one pixel per target query × source key');
  if (screenshots) await page.locator('#model-view').screenshot({ path: join(screenshots, 'model-view.png') });
  const small = (await thumbCanvas.boundingBox()).width;
  await page.hover(thumbSel);
  // The enlargement is a short CSS transition: wait for it to end (however long a busy machine takes).
  await page.waitForFunction(([sel, w]) => document.querySelector(sel + ' canvas').getBoundingClientRect().width > 2 * w, [thumbSel, small], { timeout: 10000 }).catch(() => {});
  const large = (await thumbCanvas.boundingBox()).width;
  check(large > 2 * small, '1b. model view: hovering a map enlarges it', small + ' → ' + large);
  await page.click(thumbSel);
  await settle();
  const opened = await page.evaluate(() => ({
    kind: document.getElementById('attention-kind').value, layer: document.getElementById('attention-layer').value,
    pressed: [...document.querySelectorAll('#head-chips .chip')].filter((c) => c.getAttribute('aria-pressed') === 'true').map((c) => c.dataset.head),
    lineHeads: [...new Set([...document.querySelectorAll('#head-view line.attn')].map((l) => l.dataset.h))],
    tableHead: document.getElementById('attention-table').dataset.head,
  }));
  check(opened.kind === 'cross' && opened.layer === String(decL - 1) && opened.pressed.join() === String(H - 1) &&
    opened.lineHeads.join() === String(H - 1) && opened.tableHead === String(H - 1),
    '1b. model view: clicking a map opens that attention, layer and head in the head view', JSON.stringify(opened));
  await page.mouse.move(0, 0);

  // 9. watch it learn: the slider over the probe snapshots moves the translation, the maps, the lines and the loss marker.
  if (snapshots > 0) {
    const learnState = () => page.evaluate(() => ({
      value: document.getElementById('learn-step').value, max: document.getElementById('learn-step').max,
      output: document.getElementById('learn-output').textContent,
      maps: [...document.querySelectorAll('#learning .learn-thumb canvas')].map((c) => c.toDataURL()).join(''),
      lines: [...document.querySelectorAll('#learning svg.learn-lines line')].map((l) => l.getAttribute('stroke-opacity')).join(),
      marker: (document.querySelector('#learning svg.line-chart line.marker') || { dataset: {} }).dataset.step,
      cards: document.querySelectorAll('#learning .learn-steps .step').length,
    }));
    const last = await learnState();
    check(Number(last.max) === snapshots - 1 && last.value === last.max && last.maps.length > 0 && last.cards > 0,
      '9. watch it learn: a slider over the ' + snapshots + ' snapshots, at the last, with maps and output cards', JSON.stringify({ ...last, maps: last.maps.length, lines: last.lines.length }));
    if (screenshots) await page.locator('#learning').screenshot({ path: join(screenshots, 'watch-it-learn.png') });
    await page.focus('#learn-step');
    await page.keyboard.press('Home');   // the keyboard moves it too
    const first = await learnState();
    check(first.value === '0' && first.maps !== last.maps && first.lines !== last.lines && first.marker !== last.marker,
      '9. watch it learn: moving the slider to the first snapshot changes the maps, the lines and the loss marker',
      JSON.stringify({ first: [first.value, first.marker, first.output], last: [last.value, last.marker, last.output] }));
    await page.click('#learning .learn-thumb[data-kind="encoder"][data-layer="0"][data-head="1"]');
    check(await page.getAttribute('#learning .learn-thumb[data-kind="encoder"][data-layer="0"][data-head="1"]', 'aria-pressed') === 'true' &&
      /Encoder self-attention, layer 0, head 1/.test(await page.textContent('#learning svg.learn-lines')),
      '9. watch it learn: clicking a map shows its lines');
    // Its link reopens the same training step.
    await page.focus('#learn-step');
    await page.keyboard.press('Home');
    await page.click('#learning .link-button');
    const stepLink = page.url();
    const other = await browser.newPage();
    await other.goto(stepLink, { waitUntil: 'load' });
    await other.waitForFunction(() => document.body.classList.contains('has-record') && document.getElementById('learn-step'), null, { timeout: 120000 }).catch(() => {});
    await other.waitForFunction(() => document.getElementById('learn-step').value === '0', null, { timeout: 10000 }).catch(() => {});
    check(/step=0\b/.test(stepLink) && await other.$eval('#learn-step', (x) => x.value) === '0', '9. watch it learn: a link reopens the same training step', stepLink);
    await other.close();
    await page.focus('#learn-step');
    await page.keyboard.press('End');
  } else {
    check(await count('#learning .note.empty') === 1, '9. watch it learn: a model without probes says how to record them');
  }

  // 10. side by side: both translations, where they part, and B − A for every attention map.
  if (compared) {
    const c = await page.evaluate(() => JSON.parse(document.getElementById('compare-record').textContent));
    const A = rec, B = c.record;
    const outA = A.output.pieces, outB = B.output.pieces;
    let differ = 0;
    while (differ < outA.length && differ < outB.length && outA[differ] === outB[differ]) differ++;
    const same = differ === outA.length && differ === outB.length;
    const shown = await page.evaluate(() => ({
      visible: !document.getElementById('compare').hidden,
      sides: [...document.querySelectorAll('#compare .compare-side .translation')].map((t) => t.textContent),
      firstDiff: [...document.querySelectorAll('#compare .first-diff')].map((x) => x.textContent),
      maps: [...document.querySelectorAll('#compare figure.diff-map')].map((f) => ({ kind: f.dataset.kind, l: Number(f.dataset.layer), h: Number(f.dataset.head), max: Number(f.dataset.max) })),
    }));
    const text = (ps) => ps.join('').replace(/▁/g, ' ');
    check(shown.visible && shown.sides[0] === text(outA) && shown.sides[1] === text(outB), '10. side by side: both translations', JSON.stringify(shown.sides));
    check(same ? shown.firstDiff.length === 0 : shown.firstDiff.length >= 1 && shown.firstDiff.every((w, i) => w === [outA, outB].filter((o) => o.length > differ)[i][differ].replace(/▁/g, ' ')),
      '10. side by side: the first word where the translations part is highlighted', JSON.stringify([differ, shown.firstDiff]));
    // Every map's largest |B − A|, recomputed from the two records over the comparable rows.
    let prefix = 0;
    while (prefix < A.target.pieces.length && prefix < B.target.pieces.length && A.target.pieces[prefix] === B.target.pieces[prefix]) prefix++;
    const kinds = { encoder: ['encoder', 'self_attention'], decoder: ['decoder', 'self_attention'], cross: ['decoder', 'cross_attention'] };
    const wrong = shown.maps.filter((m) => {
      const [stack, field] = kinds[m.kind];
      const wa = A[stack].layers[m.l][field].weights[m.h], wb = B[stack].layers[m.l][field].weights[m.h];
      const rows = m.kind === 'encoder' ? wa.length : prefix, cols = m.kind === 'decoder' ? prefix : wa[0].length;
      let max = 0;
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) max = Math.max(max, Math.abs(wb[i][j] - wa[i][j]));
      return Math.abs(max - m.max) > 1e-9;
    });
    const H = A.config.heads, L = A.encoder.layers.length, DL = A.decoder.layers.length;
    check(shown.maps.length === (L + 2 * DL) * H && wrong.length === 0 && shown.maps.some((m) => m.max > 0),
      '10. side by side: a B − A map per layer × head, each one\'s largest difference the records\'', JSON.stringify({ maps: shown.maps.length, wrong: wrong.slice(0, 3) }));
    if (screenshots) await page.locator('#compare').screenshot({ path: join(screenshots, 'side-by-side.png') });
  } else {
    check(await page.$eval('#compare', (s) => s.hidden), '10. side by side: hidden without a second record');
  }

  // Export: every view as an SVG that parses and a PNG with the PNG signature.
  // Two views through their buttons and real downloads (one pure SVG, one
  // HTML with canvases); every view through the functions those buttons call
  // (a download takes chromium about a second each).
  const parseSvg = (text) => page.evaluate((t) => {
    const doc = new DOMParser().parseFromString(t, 'image/svg+xml'), root = doc.documentElement;
    return { error: doc.getElementsByTagName('parsererror').length > 0, root: root.localName, ns: root.namespaceURI,
      width: Number(root.getAttribute('width')), parts: root.querySelectorAll('*').length };
  }, text);
  const svgOk = (p) => !p.error && p.root === 'svg' && p.ns === 'http://www.w3.org/2000/svg' && p.width > 0 && p.parts >= 3;
  const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const pngOk = (bytes) => bytes.length > 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
  const downloaded = async (selector) => {
    const [d] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click(selector)]);
    const chunks = [];
    for await (const c of await d.createReadStream()) chunks.push(c);
    return { name: d.suggestedFilename(), bytes: Buffer.concat(chunks) };
  };
  const exportProblems = [];
  for (const id of ['model-view']) {
    const svg = await downloaded('#' + id + ' .export-svg');
    const parsed = await parseSvg(svg.bytes.toString('utf8'));
    if (!svgOk(parsed) || !svg.name.endsWith('.svg')) exportProblems.push(id + ' SVG ' + svg.name + ' ' + JSON.stringify(parsed));
    const png = await downloaded('#' + id + ' .export-png');
    if (!pngOk(png.bytes) || !png.name.endsWith('.png')) exportProblems.push(id + ' PNG ' + png.name + ' ' + png.bytes.length + ' bytes');
  }
  check(exportProblems.length === 0, 'export: the buttons download an SVG that parses and a PNG (the model view: HTML, canvases and SVG)', exportProblems.join('; '));
  const sectionIds = await page.$$eval('main section:not([hidden])', (ss) => ss.map((x) => x.id));
  for (const id of sectionIds) {
    const made = await page.evaluate(async (id) => {
      const svg = window.explorer.api.viewSvg(id).text;
      const png = new Uint8Array(await (await window.explorer.api.viewPng(id)).blob.arrayBuffer());
      return { svg, png: [...png.slice(0, 8)], pngSize: png.length };
    }, id);
    const parsed = await parseSvg(made.svg);
    if (!svgOk(parsed)) exportProblems.push(id + ' SVG ' + JSON.stringify(parsed));
    if (!(made.pngSize > 8 && PNG_SIGNATURE.every((b, i) => made.png[i] === b))) exportProblems.push(id + ' PNG ' + made.pngSize + ' bytes');
  }
  check(sectionIds.length >= 9 && exportProblems.length === 0, 'export: every view (' + sectionIds.length + ') makes an SVG that parses and a PNG', exportProblems.join('; '));

  // Text alternatives: every figure's SVG is labelled, and so is every model-view map.
  const unlabelled = await page.$$eval('main svg, #model-view .thumb', (xs) => xs.filter((x) => !(x.getAttribute('aria-label') || '').trim()).map((x) => x.closest('section').id + ' ' + x.getAttribute('class')));
  check(unlabelled.length === 0, 'text alternatives: every figure has an aria-label', unlabelled.slice(0, 5).join('; '));

  // A link that reopens the same sentence, view, attention, layer and head (cross, last layer, last head: from the model view).
  await page.click('#multi-head .link-button');
  const link = page.url();
  check(/#.*view=multi-head/.test(link) && await page.inputValue('#multi-head input.permalink') === link, 'link: the button puts the link in the address bar and shows it', link);
  const again = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  again.on('console', (m) => { if (m.type() === 'error') consoleErrors.push('[link page] ' + m.text()); });
  again.on('pageerror', (e) => consoleErrors.push('[link page] ' + String(e)));
  await again.goto(link, { waitUntil: 'load' });
  await again.waitForFunction(() => document.body.classList.contains('has-record') || !document.getElementById('error').hidden, null, { timeout: 120000 }).catch(() => {});
  const reopened = await again.evaluate(() => ({
    sentence: window.explorer.record && window.explorer.record.source.text,
    kind: document.getElementById('attention-kind').value, layer: document.getElementById('attention-layer').value,
    pressed: [...document.querySelectorAll('#head-chips .chip')].filter((c) => c.getAttribute('aria-pressed') === 'true').map((c) => c.dataset.head),
    viewTop: Math.round(document.getElementById('multi-head').getBoundingClientRect().top),
    error: document.getElementById('error').hidden ? '' : document.getElementById('error').textContent,
  }));
  check(reopened.sentence === rec.source.text && reopened.kind === 'cross' && reopened.layer === String(decL - 1) &&
    reopened.pressed.join() === String(H - 1) && Math.abs(reopened.viewTop) <= 2 && !reopened.error,
    'link: opening it shows the same sentence, view, attention, layer and head' + (inline ? '' : ' (translated again)'), JSON.stringify(reopened));
  // A link the model cannot show is one error naming the field.
  await again.goto('about:blank');   // a new load, not a jump within the page
  await again.goto(link.replace(/&layer=\d+/, '&layer=99'), { waitUntil: 'load' });
  await again.waitForFunction(() => !document.getElementById('error').hidden, null, { timeout: 120000 }).catch(() => {});
  const linkError = await again.textContent('#error');
  check(/"layer=99" is not one of 0 … \d+/.test(linkError), 'link: a layer the model does not have is an error naming it', linkError);
  await again.close();

  if (screenshots) {
    await page.locator('#outputs').screenshot({ path: join(screenshots, 'output-distributions.png') });
    await page.locator('#beam-search').screenshot({ path: join(screenshots, 'beam.png') });
  }

  // 8. training curves: from the record, and from a file picked by hand.
  await page.setInputFiles('#metrics-file', metricsFile);
  await page.waitForFunction(() => /from /.test(document.getElementById('metrics-status').textContent), null, { timeout: 5000 }).catch(() => {});
  check(await count('#training svg.line-chart path.series') >= 4, '8. training: loss, validation loss, learning rate and BLEU plotted from a metrics.jsonl', await page.textContent('#metrics-status'));
  if (screenshots) await page.locator('#training').screenshot({ path: join(screenshots, 'training-curves.png') });

  check(foreign.length === 0, 'the page requests nothing from the network', foreign.join(' '));
} catch (e) {
  failures++;
  console.log('FAIL ' + (e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
check(consoleErrors.length === 0, 'no console errors', consoleErrors.join(' | '));
console.log(passes + ' passed, ' + failures + ' failed');
process.exit(failures ? 1 : 0);
