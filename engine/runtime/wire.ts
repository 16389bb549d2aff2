/**
 * Tensors as they cross the worker boundary: a dtype tag, dims and a typed array whose buffer is
 * transferred (moved, not copied, never JSON). Shared by the service, the worker and the callers.
 */
export type WireType = 'float32' | 'float16' | 'int64' | 'int32';

export interface WireTensor {
  type: WireType;
  dims: number[];
  data: ArrayBufferView;
}

export type WireFeeds = Record<string, WireTensor>;

const BYTES: Record<WireType, number> = { float32: 4, float16: 2, int64: 8, int32: 4 };

export function wireElementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Throws a message naming the tensor when dims and data disagree (the worker would fail less clearly). */
export function checkWire(name: string, t: WireTensor): void {
  const bytes = BYTES[t.type];
  if (bytes === undefined) throw new Error(`tensor "${name}": unsupported type ${String(t.type)}`);
  if (!Array.isArray(t.dims) || t.dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`tensor "${name}": bad dims ${JSON.stringify(t.dims)}`);
  const need = wireElementCount(t.dims) * bytes;
  if (!ArrayBuffer.isView(t.data) || t.data.byteLength !== need) {
    throw new Error(`tensor "${name}": ${t.type} [${t.dims.join(', ')}] needs ${need} bytes, data has ${ArrayBuffer.isView(t.data) ? t.data.byteLength : 'none'}`);
  }
}

/** A typed array of the right class over the same bytes (ORT wants Float32Array / BigInt64Array / …). */
export function typedView(t: WireTensor): Float32Array | Uint16Array | BigInt64Array | Int32Array {
  const { buffer, byteOffset, byteLength } = t.data;
  switch (t.type) {
    case 'float32': return t.data instanceof Float32Array ? t.data : new Float32Array(copyAligned(buffer, byteOffset, byteLength, 4));
    case 'float16': return t.data instanceof Uint16Array ? t.data : new Uint16Array(copyAligned(buffer, byteOffset, byteLength, 2));
    case 'int64': return t.data instanceof BigInt64Array ? t.data : new BigInt64Array(copyAligned(buffer, byteOffset, byteLength, 8));
    case 'int32': return t.data instanceof Int32Array ? t.data : new Int32Array(copyAligned(buffer, byteOffset, byteLength, 4));
  }
}

function copyAligned(buffer: ArrayBufferLike, offset: number, length: number, align: number): ArrayBuffer {
  if (offset % align === 0 && buffer instanceof ArrayBuffer && offset === 0 && length === buffer.byteLength) return buffer;
  return new Uint8Array(buffer, offset, length).slice().buffer;
}

/** Buffers to transfer with a message; each buffer once, shared-memory ones never. */
export function transferList(tensors: Record<string, WireTensor>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const t of Object.values(tensors)) if (t.data.buffer instanceof ArrayBuffer) out.add(t.data.buffer);
  return [...out];
}
