/**
 * The FLUX CLIP object (ComfyUI's FluxClipModel): CLIP-L gives only its pooled output (last layer, final LN,
 * no projection), T5-XXL gives the per-token conditioning. CLIPTextEncode on it yields
 * [[T5 states [1, ≥256, 4096], {pooled_output: CLIP-L pooled [1, 768]}]]; CLIPTextEncodeFlux adds `guidance`.
 * A ClipModel subclass, so every CLIP consumer (asClipModel, CLIPSetLastLayer, clone) accepts it.
 * The T5 tokenizer is not a weight file: it is looked up in models/text_encoders/t5/, next to the T5 weights
 * and in models/tokenizers/t5/, when the first prompt is encoded (loading the MODEL alone never needs it).
 *
 * T5-XXL in float32 is ~19 GB, the blocker for FLUX on a 24 GB machine. chooseT5Quant() sends its block
 * Linears through 8-bit MatMulNBits when the file is fp8 (the user already chose 8-bit storage: ComfyUI's
 * t5xxl_fp8_e4m3fn) or when its float32 size would pass a threshold on the CPU, and says so in one line.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import type { Conditioning } from '../../graph/sockets.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { tensor } from '../../tensor/tensor.ts';
import { encodeTokenWeights } from '../clip/encode.ts';
import type { EmbeddingLibrary } from '../clip/embeddings.ts';
import { ClipModel, releaseClipEncoders, type ClipEncoderRef, type EncodeOptions } from '../clip/model.ts';
import type { EpSetting } from '../../runtime/providers.ts';
import type { FluxQuant } from '../flux/model.ts';
import { loraClipEncoder, releaseLoraClipEncoders } from '../lora/patches.ts';
import { loraT5Encoder, releaseLoraT5Encoders } from '../lora/t5.ts';
import { T5Encoder } from '../t5/encoder.ts';
import { t5QuantKeys } from '../t5/graph.ts';
import { t5Spec } from '../t5/spec.ts';
import { encodeT5Prompt, tokenizeT5Prompt } from '../t5/prompt.ts';
import { T5Tokenizer } from '../t5/tokenizer.ts';

export interface T5Ref {
  path: string;
  prefix: string;
  encoder: T5Encoder;
  /** Key of the shared encoder (file, prefix and quantization). */
  key: string;
  /** 'q8' / 'q4' when the block Linears run as MatMulNBits; undefined: float32. */
  quant?: FluxQuant;
  /** Folders searched for tokenizer.json / spiece.model, in order. */
  tokenizerDirs: readonly string[];
}

const t5Files = new Map<string, SafetensorsFile>();
const t5Encoders = new Map<string, T5Encoder>();
const tokenizers = new Map<string, T5Tokenizer>();

export interface T5QuantOptions {
  /** 'auto' (default): 8-bit for fp8 files and, on the CPU, above `t5QuantAboveBytes`; 'off': float32. */
  t5Quant?: 'auto' | 'off' | FluxQuant;
  /** float32 bytes above which 'auto' quantizes on the CPU; default T5_FLOAT32_LIMIT. */
  t5QuantAboveBytes?: number;
  /** Provider setting of the host: an explicit GPU provider skips the size rule (its memory is not this RAM). */
  ep?: EpSetting;
  /** Parent folder for the quantized side files (they go in <cacheDir>/t5-quant); default the OS temp dir. */
  cacheDir?: string;
  /** Where the one-line notice goes (a node passes ctx.warn); default console.warn. */
  warn?: (message: string) => void;
}

/**
 * 8 GB of float32: far above every T5 but XXL (T5-XL is ~1.2 B encoder params, 4.9 GB), well below XXL's
 * ~19 GB, and with the FLUX DiT (q8 ~12 GB) it is the most a 24 GB machine can give a text encoder.
 */
export const T5_FLOAT32_LIMIT = 8e9;

const FP8 = new Set(['F8_E4M3', 'F8_E5M2']);

