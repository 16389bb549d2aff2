/**
 * torch's CPU generator (mt19937) and torch.randn's two code paths, so that a seed gives the same initial
 * noise as ComfyUI. The generator keeps torch's cached second Box–Muller value of the double-precision
 * scalar path; manual_seed clears it, successive randn calls continue the stream (ancestral samplers draw
 * randn_like right after the initial noise).
 */
const N = 624;
const M = 397;
const TWO_PI = 2 * Math.PI;
const U24 = 2 ** -24;
const U53 = 2 ** -53;

export class TorchGenerator {
  private readonly mt = new Uint32Array(N);
  private mti = N;
  private cachedNormal: number | null = null;
  private seedValue = 0n;

  constructor(seed: bigint | number = 67280421310721n) {
    this.manualSeed(seed);
  }

  get initialSeed(): bigint {
    return this.seedValue;
  }

  /** torch.manual_seed: any integer 0…2^64−1; mt19937 is initialised from the low 32 bits. */
  manualSeed(seed: bigint | number): this {
    let s = typeof seed === 'bigint' ? seed : BigInt(Math.trunc(seed));
    // torch accepts negative Python ints by wrapping them into uint64.
    s = BigInt.asUintN(64, s);
    this.seedValue = s;
    const mt = this.mt;
    mt[0] = Number(s & 0xffffffffn);
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
    this.cachedNormal = null;
    return this;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
      mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.mti = 0;
  }

  /** One tempered 32-bit output. */
  nextU32(): number {
    if (this.mti >= N) this.twist();
    let y = this.mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** torch's uniform_real_distribution<float>: 24 random bits. */
  uniformFloat(): number {
    return (this.nextU32() & 0xffffff) * U24;
  }

  /** torch's uniform_real_distribution<double>: random64() (first draw = high word), 53 bits. */
  uniformDouble(): number {
    const hi = this.nextU32();
    const lo = this.nextU32();
    // (hi·2^32 + lo) mod 2^53 = (hi mod 2^21)·2^32 + lo, exact in a double.
    return ((hi & 0x1fffff) * 4294967296 + lo) * U53;
  }

  /** at::normal_distribution<double> with the generator's cached second value. */
  normalDouble(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = TWO_PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** torch.randn(shape) in float32 into `out` (allocated when absent). */
  randn(n: number, out: Float32Array = new Float32Array(n)): Float32Array {
    if (out.length < n) throw new Error(`randn: output holds ${out.length} values, ${n} needed`);
    if (n >= 16) {
      for (let i = 0; i < n; i++) out[i] = this.uniformFloat();
      for (let i = 0; i + 16 <= n; i += 16) boxMuller16(out, i);
      if (n % 16 !== 0) {
        // torch redraws the last 16 values and transforms them again, overlapping the previous block.
        const start = n - 16;
        for (let i = 0; i < 16; i++) out[start + i] = this.uniformFloat();
        boxMuller16(out, start);
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = this.normalDouble();
    }
    return out;
  }
}

const f = Math.fround;

/** torch's normal_fill_16 in float arithmetic: pairs (j, j+8) of a block of uniforms. */
function boxMuller16(d: Float32Array, o: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - d[o + j]!);
    const u2 = d[o + j + 8]!;
    const radius = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
    const theta = f(f(TWO_PI) * u2);
    d[o + j] = radius * f(Math.cos(theta));
    d[o + j + 8] = radius * f(Math.sin(theta));
  }
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** torch.manual_seed(seed); torch.randn(shape) — a fresh generator. */
export function randn(seed: bigint | number, shape: readonly number[]): Float32Array {
  return new TorchGenerator(seed).randn(numelOf(shape));
}

/**
 * ComfyUI's prepare_noise: the initial noise for a latent of `shape` [B, ...]. With `batchIndex`, noise is
 * drawn per sample for indices 0…max(batchIndex) in order and picked by index, so a latent taken from a batch
 * gets the noise it would have had in that batch. Returns the generator too: it continues the stream.
 */
export function prepareNoise(shape: readonly number[], seed: bigint | number, batchIndex?: readonly number[]): { noise: Float32Array; generator: TorchGenerator } {
  const g = new TorchGenerator(seed);
  if (!batchIndex || batchIndex.length === 0) return { noise: g.randn(numelOf(shape)), generator: g };
  const per = numelOf(shape.slice(1));
  const maxIdx = Math.max(...batchIndex);
  const draws: Float32Array[] = [];
  for (let i = 0; i <= maxIdx; i++) draws.push(g.randn(per));
  const noise = new Float32Array(per * batchIndex.length);
  batchIndex.forEach((idx, b) => noise.set(draws[idx]!, b * per));
  return { noise, generator: g };
}
