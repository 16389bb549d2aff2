/**
 * GUIDER, NOISE and SAMPLER socket values of the custom-sampling nodes (comfy_extras/nodes_custom_sampler),
 * and the one guidance the sampling module's CFGDenoiser does not cover: DualCFGGuider's two-scale mix
 * denoised = neg + (middle − neg)·cfg2 + (pos − middle)·cfg1.
 */
import type { Conditioning as ComfyConditioning } from '../../graph/sockets.ts';
import { CFGDenoiser, type Conditioning, type ModelFn } from '../../sampling/cfg.ts';
import type { Denoiser } from '../../sampling/types.ts';
import { WeftError } from '../../errors.ts';
import { isSdModel, type SdModel } from './model.ts';

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    GUIDER: Guider;
    NOISE: NoiseSource;
    SAMPLER: SamplerChoice;
  }
}

export interface Guider {
  kind: 'cfg' | 'basic' | 'dual';
  model: SdModel;
  positive: ComfyConditioning;
  negative: ComfyConditioning;
  /** DualCFGGuider's cond2. */
  middle?: ComfyConditioning;
  cfg: number;
  /** DualCFGGuider's cfg_cond2_negative. */
  cfg2?: number;
}

export type NoiseSource = { kind: 'random'; seed: bigint | number } | { kind: 'disabled' };

export interface SamplerChoice {
  name: string;
  options?: Record<string, number | string>;
}


export class DualCFGDenoiser implements Denoiser {
  private readonly pos: CFGDenoiser;
  private readonly mid: CFGDenoiser;
  private readonly neg: CFGDenoiser;
  constructor(model: ModelFn, shape: readonly number[], pos: Conditioning, mid: Conditioning, neg: Conditioning, private readonly cfg1: number, private readonly cfg2: number) {
    // cfg 1 with no negative: each denoiser is calc_cond_batch of one list (areas, masks and weights included).
    this.pos = new CFGDenoiser(model, shape, pos, [], 1);
    this.mid = new CFGDenoiser(model, shape, mid, [], 1);
    this.neg = new CFGDenoiser(model, shape, neg, [], 1);
  }

  async denoise(x: Float32Array, sigma: number): Promise<Float32Array> {
    const n = await this.neg.denoise(x, sigma);
    const m = await this.mid.denoise(x, sigma);
    const p = await this.pos.denoise(x, sigma);
    const out = new Float32Array(x.length);
    for (let i = 0; i < out.length; i++) out[i] = n[i]! + (m[i]! - n[i]!) * this.cfg2 + (p[i]! - m[i]!) * this.cfg1;
    return out;
  }
}

export function asGuider(v: unknown, input = 'guider'): Guider {
  const g = v as Guider | null;
  if (!g || typeof g !== 'object' || !['cfg', 'basic', 'dual'].includes(g.kind) || !isSdModel(g.model)) {
    throw new WeftError(`${input}: expected a GUIDER (CFGGuider, BasicGuider, DualCFGGuider)`, { input });
  }
  return g;
}

export function asNoise(v: unknown, input = 'noise'): NoiseSource {
  const n = v as NoiseSource | null;
  if (!n || typeof n !== 'object' || (n.kind !== 'random' && n.kind !== 'disabled')) throw new WeftError(`${input}: expected a NOISE (RandomNoise or DisableNoise)`, { input });
  return n;
}

export function asSampler(v: unknown, input = 'sampler'): SamplerChoice {
  const s = v as SamplerChoice | null;
  if (!s || typeof s !== 'object' || typeof s.name !== 'string') throw new WeftError(`${input}: expected a SAMPLER (KSamplerSelect or a Sampler… node)`, { input });
  return s;
}
