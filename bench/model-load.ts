/**
 * Model-load benchmark: generates SD1.5-sized random checkpoints (fp32 and fp16) in a temp folder, then
 * reports header-read time, the UNet graph build, cold and warm session load through ModelService
 * (worker thread), one run, and peak RSS against the weight bytes.
 *   node --import tsx bench/model-load.ts [--small] [--keep]
 * --small uses the tiny fixture dims (seconds, for a smoke run). Generation holds the weights in memory
 * once (writeSafetensors takes whole tensors), so the full-size run needs ~weight-bytes of free RAM.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../engine/io/safetensors.ts';
import { writeSdCheckpoint, type SdFixtureOptions } from '../engine/models/fixtures/index.ts';
import { buildUNet } from '../engine/models/unet/index.ts';
import { ModelService } from '../engine/runtime/index.ts';

const small = process.argv.includes('--small');
const keep = process.argv.includes('--keep');
const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
const GiB = 1024 ** 3;
const rss = (): string => `${(process.memoryUsage().rss / GiB).toFixed(2)} GiB`;
const peak = (): string => `${(process.resourceUsage().maxRSS * 1024 / GiB).toFixed(2)} GiB`;
const sd15: Partial<SdFixtureOptions> = small ? {} : {
  modelChannels: 320, channelMult: [1, 2, 4, 4], numResBlocks: 2, transformerDepth: [1, 1, 1, 0], transformerDepthMiddle: 1,
  textWidth: 768, textLayers: 12, vaeCh: 128, vaeChMult: [1, 2, 4, 4], vaeResBlocks: 2,
};

async function one(dtype: 'F32' | 'F16'): Promise<void> {
  const path = join(dir, `sd15-${dtype}.safetensors`);
  let t = performance.now();
  writeSdCheckpoint(path, { family: 'sd1', dtype, seed: 1, ...sd15 });
  const size = statSync(path).size;
  console.log(`\n[${dtype}] generated ${(size / GiB).toFixed(2)} GiB in ${((performance.now() - t) / 1000).toFixed(1)} s (rss ${rss()})`);
  t = performance.now();
  const f = SafetensorsFile.open(path);
  console.log(`  header: ${f.tensors.size} tensors in ${(performance.now() - t).toFixed(1)} ms`);
  t = performance.now();
  const built = buildUNet(f, { numHeads: 8 });
  let unetBytes = 0;
  for (const [k, v] of f.tensors) if (k.startsWith('model.diffusion_model.')) unetBytes += v.byteLength;
  console.log(`  UNet graph: ${(built.bytes.byteLength / 1024).toFixed(0)} KiB protobuf in ${(performance.now() - t).toFixed(0)} ms; UNet weights ${(unetBytes / GiB).toFixed(2)} GiB`);
  f.close();
  for (const phase of ['cold', 'warm']) {
    const svc = new ModelService({ ep: 'cpu' });
    t = performance.now();
    const h = await svc.load('unet', { graph: built.bytes, weightsDir: built.weightsDir });
    const ms = performance.now() - t;
    console.log(`  ${phase} load: ${(ms / 1000).toFixed(2)} s on ${h.ep}; rss ${rss()} (peak ${peak()}) vs ${(unetBytes / GiB).toFixed(2)} GiB of weights`);
    await svc.close();
  }
}

try {
  await one('F32');
  await one('F16');
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
