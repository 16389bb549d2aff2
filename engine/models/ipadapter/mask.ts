/**
 * IPAdapter_plus's attn_mask: every cross-attention layer multiplies the adapter's term per query token by the
 * mask resized to that layer's token grid. The grid only exists once the latent size is known, so the masks
 * are computed here per call (one per feature-map level) and fed to the graph, which only multiplies: the same
 * session serves every latent size, and the reference's odd-size grid, padding and cropping stay exact.
 */
import { WeftError } from '../../errors.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { downsampledSize } from '../unet/config.ts';
import type { CrossAttnSite } from '../unet/blocks.ts';

/**
 * The grid the reference resizes the mask to for a layer of `seqLen` query tokens of an oh×ow latent:
 * mask_h = oh / sqrt(oh·ow / seqLen), rounded up unless it divides seqLen; mask_w = seqLen // mask_h. For
 * most sizes that is the layer's own h×w; for some odd ones it is another grid (even a transposed one), whose
 * flattened mask then meets the tokens in another order or is padded (layerMask) — the reference's
 * behaviour, kept as is.
 */
export function maskGrid(oh: number, ow: number, seqLen: number): { h: number; w: number } {
  const t = Math.trunc(oh / Math.sqrt((oh * ow) / seqLen));
  // The reference fails here too (a modulo by zero, or an empty interpolation size).
  if (t < 1) throw new WeftError(`attn_mask: the ${ow}×${oh} latent is too narrow for IPAdapter's mask grid at a layer of ${seqLen} tokens`, { input: 'attn_mask' });
  const h = t + (seqLen % t !== 0 ? 1 : 0);
  const w = Math.floor(seqLen / h);
  if (w < 1) throw new WeftError(`attn_mask: the ${ow}×${oh} latent is too narrow for IPAdapter's mask grid at a layer of ${seqLen} tokens`, { input: 'attn_mask' });
  return { h, w };
}

interface Axis { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array }

/** Source indices and weights along one axis, in float32 as torch's CPU upsample_linear computes them. */
function axis(inSize: number, outSize: number): Axis {
  const f = Math.fround;
  const a: Axis = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), l0: new Float32Array(outSize), l1: new Float32Array(outSize) };
  const scale = f(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (inSize === outSize) {
      a.i0[o] = a.i1[o] = o;
      a.l0[o] = 1;
      continue;
    }
    const real = Math.max(0, f(f(scale * f(o + 0.5)) - 0.5));
    const i0 = Math.trunc(real);
    a.i0[o] = i0;
    a.i1[o] = i0 + (i0 < inSize - 1 ? 1 : 0);
    a.l1[o] = Math.min(Math.max(f(real - i0), 0), 1);
    a.l0[o] = f(1 - a.l1[o]!);
  }
  return a;
}

/** torch F.interpolate(mode='bilinear', align_corners=False, antialias=False) of [planes, h, w] to [planes, H, W]. */
export function resizeBilinearTorch(src: Float32Array, planes: number, h: number, w: number, H: number, W: number): Float32Array {
  const f = Math.fround;
  const ay = axis(h, H), ax = axis(w, W);
  const out = new Float32Array(planes * H * W);
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    const row = (y: number, j: number): number =>
      f(f(src[base + y * w + ax.i0[j]!]! * ax.l0[j]!) + f(src[base + y * w + ax.i1[j]!]! * ax.l1[j]!));
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) out[(p * H + i) * W + j] = f(f(row(ay.i0[i]!, j) * ay.l0[i]!) + f(row(ay.i1[i]!, j) * ay.l1[i]!));
  }
  return out;
}

/**
 * The mask of every batch row at a layer of `seqLen` tokens, [rows, seqLen]: `mask` [Bm, Hm, Wm] resized to
 * maskGrid, row r taking mask min(r mod batchPrompt, Bm − 1) (tensor_to_size over the prompt batch, repeated
 * for each cond/uncond chunk), flattened, then zero-padded at both ends to seqLen (the reference pads
 * ⌊missing/2⌋ in front). Its crop branch never runs: mask_w is a floor, so the grid never exceeds seqLen.
 */
export function layerMask(mask: Tensor, oh: number, ow: number, seqLen: number, rows: number, batchPrompt: number): Float32Array {
  const [Bm, Hm, Wm] = mask.shape as [number, number, number];
  const g = maskGrid(oh, ow, seqLen);
  const small = resizeBilinearTorch(mask.data, Bm, Hm, Wm, g.h, g.w);
  const len = g.h * g.w;
  const pad = Math.floor((seqLen - len) / 2);
  const out = new Float32Array(rows * seqLen);
  for (let r = 0; r < rows; r++) {
    const b = Math.min(r % batchPrompt, Bm - 1);
    out.set(small.subarray(b * len, (b + 1) * len), r * seqLen + pad);
  }
  return out;
}

/** ComfyUI's batch_prompt: rows per chunk, a chunk being one conditioning entry's run of rows. */
export function batchPrompt(conds: readonly unknown[]): number {
  let chunks = 0;
  conds.forEach((e, i) => { if (i === 0 || e !== conds[i - 1]) chunks++; });
  return Math.max(1, Math.floor(conds.length / Math.max(chunks, 1)));
}

/** Feature-map levels (downsampling factors) that carry cross-attention, in first-use order. */
export const maskLevels = (sites: readonly CrossAttnSite[]): number[] => [...new Set(sites.map((s) => s.down))];

/**
 * The per-level mask feeds for a latent batch of shape `x` [N, C, H, W]: `name(down)` → [N, h·w, 1], the
 * trailing 1 broadcasting over the attention output's channels.
 */
export function maskFeeds(mask: Tensor, sites: readonly CrossAttnSite[], x: readonly number[], prompt: number, name: (down: number) => string): Record<string, Tensor> {
  const [N, , H, W] = x as [number, number, number, number];
  const feeds: Record<string, Tensor> = {};
  for (const down of maskLevels(sites)) {
    const seq = downsampledSize(H, down) * downsampledSize(W, down);
    feeds[name(down)] = { shape: [N, seq, 1], data: layerMask(mask, H, W, seq, N, prompt) };
  }
  return feeds;
}
