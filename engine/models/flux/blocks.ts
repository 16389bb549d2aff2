/**
 * FLUX transformer pieces over token tensors [B, L, C]: adaLN modulation, QK RMSNorm, RoPE on consecutive
 * pairs, joint attention, double-stream and single-stream blocks (ComfyUI comfy/ldm/flux/layers.py,
 * math.py semantics). Linears go through `ctx.linear`, which picks the fp or the quantized weight.
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { DataType, type GraphBuilder } from '../../onnx/index.ts';
import { keepFloat32, toCompute } from '../../onnx/precision.ts';
import { attention, linear, twoPassNorm } from '../layers/index.ts';
import { isQuantized, quantLinear, type QuantizedWeights } from '../quant/linear.ts';
import type { FluxDims } from './config.ts';

export interface FluxCtx {
  g: GraphBuilder;
  file: SafetensorsFile;
  dims: FluxDims;
  quant?: QuantizedWeights;
  /** SiLU(vec) [B, C], shared by every modulation. */
  vecAct: string;
  /** [L, 1, headDim/2, 1] rotation tables for the joint sequence (txt then img). */
  cos: string;
  sin: string;
  /** int64 [2]: (txt tokens, img tokens) for splitting the joint sequence. */
  splitTxtImg: string;
  /** float [C] of ones: LayerNormalization's scale for the affine-free norms (CPU graphs). */
  ones: string;
}

/** A compute-type value as float32 (identity in float32 graphs); use inside keepFloat32. */
function asFloat32(g: GraphBuilder, x: string): string {
  return g.fp16 ? g.op('Cast', [x], { to: DataType.float32 }) : x;
}

/** `${dims.prefix}${name}` as a Linear: quantized when the side file holds it. */
export function lin(c: FluxCtx, name: string, x: string): string {
  const prefix = `${c.dims.prefix}${name}`;
  return isQuantized(c.quant, `${prefix}.weight`) ? quantLinear(c.g, c.file, c.quant!, prefix, x) : linear(c.g, c.file, prefix, x);
}

/** Modulation(vec) → n chunks [B, 1, C] in checkpoint order (shift, scale, gate, …). */
export function modulation(c: FluxCtx, name: string, n: number): string[] {
  const { g } = c;
  const C = c.dims.hiddenSize;
  const out = lin(c, name, c.vecAct);
  const parts = g.opN('Split', [out, g.constInt64(new Array<number>(n).fill(C))], n, { axis: -1 });
  const ax = g.constInt64([1]);
  return parts.map((p) => g.op('Unsqueeze', [p, ax]));
}

/** (1 + scale) · LayerNorm(x, no affine, eps 1e-6) + shift. */
export function modulate(c: FluxCtx, x: string, shift: string, scale: string): string {
  const { g } = c;
  // WebGPU's LayerNormalization cancels catastrophically on rows with a large mean (layers/basic.ts).
  const n = g.ep === 'webgpu' ? twoPassNorm(g, x, -1, 1e-6) : g.op('LayerNormalization', [x, c.ones], { axis: -1, epsilon: 1e-6 });
  return g.op('Add', [g.op('Mul', [g.op('Add', [g.scalar(1), scale]), n]), shift]);
}

/** x + gate · y */
function gated(g: GraphBuilder, x: string, gate: string, y: string): string {
  return g.op('Add', [x, g.op('Mul', [gate, y])]);
}

/** RMSNorm over the head dim with a learned scale: [B, L, C] → [B, L, H, D]. */
function qkNorm(c: FluxCtx, x: string, scaleKey: string): string {
  const { g } = c;
  const { numHeads: H, headDim: D } = c.dims;
  const h = g.op('Reshape', [x, g.constInt64([0, 0, H, D])]);
  // float32 statistics in fp16 graphs: squares of fp16 values overflow past 256 (ComfyUI's RMSNorm does x.float()).
  const n = toCompute(g, keepFloat32(g, () => {
    const hf = asFloat32(g, h);
    const ms = g.op('ReduceMean', [g.op('Mul', [hf, hf]), g.constInt64([-1])], { keepdims: 1 });
    const rrms = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(1e-6)])])]);
    return g.op('Mul', [hf, rrms]);
  }));
  return g.op('Mul', [n, g.weight(c.file, `${c.dims.prefix}${scaleKey}`)]);
}

/**
 * Rotates consecutive pairs of [B, L, H, D] by the per-token tables; returns [B, L, C]. In float32 even in
 * fp16 graphs (the tables are float32 inputs there): ComfyUI rotates in the table's float32 too.
 */
