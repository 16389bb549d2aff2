/**
 * Plain-TypeScript GLIGEN, written from comfy/gligen.py for the tests (double precision, no ONNX): PositionNet
 * with its FourierEmbedder and null features, and GatedSelfAttentionDense (LayerNorm, multi-head attention,
 * GEGLU with the erf GELU, tanh gates).
 */
import type { SafetensorsFile } from '../../engine/io/safetensors.ts';
import type { FuserModule, GligenBox } from '../../engine/models/gligen/index.ts';

type W = { w: Float32Array; b?: Float32Array; out: number; in: number };

function lin(f: SafetensorsFile, key: string): W {
  const [out, inp] = f.get(`${key}.weight`).shape as [number, number];
  return { w: f.readFloat32(`${key}.weight`), b: f.has(`${key}.bias`) ? f.readFloat32(`${key}.bias`) : undefined, out, in: inp };
}

/** rows [n, in] → [n, out]. */
function apply(l: W, x: ArrayLike<number>, n: number): Float64Array {
  const y = new Float64Array(n * l.out);
  for (let r = 0; r < n; r++)
    for (let o = 0; o < l.out; o++) {
      let s = l.b ? l.b[o]! : 0;
      for (let i = 0; i < l.in; i++) s += l.w[o * l.in + i]! * x[r * l.in + i]!;
      y[r * l.out + o] = s;
    }
  return y;
}

function layerNorm(f: SafetensorsFile, key: string, x: ArrayLike<number>, n: number, c: number): Float64Array {
  const w = f.readFloat32(`${key}.weight`), b = f.readFloat32(`${key}.bias`);
  const y = new Float64Array(n * c);
  for (let r = 0; r < n; r++) {
    let mean = 0, v = 0;
    for (let i = 0; i < c; i++) mean += x[r * c + i]!;
    mean /= c;
    for (let i = 0; i < c; i++) v += (x[r * c + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / c + 1e-5);
    for (let i = 0; i < c; i++) y[r * c + i] = (x[r * c + i]! - mean) * inv * w[i]! + b[i]!;
  }
  return y;
}

const silu = (v: number): number => v / (1 + Math.exp(-v));

/** erf through Numerical Recipes' erfc (fractional error below 1.2e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
}
const gelu = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));

function positionNet(f: SafetensorsFile, boxes: readonly GligenBox[], h: number, w: number): Float64Array {
  const P = 'position_net';
  const nullPos = f.readFloat32(`${P}.null_positive_feature`), nullXY = f.readFloat32(`${P}.null_position_feature`);
  const K = nullPos.length;
  const x = new Float64Array(30 * (K + 64));
  for (let s = 0; s < 30; s++) {
    const row = x.subarray(s * (K + 64), (s + 1) * (K + 64));
    const b = boxes[s];
    if (!b) {
      row.set(nullPos);
      row.set(nullXY, K);
      continue;
    }
    row.set(b.embedding.data);
    const xyxy = [b.x / w, b.y / h, (b.x + b.width) / w, (b.y + b.height) / h].map(Math.fround);
    for (let i = 0; i < 8; i++) {
      const freq = Math.fround(100 ** (i / 8));
      for (let c = 0; c < 4; c++) {
        const a = Math.fround(freq * xyxy[c]!);
        row[K + i * 8 + c] = Math.sin(a);
        row[K + i * 8 + 4 + c] = Math.cos(a);
      }
    }
  }
  const l0 = lin(f, `${P}.linears.0`), l2 = lin(f, `${P}.linears.2`), l4 = lin(f, `${P}.linears.4`);
  return apply(l4, apply(l2, apply(l0, x, 30).map(silu), 30).map(silu), 30);
}

/** One GatedSelfAttentionDense on one row: x [n, C], objs [30, K]. */
function fuser(f: SafetensorsFile, m: FuserModule, x: ArrayLike<number>, objs: ArrayLike<number>, n: number): Float64Array {
  const p = m.prefix;
  const C = m.query;
  const o = apply(lin(f, `${p}linear`), objs, 30);
  const all = new Float64Array((n + 30) * C);
  all.set(Array.from(x));
  all.set(o, n * C);
  const normed = layerNorm(f, `${p}norm1`, all, n + 30, C);
  const q = apply(lin(f, `${p}attn.to_q`), normed, n + 30), k = apply(lin(f, `${p}attn.to_k`), normed, n + 30), v = apply(lin(f, `${p}attn.to_v`), normed, n + 30);
  const d = C / m.heads;
  const att = new Float64Array(n * C);
  for (let hd = 0; hd < m.heads; hd++)
    for (let i = 0; i < n; i++) {
      const s = new Float64Array(n + 30);
      let mx = -Infinity;
      for (let j = 0; j < n + 30; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[i * C + hd * d + c]! * k[j * C + hd * d + c]!;
        s[j] = dot / Math.sqrt(d);
        mx = Math.max(mx, s[j]!);
      }
      let z = 0;
      for (let j = 0; j < n + 30; j++) z += (s[j] = Math.exp(s[j]! - mx));
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let j = 0; j < n + 30; j++) acc += s[j]! * v[j * C + hd * d + c]!;
        att[i * C + hd * d + c] = acc / z;
      }
    }
  const ta = Math.tanh(f.readFloat32(`${p}alpha_attn`)[0]!), td = Math.tanh(f.readFloat32(`${p}alpha_dense`)[0]!);
  const attOut = apply(lin(f, `${p}attn.to_out.0`), att, n);
  const h = Float64Array.from({ length: n * C }, (_, i) => x[i]! + ta * attOut[i]!);
  const proj = apply(lin(f, `${p}ff.net.0.proj`), layerNorm(f, `${p}norm2`, h, n, C), n);
  const inner = 4 * C;
  const geglu = new Float64Array(n * inner);
  for (let r = 0; r < n; r++) for (let i = 0; i < inner; i++) geglu[r * inner + i] = proj[r * 2 * inner + i]! * gelu(proj[r * 2 * inner + inner + i]!);
  const ff = apply(lin(f, `${p}ff.net.2`), geglu, n);
  return h.map((v2, i) => v2 + td * ff[i]!);
}

export const ref = { positionNet, fuser };
