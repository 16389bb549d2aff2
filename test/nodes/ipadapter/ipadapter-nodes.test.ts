import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeContext } from '../../../engine/graph/context.ts';
import { createFolders } from '../../../engine/io/folders.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/index.ts';
import { tinyHfVision } from '../../../engine/models/clip-vision/synthetic.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import { modelFnFor } from '../../../engine/models/sd/bridge.ts';
import type { SdModel } from '../../../engine/models/sd/model.ts';
import { parseUNetConfig } from '../../../engine/models/unet/config.ts';
import { crossAttnSites } from '../../../engine/models/unet/graph.ts';
import { ModelService } from '../../../engine/runtime/service.ts';
import type { CondEntry } from '../../../engine/sampling/cfg.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import CLIPVisionLoader from '../../../nodes/loaders/CLIPVisionLoader.ts';
import IPAdapter from '../../../nodes/ipadapter/IPAdapter.ts';
import IPAdapterAdvanced from '../../../nodes/ipadapter/IPAdapterAdvanced.ts';
import IPAdapterModelLoader from '../../../nodes/ipadapter/IPAdapterModelLoader.ts';

const base = mkdtempSync(join(tmpdir(), 'weft-ipadapter-nodes-'));
for (const d of ['models/checkpoints', 'models/clip_vision', 'models/ipadapter', 'input', 'output', 'temp']) mkdirSync(join(base, d), { recursive: true });
const folders = createFolders({ modelsDir: join(base, 'models'), inputDir: join(base, 'input'), outputDir: join(base, 'output'), tempDir: join(base, 'temp') });
const models = new ModelService({ threads: 1, ep: 'cpu' });
after(async () => { await models.close(); rmSync(base, { recursive: true, force: true }); });

const ckpt = join(base, 'models/checkpoints/tiny.safetensors');
writeSdCheckpoint(ckpt, { family: 'sd1', seed: 5 });
writeSafetensors(join(base, 'models/clip_vision/tiny.safetensors'), tinyHfVision({ width: 32, layers: 2, patch: 4, imageSize: 16, projection: 8 }));

/** A plain adapter with the real key layout, one to_{k,v}_ip pair per cross-attention layer of the fixture. */
function writeAdapter(path: string): { ctx: number; layers: number } {
  const f = SafetensorsFile.open(ckpt);
  const cfg = parseUNetConfig(f, { prefix: 'model.diffusion_model.' });
  f.close();
  const sites = crossAttnSites(cfg);
  const order = { input: 0, output: 1, middle: 2 } as const;
  const sorted = [...sites].sort((a, b) => order[a.block] - order[b.block] || a.id - b.id || a.depthIndex - b.depthIndex);
  let seed = 11;
  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * s);
  const C = cfg.contextDim, T = 4, D = 8;
  const t: Record<string, TensorToWrite> = {
    'image_proj.proj.weight': { dtype: 'F32', shape: [T * C, D], data: rnd(T * C * D, 1) },
    'image_proj.proj.bias': { dtype: 'F32', shape: [T * C], data: rnd(T * C, 0.1) },
    'image_proj.norm.weight': { dtype: 'F32', shape: [C], data: new Float32Array(C).fill(1) },
    'image_proj.norm.bias': { dtype: 'F32', shape: [C], data: new Float32Array(C) },
  };
  sorted.forEach((s, n) => {
    for (const kv of ['k', 'v']) t[`ip_adapter.${2 * n + 1}.to_${kv}_ip.weight`] = { dtype: 'F32', shape: [s.inner, C], data: rnd(s.inner * C, 2) };
  });
  writeSafetensors(path, t);
  return { ctx: C, layers: sites.length };
}
const { ctx: C } = writeAdapter(join(base, 'models/ipadapter/tiny_ip.safetensors'));

const ctx = (classType: string): NodeContext => ({
  nodeId: '1', classType, promptId: 'p', signal: new AbortController().signal, services: { folders, models, modelCacheDir: join(base, 'temp') },
  prompt: {}, extraPngInfo: undefined, progress() {}, checkAbort() {}, warn() {},
});
const outs = async (r: unknown): Promise<unknown[]> => { const v = await r; return Array.isArray(v) ? v : (v as { outputs: unknown[] }).outputs; };
const run = async (def: { run?: unknown; name: string }, i: Record<string, unknown>) => outs((def.run as (i: unknown, c: NodeContext) => unknown)(i, ctx(def.name)));

