/**
 * FLUX files → socket values: DualCLIPLoader type flux (clip_l + t5xxl in either order), the all-in-one
 * checkpoint layout ComfyUI saves (model.diffusion_model.* + text_encoders.clip_l.transformer.* +
 * text_encoders.t5xxl.transformer.* + vae.*), and the refusal CLIPLoader gives a T5 file on its own.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { EmbeddingLibrary } from '../clip/embeddings.ts';
import { CLIP_PRESETS } from '../clip/encode.ts';
import { probeStandalone, sharedEncoder, standaloneEncoder } from '../clip/model.ts';
import type { DetectedModel } from '../detect.ts';
import { findT5Prefix } from '../t5/spec.ts';
import type { SdModel } from '../sd/model.ts';
import { SdVae } from '../sd/vae.ts';
import { FluxClip, sharedT5, t5TokenizerDirs, type T5QuantOptions } from './clip.ts';
import { fluxModelFromFile } from './model.ts';

/** T5QuantOptions: 8-bit T5 for fp8 files and, on the CPU, for float32 sizes past a threshold (clip.ts). */
export interface FluxLoadOptions extends T5QuantOptions {
  /** The host's folders (modelRoots is used, when present, to find the T5 tokenizer). */
  folders?: object;
  embeddings?: EmbeddingLibrary | null;
  input?: string;
}

function t5PrefixOf(file: string): string | null {
  const f = SafetensorsFile.open(file);
  try {
    return findT5Prefix(f);
  } finally {
    f.close();
  }
}

/** True when `file` holds a T5 encoder (standalone t5xxl_*.safetensors or a checkpoint's text_encoders.t5xxl). */
export function isT5File(file: string): boolean {
  return t5PrefixOf(file) !== null;
}

/** DualCLIPLoader type flux: one CLIP-L and one T5-XXL file, in either order. */
export function loadFluxClip(files: readonly string[], o: FluxLoadOptions = {}): FluxClip {
  const input = o.input ?? 'clip_name1';
  if (files.length !== 2) throw new WeftError(`${input}: type flux takes two text encoders (clip_l and t5xxl), got ${files.length}`, { input: 'type' });
  const prefixes = files.map(t5PrefixOf);
  const t5At = prefixes.findIndex((p) => p !== null);
  const clipAt = prefixes.findIndex((p) => p === null);
  if (t5At < 0 || clipAt < 0) {
    const both = t5At < 0 ? 'neither file is a T5 encoder' : 'both files are T5 encoders';
    throw new WeftError(`type flux needs a clip_l and a t5xxl text encoder: ${both} (${files.join(', ')})`, { input: 'type', type: 'model_load_error' });
  }
  const probe = probeStandalone(files[clipAt]!, 'l');
  const clipL = { ...standaloneEncoder(probe, 'l'), preset: CLIP_PRESETS.sd1 };
  const t5Path = files[t5At]!;
  return new FluxClip(clipL, sharedT5(t5Path, prefixes[t5At]!, t5TokenizerDirs(o.folders, t5Path), o), { embeddings: o.embeddings ?? null });
}

/** CLIPLoader with a T5 file alone: ComfyUI's sd3 / pixart / chroma / … types, none of which Weft runs yet. */
export function refuseLoneT5(file: string, type: string): never {
  throw new WeftError(
    `clip_name: ${file} is a T5 text encoder; CLIPLoader type "${type}" with T5 alone serves models Weft does not run yet (SD3, PixArt, Chroma, …). For FLUX load clip_l and t5xxl together with DualCLIPLoader, type flux.`,
    { input: 'type', file, type: 'not_implemented' },
  );
}

export interface LoadedFluxCheckpoint { model: SdModel; clip: FluxClip | null; vae: SdVae | null }

const CKPT_CLIP_L = 'text_encoders.clip_l.transformer.text_model';

/** A single-file FLUX checkpoint: the DiT, plus its CLIP-L + T5 and AE when the file carries them. */
export function loadFluxCheckpoint(file: string, d: DetectedModel, o: FluxLoadOptions & { withClip?: boolean; withVae?: boolean } = {}): LoadedFluxCheckpoint {
  const input = o.input ?? 'ckpt_name';
  const model = fluxModelFromFile(file, d, input);
  const f = SafetensorsFile.open(file);
  let hasL: boolean, t5: string | null, vaePrefix: string | undefined;
  try {
    hasL = f.has(`${CKPT_CLIP_L}.embeddings.token_embedding.weight`);
    t5 = findT5Prefix(f);
    vaePrefix = ['vae', 'first_stage_model'].find((p) => f.has(`${p}.decoder.conv_in.weight`));
  } finally {
    f.close();
  }
  let clip: FluxClip | null = null;
  if (o.withClip !== false && hasL && t5 !== null) {
    const clipL = { role: 'l' as const, path: file, prefix: CKPT_CLIP_L, preset: CLIP_PRESETS.sd1, encoder: sharedEncoder(file, CKPT_CLIP_L, { activation: 'quick_gelu' }) };
    clip = new FluxClip(clipL, sharedT5(file, t5, t5TokenizerDirs(o.folders, file), o), { embeddings: o.embeddings ?? null });
  }
  const vae = o.withVae === false || !vaePrefix ? null : SdVae.open(file, vaePrefix);
  return { model, clip, vae };
}
