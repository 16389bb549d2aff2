/**
 * The LDM UNet's blocks (ResBlock, SpatialTransformer, down/upsample, timestep embedding) in ComfyUI's
 * openaimodel layout, shared by the UNet and the ControlNet encoder, on top of the shared primitives in
 * models/layers (FusedMatMul transB Linear, MultiHeadAttention, GroupNormalization-21, GEGLU over the two
 * row halves of one tensor). Keys are relative to `Emit.prefix`. Spatial sizes are read at run time (Shape
 * ops), so one session serves any batch and latent size.
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import type { GraphBuilder } from '../../onnx/index.ts';
import { WeftError } from '../../errors.ts';
import * as L from '../layers/index.ts';
import { torchExpF32 } from '../layers/sinusoidal.ts';
import { keepFloat32, toCompute } from '../../onnx/precision.ts';
import type { TransformerLayer, ResLayer } from './config.ts';

export interface Emit {
  g: GraphBuilder;
  file: SafetensorsFile;
  /** Key prefix of every weight read by this emitter ('model.diffusion_model.', 'control_model.'). */
  prefix: string;
  /** SiLU(emb) is shared by every ResBlock of a network; cached here once computed. */
  embAct?: string;
  patch?: LayerPatch;
  /**
   * Decoupled cross-attention hooks (IP-Adapter): each sees every attn2 layer and adds its own term to the
   * attention output before to_out. Absent: the graph is exactly what it was without hooks.
   */
  crossAttention?: CrossAttentionHook[];
  /** SpatialTransformers emitted so far (ComfyUI's transformer_index, counted in execution order). */
  transformerIndex?: number;
  /** Every attn2 site, listed by buildUNet when hooks are given. */
  sites?: CrossAttnSite[];
  /**
   * Hooks on what attn1 and attn2 feed to to_q / to_k / to_v (hypernetworks), applied in order, each on the
   * previous one's result. Absent: the graph is exactly what it was without hooks.
   */
  attentionInputs?: AttentionInputHook[];
  /** ComfyUI's middle_patch list (GLIGEN), applied in order in every transformer block; see MiddlePatchHook. */
  middlePatches?: MiddlePatchHook[];
}

/** One cross-attention (attn2) layer of the UNet as a hook sees it. */
export interface CrossAttnSite {
  block: 'input' | 'middle' | 'output';
  /** input_blocks / output_blocks index (0 for the middle block). */
  id: number;
  /** SpatialTransformer counter over the whole network in execution order (input, middle, output). */
  transformerIndex: number;
  /** transformer_blocks index inside that SpatialTransformer. */
  depthIndex: number;
  heads: number;
  /** Width of q (and of the attention output). */
  inner: number;
  /**
   * Downsampling factor of the layer's feature map relative to the latent (1, 2, 4, …): its token grid is
   * downsampledSize(H, down) × downsampledSize(W, down), which per-token terms (IP-Adapter masks) need.
   */
  down: number;
}

/**
 * `begin` runs once before any layer is emitted, with every attn2 site in emission order, and declares the
 * hook's graph inputs through `declare`; `apply` receives q (after to_q), the text attention's output (before
 * to_out) and returns the value that replaces it.
 */
export interface CrossAttentionHook {
  begin(p: { g: GraphBuilder; sites: readonly CrossAttnSite[]; declare: (name: string, dims: (number | string)[]) => string }): void;
  apply(p: { g: GraphBuilder; q: string; out: string; site: CrossAttnSite; siteIndex: number }): string;
}

/** One attention layer as an input hook sees it. */
export interface AttentionInputSite {
  attn: 'attn1' | 'attn2';
  /** Weight key of the layer without the emitter prefix, e.g. `input_blocks.1.1.transformer_blocks.0.attn2`. */
  key: string;
  /** Last-axis width of k and v: the block's inner width for attn1, the context width for attn2. */
  width: number;
}

/** The three values an attention layer projects with to_q, to_k and to_v. */
export interface AttentionInputs { q: string; k: string; v: string }

/**
 * ComfyUI's attn1_patch / attn2_patch: receives (q, k, v) before the projections (attn1: the normed hidden
 * states three times; attn2: them, then the context twice) and returns the values to project instead.
 */
export type AttentionInputHook = (p: AttentionInputs & { g: GraphBuilder; site: AttentionInputSite }) => AttentionInputs;

/**
 * ComfyUI's middle_patch: rewrites a BasicTransformerBlock's hidden states after attn1 and its residual, before
 * norm2 / attn2. `begin` works as CrossAttentionHook's does (sites are the blocks, one per attn2 layer).
 */
