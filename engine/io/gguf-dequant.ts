/**
 * ggml tensor types: the block geometry of every type a GGUF file may name (so a reader can size and bound
 * each tensor even when it cannot decode it), and float32 decoding for the types diffusion-model GGUFs use
 * (ComfyUI-GGUF's FLUX/SD3 files: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K).
 *
 * Every block type stores one row's values in order, blocks along the fastest dim (ne[0]); the decoders
 * below take whole blocks and write values in that order, so a tensor decodes straight into torch order.
 * Layouts follow ggml's block structs (little-endian; half-precision scales).
 */
import { WeftError } from '../errors.ts';
import { bf16ToF32, f16ToF32 } from './dtypes.ts';

export interface GgmlTypeInfo {
  id: number;
  name: string;
  /** Values per block (1 for plain element types). */
  block: number;
  /** Bytes per block. */
  bytes: number;
  /** True when readFloat32 can decode it. */
  decodable: boolean;
}

// Sizes of the types we do not decode are still needed: they bound the tensor and let the rest of the file open.
const TABLE: Array<[number, string, number, number, boolean]> = [
  [0, 'F32', 1, 4, true], [1, 'F16', 1, 2, true], [2, 'Q4_0', 32, 18, true], [3, 'Q4_1', 32, 20, true],
  [6, 'Q5_0', 32, 22, true], [7, 'Q5_1', 32, 24, true], [8, 'Q8_0', 32, 34, true], [9, 'Q8_1', 32, 36, false],
  [10, 'Q2_K', 256, 84, false], [11, 'Q3_K', 256, 110, false], [12, 'Q4_K', 256, 144, true], [13, 'Q5_K', 256, 176, true],
  [14, 'Q6_K', 256, 210, true], [15, 'Q8_K', 256, 292, false], [16, 'IQ2_XXS', 256, 66, false], [17, 'IQ2_XS', 256, 74, false],
  [18, 'IQ3_XXS', 256, 98, false], [19, 'IQ1_S', 256, 50, false], [20, 'IQ4_NL', 32, 18, false], [21, 'IQ3_S', 256, 110, false],
  [22, 'IQ2_S', 256, 82, false], [23, 'IQ4_XS', 256, 136, false], [24, 'I8', 1, 1, false], [25, 'I16', 1, 2, false],
  [26, 'I32', 1, 4, false], [27, 'I64', 1, 8, false], [28, 'F64', 1, 8, true], [29, 'IQ1_M', 256, 56, false],
  [30, 'BF16', 1, 2, true], [34, 'TQ1_0', 256, 54, false], [35, 'TQ2_0', 256, 66, false],
];
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(TABLE.map(([id, name, block, bytes, decodable]) => [id, { id, name, block, bytes, decodable }]));
export const GGML_TYPE_BY_NAME: ReadonlyMap<string, GgmlTypeInfo> = new Map([...GGML_TYPES.values()].map((t) => [t.name, t]));

/** True for block-quantised types (anything that is not a plain element type). */
export function isBlockQuantized(t: GgmlTypeInfo): boolean {
  return t.block > 1;
}

type Decoder = (src: Uint8Array, dv: DataView, at: number, out: Float32Array, o: number) => void;

/** The 6-bit scale and min of sub-block j from a Q4_K/Q5_K 12-byte scales field starting at s. */
function scaleMinK4(src: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [src[s + j]! & 63, src[s + j + 4]! & 63];
  // Sub-blocks 4..7 keep their low 4 bits in bytes 8..11 and their top 2 bits in the spare bits of bytes 0..7.
  return [(src[s + j + 4]! & 0xf) | ((src[s + j - 4]! >> 6) << 4), (src[s + j + 4]! >> 4) | ((src[s + j]! >> 6) << 4)];
}

