/**
 * comfy.utils.tiled_scale for NCHW tensors: run `fn` on overlapping tiles and blend the results with a
 * linear feather over the overlap, so large images decode/encode with bounded memory. VAE tiling averages
 * three tilings (square, wide, tall) as ComfyUI does, which hides the seams of any single one.
 */
import { InterruptedError } from '../../errors.ts';
import type { Tensor } from '../../tensor/tensor.ts';

export type TileFn = (tile: Tensor) => Promise<Tensor>;

function positions(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const out: number[] = [];
  for (let p = 0; p < size - overlap; p += tile - overlap) out.push(p);
  return out;
}

function crop(t: Tensor, y: number, x: number, h: number, w: number): Tensor {
  const [B, C, H, W] = t.shape as [number, number, number, number];
  const out = new Float32Array(B * C * h * w);
  for (let bc = 0; bc < B * C; bc++)
    for (let i = 0; i < h; i++) out.set(t.data.subarray((bc * H + y + i) * W + x, (bc * H + y + i) * W + x + w), (bc * h + i) * w);
  return { shape: [B, C, h, w], data: out };
}

/** One tiling: tiles of tileH×tileW input cells, outputs scaled by `scale` with `outChannels` channels. */
export async function tiledScale(s: Tensor, fn: TileFn, tileW: number, tileH: number, overlap: number, scale: number, outChannels: number, signal?: AbortSignal): Promise<Tensor> {
  const [B, , H, W] = s.shape as [number, number, number, number];
  tileW = Math.max(1, Math.floor(tileW));
  tileH = Math.max(1, Math.floor(tileH));
  if (overlap >= Math.min(tileW, tileH)) overlap = Math.floor(Math.min(tileW, tileH) / 4);
  const OH = Math.round(H * scale), OW = Math.round(W * scale);
  const out = new Float32Array(B * outChannels * OH * OW);
  const div = new Float32Array(OH * OW);
  const feather = Math.round(overlap * scale);
  for (const py of positions(H, tileH, overlap)) {
    for (const px of positions(W, tileW, overlap)) {
      if (signal?.aborted) throw new InterruptedError();
      const y = Math.max(0, Math.min(H - overlap, py)), x = Math.max(0, Math.min(W - overlap, px));
      const h = Math.min(tileH, H - y), w = Math.min(tileW, W - x);
      const r = await fn(crop(s, y, x, h, w));
      const [, , rh, rw] = r.shape as [number, number, number, number];
      const oy = Math.round(y * scale), ox = Math.round(x * scale);
      const mask = new Float32Array(rh * rw).fill(1);
      for (let t = 0; t < feather; t++) {
        const a = (t + 1) / feather;
        for (let j = 0; j < rw; j++) { if (t < rh) { mask[t * rw + j]! *= a; mask[(rh - 1 - t) * rw + j]! *= a; } }
        for (let i = 0; i < rh; i++) { if (t < rw) { mask[i * rw + t]! *= a; mask[i * rw + rw - 1 - t]! *= a; } }
      }
      const hh = Math.min(rh, OH - oy), ww = Math.min(rw, OW - ox);
      for (let bc = 0; bc < B * outChannels; bc++)
        for (let i = 0; i < hh; i++)
          for (let j = 0; j < ww; j++) out[(bc * OH + oy + i) * OW + ox + j]! += r.data[(bc * rh + i) * rw + j]! * mask[i * rw + j]!;
      for (let i = 0; i < hh; i++) for (let j = 0; j < ww; j++) div[(oy + i) * OW + ox + j]! += mask[i * rw + j]!;
    }
  }
  for (let bc = 0; bc < B * outChannels; bc++) for (let p = 0; p < OH * OW; p++) out[bc * OH * OW + p]! /= div[p]!;
  return { shape: [B, outChannels, OH, OW], data: out };
}

/** The average of the square, wide and tall tilings (ComfyUI's VAE decode_tiled_ / encode_tiled_). */
export async function tiledAverage(s: Tensor, fn: TileFn, tileW: number, tileH: number, overlap: number, scale: number, outChannels: number, signal?: AbortSignal): Promise<Tensor> {
  const runs = [
    await tiledScale(s, fn, tileW / 2, tileH * 2, overlap, scale, outChannels, signal),
    await tiledScale(s, fn, tileW * 2, tileH / 2, overlap, scale, outChannels, signal),
    await tiledScale(s, fn, tileW, tileH, overlap, scale, outChannels, signal),
  ];
  const out = new Float32Array(runs[0]!.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (runs[0]!.data[i]! + runs[1]!.data[i]! + runs[2]!.data[i]!) / 3;
  return { shape: runs[0]!.shape, data: out };
}
