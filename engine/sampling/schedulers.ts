/**
 * Sigma schedules with ComfyUI's names and arithmetic (comfy/samplers.py calculate_sigmas, k-diffusion's
 * get_sigmas_*), plus KSampler's step/denoise rules. Every schedule ends with sigma 0.
 *
 * karras, exponential, normal and sgm_uniform are bit-identical to the reference's float32 tensors
 * (PyTorch CPU, AVX2 build): the linspace below and the exp emulation reproduce every recorded sigma of
 * the conformance set, which matters because the SDE samplers' Brownian tree keys on exact sigma values.
 */
import { WeftError } from '../errors.ts';
import { DiscreteModelSampling, type ModelSampling } from './model-sampling.ts';
import { betaIncInv } from './special.ts';

const f = Math.fround;

/** Samplers for which ComfyUI computes one extra step and drops the penultimate sigma. */
export const DISCARD_PENULTIMATE_SIGMA_SAMPLERS: ReadonlySet<string> = new Set(['dpm_2', 'dpm_2_ancestral', 'uni_pc', 'uni_pc_bh2']);

const F64 = new Float64Array(1);
const I64 = new BigInt64Array(F64.buffer);

/**
 * Single-rounding float32 a·b + c (a hardware FMA). a·b of two floats is exact in double; the sum is
 * formed exactly as s + e (two-sum) and s is nudged to an odd last bit when inexact ("round to odd"), so
 * the final rounding to float32 cannot suffer from double rounding.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s)) return f(s);
  const bv = s - p;
  const e = (p - (s - bv)) + (c - bv);
  if (e === 0) return f(s);
  F64[0] = s;
  if ((I64[0]! & 1n) === 0n) I64[0] = I64[0]! + ((e > 0) === (s > 0) ? 1n : -1n);
  return f(F64[0]!);
}

/** Round half to even (the vector float→int conversion under the default rounding mode). */
function rintEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// exp(x) = 2^q · e^s with s = x − q·ln2; ln2 is split in a float head (exact q·head) and a float tail.
const LOG2E_F = f(1.4426950408889634);
const LN2_HEAD = f(0.693145751953125);
const LN2_TAIL = f(1.428606765330187e-6);
// Minimax polynomial for (e^s − 1 − s)/s² on |s| ≤ ln2/2, highest degree first, float32 coefficients.
const EXP_POLY = [1.9852762e-4, 1.3930436e-3, 8.333361e-3, 4.1666485e-2, 0.16666667, 0.5].map(f);

/**
 * float32 exp as PyTorch's CPU kernels compute it (the vectorised SLEEF routine with FMA, 1-ulp class, so
 * not always the correctly rounded float): Cody–Waite reduction, FMA Horner polynomial, scale by 2^q.
 * Used for every tensor .exp() the reference applies to schedule values.
 */
export function torchExpF32(x: number): number {
  const d = f(x);
  if (Number.isNaN(d)) return NaN;
  if (d > 100) return Infinity;
  if (d < -104) return 0;
  const q = rintEven(f(d * LOG2E_F));
  let s = fma32(q, -LN2_HEAD, d);
  s = fma32(q, -LN2_TAIL, s);
  let u = EXP_POLY[0]!;
  for (let i = 1; i < EXP_POLY.length; i++) u = fma32(u, s, EXP_POLY[i]!);
  u = f(1 + fma32(f(s * s), u, s));
  const h = q >> 1;
  return f(f(u * 2 ** h) * 2 ** (q - h));
}

/**
 * torch.linspace(start, end, n) in float32 on the CPU, element for element. The step is float32; the
 * scalar code counts up from start below the halfway index and down from end above it, with the multiply
 * and add fused. The first ⌊n/16⌋·16 values come from 8-wide vector blocks instead: each block starts at
 * the fused value of its first index (from start if that index is below halfway, else from end) and adds
 * j·step (rounded product, rounded sum) for its j-th lane.
 */
export function torchLinspace32(start: number, end: number, n: number): Float32Array {
  const out = new Float32Array(n);
  if (n <= 0) return out;
  const s = f(start);
  if (n === 1) {
    out[0] = s;
    return out;
  }
  const e = f(end);
  const step = f(f(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  const at = (i: number): number => (i < half ? fma32(step, i, s) : fma32(-step, n - 1 - i, e));
  const LANES = 8;
  const vecEnd = Math.floor(n / (2 * LANES)) * 2 * LANES;
  for (let b = 0; b < vecEnd; b += LANES) {
    const base = at(b);
    for (let j = 0; j < LANES; j++) out[b + j] = f(base + f(j * step));
  }
  for (let i = vecEnd; i < n; i++) out[i] = at(i);
  return out;
}

function withZero(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length + 1);
  out.set(values);
  return out;
}

/**
 * k-diffusion get_sigmas_karras: float32 ramp; the rho-th roots are Python floats (double), rounded to
 * float32 when they meet the tensor; ramp·(min−max) and the add are float32 ops; the final power is the
 * correctly rounded float32 of the double power.
 */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): Float32Array {
  const ramp = torchLinspace32(0, 1, n);
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  const span = f(minInv - maxInv);
  const base = f(maxInv);
  const r = f(rho);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(base + f(ramp[i]! * span)) ** r;
  return withZero(out);
}

/** k-diffusion get_sigmas_exponential: float32 linspace of the (double) logs, then the tensor exp. */
export function exponentialSigmas(n: number, sigmaMin: number, sigmaMax: number): Float32Array {
  const l = torchLinspace32(Math.log(sigmaMax), Math.log(sigmaMin), n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = torchExpF32(l[i]!);
  return withZero(out);
}

/**
 * The discrete table's sigma(t) as the reference's float32 tensor ops: clamp, w = frac(t),
 * (1 − w)·log σ[lo] + w·log σ[hi] (each op rounded), then the tensor exp.
 */
function discreteSigmaAt(ms: DiscreteModelSampling, timestep: number): number {
  const last = ms.logSigmas.length - 1;
  const t = Math.min(Math.max(f(timestep), 0), last);
  const lo = Math.floor(t);
  const hi = Math.ceil(t);
  const w = f(t - lo);
  return torchExpF32(f(f(f(1 - w) * ms.logSigmas[lo]!) + f(w * ms.logSigmas[hi]!)));
}

/** "normal" (uniform in timestep) and "sgm_uniform" (same, steps+1 points without the last). */
export function normalSigmas(ms: ModelSampling, steps: number, sgm = false): Float32Array {
  const start = ms.timestep(ms.sigmaMax);
  const end = ms.timestep(ms.sigmaMin);
  const ts = sgm ? torchLinspace32(start, end, steps + 1).subarray(0, steps) : torchLinspace32(start, end, steps);
  const out = new Float32Array(ts.length);
  const sigmaAt = ms instanceof DiscreteModelSampling ? (t: number) => discreteSigmaAt(ms, t) : (t: number) => ms.sigma(t);
  for (let i = 0; i < ts.length; i++) out[i] = sigmaAt(ts[i]!);
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
