/**
 * The extra parameterisations of the ModelSamplingDiscrete node:
 *  - `lcm`: a latent-consistency model (LCM-LoRA, LCM checkpoints) was distilled on 50 of the 1000 DDPM
 *    steps (ComfyUI's ModelSamplingDiscreteDistilled: every 20th, ending at 999), so its sigma table has
 *    those 50 entries and σ maps to the matching original timestep; its output is an eps prediction that
 *    goes through the consistency boundary condition: denoised = c_out·x0 + c_skip·x, with σ_data 0.5
 *    and the timestep scaled by 10 (the LCM paper's defaults, as ComfyUI's LCM class uses them).
 *  - `x0`: the network predicts the clean latent itself.
 * Everything else (input scaling, noise scaling) is eps-like, as both derive from EPS in ComfyUI.
 */
import { DiscreteModelSampling, nearestLogSigma, type DiscreteOptions, type ModelSampling } from './model-sampling.ts';

const f = Math.fround;

/** Steps the LCM was distilled on (ComfyUI's original_timesteps). */
export const LCM_ORIGINAL_TIMESTEPS = 50;
const LCM_SIGMA_DATA = 0.5;
const LCM_TIMESTEP_SCALING = 10;

export class LcmModelSampling implements ModelSampling {
  readonly prediction = 'eps' as const;
  readonly sigmas: Float32Array;
  readonly logSigmas: Float32Array;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  /** Original timesteps between two distilled ones (1000 / 50 = 20). */
  readonly skipSteps: number;
  private readonly base: DiscreteModelSampling;

  constructor(opts: Omit<DiscreteOptions, 'prediction'> = {}) {
    this.base = new DiscreteModelSampling({ ...opts, prediction: 'eps' });
    const n = this.base.sigmas.length;
    const m = LCM_ORIGINAL_TIMESTEPS;
    this.skipSteps = Math.floor(n / m);
    this.sigmas = new Float32Array(m);
    this.logSigmas = new Float32Array(m);
    for (let x = 0; x < m; x++) {
      const s = this.base.sigmas[n - 1 - x * this.skipSteps]!;
      this.sigmas[m - 1 - x] = s;
      this.logSigmas[m - 1 - x] = Math.log(s);
    }
    this.sigmaMin = this.sigmas[0]!;
    this.sigmaMax = this.sigmas[m - 1]!;
  }

  /** The original timestep of the nearest distilled entry (19, 39, …, 999). */
  timestep(sigma: number): number {
    return nearestLogSigma(this.logSigmas, sigma) * this.skipSteps + (this.skipSteps - 1);
  }

  sigma(timestep: number): number {
    const t = Math.min(Math.max(f(f(f(timestep) - (this.skipSteps - 1)) / this.skipSteps), 0), this.logSigmas.length - 1);
    const lo = Math.floor(t);
    const hi = Math.ceil(t);
    const w = f(t - lo);
    return f(Math.exp(f(f(f(1 - w) * this.logSigmas[lo]!) + f(w * this.logSigmas[hi]!))));
  }

  percentToSigma(percent: number): number {
    if (percent <= 0) return 999999999.9;
    if (percent >= 1) return 0;
    return this.sigma(f(f(1 - percent) * 999));
  }

  inputScale(sigma: number): number {
    return this.base.inputScale(sigma);
  }

  /** Boundary-condition scalings at σ: [c_skip, c_out]. */
  scalings(sigma: number): [number, number] {
    const t = this.timestep(sigma) * LCM_TIMESTEP_SCALING;
    const sd2 = LCM_SIGMA_DATA * LCM_SIGMA_DATA;
    return [sd2 / (t * t + sd2), t / Math.sqrt(t * t + sd2)];
  }

  denoised(sigma: number, x: Float32Array, output: Float32Array, out: Float32Array): Float32Array {
    const [cSkip, cOut] = this.scalings(sigma);
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      out[i] = cOut * (xi - output[i]! * sigma) + cSkip * xi;
    }
    return out;
  }

  noiseScaling(sigma: number, noise: Float32Array, latent: Float32Array, maxDenoise: boolean, out = new Float32Array(noise.length)): Float32Array {
    return this.base.noiseScaling(sigma, noise, latent, maxDenoise, out);
  }

  inverseNoiseScaling(sigma: number, latent: Float32Array): Float32Array {
    return latent;
  }
}

/** `x0`: the discrete 1000-step table, the network's output taken as the denoised latent. */
export class X0ModelSampling extends DiscreteModelSampling {
  constructor(opts: Omit<DiscreteOptions, 'prediction'> = {}) {
    super({ ...opts, prediction: 'eps' });
  }

  override denoised(_sigma: number, _x: Float32Array, output: Float32Array, out: Float32Array): Float32Array {
    if (out !== output) out.set(output);
    return out;
  }
}
