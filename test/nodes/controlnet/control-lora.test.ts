/**
 * A Control-LoRA through the executor, as ComfyUI runs one: ControlNetLoader (no model) → Apply ControlNet
 * (Advanced) → KSampler on a LoRA'd model. The picture equals the one from the full ControlNet built from the
 * LoRA'd UNet weights; DiffControlNetLoader's model is ignored for a Control-LoRA (the sampled model counts).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Executor } from '../../../engine/execute/executor.ts';
import { writeSafetensors } from '../../../engine/io/safetensors.ts';
import { writeLora } from '../../../engine/models/fixtures/index.ts';
import { controlLoraPair } from '../../../engine/models/fixtures/control-lora.ts';
import { modelUNetWeights } from '../../../engine/models/controlnet/control-lora.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import { loadLoraForModels } from '../../../engine/models/lora/loader.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { addCheckpoint, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let executor: Executor;

before(() => {
  env = tempEnv();
  addCheckpoint(env, 'tiny.safetensors', { family: 'sd1', seed: 31 });
  const dir = (d: string): string => { const p = path.join(env.base, 'models', d); fs.mkdirSync(p, { recursive: true }); return p; };
  const lora = path.join(dir('loras'), 'style.safetensors');
  writeLora(lora, { family: 'sd1' }, { seed: 32 });
  const cacheDir = path.join(env.base, 'temp');
  const base = loadCheckpoint(path.join(env.base, 'models', 'checkpoints', 'tiny.safetensors'), { cacheDir }).model;
  const patched = loadLoraForModels(base, null, lora, 0.8, 0, { cacheDir: path.join(cacheDir, 'lora') }).model!;
  const u = modelUNetWeights(patched);
  try {
    const { lora: cl, full } = controlLoraPair(u.src, patched.source.prefix, { seed: 33 });
    writeSafetensors(path.join(dir('controlnet'), 'control-lora-canny-rank2.safetensors'), cl);
    writeSafetensors(path.join(dir('controlnet'), 'full.safetensors'), full, u.src.metadata);
  } finally {
    u.close();
  }
  executor = new Executor({ registry: createRegistry(), services: env.services });
});

function graph(loader: 'ControlNetLoader' | 'DiffControlNetLoader' | null, cn: string) {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'tiny.safetensors' } },
    '13': { class_type: 'LoraLoaderModelOnly', inputs: { model: ['4', 0], lora_name: 'style.safetensors', strength_model: 0.8 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse at dusk', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '10': loader === 'DiffControlNetLoader'
      ? { class_type: loader, inputs: { model: ['4', 0], control_net_name: cn } }
      : { class_type: 'ControlNetLoader', inputs: { control_net_name: cn } },
    '12': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0x80c040 } },
    '11': { class_type: 'ControlNetApplyAdvanced', inputs: { positive: ['6', 0], negative: ['7', 0], control_net: ['10', 0], image: ['12', 0], strength: 1, start_percent: 0, end_percent: 1 } },
    '3': { class_type: 'KSampler', inputs: { seed: 9, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['13', 0], positive: loader ? ['11', 0] : ['6', 0], negative: loader ? ['11', 1] : ['7', 0], latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: `cl_${loader}_${cn}`, images: ['8', 0] } },
  };
}

test('Control-LoRA via ControlNetLoader on a LoRA\'d model = the full ControlNet from the patched UNet; DiffControlNetLoader alike', async () => {
  const { default: sharp } = await import('sharp');
  const run = async (loader: Parameters<typeof graph>[0], cn: string): Promise<Buffer> => {
    const r = await executor.execute(`${loader}-${cn}`, graph(loader, cn));
    assert.equal(r.status, 'success', JSON.stringify(r.error));
    const img = r.outputs['9']!.images![0] as { filename: string; subfolder: string };
    return sharp(fs.readFileSync(path.join(env.folders.outputDir, img.subfolder, img.filename))).raw().toBuffer();
  };
  const worst = (a: Buffer, b: Buffer): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  const want = await run('ControlNetLoader', 'full.safetensors');
  const got = await run('ControlNetLoader', 'control-lora-canny-rank2.safetensors');
  assert.equal(got.length, want.length);
  assert.ok(worst(got, want) <= 1, `Control-LoRA vs full ControlNet: max pixel Δ ${worst(got, want)}`);
  // DiffControlNetLoader is given the model without the LoRA: ComfyUI ignores it for a Control-LoRA.
  assert.ok(worst(await run('DiffControlNetLoader', 'control-lora-canny-rank2.safetensors'), want) <= 1);
  assert.ok(worst(await run(null, 'full.safetensors'), want) > 8, 'the ControlNet steers the picture, so the comparison can fail');
});