function rope(c: FluxCtx, x: string): string {
  const { g } = c;
  const { numHeads: H, headDim: D, hiddenSize: C } = c.dims;
  return toCompute(g, keepFloat32(g, () => {
    const pairs = g.op('Reshape', [asFloat32(g, x), g.constInt64([0, 0, H, D / 2, 2])]);
    const [x0, x1] = g.opN('Split', [pairs, g.constInt64([1, 1])], 2, { axis: -1 }) as [string, string];
    const r0 = g.op('Sub', [g.op('Mul', [c.cos, x0]), g.op('Mul', [c.sin, x1])]);
    const r1 = g.op('Add', [g.op('Mul', [c.sin, x0]), g.op('Mul', [c.cos, x1])]);
    return g.op('Reshape', [g.op('Concat', [r0, r1], { axis: -1 }), g.constInt64([0, 0, C])]);
  }));
}

function splitQkv(c: FluxCtx, qkv: string, extra?: number): string[] {
  const C = c.dims.hiddenSize;
  const sizes = extra === undefined ? [C, C, C] : [C, C, C, extra];
  return c.g.opN('Split', [qkv, c.g.constInt64(sizes)], sizes.length, { axis: -1 });
}

function mlp(c: FluxCtx, name: string, x: string): string {
  const h = c.g.op('Gelu', [lin(c, `${name}.0`, x)], { approximate: 'tanh' });
  return lin(c, `${name}.2`, h);
}

/** Double-stream block: separate weights per stream, one attention over [txt; img]. */
export function doubleBlock(c: FluxCtx, i: number, img: string, txt: string): { img: string; txt: string } {
  const { g } = c;
  const p = `double_blocks.${i}`;
  const [iSh1, iSc1, iG1, iSh2, iSc2, iG2] = modulation(c, `${p}.img_mod.lin`, 6) as [string, string, string, string, string, string];
  const [tSh1, tSc1, tG1, tSh2, tSc2, tG2] = modulation(c, `${p}.txt_mod.lin`, 6) as [string, string, string, string, string, string];
  const [iq, ik, iv] = splitQkv(c, lin(c, `${p}.img_attn.qkv`, modulate(c, img, iSh1, iSc1))) as [string, string, string];
  const [tq, tk, tv] = splitQkv(c, lin(c, `${p}.txt_attn.qkv`, modulate(c, txt, tSh1, tSc1))) as [string, string, string];
  const q = g.op('Concat', [qkNorm(c, tq, `${p}.txt_attn.norm.query_norm.scale`), qkNorm(c, iq, `${p}.img_attn.norm.query_norm.scale`)], { axis: 1 });
  const k = g.op('Concat', [qkNorm(c, tk, `${p}.txt_attn.norm.key_norm.scale`), qkNorm(c, ik, `${p}.img_attn.norm.key_norm.scale`)], { axis: 1 });
  const v = g.op('Concat', [tv, iv], { axis: 1 });
  const attn = attention(g, rope(c, q), rope(c, k), v, c.dims.numHeads);
  const [tAttn, iAttn] = g.opN('Split', [attn, c.splitTxtImg], 2, { axis: 1 }) as [string, string];
  let im = gated(g, img, iG1, lin(c, `${p}.img_attn.proj`, iAttn));
  im = gated(g, im, iG2, mlp(c, `${p}.img_mlp`, modulate(c, im, iSh2, iSc2)));
  let tx = gated(g, txt, tG1, lin(c, `${p}.txt_attn.proj`, tAttn));
  tx = gated(g, tx, tG2, mlp(c, `${p}.txt_mlp`, modulate(c, tx, tSh2, tSc2)));
  return { img: im, txt: tx };
}

/** Single-stream block over the joint sequence: linear1 = fused qkv + MLP in, linear2 = proj + MLP out. */
export function singleBlock(c: FluxCtx, i: number, x: string): string {
  const { g } = c;
  const p = `single_blocks.${i}`;
  const [sh, sc, gate] = modulation(c, `${p}.modulation.lin`, 3) as [string, string, string];
  const [q, k, v, m] = splitQkv(c, lin(c, `${p}.linear1`, modulate(c, x, sh, sc)), c.dims.mlpHidden) as [string, string, string, string];
  const attn = attention(g, rope(c, qkNorm(c, q, `${p}.norm.query_norm.scale`)), rope(c, qkNorm(c, k, `${p}.norm.key_norm.scale`)), v, c.dims.numHeads);
  const act = g.op('Gelu', [m], { approximate: 'tanh' });
  return gated(g, x, gate, lin(c, `${p}.linear2`, g.op('Concat', [attn, act], { axis: -1 })));
}
