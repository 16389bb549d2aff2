/**
 * Linear layers over quantized weights: com.microsoft MatMulNBits (CPU and WebGPU EPs) reads the codes,
 * scales and zero points straight from the side file; bias stays the checkpoint's own tensor.
 */
import { WeftError } from '../../errors.ts';
import type { SafetensorsFile } from '../../io/safetensors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { DataType, MS_DOMAIN, type GraphBuilder } from '../../onnx/index.ts';
import { rawWeight } from './raw.ts';

export interface QuantizedWeights {
  /** The side file from ensureQuantized(), or an overlay of LoRA-patched codes on it (lora/quant.ts). */
  file: WeightSource;
  bits: 4 | 8;
  blockSize: number;
  /**
   * ORT's accuracy_level: 0 (default) computes in float32; 4 lets the CPU kernel quantize activations to
   * int8 per block and use integer dot products (faster, less exact).
   */
  accuracyLevel?: 0 | 1 | 2 | 3 | 4;
}

/** True when the side file holds `weightKey`. */
export function isQuantized(q: QuantizedWeights | undefined, weightKey: string): boolean {
  return !!q && q.file.has(`${weightKey}::q`);
}

/** x @ Wᵀ (+ bias) with W = `${prefix}.weight` taken from the quantized side file. */
export function quantLinear(g: GraphBuilder, src: SafetensorsFile, q: QuantizedWeights, prefix: string, x: string): string {
  const wKey = `${prefix}.weight`;
  const [N, K] = g.shapeOf(src, wKey) as [number, number];
  const codes = q.file.tensors.get(`${wKey}::q`);
  if (!codes || codes.shape[0] !== N) {
    throw new WeftError(`${q.file.path}: quantized "${wKey}" is missing or does not match [${N}, ${K}] of ${src.path}`, { file: q.file.path, input: wKey, type: 'model_load_error' });
  }
  // MatMulNBits types its scales like its activations: an fp16 graph gets them Cast (folded by ORT at load).
  const scales = rawWeight(g, q.file, `${wKey}::scales`);
  const inputs = [x, rawWeight(g, q.file, `${wKey}::q`), g.fp16 ? g.op('Cast', [scales], { to: DataType.float32 }) : scales];
  if (q.file.has(`${wKey}::zp`)) inputs.push(rawWeight(g, q.file, `${wKey}::zp`));
  const y = g.op('MatMulNBits', inputs, { K, N, bits: q.bits, block_size: q.blockSize, accuracy_level: q.accuracyLevel ?? 0 }, { domain: MS_DOMAIN });
  const bKey = `${prefix}.bias`;
  return src.has(bKey) ? g.op('Add', [y, g.weight(src, bKey)]) : y;
}
