/**
 * The T5 text encoder as ComfyUI's FLUX / SD3 path runs it: ids (EOS appended, padded with 0 to at least
 * 256 tokens by the tokenizer side) → last hidden state after the final RMSNorm, layer 'last', no mask.
 */
import { WeftError } from '../../errors.ts';
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { GraphSession, type EncoderSessionOptions } from '../../runtime/graph-session.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { buildT5EncoderGraph } from './graph.ts';
import { t5Spec, type T5Spec } from './spec.ts';

export class T5Encoder {
  private session?: GraphSession;

  /**
   * `sessionOpts.models` runs the encoder in that ModelService's workers (absent: the process default
   * service, else this thread; null: this thread). Results are the same bits either way.
   */
  constructor(readonly file: SafetensorsFile, readonly spec: T5Spec, private readonly sessionOpts: EncoderSessionOptions = {}) {}

  static open(file: SafetensorsFile, prefix?: string, sessionOpts: EncoderSessionOptions = {}): T5Encoder {
    return new T5Encoder(file, t5Spec(file, prefix), sessionOpts);
  }

  private open(): GraphSession {
    if (!this.session) {
      // T5-XXL's float32 weights are ~19 GB: the budget estimate must count them, not the graph's bytes.
      const weightBytes = (): number => {
        let n = 0;
        for (const [name, t] of this.file.tensors) if (name.startsWith(this.spec.prefix)) n += t.shape.reduce((a, b) => a * b, 1) * 4;
        return n;
      };
      this.session = new GraphSession('t5-encoder', `T5 encoder (${this.file.path})`, () => buildT5EncoderGraph(this.file, this.spec).build(), this.sessionOpts, weightBytes);
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
