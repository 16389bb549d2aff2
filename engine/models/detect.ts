/**
 * Architecture detection from tensor names and shapes, following ComfyUI's model_detection rules
 * (research/comfyui.md §7.2). Every width is read from a tensor shape; the only values shapes cannot
 * give (attention head counts, FLUX rope axes) come from the family's known constant, or from a
 * JSON config in the file's metadata (`weft_config`, or the conformance generator's `oracle_config`)
 * so that tiny test checkpoints with non-standard head sizes build correctly.
 * The result is what the graph builders consume: field names are the contract.
 */
import { WeftError } from '../errors.ts';
import type { Dtype } from '../io/safetensors.ts';

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

type Shapes = TensorSource['tensors'];

function shape(t: Shapes, key: string): readonly number[] | undefined {
  return t.get(key)?.shape;
}
function need(src: TensorSource, key: string): readonly number[] {
  const s = src.tensors.get(key)?.shape;
  if (!s) throw new WeftError(`${src.path}: expected tensor "${key}" is missing`, { file: src.path, input: key, type: 'invalid_model_file' });
  return s;
}
function countIndexed(keys: Iterable<string>, prefix: string): number {
  let max = -1;
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const n = Number.parseInt(k.slice(prefix.length), 10);
    if (Number.isFinite(n) && n > max) max = n;
  }
  return max + 1;
}

function metaConfig(src: TensorSource): Record<string, any> {
  for (const key of ['weft_config', 'oracle_config']) {
    const raw = src.metadata[key];
    if (!raw) continue;
    try {
      const v = JSON.parse(raw);
      if (v && typeof v === 'object') return v;
    } catch { /* ignored: metadata is advisory */ }
  }
  return {};
}

function dominantDtype(t: Shapes): Dtype {
  const bytes = new Map<Dtype, number>();
  for (const v of t.values()) {
    if (!['F32', 'F16', 'BF16', 'F64', 'F8_E4M3', 'F8_E5M2'].includes(v.dtype)) continue;
    bytes.set(v.dtype, (bytes.get(v.dtype) ?? 0) + v.shape.reduce((a, b) => a * b, 1));
  }
  let best: Dtype = 'F32';
  let n = -1;
  for (const [d, c] of bytes) if (c > n) { best = d; n = c; }
  return best;
}

function populationStd(x: Float32Array): number {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length || 1;
  let s = 0;
  for (const v of x) s += (v - m) ** 2;
  return Math.sqrt(s / (x.length || 1));
}

