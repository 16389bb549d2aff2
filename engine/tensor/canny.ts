/**
 * Canny edges as ComfyUI's Canny node computes them: it hands the NCHW image to
 * kornia.filters.canny(image, low, high) with kornia's defaults and repeats the edge map to RGB.
 *
 * kornia's steps, reproduced here on each batch element:
 *  1. grey: BT.601 luma when there are 3 channels; one channel is used as is (kornia has no
 *     path for other counts, so neither do we);
 *  2. gaussian blur, 5×5, sigma 1 in pixels, reflect padding (filters.ts's gaussianBlur
 *     measures sigma in half-kernel units, so kornia's sigma 1 is 0.5 there);
 *  3. Sobel gradients with the UNnormalised kernel [-1 0 1; -2 0 2; -1 0 1] and replicate
 *     padding — kornia's canny passes normalized=False, so a 0→1 step scores about 2.6, which
 *     is why the node's thresholds (0.4 / 0.8) sit well below the steps they are meant to keep;
 *  4. magnitude sqrt(gx² + gy² + 1e-6); direction atan2(gy, gx) rounded (half to even, like
 *     torch.round) to a multiple of 45°;
 *  5. non-maximum suppression: a pixel survives when it beats both neighbours along that
 *     direction; neighbours outside the image count as 0 (kornia's zero-padded conv2d);
 *  6. double threshold, both strict (> low weak, > high strong), then hysteresis: weak pixels
 *     8-connected to a strong one through weak ones become edges. kornia reaches that fixpoint
 *     by repeated 3×3 dilation; a flood fill from the strong pixels reaches the same set.
 *
 * One deliberate refinement in step 5: a step edge lying exactly between two pixels gives both
 * the same magnitude in exact arithmetic, and kornia's strict comparison then keeps whichever
 * float32 rounding happens to favour (or neither). Here values within TIE of each other are a
 * tie, and a tie is won by the pixel whose equal neighbour lies up the gradient, i.e. the darker
 * side (flat patches, with no gradient at all, keep the strict rule). Real images almost never
 * tie, so elsewhere the result is kornia's; on synthetic shapes it is a deterministic 1-pixel
 * line where float64 with kornia's rule would leave nothing and float32 leaves rounding noise.
 * Arithmetic is float64 (kornia's is float32), which can differ only at exact threshold ties.
 */
import { WeftError } from '../errors.ts';
import { gaussianBlur } from './filters.ts';
import { checkImage } from './imageops.ts';
import { grayToRgb, toGray } from './preprocess.ts';
import type { Tensor } from './tensor.ts';

/** kornia's canny defaults, which ComfyUI does not override. */
const EPS = 1e-6;
/** Blur radius 2 (5×5) and sigma 1 pixel, expressed in gaussianKernel1d's half-kernel units. */
const BLUR_RADIUS = 2;
const BLUR_SIGMA = 0.5;
/** Float64 rounding noise in a magnitude is ~1e-15; anything closer than this is a true tie. */
const TIE = 1e-9;
/** The magnitude of a flat patch (gx = gy = 0): there is no edge to place, so no tie to break. */
const FLAT = Math.sqrt(EPS);

/** Neighbour offsets [dx, dy] per direction index, in the order of kornia's NMS kernels. */
const DX = [1, 1, 0, -1, -1, -1, 0, 1];
const DY = [0, 1, 1, 1, 0, -1, -1, -1];

export interface CannyMaps {
  /** Gradient magnitude after non-maximum suppression (kornia's first output), [B,H,W]. */
  magnitude: Tensor;
  /** Final edges, 0 or 1 (kornia's second output), [B,H,W]. */
  edges: Tensor;
}

function checkThresholds(low: number, high: number): void {
  for (const [input, v] of [['low_threshold', low], ['high_threshold', high]] as const) {
    if (!Number.isFinite(v) || v <= 0 || v >= 1) {
      throw new WeftError(`${input}: must lie strictly between 0 and 1, got ${v}`, { input });
    }
  }
  // kornia refuses this pair rather than swapping it; say which widget to move.
  if (low > high) {
    throw new WeftError(`low_threshold: ${low} must not be greater than high_threshold (${high})`, { input: 'low_threshold' });
  }
}

/** torch.round: halves go to the even neighbour (Math.round would send 2.5 to 3). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Scratch planes for one batch element, allocated once per call and reused. */
interface Scratch {
  mag: Float64Array;
  dir: Uint8Array;
  nms: Float64Array;
  cls: Uint8Array;
  stack: Int32Array;
}

