import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import VAEDecode from '../../../nodes/latent/VAEDecode.ts';
import VAEDecodeTiled from '../../../nodes/latent/VAEDecodeTiled.ts';
import VAEEncode from '../../../nodes/latent/VAEEncode.ts';
import VAEEncodeTiled from '../../../nodes/latent/VAEEncodeTiled.ts';
import VAELoader from '../../../nodes/loaders/VAELoader.ts';
import CheckpointLoaderSimple from '../../../nodes/loaders/CheckpointLoaderSimple.ts';
import type { Latent } from '../../../engine/graph/sockets.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { SdVae } from '../../../engine/models/sd/vae.ts';
import { DEMO_CHECKPOINT, ensureDemoCheckpoint } from '../../../engine/models/demo.ts';
import { maxDiff, rand, recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let vae: SdVae;
const call = async <T extends unknown[]>(node: { run?: (...a: any[]) => unknown }, inputs: Record<string, unknown>): Promise<T> =>
  (await node.run!(inputs, recordingContext(env, 'x').ctx)) as T;

before(async () => {
  env = tempEnv();
  // The demo checkpoint doubles as this file's fixture: written once, loadable, named as noise.
  assert.equal(ensureDemoCheckpoint(path.join(env.base, 'models')), DEMO_CHECKPOINT);
  const file = path.join(env.base, 'models', 'checkpoints', DEMO_CHECKPOINT);
  const mtime = fs.statSync(file).mtimeMs;
  ensureDemoCheckpoint(path.join(env.base, 'models'));
  assert.equal(fs.statSync(file).mtimeMs, mtime, 'an existing demo checkpoint is not rewritten');
  [, , vae] = await call<[unknown, unknown, SdVae]>(CheckpointLoaderSimple, { ckpt_name: DEMO_CHECKPOINT });
});

test('tiled decode with one tile equals VAEDecode; smaller tiles blend to the same shape and range', async () => {
  const samples: Latent = { samples: rand([1, 4, 12, 12], 3) };
  const [full] = await call<[Tensor]>(VAEDecode, { samples, vae });
  const [one] = await call<[Tensor]>(VAEDecodeTiled, { samples, vae, tile_size: 256, overlap: 64, temporal_size: 64, temporal_overlap: 8 });
  assert.ok(maxDiff(full.data, one.data) < 1e-5, `${maxDiff(full.data, one.data)}`);
  const [small] = await call<[Tensor]>(VAEDecodeTiled, { samples, vae, tile_size: 64, overlap: 32, temporal_size: 64, temporal_overlap: 8 });
  assert.deepEqual(small.shape, [1, 96, 96, 3]);
  assert.ok(small.data.every((v) => v >= 0 && v <= 1));
  assert.ok(maxDiff(full.data, small.data) > 0, 'several tiles were actually used');
});

test('tiled encode with one tile equals VAEEncode', async () => {
  const pixels = rand([1, 64, 64, 3], 8, 0.5, 0.5);
  const [a] = await call<[Latent]>(VAEEncode, { pixels, vae });
  const [b] = await call<[Latent]>(VAEEncodeTiled, { pixels, vae, tile_size: 512, overlap: 64, temporal_size: 64, temporal_overlap: 8 });
  assert.deepEqual(a.samples.shape, [1, 4, 8, 8]);
  assert.ok(maxDiff(a.samples.data, b.samples.data) < 1e-5);
});

test('VAELoader loads the VAE of a checkpoint file placed in models/vae; unknown kinds fail by input name', async () => {
  fs.copyFileSync(path.join(env.base, 'models', 'checkpoints', DEMO_CHECKPOINT), path.join(env.base, 'models', 'vae', 'demo-vae.safetensors'));
  const [v] = await call<[SdVae]>(VAELoader, { vae_name: 'demo-vae.safetensors' });
  assert.equal(v.downscale, 8);
  await assert.rejects(call(VAELoader, { vae_name: 'pixel_space' }), (e: Error & { input?: string }) => e.input === 'vae_name');
  await assert.rejects(call(VAEDecode, { samples: { samples: rand([1, 16, 4, 4], 1) }, vae }), (e: Error & { input?: string }) => e.input === 'samples');
});
