#!/usr/bin/env node
// A synthetic explain record (docs/EXPLAIN.md, format `transformer-explain`,
// version 1) for developing the explorer page without a model. Random
// numbers, but internally consistent: scores = q·k, scaled = scores / √Dh,
// weights = softmax (rows sum to 1, masked positions 0), z = Σ weights · v,
// LayerNorm outputs have mean 0 and variance 1, top-10 probabilities come
// from a softmax. The real browser test (run.sh) uses a real record from
// `transformer explain`; this one is for development only.
//
//   node make_synthetic_record.mjs [--json out.json] [--html out.html] [--seed N] [--d-model D] [--heads H] [--layers L] [--length N]
//
// --json also writes out.model-info.json: the examples and training log that
// `serve` answers at /v1/model-info (mock_serve.mjs serves it).
//
// --html writes what `transformer explain --html` writes: web/index.html with
// explorer.css and explorer.js inlined and the record in
// <script id="explain-record" type="application/json">.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
let seed = Number(opt('--seed', 1));
const D = Number(opt('--d-model', 32));   // d_model
const H = Number(opt('--heads', 4));      // heads
const L = Number(opt('--layers', 2));     // encoder and decoder layers
const Dh = D / H;
const F = 4 * D;                          // d_ff

// Deterministic RNG (mulberry32) and a normal via Box-Muller.
function rand() {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const r7 = (x) => Number(x.toPrecision(7));   // float32 printed with 7 significant digits
const matrix = (rows, cols, f) => Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => f(i, j)));
const randn = (rows, cols, s = 1) => matrix(rows, cols, () => r7(normal() * s));
const add = (a, b) => a.map((row, i) => row.map((x, j) => r7(x + b[i][j])));
const matmul = (a, b) => a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));

