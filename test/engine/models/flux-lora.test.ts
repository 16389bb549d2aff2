/**
 * LoRA on FLUX, against an oracle: for each key format ComfyUI accepts for a FLUX DiT (ComfyUI/BFL-native,
 * kohya, diffusers/PEFT with its row slices of BFL's fused tensors, DiffSynth / OneTrainer / LyCORIS
 * variants) the LoRA'd model must equal a plain model whose checkpoint the test writes with the merged
 * weights (test/support/lora-oracle.ts). Then stacking, strength 0, session keys, unknown keys, and fp8.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { fluxModelFnFor, withWeightDtype, writeTinyFluxDit } from '../../../engine/models/flux-sd/index.ts';
import { loadLoraForModels } from '../../../engine/models/lora/loader.ts';
import { loraModelPatch } from '../../../engine/models/lora/patches.ts';
import { loadDiffusionModel, type SdModel } from '../../../engine/models/sd/index.ts';
import type { CondEntry } from '../../../engine/sampling/cfg.ts';
import { maxDiff, rand, tempEnv, type Env } from '../../e2e/helpers.ts';
import { mergeDeltas, readAll, writeOracleLora, writeTensors, type OracleDelta, type OracleModule } from '../../support/lora-oracle.ts';

let env: Env;
const dir = (...p: string[]) => path.join(env.base, 'models', ...p);
const DEV = () => dir('diffusion_models', 'dev.safetensors');
const cacheDir = () => path.join(env.services.modelCacheDir!, 'lora');
const X = rand([1, 16, 4, 4], 3);
const ROW: CondEntry = { context: rand([1, 8, 32], 4), extra: { pooled_output: rand([1, 32], 5), guidance: 3 } };

before(() => {
  env = tempEnv();
  fs.mkdirSync(dir('loras'), { recursive: true });
  writeTinyFluxDit(DEV(), { guidance: true });
});

const load = (file: string): SdModel => loadDiffusionModel(file, { cacheDir: env.services.modelCacheDir! });
const out = async (m: SdModel): Promise<Float32Array> => (await fluxModelFnFor(m, env.services.models!, [1, 16, 4, 4])(X, 0.6, [ROW])).data;
function withLora(m: SdModel, lora: string, s: number, warn: (w: string) => void = () => {}): SdModel {
  return loadLoraForModels(m, null, lora, s, 0, { cacheDir: cacheDir(), warn }).model!;
}
function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  const scale = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  const d = maxDiff(got, want);
  assert.ok(d <= 1e-5 * scale, `${what}: max diff ${d} (output scale ${scale})`);
}
/** The base checkpoint with `loras` merged, written by the oracle. */
function merged(name: string, base: string, loras: ReadonlyArray<[OracleDelta[], number]>, fp8 = false): string {
  const t = readAll(base);
  for (const [d, s] of loras) mergeDeltas(t.tensors, d, s);
  const file = dir('diffusion_models', name);
  writeTensors(file, t, fp8);
  return file;
}

