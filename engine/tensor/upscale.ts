/**
 * ComfyUI's comfy.utils.common_upscale for our tensors: optional centre crop to the target aspect,
 * then one of the upscale methods. The core works on NCHW (latents); `upscaleImage` is the NHWC
 * (IMAGE) entry point. Both address planes in place through strides, so neither transposes.
 */
import { WeftError } from '../errors.ts';
import type { Tensor } from './tensor.ts';
import { BYTE_TO_FLOAT, toByte } from './pixels.ts';
import { bislerpNCHW } from './bislerp.ts';
import {
  areaTaps,
  cubicTaps,
  lanczosPlane8,
  linearTaps,
  nearestExactTaps,
  resamplePlane,
  type Plane,
  type Taps,
} from './resample.ts';

export const IMAGE_UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'] as const;
export const LATENT_UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp'] as const;
export const CROP_METHODS = ['disabled', 'center'] as const;

export type UpscaleMethod = (typeof IMAGE_UPSCALE_METHODS)[number] | (typeof LATENT_UPSCALE_METHODS)[number];
export type CropMethod = (typeof CROP_METHODS)[number];
export type Layout = 'NCHW' | 'NHWC';

/** Python 3's round(): halves go to the even neighbour (round(2.5) == 2). */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The window common_upscale keeps with crop="center": trims the longer side to the target aspect. */
export function centerCropBox(oldW: number, oldH: number, width: number, height: number): CropBox {
  const oldAspect = oldW / oldH;
  const newAspect = width / height;
  let x = 0;
  let y = 0;
  if (oldAspect > newAspect) x = pyRound((oldW - oldW * (newAspect / oldAspect)) / 2);
  else if (oldAspect < newAspect) y = pyRound((oldH - oldH * (oldAspect / newAspect)) / 2);
  return { x, y, w: oldW - 2 * x, h: oldH - 2 * y };
}

interface Dims {
  n: number;
  c: number;
  h: number;
  w: number;
}

function dims(t: Tensor, layout: Layout): Dims {
  if (t.shape.length !== 4) throw new WeftError(`expected a 4-D ${layout} tensor, got shape [${t.shape.join(', ')}]`);
  const [a, b, c, d] = t.shape;
  return layout === 'NCHW' ? { n: a, c: b, h: c, w: d } : { n: a, h: b, w: c, c: d };
}

function plane(data: Float32Array, layout: Layout, d: Dims, b: number, ch: number, box?: CropBox): Plane {
  const nchw = layout === 'NCHW';
  const sy = nchw ? d.w : d.w * d.c;
  const sx = nchw ? 1 : d.c;
  const base = nchw ? (b * d.c + ch) * d.h * d.w : b * d.h * d.w * d.c + ch;
  if (!box) return { data, offset: base, sy, sx, h: d.h, w: d.w };
  return { data, offset: base + box.y * sy + box.x * sx, sy, sx, h: box.h, w: box.w };
}

function tapsFor(method: string, inSize: number, outSize: number): Taps {
  switch (method) {
    case 'nearest-exact':
      return nearestExactTaps(inSize, outSize);
    case 'bilinear':
      return linearTaps(inSize, outSize);
    case 'bicubic':
      return cubicTaps(inSize, outSize);
    case 'area':
      return areaTaps(inSize, outSize);
    default:
      throw new WeftError(`unknown upscale method "${method}"`, { input: 'upscale_method' });
  }
}

function lanczosInto(src: Plane, dst: Plane): void {
  const bytes = new Uint8Array(src.h * src.w);
  for (let y = 0; y < src.h; y++) {
    for (let x = 0; x < src.w; x++) bytes[y * src.w + x] = toByte(src.data[src.offset + y * src.sy + x * src.sx]);
  }
  const out = lanczosPlane8(bytes, src.h, src.w, dst.h, dst.w);
  for (let y = 0; y < dst.h; y++) {
    for (let x = 0; x < dst.w; x++) dst.data[dst.offset + y * dst.sy + x * dst.sx] = BYTE_TO_FLOAT[out[y * dst.w + x]];
  }
}

/**
 * Resizes the H and W axes of a 4-D tensor in the given layout to height × width.
 * 'lanczos' goes through 8 bits like ComfyUI's PIL path; 'bislerp' needs NCHW.
 */
export function resize(t: Tensor, layout: Layout, width: number, height: number, method: UpscaleMethod, crop: CropMethod = 'disabled'): Tensor {
  const d = dims(t, layout);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new WeftError(`cannot resize to ${width}×${height}: both sides must be positive integers`);
  }
  if (d.h < 1 || d.w < 1) throw new WeftError(`cannot resize an empty ${d.w}×${d.h} tensor`);
  const box = crop === 'center' ? centerCropBox(d.w, d.h, width, height) : undefined;
  if (box && (box.w < 1 || box.h < 1)) throw new WeftError(`centre crop of ${d.w}×${d.h} to ${width}:${height} leaves nothing`);
  if (method === 'bislerp') {
    if (layout !== 'NCHW') throw new WeftError('bislerp works on NCHW tensors (latents)');
    return bislerpNCHW(box ? cropTensor(t, layout, box) : t, width, height);
  }
  const outShape = layout === 'NCHW' ? [d.n, d.c, height, width] : [d.n, height, width, d.c];
  const out = new Float32Array(d.n * d.c * height * width);
  const od: Dims = { ...d, h: height, w: width };
  const inH = box ? box.h : d.h;
  const inW = box ? box.w : d.w;
  const lanczos = method === 'lanczos';
  const tx = lanczos ? undefined : tapsFor(method, inW, width);
  const ty = lanczos ? undefined : tapsFor(method, inH, height);
  const tmp = lanczos ? undefined : new Float64Array(inH * width);
  for (let b = 0; b < d.n; b++) {
    for (let ch = 0; ch < d.c; ch++) {
      const src = plane(t.data, layout, d, b, ch, box);
      const dst = plane(out, layout, od, b, ch);
      if (lanczos) lanczosInto(src, dst);
      else resamplePlane(src, dst, tx!, ty!, tmp!);
    }
  }
  return { shape: outShape, data: out };
}

/** Copies a crop window out of a 4-D tensor. */
export function cropTensor(t: Tensor, layout: Layout, box: CropBox): Tensor {
  const d = dims(t, layout);
  const od: Dims = { ...d, h: box.h, w: box.w };
  const out = new Float32Array(d.n * d.c * box.h * box.w);
  for (let b = 0; b < d.n; b++) {
    for (let ch = 0; ch < d.c; ch++) {
      const s = plane(t.data, layout, d, b, ch, box);
      const o = plane(out, layout, od, b, ch);
      for (let y = 0; y < box.h; y++) {
        for (let x = 0; x < box.w; x++) o.data[o.offset + y * o.sy + x * o.sx] = s.data[s.offset + y * s.sy + x * s.sx];
      }
    }
  }
  return { shape: layout === 'NCHW' ? [d.n, d.c, box.h, box.w] : [d.n, box.h, box.w, d.c], data: out };
}

/** comfy.utils.common_upscale on an NCHW tensor (latent samples). */
export function commonUpscale(samples: Tensor, width: number, height: number, method: UpscaleMethod, crop: CropMethod = 'disabled'): Tensor {
  return resize(samples, 'NCHW', width, height, method, crop);
}

/** common_upscale applied to an IMAGE (NHWC), as ImageScale does via movedim. */
export function upscaleImage(image: Tensor, width: number, height: number, method: UpscaleMethod, crop: CropMethod = 'disabled'): Tensor {
  return resize(image, 'NHWC', width, height, method, crop);
}
