/**
 * safetensors reader and writer. The header is validated completely before any tensor is
 * touched (a hostile file must never make us allocate or read outside its own bounds), and
 * tensor bytes are read lazily with positioned reads so a 7 GB checkpoint never lands in JS memory.
 * `offset` is absolute in the file: ONNX external-data entries point straight at it.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { WeftError } from '../errors.ts';
import { dtypeSize, isDtype, toBigInt64, toFloat32, type Dtype } from './dtypes.ts';
import { invalidFile as fail, readExactly } from './read.ts';

// Dtypes and their conversions live in dtypes.ts; re-exported here, where callers have always found them.
export {
  DTYPES, bf16ToF32, dtypeSize, f16ToF32, f32ToBf16, f32ToF16, f32ToF8E4M3, f32ToF8E5M2, f8e4m3ToF32, f8e5m2ToF32, float32ToFloat16Array, isDtype, toBigInt64, toFloat32,
  type Dtype,
} from './dtypes.ts';

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
    return toBigInt64(this.readRaw(name), t.dtype, this.path, name);
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
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
