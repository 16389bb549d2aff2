/**
 * Will FLUX schnell + T5-XXL fit in 24 GiB of RAM on the CPU? Resident memory of full-size PIECES, measured,
 * then EXTRAPOLATED to the whole model set. Random weights with the real shapes, written once to a temp
 * folder: T5-XXL blocks in fp16 (t5xxl_fp16 layout: d_model 4096, d_ff 10240, 64 heads of 64) and FLUX
 * blocks in bf16 (width 3072, 24 heads, MLP 12288, T5 width 4096). Every measurement is its own child
 * process (clean RSS); quantized side files are written by this parent first, so no child's peak includes
 * the quantizer. Each child opens ONE session and runs it ONCE, recording RSS after load and after the run.
 *   floor             node + ORT + a tiny T5 session: the per-process base, subtracted from the others
 *   t5 <s> block      1 T5 block (vocab 32: no token table)       t5 q8 embed   the same + the 32128×4096 table
 *   flux <s> io|d|ds  FLUX in/out layers only | + 1 double block | + 1 double + 1 single (the only one run)
 * for s = fp32 (fp16/bf16 Cast to float32 by ORT at load: the same-run baseline) and q8 (MatMulNBits, 8-bit,
 * block 64, side file). Per piece: block = difference of RSS after load; activations = RSS after run − after
 * load of the run child (kept by ORT's arena, reused by every block, so counted once).
 * EXTRAPOLATED: T5 = 24 blocks + table + activations (256 tokens); FLUX = io + 19 double + 38 single +
 * activations (512², 1024 image + 256 text tokens, batch 1); CLIP-L and the AE are COMPUTED from their
 * parameter counts (float32), not measured; the AE's decode activations are not included.
 *
 *   node --import tsx bench/flux-memory.ts [--threads N] [--latent 64] [--small]
 * --small shrinks every width 8× to check the benchmark itself in seconds (its numbers mean nothing).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { f32ToF16, SafetensorsFile, writeSafetensors, type TensorToWrite } from '../engine/io/safetensors.ts';
import { fluxDims } from '../engine/models/flux/config.ts';
import { FluxModel, QUANT_PRESETS, quantizableKeys } from '../engine/models/flux/model.ts';
import { writeSyntheticFlux, type SyntheticFluxSpec } from '../engine/models/flux/synthetic.ts';
import { ensureQuantized } from '../engine/models/quant/cache.ts';
import { createSession, runFloat } from '../engine/onnx/index.ts';
import { buildT5EncoderGraph, t5QuantKeys } from '../engine/models/t5/graph.ts';
import { t5Spec } from '../engine/models/t5/spec.ts';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? def : def;
};
const SMALL = process.argv.includes('--small');
const DIV = SMALL ? 8 : 1;
const T5 = { d: 4096 / DIV, heads: 64 / DIV, dkv: 64, ff: 10240 / DIV, vocab: 32128, buckets: 32, tokens: 256 };
const FLUX: SyntheticFluxSpec = { hidden: 3072 / DIV, heads: 24 / DIV, depth: 1, depthSingle: 1, contextDim: T5.d, vecDim: 768, guidance: false, dtype: 'BF16', seed: 1 };
const FULL = { t5Blocks: 24, double: 19, single: 38 };
/** Parameter counts of the unmeasured parts (HF clip-vit-large-patch14 text tower; FLUX ae.safetensors). */
const COMPUTED = { clipL: 123.06e6, ae: 83.65e6 };
const LATENT = Number(arg('latent', '64'));
const THREADS = Number(arg('threads', String(availableParallelism())));
const GIB = 2 ** 30;
const gib = (b: number): string => (b / GIB).toFixed(2);

/** Uniform ±√3/√fan_in fp16 values from a 4096-entry table indexed by an LCG: fast, deterministic. */
function f16Tensor(shape: number[], scale: number, seed: number, mean = 0): TensorToWrite {
  const table = Uint16Array.from({ length: 4096 }, (_, i) => f32ToF16(mean + scale * ((i + 0.5) / 2048 - 1)));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint16Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = table[s >>> 20]!; }
  return { dtype: 'F16', shape, data };
}

