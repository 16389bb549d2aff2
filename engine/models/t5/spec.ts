/**
 * T5 encoder dimensions, every one read from tensor shapes (heads and bucket count from the shape of block
 * 0's relative_attention_bias table), plus the relative-position bucket function of T5 (HF
 * `_relative_position_bucket`, which ComfyUI's comfy/t5.py follows) evaluated with torch's float32 steps.
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';

export interface T5Spec {
  /** Key prefix including its trailing dot ('' for a plain t5xxl file). */
  prefix: string;
  /** Token table key (`shared.weight`, or `encoder.embed_tokens.weight` in some exports). */
  embedKey: string;
  dModel: number;
  numHeads: number;
  dKv: number;
  dFf: number;
  numLayers: number;
  vocabSize: number;
  numBuckets: number;
  /** Not recoverable from shapes: 128 in every released T5 / T5 v1.1 / UMT5 config. */
  maxDistance: number;
  /** T5 v1.1 gated-GELU feed-forward (wi_0, wi_1); original T5 has one `wi` with ReLU. */
  gated: boolean;
  /** RMSNorm epsilon (layer_norm_epsilon 1e-6 in every T5 config). */
  eps: number;
}

/** Where T5 encoders are found: a plain file, or the SD3-style single-file checkpoint. */
export const T5_PREFIXES = ['', 'text_encoders.t5xxl.transformer.'] as const;

export function findT5Prefix(file: WeightSource): string | null {
  for (const p of T5_PREFIXES) if (file.has(`${p}encoder.block.0.layer.0.SelfAttention.q.weight`)) return p;
  return null;
}

function need(file: WeightSource, key: string): number[] {
  const t = file.tensors.get(key);
  if (!t) throw new WeftError(`${file.path}: T5 tensor "${key}" is missing`, { file: file.path, input: key, type: 'model_load_error' });
  return [...t.shape];
}

export function t5Spec(file: WeightSource, prefix?: string, o: { maxDistance?: number } = {}): T5Spec {
  const p = prefix ?? findT5Prefix(file);
  if (p === null) throw new WeftError(`${file.path}: no T5 encoder found (expected encoder.block.0.layer.0.SelfAttention.q.weight)`, { file: file.path, type: 'model_load_error' });
  const attn = `${p}encoder.block.0.layer.0.SelfAttention`;
  const q = need(file, `${attn}.q.weight`);
  const rel = need(file, `${attn}.relative_attention_bias.weight`);
  const [numBuckets, numHeads] = rel as [number, number];
  if (q[0]! % numHeads !== 0) throw new WeftError(`${file.path}: "${attn}.q.weight" has ${q[0]} rows, not divisible by the ${numHeads} heads of relative_attention_bias`, { file: file.path, input: `${attn}.q.weight`, type: 'model_load_error' });
  const embedKey = [`${p}shared.weight`, `${p}encoder.embed_tokens.weight`].find((k) => file.has(k));
  if (!embedKey) throw new WeftError(`${file.path}: T5 token table missing (neither "${p}shared.weight" nor "${p}encoder.embed_tokens.weight")`, { file: file.path, input: `${p}shared.weight`, type: 'model_load_error' });
  const ffp = `${p}encoder.block.0.layer.1.DenseReluDense`;
  const gated = file.has(`${ffp}.wi_0.weight`);
  let numLayers = 0;
  while (file.has(`${p}encoder.block.${numLayers}.layer.0.SelfAttention.q.weight`)) numLayers++;
  if (!file.has(`${p}encoder.final_layer_norm.weight`)) need(file, `${p}encoder.final_layer_norm.weight`);
  return {
    prefix: p, embedKey, dModel: q[1]!, numHeads, dKv: q[0]! / numHeads, dFf: need(file, `${ffp}.${gated ? 'wi_0' : 'wi'}.weight`)[0]!,
    numLayers, vocabSize: need(file, embedKey)[0]!, numBuckets, maxDistance: o.maxDistance ?? 128, gated, eps: 1e-6,
  };
}

const f = Math.fround;

/**
 * Bucket of relative position `rel` = key position − query position (bidirectional encoder form): half the
 * buckets per direction, exact below numBuckets/4, logarithmic up to maxDistance, saturated beyond.
 * The log branch is evaluated as torch does it in float32 (log of a float32 ratio, divided by the float32
 * rounding of log(maxDistance/maxExact)), so values that land exactly on an integer (rel = ±16, ±32, ±64
 * with the standard sizes) truncate the same way.
 */
export function relativePositionBucket(rel: number, numBuckets: number, maxDistance: number): number {
  const half = Math.floor(numBuckets / 2);
  const bucket = rel > 0 ? half : 0;
  const n = Math.abs(rel);
  const maxExact = Math.floor(half / 2);
  if (n < maxExact) return bucket + n;
  const ratio = f(Math.log(f(f(n) / maxExact)));
  const large = Math.trunc(f(f(ratio / f(Math.log(maxDistance / maxExact))) * (half - maxExact)));
  return bucket + Math.min(maxExact + large, half - 1);
}

/**
 * Buckets for rel = −reach … +reach (index rel + reach). Past maxDistance the bucket no longer changes, so
 * the graph clamps relative positions to ±reach and looks them up here: any sequence length works.
 */
export function bucketTable(numBuckets: number, maxDistance: number): { table: BigInt64Array; reach: number } {
  const reach = maxDistance;
  const table = new BigInt64Array(2 * reach + 1);
  for (let r = -reach; r <= reach; r++) table[r + reach] = BigInt(relativePositionBucket(r, numBuckets, maxDistance));
  return { table, reach };
}
