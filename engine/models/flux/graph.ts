/**
 * The FLUX DiT as one ONNX graph (ComfyUI comfy/ldm/flux/model.py forward_orig). Patchify, position ids,
 * the RoPE tables and the sinusoidal time/guidance embeddings happen in TS (model.ts), where they match the
 * reference exactly; the graph takes them as inputs:
 *   img    [B, Limg, 4·latentC]  patchified latent        txt    [B, Ltxt, contextDim]  T5 tokens
 *   t_emb  [B, 256]              sinusoid of 1000·t       g_emb  [B, 256]               sinusoid of 1000·g (dev only)
 *   y      [B, vecInDim]         CLIP pooled              pe_cos, pe_sin [Ltxt+Limg, 1, headDim/2, 1]
 * and returns out [B, Limg, outPatch] (velocity, patchified).
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { GraphBuilder, type Ep } from '../../onnx/index.ts';
import { keepFloat32 } from '../../onnx/precision.ts';
import { silu } from '../layers/index.ts';
import type { QuantizedWeights } from '../quant/linear.ts';
import { doubleBlock, lin, modulate, singleBlock, type FluxCtx } from './blocks.ts';
import { FLUX_TIME_DIM, type FluxDims } from './config.ts';
import { nanToNumFp16 } from './fp16.ts';

export interface FluxGraphOptions {
  quant?: QuantizedWeights;
  ep?: Ep;
  name?: string;
  /** Build only these blocks (benchmarks of a subset); default all. */
  doubleBlocks?: number;
  singleBlocks?: number;
  /**
   * ComfyUI's fp16 safeguard on the txt / joint streams (fp16.ts); default: on in fp16 graphs only. Tests
   * turn it off in fp16 to see the overflow, or on in float32 to reproduce what an fp16 run computes.
   */
  clampStreams?: boolean;
}

export const FLUX_INPUTS = ['img', 'txt', 't_emb', 'g_emb', 'y', 'pe_cos', 'pe_sin'] as const;

function mlpEmbedder(c: FluxCtx, name: string, x: string): string {
  return lin(c, `${name}.out_layer`, silu(c.g, lin(c, `${name}.in_layer`, x)));
}

export function buildFluxGraph(file: SafetensorsFile, dims: FluxDims, opts: FluxGraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder({ name: opts.name ?? 'flux_dit', ep: opts.ep });
  const pairs = dims.headDim / 2;
  const img0 = g.input('img', 'float32', ['B', 'Limg', dims.inChannels * 4]);
  const txt0 = g.input('txt', 'float32', ['B', 'Ltxt', dims.contextInDim]);
  const tEmb = g.input('t_emb', 'float32', ['B', FLUX_TIME_DIM]);
  const gEmb = dims.guidanceEmbed ? g.input('g_emb', 'float32', ['B', FLUX_TIME_DIM]) : undefined;
  const y = g.input('y', 'float32', ['B', dims.vecInDim]);
  // The RoPE tables stay float32 in fp16 graphs: rope() rotates in float32 (blocks.ts).
  const cos = keepFloat32(g, () => g.input('pe_cos', 'float32', ['L', 1, pairs, 1]));
  const sin = keepFloat32(g, () => g.input('pe_sin', 'float32', ['L', 1, pairs, 1]));
  const clamp = opts.clampStreams ?? g.dtype === 'float16';
  const guard = (v: string): string => (clamp ? nanToNumFp16(g, v) : v);

  const lenOf = (v: string) => g.op('Slice', [g.op('Shape', [v]), g.constInt64([1]), g.constInt64([2])]);
  const C = dims.hiddenSize;
  const base: Omit<FluxCtx, 'vecAct'> = {
    g, file, dims, quant: opts.quant, cos, sin,
    splitTxtImg: g.op('Concat', [lenOf(txt0), lenOf(img0)], { axis: 0 }),
    ones: g.ep === 'webgpu' ? '' : g.constant(new Float32Array(C).fill(1), [C]),
  };
  const pre: FluxCtx = { ...base, vecAct: '' };
  let img = lin(pre, 'img_in', img0);
  let vec = mlpEmbedder(pre, 'time_in', tEmb);
  if (gEmb) vec = g.op('Add', [vec, mlpEmbedder(pre, 'guidance_in', gEmb)]);
  vec = g.op('Add', [vec, mlpEmbedder(pre, 'vector_in', y)]);
  let txt = lin(pre, 'txt_in', txt0);
  const c: FluxCtx = { ...base, vecAct: silu(g, vec) };

  const nDouble = Math.min(opts.doubleBlocks ?? dims.depth, dims.depth);
  const nSingle = Math.min(opts.singleBlocks ?? dims.depthSingle, dims.depthSingle);
  for (let i = 0; i < nDouble; i++) {
    ({ img, txt } = doubleBlock(c, i, img, txt));
    txt = guard(txt);
  }
  let x = g.op('Concat', [txt, img], { axis: 1 });
  for (let i = 0; i < nSingle; i++) x = guard(singleBlock(c, i, x));
  img = g.opN('Split', [x, c.splitTxtImg], 2, { axis: 1 })[1]!;

  const mod = lin(c, 'final_layer.adaLN_modulation.1', c.vecAct);
  const ax = g.constInt64([1]);
  const [shift, scale] = g.opN('Split', [mod, g.constInt64([C, C])], 2, { axis: -1 }).map((p) => g.op('Unsqueeze', [p, ax])) as [string, string];
  const out = lin(c, 'final_layer.linear', modulate(c, img, shift, scale));
  g.output(out, 'out', 'float32', ['B', 'Limg', dims.outPatch]);
  return g;
}
