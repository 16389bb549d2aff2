/**
 * safetensors dtypes: element sizes and the conversions between their little-endian bytes and JS numbers
 * (half, bfloat16 and float8 decoded by hand: no typed array holds them).
 */
import { WeftError } from '../errors.ts';

export const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'F8_E5M2'] as const;
export type Dtype = (typeof DTYPES)[number];
const SIZES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };

export function isDtype(s: string): s is Dtype {
  return Object.prototype.hasOwnProperty.call(SIZES, s);
}

export function dtypeSize(dtype: Dtype): number {
  const n = SIZES[dtype];
  if (n === undefined) throw new WeftError(`unknown dtype ${dtype as string}`);
  return n;
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Every half-float bit pattern as float32, built on first use: bulk fp16 reads become one lookup per value. */
let f16Table: Float32Array | undefined;
function f16Lut(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function bf16ToF32(b: number): number {
  u32buf[0] = (b & 0xffff) << 16;
  return f32buf[0]!;
}

/** Round-to-nearest-even float32 → IEEE half bits (overflow → ±Inf, NaN kept). */
export function f32ToF16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++;
  return sign | r;
}

/** Round-to-nearest-even float32 → bfloat16 bits. */
export function f32ToBf16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float8 e4m3fn: bias 7, no infinities, S.1111.111 is NaN. */
export function f8e4m3ToF32(b: number): number {
  const s = b & 0x80 ? -1 : 1;
  const e = (b >> 3) & 0xf;
  const m = b & 7;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return s * m * 2 ** -9;
  return s * (1 + m / 8) * 2 ** (e - 7);
}

/** float8 e5m2: bias 15, IEEE-like with infinities and NaNs. */
export function f8e5m2ToF32(b: number): number {
  return f16ToF32((b & 0xff) << 8);
}

/** Rounds half to even (x ≥ 0); exact for doubles scaled by powers of two. */
function roundEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/**
 * float32 → a float8 byte, round-to-nearest-even. Out-of-range values saturate to the largest finite value
 * (as ComfyUI clamps before it casts a patched weight back to fp8), so no finite weight becomes NaN or ∞.
 */
function f32ToF8(v: number, expBits: number, manBits: number, maxCode: number, nanCode: number): number {
  if (Number.isNaN(v)) return nanCode;
  const sign = v < 0 || Object.is(v, -0) ? 0x80 : 0;
  const a = Math.abs(v);
  const bias = (1 << (expBits - 1)) - 1;
  const one = 1 << manBits;
  let code: number;
  if (a < 2 ** (1 - bias)) {
    // Subnormal: rounding up to `one` lands exactly on the smallest normal's code.
    code = roundEven(a / 2 ** (1 - bias - manBits));
  } else {
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    let m = roundEven(a / 2 ** (e - manBits));
    if (m === 2 * one) { e++; m = one; }
    code = e + bias > 2 ** expBits - 1 ? maxCode : ((e + bias) << manBits) | (m - one);
  }
  return sign | Math.min(code, maxCode);
}

/** float8 e4m3fn bits (largest finite 448 = 0x7e). */
export function f32ToF8E4M3(v: number): number {
  return f32ToF8(v, 4, 3, 0x7e, 0x7f);
}

/** float8 e5m2 bits (largest finite 57344 = 0x7b). */
export function f32ToF8E5M2(v: number): number {
  return f32ToF8(v, 5, 2, 0x7b, 0x7f);
}

/** Converts a Float32Array to IEEE half bits. */
export function float32ToFloat16Array(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16(src[i]!);
  return out;
}

/** Converts raw little-endian bytes of any supported dtype to float32. */
export function toFloat32(raw: Uint8Array, dtype: Dtype, path = '<buffer>', name = '?'): Float32Array {
  const size = dtypeSize(dtype);
  const n = raw.byteLength / size;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true); break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true); break;
    case 'F16': {
      const lut = f16Lut();
      for (let i = 0; i < n; i++) out[i] = lut[dv.getUint16(i * 2, true)]!;
      break;
    }
    case 'BF16': for (let i = 0; i < n; i++) out[i] = bf16ToF32(dv.getUint16(i * 2, true)); break;
    case 'F8_E4M3': for (let i = 0; i < n; i++) out[i] = f8e4m3ToF32(raw[i]!); break;
    case 'F8_E5M2': for (let i = 0; i < n; i++) out[i] = f8e5m2ToF32(raw[i]!); break;
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = dv.getInt8(i); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = raw[i]!; break;
    default: fail(path, name, `tensor "${name}": cannot convert dtype ${dtype as string} to float32`);
  }
  return out;
}

/** Converts raw little-endian bytes of an integer dtype to int64. */
export function toBigInt64(raw: Uint8Array, dtype: Dtype, path = '<buffer>', name = '?'): BigInt64Array {
  const n = raw.byteLength / dtypeSize(dtype);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new BigInt64Array(n);
  switch (dtype) {
    case 'I64': for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(i * 8, true); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = BigInt(dv.getInt32(i * 4, true)); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = BigInt(dv.getInt16(i * 2, true)); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = BigInt(dv.getInt8(i)); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = BigInt(dv.getUint8(i)); break;
    default: fail(path, name, `tensor "${name}" has dtype ${dtype}, not an integer type`);
  }
  return out;
}

/** The error a tensor of the wrong dtype raises, in the shape of the reader's other file errors. */
function fail(path: string, name: string, msg: string): never {
  throw new WeftError(`${path}: ${msg}`, { file: path, type: 'invalid_model_file', input: name });
}
