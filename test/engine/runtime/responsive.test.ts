/**
 * The default txt2img graph through the real Executor, node registry and model runtime, while the event
 * loop is watched: with the ModelService's workers (CLIP, UNet and VAE sessions all off the main thread)
 * the loop never stalls past BOUND_MS; the same graph with every session on the main thread
 * (ModelService inThread, the same session code) stalls past it, so this test can fail; and both paths
 * write byte-identical PNGs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Executor, type RunResult } from '../../../engine/execute/executor.ts';
import { createFolders, type WeftFolders } from '../../../engine/io/folders.ts';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/sd.ts';
import { releaseClipEncoders } from '../../../engine/models/clip/model.ts';
import { measureLoopDelay, type LoopDelay } from '../../../engine/runtime/loop-delay.ts';
import { ModelService, setDefaultModelService } from '../../../engine/runtime/index.ts';
import { createRegistry } from '../../../nodes/index.ts';
import '../../../engine/models/sd/services.ts';

/** Generous for a 2-core box shared with other work; an in-thread VAE decode at 256² alone takes longer. */
const BOUND_MS = 150;

let base: string;
let folders: WeftFolders;
const registry = createRegistry();
const services: ModelService[] = [];

function graph(size: number, seed: number): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'tiny-sd15.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'beautiful scenery nature glass bottle landscape, purple galaxy bottle', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'text, watermark', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: size, height: size, batch_size: 1 } },
    '3': { class_type: 'KSampler', inputs: { seed, steps: 3, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: `s${size}`, images: ['8', 0] } },
  };
}

before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-responsive-'));
  for (const d of ['models/checkpoints', 'input', 'output', 'temp']) fs.mkdirSync(path.join(base, d), { recursive: true });
  folders = createFolders({ modelsDir: path.join(base, 'models'), inputDir: path.join(base, 'input'), outputDir: path.join(base, 'output'), tempDir: path.join(base, 'temp') });
  // The e2e fixture: real 8× VAE (four levels, 32 wide).
  writeSdCheckpoint(path.join(base, 'models/checkpoints/tiny-sd15.safetensors'), { family: 'sd1', seed: 21, vaeCh: 32, vaeChMult: [1, 1, 1, 1] });
});

after(async () => {
  setDefaultModelService(undefined);
  for (const s of services) await s.close();
  await releaseClipEncoders();
  fs.rmSync(base, { recursive: true, force: true });
});

/**
 * One run on a fresh executor (empty output cache) and a fresh service, so model loading is measured too.
 * The service is also the process default, which is how text encoders created by the checkpoint loader
 * (which has no way to pass ctx.services.models down yet) reach the workers.
 */
async function run(inThread: boolean, size: number): Promise<{ png: Buffer; delay: LoopDelay }> {
  const models = new ModelService({ threads: 1, ep: 'cpu', inThread });
  services.push(models);
  setDefaultModelService(models);
  const executor = new Executor({ registry, services: { folders, models, modelCacheDir: path.join(base, 'temp') } });
  try {
    const { result, delay } = await measureLoopDelay(() => executor.execute(`${inThread ? 'in' : 'w'}${size}`, graph(size, 5)));
    assert.equal(result.status, 'success', JSON.stringify(result.error));
    return { png: fs.readFileSync(saved(result)), delay };
  } finally {
    setDefaultModelService(undefined);
    await models.close();
  }
}

function saved(r: RunResult): string {
  const img = r.outputs['9']?.images?.[0] as { filename: string; subfolder: string } | undefined;
  assert.ok(img, `no image in ${JSON.stringify(r.outputs)}`);
  return path.join(folders.outputDir, img.subfolder, img.filename);
}

const fmt = (d: LoopDelay): string => `max gap ${d.maxGapMs.toFixed(0)} ms, p99 ${d.p99Ms.toFixed(0)} ms over ${d.ms.toFixed(0)} ms`;

test('workers keep the event loop under the bound through the default graph; in-thread output is byte-identical', async () => {
  const w = await run(false, 64);
  const t = await run(true, 64);
  console.log(`# 64² workers: ${fmt(w.delay)}; in-thread: ${fmt(t.delay)}`);
  assert.ok(w.png.equals(t.png), 'workers and in-thread sessions must write the same PNG bytes');
  assert.ok(w.delay.maxGapMs < BOUND_MS, `workers: event loop stalled: ${fmt(w.delay)}`);
});

test('on a heavier graph (256²) the in-thread run stalls past the bound and the worker run does not', async () => {
  const t = await run(true, 256);
  const w = await run(false, 256);
  console.log(`# 256² workers: ${fmt(w.delay)}; in-thread: ${fmt(t.delay)}`);
  assert.ok(t.delay.maxGapMs > BOUND_MS, `in-thread run should stall past ${BOUND_MS} ms, or the bound tells nothing: ${fmt(t.delay)}`);
  assert.ok(w.delay.maxGapMs < BOUND_MS, `workers: event loop stalled: ${fmt(w.delay)}`);
  assert.ok(w.png.equals(t.png), 'same bytes both ways at 256² too');
});
