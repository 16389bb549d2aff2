/**
 * GLIGENLoader and GLIGENTextBoxApply through validation and the executor on a tiny SD1 checkpoint (64-channel
 * blocks, so ComfyUI's 64-channel head rule applies): two chained boxes change the picture, an unchanged prompt
 * is served from the cache, a moved box reruns what depends on it, and files or CLIPs that do not fit fail the
 * run naming the node and the file.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Executor, type RunResult } from '../../../engine/execute/executor.ts';
import { writeTinyGligen } from '../../../engine/models/fixtures/gligen.ts';
import { validatePrompt } from '../../../engine/validate/index.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { addCheckpoint, tempEnv, TINY_VAE, type Env } from '../../e2e/helpers.ts';

const BASE = { family: 'sd1', seed: 71, modelChannels: 64 } as const;
let env: Env;
let executor: Executor;
const registry = createRegistry();

before(() => {
  env = tempEnv();
  addCheckpoint(env, 'tiny.safetensors', BASE);
  addCheckpoint(env, 'other.safetensors', { family: 'sd1', seed: 72, modelChannels: 64, textWidth: 48 });
  const dir = path.join(env.base, 'models', 'gligen');
  fs.mkdirSync(dir, { recursive: true });
  const base = { ...TINY_VAE, vaeChMult: [...TINY_VAE.vaeChMult], ...BASE };
  writeTinyGligen(path.join(dir, 'boxes.safetensors'), base, { hidden: 64 });
  writeTinyGligen(path.join(dir, 'short.safetensors'), base, { hidden: 64, dropLast: true });
  executor = new Executor({ registry, services: env.services });
});

interface Opts { gligen?: string | false; x2?: number; clip?: string }

/** Checkpoint → CLIPTextEncode → GLIGENLoader → GLIGENTextBoxApply × 2 → KSampler → VAEDecode → SaveImage. */
function prompt(o: Opts = {}) {
  const nodes: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'tiny.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a red boat by a tree', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
  };
  let positive: [string, number] = ['6', 0];
  if (o.gligen !== false) {
    let clip: [string, number] = ['4', 1];
    if (o.clip) {
      nodes['13'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: o.clip } };
      clip = ['13', 1];
    }
    nodes['10'] = { class_type: 'GLIGENLoader', inputs: { gligen_name: o.gligen ?? 'boxes.safetensors' } };
    nodes['11'] = { class_type: 'GLIGENTextBoxApply', inputs: { conditioning_to: ['6', 0], clip, gligen_textbox_model: ['10', 0], text: 'a red boat', width: 32, height: 24, x: 0, y: 32 } };
    nodes['12'] = { class_type: 'GLIGENTextBoxApply', inputs: { conditioning_to: ['11', 0], clip, gligen_textbox_model: ['10', 0], text: 'a tree', width: 24, height: 48, x: o.x2 ?? 40, y: 8 } };
    positive = ['12', 0];
  }
  nodes['3'] = { class_type: 'KSampler', inputs: { seed: 5, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive, negative: ['7', 0], latent_image: ['5', 0] } };
  nodes['8'] = { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } };
  nodes['9'] = { class_type: 'SaveImage', inputs: { filename_prefix: 'gligen', images: ['8', 0] } };
  return nodes;
}

let runs = 0;
async function execute(o: Opts): Promise<{ r: RunResult; pixels: Buffer }> {
  const r = await executor.execute(`gligen-${runs++}`, prompt(o));
  assert.equal(r.status, 'success', JSON.stringify(r.error));
  const img = r.outputs['9']!.images![0] as { filename: string; subfolder: string };
  const { default: sharp } = await import('sharp');
  // Decoded: the PNG's text chunks carry the prompt, which differs between the runs compared.
  return { r, pixels: await sharp(fs.readFileSync(path.join(env.folders.outputDir, img.subfolder, img.filename))).raw().toBuffer() };
}

test('a workflow with GLIGENLoader and chained GLIGENTextBoxApply validates', async () => {
  const r = await validatePrompt(prompt(), registry, { folders: env.folders });
  assert.equal(r.ok, true, JSON.stringify(r.node_errors));
});

test('through the executor: boxes change the picture, an unchanged prompt runs nothing, a moved box reruns', async () => {
  const plain = (await execute({ gligen: false })).pixels;
  const boxed = await execute({});
  assert.ok(!boxed.pixels.equals(plain), 'the text boxes steer the image');
  const again = await execute({});
  assert.deepEqual(again.r.executed, [], 'an unchanged prompt executes no node');
  assert.ok(again.pixels.equals(boxed.pixels));
  const moved = await execute({ x2: 16 });
  for (const id of ['12', '3', '8', '9']) assert.ok(moved.r.executed.includes(id), `node ${id} reruns after the box moved`);
  for (const id of ['10', '11']) assert.ok(!moved.r.executed.includes(id), `node ${id} is cached`);
  assert.ok(!moved.pixels.equals(boxed.pixels), 'a moved box is another picture');
});

test('a GLIGEN file for another layout, or a CLIP of another width, fails the run naming the node and the file', async () => {
  let r = await executor.execute('gligen-short', prompt({ gligen: 'short.safetensors' }));
  assert.equal(r.status, 'error');
  let e = JSON.stringify(r.error);
  assert.match(e, /short\.safetensors: the GLIGEN file has \d+ fuser modules but the model has \d+ SpatialTransformers/);
  assert.match(e, /"node_type":"KSampler"/);
  r = await executor.execute('gligen-clip', prompt({ clip: 'other.safetensors' }));
  assert.equal(r.status, 'error');
  e = JSON.stringify(r.error);
  assert.match(e, /boxes\.safetensors: the CLIP's pooled output is 48 wide but this GLIGEN model takes 32-wide text embeddings/);
  assert.match(e, /"node_id":"11","node_type":"GLIGENTextBoxApply"/);
});
