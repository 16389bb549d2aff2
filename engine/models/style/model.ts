/**
 * STYLE_MODEL (comfy/sd.py StyleModel + load_style_model). Two kinds, told apart by their keys as ComfyUI does:
 *  - the T2I "coadapter-style" StyleAdapter (comfy/t2i_adapter/adapter.py): learned `style_embedding` tokens are
 *    appended to the CLIP vision tokens, run through a small pre-LN transformer (fused in_proj attention,
 *    QuickGELU MLP), and the last `num_token` tokens are normalised and projected to the text context width;
 *  - FLUX Redux (`redux_up` / `redux_down`): down(silu(up(tokens))) on every vision token.
 * Both read CLIP_VISION_OUTPUT.last_hidden_state (last layer, no post-LN). Widths, depth and token count come
 * from tensor shapes; the StyleAdapter's head count cannot, so it is ComfyUI's fixed 8 (or the file's
 * weft_config `{ style: { num_heads } }`).
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { GraphBuilder, type Ep } from '../../onnx/index.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import type { ModelService } from '../../runtime/service.ts';
import { tensor, type Tensor } from '../../tensor/tensor.ts';
import { attention, layerNorm, linear, linearKeys, matmulWeight, quickGelu, silu } from '../layers/index.ts';
import { graphRunner, type GraphRunner } from '../clip-vision/runner.ts';
import type { ClipVisionOutput } from '../clip-vision/model.ts';

export type StyleSpec =
  | { kind: 'style_adapter'; width: number; contextDim: number; tokens: number; layers: number; heads: number }
  | { kind: 'redux'; width: number; contextDim: number };

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    STYLE_MODEL: StyleModel;
  }
}

function metadataHeads(file: WeightSource): number | undefined {
  try {
    const n = JSON.parse(file.metadata.weft_config ?? '{}')?.style?.num_heads;
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined; // advisory metadata
  }
}

/** The kind and sizes of a style model file, from its keys and shapes. */
export function styleSpec(file: WeightSource): StyleSpec {
  const shape = (k: string): number[] => file.get(k).shape;
  if (file.has('style_embedding')) {
    const [, tokens, width] = shape('style_embedding') as [number, number, number];
    let layers = 0;
    while (file.has(`transformer_layes.${layers}.attn.in_proj_weight`)) layers++;
    if (!file.has('proj') || layers === 0) throw new WeftError(`${file.path}: a StyleAdapter needs proj and transformer_layes.0.*`, { file: file.path, type: 'model_load_error' });
    const heads = metadataHeads(file) ?? 8;
    if (width % heads !== 0) throw new WeftError(`${file.path}: StyleAdapter width ${width} does not split into ${heads} heads`, { file: file.path, type: 'model_load_error' });
    return { kind: 'style_adapter', width, contextDim: shape('proj')[1]!, tokens, layers, heads };
  }
  if (file.has('redux_down.weight') && file.has('redux_up.weight')) {
    return { kind: 'redux', width: shape('redux_up.weight')[1]!, contextDim: shape('redux_down.weight')[0]! };
  }
  throw new WeftError(`${file.path}: not a style model (expected style_embedding (T2I style adapter) or redux_down.weight (FLUX Redux))`, { file: file.path, type: 'model_load_error' });
}

/** tokens [B, L, width] → style tokens [B, N, contextDim] (N = num_token, or L for Redux). */
export function buildStyleGraph(file: WeightSource, spec: StyleSpec, opts: { ep?: Ep } = {}): GraphBuilder {
  const g = new GraphBuilder({ name: `style:${file.path}`, ep: opts.ep });
  const x0 = g.input('tokens', 'float32', ['batch', 'tokens', spec.width]);
  if (spec.kind === 'redux') {
    g.output(linear(g, file, 'redux_down', silu(g, linear(g, file, 'redux_up', x0))), 'style', 'float32', ['batch', 'tokens', spec.contextDim]);
    return g;
  }
  const { width: C, tokens: N } = spec;
  // style_embedding broadcast over the batch, appended after the vision tokens.
  const shape = g.op('Concat', [g.op('Shape', [x0], { start: 0, end: 1 }), g.constInt64([N, C])], { axis: 0 });
  let x = g.op('Concat', [x0, g.op('Expand', [g.weight(file, 'style_embedding'), shape])], { axis: 1 });
  x = layerNorm(g, file, 'ln_pre', x);
  for (let i = 0; i < spec.layers; i++) {
    const p = `transformer_layes.${i}`;
    const h = layerNorm(g, file, `${p}.ln_1`, x);
    const [q, k, v] = [0, 1, 2].map((j) => linearKeys(g, file, `${p}.attn.in_proj_weight`, `${p}.attn.in_proj_bias`, h, { rows: [j * C, (j + 1) * C] })) as [string, string, string];
    x = g.op('Add', [x, linear(g, file, `${p}.attn.out_proj`, attention(g, q, k, v, spec.heads))]);
    x = g.op('Add', [x, linear(g, file, `${p}.mlp.c_proj`, quickGelu(g, linear(g, file, `${p}.mlp.c_fc`, layerNorm(g, file, `${p}.ln_2`, x))))]);
  }
  const last = g.op('Slice', [x, g.constInt64([-N]), g.constInt64([2 ** 62]), g.constInt64([1])]);
  g.output(matmulWeight(g, file, 'proj', layerNorm(g, file, 'ln_post', last)), 'style', 'float32', ['batch', N, spec.contextDim]);
  return g;
}

export interface StyleModelOptions {
  models?: ModelService;
  threads?: number;
  ep?: Ep;
}

export class StyleModel {
  private runner?: GraphRunner;

  private constructor(readonly path: string, readonly spec: StyleSpec, private readonly opts: StyleModelOptions) {}

  /** Reads the header only; the session starts on the first getCond. */
  static open(path: string, opts: StyleModelOptions = {}): StyleModel {
    const file = SafetensorsFile.open(path);
    try {
      return new StyleModel(path, styleSpec(file), opts);
    } finally {
      file.close();
    }
  }

  /** ComfyUI's StyleModel.get_cond: the model on clip_vision_output.last_hidden_state. */
  async getCond(out: ClipVisionOutput): Promise<Tensor> {
    const t = out.last_hidden_state;
    if (t.shape.length !== 3 || t.shape[2] !== this.spec.width) {
      throw new WeftError(`clip_vision_output: the style model takes ${this.spec.width}-wide vision tokens, got [${t.shape.join(', ')}]; use the CLIP vision model it was trained with`, { input: 'clip_vision_output' });
    }
    const r = await this.session().run({ tokens: { data: t.data, dims: t.shape } });
    return tensor(r.style!.dims, r.style!.data);
  }

  async release(): Promise<void> {
    const r = this.runner;
    this.runner = undefined;
    if (r) await r.release();
  }

  private session(): GraphRunner {
    if (this.runner) return this.runner;
    const file = SafetensorsFile.open(this.path);
    try {
      this.runner = graphRunner(buildStyleGraph(file, this.spec, { ep: this.opts.ep }), `style:${this.path}`, `style model (${this.path})`, {
        models: this.opts.models, threads: this.opts.threads, sizeBytes: file.fileSize * 2 + 16 * 2 ** 20,
      });
      return this.runner;
    } finally {
      file.close();
    }
  }
}

export function asStyleModel(v: unknown, input = 'style_model'): StyleModel {
  if (v instanceof StyleModel) return v;
  throw new WeftError(`${input}: expected a STYLE_MODEL from Load Style Model`, { input });
}
