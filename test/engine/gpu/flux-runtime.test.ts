/**
 * FLUX's GPU variants through the ModelService, as the nodes reach them: the DiT (with and without a LoRA),
 * the T5 encoder and the 16-channel AE each run on a service forced to `webgpu` and on one forced to `cpu`.
 * The webgpu service must report webgpu and have been handed the GPU graph (fp16 for DiT and AE, float32
 * for T5); the results must match the CPU service's within the variant's tolerance, and the LoRA must move
 * the GPU result as it moves the CPU one (both variants are built from the same patched weight source).
 * Lavapipe here (research/onnx.md §8); without a WebGPU adapter the tests skip with the reason.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { probeWebGpu } from '../../../engine/conformance/gpu.ts';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { aeTensors, fluxModelFnFor, writeTinyFluxDit, writeTinyT5 } from '../../../engine/models/flux-sd/index.ts';
import { loadLoraForModels } from '../../../engine/models/lora/loader.ts';
import { loadDiffusionModel, SdVae, type SdModel } from '../../../engine/models/sd/index.ts';
import { T5Encoder } from '../../../engine/models/t5/encoder.ts';
import { FP16_TOLERANCE, GPU_FP32_TOLERANCE } from '../../../engine/onnx/precision.ts';
import { ModelService, type ModelSpec } from '../../../engine/runtime/service.ts';
import type { CondEntry } from '../../../engine/sampling/cfg.ts';
import { FLOAT16, onnxNodes } from '../../support/onnx-nodes.ts';
import { writeOracleLora, type OracleModule } from '../../support/lora-oracle.ts';
import { rand } from '../../support/tensors.ts';
import { tmpDir } from '../onnx/ref.ts';

const probe = await probeWebGpu();
const skip = probe.ok ? false : `no WebGPU adapter: ${probe.reason}`;
if (skip) console.log(`# ${skip}`);

const dir = tmpDir('gpu-flux-rt');
const services: ModelService[] = [];
after(async () => {
  for (const s of services) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A service forced onto `ep` that records the spec of every model it loads. */
function service(ep: 'cpu' | 'webgpu'): { svc: ModelService; specs: Map<string, ModelSpec> } {
  const svc = new ModelService({ ep, threads: 1 });
  services.push(svc);
  const specs = new Map<string, ModelSpec>();
  const load = svc.load.bind(svc);
  svc.load = (key, spec) => { specs.set(key, spec); return load(key, spec); };
  return { svc, specs };
}

/** The graph the webgpu provider was given (built already: resolving a memoised source is free). */
function gpuNodes(spec: ModelSpec) {
  const src = spec.graphByEp?.webgpu;
  assert.ok(src && !(src instanceof Uint8Array), 'the spec has a lazily built GPU variant');
  return onnxNodes(src().bytes);
}

