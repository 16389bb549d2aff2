/**
 * Test-side GGUF tooling, written from the format description independently of engine/io/gguf*.ts:
 * a writer (with knobs to make hostile files), block encoders for the two types the DiT test writes
 * (Q8_0, Q4_0), random valid blocks for every decodable type, and a per-element reference decoder.
 */
import { writeFileSync } from 'node:fs';
import { f32ToF16, f16ToF32 } from '../../../engine/io/dtypes.ts';

export type KvType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64' | 'i64' | 'f64';
const KV_IDS: Record<KvType | 'array', number> = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 };
export type Kv = [string, KvType, unknown] | [string, 'array', KvType, unknown[]];

/** [id, values per block, bytes per block] */
export const TYPES: Record<string, [number, number, number]> = {
  F32: [0, 1, 4], F16: [1, 1, 2], BF16: [30, 1, 2], Q4_0: [2, 32, 18], Q4_1: [3, 32, 20], Q5_0: [6, 32, 22], Q5_1: [7, 32, 24],
  Q8_0: [8, 32, 34], Q4_K: [12, 256, 144], Q5_K: [13, 256, 176], Q6_K: [14, 256, 210], IQ4_XS: [23, 256, 136],
};

export interface TensorSpec {
  name: string;
  type: string;
  /** Torch order; written reversed as ne. */
  shape: number[];
  data: Uint8Array;
  /** Overrides for hostile files. */
  typeId?: number;
  offset?: bigint;
  ne?: bigint[];
}

export interface GgufSpec {
  version?: number;
  alignment?: number;
  kv?: Kv[];
  tensors: TensorSpec[];
  tensorCount?: bigint;
  kvCount?: bigint;
}

