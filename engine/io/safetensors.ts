/**
 * safetensors reader and writer. The header is validated completely before any tensor is
 * touched (a hostile file must never make us allocate or read outside its own bounds), and
 * tensor bytes are read lazily with positioned reads so a 7 GB checkpoint never lands in JS memory.
 * `offset` is absolute in the file: ONNX external-data entries point straight at it.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
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

/** Converts a Float32Array to IEEE half bits. */
export function float32ToFloat16Array(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16(src[i]!);
  return out;
}

export interface SafetensorsTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute byte offset in the file. */
  offset: number;
  byteLength: number;
}

/** A header longer than this is treated as hostile (real ones are a few hundred KB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function fail(path: string, msg: string, field?: string): never {
  throw new WeftError(`${path}: ${msg}`, { file: path, type: 'invalid_model_file', input: field });
}

function readExactly(fd: number, buf: Uint8Array, position: number, path: string, what: string): void {
  let done = 0;
  while (done < buf.byteLength) {
    const n = readSync(fd, buf, done, buf.byteLength - done, position + done);
    if (n === 0) fail(path, `file ends while reading ${what}`);
    done += n;
  }
}

export class SafetensorsFile {
  readonly path: string;
  readonly tensors: Map<string, SafetensorsTensor>;
  readonly metadata: Record<string, string>;
  /** Byte offset where the data section starts (8 + header length). */
  readonly dataStart: number;
  readonly fileSize: number;
  private fd: number | null;

  private constructor(path: string, fd: number, fileSize: number, dataStart: number, tensors: Map<string, SafetensorsTensor>, metadata: Record<string, string>) {
    this.path = path;
    this.fd = fd;
    this.fileSize = fileSize;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      fail(path, `cannot open: ${(e as Error).message}`);
    }
    try {
      const size = fstatSync(fd).size;
      if (size < 8) fail(path, `not a safetensors file (${size} bytes, the 8-byte header length is missing)`);
      const lenBuf = Buffer.alloc(8);
      readExactly(fd, lenBuf, 0, path, 'the header length');
      const headerLen = lenBuf.readBigUInt64LE(0);
      if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
      if (headerLen + 8n > BigInt(size)) fail(path, `header length ${headerLen} runs past the end of the ${size}-byte file (truncated?)`);
      if (headerLen < 2n) fail(path, `header length ${headerLen} is too small for a JSON object`);
      const hbuf = Buffer.alloc(Number(headerLen));
      readExactly(fd, hbuf, 8, path, 'the header');
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(hbuf);
      } catch {
        fail(path, 'header is not valid UTF-8');
      }
      const dataStart = 8 + Number(headerLen);
      const { tensors, metadata } = parseHeader(path, text, size - dataStart, dataStart);
      return new SafetensorsFile(path, fd, size, dataStart, tensors, metadata);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string): SafetensorsTensor {
    const t = this.tensors.get(name);
    if (!t) fail(this.path, `no tensor named "${name}"`, name);
    return t;
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  /** The raw little-endian bytes of one tensor (a fresh Buffer, safe to keep). */
  readRaw(name: string): Buffer {
    const t = this.get(name);
    if (this.fd === null) fail(this.path, `file is closed (reading "${name}")`, name);
    const buf = Buffer.allocUnsafe(t.byteLength);
    readExactly(this.fd, buf, t.offset, this.path, `tensor "${name}"`);
    return buf;
  }

  readFloat32(name: string): Float32Array {
    const t = this.get(name);
    const raw = this.readRaw(name);
    return toFloat32(raw, t.dtype, this.path, name);
  }

  readBigInt64(name: string): BigInt64Array {
    const t = this.get(name);
    const raw = this.readRaw(name);
    const n = t.byteLength / dtypeSize(t.dtype);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new BigInt64Array(n);
    switch (t.dtype) {
      case 'I64': for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(i * 8, true); break;
      case 'I32': for (let i = 0; i < n; i++) out[i] = BigInt(dv.getInt32(i * 4, true)); break;
      case 'I16': for (let i = 0; i < n; i++) out[i] = BigInt(dv.getInt16(i * 2, true)); break;
      case 'I8': for (let i = 0; i < n; i++) out[i] = BigInt(dv.getInt8(i)); break;
      case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = BigInt(dv.getUint8(i)); break;
      default: fail(this.path, `tensor "${name}" has dtype ${t.dtype}, not an integer type`, name);
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
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
    case 'F16': for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true)); break;
    case 'BF16': for (let i = 0; i < n; i++) out[i] = bf16ToF32(dv.getUint16(i * 2, true)); break;
    case 'F8_E4M3': for (let i = 0; i < n; i++) out[i] = f8e4m3ToF32(raw[i]!); break;
    case 'F8_E5M2': for (let i = 0; i < n; i++) out[i] = f8e5m2ToF32(raw[i]!); break;
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = dv.getInt8(i); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = raw[i]!; break;
    default: fail(path, `tensor "${name}": cannot convert dtype ${dtype as string} to float32`, name);
  }
  return out;
}