function softmax(xs) {
  const m = Math.max(...xs.filter((x) => x !== null));
  const e = xs.map((x) => (x === null ? 0 : Math.exp(x - m)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

function layerNorm(rows) {
  return rows.map((row) => {
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    return row.map((x) => r7((x - mean) / Math.sqrt(v + 1e-5)));
  });
}

// Sinusoidal positional encoding, both forms (docs/EXPLAIN.md).
function positional(n, d, form) {
  return matrix(n, d, (pos, i) => {
    if (form === 'interleaved') {
      const freq = Math.pow(10000, -(2 * Math.floor(i / 2)) / d);
      return r7(i % 2 === 0 ? Math.sin(pos * freq) : Math.cos(pos * freq));
    }
    const half = d / 2;
    const k = i % half;
    const freq = Math.exp(-k * Math.log(10000) / (half - 1));
    return r7(i < half ? Math.sin(pos * freq) : Math.cos(pos * freq));
  });
}

// ATTENTION for queries from xq (Tq rows) and keys/values from xkv (Tk rows).
// A bias towards the diagonal (or a chosen key) makes the picture readable.
function attention(xq, xkv, masked) {
  const Tq = xq.length, Tk = xkv.length;
  const out = { heads: H, d_k: Dh, q: [], k: [], v: [], scores: [], scaled: [], weights: [], z: [] };
  for (let h = 0; h < H; h++) {
    const wq = randn(D, Dh, 1 / Math.sqrt(D)), wk = randn(D, Dh, 1 / Math.sqrt(D)), wv = randn(D, Dh, 1 / Math.sqrt(D));
    const k = matmul(xkv, wk).map((r) => r.map(r7)), v = matmul(xkv, wv).map((r) => r.map(r7));
    // Even heads look "diagonal": q_i leans towards the key at the same relative place.
    const q = matmul(xq, wq).map((r, i) => {
      const kj = k[Math.min(Tk - 1, Math.round(i * Tk / Tq))], n2 = kj.reduce((s, x) => s + x * x, 0) || 1;
      return r.map((x, d) => r7(2 * x + (h % 2 === 0 ? 3 * Math.sqrt(Dh) * kj[d] / n2 : 0)));
    });
    const scores = q.map((qi, i) => k.map((kj, j) => (masked && j > i ? null : r7(qi.reduce((s, x, d) => s + x * kj[d], 0)))));
    const scaled = scores.map((row) => row.map((s) => (s === null ? null : r7(s / Math.sqrt(Dh)))));
    const weights = scaled.map((row) => softmax(row).map(r7));
    const z = weights.map((w) => Array.from({ length: Dh }, (_, d) => r7(w.reduce((s, wj, j) => s + wj * v[j][d], 0))));
    out.q.push(q); out.k.push(k); out.v.push(v); out.scores.push(scores); out.scaled.push(scaled); out.weights.push(weights); out.z.push(z);
  }
  out.concat = xq.map((_, i) => out.z.flatMap((zh) => zh[i]));
  out.output = matmul(out.concat, randn(D, D, 1 / Math.sqrt(D))).map((r) => r.map(r7));
  return out;
}

function addNorm(x, sub) {
  const sum = add(x, sub);
  return { norm: 'post', input: x, sublayer: sub, sum, output: layerNorm(sum) };
}

function feedForward(x) {
  const hidden = matmul(x, randn(D, F, 1 / Math.sqrt(D))).map((r) => r.map((v) => r7(Math.max(0, v))));
  return { hidden, output: matmul(hidden, randn(F, D, 1 / Math.sqrt(F))).map((r) => r.map(r7)) };
}

function stack(pieces, encOut) {
  const n = pieces.length;
  const embeddings = randn(n, D, 1);
  const pe = positional(n, D, 'interleaved');
  const input = add(embeddings, pe);
  const layers = [];
  let x = input;
  for (let l = 0; l < L; l++) {
    const layer = {};
    layer.self_attention = attention(x, x, !!encOut);
    layer.self_attention_add_norm = addNorm(x, layer.self_attention.output);
    x = layer.self_attention_add_norm.output;
    if (encOut) {
      layer.cross_attention = attention(x, encOut, false);
      layer.cross_attention_add_norm = addNorm(x, layer.cross_attention.output);
      x = layer.cross_attention_add_norm.output;
    }
    layer.feed_forward = feedForward(x);
    layer.feed_forward_add_norm = addNorm(x, layer.feed_forward.output);
    x = layer.feed_forward_add_norm.output;
    layer.output = x;
    layers.push(layer);
  }
  return { embeddings, positional: pe, input, layers, output: x };
}

const SOURCE = ['▁The', '▁animal', '▁didn', "'", 't', '▁cross', '▁the', '▁street', '▁because', '▁it', '▁was', '▁too', '▁tired', '.'];
const OUTPUT = ['▁Das', '▁Tier', '▁überquerte', '▁die', '▁Straße', '▁nicht', ',', '▁weil', '▁es', '▁zu', '▁müde', '▁war', '.'];
// --length N: N source pieces and N decoder positions (the sentence repeated), for
// measuring the page on long sentences.
const length = opt('--length') ? Number(opt('--length')) : null;
const repeat = (xs, n) => Array.from({ length: n }, (_, i) => xs[i % xs.length]);
const source = length ? repeat(SOURCE, length) : SOURCE;
const output = length ? repeat(OUTPUT, length - 1) : OUTPUT;
const vocab = [...new Set([...output, '▁Der', '▁Hund', '▁ging', '▁über', '▁sie', '▁er', '▁sehr', '▁Weg', '</s>', '▁Mann', '▁lief'])];
const target = ['<s>', ...output];
const S = source.length, T = target.length;
const ids = (ps) => ps.map((p) => 10 + vocab.indexOf(p) + (vocab.indexOf(p) < 0 ? 100 + p.length : 0));

const encoder = stack(source, null);
const decoder = stack(target, encoder.output);
const N = Math.max(S, T, 20);

const steps = target.map((input, t) => {
  const next = t < output.length ? output[t] : '</s>';
  const logits = vocab.map((p) => (p === next ? 4 + 2 * rand() : normal()));
  const probs = softmax(logits);
  const top = vocab.map((p, i) => ({ piece: p, id: i + 10, prob: r7(probs[i]) })).sort((a, b) => b.prob - a.prob).slice(0, 10);
  const c = top.find((e) => e.piece === next);
  return { position: t, input, top, chosen: { ...c, log_prob: r7(Math.log(c.prob)) } };
});

// A beam of 3 over the first few pieces, with one finished hypothesis.
const beamSteps = [];
let prev = [{ pieces: [] }];
for (let s = 0; s < output.length + 1; s++) {
  const hyps = [];
  for (let b = 0; b < 3; b++) {
    const parent = s === 0 ? 0 : (b === 0 ? 0 : Math.floor(rand() * prev.length));
    const base = prev[parent];
    if (base.finished) continue;
    const piece = b === 0 ? (s < output.length ? output[s] : '</s>') : vocab[Math.floor(rand() * vocab.length)];
    const finished = piece === '</s>' || (b === 2 && s === 6);
    hyps.push({ pieces: [...base.pieces, piece], log_prob: r7((base.log_prob || 0) - (b === 0 ? 0.1 : 0.5 + rand())), parent, finished });
  }
  beamSteps.push({ step: s, hypotheses: hyps });
  prev = hyps;
}
const finals = beamSteps.flatMap((s) => s.hypotheses.filter((h) => h.finished))
  .map((h) => ({ text: h.pieces.filter((p) => p !== '</s>').join('').replace(/▁/g, ' ').trim(), pieces: h.pieces, log_prob: h.log_prob, score: r7(h.log_prob / Math.pow((5 + h.pieces.length) / 6, 0.6)) }))
  .sort((a, b) => b.score - a.score);

const metrics = [];
for (let step = 50, e = 0; step <= 1200; step += 50) {
  const lr = 5e-4 * Math.min(step / 400, Math.sqrt(400 / step));
  metrics.push({ step, epoch: 1 + Math.floor(step / 120), loss: r7(8.5 * Math.exp(-step / 400) + 2 + 0.1 * rand()), lr: r7(lr), target_tokens_per_s: r7(3000 + 100 * rand()), elapsed_s: r7(step * 1.2) });
  if (step % 400 === 0) metrics.push({ step, valid_loss: r7(4.4 - step / 800), valid_bleu: r7(6 + step / 40), valid_ppl: r7(Math.exp(4.4 - step / 800)), elapsed_s: r7(step * 1.2 + 5) });
  e++;
}

const record = {
  format: 'transformer-explain',
  version: 1,
  synthetic: true,
  config: { activation: 'relu', bos_id: 2, d_ff: F, d_model: D, decoder_layers: L, encoder_layers: L, dropout: 0.1, eos_id: 3, final_norm: false, heads: H, layer_norm_eps: 1e-5, max_length: 256, norm: 'post', pad_id: 0, positional_encoding: 'interleaved', src_vocab_size: 8000, tgt_vocab_size: 8000, tie_embeddings: 'all', unk_id: 1 },
  source: { text: source.join('').replace(/▁/g, ' ').trim(), pieces: source, ids: ids(source) },
  output: { text: output.join('').replace(/▁/g, ' ').trim(), pieces: output, ids: ids(output) },
  target: { pieces: target, ids: ids(target) },
  positional_encoding: { form: 'interleaved', positions: N, d_model: D, interleaved: positional(N, D, 'interleaved'), concatenated: positional(N, D, 'concatenated') },
  encoder,
  decoder,
  steps,
  beam: { size: 3, length_penalty: 0.6, steps: beamSteps, final: finals },
};
// Probe snapshots (train --probe, docs/EXPLAIN.md): the record's attention
// blended from uniform (step 0) to its own weights (the last step), in
// thousandths, and the translation growing word by word.
function snapshot(t) {
  const blend = (a) => a.weights.map((head, h) => head.map((row, i) => {
    const open = row.map((_, j) => a.scaled[h][i][j] !== null), n = open.filter(Boolean).length;
    return row.map((w, j) => (open[j] ? Math.round(1000 * (t * w + (1 - t) / n)) : 0));
  }));
  return {
    source, target, output: output.slice(0, Math.round(output.length * t)).join('').replace(/▁/g, ' ').trim(),
    steps: steps.map((s) => ({ top: s.top.slice(0, 5).map((e) => ({ piece: e.piece, prob: e.prob })), chosen: { piece: s.chosen.piece, prob: s.chosen.prob } })),
    attention: {
      encoder: encoder.layers.map((l) => blend(l.self_attention)),
      decoder: decoder.layers.map((l) => blend(l.self_attention)),
      cross: decoder.layers.map((l) => blend(l.cross_attention)),
    },
  };
}
const probes = [0, 400, 800, 1200].map((step) => ({ step, probes: [snapshot(step / 1200)] }));

// What `explain --html` puts beside the record (<script id="model-info">) and
// `serve` answers at /v1/model-info; mock_serve.mjs reads it from the JSON.
const modelInfo = { examples: [record.source.text], metrics, probes, model_dir: 'runs/synthetic/model' };

const json = JSON.stringify(record);
if (opt('--json')) {
  writeFileSync(opt('--json'), json);
  writeFileSync(opt('--json').replace(/(\.json)?$/, '.model-info.json'), JSON.stringify(modelInfo));
}
if (opt('--html')) {
  const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
  let page = readFileSync(join(web, 'index.html'), 'utf8');
  const css = readFileSync(join(web, 'explorer.css'), 'utf8');
  const safe = json.replace(/</g, '\\u003c');
  page = page.replace('<link rel="stylesheet" href="explorer.css">', () => `<style>\n${css}</style>`);
  // Every local script inlined; the record goes before the first.
  let first = true;
  page = page.replace(/<script src="([\w-]+\.js)"><\/script>/g, (_, name) => {
    const js = readFileSync(join(web, name), 'utf8').replace(/<\/script/gi, '<\\/script');
    const before = first ? `<script id="explain-record" type="application/json">${safe}</script>\n` +
      `<script id="model-info" type="application/json">${JSON.stringify(modelInfo).replace(/</g, '\\u003c')}</script>\n` : '';
    first = false;
    return `${before}<script>\n${js}</script>`;
  });
  writeFileSync(opt('--html'), page);
}
if (!opt('--json') && !opt('--html')) process.stdout.write(json + '\n');
