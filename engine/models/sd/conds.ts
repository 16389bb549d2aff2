/**
 * ComfyUI CONDITIONING ([tensor, options] pairs) → the sampling module's CondEntry list, resolved for one
 * sampling run as comfy/samplers.py does before sampling: percentage areas and mask bounds become latent
 * cells, timestep ranges become sigmas of this model, and model inputs that depend on the latent size are
 * computed once (SDXL's ADM vector `y`, the inpaint model's concat channels).
 */
import { WeftError } from '../../errors.ts';
import type { Conditioning as ComfyConditioning } from '../../graph/sockets.ts';
import type { CondEntry } from '../../sampling/cfg.ts';
import { resizeBilinear } from '../../sampling/mask.ts';
import { isTensor, type Tensor } from '../../tensor/tensor.ts';
import { sdxlAdm } from '../clip/encode.ts';
import { sinusoidalEmbedding } from '../layers/sinusoidal.ts';
import { concatFor, type ConcatSource } from './concat.ts';
import type { SdModel } from './model.ts';
import { unclipY } from '../unclip/index.ts';

export interface ResolveOptions {
  model: SdModel;
  /** [B, C, H, W] of the latent being sampled. */
  latentShape: readonly number[];
  /** Which side this list is (SDXL refiner's default aesthetic score differs). */
  side: 'positive' | 'negative';
  /** The 9-channel model's fallback concat inputs (latent noise mask + processed latent). */
  concat?: ConcatSource;
  input?: string;
  /** The sampler's noise seed: unCLIP's noise augmentation draws from seed − 10, as ComfyUI does. */
  seed?: bigint | number;
}

type Area = { height: number; width: number; y: number; x: number };

function num(v: unknown, what: string, input: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new WeftError(`${input}: conditioning option ${what} must be a number, got ${String(v)}`, { input });
  return v;
}

/** ComfyUI stores (h, w, y, x) in latent cells, or ('percentage', h, w, y, x) as fractions. */
function resolveArea(raw: unknown, H: number, W: number, input: string): Area | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (Array.isArray(raw)) {
    if (raw[0] === 'percentage') {
      const [, h, w, y, x] = raw.map((v, i) => (i === 0 ? 0 : num(v, 'area', input)));
      return { height: Math.max(1, Math.round(h! * H)), width: Math.max(1, Math.round(w! * W)), y: Math.round(y! * H), x: Math.round(x! * W) };
    }
    const [h, w, y, x] = raw.map((v) => num(v, 'area', input));
    return { height: h!, width: w!, y: y!, x: x! };
  }
  if (typeof raw === 'object') {
    const a = raw as Record<string, unknown>;
    return { height: num(a.height, 'area.height', input), width: num(a.width, 'area.width', input), y: num(a.y ?? 0, 'area.y', input), x: num(a.x ?? 0, 'area.x', input) };
  }
  throw new WeftError(`${input}: conditioning area has an unknown form`, { input });
}

/** ConditioningSetMask's "mask bounds": the area becomes the box of the non-zero cells (at least 8×8). */
function maskBounds(mask: Float32Array, planes: number, H: number, W: number): Area {
  let y0 = H, y1 = -1, x0 = W, x1 = -1;
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      let m = 0;
      for (let p = 0; p < planes; p++) m = Math.max(m, Math.abs(mask[(p * H + i) * W + j]!));
      if (m !== 0) { y0 = Math.min(y0, i); y1 = Math.max(y1, i); x0 = Math.min(x0, j); x1 = Math.max(x1, j); }
    }
  if (y1 < 0) return { height: 8, width: 8, y: 0, x: 0 };
  return { height: Math.max(8, y1 - y0 + 1), width: Math.max(8, x1 - x0 + 1), y: y0, x: x0 };
}

function pooledOf(opts: Record<string, unknown>, input: string): Tensor {
  const p = opts.pooled_output;
  if (isTensor(p)) return p.shape.length === 1 ? { shape: [1, p.shape[0]!], data: p.data } : p;
  if (p instanceof Float32Array) return { shape: [1, p.length], data: p };
  throw new WeftError(`${input}: this SDXL model needs the pooled text output; encode the prompt with the SDXL CLIP`, { input });
}

