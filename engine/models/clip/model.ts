/**
 * The CLIP socket value (ComfyUI's comfy.sd.CLIP): the text encoder(s) of a model family, the clip-skip
 * setting, the weighting mode, the embeddings folder and (later) LoRA patches. Nodes clone it before
 * changing anything, so upstream outputs stay untouched; encoders are shared through a cache keyed by
 * file + prefix, so clones and repeated loads reuse one set of ORT sessions.
 */
import { WeftError } from '../../errors.ts';
import type { Conditioning } from '../../graph/sockets.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { SessionOptions } from '../../onnx/index.ts';
import { tensor } from '../../tensor/tensor.ts';
import type { Activation } from '../layers/index.ts';
import { CLIP_PRESETS, ClipTextEncoder, emptyChunk, encodeTokenWeights, type ClipOutputOptions } from './encode.ts';
import type { EmbeddingKey, EmbeddingLibrary } from './embeddings.ts';
import { applyA1111Weights, tokenizeWithWeights, type TokenizedPrompt, type WeightingMode } from './prompt.ts';
import { CLIP_PREFIXES, clipSpec, type ClipSpecOverrides } from './spec.ts';
import { CLIPTokenizer } from './tokenizer.ts';
import { loraClipEncoder, releaseLoraClipEncoders } from '../lora/patches.ts';
import { configOverrides, sharedFile, probeStandalone, releaseClipEncoders, sharedEncoder, standaloneEncoder, type StandaloneProbe } from './shared.ts';
export { probeStandalone, releaseClipEncoders, sharedEncoder, standaloneEncoder, type StandaloneProbe } from './shared.ts';


declare module '../../graph/sockets.ts' {
  interface SocketValues {
    CLIP: ClipModel;
  }
}

export type ClipFamily = 'sd1' | 'sd2' | 'sdxl' | 'sdxl_refiner';
/** A CLIP object's family: the SD ones, or 'flux' (CLIP-L pooled + T5-XXL, the FluxClip subclass in engine/models/flux-sd). */
export type ClipModelFamily = ClipFamily | 'flux';
/** l: OpenAI CLIP-L, h: OpenCLIP ViT-H (SD2), g: OpenCLIP bigG (SDXL). */
export type ClipRole = 'l' | 'h' | 'g';

export interface ClipEncoderRef {
  role: ClipRole;
  path: string;
  prefix: string;
  encoder: ClipTextEncoder;
  /** ComfyUI's default output for this role in this family. */
  preset: ClipOutputOptions;
}

/** A weight patch on a text-encoder tensor (LoRA); applied by the LoRA module when it lands. */
export interface ClipPatch { key: string; strength: number; [detail: string]: unknown }

export interface ClipOpenOptions {
  embeddings?: EmbeddingLibrary | null;
  sessionOpts?: SessionOptions;
  tokenizer?: CLIPTokenizer;
}

export interface EncodeOptions {
  mode?: WeightingMode;
  /** Non-fatal problems (missing embedding…); a node passes ctx.warn. */
  warn?: (message: string) => void;
  /** ComfyUI's return_pooled="unprojected": the pooled output without text_projection (GLIGEN's box texts). */
  unprojectedPooled?: boolean;
}

export interface SdxlSize { width: number; height: number; cropW: number; cropH: number; targetWidth: number; targetHeight: number }

const EMBED_KEY: Record<ClipRole, EmbeddingKey> = { l: 'clip_l', g: 'clip_g', h: 'clip_h' };
const PRESET: Record<ClipModelFamily, Partial<Record<ClipRole, ClipOutputOptions>>> = {
  sd1: { l: CLIP_PRESETS.sd1 },
  sd2: { h: CLIP_PRESETS.sd2 },
  sdxl: { l: CLIP_PRESETS.sdxl_l, g: CLIP_PRESETS.sdxl_g },
  sdxl_refiner: { g: CLIP_PRESETS.sdxl_g },
  flux: { l: CLIP_PRESETS.sd1 }, // FLUX clip_l: last layer, final LN, unprojected pooled = SD1's preset.
};
const ROLE_ORDER: readonly ClipRole[] = ['l', 'h', 'g'];

