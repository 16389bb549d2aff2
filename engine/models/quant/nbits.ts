/**
 * Block-wise weight-only quantization in the layout of ONNX Runtime's com.microsoft MatMulNBits.
 *
 * A torch Linear weight W [N, K] (out, in) is cut along K into blocks of `blockSize`; each block of each
 * output row gets one float scale and (asymmetric mode) one zero point, and w ≈ (q − zp)·scale.
 *   B           uint8 [N, kBlocks, blockSize·bits/8], codes packed low nibble first (4-bit)
 *   scales      float32 [N·kBlocks]
 *   zero_points uint8 [N·ceil(kBlocks·bits/8)]: 4-bit zero points of one row share bytes, low nibble first,
 *               and a row starts on a fresh byte; absent in symmetric mode, where ORT uses 2^(bits−1).
 * K that is not a multiple of blockSize is zero-padded: those codes meet no activation (ORT ignores them).
 */
import { WeftError } from '../../errors.ts';

export type QuantBits = 4 | 8;
export type QuantBlockSize = 16 | 32 | 64 | 128 | 256;

export interface QuantSettings {
  bits: QuantBits;
  blockSize: QuantBlockSize;
  /** Symmetric: scale from max|w|, implicit zero point 2^(bits−1), no zero_points tensor. Default false. */
  symmetric?: boolean;
}

export interface QuantizedMatrix {
  N: number;
  K: number;
  bits: QuantBits;
  blockSize: number;
  kBlocks: number;
  data: Uint8Array;
  scales: Float32Array;
  zeroPoints: Uint8Array | null;
}

export function kBlocksOf(K: number, blockSize: number): number {
  return Math.ceil(K / blockSize);
}

export function checkSettings(s: QuantSettings): void {
  if (s.bits !== 4 && s.bits !== 8) throw new WeftError(`quantization: bits must be 4 or 8, got ${String(s.bits)}`);
  if (![16, 32, 64, 128, 256].includes(s.blockSize)) throw new WeftError(`quantization: block size must be 16, 32, 64, 128 or 256, got ${String(s.blockSize)}`);
}

/** Quantizes W [N, K] (row-major float32) block-wise along K. */
export function quantizeMatrix(w: Float32Array, N: number, K: number, s: QuantSettings): QuantizedMatrix {
  checkSettings(s);
  if (w.length !== N * K) throw new WeftError(`quantization: weight has ${w.length} values, expected ${N}×${K}`);
  const { bits, blockSize } = s;
  const kBlocks = kBlocksOf(K, blockSize);
  const blob = (blockSize * bits) / 8;
  const qmax = (1 << bits) - 1;
  const mid = 1 << (bits - 1);
  const data = new Uint8Array(N * kBlocks * blob);
  const scales = new Float32Array(N * kBlocks);
  const zpRow = Math.ceil((kBlocks * bits) / 8);
  const zeroPoints = s.symmetric ? null : new Uint8Array(N * zpRow);
  const codes = new Uint8Array(blockSize);
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(K, k0 + blockSize);
      let scale: number;
      let zp: number;
      if (s.symmetric) {
        let amax = 0;
        for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(w[row + k]!));
        // Codes use [1, qmax] around mid so +amax and −amax are both exact.
        scale = amax / (mid - 1);
        zp = mid;
      } else {
        // The range always holds 0 so that zero weights (pruned rows, padding) stay exactly zero.
        let lo = 0, hi = 0;
        for (let k = k0; k < k1; k++) {
          const v = w[row + k]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        scale = (hi - lo) / qmax;
        zp = scale === 0 ? mid : Math.min(qmax, Math.max(0, Math.round(-lo / scale)));
      }
      const sc = Math.fround(scale);
      scales[n * kBlocks + b] = sc;
      codes.fill(zp);
      if (sc !== 0) for (let k = k0; k < k1; k++) codes[k - k0] = Math.min(qmax, Math.max(0, Math.round(w[row + k]! / sc + zp)));
      const o = (n * kBlocks + b) * blob;
      if (bits === 8) data.set(codes, o);
      else for (let i = 0; i < blob; i++) data[o + i] = codes[2 * i]! | (codes[2 * i + 1]! << 4);
      if (zeroPoints) {
        if (bits === 8) zeroPoints[n * zpRow + b] = zp;
        else zeroPoints[n * zpRow + (b >> 1)]! |= zp << ((b & 1) * 4);
      }
    }
  }
  return { N, K, bits, blockSize, kBlocks, data, scales, zeroPoints };
}

/** The float weights ORT will compute with (tests, error estimates). */
export function dequantizeMatrix(q: QuantizedMatrix): Float32Array {
  const { N, K, bits, blockSize, kBlocks } = q;
  const blob = (blockSize * bits) / 8;
  const zpRow = Math.ceil((kBlocks * bits) / 8);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / blockSize);
      const j = k - b * blockSize;
      const byte = q.data[(n * kBlocks + b) * blob + (bits === 8 ? j : j >> 1)]!;
      const code = bits === 8 ? byte : (byte >> ((j & 1) * 4)) & 15;
      let zp = 1 << (bits - 1);
      if (q.zeroPoints) {
        const zb = q.zeroPoints[n * zpRow + (bits === 8 ? b : b >> 1)]!;
        zp = bits === 8 ? zb : (zb >> ((b & 1) * 4)) & 15;
      }
      out[n * K + k] = (code - zp) * q.scales[n * kBlocks + b]!;
    }
  return out;
}
