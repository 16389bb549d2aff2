/**
 * Exponential-integrator samplers in t = −log σ (DPM-Solver++ family) and the SDE variants:
 * dpmpp_2s_ancestral, dpmpp_sde, dpmpp_2m, dpmpp_2m_sde, dpmpp_3m_sde.
 */
import { ancestralStep, checkAbort, denoiseStep, needNoise, opt, type Denoiser, type SamplerContext } from '../types.ts';
import { torchExpF32 } from '../schedulers.ts';

const f = Math.fround;

const tOf = (sigma: number): number => -Math.log(sigma);
const sigmaOf = (t: number): number => Math.exp(-t);

function eulerTo(x: Float32Array, den: Float32Array, sigma: number, sigmaTo: number): void {
  const k = (sigmaTo - sigma) / sigma;
  for (let j = 0; j < x.length; j++) x[j] = x[j]! + (x[j]! - den[j]!) * k;
}

export async function sampleDpmpp2sAncestral(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const eta = opt(ctx, 'eta', 1);
  const sNoise = opt(ctx, 's_noise', 1);
  const x = x0.slice();
  const x2 = new Float32Array(x.length);
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    const { down, up } = ancestralStep(s, sigmas[i + 1]!, eta);
    if (down === 0) eulerTo(x, den, s, down);
    else {
      const t = tOf(s);
      const tn = tOf(down);
      const h = tn - t;
      const sMid = t + 0.5 * h;
      const a = sigmaOf(sMid) / sigmaOf(t);
      const b = Math.expm1(-h * 0.5);
      for (let j = 0; j < x.length; j++) x2[j] = a * x[j]! - b * den[j]!;
      checkAbort(ctx.signal);
      const den2 = await model.denoise(x2, sigmaOf(sMid));
      const a2 = sigmaOf(tn) / sigmaOf(t);
      const b2 = Math.expm1(-h);
      for (let j = 0; j < x.length; j++) x[j] = a2 * x[j]! - b2 * den2[j]!;
    }
    if (sigmas[i + 1]! > 0) {
      const nz = needNoise(ctx.noiseSampler, 'dpmpp_2s_ancestral')(s, sigmas[i + 1]!);
      const c = sNoise * up;
      for (let j = 0; j < x.length; j++) x[j] = x[j]! + nz[j]! * c;
    }
  }
  return x;
}

/**
 * float32 scalar helpers for dpmpp_sde: the reference keeps t = −log σ, h, the midpoint and every sigma
 * derived from them as float32 tensors, so each op is rounded to float32 here too. The midpoint sigma
 * keys the Brownian tree (and the second model call), so it must be the reference's exact float.
 */
const tOf32 = (sigma: number): number => f(-f(Math.log(f(sigma))));
const sigmaOf32 = (t: number): number => torchExpF32(f(-t));

/** get_ancestral_step on float32 scalars (x**2 is x·x, **0.5 a sqrt, every op rounded). */
function ancestralStep32(sigmaFrom: number, sigmaTo: number, eta: number): { down: number; up: number } {
  if (!eta) return { down: sigmaTo, up: 0 };
  const to2 = f(sigmaTo * sigmaTo);
  const from2 = f(sigmaFrom * sigmaFrom);
  const up = Math.min(sigmaTo, f(f(eta) * f(Math.sqrt(f(f(to2 * f(from2 - to2)) / from2)))));
  return { down: f(Math.sqrt(f(to2 - f(up * up)))), up };
}

export async function sampleDpmppSde(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const eta = opt(ctx, 'eta', 1);
  const sNoise = opt(ctx, 's_noise', 1);
  const r = opt(ctx, 'r', 0.5);
  const noise = needNoise(ctx.sdeNoiseSampler, 'dpmpp_sde');
  const x = x0.slice();
  const x2 = new Float32Array(x.length);
  const total = sigmas.length - 1;
  const fac = 1 / (2 * r);
  const wOld = f(1 - fac);
  const wNew = f(fac);
  const sn32 = f(sNoise);
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    if (sn === 0) {
      // Euler: d = (x − denoised)/σ, x += d·(σ_next − σ), in float32 tensor ops.
      const dt = f(sn - s);
      for (let j = 0; j < x.length; j++) x[j] = f(x[j]! + f(f(f(x[j]! - den[j]!) / s) * dt));
      continue;
    }
    const t = tOf32(s);
    const tn = tOf32(sn);
    const h = f(tn - t);
    const sm = f(t + f(h * f(r)));
    const sigT = sigmaOf32(t);
    const sigS = sigmaOf32(sm);
    const sigTn = sigmaOf32(tn);
    // Step 1: to the intermediate time with its own ancestral split.
    let st = ancestralStep32(sigT, sigS, eta);
    const s_ = tOf32(st.down);
    const a = f(sigmaOf32(s_) / sigT);
    const b = f(Math.expm1(f(t - s_)));
    const n1 = noise(sigT, sigS);
    for (let j = 0; j < x.length; j++) x2[j] = f(f(f(a * x[j]!) - f(b * den[j]!)) + f(f(n1[j]! * sn32) * st.up));
    checkAbort(ctx.signal);
    const den2 = await model.denoise(x2, sigS);
    // Step 2: the full step from a blend of both predictions.
    st = ancestralStep32(sigT, sigTn, eta);
    const tn_ = tOf32(st.down);
    const a2 = f(sigmaOf32(tn_) / sigT);
    const b2 = f(Math.expm1(f(t - tn_)));
    const n2 = noise(sigT, sigTn);
    for (let j = 0; j < x.length; j++) {
      const dd = f(f(wOld * den[j]!) + f(wNew * den2[j]!));
      x[j] = f(f(f(a2 * x[j]!) - f(b2 * dd)) + f(f(n2[j]! * sn32) * st.up));
    }
  }
  return x;
}

