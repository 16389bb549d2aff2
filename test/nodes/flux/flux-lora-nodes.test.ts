/**
 * LoRA nodes on FLUX as the executor calls them: UNETLoader → LoraLoaderModelOnly → KSampler equals KSampler on
 * a diffusion model holding the merged weights; LoraLoader on a FLUX checkpoint patches MODEL and FLUX CLIP
 * and, unlike LoraLoaderModelOnly, loads the LoRA's text-encoder keys.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Conditioning, Latent } from '../../../engine/graph/sockets.ts';
import type { TensorToWrite } from '../../../engine/io/safetensors.ts';
import { FluxClip, releaseFluxEncoders, writeTinyFluxCheckpoint, writeTinyFluxDit } from '../../../engine/models/flux-sd/index.ts';
import type { SdModel } from '../../../engine/models/sd/index.ts';
import CheckpointLoaderSimple from '../../../nodes/loaders/CheckpointLoaderSimple.ts';
import UNETLoader from '../../../nodes/loaders/UNETLoader.ts';
import LoraLoader from '../../../nodes/lora/LoraLoader.ts';
import LoraLoaderModelOnly from '../../../nodes/lora/LoraLoaderModelOnly.ts';
import KSampler from '../../../nodes/sampling/KSampler.ts';
import { maxDiff, rand, recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';
import { mergeDeltas, readAll, writeOracleLora, writeTensors, type OracleDelta } from '../../support/lora-oracle.ts';

let env: Env;
const warnings: string[] = [];
const file = (...p: string[]) => path.join(env.base, 'models', ...p);
async function call<T extends unknown[]>(node: { run?: (...a: any[]) => unknown }, inputs: Record<string, unknown>): Promise<T> {
  const r = recordingContext(env, 'x');
  r.ctx.warn = (m: string) => warnings.push(m);
  return (await node.run!(inputs, r.ctx)) as T;
}
let deltas: OracleDelta[];

before(() => {
  env = tempEnv();
  fs.mkdirSync(file('loras'), { recursive: true });
  fs.mkdirSync(file('checkpoints'), { recursive: true });
  writeTinyFluxDit(file('diffusion_models', 'flux1-dev.safetensors'), { guidance: true, seed: 4 });
  writeTinyFluxCheckpoint(file('checkpoints', 'flux-aio.safetensors'), path.join(env.base, 'temp', 'dit.safetensors'), { guidance: true });
  // One DiT module per format, plus a CLIP-L module LoraLoaderModelOnly cannot load.
  const part = file('loras', 'clip-part.safetensors');
  writeOracleLora(part, file('checkpoints', 'flux-aio.safetensors'), [
    { name: 'lora_te1_text_model_encoder_layers_0_mlp_fc1', key: 'text_encoders.clip_l.transformer.text_model.encoder.layers.0.mlp.fc1.weight', rank: 2, style: 'kohya' },
  ], 10);
  const te: Record<string, TensorToWrite> = {};
  for (const [k, v] of readAll(part).tensors) te[k] = { dtype: 'F32', shape: v.shape, data: v.data };
  deltas = writeOracleLora(file('loras', 'flux-style.safetensors'), file('diffusion_models', 'flux1-dev.safetensors'), [
    { name: 'lora_unet_double_blocks_0_img_attn_qkv', key: 'double_blocks.0.img_attn.qkv.weight', rank: 4, alpha: 2, style: 'kohya' },
    { name: 'transformer.single_transformer_blocks.0.proj_mlp', key: 'single_blocks.0.linear1.weight', rows: [96, 224], rank: 2 },
    { name: 'diffusion_model.final_layer.linear', key: 'final_layer.linear.weight', rank: 3 },
  ], 9, te);
  const t = readAll(file('diffusion_models', 'flux1-dev.safetensors'));
  mergeDeltas(t.tensors, deltas, 0.75);
  writeTensors(file('diffusion_models', 'flux1-dev-merged.safetensors'), t);
});
after(async () => { await releaseFluxEncoders(); });

const cond = (seed: number): Conditioning => [[rand([1, 8, 32], seed), { pooled_output: rand([1, 32], seed + 1), guidance: 3.5 }]];
async function sample(model: SdModel): Promise<Float32Array> {
  const latent: Latent = { samples: { shape: [1, 16, 4, 4], data: new Float32Array(256) } };
  const [r] = await call<[Latent]>(KSampler, { model, seed: 3, steps: 2, cfg: 2, sampler_name: 'euler', scheduler: 'simple', positive: cond(1), negative: cond(5), latent_image: latent, denoise: 1 });
  return r.samples.data;
}

test('UNETLoader → LoraLoaderModelOnly → KSampler equals KSampler on the merged diffusion model', async () => {
  const [dev] = await call<[SdModel]>(UNETLoader, { unet_name: 'flux1-dev.safetensors', weight_dtype: 'default' });
  warnings.length = 0;
  const [lora] = await call<[SdModel]>(LoraLoaderModelOnly, { model: dev, lora_name: 'flux-style.safetensors', strength_model: 0.75 });
  assert.equal(lora.patches.length, 1);
  assert.equal(dev.patches.length, 0, 'the input MODEL is untouched');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /lora key not loaded: lora_te1_text_model_encoder_layers_0_mlp_fc1\.lora_up\.weight, lora_te1_text_model_encoder_layers_0_mlp_fc1\.lora_down\.weight/);
  const [merged] = await call<[SdModel]>(UNETLoader, { unet_name: 'flux1-dev-merged.safetensors', weight_dtype: 'default' });
  const got = await sample(lora), want = await sample(merged);
  const scale = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  assert.ok(maxDiff(got, want) <= 1e-5 * scale, `LoRA vs merged ${maxDiff(got, want)}`);
  assert.ok(maxDiff(got, await sample(dev)) > 1e-3, 'the LoRA changes the samples');
  const [same] = await call<[SdModel]>(LoraLoaderModelOnly, { model: dev, lora_name: 'flux-style.safetensors', strength_model: 0 });
  assert.equal(same, dev, 'strength 0 passes the MODEL through');
});

test('LoraLoader on a FLUX checkpoint patches MODEL and FLUX CLIP; its CLIP-L key is loaded', async () => {
  const [model, clip] = await call<[SdModel, FluxClip]>(CheckpointLoaderSimple, { ckpt_name: 'flux-aio.safetensors' });
  warnings.length = 0;
  const [m, c] = await call<[SdModel, FluxClip]>(LoraLoader, { model, clip, lora_name: 'flux-style.safetensors', strength_model: 1, strength_clip: 1 });
  assert.ok(c instanceof FluxClip, 'a FLUX CLIP stays a FLUX CLIP');
  assert.equal(m.patches.length, 1);
  assert.equal(c.patches.length, 1);
  assert.deepEqual(warnings, [], 'the CLIP-L module loads into the FLUX CLIP');
  assert.ok(maxDiff(await sample(m), await sample(model)) > 1e-3, 'the checkpoint DiT (prefix model.diffusion_model.) takes the LoRA');
});
