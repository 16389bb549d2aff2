/**
 * ComfyUI's T5XXL prompt path (sd1_clip.SDTokenizer configured for T5 in the FLUX / SD3 text encoders):
 * prompt weights `(text:w)` parsed as for CLIP, every space-separated word tokenised on its own with its
 * `</s>` dropped, no start token, one `</s>` at the end, then padded with `<pad>` (0) up to 256 tokens —
 * longer prompts are not cut or chunked. Encoding applies weights as z = (z − z_empty)·w + z_empty, with
 * z_empty the encoding of [</s>, pad…] of the same length.
 * `embedding:` words are plain text here (T5 textual inversions are not supported yet).
 */
import { WeftError } from '../../errors.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { parsePrompt } from '../clip/prompt.ts';
import type { T5Encoder } from './encoder.ts';
import type { T5Tokenizer } from './tokenizer.ts';

/** ComfyUI's min_length for the FLUX / SD3 T5XXL tokenizer. */
export const T5_MIN_LENGTH = 256;

export interface T5Tokens {
  ids: number[];
  weights: number[];
}

export function tokenizeT5Prompt(text: string, tok: T5Tokenizer, o: { minLength?: number } = {}): T5Tokens {
  const minLength = o.minLength ?? T5_MIN_LENGTH;
  const ids: number[] = [];
  const weights: number[] = [];
  for (const seg of parsePrompt(text)) {
    for (const word of seg.text.replaceAll('\n', ' ').split(' ').filter((w) => w !== '')) {
      for (const t of tok.tokenize(word)) {
        ids.push(t.id);
        weights.push(seg.weight);
      }
    }
  }
  ids.push(tok.eosId);
  weights.push(1);
  while (ids.length < minLength) {
    ids.push(tok.padId);
    weights.push(1);
  }
  return { ids, weights };
}

/** [</s>, pad, pad, …] of `length` tokens: what an empty prompt tokenises to. */
export function emptyT5Tokens(tok: T5Tokenizer, length: number): number[] {
  return [tok.eosId, ...new Array<number>(Math.max(0, length - 1)).fill(tok.padId)];
}

/** Conditioning [1, tokens, d_model] for tokenised prompt `t`, weights applied as ComfyUI does. */
export async function encodeT5Prompt(enc: T5Encoder, tok: T5Tokenizer, t: T5Tokens): Promise<Tensor> {
  const T = t.ids.length;
  if (t.weights.length !== T) throw new WeftError(`T5 prompt: ${T} ids but ${t.weights.length} weights`);
  const weighted = t.weights.some((w) => w !== 1);
  const ids = weighted ? [...t.ids, ...emptyT5Tokens(tok, T)] : t.ids;
  const r = await enc.encode(ids, weighted ? 2 : 1);
  const C = enc.spec.dModel;
  const cond = r.data.slice(0, T * C);
  if (weighted) {
    const ze = r.data.subarray(T * C);
    const f = Math.fround;
    for (let j = 0; j < T; j++) {
      const w = t.weights[j]!;
      if (w === 1) continue;
      for (let d = 0; d < C; d++) cond[j * C + d] = f(f(f(cond[j * C + d]! - ze[j * C + d]!) * f(w)) + ze[j * C + d]!);
    }
  }
  return { shape: [1, T, C], data: cond };
}
