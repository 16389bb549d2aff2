/**
 * numpy.random.SeedSequence, bit for bit: torchsde derives every interval's torch seed from one of these
 * (entropy = the user's seed, spawn_key = (key, depth) of the interval, pool_size 24 in BrownianTree), so
 * the uint32 hash constants, the pool mixing order and the zero padding of short entropy must all match
 * numpy (≥ 1.19, which pads run entropy to the pool size whenever a spawn key is present).
 */

const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const XSHIFT = 16;
export const DEFAULT_POOL_SIZE = 4;

/** What numpy accepts as entropy or spawn-key entries: non-negative integers (nested lists flatten). */
export type EntropyInput = number | bigint | readonly EntropyInput[];

/** numpy's _int_to_uint32_array: little-endian 32-bit words, at least one word (0 → [0]). */
function intWords(v: number | bigint): number[] {
  if (typeof v === 'number' && !Number.isInteger(v)) throw new TypeError(`SeedSequence expects integers, got ${v}`);
  let n = typeof v === 'bigint' ? v : BigInt(v);
  if (n < 0n) throw new RangeError(`SeedSequence expects non-negative integers, got ${n}`);
  if (n === 0n) return [0];
  const out: number[] = [];
  while (n > 0n) {
    out.push(Number(n & 0xffffffffn));
    n >>= 32n;
  }
  return out;
}

/** numpy's _coerce_to_uint32_array: integers become word arrays, sequences concatenate their items. */
export function toUint32Words(x: EntropyInput): number[] {
  if (typeof x === 'number' || typeof x === 'bigint') return intWords(x);
  return x.flatMap((v) => toUint32Words(v));
}

/** The running-constant hash; `h` is a one-element box so the constant advances across calls like numpy's. */
function hashmix(value: number, h: Uint32Array): number {
  let v = (value ^ h[0]!) >>> 0;
  h[0] = Math.imul(h[0]!, MULT_A);
  v = Math.imul(v, h[0]!) >>> 0;
  return (v ^ (v >>> XSHIFT)) >>> 0;
}

function mix(x: number, y: number): number {
  const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
  return (r ^ (r >>> XSHIFT)) >>> 0;
}

export interface SeedSequenceOptions {
  spawnKey?: readonly (number | bigint)[];
  poolSize?: number;
  nChildrenSpawned?: number;
}

export class SeedSequence {
  readonly entropy: EntropyInput;
  readonly spawnKey: readonly (number | bigint)[];
  readonly poolSize: number;
  nChildrenSpawned: number;
  /** The mixed entropy pool (uint32 words). */
  readonly pool: Uint32Array;

  constructor(entropy: EntropyInput, opts: SeedSequenceOptions = {}) {
    this.entropy = entropy;
    this.spawnKey = [...(opts.spawnKey ?? [])];
    this.poolSize = opts.poolSize ?? DEFAULT_POOL_SIZE;
    if (this.poolSize < DEFAULT_POOL_SIZE) throw new RangeError(`pool size ${this.poolSize} is below the minimum ${DEFAULT_POOL_SIZE}`);
    this.nChildrenSpawned = opts.nChildrenSpawned ?? 0;
    this.pool = new Uint32Array(this.poolSize);
    this.mixEntropy(this.assembledEntropy());
  }

  /** Run entropy, zero-padded to the pool size when a spawn key follows (so keys never alias entropy). */
  assembledEntropy(): number[] {
    const run = toUint32Words(this.entropy);
    const spawn = toUint32Words(this.spawnKey);
    if (spawn.length > 0 && run.length < this.poolSize) while (run.length < this.poolSize) run.push(0);
    return run.concat(spawn);
  }

  private mixEntropy(ent: readonly number[]): void {
    const pool = this.pool;
    const h = new Uint32Array([INIT_A]);
    const n = pool.length;
    for (let i = 0; i < n; i++) pool[i] = hashmix(i < ent.length ? ent[i]! : 0, h);
    // Every word feeds every other one, so late entropy words reach the early pool words too.
    for (let src = 0; src < n; src++) {
      for (let dst = 0; dst < n; dst++) if (src !== dst) pool[dst] = mix(pool[dst]!, hashmix(pool[src]!, h));
    }
    // Entropy beyond the pool size is folded into every pool word.
    for (let src = n; src < ent.length; src++) {
      for (let dst = 0; dst < n; dst++) pool[dst] = mix(pool[dst]!, hashmix(ent[src]!, h));
    }
  }

  /** generate_state(n) with dtype uint32; `uint64` pairs consecutive words little-endian (numpy's view). */
  generateState(nWords: number, dtype: 'uint32'): Uint32Array;
  generateState(nWords: number, dtype: 'uint64'): BigUint64Array;
  generateState(nWords: number): Uint32Array;
  generateState(nWords: number, dtype: 'uint32' | 'uint64' = 'uint32'): Uint32Array | BigUint64Array {
    const words = dtype === 'uint64' ? nWords * 2 : nWords;
    const out = new Uint32Array(words);
    let h = INIT_B;
    for (let i = 0; i < words; i++) {
      let v = (this.pool[i % this.pool.length]! ^ h) >>> 0;
      h = Math.imul(h, MULT_B) >>> 0;
      v = Math.imul(v, h) >>> 0;
      out[i] = (v ^ (v >>> XSHIFT)) >>> 0;
    }
    if (dtype === 'uint32') return out;
    const wide = new BigUint64Array(nWords);
    for (let i = 0; i < nWords; i++) wide[i] = (BigInt(out[2 * i + 1]!) << 32n) | BigInt(out[2 * i]!);
    return wide;
  }

  /** spawn(n): children keyed by this sequence's spawn key plus their running index. */
  spawn(n: number): SeedSequence[] {
    const kids: SeedSequence[] = [];
    for (let i = 0; i < n; i++) {
      kids.push(new SeedSequence(this.entropy, { spawnKey: [...this.spawnKey, this.nChildrenSpawned + i], poolSize: this.poolSize }));
    }
    this.nChildrenSpawned += n;
    return kids;
  }
}
