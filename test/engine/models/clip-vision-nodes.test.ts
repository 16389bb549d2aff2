import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeContext } from '../../../engine/graph/context.ts';
import { runConformance } from '../../../engine/conformance/runner.ts';
import { writeSafetensors } from '../../../engine/io/safetensors.ts';
import { ClipVisionModel, clipPreprocess, isClipVisionModel, type ClipVisionOutput } from '../../../engine/models/clip-vision/index.ts';
import { tinyHfVision } from '../../../engine/models/clip-vision/synthetic.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';
import CLIPVisionEncode from '../../../nodes/conditioning/CLIPVisionEncode.ts';
import CLIPVisionLoader from '../../../nodes/loaders/CLIPVisionLoader.ts';
import { ModelService } from '../../../engine/runtime/service.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-clipvision-nodes-'));
const modelPath = path.join(dir, 'clip_vision', 'tiny.safetensors');
fs.mkdirSync(path.dirname(modelPath), { recursive: true });
writeSafetensors(modelPath, tinyHfVision({ width: 32, layers: 2, patch: 4, imageSize: 16, projection: 8 }));

const ctx = {
  services: { folders: { resolveModel: (folder: string, name: string) => path.join(dir, folder, name), listModels: () => [] } },
  warn() {}, checkAbort() {}, progress() {},
} as unknown as NodeContext;

const runNode = (def: { run?: unknown }, inputs: Record<string, unknown>) =>
  (def.run as (i: Record<string, unknown>, c: NodeContext) => Promise<unknown[]>)(inputs, ctx);

function ramp(h: number, w: number): Tensor {
  const d = new Float32Array(h * w * 3);
  for (let i = 0; i < d.length; i++) d[i] = ((i * 37) % 101) / 100;
  return tensor([1, h, w, 3], d);
}

test('CLIPVisionLoader + CLIPVisionEncode: output shapes, crop center vs none', async () => {
  const [cv] = await runNode(CLIPVisionLoader, { clip_name: 'tiny.safetensors' });
  assert.ok(isClipVisionModel(cv));
  const image = ramp(16, 24);
  const [center] = (await runNode(CLIPVisionEncode, { clip_vision: cv, image, crop: 'center' })) as [ClipVisionOutput];
  const [none] = (await runNode(CLIPVisionEncode, { clip_vision: cv, image, crop: 'none' })) as [ClipVisionOutput];
  assert.deepEqual(center.last_hidden_state.shape, [1, 17, 32]);
  assert.deepEqual(center.penultimate_hidden_states.shape, [1, 17, 32]);
  assert.deepEqual(center.image_embeds.shape, [1, 8]);
  assert.deepEqual(none.image_embeds.shape, [1, 8]);
  // crop none = the tower on the image squeezed to 16×16; crop center differs from it
  const direct = await (cv as ClipVisionModel).encodePixels(clipPreprocess(image, { size: 16, crop: 'none' }));
  assert.deepEqual(Array.from(none.image_embeds.data), Array.from(direct.image_embeds.data));
  assert.ok(center.image_embeds.data.some((v, i) => Math.abs(v - none.image_embeds.data[i]!) > 1e-4));
  await (cv as ClipVisionModel).release();
});

test('with a model service the tower runs in its worker and gives the in-thread numbers', async () => {
  const service = new ModelService({ threads: 1, ep: 'cpu' });
  try {
    const inWorker = ClipVisionModel.open(modelPath, { models: service });
    const local = ClipVisionModel.open(modelPath, { threads: 1 });
    assert.equal(inWorker.runsIn, 'service');
    const a = await inWorker.encodeImage(ramp(16, 16));
    const b = await local.encodeImage(ramp(16, 16));
    assert.deepEqual(a.penultimate_hidden_states.shape, [1, 17, 32]);
    assert.ok(a.image_embeds.data.every((v, i) => Math.abs(v - b.image_embeds.data[i]!) < 1e-6));
    assert.equal(service.loadedKeys().length, 1);
    await local.release();
  } finally {
    await service.close();
  }
});

test('CLIPVisionEncode refuses a non-CLIP_VISION input by name', async () => {
  await assert.rejects(runNode(CLIPVisionEncode, { clip_vision: {}, image: ramp(16, 16), crop: 'center' }), /input "clip_vision" is not a CLIP vision model/);
});

const conf = path.resolve(import.meta.dirname, '../../../../shared/conformance');
const why = fs.existsSync(path.join(conf, 'cases.json')) ? false : `${conf} not found (a clone without ../shared has no golden data)`;

test('conformance: clipvision_* and clipsim_* pass through the handler', { skip: why }, async () => {
  const s = await runConformance(conf, { only: ['clipvision_', 'clipsim_'], log: () => {} });
  assert.deepEqual({ passed: s.passed, failed: s.failed }, { passed: 5, failed: 0 }, s.lines.join('\n'));
});
