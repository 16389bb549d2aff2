/**
 * torchsde.BrownianTree (derived.py) and ComfyUI / k-diffusion's BrownianTreeNoiseSampler on top of it.
 * BrownianTree = BrownianInterval with halfway_tree, tol 1e-6 and pool_size 24 (LRU size: see cacheEntries).
 * The noise sampler sorts each query (the tree only answers ta ≤ tb), negates when it had to swap, and
 * divides by √|t1 − t0| in float32: SDE samplers step from high to low sigma, so every draw is
 * −W(σ_next, σ)/√(σ − σ_next).
 */
import type { NoiseSampler } from '../types.ts';
import { BrownianInterval } from './brownian-interval.ts';
import type { EntropyInput } from './seed-sequence.ts';

const fr = Math.fround;

export interface BrownianTreeOptions {
  t0: number;
  /** Terminal time; torchsde defaults to t0 + 1. */
  t1?: number;
  /** numel of one sample (w0's shape, flattened). */
  size: number;
  /** W(t0): added to point evaluations only, as torchsde does. Zeros when absent. */
  w0?: Float32Array;
  entropy: EntropyInput;
  tol?: number;
  poolSize?: number;
}

/**
 * Cached increments never change a value (each is a pure function of its node), only how often the
 * bridge chain is recomputed. torchsde keeps 45; a query on the 1e-6 grid touches ~2×24 nodes plus their
 * siblings, so 45 thrashes and a sampler run costs ~3× the randn draws. Keep at least 128 entries, more
 * for small samples, within ~64 MiB.
 */
function cacheEntries(size: number): number {
  return Math.min(4096, Math.max(128, Math.floor(2 ** 26 / (4 * Math.max(1, size)))));
}

export class BrownianTree {
  private readonly interval: BrownianInterval;
  private readonly w0: Float32Array | undefined;

  constructor(o: BrownianTreeOptions) {
    this.w0 = o.w0;
    this.interval = new BrownianInterval({
      t0: o.t0, t1: o.t1 ?? o.t0 + 1, size: o.size, entropy: o.entropy,
      tol: o.tol ?? 1e-6, poolSize: o.poolSize ?? 24, cacheSize: cacheEntries(o.size), halfwayTree: true,
    });
  }

  /** tree(t) = w0 + W(t0, t); tree(ta, tb) = W(ta, tb). */
  call(t: number, tb?: number): Float32Array {
    if (tb !== undefined) return this.interval.increment(t, tb);
    const w = this.interval.increment(this.interval.t0, t);
    if (this.w0) for (let i = 0; i < w.length; i++) w[i] = fr(w[i]! + this.w0[i]!);
    return w;
  }
}

/**
 * BrownianTreeNoiseSampler(x, sigma_min, sigma_max, seed, cpu=True) with k-diffusion's identity
 * transform (t = σ, as ComfyUI v0.0.4 uses it for dpmpp_sde / dpmpp_2m_sde / dpmpp_3m_sde). Times reach
 * torchsde as float32 tensors, so they are rounded to float32 here too.
 */
export function torchsdeNoiseSampler(size: number, sigmaMin: number, sigmaMax: number, seed: bigint | number): NoiseSampler {
  const a = fr(sigmaMin);
  const b = fr(sigmaMax);
  const sign0 = a < b ? 1 : -1;
  // Built on first use: ksample prepares an SDE sampler for every run, most samplers never draw from it.
  let tree: BrownianTree | null = null;
  return (sigma, sigmaNext) => {
    tree ??= new BrownianTree({ t0: Math.min(a, b), t1: Math.max(a, b), size, entropy: typeof seed === 'bigint' ? seed : BigInt(seed) });
    const s = fr(sigma);
    const sn = fr(sigmaNext);
    const sign = (s < sn ? 1 : -1) * sign0;
    const w = tree.call(Math.min(s, sn), Math.max(s, sn));
    const d = fr(Math.sqrt(Math.abs(fr(sn - s))));
    for (let i = 0; i < w.length; i++) w[i] = fr((sign * w[i]!) / d);
    return w;
  };
}
