/**
 * CLIP text transformer graph.
 *
 * Input choice: token ids plus an `extra_embeds [E, C]` input rather than ready-made embeddings. The
 * 49408×C token table then stays in ORT's mapped weights (no 150–250 MB copy into JS), while textual-
 * inversion vectors still splice in: ids ≥ vocab select rows of `extra_embeds` (feed one zero row if none).
 *
 * Outputs: `hidden` = residual stream after encoder layer `layer` (negative counts from the end, as
 * CLIPSetLastLayer does: -1 last, -2 penultimate), optionally through the final LayerNorm; `pooled` =
 * final-LN'd last layer at the first EOS token, optionally projected; `hidden_<i>` for `debugLayers`.
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { GraphBuilder, type Ep } from '../../onnx/index.ts';
import { activation, attention, layerNorm, linear, linearKeys, matmulWeight } from '../layers/index.ts';
import { embeddingKeys, layerKeys, type ClipSpec } from './spec.ts';

export interface ClipGraphOptions {
  layer?: number;
  finalNorm?: boolean;
  project?: boolean;
  debugLayers?: number[];
  ep?: Ep;
}

export function resolveLayer(spec: ClipSpec, layer: number): number {
  const i = layer < 0 ? spec.layers + layer : layer;
  if (i < 0 || i >= spec.layers) throw new WeftError(`CLIP layer ${layer} is out of range for a ${spec.layers}-layer text model (${spec.prefix})`);
  return i;
}

export function buildClipTextGraph(file: WeightSource, spec: ClipSpec, opts: ClipGraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder({ name: `clip_text:${spec.prefix}`, ep: opts.ep });
  const C = spec.width;
  const ids = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const extra = g.input('extra_embeds', 'float32', ['extra', C]);
  const ek = embeddingKeys(spec);

  const vocab = g.constInt64([spec.vocab]);
  const isExtra = g.op('GreaterOrEqual', [ids, vocab]);
  const zero = g.constInt64([0]);
  const tok = g.op('Gather', [g.weight(file, ek.token), g.op('Where', [isExtra, zero, ids])], { axis: 0 });
  const ext = g.op('Gather', [extra, g.op('Where', [isExtra, g.op('Sub', [ids, vocab]), zero])], { axis: 0 });
  const emb = g.op('Where', [g.op('Unsqueeze', [isExtra, g.constInt64([-1])]), ext, tok]);
  const seqLen = g.op('Shape', [ids], { start: 1, end: 2 });
  const pos = g.op('Slice', [g.weight(file, ek.position), zero, seqLen, zero]);
  let x = g.op('Add', [emb, pos]);

  const target = resolveLayer(spec, opts.layer ?? -1);
  const debug = new Set(opts.debugLayers ?? []);
  let hidden = '';
  for (let i = 0; i < spec.layers; i++) {
    x = encoderLayer(g, file, spec, i, x);
    if (i === target) hidden = x;
    if (debug.has(i)) g.output(x, `hidden_${i}`, 'float32', ['batch', 'tokens', C]);
  }
  const lastLn = layerNorm(g, file, ek.finalNorm, x);
  g.output(opts.finalNorm ? (target === spec.layers - 1 ? lastLn : layerNorm(g, file, ek.finalNorm, hidden)) : hidden, 'hidden', 'float32', ['batch', 'tokens', C]);

  // First EOS: ArgMax returns the first maximum, so the first position where ids == eos.
  const isEos = g.op('Cast', [g.op('Equal', [ids, g.constInt64([spec.eosId])])], { to: 1 });
  const eosPos = g.op('ArgMax', [isEos], { axis: 1, keepdims: 1 });
  const positions = g.op('Range', [g.constant(BigInt64Array.of(0n), []), g.op('Squeeze', [seqLen, zero]), g.constant(BigInt64Array.of(1n), [])]);
  const oneHot = g.op('Cast', [g.op('Equal', [positions, eosPos])], { to: 1 });
  let pooled = g.op('Squeeze', [g.op('MatMul', [g.op('Unsqueeze', [oneHot, g.constInt64([1])]), lastLn]), g.constInt64([1])]);
  if (opts.project) {
    const p = spec.projection;
    if (!p) throw new WeftError(`${file.path}: CLIP text model "${spec.prefix}" has no text_projection`, { file: file.path, input: spec.prefix });
    pooled = p.kind === 'linear' ? linear(g, file, p.key, pooled, { noBias: true }) : matmulWeight(g, file, p.key, pooled);
  }
  g.output(pooled, 'pooled', 'float32', ['batch', opts.project && spec.projection ? spec.projection.dim : C]);
  return g;
}

function encoderLayer(g: GraphBuilder, file: WeightSource, spec: ClipSpec, i: number, x: string): string {
  const k = layerKeys(spec, i);
  const C = spec.width;
  const h = layerNorm(g, file, k.ln1, x);
  let q: string, kk: string, v: string;
  if ('fused' in k.qkv) {
    const w = `${k.qkv.fused}_weight`, b = `${k.qkv.fused}_bias`;
    [q, kk, v] = [0, 1, 2].map((j) => linearKeys(g, file, w, b, h, { rows: [j * C, (j + 1) * C] })) as [string, string, string];
  } else {
    [q, kk, v] = [k.qkv.q, k.qkv.k, k.qkv.v].map((p) => linear(g, file, p, h)) as [string, string, string];
  }
  const a = linear(g, file, k.out, attention(g, q, kk, v, spec.heads, { causal: true }));
  const x1 = g.op('Add', [x, a]);
  const m = linear(g, file, k.fc2, activation(g, spec.activation, linear(g, file, k.fc1, layerNorm(g, file, k.ln2, x1))));
  return g.op('Add', [x1, m]);
}