const DECODERS: Record<string, Decoder> = {
  Q8_0(src, dv, at, out, o) {
    const d = f16ToF32(dv.getUint16(at, true));
    for (let j = 0; j < 32; j++) out[o + j] = d * dv.getInt8(at + 2 + j);
  },
  Q4_0(src, dv, at, out, o) {
    // Low nibbles hold values 0..15 of the block, high nibbles 16..31.
    const d = f16ToF32(dv.getUint16(at, true));
    for (let j = 0; j < 16; j++) {
      const b = src[at + 2 + j]!;
      out[o + j] = ((b & 0xf) - 8) * d;
      out[o + j + 16] = ((b >> 4) - 8) * d;
    }
  },
  Q4_1(src, dv, at, out, o) {
    const d = f16ToF32(dv.getUint16(at, true)), m = f16ToF32(dv.getUint16(at + 2, true));
    for (let j = 0; j < 16; j++) {
      const b = src[at + 4 + j]!;
      out[o + j] = (b & 0xf) * d + m;
      out[o + j + 16] = (b >> 4) * d + m;
    }
  },
  Q5_0(src, dv, at, out, o) {
    // The fifth bit of value j sits in bit j of a 32-bit little-endian word after the scale.
    const d = f16ToF32(dv.getUint16(at, true));
    const qh = dv.getUint32(at + 2, true);
    for (let j = 0; j < 16; j++) {
      const b = src[at + 6 + j]!;
      out[o + j] = (((b & 0xf) | (((qh >>> j) & 1) << 4)) - 16) * d;
      out[o + j + 16] = (((b >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d;
    }
  },
  Q5_1(src, dv, at, out, o) {
    const d = f16ToF32(dv.getUint16(at, true)), m = f16ToF32(dv.getUint16(at + 2, true));
    const qh = dv.getUint32(at + 4, true);
    for (let j = 0; j < 16; j++) {
      const b = src[at + 8 + j]!;
      out[o + j] = ((b & 0xf) | (((qh >>> j) & 1) << 4)) * d + m;
      out[o + j + 16] = ((b >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * d + m;
    }
  },
  Q4_K(src, dv, at, out, o) {
    // 8 sub-blocks of 32; each 32-byte run of qs holds sub-block 2i in low nibbles and 2i+1 in high nibbles.
    const d = f16ToF32(dv.getUint16(at, true)), dmin = f16ToF32(dv.getUint16(at + 2, true));
    const qs = at + 16;
    for (let i = 0; i < 4; i++) {
      const [s0, m0] = scaleMinK4(src, at + 4, 2 * i), [s1, m1] = scaleMinK4(src, at + 4, 2 * i + 1);
      for (let l = 0; l < 32; l++) {
        const b = src[qs + 32 * i + l]!;
        out[o + 64 * i + l] = d * s0 * (b & 0xf) - dmin * m0;
        out[o + 64 * i + 32 + l] = d * s1 * (b >> 4) - dmin * m1;
      }
    }
  },
  Q5_K(src, dv, at, out, o) {
    // As Q4_K plus a fifth bit: bit (2i) of qh[l] for sub-block 2i, bit (2i+1) for sub-block 2i+1.
    const d = f16ToF32(dv.getUint16(at, true)), dmin = f16ToF32(dv.getUint16(at + 2, true));
    const qh = at + 16, qs = at + 48;
    for (let i = 0; i < 4; i++) {
      const [s0, m0] = scaleMinK4(src, at + 4, 2 * i), [s1, m1] = scaleMinK4(src, at + 4, 2 * i + 1);
      for (let l = 0; l < 32; l++) {
        const b = src[qs + 32 * i + l]!, h = src[qh + l]!;
        out[o + 64 * i + l] = d * s0 * ((b & 0xf) | (((h >> (2 * i)) & 1) << 4)) - dmin * m0;
        out[o + 64 * i + 32 + l] = d * s1 * ((b >> 4) | (((h >> (2 * i + 1)) & 1) << 4)) - dmin * m1;
      }
    }
  },
  Q6_K(src, dv, at, out, o) {
    // Two halves of 128: ql 64 bytes (low nibbles → values 0..63, high → 64..127), qh 32 bytes (2 bits each
    // for the four 32-runs), 16 int8 scales of 16 values each; value = d · scale · (q − 32).
    const ql0 = at, qh0 = at + 128, sc0 = at + 192;
    const d = f16ToF32(dv.getUint16(at + 208, true));
    for (let half = 0; half < 2; half++) {
      const ql = ql0 + 64 * half, qh = qh0 + 32 * half, sc = sc0 + 8 * half, y = o + 128 * half;
      for (let l = 0; l < 32; l++) {
        const h = src[qh + l]!, is = l >> 4;
        out[y + l] = d * dv.getInt8(sc + is) * (((src[ql + l]! & 0xf) | ((h & 3) << 4)) - 32);
        out[y + l + 32] = d * dv.getInt8(sc + is + 2) * (((src[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32);
        out[y + l + 64] = d * dv.getInt8(sc + is + 4) * (((src[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32);
        out[y + l + 96] = d * dv.getInt8(sc + is + 6) * (((src[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32);
      }
    }
  },
};

/**
 * Decodes `n` values of ggml type `type` from `raw` into float32 (torch order). `raw` must hold exactly
 * n / block whole blocks; `file`/`name` name the tensor in errors.
 */
export function dequantize(raw: Uint8Array, type: GgmlTypeInfo, n: number, file = '<buffer>', name = '?'): Float32Array {
  const fail = (msg: string): never => { throw new WeftError(`${file}: tensor "${name}": ${msg}`, { file, input: name, type: 'invalid_model_file' }); };
  if (!type.decodable) fail(`ggml type ${type.name} cannot be converted to float32 (supported: ${[...GGML_TYPES.values()].filter((t) => t.decodable).map((t) => t.name).join(', ')})`);
  if (n % type.block !== 0 || raw.byteLength !== (n / type.block) * type.bytes) fail(`${n} values of ${type.name} need ${(n / type.block) * type.bytes} bytes, got ${raw.byteLength}`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(n);
  switch (type.name) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true); return out;
    case 'F64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true); return out;
    case 'F16': for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true)); return out;
    case 'BF16': for (let i = 0; i < n; i++) out[i] = bf16ToF32(dv.getUint16(2 * i, true)); return out;
  }
  const dec = DECODERS[type.name]!;
  for (let b = 0, at = 0; b < n / type.block; b++, at += type.bytes) dec(raw, dv, at, out, b * type.block);
  return out;
}
