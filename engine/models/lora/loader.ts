/**
 * What LoraLoader / LoraLoaderModelOnly do (ComfyUI's load_lora_for_models): clone MODEL and CLIP with the
 * LoRA added as a patch, and report the LoRA keys that matched neither (ComfyUI's "lora key not loaded").
 * Matching happens here, at load time, so a wrong LoRA is reported before any sampling; merging happens
 * when a session is built.
 */
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import { isGgufFile } from '../../io/gguf.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { isFluxClip } from '../flux-sd/clip.ts';
import type { ClipModel, ClipRole } from '../clip/model.ts';
import type { SdModel } from '../sd/model.ts';
import { unmatchedKeys, type LoraScope } from './index.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { loraClipPatch, loraModelPatch } from './patches.ts';

export interface LoadLoraOptions {
  /** Folder for side files (the node passes `<modelCacheDir>/lora`). */
  cacheDir: string;
  warn?: (message: string) => void;
}

/** GGUF weights stay packed as 8/4-bit blocks (MatMulNBits codes); merging would mean dequantising the model. */
export function loraOnGgufError(file: string): WeftError {
  return new WeftError(`model: LoRA on a GGUF model (${path.basename(file)}) is not supported yet: its weights stay packed as 8/4-bit blocks, which a LoRA cannot be merged into without dequantising them; use the safetensors model`, { input: 'model', file, type: 'not_implemented' });
}

/** Shown in full up to this many keys, then counted (a wrong-architecture LoRA has hundreds). */
const LIST_MAX = 12;

export function loadLoraForModels(model: SdModel | null, clip: ClipModel | null, loraPath: string, strengthModel: number, strengthClip: number, o: LoadLoraOptions): { model: SdModel | null; clip: ClipModel | null } {
  const files: SafetensorsFile[] = [];
  const open = (p: string): WeightSource => { const f = SafetensorsFile.open(p); files.push(f); return f; };
  try {
    const scopes: Array<{ base: WeightSource; scope: LoraScope }> = [];
    if (model && isGgufFile(model.source.path)) throw loraOnGgufError(model.source.path);
    if (model) scopes.push({ base: open(model.source.path), scope: { kind: 'unet', prefix: model.source.prefix } });
    if (clip) {
      const roles = clip.roles() as ClipRole[];
      for (const r of roles) {
        const ref = clip.encoders[r]!;
        scopes.push({ base: open(ref.path), scope: { kind: 'clip', towers: [{ prefix: ref.prefix, role: r }], roles } });
      }
      // A FLUX CLIP's T5 takes the lora_te2_/lora_te3_ keys (see t5KeyMap).
      if (isFluxClip(clip)) scopes.push({ base: open(clip.t5.path), scope: { kind: 't5', prefix: clip.t5.prefix } });
    }
    const missed = unmatchedKeys(loraPath, scopes);
    if (missed.length > 0 && o.warn) {
      const shown = missed.slice(0, LIST_MAX).join(', ');
      o.warn(`${path.basename(loraPath)}: lora key not loaded: ${shown}${missed.length > LIST_MAX ? ` … and ${missed.length - LIST_MAX} more (${missed.length} keys matched nothing in this model)` : ''}`);
    }
  } finally {
    for (const f of files) f.close();
  }
  let m = model;
  if (model && strengthModel !== 0) {
    m = model.clone();
    m.patches.push(loraModelPatch({ path: loraPath, strength: strengthModel }, o.cacheDir));
  }
  const c = clip && strengthClip !== 0 ? clip.withPatches([loraClipPatch({ path: loraPath, strength: strengthClip }, o.cacheDir)]) : clip;
  return { model: m, clip: c };
}
