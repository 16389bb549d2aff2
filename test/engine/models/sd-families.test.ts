/** SDXL (pooled text + size ADM vector `y`) and SD2 v-prediction checkpoints run the default txt2img graph. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Executor } from '../../../engine/execute/executor.ts';
import { createRegistry } from '../../../nodes/index.ts';
import type { SdModel } from '../../../engine/models/sd/model.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import { addCheckpoint, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let executor: Executor;

before(() => {
  env = tempEnv();
  addCheckpoint(env, 'xl.safetensors', { family: 'sdxl', seed: 31 });
  addCheckpoint(env, 'sd2v.safetensors', { family: 'sd2', vPrediction: true, seed: 32 });
  executor = new Executor({ registry: createRegistry(), services: env.services });
});

function graph(ckpt: string, seed: number, extra: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {}) {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse at dusk', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '3': { class_type: 'KSampler', inputs: { seed, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'PreviewImage', inputs: { images: ['8', 0] } },
    ...extra,
  };
}

test('the loader reads family, prediction and latent scale from the file', () => {
  const xl = loadCheckpoint(env.folders.resolveModel('checkpoints', 'xl.safetensors'), { cacheDir: env.base });
  assert.equal(xl.model.family, 'sdxl');
  assert.equal(xl.model.latentFormat.scale, 0.13025);
  assert.ok((xl.model.detected.unet?.admInChannels ?? 0) > 0);
  const v = loadCheckpoint(env.folders.resolveModel('checkpoints', 'sd2v.safetensors'), { cacheDir: env.base });
  assert.equal(v.model.family, 'sd2');
  assert.equal((v.model as SdModel).modelSampling.prediction, 'v_prediction');
});

for (const ckpt of ['xl.safetensors', 'sd2v.safetensors']) {
  test(`${ckpt}: txt2img through the executor, seed-deterministic`, async () => {
    const a = await executor.execute('a', graph(ckpt, 1));
    assert.equal(a.status, 'success', JSON.stringify(a.error));
    const img = a.outputs['9']?.images?.[0];
    assert.ok(img);
    const b = await executor.execute('b', graph(ckpt, 2));
    assert.equal(b.status, 'success', JSON.stringify(b.error));
    assert.deepEqual([...b.executed].sort(), ['3', '8', '9']);
  });
}

test('SDXL: CLIPTextEncodeSDXL sizes reach the ADM vector and therefore the image', async () => {
  const sdxlEnc = (w: number) => ({ '6': { class_type: 'CLIPTextEncodeSDXL', inputs: { clip: ['4', 1], width: w, height: 1024, crop_w: 0, crop_h: 0, target_width: 1024, target_height: 1024, text_g: 'a lighthouse', text_l: 'a lighthouse' } } });
  const image = (r: Awaited<ReturnType<Executor['execute']>>) => {
    assert.equal(r.status, 'success', JSON.stringify(r.error));
    const i = r.outputs['9']!.images![0] as { filename: string; subfolder: string };
    return fs.readFileSync(path.join(env.folders.tempDir, i.subfolder, i.filename));
  };
  const a = image(await executor.execute('c', graph('xl.safetensors', 3, sdxlEnc(1024))));
  const b = image(await executor.execute('d', graph('xl.safetensors', 3, sdxlEnc(512))));
  assert.ok(!a.equals(b));
});