export interface MiddlePatchHook {
  begin: CrossAttentionHook['begin'];
  apply(p: { g: GraphBuilder; x: string; site: CrossAttnSite; siteIndex: number }): string;
}

/**
 * Called after every Linear and Conv with its full weight key (without `.weight`), its input and its output
 * value; returns the value to use instead. LoRA-style low-rank branches (y + s·B(A(x))) plug in here without
 * touching the checkpoint's weights.
 */
export type LayerPatch = (p: { g: GraphBuilder; key: string; kind: 'linear' | 'conv'; input: string; output: string; stride: number }) => string;

export const silu = (e: Emit, x: string): string => L.silu(e.g, x);

/** torch Linear (weights [out, in]); the bias is added when the checkpoint has one. */
export function linear(e: Emit, x: string, key: string): string {
  const y = L.linear(e.g, e.file, e.prefix + key, x);
  return e.patch ? e.patch({ g: e.g, key: e.prefix + key, kind: 'linear', input: x, output: y, stride: 1 }) : y;
}

export function conv(e: Emit, x: string, key: string, stride = 1): string {
  const y = L.conv2d(e.g, e.file, e.prefix + key, x, { stride });
  return e.patch ? e.patch({ g: e.g, key: e.prefix + key, kind: 'conv', input: x, output: y, stride }) : y;
}
/**
 * GroupNorm(32) as Reshape [N, 32, -1] → InstanceNormalization → Reshape → per-channel affine. Not the
 * standard GroupNormalization-21: its function body takes the variance as E[x²] − E[x]², which cancels
 * catastrophically for groups with a large mean and small spread (a 1×1 deep level of a small latent, large
 * CFG-driven activations) and goes negative: sqrt → NaN. InstanceNormalization's CPU kernel subtracts the mean
 * first, like torch.
 */
export function groupNorm(e: Emit, x: string, key: string, eps: number, groups = 32): string {
  return L.groupNorm(e.g, e.file, e.prefix + key, x, { groups, eps });
}
const layerNorm = (e: Emit, x: string, key: string): string => L.layerNorm(e.g, e.file, e.prefix + key, x);

/**
 * f_i = exp(−ln(10000)·i/half) with torch's float32 rounding at each step and its vectorised exp (SLEEF
 * expf_u10, not always correctly rounded), as layers/sinusoidal.ts does for the ADM vectors.
 */
export function timestepFrequencies(half: number): Float32Array {
  const f = Math.fround;
  const c = f(-Math.log(10000));
  return Float32Array.from({ length: half }, (_, i) => torchExpF32(f(f(c * i) / half)));
}

/**
 * cat(cos(t·f), sin(t·f)) over model_channels/2 frequencies. `t` must be float32 (embedInputs declares it
 * inside keepFloat32): in an fp16 graph the angles stay float32 too, since an fp16 t near 1000 is off by up
 * to 0.25 and an fp16 angle by ~0.5 rad; only the finished embedding (values in [-1, 1]) becomes fp16.
 */
export function timestepEmbedding(e: Emit, t: string, dim: number): string {
  const half = Math.floor(dim / 2);
  const freqs = timestepFrequencies(half);
  const emb = keepFloat32(e.g, () => {
    const args = e.g.op('Mul', [e.g.op('Unsqueeze', [t, e.g.constInt64([1])]), e.g.constant(freqs, [1, half])]);
    const cs = e.g.op('Concat', [e.g.op('Cos', [args]), e.g.op('Sin', [args])], { axis: 1 });
    return dim % 2 === 1 ? e.g.op('Pad', [cs, e.g.constInt64([0, 0, 0, 1])]) : cs;
  });
  return toCompute(e.g, emb);
}

/** Linear → SiLU → Linear, the shape of both `time_embed` and SDXL's `label_emb.0`. */
export function mlp(e: Emit, x: string, key0: string, key2: string): string {
  return linear(e, silu(e, linear(e, x, key0)), key2);
}

export function resBlock(e: Emit, x: string, emb: string, l: ResLayer): string {
  const k = l.key.slice(e.prefix.length);
  let h = conv(e, silu(e, groupNorm(e, x, `${k}.in_layers.0`, 1e-5)), `${k}.in_layers.2`);
  e.embAct ??= silu(e, emb);
  const t = linear(e, e.embAct, `${k}.emb_layers.1`);
  h = e.g.op('Add', [h, e.g.op('Unsqueeze', [t, e.g.constInt64([2, 3])])]);
  h = conv(e, silu(e, groupNorm(e, h, `${k}.out_layers.0`, 1e-5)), `${k}.out_layers.3`);
  const skip = l.skipConv ? conv(e, x, `${k}.skip_connection`) : x;
  return e.g.op('Add', [skip, h]);
}

