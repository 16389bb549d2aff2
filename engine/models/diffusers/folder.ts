/**
 * A diffusers pipeline folder (model_index.json, unet/, vae/, text_encoder/, text_encoder_2/, scheduler/)
 * as {model, clip, vae}: ComfyUI's DiffusersLoader, read in place. The UNet and VAE are renamed views of
 * the component files (source.ts); the text encoders are HF CLIPTextModel files, which the CLIP loader
 * reads as they are. Architecture comes from the UNet's tensors (the same detection as single files), head
 * split from unet/config.json, prediction type from scheduler/scheduler_config.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import type { Folders } from '../../graph/context.ts';
import { safetensorsPathFor } from '../../io/model-file.ts';
import { EmbeddingLibrary } from '../clip/embeddings.ts';
import { ClipModel, sharedEncoder, type ClipEncoderRef, type ClipFamily, type ClipRole } from '../clip/model.ts';
import { CLIP_PRESETS, type ClipOutputOptions } from '../clip/encode.ts';
import type { ClipSpecOverrides } from '../clip/spec.ts';
import { detectModel, type DetectedModel, type Prediction, type TextEncoderConfig } from '../detect.ts';
import { SdModel, type UNetSource } from '../sd/model.ts';
import { SdVae } from '../sd/vae.ts';
import { headsFromDetected, type HeadOptions } from '../unet/config.ts';
import { diffusersUNetSource, diffusersVaeSource, type ClosableSource } from './source.ts';

/** ComfyUI's preference order (comfy/diffusers_load.py): fp16 variants first, safetensors before pickles. */
export const WEIGHT_NAMES = {
  model: ['diffusion_pytorch_model.fp16.safetensors', 'diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.fp16.bin', 'diffusion_pytorch_model.bin'],
  textEncoder: ['model.fp16.safetensors', 'model.safetensors', 'pytorch_model.fp16.bin', 'pytorch_model.bin'],
} as const;

export interface DiffusersOptions {
  /** Where .bin components are converted to safetensors once. */
  cacheDir: string;
  /** For the embeddings folder of the CLIP. */
  folders?: Pick<Folders, 'listModels' | 'resolveModel'>;
  withClip?: boolean;
  withVae?: boolean;
  input?: string;
  warn?: (message: string) => void;
}

export interface DiffusersFiles { unet: string; vae?: string; textEncoder?: string; textEncoder2?: string }

export interface LoadedDiffusers {
  model: SdModel;
  clip: ClipModel | null;
  vae: SdVae | null;
  detected: DetectedModel;
  files: DiffusersFiles;
}

/** The opener a diffusers MODEL carries: sessions build the UNet from this renamed view, not from `path`. */
export type DiffusersUNetSource = UNetSource & { open: () => ClosableSource };