/** Steps 3–4: Sobel (replicate padding) on one blurred plane → magnitude and direction index. */
function gradients(blur: Float64Array, off: number, h: number, w: number, s: Scratch): void {
  const k = 4 / Math.PI;
  for (let y = 0; y < h; y++) {
    const up = off + (y > 0 ? y - 1 : 0) * w;
    const mid = off + y * w;
    const down = off + (y < h - 1 ? y + 1 : h - 1) * w;
    for (let x = 0; x < w; x++) {
      const l = x > 0 ? x - 1 : 0;
      const r = x < w - 1 ? x + 1 : w - 1;
      const gx = blur[up + r] - blur[up + l] + 2 * (blur[mid + r] - blur[mid + l]) + blur[down + r] - blur[down + l];
      const gy = blur[down + l] - blur[up + l] + 2 * (blur[down + x] - blur[up + x]) + blur[down + r] - blur[up + r];
      const i = y * w + x;
      s.mag[i] = Math.sqrt(gx * gx + gy * gy + EPS);
      // & 7 is Python's % 8 on integers, negatives included (−4 → 4, −1 → 7).
      s.dir[i] = roundHalfEven(Math.atan2(gy, gx) * k) & 7;
    }
  }
}

/** Step 5: keeps a pixel's magnitude only where it is the maximum across the edge. */
function suppress(h: number, w: number, s: Scratch): void {
  const { mag, dir, nms } = s;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const d = dir[i];
      const m = mag[i];
      // Up the gradient (towards the brighter side); off-image neighbours are 0.
      const px = x + DX[d];
      const py = y + DY[d];
      const up = px >= 0 && px < w && py >= 0 && py < h ? mag[py * w + px] : 0;
      const nx = x - DX[d];
      const ny = y - DY[d];
      const down = nx >= 0 && nx < w && ny >= 0 && ny < h ? mag[ny * w + nx] : 0;
      const beatsUp = m > FLAT ? m - up > -TIE : m > up;
      nms[i] = beatsUp && m - down > TIE ? m : 0;
    }
  }
}

/** Step 6: double threshold then flood fill from the strong pixels through weak ones. */
function hysteresis(h: number, w: number, low: number, high: number, s: Scratch): void {
  const { nms, cls, stack } = s;
  let top = 0;
  for (let i = 0; i < h * w; i++) {
    const m = nms[i];
    cls[i] = m > high ? 2 : m > low ? 1 : 0;
    if (cls[i] === 2) stack[top++] = i;
  }
  // Each pixel is pushed at most once (it turns strong before it is pushed), so h·w suffices.
  while (top > 0) {
    const i = stack[--top];
    const x = i % w;
    const y = (i - x) / w;
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= w) continue;
        const j = yy * w + xx;
        if (cls[j] === 1) {
          cls[j] = 2;
          stack[top++] = j;
        }
      }
    }
  }
}

/**
 * kornia.filters.canny on every batch element of an IMAGE (1 or 3 channels, at least 3×3 for
 * the reflect-padded blur). Thresholds apply to the unnormalised Sobel magnitude.
 */
export function cannyMaps(image: Tensor, lowThreshold: number, highThreshold: number): CannyMaps {
  const [b, h, w, c] = checkImage(image, 'image');
  if (c !== 1 && c !== 3) {
    throw new WeftError(`image: Canny takes 1 or 3 channels (as kornia does), got ${c}; drop the alpha channel first`, { input: 'image' });
  }
  if (h < 3 || w < 3) {
    throw new WeftError(`image: Canny needs at least 3×3 pixels for its 5×5 reflect-padded blur, got ${w}×${h}`, { input: 'image' });
  }
  checkThresholds(lowThreshold, highThreshold);
  const blurred = gaussianBlur(toGray(image, 'image', false), BLUR_RADIUS, BLUR_SIGMA, 'image');
  const px = h * w;
  const s: Scratch = {
    mag: new Float64Array(px),
    dir: new Uint8Array(px),
    nms: new Float64Array(px),
    cls: new Uint8Array(px),
    stack: new Int32Array(px),
  };
  const magnitude = new Float32Array(b * px);
  const edges = new Float32Array(b * px);
  for (let n = 0; n < b; n++) {
    gradients(blurred, n * px, h, w, s);
    suppress(h, w, s);
    hysteresis(h, w, lowThreshold, highThreshold, s);
    const off = n * px;
    for (let i = 0; i < px; i++) {
      magnitude[off + i] = s.nms[i];
      edges[off + i] = s.cls[i] === 2 ? 1 : 0;
    }
  }
  return { magnitude: { shape: [b, h, w], data: magnitude }, edges: { shape: [b, h, w], data: edges } };
}

/** The Canny node's output: the 0/1 edge map repeated into an RGB IMAGE [B,H,W,3]. */
export function cannyImage(image: Tensor, lowThreshold: number, highThreshold: number): Tensor {
  const { edges } = cannyMaps(image, lowThreshold, highThreshold);
  const [b, h, w] = edges.shape;
  return grayToRgb({ shape: [b, h, w, 1], data: edges.data });
}
