/**
 * GLIGEN's PositionNet as an ONNX graph, and the box list → its inputs (comfy/gligen.py set_position):
 *   boxes [N, 30, 4] (x1, y1, x2, y2 as fractions of the latent area the model call sees), masks [N, 30]
 *   (1 for a used slot), positive [N, 30, in] (each box's pooled text embedding, zeros in free slots)
 *   → objs [N, 30, out] = MLP(cat[positive′, fourier′]), where the primes replace free slots by the learned
 *   null features and fourier = [sin(f₀·box), cos(f₀·box), sin(f₁·box), …] with f_i = 100^(i/8).
 */
import { SafetensorsFile } from '../../io/safetensors.ts';
import { GraphBuilder } from '../../onnx/index.ts';
import { WeftError } from '../../errors.ts';
import * as L from '../layers/index.ts';
import type { ModelService } from '../../runtime/service.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { graphRunner, memoRunner, type GraphRunner } from '../clip-vision/runner.ts';
import { FOURIER_FREQS, MAX_OBJS, type GligenModel } from './file.ts';

/** One text box in latent cells, as GLIGENTextBoxApply stores it (pixels // 8). */
export interface GligenBox {
  /** The box text's unprojected pooled CLIP output [1, in]. */
  embedding: Tensor;
  height: number;
  width: number;
  y: number;
  x: number;
}

/** FourierEmbedder's frequency bands in float32: temperature 100 ** (arange(8) / 8). */
export function fourierFrequencies(): Float32Array {
  return Float32Array.from({ length: FOURIER_FREQS }, (_, i) => 100 ** (i / FOURIER_FREQS));
}

export function buildPositionGraph(f: SafetensorsFile, m: GligenModel): GraphBuilder {
  const g = new GraphBuilder({ name: 'gligen_position_net' });
  const p = m.positionPrefix.slice(0, -1);
  const boxes = g.input('boxes', 'float32', ['batch', MAX_OBJS, 4]);
  const masks = g.input('masks', 'float32', ['batch', MAX_OBJS]);
  const positive = g.input('positive', 'float32', ['batch', MAX_OBJS, m.inDim]);
  // [N, 30, 1, 4] · [8, 1] → [N, 30, 8, 4]; per frequency sin of the 4 coordinates, then their cos.
  const args = g.op('Mul', [g.op('Unsqueeze', [boxes, g.constInt64([2])]), g.constant(fourierFrequencies(), [FOURIER_FREQS, 1])]);
  const fourier = g.op('Reshape', [g.op('Concat', [g.op('Sin', [args]), g.op('Cos', [args])], { axis: 3 }), g.constInt64([0, 0, -1])]);
  const m3 = g.op('Unsqueeze', [masks, g.constInt64([2])]);
  const inv = g.op('Sub', [g.scalar(1), m3]);
  const blend = (v: string, nullKey: string): string => g.op('Add', [g.op('Mul', [v, m3]), g.op('Mul', [inv, g.weight(f, `${p}.${nullKey}`)])]);
  let h = g.op('Concat', [blend(positive, 'null_positive_feature'), blend(fourier, 'null_position_feature')], { axis: 2 });
  h = L.silu(g, L.linear(g, f, `${p}.linears.0`, h));
  h = L.silu(g, L.linear(g, f, `${p}.linears.2`, h));
  g.output(L.linear(g, f, `${p}.linears.4`, h), 'objs', 'float32', ['batch', MAX_OBJS, m.outDim]);
  return g;
}

/** The PositionNet feeds of one conditioning's boxes, for a model call on an h × w latent area. */
export function positionInputs(m: GligenModel, boxes: readonly GligenBox[], h: number, w: number): { boxes: Float32Array; masks: Float32Array; positive: Float32Array } {
  if (boxes.length > MAX_OBJS) throw new WeftError(`${m.path}: GLIGEN takes at most ${MAX_OBJS} text boxes per conditioning, got ${boxes.length}`, { file: m.path, input: 'gligen_textbox_model' });
  const out = { boxes: new Float32Array(MAX_OBJS * 4), masks: new Float32Array(MAX_OBJS), positive: new Float32Array(MAX_OBJS * m.inDim) };
  boxes.forEach((b, i) => {
    if (b.embedding.data.length !== m.inDim) {
      throw new WeftError(`${m.path}: a box's text embedding is ${b.embedding.data.length} wide but the GLIGEN model takes ${m.inDim}; use the CLIP of the model it was made for`, { file: m.path, input: 'clip' });
    }
    // Python divides in double; torch.tensor rounds the quotients to float32 (the Float32Array does the same).
    out.boxes.set([b.x / w, b.y / h, (b.x + b.width) / w, (b.y + b.height) / h], i * 4);
    out.masks[i] = 1;
    out.positive.set(b.embedding.data, i * m.inDim);
  });
  return out;
}

function runnerFor(m: GligenModel, models?: ModelService): GraphRunner {
  return memoRunner(`gligen_position:${m.key}`, models, () => {
    const f = SafetensorsFile.open(m.path);
    try {
      return graphRunner(buildPositionGraph(f, m), `gligen_position:${m.key}`, `GLIGEN PositionNet (${m.path})`, { models, threads: models ? undefined : 1, sizeBytes: 8 << 20 });
    } finally {
      f.close();
    }
  });
}

/** objs [1, 30, out] of one conditioning's boxes for an h × w latent area. */
export async function groundingTokens(m: GligenModel, boxes: readonly GligenBox[], h: number, w: number, models?: ModelService): Promise<Tensor> {
  const i = positionInputs(m, boxes, h, w);
  const r = await runnerFor(m, models).run({
    boxes: { data: i.boxes, dims: [1, MAX_OBJS, 4] },
    masks: { data: i.masks, dims: [1, MAX_OBJS] },
    positive: { data: i.positive, dims: [1, MAX_OBJS, m.inDim] },
  });
  return { shape: r.objs!.dims, data: r.objs!.data };
}
