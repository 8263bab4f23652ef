// The model view (bertviz's most used picture, not in the article): for each
// attention — encoder self-attention, decoder masked self-attention,
// encoder-decoder attention — every layer × head at once, each a small map
// of its softmax weights (queries down, keys across). Hovering or focusing
// one enlarges it; clicking it (or Enter) opens that layer and head in the
// head view (view 1).
//
// Each map is a canvas of one pixel per weight, scaled up by CSS: a
// 250-token sentence is 62,500 pixels a map, written in one putImageData,
// where SVG rectangles would be tens of thousands of elements each.
(function () {
  'use strict';
  const X = window.explorer, { el, KINDS, attention, queryPieces, keyPieces, layerCount, openHead, section } = X.api;

  const THUMB = 84;    // the longer side of a map on screen, in CSS pixels

  // Weight 0 … 1 → white … dark blue: one hue, lightness falling steadily,
  // which reads the same with any colour vision (and in grey).
  const STOPS = [[255, 255, 255], [107, 174, 214], [8, 48, 107]];
  function sequential(w) {
    const t = Math.max(0, Math.min(1, w || 0)) * (STOPS.length - 1);
    const i = Math.min(Math.floor(t), STOPS.length - 2), f = t - i;
    return STOPS[i].map((c, k) => Math.round(c + (STOPS[i + 1][k] - c) * f));
  }
  // The scale in 256 steps, looked up per pixel (millions of them for long sentences).
  const LEVELS = Array.from({ length: 256 }, (_, n) => sequential(n / 255));

  // One head's weights [Tq][Tk] as a canvas, one pixel per weight; `unit`:
  // the value that means weight 1 (1000 for a probe snapshot's thousandths).
  function weightsCanvas(weights, unit = 1) {
    const rows = weights.length, cols = weights[0] ? weights[0].length : 0;
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, cols); canvas.height = Math.max(1, rows);
    const ctx = canvas.getContext('2d');
    const image = ctx.createImageData(canvas.width, canvas.height);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      const [r, g, b] = LEVELS[Math.round(Math.max(0, Math.min(1, (weights[i][j] || 0) / unit)) * 255)], at = 4 * (i * cols + j);
      image.data[at] = r; image.data[at + 1] = g; image.data[at + 2] = b; image.data[at + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    return canvas;
  }

  function thumbnail(kind, layer, head, a) {
    const w = a.weights[head];
    const rows = w.length, cols = w[0].length, scale = THUMB / Math.max(rows, cols);
    const canvas = weightsCanvas(w);
    canvas.style.width = Math.max(8, Math.round(cols * scale)) + 'px';
    canvas.style.height = Math.max(8, Math.round(rows * scale)) + 'px';
    const label = KINDS[kind].label + ', layer ' + layer + ', head ' + head + ': ' + rows + ' queries × ' + cols +
      ' keys. Open it in the head view.';
    return el('button', {
      type: 'button', class: 'thumb', 'data-kind': kind, 'data-layer': layer, 'data-head': head,
      'aria-label': label, title: label, onclick: () => openHead(kind, layer, head),
    }, canvas);
  }

  function grid(kind) {
    const L = layerCount(kind), H = attention(kind, 0).heads;
    const table = el('table', { class: 'model-grid', 'data-kind': kind },
      el('caption', {}, KINDS[kind].label + ' (' + queryPieces(kind).length + ' queries × ' + keyPieces(kind).length + ' keys)'),
      el('thead', {}, el('tr', {}, el('th', {}, ''), Array.from({ length: H }, (_, h) => el('th', { scope: 'col' }, 'head ' + h)))));
    const body = el('tbody');
    for (let l = 0; l < L; l++) {
      const a = attention(kind, l);
      body.append(el('tr', {}, el('th', { scope: 'row' }, 'layer ' + l),
        Array.from({ length: H }, (_, h) => el('td', {}, thumbnail(kind, l, h, a)))));
    }
    table.append(body);
    return table;
  }

  // One attention's grid per task (the page draws each view in its own).
  X.api.weightsCanvas = weightsCanvas;   // "watch it learn" draws its snapshots' maps with it
  X.views.push({
    draw() {
      section('model-view').querySelector('.figure').replaceChildren(el('div', { class: 'model-grids' }),
        el('p', { class: 'note' }, 'White: weight 0; dark blue: weight 1. Each map: queries down, keys across.'));
    },
  });
  for (const kind of Object.keys(KINDS))
    X.views.push({ draw() { section('model-view').querySelector('.model-grids').append(grid(kind)); } });
})();
