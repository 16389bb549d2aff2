/**
 * Text-encoder sessions shared by every ClipModel (and its clones): one per file + prefix + overrides, and
 * standalone text-encoder files probed for their layout (CLIPLoader, DualCLIPLoader, FLUX's CLIP-L).
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { SessionOptions } from '../../onnx/index.ts';
import type { Activation } from '../layers/index.ts';
import { ClipTextEncoder } from './encode.ts';
import type { ClipEncoderRef, ClipRole } from './model.ts';
import { clipSpec, type ClipSpecOverrides } from './spec.ts';

const files = new Map<string, SafetensorsFile>();

/** The open weight file at `path`, shared by the encoders and probes that read it. */
export function sharedFile(path: string): SafetensorsFile {
  let f = files.get(path);
  if (!f) { f = SafetensorsFile.open(path); files.set(path, f); }
  return f;
}
const encoders = new Map<string, ClipTextEncoder>();

/** One encoder per (file, prefix, overrides), shared by every ClipModel that uses it. */
export function sharedEncoder(path: string, prefix: string, overrides: ClipSpecOverrides = {}, sessionOpts: SessionOptions = {}): ClipTextEncoder {
  const key = `${path}|${prefix}|${overrides.heads ?? ''}|${overrides.activation ?? ''}`;
  let e = encoders.get(key);
  if (!e) {
    let f = files.get(path);
    if (!f) { f = SafetensorsFile.open(path); files.set(path, f); }
    e = ClipTextEncoder.open(f, prefix, overrides, sessionOpts);
    encoders.set(key, e);
  }
  return e;
}

/** Releases the sessions (and closes the files) of the given paths, or of every cached encoder. */
export async function releaseClipEncoders(paths?: readonly string[]): Promise<void> {
  const all = !paths;
  for (const [key, e] of [...encoders]) {
    if (all || paths.includes(e.file.path)) { encoders.delete(key); await e.release(); }
  }
  for (const [p, f] of [...files]) {
    if (all || paths.includes(p)) { files.delete(p); f.close(); }
  }
}

/** Heads and activation the file's own config states (weft_config / oracle_config metadata), if any. */
export function configOverrides(file: SafetensorsFile, section: string): ClipSpecOverrides {
  for (const k of ['weft_config', 'oracle_config']) {
    const raw = file.metadata[k];
    if (!raw) continue;
    try {
      const c = JSON.parse(raw)?.[section];
      const o: ClipSpecOverrides = {};
      if (Number.isInteger(c?.num_attention_heads)) o.heads = c.num_attention_heads;
      if (['gelu', 'quick_gelu'].includes(c?.hidden_act)) o.activation = c.hidden_act as Activation;
      return o;
    } catch { /* advisory metadata */ }
  }
  return {};
}

const STANDALONE_PREFIXES = ['text_model', 'transformer.text_model', 'model', 'cond_stage_model.transformer.text_model', 'cond_stage_model.model'];

export interface StandaloneProbe { path: string; prefix: string; role: ClipRole; width: number }

export function probeStandalone(path: string, role: ClipRole | undefined): StandaloneProbe {
  let f = files.get(path);
  if (!f) { f = SafetensorsFile.open(path); files.set(path, f); }
  const prefix = STANDALONE_PREFIXES.find((p) => f.has(`${p}.embeddings.token_embedding.weight`) || f.has(`${p}.token_embedding.weight`));
  if (!prefix) throw new WeftError(`${path}: not a CLIP text encoder (no token embedding under ${STANDALONE_PREFIXES.join(', ')})`, { file: path, type: 'model_load_error' });
  const s = clipSpec(f, prefix);
  // ComfyUI's detect_te_model: 32+ layers → bigG, 24 → ViT-H, else CLIP-L; widths catch narrower variants.
  const detected: ClipRole = s.layers >= 31 || s.width === 1280 ? 'g' : s.layers >= 23 || s.width === 1024 || s.layout === 'openclip' ? 'h' : 'l';
  return { path, prefix, role: role ?? detected, width: s.width };
}

export function standaloneEncoder(x: StandaloneProbe, role: ClipRole, sessionOpts?: SessionOptions): Omit<ClipEncoderRef, 'preset'> {
  const f = files.get(x.path) ?? SafetensorsFile.open(x.path);
  files.set(x.path, f);
  const cfg = { ...configOverrides(f, 'text'), ...configOverrides(f, role === 'l' ? 'clip_l' : role === 'g' ? 'clip_g' : 'clip') };
  // The HF layout does not say which activation it uses: OpenAI CLIP-L quick_gelu, OpenCLIP towers gelu.
  const overrides: ClipSpecOverrides = { activation: role === 'l' ? 'quick_gelu' : 'gelu', ...cfg };
  return { role, path: x.path, prefix: x.prefix, encoder: sharedEncoder(x.path, x.prefix, overrides, sessionOpts) };
}
