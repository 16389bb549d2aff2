/**
 * A ControlNet Union through the executor: CheckpointLoaderSimple (tiny SDXL) → ControlNetLoader →
 * SetUnionControlNetType → ControlNetApplyAdvanced → KSampler. Control changes the picture, the type matters,
 * strength 0 is the plain run; an SD1.5 model and an unknown type fail with messages naming the problem.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Executor } from '../../../engine/execute/executor.ts';
import { writeUnionControlNet } from '../../../engine/models/fixtures/union.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { addCheckpoint, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let executor: Executor;

before(() => {
  env = tempEnv();
  addCheckpoint(env, 'xl.safetensors', { family: 'sdxl', seed: 51 });
  addCheckpoint(env, 'sd15.safetensors', { family: 'sd1', seed: 54 });
  const dir = path.join(env.base, 'models', 'controlnet');
  fs.mkdirSync(dir, { recursive: true });
  writeUnionControlNet(path.join(dir, 'union_promax.safetensors'), { family: 'sdxl' }, { seed: 52 });
  executor = new Executor({ registry: createRegistry(), services: env.services });
});

interface Run { ckpt?: string; type?: string | null; strength?: number }

function graph({ ckpt = 'xl.safetensors', type, strength = 1 }: Run) {
  const control = type !== undefined;
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse at dusk', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    ...(control ? {
      '10': { class_type: 'ControlNetLoader', inputs: { control_net_name: 'union_promax.safetensors' } },
      ...(type ? { '13': { class_type: 'SetUnionControlNetType', inputs: { control_net: ['10', 0], type } } } : {}),
      '12': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0x80c040 } },
      '11': { class_type: 'ControlNetApplyAdvanced', inputs: { positive: ['6', 0], negative: ['7', 0], control_net: [type ? '13' : '10', 0], image: ['12', 0], strength, start_percent: 0, end_percent: 1 } },
    } : {}),
    '3': { class_type: 'KSampler', inputs: { seed: 9, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: control ? ['11', 0] : ['6', 0], negative: control ? ['11', 1] : ['7', 0], latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'union', images: ['8', 0] } },
  };
}

let n = 0;
async function pixels(r: Run): Promise<Buffer> {
  const res = await executor.execute(`union-${n++}`, graph(r));
  assert.equal(res.status, 'success', JSON.stringify(res.error));
  const img = res.outputs['9']!.images![0] as { filename: string; subfolder: string };
  const { default: sharp } = await import('sharp');
  return sharp(fs.readFileSync(path.join(env.folders.outputDir, img.subfolder, img.filename))).raw().toBuffer();
}

test('SetUnionControlNetType → Apply ControlNet steers SDXL; the type matters; strength 0 is the plain run', async () => {
  const plain = await pixels({});
  const depth = await pixels({ type: 'depth' });
  assert.ok(!depth.equals(plain), 'the union ControlNet steers the image');
  assert.ok(!(await pixels({ type: 'canny/lineart/anime_lineart/mlsd' })).equals(depth), 'another type, another image');
  assert.ok(!(await pixels({ type: null })).equals(depth), 'no SetUnionControlNetType ("auto") differs from depth');
  assert.ok((await pixels({ type: 'depth', strength: 0 })).equals(plain), 'strength 0 = no ControlNet');
});

test('a union ControlNet on an SD1.5 model fails naming the file; an unknown type fails validation', async () => {
  const r = await executor.execute('union-sd1', graph({ ckpt: 'sd15.safetensors', type: 'depth' }));
  assert.equal(r.status, 'error');
  assert.match(JSON.stringify(r.error), /union_promax\.safetensors: a ControlNet Union is an SDXL ControlNet/);
  const bad = await executor.execute('union-bad-type', graph({ type: 'sketch' }));
  assert.equal(bad.status, 'error');
  assert.equal(bad.error?.node_type, 'SetUnionControlNetType');
  assert.match(bad.error!.exception_message, /type: unknown union ControlNet type 'sketch' \(one of auto, openpose, depth/);
});
