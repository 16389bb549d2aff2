/** Shape lookups and small statistics shared by the per-architecture readers. */
import { WeftError } from '../../errors.ts';
import type { Dtype } from '../../io/safetensors.ts';
import type { TensorSource } from './types.ts';

export type Shapes = TensorSource['tensors'];

export function shape(t: Shapes, key: string): readonly number[] | undefined {
  return t.get(key)?.shape;
}
export function need(src: TensorSource, key: string): readonly number[] {
  const s = src.tensors.get(key)?.shape;
  if (!s) throw new WeftError(`${src.path}: expected tensor "${key}" is missing`, { file: src.path, input: key, type: 'invalid_model_file' });
  return s;
}
export function countIndexed(keys: Iterable<string>, prefix: string): number {
  let max = -1;
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const n = Number.parseInt(k.slice(prefix.length), 10);
    if (Number.isFinite(n) && n > max) max = n;
  }
  return max + 1;
}

export function metaConfig(src: TensorSource): Record<string, any> {
  for (const key of ['weft_config', 'oracle_config']) {
    const raw = src.metadata[key];
    if (!raw) continue;
    try {
      const v = JSON.parse(raw);
      if (v && typeof v === 'object') return v;
    } catch { /* ignored: metadata is advisory */ }
  }
  return {};
}

export function dominantDtype(t: Shapes): Dtype {
  const bytes = new Map<Dtype, number>();
  for (const v of t.values()) {
    if (!['F32', 'F16', 'BF16', 'F64', 'F8_E4M3', 'F8_E5M2'].includes(v.dtype)) continue;
    bytes.set(v.dtype, (bytes.get(v.dtype) ?? 0) + v.shape.reduce((a, b) => a * b, 1));
  }
  let best: Dtype = 'F32';
  let n = -1;
  for (const [d, c] of bytes) if (c > n) { best = d; n = c; }
  return best;
}

export function populationStd(x: Float32Array): number {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length || 1;
  let s = 0;
  for (const v of x) s += (v - m) ** 2;
  return Math.sqrt(s / (x.length || 1));
}