/** Reads an LDM UNet (also the ControlNet half, prefix 'control_model.'). */
export function detectUNet(src: TensorSource, prefix: string, cfg: Record<string, any> = {}): UNetConfig {
  const t = src.tensors;
  const keys = [...t.keys()].filter((k) => k.startsWith(prefix));
  const first = need(src, `${prefix}input_blocks.0.0.weight`);
  const modelChannels = first[0]!;
  const inChannels = first[1]!;
  const outShape = shape(t, `${prefix}out.2.weight`);
  const outChannels = outShape ? outShape[0]! : inChannels;
  const nInput = countIndexed(keys, `${prefix}input_blocks.`);
  const channelMult: number[] = [];
  const numResBlocks: number[] = [];
  const transformerDepth: number[] = [];
  let contextDim = 0;
  let linear = false;
  let ffInner: number | undefined;
  let res = 0;
  let levelDepth = 0;
  let ch = modelChannels;
  const depthOf = (block: string): number => countIndexed(keys, `${block}.1.transformer_blocks.`);
  for (let i = 1; i < nInput; i++) {
    const b = `${prefix}input_blocks.${i}`;
    if (t.has(`${b}.0.op.weight`) || t.has(`${b}.0.conv.weight`)) {
      channelMult.push(ch / modelChannels);
      numResBlocks.push(res);
      transformerDepth.push(levelDepth);
      res = 0;
      levelDepth = 0;
      continue;
    }
    const w = need(src, `${b}.0.in_layers.2.weight`);
    ch = w[0]!;
    res++;
    const d = depthOf(b);
    if (d > 0) {
      levelDepth = Math.max(levelDepth, d);
      const k = shape(t, `${b}.1.transformer_blocks.0.attn2.to_k.weight`);
      if (k && !contextDim) contextDim = k[1]!;
      const p = shape(t, `${b}.1.proj_in.weight`);
      if (p) linear = p.length === 2;
      const ff = shape(t, `${b}.1.transformer_blocks.0.ff.net.2.weight`);
      if (ff && ffInner === undefined) ffInner = ff[1]! / ch;
    }
  }
  channelMult.push(ch / modelChannels);
  numResBlocks.push(res);
  transformerDepth.push(levelDepth);
  const mid = countIndexed(keys, `${prefix}middle_block.1.transformer_blocks.`);
  const transformerDepthMiddle = t.has(`${prefix}middle_block.1.proj_in.weight`) ? mid : -1;
  if (!contextDim) {
    const k = shape(t, `${prefix}middle_block.1.transformer_blocks.0.attn2.to_k.weight`);
    if (k) contextDim = k[1]!;
  }
  const transformerDepthOutput: number[] = [];
  const nOut = countIndexed(keys, `${prefix}output_blocks.`);
  for (let i = 0; i < nOut; i++) transformerDepthOutput.push(depthOf(`${prefix}output_blocks.${i}`));
  const adm = shape(t, `${prefix}label_emb.0.0.weight`);
  const timeEmbedDim = need(src, `${prefix}time_embed.0.weight`)[0]!;
  const u = cfg.unet ?? {};
  let numHeads = typeof u.num_heads === 'number' ? u.num_heads : 0;
  let headChannels = typeof u.num_head_channels === 'number' ? u.num_head_channels : 0;
  if (numHeads <= 0 && headChannels <= 0) {
    // SD1.x fixes 8 heads; SD2.x and SDXL fix 64 channels per head (ComfyUI's supported_models).
    if (contextDim === 768 || (!linear && !adm)) { numHeads = 8; headChannels = -1; } else { numHeads = -1; headChannels = 64; }
  } else if (numHeads > 0) headChannels = -1;
  else numHeads = -1;
  return {
    prefix, inChannels, outChannels, modelChannels, channelMult, numResBlocks, transformerDepth, transformerDepthOutput,
    transformerDepthMiddle, contextDim, useLinearInTransformer: linear, numHeads, headChannels, timeEmbedDim,
    ...(adm ? { admInChannels: adm[1]! } : {}), ...(ffInner !== undefined ? { ffInner } : {}),
  };
}

function detectClipL(src: TensorSource, prefix: string, role: 'l' | 'g', heads?: number): TextEncoderConfig {
  const t = src.tensors;
  const tok = need(src, `${prefix}text_model.embeddings.token_embedding.weight`);
  const width = tok[1]!;
  const layers = countIndexed(t.keys(), `${prefix}text_model.encoder.layers.`);
  const inter = need(src, `${prefix}text_model.encoder.layers.0.mlp.fc1.weight`)[0]!;
  const proj = shape(t, `${prefix}text_projection.weight`);
  return {
    layout: 'clip', role, prefix, width, layers, heads: heads ?? defaultHeads(width), intermediate: inter, vocabSize: tok[0]!,
    maxPositions: need(src, `${prefix}text_model.embeddings.position_embedding.weight`)[0]!,
    // HF CLIP-L uses quick_gelu; the HF-converted bigG (SDXL te2 in diffusers form) uses gelu.
    act: role === 'g' ? 'gelu' : 'quick_gelu',
    ...(proj ? { projectionDim: proj[0]! } : {}),
  };
}

function detectOpenClip(src: TensorSource, prefix: string, role: 'h' | 'g', heads?: number): TextEncoderConfig {
  const t = src.tensors;
  const tok = need(src, `${prefix}token_embedding.weight`);
  const width = tok[1]!;
  const proj = shape(t, `${prefix}text_projection`);
  return {
    layout: 'open_clip', role, prefix, width, layers: countIndexed(t.keys(), `${prefix}transformer.resblocks.`),
    heads: heads ?? defaultHeads(width), intermediate: need(src, `${prefix}transformer.resblocks.0.mlp.c_fc.weight`)[0]!,
    vocabSize: tok[0]!, maxPositions: need(src, `${prefix}positional_embedding`)[0]!, act: 'gelu',
    ...(proj ? { projectionDim: proj[1]! } : {}),
  };
}

