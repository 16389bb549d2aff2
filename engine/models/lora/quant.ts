/**
 * 8/4-bit MatMulNBits weights for a source that may carry LoRA-merged tensors. ComfyUI merges a LoRA into an
 * fp8 model in higher precision and casts the result back to fp8; the equivalent here is to quantize the
 * merged tensor. The model's own file is quantized (or its cached side file reused) exactly as without a
 * LoRA; only the patched tensors are quantized again, from the merged side file, into a second side file
 * (kept and pruned beside the merged one) read over the first. A new strength re-quantizes what the LoRA touches, never the whole 12B model,
 * and the patched model's codes are the ones a checkpoint holding the merged weights would get.
 */
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { ensureQuantized } from '../quant/cache.ts';
import type { QuantSettings } from '../quant/nbits.ts';
import { PatchedSource, prune } from './cache.ts';

export interface QuantizedSource {
  /** The codes: the side file of the model, or an overlay with the patched tensors' codes. */
  file: WeightSource;
  /** False when every side file was reused. */
  written: boolean;
  ms: number;
  /** Closes the model's side file (the overlay holds no descriptor). */
  close(): void;
}

/** Quantizes `keys` of `src` (a plain file, or a PatchedSource over one); the model's own codes go to `cacheDir`. */
export function quantizeSource(src: WeightSource, keys: readonly string[], s: QuantSettings, cacheDir: string): QuantizedSource {
  const plain = src instanceof PatchedSource ? src.base : src;
  if (!(plain instanceof SafetensorsFile)) {
    throw new WeftError(`${src.path}: only a safetensors file (with or without LoRA) can be quantized here`, { file: src.path, type: 'model_load_error' });
  }
  const base = ensureQuantized(plain, keys, s, cacheDir);
  const close = () => base.file.close();
  const patched = src instanceof PatchedSource ? new Set(src.patchedKeys) : new Set<string>();
  const mine = keys.filter((k) => patched.has(k));
  if (mine.length === 0) return { file: base.file, written: base.written, ms: base.ms, close };
  const sidePath = (src as PatchedSource).sidePath;
  const side = SafetensorsFile.open(sidePath);
  try {
    // Beside the merged side file, so they are pruned by the same rule (a FLUX LoRA's codes are gigabytes).
    const dir = path.dirname(sidePath);
    const over = ensureQuantized(side, mine, s, dir);
    over.file.close();
    if (over.written) prune(dir, over.file.path, /^quant-.*\.safetensors$/);
    return { file: new PatchedSource(base.file, over.file.path), written: base.written || over.written, ms: base.ms + over.ms, close };
  } finally {
    side.close();
  }
}
