/**
 * The MODEL socket value: what ComfyUI's ModelPatcher is to its nodes. It names the UNet (file + key
 * prefix + head split), the detected configuration, the ModelSampling used to map sigmas (replaceable by
 * ModelSamplingDiscrete & co.), and two extension points for colleagues: weight patches (LoRA, which change
 * the graph and therefore the session key) and call wrappers (ControlNet residuals, which run per call).
 * Nodes never mutate a model they received: they clone() and change the clone.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { DetectedModel, Family } from '../detect.ts';
import type { HeadOptions } from '../unet/config.ts';
import type { BuildUNetOptions } from '../unet/graph.ts';
import { DiscreteModelSampling, FlowModelSampling, type ModelSampling } from '../../sampling/model-sampling.ts';
import { LATENT_FORMATS, type LatentFormat } from '../../sampling/ksample.ts';
import type { PreviewFamily } from '../../sampling/preview.ts';
import type { CondEntry } from '../../sampling/cfg.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { WeightSource } from '../../onnx/weights.ts';

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    MODEL: SdModel;
  }
}


export interface UNetSource {
  /** A safetensors file (PyTorch checkpoints are converted first). */
  path: string;
  /** Key prefix of the UNet tensors, e.g. 'model.diffusion_model.' or '' for a bare diffusion model. */
  prefix: string;
  heads: HeadOptions;
  /** Opens the weights when `path` does not hold them under LDM names (a diffusers UNet read through a rename). */
  open?: () => WeightSource & { close(): void };
}

/** The UNet's weights: `source.open()` when given, else the safetensors file at `source.path`. The caller closes it. */
export function openUNetWeights(source: UNetSource): WeightSource & { close(): void } {
  return source.open ? source.open() : SafetensorsFile.open(source.path);
}

/**
 * A change to the UNet's weights or graph (LoRA, …). `key` must identify the change exactly (file, strength):
 * it becomes part of the session key. `build` receives the builder options and returns them changed.
 */
export interface WeightPatch {
  key: string;
  kind: string;
  build?: (opts: BuildUNetOptions) => BuildUNetOptions;
}

/** One batched UNet call as the bridge prepares it: x already scaled by c_in and joined with c_concat. */
export interface UNetCall {
  x: Tensor;
  timesteps: Float32Array;
  /** One sigma per batch row. */
  sigmas: number[];
  context: Tensor;
  y?: Tensor;
  control?: Tensor[];
  /** The conditioning entry of each row (its ComfyUI options are in `extra`). */
  conds: readonly CondEntry[];
  model: SdModel;
}
export type UNetRunner = (call: UNetCall) => Promise<Tensor>;
/** Wraps every UNet call (ControlNet adds `control`, patches may change inputs or the output). */
export type UNetWrapper = (call: UNetCall, next: UNetRunner) => Promise<Tensor>;

export interface SdModelInit {
  source: UNetSource;
  family: Family;
  detected: DetectedModel;
  modelSampling?: ModelSampling;
}

export function latentFormatOf(family: Family): LatentFormat {
  // FLUX (engine/models/flux-sd): a 16-channel latent with ComfyUI's latent_formats.Flux scale and shift.
  if (family === 'flux') return LATENT_FORMATS.flux;
  return family === 'sdxl' || family === 'sdxl_refiner' ? LATENT_FORMATS.sdxl : LATENT_FORMATS.sd1;
}

export function defaultModelSampling(d: DetectedModel): ModelSampling {
  // FLUX: rectified flow; supported_models gives schnell shift 1.0, dev (and Fill) the ModelSamplingFlux default 1.15.
  if (d.family === 'flux') return new FlowModelSampling(d.variant === 'schnell' ? 1.0 : 1.15);
  return new DiscreteModelSampling({ prediction: d.prediction === 'v' ? 'v_prediction' : 'eps' });
}

export class SdModel {
  readonly source: UNetSource;
  readonly family: Family;
  readonly detected: DetectedModel;
  modelSampling: ModelSampling;
  patches: WeightPatch[] = [];
  wrappers: UNetWrapper[] = [];
  /** Free-form options for colleagues' patches (ComfyUI's model_options). */
  options: Record<string, unknown> = {};

  constructor(init: SdModelInit) {
    this.source = init.source;
    this.family = init.family;
    this.detected = init.detected;
    this.modelSampling = init.modelSampling ?? defaultModelSampling(init.detected);
  }

  get latentFormat(): LatentFormat {
    return latentFormatOf(this.family);
  }

  get previewFamily(): PreviewFamily {
    if (this.family === 'flux') return 'flux';
    return this.family === 'sdxl' || this.family === 'sdxl_refiner' ? 'sdxl' : 'sd1';
  }

  get inChannels(): number {
    // FLUX has no UNet config; its DiT's latent channels come from the flux config (16, 96 for Fill).
    return this.detected.unet?.inChannels ?? this.detected.flux?.inChannels ?? 4;
  }

  /** Latent channels the model samples (an inpaint UNet takes 9, of which 4 are the latent). */
  get latentChannels(): number {
    return this.detected.unet?.outChannels ?? (this.detected.flux ? 16 : 4);
  }

  /** Identifies the session: the same file with other weight patches is another graph. */
  get sessionKey(): string {
    const heads = `${this.source.heads.numHeads ?? ''}/${this.source.heads.headChannels ?? ''}`;
    return ['unet', this.source.path, this.source.prefix, heads, ...this.patches.map((p) => `${p.kind}:${p.key}`)].join('|');
  }

  clone(): SdModel {
    const c = new SdModel({ source: this.source, family: this.family, detected: this.detected, modelSampling: this.modelSampling });
    c.patches = [...this.patches];
    c.wrappers = [...this.wrappers];
    c.options = { ...this.options };
    return c;
  }

  withModelSampling(ms: ModelSampling): SdModel {
    const c = this.clone();
    c.modelSampling = ms;
    return c;
  }
}

export function isSdModel(v: unknown): v is SdModel {
  return v instanceof SdModel;
}

/** The MODEL socket's value, checked (the socket type is declared `unknown` in graph/sockets.ts). */
export function asSdModel(v: unknown, input = 'model'): SdModel {
  if (!(v instanceof SdModel)) throw new WeftError(`${input}: expected a MODEL from a checkpoint or diffusion-model loader`, { input });
  return v;
}