export class ClipModel {
  /** CLIPSetLastLayer value; null = the family's default layer. */
  layerIdx: number | null = null;
  weighting: WeightingMode = 'comfy';
  embeddings: EmbeddingLibrary | null;
  /** LoRA patches on the text encoders; encode refuses to ignore them. */
  patches: readonly ClipPatch[] = [];
  readonly tokenizer: CLIPTokenizer;

  constructor(readonly family: ClipModelFamily, readonly encoders: Readonly<Partial<Record<ClipRole, ClipEncoderRef>>>, o: ClipOpenOptions = {}) {
    this.embeddings = o.embeddings ?? null;
    this.tokenizer = o.tokenizer ?? CLIPTokenizer.default();
    for (const r of Object.keys(PRESET[family]) as ClipRole[]) {
      if (!encoders[r]) throw new WeftError(`a ${family} CLIP needs a clip_${r} text encoder`);
    }
  }

  /** The text encoders of a single-file checkpoint (SD1, SD2, SDXL, SDXL refiner). */
  static fromCheckpoint(path: string, o: ClipOpenOptions = {}): ClipModel {
    const f = sharedFile(path);
    const has = (p: string) => f.has(`${p}.embeddings.token_embedding.weight`) || f.has(`${p}.token_embedding.weight`);
    const ref = (role: ClipRole, family: ClipFamily, prefix: string, section: string): ClipEncoderRef => ({
      role, path, prefix, preset: PRESET[family][role]!, encoder: sharedEncoder(path, prefix, configOverrides(f, section), o.sessionOpts),
    });
    if (has(CLIP_PREFIXES.sdxl_l) && has(CLIP_PREFIXES.sdxl_g)) {
      return new ClipModel('sdxl', { l: ref('l', 'sdxl', CLIP_PREFIXES.sdxl_l, 'clip_l'), g: ref('g', 'sdxl', CLIP_PREFIXES.sdxl_g, 'clip_g') }, o);
    }
    if (has('conditioner.embedders.0.model')) return new ClipModel('sdxl_refiner', { g: ref('g', 'sdxl_refiner', 'conditioner.embedders.0.model', 'clip_g') }, o);
    if (has(CLIP_PREFIXES.sd1)) return new ClipModel('sd1', { l: ref('l', 'sd1', CLIP_PREFIXES.sd1, 'clip') }, o);
    if (has(CLIP_PREFIXES.sd2)) return new ClipModel('sd2', { h: ref('h', 'sd2', CLIP_PREFIXES.sd2, 'clip') }, o);
    throw new WeftError(`${path}: the checkpoint has no CLIP text encoder (SD1, SD2 or SDXL layout); load one with CLIPLoader`, { file: path, type: 'model_load_error' });
  }

