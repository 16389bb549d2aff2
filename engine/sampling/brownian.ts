/**
 * Brownian noise for the SDE samplers (dpmpp_sde, dpmpp_2m_sde, dpmpp_3m_sde). The default source is the
 * port of torchsde's BrownianTree (./torchsde/), which reproduces ComfyUI's draws for a seed to float32
 * rounding. BrownianPath below is Weft's earlier statistically equivalent path (a lazily bridged path over
 * [sigma_min, sigma_max] from one generator); it is kept only as an opt-in source ('weft'), since it
 * is not ComfyUI's noise.
 */
import { TorchGenerator } from './rng.ts';
import { torchsdeNoiseSampler } from './torchsde/brownian-tree.ts';
import type { NoiseSampler } from './types.ts';

/** Where SDE noise comes from: 'torchsde' = ComfyUI's exact noise; 'weft' = the older approximate path. */
export type BrownianSource = 'torchsde' | 'weft';

export class BrownianPath {
  private readonly ts: number[] = [];
  private readonly ws: Float32Array[] = [];
  private readonly g: TorchGenerator;

  constructor(readonly size: number, readonly t0: number, readonly t1: number, seed: bigint | number) {
    this.g = new TorchGenerator(seed);
    this.ts.push(t0, t1);
    const w1 = this.g.randn(size);
    const s = Math.sqrt(Math.max(t1 - t0, 0));
    for (let i = 0; i < size; i++) w1[i] = w1[i]! * s;
    this.ws.push(new Float32Array(size), w1);
  }

  /** W(t), t clamped into [t0, t1]. */
  at(tq: number): Float32Array {
    const t = Math.min(Math.max(tq, this.t0), this.t1);
    let hi = this.ts.findIndex((v) => v >= t);
    if (this.ts[hi] === t) return this.ws[hi]!;
    const lo = hi - 1;
    const ta = this.ts[lo]!;
    const tb = this.ts[hi]!;
    const wa = this.ws[lo]!;
    const wb = this.ws[hi]!;
    const f = (t - ta) / (tb - ta);
    const sd = Math.sqrt(((t - ta) * (tb - t)) / (tb - ta));
    const z = this.g.randn(this.size);
    for (let i = 0; i < this.size; i++) z[i] = wa[i]! + f * (wb[i]! - wa[i]!) + sd * z[i]!;
    this.ts.splice(hi, 0, t);
    this.ws.splice(hi, 0, z);
    return z;
  }

  /** (W(b) − W(a)) / √|b − a|: unit-variance increment. */
  increment(a: number, b: number): Float32Array {
    const wa = this.at(a);
    const wb = this.at(b);
    const s = 1 / Math.sqrt(Math.abs(b - a));
    const out = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = (wb[i]! - wa[i]!) * s;
    return out;
  }
}

/**
 * The SDE noise sampler for a schedule, over ComfyUI's range: the smallest positive sigma to the largest
 * (sigmas[sigmas > 0].min(), sigmas.max()).
 */
export function brownianNoiseSampler(size: number, sigmas: Float32Array, seed: bigint | number, source: BrownianSource = 'torchsde'): NoiseSampler {
  let min = Infinity;
  let max = 0;
  for (const s of sigmas) {
    if (s > 0 && s < min) min = s;
    if (s > max) max = s;
  }
  if (source === 'torchsde') return torchsdeNoiseSampler(size, min, max, seed);
  const path = new BrownianPath(size, min, max, seed);
  return (sigma, sigmaNext) => path.increment(sigma, sigmaNext);
}
