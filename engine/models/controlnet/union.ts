/**
 * ControlNet Union ("ControlNet++": xinsir controlnet-union-sdxl-1.0 and its ProMax) as ComfyUI runs it
 * (comfy/cldm/cldm.py, union_controlnet_num_control_type). It is an SDXL ControlNet with two extras:
 *  - control_add_embedding: the control-type vector (one 1.0 at the selected type, all zeros for "auto") goes
 *    through the sinusoidal timestep embedding element by element, the N rows are flattened into one row, and
 *    Linear → SiLU → Linear; the result is added to the time embedding before label_emb, for every type
 *    including "auto".
 *  - with a type selected, the hint encoder's output is shifted per channel: its spatial mean plus the type's
 *    task_embedding row is ONE token (ComfyUI keeps only the first hint, and unlike xinsir's reference it adds
 *    no conv_in token) through one ResBlockUnionControlnet (x + attn(ln_1 x), x + mlp(ln_2 x), QuickGELU), then
 *    spatial_ch_projs; that vector is added to every pixel. With "auto" the hint encoder's output is used as is.
 * The type is a graph input (`control_type`, the 0/1 vector), so switching it never rebuilds the session.
 * ComfyUI fixes the widths (320 tokens, 256-wide type embedding, 8 heads, one layer); here they are read from
 * the weights, which for the real files gives the same network. The head count does not matter: attention
 * over a single token is exactly its value projection (softmax over one key is 1).
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { keepFloat32, toCompute } from '../../onnx/precision.ts';
import * as L from '../layers/index.ts';
import { linear, mlp, timestepEmbedding, type Emit } from '../unet/blocks.ts';
import type { UNetConfig } from '../unet/config.ts';
import type { ControlNetModel } from './socket.ts';

/** ComfyUI's UNION_CONTROLNET_TYPES (comfy/cldm/control_types.py): the index is the task_embedding row. */
export const UNION_CONTROLNET_TYPES = [
  'openpose', 'depth', 'hed/pidi/scribble/ted', 'canny/lineart/anime_lineart/mlsd', 'normal', 'segment', 'tile', 'repaint',
] as const;

/** SetUnionControlNetType's choices: "auto" (no type) first. */
export const UNION_TYPE_OPTIONS = ['auto', ...UNION_CONTROLNET_TYPES] as const;

/** ComfyUI's ControlNet key (diffusers `in_proj_weight` renamed) of the one transformer layer the model uses. */
const T = 'transformer_layes.0.';

/** Every tensor the union part reads, relative to the ControlNet prefix. */
export const UNION_KEYS = [
  'task_embedding', 'spatial_ch_projs.weight', 'spatial_ch_projs.bias',
  ...['linear_1', 'linear_2'].flatMap((l) => [`control_add_embedding.${l}.weight`, `control_add_embedding.${l}.bias`]),
  ...['attn.in_proj', 'attn.out_proj', 'ln_1', 'ln_2', 'mlp.c_fc', 'mlp.c_proj'].flatMap((m) => [`${T}${m}.weight`, `${T}${m}.bias`]),
];

/** ComfyUI's union marker (load_controlnet): a diffusers ControlNet with this tensor is a union one. */
export const UNION_MARKER = 'control_add_embedding.linear_1.bias';

export interface UnionSpec {
  /** Control types the file knows (task_embedding rows). */
  types: number;
  /** Width of each type's slice of the control-type embedding (ComfyUI: 256). */
  embedDim: number;
}

/**
 * The union part's sizes, checked against the encoder they extend: a WeftError naming the file when a tensor
 * is missing or the shapes disagree (a truncated or foreign file fails at load, not inside a sampler).
 */
export function unionSpec(src: Pick<WeightSource, 'tensors' | 'path'>, prefix: string, cfg: Pick<UNetConfig, 'modelChannels'>, timeEmbedDim: number): UnionSpec {
  const bad = (what: string): never => {
    throw new WeftError(`${src.path}: a ControlNet Union, but ${what}`, { file: src.path, type: 'invalid_model_file' });
  };
  const shape = (k: string): readonly number[] => src.tensors.get(prefix + k)?.shape ?? bad(`${k} is missing`);
  for (const k of UNION_KEYS) shape(k);
  const mc = cfg.modelChannels;
  const [types, width] = shape('task_embedding') as [number, number];
  const want = (k: string, dims: number[]): void => {
    const s = shape(k);
    if (s.length !== dims.length || s.some((d, i) => d !== dims[i])) bad(`${k} is [${s.join(', ')}], expected [${dims.join(', ')}]`);
  };
  // The token is the hint features' channel mean plus a task row, and the projection is added back to them.
  if (width !== mc) bad(`task_embedding rows are ${width} wide for a ${mc}-channel hint encoder`);
  want(`${T}attn.in_proj.weight`, [3 * mc, mc]);
  want(`${T}attn.out_proj.weight`, [mc, mc]);
  want(`${T}mlp.c_proj.weight`, [mc, shape(`${T}mlp.c_fc.weight`)[0]!]);
  want('spatial_ch_projs.weight', [mc, mc]);
  const [out, inp] = shape('control_add_embedding.linear_1.weight') as [number, number];
  if (out !== timeEmbedDim || types === 0 || inp % types !== 0) bad(`control_add_embedding.linear_1.weight [${out}, ${inp}] does not fit ${types} types and a ${timeEmbedDim}-wide time embedding`);
  want('control_add_embedding.linear_2.weight', [timeEmbedDim, timeEmbedDim]);
  return { types, embedDim: inp / types };
}

