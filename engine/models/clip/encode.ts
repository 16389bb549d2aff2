/**
 * ComfyUI's CLIPTextEncode semantics around the CLIP graph: 77-token chunks encoded as one batch and
 * concatenated on the token axis, pooled output from the first chunk, token weights applied as
 * z = (z − z_empty)·w + z_empty with z_empty the encoding of [BOS, EOS, pad…], clip skip through `layer`.
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { GraphSession, type EncoderSessionOptions } from '../../runtime/graph-session.ts';
import { buildVariant } from '../../runtime/variants.ts';
import { sinusoidalEmbedding } from '../layers/sinusoidal.ts';
import { buildClipTextGraph, resolveLayer } from './graph.ts';
import { clipSpec, type ClipSpec, type ClipSpecOverrides } from './spec.ts';

export interface ClipOutputOptions {
  /** Encoder layer whose output is the conditioning (CLIPSetLastLayer value: -1 last, -2 penultimate…). */
  layer: number;
  /** Pass that layer's output through the final LayerNorm (SD1, SD2: yes; SDXL: no). */
  finalNorm: boolean;
  /** Project the pooled output with text_projection (SD2, SDXL clip_g). */
  project: boolean;
  /** Token after EOS in the empty prompt: EOS for OpenAI CLIP, 0 for OpenCLIP towers. */
  padId: number;
}

/** ComfyUI's defaults per model family. */
export const CLIP_PRESETS = {
  sd1: { layer: -1, finalNorm: true, project: false, padId: 49407 },
  sd2: { layer: -2, finalNorm: true, project: true, padId: 0 },
  sdxl_l: { layer: -2, finalNorm: false, project: false, padId: 49407 },
  sdxl_g: { layer: -2, finalNorm: false, project: true, padId: 0 },
} as const satisfies Record<string, ClipOutputOptions>;

export interface ClipRun { hidden: Float32Array; pooled: Float32Array; batch: number; tokens: number; width: number; pooledDim: number }

/** `F` keeps the caller's file type on `.file` (a SafetensorsFile opened for it can still be closed through it). */
export class ClipTextEncoder<F extends WeightSource = WeightSource> {
  /** One session per output variant (layer, final norm, projection); see runtime/graph-session.ts. */
  private readonly sessions = new Map<string, GraphSession>();

  /**
   * `sessionOpts.models` runs the tower in that ModelService's workers (absent: the process default
   * service, else this thread; null: this thread). Results are the same bits either way.
   */
  constructor(readonly file: F, readonly spec: ClipSpec, private readonly sessionOpts: EncoderSessionOptions = {}) {}

  static open<F extends WeightSource>(file: F, prefix: string, overrides: ClipSpecOverrides = {}, sessionOpts: EncoderSessionOptions = {}): ClipTextEncoder<F> {
    return new ClipTextEncoder(file, clipSpec(file, prefix, overrides), sessionOpts);
  }

  /** The session options this encoder was opened with, for encoders derived from it (LoRA-patched twins). */
  get sessionOptions(): EncoderSessionOptions {
    return this.sessionOpts;
  }

  private session(layer: number, finalNorm: boolean, project: boolean): GraphSession {
    const key = `${resolveLayer(this.spec, layer)}|${finalNorm}|${project}`;
    let s = this.sessions.get(key);
    if (!s) {
      const o = { layer, finalNorm, project };
      const build = () => buildClipTextGraph(this.file, this.spec, o).build();
      // GPU providers get the fp16 graph with GPU op choices, built only if the service tries one.
      const gpu = () => buildVariant('gpu', (ep) => buildClipTextGraph(this.file, this.spec, { ...o, ep }).build());
      s = new GraphSession('clip-text', `CLIP ${this.spec.prefix} (${this.file.path})`, build, this.sessionOpts, () => this.weightBytes(), gpu);
      this.sessions.set(key, s);
    }
    return s;
  }

  /** RAM of the tower's weights as float32 (what a loaded session holds), for the service's budget. */
  private weightBytes(): number {
    let n = 0;
    for (const [name, t] of this.file.tensors) if (name.startsWith(this.spec.prefix)) n += t.shape.reduce((a, b) => a * b, 1) * 4;
    return n;
  }

  /** Runs the tower on [batch, tokens] ids; `extra` holds textual-inversion rows for ids ≥ vocab. */
  async run(ids: BigInt64Array, batch: number, extra: Float32Array | null, o: Omit<ClipOutputOptions, 'padId'>): Promise<ClipRun> {
    const C = this.spec.width;
    const tokens = ids.length / batch;
    if (extra && extra.length % C !== 0) throw new WeftError(`textual-inversion vectors have ${extra.length} values, not a multiple of the CLIP width ${C} (${this.spec.prefix})`);
    const rows = extra && extra.length > 0 ? extra : new Float32Array(C);
    for (const id of ids) {
      if (id < 0n || Number(id) >= this.spec.vocab + (extra ? extra.length / C : 0)) throw new WeftError(`token id ${id} is outside the vocabulary (${this.spec.vocab}) and the ${extra ? extra.length / C : 0} embedding rows`);
    }
    const r = await this.session(o.layer, o.finalNorm, o.project).run({ input_ids: { data: ids, dims: [batch, tokens] }, extra_embeds: { data: rows, dims: [rows.length / C, C] } });
    return { hidden: r.hidden!.data, pooled: r.pooled!.data, batch, tokens, width: C, pooledDim: r.pooled!.dims[1]! };
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await s.release();
  }
}