/** Real CLIP text towers use 64-wide heads (L: 12, H: 16, bigG: 20). */
function defaultHeads(width: number): number {
  return width % 64 === 0 ? width / 64 : Math.max(1, Math.round(width / 64));
}

export function detectVae(src: TensorSource, prefix: string, family: Family): VaeConfig {
  const t = src.tensors;
  const keys = [...t.keys()].filter((k) => k.startsWith(prefix));
  const diffusers = t.has(`${prefix}decoder.up_blocks.0.resnets.0.conv1.weight`);
  const convIn = need(src, `${prefix}decoder.conv_in.weight`);
  const latentChannels = convIn[1]!;
  const ch = need(src, `${prefix}decoder.conv_out.weight`)[1]!;
  const chMult: number[] = [];
  let numResBlocks = 0;
  if (diffusers) {
    const n = countIndexed(keys, `${prefix}encoder.down_blocks.`);
    for (let i = 0; i < n; i++) chMult.push(need(src, `${prefix}encoder.down_blocks.${i}.resnets.0.conv1.weight`)[0]! / ch);
    numResBlocks = countIndexed(keys, `${prefix}decoder.up_blocks.0.resnets.`) - 1;
  } else {
    const n = countIndexed(keys, `${prefix}decoder.up.`);
    for (let i = 0; i < n; i++) chMult.push(need(src, `${prefix}decoder.up.${i}.block.0.conv2.weight`)[0]! / ch);
    numResBlocks = countIndexed(keys, `${prefix}decoder.up.0.block.`) - 1;
  }
  const q = shape(t, diffusers ? `${prefix}decoder.mid_block.attentions.0.to_q.weight` : `${prefix}decoder.mid.attn_1.q.weight`)
    ?? shape(t, `${prefix}decoder.mid_block.attentions.0.query.weight`);
  const scale = family === 'sdxl' || family === 'sdxl_refiner' ? 0.13025 : family === 'flux' ? 0.3611 : 0.18215;
  return {
    prefix, layout: diffusers ? 'diffusers' : 'ldm', ch, chMult, numResBlocks, latentChannels,
    hasQuantConv: t.has(`${prefix}quant_conv.weight`), linearAttention: q?.length === 2,
    hasEncoder: t.has(`${prefix}encoder.conv_in.weight`), scalingFactor: scale, shiftFactor: family === 'flux' ? 0.1159 : 0,
  };
}

function detectFlux(src: TensorSource, prefix: string, cfg: Record<string, any>): FluxConfig {
  const t = src.tensors;
  const keys = [...t.keys()];
  const imgIn = need(src, `${prefix}img_in.weight`);
  const hiddenSize = imgIn[0]!;
  const headDim = need(src, `${prefix}double_blocks.0.img_attn.norm.key_norm.scale`)[0]!;
  const d = cfg.dit ?? {};
  // BFL's axes are [16, 56, 56] for 128-wide heads: one eighth for the index axis, the rest split between h and w.
  const axesDim: number[] = Array.isArray(d.axes_dim) ? d.axes_dim : [headDim / 8, (headDim * 7) / 16, (headDim * 7) / 16];
  return {
    // img_in sees 2×2 patches, so its input width is 4× the latent channels (16, or 96 for Fill).
    prefix, inChannels: imgIn[1]! / 4, hiddenSize, headDim, numHeads: hiddenSize / headDim,
    depth: countIndexed(keys, `${prefix}double_blocks.`), depthSingle: countIndexed(keys, `${prefix}single_blocks.`),
    mlpRatio: need(src, `${prefix}double_blocks.0.img_mlp.0.weight`)[0]! / hiddenSize,
    vecInDim: need(src, `${prefix}vector_in.in_layer.weight`)[1]!, contextInDim: need(src, `${prefix}txt_in.weight`)[1]!,
    axesDim, qkvBias: t.has(`${prefix}double_blocks.0.img_attn.qkv.bias`), guidanceEmbed: t.has(`${prefix}guidance_in.in_layer.weight`),
  };
}


