/**
 * A GGUF file as a WeightSource, so every graph builder reads it like a safetensors checkpoint.
 *
 * Plain element tensors (F32, F16, BF16, F64, I8…I64) are already laid out as torch stores them (GGUF only
 * reverses the dim list), so they are mapped in place: the builder's external-data entries point into the
 * .gguf itself. Block-quantised tensors are decoded once into a float side file in cacheDir (the pattern of
 * torch-file.ts's toSafetensors, keyed by path, size, mtime and settings), written one tensor at a time.
 * Keys in `exclude` (held elsewhere: MatMulNBits codes, see models/quant/gguf.ts) keep their table entry
 * (shape for builders and detection) but have no float bytes: locate() says so, readFloat32() decodes them.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { WeftError, errorMessage } from '../errors.ts';
import type { TensorLocation, WeightSource } from '../onnx/weights.ts';
import { float32ToFloat16Array, isDtype, type Dtype } from './dtypes.ts';
import { GgufFile, type GgufTensor } from './gguf.ts';
import { SafetensorsFile, type SafetensorsTensor } from './safetensors.ts';

export interface GgufFloatOptions {
  /** Where the side file of decoded tensors goes. */
  cacheDir: string;
  /** Element type of decoded tensors (default F16: half the disk of F32, far below GGUF's own error). */
  dtype?: 'F32' | 'F16';
  /** Tensors left out of the side file (their bytes live in another side file). */
  exclude?: ReadonlySet<string>;
}

/** ggml element types that are safetensors dtypes byte for byte. */
const IN_PLACE = new Set(['F32', 'F16', 'BF16', 'F64', 'I8', 'I16', 'I32', 'I64']);

function fail(path: string, msg: string, key?: string): never {
  throw new WeftError(`${path}: ${msg}`, { file: path, input: key, type: 'model_load_error' });
}

export class GgufWeights implements WeightSource {
  readonly path: string;
  readonly tensors = new Map<string, SafetensorsTensor>();
  readonly metadata: Record<string, string>;
  /** key → file holding its float bytes. */
  private readonly homes = new Map<string, string>();

  constructor(readonly gguf: GgufFile, readonly side: SafetensorsFile | null, readonly excluded: ReadonlySet<string>) {
    this.path = gguf.path;
    this.metadata = gguf.metadata;
    for (const t of gguf.tensors.values()) {
      const s = side?.tensors.get(t.name);
      if (s) {
        this.tensors.set(t.name, { ...s, shape: t.shape });
        this.homes.set(t.name, side!.path);
      } else if (IN_PLACE.has(t.type.name) && !excluded.has(t.name)) {
        this.tensors.set(t.name, { name: t.name, dtype: t.type.name as Dtype, shape: t.shape, offset: t.offset, byteLength: t.byteLength });
        this.homes.set(t.name, gguf.path);
      } else {
        // No float bytes anywhere (excluded): the entry still answers shape questions.
        this.tensors.set(t.name, { name: t.name, dtype: 'F32', shape: t.shape, offset: -1, byteLength: t.count * 4 });
      }
    }
  }

  has(key: string): boolean { return this.tensors.has(key); }
  keys(): string[] { return [...this.tensors.keys()]; }

  get(key: string): SafetensorsTensor {
    const t = this.tensors.get(key);
    if (!t) fail(this.path, `tensor "${key}" is missing`, key);
    return t;
  }

  locate(key: string): TensorLocation {
    const tensor = this.get(key);
    const home = this.homes.get(key);
    if (!home) fail(this.path, `tensor "${key}" (${this.gguf.get(key).type.name}) is held as MatMulNBits codes, not floats: read it through the quantised linear`, key);
    return { path: home, tensor };
  }

  readRaw(key: string): Buffer {
    const home = this.locate(key).path;
    return home === this.gguf.path ? this.gguf.readRaw(key) : this.side!.readRaw(key);
  }

  /** Float32 values of any tensor, excluded ones included (decoded straight from the GGUF blocks). */
  readFloat32(key: string): Float32Array {
    this.get(key);
    return this.side && this.homes.get(key) === this.side.path ? this.side.readFloat32(key) : this.gguf.readFloat32(key);
  }

  close(): void {
    this.gguf.close();
    this.side?.close();
  }
}

/** Tensors that need decoding into the side file. */
function toDecode(gguf: GgufFile, exclude: ReadonlySet<string>): GgufTensor[] {
  const out: GgufTensor[] = [];
  for (const t of gguf.tensors.values()) {
    if (exclude.has(t.name) || IN_PLACE.has(t.type.name)) continue;
    if (!t.type.decodable) fail(gguf.path, `tensor "${t.name}" is ${t.type.name}, which Weft cannot decode (use a Q8_0, Q4_0, Q4_1, Q5_x or Q4_K/Q5_K/Q6_K file)`, t.name);
    out.push(t);
  }
  return out;
}