function readJson(file: string, input: string): Record<string, any> {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    throw new WeftError(`${input}: ${file} is missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { input, file, type: 'model_load_error' });
  }
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch { /* reported below */ }
  throw new WeftError(`${input}: ${file} is not a JSON object`, { input, file, type: 'model_load_error' });
}

/** model_index.json lists components as [library, class]; [null, null] (SDXL refiner's text_encoder) = absent. */
function declared(index: Record<string, any>, name: string): boolean {
  const v = index[name];
  return Array.isArray(v) && v[0] !== null && v[1] !== null;
}

/** The component's weights file, preferred name first; an error naming the first expected file when none exists. */
export function componentFile(dir: string, component: string, names: readonly string[], input = 'model_path'): string {
  for (const n of names) {
    const p = path.join(dir, component, n);
    if (existsSync(p)) return p;
  }
  const want = path.join(dir, component, names[1] ?? names[0]!);
  throw new WeftError(`${input}: ${want} is missing (the folder's ${component} needs one of ${names.join(', ')})`, { input, file: want, type: 'model_load_error' });
}

/** Head split from unet/config.json: an int is a head count (SD1's "attention_head_dim" is one); lists become channels per head. */
export function headsFromUNetConfig(cfg: Record<string, any>): HeadOptions {
  const heads = cfg.num_attention_heads ?? cfg.attention_head_dim;
  if (typeof heads === 'number' && heads > 0) return { numHeads: heads };
  const widths = cfg.block_out_channels;
  if (Array.isArray(heads) && Array.isArray(widths) && heads.length === widths.length && heads.length > 0) {
    const per = widths.map((w: number, i: number) => w / heads[i]);
    if (per.every((c: number) => Number.isInteger(c) && c === per[0])) return { headChannels: per[0] };
    if (heads.every((h: number) => h === heads[0])) return { numHeads: heads[0] };
  }
  return {};
}

function predictionOf(cfg: Record<string, any>, file: string, input: string): Prediction {
  const p = cfg.prediction_type ?? 'epsilon';
  if (p === 'epsilon') return 'eps';
  if (p === 'v_prediction') return 'v';
  throw new WeftError(`${input}: ${file}: prediction_type "${p}" is not supported (epsilon, v_prediction)`, { input, file, type: 'model_load_error' });
}

const SUPPORTED = new Set(['sd1', 'sd2', 'sdxl', 'sdxl_refiner']);

function detectUNetFolder(unetFile: string, input: string): { d: DetectedModel; unmapped: string[] } {
  const src = diffusersUNetSource(unetFile);
  try {
    return { d: detectModel(src), unmapped: src.unmapped };
  } catch (e) {
    if (e instanceof WeftError) throw new WeftError(`${input}: ${e.message}`, { input, file: unetFile, type: e.type });
    throw e;
  } finally {
    src.close();
  }
}

/** Loads a diffusers folder (SD1, SD2, SDXL, SDXL refiner) without converting or copying its weights. */
export function loadDiffusersFolder(dir: string, o: DiffusersOptions): LoadedDiffusers {
  const input = o.input ?? 'model_path';
  const index = readJson(path.join(dir, 'model_index.json'), input);
  const weights = (component: string, names: readonly string[]) => safetensorsPathFor(componentFile(dir, component, names, input), o.cacheDir);
  const files: DiffusersFiles = { unet: weights('unet', WEIGHT_NAMES.model) };
  const unetCfg = readJson(path.join(dir, 'unet', 'config.json'), input);
  const schedFile = path.join(dir, 'scheduler', 'scheduler_config.json');
  const prediction = existsSync(schedFile) ? predictionOf(readJson(schedFile, input), schedFile, input) : null;

  const { d, unmapped } = detectUNetFolder(files.unet, input);
  if (!d.unet || !SUPPORTED.has(d.family)) {
    throw new WeftError(`${input}: ${files.unet}: no SD1/SD2/SDXL UNet found (detected ${d.kind}, family ${d.family})`, { input, file: files.unet, type: 'model_load_error' });
  }
  if (unmapped.length > 0) o.warn?.(`${path.basename(dir)}: ${unmapped.length} UNet tensor(s) have no LDM counterpart and are ignored: ${unmapped.slice(0, 8).join(', ')}`);
  const notes = [...d.notes, `diffusers folder ${dir}`, prediction ? `prediction_type from ${schedFile}` : 'no scheduler config: prediction from the UNet'];
  const detected: DetectedModel = { ...d, path: dir, kind: 'checkpoint', prediction: prediction ?? d.prediction, notes };

  const configured = headsFromUNetConfig(unetCfg);
  const heads = configured.numHeads || configured.headChannels ? configured : headsFromDetected(d.unet);
  // The detected config states the split the graph will use (config.json's, not the family default).
  detected.unet = { ...d.unet, ...(heads.headChannels ? { headChannels: heads.headChannels, numHeads: -1 } : heads.numHeads ? { numHeads: heads.numHeads, headChannels: -1 } : {}) };
  const unetFile = files.unet;
  const source: DiffusersUNetSource = { path: unetFile, prefix: 'model.diffusion_model.', heads, open: () => diffusersUNetSource(unetFile) };
  const model = new SdModel({ source, family: d.family, detected });

  let clip: ClipModel | null = null;
  if (o.withClip !== false) {
    const te1 = declared(index, 'text_encoder') ? weights('text_encoder', WEIGHT_NAMES.textEncoder) : undefined;
    const te2 = declared(index, 'text_encoder_2') ? weights('text_encoder_2', WEIGHT_NAMES.textEncoder) : undefined;
    Object.assign(files, te1 ? { textEncoder: te1 } : {}, te2 ? { textEncoder2: te2 } : {});
    const r = clipFor(dir, d.family as ClipFamily, te1, te2, o, input);
    clip = r.clip;
    detected.textEncoders = r.configs;
  }
  let vae: SdVae | null = null;
  if (o.withVae !== false && declared(index, 'vae')) {
    files.vae = weights('vae', WEIGHT_NAMES.model);
    vae = vaeFor(files.vae, input);
    const v = diffusersVaeSource(files.vae);
    try { detected.vae = detectModel(v).vae; } finally { v.close(); }
  }
  return { model, clip, vae, detected, files };
}

type VaeFactory = { fromSource?: (open: () => ClosableSource, prefix: string) => SdVae };

/** The VAE over the renamed view; needs SdVae.fromSource (engine/models/sd/vae.ts) to build from a source. */
function vaeFor(file: string, input: string): SdVae {
  const fromSource = (SdVae as unknown as VaeFactory).fromSource;
  if (!fromSource) {
    throw new WeftError(`${input}: ${file}: this build cannot run a diffusers VAE yet (SdVae.fromSource is missing); load a single-file VAE with VAELoader`, { input, file, type: 'model_load_error' });
  }
  const vae = fromSource.call(SdVae, () => diffusersVaeSource(file), '');
  if (vae.latentChannels !== 4) throw new WeftError(`${input}: ${file} is a ${vae.latentChannels}-channel VAE; only 4-channel SD/SDXL VAEs are supported here`, { input, file });
  return vae;
}

const ROLES: Record<ClipFamily, { te1?: ClipRole; te2?: ClipRole }> = {
  sd1: { te1: 'l' }, sd2: { te1: 'h' }, sdxl: { te1: 'l', te2: 'g' }, sdxl_refiner: { te2: 'g' },
};
const PRESETS: Record<ClipRole, Partial<Record<ClipFamily, ClipOutputOptions>>> = {
  l: { sd1: CLIP_PRESETS.sd1, sdxl: CLIP_PRESETS.sdxl_l }, h: { sd2: CLIP_PRESETS.sd2 }, g: { sdxl: CLIP_PRESETS.sdxl_g, sdxl_refiner: CLIP_PRESETS.sdxl_g },
};

/** Heads and activation from the text encoder's config.json (transformers' CLIPTextConfig). */
function clipOverrides(cfg: Record<string, any>, role: ClipRole): ClipSpecOverrides {
  const o: ClipSpecOverrides = { activation: role === 'l' ? 'quick_gelu' : 'gelu' };
  if (cfg.hidden_act === 'gelu' || cfg.hidden_act === 'quick_gelu') o.activation = cfg.hidden_act;
  if (Number.isInteger(cfg.num_attention_heads) && cfg.num_attention_heads > 0) o.heads = cfg.num_attention_heads;
  return o;
}

function clipFor(dir: string, family: ClipFamily, te1: string | undefined, te2: string | undefined, o: DiffusersOptions, input: string): { clip: ClipModel; configs: TextEncoderConfig[] } {
  const want = ROLES[family];
  const encoders: Partial<Record<ClipRole, ClipEncoderRef>> = {};
  const configs: TextEncoderConfig[] = [];
  for (const [slot, file, role] of [['text_encoder', te1, want.te1], ['text_encoder_2', te2, want.te2]] as const) {
    if (!role) continue;
    if (!file) throw new WeftError(`${input}: ${path.join(dir, slot)} is missing (a ${family} folder needs it; model_index.json does not list it)`, { input, file: path.join(dir, slot), type: 'model_load_error' });
    const cfgFile = path.join(dir, slot, 'config.json');
    const cfg = existsSync(cfgFile) ? readJson(cfgFile, input) : {};
    const encoder = sharedEncoder(file, 'text_model', clipOverrides(cfg, role));
    const s = encoder.spec;
    let preset = PRESETS[role][family]!;
    // diffusers' SD2 text encoder drops OpenCLIP-H's last layer (23 of 24): ComfyUI's default
    // penultimate layer is then this file's last one. Without text_projection the pooled output is
    // unprojected, as ComfyUI's identity-initialised projection leaves it.
    if (role === 'h' && s.layers === 23) preset = { ...preset, layer: -1 };
    if (preset.project && !s.projection) preset = { ...preset, project: false };
    encoders[role] = { role, path: file, prefix: 'text_model', encoder, preset };
    configs.push({
      layout: 'clip', role, prefix: 'text_model.', width: s.width, layers: s.layers, heads: s.heads, intermediate: s.width * 4,
      vocabSize: s.vocab, maxPositions: s.positions, act: s.activation === 'gelu' ? 'gelu' : 'quick_gelu', ...(s.projection ? { projectionDim: s.projection.dim } : {}),
    });
  }
  const clip = new ClipModel(family, encoders, o.folders ? { embeddings: new EmbeddingLibrary(o.folders) } : {});
  return { clip, configs };
}