function attention(e: Emit, x: string, kv: string, at: AttentionInputSite, heads: number, site?: CrossAttnSite): string {
  const key = at.key;
  let inp: AttentionInputs = { q: x, k: kv, v: kv };
  for (const h of e.attentionInputs ?? []) inp = h({ ...inp, g: e.g, site: at });
  const q = linear(e, inp.q, `${key}.to_q`);
  const k = linear(e, inp.k, `${key}.to_k`);
  const v = linear(e, inp.v, `${key}.to_v`);
  let o = L.attention(e.g, q, k, v, heads);
  // Only attn2 passes a site; hooks add their terms where ComfyUI's attn2 replace patches do (before to_out).
  if (site && e.crossAttention) {
    const siteIndex = e.sites!.indexOf(site);
    for (const h of e.crossAttention) o = h.apply({ g: e.g, q, out: o, site, siteIndex });
  }
  return linear(e, o, `${key}.to_out.0`);
}

/** GEGLU over the two row halves of ff.net.0.proj; with a patch, one full Linear then Split (so the patch sees it). */
function geglu(e: Emit, x: string, key: string): string {
  if (!e.patch) return L.geglu(e.g, e.file, e.prefix + key, x);
  const [a, gate] = e.g.opN('Split', [linear(e, x, key)], 2, { axis: -1, num_outputs: 2 });
  return e.g.op('Mul', [a!, L.gelu(e.g, gate!)]);
}

/** BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward, each pre-norm + residual. */
function basicBlock(e: Emit, x: string, context: string, key: string, l: TransformerLayer, site?: CrossAttnSite): string {
  let h = x;
  let n = layerNorm(e, h, `${key}.norm1`);
  h = e.g.op('Add', [h, attention(e, n, n, { attn: 'attn1', key: `${key}.attn1`, width: l.inner }, l.heads)]);
  if (site && e.middlePatches) for (const p of e.middlePatches) h = p.apply({ g: e.g, x: h, site, siteIndex: e.sites!.indexOf(site) });
  n = layerNorm(e, h, `${key}.norm2`);
  h = e.g.op('Add', [h, attention(e, n, context, { attn: 'attn2', key: `${key}.attn2`, width: l.contextDim }, l.heads, site)]);
  n = layerNorm(e, h, `${key}.norm3`);
  const ff = linear(e, geglu(e, n, `${key}.ff.net.0.proj`), `${key}.ff.net.2`);
  return e.g.op('Add', [h, ff]);
}

/** SpatialTransformer: GroupNorm(eps 1e-6), proj_in (1×1 conv or Linear), N blocks, proj_out, + input. */
export function spatialTransformer(e: Emit, x: string, context: string, l: TransformerLayer): string {
  const k = l.key.slice(e.prefix.length);
  const g = e.g;
  let h = groupNorm(e, x, `${k}.norm`, 1e-6);
  const toTokens = (v: string): string => L.nchwToTokens(g, v);
  const fromTokens = (v: string): string => L.tokensToNchw(g, v, x);
  if (l.linear) h = linear(e, toTokens(h), `${k}.proj_in`);
  else h = toTokens(conv(e, h, `${k}.proj_in`));
  const t = e.transformerIndex ?? 0;
  e.transformerIndex = t + 1;
  const siteOf = (i: number): CrossAttnSite | undefined =>
    e.sites ? e.sites.find((s) => s.transformerIndex === t && s.depthIndex === i) : undefined;
  for (let i = 0; i < l.depth; i++) h = basicBlock(e, h, context, `${k}.transformer_blocks.${i}`, l, siteOf(i));
  h = l.linear ? fromTokens(linear(e, h, `${k}.proj_out`)) : conv(e, fromTokens(h), `${k}.proj_out`);
  return g.op('Add', [h, x]);
}

export function downsample(e: Emit, x: string, key: string): string {
  return conv(e, x, `${key.slice(e.prefix.length)}.op`, 2);
}

/**
 * Nearest upsampling to the next skip connection's size (ComfyUI passes output_shape so odd sizes round
 * back exactly), or ×2 when there is none, then the 3×3 conv. torch 'nearest' picks floor(dst·in/out):
 * ONNX asymmetric + floor.
 */
export function upsample(e: Emit, x: string, key: string, like?: string): string {
  const g = e.g;
  const mode = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  const up = like
    ? g.op('Resize', [x, '', '', g.op('Concat', [g.op('Shape', [x], { start: 0, end: 2 }), g.op('Shape', [like], { start: 2, end: 4 })], { axis: 0 })], mode)
    : g.op('Resize', [x, '', g.constant(Float32Array.of(1, 1, 2, 2), [4])], mode);
  return conv(e, up, `${key.slice(e.prefix.length)}.conv`);
}

