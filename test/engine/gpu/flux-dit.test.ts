/**
 * The FLUX DiT's GPU variant on a real WebGPU session (Mesa's lavapipe here: correct, slow; research/onnx.md
 * §8) against the CPU graph: fp16 within FP16_TOLERANCE and no CPU-only contrib ops; MatMulNBits (8/4-bit)
 * placed on the WebGPU EP itself; and ComfyUI's fp16 stream guard (flux/fp16.ts) keeping a forced overflow
 * finite. Every WebGPU test skips with the reason where no adapter exists.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { probeWebGpu, runGpuConformance } from '../../../engine/conformance/gpu.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { FluxModel, type FluxOpenOptions } from '../../../engine/models/flux/model.ts';
import { buildFluxVariant } from '../../../engine/models/flux-sd/build.ts';
import { writeTinyFluxDit } from '../../../engine/models/flux-sd/synthetic.ts';
import { ensureQuantized } from '../../../engine/models/quant/cache.ts';
import { quantLinear } from '../../../engine/models/quant/linear.ts';
import { GraphBuilder, runFloat, sessionOptions } from '../../../engine/onnx/index.ts';
import { FP16_TOLERANCE, GPU_FP32_TOLERANCE, buildWithDtype } from '../../../engine/onnx/precision.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { FLOAT16, WEBGPU_CONTRIB_OPS, onnxNodes } from '../../support/onnx-nodes.ts';
import { rand, tmpDir } from '../onnx/ref.ts';

const probe = await probeWebGpu();
const skip = probe.ok ? false : `no WebGPU adapter: ${probe.reason}`;
if (skip) console.log(`# ${skip}`);

const dir = tmpDir('gpu-flux');
after(() => rmSync(dir, { recursive: true, force: true }));
const dev = join(dir, 'dev.safetensors');
writeTinyFluxDit(dev, { guidance: true });

const X: Tensor = { shape: [1, 16, 6, 6], data: rand(16 * 36, 3) };
const CTX: Tensor = { shape: [1, 8, 32], data: rand(8 * 32, 4) };
const Y: Tensor = { shape: [1, 32], data: rand(32, 5) };

/** v of the DiT at σ 0.6, guidance 3.5 (FluxModel.run: patchify, RoPE, sinusoids, graph, unpatchify). */
async function velocity(path: string, o: FluxOpenOptions): Promise<Float32Array> {
  const m = await FluxModel.open(path, { threads: 1, quiet: true, ...o });
  try {
    return (await m.run(X, [0.6], CTX, Y, [3.5])).data;
  } finally {
    await m.close();
  }
}

const WEBGPU = { executionProviders: ['webgpu'], graph: { ep: 'webgpu' as const } } satisfies FluxOpenOptions;

function errors(got: Float32Array, want: Float32Array): { err: number; max: number } {
  let err = 0, max = 0;
  for (let i = 0; i < want.length; i++) { err = Math.max(err, Math.abs(got[i]! - want[i]!)); max = Math.max(max, Math.abs(want[i]!)); }
  return { err, max };
}

function within(label: string, got: Float32Array, want: Float32Array, tol: { abs: number; rel_to_max: number }): number {
  assert.equal(got.length, want.length);
  const { err, max } = errors(got, want);
  const bound = tol.abs + tol.rel_to_max * max;
  console.log(`# ${label}: max|diff| ${err.toExponential(2)} (${(100 * err / max).toFixed(2)}% of max|cpu| ${max.toFixed(3)}, bound ${bound.toExponential(2)})`);
  assert.ok(err <= bound, `${label}: differs by ${err} > ${bound}`);
  return err / max;
}

