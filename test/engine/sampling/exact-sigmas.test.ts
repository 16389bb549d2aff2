/**
 * Schedules bit-for-bit: every scheduler's float32 output must equal ComfyUI's own sigmas, recorded as
 * aux.sigmas in each sampling case and as expected.* in the sigmas_* cases. Exactness matters beyond
 * 1e-7: the SDE samplers' Brownian tree keys on the sigma values, so one float ulp moves its split points
 * and changes the noise by ~1e-3. The unit checks at the top need no golden data; the data checks skip
 * cleanly in a clone without ../shared/conformance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiscreteModelSampling } from '../../../engine/sampling/model-sampling.ts';
import {
  calculateSigmas, exponentialSigmas, fma32, karrasSigmas, ksamplerSigmas, normalSigmas, torchExpF32, torchLinspace32,
} from '../../../engine/sampling/schedulers.ts';
import { sampleDpmppSde } from '../../../engine/sampling/samplers/dpmpp.ts';
import { readCaseTensors } from '../../../engine/conformance/runner.ts';

const f = Math.fround;
const sd = new DiscreteModelSampling();

function ulpDistance(a: number, b: number): number {
  const ia = new Int32Array(Float32Array.of(a).buffer)[0]!;
  const ib = new Int32Array(Float32Array.of(b).buffer)[0]!;
  return Math.abs(ia - ib);
}

test('fma32 rounds a·b + c once (no double rounding through float64)', () => {
  const a = f(1 + 2 ** -23);
  const b = f(1 - 2 ** -23);
  const c = 2 ** 24 + 2;
  // Exactly 2^24 + 3 − 2^-46: just below the float32 midpoint, so it rounds down; a float64 sum lands on
  // the midpoint and ties to even (up).
  assert.equal(fma32(a, b, c), 2 ** 24 + 2);
  assert.equal(f(a * b + c), 2 ** 24 + 4);
  assert.equal(fma32(3, f(0.1), 1), f(1 + 3 * f(0.1)));
  assert.equal(fma32(f(1 / 9), 6, 0), f(6 * f(1 / 9)));
});

test('torchExpF32 stays within 1 float ulp of exp and is exact at 0', () => {
  assert.equal(torchExpF32(0), 1);
  let differ = 0;
  for (let i = 0; i <= 4000; i++) {
    const x = f(-6 + (i * 9) / 4000);
    const got = torchExpF32(x);
    const cr = f(Math.exp(x));
    assert.ok(ulpDistance(got, cr) <= 1, `exp(${x}): ${got} vs ${cr}`);
    if (got !== cr) differ++;
  }
  // It is a 1-ulp routine, not a correctly rounded one: some results must differ (that is the point).
  assert.ok(differ > 0);
  assert.equal(torchExpF32(200), Infinity);
  assert.equal(torchExpF32(-200), 0);
});

test('torchLinspace32: fused scalar halves, 8-lane vector blocks', () => {
  // n < 16: scalar; index 6 of 10 counts down from the end with a fused multiply-add.
  const a = torchLinspace32(0, 1, 10);
  assert.equal(a[6], f(0.6666666865348816));
  assert.equal(a[0], 0);
  assert.equal(a[9], 1);
  // n = 21: lanes 8..15 continue from the block's first value (8 < halfway), so index 14 is 0.4 + 6·0.05.
  const b = torchLinspace32(0, 1, 21);
  assert.equal(b[14], f(f(0.4000000059604645) + f(6 * f(0.05))));
  assert.deepEqual(Array.from(torchLinspace32(3, 3, 1)), [3]);
  assert.equal(torchLinspace32(0, 1, 0).length, 0);
});

test('SD1 schedules: values ComfyUI records (no golden data needed)', () => {
  // sample_euler_karras aux.sigmas (8 steps): every value was 1-2 ulp off before the float32 emulation.
  assert.deepEqual(Array.from(karrasSigmas(8, sd.sigmaMin, sd.sigmaMax)), [
    14.614643096923828, 7.9029340744018555, 4.027738571166992, 1.9103562831878662, 0.82886803150177,
    0.32111963629722595, 0.10719844698905945, 0.0291671771556139, 0,
  ]);
  const normal = normalSigmas(sd, 8);
  // σ(999) goes through the float32 log-space interpolation and exp: not the table's 14.614641189575195.
  assert.equal(normal[0], 14.614640235900879);
  assert.equal(normal[5], 0.791259765625); // the correctly rounded exp gives 0.7912598252296448
  const expo = exponentialSigmas(8, sd.sigmaMin, sd.sigmaMax);
  assert.equal(expo[2], 2.4739437103271484);
  assert.equal(expo[4], 0.4187854528427124);
});

const CONF = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/conformance');
const why = fs.existsSync(path.join(CONF, 'cases.json')) ? false : `${CONF} not found (a clone without ../shared has no golden data)`;
const cases = (): any[] => JSON.parse(fs.readFileSync(path.join(CONF, 'cases.json'), 'utf8')).cases;
const SAMPLE = /^(sample_|img2img_|inpaint_|sdxl_|sd2v_)/;

function mismatches(got: Float32Array, want: Float32Array): string[] {
  if (got.length !== want.length) return [`length ${got.length} vs ${want.length}`];
  const out: string[] = [];
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) out.push(`[${i}] ${got[i]} vs ${want[i]}`);
  return out;
}

test('every sampling case: ksamplerSigmas equals the recorded aux.sigmas bit for bit', { skip: why }, () => {
  let n = 0;
  const bad: string[] = [];
  const schedulers = new Set<string>();
  for (const c of cases()) {
    if (!SAMPLE.test(c.name) || !c.aux?.sigmas || typeof c.params?.scheduler !== 'string') continue;
    const t = readCaseTensors(path.join(CONF, c.file));
    const ms = new DiscreteModelSampling({ prediction: c.params.prediction_type === 'v_prediction' ? 'v_prediction' : 'eps' });
    const got = ksamplerSigmas(ms, c.params.scheduler, c.params.sampler, c.params.steps, c.params.denoise ?? 1);
    const diff = mismatches(got, t.get('aux.sigmas')!.data as Float32Array);
    if (diff.length) bad.push(`${c.name}: ${diff.join('; ')}`);
    schedulers.add(c.params.scheduler);
    n++;
  }
  assert.ok(n >= 35, `only ${n} sampling cases with aux.sigmas`);
  for (const s of ['normal', 'karras', 'exponential', 'simple', 'sgm_uniform', 'beta', 'ddim_uniform']) assert.ok(schedulers.has(s), s);
  assert.deepEqual(bad, []);
});

test('sigmas_* cases: every variant (steps, denoise, discard-penultimate) bit for bit', { skip: why }, () => {
  let n = 0;
  const bad: string[] = [];
  for (const c of cases()) {
    if (!c.name.startsWith('sigmas_')) continue;
    const t = readCaseTensors(path.join(CONF, c.file));
    for (const v of c.params.variants) {
      const sampler = String(v.sampler_class).startsWith('dpm_2') ? 'dpm_2' : 'euler';
      const diff = mismatches(ksamplerSigmas(sd, c.params.scheduler, sampler, v.steps, v.denoise), t.get(v.tensor)!.data as Float32Array);
      if (diff.length) bad.push(`${c.name} ${v.tensor}: ${diff.join('; ')}`);
      n++;
    }
  }
  assert.ok(n >= 50, `only ${n} variants`);
  assert.deepEqual(bad, []);
});

test('dpmpp_sde queries the Brownian tree at ComfyUI\'s exact float32 sigmas (incl. midpoints)', { skip: why }, async () => {
  const c = cases().find((x) => x.name === 'sample_dpmpp_sde_normal');
  const t = readCaseTensors(path.join(CONF, c.file));
  const sigmas = t.get('aux.sigmas')!.data as Float32Array;
  assert.deepEqual(mismatches(calculateSigmas(sd, 'normal', 8), sigmas), []);
  const want = t.get('aux.noise_draw_sigmas')!.data as Float32Array;
  const queried: number[] = [];
  const denoiser = { denoise: async (x: Float32Array) => new Float32Array(x.length) };
  await sampleDpmppSde(denoiser, new Float32Array(4), sigmas, {
    sdeNoiseSampler: (a, b) => {
      queried.push(a, b);
      return new Float32Array(4);
    },
  });
  assert.equal(queried.length, want.length);
  assert.deepEqual(mismatches(Float32Array.from(queried), want), []);
});