  /**
   * Standalone text-encoder files (CLIPLoader / DualCLIPLoader). `type` is the loader's: 'stable_diffusion'
   * picks the family from the one file (CLIP-L → SD1, ViT-H → SD2, bigG → SDXL refiner); 'sdxl' takes two.
   */
  static fromTextEncoders(paths: readonly string[], type: string, o: ClipOpenOptions & { roles?: ClipRole[] } = {}): ClipModel {
    const probes = paths.map((p, i) => probeStandalone(p, o.roles?.[i]));
    const ref = (x: StandaloneProbe, role: ClipRole, preset: ClipOutputOptions): ClipEncoderRef => ({ ...standaloneEncoder(x, role, o.sessionOpts), preset });
    if (type === 'stable_diffusion' && probes.length === 1) {
      const x = probes[0]!;
      const family: ClipFamily = x.role === 'l' ? 'sd1' : x.role === 'h' ? 'sd2' : 'sdxl_refiner';
      return new ClipModel(family, { [x.role]: ref(x, x.role, PRESET[family][x.role]!) }, o);
    }
    if (type === 'sdxl' && probes.length === 2) {
      let [a, b] = probes as [StandaloneProbe, StandaloneProbe];
      // ComfyUI tells clip_g by its layer count; tiny or ambiguous pairs fall back to width, then order.
      if (a.role === b.role) {
        if (a.width > b.width) [a, b] = [b, a];
        a = { ...a, role: 'l' }; b = { ...b, role: 'g' };
      } else if (a.role === 'g') [a, b] = [b, a];
      if (a.role !== 'l' || b.role !== 'g') throw new WeftError(`type sdxl needs a CLIP-L and a CLIP-G text encoder; got ${a.path} (${a.role}) and ${b.path} (${b.role})`, { input: 'type' });
      return new ClipModel('sdxl', { l: ref(a, 'l', CLIP_PRESETS.sdxl_l), g: ref(b, 'g', CLIP_PRESETS.sdxl_g) }, o);
    }
    const hint = type === 'flux' ? ' (FLUX text encoders, CLIP-L + T5-XXL, arrive with FLUX support)' : '';
    throw new WeftError(`CLIP type "${type}" with ${paths.length} file(s) is not supported yet${hint}; supported: stable_diffusion (1 file), sdxl (2 files)`, { input: 'type' });
  }

  clone(): ClipModel {
    const c = new ClipModel(this.family, this.encoders, { embeddings: this.embeddings, tokenizer: this.tokenizer });
    c.layerIdx = this.layerIdx;
    c.weighting = this.weighting;
    c.patches = [...this.patches];
    return c;
  }

  /** CLIPSetLastLayer: -1 last, -2 penultimate, … (a copy; this one is unchanged). */
  setLastLayer(n: number): ClipModel {
    if (!Number.isInteger(n) || n >= 0) throw new WeftError(`stop_at_clip_layer must be a negative integer (-1 = last layer), got ${n}`, { input: 'stop_at_clip_layer' });
    const c = this.clone();
    c.layerIdx = n;
    return c;
  }

  withPatches(patches: readonly ClipPatch[]): ClipModel {
    const c = this.clone();
    c.patches = [...this.patches, ...patches];
    return c;
  }

  roles(): ClipRole[] {
    return ROLE_ORDER.filter((r) => this.encoders[r]);
  }

  /** Output options for one encoder under the clip-skip setting (ComfyUI SDClipModel.clip_layer). */
  outputOptions(role: ClipRole): ClipOutputOptions {
    const ref = this.encoders[role]!;
    if (this.layerIdx === null) return ref.preset;
    // Beyond the tower's depth ComfyUI falls back to its "last" output, which is always final-LN'd.
    if (Math.abs(this.layerIdx) > ref.encoder.spec.layers) return { ...ref.preset, layer: -1, finalNorm: true };
    return { ...ref.preset, layer: this.layerIdx };
  }

  tokenize(text: string, role: ClipRole, warn?: (m: string) => void): TokenizedPrompt {
    const ref = this.encoders[role];
    if (!ref) throw new WeftError(`this ${this.family} CLIP has no clip_${role} encoder`);
    const spec = ref.encoder.spec;
    return tokenizeWithWeights(text, this.tokenizer, {
      padId: ref.preset.padId, vocabSize: spec.vocab, maxLength: 77,
      embeddings: this.embeddings?.lookup(spec.width, EMBED_KEY[role]), warn,
    });
  }

  /** CLIPTextEncode: [[cond [1,T,C], {pooled_output [1,P]}]]; SDXL concatenates clip_l and clip_g per token. */
  async encode(text: string, o: EncodeOptions = {}): Promise<Conditioning> {
    const roles = this.family === 'sdxl' ? (['l', 'g'] as const) : this.roles();
    const r = await this.encodeTexts(roles.map((role) => [role, text] as [ClipRole, string]), o);
    return [[r.cond, { pooled_output: r.pooled }]];
  }