/** Path of the side file for `gguf` at these settings (stable across runs for an unchanged file). */
export function ggufFloatFileName(gguf: GgufFile, list: GgufTensor[], dtype: string, cacheDir: string): string {
  const st = statSync(gguf.path);
  const id = createHash('sha256').update(JSON.stringify([gguf.path, st.size, st.mtimeMs, dtype, list.map((t) => t.name).sort()])).digest('hex').slice(0, 16);
  return join(cacheDir, `${basename(gguf.path).replace(/\.[^.]+$/, '')}-gguf-${dtype.toLowerCase()}-${id}.safetensors`);
}

/**
 * Writes `list` as safetensors, one tensor in memory at a time, atomically: plain element tensors copied
 * byte for byte in their own dtype, block-quantised ones decoded to `dtype`.
 */
function writeDecoded(gguf: GgufFile, list: GgufTensor[], dtype: 'F32' | 'F16', target: string): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'gguf-dequant', source: basename(gguf.path) } };
  let offset = 0;
  for (const t of list) {
    const copy = IN_PLACE.has(t.type.name);
    const bytes = copy ? t.byteLength : t.count * (dtype === 'F32' ? 4 : 2);
    header[t.name] = { dtype: copy ? t.type.name : dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // 8-aligned data, as writeSafetensors does
  const hbuf = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hbuf.length));
  mkdirSync(join(target, '..'), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, len);
    writeAll(fd, hbuf);
    for (const t of list) {
      if (IN_PLACE.has(t.type.name)) {
        writeAll(fd, gguf.readRaw(t.name));
        continue;
      }
      const f = gguf.readFloat32(t.name);
      const v = dtype === 'F32' ? f : float32ToFloat16Array(f);
      writeAll(fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    closeSync(fd);
    renameSync(tmp, target);
  } catch (e) {
    try { closeSync(fd); } catch { /* closed */ }
    try { unlinkSync(tmp); } catch { /* never written */ }
    if (e instanceof WeftError) throw e;
    fail(gguf.path, `could not write the decoded side file ${target}: ${errorMessage(e)}`);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

/**
 * Opens a .gguf as a WeightSource: in-place float tensors, a (cached) decoded side file for quantised ones.
 * `gguf` may be passed already open (it then belongs to the returned source, which closes it).
 */
export function openGgufWeights(path: string | GgufFile, opts: GgufFloatOptions): GgufWeights {
  const gguf = typeof path === 'string' ? GgufFile.open(path) : path;
  try {
    const exclude = opts.exclude ?? new Set<string>();
    for (const k of exclude) if (!gguf.has(k)) fail(gguf.path, `excluded tensor "${k}" is not in the file`, k);
    const dtype = opts.dtype ?? 'F16';
    if (!isDtype(dtype) || (dtype !== 'F32' && dtype !== 'F16')) fail(gguf.path, `decoded dtype must be F32 or F16, got ${String(dtype)}`);
    const list = toDecode(gguf, exclude);
    let side: SafetensorsFile | null = null;
    if (list.length > 0) {
      const target = ggufFloatFileName(gguf, list, dtype, opts.cacheDir);
      if (existsSync(target)) {
        try { side = SafetensorsFile.open(target); } catch { side = null; } // a damaged cache file is rewritten
        if (side && !list.every((t) => side!.has(t.name))) { side.close(); side = null; }
      }
      if (!side) {
        writeDecoded(gguf, list, dtype, target);
        side = SafetensorsFile.open(target);
      }
    }
    return new GgufWeights(gguf, side, exclude);
  } catch (e) {
    gguf.close();
    throw e;
  }
}

/**
 * One self-contained safetensors copy of a GGUF (float tensors copied, quantised ones decoded to `dtype`),
 * written once into cacheDir: the `safetensorsPathFor` route (io/model-file.ts) for code that needs a
 * safetensors path rather than a WeightSource. Costs the full float size on disk; prefer openGgufWeights.
 */
export function ggufToSafetensors(path: string, cacheDir: string, dtype: 'F32' | 'F16' = 'F16'): string {
  const gguf = GgufFile.open(path);
  try {
    const list = [...gguf.tensors.values()];
    for (const t of list) if (!IN_PLACE.has(t.type.name) && !t.type.decodable) fail(path, `tensor "${t.name}" is ${t.type.name}, which Weft cannot decode`, t.name);
    const target = ggufFloatFileName(gguf, list, `all-${dtype}`, cacheDir);
    if (!existsSync(target)) writeDecoded(gguf, list, dtype, target);
    return target;
  } finally {
    gguf.close();
  }
}

/**
 * The tensor table of a GGUF with no side file at all (quantised tensors shape-only, decoded on
 * readFloat32): for detection and listing, where nothing is built.
 */
export function openGgufTable(path: string): GgufWeights {
  const gguf = GgufFile.open(path);
  const quantised = new Set([...gguf.tensors.values()].filter((t) => !IN_PLACE.has(t.type.name)).map((t) => t.name));
  return new GgufWeights(gguf, null, quantised);
}
