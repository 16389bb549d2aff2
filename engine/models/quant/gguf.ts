/**
 * GGUF block weights onto com.microsoft MatMulNBits without dequantising (block 32, the quant module's
 * side-file layout of cache.ts, so quantLinear reads them unchanged).
 *
 *   Q8_0  (fp16 d, 32 × int8 q; w = d·q)        → 8-bit codes q + 128, scale d, implicit zero point 128
 *   Q4_0  (fp16 d, 16 bytes; w = (q − 8)·d)     → 4-bit codes q, scale d, implicit zero point 8
 * Both are exact: ORT computes (code − zp)·scale, the same products ggml does. Q4_0 stores values 0..15 of a
 * block in the low nibbles and 16..31 in the high ones; MatMulNBits wants value 2i low and 2i+1 high, so the
 * nibbles are re-paired. A Linear weight [N, K] is ne = [K, N] in GGUF: rows of K/32 blocks, one per output,
 * exactly MatMulNBits' [N, kBlocks, blob] order.
 *
 * One graph uses one `bits`: 4 when any Linear is Q4_0 (keeping a Q4_0 model's footprint), else 8. Linears
 * of other block types then go: to 8-bit block-32 asymmetric codes re-quantised from their decoded values
 * (K-quants, Q4_1, Q5_x hold ≤ 6 bits a value, so this is near-lossless), or, in a 4-bit graph, to the float
 * side file (re-quantising a Q8_0/Q6_K tensor to 4 bits would lose what its author kept on purpose).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { WeftError, errorMessage } from '../../errors.ts';
import { f16ToF32 } from '../../io/dtypes.ts';
import { openGgufWeights, type GgufWeights } from '../../io/gguf-float.ts';
import { GgufFile, isBlockQuantized, type GgufTensor } from '../../io/gguf.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { quantFileName } from './cache.ts';
import { SideFileWriter } from './side-file.ts';
import type { QuantizedWeights } from './linear.ts';
import { quantizeMatrix, type QuantBits } from './nbits.ts';

const FORMAT = 'weft-quant-nbits/1';
const BLOCK = 32;

/** The MatMulNBits width a GGUF tensor maps onto losslessly (2-D Q8_0 or Q4_0), else null. */
export function directBits(t: GgufTensor): QuantBits | null {
  if (t.shape.length !== 2) return null;
  return t.type.name === 'Q8_0' ? 8 : t.type.name === 'Q4_0' ? 4 : null;
}

export interface RepackedMatrix { N: number; K: number; bits: QuantBits; data: Uint8Array; scales: Float32Array }

/** Re-encodes a Q8_0 or Q4_0 [N, K] tensor's raw blocks into MatMulNBits codes and float32 scales. */
export function repackGgufMatrix(raw: Uint8Array, t: GgufTensor): RepackedMatrix {
  const bits = directBits(t);
  if (!bits) throw new WeftError(`tensor "${t.name}" (${t.type.name}, [${t.shape.join(', ')}]) is not a 2-D Q8_0/Q4_0 weight`, { input: t.name });
  const [N, K] = t.shape as [number, number];
  const blocks = (N * K) / BLOCK;
  if (raw.byteLength !== blocks * t.type.bytes) throw new WeftError(`tensor "${t.name}": ${raw.byteLength} bytes, expected ${blocks * t.type.bytes}`, { input: t.name });
  const blob = (BLOCK * bits) / 8;
  const data = new Uint8Array(blocks * blob);
  const scales = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const at = b * t.type.bytes, o = b * blob;
    scales[b] = f16ToF32(raw[at]! | (raw[at + 1]! << 8));
    if (bits === 8) {
      for (let j = 0; j < 32; j++) data[o + j] = (raw[at + 2 + j]! + 128) & 0xff; // int8 two's complement + 128
    } else {
      const nib = (j: number) => (j < 16 ? raw[at + 2 + j]! & 0xf : raw[at + 2 + j - 16]! >> 4);
      for (let i = 0; i < 16; i++) data[o + i] = nib(2 * i) | (nib(2 * i + 1) << 4);
    }
  }
  return { N, K, bits, data, scales };
}

