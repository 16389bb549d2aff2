import type { UiOutput } from '../graph/context.ts';

/** One node's result: per output slot, the list of values (length 1 unless lists are involved). */
export interface CachedResult {
  outputs: unknown[][];
  ui?: UiOutput;
}

export interface CacheOptions {
  /** Most node results kept (default 2000). */
  maxEntries?: number;
  /** Most estimated bytes kept (default 8 GiB); results holding models count their typed arrays. */
  maxBytes?: number;
}

interface Entry {
  value: CachedResult;
  bytes: number;
}

/**
 * Node results by signature, kept across prompts and workflows, least recently used evicted
 * first when either bound is exceeded. The newest entry always stays, even alone over budget,
 * so a huge result is not recomputed by its own consumers in the next run.
 */
export class OutputCache {
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly map = new Map<string, Entry>();
  private total = 0;

  constructor(opts: CacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 2000;
    this.maxBytes = opts.maxBytes ?? 8 * 1024 ** 3;
  }

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.total;
  }

  has(sig: string): boolean {
    return this.map.has(sig);
  }

  /** Looks up and marks as recently used. */
  get(sig: string): CachedResult | undefined {
    const e = this.map.get(sig);
    if (!e) return undefined;
    this.map.delete(sig);
    this.map.set(sig, e);
    return e.value;
  }

  set(sig: string, value: CachedResult): void {
    const old = this.map.get(sig);
    if (old) {
      this.total -= old.bytes;
      this.map.delete(sig);
    }
    const bytes = estimateBytes(value);
    this.map.set(sig, { value, bytes });
    this.total += bytes;
    for (const [k, e] of this.map) {
      if (this.map.size <= this.maxEntries && this.total <= this.maxBytes) break;
      if (k === sig) break;
      this.map.delete(k);
      this.total -= e.bytes;
    }
  }

  delete(sig: string): boolean {
    const e = this.map.get(sig);
    if (!e) return false;
    this.map.delete(sig);
    this.total -= e.bytes;
    return true;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}

/** Rough memory held by a value: typed arrays by byteLength, strings 2 bytes a char, objects walked (shared buffers counted once). */
export function estimateBytes(value: unknown): number {
  const seen = new Set<object>();
  let total = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || v === undefined) continue;
    switch (typeof v) {
      case 'number':
      case 'boolean':
      case 'bigint':
        total += 8;
        continue;
      case 'string':
        total += 2 * v.length;
        continue;
      case 'object':
        break;
      default:
        continue;
    }
    const o = v as object;
    if (ArrayBuffer.isView(o)) {
      if (!seen.has(o.buffer)) {
        seen.add(o.buffer);
        total += o.byteLength;
      }
      continue;
    }
    if (o instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && o instanceof SharedArrayBuffer)) {
      if (!seen.has(o)) {
        seen.add(o);
        total += o.byteLength;
      }
      continue;
    }
    if (seen.has(o) || depth > 8) continue;
    seen.add(o);
    total += 16;
    const values = Array.isArray(o) ? o : o instanceof Map ? [...o.values()] : Object.values(o);
    for (const x of values) stack.push([x, depth + 1]);
  }
  return total;
}
