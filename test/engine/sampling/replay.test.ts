/**
 * Sampler math against ComfyUI's own trajectories without a UNet: the conformance cases record, for every
 * step, x before the update and the denoised prediction (and the ancestral/SDE noise draws). Feeding those
 * predictions back, each step of our sampler must land on ComfyUI's next x. Only samplers with one model
 * call per step can be replayed this way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parseCasesJson, readCaseTensors } from '../../../engine/conformance/runner.ts';
import { getSampler } from '../../../engine/sampling/samplers/index.ts';

const DIR = new URL('../../../../shared/conformance/', import.meta.url).pathname;
const ONE_CALL = new Set(['euler', 'euler_ancestral', 'lms', 'dpmpp_2m', 'dpmpp_2m_sde', 'dpmpp_3m_sde', 'ddim', 'ddpm', 'lcm', 'uni_pc', 'uni_pc_bh2']);
// ipndm and deis are left out: ComfyUI's versions report the initial x at every step, so there is nothing to replay.

const cases = existsSync(DIR + 'cases.json')
  ? ((parseCasesJson(readFileSync(DIR + 'cases.json', 'utf8')) as { cases: any[] }).cases).filter((c) => c.aux?.denoised_at_step && ONE_CALL.has(c.params?.sampler))
  : [];

test('replays ComfyUI trajectories step by step', { skip: cases.length === 0 && 'no shared conformance folder' }, async () => {
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    const t = readCaseTensors(DIR + c.file);
    const sig = t.get('aux.sigmas')!.data as Float32Array;
    const xs = t.get('aux.x_at_step')!.data as Float32Array;
    const ds = t.get('aux.denoised_at_step')!.data as Float32Array;
    const nd = t.get('aux.noise_draws')?.data as Float32Array | undefined;
    const steps = sig.length - 1;
    const n = xs.length / steps;
    let k = 0;
    let q = 0;
    const vp = String(c.params.sampler).startsWith('uni_pc');
    // uni_pc reports x in its variance-preserving space; its input is the sigma-space x.
    const start = vp ? xs.slice(0, n).map((v) => v * Math.sqrt(1 + sig[0]! * sig[0]!)) : xs.slice(0, n);
    let worst = 0;
    await getSampler(c.params.sampler)({ denoise: async () => ds.slice(n * k, n * ++k) }, start, sig, {
      noiseSampler: () => nd!.slice(n * q, n * ++q),
      sdeNoiseSampler: () => nd!.slice(n * q, n * ++q),
      callback: ({ i, x }) => {
        if (i >= steps - 1) return;
        let scale = 0;
        for (let j = 0; j < n; j++) {
          worst = Math.max(worst, Math.abs(x[j]! - xs[n * i + j]!));
          scale = Math.max(scale, Math.abs(xs[n * i + j]!));
        }
        assert.ok(worst <= 1e-5 * Math.max(1, scale), `${c.name} step ${i}: |x − ComfyUI x| = ${worst}`);
      },
    });
    assert.equal(k, steps, `${c.name}: one model call per step`);
  }
});