/** The quantization FLUX's T5 runs with, and why (undefined: float32, no notice). */
export function chooseT5Quant(file: SafetensorsFile, prefix: string, o: T5QuantOptions = {}): { quant?: FluxQuant; reason?: string } {
  const mode = o.t5Quant ?? 'auto';
  if (mode === 'off') return {};
  if (mode !== 'auto') return { quant: mode, reason: 'requested' };
  const keys = t5QuantKeys(t5Spec(file, prefix));
  const fp8 = keys.map((k) => file.tensors.get(k)?.dtype).find((d) => d !== undefined && FP8.has(d));
  if (fp8) return { quant: 'q8', reason: `the file stores its weights as fp8 (${fp8})` };
  let bytes = 0;
  for (const [name, t] of file.tensors) if (name.startsWith(prefix)) bytes += t.shape.reduce((a, b) => a * b, 1) * 4;
  const limit = o.t5QuantAboveBytes ?? T5_FLOAT32_LIMIT;
  const gpu = o.ep !== undefined && o.ep !== 'auto' && o.ep !== 'cpu';
  if (!gpu && bytes > limit) return { quant: 'q8', reason: `its float32 weights would take ${(bytes / 1e9).toFixed(1)} GB (over ${(limit / 1e9).toFixed(1)} GB) on the CPU` };
  return {};
}

/** One T5 encoder per (file, prefix, quantization), shared by every FLUX CLIP and its clones. */
export function sharedT5(file: string, prefix: string, tokenizerDirs: readonly string[], o: T5QuantOptions = {}): T5Ref {
  let f = t5Files.get(file);
  if (!f) { f = SafetensorsFile.open(file); t5Files.set(file, f); }
  const { quant, reason } = chooseT5Quant(f, prefix, o);
  const key = `${file}|${prefix}|${quant ?? 'float'}`;
  let e = t5Encoders.get(key);
  if (!e) {
    const cacheDir = path.join(o.cacheDir ?? path.join(tmpdir(), 'weft-quant'), 't5-quant');
    e = T5Encoder.open(f, prefix, quant ? { quant, cacheDir } : {});
    t5Encoders.set(key, e);
    if (quant) {
      const bits = e.quant!.bits;
      (o.warn ?? ((m: string) => console.warn(m)))(`T5 text encoder ${path.basename(file)}: running its Linears as ${bits}-bit weights (MatMulNBits, block ${e.quant!.blockSize}) because ${reason}; quantized once on first use into ${cacheDir} and reused after. Embedding and norms stay float32.`);
    }
  }
  return { path: file, prefix, encoder: e, key, quant, tokenizerDirs };
}

/** The tokenizer from the first folder holding one; the error says what to put where. */
export function t5TokenizerFrom(dirs: readonly string[]): T5Tokenizer {
  const key = dirs.join('\n');
  let t = tokenizers.get(key);
  if (!t) {
    try {
      t = T5Tokenizer.fromFolders(dirs);
    } catch (e) {
      if (!(e instanceof WeftError)) throw e;
      throw new WeftError(`${e.message}. The model manager can download it for you; it is a tokenizer, not weights, so it is not inside t5xxl files.`, { type: 'model_load_error', input: 'clip', details: e.details });
    }
    tokenizers.set(key, t);
  }
  return t;
}

export class FluxClip extends ClipModel {
  constructor(clipL: ClipEncoderRef, readonly t5: T5Ref, o: { embeddings?: EmbeddingLibrary | null } = {}) {
    super('flux', { l: clipL }, o);
  }

  override clone(): FluxClip {
    const c = new FluxClip(this.encoders.l!, this.t5, { embeddings: this.embeddings });
    c.layerIdx = this.layerIdx;
    c.weighting = this.weighting;
    c.patches = [...this.patches];
    return c;
  }

  /** CLIPTextEncode: the same text for both encoders, no guidance option (the model's default 3.5 applies). */
  override async encode(text: string, o: EncodeOptions = {}): Promise<Conditioning> {
    return this.encodeFlux(text, text, undefined, o);
  }

