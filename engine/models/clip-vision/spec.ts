/**
 * Where a CLIP vision tower lives in a file and how big it is, read from tensor shapes. Two layouts:
 * transformers (`vision_model.*` + `visual_projection`, what ComfyUI's clip_vision folder holds) and OpenCLIP
 * (`visual.*` with fused `in_proj`, what open_clip checkpoints and some unCLIP checkpoints hold).
 * Head count and activation are not stored in the weights: a `weft_config`/`oracle_config` metadata block
 * decides when present; otherwise real towers use 64-wide heads, and the activation follows ComfyUI's
 * table (24-layer ViT-L: quick_gelu, 32-layer ViT-H and 48-layer bigG: gelu).
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import type { Activation } from '../layers/index.ts';

export type VisionLayout = 'hf' | 'openclip';

export interface ClipVisionSpec {
  layout: VisionLayout;
  /** Key prefix with trailing dot ('', 'clip_vision.', 'embedder.model.'…); tower keys follow it. */
  prefix: string;
  width: number;
  layers: number;
  heads: number;
  intermediate: number;
  patch: number;
  /** Side of the square input (sqrt(positions − 1) · patch). */
  imageSize: number;
  positions: number;
  activation: Activation;
  /** Width of image_embeds; absent when the file has no projection (then image_embeds = pooled). */
  projectionDim?: number;
}

export interface VisionLayerKeys { ln1: string; ln2: string; fc1: string; fc2: string; out: string; qkv: { q: string; k: string; v: string } | { fusedW: string; fusedB: string } }

export interface VisionKeys {
  patchWeight: string;
  classEmbedding: string;
  positionEmbedding: string;
  preNorm: string;
  postNorm: string;
  /** transformers: Linear [P, C] without bias; OpenCLIP: matrix [C, P]. */
  projection: { key: string; kind: 'linear' | 'matmul' } | null;
}

export function visionKeys(s: Pick<ClipVisionSpec, 'layout' | 'prefix'>): VisionKeys {
  const p = s.prefix;
  if (s.layout === 'hf') {
    return {
      patchWeight: `${p}vision_model.embeddings.patch_embedding.weight`, classEmbedding: `${p}vision_model.embeddings.class_embedding`,
      positionEmbedding: `${p}vision_model.embeddings.position_embedding.weight`, preNorm: `${p}vision_model.pre_layrnorm`,
      postNorm: `${p}vision_model.post_layernorm`, projection: { key: `${p}visual_projection.weight`, kind: 'linear' },
    };
  }
  return {
    patchWeight: `${p}visual.conv1.weight`, classEmbedding: `${p}visual.class_embedding`, positionEmbedding: `${p}visual.positional_embedding`,
    preNorm: `${p}visual.ln_pre`, postNorm: `${p}visual.ln_post`, projection: { key: `${p}visual.proj`, kind: 'matmul' },
  };
}

export function visionLayerKeys(s: Pick<ClipVisionSpec, 'layout' | 'prefix'>, i: number): VisionLayerKeys {
  if (s.layout === 'hf') {
    const p = `${s.prefix}vision_model.encoder.layers.${i}`;
    return {
      ln1: `${p}.layer_norm1`, ln2: `${p}.layer_norm2`, fc1: `${p}.mlp.fc1`, fc2: `${p}.mlp.fc2`, out: `${p}.self_attn.out_proj`,
      qkv: { q: `${p}.self_attn.q_proj`, k: `${p}.self_attn.k_proj`, v: `${p}.self_attn.v_proj` },
    };
  }
  const p = `${s.prefix}visual.transformer.resblocks.${i}`;
  return {
    ln1: `${p}.ln_1`, ln2: `${p}.ln_2`, fc1: `${p}.mlp.c_fc`, fc2: `${p}.mlp.c_proj`, out: `${p}.attn.out_proj`,
    qkv: { fusedW: `${p}.attn.in_proj_weight`, fusedB: `${p}.attn.in_proj_bias` },
  };
}

