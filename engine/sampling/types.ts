/**
 * The narrow interfaces between sampler math and the model. Samplers see only a Denoiser (x, sigma) →
 * denoised; CFG, conditioning areas, inpaint masks and the network live behind it.
 */
import { InterruptedError } from '../errors.ts';
import type { ModelSampling } from './model-sampling.ts';

export interface Denoiser {
  /** The denoised prediction for x at noise level sigma; the returned array belongs to the caller. */
  denoise(x: Float32Array, sigma: number): Promise<Float32Array>;
  /**
   * CFG++ samplers need the unconditional prediction too; a denoiser with CFG implements this and runs the
   * uncond pass even at cfg 1. Without it the sampler uses the guided prediction for both.
   */
  denoiseWithUncond?(x: Float32Array, sigma: number): Promise<{ denoised: Float32Array; uncond: Float32Array }>;
}

/** Unit-variance noise for the step sigma → sigmaNext (k-diffusion's noise_sampler). */
export type NoiseSampler = (sigma: number, sigmaNext: number) => Float32Array;

export interface StepInfo {
  /** Step index, 0-based. */
  i: number;
  /** Number of steps of this schedule. */
  total: number;
  sigma: number;
  /** x before this step's update. */
  x: Float32Array;
  denoised: Float32Array;
}

export interface SamplerContext {
  /** Called once per step with the state before the update (ComfyUI's sampler callback). */
  callback?: (info: StepInfo) => void | Promise<void>;
  /** Checked before every model evaluation; aborting throws InterruptedError. */
  signal?: AbortSignal;
  /** Ancestral / ddpm / lcm noise: randn_like from the generator that drew the initial noise. */
  noiseSampler?: NoiseSampler;
  /** SDE samplers' Brownian noise; built by the caller from seed and the sigma range. */
  sdeNoiseSampler?: NoiseSampler;
  /** lcm re-noises with the model's noise scaling; eps scaling when absent. */
  modelSampling?: ModelSampling;
  /** Sampler options (eta, s_noise, order, …), ComfyUI's names. */
  options?: Record<string, number | string>;
}

export type SamplerFn = (model: Denoiser, x: Float32Array, sigmas: Float32Array, ctx: SamplerContext) => Promise<Float32Array>;

export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}

export function needNoise(s: NoiseSampler | undefined, sampler: string): NoiseSampler {
  if (!s) throw new Error(`sampler ${sampler} needs a noise sampler`);
  return s;
}

export function opt(ctx: SamplerContext, name: string, def: number): number {
  const v = ctx.options?.[name];
  return typeof v === 'number' ? v : def;
}

/** Step reporting shared by the samplers. */
export async function report(ctx: SamplerContext, i: number, total: number, sigma: number, x: Float32Array, denoised: Float32Array): Promise<void> {
  if (ctx.callback) await ctx.callback({ i, total, sigma, x, denoised });
}

/**
 * One model evaluation of a sampler step: stops if the run was interrupted, denoises at sigma, and hands
 * the step's x and denoised to the progress callback (the k-diffusion callback order).
 */
export async function denoiseStep(model: Denoiser, ctx: SamplerContext, x: Float32Array, sigma: number, i: number, total: number): Promise<Float32Array> {
  checkAbort(ctx.signal);
  const den = await model.denoise(x, sigma);
  await report(ctx, i, total, sigma, x, den);
  return den;
}

/** k-diffusion get_ancestral_step. */
export function ancestralStep(sigmaFrom: number, sigmaTo: number, eta = 1): { down: number; up: number } {
  if (!eta) return { down: sigmaTo, up: 0 };
  const up = Math.min(sigmaTo, eta * Math.sqrt((sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)) / (sigmaFrom * sigmaFrom)));
  const down = Math.sqrt(sigmaTo * sigmaTo - up * up);
  return { down, up };
}