const C = 32, M = 128; // the tiny DiT: hidden 32, MLP 4×.
const D = 'double_blocks.0', S = 'single_blocks.0';
const native: OracleModule[] = [
  { name: `diffusion_model.${D}.img_attn.qkv`, key: `${D}.img_attn.qkv.weight`, rank: 4, alpha: 2 },
  { name: `diffusion_model.${D}.txt_mod.lin`, key: `${D}.txt_mod.lin.weight`, rank: 3, style: 'kohya' },
  { name: `diffusion_model.${S}.linear1_qkv`, key: `${S}.linear1.weight`, rows: [0, 3 * C], rank: 2, alpha: 8 },
  { name: `diffusion_model.${S}.linear2`, key: `${S}.linear2.weight`, rank: 4 },
  { name: 'diffusion_model.vector_in.out_layer', key: 'vector_in.out_layer.weight', rank: 2, alpha: 1, style: 'kohya' },
  { name: 'diffusion_model.final_layer.adaLN_modulation.1', key: 'final_layer.adaLN_modulation.1.weight', rank: 2 },
];
const kohya: OracleModule[] = ([
  [`${D}.img_attn.proj`, 4, 3], [`${D}.txt_attn.qkv`, 2], [`${D}.img_mlp.0`, 4, 2], [`${D}.txt_mlp.2`, 2], [`${S}.linear1`, 3, 1.5],
  [`${S}.modulation.lin`, 2], ['img_in', 2], ['txt_in', 3], ['time_in.in_layer', 2], ['guidance_in.out_layer', 2], ['final_layer.linear', 2],
] as Array<[string, number, number?]>).map(([m, rank, alpha]) => ({ name: `lora_unet_${m.replace(/\./g, '_')}`, key: `${m}.weight`, rank, alpha, style: 'kohya' as const }));
/** diffusers name → BFL tensor (ComfyUI's flux_to_diffusers), written out here as the oracle's own table. */
const third = (j: number): [number, number] => [j * C, (j + 1) * C];
const DIFFUSERS: Array<[string, string, [number, number]?, boolean?]> = [
  ['transformer_blocks.0.attn.to_q', `${D}.img_attn.qkv`, third(0)], ['transformer_blocks.0.attn.to_k', `${D}.img_attn.qkv`, third(1)],
  ['transformer_blocks.0.attn.to_v', `${D}.img_attn.qkv`, third(2)], ['transformer_blocks.0.attn.add_q_proj', `${D}.txt_attn.qkv`, third(0)],
  ['transformer_blocks.0.attn.add_v_proj', `${D}.txt_attn.qkv`, third(2)], ['transformer_blocks.0.attn.to_out.0', `${D}.img_attn.proj`],
  ['transformer_blocks.0.attn.to_add_out', `${D}.txt_attn.proj`], ['transformer_blocks.0.norm1.linear', `${D}.img_mod.lin`],
  ['transformer_blocks.0.norm1_context.linear', `${D}.txt_mod.lin`], ['transformer_blocks.0.ff.net.0.proj', `${D}.img_mlp.0`],
  ['transformer_blocks.0.ff.net.2', `${D}.img_mlp.2`], ['transformer_blocks.0.ff_context.net.0.proj', `${D}.txt_mlp.0`],
  ['transformer_blocks.0.ff_context.net.2', `${D}.txt_mlp.2`],
  ['single_transformer_blocks.0.attn.to_q', `${S}.linear1`, third(0)], ['single_transformer_blocks.0.attn.to_k', `${S}.linear1`, third(1)],
  ['single_transformer_blocks.0.attn.to_v', `${S}.linear1`, third(2)], ['single_transformer_blocks.0.proj_mlp', `${S}.linear1`, [3 * C, 3 * C + M]],
  ['single_transformer_blocks.0.proj_out', `${S}.linear2`], ['single_transformer_blocks.0.norm.linear', `${S}.modulation.lin`],
  ['x_embedder', 'img_in'], ['context_embedder', 'txt_in'], ['time_text_embed.timestep_embedder.linear_1', 'time_in.in_layer'],
  ['time_text_embed.text_embedder.linear_2', 'vector_in.out_layer'], ['time_text_embed.guidance_embedder.linear_1', 'guidance_in.in_layer'],
  ['norm_out.linear', 'final_layer.adaLN_modulation.1', undefined, true], ['proj_out', 'final_layer.linear'],
];
const diffusers: OracleModule[] = DIFFUSERS.map(([d, b, rows, swap], i) => ({ name: `transformer.${d}`, key: `${b}.weight`, rows, swap, rank: 2 + (i % 3), alpha: i % 4 === 0 ? 3 : undefined }));
/** DiffSynth (bare), OneTrainer (lora_transformer_) and SimpleTuner LyCORIS (lycoris_) spellings of the same table. */
const variants: OracleModule[] = [
  { name: 'transformer_blocks.0.attn.to_k', key: `${D}.img_attn.qkv.weight`, rows: third(1), rank: 2 },
  { name: 'single_transformer_blocks.0.proj_mlp', key: `${S}.linear1.weight`, rows: [3 * C, 3 * C + M], rank: 3, alpha: 1 },
  { name: 'lora_transformer_transformer_blocks_0_attn_add_k_proj', key: `${D}.txt_attn.qkv.weight`, rows: third(1), rank: 2, style: 'kohya' },
  { name: 'lora_transformer_norm_out_linear', key: 'final_layer.adaLN_modulation.1.weight', swap: true, rank: 2, style: 'kohya' },
  { name: 'lycoris_single_transformer_blocks_0_attn_to_v', key: `${S}.linear1.weight`, rows: third(2), rank: 2, alpha: 4 },
];

