/**
 * LATENT transforms as ComfyUI's nodes.py performs them. Samples are NCHW; positions and sizes
 * given in pixels are divided by 8 (floor) like ComfyUI does. Results are shallow copies of the
 * input latent (other keys, e.g. a noise_mask, ride along unchanged unless stated).
 */
import { WeftError } from '../errors.ts';
import type { Latent } from '../graph/sockets.ts';
import { pySlice, repeatBatch, sliceBatch } from './batch.ts';
import { matchForBlend, zipBatch } from './imageops.ts';
import type { Tensor } from './tensor.ts';
import { cropTensor, pyRound } from './upscale.ts';

/** The latent's samples as [B,C,H,W]; `input` names it in errors. */
export function checkLatent(latent: Latent | undefined, input = 'samples'): [number, number, number, number] {
  const s = latent?.samples;
  if (!s || !(s.data instanceof Float32Array) || s.shape.length !== 4) {
    throw new WeftError(`${input}: expected a latent with samples [B,C,H,W], got ${s ? `[${s.shape.join(', ')}]` : 'nothing'}`, { input });
  }
  const [b, c, h, w] = s.shape;
  if (b < 1 || c < 1 || h < 1 || w < 1) throw new WeftError(`${input}: latent is empty [${s.shape.join(', ')}]`, { input });
  return [b, c, h, w];
}

/** Zeros [batch, channels, height/8, width/8]. */
export function emptyLatent(width: number, height: number, batch: number, channels: number): Latent {
  const h = Math.floor(height / 8);
  const w = Math.floor(width / 8);
  if (h < 1 || w < 1) throw new WeftError(`width: ${width}×${height} is smaller than one latent pixel (8×8)`, { input: width < 8 ? 'width' : 'height' });
  return { samples: { shape: [batch, channels, h, w], data: new Float32Array(batch * channels * h * w) } };
}

/**
 * LatentUpscale's target in latent pixels: sides below 64 px are raised to 64, a 0 side follows
 * the aspect ratio (Python round), then both are divided by 8. Null when both are 0 (pass-through).
 */
export function latentUpscaleSize(latentH: number, latentW: number, width: number, height: number): { w: number; h: number } | null {
  if (width === 0 && height === 0) return null;
  if (width === 0) {
    height = Math.max(64, height);
    width = Math.max(64, pyRound((latentW * height) / latentH));
  } else if (height === 0) {
    width = Math.max(64, width);
    height = Math.max(64, pyRound((latentH * width) / latentW));
  } else {
    width = Math.max(64, width);
    height = Math.max(64, height);
  }
  return { w: Math.floor(width / 8), h: Math.floor(height / 8) };
}

/** LatentUpscaleBy's target: each side × scale, Python-rounded, at least 1. */
export function latentScaleBySize(latentH: number, latentW: number, scale: number): { w: number; h: number } {
  const w = pyRound(latentW * scale);
  const h = pyRound(latentH * scale);
  if (w < 1 || h < 1) throw new WeftError(`scale_by: ${scale} shrinks the ${latentW}×${latentH} latent to nothing`, { input: 'scale_by' });
  return { w, h };
}

/** torch.flip over H ('x-axis: vertically') or W ('y-axis: horizontally'). */
export function flipNCHW(t: Tensor, axis: 'h' | 'w'): Tensor {
  const [b, c, h, w] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let p = 0; p < b * c; p++) {
    for (let y = 0; y < h; y++) {
      const sy = axis === 'h' ? h - 1 - y : y;
      const src = (p * h + sy) * w;
      const dst = (p * h + y) * w;
      if (axis === 'h') out.set(t.data.subarray(src, src + w), dst);
      else for (let x = 0; x < w; x++) out[dst + x] = t.data[src + w - 1 - x];
    }
  }
  return { shape: [...t.shape], data: out };
}

/** torch.rot90(t, k, dims=[3, 2]): k quarter turns clockwise. */
export function rot90NCHW(t: Tensor, k: number): Tensor {
  const [b, c, h, w] = t.shape;
  k = ((k % 4) + 4) % 4;
  const oh = k % 2 === 1 ? w : h;
  const ow = k % 2 === 1 ? h : w;
  const out = new Float32Array(t.data.length);
  for (let p = 0; p < b * c; p++) {
    const base = p * h * w;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        // Source (row, col) of output (i, j) for each turn.
        const sr = k === 0 ? i : k === 1 ? h - 1 - j : k === 2 ? h - 1 - i : j;
        const sc = k === 0 ? j : k === 1 ? i : k === 2 ? w - 1 - j : w - 1 - i;
        out[base + i * ow + j] = t.data[base + sr * w + sc];
      }
    }
  }
  return { shape: [b, c, oh, ow], data: out };
}

/**
 * LatentCrop: x, y are pushed back to leave at least 8 latent pixels (64 px) where possible, then
 * the window is sliced with Python's rules.
 */
export function cropLatent(t: Tensor, width: number, height: number, x: number, y: number): Tensor {
  const [, , h, w] = t.shape;
  let lx = Math.floor(x / 8);
  let ly = Math.floor(y / 8);
  if (lx > w - 8) lx = w - 8;
  if (ly > h - 8) ly = h - 8;
  const [x0, x1] = pySlice(lx, lx + Math.floor(width / 8), w);
  const [y0, y1] = pySlice(ly, ly + Math.floor(height / 8), h);
  return cropTensor(t, 'NCHW', { x: x0, y: y0, w: x1 - x0, h: y1 - y0 });
}

