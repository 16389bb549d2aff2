/**
 * Where a graph's weights come from. A builder takes any `WeightSource`: a plain SafetensorsFile (every key
 * lives in that one file), or a source that answers some keys from another file, such as a cache side file
 * holding LoRA-merged tensors over the user's checkpoint. The builder only asks "which file and byte range
 * holds key K" (`locate`), so UNet, CLIP, ControlNet… builders take a patched source without knowing why
 * it is patched. SafetensorsFile satisfies this interface as is.
 */
import { WeftError } from '../errors.ts';
import type { SafetensorsTensor } from '../io/safetensors.ts';

/** The physical home of one tensor: a safetensors file on disk and the tensor's entry in it. */
export interface TensorLocation {
  path: string;
  tensor: SafetensorsTensor;
}

export interface WeightSource {
  /** The file that names this source in messages (the user's checkpoint for overlays). */
  readonly path: string;
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
  readonly metadata: Record<string, string>;
  has(key: string): boolean;
  get(key: string): SafetensorsTensor;
  keys(): string[];
  readRaw(key: string): Buffer;
  readFloat32(key: string): Float32Array;
  /** Absent on a plain file: every tensor then lives in `path`. */
  locate?(key: string): TensorLocation;
}

/** Where `key` of `src` lives on disk (throws a WeftError naming file and key when it is missing). */
export function locateWeight(src: WeightSource, key: string): TensorLocation {
  if (src.locate) return src.locate(key);
  const tensor = src.tensors.get(key);
  if (!tensor) throw new WeftError(`${src.path}: tensor "${key}" is missing`, { file: src.path, input: key, type: 'model_load_error' });
  return { path: src.path, tensor };
}

/** Distinct files a source reads from (one for a plain file, base + side files for an overlay). */
export function sourceFiles(src: WeightSource): string[] {
  if (!src.locate) return [src.path];
  const out = new Set<string>();
  for (const k of src.keys()) out.add(src.locate(k).path);
  return [...out];
}