test('the GPU variant the runtime builds: fp16 casts, decomposed attention, two-pass norms, no CPU-only contrib ops', () => {
  const input = { path: dev, guidance: true, cacheDir: dir };
  const cpu = onnxNodes(buildFluxVariant(input, 'cpu').bytes);
  const gpu = onnxNodes(buildFluxVariant(input, 'gpu').bytes);
  assert.ok(cpu.some((n) => n.op === 'FusedMatMul') && cpu.some((n) => n.op === 'MultiHeadAttention'), 'the CPU graph uses the CPU op choices');
  const contrib = gpu.filter((n) => n.domain === 'com.microsoft').map((n) => n.op);
  assert.deepEqual(contrib.filter((op) => !WEBGPU_CONTRIB_OPS.has(op)), [], 'contrib ops without a WebGPU kernel');
  assert.ok(!gpu.some((n) => ['MultiHeadAttention', 'LayerNormalization'].includes(n.op)), 'WebGPU gets the decomposed attention and two-pass norms');
  assert.ok(gpu.some((n) => n.op === 'Cast' && n.to === FLOAT16), 'fp16 graph');
  // ComfyUI's fp16 guard: once after the double block (txt), once after the single block (joint stream).
  assert.equal(gpu.filter((n) => n.op === 'Where').length, 2);
  assert.equal(cpu.filter((n) => n.op === 'Where').length, 0, 'the CPU graph is float32: no guard');
});

test('tiny FLUX dev on webgpu: fp32 equals the CPU EP within 1e-4·max, the fp16 variant within FP16_TOLERANCE', { skip }, async () => {
  const t0 = performance.now();
  const cpu = await velocity(dev, {});
  const rel32 = within('flux webgpu fp32', await velocity(dev, WEBGPU), cpu, GPU_FP32_TOLERANCE);
  const rel16 = within('flux webgpu fp16', await velocity(dev, { ...WEBGPU, dtype: 'float16' }), cpu, FP16_TOLERANCE);
  assert.ok(rel16 > 1e-4 && rel16 > 10 * rel32, `fp16 error ${rel16} vs fp32 ${rel32}: is the graph really fp16?`);
  console.log(`# flux cpu + webgpu fp32 + fp16: ${(performance.now() - t0).toFixed(0)} ms (lavapipe; record only)`);
});

test('8-bit DiT on webgpu keeps its MatMulNBits Linears: fp16 variant within FP16_TOLERANCE of the 8-bit CPU graph', { skip }, async () => {
  const q = { quant: 'q8' as const, cacheDir: join(dir, 'quant') };
  const cpu = await velocity(dev, q);
  within('flux q8 webgpu fp16', await velocity(dev, { ...q, ...WEBGPU, dtype: 'float16' }), cpu, FP16_TOLERANCE);
});

test('MatMulNBits (8- and 4-bit, zero points, fp32 and fp16) runs on the WebGPU EP itself, not a CPU fallback', { skip }, async () => {
  const K = 128, N = 48;
  const p = join(dir, 'lin.safetensors');
  writeSafetensors(p, { 'l.weight': { dtype: 'F32', shape: [N, K], data: rand(N * K, 8, 0.1) }, 'l.bias': { dtype: 'F32', shape: [N], data: rand(N, 9, 0.1) } });
  const f = SafetensorsFile.open(p);
  try {
    for (const [bits, blockSize] of [[8, 64], [4, 32]] as const) {
      const qf = ensureQuantized(f, ['l.weight'], { bits, blockSize }, join(dir, 'nbits'));
      const x = { x: { data: rand(3 * K, 10), dims: [3, K] } };
      const outs: Record<string, Float32Array> = {};
      for (const [ep, dtype] of [['cpu', 'float32'], ['webgpu', 'float32'], ['webgpu', 'float16']] as const) {
        const { bytes, weightsDir } = buildWithDtype(dtype, () => {
          const g = new GraphBuilder({ name: 'nbits', ep });
          g.output(quantLinear(g, f, { file: qf.file, bits, blockSize }, 'l', g.input('x', 'float32', [3, K])), 'y', 'float32', [3, N]);
          return g.build();
        });
        const o = sessionOptions(weightsDir, { executionProviders: [ep], threads: 1, quiet: true });
        // With CPU fallback disabled, session creation fails if any node lacks a kernel on the provider.
        if (ep === 'webgpu') (o.extra as { session: Record<string, string> }).session.disable_cpu_ep_fallback = '1';
        const s = await ort.InferenceSession.create(bytes, o);
        outs[`${ep}-${dtype}`] = (await runFloat(s, x)).y!.data;
        await s.release();
      }
      qf.file.close();
      within(`MatMulNBits ${bits}-bit webgpu fp32`, outs['webgpu-float32']!, outs['cpu-float32']!, GPU_FP32_TOLERANCE);
      within(`MatMulNBits ${bits}-bit webgpu fp16`, outs['webgpu-float16']!, outs['cpu-float32']!, FP16_TOLERANCE);
    }
  } finally {
    f.close();
  }
});

