/**
 * VAE decode benchmark: an SD-sized KL-VAE (widths 128/256/512/512, 2 ResNet blocks per encoder level, 3 per
 * decoder level, random weights, streamed to a temp folder as a standalone VAE file) decodes a 64×64 latent to
 * a 512² image through the production path: SdVae.decode → ModelService worker session.
 * Baseline, measured in the same run through the same service: decoder.up.0 alone (its three ResNet blocks,
 * 256 → 128 channels at full 512² resolution, the costliest stage), so the decode also prints as
 * "× baseline block" — comparable across machines and load. Both are timed on their first run (the arena is
 * sized then) and on `--runs` more; wall and CPU seconds (process.cpuUsage: all threads) and the load average
 * go with every timing. Nothing is asserted.
 *
 *   node --import tsx bench/vae-decode.ts [--latent 64] [--runs 1] [--small] [--keep]
 * --small: the fixtures' tiny VAE (widths 32/64/64/64) and an 8×8 latent, to check the benchmark itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../engine/io/safetensors.ts';
import { SdVae } from '../engine/models/sd/vae.ts';
import { resBlock } from '../engine/models/layers/index.ts';
import { GraphBuilder } from '../engine/onnx/index.ts';
import { ModelService } from '../engine/runtime/index.ts';
import { ARCH, RssSampler, fmtT, gib, load, streamSdCheckpoint, timed, type Timed } from './lib/checkpoint.ts';
import { uniformInput } from './lib/inputs.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? def : def;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);


const best = (ts: Timed<unknown>[]): Timed<unknown> => ts.reduce((a, b) => (b.wall < a.wall ? b : a));

async function main(): Promise<void> {
  const small = flag('small');
  const L = Number(arg('latent', small ? '8' : '64'));
  const runs = Number(arg('runs', '1'));
  const dir = mkdtempSync(join(tmpdir(), 'weft-vae-bench-'));
  const path = join(dir, 'vae-f32.safetensors');
  const opts = small ? { family: 'sd1' as const } : { family: 'sd1' as const, vaeCh: ARCH.sd15.vaeCh, vaeChMult: ARCH.sd15.vaeChMult, vaeResBlocks: ARCH.sd15.vaeResBlocks };
  console.log(`vae-decode${small ? ' (--small)' : ''}: latent ${L}×${L} → ${8 * L}² image; load ${load()}`);
  const svc = new ModelService({ ep: 'cpu' });
  try {
    const gen = await timed(() => streamSdCheckpoint(path, { ...opts, dtype: 'F32', seed: 1 }, { vaeOnly: true }));
    console.log(`weights: ${gen.value.tensors} tensors, ${(gen.value.params / 1e6).toFixed(1)} M params, ${gib(gen.value.bytes)} streamed in ${fmtT(gen)}`);
    const vae = SdVae.open(path, '');
    const levels = vae.spec.levels;
    const H = L * 2 ** (levels - 1);
    const sampler = new RssSampler();

    // Baseline: decoder.up.0 (all its ResNet blocks) at full resolution, as its own session.
    const f = SafetensorsFile.open(path);
    const g = new GraphBuilder({ name: 'vae-up0' });
    const cin = f.get('decoder.up.1.block.0.conv2.weight').shape[0]!;
    const cout = f.get('decoder.up.0.block.0.conv1.weight').shape[0]!;
    let x = g.input('h', 'float32', [1, cin, 'H', 'W']);
    for (let j = 0; j <= vae.spec.resBlocks; j++) x = resBlock(g, f, `decoder.up.0.block.${j}`, x, { groups: 32, eps: 1e-6 });
    g.output(x, 'out');
    const built = g.build();
    f.close();
    const hFeed = { h: { type: 'float32' as const, dims: [1, cin, H, H], data: uniformInput(cin * H * H, 4) } };
    const bLoad = await timed(() => svc.load('bench-vae-up0', { graph: built.bytes, weightsDir: built.weightsDir }));
    sampler.start();
    const bFirst = await timed(() => bLoad.value.run(hFeed));
    const bRuns: Timed<unknown>[] = [];
    for (let i = 0; i < runs; i++) bRuns.push(await timed(() => bLoad.value.run(hFeed)));
    sampler.stop();
    const bBest = best(runs > 0 ? bRuns : [bFirst]);
    console.log(`baseline decoder.up.0 (${vae.spec.resBlocks + 1} ResNet blocks, [1, ${cin}, ${H}, ${H}] → ${cout} ch): load ${fmtT(bLoad)}; first run ${fmtT(bFirst)}; best of ${runs} more ${bRuns.length ? fmtT(bBest) : '-'}; peak RSS ${sampler.describe()}; load ${load()}`);
    await svc.unload('bench-vae-up0');

    // The decode, through SdVae (session started on first use).
    const latent = { shape: [1, vae.latentChannels, L, L], data: uniformInput(vae.latentChannels * L * L, 1) };
    sampler.start();
    const first = await timed(() => vae.decode(svc, latent));
    const dRuns: Timed<unknown>[] = [];
    for (let i = 0; i < runs; i++) dRuns.push(await timed(() => vae.decode(svc, latent)));
    sampler.stop();
    const img = first.value;
    const dBest = best(runs > 0 ? dRuns : [first]);
    console.log(`VAE decode ${L}×${L} → [${img.shape.join(', ')}]: first call (session load + run) ${fmtT(first)}; best of ${runs} more ${dRuns.length ? fmtT(dBest) : '-'}; peak RSS ${sampler.describe()}; load ${load()}`);
    const cmp = runs > 0 ? { d: dBest, b: bBest, what: 'steady run' } : { d: first, b: { wall: bLoad.wall + bFirst.wall, cpu: bLoad.cpu + bFirst.cpu }, what: 'load + first run' };
    console.log(`VAE decode ${8 * L}² = ${cmp.d.wall.toFixed(2)} s = ${(cmp.d.wall / cmp.b.wall).toFixed(2)} × baseline up.0 block (CPU: ${cmp.d.cpu.toFixed(2)} s = ${(cmp.d.cpu / cmp.b.cpu).toFixed(2)} ×), ${cmp.what}; load ${load()}`);
  } finally {
    await svc.close();
    if (!flag('keep')) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
