/**
 * CLIP_VISION (ComfyUI's comfy.clip_vision.ClipVisionModel) and CLIP_VISION_OUTPUT. Opening reads only the
 * header; the ONNX session is created on first encode (in the model service's worker when one is given).
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { Ep } from '../../onnx/index.ts';
import type { ModelService } from '../../runtime/service.ts';
import { tensor, type Tensor } from '../../tensor/tensor.ts';
import { buildClipVisionGraph } from './graph.ts';
import { CLIP_MEAN, CLIP_STD, clipPreprocess, type ClipCrop } from './preprocess.ts';
import { graphRunner, type GraphRunner } from './runner.ts';
import { clipVisionSpec, metadataOverrides, type ClipVisionSpec, type VisionOverrides } from './spec.ts';

/** What CLIPVisionEncode returns; IP-Adapter reads image_embeds and penultimate_hidden_states. */
export interface ClipVisionOutput {
  /** Last encoder layer, no post-LN: [B, tokens, width]. */
  last_hidden_state: Tensor;
  /** Output of encoder layer N−2 (ComfyUI intermediate_output=−2): [B, tokens, width]. */
  penultimate_hidden_states: Tensor;
  /** visual_projection(post_layernorm(CLS)): [B, projection_dim]. */
  image_embeds: Tensor;
  /** LLaVA-style multimodal projector output; Weft's towers have none. */
  mm_projected?: Tensor;
}

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    CLIP_VISION: ClipVisionModel;
    CLIP_VISION_OUTPUT: ClipVisionOutput;
  }
}

export interface ClipVisionOpenOptions {
  models?: ModelService;
  threads?: number;
  ep?: Ep;
  /** Head count / activation, overriding metadata and the size-based defaults. */
  overrides?: VisionOverrides;
  /** Metadata config section to read (full CLIP files keep the vision config under 'vision'). */
  section?: string;
}

const BRAND = Symbol.for('weft.ClipVisionModel');

export class ClipVisionModel {
  readonly [BRAND] = true;
  readonly imageMean: readonly number[] = CLIP_MEAN;
  readonly imageStd: readonly number[] = CLIP_STD;
  private runner?: GraphRunner;

  private constructor(readonly path: string, readonly spec: ClipVisionSpec, private readonly opts: ClipVisionOpenOptions) {}

  static open(path: string, opts: ClipVisionOpenOptions = {}): ClipVisionModel {
    const file = SafetensorsFile.open(path);
    try {
      const spec = clipVisionSpec(file, { ...metadataOverrides(file, opts.section ?? 'vision'), ...opts.overrides });
      return new ClipVisionModel(path, spec, opts);
    } finally {
      file.close();
    }
  }

  get imageSize(): number { return this.spec.imageSize; }

  /** ComfyUI encode_image: clip_preprocess (crop 'center' or 'none') then the tower. */
  async encodeImage(image: Tensor, crop: ClipCrop = 'center'): Promise<ClipVisionOutput> {
    return this.encodePixels(clipPreprocess(image, { size: this.imageSize, crop, mean: this.imageMean, std: this.imageStd }));
  }

  /** The tower on already preprocessed pixel_values [B, 3, S, S]. */
  async encodePixels(pixels: Tensor): Promise<ClipVisionOutput> {
    const S = this.imageSize;
    const [b, c, h, w] = pixels.shape as [number, number, number, number];
    if (pixels.shape.length !== 4 || c !== 3 || h !== S || w !== S) {
      throw new WeftError(`${this.path}: CLIP vision expects pixel_values [batch, 3, ${S}, ${S}], got [${pixels.shape.join(', ')}]`, { file: this.path, input: 'pixel_values' });
    }
    const r = await this.session().run({ pixel_values: { data: pixels.data, dims: [b, 3, S, S] } });
    const get = (k: string): Tensor => {
      const o = r[k];
      if (!o) throw new WeftError(`${this.path}: CLIP vision session returned no "${k}"`, { file: this.path });
      return tensor(o.dims, o.data);
    };
    return { last_hidden_state: get('last_hidden_state'), penultimate_hidden_states: get('penultimate_hidden_states'), image_embeds: get('image_embeds') };
  }

  /** Where the session runs ('service' with a model runtime, else 'in-thread'). */
  get runsIn(): 'service' | 'in-thread' { return this.opts.models ? 'service' : 'in-thread'; }

  async release(): Promise<void> {
    const r = this.runner;
    this.runner = undefined;
    if (r) await r.release();
  }

  private session(): GraphRunner {
    if (this.runner) return this.runner;
    const file = SafetensorsFile.open(this.path);
    try {
      const g = buildClipVisionGraph(file, this.spec, { ep: this.opts.ep });
      // fp16 files are cast to float32 inside the session.
      this.runner = graphRunner(g, `clip_vision:${this.path}|${this.spec.prefix}`, `CLIP vision (${this.path})`, {
        models: this.opts.models, threads: this.opts.threads, sizeBytes: file.fileSize * 2 + 64 * 2 ** 20,
      });
      return this.runner;
    } finally {
      file.close();
    }
  }
}

export function isClipVisionModel(v: unknown): v is ClipVisionModel {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BRAND] === true;
}

/** The CLIP_VISION input of a node, checked at run time. */
export function asClipVision(v: unknown, input = 'clip_vision'): ClipVisionModel {
  if (isClipVisionModel(v)) return v;
  throw new WeftError(`input "${input}" is not a CLIP vision model (got ${v === null ? 'null' : typeof v})`, { input });
}