const PREFIXES = ['', 'clip_vision.', 'vision_tower.', 'embedder.model.', 'conditioner.embedders.0.model.', 'model.'];

/** The layout and prefix of the vision tower in `file`, or null when it has none. */
export function findVisionTower(file: WeightSource): { layout: VisionLayout; prefix: string } | null {
  for (const prefix of PREFIXES) {
    if (file.has(`${prefix}vision_model.embeddings.patch_embedding.weight`)) return { layout: 'hf', prefix };
    if (file.has(`${prefix}visual.conv1.weight`) && file.has(`${prefix}visual.transformer.resblocks.0.attn.in_proj_weight`)) return { layout: 'openclip', prefix };
  }
  return null;
}

export interface VisionOverrides { heads?: number; activation?: Activation }

/** Heads / activation stated by the file's own config metadata (`vision` section for full CLIP files). */
export function metadataOverrides(file: WeightSource, section?: string): VisionOverrides {
  for (const k of ['weft_config', 'oracle_config']) {
    const raw = file.metadata[k];
    if (!raw) continue;
    try {
      const all = JSON.parse(raw);
      const c = section && all?.[section] ? all[section] : all;
      const o: VisionOverrides = {};
      if (Number.isInteger(c?.num_attention_heads)) o.heads = c.num_attention_heads;
      if (c?.hidden_act === 'gelu' || c?.hidden_act === 'quick_gelu') o.activation = c.hidden_act;
      return o;
    } catch { /* advisory metadata */ }
  }
  return {};
}

/** 64-wide heads for real towers (1024/16, 1280/16, 1664/16); narrow test towers (< 512) use 16-wide heads. */
export function defaultVisionHeads(width: number): number {
  const d = width >= 512 ? 64 : 16;
  if (width % d !== 0) throw new WeftError(`CLIP vision width ${width} is not a multiple of ${d}-wide heads; state num_attention_heads in the file's weft_config metadata`);
  return width / d;
}

export function clipVisionSpec(file: WeightSource, o: VisionOverrides = {}): ClipVisionSpec {
  const where = findVisionTower(file);
  if (!where) {
    throw new WeftError(`${file.path}: no CLIP vision tower found (expected vision_model.embeddings.patch_embedding.weight or visual.conv1.weight)`, { file: file.path, type: 'model_load_error' });
  }
  const base = { ...where };
  const k = visionKeys(base);
  const shapeOf = (key: string): number[] => {
    if (!file.has(key)) throw new WeftError(`${file.path}: CLIP vision tensor "${key}" is missing`, { file: file.path, input: key, type: 'model_load_error' });
    return file.get(key).shape;
  };
  const [width, , patch] = shapeOf(k.patchWeight) as [number, number, number];
  const positions = shapeOf(k.positionEmbedding)[0]!;
  const grid = Math.round(Math.sqrt(positions - 1));
  if (grid * grid !== positions - 1) throw new WeftError(`${file.path}: ${positions} position embeddings is not a square grid plus a class token`, { file: file.path, input: k.positionEmbedding });
  let layers = 0;
  while (file.has(`${visionLayerKeys(base, layers).ln1}.weight`)) layers++;
  if (layers < 2) throw new WeftError(`${file.path}: CLIP vision tower has ${layers} encoder layer(s); at least 2 are needed for penultimate_hidden_states`, { file: file.path, type: 'model_load_error' });
  const fc1 = shapeOf(`${visionLayerKeys(base, 0).fc1}.weight`)[0]!;
  let projectionDim: number | undefined;
  if (k.projection && file.has(k.projection.key)) {
    const s = file.get(k.projection.key).shape;
    projectionDim = k.projection.kind === 'linear' ? s[0]! : s[1]!;
  }
  return {
    ...base, width, layers, intermediate: fc1, patch, positions, imageSize: grid * patch,
    heads: o.heads ?? defaultVisionHeads(width),
    activation: o.activation ?? (layers >= 30 ? 'gelu' : 'quick_gelu'),
    ...(projectionDim !== undefined ? { projectionDim } : {}),
  };
}
