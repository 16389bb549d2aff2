/** LDM UNets (checkpoints, diffusion-model files, the ControlNet half): dimensions, family and prediction. */
import type { Family, Prediction, TensorSource, UNetConfig } from './types.ts';
import { countIndexed, need, populationStd, shape, type Shapes } from './util.ts';

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

export function unetPrefix(t: Shapes): string | null {
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

export function classifyUNet(u: UNetConfig, notes: string[]): Family {
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
