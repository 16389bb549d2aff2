import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import KSampler from '../../../nodes/sampling/KSampler.ts';
import SamplerCustomAdvanced from '../../../nodes/sampling/SamplerCustomAdvanced.ts';
import SamplerCustom from '../../../nodes/sampling/SamplerCustom.ts';
import RandomNoise from '../../../nodes/sampling/RandomNoise.ts';
import DisableNoise from '../../../nodes/sampling/DisableNoise.ts';
import CFGGuider from '../../../nodes/sampling/CFGGuider.ts';
import BasicGuider from '../../../nodes/sampling/BasicGuider.ts';
import DualCFGGuider from '../../../nodes/sampling/DualCFGGuider.ts';
import KSamplerSelect from '../../../nodes/sampling/KSamplerSelect.ts';
import BasicScheduler from '../../../nodes/sampling/BasicScheduler.ts';
import SplitSigmas from '../../../nodes/sampling/SplitSigmas.ts';
import SplitSigmasDenoise from '../../../nodes/sampling/SplitSigmasDenoise.ts';
import FlipSigmas from '../../../nodes/sampling/FlipSigmas.ts';
import SDTurboScheduler from '../../../nodes/sampling/SDTurboScheduler.ts';
import KarrasScheduler from '../../../nodes/sampling/KarrasScheduler.ts';
import PolyexponentialScheduler from '../../../nodes/sampling/PolyexponentialScheduler.ts';
import CheckpointLoaderSimple from '../../../nodes/loaders/CheckpointLoaderSimple.ts';
import type { Latent } from '../../../engine/graph/sockets.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { ksamplerSigmas } from '../../../engine/sampling/schedulers.ts';
import type { SdModel } from '../../../engine/models/sd/model.ts';
import { addCheckpoint, cond, maxDiff, recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let model: SdModel;
const empty = (): Latent => ({ samples: { shape: [1, 4, 8, 8], data: new Float32Array(256) } });
const pos = cond(32, 1), neg = cond(32, 2);
// Nodes are called as the executor calls them: typed inputs in, an outputs tuple back.
const call = async <T extends unknown[]>(node: { run?: (...a: any[]) => unknown }, inputs: Record<string, unknown>): Promise<T> =>
  (await node.run!(inputs, recordingContext(env, 'x').ctx)) as T;

before(async () => {
  env = tempEnv();
  const name = addCheckpoint(env, 'tiny.safetensors', { family: 'sd1', seed: 5 });
  [model] = await call<[SdModel]>(CheckpointLoaderSimple, { ckpt_name: name });
});

async function custom(noise: unknown, guider: unknown, sampler = 'euler', steps = 3, denoise = 1): Promise<[Latent, Latent]> {
  const [s] = await call<[unknown]>(KSamplerSelect, { sampler_name: sampler });
  const [sigmas] = await call<[Tensor]>(BasicScheduler, { model, scheduler: 'karras', steps, denoise });
  return call<[Latent, Latent]>(SamplerCustomAdvanced, { noise, guider, sampler: s, sigmas, latent_image: empty() });
}

test('SamplerCustomAdvanced with RandomNoise + CFGGuider + KSamplerSelect + BasicScheduler equals KSampler', async () => {
  for (const sampler of ['euler', 'euler_ancestral']) {
    const [noise] = await call<[unknown]>(RandomNoise, { noise_seed: 42 });
    const [guider] = await call<[unknown]>(CFGGuider, { model, positive: pos, negative: neg, cfg: 6 });
    const [out, denoised] = await custom(noise, guider, sampler);
    const [k] = await call<[Latent]>(KSampler, { model, seed: 42, steps: 3, cfg: 6, sampler_name: sampler, scheduler: 'karras', positive: pos, negative: neg, latent_image: empty(), denoise: 1 });
    assert.equal(maxDiff(out.samples.data, k.samples.data), 0, sampler);
    // The last step lands on sigma 0 with euler: the output is the last denoised prediction.
    if (sampler === 'euler') assert.ok(maxDiff(out.samples.data, denoised.samples.data) < 1e-4);
  }
});

test('BasicGuider is CFG 1 on the positive alone; DisableNoise starts from the latent itself', async () => {
  const [noise] = await call<[unknown]>(RandomNoise, { noise_seed: 3 });
  const [basic] = await call<[unknown]>(BasicGuider, { model, conditioning: pos });
  const [cfg1] = await call<[unknown]>(CFGGuider, { model, positive: pos, negative: neg, cfg: 1 });
  const [a] = await custom(noise, basic);
  const [b] = await custom(noise, cfg1);
  assert.equal(maxDiff(a.samples.data, b.samples.data), 0);
  const [off] = await call<[unknown]>(DisableNoise, {});
  const [c] = await custom(off, basic);
  assert.ok(maxDiff(a.samples.data, c.samples.data) > 1e-3);
});

test('DualCFGGuider with cond2 = cond1 reduces to CFG on (cond1, negative) at cfg_cond2_negative', async () => {
  const [noise] = await call<[unknown]>(RandomNoise, { noise_seed: 8 });
  const [dual] = await call<[unknown]>(DualCFGGuider, { model, cond1: pos, cond2: pos, negative: neg, cfg_conds: 3, cfg_cond2_negative: 5, style: 'regular' });
  const [plain] = await call<[unknown]>(CFGGuider, { model, positive: pos, negative: neg, cfg: 5 });
  const [a] = await custom(noise, dual);
  const [b] = await custom(noise, plain);
  assert.ok(maxDiff(a.samples.data, b.samples.data) < 1e-3, `${maxDiff(a.samples.data, b.samples.data)}`);
  await assert.rejects(call(DualCFGGuider, { model, cond1: pos, cond2: pos, negative: neg, cfg_conds: 3, cfg_cond2_negative: 5, style: 'nested' }), /not implemented/);
});

test('SamplerCustom with add_noise equals KSampler; it returns output and denoised_output', async () => {
  const [s] = await call<[unknown]>(KSamplerSelect, { sampler_name: 'dpmpp_2m' });
  const [sigmas] = await call<[Tensor]>(BasicScheduler, { model, scheduler: 'normal', steps: 3, denoise: 1 });
  const [out, den] = await call<[Latent, Latent]>(SamplerCustom, { model, add_noise: true, noise_seed: 4, cfg: 7, positive: pos, negative: neg, sampler: s, sigmas, latent_image: empty() });
  const [k] = await call<[Latent]>(KSampler, { model, seed: 4, steps: 3, cfg: 7, sampler_name: 'dpmpp_2m', scheduler: 'normal', positive: pos, negative: neg, latent_image: empty(), denoise: 1 });
  assert.equal(maxDiff(out.samples.data, k.samples.data), 0);
  assert.deepEqual(den.samples.shape, [1, 4, 8, 8]);
});

test('schedulers and SIGMAS operations follow ComfyUI', async () => {
  const ms = model.modelSampling;
  const [basic] = await call<[Tensor]>(BasicScheduler, { model, scheduler: 'normal', steps: 4, denoise: 0.5 });
  assert.deepEqual([...basic.data], [...ksamplerSigmas(ms, 'normal', 'euler', 4, 0.5)]);
  assert.equal(basic.data.length, 5);
  const [hi, lo] = await call<[Tensor, Tensor]>(SplitSigmas, { sigmas: basic, step: 2 });
  assert.deepEqual([...hi.data], [...basic.data.slice(0, 3)]);
  assert.deepEqual([...lo.data], [...basic.data.slice(2)]);
  const [h2, l2] = await call<[Tensor, Tensor]>(SplitSigmasDenoise, { sigmas: basic, denoise: 0.25 });
  assert.deepEqual([h2.data.length, l2.data.length], [4, 2]);
  const [flip] = await call<[Tensor]>(FlipSigmas, { sigmas: basic });
  assert.equal(flip.data[0], Math.fround(0.0001));
  assert.equal(flip.data[4], basic.data[0]);
  const [turbo] = await call<[Tensor]>(SDTurboScheduler, { model, steps: 2, denoise: 1 });
  assert.deepEqual([...turbo.data], [ms.sigma(999), ms.sigma(899), 0]);
  const [karras] = await call<[Tensor]>(KarrasScheduler, { steps: 3, sigma_max: 14.614642, sigma_min: 0.0291675, rho: 7 });
  assert.ok(Math.abs(karras.data[0]! - 14.614642) < 1e-4 && karras.data[3] === 0);
  const [poly] = await call<[Tensor]>(PolyexponentialScheduler, { steps: 3, sigma_max: 10, sigma_min: 0.1, rho: 1 });
  // rho 1: geometric from max to min.
  assert.ok(Math.abs(poly.data[1]! - 1) < 1e-5 && Math.abs(poly.data[0]! - 10) < 1e-4 && poly.data[3] === 0);
});
