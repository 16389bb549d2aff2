/**
 * Model sampling: how a network's output and inputs relate to the noise level sigma (ComfyUI's
 * model_sampling objects). Discrete (SD1/SD2/SDXL: eps or v prediction over a 1000-step DDPM table) and
 * flow (FLUX: rectified flow with a shifted time) are separate classes behind one interface. Tables are
 * float32 like ComfyUI's registered buffers; lookups emulate float32 where rounding picks an integer.
 */
const f = Math.fround;

export type Prediction = 'eps' | 'v_prediction' | 'flow';

export interface ModelSampling {
  readonly prediction: Prediction;
  /** The sigma table, ascending (float32). */
  readonly sigmas: Float32Array;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  /** What the network receives as its time input for a given sigma. */
  timestep(sigma: number): number;
  /** Inverse of timestep (interpolated for the discrete table). */
  sigma(timestep: number): number;
  /** ComfyUI percent_to_sigma (start/end percent of ControlNet, timestep ranges). */
  percentToSigma(percent: number): number;
  /** Scale applied to x before the network call (c_in). */
  inputScale(sigma: number): number;
  /** denoised = f(x, model output), written into `out` (may alias `x` or `output`). */
  denoised(sigma: number, x: Float32Array, output: Float32Array, out: Float32Array): Float32Array;
  /** Initial x for sampling from a (processed) latent and unit noise. */
  noiseScaling(sigma: number, noise: Float32Array, latent: Float32Array, maxDenoise: boolean, out?: Float32Array): Float32Array;
  /** Undo the flow model's latent scaling at the last sigma (identity for discrete models). */
  inverseNoiseScaling(sigma: number, latent: Float32Array): Float32Array;
}

