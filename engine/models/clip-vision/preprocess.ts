/**
 * ComfyUI's clip_preprocess, bit-faithful to torch on CPU in float32: NHWC IMAGE → NCHW pixel values.
 * Not already size×size: resize with interpolate(mode='bicubic', antialias=True) — shortest side to `size`
 * (Python round of scale·H, scale·W) then centre crop, or straight to size×size with crop 'none' —, then
 * clip(255·x).round()/255 and (x − mean)/std per channel.
 *
 * torch's antialiased bicubic is not the plain bicubic kernel: it is a separable filter (width pass first,
 * then height, float32 intermediate) whose support widens by the downscale factor, with PIL's cubic
 * (a = −0.5) and weights renormalised at the borders instead of clamping indices. Every step below is
 * rounded to float32 where torch's float kernels round, because the 8-bit quantisation afterwards turns
 * tiny differences into whole 1/255 steps.
 */
import { WeftError } from '../../errors.ts';
import { tensor, type Tensor } from '../../tensor/tensor.ts';
import { pyRound } from '../../tensor/upscale.ts';

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export type ClipCrop = 'center' | 'none';

export interface PreprocessOptions {
  size?: number;
  crop?: ClipCrop;
  mean?: readonly number[];
  std?: readonly number[];
}

const f = Math.fround;

/** One axis of torch's AA kernel: for output o, taps start[o] … start[o]+count[o]−1 with weights. */
export interface AaTaps { start: Int32Array; count: Int32Array; weights: Float32Array[] }

function aaCubic(x: number, a: number): number {
  const A = f(a);
  x = Math.abs(x);
  if (x < 1) return f(f(f(f(f(f(A + 2) * x) - f(A + 3)) * x) * x) + 1);
  if (x < 2) return f(f(f(f(f(f(A * x) - f(5 * A)) * x) + f(8 * A)) * x) - f(4 * A));
  return 0;
}

/** torch's _compute_indices_weights_aa for bicubic (interp_size 4) in float32; `a` is PIL's −0.5. */
export function aaBicubicTaps(inSize: number, outSize: number, a = -0.5): AaTaps {
  const scale = f(inSize / outSize);
  const support = f(scale >= 1 ? 2 * scale : 2);
  const invscale = scale >= 1 ? f(1 / scale) : 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights: Float32Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = f(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f(center - support) + 0.5), 0);
    const xsize = Math.min(Math.trunc(f(center + support) + 0.5), inSize) - xmin;
    const w = new Float32Array(Math.max(xsize, 0));
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      w[j] = aaCubic(f(f(f(j + xmin - center) + 0.5) * invscale), a);
      total = f(total + w[j]!);
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) w[j] = f(w[j]! / total);
    start[i] = xmin;
    count[i] = xsize;
    weights.push(w);
  }
  return { start, count, weights };
}

/** Resamples planes [P, H, W] along one axis with float32 accumulation in tap order. */
function pass(src: Float32Array, planes: number, h: number, w: number, taps: AaTaps, axis: 'x' | 'y'): Float32Array {
  const oh = axis === 'y' ? taps.start.length : h;
  const ow = axis === 'x' ? taps.start.length : w;
  const out = new Float32Array(planes * oh * ow);
  for (let p = 0; p < planes; p++) {
    const sb = p * h * w, ob = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const o = axis === 'x' ? x : y;
        const s0 = taps.start[o]!, wt = taps.weights[o]!;
        const at = (j: number) => (axis === 'x' ? src[sb + y * w + s0 + j]! : src[sb + (s0 + j) * w + x]!);
        let acc = f(at(0) * wt[0]!);
        // torch's vectorised loop fuses multiply-add: the float32 product is exact in float64, rounded once.
        for (let j = 1; j < wt.length; j++) acc = f(acc + at(j) * wt[j]!);
        out[ob + y * ow + x] = acc;
      }
    }
  }
  return out;
}

/** interpolate(NCHW, size=(oh, ow), mode='bicubic', antialias=True, align_corners=False). */
export function resizeBicubicAA(t: Tensor, oh: number, ow: number): Tensor {
  const [n, c, h, w] = t.shape as [number, number, number, number];
  let data = t.data;
  if (ow !== w) data = pass(data, n * c, h, w, aaBicubicTaps(w, ow), 'x');
  if (oh !== h) data = pass(data, n * c, h, ow, aaBicubicTaps(h, oh), 'y');
  return tensor([n, c, oh, ow], data === t.data ? data.slice() : data);
}

/** The region clip_preprocess keeps after resizing an H×W image: resized size and crop offsets. */
export function clipResizePlan(h: number, w: number, size: number, crop: ClipCrop): { rh: number; rw: number; top: number; left: number } {
  if (h === size && w === size) return { rh: h, rw: w, top: 0, left: 0 };
  let rh = size, rw = size;
  if (crop === 'center') {
    const scale = size / Math.min(h, w);
    rh = pyRound(scale * h);
    rw = pyRound(scale * w);
  }
  return { rh, rw, top: Math.floor((rh - size) / 2), left: Math.floor((rw - size) / 2) };
}

/** IMAGE [B, H, W, C≥3] in [0,1] → pixel_values [B, 3, size, size]. */
export function clipPreprocess(image: Tensor, o: PreprocessOptions = {}): Tensor {
  const size = o.size ?? 224;
  const mean = o.mean ?? CLIP_MEAN, std = o.std ?? CLIP_STD;
  if (image.shape.length !== 4 || image.shape[3]! < 3) {
    throw new WeftError(`CLIP vision needs an IMAGE [batch, height, width, 3]; got [${image.shape.join(', ')}]`, { input: 'image' });
  }
  const [b, h, w, ch] = image.shape as [number, number, number, number];
  const nchw = new Float32Array(b * 3 * h * w);
  for (let n = 0; n < b; n++) {
    for (let c = 0; c < 3; c++) {
      const ob = (n * 3 + c) * h * w;
      for (let i = 0; i < h * w; i++) nchw[ob + i] = image.data[(n * h * w + i) * ch + c]!;
    }
  }
  const plan = clipResizePlan(h, w, size, o.crop ?? 'center');
  const resized = plan.rh === h && plan.rw === w ? nchw : resizeBicubicAA(tensor([b, 3, h, w], nchw), plan.rh, plan.rw).data;
  const out = new Float32Array(b * 3 * size * size);
  for (let p = 0; p < b * 3; p++) {
    const c = p % 3;
    const m = f(mean[c]!), s = f(std[c]!);
    for (let y = 0; y < size; y++) {
      const row = p * plan.rh * plan.rw + (y + plan.top) * plan.rw + plan.left;
      for (let x = 0; x < size; x++) {
        const q = roundHalfEven(Math.min(Math.max(f(255 * resized[row + x]!), 0), 255));
        out[(p * size + y) * size + x] = f(f(f(q / 255) - m) / s);
      }
    }
  }
  return tensor([b, 3, size, size], out);
}

/** torch.round: halves to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
