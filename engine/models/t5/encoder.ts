/**
 * The T5 text encoder as ComfyUI's FLUX / SD3 path runs it: ids (EOS appended, padded with 0 to at least
 * 256 tokens by the tokenizer side) → last hidden state after the final RMSNorm, layer 'last', no mask.
 *
 * `quant` runs the block Linears as 8/4-bit MatMulNBits: the float graph Casts every fp16/bf16/fp8 weight to
 * float32 at session creation (~19 GB for T5-XXL's 4.7 B parameters); quantized, the Linears take ~1 byte
 * per parameter (q8). The side file is written on first use (graph build) into `cacheDir` and reused after.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import type { SafetensorsFile } from '../../io/safetensors.ts';
import type { Ep } from '../../onnx/index.ts';
import { buildWithDtype } from '../../onnx/precision.ts';
import { GraphSession, type BuiltGraph, type EncoderSessionOptions } from '../../runtime/graph-session.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { FluxQuant } from '../flux/model.ts';
import { QUANT_PRESETS } from '../flux/model.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { asBuilderFile } from '../lora/bridge.ts';
import { quantizeSource, type QuantizedSource } from '../lora/quant.ts';
import type { QuantizedWeights } from '../quant/linear.ts';
import type { QuantSettings } from '../quant/nbits.ts';
import { buildT5EncoderGraph, t5QuantKeys } from './graph.ts';
import { t5Spec, type T5Spec } from './spec.ts';

export interface T5EncoderOptions extends EncoderSessionOptions {
  /** Weight-only quantization of the block Linears: a preset ('q8': 8-bit, block 64) or explicit settings. */
  quant?: FluxQuant | QuantSettings;
  /** Folder of the quantized side files; default <tmpdir>/weft-quant/t5. */
  cacheDir?: string;
  /** ORT MatMulNBits accuracy_level (0: float32 compute, 4: int8 activations). */
  accuracyLevel?: QuantizedWeights['accuracyLevel'];
}

export class T5Encoder {
  private session?: GraphSession;
  /** Set once the graph is built with `quant`: the side file (an overlay with LoRA), and whether it was written or reused. */
  quantInfo?: QuantizedSource;
  private readonly sessionOpts: EncoderSessionOptions;
  readonly quant?: QuantSettings;
  private readonly cacheDir: string;
  private readonly accuracyLevel?: QuantizedWeights['accuracyLevel'];

  /**
   * `sessionOpts.models` runs the encoder in that ModelService's workers (absent: the process default
   * service, else this thread; null: this thread). Results are the same bits either way.
   */
  constructor(readonly file: SafetensorsFile, readonly spec: T5Spec, opts: T5EncoderOptions = {}) {
    const { quant, cacheDir, accuracyLevel, ...sessionOpts } = opts;
    this.sessionOpts = sessionOpts;
    if (quant !== undefined) {
      const s = typeof quant === 'string' ? QUANT_PRESETS[quant] : quant;
      if (!s) throw new WeftError(`T5: unknown quantization "${String(quant)}" (use q8 or q4)`, { file: file.path });
      this.quant = s;
    }
    this.cacheDir = cacheDir ?? path.join(tmpdir(), 'weft-quant', 't5');
    this.accuracyLevel = accuracyLevel;
  }

  static open(file: SafetensorsFile, prefix?: string, opts: T5EncoderOptions = {}): T5Encoder {
    return new T5Encoder(file, t5Spec(file, prefix), opts);
  }

  /** The same encoder (spec, quantization, session options) over other weights: a LoRA-patched source. */
  withWeights(src: WeightSource): T5Encoder {
    return new T5Encoder(asBuilderFile(src), this.spec, { ...this.sessionOpts, quant: this.quant, cacheDir: this.cacheDir, accuracyLevel: this.accuracyLevel });
  }

  /**
   * The graph for the CPU EP ('cpu') or for GPU providers ('webgpu' op choices). The GPU graph stays float32,
   * not the fp16 the other GPU variants use: T5 v1.1's feed-forward activations pass fp16's 65504 (why
   * transformers keeps `wo` in float32 and ComfyUI feeds the T5 stack float32 embeddings, so its Linears
   * compute in float32 whatever the stored dtype). Both graphs share the quantized side file: MatMulNBits
   * runs on the WebGPU EP, which keeps T5-XXL at ~5 GB (q8) instead of 19 GB of float32.
   */
  private buildGraph(ep: Ep): BuiltGraph {
    let quant: QuantizedWeights | undefined;
    if (this.quant) {
      this.quantInfo ??= quantizeSource(this.file, t5QuantKeys(this.spec), this.quant, this.cacheDir);
      quant = { file: this.quantInfo.file, bits: this.quant.bits, blockSize: this.quant.blockSize, accuracyLevel: this.accuracyLevel };
    }
    return buildWithDtype('float32', () => buildT5EncoderGraph(this.file, this.spec, { quant, ep }).build());
  }

  /** RAM the loaded session holds: float32 for what stays float, the side file's bytes for the Linears. */
  private weightBytes(): number {
    const qkeys = this.quant ? new Set(t5QuantKeys(this.spec)) : new Set<string>();
    let n = 0;
    for (const [name, t] of this.file.tensors) if (name.startsWith(this.spec.prefix) && !qkeys.has(name)) n += t.shape.reduce((a, b) => a * b, 1) * 4;
    if (this.quantInfo) for (const t of this.quantInfo.file.tensors.values()) n += t.byteLength;
    return n;
  }

  private open(): GraphSession {
    if (!this.session) {
      // T5-XXL's float32 weights are ~19 GB: the budget estimate must count them, not the graph's bytes.
      const label = `T5 encoder${this.quant ? ` (${this.quant.bits}-bit Linears)` : ''} (${this.file.path})`;
      this.session = new GraphSession('t5-encoder', label, () => this.buildGraph('cpu'), this.sessionOpts, () => this.weightBytes(), () => this.buildGraph('webgpu'));
    }
    return this.session;
  }

  /** ids: [batch, tokens] row-major → last_hidden_state [batch, tokens, d_model]. */
  async encode(ids: ArrayLike<number | bigint>, batch = 1): Promise<Tensor> {
    const tokens = ids.length / batch;
    if (!Number.isInteger(tokens) || tokens < 1) throw new WeftError(`T5 encode: ${ids.length} token ids do not split into ${batch} rows`);
    const data = new BigInt64Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = BigInt(ids[i]!);
      if (id < 0n || id >= BigInt(this.spec.vocabSize)) throw new WeftError(`T5 encode: token id ${id} is outside the vocabulary of ${this.spec.vocabSize} (${this.file.path})`, { file: this.file.path });
      data[i] = id;
    }
    const r = await this.open().run({ input_ids: { data, dims: [batch, tokens] } });
    const out = r.last_hidden_state!;
    return { shape: out.dims, data: out.data };
  }

  async release(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.release();
  }
}
