/**
 * Sampler math on an analytic case: data ~ N(μ, s²) per element has the exact denoiser
 * D(x, σ) = (s²x + σ²μ)/(s² + σ²), and the probability-flow ODE maps x_T at σ_T to
 * μ + (x_T − μ)·s/√(s² + σ_T²) at σ = 0. ODE samplers must converge to it; SDE/ancestral samplers must
 * end with the data distribution's mean and spread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SAMPLERS, getSampler } from '../../../engine/sampling/samplers/index.ts';
import { SAMPLER_NAMES } from '../../../engine/sampling/names.ts';
import { DiscreteModelSampling } from '../../../engine/sampling/model-sampling.ts';
import { calculateSigmas } from '../../../engine/sampling/schedulers.ts';
import { TorchGenerator } from '../../../engine/sampling/rng.ts';
import { brownianNoiseSampler } from '../../../engine/sampling/brownian.ts';
import type { Denoiser, SamplerContext } from '../../../engine/sampling/types.ts';

const MU = 0.5;
const S = 0.8;
const ms = new DiscreteModelSampling();

function gaussian(): Denoiser & { calls: number } {
  return {
    calls: 0,
    async denoise(x, sigma) {
      this.calls++;
      const s2 = S * S;
      const k = sigma * sigma;
      return x.map((v) => (s2 * v + k * MU) / (s2 + k));
    },
  };
}

async function run(name: string, steps: number, n: number, seed = 1): Promise<{ x0: Float32Array; out: Float32Array; sigmas: Float32Array }> {
  const sigmas = calculateSigmas(ms, 'karras', steps);
  const g = new TorchGenerator(seed);
  const x0 = g.randn(n).map((v) => MU + v * Math.sqrt(S * S + sigmas[0]! * sigmas[0]!));
  const ctx: SamplerContext = {
    noiseSampler: () => g.randn(n),
    sdeNoiseSampler: brownianNoiseSampler(n, sigmas, seed),
    modelSampling: ms,
  };
  const out = await getSampler(name)(gaussian(), x0, sigmas, ctx);
  return { x0, out, sigmas };
}

/** dpm_fast / dpm_adaptive stop at the last non-zero sigma, as in ComfyUI. */
function odeError(x0: Float32Array, out: Float32Array, sigmaT: number, sigmaEnd = 0): number {
  const k = Math.sqrt(S * S + sigmaEnd * sigmaEnd) / Math.sqrt(S * S + sigmaT * sigmaT);
  let e = 0;
  for (let i = 0; i < x0.length; i++) e = Math.max(e, Math.abs(out[i]! - (MU + (x0[i]! - MU) * k)));
  return e;
}

const ODE = ['euler', 'euler_cfg_pp', 'heun', 'heunpp2', 'dpm_2', 'lms', 'dpm_fast', 'dpmpp_2m', 'ipndm', 'ipndm_v', 'deis', 'ddim', 'uni_pc', 'uni_pc_bh2'];
const STOCHASTIC = ['euler_ancestral', 'dpm_2_ancestral', 'dpmpp_2s_ancestral', 'dpmpp_sde', 'dpmpp_2m_sde', 'dpmpp_3m_sde', 'ddpm', 'lcm'];

test('every listed sampler name is implemented and covered here', () => {
  for (const n of SAMPLER_NAMES) assert.ok(SAMPLERS[n], n);
  for (const n of SAMPLER_NAMES) assert.ok([...ODE, ...STOCHASTIC, 'dpm_adaptive'].includes(n), `${n} untested`);
});

for (const name of ODE) {
  test(`${name}: converges to the probability-flow ODE solution`, async () => {
    const coarse = await run(name, 6, 64);
    const fine = await run(name, 24, 64);
    const end = (r: { sigmas: Float32Array }): number => (name === 'dpm_fast' ? r.sigmas[r.sigmas.length - 2]! : 0);
    const e6 = odeError(coarse.x0, coarse.out, coarse.sigmas[0]!, end(coarse));
    const e24 = odeError(fine.x0, fine.out, fine.sigmas[0]!, end(fine));
    // Targets reach ~2 here; first-order methods are within 0.2 at 24 karras steps.
    assert.ok(e24 < 0.2, `${name}: error ${e24} at 24 steps`);
    assert.ok(e24 < e6 / 2, `${name}: error only went from ${e6} to ${e24}`);
  });
}

test('dpm_adaptive: lands near the ODE solution with its default rtol 0.05', async () => {
  const r = await run('dpm_adaptive', 10, 64);
  assert.ok(odeError(r.x0, r.out, r.sigmas[0]!, r.sigmas[r.sigmas.length - 2]!) < 0.15);
});

test('higher-order solvers beat euler at 8 steps', async () => {
  const errs: Record<string, number> = {};
  for (const n of ['euler', 'heun', 'dpmpp_2m', 'uni_pc', 'lms']) {
    const r = await run(n, 8, 64);
    errs[n] = odeError(r.x0, r.out, r.sigmas[0]!);
  }
  for (const n of ['heun', 'dpmpp_2m', 'uni_pc', 'lms']) assert.ok(errs[n]! < errs.euler!, `${n} ${errs[n]} vs euler ${errs.euler}`);
});

function lcmStd(sigmas: Float32Array): number {
  let v = S * S + sigmas[0]! ** 2;
  for (let i = 0; i + 1 < sigmas.length; i++) {
    v *= (S * S / (S * S + sigmas[i]! ** 2)) ** 2;
    if (sigmas[i + 1]! > 0) v += sigmas[i + 1]! ** 2;
  }
  return Math.sqrt(v);
}

for (const name of STOCHASTIC) {
  test(`${name}: ends with the data distribution N(μ, s²)`, async () => {
    const { out, sigmas } = await run(name, 80, 20000, 3);
    let m = 0, v = 0;
    for (const x of out) m += x;
    m /= out.length;
    for (const x of out) v += (x - m) ** 2;
    const sd = Math.sqrt(v / out.length);
    assert.ok(Math.abs(m - MU) < 0.03, `${name}: mean ${m}`);
    // lcm jumps to the posterior mean and re-noises, which shrinks the spread in a computable way.
    const want = name === 'lcm' ? lcmStd(sigmas) : S;
    assert.ok(Math.abs(sd - want) / want < 0.06, `${name}: std ${sd}, expected ${want}`);
  });
}

test('samplers are deterministic per seed', async () => {
  for (const n of ['euler_ancestral', 'dpmpp_2m_sde', 'dpmpp_sde']) {
    const a = await run(n, 8, 256, 11);
    const b = await run(n, 8, 256, 11);
    const c = await run(n, 8, 256, 12);
    assert.deepEqual(a.out, b.out);
    assert.notDeepEqual(a.out, c.out);
  }
});
