/**
 * FluxModel: open a FLUX diffusion model file (BFL layout, bare or under `model.diffusion_model.`), build
 * the DiT graph once, run it on latents. run() is ComfyUI's Flux.forward: circular-pad to even H/W,
 * 2×2 patchify, ids + RoPE tables, sinusoidal time/guidance embeddings, DiT, unpatchify, crop.
 * With `quant` the block Linears run as MatMulNBits over a cached quantized side file.
 */
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { createSession, runFloat, type SessionOptions } from '../../onnx/index.ts';
import { buildWithDtype, type FloatDtype } from '../../onnx/precision.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { sinusoidalEmbedding } from '../layers/sinusoidal.ts';
import { ensureQuantized } from '../quant/cache.ts';
import type { QuantizedWeights } from '../quant/linear.ts';
import type { QuantSettings } from '../quant/nbits.ts';
import { FLUX_TIME_DIM, FLUX_TIME_FACTOR, fluxDims, type FluxDims } from './config.ts';
import { buildFluxGraph, type FluxGraphOptions } from './graph.ts';
import { patchGrid, positionIds, ropeTables } from './rope.ts';

export type FluxQuant = 'q8' | 'q4';

/** Defaults per quant level: 8-bit codes lose little at any block size; 4-bit needs small blocks. */
export const QUANT_PRESETS: Record<FluxQuant, QuantSettings> = {
  q8: { bits: 8, blockSize: 64 },
  q4: { bits: 4, blockSize: 32 },
};

export interface FluxOpenOptions extends SessionOptions {
  /** Weight-only quantization of the block Linears; a preset name or explicit settings. */
  quant?: FluxQuant | QuantSettings;
  /** ORT MatMulNBits accuracy_level (0: float32 compute, 4: int8 activations). */
  accuracyLevel?: QuantizedWeights['accuracyLevel'];
  /** Where quantized side files live; default <tmpdir>/weft-quant. */
  cacheDir?: string;
  graph?: Pick<FluxGraphOptions, 'doubleBlocks' | 'singleBlocks' | 'ep' | 'clampStreams'>;
  /** Compute type of the graph: 'float16' is the GPU variant's (with `graph.ep: 'webgpu'`); default float32. */
  dtype?: FloatDtype;
}

export interface FluxLoadInfo {
  quantMs: number;
  quantReused: boolean;
  quantFile?: string;
  sessionMs: number;
}

/** Keys the quantizer takes: every 2-D weight of the transformer blocks (>97% of FLUX's parameters). */
export function quantizableKeys(file: SafetensorsFile, dims: FluxDims): string[] {
  const p = dims.prefix;
  return file.keys().filter((k) => (k.startsWith(`${p}double_blocks.`) || k.startsWith(`${p}single_blocks.`)) && k.endsWith('.weight') && file.get(k).shape.length === 2);
}

function rowsOf(t: Tensor | ArrayLike<number>, B: number, width: number, what: string): Float32Array {
  const data = 'data' in t ? t.data : Float32Array.from(t as ArrayLike<number>);
  if (data.length === B * width) return data;
  if (data.length === width) {
    const out = new Float32Array(B * width);
    for (let b = 0; b < B; b++) out.set(data, b * width);
    return out;
  }
  throw new WeftError(`FLUX: ${what} has ${data.length} values, expected ${width} per row for ${B} rows`, { input: what });
}

export class FluxModel {
  private constructor(
    readonly path: string,
    readonly dims: FluxDims,
    private readonly session: ort.InferenceSession,
    readonly load: FluxLoadInfo,
  ) {}

  get variant(): FluxDims['variant'] { return this.dims.variant; }
  get latentChannels(): number { return this.dims.outPatch / 4; }

  static async open(modelPath: string, opts: FluxOpenOptions = {}): Promise<FluxModel> {
    const file = SafetensorsFile.open(modelPath);
    try {
      const dims = fluxDims(file);
      let quant: QuantizedWeights | undefined;
      const load: FluxLoadInfo = { quantMs: 0, quantReused: false, sessionMs: 0 };
      if (opts.quant) {
        const s = typeof opts.quant === 'string' ? QUANT_PRESETS[opts.quant] : opts.quant;
        if (!s) throw new WeftError(`FLUX: unknown quantization "${String(opts.quant)}" (use q8 or q4)`, { file: modelPath });
        const r = ensureQuantized(file, quantizableKeys(file, dims), s, opts.cacheDir ?? path.join(tmpdir(), 'weft-quant'));
        quant = { file: r.file, bits: s.bits, blockSize: s.blockSize, accuracyLevel: opts.accuracyLevel };
        Object.assign(load, { quantMs: r.ms, quantReused: !r.written, quantFile: r.file.path });
      }
      const t0 = performance.now();
      const { bytes, weightsDir } = buildWithDtype(opts.dtype ?? 'float32', () => buildFluxGraph(file, dims, { ...opts.graph, quant }).build());
      const session = await createSession(bytes, weightsDir, { label: `FLUX ${path.basename(modelPath)}`, ...opts });
      load.sessionMs = performance.now() - t0;
      return new FluxModel(modelPath, dims, session, load);
    } finally {
      file.close();
    }
  }

