import type { Tensor } from '../tensor/tensor.ts';

/** LATENT as ComfyUI passes it: samples NCHW plus an optional noise mask and batch indices. */
export interface Latent {
  samples: Tensor;
  noise_mask?: Tensor;
  batch_index?: number[];
  /** Model family the latent belongs to (4- or 16-channel); informational. */
  [extra: string]: unknown;
}

/** One conditioning entry: the cross-attention tokens [B,T,C] and ComfyUI's options dict (pooled_output, area, mask, strength, …). */
export type ConditioningEntry = [Tensor, Record<string, unknown>];
export type Conditioning = ConditioningEntry[];

/**
 * What a value of each socket type is at run time. Model-bearing types (MODEL, CLIP, VAE, CONTROL_NET,
 * UPSCALE_MODEL, CLIP_VISION, SAMPLER, NOISE, GUIDER, …) are declared by the modules that own them, by
 * declaration merging:  declare module '../graph/sockets.ts' { interface SocketValues { MODEL: SdModel } }
 * A type nobody declares reads as `unknown`.
 */
export interface SocketValues {
  INT: number;
  FLOAT: number;
  STRING: string;
  BOOLEAN: boolean;
  IMAGE: Tensor;
  MASK: Tensor;
  LATENT: Latent;
  CONDITIONING: Conditioning;
  SIGMAS: Tensor;
  '*': unknown;
}

export type SocketType = keyof SocketValues;
export type SocketValue<T extends string> = T extends keyof SocketValues ? SocketValues[T] : unknown;

/** Types that render as widgets when not linked. */
export const WIDGET_TYPES = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO']);

/** ComfyUI's type compatibility: '*' matches anything, comma unions match if they intersect. */
export function typesCompatible(output: string, input: string): boolean {
  if (output === '*' || input === '*') return true;
  if (output === input) return true;
  const a = output.split(',').map((s) => s.trim());
  const b = input.split(',').map((s) => s.trim());
  if (input === 'COMBO' && output.startsWith('COMBO')) return true;
  return a.some((t) => b.includes(t));
}