/** Fingerprint of a GGUF: its whole header, size and 32 × 64 KiB samples of the data (cf. cache.ts). */
export function ggufFingerprint(g: GgufFile): string {
  const fd = openSync(g.path, 'r');
  try {
    const size = fstatSync(fd).size;
    const h = createHash('sha256').update(`gguf|${size}|`);
    const head = Buffer.alloc(g.dataStart);
    readSync(fd, head, 0, head.length, 0);
    h.update(head);
    const span = size - g.dataStart;
    const buf = Buffer.alloc(Math.min(65536, Math.max(0, span)));
    for (let i = 0; i < 32 && buf.length > 0; i++) h.update(buf.subarray(0, readSync(fd, buf, 0, buf.length, g.dataStart + Math.floor(((span - buf.length) * i) / 31))));
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

export interface GgufQuantPlan {
  bits: QuantBits;
  /** Lossless re-encodes (Q4_0 in a 4-bit graph, Q8_0 in an 8-bit one). */
  direct: string[];
  /** Re-quantised from decoded values (8-bit graphs only). */
  requantized: string[];
  /** Left to the float side file. */
  dequantized: string[];
}

/** Which Linear weights go where (see the file comment). `linear` picks the keys used as Linear weights. */
export function planGgufQuant(g: GgufFile, linear: (t: GgufTensor) => boolean = (t) => t.name.endsWith('.weight') && t.shape.length === 2): GgufQuantPlan {
  const cands = [...g.tensors.values()].filter((t) => isBlockQuantized(t.type) && t.shape.length === 2 && linear(t));
  const bits: QuantBits = cands.some((t) => t.type.name === 'Q4_0') ? 4 : 8;
  const plan: GgufQuantPlan = { bits, direct: [], requantized: [], dequantized: [] };
  for (const t of cands) {
    if (directBits(t) === bits) plan.direct.push(t.name);
    else if (bits === 8 && t.type.decodable && t.shape[1]! % BLOCK === 0) plan.requantized.push(t.name);
    else plan.dequantized.push(t.name);
  }
  return plan;
}

function openIfValid(p: string, fingerprint: string, plan: GgufQuantPlan): SafetensorsFile | null {
  if (!existsSync(p)) return null;
  try {
    const f = SafetensorsFile.open(p);
    f.close();
    const ok = f.metadata.format === FORMAT && f.metadata.source === fingerprint && f.metadata.bits === String(plan.bits)
      && [...plan.direct, ...plan.requantized].every((k) => f.has(`${k}::q`) && f.has(`${k}::scales`)) && plan.requantized.every((k) => f.has(`${k}::zp`));
    if (!ok) return null;
    const now = new Date();
    utimesSync(p, now, now);
    return f;
  } catch {
    return null; // a damaged cache file is rewritten
  }
}

/**
 * Writes (or reuses) the MatMulNBits side file for `plan` in cacheDir: one tensor read, re-encoded and
 * written at a time. Returns the side file (descriptor closed: ORT maps it by path).
 */
export function ensureGgufQuantized(g: GgufFile, plan: GgufQuantPlan, cacheDir: string): { file: SafetensorsFile; written: boolean; ms: number } {
  const fingerprint = ggufFingerprint(g);
  const keys = [...plan.direct, ...plan.requantized];
  const target = path.join(cacheDir, quantFileName(`gguf:${fingerprint}`, keys, { bits: plan.bits, blockSize: BLOCK, symmetric: plan.requantized.length === 0 }));
  const hit = openIfValid(target, fingerprint, plan);
  if (hit) return { file: hit, written: false, ms: 0 };
  const t0 = performance.now();
  const out = new SideFileWriter({ format: FORMAT, source: fingerprint, source_path: g.path, bits: String(plan.bits), block_size: String(BLOCK), symmetric: 'gguf' });
  const requant = new Set(plan.requantized);
  for (const k of keys) {
    const [N, K] = g.get(k).shape as [number, number];
    const kb = K / BLOCK;
    out.add(`${k}::q`, 'U8', [N, kb, (BLOCK * plan.bits) / 8], (N * kb * BLOCK * plan.bits) / 8);
    out.add(`${k}::scales`, 'F32', [N * kb], N * kb * 4);
    if (requant.has(k)) out.add(`${k}::zp`, 'U8', [N * Math.ceil((kb * plan.bits) / 8)], N * Math.ceil((kb * plan.bits) / 8));
  }
  const file = out.write(target, g.path, (write) => {
    for (const k of keys) {
      const t = g.get(k);
      if (requant.has(k)) {
        // Not a Q8_0/Q4_0 block: decode and quantize afresh (with zero points) at the graph's bit width.
        const q = quantizeMatrix(g.readFloat32(k), t.shape[0]!, t.shape[1]!, { bits: plan.bits, blockSize: BLOCK });
        write(q.data);
        write(new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength));
        write(q.zeroPoints!);
      } else {
        const r = repackGgufMatrix(g.readRaw(k), t);
        write(r.data);
        write(new Uint8Array(r.scales.buffer, r.scales.byteOffset, r.scales.byteLength));
      }
    }
  });
  return { file, written: true, ms: performance.now() - t0 };
}

export interface GgufModelOptions {
  /** Where both side files go (MatMulNBits codes; decoded floats for what cannot be mapped). */
  cacheDir: string;
  /** Decoded float side file dtype (default F16). */
  floatDtype?: 'F32' | 'F16';
  accuracyLevel?: QuantizedWeights['accuracyLevel'];
  /** Keys used as Linear weights (default: every 2-D `.weight`, right for DiTs whose 2-D weights are all Linears). */
  linear?: (t: GgufTensor) => boolean;
  /** False: decode everything to floats (no MatMulNBits; for builders without a quantised linear). */
  nbits?: boolean;
}

export interface GgufModel {
  /** Every tensor by its torch name and shape; float tensors located in the GGUF or the float side file. */
  source: GgufWeights;
  /** The MatMulNBits side file for `ctx.quant` / `opts.quant` of a builder; absent without quantised Linears. */
  quant?: QuantizedWeights;
  plan: GgufQuantPlan;
  load: { quantMs: number; quantReused: boolean; quantFile?: string };
}

/**
 * Opens a diffusion-model GGUF for a graph builder: Linear weights as MatMulNBits codes (re-encoded once
 * into cacheDir), everything else as floats. Close `source` when the session is built.
 */
export function openGgufModel(file: string, opts: GgufModelOptions): GgufModel {
  const g = GgufFile.open(file);
  try {
    const plan = opts.nbits === false ? { bits: 8 as QuantBits, direct: [], requantized: [], dequantized: [] } : planGgufQuant(g, opts.linear);
    const held = [...plan.direct, ...plan.requantized];
    let quant: QuantizedWeights | undefined;
    const load: GgufModel['load'] = { quantMs: 0, quantReused: false };
    if (held.length > 0) {
      const r = ensureGgufQuantized(g, plan, opts.cacheDir);
      quant = { file: r.file, bits: plan.bits, blockSize: BLOCK, accuracyLevel: opts.accuracyLevel };
      Object.assign(load, { quantMs: r.ms, quantReused: !r.written, quantFile: r.file.path });
    }
    const source = openGgufWeights(g, { cacheDir: opts.cacheDir, dtype: opts.floatDtype, exclude: new Set(held) });
    return { source, quant, plan, load };
  } catch (e) {
    g.close();
    throw e;
  }
}
