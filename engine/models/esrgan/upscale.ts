/**
 * ComfyUI's ImageUpscaleWithModel flow: IMAGE (NHWC) → NCHW, tiled_scale with 512-pixel tiles and a
 * 32-pixel overlap, retried with halved tiles when the runtime runs out of memory (giving up below 128),
 * clamp to [0,1], back to NHWC.
 */
import { WeftError, errorMessage } from '../../errors.ts';
import { tiledScale, tiledScaleSteps } from '../../tensor/tiled.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** What the flow needs from a model: UpscaleModel satisfies it. */
export interface ImageUpscaler {
  readonly scale: number;
  readonly inChannels: number;
  readonly outChannels: number;
  run(nchw: Tensor): Promise<Tensor>;
}

export interface UpscaleFlowOptions {
  tile?: number;
  overlap?: number;
  /** Smallest tile tried after memory errors (ComfyUI: 128). */
  minTile?: number;
  /** Per tile (done, total); throwing stops the run (ctx.progress throws when interrupted). */
  progress?: (done: number, total: number) => void;
  /** Called before every tile; throws to abort (ctx.checkAbort). */
  checkAbort?: () => void;
  /** Told when a memory error makes the flow retry with smaller tiles. */
  warn?: (message: string) => void;
}

export const UPSCALE_TILE = 512;
export const UPSCALE_OVERLAP = 32;

/** True for allocation failures from ONNX Runtime (CPU bad_alloc, CUDA/DirectML OOM) or the model service's budget. */
export function isMemoryError(e: unknown): boolean {
  if (e instanceof WeftError && e.type === 'out_of_memory') return true;
  return /failed to allocate|bad_alloc|out of memory|\bOOM\b|cudaErrorMemoryAllocation|E_OUTOFMEMORY/i.test(errorMessage(e));
}

export function nhwcToNchw(t: Tensor): Tensor {
  const [n, h, w, c] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((b * h + y) * w + x) * c;
        for (let ch = 0; ch < c; ch++) out[((b * c + ch) * h + y) * w + x] = t.data[src + ch]!;
      }
    }
  }
  return { shape: [n, c, h, w], data: out };
}

/** NCHW → NHWC with ComfyUI's final clamp to [0,1] folded in. */
export function nchwToNhwcClamped(t: Tensor): Tensor {
  const [n, c, h, w] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        const v = t.data[(b * c + ch) * h * w + p]!;
        out[(b * h * w + p) * c + ch] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  return { shape: [n, h, w, c], data: out };
}

/** Raw tiled output, NCHW and unclamped beyond what the model itself does (the conformance `output_raw_nchw`). */
export async function upscaleTiledNchw(model: ImageUpscaler, nchw: Tensor, opts: UpscaleFlowOptions = {}): Promise<Tensor> {
  let tile = opts.tile ?? UPSCALE_TILE;
  const overlap = opts.overlap ?? UPSCALE_OVERLAP;
  const minTile = opts.minTile ?? 128;
  const [n, , h, w] = nchw.shape as [number, number, number, number];
  for (;;) {
    try {
      return await tiledScale(nchw, (t) => { opts.checkAbort?.(); return model.run(t); }, {
        tileX: tile, tileY: tile, overlap, scale: model.scale, outChannels: model.outChannels,
        onTile: opts.progress,
      });
    } catch (e) {
      if (!isMemoryError(e)) throw e;
      const next = Math.floor(tile / 2);
      if (next < minTile) throw new WeftError(`upscaling ran out of memory even with ${tile}-pixel tiles: ${errorMessage(e)}`, { type: 'out_of_memory', details: errorMessage(e) });
      opts.warn?.(`upscaling ran out of memory with ${tile}-pixel tiles; retrying with ${next} (${n * tiledScaleSteps(w, h, next, next, overlap)} tiles)`);
      tile = next;
    }
  }
}

/** IMAGE [B,H,W,C] → upscaled IMAGE [B,H·s,W·s,C] in [0,1]. */
export async function upscaleImageWithModel(model: ImageUpscaler, image: Tensor, opts: UpscaleFlowOptions = {}): Promise<Tensor> {
  if (image.shape.length !== 4) throw new WeftError(`image: expected an IMAGE [B, H, W, C], got [${image.shape.join(', ')}]`, { input: 'image' });
  const c = image.shape[3]!;
  if (c !== model.inChannels) {
    throw new WeftError(`image: has ${c} channels, the upscale model takes ${model.inChannels}${c === 4 ? ' (drop the alpha channel first)' : ''}`, { input: 'image' });
  }
  return nchwToNhwcClamped(await upscaleTiledNchw(model, nhwcToNchw(image), opts));
}
