/**
 * Tiled processing with feathered blending, as ComfyUI's tiled_scale (comfy/utils.py) does it: run a
 * function on overlapping tiles of an NCHW tensor, weight each output tile by a separable ramp that rises
 * over the overlap at both ends, accumulate, divide by the summed weights. Generic over the scale
 * (×4 upscalers, ×8 VAE decode, 1/8 VAE encode) so VAE tiling can reuse it.
 *
 * Tile placement follows current ComfyUI: an image that fits in one tile is processed whole (v0.0.4 ran
 * it through the mask too, which cancels exactly, but failed when the image was smaller than the
 * feather); otherwise starts are range(0, size − overlap, tile − overlap), the last one pulled back so it
 * ends at the border.
 */
import { WeftError } from '../errors.ts';
import { pyRound } from './upscale.ts';
import type { Tensor } from './tensor.ts';

export interface TiledOptions {
  tileX: number;
  tileY: number;
  /** Input pixels shared by neighbouring tiles. */
  overlap: number;
  /** Output pixels per input pixel: 4 for an ×4 upscaler, 8 for VAE decode, 1/8 for VAE encode. */
  scale: number;
  outChannels: number;
  /** Called after every tile with (done, total) over the whole batch; throwing stops the run (abort). */
  onTile?: (done: number, total: number) => void;
}

export type TileFn = (tile: Tensor) => Tensor | Promise<Tensor>;

/** Tile start offsets along one axis. */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const out: number[] = [];
  for (let it = 0; it < size - overlap; it += tile - overlap) out.push(Math.max(0, Math.min(size - overlap, it)));
  return out;
}

/** Number of function calls for one image (ComfyUI's get_tiled_scale_steps). */
export function tiledScaleSteps(width: number, height: number, tileX: number, tileY: number, overlap: number): number {
  return tileStarts(height, tileY, overlap).length * tileStarts(width, tileX, overlap).length;
}

/**
 * The per-axis blend weight of an output tile of `length` pixels: (t+1)/feather on the first and last
 * `feather` pixels, 1 between. Where the two ramps meet on a short tile their factors multiply, as in
 * ComfyUI; a tile no longer than the feather is left unweighted.
 */
export function featherRamp(length: number, feather: number): Float32Array {
  const r = new Float32Array(length).fill(1);
  if (feather >= length) return r;
  for (let t = 0; t < feather; t++) {
    const a = (t + 1) / feather;
    r[t]! *= a;
    r[length - 1 - t]! *= a;
  }
  return r;
}

function crop(s: Tensor, b: number, y: number, x: number, h: number, w: number): Tensor {
  const [, c, H, W] = s.shape as [number, number, number, number];
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h; i++) {
      const src = ((b * c + ch) * H + y + i) * W + x;
      out.set(s.data.subarray(src, src + w), (ch * h + i) * w);
    }
  }
  return { shape: [1, c, h, w], data: out };
}

function checkTile(ps: Tensor, outChannels: number, what: string): [number, number] {
  if (ps.shape.length !== 4 || ps.shape[0] !== 1 || ps.shape[1] !== outChannels) {
    throw new WeftError(`tiled ${what}: the tile function returned [${ps.shape.join(', ')}], expected [1, ${outChannels}, H, W]`);
  }
  return [ps.shape[2]!, ps.shape[3]!];
}

/** Runs `fn` over tiles of `samples` (NCHW) and blends the results into one [N, outChannels, H·scale, W·scale] tensor. */
export async function tiledScale(samples: Tensor, fn: TileFn, opts: TiledOptions): Promise<Tensor> {
  const { tileX, tileY, overlap, scale, outChannels } = opts;
  if (samples.shape.length !== 4) throw new WeftError(`tiled scale: expected an NCHW tensor, got [${samples.shape.join(', ')}]`);
  if (!(tileX > overlap && tileY > overlap && overlap >= 0)) {
    throw new WeftError(`tiled scale: tile ${tileX}×${tileY} must be larger than the overlap ${overlap}`);
  }
  const [n, , H, W] = samples.shape as [number, number, number, number];
  const oH = pyRound(H * scale);
  const oW = pyRound(W * scale);
  const plane = oH * oW;
  const output = new Float32Array(n * outChannels * plane);
  const ys = tileStarts(H, tileY, overlap);
  const xs = tileStarts(W, tileX, overlap);
  const single = H <= tileY && W <= tileX;
  const total = n * (single ? 1 : ys.length * xs.length);
  const feather = pyRound(overlap * scale);
  let done = 0;
  for (let b = 0; b < n; b++) {
    const dst = output.subarray(b * outChannels * plane, (b + 1) * outChannels * plane);
    if (single) {
      const ps = await fn(crop(samples, b, 0, 0, H, W));
      const [h, w] = checkTile(ps, outChannels, 'scale');
      if (h !== oH || w !== oW) throw new WeftError(`tiled scale: the function returned ${w}×${h}, expected ${oW}×${oH}`);
      dst.set(ps.data);
      opts.onTile?.(++done, total);
      continue;
    }
    // Weights are the same for every channel, so one plane of sums is enough.
    const div = new Float32Array(plane);
    for (const y of ys) {
      for (const x of xs) {
        const ly = Math.min(tileY, H - y);
        const lx = Math.min(tileX, W - x);
        const ps = await fn(crop(samples, b, y, x, ly, lx));
        const [h, w] = checkTile(ps, outChannels, 'scale');
        const fy = featherRamp(h, feather);
        const fx = featherRamp(w, feather);
        const oy = pyRound(y * scale);
        const ox = pyRound(x * scale);
        const hh = Math.min(h, oH - oy);
        const ww = Math.min(w, oW - ox);
        for (let i = 0; i < hh; i++) {
          const row = (oy + i) * oW + ox;
          for (let j = 0; j < ww; j++) div[row + j]! += fy[i]! * fx[j]!;
          for (let c = 0; c < outChannels; c++) {
            const src = (c * h + i) * w;
            const o = c * plane + row;
            for (let j = 0; j < ww; j++) dst[o + j]! += ps.data[src + j]! * fy[i]! * fx[j]!;
          }
        }
        opts.onTile?.(++done, total);
      }
    }
    for (let c = 0; c < outChannels; c++) {
      const o = c * plane;
      for (let p = 0; p < plane; p++) dst[o + p]! /= div[p]!;
    }
  }
  return { shape: [n, outChannels, oH, oW], data: output };
}
