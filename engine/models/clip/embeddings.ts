/**
 * Textual-inversion embeddings for `embedding:name` in prompts (ComfyUI sd1_clip.load_embed): looked up in
 * the `embeddings` models folder by exact name, then with .safetensors/.pt/.bin appended (sub-folders
 * allowed); read through the safetensors reader or the restricted PyTorch reader, never by unpickling code.
 *
 * Formats: A1111 `string_to_param` (`*` key; flattened to `string_to_param.*`), `emb_params` (A1111
 * safetensors), SDXL files with `clip_l`/`clip_g` (one per encoder; `clip_h` for SD2 like ComfyUI's key),
 * and single-tensor files. Any problem is returned as an error string: the prompt warns and goes on.
 */
import { statSync } from 'node:fs';
import { errorMessage } from '../../errors.ts';
import type { Folders } from '../../graph/context.ts';
import { openModelFile } from '../../io/model-file.ts';
import type { EmbeddingLookup } from './prompt.ts';

/** Which vectors of an SDXL-style file an encoder wants (ComfyUI's embedding_key). */
export type EmbeddingKey = 'clip_l' | 'clip_g' | 'clip_h';

export interface EmbeddingTensor { shape: number[]; data: Float32Array }

export const EMBEDDING_EXTENSIONS = ['.safetensors', '.pt', '.bin'] as const;

/** Reads every tensor of an embedding file (they are a few KB). */
export function readEmbeddingFile(path: string): Map<string, EmbeddingTensor> {
  const f = openModelFile(path);
  try {
    const out = new Map<string, EmbeddingTensor>();
    for (const [name, t] of f.tensors) {
      if (['I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'].includes(t.dtype)) continue;
      out.set(name, { shape: [...t.shape], data: f.readFloat32(name) });
    }
    return out;
  } finally {
    f.close();
  }
}

/** The vectors one encoder of width `width` takes from an embedding's tensors, as [count, width] rows. */
export function selectEmbeddingVectors(tensors: ReadonlyMap<string, EmbeddingTensor>, width: number, key: EmbeddingKey): { vectors: Float32Array; count: number } | { error: string } {
  const names = [...tensors.keys()];
  if (names.length === 0) return { error: 'the file holds no float tensors' };
  const pick =
    names.find((n) => n.startsWith('string_to_param.')) ??
    (tensors.has('emb_params') ? 'emb_params' : undefined) ??
    (tensors.has(key) ? key : undefined);
  let name = pick;
  if (!name) {
    const perEncoder = names.filter((n) => /^clip_[lgh]$/.test(n));
    if (perEncoder.length > 0) return { error: `it has vectors for ${perEncoder.join('/')} but none for ${key}` };
    name = names.length === 1 ? names[0]! : (names.find((n) => tensors.get(n)!.shape.at(-1) === width) ?? names[0]!);
  }
  const t = tensors.get(name)!;
  const w = t.shape.at(-1) ?? t.data.length;
  if (w !== width) return { error: `its vectors ("${name}", shape [${t.shape.join(', ')}]) are ${w} wide, the text encoder (${key}) is ${width} wide — it was made for another model` };
  if (t.data.length === 0) return { error: `tensor "${name}" is empty` };
  return { vectors: t.data, count: t.data.length / width };
}

interface Cached { mtimeMs: number; size: number; tensors: Map<string, EmbeddingTensor> }

/** Resolves and caches embeddings from a models folder; one library serves every encoder. */
export class EmbeddingLibrary {
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly folders: Pick<Folders, 'listModels' | 'resolveModel'>) {}

  /** Absolute path of `name` in the embeddings folder, or null. */
  find(name: string): string | null {
    const clean = name.replace(/\\/g, '/').trim();
    if (clean === '') return null;
    const listed = new Set(this.folders.listModels('embeddings'));
    for (const cand of [clean, ...EMBEDDING_EXTENSIONS.map((e) => clean + e)]) {
      if (!listed.has(cand)) continue;
      try {
        return this.folders.resolveModel('embeddings', cand);
      } catch {
        return null;
      }
    }
    return null;
  }

  /** All tensors of an embedding, or an error message. */
  load(name: string): { path: string; tensors: Map<string, EmbeddingTensor> } | { error: string } {
    const path = this.find(name);
    if (!path) return { error: `no file "${name}" (or with ${EMBEDDING_EXTENSIONS.join('/')}) in the embeddings folder` };
    try {
      const st = statSync(path);
      const hit = this.cache.get(path);
      if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return { path, tensors: hit.tensors };
      const tensors = readEmbeddingFile(path);
      this.cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, tensors });
      return { path, tensors };
    } catch (e) {
      return { error: `cannot read ${path}: ${errorMessage(e)}` };
    }
  }

  /** The prompt tokenizer's view for one encoder. */
  lookup(width: number, key: EmbeddingKey): EmbeddingLookup {
    return (name) => {
      const r = this.load(name);
      if ('error' in r) return r;
      const v = selectEmbeddingVectors(r.tensors, width, key);
      return 'error' in v ? { error: `${r.path}: ${v.error}` } : v;
    };
  }
}
