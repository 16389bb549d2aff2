/**
 * Where a CLIP text tower lives in a checkpoint and how big it is, read from tensor shapes.
 * Two layouts exist: transformers' (`…text_model.encoder.layers.N.self_attn.q_proj`, SD1 and SDXL's clip_l)
 * and OpenCLIP's (`…transformer.resblocks.N.attn.in_proj_weight`, SD2 and SDXL's clip_g).
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import type { Activation } from '../layers/index.ts';

export type ClipLayout = 'hf' | 'openclip';

export interface ClipSpec {
  prefix: string;
  layout: ClipLayout;
  width: number;
  layers: number;
  heads: number;
  vocab: number;
  positions: number;
  activation: Activation;
  /** Projection for the pooled output, if the checkpoint has one. */
  projection?: { key: string; kind: 'linear' | 'matmul'; dim: number };
  bosId: number;
  eosId: number;
}

/** Checkpoint prefixes of the towers ComfyUI loads from single-file checkpoints. */
export const CLIP_PREFIXES = {
  sd1: 'cond_stage_model.transformer.text_model',
  sd2: 'cond_stage_model.model',
  sdxl_l: 'conditioner.embedders.0.transformer.text_model',
  sdxl_g: 'conditioner.embedders.1.model',
  /** Standalone transformers CLIPTextModel / ComfyUI clip_l.safetensors. */
  standalone: 'text_model',
} as const;

/**
 * Real towers use 64-wide heads (768/12, 1024/16, 1280/20); head count is not stored in the file, so narrow
 * test towers (< 512 wide) are taken to use 16-wide heads, as the conformance checkpoints do.
 */
export function defaultHeads(width: number): number {
  const d = width >= 512 ? 64 : 16;
  if (width % d !== 0) throw new WeftError(`CLIP width ${width} is not a multiple of the ${d}-wide heads; pass heads explicitly`);
  return width / d;
}

export interface LayerKeys { ln1: string; ln2: string; fc1: string; fc2: string; out: string; qkv: { q: string; k: string; v: string } | { fused: string } }

export function layerKeys(s: ClipSpec, i: number): LayerKeys {
  if (s.layout === 'hf') {
    const p = `${s.prefix}.encoder.layers.${i}`;
    return {
      ln1: `${p}.layer_norm1`, ln2: `${p}.layer_norm2`, fc1: `${p}.mlp.fc1`, fc2: `${p}.mlp.fc2`, out: `${p}.self_attn.out_proj`,
      qkv: { q: `${p}.self_attn.q_proj`, k: `${p}.self_attn.k_proj`, v: `${p}.self_attn.v_proj` },
    };
  }
  const p = `${s.prefix}.transformer.resblocks.${i}`;
  return { ln1: `${p}.ln_1`, ln2: `${p}.ln_2`, fc1: `${p}.mlp.c_fc`, fc2: `${p}.mlp.c_proj`, out: `${p}.attn.out_proj`, qkv: { fused: `${p}.attn.in_proj` } };
}

export function embeddingKeys(s: ClipSpec): { token: string; position: string; finalNorm: string } {
  return s.layout === 'hf'
    ? { token: `${s.prefix}.embeddings.token_embedding.weight`, position: `${s.prefix}.embeddings.position_embedding.weight`, finalNorm: `${s.prefix}.final_layer_norm` }
    : { token: `${s.prefix}.token_embedding.weight`, position: `${s.prefix}.positional_embedding`, finalNorm: `${s.prefix}.ln_final` };
}

export interface ClipSpecOverrides { heads?: number; activation?: Activation; bosId?: number; eosId?: number }

export function clipSpec(file: WeightSource, prefix: string, o: ClipSpecOverrides = {}): ClipSpec {
  const layout: ClipLayout | null = file.has(`${prefix}.embeddings.token_embedding.weight`) ? 'hf' : file.has(`${prefix}.token_embedding.weight`) ? 'openclip' : null;
  if (!layout) throw new WeftError(`${file.path}: no CLIP text model under "${prefix}" (no token embedding)`, { file: file.path, input: prefix, type: 'model_load_error' });
  const base: ClipSpec = { prefix, layout, width: 0, layers: 0, heads: 0, vocab: 0, positions: 0, activation: 'gelu', bosId: o.bosId ?? 49406, eosId: o.eosId ?? 49407 };
  const ek = embeddingKeys(base);
  const [vocab, width] = file.get(ek.token).shape as [number, number];
  let layers = 0;
  while (file.has(`${layerKeys(base, layers).ln1}.weight`)) layers++;
  if (layers === 0) throw new WeftError(`${file.path}: CLIP text model "${prefix}" has no encoder layers`, { file: file.path, input: prefix, type: 'model_load_error' });
  let projection: ClipSpec['projection'];
  if (layout === 'openclip' && file.has(`${prefix}.text_projection`)) {
    projection = { key: `${prefix}.text_projection`, kind: 'matmul', dim: file.get(`${prefix}.text_projection`).shape[1]! };
  } else if (layout === 'hf') {
    const root = prefix.endsWith('.text_model') ? prefix.slice(0, -'.text_model'.length) : prefix === 'text_model' ? '' : prefix;
    const key = `${root ? root + '.' : ''}text_projection.weight`;
    if (file.has(key)) projection = { key: key.slice(0, -'.weight'.length), kind: 'linear', dim: file.get(key).shape[0]! };
  }
  return {
    ...base, width, vocab, layers,
    positions: file.get(ek.position).shape[0]!,
    heads: o.heads ?? defaultHeads(width),
    // OpenAI CLIP (transformers layout in SD checkpoints) uses quick_gelu; OpenCLIP ViT-H/bigG use exact gelu.
    activation: o.activation ?? (layout === 'hf' ? 'quick_gelu' : 'gelu'),
    projection,
  };
}
