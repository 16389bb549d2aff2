import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../../../engine/io/safetensors.ts';
import { createFolders } from '../../../engine/io/folders.ts';
import type { EngineServices, NodeContext } from '../../../engine/graph/context.ts';
import type { Conditioning } from '../../../engine/graph/sockets.ts';
import { Rng, TensorSink, fixtureShape, sdCheckpointTensors } from '../../../engine/models/fixtures/index.ts';
import { unet } from '../../../engine/models/fixtures/sd.ts';
import { hfToOpenClipVision, tinyHfVision } from '../../../engine/models/clip-vision/synthetic.ts';
import type { ClipVisionOutput } from '../../../engine/models/clip-vision/model.ts';
import { ClipNoiseAugmentor, squaredcosSchedule, unclipAdm, unclipY, unclipAugmentorOf, loadUnclipCheckpoint } from '../../../engine/models/unclip/index.ts';
import { loadUNet } from '../../../engine/models/unet/load.ts';
import { randn } from '../../../engine/sampling/rng.ts';
import { SdModel } from '../../../engine/models/sd/model.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import unCLIPCheckpointLoader from '../../../nodes/loaders/unCLIPCheckpointLoader.ts';
import unCLIPConditioning from '../../../nodes/conditioning/unCLIPConditioning.ts';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-unclip-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));

const D = 16;
const embeds = (rows: number, seed = 5): ClipVisionOutput => {
  const e = new Float32Array(rows * D).map((_, i) => Math.sin(i * 0.7 + seed));
  const t: Tensor = { shape: [rows, 4, 8], data: new Float32Array(rows * 32) };
  return { last_hidden_state: t, penultimate_hidden_states: t, image_embeds: { shape: [rows, D], data: e } };
};

/** ᾱ_t telescopes: ∏(1 − β_i) = ᾱ((t+1)/T) / ᾱ(0) while no β is capped (t < 999). */
const sqrtAc = (t: number): number => {
  const ab = (x: number): number => Math.cos(((x + 0.008) / 1.008) * Math.PI / 2) ** 2;
  return Math.sqrt(ab((t + 1) / 1000) / ab(0));
};
/** timestep_embedding(level, D) in float64: [cos(level·f_i), sin(level·f_i)], f_i = 10000^(−i/(D/2)). */
const emb = (level: number): number[] => {
  const h = D / 2;
  const fr = Array.from({ length: h }, (_, i) => Math.exp((-Math.log(10000) * i) / h));
  return [...fr.map((q) => Math.cos(level * q)), ...fr.map((q) => Math.sin(level * q))];
};
/** strength · [√ᾱ·e + √(1−ᾱ)·randn(seed), emb(level)] */
const refVector = (e: ArrayLike<number>, level: number, seed: bigint, strength = 1): number[] => {
  const n = randn(seed, [1, D]);
  const a = sqrtAc(level), b = Math.sqrt(1 - a * a);
  return [...Array.from(e, (v, i) => a * v + b * n[i]!), ...emb(level)].map((v) => v * strength);
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m; };

test('squaredcos_cap_v2 schedule: √ᾱ telescopes to the cosine ratio, the last β is capped at 0.999', () => {
  const s = squaredcosSchedule();
  for (const t of [0, 1, 299, 500, 998]) assert.ok(Math.abs(s.sqrtAlphasCumprod[t]! - sqrtAc(t)) < 1e-6, `t=${t}`);
  const last = s.sqrtAlphasCumprod[999]! ** 2 / s.sqrtAlphasCumprod[998]! ** 2;
  assert.ok(Math.abs(last - 0.001) < 1e-4, `1 − β_999 = ${last}`);
  assert.ok(Math.abs(s.sqrtAlphasCumprod[300]! ** 2 + s.sqrtOneMinusAlphasCumprod[300]! ** 2 - 1) < 1e-6);
});