  /** CLIPTextEncodeSDXL: text_g for clip_g, text_l for clip_l, size conditioning in the options. */
  async encodeSdxl(textG: string, textL: string, s: SdxlSize, o: EncodeOptions = {}): Promise<Conditioning> {
    if (this.family !== 'sdxl') throw new WeftError(`CLIPTextEncodeSDXL needs an SDXL CLIP (clip_l + clip_g); this CLIP is ${this.family}`, { input: 'clip' });
    const r = await this.encodeTexts([['l', textL], ['g', textG]], o);
    return [[r.cond, {
      pooled_output: r.pooled, width: s.width, height: s.height, crop_w: s.cropW, crop_h: s.cropH, target_width: s.targetWidth, target_height: s.targetHeight,
    }]];
  }

  /** CLIPTextEncodeSDXLRefiner: the prompt plus aesthetic score and size in the options. */
  async encodeRefiner(text: string, ascore: number, width: number, height: number, o: EncodeOptions = {}): Promise<Conditioning> {
    const [[cond, opts]] = (await this.encode(text, o)) as [[Conditioning[0][0], Record<string, unknown>]];
    return [[cond, { ...opts, aesthetic_score: ascore, width, height }]];
  }

  /** Encodes per-encoder texts; chunk counts are evened out with empty-prompt chunks, pooled from the last role. */
  private async encodeTexts(parts: Array<[ClipRole, string]>, o: EncodeOptions) {
    const mode = o.mode ?? this.weighting;
    const toks = parts.map(([role, text]) => ({ role, t: this.tokenize(text, role, o.warn) }));
    const n = Math.max(...toks.map((x) => x.t.chunks.length));
    const outs = [];
    for (const { role, t } of toks) {
      // LoRA patches swap in an encoder whose patched weights come from a merged side file.
      const enc = this.patches.length > 0
        ? loraClipEncoder({ ...this.encoders[role]!, role }, this.roles(), this.patches)
        : this.encoders[role]!.encoder;
      const opts = o.unprojectedPooled ? { ...this.outputOptions(role), project: false } : this.outputOptions(role);
      const chunks = [...t.chunks];
      while (chunks.length < n) chunks.push({ ids: emptyChunk(enc.spec, 77, opts.padId), weights: new Array<number>(77).fill(1) });
      if (mode === 'a1111') {
        const plain = await encodeTokenWeights(enc, chunks.map((c) => ({ ids: c.ids, weights: new Array<number>(c.ids.length).fill(1) })), opts, t.extra);
        outs.push({ ...plain, cond: applyA1111Weights(plain.cond, chunks, plain.width) });
      } else outs.push(await encodeTokenWeights(enc, chunks, opts, t.extra));
    }
    const T = outs[0]!.tokens;
    const W = outs.reduce((a, x) => a + x.width, 0);
    const cond = new Float32Array(T * W);
    let off = 0;
    for (const x of outs) {
      for (let t = 0; t < T; t++) cond.set(x.cond.subarray(t * x.width, (t + 1) * x.width), t * W + off);
      off += x.width;
    }
    const pooled = outs[outs.length - 1]!.pooled;
    return { cond: tensor([1, T, W], cond), pooled: tensor([1, pooled.length], pooled) };
  }

  /** Closes the sessions and files this CLIP uses (shared with its clones and other loads of the same files). */
  async release(): Promise<void> {
    await releaseClipEncoders(this.roles().map((r) => this.encoders[r]!.path));
    if (this.patches.length > 0) await releaseLoraClipEncoders();
  }
}

/** The CLIP input of a node, checked at run time (a wrong link type would otherwise fail deep inside). */
export function asClipModel(v: unknown, input = 'clip'): ClipModel {
  if (v instanceof ClipModel) return v;
  throw new WeftError(`input "${input}" is not a CLIP model (got ${v === null ? 'null' : typeof v})`, { input });
}
