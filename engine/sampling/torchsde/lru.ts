/**
 * A least-recently-used map (boltons' LRU as torchsde uses it): reads refresh an entry, inserts past
 * `maxSize` drop the stalest one. Values it holds are pure functions of their key, so eviction only
 * costs recomputation, never changes a result; it bounds memory for large latents.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly maxSize: number) {
    if (!(maxSize > 0)) throw new RangeError(`LRU size must be positive, got ${maxSize}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.maxSize) this.map.delete(this.map.keys().next().value as K);
  }
}
