/**
 * T5 encoder graph (T5 v1.1 as FLUX / SD3 use it, original T5 too): token ids [B, L] → last hidden state
 * [B, L, d_model] after the final RMSNorm. No attention mask: ComfyUI's FLUX path lets pad tokens attend
 * and be attended, so the output for the first tokens depends on the padding length (256 for FLUX).
 *
 * Attention is com.microsoft MultiHeadAttention with scale 1 (T5 folds 1/sqrt(d) into its q weights) and
 * the relative-position bias through its `attention_bias` input (index 5); for WebGPU the layers' decomposed
 * form, with the bias added to the scores. The bias [1, H, L, L] is computed
 * once from block 0's table (all blocks reuse it): relative positions are clamped to ±maxDistance and
 * mapped to buckets by a constant lookup table, so the graph takes any sequence length.
 *
 * With `quant` the block Linears (q, k, v, o, wi_0/wi_1/wi, wo: >97% of T5-XXL's parameters) run as
 * MatMulNBits over a side file from ensureQuantized(); the token table, the RMSNorm scales and the relative
 * bias table stay float (small, and Gather / elementwise ops have no packed-weight form).
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { GraphBuilder, type Ep } from '../../onnx/index.ts';
import { attention, linear as floatLinear } from '../layers/index.ts';
import { isQuantized, quantLinear, type QuantizedWeights } from '../quant/linear.ts';
import { bucketTable, type T5Spec } from './spec.ts';

export interface T5GraphOptions {
  ep?: Ep;
  /** Also output `position_bias` [1, H, L, L] (tests and conformance debugging). */
  exposeBias?: boolean;
  /** Quantized block Linears (side file from ensureQuantized over t5QuantKeys()). */
  quant?: QuantizedWeights;
}

/** The 2-D Linear weights of the encoder blocks: what the quantizer takes. */
export function t5QuantKeys(spec: T5Spec): string[] {
  const keys: string[] = [];
  const ffNames = spec.gated ? ['wi_0', 'wi_1', 'wo'] : ['wi', 'wo'];
  for (let i = 0; i < spec.numLayers; i++) {
    const b = `${spec.prefix}encoder.block.${i}`;
    for (const n of ['q', 'k', 'v', 'o']) keys.push(`${b}.layer.0.SelfAttention.${n}.weight`);
    for (const n of ffNames) keys.push(`${b}.layer.1.DenseReluDense.${n}.weight`);
  }
  return keys;
}

/** T5LayerNorm: x·rsqrt(mean(x²) + eps)·w, no mean subtraction, no bias. */
function rmsNorm(g: GraphBuilder, file: SafetensorsFile, key: string, x: string, eps: number): string {
  const ms = g.op('ReduceMean', [g.op('Mul', [x, x]), g.constInt64([-1])], { keepdims: 1 });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(eps)])])]);
  return g.op('Mul', [g.weight(file, key), g.op('Mul', [x, inv])]);
}

function positionBias(g: GraphBuilder, file: SafetensorsFile, spec: T5Spec, ids: string): string {
  const { table, reach } = bucketTable(spec.numBuckets, spec.maxDistance);
  const len = g.op('Squeeze', [g.op('Shape', [ids], { start: 1, end: 2 }), g.constInt64([0])]);
  const pos = g.op('Range', [g.constant(BigInt64Array.of(0n), []), len, g.constant(BigInt64Array.of(1n), [])]);
  // rel[i][j] = j − i: key (memory) position minus query (context) position.
  const rel = g.op('Sub', [g.op('Unsqueeze', [pos, g.constInt64([0])]), g.op('Unsqueeze', [pos, g.constInt64([1])])]);
  const clamped = g.op('Min', [g.op('Max', [rel, g.constant(BigInt64Array.of(BigInt(-reach)), [])]), g.constant(BigInt64Array.of(BigInt(reach)), [])]);
  const buckets = g.op('Gather', [g.constant(table, [table.length]), g.op('Add', [clamped, g.constant(BigInt64Array.of(BigInt(reach)), [])])], { axis: 0 });
  const relKey = `${spec.prefix}encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight`;
  const lLH = g.op('Gather', [g.weight(file, relKey), buckets], { axis: 0 });
  return g.op('Unsqueeze', [g.op('Transpose', [lLH], { perm: [2, 0, 1] }), g.constInt64([0])]);
}

export function buildT5EncoderGraph(file: SafetensorsFile, spec: T5Spec, opts: T5GraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder({ name: `t5_encoder:${file.path}`, ep: opts.ep });
  const p = spec.prefix;
  const quant = opts.quant;
  const linear = (g: GraphBuilder, f: SafetensorsFile, prefix: string, x: string): string =>
    isQuantized(quant, `${prefix}.weight`) ? quantLinear(g, f, quant!, prefix, x) : floatLinear(g, f, prefix, x);
  const ids = g.input('input_ids', 'int64', ['batch', 'tokens']);
  let x = g.op('Gather', [g.weight(file, spec.embedKey), ids], { axis: 0 });
  const bias = positionBias(g, file, spec, ids);
  if (opts.exposeBias) g.output(bias, 'position_bias', 'float32', [1, spec.numHeads, 'tokens', 'tokens']);
  for (let i = 0; i < spec.numLayers; i++) {
    const b = `${p}encoder.block.${i}`;
    const sa = `${b}.layer.0.SelfAttention`;
    const h = rmsNorm(g, file, `${b}.layer.0.layer_norm.weight`, x, spec.eps);
    const q = linear(g, file, `${sa}.q`, h), k = linear(g, file, `${sa}.k`, h), v = linear(g, file, `${sa}.v`, h);
    const a = attention(g, q, k, v, spec.numHeads, { scale: 1, bias });
    x = g.op('Add', [x, linear(g, file, `${sa}.o`, a)]);
    const ff = `${b}.layer.1.DenseReluDense`;
    const h2 = rmsNorm(g, file, `${b}.layer.1.layer_norm.weight`, x, spec.eps);
    const inner = spec.gated
      ? g.op('Mul', [g.op('Gelu', [linear(g, file, `${ff}.wi_0`, h2)], { approximate: 'tanh' }), linear(g, file, `${ff}.wi_1`, h2)])
      : g.op('Relu', [linear(g, file, `${ff}.wi`, h2)]);
    x = g.op('Add', [x, linear(g, file, `${ff}.wo`, inner)]);
  }
  g.output(rmsNorm(g, file, `${p}encoder.final_layer_norm.weight`, x, spec.eps), 'last_hidden_state', 'float32', ['batch', 'tokens', spec.dModel]);
  return g;
}
