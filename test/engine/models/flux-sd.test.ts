import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { ClipModel } from '../../../engine/models/clip/model.ts';
import { FluxModel, fluxModelFn } from '../../../engine/models/flux/index.ts';
import {
  FluxClip, fluxModelFnFor, fluxQuantOf, loadFluxClip, releaseFluxEncoders, withFluxShift, withWeightDtype,
  writeTinyClipL, writeTinyFluxCheckpoint, writeTinyFluxDit, writeTinyT5,
} from '../../../engine/models/flux-sd/index.ts';
import { loadCheckpoint, loadDiffusionModel, loadVae, type SdModel } from '../../../engine/models/sd/index.ts';
import { FlowModelSampling, fluxShift } from '../../../engine/sampling/model-sampling.ts';
import { LATENT_FORMATS } from '../../../engine/sampling/ksample.ts';
import type { CondEntry } from '../../../engine/sampling/cfg.ts';
import { T5Encoder, T5Tokenizer, encodeT5Prompt, tokenizeT5Prompt } from '../../../engine/models/t5/index.ts';
import { writeTinyFluxAe } from '../../../engine/models/flux-sd/synthetic.ts';
import { maxDiff, rand, tempEnv, type Env } from '../../e2e/helpers.ts';

const SHARED_T5 = path.resolve(import.meta.dirname, '../../../../shared/tokenizers/t5/tokenizer.json');
const hasTokenizer = fs.existsSync(SHARED_T5);
let env: Env;
const models = (...p: string[]) => path.join(env.base, 'models', ...p);
const closers: Array<() => Promise<void> | void> = [];

before(() => {
  env = tempEnv();
  fs.mkdirSync(models('text_encoders'), { recursive: true });
  writeTinyFluxDit(models('diffusion_models', 'schnell.safetensors'), { guidance: false });
  writeTinyFluxDit(models('diffusion_models', 'dev.safetensors'), { guidance: true });
  writeTinyClipL(models('text_encoders', 'clip_l.safetensors'));
  writeTinyT5(models('text_encoders', 't5xxl_tiny.safetensors'));
});
after(async () => {
  for (const c of closers) await c();
  await releaseFluxEncoders();
});

const load = (name: string): SdModel => loadDiffusionModel(models('diffusion_models', name), { cacheDir: env.services.modelCacheDir! });

function row(L: number, seed: number, extra: Record<string, unknown>): CondEntry {
  return { context: rand([1, L, 32], seed), extra: { pooled_output: rand([1, 32], seed + 1), ...extra } };
}

test('a FLUX diffusion model is a MODEL of family flux: 16 channels, FLUX latent format, default shift schnell 1.0 / dev 1.15', () => {
  const s = load('schnell.safetensors');
  const d = load('dev.safetensors');
  for (const m of [s, d]) {
    assert.equal(m.family, 'flux');
    assert.equal(m.latentChannels, 16);
    assert.equal(m.inChannels, 16);
    assert.deepEqual(m.latentFormat, LATENT_FORMATS.flux);
    assert.equal(m.previewFamily, 'flux');
    assert.ok(m.modelSampling instanceof FlowModelSampling);
  }
  assert.equal(s.detected.variant, 'schnell');
  assert.equal(d.detected.variant, 'dev');
  assert.equal((s.modelSampling as FlowModelSampling).shift, 1.0);
  assert.equal((d.modelSampling as FlowModelSampling).shift, 1.15);
  // ModelSamplingFlux at 1024² = 4096 tokens gives max_shift; 512² = 1024 tokens lies on the line.
  const m1 = withFluxShift(d, 1.15, 0.5, 1024, 1024);
  assert.ok(Math.abs((m1.modelSampling as FlowModelSampling).shift - 1.15) < 1e-12);
  const m2 = withFluxShift(d, 1.15, 0.5, 512, 512);
  assert.ok(Math.abs((m2.modelSampling as FlowModelSampling).shift - (0.5 + (0.65 * (1024 - 256)) / 3840)) < 1e-12);
  assert.equal((d.modelSampling as FlowModelSampling).shift, 1.15, 'the input model was changed');
  assert.equal(fluxShift(1024, 1024), 1.15);
  // fp8 weight_dtype → the 8-bit weight-only path on a copy; default keeps the stored precision.
  assert.equal(fluxQuantOf(withWeightDtype(d, 'fp8_e4m3fn', env.services.modelCacheDir!)), 'q8');
  assert.equal(fluxQuantOf(withWeightDtype(d, 'default', env.services.modelCacheDir!)), undefined);
  assert.equal(fluxQuantOf(d), undefined);
});

