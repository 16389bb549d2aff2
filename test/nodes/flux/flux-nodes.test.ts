/**
 * The FLUX nodes as the executor calls them, on tiny generated FLUX files in a real models folder: loaders,
 * CLIPTextEncodeFlux / FluxDisableGuidance / ModelSamplingFlux / EmptySD3LatentImage, and KSampler /
 * SamplerCustomAdvanced on a FLUX MODEL checked against the engine's own FLUX reference (FluxModel +
 * fluxModelFn + ksample), then VAEDecode of the 16-channel result.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Conditioning, Latent } from '../../../engine/graph/sockets.ts';
import { FluxModel, fluxModelFn } from '../../../engine/models/flux/index.ts';
import { FluxClip, releaseFluxEncoders, writeTinyClipL, writeTinyFluxAe, writeTinyFluxDit, writeTinyT5 } from '../../../engine/models/flux-sd/index.ts';
import type { SdModel } from '../../../engine/models/sd/index.ts';
import { ksample, LATENT_FORMATS } from '../../../engine/sampling/ksample.ts';
import type { FlowModelSampling } from '../../../engine/sampling/model-sampling.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import UNETLoader from '../../../nodes/loaders/UNETLoader.ts';
import DualCLIPLoader from '../../../nodes/loaders/DualCLIPLoader.ts';
import CLIPLoader from '../../../nodes/loaders/CLIPLoader.ts';
import VAELoader from '../../../nodes/loaders/VAELoader.ts';
import CLIPTextEncode from '../../../nodes/conditioning/CLIPTextEncode.ts';
import CLIPTextEncodeFlux from '../../../nodes/flux/CLIPTextEncodeFlux.ts';
import FluxDisableGuidance from '../../../nodes/flux/FluxDisableGuidance.ts';
import ModelSamplingFlux from '../../../nodes/flux/ModelSamplingFlux.ts';
import EmptySD3LatentImage from '../../../nodes/latent/EmptySD3LatentImage.ts';
import KSampler from '../../../nodes/sampling/KSampler.ts';
import SamplerCustomAdvanced from '../../../nodes/sampling/SamplerCustomAdvanced.ts';
import BasicGuider from '../../../nodes/sampling/BasicGuider.ts';
import BasicScheduler from '../../../nodes/sampling/BasicScheduler.ts';
import KSamplerSelect from '../../../nodes/sampling/KSamplerSelect.ts';
import RandomNoise from '../../../nodes/sampling/RandomNoise.ts';
import VAEDecode from '../../../nodes/latent/VAEDecode.ts';
import { maxDiff, recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';

const SHARED_T5 = path.resolve(import.meta.dirname, '../../../../shared/tokenizers/t5/tokenizer.json');
const skip = !fs.existsSync(SHARED_T5) && 'no shared T5 tokenizer (a clone without ../shared)';
let env: Env;
const closers: Array<() => Promise<void>> = [];
const call = async <T extends unknown[]>(node: { run?: (...a: any[]) => unknown }, inputs: Record<string, unknown>): Promise<T> =>
  (await node.run!(inputs, recordingContext(env, 'x').ctx)) as T;
const file = (...p: string[]) => path.join(env.base, 'models', ...p);

before(() => {
  env = tempEnv();
  fs.mkdirSync(file('text_encoders', 't5'), { recursive: true });
  writeTinyFluxDit(file('diffusion_models', 'flux1-schnell.safetensors'), { guidance: false });
  writeTinyFluxDit(file('diffusion_models', 'flux1-dev.safetensors'), { guidance: true, seed: 4 });
  writeTinyClipL(file('text_encoders', 'clip_l.safetensors'));
  writeTinyT5(file('text_encoders', 't5xxl_fp16.safetensors'));
  writeTinyFluxAe(file('vae', 'ae.safetensors'));
  if (!skip) fs.copyFileSync(SHARED_T5, file('text_encoders', 't5', 'tokenizer.json'));
});
after(async () => {
  for (const c of closers) await c();
  await releaseFluxEncoders();
});

test('EmptySD3LatentImage: zeros [B, 16, h/8, w/8]; ModelSamplingFlux: shift of the size on a copy', async () => {
  const [l] = await call<[Latent]>(EmptySD3LatentImage, { width: 64, height: 48, batch_size: 2 });
  assert.deepEqual(l.samples.shape, [2, 16, 6, 8]);
  assert.ok(l.samples.data.every((v) => v === 0));
  const [m] = await call<[SdModel]>(UNETLoader, { unet_name: 'flux1-dev.safetensors', weight_dtype: 'default' });
  const [m2] = await call<[SdModel]>(ModelSamplingFlux, { model: m, max_shift: 1.15, base_shift: 0.5, width: 1024, height: 1024 });
  assert.ok(Math.abs((m2.modelSampling as FlowModelSampling).shift - 1.15) < 1e-12);
  const [m3] = await call<[SdModel]>(ModelSamplingFlux, { model: m, max_shift: 2, base_shift: 1, width: 256, height: 256 });
  assert.ok(Math.abs((m3.modelSampling as FlowModelSampling).shift - (1 + (256 - 256) / 3840)) < 1e-12, 'at 256 tokens the shift is base_shift');
  assert.equal((m.modelSampling as FlowModelSampling).shift, 1.15, 'the dev default, unchanged on the input');
});

test('CLIPLoader with a T5 file alone says to use DualCLIPLoader type flux', async () => {
  await assert.rejects(call(CLIPLoader, { clip_name: 't5xxl_fp16.safetensors', type: 'sd3' }), /DualCLIPLoader, type flux/);
});

test('CLIPTextEncodeFlux sets guidance; FluxDisableGuidance clears it to null; CLIPTextEncode has none', { skip }, async () => {
  const [clip] = await call<[FluxClip]>(DualCLIPLoader, { clip_name1: 't5xxl_fp16.safetensors', clip_name2: 'clip_l.safetensors', type: 'flux' });
  assert.ok(clip instanceof FluxClip);
  const [c] = await call<[Conditioning]>(CLIPTextEncodeFlux, { clip, clip_l: 'a cat', t5xxl: 'a cat on a mat', guidance: 2.5 });
  assert.equal(c[0]![1].guidance, 2.5);
  assert.deepEqual((c[0]![0] as Tensor).shape, [1, 256, 32]);
  const [off] = await call<[Conditioning]>(FluxDisableGuidance, { conditioning: c });
  assert.equal(off[0]![1].guidance, null);
  assert.equal(c[0]![1].guidance, 2.5, 'the input was mutated');
  const [plain] = await call<[Conditioning]>(CLIPTextEncode, { text: 'a cat', clip });
  assert.equal('guidance' in plain[0]![1], false);
});

test('KSampler and SamplerCustomAdvanced on FLUX schnell equal the engine reference; VAEDecode gives an 8× image', { skip }, async () => {
  const [model] = await call<[SdModel]>(UNETLoader, { unet_name: 'flux1-schnell.safetensors', weight_dtype: 'default' });
  const [clip] = await call<[FluxClip]>(DualCLIPLoader, { clip_name1: 'clip_l.safetensors', clip_name2: 't5xxl_fp16.safetensors', type: 'flux' });
  const [vae] = await call<[unknown]>(VAELoader, { vae_name: 'ae.safetensors' });
  const [pos] = await call<[Conditioning]>(CLIPTextEncode, { text: 'a bottle with a galaxy inside', clip });
  const [neg] = await call<[Conditioning]>(CLIPTextEncode, { text: '', clip });
  // EmptyLatentImage's 4 channels are widened to 16 by the sampler (fix_empty_latent_channels).
  const latent: Latent = { samples: { shape: [1, 4, 6, 8], data: new Float32Array(192) } };
  const [ks] = await call<[Latent]>(KSampler, { model, seed: 7, steps: 3, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: pos, negative: neg, latent_image: latent, denoise: 1 });
  assert.deepEqual(ks.samples.shape, [1, 16, 6, 8]);

  const ref = await FluxModel.open(file('diffusion_models', 'flux1-schnell.safetensors'), { threads: 1 });
  closers.push(() => ref.close());
  const ms = model.modelSampling;
  const [ctx, opts] = pos[0]!;
  const want = await ksample({
    model: fluxModelFn(ref, ms), modelSampling: ms, latentFormat: LATENT_FORMATS.flux, positive: [{ context: ctx as Tensor, extra: { ...opts } }], negative: [],
    cfg: 1, latent: { shape: [1, 16, 6, 8], data: new Float32Array(768) }, seed: 7, sampler: 'euler', scheduler: 'simple', steps: 3,
  });
  assert.ok(maxDiff(ks.samples.data, want.samples.data) < 1e-4, `KSampler vs reference ${maxDiff(ks.samples.data, want.samples.data)}`);

  const [noise] = await call<[unknown]>(RandomNoise, { noise_seed: 7 });
  const [guider] = await call<[unknown]>(BasicGuider, { model, conditioning: pos });
  const [sampler] = await call<[unknown]>(KSamplerSelect, { sampler_name: 'euler' });
  const [sigmas] = await call<[Tensor]>(BasicScheduler, { model, scheduler: 'simple', steps: 3, denoise: 1 });
  assert.ok(Math.abs(sigmas.data[0]! - 1) < 1e-6 && sigmas.data[3] === 0, 'flow sigmas run from 1 to 0');
  const [out] = await call<[Latent]>(SamplerCustomAdvanced, { noise, guider, sampler, sigmas, latent_image: latent });
  assert.ok(maxDiff(out.samples.data, ks.samples.data) < 1e-5);

  const [img] = await call<[Tensor]>(VAEDecode, { samples: ks, vae });
  assert.deepEqual(img.shape, [1, 48, 64, 3]);
  const mean = img.data.reduce((a, b) => a + b, 0) / img.data.length;
  assert.ok(mean > 0 && mean < 1 && img.data.some((v) => Math.abs(v - mean) > 1e-3), 'a non-constant picture');
});

test('FLUX dev through KSampler: the guidance option changes the result; fp8 weight_dtype runs 8-bit', { skip }, async () => {
  const [dev] = await call<[SdModel]>(UNETLoader, { unet_name: 'flux1-dev.safetensors', weight_dtype: 'default' });
  const [dev8] = await call<[SdModel]>(UNETLoader, { unet_name: 'flux1-dev.safetensors', weight_dtype: 'fp8_e4m3fn' });
  const [clip] = await call<[FluxClip]>(DualCLIPLoader, { clip_name1: 'clip_l.safetensors', clip_name2: 't5xxl_fp16.safetensors', type: 'flux' });
  const enc = async (g: number) => (await call<[Conditioning]>(CLIPTextEncodeFlux, { clip, clip_l: 'a fox', t5xxl: 'a fox in snow', guidance: g }))[0];
  const [l] = await call<[Latent]>(EmptySD3LatentImage, { width: 32, height: 32, batch_size: 1 });
  const run = async (model: SdModel, positive: Conditioning) =>
    (await call<[Latent]>(KSampler, { model, seed: 3, steps: 2, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive, negative: positive, latent_image: l, denoise: 1 }))[0].samples.data;
  const a = await run(dev, await enc(3.5));
  const b = await run(dev, await enc(8));
  const [off] = await call<[Conditioning]>(FluxDisableGuidance, { conditioning: await enc(3.5) });
  const c = await run(dev, off);
  assert.ok(maxDiff(a, b) > 1e-4, 'guidance reaches the dev model');
  assert.ok(maxDiff(a, c) > 1e-4, 'disabled guidance differs from the 3.5 default');
  const q = await run(dev8, await enc(3.5));
  const d = maxDiff(a, q);
  assert.ok(d > 0 && d < 0.1, `8-bit result close to float (${d})`);
});
