import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import KSampler from '../../../nodes/sampling/KSampler.ts';
import KSamplerAdvanced from '../../../nodes/sampling/KSamplerAdvanced.ts';
import CheckpointLoaderSimple from '../../../nodes/loaders/CheckpointLoaderSimple.ts';
import VAEDecode from '../../../nodes/latent/VAEDecode.ts';
import VAEEncode from '../../../nodes/latent/VAEEncode.ts';
import type { Latent } from '../../../engine/graph/sockets.ts';
import { InterruptedError } from '../../../engine/errors.ts';
import { SdModel } from '../../../engine/models/sd/model.ts';
import { SdVae } from '../../../engine/models/sd/vae.ts';
import { addCheckpoint, cond, maxDiff, rand, recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let model: SdModel;
let vae: SdVae;
const empty = (): Latent => ({ samples: { shape: [1, 4, 8, 8], data: new Float32Array(256) } });

before(async () => {
  env = tempEnv();
  const name = addCheckpoint(env, 'tiny.safetensors', { family: 'sd1', seed: 3 });
  const out = (await CheckpointLoaderSimple.run!({ ckpt_name: name }, recordingContext(env, 'CheckpointLoaderSimple').ctx)) as unknown[];
  model = out[0] as SdModel;
  vae = out[2] as SdVae;
});

async function ksampler(inputs: Partial<Parameters<NonNullable<typeof KSampler.run>>[0]>, rec = recordingContext(env, 'KSampler')): Promise<Latent> {
  const all = { model, seed: 7n, steps: 3, cfg: 5, sampler_name: 'euler', scheduler: 'normal', positive: cond(32, 1), negative: cond(32, 2), latent_image: empty(), denoise: 1, ...inputs };
  const out = (await KSampler.run!(all as never, rec.ctx)) as [Latent];
  return out[0];
}

test('the checkpoint loader returns the SD1 MODEL and VAE of the file', () => {
  assert.ok(model instanceof SdModel);
  assert.equal(model.family, 'sd1');
  assert.equal(model.modelSampling.prediction, 'eps');
  assert.ok(vae instanceof SdVae);
  assert.equal(vae.latentChannels, 4);
});

test('KSampler: same seed gives the same latent, another seed another one; progress counts steps with previews', async () => {
  const rec = recordingContext(env, 'KSampler');
  const a = await ksampler({}, rec);
  const b = await ksampler({});
  const c = await ksampler({ seed: 8n });
  assert.deepEqual(a.samples.shape, [1, 4, 8, 8]);
  assert.ok(a.samples.data.every(Number.isFinite));
  assert.equal(maxDiff(a.samples.data, b.samples.data), 0);
  assert.ok(maxDiff(a.samples.data, c.samples.data) > 1e-3);
  assert.deepEqual(rec.progress, [[1, 3], [2, 3], [3, 3]]);
  assert.equal(rec.previews, 3);
});

test('KSampler: a seed above 2^53 arrives as a bigint and seeds the generator by its low 32 bits, as torch does', async () => {
  const big = await ksampler({ seed: 2n ** 63n + 7n });
  const small = await ksampler({ seed: 7n });
  // torch.manual_seed keeps the low 32 bits for the CPU generator: 2^63+7 and 7 share them.
  assert.equal(maxDiff(big.samples.data, small.samples.data), 0);
});

test('img2img with denoise 0 returns the input latent unchanged', async () => {
  const enc = (await VAEEncode.run!({ pixels: rand([1, 64, 64, 3], 5, 0.5, 0.5), vae }, recordingContext(env, 'VAEEncode').ctx)) as [Latent];
  const out = await ksampler({ latent_image: enc[0], denoise: 0 });
  assert.deepEqual(out.samples.data, enc[0].samples.data);
});

test('a noise mask of zeros keeps every cell of the latent', async () => {
  const latent: Latent = { samples: rand([1, 4, 8, 8], 9), noise_mask: { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64) } };
  const out = await ksampler({ latent_image: latent, denoise: 0.6 });
  assert.ok(maxDiff(out.samples.data, latent.samples.data) < 1e-4, `changed by ${maxDiff(out.samples.data, latent.samples.data)}`);
  assert.ok(out.noise_mask, 'the noise mask rides along like ComfyUI\'s latent.copy()');
});

test('KSamplerAdvanced: two halves with leftover noise equal one full run (euler)', async () => {
  const common = { model, add_noise: 'enable', noise_seed: 11, steps: 4, cfg: 5, sampler_name: 'euler', scheduler: 'normal', positive: cond(32, 1), negative: cond(32, 2) };
  const run = async (i: Record<string, unknown>) => ((await KSamplerAdvanced.run!({ ...common, ...i } as never, recordingContext(env, 'KSamplerAdvanced').ctx)) as [Latent])[0];
  const full = await run({ latent_image: empty(), start_at_step: 0, end_at_step: 10000, return_with_leftover_noise: 'disable' });
  const first = await run({ latent_image: empty(), start_at_step: 0, end_at_step: 2, return_with_leftover_noise: 'enable' });
  const second = await run({ latent_image: first, add_noise: 'disable', start_at_step: 2, end_at_step: 10000, return_with_leftover_noise: 'disable' });
  const d = maxDiff(full.samples.data, second.samples.data);
  const scale = Math.max(...full.samples.data.map(Math.abs));
  assert.ok(d <= 1e-4 * scale + 1e-4, `halves differ from the full run by ${d} (scale ${scale})`);
  assert.ok(maxDiff(first.samples.data, full.samples.data) > 1e-3, 'the first half alone is not finished');
});

test('an interrupt stops sampling within one step', async () => {
  const rec = recordingContext(env, 'KSampler', (value) => {
    if (value === 2) rec.abort.abort();
  });
  await assert.rejects(ksampler({ steps: 6 }, rec), InterruptedError);
  assert.ok(rec.progress.length <= 2, `ran ${rec.progress.length} steps`);
});

test('VAEDecode gives an IMAGE 8× the latent size in [0, 1]', async () => {
  const out = (await VAEDecode.run!({ samples: { samples: rand([2, 4, 8, 8], 4) }, vae }, recordingContext(env, 'VAEDecode').ctx)) as [import('../../../engine/tensor/tensor.ts').Tensor];
  assert.deepEqual(out[0].shape, [2, 64, 64, 3]);
  assert.ok(out[0].data.every((v) => v >= 0 && v <= 1));
});

test('errors name the input: a latent of another family, a conditioning of another width', async () => {
  await assert.rejects(ksampler({ latent_image: { samples: rand([1, 16, 8, 8], 1) } }), (e: Error & { input?: string }) => e.input === 'latent_image');
  await assert.rejects(ksampler({ positive: cond(48, 1) }), (e: Error & { input?: string }) => e.input === 'positive' && /48 wide/.test(e.message));
  await assert.rejects(async () => KSampler.run!({ model: 'nope' } as never, recordingContext(env, 'KSampler').ctx), (e: Error & { input?: string }) => e.input === 'model');
});
