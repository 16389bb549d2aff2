/**
 * How ModelService hands graph variants to providers: each provider's graph is built only when that provider
 * is tried (CPU graph as the default, one GPU graph shared by the GPU providers), a GPU variant that fails to
 * build falls back to the next candidate with the reason, and the fp16 UNet keeps its timestep embedding in
 * float32. Tiny graphs whose two variants compute different things (x+1 on CPU, x+2 on GPU), so the output
 * says which graph ran. Only the forced-webgpu case needs an adapter; it skips with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeWebGpu } from '../../../engine/conformance/gpu.ts';
import { GraphBuilder, runFloat, sessionFor } from '../../../engine/onnx/index.ts';
import { keepFloat32 } from '../../../engine/onnx/precision.ts';
import { timestepEmbedding, timestepFrequencies, type Emit } from '../../../engine/models/unet/blocks.ts';
import { ModelService } from '../../../engine/runtime/service.ts';
import { platformInfo, type PlatformInfo } from '../../../engine/runtime/providers.ts';
import { gpuGraphs, type BuiltGraph } from '../../../engine/runtime/variants.ts';

const probe = await probeWebGpu();
const skip = probe.ok ? false : `no WebGPU adapter: ${probe.reason}`;
if (skip) console.log(`# ${skip}`);

function addGraph(c: number): BuiltGraph {
  const g = new GraphBuilder({ name: `add${c}` });
  g.output(g.op('Add', [g.input('x', 'float32', [2]), g.scalar(c)]), 'y', 'float32', [2]);
  return { bytes: g.toBytes(), weightsDir: process.cwd() };
}

/** A spec whose CPU graph adds 1 and whose GPU graph adds 2, counting the builds. */
function countingSpec(gpuFails = false) {
  const builds = { cpu: 0, gpu: 0 };
  const spec = {
    graph: () => { builds.cpu++; return addGraph(1); },
    graphByEp: gpuGraphs(() => {
      builds.gpu++;
      if (gpuFails) throw new Error('no GPU graph for this model (test)');
      return addGraph(2);
    }),
  };
  return { builds, spec };
}

const x = { type: 'float32' as const, dims: [2], data: Float32Array.of(10, 20) };
const y = async (svc: ModelService, key: string, spec: ReturnType<typeof countingSpec>['spec']) => Array.from((await (await svc.load(key, spec)).run({ x: { ...x, data: x.data.slice() } })).y!.data as Float32Array);

test('a CPU-forced service builds and runs only the CPU graph', async () => {
  const svc = new ModelService({ ep: 'cpu', threads: 1 });
  try {
    const { builds, spec } = countingSpec();
    assert.deepEqual(await y(svc, 'm', spec), [11, 21]);
    assert.deepEqual(builds, { cpu: 1, gpu: 0 });
    assert.deepEqual(svc.loadedModels().map((m) => [m.key, m.ep]), [['m', 'cpu']]);
  } finally {
    await svc.close();
  }
});

test('auto on a GPU machine: a GPU variant that fails to build is reported, the CPU graph runs', async () => {
  const gpuBox: PlatformInfo = { platform: 'linux', backends: [{ name: 'cpu', bundled: true }, { name: 'webgpu', bundled: true }], gpu: 'hardware', gpuReason: 'test: a GPU render node', cudaProviderInstalled: false };
  const svc = new ModelService({ threads: 1, platform: async () => gpuBox });
  try {
    const { builds, spec } = countingSpec(true);
    assert.deepEqual(await y(svc, 'm', spec), [11, 21]);
    assert.deepEqual(builds, { cpu: 1, gpu: 1 });
    const [m] = svc.loadedModels();
    assert.equal(m!.ep, 'cpu');
    const webgpu = m!.attempts.find((a) => a.ep === 'webgpu');
    assert.equal(webgpu?.outcome, 'failed');
    assert.match(webgpu!.reason, /building its graph variant: no GPU graph/);
  } finally {
    await svc.close();
  }
});

test('auto on this machine: no GPU graph is built when no hardware adapter backs WebGPU', async (t) => {
  const info = await platformInfo();
  if (info.gpu === 'hardware') return t.skip(`this machine has a hardware GPU (${info.gpuReason})`);
  const svc = new ModelService({ threads: 1 });
  try {
    const { builds, spec } = countingSpec();
    assert.deepEqual(await y(svc, 'm', spec), [11, 21]);
    assert.deepEqual(builds, { cpu: 1, gpu: 0 });
    assert.equal(svc.loadedModels()[0]!.ep, 'cpu');
  } finally {
    await svc.close();
  }
});

test('a webgpu-forced service runs the GPU variant and never builds the CPU graph, also after a reload', { skip }, async () => {
  const svc = new ModelService({ ep: 'webgpu', threads: 1 });
  try {
    const { builds, spec } = countingSpec();
    assert.deepEqual(await y(svc, 'm', spec), [12, 22]);
    assert.equal(svc.loadedModels()[0]!.ep, 'webgpu');
    await svc.unload('m');
    assert.deepEqual(await y(svc, 'm', spec), [12, 22]);
    assert.deepEqual(builds, { cpu: 0, gpu: 1 }, 'the GPU graph is built once and reused for the reload');
  } finally {
    await svc.close();
  }
});

test('fp16 graphs keep the timestep embedding in float32: t = 999.3 is not rounded to fp16 (999.5)', async () => {
  const g = new GraphBuilder({ name: 'temb16', dtype: 'float16' });
  const t = keepFloat32(g, () => g.input('t', 'float32', [2]));
  g.output(timestepEmbedding({ g } as unknown as Emit, t, 320), 'emb', 'float32', [2, 320]);
  const ts = Float32Array.of(999.3, 1.7);
  const s = await sessionFor(g, { threads: 1 });
  const emb = (await runFloat(s, { t: { data: ts, dims: [2] } })).emb!.data;
  await s.release();
  const f = timestepFrequencies(160);
  let err = 0;
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 160; i++) {
      const a = Math.fround(ts[b]! * f[i]!);
      err = Math.max(err, Math.abs(emb[b * 320 + i]! - Math.cos(a)), Math.abs(emb[b * 320 + 160 + i]! - Math.sin(a)));
    }
  }
  // fp16 output rounding of values in [-1, 1] is ≤ 2.4e-4; t rounded to 999.5 would be off by up to ~0.2.
  console.log(`# fp16 timestep embedding: max |err| ${err.toExponential(2)}`);
  assert.ok(err < 1e-3, `timestep embedding error ${err}`);
});
