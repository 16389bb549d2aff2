/**
 * Sigma schedules with ComfyUI's names and arithmetic (comfy/samplers.py calculate_sigmas, k-diffusion's
 * get_sigmas_*), plus KSampler's step/denoise rules. Every schedule ends with sigma 0.
 */
import { WeftError } from '../errors.ts';
import { linspace32, type ModelSampling } from './model-sampling.ts';
import { betaIncInv } from './special.ts';

const f = Math.fround;

/** Samplers for which ComfyUI computes one extra step and drops the penultimate sigma. */
export const DISCARD_PENULTIMATE_SIGMA_SAMPLERS: ReadonlySet<string> = new Set(['dpm_2', 'dpm_2_ancestral', 'uni_pc', 'uni_pc_bh2']);

function withZero(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length + 1);
  out.set(values);
  return out;
}

export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): Float32Array {
  const ramp = linspace32(0, 1, n);
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (maxInv + ramp[i]! * (minInv - maxInv)) ** rho;
  return withZero(out);
}

export function exponentialSigmas(n: number, sigmaMin: number, sigmaMax: number): Float32Array {
  const l = linspace32(Math.log(sigmaMax), Math.log(sigmaMin), n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.exp(l[i]!);
  return withZero(out);
}

/** "normal" (uniform in timestep) and "sgm_uniform" (same, steps+1 points without the last). */
export function normalSigmas(ms: ModelSampling, steps: number, sgm = false): Float32Array {
  const start = ms.timestep(ms.sigmaMax);
  const end = ms.timestep(ms.sigmaMin);
  const ts = sgm ? linspace32(start, end, steps + 1).subarray(0, steps) : linspace32(start, end, steps);
  const out = new Float32Array(ts.length);
  for (let i = 0; i < ts.length; i++) out[i] = ms.sigma(ts[i]!);
  return withZero(out);
}

export function simpleSigmas(ms: ModelSampling, steps: number): Float32Array {
  const n = ms.sigmas.length;
  const ss = n / steps;
  const out = new Float32Array(steps);
  for (let x = 0; x < steps; x++) out[x] = ms.sigmas[n - 1 - Math.trunc(x * ss)]!;
  return withZero(out);
}

export function ddimUniformSigmas(ms: ModelSampling, steps: number): Float32Array {
  const n = ms.sigmas.length;
  const ss = Math.max(Math.floor(n / steps), 1);
  const picked: number[] = [];
  for (let x = 1; x < n; x += ss) picked.push(ms.sigmas[x]!);
  picked.reverse();
  return withZero(picked);
}

export function betaSigmas(ms: ModelSampling, steps: number, alpha = 0.6, beta = 0.6): Float32Array {
  const total = ms.sigmas.length - 1;
  const out = new Float32Array(steps);
  for (let i = 0; i < steps; i++) {
    const p = 1 - i / steps;
    // numpy.rint rounds half to even.
    const v = betaIncInv(p, alpha, beta) * total;
    let t = Math.round(v);
    if (Math.abs(v - Math.trunc(v)) === 0.5 && t % 2 !== 0) t -= 1;
    out[i] = ms.sigmas[t]!;
  }
  return withZero(out);
}

export function linearQuadraticSigmas(ms: ModelSampling, steps: number, thresholdNoise = 0.025, linearSteps?: number): Float32Array {
  let schedule: number[];
  if (steps === 1) schedule = [1, 0];
  else {
    const ls = linearSteps ?? Math.floor(steps / 2);
    const lin: number[] = [];
    for (let i = 0; i < ls; i++) lin.push((i * thresholdNoise) / ls);
    const diff = ls - thresholdNoise * steps;
    const qs = steps - ls;
    const qc = diff / (ls * qs ** 2);
    const lc = thresholdNoise / ls - (2 * diff) / qs ** 2;
    const c = qc * ls ** 2;
    const quad: number[] = [];
    for (let i = ls; i < steps; i++) quad.push(qc * i * i + lc * i + c);
    schedule = [...lin, ...quad, 1].map((x) => 1 - x);
  }
  return Float32Array.from(schedule, (x) => f(x) * ms.sigmaMax);
}

/** "Align Your Steps"-paper KL-optimal schedule: uniform in arctan(sigma). */
export function klOptimalSigmas(n: number, sigmaMin: number, sigmaMax: number): Float32Array {
  const out = new Float32Array(n + 1);
  const a = Math.atan(sigmaMin);
  const b = Math.atan(sigmaMax);
  for (let i = 0; i < n; i++) {
    const t = f(i / (n - 1 || 1));
    out[i] = Math.tan(t * a + (1 - t) * b);
  }
  return out;
}

/** comfy.samplers.calculate_sigmas. */
export function calculateSigmas(ms: ModelSampling, scheduler: string, steps: number): Float32Array {
  switch (scheduler) {
    case 'karras': return karrasSigmas(steps, ms.sigmaMin, ms.sigmaMax);
    case 'exponential': return exponentialSigmas(steps, ms.sigmaMin, ms.sigmaMax);
    case 'normal': return normalSigmas(ms, steps);
    case 'simple': return simpleSigmas(ms, steps);
    case 'ddim_uniform': return ddimUniformSigmas(ms, steps);
    case 'sgm_uniform': return normalSigmas(ms, steps, true);
    case 'beta': return betaSigmas(ms, steps);
    case 'linear_quadratic': return linearQuadraticSigmas(ms, steps);
    case 'kl_optimal': return klOptimalSigmas(steps, ms.sigmaMin, ms.sigmaMax);
    default: throw new WeftError(`unknown scheduler '${scheduler}'`, { type: 'value_not_in_list', input: 'scheduler' });
  }
}

/**
 * KSampler's sigmas: for denoise < 1, int(steps/denoise) steps are computed and the last steps+1 kept;
 * denoise ≤ 0 gives an empty schedule (the latent comes back unchanged).
 */
export function ksamplerSigmas(ms: ModelSampling, scheduler: string, sampler: string, steps: number, denoise = 1): Float32Array {
  const calc = (n: number): Float32Array => {
    if (DISCARD_PENULTIMATE_SIGMA_SAMPLERS.has(sampler)) {
      const s = calculateSigmas(ms, scheduler, n + 1);
      const out = new Float32Array(s.length - 1);
      out.set(s.subarray(0, s.length - 2));
      out[out.length - 1] = s[s.length - 1]!;
      return out;
    }
    return calculateSigmas(ms, scheduler, n);
  };
  if (denoise > 0.9999) return calc(steps);
  if (denoise <= 0) return new Float32Array(0);
  const full = calc(Math.trunc(steps / denoise));
  return full.slice(Math.max(0, full.length - (steps + 1)));
}

/** KSamplerAdvanced's start/end steps: cut the schedule; force_full_denoise sets the last sigma to 0. */
export function sliceSigmas(sigmas: Float32Array, startStep?: number, lastStep?: number, forceFullDenoise = false): Float32Array | null {
  let s = sigmas;
  if (lastStep !== undefined && lastStep < s.length - 1) {
    s = s.slice(0, lastStep + 1);
    if (forceFullDenoise) s[s.length - 1] = 0;
  }
  if (startStep !== undefined) {
    if (startStep < s.length - 1) s = s.slice(startStep);
    else return null; // nothing left to do: ComfyUI returns the latent as is
  }
  return s;
}
