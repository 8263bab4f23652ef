// Side by side (`transformer explain --html --compare DIR2`, or
// --compare-compute-type / --compare-beam): the same sentence under two
// models or settings. The page's record is A; <script id="compare-record">
// holds {"a": label, "b": label, "record": B}. Shown: both translations with
// the first word where they part highlighted, and for every attention map
// the difference of the weights B − A on a diverging scale.
//
// Which weights can be compared: the decoder is causal, so its rows are
// comparable up to the last position where both decoders were fed the same
// pieces (the common prefix of the two outputs); the encoder's wholly, when
// both read the same source pieces.
(function () {
  'use strict';
  const X = window.explorer, { el, fmt, KINDS, section } = X.api;
  const THUMB = 84;

  function loadCompare() {
    const e = document.getElementById('compare-record');
    if (!e || !e.textContent.trim()) return null;
    const c = JSON.parse(e.textContent);
    if (!c || typeof c !== 'object' || !c.record || typeof c.a !== 'string' || typeof c.b !== 'string')
      throw new Error('the compare record is not {"a": label, "b": label, "record": explain record}');
    return c;
  }

  // Index of the first difference of two arrays (their common length when one is a prefix of the other).
  function firstDifference(x, y) {
    let i = 0;
    while (i < x.length && i < y.length && x[i] === y[i]) i++;
    return i;
  }

  const weightsOf = (rec, kind, layer) => rec[KINDS[kind].stack].layers[layer][KINDS[kind].field].weights;

  // B − A over the comparable rows (and, for the decoder, columns) as a
  // canvas on a blue (B lower) – white – red (B higher) scale.
  function diffMap(a, b, rows, cols, scale) {
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, cols); canvas.height = Math.max(1, rows);
    const ctx = canvas.getContext('2d'), image = ctx.createImageData(canvas.width, canvas.height);
    let max = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      const d = (b[i][j] || 0) - (a[i][j] || 0), t = Math.max(-1, Math.min(1, d / scale)), w = Math.abs(t);
      max = Math.max(max, Math.abs(d));
      const [r, g, bl] = t < 0 ? [33, 102, 172] : [178, 24, 43], at = 4 * (i * cols + j);
      image.data[at] = Math.round(255 + (r - 255) * w); image.data[at + 1] = Math.round(255 + (g - 255) * w);
      image.data[at + 2] = Math.round(255 + (bl - 255) * w); image.data[at + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    return { canvas, max };
  }

  // The comparable rows and columns of an attention: [rows, cols], or null.
  function region(kind, A, B, prefix) {
    if (kind === 'encoder') return A.source.pieces.join('\u0001') === B.source.pieces.join('\u0001') ? [A.source.pieces.length, A.source.pieces.length] : null;
    if (kind === 'decoder') return prefix > 0 ? [prefix, prefix] : null;
    return A.source.pieces.join('\u0001') === B.source.pieces.join('\u0001') && prefix > 0 ? [prefix, A.source.pieces.length] : null;
  }

  function sentence(label, rec, differAt, cls) {
    const pieces = rec.output ? rec.output.pieces : [];
    return el('div', { class: 'compare-side ' + cls },
      el('div', { class: 'compare-label' }, label),
      el('div', { class: 'translation' }, pieces.map((p, i) => el('span', { class: i === differAt ? 'first-diff' : i > differAt ? 'after-diff' : '' },
        p.replace(/▁/g, ' ')))));
  }

  function draw() {
    const s = section('compare');
    let c;
    try { c = loadCompare(); } catch (e) { X.api.showError('Cannot draw the side-by-side view: ' + e.message); c = null; }
    s.hidden = !c;
    if (!c) return;
    const A = X.record, B = c.record, figure = s.querySelector('.figure');
    const outA = A.output ? A.output.pieces : [], outB = B.output ? B.output.pieces : [];
    const differAt = firstDifference(outA, outB);
    const same = differAt === outA.length && differAt === outB.length;
    // Decoder positions fed the same pieces: BOS + the common prefix of the outputs.
    const prefix = firstDifference(A.target.pieces, B.target.pieces);
    const shapes = (r) => [r.encoder.layers.length, r.decoder.layers.length, r.config.heads].join();
    const parts = [
      sentence('A: ' + c.a, A, same ? -1 : differAt, 'side-a'),
      sentence('B: ' + c.b, B, same ? -1 : differAt, 'side-b'),
      el('p', { class: 'note', id: 'compare-outputs' }, same ? 'Both translate it the same.' :
        'The translations part at word ' + (differAt + 1) + ' (highlighted); the decoders are compared up to there: positions 0 … ' + (prefix - 1) + '.'),
    ];
    if (shapes(A) !== shapes(B)) {
      parts.push(el('p', { class: 'note' }, 'The two models have different layers or heads: their attention maps cannot be set side by side.'));
      figure.replaceChildren(...parts);
      return;
    }
    // One colour scale for every map: the largest difference anywhere.
    const maps = [];
    let scale = 0;
    for (const kind of Object.keys(KINDS)) {
      const area = region(kind, A, B, prefix);
      for (let l = 0; l < A[KINDS[kind].stack].layers.length; l++) {
        const wa = weightsOf(A, kind, l), wb = weightsOf(B, kind, l);
        for (let h = 0; h < wa.length; h++) {
          maps.push({ kind, l, h, wa: wa[h], wb: wb[h], area });
          if (area) for (let i = 0; i < area[0]; i++) for (let j = 0; j < area[1]; j++) scale = Math.max(scale, Math.abs((wb[h][i][j] || 0) - (wa[h][i][j] || 0)));
        }
      }
    }
    let largest = null;
    const grids = Object.keys(KINDS).map((kind) => {
      const mine = maps.filter((m) => m.kind === kind), H = A.config.heads;
      const area = mine[0] ? mine[0].area : null;
      const body = el('tbody');
      for (let l = 0; l < A[KINDS[kind].stack].layers.length; l++) {
        body.append(el('tr', {}, el('th', { scope: 'row' }, 'layer ' + l), mine.filter((m) => m.l === l).map((m) => {
          if (!area) return el('td', { class: 'empty' }, '—');
          const { canvas, max } = diffMap(m.wa, m.wb, area[0], area[1], scale || 1);
          if (!largest || max > largest.max) largest = { ...m, max };
          const k = THUMB / Math.max(area[0], area[1]);
          canvas.style.width = Math.max(8, Math.round(area[1] * k)) + 'px';
          canvas.style.height = Math.max(8, Math.round(area[0] * k)) + 'px';
          return el('td', {}, el('figure', {
            class: 'diff-map', 'data-kind': kind, 'data-layer': l, 'data-head': m.h, 'data-max': max, role: 'img',
            'aria-label': KINDS[kind].label + ', layer ' + l + ', head ' + m.h + ': weights of B minus A, largest difference ' + fmt(max, 3),
            title: 'largest |B − A| ' + fmt(max, 3),
          }, canvas));
        })));
      }
      return el('table', { class: 'model-grid', 'data-kind': kind },
        el('caption', {}, KINDS[kind].label + (area ? ' (' + area[0] + ' × ' + area[1] + ')' : ': nothing in common to compare')),
        el('thead', {}, el('tr', {}, el('th', {}, ''), Array.from({ length: H }, (_, h) => el('th', { scope: 'col' }, 'head ' + h)))), body);
    });
    parts.push(el('p', { class: 'note', id: 'compare-largest' }, largest && largest.max > 0
      ? 'Largest difference: ' + fmt(largest.max, 3) + ' in ' + KINDS[largest.kind].label.toLowerCase() + ', layer ' + largest.l + ', head ' + largest.h +
        '. Red: B attends more than A; blue: less; white: the same (scale ±' + fmt(scale, 3) + ').'
      : 'The attention weights are the same in both, as far as they can be compared.'),
    el('div', { class: 'model-grids' }, grids));
    figure.replaceChildren(...parts);
  }

  X.views.push({ draw });
})();
