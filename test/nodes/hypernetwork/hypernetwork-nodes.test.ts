/**
 * HypernetworkLoader through validation and the executor on a tiny SD1 checkpoint: it validates (no longer
 * node_not_implemented), strength 0 gives the plain picture bit for bit, a strength changes it, it chains
 * after LoraLoader and another HypernetworkLoader, and a broken file fails the run naming the node and file.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Executor } from '../../../engine/execute/executor.ts';
import { writeLora } from '../../../engine/models/fixtures/index.ts';
import { validatePrompt } from '../../../engine/validate/index.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { addCheckpoint, tempEnv, type Env } from '../../e2e/helpers.ts';
import { biasOnly, mlp, writeHypernetwork } from '../../support/hypernetwork.ts';
import { rand } from '../../support/tensors.ts';

const CTX = 48;
let env: Env;
let executor: Executor;
const registry = createRegistry();

before(() => {
  env = tempEnv();
  addCheckpoint(env, 'tiny.safetensors', { family: 'sd1', textWidth: CTX, seed: 21 });
  const hdir = path.join(env.base, 'models', 'hypernetworks');
  fs.mkdirSync(hdir, { recursive: true });
  const b = rand([CTX], 22, 2).data;
  writeHypernetwork(path.join(hdir, 'shift.pt'), [[CTX, biasOnly(b), biasOnly(b)]]);
  writeHypernetwork(path.join(hdir, 'style.pt'), [[32, mlp([32, 64, 32], 23), mlp([32, 64, 32], 24)], [64, mlp([64, 128, 64], 25), mlp([64, 128, 64], 26)]], { activation_func: 'relu' });
  writeHypernetwork(path.join(hdir, 'broken.pt'), [[CTX, biasOnly(b), biasOnly(b)]], { activation_func: 'gelu' });
  fs.mkdirSync(path.join(env.base, 'models', 'loras'), { recursive: true });
  writeLora(path.join(env.base, 'models', 'loras', 'l.safetensors'), { family: 'sd1', textWidth: CTX }, { seed: 27 });
  executor = new Executor({ registry, services: env.services });
});

/** Checkpoint → [LoraLoader] → HypernetworkLoader × n → KSampler → VAEDecode → SaveImage. */
function prompt(hns: Array<[string, number]>, o: { lora?: boolean; tag?: string } = {}) {
  const nodes: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'tiny.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse at dusk', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
  };
  let model: [string, number] = ['4', 0];
  if (o.lora) {
    nodes['20'] = { class_type: 'LoraLoaderModelOnly', inputs: { model, lora_name: 'l.safetensors', strength_model: 0.8 } };
    model = ['20', 0];
  }
  hns.forEach(([name, strength], i) => {
    nodes[`${10 + i}`] = { class_type: 'HypernetworkLoader', inputs: { model, hypernetwork_name: name, strength } };
    model = [`${10 + i}`, 0];
  });
  nodes['3'] = { class_type: 'KSampler', inputs: { seed: 9, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model, positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } };
  nodes['8'] = { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } };
  nodes['9'] = { class_type: 'SaveImage', inputs: { filename_prefix: o.tag ?? 'hn', images: ['8', 0] } };
  return nodes;
}

let runs = 0;
async function pixels(p: ReturnType<typeof prompt>): Promise<Buffer> {
  const r = await executor.execute(`hn-${runs++}`, p);
  assert.equal(r.status, 'success', JSON.stringify(r.error));
  const img = r.outputs['9']!.images![0] as { filename: string; subfolder: string };
  const { default: sharp } = await import('sharp');
  return sharp(fs.readFileSync(path.join(env.folders.outputDir, img.subfolder, img.filename))).raw().toBuffer();
}

test('a workflow with HypernetworkLoader validates', async () => {
  const r = await validatePrompt(prompt([['shift.pt', 1], ['style.pt', 0.5]]), registry, { folders: env.folders });
  assert.equal(r.ok, true, JSON.stringify(r.node_errors));
});

test('through the executor: strength 0 is the plain picture, a strength changes it, chains with LoRA and a second hypernetwork', async () => {
  const plain = await pixels(prompt([]));
  assert.ok((await pixels(prompt([['shift.pt', 0]]))).equals(plain), 'strength 0 = no hypernetwork, bit for bit');
  const shifted = await pixels(prompt([['shift.pt', 1]]));
  assert.ok(!shifted.equals(plain), 'the hypernetwork steers the image');
  const chained = await pixels(prompt([['shift.pt', 1], ['style.pt', 0.6]], { lora: true }));
  assert.ok(!chained.equals(shifted) && !chained.equals(plain));
});

test('a broken hypernetwork fails the run naming the node and the file', async () => {
  const r = await executor.execute('hn-broken', prompt([['broken.pt', 1]]));
  assert.equal(r.status, 'error');
  const e = JSON.stringify(r.error);
  assert.match(e, /broken\.pt: not a usable hypernetwork: unsupported activation_func \\"gelu\\"/);
  assert.match(e, /"node_id":"10","node_type":"HypernetworkLoader"/);
});
