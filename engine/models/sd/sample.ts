/**
 * Sampling a LATENT with an SdModel: what KSampler, KSamplerAdvanced, SamplerCustom and
 * SamplerCustomAdvanced share. Conditioning is resolved for this latent and model, the UNet runs through
 * the ModelService, and the sampling module's ksample() does noise, schedule, sampler and CFG. Progress is
 * reported per step with a cheap latent preview; the run stops at the next model call when interrupted.
 */
import { WeftError } from '../../errors.ts';
import type { NodeContext } from '../../graph/context.ts';
import type { Latent } from '../../graph/sockets.ts';
import { ksample, type KSampleOptions } from '../../sampling/ksample.ts';
import { InpaintDenoiser, prepareMask } from '../../sampling/mask.ts';
import { prepareNoise, TorchGenerator } from '../../sampling/rng.ts';
import { SAMPLERS } from '../../sampling/samplers/index.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { modelFnFor } from './bridge.ts';
import { resolveConditioning } from './conds.ts';
import { DualCFGDenoiser, type Guider, type NoiseSource } from './guider.ts';
import { isSdModel } from './model.ts';
import { previewImage } from './preview.ts';
import { requireModels } from './services.ts';
import { shareControlWithUncond } from '../controlnet/apply.ts';

export interface SampleRequest {
  guider: Guider;
  latent: Latent;
  noise: NoiseSource;
  sampler: string;
  samplerOptions?: Record<string, number | string>;
  /** KSampler schedule … */
  scheduler?: string;
  steps?: number;
  denoise?: number;
  startStep?: number;
  endStep?: number;
  forceFullDenoise?: boolean;
  /** … or an explicit one (custom sampling). */
  sigmas?: Float32Array;
  /** Input name used in errors about the latent. */
  latentInput?: string;
}

export interface SampleResult {
  latent: Latent;
  /** The last denoised prediction (SamplerCustom's denoised_output); the output itself when no step ran. */
  denoised: Latent;
}

function isAllZero(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/** The samples to sample from; an empty latent of another channel count is resized (fix_empty_latent_channels). */
function latentSamples(latent: Latent, channels: number, input: string): Tensor {
  const s = latent?.samples;
  if (!s || !(s.data instanceof Float32Array) || s.shape.length !== 4) throw new WeftError(`${input}: expected a LATENT with samples [B, C, H, W]`, { input });
  const [B, C, H, W] = s.shape as [number, number, number, number];
  if (C === channels) return s;
  if (isAllZero(s.data)) return { shape: [B, channels, H, W], data: new Float32Array(B * channels * H * W) };
  throw new WeftError(`${input}: the latent has ${C} channels but the model samples ${channels}; it was made for another model family`, { input });
}

export async function sampleLatent(req: SampleRequest, ctx: NodeContext): Promise<SampleResult> {
  const { guider } = req;
  const model = guider.model;
  if (!isSdModel(model)) throw new WeftError('model: expected a MODEL from a checkpoint or diffusion-model loader', { input: 'model' });
  if (!SAMPLERS[req.sampler]) throw new WeftError(`sampler '${req.sampler}' is not available`, { input: 'sampler_name', type: 'value_not_in_list' });
  const service = requireModels(ctx.services);
  const input = req.latentInput ?? 'latent_image';
  const samples = latentSamples(req.latent, model.latentChannels, input);
  const shape = samples.shape;
  const fmt = model.latentFormat;
  const latentIn = isAllZero(samples.data) ? samples.data.slice() : samples.data.map((v) => (v - (fmt.shift ?? 0)) * fmt.scale);
  const noiseMask = req.latent.noise_mask;
  const concat = { latentIn, noiseMask };
  const seed = req.noise.kind === 'random' ? req.noise.seed : 0;
  const resolve = (c: typeof guider.positive, side: 'positive' | 'negative', name: string) =>
    resolveConditioning(c, { model, latentShape: shape, side, concat, input: name, seed });
  const positive = resolve(guider.positive, 'positive', 'positive');
  // ComfyUI's control_apply_to_uncond (ControlNetApply): the positive's ControlNet also drives an uncontrolled uncond.
  const negative = guider.kind === 'basic' ? [] : shareControlWithUncond(positive, resolve(guider.negative, 'negative', 'negative'));
  const batchIndex = Array.isArray(req.latent.batch_index) ? req.latent.batch_index : undefined;
  const modelFn = modelFnFor(model, service, shape);

  const opts: KSampleOptions = {
    model: modelFn, modelSampling: model.modelSampling, latentFormat: fmt,
    positive, negative, cfg: guider.kind === 'basic' ? 1 : guider.cfg,
    latent: samples, noiseMask, batchIndex, seed, addNoise: req.noise.kind === 'random',
    sampler: req.sampler, samplerOptions: req.samplerOptions, scheduler: req.scheduler ?? 'normal', steps: req.steps ?? 1,
    denoise: req.denoise, startStep: req.startStep, endStep: req.endStep, forceFullDenoise: req.forceFullDenoise, sigmas: req.sigmas,
    signal: ctx.signal,
    onStep: async ({ step, total, denoised }) => {
      ctx.progress(step + 1, total, ctx.previews === false ? undefined : await previewImage({ shape, data: denoised }, model.previewFamily));
    },
  };
  if (guider.kind === 'dual') dualGuidance(opts, guider, model.modelSampling, resolve(guider.middle ?? [], 'positive', 'cond2'), latentIn);
  ctx.checkAbort();
  const r = await ksample(opts);
  const out: Latent = { ...req.latent, samples: r.samples };
  return { latent: out, denoised: r.denoised ? { ...req.latent, samples: r.denoised } : out };
}

/**
 * DualCFGGuider replaces the CFG denoiser, so the noise mask (which ksample would wrap around CFG) is
 * applied here around the dual one, with the same initial noise ksample draws.
 */
function dualGuidance(opts: KSampleOptions, g: Guider, ms: KSampleOptions['modelSampling'], middle: KSampleOptions['positive'], latentIn: Float32Array): void {
  const shape = opts.latent.shape;
  const n = latentIn.length;
  const noise = opts.addNoise === false ? new Float32Array(n) : prepareNoise(shape, opts.seed, opts.batchIndex).noise;
  const mask = opts.noiseMask;
  opts.noise = noise;
  opts.noiseMask = undefined;
  opts.wrapDenoiser = () => {
    const dual = new DualCFGDenoiser(opts.model, shape, opts.positive, middle, opts.negative, g.cfg, g.cfg2 ?? g.cfg);
    if (!mask) return dual;
    const pin = opts.sampler === 'ddim' ? new TorchGenerator(BigInt(opts.seed) + 1n).randn(n) : noise;
    return new InpaintDenoiser(dual, ms, prepareMask(mask.data, mask.shape, shape), latentIn, pin);
  };
}