  /**
   * Raw network call (Flux.forward): x [B, C, H, W], timesteps (σ in [0, 1]) per row, context [B, L, D],
   * y [B, vecInDim], guidance per row (required by dev models, ignored by schnell). Returns v [B, C, H, W].
   */
  async run(x: Tensor, timesteps: ArrayLike<number>, context: Tensor, y: Tensor, guidance?: ArrayLike<number>): Promise<Tensor> {
    const d = this.dims;
    if (x.shape.length !== 4) throw new WeftError(`FLUX: latent must be [B, C, H, W], got [${x.shape.join(', ')}]`, { input: 'x' });
    const [B, Cx, H, W] = x.shape as [number, number, number, number];
    if (Cx !== d.inChannels) throw new WeftError(`FLUX: latent has ${Cx} channels, ${this.path} takes ${d.inChannels}`, { input: 'x', file: this.path });
    const L = context.shape[context.shape.length - 2]!;
    if (context.shape[context.shape.length - 1] !== d.contextInDim) throw new WeftError(`FLUX: text context width ${context.shape.at(-1)} does not match the model's ${d.contextInDim} (T5-XXL output expected)`, { input: 'context' });
    if (d.guidanceEmbed && !guidance) throw new WeftError('FLUX dev needs a guidance value (FluxGuidance / CLIPTextEncodeFlux)', { input: 'guidance' });
    const { hLen, wLen } = patchGrid(H, W);
    const tRows = rowsOf(timesteps, B, 1, 'timestep');
    const emb = (vals: Float32Array) => {
      const out = new Float32Array(B * FLUX_TIME_DIM);
      for (let b = 0; b < B; b++) out.set(sinusoidalEmbedding(Math.fround(FLUX_TIME_FACTOR * Math.fround(vals[b]!)), FLUX_TIME_DIM), b * FLUX_TIME_DIM);
      return out;
    };
    const pe = ropeTables(positionIds(L, hLen, wLen), d.axesDim);
    const peDims = [pe.length, 1, pe.pairs, 1];
    const feeds: Parameters<typeof runFloat>[1] = {
      img: { data: patchify(x.data, B, Cx, H, W), dims: [B, hLen * wLen, Cx * 4] },
      txt: { data: rowsOf(context, B, L * d.contextInDim, 'context'), dims: [B, L, d.contextInDim] },
      t_emb: { data: emb(tRows), dims: [B, FLUX_TIME_DIM] },
      y: { data: rowsOf(y, B, d.vecInDim, 'y (pooled output)'), dims: [B, d.vecInDim] },
      pe_cos: { data: pe.cos, dims: peDims },
      pe_sin: { data: pe.sin, dims: peDims },
    };
    if (d.guidanceEmbed) feeds.g_emb = { data: emb(rowsOf(guidance!, B, 1, 'guidance')), dims: [B, FLUX_TIME_DIM] };
    const out = (await runFloat(this.session, feeds)).out!;
    const Co = d.outPatch / 4;
    return { shape: [B, Co, H, W], data: unpatchify(out.data, B, Co, H, W) };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** [B, C, H, W] → [B, hLen·wLen, C·4], (c, ph, pw) innermost; odd edges wrap around (circular pad). */
export function patchify(x: Float32Array, B: number, C: number, H: number, W: number): Float32Array {
  const { hLen, wLen } = patchGrid(H, W);
  const out = new Float32Array(B * hLen * wLen * C * 4);
  let o = 0;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < hLen; i++)
      for (let j = 0; j < wLen; j++)
        for (let c = 0; c < C; c++)
          for (let ph = 0; ph < 2; ph++)
            for (let pw = 0; pw < 2; pw++) out[o++] = x[((b * C + c) * H + ((2 * i + ph) % H)) * W + ((2 * j + pw) % W)]!;
  return out;
}

/** Inverse of patchify, cropped back to H×W. */
export function unpatchify(t: Float32Array, B: number, C: number, H: number, W: number): Float32Array {
  const { hLen, wLen } = patchGrid(H, W);
  const out = new Float32Array(B * C * H * W);
  let o = 0;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < hLen; i++)
      for (let j = 0; j < wLen; j++)
        for (let c = 0; c < C; c++)
          for (let ph = 0; ph < 2; ph++)
            for (let pw = 0; pw < 2; pw++, o++) {
              const r = 2 * i + ph, q = 2 * j + pw;
              if (r < H && q < W) out[((b * C + c) * H + r) * W + q] = t[o]!;
            }
  return out;
}
