/**
 * k-diffusion's DPM-Solver (eps form, t = −log σ): dpm_fast (fixed 3/2/1-order stages over nfe evaluations)
 * and dpm_adaptive (embedded 2/3-order pair with a PID step-size controller).
 */
import { checkAbort, opt, report, type Denoiser, type SamplerContext } from '../types.ts';

const sig = (t: number): number => Math.exp(-t);
const tOf = (s: number): number => -Math.log(s);

class Solver {
  private calls = 0;
  constructor(private readonly model: Denoiser, private readonly ctx: SamplerContext, readonly total: number) {}

  async eps(cache: Map<string, Float32Array>, key: string, x: Float32Array, t: number): Promise<Float32Array> {
    const hit = cache.get(key);
    if (hit) return hit;
    checkAbort(this.ctx.signal);
    const s = sig(t);
    const den = await this.model.denoise(x, s);
    const e = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) e[j] = (x[j]! - den[j]!) / s;
    cache.set(key, e);
    this.calls++;
    return e;
  }

  async step1(x: Float32Array, t: number, tn: number, cache: Map<string, Float32Array>): Promise<Float32Array> {
    const e = await this.eps(cache, 'eps', x, t);
    const k = sig(tn) * Math.expm1(tn - t);
    return x.map((v, j) => v - k * e[j]!);
  }

  async step2(x: Float32Array, t: number, tn: number, cache: Map<string, Float32Array>, r1 = 1 / 2): Promise<Float32Array> {
    const h = tn - t;
    const e = await this.eps(cache, 'eps', x, t);
    const s1 = t + r1 * h;
    const a = sig(s1) * Math.expm1(r1 * h);
    const u1 = x.map((v, j) => v - a * e[j]!);
    const e1 = await this.eps(cache, 'eps_r1', u1, s1);
    const b = sig(tn) * Math.expm1(h);
    const c = (sig(tn) / (2 * r1)) * Math.expm1(h);
    return x.map((v, j) => v - b * e[j]! - c * (e1[j]! - e[j]!));
  }

  async step3(x: Float32Array, t: number, tn: number, cache: Map<string, Float32Array>, r1 = 1 / 3, r2 = 2 / 3): Promise<Float32Array> {
    const h = tn - t;
    const e = await this.eps(cache, 'eps', x, t);
    const s1 = t + r1 * h;
    const s2 = t + r2 * h;
    const a1 = sig(s1) * Math.expm1(r1 * h);
    const u1 = x.map((v, j) => v - a1 * e[j]!);
    const e1 = await this.eps(cache, 'eps_r1', u1, s1);
    const a2 = sig(s2) * Math.expm1(r2 * h);
    const b2 = sig(s2) * (r2 / r1) * (Math.expm1(r2 * h) / (r2 * h) - 1);
    const u2 = x.map((v, j) => v - a2 * e[j]! - b2 * (e1[j]! - e[j]!));
    const e2 = await this.eps(cache, 'eps_r2', u2, s2);
    const b = sig(tn) * Math.expm1(h);
    const c = (sig(tn) / r2) * (Math.expm1(h) / h - 1);
    return x.map((v, j) => v - b * e[j]! - c * (e2[j]! - e[j]!));
  }
}

/** ComfyUI runs these from sigmas[0] down to the last non-zero sigma. */
function range(sigmas: Float32Array): { sMax: number; sMin: number } | null {
  if (sigmas.length <= 1) return null;
  let sMin = sigmas[sigmas.length - 1]!;
  if (sMin === 0) sMin = sigmas[sigmas.length - 2]!;
  return { sMax: sigmas[0]!, sMin };
}

export async function sampleDpmFast(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const r = range(sigmas);
  if (!r) return x0.slice();
  const nfe = sigmas.length - 1;
  const solver = new Solver(model, ctx, nfe);
  const tStart = tOf(r.sMax);
  const tEnd = tOf(r.sMin);
  const m = Math.floor(nfe / 3) + 1;
  const ts = Array.from({ length: m + 1 }, (_, i) => tStart + ((tEnd - tStart) * i) / m);
  const orders = nfe % 3 === 0 ? [...new Array<number>(m - 2).fill(3), 2, 1] : [...new Array<number>(m - 1).fill(3), nfe % 3];
  let x: Float32Array = x0.slice();
  for (let i = 0; i < orders.length; i++) {
    const cache = new Map<string, Float32Array>();
    const t = ts[i]!;
    const tn = ts[i + 1]!;
    const e = await solver.eps(cache, 'eps', x, t);
    const den = x.map((v, j) => v - sig(t) * e[j]!);
    await report(ctx, i, orders.length, sig(t), x, den);
    if (orders[i] === 1) x = await solver.step1(x, t, tn, cache);
    else if (orders[i] === 2) x = await solver.step2(x, t, tn, cache);
    else x = await solver.step3(x, t, tn, cache);
  }
  return x;
}

export async function sampleDpmAdaptive(model: Denoiser, x0: Float32Array, sigmas: Float32Array, ctx: SamplerContext): Promise<Float32Array> {
  const r = range(sigmas);
  if (!r) return x0.slice();
  const order = opt(ctx, 'order', 3);
  const rtol = opt(ctx, 'rtol', 0.05);
  const atol = opt(ctx, 'atol', 0.0078);
  const hInit = opt(ctx, 'h_init', 0.05);
  const pcoeff = opt(ctx, 'pcoeff', 0);
  const icoeff = opt(ctx, 'icoeff', 1);
  const dcoeff = opt(ctx, 'dcoeff', 0);
  const acceptSafety = opt(ctx, 'accept_safety', 0.81);
  const solver = new Solver(model, ctx, 0);
  const tStart = tOf(r.sMax);
  const tEnd = tOf(r.sMin);
  // PID controller on the inverse error (k-diffusion's PIDStepSizeController).
  let h = Math.abs(hInit);
  const b1 = (pcoeff + icoeff + dcoeff) / order;
  const b2 = -(pcoeff + 2 * dcoeff) / order;
  const b3 = dcoeff / order;
  let errs: number[] = [];
  let s = tStart;
  let x: Float32Array = x0.slice();
  let xPrev: Float32Array = x;
  let steps = 0;
  while (s < tEnd - 1e-5) {
    const cache = new Map<string, Float32Array>();
    const t = Math.min(tEnd, s + h);
    const e = await solver.eps(cache, 'eps', x, s);
    const den = x.map((v, j) => v - sig(s) * e[j]!);
    const low = order === 2 ? await solver.step1(x, s, t, cache) : await solver.step2(x, s, t, cache, 1 / 3);
    const high = order === 2 ? await solver.step2(x, s, t, cache) : await solver.step3(x, s, t, cache);
    let sq = 0;
    for (let j = 0; j < x.length; j++) {
      const delta = Math.max(atol, rtol * Math.max(Math.abs(low[j]!), Math.abs(xPrev[j]!)));
      const q = (low[j]! - high[j]!) / delta;
      sq += q * q;
    }
    const error = Math.sqrt(sq) / Math.sqrt(x.length);
    const inv = 1 / (error + 1e-8);
    if (errs.length === 0) errs = [inv, inv, inv];
    errs[0] = inv;
    const factor = 1 + Math.atan(errs[0]! ** b1 * errs[1]! ** b2 * errs[2]! ** b3 - 1);
    const accept = factor >= acceptSafety;
    if (accept) {
      errs[2] = errs[1]!;
      errs[1] = errs[0]!;
      xPrev = low;
      x = high;
      s = t;
    }
    h *= factor;
    await report(ctx, steps, 0, sig(s), x, den);
    steps++;
  }
  return x;
}
