// Whether colours stay apart for readers with colour-blindness: each colour
// is seen as with protanopia, deuteranopia and tritanopia (the simulation
// matrices of Machado, Oliveira and Fernandes 2009, severity 1, applied to
// linear RGB), and the smallest CIE76 colour difference ΔE*ab between any two
// is reported for each. ΔE ≈ 2 is just noticeable; 10 and more tells small
// marks (lines, chips) apart at a glance.

const SIMULATIONS = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
};

// "rgb(r, g, b)" (getComputedStyle) or "#rrggbb" → [r, g, b] in 0…255.
export function parseColour(text) {
  const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(text);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  if (/^#[0-9a-f]{6}$/i.test(text)) return [1, 3, 5].map((i) => parseInt(text.slice(i, i + 2), 16));
  throw new Error('not a colour: ' + text);
}

const toLinear = (c) => { const x = c / 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };

// Linear sRGB → CIELAB (D65).
function lab([r, g, b]) {
  [r, g, b] = [r, g, b].map((x) => Math.min(1, Math.max(0, x)));
  const X = 0.4124 * r + 0.3576 * g + 0.1805 * b, Y = 0.2126 * r + 0.7152 * g + 0.0722 * b, Z = 0.0193 * r + 0.1192 * g + 0.9505 * b;
  const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const fx = f(X / 0.95047), fy = f(Y), fz = f(Z / 1.08883);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

// { normal, protanopia, deuteranopia, tritanopia }: the smallest ΔE between two of `colours`.
export function smallestDifferences(colours) {
  const out = {};
  for (const [name, m] of Object.entries(SIMULATIONS)) {
    const seen = colours.map((c) => {
      const l = parseColour(c).map(toLinear);
      return lab(m.map((row) => row[0] * l[0] + row[1] * l[1] + row[2] * l[2]));
    });
    let least = Infinity;
    for (let i = 0; i < seen.length; i++) for (let j = i + 1; j < seen.length; j++)
      least = Math.min(least, Math.hypot(seen[i][0] - seen[j][0], seen[i][1] - seen[j][1], seen[i][2] - seen[j][2]));
    out[name] = least;
  }
  return out;
}
