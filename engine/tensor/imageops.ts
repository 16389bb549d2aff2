/**
 * Pixel-space operations behind ComfyUI's image nodes (nodes.py, nodes_images.py,
 * nodes_post_processing.py, nodes_mask.py's `composite`). IMAGE is NHWC in [0,1]; the masked
 * composite also serves latents (NCHW), as ComfyUI's shared `composite` does.
 */
import { WeftError } from '../errors.ts';
import { broadcastBatch, repeatToBatchSize } from './batch.ts';
import { asMask3 } from './mask.ts';
import type { Tensor } from './tensor.ts';
import { cropTensor, resize, type Layout } from './upscale.ts';

/** ComfyUI's colour widget value 0xRRGGBB as three floats in [0,1]. */
export function colorToRgb(color: number): [number, number, number] {
  return [((color >> 16) & 0xff) / 255, ((color >> 8) & 0xff) / 255, (color & 0xff) / 255];
}

/** EmptyImage: a batch of width × height RGB images filled with one colour. */
export function emptyImage(width: number, height: number, batch: number, color: number): Tensor {
  const rgb = colorToRgb(color);
  const out = new Float32Array(batch * height * width * 3);
  for (let i = 0; i < out.length; i += 3) out.set(rgb, i);
  return { shape: [batch, height, width, 3], data: out };
}

export function checkImage(image: Tensor, input: string): [number, number, number, number] {
  if (image.shape.length !== 4) throw new WeftError(`${input}: expected an image [B,H,W,C], got [${image.shape.join(', ')}]`, { input });
  const [b, h, w, c] = image.shape;
  if (b < 1 || h < 1 || w < 1) throw new WeftError(`${input}: image is empty [${image.shape.join(', ')}]`, { input });
  return [b, h, w, c];
}

/** ImageCrop: x and y are clamped inside the image, the window to its far edges. */
export function cropImage(image: Tensor, width: number, height: number, x: number, y: number): Tensor {
  const [, h, w] = checkImage(image, 'image');
  x = Math.min(x, w - 1);
  y = Math.min(y, h - 1);
  return cropTensor(image, 'NHWC', { x, y, w: Math.min(width, w - x), h: Math.min(height, h - y) });
}

/** Appends a constant last channel (alpha 1). */
function padChannel(t: Tensor): Tensor {
  const c = t.shape[3];
  const px = t.data.length / c;
  const out = new Float32Array(px * (c + 1));
  for (let i = 0; i < px; i++) {
    for (let k = 0; k < c; k++) out[i * (c + 1) + k] = t.data[i * c + k];
    out[i * (c + 1) + c] = 1;
  }
  return { shape: [t.shape[0], t.shape[1], t.shape[2], c + 1], data: out };
}

function dropChannels(t: Tensor, keep: number): Tensor {
  const c = t.shape[3];
  const px = t.data.length / c;
  const out = new Float32Array(px * keep);
  for (let i = 0; i < px; i++) for (let k = 0; k < keep; k++) out[i * keep + k] = t.data[i * c + k];
  return { shape: [t.shape[0], t.shape[1], t.shape[2], keep], data: out };
}

/** node_helpers.image_alpha_fix: the source loses extra channels or gains an opaque alpha. */
export function alphaFix(destination: Tensor, source: Tensor): Tensor {
  const dc = destination.shape[3];
  const sc = source.shape[3];
  if (dc < sc) return dropChannels(source, dc);
  if (dc > sc) {
    if (dc !== sc + 1) throw new WeftError(`source: ${sc} channels cannot be matched to the destination's ${dc}`, { input: 'source' });
    return padChannel(source);
  }
  return source;
}

/** ImageBatch: image2 gets image1's channel count and size (bilinear, centre crop), then both are stacked. */
export function batchImages(image1: Tensor, image2: Tensor): Tensor {
  checkImage(image1, 'image1');
  checkImage(image2, 'image2');
  let a = image1;
  let b = image2;
  if (a.shape[3] !== b.shape[3]) {
    if (Math.abs(a.shape[3] - b.shape[3]) !== 1) throw new WeftError(`image2: ${b.shape[3]} channels cannot be batched with ${a.shape[3]}`, { input: 'image2' });
    if (a.shape[3] > b.shape[3]) b = padChannel(b);
    else a = padChannel(a);
  }
  if (a.shape[1] !== b.shape[1] || a.shape[2] !== b.shape[2]) b = resize(b, 'NHWC', a.shape[2], a.shape[1], 'bilinear', 'center');
  const out = new Float32Array(a.data.length + b.data.length);
  out.set(a.data);
  out.set(b.data, a.data.length);
  return { shape: [a.shape[0] + b.shape[0], a.shape[1], a.shape[2], a.shape[3]], data: out };
}

