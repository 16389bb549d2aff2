/**
 * ONNX emitters for the LDM UNet's building blocks (ResBlock, SpatialTransformer, down/upsample, timestep
 * embedding), shared by the UNet and the ControlNet encoder. Op choices follow research/onnx.md for the CPU
 * EP: FusedMatMul transB for torch Linear weights (no transposed copy), com.microsoft MultiHeadAttention,
 * GroupNormalization-21 with per-channel affine, GEGLU as two matmuls over the two row halves of the
 * checkpoint tensor (a byte range each, so no Split). Every spatial size stays symbolic: one session serves
 * any batch and latent size.
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { DataType, type GraphBuilder } from '../../onnx/index.ts';
import type { TransformerLayer, ResLayer } from './config.ts';

export interface Emit {
  g: GraphBuilder;
  file: SafetensorsFile;
  /** Key prefix of every weight read by this emitter ('model.diffusion_model.', 'control_model.'). */
  prefix: string;
  /** SiLU(emb) is shared by every ResBlock of a network; cached here once computed. */
  embAct?: string;
}

export function weight(e: Emit, key: string, rows?: [number, number]): string {
  return e.g.weight(e.file, e.prefix + key, rows ? { rows } : {});
}

export function silu(e: Emit, x: string): string {
  return e.g.op('Mul', [x, e.g.op('Sigmoid', [x])]);
}

/** torch Linear: y = x·Wᵀ + b with W stored [out, in]. */
export function linear(e: Emit, x: string, key: string, opts: { bias?: boolean; rows?: [number, number] } = {}): string {
  const w = weight(e, `${key}.weight`, opts.rows);
  const y = e.g.ep === 'cpu'
    ? e.g.op('FusedMatMul', [x, w], { transB: 1 }, { domain: 'com.microsoft' })
    : e.g.op('MatMul', [x, e.g.op('Transpose', [w], { perm: [1, 0] })]);
  return opts.bias === false ? y : e.g.op('Add', [y, weight(e, `${key}.bias`, opts.rows)]);
}

export function conv(e: Emit, x: string, key: string, k: number, stride = 1): string {
  const pad = Math.floor(k / 2);
  return e.g.op('Conv', [x, weight(e, `${key}.weight`), weight(e, `${key}.bias`)], {
    kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad],
  });
}

export function groupNorm(e: Emit, x: string, key: string, eps: number, groups = 32): string {
  return e.g.op('GroupNormalization', [x, weight(e, `${key}.weight`), weight(e, `${key}.bias`)], { num_groups: groups, epsilon: { float: eps } });
}

export function layerNorm(e: Emit, x: string, key: string): string {
  return e.g.op('LayerNormalization', [x, weight(e, `${key}.weight`), weight(e, `${key}.bias`)], { axis: -1, epsilon: { float: 1e-5 } });
}

/** cat(cos(t·f), sin(t·f)), f_i = exp(−ln(10000)·i/half), frequencies rounded as torch's float32 math does. */
export function timestepEmbedding(e: Emit, t: string, dim: number): string {
  const half = Math.floor(dim / 2);
  const f = Math.fround;
  const c = f(-Math.log(10000));
  const freqs = Float32Array.from({ length: half }, (_, i) => f(Math.exp(f(f(c * i) / half))));
  const args = e.g.op('Mul', [e.g.op('Unsqueeze', [t, e.g.constInt64([1])]), e.g.constant(freqs, [1, half])]);
  let emb = e.g.op('Concat', [e.g.op('Cos', [args]), e.g.op('Sin', [args])], { axis: 1 });
  if (dim % 2 === 1) emb = e.g.op('Pad', [emb, e.g.constInt64([0, 0, 0, 1])]);
  return emb;
}

/** Linear → SiLU → Linear, the shape of both `time_embed` and SDXL's `label_emb.0`. */
export function mlp(e: Emit, x: string, key0: string, key2: string): string {
  return linear(e, silu(e, linear(e, x, key0)), key2);
}

