import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InterruptedError } from '../../../engine/errors.ts';
import type { EngineServices, NodeContext } from '../../../engine/graph/context.ts';
import { createFolders, type WeftFolders } from '../../../engine/io/folders.ts';
import { UpscaleModel, upscaleImageWithModel, upscaleTiledNchw, type ImageUpscaler } from '../../../engine/models/esrgan/index.ts';
import { writeEsrgan, writeLora } from '../../../engine/models/fixtures/index.ts';
import { ModelService } from '../../../engine/runtime/service.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import ImageUpscaleWithModel from '../../../nodes/upscale/ImageUpscaleWithModel.ts';
import UpscaleModelLoader from '../../../nodes/upscale/UpscaleModelLoader.ts';
import { safetensorsToPth } from './pth.ts';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-upscale-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));
for (const d of ['models/upscale_models', 'input', 'output', 'temp', 'cache']) fs.mkdirSync(path.join(base, d), { recursive: true });
const folders: WeftFolders = createFolders({ modelsDir: path.join(base, 'models'), inputDir: path.join(base, 'input'), outputDir: path.join(base, 'output'), tempDir: path.join(base, 'temp') });
const upDir = path.join(base, 'models/upscale_models');
const cacheDir = path.join(base, 'cache');
writeEsrgan(path.join(upDir, 'tiny_x4.safetensors'), { numFeat: 4, growth: 4, seed: 7 });
safetensorsToPth(path.join(upDir, 'tiny_x4.safetensors'), path.join(upDir, 'tiny_x4.pth'), 'params_ema');
writeLora(path.join(upDir, 'not_an_upscaler.safetensors'));

interface Log { progress: string[]; warnings: string[] }
function context(services: Partial<EngineServices>, log: Log, abortAfter = Infinity): NodeContext {
  let ticks = 0;
  return {
    nodeId: '7', classType: 'test', promptId: 'p', signal: new AbortController().signal,
    services: { folders, modelCacheDir: cacheDir, ...services } as EngineServices,
    prompt: {}, extraPngInfo: undefined,
    progress(v, m) { log.progress.push(`${v}/${m}`); ticks++; },
    checkAbort() { if (ticks >= abortAfter) throw new InterruptedError(); },
    warn(m) { log.warnings.push(m); },
  };
}
type Run = (inputs: Record<string, unknown>, ctx: NodeContext) => Promise<unknown[]> | unknown[];
const run = async (def: { run?: unknown }, inputs: Record<string, unknown>, ctx: NodeContext) => (await (def.run as Run)(inputs, ctx)) as unknown[];

function imageNhwc(h: number, w: number, seed = 1): Tensor {
  const data = new Float32Array(h * w * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; data[i] = s / 2 ** 32; }
  return { shape: [1, h, w, 3], data };
}
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('UpscaleModelLoader lists and loads .safetensors and .pth (params_ema) upscalers: same pixels from both', async () => {
  assert.deepEqual(folders.listModels('upscale_models').filter((f) => f.startsWith('tiny')), ['tiny_x4.pth', 'tiny_x4.safetensors']);
  const log: Log = { progress: [], warnings: [] };
  const outs: Tensor[] = [];
  for (const name of ['tiny_x4.safetensors', 'tiny_x4.pth']) {
    const [model] = await run(UpscaleModelLoader, { model_name: name }, context({}, log));
    assert.ok(model instanceof UpscaleModel);
    assert.equal(model.scale, 4);
    const [img] = await run(ImageUpscaleWithModel, { upscale_model: model, image: imageNhwc(16, 12) }, context({}, log));
    outs.push(img as Tensor);
    await model.release();
  }
  assert.deepEqual(outs[0]!.shape, [1, 64, 48, 3]);
  assert.ok(outs[0]!.data.every((v) => v >= 0 && v <= 1));
  assert.ok(new Set(outs[0]!.data).size > 100, 'a real picture, not a constant');
  assert.deepEqual(outs[1]!.data, outs[0]!.data);
  assert.ok(fs.readdirSync(cacheDir).some((f) => f.startsWith('tiny_x4') && f.endsWith('.safetensors')), 'converted copy cached');
  assert.deepEqual(log.progress, ['1/1', '1/1']);
});

