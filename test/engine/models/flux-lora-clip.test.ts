/**
 * The CLIP side of a FLUX LoRA (LoraLoader's strength_clip on a FLUX CLIP): CLIP-L keys (lora_te1_,
 * text_encoder., text_encoders.clip_l.…) and T5 keys (lora_te2_, lora_te3_, text_encoders.t5xxl.…) must give
 * exactly what a FLUX CLIP loaded from text encoders with the merged weights gives; an fp8 T5 (run as 8-bit
 * MatMulNBits) likewise.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TensorToWrite } from '../../../engine/io/safetensors.ts';
import { FluxClip, loadFluxClip, releaseFluxEncoders, writeTinyClipL, writeTinyT5 } from '../../../engine/models/flux-sd/index.ts';
import { loadLoraForModels } from '../../../engine/models/lora/loader.ts';
import { maxDiff, tempEnv, type Env } from '../../e2e/helpers.ts';
import { mergeDeltas, readAll, writeOracleLora, writeTensors, type OracleDelta, type OracleModule } from '../../support/lora-oracle.ts';

const SHARED_T5 = path.resolve(import.meta.dirname, '../../../../shared/tokenizers/t5/tokenizer.json');
const skip = !fs.existsSync(SHARED_T5) && 'no shared T5 tokenizer';
let env: Env;
const dir = (...p: string[]) => path.join(env.base, 'models', ...p);

before(() => {
  env = tempEnv();
  fs.mkdirSync(dir('text_encoders'), { recursive: true });
  fs.mkdirSync(dir('tokenizers', 't5'), { recursive: true });
  fs.mkdirSync(dir('loras'), { recursive: true });
  if (!skip) fs.copyFileSync(SHARED_T5, dir('tokenizers', 't5', 'tokenizer.json'));
  writeTinyClipL(dir('text_encoders', 'clip_l.safetensors'));
  writeTinyT5(dir('text_encoders', 't5.safetensors'));
});
after(async () => { await releaseFluxEncoders(); });

const L = 'text_model.encoder.layers';
const clipMods: OracleModule[] = [
  { name: 'lora_te1_text_model_encoder_layers_0_self_attn_q_proj', key: `${L}.0.self_attn.q_proj.weight`, rank: 2, alpha: 1, style: 'kohya' },
  { name: `text_encoders.clip_l.transformer.${L}.1.mlp.fc1`, key: `${L}.1.mlp.fc1.weight`, rank: 3 },
  { name: `text_encoder.${L}.1.self_attn.out_proj`, key: `${L}.1.self_attn.out_proj.weight`, rank: 2, alpha: 4 },
];
const B = 'encoder.block';
const t5Mods: OracleModule[] = [
  { name: 'lora_te3_encoder_block_0_layer_0_SelfAttention_q', key: `${B}.0.layer.0.SelfAttention.q.weight`, rank: 2, style: 'kohya' },
  { name: 'lora_te2_encoder_block_1_layer_1_DenseReluDense_wi_0', key: `${B}.1.layer.1.DenseReluDense.wi_0.weight`, rank: 3, alpha: 1, style: 'kohya' },
  { name: `text_encoders.t5xxl.transformer.${B}.0.layer.1.DenseReluDense.wo`, key: `${B}.0.layer.1.DenseReluDense.wo.weight`, rank: 2 },
];

/** One LoRA file holding CLIP-L and T5 modules, written against `clipL` and `t5`; returns the deltas of each. */
function writeLora(name: string, clipL: string, t5: string): { file: string; l: OracleDelta[]; t: OracleDelta[] } {
  const part = dir('loras', `${name}-clip-part.safetensors`);
  const l = writeOracleLora(part, clipL, clipMods, 7);
  const extra: Record<string, TensorToWrite> = {};
  for (const [k, v] of readAll(part).tensors) extra[k] = { dtype: 'F32', shape: v.shape, data: v.data };
  const file = dir('loras', `${name}.safetensors`);
  return { file, l, t: writeOracleLora(file, t5, t5Mods, 8, extra) };
}

function mergedFile(name: string, base: string, d: OracleDelta[], s: number, fp8 = false): string {
  const t = readAll(base);
  mergeDeltas(t.tensors, d, s);
  const file = dir('text_encoders', name);
  writeTensors(file, t, fp8);
  return file;
}

async function encode(clip: FluxClip): Promise<{ cond: Float32Array; pooled: Float32Array }> {
  const [[cond, opts]] = await clip.encodeFlux('a red cat', 'a blue dog on the grass', 3.5);
  return { cond: cond.data, pooled: (opts.pooled_output as { data: Float32Array }).data };
}

function assertClose(got: Float32Array, want: Float32Array, what: string, tol = 1e-5): void {
  const scale = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  const d = maxDiff(got, want);
  assert.ok(d <= tol * scale, `${what}: max diff ${d} (scale ${scale})`);
}

test('CLIP-L and T5 keys of a FLUX LoRA equal text encoders with the merged weights', { skip }, async () => {
  const l = dir('text_encoders', 'clip_l.safetensors'), t = dir('text_encoders', 't5.safetensors');
  const lo = writeLora('te', l, t);
  const s = 0.7;
  const clip = loadFluxClip([l, t], { folders: env.folders });
  const warnings: string[] = [];
  const patched = loadLoraForModels(null, clip, lo.file, 0, s, { cacheDir: path.join(env.base, 'temp', 'lora'), warn: (w) => warnings.push(w) }).clip as FluxClip;
  assert.ok(patched instanceof FluxClip);
  assert.deepEqual(warnings, [], 'every CLIP-L and T5 key loads');
  const got = await encode(patched);
  const want = await encode(loadFluxClip([mergedFile('l-merged.safetensors', l, lo.l, s), mergedFile('t5-merged.safetensors', t, lo.t, s)], { folders: env.folders }));
  assertClose(got.pooled, want.pooled, 'CLIP-L pooled');
  assertClose(got.cond, want.cond, 'T5 states');
  const base = await encode(clip);
  assert.ok(maxDiff(got.pooled, base.pooled) > 1e-4 && maxDiff(got.cond, base.cond) > 1e-4, 'both towers change');
  assert.equal(maxDiff((await encode(clip.withPatches([]) as FluxClip)).cond, base.cond), 0, 'the input CLIP is unchanged');
});

test('an fp8 T5 (8-bit MatMulNBits) with a LoRA equals the merged fp8 T5', { skip }, async () => {
  const l = dir('text_encoders', 'clip_l.safetensors');
  const t8 = mergedFile('t5-fp8.safetensors', dir('text_encoders', 't5.safetensors'), [], 1, true);
  const lo = writeLora('te8', l, t8);
  const opts = { folders: env.folders, cacheDir: path.join(env.base, 'temp') };
  const clip = loadFluxClip([l, t8], opts);
  assert.equal(clip.t5.quant, 'q8', 'an fp8 T5 runs 8-bit');
  const got = await encode(loadLoraForModels(null, clip, lo.file, 0, 1.2, { cacheDir: path.join(env.base, 'temp', 'lora') }).clip as FluxClip);
  const want = await encode(loadFluxClip([mergedFile('l8-merged.safetensors', l, lo.l, 1.2), mergedFile('t58-merged.safetensors', t8, lo.t, 1.2, true)], opts));
  assertClose(got.cond, want.cond, 'q8 T5 states');
  assert.ok(maxDiff(got.cond, (await encode(clip)).cond) > 1e-4, 'the LoRA reaches the 8-bit T5');
});
