/**
 * MASK operations as ComfyUI's comfy_extras/nodes_mask.py defines them. A MASK is [B,H,W] in [0,1];
 * masks arriving as [H,W] or [B,1,H,W] are read as [B,H,W] (ComfyUI reshapes the same way).
 */
import { WeftError } from '../errors.ts';
import { broadcastBatch, pySlice } from './batch.ts';
import type { Tensor } from './tensor.ts';

/** The mask as [B,H,W] over the same data; `input` names it in errors. */
export function asMask3(mask: Tensor, input = 'mask'): Tensor {
  const s = mask.shape;
  if (s.length < 2 || s.length > 4 || (s.length === 4 && s[1] !== 1)) {
    throw new WeftError(`${input}: expected a mask [B,H,W], got shape [${s.join(', ')}]`, { input });
  }
  const h = s[s.length - 2];
  const w = s[s.length - 1];
  if (h < 1 || w < 1) throw new WeftError(`${input}: mask is empty (${w}×${h})`, { input });
  return { shape: [mask.data.length / (h * w), h, w], data: mask.data };
}

/** SetLatentNoiseMask's `mask.reshape(-1, 1, H, W)`. */
export function noiseMaskFromMask(mask: Tensor, input = 'mask'): Tensor {
  const m = asMask3(mask, input);
  return { shape: [m.shape[0], 1, m.shape[1], m.shape[2]], data: m.data };
}

/** [B,H,W] → IMAGE [B,H,W,3] with the value in every channel. */
export function maskToImage(mask: Tensor): Tensor {
  const m = asMask3(mask);
  const out = new Float32Array(m.data.length * 3);
  for (let i = 0; i < m.data.length; i++) out.fill(m.data[i], i * 3, i * 3 + 3);
  return { shape: [...m.shape, 3], data: out };
}

export const MASK_CHANNELS = ['red', 'green', 'blue', 'alpha'] as const;

/** One channel of an IMAGE as a mask (ImageToMask). */
export function imageChannel(image: Tensor, channel: string, input = 'image'): Tensor {
  const [b, h, w, c] = image.shape;
  const index = MASK_CHANNELS.indexOf(channel as (typeof MASK_CHANNELS)[number]);
  if (index < 0) throw new WeftError(`channel: unknown channel "${channel}"`, { input: 'channel' });
  if (image.shape.length !== 4) throw new WeftError(`${input}: expected an image [B,H,W,C], got [${image.shape.join(', ')}]`, { input });
  if (index >= c) throw new WeftError(`${input}: has ${c} channels, so it has no ${channel} channel`, { input });
  const out = new Float32Array(b * h * w);
  for (let i = 0; i < out.length; i++) out[i] = image.data[i * c + index];
  return { shape: [b, h, w], data: out };
}

/** Python's round() on a float32 value (half to even), as torch.round does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** 1 where the pixel's 8-bit RGB, packed as 0xRRGGBB, equals `color` (ImageColorToMask). */
export function colorMask(image: Tensor, color: number): Tensor {
  const [b, h, w, c] = image.shape;
  if (image.shape.length !== 4 || c < 3) throw new WeftError(`image: expected an RGB image [B,H,W,3], got [${image.shape.join(', ')}]`, { input: 'image' });
  const byte = (v: number) => roundHalfEven(Math.fround(Math.min(Math.max(v, 0), 1) * 255));
  const out = new Float32Array(b * h * w);
  for (let i = 0; i < out.length; i++) {
    const p = i * c;
    const packed = byte(image.data[p]) * 65536 + byte(image.data[p + 1]) * 256 + byte(image.data[p + 2]);
    out[i] = packed === color ? 1 : 0;
  }
  return { shape: [b, h, w], data: out };
}

export function solidMask(value: number, width: number, height: number): Tensor {
  return { shape: [1, height, width], data: new Float32Array(width * height).fill(value) };
}

