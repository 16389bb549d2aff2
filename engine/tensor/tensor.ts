/**
 * The engine's tensor: a shape and a flat float32 buffer in row-major order.
 * IMAGE is NHWC in [0,1], MASK is [B,H,W], latents are NCHW — the same conventions as ComfyUI,
 * so that workflows and numbers carry over unchanged.
 */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor(shape: readonly number[], data?: Float32Array | ArrayLike<number>): Tensor {
  const n = numel(shape);
  const buf = data === undefined ? new Float32Array(n) : data instanceof Float32Array ? data : Float32Array.from(data);
  if (buf.length !== n) throw new Error(`tensor data has ${buf.length} elements, shape [${shape.join(', ')}] needs ${n}`);
  return { shape: [...shape], data: buf };
}

export function zeros(shape: readonly number[]): Tensor {
  return tensor(shape);
}

export function full(shape: readonly number[], value: number): Tensor {
  return tensor(shape, new Float32Array(numel(shape)).fill(value));
}

export function clone(t: Tensor): Tensor {
  return { shape: [...t.shape], data: t.data.slice() };
}

export function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && (v as Tensor).data instanceof Float32Array && Array.isArray((v as Tensor).shape);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function byteSize(t: Tensor): number {
  return t.data.byteLength;
}