test('loader errors name the file: not an upscaler, missing file', async () => {
  const log: Log = { progress: [], warnings: [] };
  await assert.rejects(run(UpscaleModelLoader, { model_name: 'not_an_upscaler.safetensors' }, context({}, log)),
    /not_an_upscaler\.safetensors: not a supported upscale model \(it looks like a .*lora\)/);
  await assert.rejects(run(UpscaleModelLoader, { model_name: 'nope.pth' }, context({}, log)), /nope\.pth/);
  await assert.rejects(run(ImageUpscaleWithModel, { upscale_model: {}, image: imageNhwc(4, 4) }, context({}, log)), /upscale_model: expected a model/);
  const model = UpscaleModel.open(path.join(upDir, 'tiny_x4.safetensors'));
  const rgba = { shape: [1, 4, 4, 4], data: new Float32Array(64) };
  await assert.rejects(run(ImageUpscaleWithModel, { upscale_model: model, image: rgba }, context({}, log)), /image: has 4 channels, the upscale model takes 3 \(drop the alpha/);
});

test('ImageUpscaleWithModel on an image wider than 512: progress per tile, abort between tiles', async () => {
  const model = UpscaleModel.open(path.join(upDir, 'tiny_x4.safetensors'), { threads: 1 });
  const img = imageNhwc(4, 520, 3);
  const log: Log = { progress: [], warnings: [] };
  const [out] = await run(ImageUpscaleWithModel, { upscale_model: model, image: img }, context({}, log));
  assert.deepEqual((out as Tensor).shape, [1, 16, 2080, 3]);
  assert.deepEqual(log.progress, ['1/2', '2/2']);
  const aborted: Log = { progress: [], warnings: [] };
  await assert.rejects(run(ImageUpscaleWithModel, { upscale_model: model, image: img }, context({}, aborted, 1)), InterruptedError);
  assert.deepEqual(aborted.progress, ['1/2'], 'the second tile never ran');
  await model.release();
});

test('tiled equals untiled within tolerance on the real model with small tiles; the feathered overlap is what keeps seams small', async () => {
  const model = UpscaleModel.open(path.join(upDir, 'tiny_x4.safetensors'), { threads: 1 });
  const nchw: Tensor = { shape: [1, 3, 20, 24], data: imageNhwc(20, 24, 5).data };
  const whole = await model.run(nchw);
  const error = async (overlap: number) => {
    const tiled = await upscaleTiledNchw(model, nchw, { tile: 16, overlap });
    assert.deepEqual(tiled.shape, whole.shape);
    let sum = 0;
    for (let i = 0; i < whole.data.length; i++) sum += Math.abs(whole.data[i]! - tiled.data[i]!);
    return { mean: sum / whole.data.length, max: maxDiff(whole.data, tiled.data) };
  };
  // The network sees ~17 px of context; a 16 px tile cannot, so tile borders differ a little from the whole-image run.
  const blended = await error(8);
  const seams = await error(0);
  assert.ok(blended.mean < 3e-3 && blended.max < 0.1, `blended: ${JSON.stringify(blended)}`);
  assert.ok(blended.mean < seams.mean / 2 && blended.max < seams.max / 2, `blend ${JSON.stringify(blended)} vs hard seams ${JSON.stringify(seams)}`);
  await model.release();
});

test('memory errors halve the tile and retry (down to the minimum), other errors pass through', async () => {
  const model = UpscaleModel.open(path.join(upDir, 'tiny_x4.safetensors'), { threads: 1 });
  const sizes: number[] = [];
  // ONNX Runtime's CPU allocator message, raised here for tiles above 16 px as a smaller machine would.
  const tight: ImageUpscaler = {
    scale: model.scale, inChannels: model.inChannels, outChannels: model.outChannels,
    run: async (t) => {
      sizes.push(t.shape[3]!);
      if (t.shape[3]! > 16) throw new Error('Failed to allocate memory for requested buffer of size 123456789');
      return model.run(t);
    },
  };
  const img = imageNhwc(8, 40, 9);
  const warnings: string[] = [];
  const got = await upscaleImageWithModel(tight, img, { tile: 32, overlap: 4, minTile: 8, warn: (m) => warnings.push(m) });
  const want = await upscaleImageWithModel(model, img, { tile: 16, overlap: 4 });
  assert.deepEqual(got.data, want.data);
  assert.equal(sizes[0], 32);
  assert.match(warnings[0]!, /out of memory with 32-pixel tiles; retrying with 16/);
  await assert.rejects(upscaleImageWithModel(tight, img, { tile: 32, overlap: 4, minTile: 32 }), /ran out of memory even with 32-pixel tiles/);
  const broken: ImageUpscaler = { ...tight, run: async () => { throw new Error('shape mismatch'); } };
  await assert.rejects(upscaleImageWithModel(broken, img, { tile: 32, overlap: 4 }), /shape mismatch/);
  await model.release();
});

test('with services.models the session runs in a worker thread and gives the same pixels', async () => {
  const models = new ModelService({ threads: 1 });
  try {
    const log: Log = { progress: [], warnings: [] };
    const [m] = await run(UpscaleModelLoader, { model_name: 'tiny_x4.safetensors' }, context({ models }, log));
    const img = imageNhwc(12, 12, 4);
    const [viaWorker] = await run(ImageUpscaleWithModel, { upscale_model: m, image: img }, context({ models }, log));
    assert.equal(models.loadedKeys().filter((k) => k.startsWith('upscaler:')).length, 1);
    const local = UpscaleModel.open(path.join(upDir, 'tiny_x4.safetensors'), { threads: 1 });
    const [inThread] = await run(ImageUpscaleWithModel, { upscale_model: local, image: img }, context({}, log));
    assert.ok(maxDiff((viaWorker as Tensor).data, (inThread as Tensor).data) < 1e-6);
    await local.release();
  } finally {
    await models.close();
  }
});