const image: Tensor = { shape: [1, 20, 16, 3], data: Float32Array.from({ length: 20 * 16 * 3 }, (_, i) => ((i * 37) % 101) / 100) };
const shape = [1, 4, 8, 8];
const x: Tensor = { shape, data: Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) * 3) };
const text = (k: number): Tensor => ({ shape: [1, 77, C], data: Float32Array.from({ length: 77 * C }, (_, i) => Math.cos(i * k)) });
// Rows as the sampler's CFG batch has them: [cond, uncond], the negative one tagged the way ComfyUI's cond_or_uncond reads.
const rows: CondEntry[] = [{ context: text(1), extra: { cond_or_uncond: 0 } }, { context: text(2), extra: { cond_or_uncond: 1 } }];
const xx: Tensor = { shape: [2, 4, 8, 8], data: Float32Array.of(...x.data, ...x.data) };
const denoise = (m: SdModel, sigma: number) => modelFnFor(m, models, shape)(xx, sigma, rows).then((r) => r.data);

test('IPAdapterModelLoader + IPAdapterAdvanced patch a clone; weight 0 is bit-identical, weight 1 changes the prediction', async () => {
  const { model } = loadCheckpoint(ckpt, { cacheDir: join(base, 'temp'), folders });
  const [adapter] = await run(IPAdapterModelLoader, { ipadapter_file: 'tiny_ip.safetensors' });
  const [cv] = await run(CLIPVisionLoader, { clip_name: 'tiny.safetensors' });
  const args = { model, ipadapter: adapter, image, weight_type: 'linear', combine_embeds: 'concat', start_at: 0, end_at: 1, embeds_scaling: 'V only', clip_vision: cv };
  const [m1] = (await run(IPAdapterAdvanced, { ...args, weight: 1 })) as [SdModel];
  const [m0] = (await run(IPAdapterAdvanced, { ...args, weight: 0 })) as [SdModel];
  assert.equal(model.patches.length, 0, 'the input model is untouched');
  assert.equal(m1.sessionKey, m0.sessionKey, 'a weight change needs no new graph');
  const sigma = 5;
  const plain = await denoise(model, sigma);
  assert.deepEqual(await denoise(m0, sigma), plain);
  const d1 = await denoise(m1, sigma);
  assert.ok(d1.some((v, i) => Math.abs(v - plain[i]!) > 1e-3), 'weight 1 changes the prediction');
  // A second adapter stacks: two hooks, its own inputs, a new session key.
  const [m2] = (await run(IPAdapterAdvanced, { ...args, model: m1, weight: 0.5, embeds_scaling: 'K+V' })) as [SdModel];
  assert.notEqual(m2.sessionKey, m1.sessionKey);
  const d2 = await denoise(m2, sigma);
  assert.ok(d2.some((v, i) => Math.abs(v - d1[i]!) > 1e-4));
});

test('start_at/end_at: outside the range the adapter adds nothing; inside it applies', async () => {
  const { model } = loadCheckpoint(ckpt, { cacheDir: join(base, 'temp'), folders });
  const [adapter] = await run(IPAdapterModelLoader, { ipadapter_file: 'tiny_ip.safetensors' });
  const [cv] = await run(CLIPVisionLoader, { clip_name: 'tiny.safetensors' });
  const [m] = (await run(IPAdapterAdvanced, { model, ipadapter: adapter, image, weight: 1, weight_type: 'linear', combine_embeds: 'concat', start_at: 0.5, end_at: 0.9, embeds_scaling: 'V only', clip_vision: cv })) as [SdModel];
  const ms = model.modelSampling;
  const early = ms.percentToSigma(0.2), mid = ms.percentToSigma(0.7), late = ms.percentToSigma(0.95);
  assert.deepEqual(await denoise(m, early), await denoise(model, early), 'before start_at');
  assert.deepEqual(await denoise(m, late), await denoise(model, late), 'after end_at');
  const a = await denoise(m, mid), b = await denoise(model, mid);
  assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 1e-4), 'inside the range');
});

test('IPAdapter (simple) needs a unified-loader pipeline; IPAdapterAdvanced needs a CLIP vision model', async () => {
  const { model } = loadCheckpoint(ckpt, { cacheDir: join(base, 'temp'), folders });
  const [adapter] = await run(IPAdapterModelLoader, { ipadapter_file: 'tiny_ip.safetensors' });
  await assert.rejects(run(IPAdapter, { model, ipadapter: adapter, image, weight: 1, start_at: 0, end_at: 1, weight_type: 'standard' }), /IPAdapterUnifiedLoader/);
  await assert.rejects(run(IPAdapterAdvanced, { model, ipadapter: adapter, image, weight: 1, weight_type: 'linear', combine_embeds: 'concat', start_at: 0, end_at: 1, embeds_scaling: 'V only' }), /Missing CLIPVision/);
  const [cv] = await run(CLIPVisionLoader, { clip_name: 'tiny.safetensors' });
  const [m] = (await run(IPAdapter, { model, ipadapter: { ipadapter: adapter, clipvision: cv }, image, weight: 1, start_at: 0, end_at: 1, weight_type: 'style transfer' })) as [SdModel];
  assert.equal(m.patches.length, 1);
});