const FORMATS: Array<[string, OracleModule[], number]> = [['native', native, 0.8], ['kohya', kohya, 1.3], ['diffusers', diffusers, -0.6], ['variants', variants, 1]];
const written = new Map<string, OracleDelta[]>();
function lora(name: string, base = DEV()): [string, OracleDelta[]] {
  const file = dir('loras', `${name}.safetensors`);
  if (!written.has(file)) written.set(file, writeOracleLora(file, base, FORMATS.find((f) => f[0] === name)![1], FORMATS.findIndex((f) => f[0] === name) + 1));
  return [file, written.get(file)!];
}

test('each key format equals a checkpoint with the merged weights (row slices, swapped halves, alpha/rank)', async () => {
  const base = await out(load(DEV()));
  for (const [name, , s] of FORMATS) {
    const [file, deltas] = lora(name);
    const warnings: string[] = [];
    const got = await out(withLora(load(DEV()), file, s, (w) => warnings.push(w)));
    assert.deepEqual(warnings, [], `${name}: every key loads`);
    const want = await out(load(merged(`${name}-merged.safetensors`, DEV(), [[deltas, s]])));
    assertClose(got, want, name);
    assert.ok(maxDiff(got, base) > 1e-3, `${name}: the LoRA changes the output`);
  }
});

test('under the checkpoint prefix model.diffusion_model. the same LoRA lands the same way', async () => {
  const ck = dir('diffusion_models', 'prefixed.safetensors');
  writeTinyFluxDit(ck, { guidance: true, prefix: 'model.diffusion_model.' });
  const m = load(ck);
  assert.equal(m.source.prefix, 'model.diffusion_model.');
  const [file, deltas] = lora('diffusers');
  const want = await out(load(merged('diffusers-merged-0.5.safetensors', DEV(), [[deltas, 0.5]])));
  assertClose(await out(withLora(m, file, 0.5)), want, 'prefixed');
});

test('stacked LoRAs are the sum, in either order; strength 0 is the base bit for bit; strengths key the session', async () => {
  const [k, kd] = lora('kohya');
  const [d, dd] = lora('diffusers');
  const want = await out(load(merged('stack.safetensors', DEV(), [[kd, 0.5], [dd, 0.7]])));
  const ab = await out(withLora(withLora(load(DEV()), k, 0.5), d, 0.7));
  const ba = await out(withLora(withLora(load(DEV()), d, 0.7), k, 0.5));
  assertClose(ab, want, 'stack');
  assert.equal(maxDiff(ab, ba), 0, 'stacking order does not matter');

  const base = load(DEV());
  assert.equal(withLora(base, k, 0), base, 'strength 0 returns the model itself');
  const zero = base.clone();
  zero.patches.push(loraModelPatch({ path: k, strength: 0 }, cacheDir()));
  assert.equal(maxDiff(await out(zero), await out(base)), 0, 'a zero-strength patch builds the base graph');

  const a = withLora(base, k, 0.5), b = withLora(base, k, 0.6);
  assert.notEqual(a.sessionKey, b.sessionKey);
  assert.ok(maxDiff(await out(a), await out(b)) > 1e-4, 'another strength is another session');
});

