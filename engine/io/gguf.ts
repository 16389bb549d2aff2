/**
 * GGUF reader (llama.cpp/ggml's model format, which ComfyUI-GGUF uses for quantised diffusion models).
 *
 * Layout (little-endian): "GGUF", version u32 (2 or 3), tensor count u64, metadata count u64; metadata
 * entries (string key, u32 value type, value); tensor infos (string name, u32 n_dims, u64 ne[n_dims] with
 * ne[0] the fastest dim, u32 ggml type, u64 offset relative to the data section); padding to
 * `general.alignment` (default 32); the data section. Strings are u64 length + UTF-8 bytes.
 *
 * Like safetensors.ts, everything before the data is validated before a tensor is touched: every count is
 * checked against the bytes that remain before allocating, every tensor must lie inside the file without
 * overlapping another, and tensor bytes are read lazily with positioned reads (no whole-file reads).
 * Shapes are reported in torch order (ne reversed); ComfyUI-GGUF's `comfy.gguf.orig_shape.<name>` entries
 * (shapes it had to flatten) take precedence, as its loader does.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { WeftError } from '../errors.ts';
import { GGML_TYPES, dequantize, type GgmlTypeInfo } from './gguf-dequant.ts';
import { GgufCursor, readExactly, type GgufValue } from './gguf-cursor.ts';
import { invalidFile as fail } from './read.ts';

export type { GgufValue } from './gguf-cursor.ts';
export { GGML_TYPES, GGML_TYPE_BY_NAME, dequantize, isBlockQuantized, type GgmlTypeInfo } from './gguf-dequant.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml tensors have at most 4 dims. */
const MAX_DIMS = 4;

export interface GgufTensor {
  name: string;
  type: GgmlTypeInfo;
  /** Torch order (slowest first): ne reversed, or ComfyUI-GGUF's recorded original shape. */
  shape: number[];
  /** ggml order as stored (fastest first). */
  ne: number[];
  count: number;
  /** Absolute byte offset in the file. */
  offset: number;
  byteLength: number;
}

export class GgufFile {
  private constructor(
    readonly path: string,
    private fd: number | null,
    readonly version: number,
    readonly fileSize: number,
    readonly alignment: number,
    /** Where the data section starts (everything before it is header). */
    readonly dataStart: number,
    readonly kv: ReadonlyMap<string, GgufValue>,
    readonly tensors: ReadonlyMap<string, GgufTensor>,
  ) {}

