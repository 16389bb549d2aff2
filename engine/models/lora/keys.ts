/**
 * LoRA module name → checkpoint tensor, as ComfyUI's model_lora_keys_unet / model_lora_keys_clip accept
 * them, but against the checkpoint's own key layout (we read weights straight from the user's file, so a
 * target is a real key, plus a row range where ComfyUI's converted model has a split tensor: OpenCLIP's
 * fused `attn.in_proj_weight` holds q, k and v as three row blocks).
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { layerKeys, type ClipSpec } from '../clip/spec.ts';
import { diffusersNames } from './diffusers.ts';
import { fluxKeyMap, isFluxLayout } from './flux-keys.ts';

export interface PatchTarget {
  /** Checkpoint key of the patched tensor. */
  key: string;
  /** Only these rows (dim 0) receive the delta. */
  rows?: [number, number];
  /** The delta's two row halves land swapped (diffusers' norm_out.linear is scale, shift; BFL's is shift, scale). */
  swapHalves?: boolean;
}

export type KeyMap = Map<string, PatchTarget>;

export const us = (s: string): string => s.replace(/\./g, '_');

/**
 * Names a LoRA may use for the diffusion model under `prefix` (e.g. 'model.diffusion_model.'): a UNet, or a
 * FLUX DiT (BFL layout), whose diffusers names come from flux-keys.ts instead of the UNet block map.
 */
export function unetKeyMap(file: WeightSource, prefix: string, into: KeyMap = new Map()): KeyMap {
  const rel = file.keys().filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  for (const r of rel) {
    if (!r.endsWith('.weight')) continue;
    const mod = r.slice(0, -'.weight'.length);
    const t = { key: prefix + r };
    into.set(`lora_unet_${us(mod)}`, t);
    into.set(`diffusion_model.${mod}`, t);
  }
  if (isFluxLayout(file, prefix)) return fluxKeyMap(file, prefix, into);
  for (const [mod, d] of diffusersNames(rel)) {
    const t = { key: `${prefix}${mod}.weight` };
    into.set(`lora_unet_${us(d)}`, t);
    into.set(`lycoris_${us(d)}`, t);
    const processor = d.replace(/\.to_/g, '.processor.to_').replace(/\.to_out\.0$/, '.to_out');
    for (const p of ['', 'unet.']) {
      into.set(p + processor, t);
      // PEFT / newer diffusers name the attention projections without `.processor`.
      into.set(p + d, t);
    }
  }
  return into;
}

export type ClipRole = 'l' | 'h' | 'g';
export interface ClipTower { prefix: string; role: ClipRole }

const HF_MODULES = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.out_proj', 'mlp.fc1', 'mlp.fc2'] as const;

/**
 * Names a LoRA may use for text-encoder layers. SD1 (l) and SD2 (h) answer to `lora_te_`, `lora_te1_` and
 * `text_encoder.`; with both l and g present (SDXL) l also takes `lora_te1_`, g takes `lora_te2_` and
 * `text_encoder_2.`; a lone g (SDXL refiner) is `lora_te_` / `text_encoder.`.
 */
export function clipKeyMap(file: WeightSource, towers: readonly ClipTower[], into: KeyMap = new Map(), roles: readonly ClipRole[] = towers.map((t) => t.role)): KeyMap {
  // SDXL's towers may come from two files (DualCLIPLoader): naming depends on every role of the CLIP.
  const hasL = roles.includes('l');
  for (const tower of towers) {
    const spec = tower_(file, tower.prefix);
    const kohya = tower.role !== 'g' ? ['lora_te_', 'lora_te1_'] : hasL ? ['lora_te2_'] : ['lora_te_', 'lora_prior_te_'];
    const diffusers = tower.role === 'g' && hasL ? 'text_encoder_2.' : 'text_encoder.';
    const generic = `text_encoders.clip_${tower.role}.transformer.`;
    for (let i = 0; i < spec.layers; i++) {
      // layerKeys reads only layout and prefix.
      const lk = layerKeys(spec as ClipSpec, i);
      for (const m of HF_MODULES) {
        const target = clipTarget(lk, m, spec.width);
        const hf = `text_model.encoder.layers.${i}.${m}`;
        for (const p of kohya) into.set(`${p}${us(hf)}`, target);
        into.set(`${diffusers}${hf}`, target);
        into.set(`${generic}${hf}`, target);
      }
    }
  }
  return into;
}

function clipTarget(lk: ReturnType<typeof layerKeys>, m: (typeof HF_MODULES)[number], width: number): PatchTarget {
  if (m === 'mlp.fc1') return { key: `${lk.fc1}.weight` };
  if (m === 'mlp.fc2') return { key: `${lk.fc2}.weight` };
  if (m === 'self_attn.out_proj') return { key: `${lk.out}.weight` };
  const which = m.slice('self_attn.'.length, 'self_attn.'.length + 1) as 'q' | 'k' | 'v';
  if ('fused' in lk.qkv) {
    const i = { q: 0, k: 1, v: 2 }[which];
    return { key: `${lk.qkv.fused}_weight`, rows: [i * width, (i + 1) * width] };
  }
  return { key: `${lk.qkv[which]}.weight` };
}

/** Layout, width and depth of a text tower: all the key map needs (clipSpec wants more than LoRA does). */
function tower_(file: WeightSource, prefix: string): Pick<ClipSpec, 'prefix' | 'layout' | 'width' | 'layers'> {
  const hf = file.has(`${prefix}.embeddings.token_embedding.weight`);
  if (!hf && !file.has(`${prefix}.token_embedding.weight`)) {
    throw new WeftError(`${file.path}: no CLIP text model under "${prefix}" to apply a LoRA to`, { file: file.path, input: prefix, type: 'model_load_error' });
  }
  const spec = { prefix, layout: hf ? 'hf' : 'openclip', width: 0, layers: 0 } as const;
  const width = file.get(hf ? `${prefix}.embeddings.token_embedding.weight` : `${prefix}.token_embedding.weight`).shape[1]!;
  let layers = 0;
  while (file.has(`${layerKeys(spec as unknown as ClipSpec, layers).ln1}.weight`)) layers++;
  return { ...spec, width, layers };
}

/**
 * Names a LoRA may use for a T5 encoder under `prefix` inside a FLUX CLIP (clip_l + t5xxl). ComfyUI numbers
 * T5 after the CLIP towers: with clip_l present it answers to both lora_te2_ (OneTrainer) and lora_te3_
 * (kohya sd-scripts), plus the generic text_encoders.t5xxl.transformer.* names.
 */
export function t5KeyMap(file: WeightSource, prefix: string, into: KeyMap = new Map()): KeyMap {
  for (const k of file.keys()) {
    if (!k.startsWith(prefix) || !k.endsWith('.weight')) continue;
    const rel = k.slice(prefix.length, -'.weight'.length);
    const t = { key: k };
    for (const name of [`lora_te2_${us(rel)}`, `lora_te3_${us(rel)}`, `text_encoders.t5xxl.transformer.${rel}`, `text_encoders.transformer.${rel}`]) into.set(name, t);
  }
  return into;
}
