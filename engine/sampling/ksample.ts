/**
 * ComfyUI's KSampler / KSamplerAdvanced flow (common_ksampler → KSampler.sample → CFGGuider → KSAMPLER) as
 * one function: seeded noise, schedule with denoise and start/end steps, latent scaling, noise mask,
 * sampler run with progress and interrupt, and the inverse scaling at the end.
 */
import { WeftError } from '../errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { brownianNoiseSampler } from './brownian.ts';
import { CFGDenoiser, type Conditioning, type ModelFn } from './cfg.ts';
import { InpaintDenoiser, prepareMask } from './mask.ts';
import { isMaxDenoise, type ModelSampling } from './model-sampling.ts';
import { numelOf, prepareNoise, TorchGenerator } from './rng.ts';
import { getSampler } from './samplers/index.ts';
import { ksamplerSigmas, sliceSigmas } from './schedulers.ts';
import type { Denoiser, NoiseSampler, StepInfo } from './types.ts';

/** process_in: (x − shift)·scale; process_out: x/scale + shift. */
export interface LatentFormat {
  scale: number;
  shift?: number;
}
export const LATENT_FORMATS = {
  sd1: { scale: 0.18215 },
  sdxl: { scale: 0.13025 },
  flux: { scale: 0.3611, shift: 0.1159 },
} as const satisfies Record<string, LatentFormat>;

export interface KSampleOptions {
  model: ModelFn;
  modelSampling: ModelSampling;
  latentFormat: LatentFormat;
  positive: Conditioning;
  negative: Conditioning;
  cfg: number;
  /** LATENT samples [B, C, H, W] as stored in a LATENT (unscaled). */
  latent: Tensor;
  /** LATENT noise_mask: [b, (1,) h, w] at any resolution; 1 = resample. */
  noiseMask?: Tensor;
  /** LATENT batch_index: which batch position's noise each sample gets. */
  batchIndex?: number[];
  seed: bigint | number;
  /** KSamplerAdvanced add_noise; false starts from the latent itself. */
  addNoise?: boolean;
  sampler: string;
  scheduler: string;
  steps: number;
  denoise?: number;
  startStep?: number;
  endStep?: number;
  /** KSamplerAdvanced: return_with_leftover_noise = disable ⇒ true. */
  forceFullDenoise?: boolean;
  /** Explicit schedule (SamplerCustom); replaces scheduler/steps/denoise. */
  sigmas?: Float32Array;
  /** Replaces the generated initial noise (same shape as the latent). */
  noise?: Float32Array;
  /** Replaces the ancestral / SDE noise sources (e.g. recorded draws). */
  noiseSampler?: NoiseSampler;
  sdeNoiseSampler?: NoiseSampler;
  samplerOptions?: Record<string, number | string>;
  onStep?: (p: { step: number; total: number; x: Float32Array; denoised: Float32Array }) => void | Promise<void>;
  signal?: AbortSignal;
  /** Wraps the model-level denoiser (hooks for tests, ControlNet timing, …). */
  wrapDenoiser?: (d: Denoiser) => Denoiser;
}

export interface KSampleResult {
  samples: Tensor;
  /** process_out of the last denoised prediction (SamplerCustom's denoised_output). */
  denoised: Tensor | null;
  sigmas: Float32Array;
}

function isAllZero(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

export async function ksample(o: KSampleOptions): Promise<KSampleResult> {
  const shape = o.latent.shape;
  if (shape.length !== 4) throw new WeftError(`latent must be [B, C, H, W], got [${shape.join(', ')}]`, { input: 'latent_image' });
  const n = numelOf(shape);
  const full = o.sigmas ?? ksamplerSigmas(o.modelSampling, o.scheduler, o.sampler, o.steps, o.denoise ?? 1);
  const sigmas = sliceSigmas(full, o.startStep, o.endStep, o.forceFullDenoise ?? false);
  const unchanged = (): KSampleResult => ({ samples: { shape: [...shape], data: o.latent.data.slice() }, denoised: null, sigmas: sigmas ?? new Float32Array(0) });
  if (!sigmas || sigmas.length === 0) return unchanged();

  const { noise, generator } = o.addNoise === false
    ? { noise: new Float32Array(n), generator: new TorchGenerator(o.seed) }
    : o.noise
      ? { noise: o.noise, generator: new TorchGenerator(o.seed) }
      : prepareNoise(shape, o.seed, o.batchIndex);
  const fmt = o.latentFormat;
  const latentIn = isAllZero(o.latent.data) ? o.latent.data.slice() : o.latent.data.map((v) => (v - (fmt.shift ?? 0)) * fmt.scale);

  let den: Denoiser = new CFGDenoiser(o.model, shape, o.positive, o.negative, o.cfg);
  if (o.noiseMask) {
    const mask = prepareMask(o.noiseMask.data, o.noiseMask.shape, shape);
    // ComfyUI's ddim ("euler" with random inpaint noise) re-noises masked-out cells with seed+1.
    const pinNoise = o.sampler === 'ddim' ? new TorchGenerator(BigInt(o.seed) + 1n).randn(n) : noise;
    den = new InpaintDenoiser(den, o.modelSampling, mask, latentIn, pinNoise);
  }
  if (o.wrapDenoiser) den = o.wrapDenoiser(den);

  const x = o.modelSampling.noiseScaling(sigmas[0]!, noise, latentIn, isMaxDenoise(o.modelSampling, sigmas[0]!));
  const draw = new Float32Array(n);
  let last: Float32Array | null = null;
  const out = await getSampler(o.sampler)(den, x, sigmas, {
    signal: o.signal,
    modelSampling: o.modelSampling,
    options: o.samplerOptions,
    noiseSampler: o.noiseSampler ?? (() => generator.randn(n, draw)),
    sdeNoiseSampler: o.sdeNoiseSampler ?? brownianNoiseSampler(n, sigmas, o.seed),
    callback: async (s: StepInfo) => {
      last = s.denoised;
      if (o.onStep) await o.onStep({ step: s.i, total: s.total, x: s.x, denoised: s.denoised });
    },
  });
  const scaled = o.modelSampling.inverseNoiseScaling(sigmas[sigmas.length - 1]!, out);
  const processOut = (a: Float32Array): Float32Array => a.map((v) => v / fmt.scale + (fmt.shift ?? 0));
  const lastDen = last as Float32Array | null;
  return {
    samples: { shape: [...shape], data: processOut(scaled) },
    denoised: lastDen ? { shape: [...shape], data: processOut(lastDen) } : null,
    sigmas,
  };
}
