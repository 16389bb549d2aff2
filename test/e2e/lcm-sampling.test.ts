/**
 * ModelSamplingDiscrete "lcm" and "x0" (engine/sampling/model-sampling-lcm.ts), against values derived here
 * in float64 from the scaled-linear DDPM schedule and the LCM boundary condition as published.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiscreteModelSampling } from '../../engine/sampling/model-sampling.ts';
import { LcmModelSampling, X0ModelSampling } from '../../engine/sampling/model-sampling-lcm.ts';
import { ksamplerSigmas } from '../../engine/sampling/schedulers.ts';
import ModelSamplingDiscrete from '../../nodes/sampling/ModelSamplingDiscrete.ts';

/** σ_t of SD's schedule: betas = linspace(√0.00085, √0.012, 1000)², ᾱ = Π(1−β), σ = √((1−ᾱ)/ᾱ). */
function ddpmSigma(t: number): number {
  const a = Math.sqrt(0.00085);
  const b = Math.sqrt(0.012);
  let cum = 1;
  for (let i = 0; i <= t; i++) cum *= 1 - (a + ((b - a) * i) / 999) ** 2;
  return Math.sqrt((1 - cum) / cum);
}

const close = (a: number, b: number, rel = 1e-5) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

test('lcm: 50 distilled sigmas at timesteps 19, 39, …, 999; σ ↔ timestep round-trips on them', () => {
  const ms = new LcmModelSampling();
  assert.equal(ms.sigmas.length, 50);
  for (const i of [0, 1, 24, 49]) {
    const t = 19 + 20 * i;
    assert.ok(close(ms.sigmas[i]!, ddpmSigma(t)), `sigma[${i}] = ${ms.sigmas[i]} vs σ(${t}) = ${ddpmSigma(t)}`);
    assert.equal(ms.timestep(ms.sigmas[i]!), t);
    assert.ok(close(ms.sigma(t), ms.sigmas[i]!));
  }
  assert.equal(ms.sigmaMax, ms.sigmas[49]);
  assert.equal(ms.sigmaMin, ms.sigmas[0]);
  // Between two distilled entries the timestep snaps to the nearer one in log σ.
  assert.equal(ms.timestep(Math.exp((Math.log(ms.sigmas[10]!) * 3 + Math.log(ms.sigmas[11]!)) / 4)), 219);
  // The LCM example's schedule (sgm_uniform, 4 steps) lands on distilled timesteps 999, 754, 509, 264 (interpolated in log σ).
  const sig = ksamplerSigmas(ms, 'sgm_uniform', 'lcm', 4);
  assert.equal(sig.length, 5);
  assert.equal(sig[4], 0);
  assert.equal(ms.timestep(sig[0]!), 999);
  assert.ok(sig[0]! > sig[1]! && sig[1]! > sig[2]! && sig[2]! > sig[3]!);
  assert.ok(close(sig[1]!, ms.sigma(754), 1e-4));
});

test('lcm: denoised = c_out·(x − σ·eps) + c_skip·x with σ_data 0.5 and the timestep scaled ×10; eps-like input scaling', () => {
  const ms = new LcmModelSampling();
  const eps = new DiscreteModelSampling();
  for (const i of [0, 30, 49]) {
    const sigma = ms.sigmas[i]!;
    const t = (19 + 20 * i) * 10;
    const cSkip = 0.25 / (t * t + 0.25);
    const cOut = t / Math.sqrt(t * t + 0.25);
    const x = Float32Array.of(0.3, -1.2, 2);
    const out = Float32Array.of(0.1, 0.5, -0.7);
    const got = ms.denoised(sigma, x, out, new Float32Array(3));
    for (let k = 0; k < 3; k++) assert.ok(close(got[k]!, cOut * (x[k]! - sigma * out[k]!) + cSkip * x[k]!, 1e-5));
    assert.equal(ms.inputScale(sigma), eps.inputScale(sigma));
  }
  // At the smallest distilled step the boundary condition still leans on x a little more than plain eps does.
  const [cSkip] = ms.scalings(ms.sigmaMin);
  assert.ok(cSkip > 0 && cSkip < 1e-4);
});

test('x0: the network output is the denoised latent; the node builds lcm and x0, and still refuses what it lacks', async () => {
  const ms = new X0ModelSampling();
  const out = Float32Array.of(1, 2, 3);
  assert.deepEqual([...ms.denoised(5, Float32Array.of(9, 9, 9), out, new Float32Array(3))], [1, 2, 3]);
  assert.throws(() => ModelSamplingDiscrete.run!({ model: {}, sampling: 'img_to_img', zsnr: false } as never, {} as never), /img_to_img.*not implemented/);
  assert.throws(() => ModelSamplingDiscrete.run!({ model: {}, sampling: 'lcm', zsnr: true } as never, {} as never), /zsnr/);
  assert.throws(() => ModelSamplingDiscrete.run!({ model: {}, sampling: 'lcm', zsnr: false } as never, {} as never), /expected a MODEL/);
});