/**
 * What LatentBlend and ImageBlend do when the second operand's shape differs: a bicubic,
 * centre-cropped resize to the first operand's height × width. Batch sizes must then broadcast
 * and channel counts agree.
 */
export function matchForBlend(first: Tensor, second: Tensor, layout: Layout, input: string): Tensor {
  const hAxis = layout === 'NCHW' ? 2 : 1;
  const cAxis = layout === 'NCHW' ? 1 : 3;
  let out = second;
  if (first.shape[hAxis] !== second.shape[hAxis] || first.shape[hAxis + 1] !== second.shape[hAxis + 1]) {
    out = resize(second, layout, first.shape[hAxis + 1], first.shape[hAxis], 'bicubic', 'center');
  }
  if (out.shape[cAxis] !== first.shape[cAxis]) {
    throw new WeftError(`${input}: has ${out.shape[cAxis]} channels, expected ${first.shape[cAxis]}`, { input });
  }
  broadcastBatch(first.shape[0], out.shape[0], input);
  return out;
}

/** Elementwise f(a, b) with the leading (batch) axis broadcast; both must hold equal-sized items. */
export function zipBatch(a: Tensor, b: Tensor, input: string, f: (x: number, y: number) => number): Tensor {
  const n = broadcastBatch(a.shape[0], b.shape[0], input);
  const item = a.data.length / a.shape[0];
  const out = new Float32Array(n * item);
  for (let k = 0; k < n; k++) {
    const ao = (a.shape[0] === 1 ? 0 : k) * item;
    const bo = (b.shape[0] === 1 ? 0 : k) * item;
    const oo = k * item;
    for (let i = 0; i < item; i++) out[oo + i] = f(a.data[ao + i], b.data[bo + i]);
  }
  return { shape: [n, ...a.shape.slice(1)], data: out };
}

export const BLEND_MODES = ['normal', 'multiply', 'screen', 'overlay', 'soft_light', 'difference'] as const;
export type BlendMode = (typeof BLEND_MODES)[number];

/** The soft-light helper: a cubic below 0.25, √x above. */
const softG = (x: number) => (x <= 0.25 ? ((16 * x - 12) * x + 4) * x : Math.sqrt(x));

const BLEND: Record<BlendMode, (a: number, b: number) => number> = {
  normal: (_a, b) => b,
  multiply: (a, b) => a * b,
  screen: (a, b) => 1 - (1 - a) * (1 - b),
  overlay: (a, b) => (a <= 0.5 ? 2 * a * b : 1 - 2 * (1 - a) * (1 - b)),
  soft_light: (a, b) => (b <= 0.5 ? a - (1 - 2 * b) * a * (1 - a) : a + (2 * b - 1) * (softG(a) - a)),
  difference: (a, b) => a - b,
};

/** ImageBlend: image1·(1−f) + mode(image1, image2)·f, clamped to [0,1]. */
export function blendImages(image1: Tensor, image2: Tensor, factor: number, mode: string): Tensor {
  checkImage(image1, 'image1');
  checkImage(image2, 'image2');
  const f = BLEND[mode as BlendMode];
  if (!f) throw new WeftError(`blend_mode: unknown mode "${mode}"`, { input: 'blend_mode' });
  const b = matchForBlend(image1, image2, 'NHWC', 'image2');
  return zipBatch(image1, b, 'image2', (x, y) => Math.min(Math.max(x * (1 - factor) + f(x, y) * factor, 0), 1));
}

/**
 * ComfyUI's masked `composite` (nodes_mask.py): pastes `source` into `destination` at (x, y),
 * blended by `mask` (bilinearly resized to the source). Positions are in pixels and divided by
 * `multiplier` (8 for latents, 1 for images). Tensors are NCHW or NHWC; the result is a new tensor.
 */
