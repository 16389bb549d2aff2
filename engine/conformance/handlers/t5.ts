/**
 * flux_t5_encode_* / flux_t5_raw_short: the T5 encoder on recorded ids (already EOS-terminated and, for
 * the encode cases, padded with 0 to 256 as ComfyUI's T5XXL tokenizer does), compared on the last hidden
 * state. One encoder per model file for the whole run.
 */
import type { CaseHandler } from '../types.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { T5Encoder } from '../../models/t5/encoder.ts';

const encoders = new Map<string, T5Encoder>();

function encoderFor(path: string): T5Encoder {
  let e = encoders.get(path);
  if (!e) {
    e = T5Encoder.open(SafetensorsFile.open(path), undefined, { threads: 1 });
    encoders.set(path, e);
  }
  return e;
}

export const handler: CaseHandler = {
  topic: 't5',
  match: (c) => c.name.startsWith('flux_t5_') && c.inputs.token_ids !== undefined,
  async run(c, ctx) {
    const m = await ctx.tensors();
    const t = m.get(c.inputs.token_ids!.tensor);
    if (!t || !(t.data instanceof BigInt64Array)) throw new Error(`case ${c.name}: int64 input "token_ids" missing from the vectors file`);
    const out = await encoderFor(ctx.model('t5')).encode(t.data, t.shape[0] ?? 1);
    return { got: { last_hidden_state: out.data } };
  },
};
