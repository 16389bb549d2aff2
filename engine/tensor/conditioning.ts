/**
 * CONDITIONING list operations as in ComfyUI's nodes.py and node_helpers.py. Each entry is
 * [cross-attention tokens [B,T,C], options]; option keys are ComfyUI's own, so the sampler can
 * mirror calc_cond_batch: `area` ([h, w, y, x] in latent pixels, or ['percentage', h, w, y, x]),
 * `strength`, `set_area_to_bounds`, `mask` ([B,H,W]), `mask_strength`, `start_percent`,
 * `end_percent`, `pooled_output` ([B,P]).
 */
import { WeftError } from '../errors.ts';
import type { Conditioning, ConditioningEntry } from '../graph/sockets.ts';
import { broadcastBatch } from './batch.ts';
import { isTensor, type Tensor } from './tensor.ts';

export function checkConditioning(cond: Conditioning | undefined, input: string, nonEmpty = false): Conditioning {
  if (!Array.isArray(cond)) throw new WeftError(`${input}: expected a conditioning list`, { input });
  for (const e of cond) {
    if (!Array.isArray(e) || !isTensor(e[0]) || e[0].shape.length !== 3 || typeof e[1] !== 'object' || e[1] === null) {
      throw new WeftError(`${input}: every entry must be [tokens [B,T,C], options]`, { input });
    }
  }
  if (nonEmpty && cond.length === 0) throw new WeftError(`${input}: conditioning is empty`, { input });
  return cond;
}

/** node_helpers.conditioning_set_values: a copy of every entry's options with `values` assigned. */
export function setConditioningValues(cond: Conditioning, values: Record<string, unknown>): Conditioning {
  return cond.map(([t, opts]): ConditioningEntry => [t, { ...opts, ...values }]);
}

/** ConditioningCombine: both lists, one after the other. */
export function combineConditioning(a: Conditioning, b: Conditioning): Conditioning {
  return [...a, ...b];
}

/** a·s + b·(1−s) with the batch axis broadcast; shapes beyond the batch must agree. */
function mix(a: Tensor, b: Tensor, s: number, input: string): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => i > 0 && d !== b.shape[i])) {
    throw new WeftError(`${input}: shape [${b.shape.join(', ')}] cannot be averaged with [${a.shape.join(', ')}]`, { input });
  }
  const n = broadcastBatch(a.shape[0], b.shape[0], input);
  const item = a.data.length / a.shape[0];
  const out = new Float32Array(n * item);
  for (let k = 0; k < n; k++) {
    const ao = (a.shape[0] === 1 ? 0 : k) * item;
    const bo = (b.shape[0] === 1 ? 0 : k) * item;
    for (let i = 0; i < item; i++) out[k * item + i] = a.data[ao + i] * s + b.data[bo + i] * (1 - s);
  }
  return { shape: [n, ...a.shape.slice(1)], data: out };
}

/** from[:, :T] zero-padded on the token axis to T tokens (ComfyUI pads with a batch-1 block). */
function fitTokens(from: Tensor, tokens: number, channels: number): Tensor {
  const [b, t, c] = from.shape;
  if (c !== channels) throw new WeftError(`conditioning_from: ${c} channels per token, conditioning_to has ${channels}`, { input: 'conditioning_from' });
  if (t > tokens) {
    const out = new Float32Array(b * tokens * c);
    for (let k = 0; k < b; k++) out.set(from.data.subarray(k * t * c, (k * t + tokens) * c), k * tokens * c);
    return { shape: [b, tokens, c], data: out };
  }
  if (t < tokens) {
    if (b !== 1) throw new WeftError(`conditioning_from: a batch of ${b} with fewer tokens (${t}) than conditioning_to (${tokens}) cannot be padded`, { input: 'conditioning_from' });
    const out = new Float32Array(tokens * c);
    out.set(from.data);
    return { shape: [1, tokens, c], data: out };
  }
  return from;
}

/**
 * ConditioningAverage: every `to` entry becomes to·s + from·(1−s) using the first `from` entry
 * (tokens cut or zero-padded to `to`'s length); pooled outputs are mixed the same way, and an
 * entry without one takes `from`'s.
 */
export function averageConditioning(to: Conditioning, from: Conditioning, toStrength: number): Conditioning {
  const [condFrom, optsFrom] = from[0];
  const pooledFrom = isTensor(optsFrom.pooled_output) ? optsFrom.pooled_output : undefined;
  return to.map(([t1, opts]): ConditioningEntry => {
    const pooledTo = isTensor(opts.pooled_output) ? opts.pooled_output : pooledFrom;
    const t0 = fitTokens(condFrom, t1.shape[1], t1.shape[2]);
    const next = { ...opts };
    if (pooledFrom && pooledTo) next.pooled_output = mix(pooledTo, pooledFrom, toStrength, 'conditioning_from');
    return [mix(t1, t0, toStrength, 'conditioning_from'), next];
  });
}

/** ConditioningConcat: the first `from` entry's tokens appended to each `to` entry's. */
export function concatConditioning(to: Conditioning, from: Conditioning): Conditioning {
  const f = from[0][0];
  return to.map(([t, opts]): ConditioningEntry => {
    const [b, n, c] = t.shape;
    const [fb, fn, fc] = f.shape;
    if (fb !== b || fc !== c) {
      throw new WeftError(`conditioning_from: tokens [${f.shape.join(', ')}] cannot be appended to [${t.shape.join(', ')}]`, { input: 'conditioning_from' });
    }
    const out = new Float32Array(b * (n + fn) * c);
    for (let k = 0; k < b; k++) {
      out.set(t.data.subarray(k * n * c, (k + 1) * n * c), k * (n + fn) * c);
      out.set(f.data.subarray(k * fn * c, (k + 1) * fn * c), (k * (n + fn) + n) * c);
    }
    return [{ shape: [b, n + fn, c], data: out }, { ...opts }];
  });
}

const zerosLike = (t: Tensor): Tensor => ({ shape: [...t.shape], data: new Float32Array(t.data.length) });

/** ConditioningZeroOut: zero tokens, and zero pooled_output / conditioning_lyrics where present. */
export function zeroOutConditioning(cond: Conditioning): Conditioning {
  return cond.map(([t, opts]): ConditioningEntry => {
    const next = { ...opts };
    for (const key of ['pooled_output', 'conditioning_lyrics']) if (isTensor(next[key])) next[key] = zerosLike(next[key]);
    return [zerosLike(t), next];
  });
}
