/** Weight-only 8/4-bit quantization for com.microsoft MatMulNBits, cached in side files. */
export { quantizeMatrix, dequantizeMatrix, kBlocksOf, checkSettings, type QuantBits, type QuantBlockSize, type QuantSettings, type QuantizedMatrix } from './nbits.ts';
export { ensureQuantized, quantFileName, settingsTag, sourceFingerprint, type QuantCacheResult } from './cache.ts';
export { quantLinear, isQuantized, type QuantizedWeights } from './linear.ts';
export { rawWeight } from './raw.ts';