/** torch.linspace in float64: the first half counts up from start, the second half down from end. */
/** Index of the entry of a log-sigma table nearest to log(sigma), in float32 as torch computes it (first on ties). */
export function nearestLogSigma(logSigmas: Float32Array, sigma: number): number {
  const ls = f(Math.log(f(sigma)));
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < logSigmas.length; i++) {
    const d = Math.abs(f(ls - logSigmas[i]!));
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

export function linspace64(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (n - 1);
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? start + step * i : end - step * (n - 1 - i);
  return out;
}

/** torch.linspace in float32 (default dtype): same split, float arithmetic. */
export function linspace32(start: number, end: number, n: number): Float32Array {
  const out = new Float32Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? f(s + f(step * i)) : f(e - f(step * (n - 1 - i)));
  return out;
}

export interface DiscreteOptions {
  prediction?: 'eps' | 'v_prediction';
  linearStart?: number;
  linearEnd?: number;
  timesteps?: number;
  sigmaData?: number;
}

export class DiscreteModelSampling implements ModelSampling {
  readonly prediction: 'eps' | 'v_prediction';
  readonly sigmas: Float32Array;
  readonly logSigmas: Float32Array;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  readonly sigmaData: number;

  constructor(opts: DiscreteOptions = {}) {
    this.prediction = opts.prediction ?? 'eps';
    this.sigmaData = opts.sigmaData ?? 1;
    const n = opts.timesteps ?? 1000;
    // "scaled_linear" betas: linspace of square roots in float64, squared; cumulative product in float64.
    const root = linspace64(Math.sqrt(opts.linearStart ?? 0.00085), Math.sqrt(opts.linearEnd ?? 0.012), n);
    this.sigmas = new Float32Array(n);
    this.logSigmas = new Float32Array(n);
    let cum = 1;
    for (let i = 0; i < n; i++) {
      cum *= 1 - root[i]! * root[i]!;
      const s = Math.sqrt((1 - cum) / cum);
      this.sigmas[i] = s;
      this.logSigmas[i] = Math.log(s);
    }
    this.sigmaMin = this.sigmas[0]!;
    this.sigmaMax = this.sigmas[n - 1]!;
  }

  /** Nearest table entry in log space (first on ties, like argmin). */
  timestep(sigma: number): number {
    return nearestLogSigma(this.logSigmas, sigma);
  }

  sigma(timestep: number): number {
    const t = Math.min(Math.max(f(timestep), 0), this.logSigmas.length - 1);
    const lo = Math.floor(t);
    const hi = Math.ceil(t);
    const w = f(t - lo);
    const ls = f(f(f(1 - w) * this.logSigmas[lo]!) + f(w * this.logSigmas[hi]!));
    return f(Math.exp(ls));
  }

  percentToSigma(percent: number): number {
    if (percent <= 0) return 999999999.9;
    if (percent >= 1) return 0;
    return this.sigma(f(f(1 - percent) * 999));
  }

  inputScale(sigma: number): number {
    return 1 / Math.sqrt(sigma * sigma + this.sigmaData * this.sigmaData);
  }

  denoised(sigma: number, x: Float32Array, output: Float32Array, out: Float32Array): Float32Array {
    const n = x.length;
    if (this.prediction === 'eps') {
      for (let i = 0; i < n; i++) out[i] = x[i]! - output[i]! * sigma;
    } else {
      const sd2 = this.sigmaData * this.sigmaData;
      const a = sd2 / (sigma * sigma + sd2);
      const b = (sigma * this.sigmaData) / Math.sqrt(sigma * sigma + sd2);
      for (let i = 0; i < n; i++) out[i] = x[i]! * a - output[i]! * b;
    }
    return out;
  }

  noiseScaling(sigma: number, noise: Float32Array, latent: Float32Array, maxDenoise: boolean, out = new Float32Array(noise.length)): Float32Array {
    const s = maxDenoise ? Math.sqrt(1 + sigma * sigma) : sigma;
    for (let i = 0; i < noise.length; i++) out[i] = latent[i]! + noise[i]! * s;
    return out;
  }

  inverseNoiseScaling(_sigma: number, latent: Float32Array): Float32Array {
    return latent;
  }
}

/** FLUX: sigma(t) = e^shift / (e^shift + 1/t − 1); the network's time input is sigma itself. */
export class FlowModelSampling implements ModelSampling {
  readonly prediction = 'flow' as const;
  readonly shift: number;
  readonly sigmas: Float32Array;
  readonly sigmaMin: number;
  readonly sigmaMax: number;

  constructor(shift = 1.15, timesteps = 10000) {
    this.shift = shift;
    this.sigmas = new Float32Array(timesteps);
    for (let i = 0; i < timesteps; i++) this.sigmas[i] = this.sigma(f((i + 1) / timesteps));
    this.sigmaMin = this.sigmas[0]!;
    this.sigmaMax = this.sigmas[timesteps - 1]!;
  }

  timestep(sigma: number): number {
    return sigma;
  }

  sigma(t: number): number {
    const e = f(Math.exp(this.shift));
    return f(e / f(e + f(f(1 / f(t)) - 1)));
  }

  percentToSigma(percent: number): number {
    if (percent <= 0) return 1;
    if (percent >= 1) return 0;
    return 1 - percent;
  }

  inputScale(_sigma: number): number {
    return 1;
  }

  denoised(sigma: number, x: Float32Array, output: Float32Array, out: Float32Array): Float32Array {
    for (let i = 0; i < x.length; i++) out[i] = x[i]! - output[i]! * sigma;
    return out;
  }

  noiseScaling(sigma: number, noise: Float32Array, latent: Float32Array, _maxDenoise: boolean, out = new Float32Array(noise.length)): Float32Array {
    for (let i = 0; i < noise.length; i++) out[i] = sigma * noise[i]! + (1 - sigma) * latent[i]!;
    return out;
  }

  inverseNoiseScaling(sigma: number, latent: Float32Array): Float32Array {
    if (sigma === 0) return latent;
    const out = new Float32Array(latent.length);
    for (let i = 0; i < latent.length; i++) out[i] = latent[i]! / (1 - sigma);
    return out;
  }
}

/** The ModelSamplingFlux node's resolution-dependent shift: linear in the token count between 256 and 4096. */
export function fluxShift(width: number, height: number, maxShift = 1.15, baseShift = 0.5): number {
  const mm = (maxShift - baseShift) / (4096 - 256);
  const b = baseShift - mm * 256;
  return ((width * height) / (8 * 8 * 2 * 2)) * mm + b;
}

/** ComfyUI's max_denoise test: the first sigma is (close to) the model's largest. */
export function isMaxDenoise(ms: ModelSampling, sigma0: number): boolean {
  const max = ms.sigmaMax;
  return Math.abs(max - sigma0) <= 1e-5 * Math.max(Math.abs(max), Math.abs(sigma0)) || sigma0 > max;
}
