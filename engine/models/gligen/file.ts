/**
 * The GLIGEN socket value: one GLIGEN file (comfy/gligen.py load_gligen), read from its header only. The
 * weights stay in the file; ORT maps them into the PositionNet graph and the UNet graph (fuser.ts).
 *
 * Layout: one GatedSelfAttentionDense per SpatialTransformer under `…<input_blocks|middle_block|output_blocks>.<b>.…
 * .fuser.*` (with or without a `model.diffusion_model.`-like prefix: ComfyUI matches substrings), and
 * `position_net.*` (the box encoder). ComfyUI collects a block's fuser keys into one dict keyed by what follows
 * `.fuser.`, so with several transformer blocks per SpatialTransformer the keys read last (sorted order, as
 * safetensors lists them) win: one module per SpatialTransformer, used by every block in it.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { fileIdentity } from '../lora/cache.ts';

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    GLIGEN: GligenModel;
  }
}

/** ComfyUI's Gligen.max_objs. */
export const MAX_OBJS = 30;
/** PositionNet's Fourier embedding: 8 frequencies × (sin, cos) × 4 box coordinates. */
export const FOURIER_FREQS = 8;
export const POSITION_DIM = FOURIER_FREQS * 2 * 4;

const FUSER_KEYS = [
  'linear.weight', 'linear.bias', 'attn.to_q.weight', 'attn.to_k.weight', 'attn.to_v.weight', 'attn.to_out.0.weight', 'attn.to_out.0.bias',
  'ff.net.0.proj.weight', 'ff.net.0.proj.bias', 'ff.net.2.weight', 'ff.net.2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias',
  'alpha_attn', 'alpha_dense',
] as const;

/** One GatedSelfAttentionDense. */
export interface FuserModule {
  /** Full key prefix ending in `.fuser.`. */
  prefix: string;
  /** Width of the visual tokens (the SpatialTransformer's inner width). */
  query: number;
  /** Width of the grounding tokens `linear` projects from. */
  key: number;
  heads: number;
}

const BRAND = Symbol.for('weft.GligenModel');

export class GligenModel {
  readonly [BRAND] = true;

  private constructor(
    readonly path: string,
    /** Session identity: the file's real path, size and mtime. */
    readonly key: string,
    /** In ComfyUI's order: input blocks ascending, the middle block, output blocks ascending. */
    readonly modules: readonly FuserModule[],
    /** Key prefix of PositionNet's tensors, ending in `position_net.`. */
    readonly positionPrefix: string,
    /** Width of a box's text embedding (the CLIP's unprojected pooled output). */
    readonly inDim: number,
    /** Width of PositionNet's grounding tokens. */
    readonly outDim: number,
  ) {}

  static open(path: string): GligenModel {
    const f = SafetensorsFile.open(path);
    try {
      return GligenModel.fromFile(f, fileIdentity(path));
    } finally {
      f.close();
    }
  }

  static fromFile(f: SafetensorsFile, key: string): GligenModel {
    const bad = (msg: string): never => { throw new WeftError(`${f.path}: ${msg}`, { file: f.path, type: 'invalid_model_file' }); };
    // JS sorts ASCII keys as safetensors' keys() does, so "last wins" picks the same tensors as ComfyUI.
    const keys = f.keys().sort();
    const modules: FuserModule[] = [];
    for (const a of ['input_blocks', 'middle_block', 'output_blocks']) {
      for (let b = 0; b < 20; b++) {
        const tag = `${a}.${b}.`;
        const parts = new Map<string, string>();
        for (const k of keys) if (k.includes(tag) && k.includes('.fuser.')) parts.set(k.split('.fuser.').pop()!, k);
        if (parts.size > 0) modules.push(readModule(f, parts, bad));
      }
    }
    if (modules.length === 0) bad('not a GLIGEN model (no *.fuser.* tensors)');
    const nullPos = keys.find((k) => k.endsWith('position_net.null_positive_feature'));
    if (!nullPos) return bad('not a GLIGEN text-box model (no position_net.null_positive_feature)');
    const pp = nullPos.slice(0, -'null_positive_feature'.length);
    const shape = (k: string): number[] => (f.has(pp + k) ? f.get(pp + k).shape : bad(`tensor ${pp}${k} is missing`));
    const inDim = shape('null_positive_feature')[0]!;
    if (shape('null_position_feature')[0] !== POSITION_DIM) bad(`${pp}null_position_feature is not ${POSITION_DIM} wide (8 Fourier frequencies of 4 coordinates)`);
    if (shape('linears.0.weight')[1] !== inDim + POSITION_DIM) bad(`${pp}linears.0 does not take ${inDim} + ${POSITION_DIM} inputs`);
    const outDim = shape('linears.4.weight')[0]!;
    for (const k of ['linears.0.bias', 'linears.2.weight', 'linears.2.bias', 'linears.4.bias']) shape(k);
    const odd = modules.find((m) => m.key !== outDim);
    if (odd) bad(`${odd.prefix}linear takes ${odd.key}-wide grounding tokens but position_net makes ${outDim}-wide ones`);
    return new GligenModel(f.path, `gligen|${key}`, modules, pp, inDim, outDim);
  }
}

/** ComfyUI's head rule: 768-wide grounding tokens (SD1.x) → 8 heads, else 64-channel heads. */
export function fuserHeads(query: number, key: number): number {
  return key === 768 ? 8 : Math.floor(query / 64);
}

function readModule(f: SafetensorsFile, parts: Map<string, string>, bad: (msg: string) => never): FuserModule {
  const lin = parts.get('linear.weight') ?? bad(`a fuser has no linear.weight (${[...parts.values()][0]})`);
  const prefix = lin.slice(0, -'linear.weight'.length);
  for (const k of FUSER_KEYS) {
    // One module from one transformer block: anything else means the file mixes layouts.
    if (parts.get(k) !== prefix + k) bad(`tensor ${prefix}${k} is missing`);
  }
  const [query, key] = f.get(lin).shape as [number, number];
  const heads = fuserHeads(query, key);
  if (heads < 1 || query % heads !== 0 || (key !== 768 && query % 64 !== 0)) {
    bad(`${prefix.slice(0, -1)}: a ${query}-wide fuser cannot be split into ${key === 768 ? '8 heads' : '64-channel heads'}`);
  }
  if (f.get(prefix + 'attn.to_q.weight').shape.join() !== `${query},${query}`) bad(`${prefix}attn.to_q is not [${query}, ${query}]`);
  return { prefix, query, key, heads };
}

export function isGligenModel(v: unknown): v is GligenModel {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BRAND] === true;
}

export function asGligen(v: unknown, input = 'gligen_textbox_model'): GligenModel {
  if (!isGligenModel(v)) throw new WeftError(`input "${input}" is not a GLIGEN model (load one with GLIGENLoader)`, { input });
  return v;
}
