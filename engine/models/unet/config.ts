/**
 * Reads the architecture of an LDM-layout UNet (`input_blocks` / `middle_block` / `output_blocks`, as in
 * SD1.x, SD2.x, SDXL single-file checkpoints and ControlNet `control_model.*`) from tensor names and shapes
 * alone. Nothing is assumed from a model family: every width, depth and block kind comes from the file, so
 * tiny test checkpoints and real ones go through the same code. The only thing shapes cannot tell is the
 * attention head split; that comes from `HeadOptions` (or ComfyUI's defaults: SD1 conv-proj UNets use
 * 8 heads, linear-proj ones (SD2/SDXL) use 64 channels per head).
 */
import { WeftError } from '../../errors.ts';

/** The part of a safetensors file this module needs: names → shapes. */
export interface TensorShapes {
  readonly path?: string;
  readonly tensors: ReadonlyMap<string, { shape: number[] }>;
}

export interface HeadOptions {
  /** Fixed number of heads per attention layer (SD1: 8). */
  numHeads?: number;
  /** Fixed channels per head (SD2/SDXL: 64). Wins over numHeads when both are set. */
  headChannels?: number;
}

export interface ResLayer { kind: 'res'; key: string; cin: number; cout: number; skipConv: boolean }
export interface ConvLayer { kind: 'conv'; key: string; cin: number; cout: number }
export interface DownLayer { kind: 'down'; key: string; ch: number }
export interface UpLayer { kind: 'up'; key: string; ch: number }
export interface TransformerLayer {
  kind: 'transformer';
  key: string;
  ch: number;
  /** Number of BasicTransformerBlocks. */
  depth: number;
  /** proj_in/proj_out are Linear on [B, HW, C] (SD2/SDXL) instead of 1×1 convs (SD1). */
  linear: boolean;
  /** Width of attn1/attn2/ff inner dim (== ch in every known checkpoint). */
  inner: number;
  contextDim: number;
  heads: number;
  ffInner: number;
}
export type Layer = ResLayer | ConvLayer | DownLayer | UpLayer | TransformerLayer;

export interface UNetConfig {
  prefix: string;
  inChannels: number;
  outChannels: number;
  modelChannels: number;
  timeEmbedDim: number;
  /** SDXL-style ADM conditioning width (`label_emb.0.0`), or 0 when the model takes no `y`. */
  admInChannels: number;
  /** Cross-attention context width (0 when no block has attention). */
  contextDim: number;
  inputBlocks: Layer[][];
  middleBlock: Layer[];
  outputBlocks: Layer[][];
  /** Channel count and downsampling factor of each input block's output: the skip connections. */
  skips: { ch: number; down: number }[];
  middleChannels: number;
  middleDown: number;
}

function fail(src: TensorShapes, msg: string, key?: string): never {
  throw new WeftError(`${src.path ?? '<model>'}: ${msg}`, { file: src.path, input: key, type: 'invalid_model_file' });
}

export function shapeOf(src: TensorShapes, key: string): number[] {
  const t = src.tensors.get(key);
  if (!t) fail(src, `UNet tensor "${key}" is missing`, key);
  return t.shape;
}

