/**
 * One patched tensor: W' = W + Σ strength·scale·(up.flatten(1) @ down.flatten(1)).reshape(W) (+ full diffs),
 * computed in float32 steps like ComfyUI (product rounded to float32, scaled, added), then stored in the
 * base tensor's dtype, as ComfyUI casts a patched fp16 (or fp8) weight back to its storage type.
 */
import { WeftError } from '../../errors.ts';
import { f32ToBf16, f32ToF8E4M3, f32ToF8E5M2, float32ToFloat16Array, type Dtype } from '../../io/safetensors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import type { Contribution } from './file.ts';

export interface Weighted {
  c: Contribution;
  strength: number;
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** LoCon/Tucker: down' [r, in, kh, kw] = Σ_b down[b, in] · mid[b, r, kh, kw]. */
function tuckerDown(down: Float32Array, downShape: number[], mid: Float32Array, midShape: number[]): Float32Array {
  const [r, inC] = [downShape[0]!, count(downShape.slice(1))];
  const [mr, mr2] = [midShape[0]!, midShape[1]!];
  const k = count(midShape.slice(2));
  if (mr !== r) throw new Error(`lora_mid has ${mr} rows, lora_down ${r}`);
  const out = new Float32Array(mr2 * inC * k);
  for (let a = 0; a < mr2; a++) {
    for (let i = 0; i < inC; i++) {
      for (let s = 0; s < k; s++) {
        let acc = 0;
        for (let b = 0; b < r; b++) acc += down[b * inC + i]! * mid[(b * mr2 + a) * k + s]!;
        out[(a * inC + i) * k + s] = acc;
      }
    }
  }
  return out;
}

function fail(c: Contribution, base: WeightSource, msg: string): never {
  throw new WeftError(`${c.lora.path}: LoRA module "${c.module.name}" cannot patch ${base.path} "${c.target.key}": ${msg}`, { file: c.lora.path, input: c.module.name, type: 'model_load_error' });
}

/** Adds one contribution into `w` (float32, the whole base tensor) at the target's rows. */
function addInto(w: Float32Array, shape: readonly number[], base: WeightSource, { c, strength }: Weighted): void {
  const rowSize = shape.length ? count(shape.slice(1)) : 1;
  const [a, b] = c.target.rows ?? [0, shape[0] ?? 1];
  const off = a * rowSize;
  const len = (b - a) * rowSize;
  const f = c.lora.file;
  const factor = Math.fround(strength * c.scale);
  const rowsN = b - a;
  if (c.target.swapHalves && rowsN % 2 !== 0) fail(c, base, `cannot swap the halves of ${rowsN} rows`);
  // Row o of the delta lands on target row at(o); swapHalves exchanges its two halves (diffusers' scale,
  // shift order of AdaLayerNormContinuous against BFL's shift, scale).
  const at = (o: number): number => off + (c.target.swapHalves ? (o + rowsN / 2) % rowsN : o) * rowSize;
  if (c.kind === 'diff') {
    const d = f.readFloat32(c.module.slots.diff!);
    if (d.length !== len) fail(c, base, `diff has ${d.length} values, the target ${len}`);
    for (let o = 0; o < rowsN; o++) {
      const w0 = at(o);
      for (let i = 0; i < rowSize; i++) w[w0 + i] = w[w0 + i]! + Math.fround(factor * d[o * rowSize + i]!);
    }
    return;
  }
  const upT = f.get(c.module.slots.up!), downT = f.get(c.module.slots.down!);
  const up = f.readFloat32(upT.name);
  let down = f.readFloat32(downT.name);
  const outC = upT.shape[0]!;
  const r = count(upT.shape.slice(1));
  if (c.module.slots.mid) {
    const midT = f.get(c.module.slots.mid);
    try {
      down = tuckerDown(down, downT.shape, f.readFloat32(midT.name), midT.shape);
    } catch (e) {
      fail(c, base, (e as Error).message);
    }
  }
  if (down.length % r !== 0 || (!c.module.slots.mid && downT.shape[0] !== r)) fail(c, base, `lora_up [${upT.shape.join(', ')}] and lora_down [${downT.shape.join(', ')}] disagree on the rank`);
  const inner = down.length / r;
  if (outC * inner !== len || (c.target.swapHalves && outC !== rowsN)) fail(c, base, `up@down is ${outC}×${inner} = ${outC * inner} values, the target [${shape.join(', ')}]${c.target.rows ? ` rows ${a}..${b}` : ''} has ${len}`);
  const row = new Float64Array(inner);
  for (let o = 0; o < outC; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const u = up[o * r + k]!;
      if (u === 0) continue;
      const d0 = k * inner;
      for (let i = 0; i < inner; i++) row[i]! += u * down[d0 + i]!;
    }
    const w0 = outC === rowsN ? at(o) : off + o * inner;
    for (let i = 0; i < inner; i++) w[w0 + i] = w[w0 + i]! + Math.fround(factor * Math.fround(row[i]!));
  }
}

/** The merged tensor in float32. Contributions are added in the given order (callers sort them). */
export function mergeFloat32(base: WeightSource, key: string, parts: readonly Weighted[]): Float32Array {
  const shape = base.get(key).shape;
  const w = base.readFloat32(key);
  for (const p of parts) addInto(w, shape, base, p);
  return w;
}

/**
 * The dtype a merged tensor is stored in: the base's own for F16/BF16 and fp8 (ComfyUI casts a patched
 * weight back to its storage type; for a 12B fp8 FLUX that keeps the side file at 1 byte a value), else F32.
 */
export function storedDtype(dtype: Dtype): Dtype {
  return dtype === 'F16' || dtype === 'BF16' || dtype === 'F8_E4M3' || dtype === 'F8_E5M2' ? dtype : 'F32';
}

/** Bytes of `w` in storedDtype(dtype); fp8 rounds to nearest even and saturates (see f32ToF8E4M3). */
export function encodeAs(w: Float32Array, dtype: Dtype): { dtype: Dtype; data: ArrayBufferView } {
  const d = storedDtype(dtype);
  if (d === 'F16') return { dtype: d, data: float32ToFloat16Array(w) };
  if (d === 'BF16') return { dtype: d, data: Uint16Array.from(w, (v) => f32ToBf16(v)) };
  if (d === 'F8_E4M3') return { dtype: d, data: Uint8Array.from(w, (v) => f32ToF8E4M3(v)) };
  if (d === 'F8_E5M2') return { dtype: d, data: Uint8Array.from(w, (v) => f32ToF8E5M2(v)) };
  return { dtype: 'F32', data: w };
}