/**
 * SetUnionControlNetType's choice → task_embedding row, or undefined for "auto". A name ComfyUI does not list,
 * or a type past the file's rows, is a WeftError naming the `type` input (and the file when known).
 */
export function unionTypeIndex(name: string, types?: number, file?: string): number | undefined {
  if (name === 'auto') return undefined;
  const i = (UNION_CONTROLNET_TYPES as readonly string[]).indexOf(name);
  if (i < 0) throw new WeftError(`type: unknown union ControlNet type '${name}' (one of ${UNION_TYPE_OPTIONS.join(', ')})`, { input: 'type', type: 'value_not_in_list' });
  if (types !== undefined && i >= types) {
    throw new WeftError(`type: ${file ?? 'this union ControlNet'} knows ${types} control types; '${name}' is type ${i}`, { input: 'type', file, type: 'value_not_in_list' });
  }
  return i;
}

/**
 * SetUnionControlNetType: a copy of `net` with the type chosen (same session). ComfyUI sets the argument on any
 * ControlNet and the others ignore it; here the node also says so through `warn`.
 */
export function setUnionControlNetType(net: ControlNetModel, type: string, warn?: (message: string) => void): ControlNetModel {
  const index = unionTypeIndex(type, net.union?.types, net.path);
  if (!net.union) {
    warn?.(`${net.path} is not a ControlNet Union; the control type '${type}' does not change it`);
    return net;
  }
  const { controlType: _previous, ...rest } = net;
  return index === undefined ? rest : { ...rest, controlType: index };
}

/** The `control_type` feed: 1 at the selected row, zeros for "auto" (ComfyUI's c_type vector). */
export function controlTypeVector(type: number | undefined, types: number): Float32Array {
  const v = new Float32Array(types);
  if (type !== undefined) v[type] = 1;
  return v;
}

/** Declares the `control_type` input [types] (float32 in fp16 graphs too: it feeds sinusoid angles). */
export function declareControlType(e: Emit, spec: UnionSpec): string {
  return keepFloat32(e.g, () => e.g.input('control_type', 'float32', [spec.types]));
}

/** ControlAddEmbedding: [1, time_embed_dim], to add to emb before label_emb. */
export function controlAddEmbedding(e: Emit, controlType: string, spec: UnionSpec): string {
  const rows = timestepEmbedding(e, controlType, spec.embedDim);
  const flat = e.g.op('Reshape', [rows, e.g.constInt64([1, spec.types * spec.embedDim])]);
  return mlp(e, flat, 'control_add_embedding.linear_1', 'control_add_embedding.linear_2');
}

/** union_controlnet_merge for one hint and at most one type; `cond` is input_hint_block's output [B, C, h, w]. */
export function unionHint(e: Emit, cond: string, controlType: string): string {
  const g = e.g;
  const ct = toCompute(g, controlType);
  const task = g.op('MatMul', [g.op('Unsqueeze', [ct, g.constInt64([0])]), g.weight(e.file, `${e.prefix}task_embedding`)]);
  let x = g.op('Add', [g.op('ReduceMean', [cond, g.constInt64([2, 3])], { keepdims: 0 }), task]);
  const mc = g.shapeOf(e.file, `${e.prefix}task_embedding`)[1]!;
  const ln = (k: string, v: string): string => L.layerNorm(g, e.file, `${e.prefix}${T}${k}`, v);
  // One token: the attention output is out_proj(v), v being the last third of in_proj.
  const v = L.linear(g, e.file, `${e.prefix}${T}attn.in_proj`, ln('ln_1', x), { rows: [2 * mc, 3 * mc] });
  x = g.op('Add', [x, linear(e, v, `${T}attn.out_proj`)]);
  x = g.op('Add', [x, linear(e, L.quickGelu(g, linear(e, ln('ln_2', x), `${T}mlp.c_fc`)), `${T}mlp.c_proj`)]);
  const alpha = linear(e, x, 'spatial_ch_projs');
  // "auto" (all zeros) keeps the encoder's output: the shift is gated by the vector's sum (0 or 1).
  const gate = g.op('ReduceSum', [ct, g.constInt64([0])], { keepdims: 1 });
  return g.op('Add', [cond, g.op('Unsqueeze', [g.op('Mul', [alpha, gate]), g.constInt64([2, 3])])]);
}