export function compositeMasked(
  destination: Tensor,
  source: Tensor,
  x: number,
  y: number,
  mask: Tensor | undefined,
  multiplier: number,
  resizeSource: boolean,
  layout: Layout,
): Tensor {
  const nchw = layout === 'NCHW';
  const dims = (t: Tensor) => (nchw ? { c: t.shape[1], h: t.shape[2], w: t.shape[3] } : { c: t.shape[3], h: t.shape[1], w: t.shape[2] });
  const d = dims(destination);
  let src = resizeSource ? resize(source, layout, d.w, d.h, 'bilinear') : source;
  src = repeatToBatchSize(src, destination.shape[0]);
  const s = dims(src);
  if (s.c !== d.c) throw new WeftError(`source: has ${s.c} channels, destination has ${d.c}`, { input: 'source' });
  x = Math.max(-s.w * multiplier, Math.min(x, d.w * multiplier));
  y = Math.max(-s.h * multiplier, Math.min(y, d.h * multiplier));
  const left = Math.floor(x / multiplier);
  const top = Math.floor(y / multiplier);
  const n = destination.shape[0];
  let m: Float32Array | undefined;
  if (mask) {
    const m3 = asMask3(mask);
    const r = resize({ shape: [m3.shape[0], 1, m3.shape[1], m3.shape[2]], data: m3.data }, 'NCHW', s.w, s.h, 'bilinear');
    m = repeatToBatchSize(r, n).data;
  }
  const out = destination.data.slice();
  // Only the part of the source that lands inside the destination is written (negative
  // positions cannot come from the schemas, whose minimum is 0).
  const x0 = Math.max(0, -left);
  const y0 = Math.max(0, -top);
  const x1 = Math.min(s.w, d.w - left);
  const y1 = Math.min(s.h, d.h - top);
  const stride = (t: { c: number; h: number; w: number }) =>
    nchw ? { b: t.c * t.h * t.w, c: t.h * t.w, y: t.w, x: 1 } : { b: t.h * t.w * t.c, c: 1, y: t.w * t.c, x: t.c };
  const ds = stride(d);
  const ss = stride(s);
  for (let b = 0; b < n; b++) {
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const mv = m ? m[(b * s.h + yy) * s.w + xx] : 1;
        const so = b * ss.b + yy * ss.y + xx * ss.x;
        const dof = b * ds.b + (yy + top) * ds.y + (xx + left) * ds.x;
        for (let c = 0; c < d.c; c++) {
          out[dof + c * ds.c] = mv * src.data[so + c * ss.c] + (1 - mv) * out[dof + c * ds.c];
        }
      }
    }
  }
  return { shape: [...destination.shape], data: out };
}

/**
 * ImagePadForOutpaint: the image placed on a 0.5-grey canvas grown by the margins; the mask is 1
 * on the new area and, inside the original, ((feathering − d)/feathering)² where d is the distance
 * to the nearest padded edge (edges without padding do not count), 0 beyond `feathering`.
 */
export function padForOutpaint(image: Tensor, left: number, top: number, right: number, bottom: number, feathering: number): { image: Tensor; mask: Tensor } {
  const [b, h, w, c] = checkImage(image, 'image');
  const H = h + top + bottom;
  const W = w + left + right;
  const out = new Float32Array(b * H * W * c).fill(0.5);
  for (let k = 0; k < b; k++) {
    for (let r = 0; r < h; r++) {
      const src = ((k * h + r) * w) * c;
      out.set(image.data.subarray(src, src + w * c), ((k * H + r + top) * W + left) * c);
    }
  }
  const mask = new Float32Array(H * W).fill(1);
  const feather = feathering > 0 && feathering * 2 < h && feathering * 2 < w;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let v = 0;
      if (feather) {
        const d = Math.min(top !== 0 ? i : h, bottom !== 0 ? h - i : h, left !== 0 ? j : w, right !== 0 ? w - j : w);
        if (d < feathering) v = ((feathering - d) / feathering) ** 2;
      }
      mask[(i + top) * W + j + left] = v;
    }
  }
  return { image: { shape: [b, H, W, c], data: out }, mask: { shape: [1, H, W], data: mask } };
}