/** One T5 v1.1 block in the t5xxl layout (block 0 holds the relative-bias table), with `vocab` tokens. */
function writeT5Block(file: string, vocab: number): void {
  const t: Record<string, TensorToWrite> = {};
  const inner = T5.heads * T5.dkv, a = 'encoder.block.0.layer.0.SelfAttention', f = 'encoder.block.0.layer.1.DenseReluDense';
  const u = (fanIn: number) => Math.sqrt(3 / fanIn);
  t['shared.weight'] = f16Tensor([vocab, T5.d], 1, 1);
  for (const [i, n] of ['q', 'k', 'v'].entries()) t[`${a}.${n}.weight`] = f16Tensor([inner, T5.d], u(T5.d), 10 + i);
  t[`${a}.o.weight`] = f16Tensor([T5.d, inner], u(inner), 13);
  t[`${a}.relative_attention_bias.weight`] = f16Tensor([T5.buckets, T5.heads], 0.5, 14);
  t['encoder.block.0.layer.0.layer_norm.weight'] = f16Tensor([T5.d], 0.1, 15, 1);
  t[`${f}.wi_0.weight`] = f16Tensor([T5.ff, T5.d], u(T5.d), 16);
  t[`${f}.wi_1.weight`] = f16Tensor([T5.ff, T5.d], u(T5.d), 17);
  t[`${f}.wo.weight`] = f16Tensor([T5.d, T5.ff], u(T5.ff), 18);
  t['encoder.block.0.layer.1.layer_norm.weight'] = f16Tensor([T5.d], 0.1, 19, 1);
  t['encoder.final_layer_norm.weight'] = f16Tensor([T5.d], 0.1, 20, 1);
  writeSafetensors(file, t);
}

/**
 * RSS split as /proc/self/status gives it. ORT maps external weights (the q8 side files) and pages them in
 * on first use, so after load they are not resident yet: weights are anonymous memory after load (float32
 * casts, prepacked copies) plus file-backed pages after the run; activations are the anonymous growth
 * during the run (ORT's arena keeps it and reuses it for every block, so it is counted once, not per block).
 */
interface Mem { anon: number; file: number }
interface Sample { name: string; load: Mem; run: Mem; peak: number; loadMs: number; runMs: number }

function mem(): Mem {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}
const weightsOf = (s: Sample): number => s.load.anon + s.run.file;
const actOf = (s: Sample): number => s.run.anon - s.load.anon;

/** One measurement in this (child) process: prints a RESULT line. */
async function child(name: string, dir: string): Promise<void> {
  const [model, setting, piece] = name.split(' ') as [string, 'fp32' | 'q8' | undefined, string | undefined];
  const q8 = setting === 'q8';
  const t0 = performance.now();
  let load: Mem, loadMs = 0, runMs = 0;
  if (model === 'floor' || model === 't5') {
    const path = model === 'floor' ? join(dir, 't5_floor.safetensors') : join(dir, piece === 'embed' ? 't5_block_vocab.safetensors' : 't5_block.safetensors');
    const file = SafetensorsFile.open(path);
    const spec = t5Spec(file);
    const quant = q8 ? { file: ensureQuantized(file, t5QuantKeys(spec), QUANT_PRESETS.q8, join(dir, 'cache')).file, bits: 8 as const, blockSize: 64 } : undefined;
    const { bytes, weightsDir } = buildT5EncoderGraph(file, spec, { quant }).build();
    const session = await createSession(bytes, weightsDir, { threads: THREADS });
    file.close();
    loadMs = performance.now() - t0;
    load = mem();
    const tokens = model === 'floor' ? 8 : T5.tokens;
    const ids = BigInt64Array.from({ length: tokens }, (_, i) => BigInt((i * 7919) % spec.vocabSize));
    const t1 = performance.now();
    await runFloat(session, { input_ids: { data: ids, dims: [1, tokens] } });
    runMs = performance.now() - t1;
  } else {
    const graph = piece === 'io' ? { doubleBlocks: 0, singleBlocks: 0 } : piece === 'd' ? { singleBlocks: 0 } : {};
    const m = await FluxModel.open(join(dir, 'flux_1d1s.safetensors'), { threads: THREADS, cacheDir: join(dir, 'cache'), quant: q8 ? 'q8' : undefined, graph });
    if (m.load.quantMs > 0) throw new Error('the FLUX side file was not prepared by the parent');
    loadMs = performance.now() - t0;
    load = mem();
    const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
    const t1 = performance.now();
    await m.run({ shape: [1, 16, LATENT, LATENT], data: fill(16 * LATENT * LATENT) }, [0.9], { shape: [1, T5.tokens, T5.d], data: fill(T5.tokens * T5.d) }, { shape: [1, 768], data: fill(768) });
    runMs = performance.now() - t1;
  }
  const r: Sample = { name, load, run: mem(), peak: process.resourceUsage().maxRSS * 1024, loadMs, runMs };
  console.log(`RESULT ${JSON.stringify(r)}`);
}