/** SDXL ADM vector per conditioning batch row; sizes default to the latent's pixel size like ComfyUI. */
function admFor(model: SdModel, opts: Record<string, unknown>, H: number, W: number, side: 'positive' | 'negative', input: string, seed: bigint | number = 0): Tensor | undefined {
  // unCLIP models take the (noise-augmented) CLIP image embedding as their ADM vector instead.
  const u = unclipY(model, opts, seed);
  if (u) return u;
  const adm = model.detected.unet?.admInChannels ?? 0;
  if (!adm) return undefined;
  const pooled = pooledOf(opts, input);
  const [rows, P] = pooled.shape as [number, number];
  const n = (k: string, d: number): number => (typeof opts[k] === 'number' ? (opts[k] as number) : d);
  const width = n('width', W * 8), height = n('height', H * 8);
  const out = new Float32Array(rows * adm);
  for (let r = 0; r < rows; r++) {
    const p = pooled.data.subarray(r * P, (r + 1) * P);
    let y: Float32Array;
    if (model.family === 'sdxl_refiner') {
      // Refiner: pooled, h, w, crop_h, crop_w, aesthetic score (6 positive / 2.5 negative by default).
      const parts = [height, width, n('crop_h', 0), n('crop_w', 0), n('aesthetic_score', side === 'negative' ? 2.5 : 6)];
      y = new Float32Array(P + 256 * parts.length);
      y.set(p);
      parts.forEach((v, i) => y.set(sinusoidalEmbedding(v), P + 256 * i));
    } else {
      y = sdxlAdm(p, { width, height, cropW: n('crop_w', 0), cropH: n('crop_h', 0), targetWidth: n('target_width', width), targetHeight: n('target_height', height) });
    }
    if (y.length !== adm) throw new WeftError(`${input}: pooled output width ${P} gives an ADM vector of ${y.length}, the model takes ${adm}; the CLIP does not match this model`, { input });
    out.set(y, r * adm);
  }
  return { shape: [rows, adm], data: out };
}

export function resolveConditioning(cond: ComfyConditioning, o: ResolveOptions): CondEntry[] {
  const input = o.input ?? o.side;
  if (!Array.isArray(cond)) throw new WeftError(`${input}: expected CONDITIONING (a list of [tensor, options])`, { input });
  const [, , H, W] = o.latentShape as [number, number, number, number];
  const ms = o.model.modelSampling;
  return cond.map((pair, i) => {
    const [ctx, opts = {}] = Array.isArray(pair) ? pair : [];
    if (!isTensor(ctx) || ctx.shape.length !== 3) throw new WeftError(`${input}: conditioning entry ${i} has no [B, tokens, width] tensor`, { input });
    const want = o.model.detected.unet?.contextDim;
    if (want && ctx.shape[2] !== want) {
      throw new WeftError(`${input}: text conditioning is ${ctx.shape[2]} wide but the model expects ${want}; use the CLIP that belongs to this model`, { input });
    }
    const e: CondEntry = { context: ctx, extra: { ...opts } };
    // ComfyUI's cond_or_uncond tag: per-row patches (IP-Adapter) give uncond rows the uncond image tokens.
    e.extra!.cond_or_uncond = o.side === 'negative' ? 1 : 0;
    let area = resolveArea(opts.area, H, W, input);
    if (isTensor(opts.mask)) {
      const m = opts.mask.shape.length === 2 ? { shape: [1, ...opts.mask.shape], data: opts.mask.data } : opts.mask;
      const [mb, mh, mw] = m.shape as [number, number, number];
      const full = mh === H && mw === W ? m.data : resizeBilinear(m.data, mb, mh, mw, H, W);
      e.mask = { shape: [mb, H, W], data: full };
      if (opts.set_area_to_bounds === true) area = maskBounds(full, mb, H, W);
      if (typeof opts.mask_strength === 'number') e.maskStrength = opts.mask_strength;
    }
    if (area) e.area = area;
    if (typeof opts.strength === 'number') e.strength = opts.strength;
    if (typeof opts.timestep_start === 'number') e.timestepStart = ms.percentToSigma(opts.timestep_start);
    if (typeof opts.timestep_end === 'number') e.timestepEnd = ms.percentToSigma(opts.timestep_end);
    const y = admFor(o.model, opts, H, W, o.side, input, o.seed);
    if (y) e.extra!.y = y;
    if (o.model.inChannels > o.model.latentChannels) e.extra!.concat = concatFor(o.model, opts, o.latentShape, o.concat, input);
    return e;
  });
}
