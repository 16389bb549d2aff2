/**
 * A full CLIP model (transformers CLIPModel file: `text_model.*` + `text_projection`, `vision_model.*` +
 * `visual_projection`, `logit_scale`): image and text embeddings in one space, and their cosine similarity.
 * The text side reuses the CLIP text graph (pooled = final-LN'd hidden state at the first EOS, projected);
 * prompts are tokenized whole (no weighting syntax) as [BOS, …, EOS] padded with EOS to 77.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { Ep } from '../../onnx/index.ts';
import type { ModelService } from '../../runtime/service.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { buildClipTextGraph } from '../clip/graph.ts';
import { clipSpec, type ClipSpec, type ClipSpecOverrides } from '../clip/spec.ts';
import { CLIPTokenizer } from '../clip/tokenizer.ts';
import { ClipVisionModel } from './model.ts';
import type { ClipCrop } from './preprocess.ts';
import { graphRunner, type GraphRunner } from './runner.ts';
import { metadataOverrides } from './spec.ts';

export interface FullClipOptions {
  models?: ModelService;
  threads?: number;
  ep?: Ep;
  tokenizer?: CLIPTokenizer;
}

/** Rows of a [n, d] matrix, each scaled to unit length (zero rows stay zero). */
export function normalizeRows(data: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < data.length / dim; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += data[r * dim + i]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < dim; i++) out[r * dim + i] = data[r * dim + i]! * inv;
  }
  return out;
}

/** cosine[i][j] between row i of a [na, d] and row j of b [nb, d]. */
export function cosineMatrix(a: Float32Array, b: Float32Array, dim: number): Float32Array {
  const na = normalizeRows(a, dim), nb = normalizeRows(b, dim);
  const ra = a.length / dim, rb = b.length / dim;
  const out = new Float32Array(ra * rb);
  for (let i = 0; i < ra; i++) {
    for (let j = 0; j < rb; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += na[i * dim + k]! * nb[j * dim + k]!;
      out[i * rb + j] = s;
    }
  }
  return out;
}

export class FullClipModel {
  readonly vision: ClipVisionModel;
  readonly textSpec: ClipSpec;
  readonly tokenizer: CLIPTokenizer;
  /** exp(logit_scale) (100 for trained CLIP models); 1 when the file has none. */
  readonly logitScale: number;
  /** How many texts went through the text tower (tests and logs use it to check caching). */
  textsEncoded = 0;
  private text?: GraphRunner;

  private constructor(readonly path: string, private readonly opts: FullClipOptions, vision: ClipVisionModel, textSpec: ClipSpec, logitScale: number) {
    this.vision = vision;
    this.textSpec = textSpec;
    this.logitScale = logitScale;
    this.tokenizer = opts.tokenizer ?? CLIPTokenizer.default();
  }

  static open(path: string, opts: FullClipOptions = {}): FullClipModel {
    const file = SafetensorsFile.open(path);
    try {
      if (!file.has('text_model.embeddings.token_embedding.weight') || !file.has('text_projection.weight')) {
        throw new WeftError(`${path}: not a full CLIP model in transformers layout (needs text_model.* with text_projection and vision_model.* with visual_projection)`, { file: path, type: 'model_load_error' });
      }
      const vision = ClipVisionModel.open(path, { models: opts.models, threads: opts.threads, ep: opts.ep, section: 'vision' });
      if (vision.spec.projectionDim === undefined) throw new WeftError(`${path}: the vision tower has no visual_projection, so image and text embeddings do not share a space`, { file: path, type: 'model_load_error' });
      // Both towers of one CLIP use the same activation; the file's own config wins when it states one.
      const textO: ClipSpecOverrides = { activation: vision.spec.activation, ...metadataOverrides(file, 'text') };
      const textSpec = clipSpec(file, 'text_model', textO);
      if (textSpec.projection?.dim !== vision.spec.projectionDim) {
        throw new WeftError(`${path}: text projection (${textSpec.projection?.dim}) and visual projection (${vision.spec.projectionDim}) widths differ`, { file: path, type: 'model_load_error' });
      }
      const logitScale = file.has('logit_scale') ? Math.exp(file.readFloat32('logit_scale')[0]!) : 1;
      return new FullClipModel(path, opts, vision, textSpec, logitScale);
    } finally {
      file.close();
    }
  }

  get dim(): number { return this.vision.spec.projectionDim!; }

  /** [BOS, ids (at most 75), EOS] padded with EOS to 77. */
  tokenIds(text: string): number[] {
    const { bosId, eosId } = this.textSpec;
    const ids = [bosId, ...this.tokenizer.encode(text).slice(0, 75), eosId];
    while (ids.length < 77) ids.push(eosId);
    return ids;
  }

  /** Projected text embeddings [n, dim] (not normalised) of ready token ids [n, 77]. */
  async textEmbedsFromIds(ids: BigInt64Array, n: number): Promise<Float32Array> {
    if (n === 0) return new Float32Array(0);
    const r = await this.textRunner().run({
      input_ids: { data: ids, dims: [n, ids.length / n] },
      extra_embeds: { data: new Float32Array(this.textSpec.width), dims: [1, this.textSpec.width] },
    });
    this.textsEncoded += n;
    return r.pooled!.data;
  }

  /** Projected text embeddings [n, dim], in batches so long lists stay within memory. */
  async textEmbeds(texts: readonly string[], batch = 64): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dim);
    for (let i = 0; i < texts.length; i += batch) {
      const part = texts.slice(i, i + batch);
      const ids = BigInt64Array.from(part.flatMap((t) => this.tokenIds(t)), (v) => BigInt(v));
      out.set(await this.textEmbedsFromIds(ids, part.length), i * this.dim);
    }
    return out;
  }

  /** Projected image embeddings [B, dim] of an IMAGE (ComfyUI clip_preprocess first). */
  async imageEmbeds(image: Tensor, crop: ClipCrop = 'center'): Promise<Float32Array> {
    return (await this.vision.encodeImage(image, crop)).image_embeds.data;
  }

  async release(): Promise<void> {
    const t = this.text;
    this.text = undefined;
    if (t) await t.release();
    await this.vision.release();
  }

  private textRunner(): GraphRunner {
    if (this.text) return this.text;
    const file = SafetensorsFile.open(this.path);
    try {
      const g = buildClipTextGraph(file, this.textSpec, { layer: -1, finalNorm: true, project: true, ep: this.opts.ep });
      this.text = graphRunner(g, `clip_text_projected:${this.path}`, `CLIP text (${this.path})`, { models: this.opts.models, threads: this.opts.threads, sizeBytes: file.fileSize * 2 });
      return this.text;
    } finally {
      file.close();
    }
  }
}