/**
 * The tiny DiT with double block 0's txt MLP pushed past fp16's range: txt += gate2·(mlp + 6e4) with gate2 = 2
 * (its modulation rows zeroed, bias 2), ~1.2e5 per channel, which fp16 holds only as inf.
 */
function overflowingDit(): string {
  const f = SafetensorsFile.open(dev);
  const out: Record<string, TensorToWrite> = {};
  let metadata: Record<string, string>;
  try {
    for (const [k, t] of f.tensors) out[k] = { dtype: 'F32', shape: [...t.shape], data: f.readFloat32(k) };
    metadata = { ...f.metadata };
  } finally {
    f.close();
  }
  const C = 32;
  (out['double_blocks.0.txt_mlp.2.bias']!.data as Float32Array).fill(6e4);
  (out['double_blocks.0.txt_mod.lin.weight']!.data as Float32Array).fill(0, 5 * C * C, 6 * C * C);
  (out['double_blocks.0.txt_mod.lin.bias']!.data as Float32Array).fill(2, 5 * C, 6 * C);
  const p = join(dir, 'overflow.safetensors');
  writeSafetensors(p, out, metadata);
  return p;
}

test('fp16 guard: a txt stream past 65504 stays finite, as ComfyUI\'s nan_to_num keeps it; unguarded fp16 gives NaN', { skip }, async () => {
  const p = overflowingDit();
  // The reference's fp16 run replaces ±inf in the txt stream by ±65504 after the double block; float32 with
  // the same guard computes that (up to fp16 rounding), and float32 without it shows the stream did pass 65504.
  const cpuGuarded = await velocity(p, { graph: { clampStreams: true } });
  const cpuPlain = await velocity(p, {});
  assert.ok(errors(cpuGuarded, cpuPlain).err > 1e-3, 'the guard changed the float32 result: the stream really passed 65504');
  const gpuGuarded = await velocity(p, { ...WEBGPU, dtype: 'float16' });
  assert.ok(gpuGuarded.every(Number.isFinite), 'the fp16 variant stays finite');
  within('flux fp16 guarded vs float32 with the same guard', gpuGuarded, cpuGuarded, FP16_TOLERANCE);
  const gpuPlain = await velocity(p, { ...WEBGPU, dtype: 'float16', graph: { ep: 'webgpu', clampStreams: false } });
  const bad = gpuPlain.filter((v) => !Number.isFinite(v)).length;
  console.log(`# unguarded fp16: ${bad} of ${gpuPlain.length} outputs NaN/inf`);
  assert.ok(bad > 0, 'without the guard the fp16 graph overflows');
});

const conf = resolve(import.meta.dirname, '../../../../shared/conformance');
const confSkip = skip || (existsSync(join(conf, 'cases.json')) ? false : `${conf} not found (golden cases live outside the repo)`);
// One DiT case (odd 7×9 latent: the circular pad) and one T5 case; the AE case runs the SD VAE's graphs, which
// vae_decode in webgpu.test.ts already covers, and takes ~10 s per dtype on lavapipe, so it stays in the CLI run.
const CASES = ['flux_t5_encode_0', 'flux_dit_odd_7x9_t0.7_g4.0'];

test('conformance on webgpu: a FLUX DiT and a T5 case (fp32: case tolerance; fp16: FP16_TOLERANCE, T5 float32 always)', { skip: confSkip }, async () => {
  const lines: string[] = [];
  // Prefixed so these summaries are not mistaken for webgpu.test.ts's SD ones in the suite's output.
  const log = (l: string) => { lines.push(l); console.log(`# flux: ${l}`); };
  for (const fp16 of [false, true]) {
    const r = await runGpuConformance(conf, { names: CASES, fp16, log });
    assert.deepEqual(r.results.map((x) => [x.name, x.ok]), CASES.map((n) => [n, true]), lines.join('\n'));
  }
});