function within(label: string, got: Float32Array, want: Float32Array, tol: { abs: number; rel_to_max: number }): void {
  assert.equal(got.length, want.length);
  let err = 0, max = 0;
  for (let i = 0; i < want.length; i++) { err = Math.max(err, Math.abs(got[i]! - want[i]!)); max = Math.max(max, Math.abs(want[i]!)); }
  const bound = tol.abs + tol.rel_to_max * max;
  console.log(`# ${label}: max|diff| ${err.toExponential(2)} (max|cpu| ${max.toFixed(3)}, bound ${bound.toExponential(2)})`);
  assert.ok(err <= bound, `${label}: differs by ${err} > ${bound}`);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('FLUX DiT with and without a LoRA: webgpu-forced service runs the fp16 GPU variant, built from the LoRA-patched weights', { skip }, async () => {
  const dev = path.join(dir, 'dev.safetensors');
  writeTinyFluxDit(dev, { guidance: true });
  // Strong enough that the LoRA moves the output far more than fp16 rounding does.
  const mods: OracleModule[] = [
    { name: 'diffusion_model.double_blocks.0.img_mlp.0', key: 'double_blocks.0.img_mlp.0.weight', rank: 4, alpha: 16 },
    { name: 'diffusion_model.single_blocks.0.linear2', key: 'single_blocks.0.linear2.weight', rank: 4, alpha: 16 },
    { name: 'diffusion_model.final_layer.linear', key: 'final_layer.linear.weight', rank: 4, alpha: 16 },
  ];
  const loraFile = path.join(dir, 'lora.safetensors');
  writeOracleLora(loraFile, dev, mods, 1);
  const base = (): SdModel => loadDiffusionModel(dev, { cacheDir: dir });
  const withLora = (): SdModel => loadLoraForModels(base(), null, loraFile, 1, 0, { cacheDir: path.join(dir, 'lora-cache'), warn: () => {} }).model!;
  const x = rand([1, 16, 4, 6], 3);
  const row: CondEntry = { context: rand([1, 8, 32], 4), extra: { pooled_output: rand([1, 32], 5), guidance: 3.5 } };
  const out = async (svc: ModelService, m: SdModel) => (await fluxModelFnFor(m, svc, [1, 16, 4, 6])(x, 0.6, [row])).data;

  const cpu = service('cpu'), gpu = service('webgpu');
  const t0 = performance.now();
  const [cpuBase, cpuLora] = [await out(cpu.svc, base()), await out(cpu.svc, withLora())];
  const [gpuBase, gpuLora] = [await out(gpu.svc, base()), await out(gpu.svc, withLora())];
  console.log(`# DiT base + LoRA on webgpu (lavapipe, record only): ${(performance.now() - t0).toFixed(0)} ms`);
  assert.deepEqual(cpu.svc.loadedModels().map((m) => m.ep), ['cpu', 'cpu']);
  assert.deepEqual(gpu.svc.loadedModels().map((m) => m.ep), ['webgpu', 'webgpu']);
  for (const spec of gpu.specs.values()) {
    const nodes = gpuNodes(spec);
    assert.ok(!nodes.some((n) => n.op === 'FusedMatMul') && nodes.some((n) => n.op === 'Cast' && n.to === FLOAT16), 'fp16 GPU op choices');
  }
  within('flux DiT base, webgpu fp16 vs cpu', gpuBase, cpuBase, FP16_TOLERANCE);
  within('flux DiT + LoRA, webgpu fp16 vs cpu', gpuLora, cpuLora, FP16_TOLERANCE);
  const loraEffect = maxAbsDiff(cpuLora, cpuBase);
  const bound = FP16_TOLERANCE.abs + FP16_TOLERANCE.rel_to_max * cpuLora.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  console.log(`# the LoRA moves the CPU output by ${loraEffect.toFixed(3)}, the GPU one by ${maxAbsDiff(gpuLora, gpuBase).toFixed(3)} (fp16 bound ${bound.toFixed(3)})`);
  assert.ok(loraEffect > 5 * bound, 'the LoRA effect is well above fp16 noise, so matching cpuLora proves the GPU graph has it');
});

test('T5 encoder: webgpu-forced service runs its float32 GPU variant (decomposed biased attention), within 1e-4·max of the CPU', { skip }, async () => {
  const p = path.join(dir, 't5.safetensors');
  writeTinyT5(p);
  const file = SafetensorsFile.open(p);
  try {
    const ids = Array.from({ length: 2 * 40 }, (_, i) => (i % 40 === 39 ? 1 : (i * 7919) % 32000));
    const cpuEnc = T5Encoder.open(file, undefined, { models: null, threads: 1 });
    const gpu = service('webgpu');
    const gpuEnc = T5Encoder.open(file, undefined, { models: gpu.svc });
    const want = (await cpuEnc.encode(ids, 2)).data;
    const got = (await gpuEnc.encode(ids, 2)).data;
    await cpuEnc.release();
    assert.deepEqual(gpu.svc.loadedModels().map((m) => m.ep), ['webgpu']);
    const nodes = gpuNodes([...gpu.specs.values()][0]!);
    assert.ok(!nodes.some((n) => n.domain === 'com.microsoft'), 'no contrib ops (MultiHeadAttention / FusedMatMul) in the T5 GPU graph');
    assert.ok(!nodes.some((n) => n.op === 'Cast' && n.to === FLOAT16), 'the T5 GPU graph stays float32');
    within('t5 webgpu fp32 vs cpu', got, want, GPU_FP32_TOLERANCE);
  } finally {
    file.close();
  }
});

test('FLUX AE (16 channels, no quant convs): decode and encode on a webgpu-forced service use the fp16 VAE variant', { skip }, async () => {
  const p = path.join(dir, 'ae.safetensors');
  writeSafetensors(p, aeTensors('', 7, 3));
  const latent = rand([1, 16, 3, 4], 11);
  const image = rand([1, 12, 16, 3], 12, 0.5, 0.5);
  const run = async (ep: 'cpu' | 'webgpu') => {
    const s = service(ep);
    const vae = SdVae.open(p, '');
    const dec = await vae.decode(s.svc, latent);
    const enc = await vae.encode(s.svc, image);
    return { s, dec: dec.data, enc: enc.data };
  };
  const t0 = performance.now();
  const cpu = await run('cpu');
  const gpu = await run('webgpu');
  console.log(`# AE decode+encode cpu+webgpu (lavapipe, record only): ${(performance.now() - t0).toFixed(0)} ms`);
  assert.deepEqual(gpu.s.svc.loadedModels().map((m) => m.ep).sort(), ['webgpu', 'webgpu']);
  for (const spec of gpu.s.specs.values()) assert.ok(gpuNodes(spec).some((n) => n.op === 'Cast' && n.to === FLOAT16), 'fp16 AE graph');
  within('flux AE decode, webgpu fp16 vs cpu', gpu.dec, cpu.dec, FP16_TOLERANCE);
  within('flux AE encode (mean), webgpu fp16 vs cpu', gpu.enc, cpu.enc, FP16_TOLERANCE);
});