/** Highest N + 1 over keys `${base}N.…`; 0 when none. */
function countIndexed(src: TensorShapes, base: string): number {
  let n = 0;
  for (const k of src.tensors.keys()) {
    if (!k.startsWith(base)) continue;
    const m = /^(\d+)\./.exec(k.slice(base.length));
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/**
 * ComfyUI's family defaults when nothing says otherwise: SD1 (768-wide context, or conv proj_in without ADM)
 * uses 8 heads; SD2 and SDXL use 64 channels per head. Same rule as models/detect.ts.
 */
function defaultHeads(src: TensorShapes, prefix: string): HeadOptions {
  for (const [k, t] of src.tensors) {
    if (!k.startsWith(prefix) || !k.endsWith('.proj_in.weight')) continue;
    const linear = t.shape.length === 2;
    const ctx = src.tensors.get(k.replace(/proj_in\.weight$/, 'transformer_blocks.0.attn2.to_k.weight'))?.shape[1];
    const adm = src.tensors.has(`${prefix}label_emb.0.0.weight`);
    return ctx === 768 || (!linear && !adm) ? { numHeads: 8 } : { headChannels: 64 };
  }
  return { numHeads: 8 };
}

function headsFor(src: TensorShapes, key: string, inner: number, h: HeadOptions): number {
  const headChannels = h.headChannels;
  if (headChannels !== undefined) {
    if (inner % headChannels !== 0) fail(src, `${key}: width ${inner} is not a multiple of ${headChannels} channels per head (pass headChannels/numHeads)`, key);
    return inner / headChannels;
  }
  const heads = h.numHeads ?? 8;
  if (inner % heads !== 0) fail(src, `${key}: width ${inner} does not split into ${heads} heads (pass headChannels/numHeads)`, key);
  return heads;
}

/** Parses one `TimestepEmbedSequential` (`${key}.0`, `${key}.1`, …) into layers. */
function parseSequential(src: TensorShapes, key: string, heads: HeadOptions): Layer[] {
  const out: Layer[] = [];
  const n = countIndexed(src, `${key}.`);
  for (let i = 0; i < n; i++) {
    const k = `${key}.${i}`;
    const has = (s: string): boolean => src.tensors.has(`${k}.${s}`);
    if (has('in_layers.2.weight')) {
      const w = shapeOf(src, `${k}.in_layers.2.weight`);
      out.push({ kind: 'res', key: k, cin: w[1]!, cout: w[0]!, skipConv: has('skip_connection.weight') });
    } else if (has('op.weight')) {
      out.push({ kind: 'down', key: k, ch: shapeOf(src, `${k}.op.weight`)[0]! });
    } else if (has('conv.weight')) {
      out.push({ kind: 'up', key: k, ch: shapeOf(src, `${k}.conv.weight`)[0]! });
    } else if (has('proj_in.weight')) {
      const pin = shapeOf(src, `${k}.proj_in.weight`);
      const linear = pin.length === 2;
      const depth = countIndexed(src, `${k}.transformer_blocks.`);
      if (depth === 0) fail(src, `${k} has proj_in but no transformer_blocks`, k);
      const tb = `${k}.transformer_blocks.0`;
      const q = shapeOf(src, `${tb}.attn1.to_q.weight`);
      const ctx = shapeOf(src, `${tb}.attn2.to_k.weight`);
      const ff = shapeOf(src, `${tb}.ff.net.2.weight`);
      const inner = q[0]!;
      out.push({
        kind: 'transformer', key: k, ch: pin[1]!, depth, linear, inner, contextDim: ctx[1]!,
        heads: headsFor(src, k, inner, heads), ffInner: ff[1]!,
      });
    } else if (has('weight') && shapeOf(src, `${k}.weight`).length === 4) {
      const w = shapeOf(src, `${k}.weight`);
      out.push({ kind: 'conv', key: k, cin: w[1]!, cout: w[0]! });
    } else {
      fail(src, `cannot tell what layer "${k}" is (no in_layers/op/conv/proj_in/weight tensors)`, k);
    }
  }
  return out;
}

function outChannelsOf(layers: Layer[], fallback: number): number {
  let ch = fallback;
  for (const l of layers) {
    if (l.kind === 'res' || l.kind === 'conv') ch = l.cout;
    else if (l.kind === 'down' || l.kind === 'up' || l.kind === 'transformer') ch = l.ch;
  }
  return ch;
}

export interface ParseOptions extends HeadOptions {
  /** Key prefix of the UNet tensors; default `model.diffusion_model.`. */
  prefix?: string;
  /** Only the encoder half (ControlNet copies have no output blocks / `out`). */
  encoderOnly?: boolean;
}

export function parseUNetConfig(src: TensorShapes, opts: ParseOptions = {}): UNetConfig {
  const prefix = opts.prefix ?? 'model.diffusion_model.';
  const p = (s: string): string => prefix + s;
  if (!src.tensors.has(p('input_blocks.0.0.weight'))) fail(src, `no UNet under prefix "${prefix}" (missing ${p('input_blocks.0.0.weight')})`, p('input_blocks.0.0.weight'));
  const conv0 = shapeOf(src, p('input_blocks.0.0.weight'));
  const temb = shapeOf(src, p('time_embed.0.weight'));
  const modelChannels = temb[1]!;
  const timeEmbedDim = shapeOf(src, p('time_embed.2.weight'))[0]!;
  const admInChannels = src.tensors.has(p('label_emb.0.0.weight')) ? shapeOf(src, p('label_emb.0.0.weight'))[1]! : 0;

  const heads: HeadOptions = opts.headChannels !== undefined || opts.numHeads !== undefined
    ? { headChannels: opts.headChannels, numHeads: opts.headChannels !== undefined ? undefined : opts.numHeads }
    : defaultHeads(src, prefix);
  const nIn = countIndexed(src, p('input_blocks.'));
  const inputBlocks: Layer[][] = [];
  const skips: { ch: number; down: number }[] = [];
  let ch = conv0[1]!;
  let down = 1;
  for (let i = 0; i < nIn; i++) {
    const layers = parseSequential(src, p(`input_blocks.${i}`), heads);
    if (layers.length === 0) fail(src, `input_blocks.${i} is empty`, p(`input_blocks.${i}`));
    if (layers.some((l) => l.kind === 'down')) down *= 2;
    ch = outChannelsOf(layers, ch);
    inputBlocks.push(layers);
    skips.push({ ch, down });
  }
  const middleBlock = parseSequential(src, p('middle_block'), heads);
  const middleChannels = outChannelsOf(middleBlock, ch);
  const outputBlocks: Layer[][] = [];
  let outChannels = 0;
  if (!opts.encoderOnly) {
    const nOut = countIndexed(src, p('output_blocks.'));
    for (let i = 0; i < nOut; i++) outputBlocks.push(parseSequential(src, p(`output_blocks.${i}`), heads));
    if (nOut !== nIn) fail(src, `${nIn} input blocks but ${nOut} output blocks: every output block pops one skip connection`);
    outChannels = shapeOf(src, p('out.2.weight'))[0]!;
  }
  let contextDim = 0;
  for (const l of [...inputBlocks.flat(), ...middleBlock, ...outputBlocks.flat()]) {
    if (l.kind !== 'transformer') continue;
    if (contextDim !== 0 && l.contextDim !== contextDim) fail(src, `${l.key}: context width ${l.contextDim} differs from ${contextDim} elsewhere`, l.key);
    contextDim = l.contextDim;
  }
  return {
    prefix, inChannels: conv0[1]!, outChannels, modelChannels, timeEmbedDim, admInChannels, contextDim,
    inputBlocks, middleBlock, outputBlocks, skips, middleChannels, middleDown: down,
  };
}

/** Spatial size after `n` stride-2, pad-1, 3×3 convs (what each skip connection's H or W is). */
export function downsampledSize(size: number, factor: number): number {
  let s = size;
  for (let f = factor; f > 1; f /= 2) s = Math.floor((s - 1) / 2) + 1;
  return s;
}

/**
 * Head split from a JSON config in the file's metadata (`weft_config`, or `oracle_config` written by the
 * conformance generator): `{ unet: { num_heads, num_head_channels } }`, −1 meaning unset. Real checkpoints
 * carry none, and ComfyUI's family defaults apply.
 */
export function headsFromMetadata(metadata: Readonly<Record<string, string>> | undefined): HeadOptions {
  for (const key of ['weft_config', 'oracle_config']) {
    const raw = metadata?.[key];
    if (!raw) continue;
    try {
      const u = (JSON.parse(raw) as { unet?: { num_heads?: unknown; num_head_channels?: unknown } }).unet;
      if (typeof u?.num_head_channels === 'number' && u.num_head_channels > 0) return { headChannels: u.num_head_channels };
      if (typeof u?.num_heads === 'number' && u.num_heads > 0) return { numHeads: u.num_heads };
    } catch {
      // metadata is advisory; a broken one falls back to the defaults
    }
  }
  return {};
}

/** HeadOptions from models/detect.ts's UNetConfig (−1 marks the unused one of the pair). */
export function headsFromDetected(u: { numHeads: number; headChannels: number }): HeadOptions {
  return u.headChannels > 0 ? { headChannels: u.headChannels } : u.numHeads > 0 ? { numHeads: u.numHeads } : {};
}
