/**
 * Tiny random CLIP text towers with real key names, for tests and fixtures. `sameWeightsAs` lets the
 * OpenCLIP layout carry exactly the numbers of an HF-layout tower (q/k/v fused into in_proj), so the two
 * code paths can be checked against each other.
 */
import type { TensorToWrite } from '../../io/safetensors.ts';

export interface TinyClipConfig { width: number; layers: number; vocab?: number; positions?: number; projection?: number; seed?: number }

/** LCG uniform noise in ±scale; one stream per tower so every tensor is reproducible from the seed. */
export function rng(seed: number): (scale: number, n: number) => Float32Array {
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

export const f32 = (shape: number[], data: Float32Array): TensorToWrite => ({ dtype: 'F32', shape, data });

/** transformers CLIPEncoderLayer weights for `layers` layers under `${prefix}.N` (text and vision towers alike). */
export function tinyHfEncoderLayers(t: Record<string, TensorToWrite>, prefix: string, C: number, layers: number, r: ReturnType<typeof rng>): void {
  const M = 4 * C;
  for (let i = 0; i < layers; i++) {
    const p = `${prefix}.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2']) {
      t[`${p}.${n}.weight`] = f32([C], r(0.2, C).map((v) => 1 + v));
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
}

/**
 * The same encoder layers in OpenCLIP layout under `${prefix}.N` (q/k/v fused into in_proj); `get` reads
 * an HF tensor by its name below the tower prefix (`encoder.layers.N.…`).
 */
export function hfToOpenClipResblocks(t: Record<string, TensorToWrite>, get: (k: string) => TensorToWrite, prefix: string, C: number, layers: number): void {
  for (let i = 0; i < layers; i++) {
    const s = `encoder.layers.${i}`, p = `${prefix}.${i}`;
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
}

/** transformers layout under `prefix` (e.g. 'cond_stage_model.transformer.text_model'). */
export function tinyHfClip(prefix: string, c: TinyClipConfig): Record<string, TensorToWrite> {
  const r = rng(c.seed ?? 1);
  const C = c.width, V = c.vocab ?? 49408, P = c.positions ?? 77;
  const t: Record<string, TensorToWrite> = {
    [`${prefix}.embeddings.token_embedding.weight`]: f32([V, C], r(1, V * C)),
    [`${prefix}.embeddings.position_embedding.weight`]: f32([P, C], r(0.5, P * C)),
    [`${prefix}.final_layer_norm.weight`]: f32([C], r(0.2, C).map((v) => 1 + v)),
    [`${prefix}.final_layer_norm.bias`]: f32([C], r(0.1, C)),
  };
  tinyHfEncoderLayers(t, `${prefix}.encoder.layers`, C, c.layers, r);
  if (c.projection) {
    const root = prefix.endsWith('.text_model') ? prefix.slice(0, -'.text_model'.length) + '.' : '';
    t[`${root}text_projection.weight`] = f32([c.projection, C], r(1 / Math.sqrt(C), c.projection * C));
  }
  return t;
}

/** The same tower in OpenCLIP layout under `prefix` (e.g. 'cond_stage_model.model'); projection [W, P]. */
export function hfToOpenClip(hf: Record<string, TensorToWrite>, hfPrefix: string, prefix: string, layers: number, projection?: Float32Array): Record<string, TensorToWrite> {
  const get = (k: string) => hf[`${hfPrefix}.${k}`]!;
  const t: Record<string, TensorToWrite> = {
    [`${prefix}.token_embedding.weight`]: get('embeddings.token_embedding.weight'),
    [`${prefix}.positional_embedding`]: get('embeddings.position_embedding.weight'),
    [`${prefix}.ln_final.weight`]: get('final_layer_norm.weight'),
    [`${prefix}.ln_final.bias`]: get('final_layer_norm.bias'),
  };
  const C = get('final_layer_norm.weight').shape[0]!;
  hfToOpenClipResblocks(t, get, `${prefix}.transformer.resblocks`, C, layers);
  if (projection) t[`${prefix}.text_projection`] = f32([C, projection.length / C], projection);
  return t;
}
