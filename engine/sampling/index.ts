/** Public surface of the sampling module. */
export { TorchGenerator, randn, prepareNoise, numelOf } from './rng.ts';
export { DiscreteModelSampling, FlowModelSampling, fluxShift, isMaxDenoise, type ModelSampling, type Prediction } from './model-sampling.ts';
export { calculateSigmas, ksamplerSigmas, sliceSigmas, DISCARD_PENULTIMATE_SIGMA_SAMPLERS } from './schedulers.ts';
export { SAMPLERS, SDE_SAMPLERS, getSampler } from './samplers/index.ts';
export { CFGDenoiser, type CondEntry, type Conditioning, type ModelFn } from './cfg.ts';
export { InpaintDenoiser, prepareMask, resizeBilinear } from './mask.ts';
export { ksample, LATENT_FORMATS, type KSampleOptions, type KSampleResult, type LatentFormat } from './ksample.ts';
export { latentPreview, type PreviewFamily } from './preview.ts';
export { BrownianPath, brownianNoiseSampler } from './brownian.ts';
export type { Denoiser, NoiseSampler, SamplerContext, SamplerFn, StepInfo } from './types.ts';
export { SAMPLER_NAMES, SCHEDULER_NAMES } from './names.ts';
