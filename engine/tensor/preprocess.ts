/**
 * Hint-image preprocessing for ControlNets that need no model: grey conversion, binary
 * scribbles and per-channel thresholds. Everything maps IMAGE (NHWC, [0,1]) to IMAGE.
 *
 * Depth, normal and pose maps that already exist as images need no step here at all: they are
 * fed to the ControlNet as they are.
 */
import { WeftError } from '../errors.ts';
import { invertImage } from './image.ts';
import { checkImage } from './imageops.ts';
import type { Tensor } from './tensor.ts';

/**
 * Luma weights of kornia's rgb_to_grayscale (ITU-R BT.601). ComfyUI's Canny sees this grey, so
 * the scribble preprocessor uses the same one: a hint drawn for one looks the same to the other.
 */
export const LUMA_WEIGHTS = [0.299, 0.587, 0.114] as const;

/**
 * The grey plane of every batch element, as an IMAGE [B,H,W,1]. One channel is taken as is,
 * three are weighted by LUMA_WEIGHTS; with `alpha` a fourth (alpha) channel is ignored, since
 * a hint's transparency carries no line information. Other channel counts are refused.
 */
export function toGray(image: Tensor, input = 'image', alpha = true): Tensor {
  const [b, h, w, c] = checkImage(image, input);
  const ok = c === 1 || c === 3 || (alpha && c === 4);
  if (!ok) {
    const allowed = alpha ? '1, 3 or 4' : '1 or 3';
    throw new WeftError(`${input}: expected ${allowed} channels, got ${c}`, { input });
  }
  const px = b * h * w;
  const src = image.data;
  const out = new Float32Array(px);
  if (c === 1) out.set(src);
  else {
    const [wr, wg, wb] = LUMA_WEIGHTS;
    for (let i = 0, j = 0; i < px; i++, j += c) out[i] = wr * src[j] + wg * src[j + 1] + wb * src[j + 2];
  }
  return { shape: [b, h, w, 1], data: out };
}

function checkThreshold(value: number, input: string): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new WeftError(`${input}: must be a number from 0 to 1, got ${value}`, { input });
  }
}

/** Repeats a one-channel IMAGE into three channels (what ControlNet hint inputs expect). */
export function grayToRgb(gray: Tensor): Tensor {
  const [b, h, w] = gray.shape;
  const px = b * h * w;
  const out = new Float32Array(px * 3);
  const g = gray.data;
  for (let i = 0, j = 0; i < px; i++, j += 3) {
    const v = g[i];
    out[j] = v;
    out[j + 1] = v;
    out[j + 2] = v;
  }
  return { shape: [b, h, w, 3], data: out };
}

/**
 * WeftThreshold: every sample of every channel becomes 1 when it is strictly above `threshold`,
 * else 0. Channels are kept, so an RGB hint stays RGB (and alpha is thresholded like the rest).
 */
export function thresholdImage(image: Tensor, threshold: number): Tensor {
  checkImage(image, 'image');
  checkThreshold(threshold, 'threshold');
  const src = image.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] > threshold ? 1 : 0;
  return { shape: [...image.shape], data: out };
}

/**
 * WeftScribble: the grey image binarised (1 where strictly above `threshold`) as a 3-channel
 * IMAGE. Scribble ControlNets were trained on white strokes on black; a pen sketch is the
 * opposite, which is what `invert` is for (ImageInvert's 1 − x, reused rather than re-written).
 */
export function scribbleImage(image: Tensor, threshold: number, invert: boolean): Tensor {
  checkThreshold(threshold, 'threshold');
  const gray = toGray(image, 'image');
  const g = gray.data;
  for (let i = 0; i < g.length; i++) g[i] = g[i] > threshold ? 1 : 0;
  const rgb = grayToRgb(gray);
  return invert ? invertImage(rgb) : rgb;
}