function mapMask(mask: Tensor, f: (v: number) => number): Tensor {
  const m = asMask3(mask);
  const out = new Float32Array(m.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(m.data[i]);
  return { shape: [...m.shape], data: out };
}

export function invertMask(mask: Tensor): Tensor {
  return mapMask(mask, (v) => 1 - v);
}

export function thresholdMask(mask: Tensor, value: number): Tensor {
  return mapMask(mask, (v) => (v > value ? 1 : 0));
}

/** mask[:, y:y+height, x:x+width] with Python's clamping (CropMask). */
export function cropMask(mask: Tensor, x: number, y: number, width: number, height: number): Tensor {
  const m = asMask3(mask);
  const [b, h, w] = m.shape;
  const [y0, y1] = pySlice(y, y + height, h);
  const [x0, x1] = pySlice(x, x + width, w);
  const oh = y1 - y0;
  const ow = x1 - x0;
  const out = new Float32Array(b * oh * ow);
  for (let i = 0; i < b; i++) {
    for (let r = 0; r < oh; r++) {
      const src = (i * h + y0 + r) * w + x0;
      out.set(m.data.subarray(src, src + ow), (i * oh + r) * ow);
    }
  }
  return { shape: [b, oh, ow], data: out };
}

export const MASK_OPERATIONS = ['multiply', 'add', 'subtract', 'and', 'or', 'xor'] as const;
export type MaskOperation = (typeof MASK_OPERATIONS)[number];

const bit = (v: number) => Math.abs(roundHalfEven(v)) !== 0;
const OPS: Record<MaskOperation, (d: number, s: number) => number> = {
  multiply: (d, s) => d * s,
  add: (d, s) => d + s,
  subtract: (d, s) => d - s,
  and: (d, s) => (bit(d) && bit(s) ? 1 : 0),
  or: (d, s) => (bit(d) || bit(s) ? 1 : 0),
  xor: (d, s) => (bit(d) !== bit(s) ? 1 : 0),
};

/** MaskComposite: combines `source` into `destination` at (x, y), then clamps everything to [0,1]. */
export function compositeMasks(destination: Tensor, source: Tensor, x: number, y: number, operation: string): Tensor {
  const d = asMask3(destination, 'destination');
  const s = asMask3(source, 'source');
  const op = OPS[operation as MaskOperation];
  if (!op) throw new WeftError(`operation: unknown mask operation "${operation}"`, { input: 'operation' });
  const [db, dh, dw] = d.shape;
  const [sb, sh, sw] = s.shape;
  // The result keeps the destination's batch, so a larger source batch cannot fit (torch fails too).
  if (broadcastBatch(db, sb, 'source') !== db) throw new WeftError(`source: batch size ${sb} does not fit destination batch ${db}`, { input: 'source' });
  const out = d.data.slice();
  const vh = Math.min(y + sh, dh) - y;
  const vw = Math.min(x + sw, dw) - x;
  for (let b = 0; b < db; b++) {
    const sbi = sb === 1 ? 0 : b;
    for (let r = 0; r < vh; r++) {
      const drow = (b * dh + y + r) * dw + x;
      const srow = (sbi * sh + r) * sw;
      for (let c = 0; c < vw; c++) out[drow + c] = op(out[drow + c], s.data[srow + c]);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.min(Math.max(out[i], 0), 1);
  return { shape: [db, dh, dw], data: out };
}

/**
 * FeatherMask: linear ramps on each edge. ComfyUI indexes the right/bottom ramps with `-x`, so
 * step 0 lands on the first column/row (−0 is 0) and the last one gets 2/n rather than 1/n; that
 * quirk is reproduced because workflows depend on the exact numbers.
 */
export function featherMask(mask: Tensor, left: number, top: number, right: number, bottom: number): Tensor {
  const m = asMask3(mask);
  const [b, h, w] = m.shape;
  const colF = new Float64Array(w).fill(1);
  const rowF = new Float64Array(h).fill(1);
  left = Math.min(left, w);
  right = Math.min(right, w);
  top = Math.min(top, h);
  bottom = Math.min(bottom, h);
  for (let i = 0; i < left; i++) colF[i] *= (i + 1) / left;
  for (let i = 0; i < right; i++) colF[i === 0 ? 0 : w - i] *= (i + 1) / right;
  for (let i = 0; i < top; i++) rowF[i] *= (i + 1) / top;
  for (let i = 0; i < bottom; i++) rowF[i === 0 ? 0 : h - i] *= (i + 1) / bottom;
  const out = new Float32Array(m.data.length);
  for (let k = 0; k < b; k++) {
    for (let r = 0; r < h; r++) {
      const row = (k * h + r) * w;
      for (let c = 0; c < w; c++) out[row + c] = m.data[row + c] * colF[c] * rowF[r];
    }
  }
  return { shape: [b, h, w], data: out };
}

/**
 * One 3×3 grey dilation (max) or erosion (min) step over a plane. scipy's default 'reflect'
 * border mirrors onto pixels the footprint already covers, so only in-bounds neighbours count.
 * `cross` is the tapered footprint (no diagonals).
 */
function morphStep(src: Float32Array, dst: Float32Array, h: number, w: number, cross: boolean, grow: boolean): void {
  const pick = grow ? Math.max : Math.min;
  for (let r = 0; r < h; r++) {
    const r0 = r > 0 ? r - 1 : r;
    const r1 = r < h - 1 ? r + 1 : r;
    for (let c = 0; c < w; c++) {
      const c0 = c > 0 ? c - 1 : c;
      const c1 = c < w - 1 ? c + 1 : c;
      let v = src[r * w + c];
      if (cross) {
        v = pick(v, src[r0 * w + c], src[r1 * w + c], src[r * w + c0], src[r * w + c1]);
      } else {
        for (let rr = r0; rr <= r1; rr++) v = pick(v, src[rr * w + c0], src[rr * w + c], src[rr * w + c1]);
      }
      dst[r * w + c] = v;
    }
  }
}

/** GrowMask: |expand| steps of 3×3 dilation (expand > 0) or erosion (expand < 0). */
export function growMask(mask: Tensor, expand: number, taperedCorners: boolean): Tensor {
  const m = asMask3(mask);
  const [b, h, w] = m.shape;
  const out = m.data.slice();
  // After h + w steps every pixel has seen the whole plane: more steps change nothing.
  const steps = Math.min(Math.abs(expand), h + w);
  let a = new Float32Array(h * w);
  let t = new Float32Array(h * w);
  for (let k = 0; k < b; k++) {
    a.set(out.subarray(k * h * w, (k + 1) * h * w));
    for (let i = 0; i < steps; i++) {
      morphStep(a, t, h, w, taperedCorners, expand > 0);
      [a, t] = [t, a];
    }
    out.set(a, k * h * w);
  }
  return { shape: [b, h, w], data: out };
}
