/**
 * LoRA on the T5 of a FLUX CLIP: the CLIP's LoRA patches (the same ones its CLIP-L takes) merged into T5's
 * tensors through a side file, run by an encoder with the base encoder's settings. A quantized T5 (fp8 files)
 * keeps its codes for untouched Linears and re-quantizes the merged ones (lora/quant.ts).
 */
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { ClipPatch } from '../clip/model.ts';
import type { T5Encoder } from '../t5/encoder.ts';
import { applyLoras } from './index.ts';
import { isLoraClipPatch } from './patches.ts';

interface Held { encoder: T5Encoder; file?: SafetensorsFile }

const encoders = new Map<string, Held>();

/**
 * The T5 encoder of `ref` with the LoRA patches applied; `ref.encoder` itself when none has a strength or
 * none of their keys names a T5 tensor. `ref.key` identifies the base encoder (file, prefix, quantization).
 */
export function loraT5Encoder(ref: { path: string; prefix: string; key: string; encoder: T5Encoder }, patches: readonly ClipPatch[]): T5Encoder {
  const live = patches.filter(isLoraClipPatch).filter((p) => p.strength !== 0);
  if (live.length === 0) return ref.encoder;
  const key = [ref.key, ...live.map((p) => p.key).sort()].join('|');
  let held = encoders.get(key);
  if (!held) {
    const base = SafetensorsFile.open(ref.path);
    const a = applyLoras(base, { kind: 't5', prefix: ref.prefix }, live.map((p) => ({ path: p.path, strength: p.strength })), { cacheDir: live[0]!.cacheDir });
    if (a.source === base) {
      base.close();
      held = { encoder: ref.encoder };
    } else {
      // The patched source reads unpatched tensors from `base` when the graph is built, so it stays open.
      held = { encoder: ref.encoder.withWeights(a.source), file: base };
    }
    encoders.set(key, held);
  }
  return held.encoder;
}

/** Releases every LoRA-patched T5 session and its file (the base encoders are the FLUX CLIP's to release). */
export async function releaseLoraT5Encoders(): Promise<void> {
  const all = [...encoders.values()];
  encoders.clear();
  for (const h of all) {
    if (!h.file) continue;
    await h.encoder.release();
    h.file.close();
  }
}
