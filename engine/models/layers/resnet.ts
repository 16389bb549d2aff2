/**
 * ResNet blocks and resampling shared by the VAE and the UNet. The two checkpoint layouts name the same
 * parts differently, so callers pick a naming preset.
 */
import type { WeightSource } from '../../onnx/weights.ts';
import type { GraphBuilder } from '../../onnx/index.ts';
import { conv2d, groupNorm, linear, silu } from './basic.ts';

export interface ResNames { norm1: string; conv1: string; norm2: string; conv2: string; skip: string; emb: string }

/** VAE (`first_stage_model.*.block.N`) layout. */
export const VAE_RES: ResNames = { norm1: 'norm1', conv1: 'conv1', norm2: 'norm2', conv2: 'conv2', skip: 'nin_shortcut', emb: 'temb_proj' };
/** LDM UNet (`model.diffusion_model.*`) layout. */
export const LDM_RES: ResNames = { norm1: 'in_layers.0', conv1: 'in_layers.2', norm2: 'out_layers.0', conv2: 'out_layers.3', skip: 'skip_connection', emb: 'emb_layers.1' };

export interface ResBlockOptions {
  names?: ResNames;
  /** Time embedding [B, E] (before SiLU): added per channel after conv1 through `emb` linear. */
  temb?: string;
  groups?: number;
  eps?: number;
}

/** h = conv2(silu(gn2(conv1(silu(gn1(x))) + emb))); out = skip(x) + h. Dropout is identity at inference. */
export function resBlock(g: GraphBuilder, file: WeightSource, prefix: string, x: string, opts: ResBlockOptions = {}): string {
  const n = opts.names ?? VAE_RES;
  const gn = { groups: opts.groups, eps: opts.eps };
  let h = conv2d(g, file, `${prefix}.${n.conv1}`, silu(g, groupNorm(g, file, `${prefix}.${n.norm1}`, x, gn)));
  if (opts.temb) {
    const e = linear(g, file, `${prefix}.${n.emb}`, silu(g, opts.temb));
    h = g.op('Add', [h, g.op('Unsqueeze', [e, g.constInt64([2, 3])])]);
  }
  h = conv2d(g, file, `${prefix}.${n.conv2}`, silu(g, groupNorm(g, file, `${prefix}.${n.norm2}`, h, gn)));
  const skipKey = `${prefix}.${n.skip}.weight`;
  const skip = file.has(skipKey) ? conv2d(g, file, `${prefix}.${n.skip}`, x) : x;
  return g.op('Add', [skip, h]);
}

/** Nearest 2× (torch F.interpolate 'nearest' = asymmetric + floor) then the 3×3 conv at `convPrefix`. */
export function upsample2x(g: GraphBuilder, file: WeightSource, convPrefix: string, x: string): string {
  const up = g.op('Resize', [x, '', g.constant(Float32Array.of(1, 1, 2, 2), [4])], {
    mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor',
  });
  return conv2d(g, file, convPrefix, up);
}

/**
 * Stride-2 3×3 conv. The VAE pads only right/bottom by one (torch pad (0,1,0,1), then padding 0);
 * the UNet pads one on every side.
 */
export function downsample2x(g: GraphBuilder, file: WeightSource, convPrefix: string, x: string, style: 'vae' | 'ldm'): string {
  return conv2d(g, file, convPrefix, x, { stride: 2, pads: style === 'vae' ? [0, 0, 1, 1] : [1, 1, 1, 1] });
}