test('unknown keys are reported as "lora key not loaded"; an SDXL LoRA on FLUX warns and changes nothing', async () => {
  const file = dir('loras', 'native-extra.safetensors');
  const one = { dtype: 'F32' as const, shape: [1, 1], data: Float32Array.of(1) };
  const deltas = writeOracleLora(file, DEV(), native, 1, {
    'lora_unet_nowhere.lora_up.weight': one, 'lora_unet_nowhere.lora_down.weight': one,
    'transformer.transformer_blocks.7.attn.to_q.lora_A.weight': one, 'stray_tensor': one,
  });
  const warnings: string[] = [];
  const got = await out(withLora(load(DEV()), file, 0.8, (w) => warnings.push(w)));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /lora key not loaded/);
  for (const k of ['lora_unet_nowhere.lora_up.weight', 'transformer.transformer_blocks.7.attn.to_q.lora_A.weight', 'stray_tensor']) assert.ok(warnings[0]!.includes(k), k);
  assertClose(got, await out(load(merged('native-merged-0.8.safetensors', DEV(), [[deltas, 0.8]]))), 'the known keys still load');

  const sdxl = dir('loras', 'sdxl.safetensors');
  writeOracleLoraNames(sdxl, ['lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q', 'lora_te2_text_model_encoder_layers_0_self_attn_q_proj', 'lora_unet_middle_block_1_proj_in']);
  const w2: string[] = [];
  const m = withLora(load(DEV()), sdxl, 1, (w) => w2.push(w));
  assert.match(w2[0] ?? '', /lora key not loaded: lora_unet_input_blocks_4_1/);
  assert.equal(maxDiff(await out(m), await out(load(DEV()))), 0, 'nothing loaded: the base output');
});

/** A LoRA with zero tensors under `names` (only its key names matter). */
function writeOracleLoraNames(file: string, names: string[]): void {
  const t: Record<string, TensorToWrite> = {};
  for (const n of names) {
    t[`${n}.lora_up.weight`] = { dtype: 'F32', shape: [4, 2], data: new Float32Array(8) };
    t[`${n}.lora_down.weight`] = { dtype: 'F32', shape: [2, 4], data: new Float32Array(8) };
  }
  writeSafetensors(file, t);
}

test('fp8 FLUX: merged in float32 and stored back as fp8; the 8-bit path re-quantizes only the patched Linears', async () => {
  const fp8 = merged('dev-fp8.safetensors', DEV(), [], true);
  // The oracle merges the LoRA into the fp8 values and rounds back to fp8 (its own nearest-value search).
  const deltas = writeOracleLora(dir('loras', 'kohya-fp8.safetensors'), fp8, kohya, 2);
  const want = load(merged('kohya-fp8-merged.safetensors', fp8, [[deltas, 0.9]], true));
  const got = withLora(load(fp8), dir('loras', 'kohya-fp8.safetensors'), 0.9);
  assertClose(await out(got), await out(want), 'fp8 stored precision');
  const sides = fs.readdirSync(cacheDir()).filter((n) => n.startsWith('lora-')).map((n) => SafetensorsFile.open(path.join(cacheDir(), n)));
  const side = sides.find((f) => f.has('double_blocks.0.img_attn.proj.weight') && f.get('double_blocks.0.img_attn.proj.weight').dtype === 'F8_E4M3');
  for (const f of sides) f.close();
  assert.ok(side, 'the merged tensors of an fp8 model are stored as fp8');

  // weight_dtype fp8 → q8 MatMulNBits: codes of the patched Linears come from the merged fp8 values.
  const qdir = path.join(env.services.modelCacheDir!, 'flux-quant');
  const q8 = (m: SdModel) => withWeightDtype(m, 'fp8_e4m3fn', env.services.modelCacheDir!);
  const wantQ = await out(q8(want));
  const before = fs.existsSync(qdir) ? fs.readdirSync(qdir).length : 0;
  const gotQ = await out(q8(got));
  assertClose(gotQ, wantQ, 'fp8 → q8 with LoRA');
  assert.ok(maxDiff(gotQ, await out(q8(load(fp8)))) > 1e-3, 'the LoRA reaches the 8-bit Linears');
  assert.equal(fs.readdirSync(qdir).length, before + 1, "the fp8 model's own codes: one side file, shared with the model without LoRA");
  assert.equal(fs.readdirSync(cacheDir()).filter((n) => n.startsWith('quant-')).length, 1, 'the patched codes: one side file beside the merged tensors');
});
