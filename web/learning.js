// "Watch it learn": the probe sentences that `transformer train --probe`
// explained at every validation (OUT/probes.jsonl, docs/EXPLAIN.md "Probe
// snapshots"), with a slider over the training steps. At the chosen step:
// the translation, the loss curve with the step marked, the most probable
// next words at each position, every attention map, and the head view of
// one of them (click a map to choose it) — from uniform noise at step 0 to
// the trained model's alignments.
//
// The snapshots come with the model information: inline in the offline
// page, from GET /v1/model-info when served.
(function () {
  'use strict';
  const X = window.explorer, { el, svgEl, fmt, lineChart, KINDS, section, weightsCanvas, headColour } = X.api;
  const st = { snaps: [], metrics: [], probe: 0, at: 0, kind: 'cross', layer: 0, head: 0, wanted: null };
  const THUMB = 56;

  const isSnapshot = (line) => line && typeof line.step === 'number' && Array.isArray(line.probes) &&
    line.probes.every((p) => p && Array.isArray(p.source) && Array.isArray(p.target) && p.attention && Array.isArray(p.steps));
  const text = (pieces) => pieces.filter((p) => !/^<.*>$/.test(p)).join('').replace(/▁/g, ' ').trim();

  function useInfo(info, metrics) {
    const lines = Array.isArray(info.probes) ? info.probes : [];
    st.snaps = lines.filter(isSnapshot);
    st.metrics = metrics;
    st.at = Math.max(0, st.snaps.length - 1);
    st.probe = 0;
    const p = st.snaps.length ? st.snaps[0].probes[0] : null;
    if (p) { st.kind = 'cross'; st.layer = p.attention.cross.length - 1; st.head = 0; }
    draw(lines.length - st.snaps.length);
    if (st.wanted !== null) { const step = st.wanted; st.wanted = null; showStep(step); }
  }

  // The training step on screen (null without snapshots), and moving to one
  // (a link's "step="; kept until the snapshots arrive when served).
  const currentStep = () => (st.snaps.length ? st.snaps[st.at].step : null);
  function showStep(step) {
    if (!st.snaps.length) { st.wanted = step; return; }
    const at = st.snaps.findIndex((x) => x.step === step);
    if (at < 0) throw new Error('the link\'s "step=' + step + '" is not a step with a snapshot (' + st.snaps.map((x) => x.step).join(', ') + ')');
    st.at = at;
    document.getElementById('learn-step').value = at;
    drawStep();
  }
  X.api.learningStep = currentStep;
  X.api.showLearningStep = showStep;

  function draw(skipped) {
    const s = section('learning'), controls = s.querySelector('.controls'), figure = s.querySelector('.figure');
    controls.replaceChildren();
    if (!st.snaps.length) {
      figure.replaceChildren(el('p', { class: 'note empty' }, 'This model was trained without probe sentences. Train with ' +
        '--probe "a sentence" (or --probes N: the first N validation sentences), or run transformer demo, to see it learn.' +
        (skipped ? ' (' + skipped + ' unreadable snapshot lines were skipped.)' : '')));
      return;
    }
    const n = st.snaps.length, probes = st.snaps[0].probes;
    if (probes.length > 1)
      controls.append(el('label', {}, 'Sentence ', (() => {
        const sel = el('select', { id: 'learn-probe' }, probes.map((p, i) => el('option', { value: i, selected: i === st.probe }, text(p.source))));
        sel.addEventListener('change', () => { st.probe = Number(sel.value); drawStep(); });
        return sel;
      })()));
    const slider = el('input', {
      type: 'range', id: 'learn-step', min: 0, max: n - 1, step: 1, value: st.at, 'aria-label': 'training step',
    });
    slider.addEventListener('input', () => { st.at = Number(slider.value); drawStep(); });
    controls.append(el('label', { class: 'learn-slider' }, 'Training step ', slider, el('span', { id: 'learn-step-label' })));
    drawStep();
  }

  function drawStep() {
    const snap = st.snaps[st.at], p = snap.probes[Math.min(st.probe, snap.probes.length - 1)];
    const slider = document.getElementById('learn-step');
    slider.setAttribute('aria-valuetext', 'step ' + snap.step);
    document.getElementById('learn-step-label').textContent = ' ' + snap.step + ' (' + (st.at + 1) + ' of ' + st.snaps.length + ' snapshots)';
    const series = (key) => st.metrics.filter((r) => typeof r[key] === 'number' && isFinite(r[key])).map((r) => [r.step, r[key]]);
    const chart = lineChart('Loss at step ' + snap.step, [['training loss', series('loss'), '#0072b2'], ['validation loss', series('valid_loss'), '#d55e00']],
      { marker: snap.step });
    section('learning').querySelector('.figure').replaceChildren(
      el('p', { class: 'translation' }, 'Step ' + snap.step + ': ', el('span', { class: 'src' }, text(p.source)), ' → ',
        el('strong', { class: 'out', id: 'learn-output' }, p.output || '(nothing yet)')),
      el('div', { class: 'learn-row' }, chart, headLines(p)),
      el('h3', {}, 'The most probable next words at each position'),
      el('div', { class: 'steps learn-steps' }, p.steps.map((s, t) => el('div', { class: 'step', 'data-position': t },
        el('div', { class: 'step-head' }, 'after ', el('code', {}, p.target[t] || '')),
        s.top.map((e) => el('div', { class: 'bar-row' + (e.piece === s.chosen.piece ? ' chosen' : ''), 'data-prob': e.prob },
          el('span', { class: 'piece' }, e.piece),
          el('span', { class: 'bar' }, el('span', { style: 'width:' + (100 * e.prob).toFixed(1) + '%' })),
          el('span', { class: 'prob' }, (100 * e.prob).toFixed(1) + '%')))))),
      el('h3', {}, 'Every attention map (click one for its lines above)'),
      el('div', { class: 'model-grids' }, Object.keys(KINDS).map((kind) => grid(kind, p))));
  }

  // The chosen map as head-view lines: queries left, keys right, a line's
  // strength its weight.
  function headLines(p) {
    const w = p.attention[st.kind][st.layer][st.head];
    const qs = st.kind === 'encoder' ? p.source : p.target, ks = st.kind === 'decoder' ? p.target : p.source;
    const rowH = 18, top = 22, colW = 110, gap = 140, W = 2 * colW + gap, H = top + Math.max(qs.length, ks.length) * rowH + 6;
    const svg = svgEl('svg', { width: W, height: H, class: 'learn-lines', role: 'img',
      'aria-label': KINDS[st.kind].label + ', layer ' + st.layer + ', head ' + st.head + ' at this step: lines from each query to the keys it attends to' });
    const y = (i) => top + i * rowH + rowH / 2;
    let s = '<text x="2" y="12" class="col-head">' + KINDS[st.kind].label + ', layer ' + st.layer + ', head ' + st.head + '</text>';
    for (let i = 0; i < qs.length; i++) for (let j = 0; j < ks.length; j++) {
      const v = (w[i] && w[i][j]) / 1000;
      if (v >= 0.01) s += '<line class="attn" x1="' + (colW + 2) + '" y1="' + y(i) + '" x2="' + (colW + gap - 2) + '" y2="' + y(j) +
        '" stroke="' + headColour(st.head) + '" stroke-width="2" stroke-opacity="' + v.toFixed(3) + '"/>';
    }
    const label = (x, anchor, i, piece) => '<text x="' + x + '" y="' + (y(i) + 4) + '" text-anchor="' + anchor + '">' + X.api.esc(piece) + '</text>';
    qs.forEach((q, i) => { s += label(colW - 2, 'end', i, q); });
    ks.forEach((k, j) => { s += label(colW + gap + 2, 'start', j, k); });
    svg.innerHTML = s;
    return svg;
  }

  function grid(kind, p) {
    const layers = p.attention[kind];
    const body = layers.map((heads, l) => el('tr', {}, el('th', { scope: 'row' }, 'layer ' + l), heads.map((w, h) => {
      const canvas = weightsCanvas(w, 1000), rows = w.length, cols = w[0] ? w[0].length : 1, k = THUMB / Math.max(rows, cols, 1);
      canvas.style.width = Math.max(6, Math.round(cols * k)) + 'px';
      canvas.style.height = Math.max(6, Math.round(rows * k)) + 'px';
      const chosen = kind === st.kind && l === st.layer && h === st.head;
      return el('td', {}, el('button', {
        type: 'button', class: 'thumb learn-thumb' + (chosen ? ' chosen' : ''), 'data-kind': kind, 'data-layer': l, 'data-head': h,
        'aria-pressed': String(chosen), 'aria-label': KINDS[kind].label + ', layer ' + l + ', head ' + h + ' at this step: show its lines',
        onclick: () => { st.kind = kind; st.layer = l; st.head = h; drawStep(); },
      }, canvas));
    })));
    return el('table', { class: 'model-grid', 'data-kind': kind }, el('caption', {}, KINDS[kind].label),
      el('thead', {}, el('tr', {}, el('th', {}, ''), (layers[0] || []).map((_, h) => el('th', { scope: 'col' }, 'head ' + h)))),
      el('tbody', {}, body));
  }

  X.onModelInfo.push(useInfo);
  X.onStart.push(() => { if (!section('learning').querySelector('.figure').childNodes.length) draw(0); });
})();
