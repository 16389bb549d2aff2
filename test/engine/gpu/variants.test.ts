/**
 * The GPU graph variants reach real sessions: ComfyUI's default txt2img graph (tiny SD1 checkpoint, 64×64,
 * 2 steps) runs through the real Executor once on a default (`auto`) ModelService and once on one forced to
 * `webgpu`. On the WebGPU service UNet, VAE decoder and CLIP must report webgpu, the graphs they were given
 * must be the fp16 GPU variants (read back from the ONNX bytes), and the image must stay close to the CPU
 * run's. Here WebGPU is Mesa's lavapipe (research/onnx.md §8): correct, slow, timings for the record only.
 * Without a usable adapter the WebGPU test skips with the reason.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Executor, type RunResult } from '../../../engine/execute/executor.ts';
import { probeWebGpu } from '../../../engine/conformance/gpu.ts';
import { createModelServices } from '../../../engine/models/sd/services.ts';
import { setDefaultModelService } from '../../../engine/runtime/default.ts';
import { platformInfo } from '../../../engine/runtime/providers.ts';
import type { ModelService, ModelSpec } from '../../../engine/runtime/service.ts';
import { decodeImageFile } from '../../../engine/tensor/image.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { addCheckpoint, tempEnv, type Env } from '../../e2e/helpers.ts';
import { onnxNodes } from '../../support/onnx-nodes.ts';

const probe = await probeWebGpu();
const skip = probe.ok ? false : `no WebGPU adapter: ${probe.reason}`;
if (skip) console.log(`# ${skip}`);

/**
 * 8-bit pixel tolerance of the fp16 webgpu image against the fp32 CPU image. Measured on lavapipe (seeds 5
 * and 6): fp16 variants max 10–12, mean 1.56–1.59 levels; the same graphs built fp32 for webgpu: max 1, mean
 * 0.000, so the gap is fp16 rounding. About 2× headroom; a wrong graph (timesteps, weights) is off by tens.
 */
const PIXEL_TOL = { max: 24, mean: 3 };

let env: Env;
before(() => {
  env = tempEnv();
  addCheckpoint(env, 'tiny-sd15.safetensors', { family: 'sd1', seed: 21 });
});

function txt2img(seed: number): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'tiny-sd15.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'beautiful scenery nature glass bottle landscape, purple galaxy bottle', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'text, watermark', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '3': { class_type: 'KSampler', inputs: { seed, steps: 2, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'variants', images: ['8', 0] } },
  };
}

/** Runs the graph on `services` (CLIP reaches its service through the process default) → 8-bit pixels. */
async function run(services: Env['services'], id: string): Promise<{ pixels: Uint8Array; ms: number }> {
  setDefaultModelService(services.models);
  const t0 = performance.now();
  const r: RunResult = await new Executor({ registry: createRegistry(), services }).execute(id, txt2img(5));
  const ms = performance.now() - t0;
  assert.equal(r.status, 'success', JSON.stringify(r.error));
  const img = r.outputs['9']?.images?.[0] as { filename: string; subfolder: string };
  const { image } = await decodeImageFile(path.join(env.folders.outputDir, img.subfolder, img.filename));
  assert.deepEqual(image.shape, [1, 64, 64, 3]);
  return { pixels: Uint8Array.from(image.data, (v) => Math.round(v * 255)), ms };
}

/** Records every spec a service is asked to load (the graphs it resolves are memoised, so reading them is free). */
function recordSpecs(models: ModelService): Map<string, ModelSpec> {
  const specs = new Map<string, ModelSpec>();
  const load = models.load.bind(models);
  models.load = (key, spec) => { specs.set(key, spec); return load(key, spec); };
  return specs;
}

function graphOf(spec: ModelSpec, ep: 'cpu' | 'webgpu'): Uint8Array {
  const src = (ep === 'cpu' ? undefined : spec.graphByEp?.[ep]) ?? spec.graph;
  return src instanceof Uint8Array ? src : src().bytes;
}

