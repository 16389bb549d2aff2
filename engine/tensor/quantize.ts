/**
 * ImageQuantize as ComfyUI runs it through PIL: each image goes to 8 bits (truncating ×255),
 * gets a median-cut palette of at most `colors` entries, and every pixel is mapped to a palette
 * colour — directly, with Floyd–Steinberg error diffusion (PIL's integer scheme), or after adding
 * an ordered Bayer threshold matrix.
 *
 * Approximate: PIL's median cut picks and splits boxes with its own heuristics and maps colours
 * through a 6-bit cache, so palettes and a few pixel assignments can differ from ComfyUI's.
 * Images with no more distinct colours than `colors` come back unchanged, as in PIL.
 */
import { WeftError } from '../errors.ts';
import { BYTE_TO_FLOAT } from './pixels.ts';
import type { Tensor } from './tensor.ts';

export const DITHER_METHODS = ['none', 'floyd-steinberg', 'bayer-2', 'bayer-4', 'bayer-8', 'bayer-16'] as const;

/** A median-cut box: the range [start, end) of the shared colour/count arrays. */
interface Box {
  start: number;
  end: number;
  total: number;
}

const chan = (p: number, a: number) => (p >> (16 - 8 * a)) & 0xff;

/** The channel with the widest value range inside the box. */
function widestAxis(cols: Uint32Array, box: Box): number {
  let axis = 0;
  let best = -1;
  for (let a = 0; a < 3; a++) {
    let lo = 255;
    let hi = 0;
    for (let i = box.start; i < box.end; i++) {
      const v = chan(cols[i], a);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo > best) [axis, best] = [a, hi - lo];
  }
  return axis;
}

/**
 * Splits the box along its widest channel at the pixel-weighted median value (colours sharing
 * that value stay together), partitioning the shared arrays in place.
 */
function split(cols: Uint32Array, counts: Float64Array, box: Box): [Box, Box] {
  const axis = widestAxis(cols, box);
  const weight = new Float64Array(256);
  for (let i = box.start; i < box.end; i++) weight[chan(cols[i], axis)] += counts[i];
  let hi = 255;
  while (weight[hi] === 0) hi--;
  let cut = 0;
  let acc = weight[0];
  // The cut stays below the largest value present so the upper side is never empty.
  while (acc * 2 < box.total && cut < hi - 1) acc += weight[++cut];
  let i = box.start;
  let j = box.end - 1;
  let leftTotal = 0;
  while (i <= j) {
    if (chan(cols[i], axis) <= cut) leftTotal += counts[i++];
    else {
      [cols[i], cols[j]] = [cols[j], cols[i]];
      [counts[i], counts[j]] = [counts[j], counts[i]];
      j--;
    }
  }
  return [
    { start: box.start, end: i, total: leftTotal },
    { start: i, end: box.end, total: box.total - leftTotal },
  ];
}

/** Median-cut palette (RGB triples) of at most `colors` entries for packed pixels. */
export function medianCutPalette(pixels: Uint32Array, colors: number): Uint8Array {
  const hist = new Map<number, number>();
  for (const p of pixels) hist.set(p, (hist.get(p) ?? 0) + 1);
  const cols = Uint32Array.from(hist.keys());
  const counts = Float64Array.from(hist.values());
  const boxes: Box[] = [{ start: 0, end: cols.length, total: pixels.length }];
  while (boxes.length < colors) {
    // The most populated box that still holds more than one colour is split next.
    let pick = -1;
    for (let i = 0; i < boxes.length; i++) if (boxes[i].end - boxes[i].start > 1 && (pick < 0 || boxes[i].total > boxes[pick].total)) pick = i;
    if (pick < 0) break;
    boxes.splice(pick, 1, ...split(cols, counts, boxes[pick]));
  }
  const pal = new Uint8Array(boxes.length * 3);
  boxes.forEach((box, k) => {
    for (let a = 0; a < 3; a++) {
      let sum = 0;
      for (let i = box.start; i < box.end; i++) sum += chan(cols[i], a) * counts[i];
      pal[k * 3 + a] = Math.floor((sum + box.total / 2) / box.total);
    }
  });
  return pal;
}

