/**
 * IPAdapterAdvanced with attn_mask and the precise weight types through validation and the executor on a
 * tiny SD1 checkpoint: an all-ones mask is the unmasked picture and an all-zeros one the picture without the
 * adapter, bit for bit; a changed mask reruns the node (and what follows) while an unchanged prompt is cached.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Executor, type RunResult } from '../../../engine/execute/executor.ts';
import { validatePrompt } from '../../../engine/validate/index.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { addCheckpoint, tempEnv, TINY_VAE, type Env } from '../../e2e/helpers.ts';
import { writeTinyClipVision, writeTinyIpAdapter } from '../../e2e/support/tiny-adapters.ts';

let env: Env;
let executor: Executor;
const registry = createRegistry();

before(() => {
  env = tempEnv();
  const o = { family: 'sd1', seed: 31 } as const;
  addCheckpoint(env, 'tiny.safetensors', o);
  for (const d of ['ipadapter', 'clip_vision']) fs.mkdirSync(path.join(env.base, 'models', d), { recursive: true });
  writeTinyIpAdapter(path.join(env.base, 'models/ipadapter/ip.safetensors'), { ...TINY_VAE, vaeChMult: [...TINY_VAE.vaeChMult], ...o }, 32);
  writeTinyClipVision(path.join(env.base, 'models/clip_vision/cv.safetensors'));
  executor = new Executor({ registry, services: env.services });
});

interface Opts { mask?: number; weightType?: string; adapter?: boolean }

/** Checkpoint → [IPAdapterAdvanced (image and attn_mask from SolidMask)] → KSampler → VAEDecode → SaveImage. */
function prompt(o: Opts = {}) {
  const nodes: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'tiny.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a red boat', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
  };
  let model: [string, number] = ['4', 0];
  if (o.adapter !== false) {
    nodes['20'] = { class_type: 'IPAdapterModelLoader', inputs: { ipadapter_file: 'ip.safetensors' } };
    nodes['21'] = { class_type: 'CLIPVisionLoader', inputs: { clip_name: 'cv.safetensors' } };
    nodes['22'] = { class_type: 'SolidMask', inputs: { value: 0.7, width: 24, height: 16 } };
    nodes['23'] = { class_type: 'MaskToImage', inputs: { mask: ['22', 0] } };
    nodes['10'] = {
      class_type: 'IPAdapterAdvanced',
      inputs: { model, ipadapter: ['20', 0], image: ['23', 0], clip_vision: ['21', 0], weight: 1.5, weight_type: o.weightType ?? 'linear', combine_embeds: 'concat', start_at: 0, end_at: 1, embeds_scaling: 'V only' },
    };
    if (o.mask !== undefined) {
      nodes['24'] = { class_type: 'SolidMask', inputs: { value: o.mask, width: 64, height: 64 } };
      nodes['10'].inputs.attn_mask = ['24', 0];
    }
    model = ['10', 0];
  }
  nodes['3'] = { class_type: 'KSampler', inputs: { seed: 3, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model, positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } };
  nodes['8'] = { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } };
  nodes['9'] = { class_type: 'SaveImage', inputs: { filename_prefix: 'ip', images: ['8', 0] } };
  return nodes;
}

let runs = 0;
async function execute(o: Opts): Promise<{ r: RunResult; pixels: Buffer }> {
  const r = await executor.execute(`ip-${runs++}`, prompt(o));
  assert.equal(r.status, 'success', JSON.stringify(r.error));
  const img = r.outputs['9']!.images![0] as { filename: string; subfolder: string };
  const { default: sharp } = await import('sharp');
  // Decoded: the PNG's text chunks carry the prompt, which differs between the runs compared.
  return { r, pixels: await sharp(fs.readFileSync(path.join(env.folders.outputDir, img.subfolder, img.filename))).raw().toBuffer() };
}

test('a workflow with attn_mask and a precise weight type validates', async () => {
  const r = await validatePrompt(prompt({ mask: 0.5, weightType: 'style transfer precise' }), registry, { folders: env.folders });
  assert.equal(r.ok, true, JSON.stringify(r.node_errors));
});

test('attn_mask through the executor: ones = no mask, zeros = no adapter, a changed mask reruns the node', async () => {
  const plain = (await execute({ adapter: false })).pixels;
  const unmasked = (await execute({})).pixels;
  assert.ok(!unmasked.equals(plain), 'the adapter changes the picture');
  const ones = await execute({ mask: 1 });
  assert.ok(ones.pixels.equals(unmasked), 'an all-ones mask is no mask');
  const again = await execute({ mask: 1 });
  assert.ok(again.r.cached.includes('10') && !again.r.executed.includes('10'), 'an unchanged prompt is served from the cache');
  const zeros = await execute({ mask: 0 });
  assert.ok(zeros.r.executed.includes('24') && zeros.r.executed.includes('10') && zeros.r.executed.includes('3'), 'a new mask reruns the adapter and the sampler');
  assert.ok(zeros.pixels.equals(plain), 'an all-zeros mask is the picture without the adapter');
  const half = await execute({ mask: 0.5 });
  assert.ok(!half.pixels.equals(ones.pixels) && !half.pixels.equals(plain), 'a partial mask is in between');
});

test('precise weight types run through the executor, differ from their plain neighbours and repeat exactly', async () => {
  const style = (await execute({ weightType: 'style transfer' })).pixels;
  const precise = (await execute({ weightType: 'style transfer precise' })).pixels;
  assert.ok(!precise.equals(style));
  const comp = (await execute({ weightType: 'composition' })).pixels;
  const compPrecise = await execute({ weightType: 'composition precise' });
  assert.ok(!compPrecise.pixels.equals(comp));
  executor.cache.clear();
  assert.ok((await execute({ weightType: 'composition precise' })).pixels.equals(compPrecise.pixels), 'deterministic');
});