const kind = (key: string): string => (key.startsWith('vae-decoder') ? 'vae-decoder' : key.startsWith('clip-text') ? 'clip-text' : 'unet');
const FLOAT16 = 10;

test('default txt2img on a webgpu-forced service: UNet, VAE and CLIP run fp16 GPU graphs on webgpu; image close to the CPU run', { skip }, async () => {
  // CPU reference on the default (auto) service, which on a machine without a hardware GPU must pick the CPU.
  const cpuSpecs = recordSpecs(env.services.models);
  const cpu = await run(env.services, 'cpu');
  const info = await platformInfo();
  const cpuModels = env.services.models.loadedModels();
  assert.deepEqual(cpuModels.map((m) => kind(m.key)).sort(), ['clip-text', 'unet', 'vae-decoder']);
  if (info.gpu !== 'hardware') {
    for (const m of cpuModels) {
      assert.equal(m.ep, 'cpu', `auto put ${m.key} on ${m.ep}`);
      if (info.backends.some((b) => b.name === 'webgpu')) assert.equal(m.attempts.find((a) => a.ep === 'webgpu')?.outcome, 'skipped');
    }
  }
  const unetCpu = [...cpuSpecs].find(([k]) => kind(k) === 'unet')![1];
  assert.ok(onnxNodes(graphOf(unetCpu, 'cpu')).some((n) => n.op === 'FusedMatMul'), 'the CPU UNet uses FusedMatMul (so its absence below means something)');

  const logs: string[] = [];
  const gpu = { ...createModelServices(env.folders, { ep: 'webgpu', threads: 1, log: (l) => logs.push(l) }), modelCacheDir: env.services.modelCacheDir };
  try {
    const gpuSpecs = recordSpecs(gpu.models);
    const webgpu = await run(gpu, 'webgpu');
    const models = gpu.models.loadedModels();
    assert.deepEqual(models.map((m) => kind(m.key)).sort(), ['clip-text', 'unet', 'vae-decoder'], logs.join('\n'));
    for (const m of models) {
      assert.equal(m.ep, 'webgpu', `${m.key}: ${JSON.stringify(m.attempts)}`);
      const nodes = onnxNodes(graphOf(gpuSpecs.get(m.key)!, 'webgpu'));
      assert.ok(!nodes.some((n) => n.op === 'FusedMatMul'), `${m.key}: GPU graph has FusedMatMul`);
      assert.ok(nodes.filter((n) => n.op === 'Cast' && n.to === FLOAT16).length > 0, `${m.key}: GPU graph has no fp16 Cast: not an fp16 graph`);
      if (kind(m.key) === 'unet') {
        const first = nodes.filter((n) => n.inputs.includes('timesteps')).map((n) => n.op);
        assert.deepEqual(first, ['Unsqueeze'], 'timesteps enter the fp16 UNet as float32 (no Cast to fp16)');
      }
    }

    // fp16 compute over 2 sampler steps at CFG 8, then an fp16 VAE: per-pixel errors of a few 8-bit levels
    // are expected, with rare outliers where the tiny random model's output is steep.
    let max = 0, sum = 0;
    for (let i = 0; i < cpu.pixels.length; i++) { const d = Math.abs(cpu.pixels[i]! - webgpu.pixels[i]!); max = Math.max(max, d); sum += d; }
    const mean = sum / cpu.pixels.length;
    console.log(`# webgpu fp16 vs cpu fp32, 8-bit pixels: max |diff| ${max}, mean ${mean.toFixed(3)} (tolerance max ${PIXEL_TOL.max}, mean ${PIXEL_TOL.mean})`);
    console.log(`# txt2img 64x64 2 steps: cpu ${cpu.ms.toFixed(0)} ms, webgpu (lavapipe) ${webgpu.ms.toFixed(0)} ms, record only`);
    assert.ok(max <= PIXEL_TOL.max && mean <= PIXEL_TOL.mean, `webgpu image differs from the CPU one: max ${max}, mean ${mean}`);
  } finally {
    await gpu.models.close();
    setDefaultModelService(undefined);
  }
});
