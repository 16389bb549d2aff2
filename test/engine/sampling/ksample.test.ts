import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ksample, LATENT_FORMATS, type KSampleOptions } from '../../../engine/sampling/ksample.ts';
import { CFGDenoiser, type CondEntry, type ModelFn } from '../../../engine/sampling/cfg.ts';
import { DiscreteModelSampling } from '../../../engine/sampling/model-sampling.ts';
import { InterruptedError } from '../../../engine/errors.ts';
import { latentPreview } from '../../../engine/sampling/preview.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

const ms = new DiscreteModelSampling();
const shape = [1, 4, 8, 8];
const ctx = (v: number): Tensor => ({ shape: [1, 2, 3], data: new Float32Array(6).fill(v) });

/** A model whose denoised prediction is x shrunk toward the row's context value. */
function toyModel(counter?: { calls: number }): ModelFn {
  return async (x, sigma, rows) => {
    if (counter) counter.calls++;
    const per = x.data.length / rows.length;
    const out = new Float32Array(x.data.length);
    for (let r = 0; r < rows.length; r++) {
      const target = rows[r]!.context.data[0]!;
      for (let i = 0; i < per; i++) out[r * per + i] = (x.data[r * per + i]! + sigma * sigma * target) / (1 + sigma * sigma);
    }
    return { shape: x.shape, data: out };
  };
}

function base(over: Partial<KSampleOptions> = {}): KSampleOptions {
  const latent = { shape, data: Float32Array.from({ length: 256 }, (_, i) => Math.sin(i)) };
  return {
    model: toyModel(), modelSampling: ms, latentFormat: LATENT_FORMATS.sd1, positive: [{ context: ctx(1) }], negative: [{ context: ctx(-1) }],
    cfg: 3, latent, seed: 5, sampler: 'euler', scheduler: 'karras', steps: 6, ...over,
  };
}

test('denoise 0 returns the input latent', async () => {
  const o = base({ denoise: 0 });
  const r = await ksample(o);
  assert.deepEqual(r.samples.data, o.latent.data);
});

test('a noise mask of zeros keeps the latent (every cell pinned)', async () => {
  const o = base({ noiseMask: { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64) } });
  const r = await ksample(o);
  for (let i = 0; i < 256; i++) assert.ok(Math.abs(r.samples.data[i]! - o.latent.data[i]!) < 1e-5);
  const free = await ksample(base());
  assert.ok(free.samples.data.some((v, i) => Math.abs(v - o.latent.data[i]!) > 0.1), 'without a mask the latent changes');
});

test('progress events count the steps; the same seed gives the same samples', async () => {
  const seen: number[] = [];
  const a = await ksample(base({ sampler: 'euler_ancestral', onStep: (p) => { seen.push(p.step); assert.equal(p.total, 6); } }));
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  const b = await ksample(base({ sampler: 'euler_ancestral' }));
  const c = await ksample(base({ sampler: 'euler_ancestral', seed: 6 }));
  assert.deepEqual(a.samples.data, b.samples.data);
  assert.notDeepEqual(a.samples.data, c.samples.data);
});

test('an abort stops the run within one step', async () => {
  const counter = { calls: 0 };
  const ac = new AbortController();
  const run = ksample(base({ model: toyModel(counter), signal: ac.signal, steps: 20, onStep: (p) => { if (p.step === 2) ac.abort(); } }));
  await assert.rejects(run, InterruptedError);
  assert.equal(counter.calls, 3);
});

test('CFG: uncond + (cond − uncond)·cfg, and cfg 1 skips the uncond pass', async () => {
  const counter = { calls: 0 };
  const x = new Float32Array(256).fill(0.25);
  const sigma = 2;
  const d = new CFGDenoiser(toyModel(counter), shape, [{ context: ctx(1) }], [{ context: ctx(-1) }], 4);
  const out = await d.denoise(x, sigma);
  const cond = (0.25 + 4 * 1) / 5;
  const unc = (0.25 + 4 * -1) / 5;
  assert.ok(Math.abs(out[0]! - (unc + (cond - unc) * 4)) < 1e-6);
  assert.equal(counter.calls, 1, 'cond and uncond share one batched call');
  const rows: number[] = [];
  const one = new CFGDenoiser(async (xx, s, r) => { rows.push(r.length); return toyModel()(xx, s, r); }, shape, [{ context: ctx(1) }], [{ context: ctx(-1) }], 1);
  assert.ok(Math.abs((await one.denoise(x, sigma))[0]! - cond) < 1e-6);
  assert.deepEqual(rows, [1]);
});

test('ConditioningSetArea + Combine: the area entry only affects its region, feathered inside', async () => {
  const area: CondEntry = { context: ctx(10), area: { height: 4, width: 4, y: 4, x: 4 }, strength: 1 };
  const d = new CFGDenoiser(toyModel(), [1, 1, 8, 8], [{ context: ctx(0) }, area], [{ context: ctx(0) }], 1);
  const out = await d.denoise(new Float32Array(64), 1);
  assert.equal(out[0], 0, 'outside the area only the global cond predicts');
  // Inside: weighted mean of 0 (weight 1) and 5 (= 10·σ²/(1+σ²), weight of the feathered area).
  const inside = out[7 * 8 + 7]!;
  assert.ok(inside > 0 && inside < 5, `inside ${inside}`);
  assert.ok(out[4 * 8 + 4]! < out[7 * 8 + 7]!, 'inner edges are feathered');
});

test('latentPreview maps SD1 channels to bytes', () => {
  const p = latentPreview({ shape: [1, 4, 2, 2], data: new Float32Array(16) }, 'sd1');
  assert.equal(p.rgb.length, 12);
  assert.equal(p.rgb[0], 128);
  assert.throws(() => latentPreview({ shape: [1, 4, 2, 2], data: new Float32Array(16) }, 'flux'));
});
