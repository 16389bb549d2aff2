/**
 * ddpm, lcm and the Adams-type multistep samplers ipndm, ipndm_v and deis (ComfyUI's ports), all in
 * sigma space with d = (x − denoised)/σ.
 */
import { denoiseStep, needNoise, opt, type Denoiser, type SamplerContext } from '../types.ts';

export async function sampleDdpm(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const x = x0.slice();
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const sp = sigmas[i + 1]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    // DDPM posterior step in the variance-preserving space, then back to sigma space.
    const ac = 1 / (s * s + 1);
    const acPrev = 1 / (sp * sp + 1);
    const alpha = ac / acPrev;
    const inv = 1 / Math.sqrt(1 + s * s);
    const muA = Math.sqrt(1 / alpha);
    const epsK = (1 - alpha) / Math.sqrt(1 - ac);
    const nz = sp > 0 ? needNoise(ctx.noiseSampler, 'ddpm')(s, sp) : null;
    const nk = Math.sqrt(((1 - alpha) * (1 - acPrev)) / (1 - ac));
    const out = sp !== 0 ? Math.sqrt(1 + sp * sp) : 1;
    for (let j = 0; j < x.length; j++) {
      const eps = (x[j]! - den[j]!) / s;
      let mu = muA * (x[j]! * inv - epsK * eps);
      if (nz) mu += nk * nz[j]!;
      x[j] = mu * out;
    }
  }
  return x;
}

export async function sampleLcm(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  let x: Float32Array = x0.slice();
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    if (sn > 0) {
      const nz = needNoise(ctx.noiseSampler, 'lcm')(s, sn);
      if (ctx.modelSampling) x = ctx.modelSampling.noiseScaling(sn, nz, den, false, x);
      else for (let j = 0; j < x.length; j++) x[j] = den[j]! + nz[j]! * sn;
    } else x.set(den);
  }
  return x;
}

/** Shared loop of ipndm / ipndm_v / deis: keeps the last max_order−1 derivatives in a ring. */
async function adamsLoop(
  model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext, maxOrder: number, finalEuler: boolean,
  step: (i: number, order: number, x: Float32Array, d: Float32Array, prev: (k: number) => Float32Array) => void,
): Promise<Float32Array> {
  const x = x0.slice();
  const n = x.length;
  const hist: Float32Array[] = Array.from({ length: Math.max(1, maxOrder - 1) }, () => new Float32Array(n));
  let count = 0; // derivatives stored so far
  const d = new Float32Array(n);
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    const s = sigmas[i]!;
    const den = await denoiseStep(model, ctx, x, s, i, total);
    for (let j = 0; j < n; j++) d[j] = (x[j]! - den[j]!) / s;
    let order = Math.min(maxOrder, i + 1);
    if (finalEuler && sigmas[i + 1]! <= 0) order = 1;
    // prev(1) = the most recent stored derivative, prev(2) the one before, …
    const prev = (k: number): Float32Array => hist[(count - k) % hist.length]!;
    if (order === 1) {
      const dt = sigmas[i + 1]! - s;
      for (let j = 0; j < n; j++) x[j] = x[j]! + dt * d[j]!;
    } else step(i, order, x, d, prev);
    hist[count % hist.length]!.set(d);
    count++;
  }
  return x;
}

export function sampleIpndm(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const maxOrder = opt(ctx, 'max_order', 4);
  return adamsLoop(model, x0, sigmas, ctx, maxOrder, false, (i, order, x, d, prev) => {
    const dt = sigmas[i + 1]! - sigmas[i]!;
    const p1 = prev(1);
    if (order === 2) for (let j = 0; j < x.length; j++) x[j] = x[j]! + (dt * (3 * d[j]! - p1[j]!)) / 2;
    else if (order === 3) {
      const p2 = prev(2);
      for (let j = 0; j < x.length; j++) x[j] = x[j]! + (dt * (23 * d[j]! - 16 * p1[j]! + 5 * p2[j]!)) / 12;
    } else {
      const p2 = prev(2);
      const p3 = prev(3);
      for (let j = 0; j < x.length; j++) x[j] = x[j]! + (dt * (55 * d[j]! - 59 * p1[j]! + 37 * p2[j]! - 9 * p3[j]!)) / 24;
    }
  });
}