test('unclip_adm: one embedding is strength·[q_sample(e, round(999·aug)), timestep_embedding] with seed − 10 noise', () => {
  const aug = new ClipNoiseAugmentor(D);
  assert.equal(aug.level(0.3), 300); // round(299.7)
  assert.equal(aug.level(0.5), 500); // round(499.5) → even
  const cv = embeds(1);
  const y = unclipAdm([{ clip_vision_output: cv, strength: 0.8, noise_augmentation: 0.3 }], aug, 1234n);
  assert.deepEqual(y.shape, [1, 2 * D]);
  assert.ok(maxDiff(y.data, refVector(cv.image_embeds.data, 300, 1234n, 0.8)) < 1e-4, `diff ${maxDiff(y.data, refVector(cv.image_embeds.data, 300, 1234n, 0.8))}`);
  // noise_augmentation 0: level 0, √ᾱ_0 ≈ 1, so the embedding passes almost unchanged and emb(0) = [1…, 0…].
  const y0 = unclipAdm([{ clip_vision_output: cv, strength: 1, noise_augmentation: 0 }], aug, 7n);
  assert.ok(maxDiff(y0.data.subarray(0, D), cv.image_embeds.data) < 0.02);
  assert.deepEqual(Array.from(y0.data.subarray(D)), [...new Array(D / 2).fill(1), ...new Array(D / 2).fill(0)]);
  assert.throws(() => unclipAdm([{ clip_vision_output: embeds(1), strength: 1, noise_augmentation: 0 }], new ClipNoiseAugmentor(8), 1n), /embedding is 16 wide, the model's noise augmentor takes 8/);
});

test('unclip_adm: several embeddings are summed, then the embedding half is re-augmented at the merge level', () => {
  const aug = new ClipNoiseAugmentor(D);
  const a = embeds(2, 1), b = embeds(1, 9);
  const list = [{ clip_vision_output: a, strength: 1, noise_augmentation: 0.1 }, { clip_vision_output: b, strength: -0.5, noise_augmentation: 0.2 }];
  const y = unclipAdm(list, aug, -10n);
  const parts = [
    refVector(a.image_embeds.data.subarray(0, D), 100, -10n), refVector(a.image_embeds.data.subarray(D), 100, -10n),
    refVector(b.image_embeds.data, 200, -10n, -0.5),
  ];
  const sum = parts[0]!.map((_, i) => parts.reduce((acc, p) => acc + p[i]!, 0));
  const ref = refVector(sum.slice(0, D), 50, -10n); // round(999 · 0.05) = 50
  assert.ok(maxDiff(y.data, ref) < 1e-4, `diff ${maxDiff(y.data, ref)}`);
});

test('unclipY: zeros without unclip_conditioning, seed − 10, merge option; nothing for other models', () => {
  const detected = { kind: 'checkpoint', family: 'sd2', prediction: 'v', unet: {} } as never;
  const m = new SdModel({ source: { path: '/m', prefix: 'model.diffusion_model.', heads: {} }, family: 'sd2', detected });
  assert.equal(unclipY(m, {}, 1), undefined);
  m.options.unclip = new ClipNoiseAugmentor(D);
  assert.equal(unclipAugmentorOf(m.clone()), m.options.unclip, 'clones keep the augmentor');
  assert.deepEqual(unclipY(m, {}, 1), { shape: [1, 2 * D], data: new Float32Array(2 * D) });
  const list = [{ clip_vision_output: embeds(1), strength: 1, noise_augmentation: 0.25 }];
  assert.deepEqual(unclipY(m, { unclip_conditioning: list }, 42)!.data, unclipAdm(list, m.options.unclip as ClipNoiseAugmentor, 32n).data);
  const two = [...list, ...list];
  assert.deepEqual(unclipY(m, { unclip_conditioning: two, unclip_noise_augment_merge: 0.5 }, 42)!.data, unclipAdm(two, m.options.unclip as ClipNoiseAugmentor, 32n, 0.5).data);
  assert.throws(() => unclipY(m, { unclip_conditioning: [{ strength: 1 }] }, 1), /unclip_conditioning must be a list/);
});

test('unCLIPConditioning appends to each entry\'s unclip_conditioning list; strength 0 changes nothing', async () => {
  const t: Tensor = { shape: [1, 2, 4], data: new Float32Array(8) };
  const cv = embeds(1);
  const prev = { clip_vision_output: cv, strength: 2, noise_augmentation: 0 };
  const c: Conditioning = [[t, { unclip_conditioning: [prev], x: 1 }], [t, {}]];
  const ctx = {} as NodeContext;
  const [out] = (await unCLIPConditioning.run!({ conditioning: c, clip_vision_output: cv, strength: 0.7, noise_augmentation: 0.1 }, ctx)) as [Conditioning];
  assert.deepEqual(out.map(([, o]) => (o.unclip_conditioning as unknown[]).length), [2, 1]);
  assert.deepEqual((out[0]![1].unclip_conditioning as unknown[])[1], { clip_vision_output: cv, strength: 0.7, noise_augmentation: 0.1 });
  assert.equal(out[0]![1].x, 1);
  assert.equal((c[0]![1].unclip_conditioning as unknown[]).length, 1, 'the input list is not mutated');
  const [same] = (await unCLIPConditioning.run!({ conditioning: c, clip_vision_output: cv, strength: 0, noise_augmentation: 0.1 }, ctx)) as [Conditioning];
  assert.equal(same, c);
});

test('unCLIPCheckpointLoader: SD2 parts + label_emb (2 × embedding) + embedder tower → MODEL with augmentor, CLIP, VAE, CLIP_VISION', async () => {
  const dir = path.join(base, 'models/checkpoints');
  fs.mkdirSync(dir, { recursive: true });
  for (const d of ['input', 'output', 'temp', 'cache']) fs.mkdirSync(path.join(base, d), { recursive: true });
  const { tensors, metadata } = sdCheckpointTensors({ family: 'sd2' });
  const sink = new TensorSink(new Rng(3), 'F32');
  unet(sink, 'model.diffusion_model.', { ...fixtureShape({ family: 'sd2' }).unet, adm: 2 * D });
  const vision = hfToOpenClipVision(tinyHfVision({ width: 32, layers: 2, projection: D }), 2, 'embedder.model.');
  const key = 'model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias';
  writeSafetensors(path.join(dir, 'tiny_unclip.safetensors'), { ...tensors, ...sink.out, [key]: tensors[key]!, ...vision }, metadata);
  writeSafetensors(path.join(dir, 'plain_sd2.safetensors'), tensors, metadata);

  const folders = createFolders({ modelsDir: path.join(base, 'models'), inputDir: path.join(base, 'input'), outputDir: path.join(base, 'output'), tempDir: path.join(base, 'temp') });
  const ctx = { services: { folders, modelCacheDir: path.join(base, 'cache') } as EngineServices } as NodeContext;
  const [model, clip, vae, cvModel] = (await unCLIPCheckpointLoader.run!({ ckpt_name: 'tiny_unclip.safetensors' }, ctx)) as [SdModel, unknown, unknown, { spec: { projectionDim?: number; prefix: string } }];
  assert.equal(model.family, 'sd2');
  assert.equal(model.detected.prediction, 'v');
  assert.equal(model.detected.unet?.admInChannels, 2 * D);
  assert.equal(unclipAugmentorOf(model)?.dim, D);
  assert.ok(clip && vae);
  assert.equal(cvModel.spec.prefix, 'embedder.model.');
  assert.equal(cvModel.spec.projectionDim, D, 'the tower\'s image_embeds match the augmentor width');
  await assert.rejects(async () => unCLIPCheckpointLoader.run!({ ckpt_name: 'plain_sd2.safetensors' }, ctx), /is not an unCLIP checkpoint: its UNet has no SD2-style label_emb/);

  // The UNet takes the ADM vector as `y`: the noised embedding changes the prediction, zeros (uncond) differ from it.
  const s = await loadUNet(model.source.path, { ...model.source.heads, session: { threads: 1 } });
  try {
    const x: Tensor = { shape: [1, 4, 8, 8], data: new Float32Array(256).map((_, i) => Math.cos(i)) };
    const context: Tensor = { shape: [1, 3, fixtureShape({ family: 'sd2' }).text], data: new Float32Array(3 * fixtureShape({ family: 'sd2' }).text).fill(0.1) };
    const run = (y: Tensor) => s.run({ x, timesteps: Float32Array.of(300), context, y });
    const yImg = unclipY(model, { unclip_conditioning: [{ clip_vision_output: embeds(1), strength: 1, noise_augmentation: 0 }] }, 0)!;
    const [a, b] = [await run(yImg), await run(unclipY(model, {}, 0)!)];
    assert.ok(a.data.every(Number.isFinite) && maxDiff(a.data, b.data) > 1e-4);
  } finally {
    await s.release();
  }
});