  static open(path: string): GgufFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      fail(path, `cannot open: ${(e as Error).message}`);
    }
    try {
      const size = fstatSync(fd).size;
      if (size < 24) fail(path, `not a GGUF file (${size} bytes, shorter than the 24-byte header)`);
      const c = new GgufCursor(fd, path, size);
      const magic = c.u32('magic');
      if (magic !== GGUF_MAGIC) fail(path, `not a GGUF file (magic 0x${magic.toString(16).padStart(8, '0')}, expected "GGUF")`, 'magic');
      const version = c.u32('version');
      if (version === 1) fail(path, 'GGUF version 1 (32-bit counts, pre-2023) is not supported; re-convert the model', 'version');
      if (version !== 2 && version !== 3) {
        // A big-endian file's version reads byte-swapped here (3 → 0x03000000).
        const bigEndian = version === 0x03000000 || version === 0x02000000;
        fail(path, bigEndian ? 'big-endian GGUF files are not supported' : `unsupported GGUF version ${version} (2 and 3 are read)`, 'version');
      }
      const nTensors = c.count('tensor count', 24);
      const nKv = c.count('metadata count', 13);
      const kv = new Map<string, GgufValue>();
      for (let i = 0; i < nKv; i++) {
        const key = c.str(`metadata key #${i}`);
        if (kv.has(key)) fail(path, `metadata key "${key}" appears twice`, key);
        kv.set(key, c.value(key));
      }
      const alignment = readAlignment(path, kv);
      const infos: Array<{ name: string; ne: number[]; type: GgmlTypeInfo; rel: bigint }> = [];
      const names = new Set<string>();
      for (let i = 0; i < nTensors; i++) {
        const name = c.str(`tensor #${i} name`);
        if (names.has(name)) fail(path, `tensor "${name}" appears twice`, name);
        names.add(name);
        const nDims = c.u32(`tensor "${name}" n_dims`);
        if (nDims < 1 || nDims > MAX_DIMS) fail(path, `tensor "${name}": ${nDims} dims (1..${MAX_DIMS} allowed)`, name);
        const ne: number[] = [];
        for (let d = 0; d < nDims; d++) {
          const v = c.u64(`tensor "${name}" ne[${d}]`);
          if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(path, `tensor "${name}": dim ${v} is too large`, name);
          ne.push(Number(v));
        }
        const typeId = c.u32(`tensor "${name}" type`);
        const type = GGML_TYPES.get(typeId);
        if (!type) fail(path, `tensor "${name}": unknown ggml type id ${typeId}`, name);
        infos.push({ name, ne, type, rel: c.u64(`tensor "${name}" offset`) });
      }
      const dataStart = Math.ceil(c.pos / alignment) * alignment;
      if (dataStart > size) fail(path, `the data section would start at ${dataStart}, past the end of the ${size}-byte file (truncated?)`);
      const tensors = new Map<string, GgufTensor>();
      for (const { name, ne, type, rel } of infos) tensors.set(name, tensorOf(path, name, ne, type, rel, kv, { size, dataStart, alignment }));
      checkOverlaps(path, [...tensors.values()]);
      return new GgufFile(path, fd, version, size, alignment, dataStart, kv, tensors);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Metadata as strings (WeightSource's shape): strings as is, everything else as JSON. */
  get metadata(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.kv) out[k] = typeof v === 'string' ? v : JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    return out;
  }

  /** The model family ComfyUI-GGUF wrote (`general.architecture`: flux, sd3, sdxl…), if any. */
  get architecture(): string | undefined {
    const a = this.kv.get('general.architecture');
    return typeof a === 'string' ? a : undefined;
  }

  has(name: string): boolean { return this.tensors.has(name); }

  get(name: string): GgufTensor {
    const t = this.tensors.get(name);
    if (!t) fail(this.path, `no tensor named "${name}"`, name);
    return t;
  }

  keys(): string[] { return [...this.tensors.keys()]; }

  /** The stored bytes of one tensor (blocks as written; a fresh Buffer). */
  readRaw(name: string): Buffer {
    const t = this.get(name);
    if (this.fd === null) fail(this.path, `file is closed (reading "${name}")`, name);
    const buf = Buffer.allocUnsafe(t.byteLength);
    readExactly(this.fd, buf, t.offset, this.path, `tensor "${name}"`);
    return buf;
  }

  /** One tensor decoded to float32 in torch order (throws for types without a decoder). */
  readFloat32(name: string): Float32Array {
    const t = this.get(name);
    return dequantize(this.readRaw(name), t.type, t.count, this.path, name);
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

function readAlignment(path: string, kv: Map<string, GgufValue>): number {
  const a = kv.get('general.alignment');
  if (a === undefined) return GGUF_DEFAULT_ALIGNMENT;
  // Written as u32 by ggml; any integer type is accepted, but it must be a sane power of two.
  const n = typeof a === 'bigint' ? Number(a) : a;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1 << 20 || (n & (n - 1)) !== 0) fail(path, `general.alignment ${String(a)} is not a power of two up to 1 MiB`, 'general.alignment');
  return n;
}

function tensorOf(
  path: string, name: string, ne: number[], type: GgmlTypeInfo, rel: bigint, kv: Map<string, GgufValue>,
  f: { size: number; dataStart: number; alignment: number },
): GgufTensor {
  let count = 1;
  for (const d of ne) count *= d;
  if (!Number.isSafeInteger(count)) fail(path, `tensor "${name}": ${ne.join('×')} values is too many`, name);
  if (ne[0]! % type.block !== 0) fail(path, `tensor "${name}": row length ${ne[0]} is not a multiple of the ${type.name} block size ${type.block}`, name);
  const byteLength = (count / type.block) * type.bytes;
  if (rel % BigInt(f.alignment) !== 0n) fail(path, `tensor "${name}": offset ${rel} is not a multiple of the alignment ${f.alignment}`, name);
  if (rel + BigInt(byteLength) > BigInt(f.size - f.dataStart)) {
    fail(path, `tensor "${name}": bytes [${rel}, ${rel + BigInt(byteLength)}) of the data section run past its ${f.size - f.dataStart} bytes (truncated file?)`, name);
  }
  let shape = [...ne].reverse();
  const orig = kv.get(`comfy.gguf.orig_shape.${name}`);
  if (orig !== undefined) {
    const dims = Array.isArray(orig) ? orig.map((d) => (typeof d === 'bigint' ? Number(d) : d)) : null;
    if (!dims || dims.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) || (dims as number[]).reduce((a, b) => a * b, 1) !== count) {
      fail(path, `comfy.gguf.orig_shape.${name} ${JSON.stringify(orig, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))} does not describe the tensor's ${count} values`, name);
    }
    shape = dims as number[];
  }
  return { name, type, shape, ne, count, offset: f.dataStart + Number(rel), byteLength };
}

function checkOverlaps(path: string, list: GgufTensor[]): void {
  const spans = list.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!, cur = spans[i]!;
    if (cur.offset < prev.offset + prev.byteLength) fail(path, `tensors "${prev.name}" and "${cur.name}" overlap in the data section`, cur.name);
  }
}

/** True when the first four bytes of `path` are GGUF's magic (io/model-file.ts decides by content). */
export function isGgufFile(path: string): boolean {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return false; }
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === GGUF_MAGIC;
  } finally {
    closeSync(fd);
  }
}
