// The explorer: "The Illustrated Transformer", drawn from one explain record
// (docs/EXPLAIN.md, format `transformer-explain`, version 1).
//
// Where the record comes from:
//   - the offline page written by `transformer explain --html` carries it in
//     <script id="explain-record" type="application/json">;
//   - the page served by `transformer serve` has none: a sentence typed in the
//     form is POSTed to /v1/explain and the response is drawn.
// Every view is SVG or HTML generated from the record; nothing is fetched
// except that POST. One section per picture of the article, in its order.
(function () {
  'use strict';

  const SVGNS = 'http://www.w3.org/2000/svg';
  // One colour per head, as in bertviz, from Okabe and Ito's palette for
  // colour-blind readers: no two of the eight are confused with protanopia,
  // deuteranopia or tritanopia (tests/browser/colour_vision.mjs checks the
  // page's own chips). Heads 8 and up reuse them with dashed lines.
  const HEAD_COLOURS = ['#0072b2', '#e69f00', '#009e73', '#d55e00', '#cc79a7', '#56b4e9', '#f0e442', '#000000'];
  const headColour = (h) => HEAD_COLOURS[h % HEAD_COLOURS.length];
  const headDash = (h) => (h >= HEAD_COLOURS.length ? '6 3' : null);
  // Text on a colour: black on the light ones (yellow, orange, sky blue), else white.
  function inkOn(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 ? '#000' : '#fff';
  }

  const state = {
    rec: null,
    kind: 'encoder',        // which attention: encoder | decoder | cross
    layer: 0,
    heads: new Set(),       // heads drawn in the head view
    hover: null,            // { side: 'q' | 'k', index }
    query: 0,               // the position whose calculation view 2 shows
    detailHead: 0,
    allDims: false,         // view 2: every dimension of q, k, v, z or the first few
    peForm: 'interleaved',
    an: { stack: 'encoder', layer: 0, sub: 'self_attention', pos: 0 },
  };
  const FEW_DIMS = 4;

  // ---------- small helpers ----------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  function fmt(x, digits = 4) {
    if (x === null || x === undefined) return '−∞';
    if (x === 0) return '0';
    const a = Math.abs(x);
    const s = a >= 1e4 || a < 1e-3 ? x.toExponential(digits - 1) : x.toPrecision(digits);
    return s.replace('-', '−');
  }
  const fmtVec = (v, all) => '[' + (all || v.length <= FEW_DIMS ? v : v.slice(0, FEW_DIMS)).map((x) => fmt(x, 3)).join(', ') +
    (!all && v.length > FEW_DIMS ? ', … (' + v.length + ')' : '') + ']';
  const maxAbs = (rows) => rows.reduce((m, r) => r.reduce((mm, x) => Math.max(mm, Math.abs(x || 0)), m), 0) || 1;

  // Diverging scale: blue (negative) – white – red (positive), |x| / scale clipped to 1.
  function divergingRgb(x, scale) {
    const t = Math.max(-1, Math.min(1, (x || 0) / scale));
    const [r, g, b] = t < 0 ? [33, 102, 172] : [178, 24, 43];
    const a = Math.abs(t);
    return [r, g, b].map((c) => Math.round(255 + (c - 255) * a));
  }
  const diverging = (x, scale) => 'rgb(' + divergingRgb(x, scale).join(',') + ')';

  function select(options, value, onchange, attrs) {
    const s = el('select', attrs);
    for (const [v, label] of options) s.append(el('option', { value: v, selected: String(v) === String(value) }, label));
    s.addEventListener('change', () => onchange(s.value));
    return s;
  }
  const section = (id) => document.getElementById(id);
  function reset(id) {
    const s = section(id);
    const controls = s.querySelector('.controls');
    const figure = s.querySelector('.figure');
    if (controls && id !== 'training') controls.replaceChildren();
    figure.replaceChildren();
    return { controls, figure };
  }

  // ---------- the record ----------

  const KINDS = {
    encoder: { label: 'Encoder self-attention', stack: 'encoder', field: 'self_attention' },
    decoder: { label: 'Decoder masked self-attention', stack: 'decoder', field: 'self_attention' },
    cross: { label: 'Encoder-decoder attention', stack: 'decoder', field: 'cross_attention' },
  };
  function attention(kind, layer) {
    const k = KINDS[kind];
    return state.rec[k.stack].layers[layer][k.field];
  }
  const queryPieces = (kind) => (kind === 'encoder' ? state.rec.source.pieces : state.rec.target.pieces);
  const keyPieces = (kind) => (kind === 'decoder' ? state.rec.target.pieces : state.rec.source.pieces);
  const layerCount = (kind) => state.rec[KINDS[kind].stack].layers.length;

  function checkRecord(rec) {
    if (!rec || typeof rec !== 'object') throw new Error('the explain record is not a JSON object');
    if (rec.format !== 'transformer-explain') throw new Error('not an explain record: "format" is ' + JSON.stringify(rec.format) + ', expected "transformer-explain"');
    if (rec.version !== 1) throw new Error('explain record version ' + rec.version + ' is not supported by this page (it draws version 1)');
    for (const f of ['config', 'source', 'target', 'encoder', 'decoder', 'steps', 'positional_encoding'])
      if (!(f in rec)) throw new Error('the explain record has no "' + f + '" field');
  }

  // Draws every view of a record. The head view is drawn at once; each other
  // view in a task of its own, so that a long sentence never holds the page
  // for all of them together. The promise resolves once all are drawn (then
  // <body> has the class has-record), to false when a newer record took over.
  let drawing = 0;
  function draw(rec) {
    checkRecord(rec);
    state.rec = rec;
    window.explorer.record = rec;
    const H = rec.config.heads || attention('encoder', 0).heads;
    state.heads = new Set(Array.from({ length: H }, (_, h) => h));
    state.kind = 'encoder'; state.layer = 0; state.query = 0; state.detailHead = 0; state.hover = null;
    state.peForm = rec.positional_encoding.form || 'interleaved';
    state.an = { stack: 'encoder', layer: 0, sub: 'self_attention', pos: 0 };
    for (const s of document.querySelectorAll('main section')) s.hidden = false;
    document.body.classList.remove('has-record');
    const generation = ++drawing;
    drawSummary();
    drawHeadView();
    const rest = [drawSelfAttention, drawMultiHead, drawPositional, drawAddNorm, drawOutputs, drawBeam,
      ...window.explorer.views.map((view) => () => view.draw(rec))];
    return new Promise((resolve, reject) => {
      const next = () => {
        if (generation !== drawing) { resolve(false); return; }
        const view = rest.shift();
        if (!view) { document.body.classList.add('has-record'); resolve(true); return; }
        try { view(); } catch (e) { reject(e); return; }
        setTimeout(next, 0);
      };
      setTimeout(next, 0);
    });
  }

  function drawSummary() {
    const r = state.rec, c = r.config;
    const sum = document.getElementById('summary');
    // replaceChildren() would print a null as the text "null": drop them.
    sum.replaceChildren(...[
      el('p', { class: 'translation' },
        el('span', { class: 'src' }, r.source.text), ' → ', el('strong', { class: 'out' }, r.output ? r.output.text : '')),
      r.prefix ? el('p', { class: 'prefix-note' },
        'Forced to start with "' + r.prefix.text + '" (' + r.prefix.pieces.length + ' pieces); the model went on from there. ' +
        'View 6 shows what it would have chosen instead at each forced position.') : null,
      el('p', { class: 'config' },
        'd_model ' + c.d_model + ' · ' + c.heads + ' heads (d_k ' + c.d_model / c.heads + ') · ' + c.encoder_layers + ' encoder + ' + c.decoder_layers +
        ' decoder layers · d_ff ' + c.d_ff + ' · ' + c.norm + '-norm · ' + c.positional_encoding + ' positional encoding · ' +
        r.source.pieces.length + ' source pieces, ' + r.target.pieces.length + ' decoder positions'),
      r.synthetic ? el('p', { class: 'warning' }, 'This is a synthetic record (random numbers) for developing the page, not a model\'s.') : null,
    ].filter((x) => x !== null));
  }

  // ---------- 1. the attention head view ----------

  function drawHeadView() {
    const { controls } = reset('head-view');
    const H = attention(state.kind, 0).heads;
    controls.append(
      el('label', {}, 'Attention ', select(Object.entries(KINDS).map(([k, v]) => [k, v.label]), state.kind, (v) => {
        state.kind = v; state.layer = Math.min(state.layer, layerCount(v) - 1);
        state.query = Math.min(state.query, queryPieces(v).length - 1); state.hover = null;
        drawAttentionViews();
      }, { id: 'attention-kind' })),
      el('label', {}, ' Layer ', select(Array.from({ length: layerCount(state.kind) }, (_, l) => [l, String(l)]), state.layer, (v) => {
        state.layer = Number(v); state.hover = null;
        drawAttentionViews();
      }, { id: 'attention-layer' })),
      el('span', { class: 'chips', id: 'head-chips' }, ' Heads ',
        Array.from({ length: H }, (_, h) => el('button', {
          class: 'chip', type: 'button', 'data-head': h, 'aria-pressed': String(state.heads.has(h)),
          style: '--head:' + headColour(h) + ';--head-ink:' + inkOn(headColour(h)) + (headDash(h) ? ';border-style:dashed' : ''),
          title: 'click (Enter): show/hide head ' + h + '; double-click (Shift+Enter): only this head',
          'aria-label': 'head ' + h + ' (Shift+Enter: only this head)',
          onclick: () => { state.heads.has(h) ? state.heads.delete(h) : state.heads.add(h); drawHeadLines(); },
          ondblclick: () => { state.heads = new Set([h]); drawHeadLines(); },
          onkeydown: (e) => {   // the keyboard's double-click
            if (e.key === 'Enter' && e.shiftKey) { e.preventDefault(); state.heads = new Set([h]); drawHeadLines(); }
          },
        }, String(h)))));
    drawHeadLines();
  }

  let headLinesTurn = 0;   // a newer drawing of the lines drops the heads still waiting
  function drawHeadLines() {
    const figure = section('head-view').querySelector('.figure');
    for (const chip of section('head-view').querySelectorAll('.chip'))
      chip.setAttribute('aria-pressed', String(state.heads.has(Number(chip.dataset.head))));
    const a = attention(state.kind, state.layer);
    const qs = queryPieces(state.kind), ks = keyPieces(state.kind);
    const rowH = 22, top = 28, colW = 150, gap = 220;
    const leftX = colW, rightX = colW + gap;
    const height = top + Math.max(qs.length, ks.length) * rowH + 10;
    // A group, not an image: its tokens are buttons a keyboard and a screen reader reach.
    const svg = svgEl('svg', { width: 2 * colW + gap, height, class: 'head-view', role: 'group',
      'aria-label': KINDS[state.kind].label + ', layer ' + state.layer + ', heads ' + [...state.heads].sort((x, y2) => x - y2).join(', ') +
        ': lines from each query on the left to the keys it attends to on the right, stronger for larger weights' });
    const heading = (x, anchor, text) => { const t = svgEl('text', { x, y: 14, 'text-anchor': anchor, class: 'col-head' }); t.textContent = text; svg.append(t); };
    heading(leftX - 6, 'end', state.kind === 'encoder' ? 'source (queries)' : 'target (queries)');
    heading(rightX + 6, 'start', state.kind === 'decoder' ? 'target (keys)' : 'source (keys)');
    const y = (i) => top + i * rowH + rowH / 2;
    // Lines: one per head, query i, key j, with the softmax weight as opacity.
    // Each head's are one string, drawn in a task of its own: a long
    // sentence has tens of thousands of lines.
    const headLines = (h) => {
      const w = a.weights[h];
      const common = '" stroke="' + headColour(h) + '" stroke-width="2"' + (headDash(h) ? ' stroke-dasharray="' + headDash(h) + '"' : '') + ' data-h="' + h + '"';
      let html = '';
      for (let i = 0; i < qs.length; i++) for (let j = 0; j < ks.length; j++) {
        const wij = w[i][j];
        if (!(wij >= 0.01)) continue;
        html += '<line class="attn" x1="' + (leftX + 4) + '" y1="' + y(i) + '" x2="' + (rightX - 4) + '" y2="' + y(j) + common +
          ' stroke-opacity="' + wij.toFixed(4) + '" data-q="' + i + '" data-k="' + j + '"/>';
      }
      const g = svgEl('g', { class: 'head-lines', 'data-h': h });
      g.innerHTML = html;
      lines.append(g);
    };
    const lines = svgEl('g', { class: 'lines', 'aria-hidden': 'true' });
    const turn = ++headLinesTurn;
    [...state.heads].sort((x, y2) => x - y2).forEach((h, n) => {
      if (n === 0) headLines(h);
      else setTimeout(() => { if (turn === headLinesTurn) headLines(h); }, 0);
    });
    // Hovering hides the other lines with one CSS rule, not one change per line.
    svg.append(svgEl('style', { class: 'focus-rule' }), lines);
    // The text alternative of a query: the key each shown head attends to most.
    const strongest = (i) => [...state.heads].sort((x, y2) => x - y2).map((h) => {
      const row = a.weights[h][i];
      let best = 0;
      row.forEach((w, j) => { if (w > row[best]) best = j; });
      return 'head ' + h + ' attends most to ' + ks[best] + ' (' + fmt(row[best], 2) + ')';
    }).join('; ');
    const token = (side, i, text) => {
      const label = side === 'q'
        ? 'query ' + text + ', position ' + i + ': ' + strongest(i) + '. Enter: its calculation below.'
        : 'key ' + text + ', position ' + i + ': show the lines to it';
      const g = svgEl('g', { class: 'token ' + side, 'data-side': side, 'data-index': i, tabindex: 0, role: 'button', 'aria-label': label });
      const x = side === 'q' ? leftX - 4 : rightX + 4;
      g.append(svgEl('rect', { x: side === 'q' ? 4 : rightX, y: top + i * rowH + 2, width: colW - 4, height: rowH - 4, rx: 3 }));
      const t = svgEl('text', { x, y: y(i) + 4, 'text-anchor': side === 'q' ? 'end' : 'start' });
      t.textContent = text;
      g.append(t);
      const show = () => { state.hover = { side, index: i }; focusLines(); };
      const hide = () => { state.hover = null; focusLines(); };
      const choose = () => { if (side === 'q') { state.query = i; drawSelfAttention(); focusLines(); } };
      g.addEventListener('mouseenter', show);
      g.addEventListener('mouseleave', hide);
      g.addEventListener('focus', show);    // the keyboard's hover
      g.addEventListener('blur', hide);
      g.addEventListener('click', choose);
      g.addEventListener('keydown', (e) => tokenKey(e, side, i, choose));
      svg.append(g);
    };
    qs.forEach((p, i) => token('q', i, p));
    ks.forEach((p, j) => token('k', j, p));
    figure.replaceChildren(svg);
    focusLines();
  }

  // Keys on a head-view token: Enter or Space chooses it (a query opens its
  // calculation), ↑ ↓ move along its column, ← → to the other column.
  function tokenKey(e, side, i, choose) {
    const svg = section('head-view').querySelector('svg');
    const at = (s, k) => svg.querySelector('g.token.' + s + '[data-index="' + k + '"]');
    let next = null;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); choose(); return; }
    if (e.key === 'ArrowDown') next = at(side, i + 1);
    else if (e.key === 'ArrowUp') next = at(side, i - 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      const other = side === 'q' ? 'k' : 'q', count = svg.querySelectorAll('g.token.' + other).length;
      next = at(other, Math.min(i, count - 1));
    } else return;
    e.preventDefault();
    if (next) next.focus();
  }

  // Hovering a token keeps only its lines (the article's "it" → "The animal").
  function focusLines() {
    const svg = section('head-view').querySelector('svg');
    if (!svg) return;
    const hv = state.hover;
    svg.querySelector('style.focus-rule').textContent = hv ? '#head-view line.attn:not([data-' + hv.side + '="' + hv.index + '"]) { stroke-opacity: 0; }' : '';
    for (const g of svg.querySelectorAll('g.token')) {
      const i = Number(g.dataset.index);
      g.classList.toggle('hovered', !!hv && hv.side === g.dataset.side && hv.index === i);
      g.classList.toggle('selected', g.dataset.side === 'q' && i === state.query);
    }
  }

  // Views 1-3 after the attention or the layer changed: the head view at
  // once, the other two each in a task of its own (a long sentence stays
  // responsive); a newer change supersedes the ones still waiting.
  let attentionTurn = 0;
  function drawAttentionViews() {
    const turn = ++attentionTurn;
    drawHeadView();
    setTimeout(() => { if (turn === attentionTurn) drawSelfAttention(); }, 0);
    setTimeout(() => { if (turn === attentionTurn) drawMultiHead(); }, 0);
  }

  // Shows one head (null: every head) of one layer in views 1-3 (the model
  // view's maps and the page's links open their head here).
  function openHead(kind, layer, head) {
    if (!KINDS[kind]) throw new Error('no attention "' + kind + '"');
    state.kind = kind;
    state.layer = Math.max(0, Math.min(layer, layerCount(kind) - 1));
    const H = attention(kind, state.layer).heads;
    state.heads = head === null ? new Set(Array.from({ length: H }, (_, h) => h)) : new Set([head]);
    state.detailHead = head === null ? 0 : head;
    state.query = Math.min(state.query, queryPieces(kind).length - 1);
    state.hover = null;
    drawAttentionViews();
    section('head-view').scrollIntoView({ block: 'start' });
  }

  // ---------- 2. self-attention in detail ----------

  function drawSelfAttention() {
    const { controls, figure } = reset('self-attention');
    const a = attention(state.kind, state.layer);
    const qs = queryPieces(state.kind), ks = keyPieces(state.kind);
    const h = Math.min(state.detailHead, a.heads - 1), i = Math.min(state.query, qs.length - 1);
    controls.append(
      el('span', {}, KINDS[state.kind].label + ', layer ' + state.layer + ' (chosen in view 1). '),
      el('label', {}, 'Head ', select(Array.from({ length: a.heads }, (_, x) => [x, String(x)]), h, (v) => { state.detailHead = Number(v); drawSelfAttention(); }, { id: 'detail-head' })),
      el('label', {}, ' ', el('input', { type: 'checkbox', id: 'all-dims', checked: state.allDims, onchange: (e) => { state.allDims = e.target.checked; drawSelfAttention(); } }),
        ' show all ' + a.d_k + ' dimensions'),
      el('div', { class: 'token-strip', id: 'query-tokens' }, 'Word: ', qs.map((p, x) => el('button', {
        type: 'button', class: 'token-button' + (x === i ? ' selected' : ''), 'data-index': x,
        onclick: () => { state.query = x; drawSelfAttention(); focusLines(); },
      }, p))));
    const q = a.q[h][i], sqrt = Math.sqrt(a.d_k);
    const all = state.allDims;
    const rows = ks.map((p, j) => {
      const w = a.weights[h][i][j];
      const wv = a.v[h][j].map((x) => w * x);
      return el('tr', { 'data-key': j, class: a.scaled[h][i][j] === null ? 'masked' : '' },
        el('th', { scope: 'row' }, p),
        j === 0 ? el('td', { class: 'vec', rowspan: ks.length, 'data-col': 'q' }, fmtVec(q, all)) : null,
        el('td', { class: 'vec', 'data-col': 'k' }, fmtVec(a.k[h][j], all)),
        el('td', { class: 'vec', 'data-col': 'v' }, fmtVec(a.v[h][j], all)),
        el('td', { class: 'num', 'data-col': 'score', 'data-value': a.scores[h][i][j] ?? '' }, a.scaled[h][i][j] === null ? 'masked' : fmt(a.scores[h][i][j])),
        el('td', { class: 'num', 'data-col': 'scaled', 'data-value': a.scaled[h][i][j] ?? '' }, fmt(a.scaled[h][i][j])),
        el('td', { class: 'num softmax', 'data-col': 'softmax', 'data-value': w, style: '--w:' + w }, fmt(w)),
        el('td', { class: 'vec', 'data-col': 'weighted-v' }, fmtVec(wv, all)));
    });
    const z = a.z[h][i];
    const sumW = a.weights[h][i].reduce((s, x) => s + x, 0);
    const zCheck = Math.max(...z.map((zd, d) => Math.abs(zd - a.weights[h][i].reduce((s, w, j) => s + w * a.v[h][j][d], 0))));
    const table = el('table', { class: 'detail', id: 'attention-table', 'data-kind': state.kind, 'data-layer': state.layer, 'data-head': h, 'data-query': i },
      el('thead', {}, el('tr', {},
        el('th', {}, 'Input'), el('th', {}, 'Query q'), el('th', {}, 'Key k'), el('th', {}, 'Value v'),
        el('th', {}, 'Score q · k'), el('th', {}, 'Divide by √d_k = ' + fmt(sqrt, 3)), el('th', {}, 'Softmax'), el('th', {}, 'Softmax × Value'))),
      el('tbody', {}, rows),
      el('tfoot', {}, el('tr', {},
        el('th', { scope: 'row', colspan: 6 }, 'Sum: z = Σ softmax × v for "' + qs[i] + '"'),
        el('td', { class: 'num', 'data-col': 'softmax-sum', 'data-value': sumW }, fmt(sumW, 6)),
        el('td', { class: 'vec', 'data-col': 'z' }, fmtVec(z, all)))));
    figure.append(el('p', { class: 'note' }, 'Head ' + h + ', word "' + qs[i] + '" (position ' + i + '). ' +
      'The z in the record matches Σ softmax × v to ' + fmt(zCheck, 2) + '.'), el('div', { class: 'scroll' }, table));
  }

  // ---------- heat maps (views 3, 4, 5) ----------

  // A heat map of rows × columns: an SVG with its labels and one <image> of
  // the cells, one pixel per value scaled up without smoothing, so that a
  // 250-position × 512-dimension map is one image rather than 128,000
  // elements. Hovering shows the cell's value in `readout`.
  function heatmap(rows, opts) {
    const nr = rows.length, nc = rows[0] ? rows[0].length : 0;
    const cw = opts.cellW, ch = opts.cellH, lw = opts.labels ? opts.labelW || 90 : 0, tp = opts.title ? 16 : 0;
    const scale = opts.scale || maxAbs(rows);
    let s = '';
    if (opts.title) s += '<text x="' + lw + '" y="11" class="map-title">' + esc(opts.title) + '</text>';
    if (opts.labels && ch >= 8) for (let i = 0; i < nr; i++)
      s += '<text x="' + (lw - 4) + '" y="' + (tp + i * ch + ch - 2) + '" text-anchor="end" class="row-label">' + esc(opts.labels[i]) + '</text>';
    s += '<image class="cells" x="' + lw + '" y="' + tp + '" width="' + nc * cw + '" height="' + nr * ch + '" preserveAspectRatio="none" ' +
      'style="image-rendering: pixelated" data-rows="' + nr + '" data-cols="' + nc + '" href="' + cellsImage(rows, scale) + '"/>';
    for (const g of opts.groups || []) s += '<line class="group" x1="' + (lw + g * cw) + '" x2="' + (lw + g * cw) + '" y1="' + tp + '" y2="' + (tp + nr * ch) + '"/>';
    const width = lw + nc * cw + 2, height = tp + nr * ch + 2;
    const holder = document.createElementNS(SVGNS, 'svg');
    holder.setAttribute('width', width); holder.setAttribute('height', height);
    holder.setAttribute('class', 'heatmap ' + (opts.cls || ''));
    let lo = Infinity, hi = -Infinity;
    for (const row of rows) for (const x of row) if (typeof x === 'number') { if (x < lo) lo = x; if (x > hi) hi = x; }
    holder.setAttribute('role', 'img');
    holder.setAttribute('aria-label', (opts.title || opts.name || 'heat map') + ': ' + nr + ' rows × ' + nc + ' columns, values from ' +
      fmt(lo, 3) + ' (blue) to ' + fmt(hi, 3) + ' (red)');
    holder.innerHTML = s;
    holder.addEventListener('mousemove', (e) => {
      if (!opts.readout) return;
      const r = holder.getBoundingClientRect();
      const j = Math.floor((e.clientX - r.left - lw) / cw), i = Math.floor((e.clientY - r.top - tp) / ch);
      if (i >= 0 && i < nr && j >= 0 && j < nc)
        opts.readout.textContent = (opts.name || '') + ' [' + (opts.labels ? opts.labels[i] + ' · ' : '') + (opts.rowName || 'row') + ' ' + i + ', dimension ' + j + '] = ' + fmt(rows[i][j], 6);
    });
    return holder;
  }

  // The cells as a PNG data URL, one pixel per value, on the diverging scale.
  function cellsImage(rows, scale) {
    const nr = rows.length, nc = rows[0] ? rows[0].length : 0;
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, nc); canvas.height = Math.max(1, nr);
    const ctx = canvas.getContext('2d'), image = ctx.createImageData(canvas.width, canvas.height);
    for (let i = 0; i < nr; i++) for (let j = 0; j < nc; j++) {
      const [r, g, b] = divergingRgb(rows[i][j], scale), at = 4 * (i * nc + j);
      image.data[at] = r; image.data[at + 1] = g; image.data[at + 2] = b; image.data[at + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    return canvas.toDataURL('image/png');
  }
  const cellWidth = (D) => Math.max(2, Math.min(16, Math.floor(900 / D)));

  // ---------- 3. multi-head ----------

  function drawMultiHead() {
    const { controls, figure } = reset('multi-head');
    const a = attention(state.kind, state.layer);
    const qs = queryPieces(state.kind);
    const D = a.concat[0].length, cw = cellWidth(D), chh = Math.max(8, Math.min(14, Math.floor(300 / qs.length)));
    const readout = el('div', { class: 'readout' }, 'hover a cell');
    controls.append(el('span', {}, KINDS[state.kind].label + ', layer ' + state.layer + ' (chosen in view 1); ' + a.heads + ' heads of d_k = ' + a.d_k + '.'));
    const heads = el('div', { class: 'heads-row' }, a.z.map((zh, h) => el('figure', { class: 'head-z', style: '--head:' + headColour(h) },
      heatmap(zh, { cellW: cw, cellH: chh, labels: h === 0 ? qs : null, readout, name: 'Z' + h, rowName: 'position' }),
      el('figcaption', {}, 'Z', el('sub', {}, String(h)), ' (head ' + h + ')'))));
    const groups = Array.from({ length: a.heads - 1 }, (_, h) => (h + 1) * a.d_k);
    figure.append(
      el('h3', {}, '1) Each head\'s output Z'), heads,
      el('h3', {}, '2) Concatenate all the attention heads'),
      heatmap(a.concat, { cellW: cw, cellH: chh, labels: qs, readout, name: 'concat', rowName: 'position', groups, cls: 'concat' }),
      el('h3', {}, '3) Multiply with the weight matrix W', el('sup', {}, 'O'), ' → Z, the output of the attention layer'),
      heatmap(a.output, { cellW: cw, cellH: chh, labels: qs, readout, name: 'Z = concat · W^O', rowName: 'position', cls: 'output' }),
      readout);
  }

  // ---------- 4. positional encoding ----------

  function drawPositional() {
    const { controls, figure } = reset('positional');
    const pe = state.rec.positional_encoding;
    const readout = el('div', { class: 'readout' }, 'hover a cell');
    const radio = (form, label) => el('label', {}, el('input', {
      type: 'radio', name: 'pe-form', value: form, id: 'pe-' + form, checked: state.peForm === form,
      onchange: () => { state.peForm = form; drawPositional(); },
    }), ' ' + label + (pe.form === form ? ' (this model)' : '') + ' ');
    controls.append(radio('interleaved', 'interleaved: sin, cos, sin, cos … (the paper)'), radio('concatenated', 'concatenated: all sines, then all cosines (Tensor2Tensor, the article\'s picture)'));
    const rows = pe[state.peForm];
    const D = rows[0].length;
    figure.append(heatmap(rows, {
      cellW: cellWidth(D), cellH: Math.max(6, Math.min(16, Math.floor(400 / rows.length))), labels: rows.map((_, i) => String(i)), labelW: 30,
      scale: 1, readout, name: state.peForm, rowName: 'position', cls: 'pe pe-' + state.peForm,
      title: rows.length + ' positions × ' + D + ' dimensions (' + state.peForm + ')',
    }), legend(-1, 1), readout);
  }

  function legend(lo, hi) {
    const steps = 21;
    let s = '';
    for (let i = 0; i < steps; i++) s += '<rect x="' + (30 + i * 8) + '" y="0" width="8" height="10" fill="' + diverging(lo + (hi - lo) * i / (steps - 1), Math.max(-lo, hi)) + '"/>';
    s += '<text x="26" y="9" text-anchor="end">' + fmt(lo, 2) + '</text><text x="' + (34 + steps * 8) + '" y="9">' + fmt(hi, 2) + '</text>';
    const svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('width', 240); svg.setAttribute('height', 12); svg.setAttribute('class', 'legend');
    svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', 'colour scale: ' + fmt(lo, 2) + ' blue, 0 white, ' + fmt(hi, 2) + ' red');
    svg.innerHTML = s;
    return svg;
  }

  // ---------- 5. add & norm ----------

  function drawAddNorm() {
    const { controls, figure } = reset('add-norm');
    const r = state.rec, an = state.an;
    const layers = r[an.stack].layers;
    an.layer = Math.min(an.layer, layers.length - 1);
    const subs = an.stack === 'encoder' ? [['self_attention', 'self-attention'], ['feed_forward', 'feed forward']]
      : [['self_attention', 'masked self-attention'], ['cross_attention', 'encoder-decoder attention'], ['feed_forward', 'feed forward']];
    if (!subs.some(([k]) => k === an.sub)) an.sub = 'self_attention';
    const pieces = an.stack === 'encoder' ? r.source.pieces : r.target.pieces;
    an.pos = Math.min(an.pos, pieces.length - 1);
    controls.append(
      el('label', {}, 'Stack ', select([['encoder', 'encoder'], ['decoder', 'decoder']], an.stack, (v) => { an.stack = v; drawAddNorm(); }, { id: 'an-stack' })),
      el('label', {}, ' Layer ', select(layers.map((_, l) => [l, String(l)]), an.layer, (v) => { an.layer = Number(v); drawAddNorm(); }, { id: 'an-layer' })),
      el('label', {}, ' Sub-layer ', select(subs, an.sub, (v) => { an.sub = v; drawAddNorm(); }, { id: 'an-sub' })),
      el('label', {}, ' Position ', select(pieces.map((p, i) => [i, i + ': ' + p]), an.pos, (v) => { an.pos = Number(v); drawAddNorm(); }, { id: 'an-pos' })));
    const block = layers[an.layer][an.sub + '_add_norm'];
    const pre = block.norm === 'pre';
    const sub = subs.find(([k]) => k === an.sub)[1];
    const parts = pre
      ? [['input', 'x (the block\'s input)'], ['sublayer', sub + '(LayerNorm(x))'], ['sum', 'x + ' + sub + '(LayerNorm(x))'], ['output', 'output (pre-norm: the sum itself)']]
      : [['input', 'x (the block\'s input)'], ['sublayer', sub + '(x)'], ['sum', 'Add: x + ' + sub + '(x)'], ['output', 'Normalize: LayerNorm(x + ' + sub + '(x))']];
    const readout = el('div', { class: 'readout' }, 'hover a cell');
    const D = block.input[0].length, cw = cellWidth(D);
    const scale = Math.max(...parts.map(([k]) => maxAbs([block[k][an.pos]])));
    const grid = el('div', { class: 'an-grid' });
    for (const [k, label] of parts) {
      const v = block[k][an.pos];
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
      grid.append(el('div', { class: 'an-label' }, label),
        heatmap([v], { cellW: cw, cellH: 22, scale, readout, name: label, rowName: 'position ' + an.pos, cls: 'strip strip-' + k }),
        el('div', { class: 'an-stats' }, 'mean ' + fmt(mean, 3) + ', std ' + fmt(sd, 3) + ', min ' + fmt(Math.min(...v), 3) + ', max ' + fmt(Math.max(...v), 3)));
    }
    figure.append(el('p', { class: 'note' }, an.stack + ' layer ' + an.layer + ', ' + sub + ', position ' + an.pos + ' "' + pieces[an.pos] + '"; ' +
      (pre ? 'pre-norm: x + Sublayer(LayerNorm(x))' : 'post-norm, as in the paper: LayerNorm(x + Sublayer(x))') + '. One colour scale for all four strips (±' + fmt(scale, 3) + ').'),
    grid, readout);
  }

  // ---------- 6. output distributions ----------

  function drawOutputs() {
    const { figure } = reset('outputs');
    const cards = state.rec.steps.map((s) => {
      const top = s.top.slice();
      const chosenIn = top.some((e) => e.id === s.chosen.id);
      const rows = top.map((e) => el('div', { class: 'bar-row' + (e.id === s.chosen.id ? ' chosen' : ''), 'data-prob': e.prob },
        el('span', { class: 'piece' }, e.piece),
        el('span', { class: 'bar' }, el('span', { style: 'width:' + (100 * e.prob).toFixed(2) + '%' })),
        el('span', { class: 'prob' }, (100 * e.prob).toFixed(1) + '%')));
      if (!chosenIn) rows.push(el('div', { class: 'bar-row chosen outside' }, el('span', { class: 'piece' }, s.chosen.piece),
        el('span', { class: 'bar' }, el('span', { style: 'width:' + (100 * s.chosen.prob).toFixed(2) + '%' })),
        el('span', { class: 'prob' }, (100 * s.chosen.prob).toFixed(2) + '%')));
      return el('div', { class: 'step', 'data-position': s.position },
        el('div', { class: 'step-head' }, 'position #' + (s.position + 1) + ', input ', el('code', {}, s.input)),
        rows,
        el('div', { class: 'step-foot' }, 'chose ', el('strong', {}, s.chosen.piece), ' (log p = ' + fmt(s.chosen.log_prob, 3) + ')'));
    });
    figure.append(el('div', { class: 'steps' }, cards));
  }

  // ---------- 7. beam search ----------

  function drawBeam() {
    const { figure } = reset('beam-search');
    const b = state.rec.beam;
    if (!b || !Array.isArray(b.steps) || !b.steps.length) {
      figure.append(el('p', { class: 'note empty' }, 'This translation was decoded greedily (beam size 1): at each step the most probable word (view 6) was kept. Translate with a beam larger than 1 to see the hypotheses.'));
      return;
    }
    const best = b.final && b.final[0] ? b.final[0].pieces : null;
    const onBest = (pieces) => best && pieces.length <= best.length && pieces.every((p, i) => p === best[i]);
    const colW = 130, rowH = 40, nodeW = 112, nodeH = 30, left = 60, top = 24;
    const maxRows = Math.max(...b.steps.map((s) => s.hypotheses.length), 1);
    const width = left + b.steps.length * colW + 20, height = top + maxRows * rowH + 10;
    let s = '<g class="root"><rect x="4" y="' + (top) + '" width="44" height="' + nodeH + '" rx="4"/><text x="26" y="' + (top + 19) + '" text-anchor="middle">&lt;s&gt;</text></g>';
    const nx = (step) => left + step * colW, ny = (k) => top + k * rowH;
    b.steps.forEach((st, si) => {
      s += '<text class="step-label" x="' + (nx(si) + nodeW / 2) + '" y="12" text-anchor="middle">step ' + (st.step ?? si) + '</text>';
      st.hypotheses.forEach((hyp, k) => {
        const px = si === 0 ? 48 : nx(si - 1) + nodeW, py = (si === 0 ? top : ny(hyp.parent)) + nodeH / 2;
        const cls = (hyp.finished ? ' finished' : '') + (onBest(hyp.pieces) ? ' best' : '');
        s += '<path class="edge' + cls + '" d="M' + px + ',' + py + ' C' + (px + 30) + ',' + py + ' ' + (nx(si) - 30) + ',' + (ny(k) + nodeH / 2) + ' ' + nx(si) + ',' + (ny(k) + nodeH / 2) + '"/>';
        const last = hyp.pieces[hyp.pieces.length - 1] ?? '';
        s += '<g class="node' + cls + '" data-step="' + si + '" data-index="' + k + '"><title>' + esc(hyp.pieces.join(' ')) + ' — log p ' + fmt(hyp.log_prob, 4) + (hyp.finished ? ' (finished)' : '') + '</title>' +
          '<rect x="' + nx(si) + '" y="' + ny(k) + '" width="' + nodeW + '" height="' + nodeH + '" rx="4"/>' +
          '<text x="' + (nx(si) + 6) + '" y="' + (ny(k) + 13) + '" class="piece">' + esc(last.length > 14 ? last.slice(0, 13) + '…' : last) + (hyp.finished ? ' ■' : '') + '</text>' +
          '<text x="' + (nx(si) + 6) + '" y="' + (ny(k) + 25) + '" class="lp">log p ' + fmt(hyp.log_prob, 3) + '</text></g>';
      });
    });
    const svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('width', width); svg.setAttribute('height', height); svg.setAttribute('class', 'beam-tree');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'Beam search tree: ' + b.steps.length + ' steps, up to ' + maxRows + ' hypotheses each' +
      (b.final && b.final[0] ? '; the best final hypothesis: ' + b.final[0].text : ''));
    svg.innerHTML = s;
    figure.append(el('p', { class: 'note' }, 'Beam size ' + b.size + ', length penalty ' + b.length_penalty + '. Thick path: the best final hypothesis; ■ finished (end of sentence).'),
      el('div', { class: 'scroll' }, svg),
      el('h3', {}, 'n-best list'),
      el('ol', { class: 'nbest' }, (b.final || []).map((f) => el('li', {}, el('span', { class: 'text' }, f.text),
        el('span', { class: 'score' }, ' score ' + fmt(f.score, 4) + ', log p ' + fmt(f.log_prob, 4))))));
  }

  // ---------- 8. training curves ----------

  function parseMetrics(text) {
    const out = [], bad = [];
    text.split(/\r?\n/).forEach((line, n) => {
      if (!line.trim()) return;
      try {
        const o = JSON.parse(line);
        if (o && typeof o === 'object' && typeof o.step === 'number') out.push(o); else bad.push(n + 1);
      } catch (e) { bad.push(n + 1); }
    });
    return { rows: out, bad };
  }

  function drawTraining(rows, from) {
    const figure = section('training').querySelector('.figure');
    figure.replaceChildren();
    const series = (key) => rows.filter((r) => typeof r[key] === 'number' && isFinite(r[key])).map((r) => [r.step, r[key]]);
    const charts = [
      { title: 'Loss', series: [['training loss', series('loss'), '#0072b2'], ['validation loss', series('valid_loss'), '#d55e00']] },
      { title: 'Learning rate', series: [['lr', series('lr'), '#009e73']] },
      { title: 'Validation BLEU', series: [['valid BLEU', series('valid_bleu'), '#cc79a7']] },
    ];
    document.getElementById('metrics-status').textContent = rows.length + ' lines ' + from + '.';
    figure.append(el('div', { class: 'charts' }, charts.map((c) => lineChart(c.title, c.series))));
  }

  function niceTicks(lo, hi, n) {
    if (lo === hi) { lo -= 1; hi += 1; }
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
    return ticks;
  }

  // opts.marker: a step to mark with a vertical line (the "watch it learn" slider's).
  function lineChart(title, series, opts = {}) {
    const W = 360, Hh = 220, ml = 56, mr = 12, mt = 24, mb = 34;
    const pts = series.flatMap((s) => s[1]);
    const box = el('figure', { class: 'chart' });
    if (!pts.length) { box.append(el('figcaption', {}, title), el('p', { class: 'note empty' }, 'no values in this log')); return box; }
    const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
    let y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
    const X = (x) => ml + (x - x0) / (x1 - x0) * (W - ml - mr), Y = (y) => Hh - mb - (y - y0) / (y1 - y0) * (Hh - mt - mb);
    let s = '<text x="' + ml + '" y="14" class="chart-title">' + esc(title) + '</text>';
    for (const t of niceTicks(y0, y1, 4)) if (t >= y0 && t <= y1)
      s += '<line class="grid" x1="' + ml + '" x2="' + (W - mr) + '" y1="' + Y(t) + '" y2="' + Y(t) + '"/><text x="' + (ml - 4) + '" y="' + (Y(t) + 4) + '" text-anchor="end">' + esc(String(Number(t.toPrecision(3)))) + '</text>';
    for (const t of niceTicks(x0, x1, 4)) if (t >= x0 && t <= x1)
      s += '<text x="' + X(t) + '" y="' + (Hh - mb + 14) + '" text-anchor="middle">' + t + '</text>';
    s += '<text x="' + ((ml + W - mr) / 2) + '" y="' + (Hh - 4) + '" text-anchor="middle">step</text>';
    s += '<line class="axis" x1="' + ml + '" x2="' + ml + '" y1="' + mt + '" y2="' + (Hh - mb) + '"/><line class="axis" x1="' + ml + '" x2="' + (W - mr) + '" y1="' + (Hh - mb) + '" y2="' + (Hh - mb) + '"/>';
    if (typeof opts.marker === 'number')
      s += '<line class="marker" x1="' + X(opts.marker) + '" x2="' + X(opts.marker) + '" y1="' + mt + '" y2="' + (Hh - mb) + '" data-step="' + opts.marker + '"/>';
    series.forEach(([, data, colour]) => {
      if (!data.length) return;
      s += '<path class="series" fill="none" stroke="' + colour + '" stroke-width="1.8" d="' + data.map((p, i) => (i ? 'L' : 'M') + X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1)).join('') + '"/>';
      for (const p of data.length < 60 ? data : []) s += '<circle cx="' + X(p[0]).toFixed(1) + '" cy="' + Y(p[1]).toFixed(1) + '" r="2.5" fill="' + colour + '"><title>step ' + p[0] + ': ' + esc(fmt(p[1], 5)) + '</title></circle>';
    });
    const svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('width', W); svg.setAttribute('height', Hh); svg.setAttribute('class', 'line-chart');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', title + ' against the training step, steps ' + x0 + ' to ' + x1 + ': ' + series.filter((x) => x[1].length)
      .map(([name, data]) => name + ' from ' + fmt(data[0][1], 3) + ' to ' + fmt(data[data.length - 1][1], 3)).join('; '));
    svg.innerHTML = s;
    box.append(svg, el('figcaption', { class: 'legend' }, series.filter((x) => x[1].length).map(([name, , colour]) =>
      el('span', { style: 'color:' + colour }, '━ ' + name + ' '))));
    return box;
  }

  function loadMetricsFile(file) {
    const status = document.getElementById('metrics-status');
    file.text().then((text) => {
      const { rows, bad } = parseMetrics(text);
      if (!rows.length) { status.textContent = file.name + ': no metrics lines (JSON objects with a "step") found.'; return; }
      drawTraining(rows, 'from ' + file.name + (bad.length ? ' (skipped unreadable line' + (bad.length > 1 ? 's ' : ' ') + bad.slice(0, 5).join(', ') + (bad.length > 5 ? ', …' : '') + ')' : ''));
    }, (e) => { status.textContent = 'could not read ' + file.name + ': ' + e.message; });
  }

  function setupTraining() {
    const input = document.getElementById('metrics-file');
    input.addEventListener('change', () => { if (input.files[0]) loadMetricsFile(input.files[0]); });
    const zone = section('training');
    zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('dragging'); });
    zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault(); zone.classList.remove('dragging');
      if (e.dataTransfer.files[0]) loadMetricsFile(e.dataTransfer.files[0]);
    });
  }

  // ---------- errors, the served page's form, start ----------

  function showError(message) {
    const box = document.getElementById('error');
    box.textContent = message;
    box.hidden = !message;
  }

  async function translate(e) {
    e.preventDefault();
    const text = document.getElementById('sentence').value;
    const beam = Number(document.getElementById('beam').value) || 1;
    // The translation's forced beginning (target_prefix), when one is typed.
    const prefix = document.getElementById('prefix').value;
    const request = prefix.trim() ? { text, beam, target_prefix: prefix } : { text, beam };
    const status = document.getElementById('status'), button = document.getElementById('translate');
    showError('');
    status.textContent = 'translating…';
    button.disabled = true;
    try {
      const res = await fetch('/v1/explain', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) });
      const body = await res.text();
      let json = null;
      try { json = JSON.parse(body); } catch (err) { /* reported below */ }
      if (!res.ok) {
        const msg = json && json.error ? (typeof json.error === 'string' ? json.error : JSON.stringify(json.error)) : body.slice(0, 300);
        throw new Error('HTTP ' + res.status + ' ' + res.statusText + ': ' + msg);
      }
      if (!json) throw new Error('the server answered with something that is not JSON: ' + body.slice(0, 200));
      await draw(json);
      status.textContent = 'done.';
    } catch (err) {
      status.textContent = '';
      showError(err.message);
    } finally {
      button.disabled = false;
    }
  }

  // ---------- what the page knows of the model besides the record ----------

  // {examples, metrics, model_dir}: inline in the offline page (explain
  // --html, <script id="model-info">), from GET /v1/model-info when served.
  // The training curves appear by themselves; served, the sentence box
  // starts with a sentence of the model's own task.
  function useModelInfo(info, served) {
    if (!info || typeof info !== 'object') return;
    const examples = Array.isArray(info.examples) ? info.examples.filter((x) => typeof x === 'string' && x.trim()) : [];
    const metrics = Array.isArray(info.metrics) ? info.metrics.filter((o) => o && typeof o === 'object' && typeof o.step === 'number') : [];
    if (metrics.length) drawTraining(metrics, 'from the model\'s metrics.jsonl');
    for (const f of window.explorer.onModelInfo) f(info, metrics);
    if (served) {
      const box = document.getElementById('sentence');
      if (!box.value && examples.length) box.value = examples[0];
      document.getElementById('examples').replaceChildren(...examples.map((x) => el('option', { value: x })));
    }
  }

  // Offline the page explains the one sentence it was written for; other
  // sentences need the model, which `serve` runs.
  function showOfflineNote(info) {
    const note = document.getElementById('offline-note');
    const dir = info && typeof info.model_dir === 'string' ? info.model_dir : 'MODEL_DIR';
    note.replaceChildren('This page explains one sentence, "', el('strong', {}, state.rec.source.text),
      '", and works offline. To explain other sentences, serve the model and open the page it serves: ',
      el('code', {}, 'transformer serve --model ' + dir), ', then ', el('code', {}, 'http://127.0.0.1:8080/'), '.');
    note.hidden = false;
  }

  async function fetchModelInfo() {
    const status = document.getElementById('metrics-status');
    try {
      const res = await fetch('/v1/model-info');
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error('HTTP ' + res.status + (body && body.error ? ': ' + body.error : ''));
      useModelInfo(body, true);
    } catch (err) {
      status.textContent = 'The server did not say how the model trained (' + err.message + '): open its metrics.jsonl here.';
    }
  }

  function inlineJson(id) {
    const e = document.getElementById(id);
    return e && e.textContent.trim() ? JSON.parse(e.textContent) : null;   // an empty placeholder counts as none
  }

  function start() {
    setupTraining();
    document.getElementById('views').hidden = false;
    const inline = document.getElementById('explain-record');
    if (inline && inline.textContent.trim()) {
      let info = null;
      try { info = inlineJson('model-info'); } catch (e) { showError('Cannot read the model information in this page: ' + e.message); }
      const failed = (e) => showError('Cannot draw the explain record in this page: ' + e.message);
      try { draw(JSON.parse(inline.textContent)).catch(failed); } catch (e) { failed(e); return; }
      showOfflineNote(info);
      useModelInfo(info, false);
      for (const f of window.explorer.onStart) f({ served: false });
      return;
    }
    // Served: nothing to draw until a sentence is translated; the training
    // curves work on their own.
    for (const s of document.querySelectorAll('main section')) s.hidden = s.id !== 'training' && s.id !== 'learning';
    const form = document.getElementById('translate-form');
    form.hidden = false;
    form.addEventListener('submit', translate);
    fetchModelInfo();
    for (const f of window.explorer.onStart) f({ served: true });
  }

  // The page's other scripts (model-view.js, …) add their views here and use
  // these helpers; explorer.js runs first.
  window.explorer = {
    state, record: null, draw, views: [], onStart: [], onModelInfo: [],
    api: { el, svgEl, esc, fmt, lineChart, KINDS, attention, queryPieces, keyPieces, layerCount, headColour, openHead, section, showError },
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
