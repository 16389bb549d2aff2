/** Plain TypeScript reference math for checking ONNX graphs numerically (small inputs only). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function rand(n: number, seed = 1, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `weft-${prefix}-`));
}

/** y[..., o] = Σ_i x[..., i]·W[o, i] + b[o] (torch Linear layout). */
export function linearRef(x: Float32Array, w: Float32Array, b: Float32Array | null, inF: number, outF: number): Float32Array {
  const rows = x.length / inF;
  const y = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * w[o * inF + i]!;
      y[r * outF + o] = s;
    }
  return y;
}

export function conv2dRef(x: Float32Array, [B, C, H, W]: number[], w: Float32Array, [O, , KH, KW]: number[], b: Float32Array | null, stride: number, [pt, pl, pb, pr]: number[]): { y: Float32Array; dims: number[] } {
  const OH = Math.floor((H + pt + pb - KH!) / stride) + 1, OW = Math.floor((W! + pl + pr - KW!) / stride) + 1;
  const y = new Float32Array(B! * O! * OH * OW);
  for (let n = 0; n < B!; n++) for (let o = 0; o < O!; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let s = b ? b[o]! : 0;
    for (let c = 0; c < C!; c++) for (let ki = 0; ki < KH!; ki++) for (let kj = 0; kj < KW!; kj++) {
      const yy = i * stride + ki - pt, xx = j * stride + kj - pl;
      if (yy < 0 || yy >= H! || xx < 0 || xx >= W!) continue;
      s += x[((n * C! + c) * H! + yy) * W! + xx]! * w[((o * C! + c) * KH! + ki) * KW! + kj]!;
    }
    y[((n * O! + o) * OH + i) * OW + j] = s;
  }
  return { y, dims: [B!, O!, OH, OW] };
}

export function groupNormRef(x: Float32Array, [B, C, H, W]: number[], groups: number, gamma: Float32Array, beta: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  const cg = C! / groups, hw = H! * W!;
  for (let n = 0; n < B!; n++) for (let gi = 0; gi < groups; gi++) {
    const start = (n * C! + gi * cg) * hw, len = cg * hw;
    let mean = 0; for (let i = 0; i < len; i++) mean += x[start + i]!; mean /= len;
    let v = 0; for (let i = 0; i < len; i++) v += (x[start + i]! - mean) ** 2; v /= len;
    for (let i = 0; i < len; i++) { const c = gi * cg + Math.floor(i / hw); y[start + i] = ((x[start + i]! - mean) / Math.sqrt(v + eps)) * gamma[c]! + beta[c]!; }
  }
  return y;
}

export function layerNormRef(x: Float32Array, C: number, gamma: Float32Array, beta: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let mean = 0; for (let i = 0; i < C; i++) mean += x[r * C + i]!; mean /= C;
    let v = 0; for (let i = 0; i < C; i++) v += (x[r * C + i]! - mean) ** 2; v /= C;
    for (let i = 0; i < C; i++) y[r * C + i] = ((x[r * C + i]! - mean) / Math.sqrt(v + eps)) * gamma[i]! + beta[i]!;
  }
  return y;
}

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for 1e-6 checks; use the series / continued fraction split.
  const t = Math.abs(x);
  if (t < 2.5) { let sum = 0, term = t, n = 0; while (Math.abs(term) > 1e-17 * Math.abs(sum) || n < 3) { sum += term / (2 * n + 1); n++; term = (-term * t * t) / n; if (n > 200) break; } return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum; }
  let f = 0; for (let k = 60; k >= 1; k--) f = (k / 2) / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}

export const geluRef = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
export const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
export const quickGeluRef = (v: number) => v * sigmoid(1.702 * v);
export const siluRef = (v: number) => v * sigmoid(v);

/** softmax(q kᵀ·scale) v per head; q [B,S,H·D], k/v [B,L,H·D]. */
export function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, B: number, S: number, L: number, H: number, D: number, causal = false): Float32Array {
  const C = H * D, out = new Float32Array(B * S * C), scale = 1 / Math.sqrt(D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < S; i++) {
    const sc = new Float64Array(L); let mx = -Infinity;
    for (let j = 0; j < L; j++) {
      if (causal && j > i) { sc[j] = -Infinity; continue; }
      let s = 0; for (let d = 0; d < D; d++) s += q[(b * S + i) * C + h * D + d]! * k[(b * L + j) * C + h * D + d]!;
      sc[j] = s * scale; mx = Math.max(mx, sc[j]!);
    }
    let z = 0; for (let j = 0; j < L; j++) { sc[j] = Math.exp(sc[j]! - mx); z += sc[j]!; }
    for (let d = 0; d < D; d++) { let s = 0; for (let j = 0; j < L; j++) s += (sc[j]! / z) * v[(b * L + j) * C + h * D + d]!; out[(b * S + i) * C + h * D + d] = s; }
  }
  return out;
}
