import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Executor } from '../engine/execute/executor.ts';
import { createFolders } from '../engine/io/folders.ts';
import { writeSdCheckpoint } from '../engine/models/fixtures/sd.ts';
import { ModelService, setDefaultModelService } from '../engine/runtime/index.ts';
import { createRegistry } from '../nodes/index.ts';
import '../engine/models/sd/services.ts';
const size = Number(process.argv[2] ?? 64);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-diag-'));
for (const d of ['models/checkpoints', 'input', 'output', 'temp']) fs.mkdirSync(path.join(base, d), { recursive: true });
const folders = createFolders({ modelsDir: path.join(base, 'models'), inputDir: path.join(base, 'input'), outputDir: path.join(base, 'output'), tempDir: path.join(base, 'temp') });
writeSdCheckpoint(path.join(base, 'models/checkpoints/t.safetensors'), { family: 'sd1', seed: 21, vaeCh: 32, vaeChMult: [1, 1, 1, 1] });
const registry = createRegistry();
const shared = new ModelService({ threads: 1, ep: 'cpu' });
for (let i = 0; i < Number(process.argv[3] ?? 2); i++) {
  const models = process.argv[4] ? shared : new ModelService({ threads: 1, ep: 'cpu' });
  setDefaultModelService(models);
  const ex = new Executor({ registry, services: { folders, models, modelCacheDir: path.join(base, 'temp') } });
  let last = performance.now(); const t0 = last; const gaps: string[] = [];
  const iv = setInterval(() => { const n = performance.now(); if (n - last > 40) gaps.push(`${(last - t0).toFixed(0)}+${(n - last).toFixed(0)}`); last = n; }, 2);
  const g = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 't.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'beautiful scenery', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'text, watermark', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: size, height: size, batch_size: 1 } },
    '3': { class_type: 'KSampler', inputs: { seed: 5, steps: 3, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'x', images: ['8', 0] } },
  };
  (ex.events as any).on('executing', (d: any) => gaps.push(`${(performance.now() - t0).toFixed(0)}:exec:${d.node}`));
  (ex.events as any).on('progress', (d: any) => gaps.push(`${(performance.now() - t0).toFixed(0)}:prog:${d.value}`));
  const r = await ex.execute('p' + i, g as never);
  clearInterval(iv);
  console.log(i, r.status, (performance.now() - t0).toFixed(0), gaps.join(' '));
  if (!process.argv[4]) await models.close();
}
await shared.close();
fs.rmSync(base, { recursive: true, force: true });