function parseHeader(path: string, text: string, dataLen: number, dataStart: number): { tensors: Map<string, SafetensorsTensor>; metadata: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(path, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(path, 'header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensor>();
  const spans: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(path, '__metadata__ is not an object', name);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(path, `__metadata__.${k} is not a string`, '__metadata__');
        metadata[k] = v;
      }
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(path, `tensor "${name}": entry is not an object`, name);
    const { dtype, shape, data_offsets: offs } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !isDtype(dtype)) fail(path, `tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`, name);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(path, `tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((o) => !Number.isSafeInteger(o) || o < 0)) fail(path, `tensor "${name}": data_offsets ${JSON.stringify(offs)} is not [begin, end]`, name);
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(path, `tensor "${name}": data_offsets end ${end} < begin ${begin}`, name);
    if (end > dataLen) fail(path, `tensor "${name}": data_offsets [${begin}, ${end}] run past the ${dataLen}-byte data section (truncated file?)`, name);
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const expect = count * dtypeSize(dtype);
    if (!Number.isSafeInteger(expect) || expect !== end - begin) fail(path, `tensor "${name}": shape [${(shape as number[]).join(', ')}] × ${dtype} needs ${expect} bytes, data_offsets span ${end - begin}`, name);
    tensors.set(name, { name, dtype, shape: [...(shape as number[])], offset: dataStart + begin, byteLength: end - begin });
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!;
    const cur = spans[i]!;
    // Zero-length tensors may share a position; real bytes may not.
    if (cur[0] < prev[1] && cur[1] > cur[0]) fail(path, `tensors "${prev[2]}" and "${cur[2]}" overlap in the data section`, cur[2]);
  }
  return { tensors, metadata };
}

export interface TensorToWrite {
  dtype: Dtype;
  shape: number[];
  data: ArrayBufferView;
}

/**
 * Writes a safetensors file atomically (temp file + rename), tensors in insertion order.
 * The header is padded with spaces so the data section starts 8-byte aligned, which the
 * format allows and which lets consumers map the data with aligned typed-array views.
 */
export function writeSafetensors(path: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Array<[string, Uint8Array]> = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (!isDtype(t.dtype)) throw new WeftError(`${path}: tensor "${name}": unknown dtype ${t.dtype}`, { file: path, input: name });
    let count = 1;
    for (const d of t.shape) count *= d;
    const bytes = count * dtypeSize(t.dtype);
    if (t.data.byteLength !== bytes) throw new WeftError(`${path}: tensor "${name}": shape [${t.shape.join(', ')}] × ${t.dtype} needs ${bytes} bytes, data has ${t.data.byteLength}`, { file: path, input: name });
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    parts.push([name, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const raw = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + raw) % 8)) % 8);
  const hbuf = Buffer.from(json, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(hbuf.byteLength));
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, lenBuf);
    writeAll(fd, hbuf);
    // Endianness: typed arrays are host order; every platform Node ships on is little-endian.
    for (const [, bytes] of parts) writeAll(fd, bytes);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw e;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}
