/**
 * LoRA on the UNet through the nodes: LoraLoaderModelOnly leaves the CLIP alone, so any change in the image
 * comes from the UNet reading LoRA-merged weights; strength 0 must reproduce the base image exactly.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Executor, type RunResult } from '../../engine/execute/executor.ts';
import { writeLora } from '../../engine/models/fixtures/index.ts';
import { createRegistry } from '../../nodes/index.ts';
import { addCheckpoint, tempEnv, type Env } from './helpers.ts';

let env: Env;
let executor: Executor;

function graph(strength: number | null): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  const model = strength === null ? ['4', 0] : ['10', 0];
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'tiny.safetensors' } },
    ...(strength === null ? {} : { '10': { class_type: 'LoraLoaderModelOnly', inputs: { model: ['4', 0], lora_name: 'style.safetensors', strength_model: strength } } }),
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '3': { class_type: 'KSampler', inputs: { seed: 3, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model, positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: `lora_${strength}`, images: ['8', 0] } },
  };
}

async function pixels(strength: number | null): Promise<Buffer> {
  const r: RunResult = await executor.execute(`p${strength}`, graph(strength));
  assert.equal(r.status, 'success', JSON.stringify(r.error));
  const img = r.outputs['9']!.images![0] as { filename: string; subfolder: string };
  const { default: sharp } = await import('sharp');
  return sharp(fs.readFileSync(path.join(env.folders.outputDir, img.subfolder, img.filename))).raw().toBuffer();
}

before(() => {
  env = tempEnv();
  addCheckpoint(env, 'tiny.safetensors', { family: 'sd1', seed: 31 });
  fs.mkdirSync(path.join(env.base, 'models/loras'), { recursive: true });
  writeLora(path.join(env.base, 'models/loras/style.safetensors'), { family: 'sd1' }, { seed: 32 });
  executor = new Executor({ registry: createRegistry(), services: env.services });
});

test('LoraLoaderModelOnly: strength 0 reproduces the base image, strength 1 changes it (the UNet reads merged weights)', async () => {
  const base = await pixels(null);
  assert.ok((await pixels(0)).equals(base), 'strength 0 = no LoRA');
  const withLora = await pixels(1);
  assert.ok(!withLora.equals(base), 'a LoRA on the UNet changes the image');
});