/** Variable-step iPNDM: Adams–Bashforth coefficients for non-uniform sigma steps. */
export function sampleIpndmV(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const maxOrder = opt(ctx, 'max_order', 4);
  return adamsLoop(model, x0, sigmas, ctx, maxOrder, true, (i, order, x, d, prev) => {
    const t = sigmas;
    const hn = t[i + 1]! - t[i]!;
    const hn1 = t[i]! - t[i - 1]!;
    let c: number[];
    if (order === 2) {
      c = [(2 + hn / hn1) / 2, -(hn / hn1) / 2];
    } else {
      const hn2 = t[i - 1]! - t[i - 2]!;
      const temp1 = ((1 - (hn / (3 * (hn + hn1))) * ((hn * (hn + hn1)) / (hn1 * (hn1 + hn2)))) / 2);
      if (order === 3) {
        c = [(2 + hn / hn1) / 2 + temp1, -(hn / hn1) / 2 - (1 + hn1 / hn2) * temp1, (temp1 * hn1) / hn2];
      } else {
        const hn3 = t[i - 2]! - t[i - 3]!;
        const temp2 =
          ((1 - hn / (3 * (hn + hn1))) / 2 + ((1 - hn / (2 * (hn + hn1))) * hn) / (6 * (hn + hn1 + hn2))) *
          ((hn * (hn + hn1) * (hn + hn1 + hn2)) / (hn1 * (hn1 + hn2) * (hn1 + hn2 + hn3)));
        const q = (hn1 * (hn1 + hn2)) / (hn2 * (hn2 + hn3));
        c = [
          (2 + hn / hn1) / 2 + temp1 + temp2,
          -(hn / hn1) / 2 - (1 + hn1 / hn2) * temp1 - (1 + hn1 / hn2 + q) * temp2,
          (temp1 * hn1) / hn2 + (hn1 / hn2 + q * (1 + hn2 / hn3)) * temp2,
          -temp2 * q * (hn1 / hn2),
        ];
      }
    }
    const ps = c.slice(1).map((_, k) => prev(k + 1));
    for (let j = 0; j < x.length; j++) {
      let acc = c[0]! * d[j]!;
      for (let k = 0; k < ps.length; k++) acc += c[k + 1]! * ps[k]![j]!;
      x[j] = x[j]! + hn * acc;
    }
  });
}

/** EDM sigma → VP time of DEIS's tabulated coefficients (ComfyUI's edm2t with its default constants). */
function edmToVp(sigmas: Float32Array): { t: Float64Array; beta0: number; beta1: number } {
  const epsS = 1e-3;
  const sMin = 0.002;
  const sMax = 80;
  const betaD = (2 * (Math.log(sMin * sMin + 1) / epsS - Math.log(sMax * sMax + 1))) / (epsS - 1);
  const betaMin = Math.log(sMax * sMax + 1) - 0.5 * betaD;
  const t = Float64Array.from(sigmas, (s) => (Math.sqrt(betaMin * betaMin + 2 * betaD * Math.log(s * s + 1)) - betaMin) / betaD);
  return { t, beta0: betaMin, beta1: betaD + betaMin };
}

/** DEIS 'tab' coefficients: Riemann sums (N points) of the exponential-integrator weight × Lagrange basis. */
export function deisCoefficients(sigmas: Float32Array, maxOrder: number, N = 10000): number[][] {
  const { t, beta0, beta1 } = edmToVp(sigmas);
  const C: number[][] = [];
  for (let i = 0; i + 1 < t.length; i++) {
    const order = Math.min(i + 1, maxOrder);
    if (order === 1 || sigmas[i + 1]! <= 0) {
      C.push([]);
      continue;
    }
    const tc = t[i]!;
    const tn = t[i + 1]!;
    const dtau = (tn - tc) / N;
    const prevT = Array.from({ length: order }, (_, k) => t[i - k]!);
    const coeff = new Array<number>(order).fill(0);
    for (let q = 0; q < N; q++) {
      const tau = N === 1 ? tc : tc + ((tn - tc) * q) / (N - 1);
      const alpha = Math.exp(-0.5 * tau * tau * (beta1 - beta0) - tau * beta0);
      const dLogAlpha = -(tau * (beta1 - beta0) + beta0);
      const integrand = (-0.5 * dLogAlpha) / Math.sqrt(alpha * (1 - alpha));
      for (let j = 0; j < order; j++) {
        let poly = 1;
        for (let k = 0; k < order; k++) if (k !== j) poly *= (tau - prevT[k]!) / (prevT[j]! - prevT[k]!);
        coeff[j]! += integrand * poly;
      }
    }
    C.push(coeff.map((v) => v * dtau));
  }
  return C;
}

export function sampleDeis(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const maxOrder = opt(ctx, 'max_order', 3);
  const C = deisCoefficients(sigmas, maxOrder);
  return adamsLoop(model, x0, sigmas, ctx, maxOrder, true, (i, order, x, d, prev) => {
    const c = C[i]!;
    const ps = Array.from({ length: order - 1 }, (_, k) => prev(k + 1));
    for (let j = 0; j < x.length; j++) {
      let acc = c[0]! * d[j]!;
      for (let k = 0; k < ps.length; k++) acc += c[k + 1]! * ps[k]![j]!;
      x[j] = x[j]! + acc;
    }
  });
}