export async function sampleDpmpp2m(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const x = x0.slice();
  const old = new Float32Array(x.length);
  let haveOld = false;
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    const t = tOf(s);
    const tn = tOf(sn);
    const h = tn - t;
    const a = sigmaOf(tn) / sigmaOf(t);
    const b = Math.expm1(-h);
    if (!haveOld || sn === 0) {
      for (let j = 0; j < x.length; j++) x[j] = a * x[j]! - b * den[j]!;
    } else {
      const hLast = t - tOf(sigmas[i - 1]!);
      const rr = hLast / h;
      const c1 = 1 + 1 / (2 * rr);
      const c2 = 1 / (2 * rr);
      for (let j = 0; j < x.length; j++) x[j] = a * x[j]! - b * (c1 * den[j]! - c2 * old[j]!);
    }
    old.set(den);
    haveOld = true;
  }
  return x;
}

export async function sampleDpmpp2mSde(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const eta = opt(ctx, 'eta', 1);
  const sNoise = opt(ctx, 's_noise', 1);
  const heun = ctx.options?.solver_type === 'heun';
  const x = x0.slice();
  const old = new Float32Array(x.length);
  let haveOld = false;
  let hLast = 0;
  let h = 0;
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    if (sn === 0) x.set(den);
    else {
      h = tOf(sn) - tOf(s);
      const etaH = eta * h;
      const a = (sn / s) * Math.exp(-etaH);
      const b = -Math.expm1(-h - etaH);
      let c = 0;
      if (haveOld) {
        const r = hLast / h;
        c = heun ? (b / (-h - etaH) + 1) * (1 / r) : 0.5 * b * (1 / r);
      }
      const nz = eta ? needNoise(ctx.sdeNoiseSampler, 'dpmpp_2m_sde')(s, sn) : null;
      const k = sn * Math.sqrt(-Math.expm1(-2 * etaH)) * sNoise;
      for (let j = 0; j < x.length; j++) {
        let v = a * x[j]! + b * den[j]!;
        if (haveOld) v += c * (den[j]! - old[j]!);
        if (nz) v += nz[j]! * k;
        x[j] = v;
      }
    }
    old.set(den);
    haveOld = true;
    hLast = h;
  }
  return x;
}

export async function sampleDpmpp3mSde(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const eta = opt(ctx, 'eta', 1);
  const sNoise = opt(ctx, 's_noise', 1);
  const x = x0.slice();
  const n = x.length;
  let d1buf = new Float32Array(n); // denoised of the previous step
  let d2buf = new Float32Array(n); // denoised two steps back
  let h: number | null = null;
  let h1: number | null = null;
  let h2: number | null = null;
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    if (sn === 0) x.set(den);
    else {
      h = tOf(sn) - tOf(s);
      const hEta = h * (eta + 1);
      const a = Math.exp(-hEta);
      const b = -Math.expm1(-hEta);
      const phi2 = Math.expm1(-hEta) / hEta + 1;
      const nz = eta ? needNoise(ctx.sdeNoiseSampler, 'dpmpp_3m_sde')(s, sn) : null;
      const k = sn * Math.sqrt(-Math.expm1(-2 * h * eta)) * sNoise;
      if (h2 !== null) {
        const r0 = h1! / h;
        const r1 = h2 / h;
        const phi3 = phi2 / hEta - 0.5;
        for (let j = 0; j < n; j++) {
          const d10 = (den[j]! - d1buf[j]!) / r0;
          const d11 = (d1buf[j]! - d2buf[j]!) / r1;
          const d1 = d10 + ((d10 - d11) * r0) / (r0 + r1);
          const d2 = (d10 - d11) / (r0 + r1);
          x[j] = a * x[j]! + b * den[j]! + phi2 * d1 - phi3 * d2 + (nz ? nz[j]! * k : 0);
        }
      } else if (h1 !== null) {
        const r = h1 / h;
        for (let j = 0; j < n; j++) x[j] = a * x[j]! + b * den[j]! + phi2 * ((den[j]! - d1buf[j]!) / r) + (nz ? nz[j]! * k : 0);
      } else {
        for (let j = 0; j < n; j++) x[j] = a * x[j]! + b * den[j]! + (nz ? nz[j]! * k : 0);
      }
    }
    const tmp = d2buf;
    d2buf = d1buf;
    d1buf = tmp;
    d1buf.set(den);
    h2 = h1;
    h1 = h;
  }
  return x;
}
