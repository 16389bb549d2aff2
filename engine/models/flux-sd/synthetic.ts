/**
 * A tiny FLUX set with real key names, for tests and e2e stand-ins: a BFL-layout DiT (writeSyntheticFlux),
 * a CLIP-L text tower (ComfyUI clip_l.safetensors layout), a T5 v1.1 encoder (t5xxl layout: shared.weight,
 * encoder.block.N…, gated-GELU) and a 16-channel AE without quant convs (ae.safetensors layout). The widths
 * agree with each other (T5 d_model = the DiT's context width, CLIP-L width = its pooled width) so the set
 * runs end to end. The T5 vocabulary covers the real T5 v1.1 tokenizer (32128 ids).
 */
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../io/safetensors.ts';
import { tinyHfClip } from '../clip/synthetic.ts';
import { writeSyntheticFlux } from '../flux/synthetic.ts';
import { Rng, TensorSink, vae } from '../fixtures/sd.ts';

export interface TinyT5Config { d: number; heads: number; dkv: number; ff: number; layers: number; vocab?: number; buckets?: number; seed?: number }

export const TINY_T5: TinyT5Config = { d: 32, heads: 2, dkv: 16, ff: 48, layers: 2 };
export const TINY_CLIP_L = { width: 32, layers: 2 };

/** T5 v1.1 encoder weights under `prefix` ('' standalone, 'text_encoders.t5xxl.transformer.' in a checkpoint). */
export function tinyT5Tensors(c: TinyT5Config, prefix = ''): Record<string, TensorToWrite> {
  const s = new TensorSink(new Rng(c.seed ?? 5), 'F32');
  const inner = c.heads * c.dkv;
  s.add(`${prefix}shared.weight`, [c.vocab ?? 32128, c.d], 1);
  for (let i = 0; i < c.layers; i++) {
    const a = `${prefix}encoder.block.${i}.layer.0.SelfAttention`;
    for (const n of ['q', 'k', 'v']) s.add(`${a}.${n}.weight`, [inner, c.d], 1 / Math.sqrt(c.d));
    s.add(`${a}.o.weight`, [c.d, inner], 1 / Math.sqrt(inner));
    // Only block 0 holds the relative position table (T5 shares it across layers).
    if (i === 0) s.add(`${a}.relative_attention_bias.weight`, [c.buckets ?? 32, c.heads], 0.5);
    s.add(`${prefix}encoder.block.${i}.layer.0.layer_norm.weight`, [c.d], 0.1, 1);
    const f = `${prefix}encoder.block.${i}.layer.1.DenseReluDense`;
    s.add(`${f}.wi_0.weight`, [c.ff, c.d], 1 / Math.sqrt(c.d));
    s.add(`${f}.wi_1.weight`, [c.ff, c.d], 1 / Math.sqrt(c.d));
    s.add(`${f}.wo.weight`, [c.d, c.ff], 1 / Math.sqrt(c.ff));
    s.add(`${prefix}encoder.block.${i}.layer.1.layer_norm.weight`, [c.d], 0.1, 1);
  }
  s.add(`${prefix}encoder.final_layer_norm.weight`, [c.d], 0.1, 1);
  return s.out;
}

export function writeTinyT5(file: string, c: TinyT5Config = TINY_T5): void {
  writeSafetensors(file, tinyT5Tensors(c));
}

/** ComfyUI's clip_l.safetensors layout: text_model.* (no projection: FLUX uses the unprojected pooled). */
export function writeTinyClipL(file: string, seed = 3): void {
  writeSafetensors(file, tinyHfClip('text_model', { ...TINY_CLIP_L, seed }));
}

/** ae.safetensors layout: encoder/decoder at the root, 16 latent channels, no quant convs; 8× with 4 levels. */
export function aeTensors(prefix = '', seed = 7, levels = 4): Record<string, TensorToWrite> {
  const s = new TensorSink(new Rng(seed), 'F32');
  vae(s, prefix, 32, new Array<number>(levels).fill(1), 1, 16, false);
  return s.out;
}

export function writeTinyFluxAe(file: string, seed = 7): void {
  writeSafetensors(file, aeTensors('', seed));
}

export interface TinyFluxDitOptions { guidance: boolean; seed?: number; prefix?: string }

/** A 1+1-block DiT: hidden 32, 2 heads of 16 (RoPE axes 4/6/6 in weft_config), T5 and CLIP-L widths of the set. */
export function writeTinyFluxDit(file: string, o: TinyFluxDitOptions): void {
  writeSyntheticFlux(file, {
    hidden: 32, heads: 2, depth: 1, depthSingle: 1, contextDim: TINY_T5.d, vecDim: TINY_CLIP_L.width,
    guidance: o.guidance, axesDim: [4, 6, 6], seed: o.seed ?? 11, prefix: o.prefix,
  });
}

/**
 * ComfyUI's all-in-one FLUX checkpoint layout: model.diffusion_model.* + text_encoders.clip_l.transformer.*
 * + text_encoders.t5xxl.transformer.* + vae.*. `scratch` is a temporary path for the DiT written first.
 */
export function writeTinyFluxCheckpoint(file: string, scratch: string, o: TinyFluxDitOptions): void {
  writeTinyFluxDit(scratch, { ...o, prefix: 'model.diffusion_model.' });
  const dit = SafetensorsFile.open(scratch);
  const out: Record<string, TensorToWrite> = {};
  let metadata: Record<string, string>;
  try {
    for (const [k, t] of dit.tensors) out[k] = { dtype: 'F32', shape: [...t.shape], data: dit.readFloat32(k) };
    metadata = { ...dit.metadata };
  } finally {
    dit.close();
  }
  Object.assign(out, tinyHfClip('text_encoders.clip_l.transformer.text_model', { ...TINY_CLIP_L, seed: 3 }));
  Object.assign(out, tinyT5Tensors(TINY_T5, 'text_encoders.t5xxl.transformer.'));
  Object.assign(out, aeTensors('vae.'));
  writeSafetensors(file, out, metadata);
}
