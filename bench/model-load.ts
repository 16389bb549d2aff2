/**
 * Model-load benchmark: streams SD1.5- or SDXL-sized random checkpoints (UNet + text encoders + VAE, real
 * key layout, bench/lib/checkpoint.ts) into a temp folder, then, for each dtype, in a FRESH child process
 * (so peak RSS is this load's, not the generator's or the previous dtype's):
 *   header read, UNet graph build, cold load (page cache of the file dropped first) and warm load of the UNet
 *   session through the production path (loadCheckpoint → unetSession → ModelService worker), one UNet run
 *   (batch 2; 64×64 latent for SD1.5, 128×128 for SDXL), peak RSS (sampled, with its anon/file-backed split)
 *   against the UNet's fp32 weight bytes.
 * Baseline, measured in the same run on the same bytes: a plain read of the UNet's byte range of the file,
 * cold (evicted) and warm — the lower bound of any load; loads are printed as × that read.
 * Each target of the issue prints as `target …: value (PASS|MISS)`; nothing is asserted.
 * Wall and CPU seconds (process.cpuUsage: all threads, ORT's included) and the load average go with every
 * timing: on a shared box, CPU seconds move far less with contention than wall time.
 *
 *   node --import tsx bench/model-load.ts [--arch sd15|sdxl] [--dtype f32,f16] [--no-run] [--small] [--keep]
 * --small: tiny fixture dims (a smoke run in seconds). --keep: leave the temp folder (its path is printed).
 * SDXL defaults to fp16 only: the fp32 file is ~14 GB and loading it peaks above the ~14 GB this box allows;
 * `--dtype f32` forces it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SafetensorsFile } from '../engine/io/safetensors.ts';
import { loadCheckpoint } from '../engine/models/sd/checkpoint.ts';
import { unetSession } from '../engine/models/sd/unet-runner.ts';
import { buildUNet } from '../engine/models/unet/index.ts';
import { headsFromMetadata } from '../engine/models/unet/config.ts';
import { ModelService } from '../engine/runtime/index.ts';
import type { WireFeeds } from '../engine/runtime/wire.ts';
import { ARCH, GiB, RssSampler, cachedPercent, evictFromPageCache, fmtT, gib, load, maxRss, readRange, streamSdCheckpoint, timed, verdict } from './lib/checkpoint.ts';
import { uniformInput } from './lib/inputs.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? def : def;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const archName = arg('arch', 'sd15') as 'sd15' | 'sdxl';
if (!(archName in ARCH)) throw new Error(`unknown --arch ${archName} (sd15, sdxl)`);
const small = flag('small');
const LATENT = small ? 8 : archName === 'sdxl' ? 128 : 64;
const BATCH = 2;


/** One dtype, in its own process: everything after generation. */
async function child(path: string, dtype: string): Promise<void> {
  const tag = `[${archName} ${dtype}]`;
  const size = statSync(path).size;
  const rss0 = process.memoryUsage.rss();
  const hdr = await timed(() => SafetensorsFile.open(path));
  const f = hdr.value;
  let a = Infinity, b = 0, unetFile = 0, unetF32 = 0;
  for (const [k, t] of f.tensors) {
    if (!k.startsWith('model.diffusion_model.')) continue;
    a = Math.min(a, t.offset); b = Math.max(b, t.offset + t.byteLength);
    unetFile += t.byteLength; unetF32 += t.shape.reduce((x, y) => x * y, 1) * 4;
  }
  console.log(`${tag} header: ${f.tensors.size} tensors in ${(hdr.wall * 1000).toFixed(1)} ms; UNet ${gib(unetFile)} in the file (${gib(unetF32)} as fp32) of ${gib(size)}`);
  const built = await timed(() => buildUNet(f, headsFromMetadata(f.metadata)));
  const cfg = built.value.config;
  console.log(`${tag} UNet graph build: ${(built.value.bytes.byteLength / 1024).toFixed(0)} KiB protobuf, ${fmtT(built)}`);
  f.close();

  // Baseline: read the UNet's bytes (contiguous in these files), cold then later warm.
  const evicted = evictFromPageCache(path);
  const coldRead = await timed(() => readRange(path, a, b));
  const readGiBs = (t: number): string => `${((b - a) / GiB / t).toFixed(2)} GiB/s`;
  console.log(`${tag} baseline cold read of the UNet bytes (${gib(b - a)}): ${fmtT(coldRead)} = ${readGiBs(coldRead.wall)}${evicted ? '' : ' (page cache NOT dropped: dd/sync unavailable, this is warm)'}; load ${load()}`);

  const feeds = (): WireFeeds => {
    const f: WireFeeds = {
      x: { type: 'float32', dims: [BATCH, cfg.inChannels, LATENT, LATENT], data: uniformInput(BATCH * cfg.inChannels * LATENT * LATENT, 1) },
      timesteps: { type: 'float32', dims: [BATCH], data: Float32Array.from({ length: BATCH }, () => 500) },
      context: { type: 'float32', dims: [BATCH, 77, cfg.contextDim], data: uniformInput(BATCH * 77 * cfg.contextDim, 2) },
    };
    if (cfg.admInChannels > 0) f.y = { type: 'float32', dims: [BATCH, cfg.admInChannels], data: uniformInput(BATCH * cfg.admInChannels, 3) };
    return f;
  };

  const loadOnce = async (svc: ModelService) => {
    const ck = loadCheckpoint(path, { cacheDir: join(path, '..'), withClip: false, withVae: false });
    return (await unetSession(svc, ck.model)).handle;
  };

  evictFromPageCache(path);
  const before = cachedPercent(path, size);
  const sampler = new RssSampler();
  let svc = new ModelService({ ep: 'cpu' });
  sampler.start();
  const cold = await timed(() => loadOnce(svc));
  sampler.stop();
  const loadPeak = sampler.peak;
  const loadPeakStr = sampler.describe();
  const after = cachedPercent(path, size);
  console.log(`${tag} cold load (UNet, ${cold.value.ep}): ${fmtT(cold)}; = ${(cold.wall / coldRead.wall).toFixed(2)} × cold read; file in page cache ${before?.toFixed(0) ?? '?'}% → ${after?.toFixed(0) ?? '?'}%; load ${load()}`);
  console.log(`${tag}   peak RSS during load ${loadPeakStr}; RSS before ${gib(rss0)}`);
  let runPeak = 0;
  if (!flag('no-run')) {
    sampler.start();
    const run = await timed(() => cold.value.run(feeds(), { transfer: true }));
    sampler.stop();
    runPeak = sampler.peak;
    console.log(`${tag} first UNet run (batch ${BATCH}, ${LATENT}×${LATENT}; cold Conv pages): ${fmtT(run)}; peak RSS ${sampler.describe()}; load ${load()}`);
  }
  await svc.close();

  const warmRead = await timed(() => readRange(path, a, b));
  console.log(`${tag} baseline warm read of the UNet bytes: ${fmtT(warmRead)} = ${readGiBs(warmRead.wall)}`);
  svc = new ModelService({ ep: 'cpu' });
  const warm = await timed(() => loadOnce(svc));
  await svc.close();
  console.log(`${tag} warm load: ${fmtT(warm)}; = ${(warm.wall / warmRead.wall).toFixed(1)} × warm read; load ${load()}`);

  const peak = Math.max(loadPeak, runPeak);
  const lifetime = maxRss();
  console.log(`${tag} peak RSS ${gib(peak)} (process lifetime maxRSS ${gib(lifetime)}) = ${(peak / unetF32).toFixed(2)} × fp32 UNet weights (${gib(unetF32)}); net of the ${gib(rss0)} the process held before: ${((peak - rss0) / unetF32).toFixed(2)} ×`);
  if (archName === 'sd15' && dtype === 'F32' && !small) {
    console.log(`target SD1.5 cold load from fp32 ≤ 10 s : ${cold.wall.toFixed(2)} s (${verdict(cold.wall <= 10)}) — ${(cold.wall / coldRead.wall).toFixed(2)} × cold read of the same bytes; CPU ${cold.cpu.toFixed(2)} s; load ${load()}`);
  }
  const what = runPeak ? 'load + first run' : 'load';
  console.log(`target ${archName} ${dtype} peak RSS (${what}) ≤ 1.5 × fp32 UNet weights : ${gib(peak)} = ${(peak / unetF32).toFixed(2)} × (${verdict(peak <= 1.5 * unetF32)})`);
}