class Out {
  parts: Buffer[] = [];
  len = 0;
  push(b: Buffer): void { this.parts.push(b); this.len += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  u64(v: bigint | number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  scalar(t: KvType, v: unknown): void {
    const b = Buffer.alloc(8);
    const n = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, u64: 8, i64: 8, f64: 8, string: 0 }[t];
    switch (t) {
      case 'string': return this.str(v as string);
      case 'u8': case 'bool': b.writeUInt8(Number(v)); break;
      case 'i8': b.writeInt8(v as number); break;
      case 'u16': b.writeUInt16LE(v as number); break;
      case 'i16': b.writeInt16LE(v as number); break;
      case 'u32': b.writeUInt32LE(v as number); break;
      case 'i32': b.writeInt32LE(v as number); break;
      case 'f32': b.writeFloatLE(v as number); break;
      case 'f64': b.writeDoubleLE(v as number); break;
      case 'u64': b.writeBigUInt64LE(BigInt(v as number)); break;
      case 'i64': b.writeBigInt64LE(BigInt(v as number)); break;
    }
    this.push(b.subarray(0, n));
  }
}

export function ggufBytes(spec: GgufSpec): Buffer {
  const align = spec.alignment ?? 32;
  const kv = [...(spec.kv ?? [])];
  if (spec.alignment !== undefined) kv.push(['general.alignment', 'u32', align]);
  const o = new Out();
  o.push(Buffer.from('GGUF', 'ascii'));
  o.u32(spec.version ?? 3);
  o.u64(spec.tensorCount ?? BigInt(spec.tensors.length));
  o.u64(spec.kvCount ?? BigInt(kv.length));
  for (const e of kv) {
    o.str(e[0]);
    o.u32(KV_IDS[e[1]]);
    if (e[1] === 'array') {
      o.u32(KV_IDS[e[2]]);
      o.u64(e[3].length);
      for (const v of e[3]) o.scalar(e[2], v);
    } else o.scalar(e[1], e[2]);
  }
  let rel = 0;
  const placed: Array<[number, Uint8Array]> = [];
  for (const t of spec.tensors) {
    o.str(t.name);
    const ne = t.ne ?? [...t.shape].reverse().map(BigInt);
    o.u32(ne.length);
    for (const d of ne) o.u64(d);
    o.u32(t.typeId ?? TYPES[t.type]![0]);
    o.u64(t.offset ?? BigInt(rel));
    placed.push([rel, t.data]);
    rel = Math.ceil((rel + t.data.length) / align) * align;
  }
  const dataStart = Math.ceil(o.len / align) * align;
  o.push(Buffer.alloc(dataStart - o.len));
  const data = Buffer.alloc(placed.length ? Math.max(...placed.map(([r, d]) => r + d.length)) : 0);
  for (const [r, d] of placed) data.set(d, r);
  o.push(data);
  return Buffer.concat(o.parts);
}

export function writeGguf(path: string, spec: GgufSpec): void {
  writeFileSync(path, ggufBytes(spec));
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function f32Bytes(v: Float32Array): Uint8Array { return new Uint8Array(v.buffer, v.byteOffset, v.byteLength); }

function half(b: Uint8Array, at: number, v: number): void {
  const h = f32ToF16(v);
  b[at] = h & 0xff;
  b[at + 1] = h >> 8;
}

/** Random bytes that form valid blocks of `type`: random codes, finite small fp16 scales. */
export function randomBlocks(type: string, nBlocks: number, r: () => number): Uint8Array {
  const [, , bytes] = TYPES[type]!;
  const b = new Uint8Array(nBlocks * bytes);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  const halves: Record<string, number[]> = { Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208] };
  for (let k = 0; k < nBlocks; k++) for (const at of halves[type] ?? []) half(b, k * bytes + at, (r() - 0.3) * 0.2);
  return b;
}

/** Value e (0-based) of the block at `b[at…]`, decoded from the format description one element at a time. */
export function refValue(type: string, b: Uint8Array, at: number, e: number): number {
  const h16 = (o: number) => f16ToF32(b[at + o]! | (b[at + o + 1]! << 8));
  const bit = (o: number, i: number) => (b[at + o + (i >> 3)]! >> (i & 7)) & 1;
  const nib = (o: number, i: number) => (i < 16 ? b[at + o + i]! & 15 : b[at + o + i - 16]! >> 4); // 32-value block
  switch (type) {
    case 'Q8_0': return h16(0) * ((b[at + 2 + e]! << 24) >> 24);
    case 'Q4_0': return h16(0) * (nib(2, e) - 8);
    case 'Q4_1': return h16(0) * nib(4, e) + h16(2);
    case 'Q5_0': return h16(0) * ((nib(6, e) + 16 * bit(2, e)) - 16);
    case 'Q5_1': return h16(0) * (nib(8, e) + 16 * bit(4, e)) + h16(2);
    case 'Q4_K': case 'Q5_K': {
      const sub = e >> 5, s = (i: number) => b[at + 4 + i]!;
      const sc = sub < 4 ? s(sub) & 63 : (s(sub + 4) & 15) + 16 * (s(sub - 4) >> 6);
      const mn = sub < 4 ? s(sub + 4) & 63 : (s(sub + 4) >> 4) + 16 * (s(sub) >> 6);
      const qsAt = type === 'Q4_K' ? 16 : 48;
      const byte = b[at + qsAt + 32 * (sub >> 1) + (e & 31)]!;
      let q = sub & 1 ? byte >> 4 : byte & 15;
      if (type === 'Q5_K') q += 16 * ((b[at + 16 + (e & 31)]! >> sub) & 1);
      return h16(0) * sc * q - h16(2) * mn;
    }
    case 'Q6_K': {
      const hh = e >> 7, r = e & 127, quarter = r >> 5, l = r & 31;
      const lo = b[at + 64 * hh + l + (quarter & 1 ? 32 : 0)]!;
      const low = quarter < 2 ? lo & 15 : lo >> 4;
      const high = (b[at + 128 + 32 * hh + l]! >> (2 * quarter)) & 3;
      const sc = (b[at + 192 + 8 * hh + (l >> 4) + 2 * quarter]! << 24) >> 24;
      return h16(208) * sc * (low + 16 * high - 32);
    }
  }
  throw new Error(`no reference for ${type}`);
}

/** Reference decode of a whole tensor. */
export function refDecode(type: string, b: Uint8Array, n: number): Float32Array {
  const [, per, bytes] = TYPES[type]!;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = refValue(type, b, Math.floor(i / per) * bytes, i % per);
  return out;
}

/** Q8_0 encoding of float weights (row-major, length a multiple of 32): d = max|w|/127, q = round(w/d). */
export function encodeQ8_0(w: Float32Array): Uint8Array {
  const out = new Uint8Array((w.length / 32) * 34);
  for (let k = 0; k < w.length / 32; k++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(w[32 * k + j]!));
    const dh = f32ToF16(amax / 127), d = f16ToF32(dh);
    out[34 * k] = dh & 0xff;
    out[34 * k + 1] = dh >> 8;
    for (let j = 0; j < 32; j++) out[34 * k + 2 + j] = (d ? Math.max(-128, Math.min(127, Math.round(w[32 * k + j]! / d))) : 0) & 0xff;
  }
  return out;
}

/** Q4_0 encoding: d = −(signed max)/8 as ggml does, q = clamp(round(w/d) + 8, 0, 15), value j in nibble (j mod 16, j ≥ 16 high). */
export function encodeQ4_0(w: Float32Array): Uint8Array {
  const out = new Uint8Array((w.length / 32) * 18);
  for (let k = 0; k < w.length / 32; k++) {
    let m = 0;
    for (let j = 0; j < 32; j++) if (Math.abs(w[32 * k + j]!) > Math.abs(m)) m = w[32 * k + j]!;
    const dh = f32ToF16(m / -8), d = f16ToF32(dh);
    out[18 * k] = dh & 0xff;
    out[18 * k + 1] = dh >> 8;
    for (let j = 0; j < 32; j++) {
      const q = d ? Math.max(0, Math.min(15, Math.round(w[32 * k + j]! / d) + 8)) : 8;
      out[18 * k + 2 + (j & 15)]! |= j < 16 ? q : q << 4;
    }
  }
  return out;
}
