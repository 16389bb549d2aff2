/**
 * First/second-order samplers in sigma space (k-diffusion's math as ComfyUI ships it): euler, euler_cfg_pp,
 * euler_ancestral, heun, heunpp2, dpm_2, dpm_2_ancestral, lms. Work buffers are allocated once per run.
 */
import { ancestralStep, checkAbort, denoiseStep, needNoise, opt, report, type Denoiser, type SamplerContext } from '../types.ts';

/** out = x + (x − den)/sigma · dt, i.e. an Euler step along d = to_d(x, sigma, den). */
function eulerInto(out: Float32Array, x: Float32Array, den: Float32Array, sigma: number, dt: number): void {
  const k = dt / sigma;
  for (let j = 0; j < x.length; j++) out[j] = x[j]! + (x[j]! - den[j]!) * k;
}

function toD(out: Float32Array, x: Float32Array, den: Float32Array, sigma: number): Float32Array {
  for (let j = 0; j < x.length; j++) out[j] = (x[j]! - den[j]!) / sigma;
  return out;
}

export async function sampleEuler(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const x = x0.slice();
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    eulerInto(x, x, den, s, sigmas[i + 1]! - s);
  }
  return x;
}

/** CFG++: step along the unconditional direction from the guided prediction, x' = den + (x − uncond)/σ · σ'. */
export async function sampleEulerCfgPP(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const x = x0.slice();
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    checkAbort(ctx.signal);
    const s = sigmas[i]!;
    let den: Float32Array;
    let unc: Float32Array;
    if (model.denoiseWithUncond) ({ denoised: den, uncond: unc } = await model.denoiseWithUncond(x, s));
    else unc = den = await model.denoise(x, s);
    await report(ctx, i, total, s, x, den);
    const k = sigmas[i + 1]! / s;
    for (let j = 0; j < x.length; j++) x[j] = den[j]! + (x[j]! - unc[j]!) * k;
  }
  return x;
}

export async function sampleEulerAncestral(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const eta = opt(ctx, 'eta', 1);
  const sNoise = opt(ctx, 's_noise', 1);
  const x = x0.slice();
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    const { down, up } = ancestralStep(s, sigmas[i + 1]!, eta);
    eulerInto(x, x, den, s, down - s);
    if (sigmas[i + 1]! > 0) {
      const n = needNoise(ctx.noiseSampler, 'euler_ancestral')(s, sigmas[i + 1]!);
      const k = sNoise * up;
      for (let j = 0; j < x.length; j++) x[j] = x[j]! + n[j]! * k;
    }
  }
  return x;
}

export async function sampleHeun(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const x = x0.slice();
  const d = new Float32Array(x.length);
  const x2 = new Float32Array(x.length);
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    toD(d, x, den, s);
    const dt = sn - s;
    if (sn === 0) {
      for (let j = 0; j < x.length; j++) x[j] = x[j]! + d[j]! * dt;
      continue;
    }
    for (let j = 0; j < x.length; j++) x2[j] = x[j]! + d[j]! * dt;
    checkAbort(ctx.signal);
    const den2 = await model.denoise(x2, sn);
    for (let j = 0; j < x.length; j++) x[j] = x[j]! + ((d[j]! + (x2[j]! - den2[j]!) / sn) / 2) * dt;
  }
  return x;
}

export async function sampleHeunpp2(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const x = x0.slice();
  const n = x.length;
  const d = new Float32Array(n);
  const d2 = new Float32Array(n);
  const x2 = new Float32Array(n);
  const x3 = new Float32Array(n);
  const total = sigmas.length - 1;
  const sEnd = sigmas[total]!;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const s1 = sigmas[i + 1]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    toD(d, x, den, s);
    const dt = s1 - s;
    if (s1 === sEnd) {
      for (let j = 0; j < n; j++) x[j] = x[j]! + d[j]! * dt;
      continue;
    }
    for (let j = 0; j < n; j++) x2[j] = x[j]! + d[j]! * dt;
    checkAbort(ctx.signal);
    const den2 = await model.denoise(x2, s1);
    toD(d2, x2, den2, s1);
    const s2 = sigmas[i + 2]!;
    if (s2 === sEnd) {
      const w2 = s1 / (2 * sigmas[0]!);
      const w1 = 1 - w2;
      for (let j = 0; j < n; j++) x[j] = x[j]! + (d[j]! * w1 + d2[j]! * w2) * dt;
      continue;
    }
    const dt2 = s2 - s1;
    for (let j = 0; j < n; j++) x3[j] = x2[j]! + d2[j]! * dt2;
    checkAbort(ctx.signal);
    const den3 = await model.denoise(x3, s2);
    const w = 3 * sigmas[0]!;
    const w2 = s1 / w;
    const w3 = s2 / w;
    const w1 = 1 - w2 - w3;
    for (let j = 0; j < n; j++) x[j] = x[j]! + (w1 * d[j]! + w2 * d2[j]! + (w3 * (x3[j]! - den3[j]!)) / s2) * dt;
  }
  return x;
}

