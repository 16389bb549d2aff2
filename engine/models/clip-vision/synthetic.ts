/**
 * Tiny random CLIP vision towers with real key names, for tests and fixtures: transformers layout, the
 * same numbers in OpenCLIP layout (q/k/v fused into in_proj, projection transposed), and a full CLIPModel
 * file (both towers + projections + logit_scale).
 */
import { writeSafetensors, type TensorToWrite } from '../../io/safetensors.ts';
import { tinyHfClip } from '../clip/synthetic.ts';

export interface TinyVisionConfig { width: number; layers: number; patch?: number; imageSize?: number; projection?: number; seed?: number }

function rng(seed: number): (scale: number, n: number) => Float32Array {
  let s = seed >>> 0;
  return (scale, n) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
    }
    return a;
  };
}

const f32 = (shape: number[], data: Float32Array): TensorToWrite => ({ dtype: 'F32', shape, data });

/** transformers CLIPVisionModelWithProjection keys (`vision_model.*`, `visual_projection.weight`). */
export function tinyHfVision(c: TinyVisionConfig): Record<string, TensorToWrite> {
  const r = rng(c.seed ?? 7);
  const C = c.width, P = c.patch ?? 4, S = c.imageSize ?? 16, M = 4 * C;
  const N = (S / P) ** 2 + 1;
  const v = 'vision_model';
  const t: Record<string, TensorToWrite> = {
    [`${v}.embeddings.class_embedding`]: f32([C], r(1, C)),
    [`${v}.embeddings.patch_embedding.weight`]: f32([C, 3, P, P], r(1 / P, C * 3 * P * P)),
    [`${v}.embeddings.position_embedding.weight`]: f32([N, C], r(0.5, N * C)),
    [`${v}.pre_layrnorm.weight`]: f32([C], r(0.2, C).map((x) => 1 + x)),
    [`${v}.pre_layrnorm.bias`]: f32([C], r(0.1, C)),
  };
  for (let i = 0; i < c.layers; i++) {
    const p = `${v}.encoder.layers.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2']) {
      t[`${p}.${n}.weight`] = f32([C], r(0.2, C).map((x) => 1 + x));
      t[`${p}.${n}.bias`] = f32([C], r(0.1, C));
    }
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      t[`${p}.self_attn.${n}.weight`] = f32([C, C], r(1 / Math.sqrt(C), C * C));
      t[`${p}.self_attn.${n}.bias`] = f32([C], r(0.1, C));
    }
    t[`${p}.mlp.fc1.weight`] = f32([M, C], r(1 / Math.sqrt(C), M * C));
    t[`${p}.mlp.fc1.bias`] = f32([M], r(0.1, M));
    t[`${p}.mlp.fc2.weight`] = f32([C, M], r(1 / Math.sqrt(M), M * C));
    t[`${p}.mlp.fc2.bias`] = f32([C], r(0.1, C));
  }
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
  for (let i = 0; i < layers; i++) {
    const s = `encoder.layers.${i}`, p = `${v}.transformer.resblocks.${i}`;
    const cat = (kind: 'weight' | 'bias') => {
      const parts = ['q_proj', 'k_proj', 'v_proj'].map((n) => get(`${s}.self_attn.${n}.${kind}`).data as Float32Array);
      const out = new Float32Array(parts.reduce((a, b) => a + b.length, 0));
      let o = 0;
      for (const x of parts) { out.set(x, o); o += x.length; }
      return f32(kind === 'weight' ? [3 * C, C] : [3 * C], out);
    };
    t[`${p}.attn.in_proj_weight`] = cat('weight');
    t[`${p}.attn.in_proj_bias`] = cat('bias');
    for (const [a, b] of [['ln_1', 'layer_norm1'], ['ln_2', 'layer_norm2'], ['attn.out_proj', 'self_attn.out_proj'], ['mlp.c_fc', 'mlp.fc1'], ['mlp.c_proj', 'mlp.fc2']]) {
      t[`${p}.${a}.weight`] = get(`${s}.${b}.weight`);
      t[`${p}.${a}.bias`] = get(`${s}.${b}.bias`);
    }
  }
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
