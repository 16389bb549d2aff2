/**
 * UNet step benchmark: an SD1.5-sized LDM-layout UNet with random fp32 weights (written once to a temp
 * folder, 3.4 GB), one step at batch 2 (CFG pair) on a 64×64 latent with a 77-token context.
 * Baseline, measured in the same run on the same weights: input_blocks.1 alone (ResBlock + SpatialTransformer
 * at full resolution, the costliest block), so the step is also reported in "block-equivalents" — a number
 * that stays comparable across machines and load. The probe's reference on the 2-core dev box was 6.2 s clean
 * for the diffusers-layout graph (research/onnx.md §2a), an AVX-512 CPU.
 * It then measures the CPU's fp32 ceiling (one big MatMul and one 3×3 Conv through ORT, bench/lib/ceiling.ts)
 * and counts the step's FLOPs (bench/lib/flops.ts): their ratio is the fastest any fp32 graph can step on
 * this machine, and the step's share of that ceiling says how much a better graph could still gain.
 *
 *   node --import tsx bench/unet-step.ts [--arch sd15|sdxl|tiny] [--runs 3] [--latent 64] [--batch 2] [--threads N]
 *                                        [--dir DIR (reuse/keep weights there)] [--fast-start]
 * sdxl writes ~10 GB of fp32 weights and needs ~14 GB of RAM; its latent defaults to 128×128 (1024² images).
 * sd15 also prints the target line, `target SD1.5 UNet step (batch 2, 64×64) ≤ 7 s : … (PASS|MISS)`,
 * judged on the best wall time (CPU seconds beside it: the box is shared).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../engine/io/safetensors.ts';
import { GraphBuilder, createSession, runFloat } from '../engine/onnx/index.ts';
import { parseUNetConfig } from '../engine/models/unet/config.ts';
import { resBlock, spatialTransformer, type Emit } from '../engine/models/unet/blocks.ts';
import { openUNet } from '../engine/models/unet/load.ts';
import { streamSyntheticUNet, type SyntheticUNetSpec } from '../engine/models/unet/synthetic.ts';
import { uniformInput } from './lib/inputs.ts';
import { measureCeiling } from './lib/ceiling.ts';
import { blockFlops, unetFlops } from './lib/flops.ts';
import { cpuSummary } from './lib/cpu.ts';

const ARCHS: Record<string, { spec: SyntheticUNetSpec; heads: { numHeads?: number; headChannels?: number } }> = {
  sd15: { spec: { modelChannels: 320, channelMult: [1, 2, 4, 4], numResBlocks: 2, transformerDepth: [1, 1, 1, 0], contextDim: 768 }, heads: { numHeads: 8 } },
  /** Seconds, not minutes: checks the benchmark itself. */
  tiny: { spec: { modelChannels: 64, channelMult: [1, 2], numResBlocks: 1, transformerDepth: [1, 0], contextDim: 64 }, heads: { numHeads: 8 } },
  sdxl: {
    spec: { modelChannels: 320, channelMult: [1, 2, 4], numResBlocks: 2, transformerDepth: [0, 2, 10], transformerDepthMiddle: 10, contextDim: 2048, linearProj: true, admInChannels: 2816 },
    heads: { headChannels: 64 },
  },
};

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? def : def;
}


/** Wall seconds; `cpu` collects this process's CPU seconds (ORT's threads included), which other
 * processes on a shared box inflate far less than wall time. */
async function time<T>(fn: () => Promise<T>, cpu?: number[]): Promise<[T, number]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fn();
  const c = process.cpuUsage(c0);
  cpu?.push((c.user + c.system) / 1e6);
  return [r, (performance.now() - t0) / 1000];
}

const load = (): string => loadavg().map((v) => v.toFixed(1)).join(' ');

