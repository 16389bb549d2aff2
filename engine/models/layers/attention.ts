/**
 * Attention through com.microsoft MultiHeadAttention: on CPU 2.3× faster than MatMul+Softmax on a UNet
 * transformer block and it never materialises the score matrix (research/onnx.md §5). WebGPU has it too.
 * q is (B, S, C), k/v are (B, L, C) with C = heads·headDim.
 */
import { MS_DOMAIN, type GraphBuilder } from '../../onnx/index.ts';

export interface AttentionOptions {
  /** Each position attends only to itself and earlier ones (CLIP text). */
  causal?: boolean;
  /** Softmax scale; default 1/sqrt(headDim). */
  scale?: number;
  /** Additive score bias [1 or B, heads, S, L] (T5's relative positions), added after scaling. */
  bias?: string;
}

export function attention(g: GraphBuilder, q: string, k: string, v: string, heads: number, opts: AttentionOptions = {}): string {
  if (g.ep === 'webgpu') return decomposedAttention(g, q, k, v, heads, opts);
  const attrs: Record<string, number> = { num_heads: heads };
  if (opts.scale !== undefined) attrs.scale = opts.scale;
  if (opts.causal) attrs.unidirectional = 1;
  // MultiHeadAttention's attention_bias is input 5 (key_padding_mask and the packed bias come before it).
  return g.op('MultiHeadAttention', opts.bias ? [q, k, v, '', '', opts.bias] : [q, k, v], attrs, { domain: MS_DOMAIN });
}

/**
 * softmax(q·kᵀ·scale [+ causal mask])·v from MatMul/Softmax, for WebGPU: ORT 1.30's WebGPU MultiHeadAttention
 * (flash path, chosen where the adapter has subgroups) is off by ~4% of max|out| in fp32 on lavapipe
 * (onnxruntime issues #26064, #27791 report the same path), while this form matches the CPU EP to ~1e-7.
 * It materialises the [B, heads, S, L] scores: 1 GiB fp32 for SD1.5's 64×64 level at batch 2.
 */
function decomposedAttention(g: GraphBuilder, q: string, k: string, v: string, heads: number, opts: AttentionOptions): string {
  const C = g.op('Shape', [q], { start: 2, end: 3 });
  const split = (t: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [t, g.op('Concat', [g.constInt64([0, 0, heads]), g.op('Div', [C, g.constInt64([heads])])], { axis: 0 })])], { perm });
  // The head size is only known from shapes at run time, so the default scale 1/sqrt(d) is computed in the graph.
  const d = g.op('Cast', [g.op('Div', [C, g.constInt64([heads])])], { to: 1 });
  const scale = opts.scale !== undefined ? g.scalar(opts.scale) : g.op('Reciprocal', [g.op('Sqrt', [d])]);
  let s = g.op('Mul', [g.op('MatMul', [split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1])]), scale]);
  if (opts.bias) s = g.op('Add', [s, opts.bias]);
  if (opts.causal) {
    const n = g.op('Squeeze', [g.op('Shape', [q], { start: 1, end: 2 }), g.constInt64([0])]);
    const pos = g.op('Range', [g.constant(BigInt64Array.of(0n), []), n, g.constant(BigInt64Array.of(1n), [])]);
    const future = g.op('Greater', [g.op('Unsqueeze', [pos, g.constInt64([0])]), g.op('Unsqueeze', [pos, g.constInt64([1])])]);
    s = g.op('Where', [future, g.scalar(-Infinity), s]);
  }
  const o = g.op('MatMul', [g.op('Softmax', [s], { axis: -1 }), split(v, [0, 2, 1, 3])]);
  return g.op('Reshape', [g.op('Transpose', [o], { perm: [0, 2, 1, 3] }), g.constInt64([0, 0, -1])]);
}

/** [B, C, H, W] → [B, H·W, C] for attention over pixels. */
export function nchwToTokens(g: GraphBuilder, x: string): string {
  const flat = g.op('Reshape', [x, g.constInt64([0, 0, -1])]);
  return g.op('Transpose', [flat], { perm: [0, 2, 1] });
}

/** [B, H·W, C] → [B, C, H, W], taking H and W from `like` (an NCHW value). */
export function tokensToNchw(g: GraphBuilder, t: string, like: string): string {
  const shape = g.op('Shape', [like]);
  return g.op('Reshape', [g.op('Transpose', [t], { perm: [0, 2, 1] }), shape]);
}
