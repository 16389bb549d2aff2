/**
 * LoRA: key mapping (kohya, diffusers, PEFT, LoCon; SD1/SD2/SDXL UNet, FLUX DiT, CLIP and T5 text encoders) and application.
 *
 * DESIGN — merged tensors in a cache side file + an overlay weight source (option a), not low-rank branches:
 * - Per-step cost is zero: the graph is the base graph, byte for byte the same ops, reading ~200–700 patched
 *   tensors from the side file and everything else from the user's checkpoint. In-graph `W·x + s·B(A·x)`
 *   branches would add 2 matmuls (a conv for LoCon) per patched layer to every step on CPU, forever.
 * - No LoRA, or strength 0, is exactly the base graph: zero-strength LoRAs are dropped before anything is
 *   built, so no side file and no overlay exist (not "nearly the same numbers": the same graph).
 * - fp16 bases: the merge runs in float32 (ComfyUI's order: product rounded to f32, scaled, added) and is
 *   stored back in the base dtype, as ComfyUI does, so ORT's Cast sees the same weights ComfyUI computes with.
 * - Memory and disk: the side file holds only the patched tensors (SD1.5 fp16: tens to a few hundred MB),
 *   merged and written one tensor at a time; ORT maps it like the checkpoint. Old side files are pruned.
 * - A strength change costs one re-merge of the patched tensors and a new session (the session key changes
 *   anyway); going back to an earlier strength reuses its side file (named by a hash of base identity,
 *   scope, LoRA identities and strengths). Stacked LoRAs are merged into one side file in a canonical order,
 *   so A+B and B+A are the same bytes.
 * Builders never see LoRA: they take a `WeightSource` (engine/onnx/weights.ts) and ask where each key lives.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { fileIdentity, materialise, PatchedSource, sideFileName, type SideFile } from './cache.ts';
import { matchLora, readLora, type Contribution } from './file.ts';
import { clipKeyMap, t5KeyMap, unetKeyMap, type ClipRole, type ClipTower, type KeyMap } from './keys.ts';
import type { Weighted } from './merge.ts';

export { PatchedSource, fileIdentity, KEEP_SIDE_FILES, type SideFile } from './cache.ts';
export { readLora, matchLora, type LoraFile, type LoraModule, type Contribution, type Matched } from './file.ts';
export { unetKeyMap, clipKeyMap, t5KeyMap, type ClipTower, type ClipRole, type KeyMap, type PatchTarget } from './keys.ts';
export { fluxKeyMap, fluxDiffusersTargets, isFluxLayout } from './flux-keys.ts';
export { diffusersNames } from './diffusers.ts';

export interface LoraUse {
  path: string;
  strength: number;
}

/**
 * What a LoRA patches: a diffusion model (UNet or FLUX DiT) under a key prefix, text towers of one file
 * (roles = every role of the CLIP), or the T5 of a FLUX CLIP.
 */
export type LoraScope =
  | { kind: 'unet'; prefix: string }
  | { kind: 'clip'; towers: readonly ClipTower[]; roles?: readonly ClipRole[] }
  | { kind: 't5'; prefix: string };

export interface Applied {
  /** The base itself when nothing applies, else an overlay reading patched keys from the side file. */
  source: WeightSource;
  side?: SideFile;
  /** LoRA tensor keys that matched nothing in this scope. */
  notLoaded: string[];
  /** Number of checkpoint tensors patched. */
  patched: number;
}

export function keyMapFor(base: WeightSource, scope: LoraScope): KeyMap {
  if (scope.kind === 't5') return t5KeyMap(base, scope.prefix);
  return scope.kind === 'unet' ? unetKeyMap(base, scope.prefix) : clipKeyMap(base, scope.towers, new Map(), scope.roles);
}

function scopeName(scope: LoraScope): string {
  if (scope.kind !== 'clip') return `${scope.kind}:${scope.prefix}`;
  return `clip:${scope.towers.map((t) => `${t.role}=${t.prefix}`).join(',')}:${(scope.roles ?? []).join('')}`;
}

/** Order within one tensor: by LoRA identity, then strength, then module, so stacking order never matters. */
function canonical(parts: Weighted[], ids: Map<string, string>): Weighted[] {
  const k = (w: Weighted) => `${ids.get(w.c.lora.path)}\0${w.strength}\0${w.c.module.name}\0${w.c.kind}`;
  return parts.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

/**
 * Applies LoRAs (summed) to `base` within `scope`, writing or reusing the side file in `cacheDir`.
 * Zero strengths are dropped first: with nothing left the base itself comes back.
 */
export function applyLoras(base: WeightSource, scope: LoraScope, loras: readonly LoraUse[], opts: { cacheDir: string }): Applied {
  const live = loras.filter((l) => l.strength !== 0);
  if (live.length === 0) return { source: base, notLoaded: [], patched: 0 };
  if (base.locate) {
    throw new WeftError(`${base.path}: LoRAs apply to a plain checkpoint; stack them in one applyLoras call instead of applying onto an overlay`, { file: base.path });
  }
  const map = keyMapFor(base, scope);
  const parts = new Map<string, Weighted[]>();
  const notLoaded: string[] = [];
  const ids = new Map<string, string>();
  const opened: SafetensorsFile[] = [];
  try {
    for (const use of live) {
      const lora = readLora(use.path);
      opened.push(lora.file);
      ids.set(use.path, fileIdentity(use.path));
      const m = matchLora(lora, map);
      notLoaded.push(...m.notLoaded);
      for (const c of m.contributions as Contribution[]) {
        let list = parts.get(c.target.key);
        if (!list) parts.set(c.target.key, (list = []));
        list.push({ c, strength: use.strength });
      }
    }
    if (parts.size === 0) return { source: base, notLoaded, patched: 0 };
    for (const list of parts.values()) canonical(list, ids);
    const name = sideFileName(base, scopeName(scope), live);
    const side = materialise(base, parts, `${opts.cacheDir.replace(/[\\/]+$/, '')}/${name}`, {
      base: base.path, scope: scopeName(scope), loras: JSON.stringify(live),
    });
    return { source: new PatchedSource(base, side.path), side, notLoaded, patched: parts.size };
  } finally {
    for (const f of opened) f.close();
  }
}

/** LoRA keys matched by none of the given scopes (ComfyUI's "lora key not loaded" list), without merging. */
export function unmatchedKeys(loraPath: string, scopes: ReadonlyArray<{ base: WeightSource; scope: LoraScope }>): string[] {
  const lora = readLora(loraPath);
  try {
    const map: KeyMap = new Map();
    for (const { base, scope } of scopes) for (const [k, v] of keyMapFor(base, scope)) map.set(k, v);
    return matchLora(lora, map).notLoaded;
  } finally {
    lora.file.close();
  }
}
