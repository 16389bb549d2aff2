/**
 * Golden ComfyUI trajectories through the node path: the KSampler node on a MODEL from
 * CheckpointLoaderSimple, conditioning fed from the case, the UNet in the ModelService. Covers plain
 * txt2img and the 9-channel inpaint model (concat channels from the latent's noise mask).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import KSampler from '../../../nodes/sampling/KSampler.ts';
import CheckpointLoaderSimple from '../../../nodes/loaders/CheckpointLoaderSimple.ts';
import LoraLoaderModelOnly from '../../../nodes/lora/LoraLoaderModelOnly.ts';
import { compareTensor, readCaseTensors } from '../../../engine/conformance/runner.ts';
import type { Latent } from '../../../engine/graph/sockets.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';

const CONF = path.resolve(import.meta.dirname, '../../../../shared/conformance');
const have = fs.existsSync(path.join(CONF, 'cases.json'));
let env: Env;
let cases: Record<string, any> = {};

before(() => {
  if (!have) return;
  env = tempEnv();
  for (const c of JSON.parse(fs.readFileSync(path.join(CONF, 'cases.json'), 'utf8')).cases) cases[c.name] = c;
});

async function runCase(name: string): Promise<void> {
  const c = cases[name];
  const ckpt = path.basename(c.models.checkpoint);
  const dest = path.join(env.base, 'models', 'checkpoints', ckpt);
  if (!fs.existsSync(dest)) fs.symlinkSync(path.join(CONF, c.models.checkpoint), dest);
  const v = readCaseTensors(path.join(CONF, c.file));
  const T = (k: string): Tensor => {
    const t = v.get(c.inputs[k]?.tensor ?? c.expected[k]?.tensor);
    assert.ok(t && t.data instanceof Float32Array, `${name}: tensor ${k}`);
    return { shape: t.shape, data: t.data as Float32Array };
  };
  const ctx = recordingContext(env, 'x').ctx;
  let [model] = (await CheckpointLoaderSimple.run!({ ckpt_name: ckpt }, ctx)) as [unknown];
  if (c.models.lora) {
    // The case's cond/uncond were encoded with the LoRA'd CLIP already; the node path patches the UNet.
    const lora = path.basename(c.models.lora);
    const ldest = path.join(env.base, 'models', 'loras', lora);
    fs.mkdirSync(path.dirname(ldest), { recursive: true });
    if (!fs.existsSync(ldest)) fs.symlinkSync(path.join(CONF, c.models.lora), ldest);
    [model] = (await LoraLoaderModelOnly.run!({ model, lora_name: lora, strength_model: c.params.strength_model } as never, ctx)) as [unknown];
  }
  const latent: Latent = { samples: T('latent_image') };
  if (c.inputs.noise_mask) latent.noise_mask = T('noise_mask');
  const p = c.params;
  const [out] = (await KSampler.run!({
    model, seed: p.seed, steps: p.steps, cfg: p.cfg, sampler_name: p.sampler, scheduler: p.scheduler, denoise: p.denoise,
    positive: [[T('cond'), {}]], negative: [[T('uncond'), {}]], latent_image: latent,
  } as never, ctx)) as [Latent];
  const cmp = compareTensor(out.samples.data, T('samples').data, c.tolerance);
  assert.ok(cmp.ok, `${name}: ${JSON.stringify(cmp)}`);
}

test('sample_euler_normal through CheckpointLoaderSimple → KSampler matches ComfyUI', { skip: !have && 'no ../shared/conformance' }, () => runCase('sample_euler_normal'));
test('inpaint_model_euler_normal (9-channel UNet, concat from the noise mask) matches ComfyUI', { skip: !have && 'no ../shared/conformance' }, () => runCase('inpaint_model_euler_normal'));
test('img2img_euler_normal (denoise 0.6 on an input latent) through the KSampler node matches ComfyUI', { skip: !have && 'no ../shared/conformance' }, () => runCase('img2img_euler_normal'));
test('inpaint_masked_euler_normal_d1.0 (latent noise mask) through the KSampler node matches ComfyUI', { skip: !have && 'no ../shared/conformance' }, () => runCase('inpaint_masked_euler_normal_d1.0'));
test('lora_sample_euler_normal through LoraLoaderModelOnly → KSampler matches ComfyUI', { skip: !have && 'no ../shared/conformance' }, () => runCase('lora_sample_euler_normal'));
