/**
 * The side file: only the patched tensors, merged, in one safetensors file named by a hash of everything that
 * decides its bytes (base file identity, the patch scope, each LoRA's identity and strength). The same
 * LoRA stack at the same strengths reuses it untouched; another strength is another file. `PatchedSource`
 * then answers patched keys from it and every other key from the user's checkpoint.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { WeftError } from '../../errors.ts';
import { dtypeSize, SafetensorsFile, type Dtype, type SafetensorsTensor } from '../../io/safetensors.ts';
import { locateWeight, sourceFiles, type TensorLocation, type WeightSource } from '../../onnx/weights.ts';
import { encodeAs, mergeFloat32, storedDtype, type Weighted } from './merge.ts';

const FORMAT = 'weft-lora-merge/1';
/** Side files kept per cache folder; older ones (by last use) are removed after a write. */
export const KEEP_SIDE_FILES = 12;

/** A file's identity without reading it: real path, size, modification time. */
export function fileIdentity(p: string): string {
  const real = realpathSync(p);
  const st = statSync(real);
  return `${real}|${st.size}|${st.mtimeMs}`;
}

export class PatchedSource implements WeightSource {
  readonly tensors: Map<string, SafetensorsTensor>;
  private readonly sideKeys: Map<string, SafetensorsTensor>;

  /** Reads the side file's header and closes it: ORT maps by path, so no descriptor is held. */
  constructor(readonly base: WeightSource, readonly sidePath: string) {
    const side = SafetensorsFile.open(sidePath);
    this.sideKeys = new Map(side.tensors);
    side.close();
    this.tensors = new Map(base.tensors);
    for (const [k, t] of this.sideKeys) this.tensors.set(k, t);
  }

  get path(): string { return this.base.path; }
  get metadata(): Record<string, string> { return this.base.metadata; }
  /** Checkpoint keys read from the side file. */
  get patchedKeys(): string[] { return [...this.sideKeys.keys()]; }
  has(key: string): boolean { return this.tensors.has(key); }
  keys(): string[] { return [...this.tensors.keys()]; }
  get(key: string): SafetensorsTensor {
    const t = this.tensors.get(key);
    if (!t) throw new WeftError(`${this.path}: no tensor named "${key}"`, { file: this.path, input: key, type: 'invalid_model_file' });
    return t;
  }
  private fromSide<T>(key: string, read: (f: SafetensorsFile) => T): T {
    const f = SafetensorsFile.open(this.sidePath);
    try { return read(f); } finally { f.close(); }
  }
  readRaw(key: string): Buffer { return this.sideKeys.has(key) ? this.fromSide(key, (f) => f.readRaw(key)) : this.base.readRaw(key); }
  readFloat32(key: string): Float32Array { return this.sideKeys.has(key) ? this.fromSide(key, (f) => f.readFloat32(key)) : this.base.readFloat32(key); }
  locate(key: string): TensorLocation {
    const t = this.sideKeys.get(key);
    return t ? { path: this.sidePath, tensor: t } : locateWeight(this.base, key);
  }
}

export interface SideFile {
  path: string;
  /** False when an existing side file was reused. */
  written: boolean;
}

/** Deterministic name of the side file for these inputs. */
export function sideFileName(base: WeightSource, scope: string, loras: ReadonlyArray<{ path: string; strength: number }>): string {
  const ids = loras.map((l) => `${fileIdentity(l.path)}@${l.strength}`).sort();
  const h = createHash('sha256').update(JSON.stringify({ f: FORMAT, base: sourceFiles(base).map(fileIdentity), scope, ids })).digest('hex');
  return `lora-${h.slice(0, 32)}.safetensors`;
}

/**
 * Writes (or reuses) the side file holding every target key of `parts` merged. Tensors are merged and
 * written one at a time, so memory holds one tensor, not the whole patch set.
 */
export function materialise(base: WeightSource, parts: ReadonlyMap<string, Weighted[]>, file: string, meta: Record<string, string>): SideFile {
  if (existsSync(file)) {
    try {
      const f = SafetensorsFile.open(file);
      const ok = f.metadata.format === FORMAT && [...parts.keys()].every((k) => f.has(k));
      f.close();
      if (ok) {
        const now = new Date();
        utimesSync(file, now, now);
        return { path: file, written: false };
      }
    } catch { /* a damaged cache file is rewritten below */ }
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const keys = [...parts.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: { ...meta, format: FORMAT } };
  let offset = 0;
  for (const k of keys) {
    const t = base.get(k);
    const dtype: Dtype = storedDtype(t.dtype);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * dtypeSize(dtype);
    header[k] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hbuf = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hbuf.length));
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, len);
    writeAll(fd, hbuf);
    for (const k of keys) {
      const { data } = encodeAs(mergeFloat32(base, k, parts.get(k)!), base.get(k).dtype);
      writeAll(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    closeSync(fd);
    renameSync(tmp, file);
  } catch (e) {
    try { closeSync(fd); } catch { /* closed */ }
    try { unlinkSync(tmp); } catch { /* never written */ }
    throw e;
  }
  prune(path.dirname(file), file);
  return { path: file, written: true };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

/** Removes the least recently used files named like `pattern` beyond KEEP_SIDE_FILES (never `keep`). */
export function prune(dir: string, keep: string, pattern = /^lora-[0-9a-f]{32}\.safetensors$/): void {
  const files = readdirSync(dir).filter((n) => pattern.test(n)).map((n) => path.join(dir, n));
  if (files.length <= KEEP_SIDE_FILES) return;
  const byAge = files.filter((f) => f !== keep).map((f) => ({ f, t: statSync(f).mtimeMs })).sort((a, b) => a.t - b.t);
  for (const { f } of byAge.slice(0, files.length - KEEP_SIDE_FILES)) {
    // A session may still map it (Windows refuses): it goes on a later prune.
    try { unlinkSync(f); } catch { /* in use */ }
  }
}