function unetPrefix(t: Shapes): string | null {
  // ComfyUI's unet_prefix_from_state_dict: the most frequent of the known prefixes.
  const counts = new Map<string, number>();
  for (const k of t.keys()) {
    for (const p of ['model.diffusion_model.', 'model.model.', 'net.']) if (k.startsWith(p)) counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  let best: string | null = null;
  let n = 0;
  for (const [p, c] of counts) if (c > n) { best = p; n = c; }
  if (best) return best;
  if (t.has('input_blocks.0.0.weight')) return '';
  return null;
}

function classifyUNet(u: UNetConfig, notes: string[]): Family {
  if (u.admInChannels !== undefined) {
    // SDXL base: CLIP-L + bigG context (2048) with a 2816-wide ADM; refiner: bigG only (1280) with 2560.
    if (u.transformerDepth[0] === 0 && u.contextDim > 0) {
      const refiner = u.admInChannels - 5 * 256 === u.contextDim;
      notes.push(`label_emb (adm ${u.admInChannels}) → SDXL ${refiner ? 'refiner (adm = context + 5×256)' : 'base'}`);
      return refiner ? 'sdxl_refiner' : 'sdxl';
    }
    notes.push(`label_emb present with attention at level 0: not an SDXL layout`);
    return 'unknown';
  }
  if (u.useLinearInTransformer) { notes.push('linear proj_in → SD2.x'); return 'sd2'; }
  notes.push('conv proj_in, no label_emb → SD1.x');
  return 'sd1';
}

/**
 * ComfyUI (supported_models.SD20.model_type): an SD2 UNet with 4 input channels is v-prediction when the
 * population std of output_blocks.11.1.transformer_blocks.0.norm1.bias exceeds 0.09; inpainting SD2 is eps.
 */
export function sd2Prediction(src: TensorSource, u: UNetConfig, notes: string[]): Prediction {
  if (u.inChannels !== 4) { notes.push('SD2 with in_channels ≠ 4 → eps (ComfyUI rule)'); return 'eps'; }
  const key = `${u.prefix}output_blocks.11.1.transformer_blocks.0.norm1.bias`;
  if (!src.tensors.has(key)) { notes.push(`${key} missing → eps`); return 'eps'; }
  const std = populationStd(src.readFloat32(key));
  const v = std > 0.09;
  notes.push(`std(${key}) = ${std.toFixed(4)} ${v ? '>' : '≤'} 0.09 → ${v ? 'v' : 'eps'}`);
  return v ? 'v' : 'eps';
}

function detectLora(t: Shapes): LoraInfo | null {
  let unet = 0, te = 0, te1 = 0, te2 = 0, rank = 0;
  const kinds = new Set<string>();
  let format: LoraInfo['format'] = 'unknown';
  for (const [k, v] of t) {
    let m: RegExpMatchArray | null;
    if ((m = k.match(/\.(lora_down|lora_A|lora\.down|lora_linear_layer\.down)\.weight$/))) {
      rank = rank || v.shape[0]!;
      kinds.add('lora');
    } else if (/\.hada_w1_a$/.test(k)) kinds.add('loha');
    else if (/\.lokr_w1(_a)?$/.test(k)) kinds.add('lokr');
    else continue;
    if (k.startsWith('lora_unet_')) { unet++; format = 'kohya'; } else if (k.startsWith('lora_te1_')) { te1++; format = 'kohya'; } else if (k.startsWith('lora_te2_')) { te2++; format = 'kohya'; } else if (k.startsWith('lora_te_')) { te++; format = 'kohya'; } else if (k.startsWith('unet.') || k.startsWith('text_encoder')) { format = 'diffusers'; if (k.startsWith('unet.')) unet++; else te++; } else if (m && m[1] === 'lora_A') { format = format === 'unknown' ? 'peft' : format; unet++; } else unet++;
  }
  if (kinds.size === 0) return null;
  return { format, rank, targets: { unet, te, te1, te2 }, kinds: [...kinds] };
}

function detectEsrgan(src: TensorSource): EsrganConfig | null {
  const t = src.tensors;
  // Real-ESRGAN names (conv_first/body/conv_up1) and the original ESRGAN names (model.0 / model.1.sub) both exist.
  if (t.has('conv_first.weight') && t.has('body.0.rdb1.conv1.weight')) {
    const first = need(src, 'conv_first.weight');
    const ups = ['conv_up1.weight', 'conv_up2.weight', 'conv_up3.weight'].filter((k) => t.has(k)).length;
    const inCh = first[1]!;
    // x2/x1 Real-ESRGAN use pixel-unshuffle, which multiplies the input channels by 4 or 16.
    const scale = inCh === 3 * 16 ? 1 : inCh === 3 * 4 ? 2 : 2 ** ups;
    return {
      arch: 'rrdbnet', inChannels: inCh, outChannels: need(src, 'conv_last.weight')[0]!, numFeat: first[0]!,
      numBlocks: countIndexed(t.keys(), 'body.'), growth: need(src, 'body.0.rdb1.conv1.weight')[0]!, scale,
    };
  }
  if (t.has('model.0.weight') && t.has('model.1.sub.0.RDB1.conv1.0.weight')) {
    const first = need(src, 'model.0.weight');
    const ups = [...t.keys()].filter((k) => /^model\.\d+\.weight$/.test(k)).length - 3;
    return {
      arch: 'rrdbnet', inChannels: first[1]!, outChannels: 3, numFeat: first[0]!,
      numBlocks: countIndexed(t.keys(), 'model.1.sub.') - 1, growth: need(src, 'model.1.sub.0.RDB1.conv1.0.weight')[0]!, scale: 2 ** Math.max(ups, 0),
    };
  }
  return null;
}

function detectT5(src: TensorSource, prefix: string): T5Config {
  const t = src.tensors;
  const q = need(src, `${prefix}encoder.block.0.layer.0.SelfAttention.q.weight`);
  const rel = need(src, `${prefix}encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight`);
  const gated = t.has(`${prefix}encoder.block.0.layer.1.DenseReluDense.wi_0.weight`);
  const ff = need(src, `${prefix}encoder.block.0.layer.1.DenseReluDense.${gated ? 'wi_0' : 'wi'}.weight`);
  const numHeads = rel[1]!;
  return {
    prefix, dModel: q[1]!, numHeads, dKv: q[0]! / numHeads, dFf: ff[0]!, numLayers: countIndexed(t.keys(), `${prefix}encoder.block.`),
    vocabSize: need(src, `${prefix}shared.weight`)[0]!, relativeBuckets: rel[0]!, gated,
  };
}

function textEncodersOf(src: TensorSource, cfg: Record<string, any>): TextEncoderConfig[] {
  const t = src.tensors;
  const out: TextEncoderConfig[] = [];
  const h = (c: any): number | undefined => (typeof c?.num_attention_heads === 'number' ? c.num_attention_heads : undefined);
  if (t.has('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight')) out.push(detectClipL(src, 'cond_stage_model.transformer.', 'l', h(cfg.clip)));
  if (t.has('cond_stage_model.model.token_embedding.weight')) out.push(detectOpenClip(src, 'cond_stage_model.model.', 'h', h(cfg.clip)));
  if (t.has('conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight')) out.push(detectClipL(src, 'conditioner.embedders.0.transformer.', 'l', h(cfg.clip_l)));
  for (const i of [0, 1]) {
    if (t.has(`conditioner.embedders.${i}.model.token_embedding.weight`)) out.push(detectOpenClip(src, `conditioner.embedders.${i}.model.`, 'g', h(cfg.clip_g)));
  }
  return out;
}

/** Detects what a model file is and reads every dimension the graph builders need. */
export function detectModel(src: TensorSource): DetectedModel {
  const t = src.tensors;
  const cfg = metaConfig(src);
  const notes: string[] = [];
  const base = { path: src.path, dtype: dominantDtype(t), textEncoders: [] as TextEncoderConfig[], notes };
  const fluxPrefix = ['model.diffusion_model.', ''].find((p) => t.has(`${p}double_blocks.0.img_attn.norm.key_norm.scale`) && t.has(`${p}img_in.weight`));
  if (fluxPrefix !== undefined) {
    const flux = detectFlux(src, fluxPrefix, cfg);
    const variant = flux.inChannels === 96 ? 'fill' : flux.guidanceEmbed ? 'dev' : 'schnell';
    notes.push(`double_blocks + img_in → FLUX; guidance_in ${flux.guidanceEmbed ? 'present → dev' : 'absent → schnell'}`);
    const kind: ModelKind = t.has('first_stage_model.decoder.conv_in.weight') || t.has('vae.decoder.conv_in.weight') ? 'checkpoint' : 'diffusion_model';
    return { ...base, kind, family: 'flux', prediction: 'flow', variant, flux };
  }
  const prefix = unetPrefix(t);
  if (prefix !== null && t.has(`${prefix}input_blocks.0.0.weight`)) {
    const unet = detectUNet(src, prefix, cfg);
    let family = classifyUNet(unet, notes);
    const prediction = family === 'sd2' ? sd2Prediction(src, unet, notes) : 'eps';
    const textEncoders = textEncodersOf(src, cfg);
    const vaePrefix = t.has('first_stage_model.decoder.conv_in.weight') ? 'first_stage_model.' : null;
    const out: DetectedModel = {
      ...base, kind: vaePrefix || textEncoders.length ? 'checkpoint' : 'diffusion_model', family, prediction, unet, textEncoders,
      ...(unet.inChannels > 4 && family !== 'sdxl_refiner' ? { variant: 'inpaint' as const } : {}),
    };
    if (vaePrefix) out.vae = detectVae(src, vaePrefix, family);
    return out;
  }
  if (t.has('control_model.input_blocks.0.0.weight')) {
    const unet = detectUNet(src, 'control_model.', cfg);
    const family = classifyUNet(unet, notes);
    return { ...base, kind: 'controlnet', family, prediction: null, controlnet: { unet, hintChannels: need(src, 'control_model.input_hint_block.0.weight')[1]! } };
  }
  const lora = detectLora(t);
  if (lora) {
    const family: Family = lora.targets.te1 || lora.targets.te2 ? 'sdxl' : 'unknown';
    return { ...base, kind: 'lora', family, prediction: null, lora };
  }
  const upscaler = detectEsrgan(src);
  if (upscaler) return { ...base, kind: 'upscaler', family: 'unknown', prediction: null, upscaler };
  for (const p of ['', 'first_stage_model.', 'vae.']) {
    if (t.has(`${p}decoder.conv_in.weight`)) {
      const latent = need(src, `${p}decoder.conv_in.weight`)[1]!;
      const family: Family = latent === 16 ? 'flux' : 'unknown';
      notes.push(`VAE alone, ${latent} latent channels${family === 'flux' ? ' → FLUX AE' : ' (SD1/SD2/SDXL share the layout; the scale comes from the model it is used with)'}`);
      return { ...base, kind: 'vae', family, prediction: null, vae: detectVae(src, p, family) };
    }
  }
  if (t.has('encoder.block.0.layer.0.SelfAttention.q.weight')) return { ...base, kind: 'text_encoder', family: 'flux', prediction: null, t5: detectT5(src, '') };
  if (t.has('vision_model.embeddings.patch_embedding.weight') && !t.has('text_model.embeddings.token_embedding.weight')) {
    return { ...base, kind: 'clip_vision', family: 'unknown', prediction: null };
  }
  for (const p of ['', 'transformer.', 'cond_stage_model.transformer.']) {
    if (t.has(`${p}text_model.embeddings.token_embedding.weight`)) {
      const role = t.has(`${p}text_model.encoder.layers.0.mlp.fc1.weight`) && need(src, `${p}text_model.embeddings.token_embedding.weight`)[1]! >= 1280 ? 'g' : 'l';
      return { ...base, kind: 'text_encoder', family: 'unknown', prediction: null, textEncoders: [detectClipL(src, p, role, undefined)] };
    }
  }
  if (t.has('image_proj.proj.weight') || t.has('image_proj.latents')) return { ...base, kind: 'ipadapter', family: 'unknown', prediction: null };
  if (t.has('emb_params') || t.has('string_to_param.*') || t.has('clip_l') || t.has('clip_g')) return { ...base, kind: 'embedding', family: t.has('clip_g') ? 'sdxl' : 'unknown', prediction: null };
  const hint = /lora/i.test(src.path) ? ' (the name says LoRA: load it with a LoRA loader)' : '';
  throw new WeftError(`Could not detect model type of: ${src.path}${hint}`, { file: src.path, type: 'unknown_model_type' });
}
