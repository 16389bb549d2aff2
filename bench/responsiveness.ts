/**
 * Event-loop responsiveness of the executor's main thread while the default txt2img graph runs on a
 * larger random SD1-layout checkpoint: every session in ModelService workers vs every session on the main
 * thread (ModelService inThread: the same session code, only the thread differs). Prints the loop's
 * max stall and p99 delay both ways, as ratios, and the time per sampling step both ways.
 *
 *   node --import tsx bench/responsiveness.ts [--mc 128] [--vae 64] [--size 256] [--steps 4] [--threads 1]
 *
 * Each side first runs the graph once at 64² so the sessions are loaded (that cold run is printed too: its
 * stalls are graph building and tokenizer setup on the main thread, not inference), then the measured run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Executor } from '../engine/execute/executor.ts';
import { createFolders } from '../engine/io/folders.ts';
import { releaseClipEncoders } from '../engine/models/clip/model.ts';
import { writeSdCheckpoint } from '../engine/models/fixtures/sd.ts';
import { measureLoopDelay, type LoopDelay } from '../engine/runtime/loop-delay.ts';
import { ModelService, setDefaultModelService } from '../engine/runtime/index.ts';
import { createRegistry } from '../nodes/index.ts';
import '../engine/models/sd/services.ts';

const { values: a } = parseArgs({ options: { mc: { type: 'string', default: '128' }, vae: { type: 'string', default: '64' }, size: { type: 'string', default: '256' }, steps: { type: 'string', default: '4' }, threads: { type: 'string', default: '1' } } });
const mc = Number(a.mc), vaeCh = Number(a.vae), size = Number(a.size), steps = Number(a.steps), threads = Number(a.threads);

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-resp-'));
for (const d of ['models/checkpoints', 'input', 'output', 'temp']) fs.mkdirSync(path.join(base, d), { recursive: true });
const folders = createFolders({ modelsDir: path.join(base, 'models'), inputDir: path.join(base, 'input'), outputDir: path.join(base, 'output'), tempDir: path.join(base, 'temp') });
const ckpt = `sd1-mc${mc}.safetensors`;
// SD1.5's layout (4 levels, 2 res blocks, transformers on the first three, 768-wide CLIP) at a smaller width.
writeSdCheckpoint(path.join(base, 'models/checkpoints', ckpt), {
  family: 'sd1', seed: 3, modelChannels: mc, channelMult: [1, 2, 4, 4], numResBlocks: 2, transformerDepth: [1, 1, 1, 0],
  textWidth: 256, textLayers: 4, vaeCh, vaeChMult: [1, 2, 4, 4],
});
const bytes = fs.statSync(path.join(base, 'models/checkpoints', ckpt)).size;
const registry = createRegistry();

function graph(px: number, n: number): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'beautiful scenery nature glass bottle landscape, purple galaxy bottle', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'text, watermark', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: px, height: px, batch_size: 1 } },
    '3': { class_type: 'KSampler', inputs: { seed: 1, steps: n, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'bench', images: ['8', 0] } },
  };
}

interface Measured { delay: LoopDelay; stepMs: number[]; png: Buffer }

async function run(models: ModelService, px: number, n: number, id: string): Promise<Measured> {
  setDefaultModelService(models);
  const ex = new Executor({ registry, services: { folders, models, modelCacheDir: path.join(base, 'temp') } });
  const g = graph(px, n);
  let at = 'start';
  let lastStep = 0;
  const stepMs: number[] = [];
  ex.events.on('executing', (d) => {
    at = `${d.node} ${g[d.node!]?.class_type}`;
    if (d.node === '3') lastStep = performance.now();
  });
  ex.events.on('progress', (d) => {
    at = `${d.node} step ${d.value}/${d.max}`;
    const now = performance.now();
    if (d.node === '3') { stepMs.push(now - lastStep); lastStep = now; }
  });
  try {
    const { result, delay } = await measureLoopDelay(() => ex.execute(id, g), () => at);
    if (result.status !== 'success') throw new Error(`run ${id} failed: ${JSON.stringify(result.error)}`);
    const img = result.outputs['9']!.images![0] as { filename: string; subfolder: string };
    return { delay, stepMs, png: fs.readFileSync(path.join(folders.outputDir, img.subfolder, img.filename)) };
  } finally {
    setDefaultModelService(undefined);
  }
}

const ms = (v: number): string => `${v.toFixed(0).padStart(6)} ms`;
const median = (v: number[]): number => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)] ?? NaN;

console.log(`checkpoint: SD1 layout, model_channels ${mc}, VAE ${vaeCh} wide, ${(bytes / 2 ** 20).toFixed(0)} MiB; ${size}² image, ${steps} euler steps (CFG 8, batch 2), ${threads} intra-op thread(s); ${os.availableParallelism()} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`);
const results: Record<'workers' | 'in-thread', { cold: Measured; warm: Measured }> = {} as never;
for (const [name, inThread] of [['workers', false], ['in-thread', true]] as const) {
  const models = new ModelService({ threads, ep: 'cpu', inThread });
  try {
    const cold = await run(models, 64, 1, `${name}-cold`);
    const warm = await run(models, size, steps, `${name}-warm`);
    results[name] = { cold, warm };
  } finally {
    await models.close();
  }
}
await releaseClipEncoders();
fs.rmSync(base, { recursive: true, force: true });

const row = (label: string, m: Measured): string =>
  `${label.padEnd(22)} max stall ${ms(m.delay.maxGapMs)} (during ${m.delay.maxGapAt})  p99 ${ms(m.delay.p99Ms)}  mean ${ms(m.delay.meanMs)}  total ${ms(m.delay.ms)}`;
const w = results.workers, t = results['in-thread'];
console.log(row('cold (load) workers', w.cold));
console.log(row('cold (load) in-thread', t.cold));
console.log(row('run workers', w.warm));
console.log(row('run in-thread', t.warm));
console.log(`in-thread / workers: max stall ×${(t.warm.delay.maxGapMs / w.warm.delay.maxGapMs).toFixed(1)}, p99 ×${(t.warm.delay.p99Ms / w.warm.delay.p99Ms).toFixed(1)}`);
console.log(`per step: workers ${w.warm.stepMs.map((v) => v.toFixed(0)).join(', ')} ms (median ${median(w.warm.stepMs).toFixed(0)}); in-thread ${t.warm.stepMs.map((v) => v.toFixed(0)).join(', ')} ms (median ${median(t.warm.stepMs).toFixed(0)}); workers/in-thread ×${(median(w.warm.stepMs) / median(t.warm.stepMs)).toFixed(2)}`);
console.log(`same PNG bytes both ways: ${w.warm.png.equals(t.warm.png)}`);