export interface TokenChunk { ids: ArrayLike<number | bigint>; weights: ArrayLike<number> }

export interface Conditioning { cond: Float32Array; tokens: number; width: number; pooled: Float32Array }

export function emptyChunk(spec: ClipSpec, length: number, padId: number): number[] {
  return [spec.bosId, spec.eosId, ...new Array<number>(length - 2).fill(padId)];
}

/** ComfyUI encode_token_weights for one encoder. */
export async function encodeTokenWeights(enc: ClipTextEncoder, chunks: TokenChunk[], o: ClipOutputOptions, extra: Float32Array | null = null): Promise<Conditioning> {
  if (chunks.length === 0) throw new WeftError('no token chunks to encode');
  const T = chunks[0]!.ids.length;
  const weighted = chunks.some((c) => Array.from(c.weights).some((w) => w !== 1));
  const all = chunks.map((c) => Array.from(c.ids, Number));
  if (all.some((c) => c.length !== T)) throw new WeftError(`token chunks must all have ${T} tokens`);
  if (weighted) all.push(emptyChunk(enc.spec, T, o.padId));
  const r = await enc.run(BigInt64Array.from(all.flat(), (v) => BigInt(v)), all.length, extra, o);
  const C = r.width;
  const cond = r.hidden.slice(0, chunks.length * T * C);
  if (weighted) {
    const ze = r.hidden.subarray(chunks.length * T * C);
    const f = Math.fround;
    chunks.forEach((c, i) => {
      for (let j = 0; j < T; j++) {
        const w = c.weights[j]!;
        if (w === 1) continue;
        const base = (i * T + j) * C;
        // float32 steps, as torch computes (z - z_empty) * w + z_empty
        for (let d = 0; d < C; d++) cond[base + d] = f(f(f(cond[base + d]! - ze[j * C + d]!) * f(w)) + ze[j * C + d]!);
      }
    });
  }
  return { cond, tokens: chunks.length * T, width: C, pooled: r.pooled.slice(0, r.pooledDim) };
}

/**
 * SDXL: clip_l and clip_g conditioning concatenated per token, pooled from clip_g. When the two prompts give
 * different chunk counts, the shorter side is padded with empty-prompt chunks (CLIPTextEncodeSDXL).
 */
export async function encodeSdxl(
  l: ClipTextEncoder, g: ClipTextEncoder, chunksL: TokenChunk[], chunksG: TokenChunk[],
  opts: { layer?: number; extraL?: Float32Array | null; extraG?: Float32Array | null } = {},
): Promise<Conditioning> {
  const oL = { ...CLIP_PRESETS.sdxl_l, layer: opts.layer ?? CLIP_PRESETS.sdxl_l.layer };
  const oG = { ...CLIP_PRESETS.sdxl_g, layer: opts.layer ?? CLIP_PRESETS.sdxl_g.layer };
  const pad = (chunks: TokenChunk[], enc: ClipTextEncoder, padId: number, n: number): TokenChunk[] => {
    const T = chunks[0]!.ids.length;
    const out = [...chunks];
    while (out.length < n) out.push({ ids: emptyChunk(enc.spec, T, padId), weights: new Array<number>(T).fill(1) });
    return out;
  };
  const n = Math.max(chunksL.length, chunksG.length);
  const cl = await encodeTokenWeights(l, pad(chunksL, l, oL.padId, n), oL, opts.extraL ?? null);
  const cg = await encodeTokenWeights(g, pad(chunksG, g, oG.padId, n), oG, opts.extraG ?? null);
  const W = cl.width + cg.width;
  const cond = new Float32Array(cl.tokens * W);
  for (let t = 0; t < cl.tokens; t++) {
    cond.set(cl.cond.subarray(t * cl.width, (t + 1) * cl.width), t * W);
    cond.set(cg.cond.subarray(t * cg.width, (t + 1) * cg.width), t * W + cl.width);
  }
  return { cond, tokens: cl.tokens, width: W, pooled: cg.pooled };
}

export interface AdmSize { width: number; height: number; cropW: number; cropH: number; targetWidth: number; targetHeight: number }

/** SDXL ADM vector y = cat(pooled, emb(h), emb(w), emb(crop_h), emb(crop_w), emb(target_h), emb(target_w)). */
export function sdxlAdm(pooled: Float32Array, s: AdmSize): Float32Array {
  const parts = [s.height, s.width, s.cropH, s.cropW, s.targetHeight, s.targetWidth].map((v) => sinusoidalEmbedding(v));
  const y = new Float32Array(pooled.length + 256 * 6);
  y.set(pooled);
  parts.forEach((p, i) => y.set(p, pooled.length + 256 * i));
  return y;
}
