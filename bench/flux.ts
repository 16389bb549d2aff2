/**
 * FLUX DiT benchmark on this CPU: FLUX-schnell-shaped random bf16 weights (width 3072, 24 heads, MLP 12288,
 * T5 width 4096, CLIP pooled 768) for a SUBSET of the network — 1 double-stream + 1 single-stream block —
 * written once to a temp folder (~1 GB). Each setting runs in its own child process (clean peak RSS):
 *   fp32  bf16 weights cast to float32 by ORT at load (the baseline)
 *   q8    8-bit MatMulNBits, block 64        q4   4-bit MatMulNBits, block 32
 * at 512² (64×64 latent → 1024 image tokens) with 256 text tokens, batch 1. Per setting: quantization
 * time (first load) and load time, peak RSS, and the time of the 1d+1s graph and of a 1d-only graph;
 * the single block is their difference. A full step (19 double + 38 single blocks) is EXTRAPOLATED from
 * those block times, not measured.
 *
 *   node --import tsx bench/flux.ts [--runs 2] [--threads N] [--dir DIR] [--only fp32,q8,q4] [--accuracy 0|4] [--width 3072]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FluxModel, type FluxOpenOptions } from '../engine/models/flux/model.ts';
import { writeSyntheticFlux, type SyntheticFluxSpec } from '../engine/models/flux/synthetic.ts';
import { uniformInput } from './lib/inputs.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? def : def;
}

/** --width shrinks the model (heads of 128) to check the benchmark itself in seconds. */
const WIDTH = Number(arg('width', '3072'));
const SPEC: SyntheticFluxSpec = { hidden: WIDTH, heads: WIDTH / 128, depth: 1, depthSingle: 1, contextDim: 4096, vecDim: 768, guidance: false, dtype: 'BF16', seed: 1 };
const FULL = { double: 19, single: 38 };
const LATENT = 64;
const TXT = 256;


/** Times in ms; *Cpu are this process's CPU ms (ORT threads included), which other load inflates far less. */
interface ChildResult { setting: string; quantMs: number; loadMs: number; peakRssMb: number; rssAfterLoadMb: number; bothMs: number[]; doubleMs: number[]; bothCpu: number[]; doubleCpu: number[] }

const gib = (b: number) => (b / 2 ** 30).toFixed(2);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

/** One setting, in this (child) process: prints a JSON line. */
async function child(setting: string, weights: string, cacheDir: string): Promise<void> {
  const runs = Number(arg('runs', '2'));
  const threads = Number(arg('threads', String(availableParallelism())));
  const accuracy = Number(arg('accuracy', '0')) as 0 | 4;
  const base: FluxOpenOptions = { threads, cacheDir, accuracyLevel: accuracy, quant: setting === 'fp32' ? undefined : (setting as 'q8' | 'q4') };
  const x = { shape: [1, 16, LATENT, LATENT], data: uniformInput(16 * LATENT * LATENT, 1) };
  const ctx = { shape: [1, TXT, SPEC.contextDim], data: uniformInput(TXT * SPEC.contextDim, 2) };
  const y = { shape: [1, SPEC.vecDim], data: uniformInput(SPEC.vecDim, 3) };
  const timeRuns = async (m: FluxModel): Promise<[number[], number[]]> => {
    await m.run(x, [0.9], ctx, y); // first run allocates: not counted
    const wall: number[] = [], cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await m.run(x, [0.9], ctx, y);
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    return [wall, cpu];
  };
  const t0 = performance.now();
  const both = await FluxModel.open(weights, base);
  const loadMs = performance.now() - t0 - both.load.quantMs;
  const rssAfterLoadMb = process.memoryUsage().rss / 2 ** 20;
  const [bothMs, bothCpu] = await timeRuns(both);
  await both.close();
  const dbl = await FluxModel.open(weights, { ...base, graph: { singleBlocks: 0 } });
  const [doubleMs, doubleCpu] = await timeRuns(dbl);
  await dbl.close();
  const r: ChildResult = { setting, quantMs: both.load.quantMs, loadMs, rssAfterLoadMb, peakRssMb: process.resourceUsage().maxRSS / 1024, bothMs, doubleMs, bothCpu, doubleCpu };
  console.log(`RESULT ${JSON.stringify(r)}`);
}

async function main(): Promise<void> {
  const childIdx = process.argv.indexOf('--child');
  if (childIdx >= 0) return child(process.argv[childIdx + 1]!, arg('weights', ''), arg('cache', ''));
  const keep = process.argv.includes('--dir');
  const dir = keep ? arg('dir', '') : mkdtempSync(join(tmpdir(), 'weft-bench-flux-'));
  mkdirSync(dir, { recursive: true });
  const weights = join(dir, `flux_schnell_subset_w${WIDTH}_bf16.safetensors`);
  const cache = join(dir, 'quant-cache');
  try {
    if (!existsSync(weights)) {
      const t0 = performance.now();
      const params = writeSyntheticFlux(weights, SPEC);
      console.log(`wrote ${weights}: ${(params / 1e6).toFixed(0)}M params, ${gib(statSync(weights).size)} GiB bf16 in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const settings = arg('only', 'fp32,q8,q4').split(',');
    console.log(`512² image: ${(LATENT / 2) ** 2} image tokens + ${TXT} text tokens, batch 1; threads ${arg('threads', String(availableParallelism()))}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const results: ChildResult[] = [];
    for (const s of settings) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', s, '--weights', weights, '--cache', cache, ...process.argv.slice(2)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) { console.error(`${s}: child failed (status ${r.status})\n${r.stderr}`); continue; }
      const res = JSON.parse(line.slice(7)) as ChildResult;
      results.push(res);
      const b = median(res.bothMs), d = median(res.doubleMs);
      console.log(`${s}: quantize ${(res.quantMs / 1000).toFixed(1)} s, session ${(res.loadMs / 1000).toFixed(1)} s, RSS after load ${(res.rssAfterLoadMb / 1024).toFixed(2)} GiB, peak ${(res.peakRssMb / 1024).toFixed(2)} GiB; 1d+1s ${(b / 1000).toFixed(2)} s, 1d ${(d / 1000).toFixed(2)} s wall; CPU ${(median(res.bothCpu) / 1000).toFixed(1)} s / ${(median(res.doubleCpu) / 1000).toFixed(1)} s (runs ${res.bothMs.map((v) => (v / 1000).toFixed(2)).join('/')} | ${res.doubleMs.map((v) => (v / 1000).toFixed(2)).join('/')})`);
    }
    const fp = results.find((r) => r.setting === 'fp32');
    console.log('\nper block (double = 1d graph, single = (1d+1s) − 1d; embeddings/final layer are inside the 1d figure):');
    for (const [what, both, dblOf] of [['wall', (r: ChildResult) => r.bothMs, (r: ChildResult) => r.doubleMs], ['CPU', (r: ChildResult) => r.bothCpu, (r: ChildResult) => r.doubleCpu]] as const) {
      for (const r of results) {
        const dbl = median(dblOf(r)), sgl = Math.max(0, median(both(r)) - dbl);
        const step = FULL.double * dbl + FULL.single * sgl;
        const ratio = fp ? ` | fp32 time / this time on the measured 1d+1s graph: ${(median(both(fp)) / median(both(r))).toFixed(2)}` : '';
        console.log(`${what} ${r.setting}: double ${(dbl / 1000).toFixed(2)} s, single ${(sgl / 1000).toFixed(2)} s → EXTRAPOLATED full step (19 double + 38 single) ≈ ${(step / 1000).toFixed(0)} s${ratio}`);
      }
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
