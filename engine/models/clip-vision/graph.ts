/**
 * CLIP vision transformer graph (ComfyUI's CLIPVisionModelProjection with intermediate_output = −2).
 * Input `pixel_values` [B, 3, S, S] (already clip_preprocess'd). Outputs:
 * `last_hidden_state` (last layer, no post-LN), `penultimate_hidden_states` (output of layer N−2, what
 * IP-Adapter Plus reads), `pooled` (post-LN CLS) and `image_embeds` (projected pooled; = pooled when the
 * file has no projection).
 */
import type { WeightSource } from '../../onnx/weights.ts';
import { GraphBuilder, type Ep } from '../../onnx/index.ts';
import { activation, attention, layerNorm, linear, linearKeys, matmulWeight } from '../layers/index.ts';
import { visionKeys, visionLayerKeys, type ClipVisionSpec } from './spec.ts';

export function buildClipVisionGraph(file: WeightSource, spec: ClipVisionSpec, opts: { ep?: Ep } = {}): GraphBuilder {
  const g = new GraphBuilder({ name: `clip_vision:${file.path}`, ep: opts.ep });
  const C = spec.width;
  const k = visionKeys(spec);
  const px = g.input('pixel_values', 'float32', ['batch', 3, spec.imageSize, spec.imageSize]);

  const conv = g.op('Conv', [px, g.weight(file, k.patchWeight)], {
    kernel_shape: [spec.patch, spec.patch], strides: [spec.patch, spec.patch], pads: [0, 0, 0, 0],
  });
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.constInt64([0, C, -1])])], { perm: [0, 2, 1] });
  const batch = g.op('Shape', [px], { start: 0, end: 1 });
  const clsShape = g.op('Concat', [batch, g.constInt64([1, C])], { axis: 0 });
  const cls = g.op('Expand', [g.op('Reshape', [g.weight(file, k.classEmbedding), g.constInt64([1, 1, C])]), clsShape]);
  let x = g.op('Add', [g.op('Concat', [cls, patches], { axis: 1 }), g.weight(file, k.positionEmbedding)]);
  x = layerNorm(g, file, k.preNorm, x);

  const dims = ['batch', spec.positions, C];
  for (let i = 0; i < spec.layers; i++) {
    x = encoderLayer(g, file, spec, i, x);
    if (i === spec.layers - 2) g.output(x, 'penultimate_hidden_states', 'float32', dims);
  }
  g.output(x, 'last_hidden_state', 'float32', dims);

  const clsOut = g.op('Gather', [x, g.constant(BigInt64Array.of(0n), [])], { axis: 1 });
  const pooled = layerNorm(g, file, k.postNorm, clsOut);
  g.output(pooled, 'pooled', 'float32', ['batch', C]);
  let embeds = pooled;
  if (spec.projectionDim !== undefined && k.projection) {
    embeds = k.projection.kind === 'linear'
      ? linear(g, file, k.projection.key.slice(0, -'.weight'.length), pooled, { noBias: true })
      : matmulWeight(g, file, k.projection.key, pooled);
  }
  g.output(embeds, 'image_embeds', 'float32', ['batch', spec.projectionDim ?? C]);
  return g;
}

/** Pre-LN block without mask: x + attn(ln1(x)), then + mlp(ln2(·)). */
function encoderLayer(g: GraphBuilder, file: WeightSource, spec: ClipVisionSpec, i: number, x: string): string {
  const k = visionLayerKeys(spec, i);
  const C = spec.width;
  const h = layerNorm(g, file, k.ln1, x);
  let q: string, kk: string, v: string;
  if ('fusedW' in k.qkv) {
    const { fusedW, fusedB } = k.qkv;
    [q, kk, v] = [0, 1, 2].map((j) => linearKeys(g, file, fusedW, fusedB, h, { rows: [j * C, (j + 1) * C] })) as [string, string, string];
  } else {
    [q, kk, v] = [k.qkv.q, k.qkv.k, k.qkv.v].map((p) => linear(g, file, p, h)) as [string, string, string];
  }
  const x1 = g.op('Add', [x, linear(g, file, k.out, attention(g, q, kk, v, spec.heads))]);
  const m = linear(g, file, k.fc2, activation(g, spec.activation, linear(g, file, k.fc1, layerNorm(g, file, k.ln2, x1))));
  return g.op('Add', [x1, m]);
}
