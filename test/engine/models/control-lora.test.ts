/**
 * Control-LoRAs through the engine's control stage, against their oracle: a full LDM ControlNet whose encoder
 * is the model's UNet + up·down (engine/models/fixtures/control-lora.ts). The Control-LoRA is bound to the
 * sampled model at sampling time, LoRA patches included; each (file, model session) gets its own side file;
 * files that do not fit the model are refused naming the file and the mismatch.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../../engine/errors.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { writeLora } from '../../../engine/models/fixtures/index.ts';
import { controlLoraPair, type ControlLoraFixtureOptions } from '../../../engine/models/fixtures/control-lora.ts';
import { controlNetSession, controlStage, loadControlNetModel } from '../../../engine/models/controlnet/apply.ts';
import { modelUNetWeights, usedKey } from '../../../engine/models/controlnet/control-lora.ts';
import { applyControlNet, type ControlNetModel } from '../../../engine/models/controlnet/socket.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import type { SdModel, UNetCall } from '../../../engine/models/sd/model.ts';
import { loadLoraForModels } from '../../../engine/models/lora/loader.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { addCheckpoint, maxDiff, rand, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let cacheDir: string;
let cnDir: string;
const models: Record<string, SdModel> = {};

const checkpoint = (name: string): SdModel => loadCheckpoint(path.join(env.base, 'models', 'checkpoints', name), { cacheDir }).model;
const load = (name: string): ControlNetModel => loadControlNetModel(path.join(cnDir, name), { cacheDir });

/** Writes the Control-LoRA `name` and its full ControlNet `full-<name>` for `model`'s (patched) UNet. */
function writePair(name: string, model: SdModel, o: ControlLoraFixtureOptions = {}, edit?: (t: Record<string, TensorToWrite>) => void): void {
  const u = modelUNetWeights(model);
  try {
    const { lora, full } = controlLoraPair(u.src, model.source.prefix, o);
    edit?.(lora);
    writeSafetensors(path.join(cnDir, name), lora);
    // The checkpoint's head split rides along, as ComfyUI builds a Control-LoRA's net from the model's config.
    writeSafetensors(path.join(cnDir, `full-${name}`), full, u.src.metadata);
  } finally {
    u.close();
  }
}

before(() => {
  env = tempEnv();
  cacheDir = path.join(env.base, 'temp');
  cnDir = path.join(env.base, 'models', 'controlnet');
  fs.mkdirSync(cnDir, { recursive: true });
  addCheckpoint(env, 'sd1.safetensors', { family: 'sd1', seed: 41 });
  addCheckpoint(env, 'xl.safetensors', { family: 'sdxl', seed: 51 });
  addCheckpoint(env, 'wide.safetensors', { family: 'sd1', seed: 61, textWidth: 48 });
  models.sd1 = checkpoint('sd1.safetensors');
  models.xl = checkpoint('xl.safetensors');
  const loraFile = path.join(env.base, 'lora.safetensors');
  writeLora(loraFile, { family: 'sd1' }, { seed: 9 });
  models.lora = loadLoraForModels(models.sd1, null, loraFile, 1, 0, { cacheDir: path.join(cacheDir, 'lora') }).model!;
  writePair('cl.safetensors', models.sd1, { skip: ['input_blocks.2.0.out_layers.3'] });
  // The same Control-LoRA (it depends only on shapes and seed) with its full net on the LoRA'd UNet.
  writePair('cl-lora.safetensors', models.lora, { skip: ['input_blocks.2.0.out_layers.3'] });
  writePair('cl-xl.safetensors', models.xl);
  writePair('cl-wide.safetensors', checkpoint('wide.safetensors'));
});

/** The control stage's residuals for one row conditioned with `net` at strength 1 (what the UNet would get). */
async function residuals(net: ControlNetModel, model: SdModel): Promise<Tensor[]> {
  const xl = model.family === 'sdxl';
  const context = rand([1, 77, xl ? 80 : 32], 3);
  const [p] = applyControlNet([[[context, {}]]], net, rand([1, 64, 64, 3], 5, 0.5, 0.5), { strength: 1, applyToUncond: false });
  const call: UNetCall = {
    x: rand([1, 4, 8, 8], 7), timesteps: Float32Array.of(500), sigmas: [1], context, y: xl ? rand([1, 1584], 8) : undefined,
    conds: [{ context, extra: p![0]![1] }], model,
  };
  let control: Tensor[] | undefined;
  await controlStage(env.services.models)(call, async (c) => { control = c.control; return c.x; });
  assert.ok(control && control.length > 0);
  return control;
}

async function assertSame(a: Tensor[], b: Tensor[], what: string): Promise<void> {
  assert.equal(a.length, b.length);
  const worst = Math.max(...a.map((t, i) => maxDiff(t.data, b[i]!.data)));
  assert.ok(worst < 1e-5, `${what}: max |Δ| ${worst}`);
}

const worstDiff = (a: Tensor[], b: Tensor[]): number => Math.max(...a.map((t, i) => maxDiff(t.data, b[i]!.data)));

