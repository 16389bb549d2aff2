/**
 * LoRA test oracle, independent of engine/models/lora: writes LoRA files whose modules name given checkpoint
 * tensors (and row ranges), and writes the checkpoint a correct merge must equal, W + s·(alpha/rank)·up@down
 * computed here in float64, so a test compares a LoRA'd model with a plain model of merged weights.
 */
import { SafetensorsFile, writeSafetensors, type Dtype, type TensorToWrite } from '../../engine/io/safetensors.ts';
import { f8e4m3ToF32 } from '../../engine/io/dtypes.ts';
import { rand } from './tensors.ts';

export interface OracleModule {
  /** LoRA module name, without the weight suffix. */
  name: string;
  /** The checkpoint tensor the module must patch. */
  key: string;
  rows?: [number, number];
  /** The delta's two row halves land swapped (diffusers norm_out.linear → BFL adaLN_modulation). */
  swap?: boolean;
  rank: number;
  alpha?: number;
  /** PEFT lora_A/lora_B (default) or kohya lora_down/lora_up. */
  style?: 'peft' | 'kohya';
}

export interface OracleDelta { m: OracleModule; up: Float32Array; down: Float32Array; out: number; cols: number }

/** Writes the LoRA (plus `extra` tensors, e.g. unknown keys) and returns what it holds. */
export function writeOracleLora(file: string, base: string, mods: readonly OracleModule[], seed: number, extra: Record<string, TensorToWrite> = {}): OracleDelta[] {
  const f = SafetensorsFile.open(base);
  const out: Record<string, TensorToWrite> = {};
  const deltas: OracleDelta[] = [];
  try {
    mods.forEach((m, i) => {
      const shape = f.get(m.key).shape;
      const cols = shape[1]!;
      const rows = m.rows ? m.rows[1] - m.rows[0] : shape[0]!;
      const up = rand([rows, m.rank], seed * 101 + i, 0.3).data;
      const down = rand([m.rank, cols], seed * 103 + i, 0.3).data;
      const [u, d] = m.style === 'kohya' ? ['lora_up.weight', 'lora_down.weight'] : ['lora_B.weight', 'lora_A.weight'];
      out[`${m.name}.${u}`] = { dtype: 'F32', shape: [rows, m.rank], data: up };
      out[`${m.name}.${d}`] = { dtype: 'F32', shape: [m.rank, cols], data: down };
      if (m.alpha !== undefined) out[`${m.name}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(m.alpha) };
      deltas.push({ m, up, down, out: rows, cols });
    });
  } finally {
    f.close();
  }
  writeSafetensors(file, { ...out, ...extra });
  return deltas;
}

/** Every tensor of `base` as float32, with its metadata. */
export function readAll(base: string): { tensors: Map<string, { shape: number[]; data: Float32Array }>; metadata: Record<string, string> } {
  const f = SafetensorsFile.open(base);
  try {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of f.tensors) tensors.set(k, { shape: [...t.shape], data: f.readFloat32(k) });
    return { tensors, metadata: { ...f.metadata } };
  } finally {
    f.close();
  }
}

/** Adds strength·(alpha/rank)·up@down of every delta into `tensors` (float64 sums, one float32 rounding each). */
export function mergeDeltas(tensors: Map<string, { shape: number[]; data: Float32Array }>, deltas: readonly OracleDelta[], strength: number): void {
  for (const { m, up, down, out, cols } of deltas) {
    const w = tensors.get(m.key)!.data;
    const scale = strength * (m.alpha ?? m.rank) / m.rank;
    const r0 = m.rows?.[0] ?? 0;
    for (let o = 0; o < out; o++) {
      const dest = r0 + (m.swap ? (o + out / 2) % out : o);
      for (let i = 0; i < cols; i++) {
        let s = 0;
        for (let k = 0; k < m.rank; k++) s += up[o * m.rank + k]! * down[k * cols + i]!;
        w[dest * cols + i] = w[dest * cols + i]! + scale * s;
      }
    }
  }
}

/** The non-negative e4m3fn codes 0..0x7e in value order (the format is monotonic in its code). */
let e4m3: Float64Array | undefined;

/** Nearest float8 e4m3fn code by bisection over the decoded table (ties: even code), saturating at ±448. */
export function toF8E4M3(v: number): number {
  const t = (e4m3 ??= Float64Array.from({ length: 0x7f }, (_, b) => f8e4m3ToF32(b)));
  const a = Math.min(Math.abs(v), 448);
  let lo = 0, hi = t.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! <= a) lo = mid; else hi = mid;
  }
  const dl = a - t[lo]!, dh = t[hi]! - a;
  const code = dl < dh || (dl === dh && lo % 2 === 0) ? lo : hi;
  return (v < 0 ? 0x80 : 0) | code;
}

/** Writes `tensors` as a checkpoint; `fp8` stores every 2-D weight as float8 e4m3fn (as fp8 FLUX files do). */
export function writeTensors(file: string, t: ReturnType<typeof readAll>, fp8 = false): void {
  const out: Record<string, TensorToWrite> = {};
  for (const [k, v] of t.tensors) {
    const f8 = fp8 && v.shape.length === 2;
    const dtype: Dtype = f8 ? 'F8_E4M3' : 'F32';
    out[k] = { dtype, shape: v.shape, data: f8 ? Uint8Array.from(v.data, toF8E4M3) : Float32Array.from(v.data) };
  }
  writeSafetensors(file, out, t.metadata);
}
