/**
 * Batch-axis helpers shared by latents, images and masks (all batch-first), plus Python's slice
 * arithmetic: several ComfyUI nodes rely on how `a[start:stop]` clamps and wraps, and matching
 * that is what keeps odd inputs (crops past the edge, tiny latents) giving ComfyUI's results.
 */
import { WeftError } from '../errors.ts';
import { numel, type Tensor } from './tensor.ts';

/** The half-open range Python's `seq[start:stop]` selects from a sequence of length `len`. */
export function pySlice(start: number, stop: number, len: number): [number, number] {
  const norm = (i: number) => (i < 0 ? Math.max(0, i + len) : Math.min(i, len));
  const s = norm(start);
  const e = norm(stop);
  return [s, Math.max(s, e)];
}

/** Elements in one batch item. */
function itemSize(t: Tensor): number {
  return t.shape.length === 0 ? 1 : numel(t.shape.slice(1));
}

/** t[start:start+count] along the batch axis (indices already in range). */
export function sliceBatch(t: Tensor, start: number, count: number): Tensor {
  const n = itemSize(t);
  return { shape: [count, ...t.shape.slice(1)], data: t.data.slice(start * n, (start + count) * n) };
}

/** torch's `t.repeat((times, 1, …))`: the whole batch tiled `times` times. */
export function repeatBatch(t: Tensor, times: number): Tensor {
  const out = new Float32Array(t.data.length * times);
  for (let i = 0; i < times; i++) out.set(t.data, i * t.data.length);
  return { shape: [t.shape[0] * times, ...t.shape.slice(1)], data: out };
}

/** comfy.utils.repeat_to_batch_size: truncate a longer batch, tile a shorter one cyclically. */
export function repeatToBatchSize(t: Tensor, size: number): Tensor {
  const b = t.shape[0];
  if (b === size) return t;
  if (b > size) return sliceBatch(t, 0, size);
  return sliceBatch(repeatBatch(t, Math.ceil(size / b)), 0, size);
}

/** torch.cat((a, b), dim=0); `input` names the second operand in the error. */
export function concatBatch(a: Tensor, b: Tensor, input: string): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => i > 0 && d !== b.shape[i])) {
    throw new WeftError(`${input}: shape [${b.shape.join(', ')}] cannot be batched with [${a.shape.join(', ')}]`, { input });
  }
  const out = new Float32Array(a.data.length + b.data.length);
  out.set(a.data);
  out.set(b.data, a.data.length);
  return { shape: [a.shape[0] + b.shape[0], ...a.shape.slice(1)], data: out };
}

/**
 * The batch size two operands broadcast to (torch semantics on the leading axis): equal, or one of
 * them is 1. Anything else is an error naming `input`.
 */
export function broadcastBatch(a: number, b: number, input: string): number {
  if (a === b || b === 1) return a;
  if (a === 1) return b;
  throw new WeftError(`${input}: batch size ${b} does not match ${a}`, { input });
}
