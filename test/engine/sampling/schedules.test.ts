import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiscreteModelSampling, FlowModelSampling, fluxShift } from '../../../engine/sampling/model-sampling.ts';
import { calculateSigmas, ksamplerSigmas, sliceSigmas } from '../../../engine/sampling/schedulers.ts';
import { betaInc, betaIncInv } from '../../../engine/sampling/special.ts';
import { SCHEDULER_NAMES } from '../../../engine/sampling/names.ts';

const sd = new DiscreteModelSampling();

test('SD1 table endpoints (ComfyUI sigma_min/sigma_max) and timestep round trip', () => {
  assert.ok(Math.abs(sd.sigmaMin - 0.0292) < 1e-4 && Math.abs(sd.sigmaMax - 14.6146) < 1e-4);
  for (const t of [0, 1, 250, 500, 999]) assert.equal(sd.timestep(sd.sigma(t)), t);
  assert.ok(sd.sigma(499.5) > sd.sigma(499) && sd.sigma(499.5) < sd.sigma(500));
});

for (const name of SCHEDULER_NAMES) {
  test(`${name}: descending, ends in 0, steps+1 values, starts near sigma_max`, () => {
    for (const steps of [1, 7, 20]) {
      const s = calculateSigmas(sd, name, steps);
      assert.equal(s[s.length - 1], 0);
      if (name !== 'ddim_uniform') assert.equal(s.length, steps + 1);
      for (let i = 1; i < s.length; i++) assert.ok(s[i]! < s[i - 1]!, `${name} steps ${steps} not descending at ${i}: ${Array.from(s)}`);
      // ComfyUI's ddim_uniform with 1 step starts at sigmas[1] (its stride is the whole table).
      if (!(name === 'ddim_uniform' && steps === 1)) assert.ok(s[0]! <= sd.sigmaMax * 1.0001 && s[0]! > sd.sigmaMax * 0.7, `${name} first ${s[0]}`);
    }
  });
}

test('denoise < 1 runs the last steps+1 sigmas of int(steps/denoise)', () => {
  const full = calculateSigmas(sd, 'normal', Math.trunc(10 / 0.6));
  assert.deepEqual(ksamplerSigmas(sd, 'normal', 'euler', 10, 0.6), full.slice(full.length - 11));
  assert.equal(ksamplerSigmas(sd, 'normal', 'euler', 10, 0).length, 0);
});

test('dpm_2 & co. compute one more step and drop the penultimate sigma', () => {
  const more = calculateSigmas(sd, 'karras', 9);
  const s = ksamplerSigmas(sd, 'karras', 'dpm_2', 8);
  assert.equal(s.length, 9);
  assert.deepEqual(Array.from(s), [...Array.from(more.slice(0, 8)), 0]);
});

test('KSamplerAdvanced start/end steps', () => {
  const s = calculateSigmas(sd, 'normal', 10);
  const cut = sliceSigmas(s, 2, 6, true)!;
  assert.equal(cut.length, 5);
  assert.equal(cut[0], s[2]);
  assert.equal(cut[4], 0);
  assert.equal(sliceSigmas(s, 2, 6, false)![4], s[6]);
  assert.equal(sliceSigmas(s, 10), null);
});

test('incomplete beta inverse inverts I_x(a, b)', () => {
  for (const p of [1e-6, 0.05, 0.3, 0.5, 0.77, 0.999]) assert.ok(Math.abs(betaInc(betaIncInv(p, 0.6, 0.6), 0.6, 0.6) - p) < 1e-12);
  assert.ok(Math.abs(betaIncInv(0.5, 0.6, 0.6) - 0.5) < 1e-12, 'symmetric distribution has median 1/2');
});

test('flow sampling: shift formula, sigma(1) = 1, denoised and noise scaling', () => {
  assert.ok(Math.abs(fluxShift(1024, 1024) - 1.15) < 1e-12);
  assert.ok(Math.abs(fluxShift(64, 64) - 0.459375) < 1e-12);
  const fl = new FlowModelSampling(1.15);
  assert.equal(fl.sigmaMax, 1);
  const x = Float32Array.of(2), v = Float32Array.of(0.5), out = new Float32Array(1);
  assert.equal(fl.denoised(0.4, x, v, out)[0], Math.fround(2 - 0.5 * 0.4));
  assert.ok(Math.abs(fl.noiseScaling(0.25, Float32Array.of(4), Float32Array.of(8), true)[0]! - (0.25 * 4 + 0.75 * 8)) < 1e-6);
});

test('v-prediction denoised = x/(s²+1) − v·s/√(s²+1)', () => {
  const v = new DiscreteModelSampling({ prediction: 'v_prediction' });
  const out = v.denoised(2, Float32Array.of(5), Float32Array.of(1), new Float32Array(1));
  assert.ok(Math.abs(out[0]! - (5 / 5 - 2 / Math.sqrt(5))) < 1e-6);
});
