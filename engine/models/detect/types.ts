/** What detection reads and what it answers: the field names are the contract with the graph builders. */
import type { Dtype } from '../../io/safetensors.ts';

/** What detection needs from a model file: SafetensorsFile and TorchFile both satisfy it. */
export interface TensorSource {
  readonly path: string;
  readonly tensors: ReadonlyMap<string, { readonly dtype: Dtype; readonly shape: readonly number[] }>;
  readonly metadata: Readonly<Record<string, string>>;
  readFloat32(name: string): Float32Array;
}

export type ModelKind = 'checkpoint' | 'diffusion_model' | 'vae' | 'text_encoder' | 'lora' | 'controlnet' | 'upscaler' | 'clip_vision' | 'embedding' | 'ipadapter';
export type Family = 'sd1' | 'sd2' | 'sdxl' | 'sdxl_refiner' | 'flux' | 'unknown';
/** eps / v: discrete-time DDPM parameterisations; flow: FLUX rectified flow. */
export type Prediction = 'eps' | 'v' | 'flow';

export interface UNetConfig {
  /** Key prefix including the trailing dot ('model.diffusion_model.', 'control_model.' or ''). */
  prefix: string;
  inChannels: number;
  outChannels: number;
  modelChannels: number;
  channelMult: number[];
  /** ResBlocks per level on the way down (output side has one more per level). */
  numResBlocks: number[];
  /** SpatialTransformer depth for each level on the way down (0 = no attention at that level). */
  transformerDepth: number[];
  /** Depth for every output block, in order (ComfyUI's transformer_depth_output). */
  transformerDepthOutput: number[];
  /** Middle-block transformer depth; -1 when the middle block has no transformer. */
  transformerDepthMiddle: number;
  contextDim: number;
  /** proj_in/proj_out are Linear ([C,C]) instead of 1×1 Conv. */
  useLinearInTransformer: boolean;
  /** Exactly one of numHeads / headChannels is positive; the other is -1 (as in the LDM configs). */
  numHeads: number;
  headChannels: number;
  /** Width of the timestep embedding MLP (time_embed.0.weight[0]). */
  timeEmbedDim: number;
  /** SDXL ADM vector width (label_emb.0.0.weight[1]). */
  admInChannels?: number;
  /** GEGLU inner width of the first transformer's feed-forward (ff.net.2 input). */
  ffInner?: number;
}

export interface TextEncoderConfig {
  /** 'clip': HF CLIPTextModel layout (`…text_model.encoder.layers.N`); 'open_clip': `model.transformer.resblocks.N`. */
  layout: 'clip' | 'open_clip';
  /** Which CLIP of the family: SD1 'l', SD2 'h', SDXL 'l' + 'g', refiner 'g'. */
  role: 'l' | 'h' | 'g';
  prefix: string;
  width: number;
  layers: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
  act: 'quick_gelu' | 'gelu';
  /** text_projection output width, when the file has one. */
  projectionDim?: number;
}

export interface VaeConfig {
  prefix: string;
  layout: 'ldm' | 'diffusers';
  ch: number;
  chMult: number[];
  numResBlocks: number;
  latentChannels: number;
  hasQuantConv: boolean;
  /** Attention q/k/v stored as Linear [C,C] (diffusers-converted files) instead of 1×1 conv. */
  linearAttention: boolean;
  hasEncoder: boolean;
  scalingFactor: number;
  shiftFactor: number;
}

export interface FluxConfig {
  prefix: string;
  /** Latent channels before 2×2 patchify (16; 96 for Fill). */
  inChannels: number;
  hiddenSize: number;
  numHeads: number;
  headDim: number;
  depth: number;
  depthSingle: number;
  mlpRatio: number;
  vecInDim: number;
  contextInDim: number;
  axesDim: number[];
  qkvBias: boolean;
  guidanceEmbed: boolean;
}

export interface T5Config { prefix: string; dModel: number; dKv: number; numHeads: number; dFf: number; numLayers: number; vocabSize: number; relativeBuckets: number; gated: boolean }
export interface LoraInfo { format: 'kohya' | 'diffusers' | 'peft' | 'unknown'; rank: number; targets: { unet: number; te: number; te1: number; te2: number }; kinds: string[] }
export interface EsrganConfig { arch: 'rrdbnet'; inChannels: number; outChannels: number; numFeat: number; numBlocks: number; growth: number; scale: number }

export interface DetectedModel {
  path: string;
  kind: ModelKind;
  family: Family;
  prediction: Prediction | null;
  /** 'inpaint' (UNet with 9 input channels), 'dev' / 'schnell' for FLUX. */
  variant?: 'inpaint' | 'dev' | 'schnell' | 'fill';
  /** Most common floating dtype of the weights. */
  dtype: Dtype;
  unet?: UNetConfig;
  flux?: FluxConfig;
  textEncoders: TextEncoderConfig[];
  vae?: VaeConfig;
  t5?: T5Config;
  lora?: LoraInfo;
  controlnet?: { unet: UNetConfig; hintChannels: number };
  upscaler?: EsrganConfig;
  /** Why each decision was taken, for logs and the UI. */
  notes: string[];
}
