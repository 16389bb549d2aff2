/**
 * unCLIP's ADM vector `y` (comfy/model_base.py unclip_adm with CLIPEmbeddingNoiseAugmentation).
 *
 * Each image embedding e (one per row of every unclip_conditioning entry's clip_vision_output.image_embeds)
 * becomes strength · [q_sample(e, level), timestep_embedding(level)], level = round(999 · noise_augmentation),
 * where q_sample(e, t) = √ᾱ_t · e + √(1−ᾱ_t) · n on the "squaredcos_cap_v2" DDPM schedule and n is
 * torch.randn(e's shape) from a fresh generator seeded with (sampler seed − 10). ComfyUI's augmentor also
 * normalises by data_mean / data_std, but those are non-persistent buffers fixed at 0 / 1 (checkpoint values
 * are never loaded), so they are left out. With several embeddings the weighted vectors are summed, and the
 * sum's embedding half is augmented again at `unclip_noise_augment_merge` (default 0.05). ComfyUI draws that
 * last noise from torch's global generator, which no workflow can reproduce; here it comes from the same
 * seed, so results are deterministic (the one deliberate difference).
 */
import { WeftError } from '../../errors.ts';
import { randn } from '../../sampling/rng.ts';
import { sinusoidalEmbedding } from '../layers/sinusoidal.ts';
import type { ClipVisionOutput } from '../clip-vision/model.ts';
import type { Tensor } from '../../tensor/tensor.ts';

const f = Math.fround;

/** One entry of a conditioning's `unclip_conditioning` list, as unCLIPConditioning writes it. */
export interface UnclipCond {
  clip_vision_output: ClipVisionOutput;
  strength: number;
  noise_augmentation: number;
}

/** ᾱ of betas_for_alpha_bar(T, cos((t + 0.008)/1.008 · π/2)², max β 0.999), in float64 like numpy, then √ as float32 buffers. */
export function squaredcosSchedule(timesteps = 1000): { sqrtAlphasCumprod: Float32Array; sqrtOneMinusAlphasCumprod: Float32Array } {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const sa = new Float32Array(timesteps);
  const s1m = new Float32Array(timesteps);
  let prod = 1;
  for (let i = 0; i < timesteps; i++) {
    const beta = Math.min(1 - alphaBar((i + 1) / timesteps) / alphaBar(i / timesteps), 0.999);
    prod *= 1 - beta;
    sa[i] = Math.sqrt(prod);
    s1m[i] = Math.sqrt(1 - prod);
  }
  return { sqrtAlphasCumprod: sa, sqrtOneMinusAlphasCumprod: s1m };
}

/** CLIPEmbeddingNoiseAugmentation for `dim`-wide embeddings (768 for unCLIP-L, 1024 for -H, 1280 in SDXL). */
export class ClipNoiseAugmentor {
  readonly maxNoiseLevel = 1000;
  private readonly schedule = squaredcosSchedule(1000);

  constructor(readonly dim: number) {}

  /** round((max_noise_level − 1) · augmentation) with Python's round. */
  level(augmentation: number): number {
    const x = (this.maxNoiseLevel - 1) * augmentation;
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  /** [q_sample(x, level) (float32 ops as torch), timestep_embedding(level)], 2·dim wide. */
  augment(x: Float32Array, level: number, seed: bigint | number): Float32Array {
    if (x.length !== this.dim) throw new WeftError(`unCLIP: image embedding is ${x.length} wide, the model's noise augmentor takes ${this.dim}; use the CLIP vision model that belongs to this checkpoint`, { input: 'clip_vision_output' });
    if (!(level >= 0 && level < this.maxNoiseLevel)) throw new WeftError(`unCLIP: noise level ${level} is outside 0…${this.maxNoiseLevel - 1}`, { input: 'noise_augmentation' });
    const a = this.schedule.sqrtAlphasCumprod[level]!;
    const b = this.schedule.sqrtOneMinusAlphasCumprod[level]!;
    const noise = randn(seed, [1, this.dim]);
    const out = new Float32Array(2 * this.dim);
    for (let i = 0; i < this.dim; i++) out[i] = f(f(a * x[i]!) + f(b * noise[i]!));
    out.set(sinusoidalEmbedding(level, this.dim), this.dim);
    return out;
  }
}

function isUnclipCond(v: unknown): v is UnclipCond {
  const c = v as UnclipCond;
  return typeof c === 'object' && c !== null && typeof c.strength === 'number' && typeof c.noise_augmentation === 'number' && !!c.clip_vision_output?.image_embeds;
}

/** The ADM vector [1, 2·dim] for a conditioning entry's unclip_conditioning list. */
export function unclipAdm(list: unknown, aug: ClipNoiseAugmentor, seed: bigint | number, merge = 0.05): Tensor {
  if (!Array.isArray(list) || list.length === 0 || !list.every(isUnclipCond)) {
    throw new WeftError('conditioning: unclip_conditioning must be a list of {clip_vision_output, strength, noise_augmentation} (from unCLIPConditioning)', { input: 'positive' });
  }
  const D = aug.dim;
  const parts: Float32Array[] = [];
  for (const u of list) {
    const e = u.clip_vision_output.image_embeds;
    const rows = e.shape[0]!;
    const width = e.data.length / rows;
    for (let r = 0; r < rows; r++) {
      const v = aug.augment(e.data.subarray(r * width, (r + 1) * width), aug.level(u.noise_augmentation), seed);
      const w = f(u.strength); // torch multiplies float32 by the weight cast to float32
      parts.push(w === 1 ? v : v.map((x) => x * w));
    }
  }
  if (parts.length === 1) return { shape: [1, 2 * D], data: parts[0]! };
  // torch.stack(...).sum(0): a float32 running sum in list order.
  const sum = new Float32Array(2 * D);
  for (const p of parts) for (let i = 0; i < sum.length; i++) sum[i] = f(sum[i]! + p[i]!);
  return { shape: [1, 2 * D], data: aug.augment(sum.subarray(0, D), aug.level(merge), seed) };
}
