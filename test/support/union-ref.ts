/**
 * Plain-TypeScript reference of what a ControlNet Union adds to a plain ControlNet, in float64, read from the
 * file's own diffusers names (xinsir's, not the loader's renamed ones), after ComfyUI's cldm.py:
 *  - controlAddEmbedding: sinusoidal embedding (cos half, then sin half) of each entry of the 0/1 type vector,
 *    flattened, Linear → SiLU → Linear; added to the time embedding (also for "auto", the all-zero vector);
 *  - unionShift: the per-channel vector added to the hint encoder's output when a type is set: the spatial mean
 *    of that output plus the type's task_embedding row as one token through LayerNorm → multi-head attention
 *    (computed here as attention, not shortcut) → residual, LayerNorm → c_fc → QuickGELU → c_proj → residual,
 *    then spatial_ch_projs.
 * The hint encoder itself (8 convs, SiLU between, stride 2 at conv 2, 4 and 6) is recomputed here too.
 */
import type { Tensors } from '../../engine/models/fixtures/sink.ts';

type Vec = Float64Array;

function f(t: Tensors, k: string): Float32Array {
  const v = t[k];
  if (!v || v.dtype !== 'F32') throw new Error(`reference: no F32 tensor ${k}`);
  return v.data as Float32Array;
}

function linear(t: Tensors, p: string, x: Vec): Vec {
  const w = f(t, `${p}.weight`);
  const b = f(t, `${p}.bias`);
  const out = new Float64Array(b.length);
  for (let o = 0; o < b.length; o++) {
    let s = b[o]!;
    for (let i = 0; i < x.length; i++) s += w[o * x.length + i]! * x[i]!;
    out[o] = s;
  }
  return out;
}

function layerNorm(t: Tensors, p: string, x: Vec): Vec {
  const n = x.length;
  const mean = x.reduce((a, v) => a + v, 0) / n;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
  const w = f(t, `${p}.weight`);
  const b = f(t, `${p}.bias`);
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * w[i]! + b[i]!);
}

const add = (a: Vec, b: Vec): Vec => a.map((v, i) => v + b[i]!);

/** 3×3 conv, padding 1, on one [C, H, W] image. */
function conv3(t: Tensors, p: string, x: Vec, C: number, H: number, W: number, stride: number): { y: Vec; C: number; H: number; W: number } {
  const w = f(t, `${p}.weight`);
  const b = f(t, `${p}.bias`);
  const O = b.length;
  const Ho = Math.floor((H - 1) / stride) + 1;
  const Wo = Math.floor((W - 1) / stride) + 1;
  const y = new Float64Array(O * Ho * Wo);
  for (let o = 0; o < O; o++) {
    for (let yy = 0; yy < Ho; yy++) {
      for (let xx = 0; xx < Wo; xx++) {
        let s = b[o]!;
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < 3; ky++) {
            const iy = yy * stride + ky - 1;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < 3; kx++) {
              const ix = xx * stride + kx - 1;
              if (ix >= 0 && ix < W) s += w[((o * C + c) * 3 + ky) * 3 + kx]! * x[(c * H + iy) * W + ix]!;
            }
          }
        }
        y[(o * Ho + yy) * Wo + xx] = s;
      }
    }
  }
  return { y, C: O, H: Ho, W: Wo };
}

/** Channel means of the hint encoder's output for one [3, H, W] hint (values in [0, 1]). */
export function hintFeatureMean(t: Tensors, hint: Float32Array, H: number, W: number): Vec {
  const names = ['conv_in', ...Array.from({ length: 6 }, (_, i) => `blocks.${i}`), 'conv_out'];
  let cur: { y: Vec; C: number; H: number; W: number } = { y: Float64Array.from(hint), C: 3, H, W };
  names.forEach((n, i) => {
    cur = conv3(t, `controlnet_cond_embedding.${n}`, cur.y, cur.C, cur.H, cur.W, i === 2 || i === 4 || i === 6 ? 2 : 1);
    if (i < names.length - 1) cur.y = cur.y.map((v) => v / (1 + Math.exp(-v)));
  });
  const n = cur.H * cur.W;
  return Float64Array.from({ length: cur.C }, (_, c) => cur.y.subarray(c * n, (c + 1) * n).reduce((a, v) => a + v, 0) / n);
}

/** Softmax attention of a token sequence [T][C] with itself, `heads` heads, nn.MultiheadAttention weights. */
function selfAttention(t: Tensors, p: string, xs: Vec[], heads: number): Vec[] {
  const C = xs[0]!.length;
  const w = f(t, `${p}.in_proj_weight`);
  const b = f(t, `${p}.in_proj_bias`);
  const proj = (x: Vec, part: number): Vec => Float64Array.from({ length: C }, (_, o) => {
    let s = b[part * C + o]!;
    for (let i = 0; i < C; i++) s += w[(part * C + o) * C + i]! * x[i]!;
    return s;
  });
  const q = xs.map((x) => proj(x, 0)), k = xs.map((x) => proj(x, 1)), v = xs.map((x) => proj(x, 2));
  const d = C / heads;
  return xs.map((_, i) => {
    const out = new Float64Array(C);
    for (let h = 0; h < heads; h++) {
      const scores = k.map((kj) => { let s = 0; for (let c = h * d; c < (h + 1) * d; c++) s += q[i]![c]! * kj[c]!; return s / Math.sqrt(d); });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, x) => a + x, 0);
      v.forEach((vj, j) => { for (let c = h * d; c < (h + 1) * d; c++) out[c] += (e[j]! / z) * vj[c]!; });
    }
    return linear(t, `${p}.out_proj`, out);
  });
}

/** The vector added to every pixel of the hint encoder's output for control type `type`. */
export function unionShift(t: Tensors, featureMean: Vec, type: number, heads = 8): Vec {
  const C = featureMean.length;
  const task = f(t, 'task_embedding').subarray(type * C, (type + 1) * C);
  let x: Vec = featureMean.map((v, i) => v + task[i]!);
  const L = 'transformer_layes.0';
  x = add(x, selfAttention(t, `${L}.attn`, [layerNorm(t, `${L}.ln_1`, x)], heads)[0]!);
  const hidden = linear(t, `${L}.mlp.c_fc`, layerNorm(t, `${L}.ln_2`, x)).map((v) => v / (1 + Math.exp(-1.702 * v)));
  x = add(x, linear(t, `${L}.mlp.c_proj`, hidden));
  return linear(t, 'spatial_ch_projs', x);
}

/** ControlAddEmbedding of the type vector (undefined: "auto", all zeros). */
export function controlAddEmbedding(t: Tensors, type: number | undefined, types: number): Vec {
  const inDim = f(t, 'control_add_embedding.linear_1.weight').length / f(t, 'control_add_embedding.linear_1.bias').length / types;
  const half = inDim / 2;
  const flat = new Float64Array(types * inDim);
  for (let n = 0; n < types; n++) {
    const c = n === type ? 1 : 0;
    for (let i = 0; i < half; i++) {
      const a = c * Math.exp((-Math.log(10000) * i) / half);
      flat[n * inDim + i] = Math.cos(a);
      flat[n * inDim + half + i] = Math.sin(a);
    }
  }
  const h = linear(t, 'control_add_embedding.linear_1', flat).map((v) => v / (1 + Math.exp(-v)));
  return linear(t, 'control_add_embedding.linear_2', h);
}
