/**
 * ComfyUI's "bislerp" latent upscale: along each axis, neighbouring channel vectors are blended by
 * spherical interpolation of their directions and linear interpolation of their norms. Source
 * positions come from torch's bilinear (align_corners=False) sampling of the coordinate ramp, so the
 * integer coordinates match ComfyUI's exactly.
 */
import type { Tensor } from './tensor.ts';
import { linearTaps } from './resample.ts';

const f32 = Math.fround;

interface AxisData {
  c1: Int32Array;
  c2: Int32Array;
  ratio: Float64Array;
}

/** Interpolates the ramps [0..L−1] and [1..L−1, L−1] in float32 like torch, then truncates. */
function axisData(oldLen: number, newLen: number): AxisData {
  const taps = linearTaps(oldLen, newLen);
  const c1 = new Int32Array(newLen);
  const c2 = new Int32Array(newLen);
  const ratio = new Float64Array(newLen);
  const ramp2 = (k: number) => (k < oldLen - 1 ? k + 1 : oldLen - 1);
  for (let o = 0; o < newLen; o++) {
    const k = taps.start[o];
    const [i0, i1] = [taps.idx[k], taps.idx[k + 1]];
    const [w0, w1] = [taps.wt[k], taps.wt[k + 1]];
    const v1 = f32(f32(i0 * w0) + f32(i1 * w1));
    const v2 = f32(f32(ramp2(i0) * w0) + f32(ramp2(i1) * w1));
    ratio[o] = v1 - Math.floor(v1);
    c1[o] = Math.trunc(v1);
    c2[o] = Math.trunc(v2);
  }
  return { c1, c2, ratio };
}

/** Slerps channel vectors a and b (read with stride) by r into out. */
function slerp(a: Float64Array, b: Float64Array, r: number, out: Float64Array): void {
  const c = a.length;
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < c; i++) {
    n1 += a[i] * a[i];
    n2 += b[i] * b[i];
  }
  n1 = Math.sqrt(n1);
  n2 = Math.sqrt(n2);
  let dot = 0;
  for (let i = 0; i < c; i++) dot += (n1 === 0 ? 0 : a[i] / n1) * (n2 === 0 ? 0 : b[i] / n2);
  if (dot > 1 - 1e-5) {
    out.set(a);
    return;
  }
  if (dot < 1e-5 - 1) {
    for (let i = 0; i < c; i++) out[i] = a[i] * (1 - r) + b[i] * r;
    return;
  }
  const omega = Math.acos(dot);
  const so = Math.sin(omega);
  const ka = Math.sin((1 - r) * omega) / so;
  const kb = Math.sin(r * omega) / so;
  const norm = n1 * (1 - r) + n2 * r;
  for (let i = 0; i < c; i++) out[i] = (ka * (n1 === 0 ? 0 : a[i] / n1) + kb * (n2 === 0 ? 0 : b[i] / n2)) * norm;
}

/** One axis of bislerp on [N,C,H,W]; axis 3 = width, 2 = height. */
function bislerpAxis(src: Float32Array, n: number, c: number, h: number, w: number, axis: 2 | 3, newLen: number): Float32Array {
  const oh = axis === 2 ? newLen : h;
  const ow = axis === 3 ? newLen : w;
  const ad = axisData(axis === 3 ? w : h, newLen);
  const out = new Float32Array(n * c * oh * ow);
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  const r = new Float64Array(c);
  for (let bi = 0; bi < n; bi++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const o = axis === 3 ? x : y;
        const y1 = axis === 2 ? ad.c1[o] : y;
        const y2 = axis === 2 ? ad.c2[o] : y;
        const x1 = axis === 3 ? ad.c1[o] : x;
        const x2 = axis === 3 ? ad.c2[o] : x;
        for (let ch = 0; ch < c; ch++) {
          const base = (bi * c + ch) * h * w;
          a[ch] = src[base + y1 * w + x1];
          b[ch] = src[base + y2 * w + x2];
        }
        slerp(a, b, ad.ratio[o], r);
        for (let ch = 0; ch < c; ch++) out[((bi * c + ch) * oh + y) * ow + x] = r[ch];
      }
    }
  }
  return out;
}

/** bislerp resize of an NCHW tensor to height × width (width pass first, as ComfyUI). */
export function bislerpNCHW(t: Tensor, width: number, height: number): Tensor {
  const [n, c, h, w] = t.shape;
  const pass1 = bislerpAxis(t.data, n, c, h, w, 3, width);
  const pass2 = bislerpAxis(pass1, n, c, h, width, 2, height);
  return { shape: [n, c, height, width], data: pass2 };
}