async function parent(): Promise<void> {
  const dtypes = arg('dtype', archName === 'sdxl' ? 'f16' : 'f32,f16').split(',').map((d) => d.trim().toUpperCase());
  if (archName === 'sdxl' && dtypes.includes('F32')) console.log('warning: SDXL fp32 writes ~14 GB and its load peaks near or above the ~14 GB RAM budget');
  else if (archName === 'sdxl') console.log('note: SDXL runs fp16 only by default (fp32 = ~10.3 GB of UNet weights; its load would exceed the ~14 GB RAM budget with the sampled peak ratio); --dtype f32 forces it');
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
  const opts = small ? { family: ARCH[archName].family } : ARCH[archName];
  console.log(`model-load ${archName}${small ? ' (--small)' : ''}: ${dir}; load ${load()}`);
  try {
    for (const dtype of dtypes) {
      if (dtype !== 'F32' && dtype !== 'F16') throw new Error(`--dtype ${dtype}: f32 or f16`);
      const path = join(dir, `${archName}-${dtype}.safetensors`);
      const gen = await timed(() => streamSdCheckpoint(path, { ...opts, dtype, seed: 1 }));
      console.log(`\n[${archName} ${dtype}] generated ${gen.value.tensors} tensors, ${(gen.value.params / 1e9).toFixed(3)} B params, ${gib(gen.value.bytes)} (streamed) in ${fmtT(gen)}; load ${load()}`);
      const code = await new Promise<number>((resolve) => {
        const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', path, '--child-dtype', dtype, '--arch', archName];
        if (small) args.push('--small');
        if (flag('no-run')) args.push('--no-run');
        spawn(process.execPath, args, { stdio: 'inherit' }).on('exit', (c) => resolve(c ?? 1));
      });
      if (code !== 0) console.log(`[${archName} ${dtype}] child exited with ${code}`);
      if (!flag('keep')) rmSync(path, { force: true });
    }
  } finally {
    if (!flag('keep')) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

const childPath = flag('child') ? arg('child', '') : '';
(childPath ? child(childPath, arg('child-dtype', 'F32')) : parent()).catch((e) => {
  console.error(e);
  process.exit(1);
});