async function main(): Promise<void> {
  const archName = arg('arch', 'sd15');
  const arch = ARCHS[archName];
  if (!arch) throw new Error(`unknown --arch ${archName} (sd15, sdxl)`);
  const runs = Number(arg('runs', '3'));
  console.log(`unet-step ${archName}: load ${load()}`);
  const L = Number(arg('latent', archName === 'sdxl' ? '128' : '64'));
  const B = Number(arg('batch', '2'));
  const threads = process.argv.includes('--threads') ? Number(arg('threads', '2')) : undefined;
  const session = { threads, fastStart: process.argv.includes('--fast-start') };
  const keep = process.argv.includes('--dir');
  const dir = keep ? arg('dir', '') : mkdtempSync(join(tmpdir(), 'weft-unet-bench-'));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `unet-${archName}-f32.safetensors`);
  try {
    if (!existsSync(path)) {
      const [params, s] = await time(async () => streamSyntheticUNet(path, arch.spec));
      const n = params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
      console.log(`weights: ${params.length} tensors, ${(n / 1e6).toFixed(1)} M params written in ${s.toFixed(1)} s → ${path}`);
    }
    const file = SafetensorsFile.open(path);
    const cfg = parseUNetConfig(file, arch.heads);
    const ctxDim = cfg.contextDim;
    const x = { shape: [B, 4, L, L], data: uniformInput(B * 4 * L * L, 1) };
    const context = { shape: [B, 77, ctxDim], data: uniformInput(B * 77 * ctxDim, 2) };
    const y = cfg.admInChannels ? { shape: [B, cfg.admInChannels], data: uniformInput(B * cfg.admInChannels, 3) } : undefined;
    const timesteps = Float32Array.from({ length: B }, () => 500);

    // Baseline: the first attention block (full resolution) on its own.
    const blk = cfg.inputBlocks.find((b) => b.some((l) => l.kind === 'transformer'))!;
    const g = new GraphBuilder({ name: 'block' });
    const e: Emit = { g, file, prefix: cfg.prefix };
    const ch = blk[0]!.kind === 'res' ? blk[0]!.cin : 0;
    const ds = cfg.skips[cfg.inputBlocks.indexOf(blk)]!.down;
    let h = g.input('h', 'float32', ['batch', ch, 'height', 'width']);
    const emb = g.input('emb', 'float32', ['batch', cfg.timeEmbedDim]);
    const ctx = g.input('context', 'float32', ['batch', 'tokens', ctxDim]);
    for (const l of blk) h = l.kind === 'res' ? resBlock(e, h, emb, l) : l.kind === 'transformer' ? spatialTransformer(e, h, ctx, l) : h;
    g.output(h, 'out');
    const built = g.build();
    const [bs, bOpen] = await time(() => createSession(built.bytes, built.weightsDir, session));
    const hs = L / ds;
    const bfeeds = { h: { data: uniformInput(B * ch * hs * hs, 4), dims: [B, ch, hs, hs] }, emb: { data: uniformInput(B * cfg.timeEmbedDim, 5), dims: [B, cfg.timeEmbedDim] }, context: { data: context.data, dims: context.shape } };
    await runFloat(bs, bfeeds);
    const btimes: number[] = [];
    const bcpu: number[] = [];
    for (let i = 0; i < runs; i++) btimes.push((await time(() => runFloat(bs, bfeeds), bcpu))[1]);
    await bs.release();
    const bBest = Math.min(...btimes);
    console.log(`baseline ${blk.map((l) => l.key.slice(cfg.prefix.length)).join(' + ')} [${B}, ${ch}, ${hs}, ${hs}]: open ${bOpen.toFixed(1)} s, run best ${(bBest * 1000).toFixed(0)} ms (${btimes.map((t) => (t * 1000).toFixed(0)).join(', ')}), own CPU ${Math.min(...bcpu).toFixed(2)} s; load ${load()}`);

    const [unet, uOpen] = await time(() => openUNet(file, { ...arch.heads, session }));
    file.close();
    const [, first] = await time(() => unet.run({ x, timesteps, context, y }));
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) times.push((await time(() => unet.run({ x, timesteps, context, y }), cpu))[1]);
    await unet.release();
    const best = Math.min(...times);
    console.log(`${archName} UNet step, batch ${B}, latent ${L}×${L}: open ${uOpen.toFixed(1)} s, first run ${first.toFixed(2)} s, best ${best.toFixed(2)} s (${times.map((t) => t.toFixed(2)).join(', ')}), own CPU ${Math.min(...cpu).toFixed(1)} s; load ${load()}`);
    console.log(`step = ${(best / bBest).toFixed(1)} × baseline block (CPU: ${(Math.min(...cpu) / Math.min(...bcpu)).toFixed(1)} ×); RSS ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`);

    // The machine's own limit, measured in this run: the step's arithmetic over the best fp32 throughput
    // ONNX Runtime reaches here on one big MatMul / Conv. A step time near that bound leaves nothing to gain
    // from the graph; a target below it is out of reach of any fp32 graph on this CPU.
    const shape = { batch: B, latent: L, tokens: 77 };
    const flops = unetFlops(cfg, shape);
    const ceil = await measureCeiling(session);
    const bound = flops / (ceil.best * 1e9);
    const blockIdx = cfg.inputBlocks.indexOf(blk);
    console.log(`cpu: ${cpuSummary()}`);
    console.log(`work: ${(flops / 1e9).toFixed(0)} GFLOP per step (baseline block ${(blockFlops(cfg, blockIdx, shape) / 1e9).toFixed(0)} GFLOP); fp32 ceiling measured now: MatMul ${ceil.gemmGflops.toFixed(0)}, Conv3×3 ${ceil.convGflops.toFixed(0)} GFLOP/s`);
    console.log(`fastest possible fp32 step on this CPU: ${bound.toFixed(1)} s; this step: ${(flops / best / 1e9).toFixed(0)} GFLOP/s = ${((100 * bound) / best).toFixed(0)} % of the ceiling`);
    if (archName === 'sd15') {
      const ok = best <= 7 && B === 2 && L === 64;
      const why = ok ? '' : bound > 7 ? ` — out of reach here: 7 s needs ${(flops / 7e9).toFixed(0)} GFLOP/s, this CPU's fp32 ceiling is ${ceil.best.toFixed(0)}` : '';
      console.log(`target SD1.5 UNet step (batch 2, 64×64) ≤ 7 s : ${best.toFixed(2)} s (${ok ? 'PASS' : 'MISS'})${B === 2 && L === 64 ? '' : ' (not the target shape)'}${why} — ${(best / bBest).toFixed(1)} × baseline block; own CPU ${Math.min(...cpu).toFixed(1)} s; load ${load()}`);
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