test('the worker-session ModelFn equals FluxModel + fluxModelFn row by row, across text lengths and guidance values', async () => {
  const d = load('dev.safetensors');
  const ref = await FluxModel.open(models('diffusion_models', 'dev.safetensors'), { threads: 1 });
  closers.push(() => ref.close());
  const ms = d.modelSampling;
  const x = rand([3, 16, 4, 6], 3);
  // Rows of different text length cannot be batched together; guidance absent means the 3.5 default.
  const rows = [row(256, 10, { guidance: 2 }), row(300, 20, {}), row(256, 30, { guidance: 5 })];
  const got = await fluxModelFnFor(d, env.services.models!, [1, 16, 4, 6])(x, 0.7, rows);
  const per = 16 * 24;
  for (let i = 0; i < 3; i++) {
    const xi = { shape: [1, 16, 4, 6], data: x.data.slice(i * per, (i + 1) * per) };
    const want = await fluxModelFn(ref, ms)(xi, 0.7, [rows[i]!]);
    assert.ok(maxDiff(got.data.subarray(i * per, (i + 1) * per), want.data) < 1e-4, `row ${i}`);
  }
  const g35 = await fluxModelFnFor(d, env.services.models!, [1, 16, 4, 6])(x, 0.7, [row(256, 10, { guidance: 3.5 }), rows[1]!, rows[2]!]);
  assert.ok(maxDiff(g35.data.subarray(per, 2 * per), got.data.subarray(per, 2 * per)) < 1e-6, 'absent guidance = 3.5');
  assert.ok(maxDiff(g35.data.subarray(0, per), got.data.subarray(0, per)) > 1e-4, 'guidance changes a dev model');
});

test('guidance null (FluxDisableGuidance) runs the dev DiT without guidance_in', async () => {
  // The same weights without guidance_in are a schnell-layout model: its output is the reference.
  const src = SafetensorsFile.open(models('diffusion_models', 'dev.safetensors'));
  const out: Record<string, TensorToWrite> = {};
  try {
    for (const [k, t] of src.tensors) if (!k.startsWith('guidance_in.')) out[k] = { dtype: 'F32', shape: [...t.shape], data: src.readFloat32(k) };
    writeSafetensors(models('diffusion_models', 'dev-noguid.safetensors'), out, { ...src.metadata });
  } finally {
    src.close();
  }
  const ref = await FluxModel.open(models('diffusion_models', 'dev-noguid.safetensors'), { threads: 1 });
  closers.push(() => ref.close());
  const d = load('dev.safetensors');
  const x = rand([1, 16, 4, 4], 8);
  const r = row(256, 40, { guidance: null });
  const got = await fluxModelFnFor(d, env.services.models!, [1, 16, 4, 4])(x, 0.5, [r]);
  const want = await fluxModelFn(ref, d.modelSampling)(x, 0.5, [r]);
  assert.ok(maxDiff(got.data, want.data) < 1e-4);
});

test('weight_dtype fp8 runs the 8-bit path: close to, but not the same bits as, the float model', async () => {
  const d = load('schnell.safetensors');
  const q = withWeightDtype(d, 'fp8_e5m2', env.services.modelCacheDir!);
  const x = rand([1, 16, 4, 4], 9);
  const r = [row(256, 50, {})];
  const a = await fluxModelFnFor(d, env.services.models!, [1, 16, 4, 4])(x, 0.8, r);
  const b = await fluxModelFnFor(q, env.services.models!, [1, 16, 4, 4])(x, 0.8, r);
  const diff = maxDiff(a.data, b.data);
  assert.ok(diff > 0 && diff < 0.05, `8-bit vs float max diff ${diff}`);
  assert.ok(fs.readdirSync(path.join(env.services.modelCacheDir!, 'flux-quant')).length > 0, 'the quantized side file is cached');
});

test('weight patches other than LoRA on a FLUX model are refused by name, not silently dropped', () => {
  const d = load('schnell.safetensors').clone();
  d.patches.push({ key: 'x.pt:1', kind: 'hypernetwork' });
  assert.throws(() => fluxModelFnFor(d, env.services.models!, [1, 16, 4, 4]), /hypernetwork.*not supported/i);
});