/** Row (or column) weights of LatentComposite's feathered edge, following Python's slice wrap-around. */
function featherRamp(len: number, feather: number, start: boolean, end: boolean): Float64Array {
  const f = new Float64Array(len).fill(1);
  for (let t = 0; t < feather; t++) {
    const rate = (1 / feather) * (t + 1);
    if (start) {
      const [a, b] = pySlice(t, t + 1, len);
      for (let i = a; i < b; i++) f[i] *= rate;
    }
    if (end) {
      const [a, b] = pySlice(len - 1 - t, len - t, len);
      for (let i = a; i < b; i++) f[i] *= rate;
    }
  }
  return f;
}

/**
 * LatentComposite: pastes `from` into `to` at (x/8, y/8); with feather/8 > 0 the pasted block's
 * edges that lie inside `to` fade in linearly over that many latent pixels.
 */
export function compositeLatent(to: Tensor, from: Tensor, x: number, y: number, feather: number): Tensor {
  const [tb, tc, th, tw] = to.shape;
  const [fb, fc] = from.shape;
  if (fc !== tc) throw new WeftError(`samples_from: has ${fc} channels, samples_to has ${tc}`, { input: 'samples_from' });
  if (fb !== tb && fb !== 1) throw new WeftError(`samples_from: batch size ${fb} does not fit samples_to's ${tb}`, { input: 'samples_from' });
  const lx = Math.floor(x / 8);
  const ly = Math.floor(y / 8);
  const f = Math.floor(feather / 8);
  // The part of `from` that fits: from[:, :, :H-y, :W-x], then placed at [y:, x:].
  const fh = Math.max(0, Math.min(from.shape[2], th - ly));
  const fw = Math.max(0, Math.min(from.shape[3], tw - lx));
  const rows = f > 0 ? featherRamp(fh, f, ly !== 0, ly + fh < th) : new Float64Array(fh).fill(1);
  const cols = f > 0 ? featherRamp(fw, f, lx !== 0, lx + fw < tw) : new Float64Array(fw).fill(1);
  const out = to.data.slice();
  const [, , sh, sw] = from.shape;
  for (let b = 0; b < tb; b++) {
    const fbi = fb === 1 ? 0 : b;
    for (let c = 0; c < tc; c++) {
      for (let r = 0; r < fh; r++) {
        const dst = ((b * tc + c) * th + ly + r) * tw + lx;
        const src = ((fbi * tc + c) * sh + r) * sw;
        for (let q = 0; q < fw; q++) {
          const m = Math.fround(rows[r] * cols[q]);
          out[dst + q] = f > 0 ? from.data[src + q] * m + out[dst + q] * Math.fround(1 - m) : from.data[src + q];
        }
      }
    }
  }
  return { shape: [...to.shape], data: out };
}

/** LatentBlend (mode "normal"): samples1·f + samples2·(1−f), samples2 resized to match if needed. */
export function blendLatents(samples1: Tensor, samples2: Tensor, factor: number): Tensor {
  const s2 = matchForBlend(samples1, samples2, 'NCHW', 'samples2');
  return zipBatch(samples1, s2, 'samples2', (a, b) => a * factor + b * (1 - factor));
}

/** Latent batch items [start, start+length), clamped into the batch, with batch_index bookkeeping. */
export function latentFromBatch(latent: Latent, batchIndex: number, length: number): Latent {
  const [b] = checkLatent(latent);
  const start = Math.min(b - 1, batchIndex);
  const count = Math.min(b - start, length);
  const out: Latent = { ...latent, samples: sliceBatch(latent.samples, start, count) };
  const mask = latent.noise_mask;
  if (mask) {
    // A single mask serves every item; a shorter stack is tiled to the batch before slicing.
    const mb = mask.shape[0];
    if (mb === 1) out.noise_mask = mask;
    else {
      const tiled = mb < b ? sliceBatch(repeatBatch(mask, Math.ceil(b / mb)), 0, b) : mask;
      const [s, e] = pySlice(start, start + count, tiled.shape[0]);
      out.noise_mask = sliceBatch(tiled, s, e - s);
    }
  }
  out.batch_index = latent.batch_index ? latent.batch_index.slice(start, start + count) : Array.from({ length: count }, (_, i) => start + i);
  return out;
}

/**
 * RepeatLatentBatch: samples tiled `amount` times; a noise_mask with more than one item is tiled
 * as well; batch_index continues past the original range for every copy.
 */
export function repeatLatent(latent: Latent, amount: number): Latent {
  checkLatent(latent);
  const out: Latent = { ...latent, samples: repeatBatch(latent.samples, amount) };
  if (latent.noise_mask && latent.noise_mask.shape[0] > 1) out.noise_mask = repeatBatch(latent.noise_mask, amount);
  if (latent.batch_index) {
    const bi = latent.batch_index;
    const offset = Math.max(...bi) - Math.min(...bi) + 1;
    const extra: number[] = [];
    for (let i = 1; i < amount; i++) for (const x of bi) extra.push(x + i * offset);
    out.batch_index = [...bi, ...extra];
  }
  return out;
}