export function resBlock(e: Emit, x: string, emb: string, l: ResLayer): string {
  const k = l.key.slice(e.prefix.length);
  let h = conv(e, silu(e, groupNorm(e, x, `${k}.in_layers.0`, 1e-5)), `${k}.in_layers.2`, 3);
  e.embAct ??= silu(e, emb);
  const t = linear(e, e.embAct, `${k}.emb_layers.1`);
  h = e.g.op('Add', [h, e.g.op('Unsqueeze', [t, e.g.constInt64([2, 3])])]);
  h = conv(e, silu(e, groupNorm(e, h, `${k}.out_layers.0`, 1e-5)), `${k}.out_layers.3`, 3);
  const skip = l.skipConv ? conv(e, x, `${k}.skip_connection`, 1) : x;
  return e.g.op('Add', [skip, h]);
}

function attention(e: Emit, x: string, kv: string, key: string, heads: number): string {
  const q = linear(e, x, `${key}.to_q`, { bias: false });
  const k = linear(e, kv, `${key}.to_k`, { bias: false });
  const v = linear(e, kv, `${key}.to_v`, { bias: false });
  const a = e.g.op('MultiHeadAttention', [q, k, v], { num_heads: heads }, { domain: 'com.microsoft' });
  return linear(e, a, `${key}.to_out.0`);
}

/** BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward, each pre-norm + residual. */
function basicBlock(e: Emit, x: string, context: string, key: string, l: TransformerLayer): string {
  let h = x;
  let n = layerNorm(e, h, `${key}.norm1`);
  h = e.g.op('Add', [h, attention(e, n, n, `${key}.attn1`, l.heads)]);
  n = layerNorm(e, h, `${key}.norm2`);
  h = e.g.op('Add', [h, attention(e, n, context, `${key}.attn2`, l.heads)]);
  n = layerNorm(e, h, `${key}.norm3`);
  const inner = l.ffInner;
  const a = linear(e, n, `${key}.ff.net.0.proj`, { rows: [0, inner] });
  const gate = linear(e, n, `${key}.ff.net.0.proj`, { rows: [inner, 2 * inner] });
  const ff = linear(e, e.g.op('Mul', [a, e.g.op('Gelu', [gate])]), `${key}.ff.net.2`);
  return e.g.op('Add', [h, ff]);
}

/** SpatialTransformer: GroupNorm(eps 1e-6), proj_in (1×1 conv or Linear), N blocks, proj_out, + input. */
export function spatialTransformer(e: Emit, x: string, context: string, l: TransformerLayer): string {
  const k = l.key.slice(e.prefix.length);
  const g = e.g;
  let h = groupNorm(e, x, `${k}.norm`, 1e-6);
  const toTokens = (v: string): string => g.op('Transpose', [g.op('Reshape', [v, g.constInt64([0, 0, -1])])], { perm: [0, 2, 1] });
  const fromTokens = (v: string): string => g.op('Reshape', [g.op('Transpose', [v], { perm: [0, 2, 1] }), g.op('Shape', [x])]);
  if (l.linear) h = linear(e, toTokens(h), `${k}.proj_in`);
  else h = toTokens(conv(e, h, `${k}.proj_in`, 1));
  for (let i = 0; i < l.depth; i++) h = basicBlock(e, h, context, `${k}.transformer_blocks.${i}`, l);
  h = l.linear ? fromTokens(linear(e, h, `${k}.proj_out`)) : conv(e, fromTokens(h), `${k}.proj_out`, 1);
  return g.op('Add', [h, x]);
}

export function downsample(e: Emit, x: string, key: string): string {
  return conv(e, x, `${key.slice(e.prefix.length)}.op`, 3, 2);
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
  return conv(e, up, `${key.slice(e.prefix.length)}.conv`, 3);
}

export { DataType };
