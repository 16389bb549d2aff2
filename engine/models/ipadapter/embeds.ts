/**
 * Batch handling of CLIP vision embeddings before projection, as IPAdapterAdvanced's combine_embeds does
 * it over the image batch (dim 0), and the token layout the attention sees afterwards.
 */
import { WeftError } from '../../errors.ts';
import type { Tensor } from '../../tensor/tensor.ts';

export const COMBINE_EMBEDS = ['concat', 'add', 'subtract', 'average', 'norm average'] as const;
export type CombineEmbeds = (typeof COMBINE_EMBEDS)[number];

/** tensor_to_size: repeat the last row up to `n` rows, or keep the first `n`. */
export function repeatToBatch(t: Tensor, n: number): Tensor {
  const B = t.shape[0]!;
  if (B === n) return t;
  const per = t.data.length / B;
  const data = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    const src = Math.min(i, B - 1);
    data.set(t.data.subarray(src * per, (src + 1) * per), i * per);
  }
  return { shape: [n, ...t.shape.slice(1)], data };
}

/** add / subtract / average / norm average over the batch, in float32 like torch; keeps a batch of 1. */
export function combineEmbeds(t: Tensor, mode: CombineEmbeds): Tensor {
  const B = t.shape[0]!;
  const per = t.data.length / B;
  const out = new Float32Array(per);
  const f = Math.fround;
  const at = (b: number, i: number): number => t.data[b * per + i]!;
  for (let i = 0; i < per; i++) {
    let v: number;
    if (mode === 'add') {
      v = 0;
      for (let b = 0; b < B; b++) v = f(v + at(b, i));
    } else if (mode === 'average') {
      v = 0;
      for (let b = 0; b < B; b++) v = f(v + at(b, i));
      v = f(v / B);
    } else if (mode === 'subtract') {
      let s = 0;
      for (let b = 1; b < B; b++) s = f(s + at(b, i));
      v = f(at(0, i) - f(s / (B - 1)));
    } else if (mode === 'norm average') {
      // torch.norm over dim 0: each element divided by the L2 norm of its column across the batch.
      let n = 0;
      for (let b = 0; b < B; b++) n += at(b, i) * at(b, i);
      const norm = f(Math.sqrt(n));
      let s = 0;
      for (let b = 0; b < B; b++) s = f(s + f(at(b, i) / norm));
      v = f(s / B);
    } else {
      throw new WeftError(`combine_embeds '${mode as string}' is not one of ${COMBINE_EMBEDS.join(', ')}`, { input: 'combine_embeds', type: 'value_not_in_list' });
    }
    out[i] = v;
  }
  return { shape: [1, ...t.shape.slice(1)], data: out };
}

/**
 * [B, T, C] → [1, B·T, C]. With several images kept apart ('concat'), the reference hands attention k/v of B
 * images per prompt row, which its attention reshapes into one row of B·T tokens: the images' tokens in a row.
 */
export function joinTokens(t: Tensor): Tensor {
  const [B, T, C] = t.shape as [number, number, number];
  return B === 1 ? t : { shape: [1, B * T, C], data: t.data };
}