test('T5 tokenizer missing: the error names the folders to put tokenizer.json in and the model manager', async () => {
  const clip = loadFluxClip([models('text_encoders', 't5xxl_tiny.safetensors'), models('text_encoders', 'clip_l.safetensors')], { folders: env.folders });
  await assert.rejects(clip.encode('a cat'), (e: Error) => {
    assert.match(e.message, /tokenizer\.json/);
    assert.ok(e.message.includes(models('text_encoders', 't5')), e.message);
    assert.ok(e.message.includes(models('tokenizers', 't5')), e.message);
    assert.match(e.message, /model manager/);
    return true;
  });
});

test('FLUX CLIP: T5 states as conditioning, CLIP-L unprojected pooled as pooled_output, files in either order', { skip: !hasTokenizer && 'no shared T5 tokenizer' }, async () => {
  fs.mkdirSync(models('tokenizers', 't5'), { recursive: true });
  fs.copyFileSync(SHARED_T5, models('tokenizers', 't5', 'tokenizer.json'));
  const l = models('text_encoders', 'clip_l.safetensors'), t = models('text_encoders', 't5xxl_tiny.safetensors');
  const a = loadFluxClip([t, l], { folders: env.folders });
  const b = loadFluxClip([l, t], { folders: env.folders });
  assert.ok(a instanceof ClipModel && a instanceof FluxClip);
  assert.equal(a.family, 'flux');
  const text = 'a (red:1.3) bottle on a table';
  const [[cond, opts]] = await a.encode(text);
  const [[cond2, opts2]] = await b.encode(text);
  assert.deepEqual(cond.shape, [1, 256, 32]);
  assert.equal(opts.guidance, undefined, 'CLIPTextEncode leaves guidance to the model default');
  assert.equal(maxDiff(cond.data, cond2.data), 0);
  assert.equal(maxDiff((opts.pooled_output as { data: Float32Array }).data, (opts2.pooled_output as { data: Float32Array }).data), 0);
  // The T5 half is exactly the T5 module's ComfyUI prompt path (weights applied against the empty prompt).
  const tok = T5Tokenizer.fromTokenizerJson(SHARED_T5);
  const f = SafetensorsFile.open(t);
  closers.push(() => f.close());
  const enc = T5Encoder.open(f);
  closers.push(() => enc.release());
  assert.ok(maxDiff(cond.data, (await encodeT5Prompt(enc, tok, tokenizeT5Prompt(text, tok))).data) < 1e-5);
  // The pooled half is SD1's CLIP-L pooled (last layer, final LN, no projection).
  const sd1 = ClipModel.fromTextEncoders([l], 'stable_diffusion');
  const [[, o1]] = await sd1.encode(text);
  assert.ok(maxDiff((opts.pooled_output as { data: Float32Array }).data, (o1.pooled_output as { data: Float32Array }).data) < 1e-6);
  assert.deepEqual((opts.pooled_output as { shape: number[] }).shape, [1, 32]);
  // Separate texts and guidance (CLIPTextEncodeFlux).
  const [[c3, o3]] = await a.encodeFlux('a cat', text, 4);
  assert.equal(o3.guidance, 4);
  assert.ok(maxDiff(c3.data, cond.data) < 1e-6, 'conditioning comes from the t5xxl text');
  assert.ok(maxDiff((o3.pooled_output as { data: Float32Array }).data, (opts.pooled_output as { data: Float32Array }).data) > 1e-4, 'pooled comes from the clip_l text');
  await assert.rejects(a.setLastLayer(-2).encode('x'), /intermediate T5 layer/);
  assert.throws(() => loadFluxClip([l, l], { folders: env.folders }), /neither file is a T5/);
});

test('all-in-one FLUX checkpoint: MODEL + FLUX CLIP + 16-channel VAE; a FLUX AE loads through loadVae', () => {
  const file = models('checkpoints', 'flux-aio.safetensors');
  writeTinyFluxCheckpoint(file, path.join(env.base, 'temp', 'dit.safetensors'), { guidance: false });
  const c = loadCheckpoint(file, { cacheDir: env.services.modelCacheDir!, folders: env.folders });
  assert.equal(c.model.family, 'flux');
  assert.equal(c.model.source.prefix, 'model.diffusion_model.');
  assert.ok(c.clip instanceof FluxClip);
  assert.equal((c.clip as FluxClip).t5.prefix, 'text_encoders.t5xxl.transformer.');
  assert.equal(c.vae?.latentChannels, 16);
  writeTinyFluxAe(models('vae', 'ae.safetensors'));
  assert.equal(loadVae(models('vae', 'ae.safetensors'), { cacheDir: env.services.modelCacheDir! }).latentChannels, 16);
});
