/**
 * FLUX DiT dimensions, all from tensor shapes (engine/models/detect.ts reads them): hidden size from img_in,
 * head dim from the QK-norm scale, depths from block indices, MLP ratio from img_mlp.0, guidance_in's
 * presence (dev) or absence (schnell). RoPE axes come from file metadata or BFL's rule (1/8, 7/16, 7/16
 * of the head dim: [16, 56, 56] for 128-wide heads).
 */
import { WeftError } from '../../errors.ts';
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { detectModel, type FluxConfig } from '../detect.ts';

export type { FluxConfig } from '../detect.ts';

/** RoPE base of every FLUX release. */
export const FLUX_THETA = 10000;
/** Timestep and guidance embeddings: 256-wide sinusoids of 1000·t. */
export const FLUX_TIME_DIM = 256;
export const FLUX_TIME_FACTOR = 1000;

export interface FluxDims extends FluxConfig {
  variant: 'dev' | 'schnell' | 'fill';
  /** Width of one MLP hidden layer (hidden · mlp ratio). */
  mlpHidden: number;
  /** Channels of one patchified token out of final_layer.linear (4 · latent channels). */
  outPatch: number;
}

export function fluxDims(file: SafetensorsFile): FluxDims {
  const d = detectModel(file);
  if (d.family !== 'flux' || !d.flux) {
    throw new WeftError(`${file.path}: not a FLUX diffusion model (no double_blocks.0.img_attn.norm.key_norm.scale / img_in.weight)`, { file: file.path, type: 'invalid_model_file' });
  }
  const f = d.flux;
  const p = f.prefix;
  if (f.hiddenSize % f.headDim !== 0) throw new WeftError(`${file.path}: hidden size ${f.hiddenSize} is not a multiple of the head dim ${f.headDim}`, { file: file.path, type: 'invalid_model_file' });
  const axesSum = f.axesDim.reduce((a, b) => a + b, 0);
  if (axesSum !== f.headDim || f.axesDim.some((a) => a % 2 !== 0)) {
    throw new WeftError(`${file.path}: RoPE axes [${f.axesDim.join(', ')}] must be even and sum to the head dim ${f.headDim}`, { file: file.path, type: 'invalid_model_file' });
  }
  const mlpHidden = file.get(`${p}double_blocks.0.img_mlp.0.weight`).shape[0]!;
  const outPatch = file.get(`${p}final_layer.linear.weight`).shape[0]!;
  return { ...f, variant: d.variant === 'fill' ? 'fill' : f.guidanceEmbed ? 'dev' : 'schnell', mlpHidden, outPatch };
}
