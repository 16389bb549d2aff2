/**
 * LoRA on the MODEL and CLIP socket objects. A model patch adds a `weights` hook to the UNet build options
 * (stacked LoRA patches merge into one list, applied in one side file); a CLIP patch carries the LoRA and
 * strength, and `loraClipEncoder` gives the text encoder over the patched source.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { SessionOptions } from '../../onnx/index.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { ClipTextEncoder } from '../clip/encode.ts';
import type { ClipPatch } from '../clip/model.ts';
import type { WeightPatch } from '../sd/model.ts';
import type { BuildUNetOptions } from '../unet/graph.ts';
import { fileIdentity } from './cache.ts';
import { applyLoras, type LoraUse } from './index.ts';
import type { ClipRole } from './keys.ts';

/** The hook UNet builders call on their weight file (to be added to BuildUNetOptions as `weights`). */
export type WeightsHook = (src: WeightSource) => WeightSource;
export type UNetOptionsWithWeights = BuildUNetOptions & { weights?: WeightsHook };

const hookLoras = new WeakMap<WeightsHook, readonly LoraUse[]>();

/** The hook applying `loras` (summed, order-free) to the UNet under `prefix`. */
export function unetLoraHook(loras: readonly LoraUse[], prefix: string, cacheDir: string): WeightsHook {
  const hook: WeightsHook = (src) => applyLoras(src, { kind: 'unet', prefix }, loras, { cacheDir }).source;
  hookLoras.set(hook, loras);
  return hook;
}

export function loraModelPatch(use: LoraUse, cacheDir: string): WeightPatch {
  return {
    kind: 'lora',
    key: `${fileIdentity(use.path)}@${use.strength}`,
    build: (o: UNetOptionsWithWeights): UNetOptionsWithWeights => {
      const prev = o.weights ? hookLoras.get(o.weights) : [];
      if (!prev) throw new WeftError('another patch already replaced the UNet weight source; apply LoRAs before it', { input: 'model' });
      return { ...o, weights: unetLoraHook([...prev, use], o.prefix ?? 'model.diffusion_model.', cacheDir) };
    },
  };
}

export interface LoraClipPatch extends ClipPatch {
  kind: 'lora';
  path: string;
  cacheDir: string;
}

export function loraClipPatch(use: LoraUse, cacheDir: string): LoraClipPatch {
  return { kind: 'lora', key: `${fileIdentity(use.path)}@${use.strength}`, strength: use.strength, path: use.path, cacheDir };
}

export function isLoraClipPatch(p: ClipPatch): p is LoraClipPatch {
  return p.kind === 'lora' && typeof p.path === 'string' && typeof p.cacheDir === 'string';
}

const clipEncoders = new Map<string, ClipTextEncoder>();

/**
 * The text encoder of one tower with the CLIP's LoRA patches applied; `roles` are every role of that CLIP
 * (SDXL naming depends on whether clip_l is present). Returns `ref.encoder` itself when nothing applies.
 */
export function loraClipEncoder(
  ref: { path: string; prefix: string; role: ClipRole; encoder: ClipTextEncoder },
  roles: readonly ClipRole[],
  patches: readonly ClipPatch[],
  sessionOpts: SessionOptions = {},
): ClipTextEncoder {
  const lora = patches.filter(isLoraClipPatch);
  if (lora.length !== patches.length) throw new WeftError(`this CLIP carries ${patches.length - lora.length} patch(es) of a kind the LoRA module cannot apply`, { input: 'clip' });
  const live = lora.filter((p) => p.strength !== 0);
  if (live.length === 0) return ref.encoder;
  const key = [ref.path, ref.prefix, roles.join(''), ...live.map((p) => p.key).sort()].join('|');
  let e = clipEncoders.get(key);
  if (!e) {
    const base = SafetensorsFile.open(ref.path);
    const a = applyLoras(base, { kind: 'clip', towers: [{ prefix: ref.prefix, role: ref.role }], roles }, live.map((p) => ({ path: p.path, strength: p.strength })), { cacheDir: live[0]!.cacheDir });
    if (a.source === base) { base.close(); return ref.encoder; }
    e = new ClipTextEncoder(a.source, ref.encoder.spec, sessionOpts);
    clipEncoders.set(key, e);
  }
  return e;
}

/** Releases every LoRA-patched text encoder session. */
export async function releaseLoraClipEncoders(): Promise<void> {
  const all = [...clipEncoders.values()];
  clipEncoders.clear();
  for (const e of all) await e.release();
}
