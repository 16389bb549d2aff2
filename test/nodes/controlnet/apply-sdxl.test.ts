/**
 * An SDXL ControlNet (LDM layout with `label_emb`, so it takes the pooled ADM vector `y` like the UNet) through
 * the executor: Apply ControlNet at strength 0 gives the plain picture bit for bit, at 1 another one; an SD1
 * ControlNet on the SDXL model is refused with a message naming the mismatch.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Executor } from '../../../engine/execute/executor.ts';
import { writeControlNet } from '../../../engine/models/fixtures/index.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { addCheckpoint, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let executor: Executor;

before(() => {
  env = tempEnv();
  addCheckpoint(env, 'xl.safetensors', { family: 'sdxl', seed: 51 });
  const dir = path.join(env.base, 'models', 'controlnet');
  fs.mkdirSync(dir, { recursive: true });
  writeControlNet(path.join(dir, 'xl_canny.safetensors'), { family: 'sdxl' }, { seed: 52 });
  writeControlNet(path.join(dir, 'sd15_canny.safetensors'), { family: 'sd1' }, { seed: 53 });
  executor = new Executor({ registry: createRegistry(), services: env.services });
});

function graph(cn: string | null, strength: number) {
  const positive = cn ? ['11', 0] : ['6', 0];
  const negative = cn ? ['11', 1] : ['7', 0];
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'xl.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse at dusk', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    ...(cn ? {
      '10': { class_type: 'ControlNetLoader', inputs: { control_net_name: cn } },
      '12': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0x80c040 } },
      '11': { class_type: 'ControlNetApplyAdvanced', inputs: { positive: ['6', 0], negative: ['7', 0], control_net: ['10', 0], image: ['12', 0], strength, start_percent: 0, end_percent: 1 } },
    } : {}),
    '3': { class_type: 'KSampler', inputs: { seed: 9, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive, negative, latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: `xl_${cn}_${strength}`, images: ['8', 0] } },
  };
}

test('SDXL ControlNet (label_emb → y): strength 0 is the plain run, strength 1 changes it', async () => {
  const run = async (cn: string | null, strength: number) => {
    const r = await executor.execute(`xl-${cn}-${strength}`, graph(cn, strength));
    assert.equal(r.status, 'success', JSON.stringify(r.error));
    const img = r.outputs['9']!.images![0] as { filename: string; subfolder: string };
    return fs.readFileSync(path.join(env.folders.outputDir, img.subfolder, img.filename));
  };
  const { default: sharp } = await import('sharp');
  const px = async (b: Buffer) => sharp(b).raw().toBuffer();
  const plain = await px(await run(null, 1));
  assert.ok((await px(await run('xl_canny.safetensors', 0))).equals(plain), 'strength 0 = no ControlNet');
  assert.ok(!(await px(await run('xl_canny.safetensors', 1))).equals(plain), 'the SDXL ControlNet steers the image');
});

test('an SD1.5 ControlNet on an SDXL model fails with a message naming the mismatch', async () => {
  const r = await executor.execute('xl-wrong', graph('sd15_canny.safetensors', 1));
  assert.equal(r.status, 'error');
  assert.match(JSON.stringify(r.error), /made for another model family/);
});
