/**
 * WebGPU graph variants on a real WebGPU session. Here that is Mesa's lavapipe (software Vulkan, research/onnx.md
 * §8): correct but slow, so models are tiny and timings are printed for the record only. Without a usable
 * adapter every WebGPU test skips with the reason; the provider-selection test runs everywhere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { clipSpec } from '../../../engine/models/clip/spec.ts';
import { buildClipTextGraph } from '../../../engine/models/clip/graph.ts';
import { tinyHfClip } from '../../../engine/models/clip/synthetic.ts';
import { Rng, TensorSink, vae } from '../../../engine/models/fixtures/sd.ts';
import { buildVaeDecoder, vaeSpec } from '../../../engine/models/vae/graph.ts';
import { GraphBuilder, runFloat, sessionFor } from '../../../engine/onnx/index.ts';
import { FP16_TOLERANCE, GPU_FP32_TOLERANCE, buildWithDtype, type FloatDtype } from '../../../engine/onnx/precision.ts';
import { probeWebGpu, runGpuConformance, webgpuSession } from '../../../engine/conformance/gpu.ts';
import { candidatesFor, platformInfo, selectProvider } from '../../../engine/runtime/providers.ts';
import { rand, tmpDir } from '../onnx/ref.ts';

const probe = await probeWebGpu();
const skip = probe.ok ? false : `no WebGPU adapter: ${probe.reason}`;
if (skip) console.log(`# ${skip}`);

const dir = tmpDir('gpu');
const open: Array<{ close(): void }> = [];
after(() => {
  for (const f of open) f.close();
  rmSync(dir, { recursive: true, force: true });
});

type Feeds = Parameters<typeof runFloat>[1];
type Outs = Record<string, Float32Array>;

async function runOnce(s: ort.InferenceSession, feeds: Feeds): Promise<Outs> {
  try {
    const r = await runFloat(s, feeds);
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data]));
  } finally {
    await s.release();
  }
}

/** The CPU reference (fp32 graph for the CPU EP) and the WebGPU variant in `dtype`, both run on `feeds`. */
async function cpuAndGpu(build: (ep: 'cpu' | 'webgpu') => GraphBuilder, dtype: FloatDtype, feeds: Feeds) {
  const cpu = await runOnce(await sessionFor(build('cpu'), { threads: 1 }), feeds);
  const t0 = performance.now();
  const { bytes, weightsDir } = buildWithDtype(dtype, () => build('webgpu')).build();
  const gpu = await runOnce(await webgpuSession(bytes, weightsDir), feeds);
  return { cpu, gpu, ms: performance.now() - t0 };
}

/** max|got − exp| and max|exp| per output, checked against abs + rel·max; the numbers go to the log. */
function check(label: string, cpu: Outs, gpu: Outs, tol: { abs: number; rel_to_max: number }): number {
  let worstRel = 0;
  for (const [k, exp] of Object.entries(cpu)) {
    const got = gpu[k];
    assert.ok(got, `${label}: output ${k} missing on webgpu`);
    assert.equal(got.length, exp.length, `${label}: ${k} length`);
    let err = 0, max = 0;
    for (let i = 0; i < exp.length; i++) { err = Math.max(err, Math.abs(got[i]! - exp[i]!)); max = Math.max(max, Math.abs(exp[i]!)); }
    assert.ok(!Number.isNaN(err), `${label}: ${k} has NaN`);
    const bound = tol.abs + tol.rel_to_max * max;
    console.log(`# ${label} ${k}: max|diff| ${err.toExponential(2)} (max|cpu| ${max.toFixed(3)}, bound ${bound.toExponential(2)})`);
    assert.ok(err <= bound, `${label}: ${k} differs by ${err} > ${bound}`);
    worstRel = Math.max(worstRel, err / Math.max(max, 1e-12));
  }
  return worstRel;
}

test('auto provider selection picks the CPU over a software WebGPU adapter, with the reason', async (t) => {
  const info = await platformInfo();
  if (info.gpu === 'hardware') return t.skip(`this machine has a hardware GPU (${info.gpuReason})`);
  const { candidates, skipped } = candidatesFor('auto', info);
  const tiny = new GraphBuilder({ name: 'ep_probe' });
  tiny.output(tiny.op('Relu', [tiny.input('x', 'float32', [2])]), 'y', 'float32', [2]);
  const bytes = tiny.toBytes();
  const r = await selectProvider(candidates, (ep) => ort.InferenceSession.create(bytes, { executionProviders: [ep] }), skipped);
  await r.value.release();
  assert.equal(r.ep, 'cpu');
  const webgpu = r.attempts.find((a) => a.ep === 'webgpu');
  if (info.backends.some((b) => b.name === 'webgpu')) {
    assert.equal(webgpu?.outcome, 'skipped', 'auto must not even try a software/absent adapter');
    // Where WebGPU demonstrably works (the probe ran a session), the adapter it found must be the software one.
    if (probe.ok) {
      assert.equal(info.gpu, 'software');
      assert.match(webgpu!.reason, /software/);
    }
    console.log(`# auto → cpu; webgpu skipped: ${webgpu!.reason}`);
  }
});

