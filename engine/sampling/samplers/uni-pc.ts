/**
 * UniPC (multistep, data prediction, B(h) variants bh1/bh2) as ComfyUI runs it: the solver works on the
 * variance-preserving x_vp = x/√(1+σ²) with λ = −log σ; its data prediction is the denoiser's output.
 * The last sigma 0 is replaced by 0.001 and the result rescaled by 1/α there.
 */
import { checkAbort, report, type Denoiser, type SamplerContext } from '../types.ts';

const alphaOf = (s: number): number => 1 / Math.sqrt(1 + s * s);
const stdOf = (s: number): number => s / Math.sqrt(1 + s * s);
const lambdaOf = (s: number): number => -Math.log(s);

/** Solves A·x = b for a small dense system (Gaussian elimination with partial pivoting). */
export function solveSmall(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row.slice(0, n), b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let acc = M[r]![n]!;
    for (let k = r + 1; k < n; k++) acc -= M[r]![k]! * x[k]!;
    x[r] = acc / M[r]![r]!;
  }
  return x;
}

async function sampleUniPcVariant(model: Denoiser, noise: Float32Array, sigmas: Float32Array, ctx: SamplerContext, variant: 'bh1' | 'bh2'): Promise<Float32Array> {
  const ts = Array.from(sigmas);
  if (ts[ts.length - 1] === 0) ts[ts.length - 1] = 0.001;
  const steps = ts.length - 1;
  if (steps < 1) return noise.slice();
  const order = Math.max(1, Math.min(3, ts.length - 2));
  const n = noise.length;
  const modelFn = async (xvp: Float32Array, s: number): Promise<Float32Array> => {
    checkAbort(ctx.signal);
    const k = Math.sqrt(1 + s * s);
    return model.denoise(xvp.map((v) => v * k), s);
  };
  let x: Float32Array = noise.map((v) => v / Math.sqrt(1 + ts[0]! * ts[0]!));
  const modelPrev: Float32Array[] = [await modelFn(x, ts[0]!)];
  const tPrev: number[] = [ts[0]!];
  // Like ComfyUI: step 0 reports the start, step k the state at sigma_k, the last one the final x; x is in VP space.
  if (steps > 1) await report(ctx, 0, steps, ts[0]!, x, modelPrev[0]!);

  const update = async (xIn: Float32Array, t: number, ord: number, useCorrector: boolean): Promise<{ x: Float32Array; modelT: Float32Array | null }> => {
    const t0 = tPrev[tPrev.length - 1]!;
    const m0 = modelPrev[modelPrev.length - 1]!;
    const h = lambdaOf(t) - lambdaOf(t0);
    const rks: number[] = [];
    const D1s: Float32Array[] = [];
    for (let i = 1; i < ord; i++) {
      const ti = tPrev[tPrev.length - 1 - i]!;
      const mi = modelPrev[modelPrev.length - 1 - i]!;
      const rk = (lambdaOf(ti) - lambdaOf(t0)) / h;
      rks.push(rk);
      D1s.push(mi.map((v, j) => (v - m0[j]!) / rk));
    }
    rks.push(1);
    const hh = -h;
    const hPhi1 = Math.expm1(hh);
    let hPhiK = hPhi1 / hh - 1;
    let fact = 1;
    const Bh = variant === 'bh1' ? hh : Math.expm1(hh);
    const R: number[][] = [];
    const b: number[] = [];
    for (let i = 1; i <= ord; i++) {
      R.push(rks.map((r) => r ** (i - 1)));
      b.push((hPhiK * fact) / Bh);
      fact *= i + 1;
      hPhiK = hPhiK / hh - 1 / fact;
    }
    let rhosP: number[] = [];
    if (D1s.length > 0) rhosP = ord === 2 ? [0.5] : solveSmall(R.slice(0, -1).map((r) => r.slice(0, -1)), b.slice(0, -1));
    const rhosC = ord === 1 ? [0.5] : solveSmall(R, b);
    const alphaT = alphaOf(t);
    const a = stdOf(t) / stdOf(t0);
    const xt_ = new Float32Array(n);
    for (let j = 0; j < n; j++) xt_[j] = a * xIn[j]! - alphaT * hPhi1 * m0[j]!;
    const xt = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let pred = 0;
      for (let k = 0; k < D1s.length; k++) pred += rhosP[k]! * D1s[k]![j]!;
      xt[j] = xt_[j]! - alphaT * Bh * pred;
    }
    if (!useCorrector) return { x: xt, modelT: null };
    const modelT = await modelFn(xt, t);
    const last = rhosC[rhosC.length - 1]!;
    for (let j = 0; j < n; j++) {
      let corr = 0;
      for (let k = 0; k < D1s.length; k++) corr += rhosC[k]! * D1s[k]![j]!;
      xt[j] = xt_[j]! - alphaT * Bh * (corr + last * (modelT[j]! - m0[j]!));
    }
    return { x: xt, modelT };
  };

  for (let stepIndex = 1; stepIndex <= steps; stepIndex++) {
    const t = ts[stepIndex]!;
    if (stepIndex < order) {
      const r = await update(x, t, stepIndex, true);
      x = r.x;
      modelPrev.push(r.modelT ?? (await modelFn(x, t)));
      tPrev.push(t);
    } else {
      const stepOrder = Math.min(order, steps + 1 - stepIndex);
      const r = await update(x, t, stepOrder, stepIndex !== steps);
      x = r.x;
      for (let i = 0; i < order - 1; i++) {
        tPrev[i] = tPrev[i + 1]!;
        modelPrev[i] = modelPrev[i + 1]!;
      }
      tPrev[order - 1] = t;
      if (stepIndex < steps) modelPrev[order - 1] = r.modelT ?? (await modelFn(x, t));
    }
    if (stepIndex === steps - 1) continue; // reported together with the final step
    await report(ctx, Math.min(stepIndex, steps - 1), steps, ts[Math.min(stepIndex, steps - 1)]!, x, modelPrev[modelPrev.length - 1]!);
  }
  const inv = 1 / alphaOf(ts[ts.length - 1]!);
  return x.map((v) => v * inv);
}

export const sampleUniPc = (m: Denoiser, x: Float32Array, s: Float32Array, c: SamplerContext) => sampleUniPcVariant(m, x, s, c, 'bh1');
export const sampleUniPcBh2 = (m: Denoiser, x: Float32Array, s: Float32Array, c: SamplerContext) => sampleUniPcVariant(m, x, s, c, 'bh2');
