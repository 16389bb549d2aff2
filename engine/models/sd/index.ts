/** Public surface of the SD model glue: MODEL / VAE / GUIDER / NOISE / SAMPLER values and what nodes call. */
export { SdModel, isSdModel, asSdModel, latentFormatOf, defaultModelSampling, type UNetSource, type WeightPatch, type UNetCall, type UNetRunner, type UNetWrapper } from './model.ts';
export { SdVae, isSdVae, asSdVae } from './vae.ts';
export { loadCheckpoint, loadDiffusionModel, loadVae, type LoadedCheckpoint, type CheckpointOptions } from './checkpoint.ts';
export { requireModels, cacheDirOf, createModelServices } from './services.ts';
export { sampleLatent, type SampleRequest, type SampleResult } from './sample.ts';
export { resolveConditioning, type ResolveOptions } from './conds.ts';
export { modelFnFor } from './bridge.ts';
export { unetSession, runUNet } from './unet-runner.ts';
export { DualCFGDenoiser, asGuider, asNoise, asSampler, type Guider, type NoiseSource, type SamplerChoice } from './guider.ts';
export { encodeForInpaint, inpaintModelConditioning, maskedPixels, growMaskBox } from './inpaint.ts';
export { basicSigmas, polyexponentialSigmas, vpSigmas, sdTurboSigmas, splitSigmas, splitSigmasDenoise, flipSigmas, sigmasOf, sigmasTensor } from './sigmas.ts';
export { tiledScale, tiledAverage } from './tiles.ts';
export { previewImage } from './preview.ts';