const HF = 'cond_stage_model.transformer.text_model';
const clipPath = join(dir, 'clip.safetensors');
writeSafetensors(clipPath, tinyHfClip(HF, { width: 32, layers: 2, seed: 7, projection: 24 }));

test('tiny CLIP on webgpu: fp32 equals the CPU EP within 1e-4·max, fp16 within the fp16 tolerance', { skip }, async () => {
  const f = SafetensorsFile.open(clipPath);
  open.push(f);
  const spec = clipSpec(f, HF);
  // Two prompts, EOS at different places, one textual-inversion row (id = vocab) to exercise the extra input.
  const ids = new BigInt64Array(2 * 77).fill(BigInt(spec.eosId));
  [[spec.bosId, 320, 1125, spec.vocab, spec.eosId], [spec.bosId, 49000, spec.eosId]].forEach((row, b) => row.forEach((v, i) => (ids[b * 77 + i] = BigInt(v))));
  const feeds: Feeds = { input_ids: { data: ids, dims: [2, 77] }, extra_embeds: { data: rand(32, 3), dims: [1, 32] } };
  const build = (ep: 'cpu' | 'webgpu') => buildClipTextGraph(f, spec, { ep, layer: -2, finalNorm: true, project: true });
  const r32 = await cpuAndGpu(build, 'float32', feeds);
  const rel32 = check('clip webgpu fp32', r32.cpu, r32.gpu, GPU_FP32_TOLERANCE);
  const r16 = await cpuAndGpu(build, 'float16', feeds);
  const rel16 = check('clip webgpu fp16', r16.cpu, r16.gpu, FP16_TOLERANCE);
  // The fp16 variant must really compute in fp16: its error is far above fp32 round-off.
  assert.ok(rel16 > 1e-4 && rel16 > 10 * rel32, `fp16 error ${rel16} vs fp32 ${rel32}: is the graph really fp16?`);
  console.log(`# clip webgpu build+create+run: fp32 ${r32.ms.toFixed(0)} ms, fp16 ${r16.ms.toFixed(0)} ms (lavapipe; record only)`);
});

test('tiny VAE decode on webgpu (fp16 weights file): fp32 within 1e-4·max of the CPU EP, fp16 within the fp16 tolerance', { skip }, async () => {
  const s = new TensorSink(new Rng(5), 'F16');
  vae(s, '', 32, [1, 2], 1);
  const p = join(dir, 'vae.safetensors');
  writeSafetensors(p, s.out);
  const f = SafetensorsFile.open(p);
  open.push(f);
  const spec = vaeSpec(f);
  const feeds: Feeds = { latent: { data: rand(4 * 3 * 5, 11), dims: [1, 4, 3, 5] } };
  const build = (ep: 'cpu' | 'webgpu') => buildVaeDecoder(f, spec, { ep });
  const r32 = await cpuAndGpu(build, 'float32', feeds);
  const rel32 = check('vae webgpu fp32', r32.cpu, r32.gpu, GPU_FP32_TOLERANCE);
  const r16 = await cpuAndGpu(build, 'float16', feeds);
  const rel16 = check('vae webgpu fp16', r16.cpu, r16.gpu, FP16_TOLERANCE);
  assert.deepEqual(r16.gpu.image!.length, 6 * 10 * 3);
  assert.ok(rel16 > 1e-4 && rel16 > 10 * rel32, `fp16 error ${rel16} vs fp32 ${rel32}: is the graph really fp16?`);
  console.log(`# vae webgpu build+create+run: fp32 ${r32.ms.toFixed(0)} ms, fp16 ${r16.ms.toFixed(0)} ms (lavapipe; record only)`);
});

const conf = resolve(import.meta.dirname, '../../../../shared/conformance');
const confSkip = skip || (existsSync(join(conf, 'cases.json')) ? false : `${conf} not found (golden cases live outside the repo)`);

test('conformance on webgpu: clip_encoder_raw and vae_decode (fp32: case tolerance; fp16: FP16_TOLERANCE)', { skip: confSkip }, async () => {
  const lines: string[] = [];
  const log = (l: string) => { lines.push(l); console.log(`# ${l}`); };
  const fp32 = await runGpuConformance(conf, { names: ['clip_encoder_raw', 'vae_decode'], log });
  const fp16 = await runGpuConformance(conf, { names: ['clip_encoder_raw', 'vae_decode'], fp16: true, log });
  assert.deepEqual(fp32.results.map((r) => [r.name, r.ok]), [['clip_encoder_raw', true], ['vae_decode', true]], lines.join('\n'));
  assert.deepEqual(fp16.results.map((r) => [r.name, r.ok]), [['clip_encoder_raw', true], ['vae_decode', true]], lines.join('\n'));
  assert.ok(lines.some((l) => l.includes(`fp16 abs ${FP16_TOLERANCE.abs}`)), 'the fp16 tolerance is printed');
});