test('the file layout the fixture writes is what ComfyUI reads: bare keys, up/down pairs, an empty lora_controlnet', () => {
  const f = SafetensorsFile.open(path.join(cnDir, 'cl.safetensors'));
  try {
    assert.deepEqual(f.get('lora_controlnet').shape, [0]);
    assert.deepEqual(f.get('input_blocks.1.0.in_layers.2.up').shape.length, 4, 'a conv pair');
    assert.deepEqual(f.get('input_blocks.1.1.transformer_blocks.0.attn2.to_k.down').shape.length, 2, 'a linear pair');
    assert.ok(f.has('input_blocks.1.0.in_layers.0.weight') && f.has('zero_convs.0.0.weight') && !f.has('input_blocks.2.0.out_layers.3.up'));
  } finally {
    f.close();
  }
  assert.deepEqual(['a.up', 'a.down', 'a.weight', 'a.bias', 'lora_controlnet', 'a.alpha', 'a.__x.weight'].map(usedKey), [true, true, true, true, false, false, false]);
});

test('a Control-LoRA on the model it was made for gives the full ControlNet\'s residuals', async () => {
  const cl = load('cl.safetensors');
  assert.throws(() => cl.open(), (e: unknown) => e instanceof WeftError && /only on the model it samples with/.test(e.message) && e.message.includes('cl.safetensors'));
  const want = await residuals(load('full-cl.safetensors'), models.sd1);
  await assertSame(await residuals(cl, models.sd1), want, 'Control-LoRA vs full ControlNet');
  assert.ok(Math.max(...want.map((t) => Math.max(...t.data.map(Math.abs)))) > 1e-2, 'residuals are not trivially zero');
  writePair('zero-up.safetensors', models.sd1, { skip: ['input_blocks.2.0.out_layers.3'] }, (t) => {
    for (const k of Object.keys(t)) if (k.endsWith('.up')) t[k] = { ...t[k]!, data: new Float32Array(t[k]!.data.byteLength / 4) };
  });
  assert.ok(worstDiff(await residuals(load('zero-up.safetensors'), models.sd1), want) > 1e-3, 'up·down matters, so the comparison can fail');
});

test('with a LoRA on the model, the Control-LoRA adds to the patched UNet weights', async () => {
  const cl = load('cl.safetensors');
  const onLora = await residuals(cl, models.lora);
  await assertSame(onLora, await residuals(load('full-cl-lora.safetensors'), models.lora), 'Control-LoRA on LoRA\'d model vs full net from patched weights');
  assert.ok(worstDiff(onLora, await residuals(cl, models.sd1)) > 1e-3, 'the LoRA changes the Control-LoRA\'s ControlNet');
});

test('one side file and session per (Control-LoRA, model session); the same model again reuses them', async () => {
  const dir = path.join(cacheDir, 'control-lora');
  fs.rmSync(dir, { recursive: true, force: true });
  const cl = load('cl.safetensors');
  const a = cl.bind!(models.sd1);
  const b = cl.bind!(models.lora);
  assert.notEqual(a.key, b.key);
  assert.equal(fs.readdirSync(dir).length, 2);
  const again = load('cl.safetensors').bind!(checkpoint('sd1.safetensors'));
  assert.equal(again.key, a.key, 'a fresh load of the same file on the same checkpoint');
  assert.equal(fs.readdirSync(dir).length, 2, 'its side file is reused');
  assert.equal(cl.bind!(models.sd1), a);
  assert.equal(controlNetSession(env.services.models, again), controlNetSession(env.services.models, a));
});

test('SDXL (label_emb → y, linear proj_in): the Control-LoRA matches its full ControlNet', async () => {
  await assertSame(await residuals(load('cl-xl.safetensors'), models.xl), await residuals(load('full-cl-xl.safetensors'), models.xl), 'SDXL');
});

test('a Control-LoRA that does not fit the model is refused naming the file and the mismatch', async () => {
  const refused = async (name: string, model: SdModel, re: RegExp): Promise<void> => {
    const file = path.join(cnDir, name);
    await assert.rejects(residuals(load(name), model), (e: unknown) => e instanceof WeftError && re.test(e.message) && e.message.includes(file) && /does not fit/.test(e.message), name);
  };
  const sd1 = models.sd1;
  writePair('bad-shape.safetensors', sd1, {}, (t) => {
    const d = t['input_blocks.1.0.in_layers.2.down']!;
    t['input_blocks.1.0.in_layers.2.down'] = { dtype: 'F32', shape: [d.shape[0]!, d.shape[1]! * 2, 3, 3], data: new Float32Array(d.shape[0]! * d.shape[1]! * 18) };
  });
  await refused('bad-shape.safetensors', sd1, /"input_blocks\.1\.0\.in_layers\.2": up·down is/);
  writePair('extra-key.safetensors', sd1, {}, (t) => {
    t['label_emb.0.0.up'] = { dtype: 'F32', shape: [128, 2], data: new Float32Array(256) };
    t['label_emb.0.0.down'] = { dtype: 'F32', shape: [2, 64], data: new Float32Array(128) };
  });
  await refused('extra-key.safetensors', sd1, /the model's UNet has no "label_emb\.0\.0\.weight"/);
  writePair('no-zero-conv.safetensors', sd1, {}, (t) => { delete t['zero_convs.2.0.weight']; });
  await refused('no-zero-conv.safetensors', sd1, /"zero_convs\.2\.0\.weight" is missing/);
  await refused('cl-wide.safetensors', sd1, /attn2\.to_k": up·down is 32×48/);
  await refused('cl-xl.safetensors', sd1, /no counterpart in the model's UNet|has no "label_emb/);
});

test('an SD3/Flux ControlNet is still refused by name', () => {
  const file = path.join(cnDir, 'sd3.safetensors');
  writeSafetensors(file, { 'controlnet_blocks.0.weight': { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
  assert.throws(() => loadControlNetModel(file, { cacheDir }), (e: unknown) => e instanceof WeftError && /SD3\/Flux/.test(e.message) && e.message.includes(file));
});
