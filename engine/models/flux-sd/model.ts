/**
 * The FLUX MODEL object. It is an SdModel of family 'flux' rather than a second class behind an interface:
 * every sampling node, guider and scheduler already takes an SdModel and reads only what a FLUX model also
 * has (ModelSampling, latent format and channels, preview family, clone/withModelSampling), so the change
 * is a family branch in sd/model.ts and one in sd/bridge.ts instead of retyping every MODEL consumer.
 * FLUX-only settings ride in `options` (copied by clone()): the 8-bit path UNETLoader's fp8 choices map to.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import { fluxShift, FlowModelSampling } from '../../sampling/model-sampling.ts';
import type { DetectedModel } from '../detect.ts';
import type { FluxQuant } from '../flux/model.ts';
import { SdModel } from '../sd/model.ts';

const QUANT = 'fluxQuant';
const CACHE = 'fluxQuantCacheDir';

/** A FLUX MODEL for the diffusion-model tensors of `file` (bare BFL keys or under model.diffusion_model.). */
export function fluxModelFromFile(file: string, d: DetectedModel, input: string): SdModel {
  if (d.family !== 'flux' || !d.flux) throw new WeftError(`${input}: ${file} is not a FLUX diffusion model`, { input, file, type: 'model_load_error' });
  if (d.variant === 'fill' || d.flux.inChannels !== 16) {
    throw new WeftError(`${input}: ${file} is a FLUX Fill / ${d.flux.inChannels}-channel model; only text-to-image FLUX (dev, schnell) runs here yet`, { input, file, type: 'not_implemented' });
  }
  return new SdModel({ source: { path: file, prefix: d.flux.prefix, heads: {} }, family: 'flux', detected: d });
}

export function isFluxModel(m: SdModel): boolean {
  return m.family === 'flux';
}

/** 'q8' / 'q4' when the model runs its block Linears as MatMulNBits; undefined: stored precision. */
export function fluxQuantOf(m: SdModel): FluxQuant | undefined {
  const q = m.options[QUANT];
  return q === 'q8' || q === 'q4' ? q : undefined;
}

export function fluxCacheDirOf(m: SdModel): string {
  const d = m.options[CACHE];
  return typeof d === 'string' ? d : path.join(tmpdir(), 'weft-quant');
}

/**
 * UNETLoader's weight_dtype. PyTorch's fp8 storage types only save memory there; the nearest thing here
 * is the 8-bit weight-only path (block Linears as MatMulNBits from a cached side file next to `cacheDir`).
 * 'default' keeps the stored precision; SD UNets ignore the choice (their weights run as stored).
 */
export function withWeightDtype(m: SdModel, weightDtype: string, cacheDir: string): SdModel {
  if (!isFluxModel(m) || !weightDtype.startsWith('fp8')) return m;
  const c = m.clone();
  c.options[QUANT] = 'q8';
  c.options[CACHE] = path.join(cacheDir, 'flux-quant');
  return c;
}

/** ModelSamplingFlux: shift from the image's token count, linear between 256 (base) and 4096 (max) tokens. */
export function withFluxShift(m: SdModel, maxShift: number, baseShift: number, width: number, height: number): SdModel {
  return m.withModelSampling(new FlowModelSampling(fluxShift(width, height, maxShift, baseShift)));
}
