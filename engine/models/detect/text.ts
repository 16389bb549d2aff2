/** Text encoders: CLIP in the transformers and OpenCLIP layouts, and T5. */
import type { T5Config, TensorSource, TextEncoderConfig } from './types.ts';
import { countIndexed, need, shape } from './util.ts';

export function detectClipL(src: TensorSource, prefix: string, role: 'l' | 'g', heads?: number): TextEncoderConfig {
  const t = src.tensors;
  const tok = need(src, `${prefix}text_model.embeddings.token_embedding.weight`);
  const width = tok[1]!;
  const layers = countIndexed(t.keys(), `${prefix}text_model.encoder.layers.`);
  const inter = need(src, `${prefix}text_model.encoder.layers.0.mlp.fc1.weight`)[0]!;
  const proj = shape(t, `${prefix}text_projection.weight`);
  return {
    layout: 'clip', role, prefix, width, layers, heads: heads ?? defaultHeads(width), intermediate: inter, vocabSize: tok[0]!,
    maxPositions: need(src, `${prefix}text_model.embeddings.position_embedding.weight`)[0]!,
    // HF CLIP-L uses quick_gelu; the HF-converted bigG (SDXL te2 in diffusers form) uses gelu.
    act: role === 'g' ? 'gelu' : 'quick_gelu',
    ...(proj ? { projectionDim: proj[0]! } : {}),
  };
}

function detectOpenClip(src: TensorSource, prefix: string, role: 'h' | 'g', heads?: number): TextEncoderConfig {
  const t = src.tensors;
  const tok = need(src, `${prefix}token_embedding.weight`);
  const width = tok[1]!;
  const proj = shape(t, `${prefix}text_projection`);
  return {
    layout: 'open_clip', role, prefix, width, layers: countIndexed(t.keys(), `${prefix}transformer.resblocks.`),
    heads: heads ?? defaultHeads(width), intermediate: need(src, `${prefix}transformer.resblocks.0.mlp.c_fc.weight`)[0]!,
    vocabSize: tok[0]!, maxPositions: need(src, `${prefix}positional_embedding`)[0]!, act: 'gelu',
    ...(proj ? { projectionDim: proj[1]! } : {}),
  };
}

/** Real CLIP text towers use 64-wide heads (L: 12, H: 16, bigG: 20). */
function defaultHeads(width: number): number {
  return width % 64 === 0 ? width / 64 : Math.max(1, Math.round(width / 64));
}

export function detectT5(src: TensorSource, prefix: string): T5Config {
  const t = src.tensors;
  const q = need(src, `${prefix}encoder.block.0.layer.0.SelfAttention.q.weight`);
  const rel = need(src, `${prefix}encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight`);
  const gated = t.has(`${prefix}encoder.block.0.layer.1.DenseReluDense.wi_0.weight`);
  const ff = need(src, `${prefix}encoder.block.0.layer.1.DenseReluDense.${gated ? 'wi_0' : 'wi'}.weight`);
  const numHeads = rel[1]!;
  return {
    prefix, dModel: q[1]!, numHeads, dKv: q[0]! / numHeads, dFf: ff[0]!, numLayers: countIndexed(t.keys(), `${prefix}encoder.block.`),
    vocabSize: need(src, `${prefix}shared.weight`)[0]!, relativeBuckets: rel[0]!, gated,
  };
}

export function textEncodersOf(src: TensorSource, cfg: Record<string, any>): TextEncoderConfig[] {
  const t = src.tensors;
  const out: TextEncoderConfig[] = [];
  const h = (c: any): number | undefined => (typeof c?.num_attention_heads === 'number' ? c.num_attention_heads : undefined);
  if (t.has('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight')) out.push(detectClipL(src, 'cond_stage_model.transformer.', 'l', h(cfg.clip)));
  if (t.has('cond_stage_model.model.token_embedding.weight')) out.push(detectOpenClip(src, 'cond_stage_model.model.', 'h', h(cfg.clip)));
  if (t.has('conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight')) out.push(detectClipL(src, 'conditioner.embedders.0.transformer.', 'l', h(cfg.clip_l)));
  for (const i of [0, 1]) {
    if (t.has(`conditioner.embedders.${i}.model.token_embedding.weight`)) out.push(detectOpenClip(src, `conditioner.embedders.${i}.model.`, 'g', h(cfg.clip_g)));
  }
  return out;
}
