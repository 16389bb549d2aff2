/**
 * Tiny random CLIP vision towers with real key names, for tests and fixtures: transformers layout, the
 * same numbers in OpenCLIP layout (q/k/v fused into in_proj, projection transposed), and a full CLIPModel
 * file (both towers + projections + logit_scale).
 */
import { writeSafetensors, type TensorToWrite } from '../../io/safetensors.ts';
import { f32, hfToOpenClipResblocks, rng, tinyHfClip, tinyHfEncoderLayers } from '../clip/synthetic.ts';

export interface TinyVisionConfig { width: number; layers: number; patch?: number; imageSize?: number; projection?: number; seed?: number }

/** transformers CLIPVisionModelWithProjection keys (`vision_model.*`, `visual_projection.weight`). */
export function tinyHfVision(c: TinyVisionConfig): Record<string, TensorToWrite> {
  const r = rng(c.seed ?? 7);
  const C = c.width, P = c.patch ?? 4, S = c.imageSize ?? 16;
  const N = (S / P) ** 2 + 1;
  const v = 'vision_model';
  const t: Record<string, TensorToWrite> = {
    [`${v}.embeddings.class_embedding`]: f32([C], r(1, C)),
    [`${v}.embeddings.patch_embedding.weight`]: f32([C, 3, P, P], r(1 / P, C * 3 * P * P)),
    [`${v}.embeddings.position_embedding.weight`]: f32([N, C], r(0.5, N * C)),
    [`${v}.pre_layrnorm.weight`]: f32([C], r(0.2, C).map((x) => 1 + x)),
    [`${v}.pre_layrnorm.bias`]: f32([C], r(0.1, C)),
  };
  tinyHfEncoderLayers(t, `${v}.encoder.layers`, C, c.layers, r);
  t[`${v}.post_layernorm.weight`] = f32([C], r(0.2, C).map((x) => 1 + x));
  t[`${v}.post_layernorm.bias`] = f32([C], r(0.1, C));
  if (c.projection) t['visual_projection.weight'] = f32([c.projection, C], r(1 / Math.sqrt(C), c.projection * C));
  return t;
}

/** The same tower in OpenCLIP `visual.*` layout (`prefix` goes before `visual.`). */
export function hfToOpenClipVision(hf: Record<string, TensorToWrite>, layers: number, prefix = ''): Record<string, TensorToWrite> {
  const get = (k: string) => hf[`vision_model.${k}`]!;
  const C = get('pre_layrnorm.weight').shape[0]!;
  const v = `${prefix}visual`;
  const t: Record<string, TensorToWrite> = {
    [`${v}.conv1.weight`]: get('embeddings.patch_embedding.weight'),
    [`${v}.class_embedding`]: get('embeddings.class_embedding'),
    [`${v}.positional_embedding`]: get('embeddings.position_embedding.weight'),
    [`${v}.ln_pre.weight`]: get('pre_layrnorm.weight'),
    [`${v}.ln_pre.bias`]: get('pre_layrnorm.bias'),
    [`${v}.ln_post.weight`]: get('post_layernorm.weight'),
    [`${v}.ln_post.bias`]: get('post_layernorm.bias'),
  };
  hfToOpenClipResblocks(t, get, `${v}.transformer.resblocks`, C, layers);
  const proj = hf['visual_projection.weight'];
  if (proj) {
    const [D] = proj.shape as [number];
    const src = proj.data as Float32Array, out = new Float32Array(C * D);
    for (let d = 0; d < D; d++) for (let c = 0; c < C; c++) out[c * D + d] = src[d * C + c]!;
    t[`${v}.proj`] = f32([C, D], out);
  }
  return t;
}

/** A transformers CLIPModel file: text tower (width `textWidth`) + vision tower + projections + logit_scale. */
export function writeTinyFullClip(path: string, o: { textWidth?: number; vision?: TinyVisionConfig; projection?: number; seed?: number; activation?: 'gelu' | 'quick_gelu' } = {}): void {
  const D = o.projection ?? 16;
  const vision = tinyHfVision({ width: 32, layers: 2, ...o.vision, projection: D });
  const text = tinyHfClip('text_model', { width: o.textWidth ?? 32, layers: 2, projection: D, seed: o.seed ?? 3 });
  const act = o.activation ?? 'quick_gelu';
  const config = { text: { hidden_act: act }, vision: { hidden_act: act } };
  writeSafetensors(path, { ...text, ...vision, logit_scale: f32([], Float32Array.of(Math.log(100))) }, { weft_config: JSON.stringify(config) });
}
