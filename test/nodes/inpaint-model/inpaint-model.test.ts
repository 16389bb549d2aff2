import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import KSampler from '../../../nodes/sampling/KSampler.ts';
import CheckpointLoaderSimple from '../../../nodes/loaders/CheckpointLoaderSimple.ts';
import InpaintModelConditioning from '../../../nodes/inpaint/InpaintModelConditioning.ts';
import VAEEncodeForInpaint from '../../../nodes/inpaint/VAEEncodeForInpaint.ts';
import VAEEncode from '../../../nodes/latent/VAEEncode.ts';
import SetLatentNoiseMask from '../../../nodes/inpaint/SetLatentNoiseMask.ts';
import type { Conditioning, Latent } from '../../../engine/graph/sockets.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import type { SdModel } from '../../../engine/models/sd/model.ts';
import { growMaskBox } from '../../../engine/models/sd/inpaint.ts';
import { addCheckpoint, cond, maxDiff, rand, recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let inpaint: [SdModel, unknown, unknown];
let plain: [SdModel, unknown, unknown];
const call = async <T extends unknown[]>(node: { run?: (...a: any[]) => unknown }, inputs: Record<string, unknown>): Promise<T> =>
  (await node.run!(inputs, recordingContext(env, 'x').ctx)) as T;
const pixels = rand([1, 64, 64, 3], 17, 0.5, 0.5);
/** 1 on the left half: inpaint there. */
const mask: Tensor = { shape: [1, 64, 64], data: Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 64 < 32 ? 1 : 0)) };

before(async () => {
  env = tempEnv();
  inpaint = await call(CheckpointLoaderSimple, { ckpt_name: addCheckpoint(env, 'inpaint.safetensors', { family: 'sd1', inpaint: true, seed: 12 }) });
  plain = await call(CheckpointLoaderSimple, { ckpt_name: addCheckpoint(env, 'plain.safetensors', { family: 'sd1', seed: 13 }) });
});

const sample = async (model: SdModel, positive: Conditioning, negative: Conditioning, latent: Latent, denoise = 1) =>
  (await call<[Latent]>(KSampler, { model, seed: 3, steps: 3, cfg: 6, sampler_name: 'euler', scheduler: 'normal', positive, negative, latent_image: latent, denoise }))[0];

test('a 9-channel inpaint checkpoint samples through InpaintModelConditioning; unmasked cells keep the image', async () => {
  const [model, , vae] = inpaint;
  assert.equal(model.inChannels, 9);
  const [p, n, latent] = await call<[Conditioning, Conditioning, Latent]>(InpaintModelConditioning, { positive: cond(32, 1), negative: cond(32, 2), vae, pixels, mask, noise_mask: true });
  assert.ok(p[0]![1].concat_latent_image && p[0]![1].concat_mask, 'both conditionings carry the concat inputs');
  assert.deepEqual(latent.noise_mask?.shape, [1, 1, 64, 64]);
  const out = await sample(model, p, n, latent);
  assert.ok(out.samples.data.every(Number.isFinite));
  // Latent columns 5..7 are entirely outside the mask (the bilinear resize spreads the edge only one cell).
  for (let c = 0; c < 4; c++)
    for (let y = 0; y < 8; y++)
      for (let x = 5; x < 8; x++) {
        const i = (c * 8 + y) * 8 + x;
        assert.ok(Math.abs(out.samples.data[i]! - latent.samples.data[i]!) < 1e-4);
      }
  assert.ok(maxDiff(out.samples.data, latent.samples.data) > 1e-2, 'the masked half was resampled');
  // The extra channels reach the network: another concat mask gives another result.
  const other = p.map(([t, o]) => [t, { ...o, concat_mask: { shape: [1, 1, 64, 64], data: new Float32Array(4096).fill(1) } }]) as Conditioning;
  const out2 = await sample(model, other, n, latent);
  assert.ok(maxDiff(out.samples.data, out2.samples.data) > 1e-4);
});

test('an inpaint checkpoint also runs plain txt2img (all-masked blank concat)', async () => {
  const empty: Latent = { samples: { shape: [1, 4, 8, 8], data: new Float32Array(256) } };
  const out = await sample(inpaint[0], cond(32, 1), cond(32, 2), empty);
  assert.ok(out.samples.data.every(Number.isFinite));
});

test('VAEEncodeForInpaint greys the masked pixels before encoding and grows the mask', async () => {
  const [, , vae] = inpaint;
  const [latent] = await call<[Latent]>(VAEEncodeForInpaint, { pixels, vae, mask, grow_mask_by: 6 });
  const grey = { shape: pixels.shape, data: pixels.data.map((v, i) => (Math.floor(i / 3) % 64 < 32 ? 0.5 : v)) };
  const [ref] = await call<[Latent]>(VAEEncode, { pixels: grey, vae });
  assert.ok(maxDiff(latent.samples.data, ref.samples.data) < 1e-5);
  const m = latent.noise_mask!;
  assert.deepEqual(m.shape, [1, 1, 64, 64]);
  // 6×6 box with padding 3: the mask's right edge (column 31) grows to column 34.
  assert.equal(m.data[34], 1);
  assert.equal(m.data[35], 0);
  assert.deepEqual(growMaskBox({ shape: [1, 1, 4, 4], data: new Float32Array(16) }, 6).data, new Float32Array(16));
  const out = await sample(inpaint[0], cond(32, 1), cond(32, 2), latent);
  assert.ok(out.samples.data.every(Number.isFinite));
});

test('SetLatentNoiseMask with an all-zero mask leaves the latent unchanged', async () => {
  const [model, , vae] = plain;
  const [enc] = await call<[Latent]>(VAEEncode, { pixels, vae });
  const [masked] = await call<[Latent]>(SetLatentNoiseMask, { samples: enc, mask: { shape: [1, 64, 64], data: new Float32Array(4096) } });
  const out = await sample(model, cond(32, 1), cond(32, 2), masked, 0.8);
  assert.ok(maxDiff(out.samples.data, enc.samples.data) < 1e-4);
});