function nearest(pal: Uint8Array, r: number, g: number, b: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < pal.length / 3; i++) {
    const dr = r - pal[i * 3];
    const dg = g - pal[i * 3 + 1];
    const db = b - pal[i * 3 + 2];
    const d = dr * dr + dg * dg + db * db;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** ComfyUI's normalized_bayer_matrix(n): a 2ⁿ×2ⁿ ordered-dither matrix centred on 0. */
export function bayerMatrix(n: number): Float64Array {
  if (n === 0) return new Float64Array(1);
  const prev = bayerMatrix(n - 1);
  const q = 4 ** n;
  const s = 2 ** (n - 1);
  const size = 2 * s;
  const out = new Float64Array(size * size);
  const offs = [
    [-1.5, 0.5],
    [1.5, -0.5],
  ];
  for (let by = 0; by < 2; by++) {
    for (let bx = 0; bx < 2; bx++) {
      for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) out[(by * s + y) * size + bx * s + x] = (q * prev[y * s + x] + offs[by][bx]) / q;
    }
  }
  return out;
}

const clip8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Quantizes one H×W RGB byte image in place (rgb holds 3 bytes per pixel). */
function quantizeBytes(rgb: Uint8Array, h: number, w: number, colors: number, dither: string): void {
  const packed = new Uint32Array(h * w);
  for (let i = 0; i < packed.length; i++) packed[i] = (rgb[i * 3] << 16) | (rgb[i * 3 + 1] << 8) | rgb[i * 3 + 2];
  const pal = medianCutPalette(packed, colors);
  const cache = new Map<number, number>();
  const lookup = (r: number, g: number, b: number) => {
    const key = (r << 16) | (g << 8) | b;
    let i = cache.get(key);
    if (i === undefined) cache.set(key, (i = nearest(pal, r, g, b)));
    return i;
  };
  if (dither === 'floyd-steinberg') {
    // PIL's integer scheme: 7/16 right, 3/16, 5/16, 1/16 below; slot x+1 of `errors` holds column x.
    const errors = new Int32Array((w + 1) * 3);
    const right = new Int32Array(3);
    const below = new Int32Array(3);
    const belowRight = new Int32Array(3);
    const v = new Int32Array(3);
    for (let y = 0; y < h; y++) {
      right.fill(0);
      below.fill(0);
      belowRight.fill(0);
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 3;
        for (let c = 0; c < 3; c++) v[c] = clip8(rgb[p + c] + Math.trunc((right[c] + errors[(x + 1) * 3 + c]) / 16));
        const idx = lookup(v[0], v[1], v[2]);
        for (let c = 0; c < 3; c++) {
          const err = v[c] - pal[idx * 3 + c];
          errors[x * 3 + c] = 3 * err + below[c];
          below[c] = 5 * err + belowRight[c];
          belowRight[c] = err;
          right[c] = 7 * err;
          rgb[p + c] = pal[idx * 3 + c];
        }
      }
      for (let c = 0; c < 3; c++) errors[w * 3 + c] = below[c];
    }
    return;
  }
  if (dither.startsWith('bayer-')) {
    const order = Number(dither.slice(6));
    const n = Math.log2(order);
    const m = bayerMatrix(n);
    const spread = (2 * 256) / (pal.length / 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const t = spread * m[(y % order) * order + (x % order)] + 0.5;
        const p = (y * w + x) * 3;
        for (let c = 0; c < 3; c++) rgb[p + c] = Math.trunc(clip8(rgb[p + c] + t));
      }
    }
  } else if (dither !== 'none') {
    throw new WeftError(`dither: unknown method "${dither}"`, { input: 'dither' });
  }
  for (let i = 0; i < h * w; i++) {
    const idx = lookup(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]);
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = pal[idx * 3 + c];
  }
}

/** ImageQuantize over a batch of RGB images. */
export function quantizeImage(image: Tensor, colors: number, dither: string): Tensor {
  if (image.shape.length !== 4 || image.shape[3] !== 3) {
    throw new WeftError(`image: ImageQuantize needs RGB images [B,H,W,3], got [${image.shape.join(', ')}]`, { input: 'image' });
  }
  if (!Number.isInteger(colors) || colors < 1 || colors > 256) throw new WeftError(`colors: ${colors} is not in 1…256`, { input: 'colors' });
  const [b, h, w] = image.shape;
  const out = new Float32Array(image.data.length);
  const rgb = new Uint8Array(h * w * 3);
  for (let n = 0; n < b; n++) {
    const off = n * h * w * 3;
    // torch's `(x * 255).to(uint8)` truncates.
    for (let i = 0; i < rgb.length; i++) rgb[i] = Math.trunc(clip8(Math.fround(image.data[off + i] * 255)));
    quantizeBytes(rgb, h, w, colors, dither);
    for (let i = 0; i < rgb.length; i++) out[off + i] = BYTE_TO_FLOAT[rgb[i]];
  }
  return { shape: [...image.shape], data: out };
}