  override async encodeSdxl(): Promise<Conditioning> {
    throw new WeftError('CLIPTextEncodeSDXL needs an SDXL CLIP (clip_l + clip_g); this CLIP is FLUX (use CLIPTextEncodeFlux)', { input: 'clip' });
  }

  /** CLIPTextEncodeFlux: clip_l text → pooled_output, t5xxl text → conditioning, `guidance` when given. */
  async encodeFlux(textL: string, textT5: string, guidance: number | undefined, o: EncodeOptions = {}): Promise<Conditioning> {
    // ComfyUI sets the clip layer on T5 too; Weft's T5 graph only returns the last layer.
    if (this.layerIdx !== null && this.layerIdx !== -1) {
      throw new WeftError(`clip: CLIPSetLastLayer ${this.layerIdx} on a FLUX CLIP would take an intermediate T5 layer, which is not supported yet (use -1)`, { input: 'clip', type: 'not_implemented' });
    }
    const tok = t5TokenizerFrom(this.t5.tokenizerDirs);
    const l = this.tokenize(textL, 'l', o.warn);
    // LoRA patches (LoraLoader's clip side) swap in encoders over merged side files, CLIP-L and T5 alike.
    const lora = this.patches.length > 0;
    const clipL = lora ? loraClipEncoder({ ...this.encoders.l!, role: 'l' }, this.roles(), this.patches) : this.encoders.l!.encoder;
    const t5 = lora ? loraT5Encoder(this.t5, this.patches) : this.t5.encoder;
    const pooled = (await encodeTokenWeights(clipL, l.chunks, this.outputOptions('l'), l.extra)).pooled;
    const cond = await encodeT5Prompt(t5, tok, tokenizeT5Prompt(textT5, tok));
    const opts: Record<string, unknown> = { pooled_output: tensor([1, pooled.length], pooled) };
    if (guidance !== undefined) opts.guidance = guidance;
    return [[cond, opts]];
  }

  override async release(): Promise<void> {
    await super.release();
    if (this.patches.length > 0) await releaseLoraT5Encoders();
    const key = this.t5.key;
    const e = t5Encoders.get(key);
    if (e) { t5Encoders.delete(key); await e.release(); }
    const f = t5Files.get(this.t5.path);
    if (f && ![...t5Encoders.keys()].some((k) => k.startsWith(`${this.t5.path}|`))) { t5Files.delete(this.t5.path); f.close(); }
  }
}

export function isFluxClip(v: unknown): v is FluxClip {
  return v instanceof FluxClip;
}

export function asFluxClip(v: unknown, input = 'clip'): FluxClip {
  if (v instanceof FluxClip) return v;
  const what = v instanceof ClipModel ? `a ${v.family} CLIP` : 'not a CLIP';
  throw new WeftError(`${input}: expected a FLUX CLIP (DualCLIPLoader type flux, or a FLUX checkpoint), got ${what}`, { input });
}

/** Folders searched for the T5 tokenizer: models/text_encoders/t5/, the weights' folder, models/tokenizers/t5/. */
export function t5TokenizerDirs(folders: object | undefined, t5Path: string): string[] {
  const roots = (name: string): string[] => {
    const f = folders as { modelRoots?: (folder: string) => string[] } | undefined;
    return typeof f?.modelRoots === 'function' ? f.modelRoots(name) : [];
  };
  return [...new Set([...roots('text_encoders').map((r) => path.join(r, 't5')), path.dirname(t5Path), ...roots('tokenizers').map((r) => path.join(r, 't5'))])];
}

/** Closes every shared T5 session and file, and the LoRA-patched text encoders (tests, app shutdown). */
export async function releaseFluxEncoders(): Promise<void> {
  await releaseLoraT5Encoders();
  await releaseLoraClipEncoders();
  for (const [k, e] of [...t5Encoders]) { t5Encoders.delete(k); await e.release(); }
  for (const [k, f] of [...t5Files]) { t5Files.delete(k); f.close(); }
  await releaseClipEncoders();
}