/** log-space midpoint of two sigmas (torch lerp of logs, then exp). */
function logMid(a: number, b: number): number {
  return Math.exp(Math.log(a) + 0.5 * (Math.log(b) - Math.log(a)));
}

async function dpm2Core(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext, ancestral: boolean): Promise<Float32Array> {
  const eta = opt(ctx, 'eta', 1);
  const sNoise = opt(ctx, 's_noise', 1);
  const x = x0.slice();
  const x2 = new Float32Array(x.length);
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    const { down, up } = ancestral ? ancestralStep(s, sigmas[i + 1]!, eta) : { down: sigmas[i + 1]!, up: 0 };
    if (down === 0) {
      eulerInto(x, x, den, s, down - s);
      continue;
    }
    const mid = logMid(s, down);
    eulerInto(x2, x, den, s, mid - s);
    checkAbort(ctx.signal);
    const den2 = await model.denoise(x2, mid);
    const k = (down - s) / mid;
    for (let j = 0; j < x.length; j++) x[j] = x[j]! + (x2[j]! - den2[j]!) * k;
    if (ancestral) {
      const nz = needNoise(ctx.noiseSampler, 'dpm_2_ancestral')(s, sigmas[i + 1]!);
      const c = sNoise * up;
      for (let j = 0; j < x.length; j++) x[j] = x[j]! + nz[j]! * c;
    }
  }
  return x;
}

export const sampleDpm2 = (m: Denoiser, x: Float32Array, s: Float32Array, c: SamplerContext) => dpm2Core(m, x, s, c, false);
export const sampleDpm2Ancestral = (m: Denoiser, x: Float32Array, s: Float32Array, c: SamplerContext) => dpm2Core(m, x, s, c, true);

/** ∫ over [t_i, t_{i+1}] of the Lagrange basis polynomial j through t_i, t_{i-1}, …; exact by Gauss–Legendre. */
export function linearMultistepCoeff(order: number, t: ArrayLike<number>, i: number, j: number): number {
  if (order - 1 > i) throw new Error(`order ${order} too high for step ${i}`);
  const basis = (tau: number): number => {
    let p = 1;
    for (let k = 0; k < order; k++) {
      if (j === k) continue;
      p *= (tau - t[i - k]!) / (t[i - j]! - t[i - k]!);
    }
    return p;
  };
  // 4-point Gauss–Legendre integrates polynomials up to degree 7 exactly (order ≤ 4 gives degree ≤ 3).
  const nodes = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
  const weights = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];
  const a = t[i]!;
  const b = t[i + 1]!;
  let sum = 0;
  for (let q = 0; q < 4; q++) sum += weights[q]! * basis(((b - a) / 2) * nodes[q]! + (a + b) / 2);
  return ((b - a) / 2) * sum;
}

export async function sampleLms(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const order = opt(ctx, 'order', 4);
  const x = x0.slice();
  const ring: Float32Array[] = Array.from({ length: order }, () => new Float32Array(x.length));
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    toD(ring[i % order]!, x, den, s);
    const cur = Math.min(i + 1, order);
    for (let j = 0; j < cur; j++) {
      const c = linearMultistepCoeff(cur, sigmas, i, j);
      const dj = ring[(i - j) % order]!;
      for (let q = 0; q < x.length; q++) x[q] = x[q]! + c * dj[q]!;
    }
  }
  return x;
}
