/**
 * The golden ComfyUI ControlNet trajectory through the node path: CheckpointLoaderSimple and ControlNetLoader
 * on the case's files, ControlNetApply (old) on the case's cond at its strength, KSampler with the case's
 * uncond. ComfyUI hands the positive's control to the uncond (control_apply_to_uncond), so both CFG halves
 * are controlled; the final latent must match within the case tolerance.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import CheckpointLoaderSimple from '../../../nodes/loaders/CheckpointLoaderSimple.ts';
import ControlNetLoader from '../../../nodes/controlnet/ControlNetLoader.ts';
import ControlNetApply from '../../../nodes/controlnet/ControlNetApply.ts';
import KSampler from '../../../nodes/sampling/KSampler.ts';
import { compareTensor, readCaseTensors } from '../../../engine/conformance/runner.ts';
import type { Conditioning, Latent } from '../../../engine/graph/sockets.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';

const CONF = path.resolve(import.meta.dirname, '../../../../shared/conformance');
const have = fs.existsSync(path.join(CONF, 'cases.json'));
let env: Env;
let cases: Record<string, any> = {};

before(() => {
  if (!have) return;
  env = tempEnv();
  fs.mkdirSync(path.join(env.base, 'models', 'controlnet'), { recursive: true });
  for (const c of JSON.parse(fs.readFileSync(path.join(CONF, 'cases.json'), 'utf8')).cases) cases[c.name] = c;
});

/** Links a case model into the temp models folder and returns its name there. */
function link(rel: string, folder: string): string {
  const name = path.basename(rel);
  const dest = path.join(env.base, 'models', folder, name);
  if (!fs.existsSync(dest)) fs.symlinkSync(path.join(CONF, rel), dest);
  return name;
}

test('controlnet_sample_euler_normal: ControlNetApply → KSampler matches ComfyUI', { skip: !have && 'no ../shared/conformance' }, async () => {
  const c = cases.controlnet_sample_euler_normal;
  assert.ok(c, 'case present');
  const v = readCaseTensors(path.join(CONF, c.file));
  const T = (k: string): Tensor => {
    const t = v.get(c.inputs[k]?.tensor ?? c.expected[k]?.tensor);
    assert.ok(t && t.data instanceof Float32Array, `tensor ${k}`);
    return { shape: t.shape, data: t.data as Float32Array };
  };
  const ctx = recordingContext(env, 'x').ctx;
  const [model] = (await CheckpointLoaderSimple.run!({ ckpt_name: link(c.models.checkpoint, 'checkpoints') }, ctx)) as [unknown];
  const [net] = (await ControlNetLoader.run!({ control_net_name: link(c.models.controlnet, 'controlnet') }, ctx)) as [unknown];
  const p = c.params;
  const [positive] = (await ControlNetApply.run!({ conditioning: [[T('cond'), {}]], control_net: net, image: T('hint_image_nhwc'), strength: p.strength } as never, ctx)) as [Conditioning];
  const [out] = (await KSampler.run!({
    model, seed: p.seed, steps: p.steps, cfg: p.cfg, sampler_name: p.sampler, scheduler: p.scheduler, denoise: p.denoise,
    positive, negative: [[T('uncond'), {}]], latent_image: { samples: T('latent_image') } satisfies Latent,
  } as never, ctx)) as [Latent];
  const cmp = compareTensor(out.samples.data, T('samples').data, c.tolerance);
  assert.ok(cmp.ok, JSON.stringify(cmp));
});
