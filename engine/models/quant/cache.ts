/**
 * Quantized side files: the chosen Linear weights of a model file, quantized once and kept on disk as
 * safetensors next to nothing of the user's (a cache folder). The file name is a hash of the source's
 * fingerprint and the settings, so the same model at the same settings reuses it and a changed file or
 * setting writes a new one. Per weight key K it holds `K::q` (uint8 codes [N, kBlocks, blob]),
 * `K::scales` (float32 [N·kBlocks]) and, asymmetric, `K::zp` (uint8).
 *
 * The fingerprint is not a full-content hash: hashing 24 GB costs as much as quantizing it. It covers the
 * header (names, dtypes, shapes, offsets), the size and 64 KiB samples spread over the data section.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { WeftError, errorMessage } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { SideFileWriter } from './side-file.ts';
import { checkSettings, kBlocksOf, quantizeMatrix, type QuantSettings } from './nbits.ts';

const FORMAT = 'weft-quant-nbits/1';
const SAMPLES = 32;
const SAMPLE_BYTES = 64 * 1024;

/** Stable fingerprint of a safetensors file: header, size and sampled data (see the file comment). */
export function sourceFingerprint(file: SafetensorsFile): string {
  const fd = openSync(file.path, 'r');
  try {
    const size = fstatSync(fd).size;
    const h = createHash('sha256').update(`${size}|`);
    const head = Buffer.alloc(file.dataStart);
    readSync(fd, head, 0, head.length, 0);
    h.update(head);
    const span = size - file.dataStart;
    const buf = Buffer.alloc(Math.min(SAMPLE_BYTES, Math.max(0, span)));
    for (let i = 0; i < SAMPLES && buf.length > 0; i++) {
      const pos = file.dataStart + Math.floor(((span - buf.length) * i) / (SAMPLES - 1));
      const n = readSync(fd, buf, 0, buf.length, pos);
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

export function settingsTag(s: QuantSettings): string {
  return `${s.symmetric ? 's' : 'a'}${s.bits}b${s.blockSize}`;
}

export interface QuantCacheResult {
  /** The side file, header read (descriptor closed: ORT maps it by path). */
  file: SafetensorsFile;
  /** False when an existing side file was reused. */
  written: boolean;
  /** Milliseconds spent quantizing and writing (0 on reuse). */
  ms: number;
}

interface Planned { key: string; N: number; K: number; kBlocks: number; blob: number; zpRow: number }

/** Name of the side file for `keys` of `source` at settings `s`. */
export function quantFileName(fingerprint: string, keys: readonly string[], s: QuantSettings): string {
  const h = createHash('sha256').update(JSON.stringify({ f: FORMAT, fingerprint, keys: [...keys].sort(), s: settingsTag(s) })).digest('hex');
  return `quant-${settingsTag(s)}-${h.slice(0, 24)}.safetensors`;
}

function openIfValid(p: string, fingerprint: string, keys: readonly string[]): SafetensorsFile | null {
  if (!existsSync(p)) return null;
  try {
    const f = SafetensorsFile.open(p);
    f.close();
    const ok = f.metadata.format === FORMAT && f.metadata.source === fingerprint && keys.every((k) => f.has(`${k}::q`) && f.has(`${k}::scales`));
    if (!ok) return null;
    const now = new Date();
    utimesSync(p, now, now);
    return f;
  } catch {
    return null; // a damaged cache file is rewritten
  }
}

/**
 * Quantizes `keys` (2-D [N, K] weights of any float dtype) of `source` into a side file in `cacheDir`, or
 * reuses the one already there. Tensors are read, quantized and written one at a time.
 */
export function ensureQuantized(source: SafetensorsFile, keys: readonly string[], s: QuantSettings, cacheDir: string): QuantCacheResult {
  checkSettings(s);
  const fingerprint = sourceFingerprint(source);
  const target = path.join(cacheDir, quantFileName(fingerprint, keys, s));
  const hit = openIfValid(target, fingerprint, keys);
  if (hit) return { file: hit, written: false, ms: 0 };
  const t0 = performance.now();
  const plan: Planned[] = keys.map((key) => {
    const shape = source.get(key).shape;
    if (shape.length !== 2) throw new WeftError(`${source.path}: tensor "${key}" [${shape.join(', ')}] is not a 2-D Linear weight; it cannot be quantized`, { file: source.path, input: key });
    const [N, K] = shape as [number, number];
    const kBlocks = kBlocksOf(K, s.blockSize);
    return { key, N, K, kBlocks, blob: (s.blockSize * s.bits) / 8, zpRow: Math.ceil((kBlocks * s.bits) / 8) };
  });
  const out = new SideFileWriter({ format: FORMAT, source: fingerprint, source_path: source.path, bits: String(s.bits), block_size: String(s.blockSize), symmetric: String(!!s.symmetric) });
  for (const p of plan) {
    out.add(`${p.key}::q`, 'U8', [p.N, p.kBlocks, p.blob], p.N * p.kBlocks * p.blob);
    out.add(`${p.key}::scales`, 'F32', [p.N * p.kBlocks], p.N * p.kBlocks * 4);
    if (!s.symmetric) out.add(`${p.key}::zp`, 'U8', [p.N * p.zpRow], p.N * p.zpRow);
  }
  const file = out.write(target, source.path, (write) => {
    for (const p of plan) {
      const q = quantizeMatrix(source.readFloat32(p.key), p.N, p.K, s);
      write(q.data);
      write(new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength));
      if (q.zeroPoints) write(q.zeroPoints);
    }
  });
  return { file, written: true, ms: performance.now() - t0 };
}
