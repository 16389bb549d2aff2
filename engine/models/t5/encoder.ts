/**
 * The T5 text encoder as ComfyUI's FLUX / SD3 path runs it: ids (EOS appended, padded with 0 to at least
 * 256 tokens by the tokenizer side) → last hidden state after the final RMSNorm, layer 'last', no mask.
 */
import type * as ort from 'onnxruntime-node';
import { WeftError } from '../../errors.ts';
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { createSession, runFloat, type SessionOptions } from '../../onnx/index.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { buildT5EncoderGraph } from './graph.ts';
import { t5Spec, type T5Spec } from './spec.ts';

export class T5Encoder {
  private session?: Promise<ort.InferenceSession>;

  constructor(readonly file: SafetensorsFile, readonly spec: T5Spec, private readonly sessionOpts: SessionOptions = {}) {}

  static open(file: SafetensorsFile, prefix?: string, sessionOpts: SessionOptions = {}): T5Encoder {
    return new T5Encoder(file, t5Spec(file, prefix), sessionOpts);
  }

  private open(): Promise<ort.InferenceSession> {
    if (!this.session) {
      const { bytes, weightsDir } = buildT5EncoderGraph(this.file, this.spec).build();
      this.session = createSession(bytes, weightsDir, { label: `T5 encoder (${this.file.path})`, ...this.sessionOpts });
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
    const r = await runFloat(await this.open(), { input_ids: { data, dims: [batch, tokens] } });
    const out = r.last_hidden_state!;
    return { shape: out.dims, data: out.data };
  }

  async release(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await (await s).release();
  }
}