async function main(): Promise<void> {
  const c = process.argv.indexOf('--child');
  if (c >= 0) return child(process.argv[c + 1]!, arg('dir', ''));
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-flux-mem-'));
  try {
    const t0 = performance.now();
    writeT5Block(join(dir, 't5_block.safetensors'), 32);
    writeT5Block(join(dir, 't5_block_vocab.safetensors'), T5.vocab);
    writeTinyT5Floor(join(dir, 't5_floor.safetensors'));
    writeSyntheticFlux(join(dir, 'flux_1d1s.safetensors'), FLUX);
    console.log(`wrote the pieces (${gib(statSync(join(dir, 't5_block_vocab.safetensors')).size + statSync(join(dir, 'flux_1d1s.safetensors')).size)} GiB) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    // Quantize here, timed: the children then only reuse the side files.
    const qt: Record<string, number> = {};
    let fluxFull = 0, fluxSubset = 0; // quantized parameters: in the full model, in the measured 1d+1s file
    for (const [what, p] of [['t5', 't5_block.safetensors'], ['t5', 't5_block_vocab.safetensors'], ['flux', 'flux_1d1s.safetensors']] as const) {
      const f = SafetensorsFile.open(join(dir, p));
      const keys = what === 't5' ? t5QuantKeys(t5Spec(f)) : quantizableKeys(f, fluxDims(f));
      const r = ensureQuantized(f, keys, QUANT_PRESETS.q8, join(dir, 'cache'));
      qt[what === 't5' ? 't5 block' : 'flux 1d+1s'] ??= r.ms;
      if (what === 'flux') for (const k of keys) {
        const n = f.get(k).shape.reduce((a, b) => a * b, 1);
        fluxSubset += n;
        fluxFull += n * (k.includes('double_blocks.') ? FULL.double : FULL.single);
      }
      f.close();
    }
    console.log(`MEASURED q8 quantization (one-time, this process): T5 block (fp16) ${(qt['t5 block']! / 1000).toFixed(1)} s, FLUX 1 double + 1 single (bf16) ${(qt['flux 1d+1s']! / 1000).toFixed(1)} s`);
    console.log(`EXTRAPOLATED one-time quantization of the full models: T5-XXL ${((FULL.t5Blocks * qt['t5 block']!) / 60000).toFixed(1)} min, FLUX ${((qt['flux 1d+1s']! * fluxFull) / fluxSubset / 60000).toFixed(1)} min`);
    const names = ['floor', 't5 fp32 block', 't5 q8 block', 't5 q8 embed', 'flux fp32 io', 'flux fp32 d', 'flux fp32 ds', 'flux q8 io', 'flux q8 d', 'flux q8 ds'];
    const got = new Map<string, Sample>();
    for (const name of names) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, '--dir', dir, '--threads', String(THREADS), '--latent', String(LATENT), ...(SMALL ? ['--small'] : [])], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) throw new Error(`${name}: child failed (status ${r.status})\n${r.stderr}`);
      const s = JSON.parse(line.slice(7)) as Sample;
      got.set(name, s);
      console.log(`MEASURED ${name.padEnd(14)} anon+file RSS after load ${gib(s.load.anon)}+${gib(s.load.file)}, after run ${gib(s.run.anon)}+${gib(s.run.file)} GiB, peak RSS ${gib(s.peak)} GiB; load ${(s.loadMs / 1000).toFixed(1)} s, run ${(s.runMs / 1000).toFixed(1)} s`);
    }
    report(got);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A 2-block, 64-wide T5: the floor child's session (loads ORT and the same graph code, nearly no weights). */
function writeTinyT5Floor(file: string): void {
  const t: Record<string, TensorToWrite> = {};
  const a = 'encoder.block.0.layer.0.SelfAttention', f = 'encoder.block.0.layer.1.DenseReluDense';
  t['shared.weight'] = f16Tensor([32, 64], 1, 1);
  for (const n of ['q', 'k', 'v', 'o']) t[`${a}.${n}.weight`] = f16Tensor([64, 64], 0.2, 2);
  t[`${a}.relative_attention_bias.weight`] = f16Tensor([32, 1], 0.5, 3);
  for (const n of ['wi_0', 'wi_1']) t[`${f}.${n}.weight`] = f16Tensor([128, 64], 0.2, 4);
  t[`${f}.wo.weight`] = f16Tensor([64, 128], 0.2, 5);
  for (const k of ['encoder.block.0.layer.0.layer_norm.weight', 'encoder.block.0.layer.1.layer_norm.weight', 'encoder.final_layer_norm.weight']) t[k] = f16Tensor([64], 0.1, 6, 1);
  writeSafetensors(file, t);
}

function report(m: Map<string, Sample>): void {
  const g = (n: string): Sample => m.get(n)!;
  const W = (n: string): number => weightsOf(g(n));
  const floor = W('floor') + Math.max(0, actOf(g('floor')));
  const embed = W('t5 q8 embed') - W('t5 q8 block');
  const clip = COMPUTED.clipL * 4, ae = COMPUTED.ae * 4;
  const totals: Record<string, number> = {};
  const piece: Record<string, { t5Block: number; fluxDs: number }> = {};
  console.log('\nper piece: weights = anon after load + file-backed after run, minus the smaller piece; activations = anon growth in the run');
  for (const s of ['fp32', 'q8']) {
    const t5Block = W(`t5 ${s} block`) - W('floor');
    const t5Act = Math.max(actOf(g(`t5 ${s} block`)), actOf(g(`t5 ${s === 'q8' ? 'q8 embed' : 'fp32 block'}`)));
    const io = W(`flux ${s} io`) - W('floor');
    const dbl = W(`flux ${s} d`) - W(`flux ${s} io`);
    const sgl = W(`flux ${s} ds`) - W(`flux ${s} d`);
    const fAct = Math.max(...['io', 'd', 'ds'].map((p) => actOf(g(`flux ${s} ${p}`))));
    piece[s] = { t5Block, fluxDs: W(`flux ${s} ds`) - W('floor') };
    const t5 = FULL.t5Blocks * t5Block + embed + t5Act;
    const flux = io + FULL.double * dbl + FULL.single * sgl + fAct;
    totals[s] = floor + t5 + flux + clip + ae;
    console.log(`${s}: MEASURED T5 block ${gib(t5Block)}, T5 activations ${gib(t5Act)} | FLUX in/out ${gib(io)}, double ${gib(dbl)}, single ${gib(sgl)}, activations ${gib(fAct)} GiB`);
    console.log(`${s}: EXTRAPOLATED T5-XXL ≈ ${gib(t5)} GiB (24 blocks + token table ${gib(embed)} + act.), FLUX schnell ≈ ${gib(flux)} GiB (in/out + 19 double + 38 single + act.)`);
  }
  console.log(`\nq8 / fp32 weights resident, MEASURED same run: one T5 block ${(piece.q8!.t5Block / piece.fp32!.t5Block).toFixed(2)}, FLUX 1 double + 1 single + in/out ${(piece.q8!.fluxDs / piece.fp32!.fluxDs).toFixed(2)}`);
  console.log(`\nEXTRAPOLATED total resident memory, FLUX schnell + T5-XXL + CLIP-L + AE all loaded in one process (${LATENT * 8}² image, 256 T5 tokens):`);
  console.log(`  = process floor ${gib(floor)} (measured) + T5 + FLUX (extrapolated from the measured pieces above) + CLIP-L ${gib(clip)} + AE ${gib(ae)} (COMPUTED from parameter counts as float32, not measured; AE decode activations NOT included)`);
  for (const s of ['fp32', 'q8']) console.log(`  ${s}: ${gib(totals[s]!)} GiB vs 24 GiB → ${totals[s]! <= 24 * GIB ? `fits, ${gib(24 * GIB - totals[s]!)} GiB left` : `does NOT fit, ${gib(totals[s]! - 24 * GIB)} GiB over`}`);
  console.log(`  q8 / fp32 total: ${(totals.q8! / totals.fp32!).toFixed(2)}; this machine has ${gib(totalmem())} GiB${SMALL ? ' (--small: widths / 8, numbers mean nothing)' : ''}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
