/**
 * The ControlNet attachment and loading, below the nodes: how applications chain and are shared, the percent
 * range as sigmas, the uncond sharing of the old Apply node, the formats named instead of loaded, and a diff
 * ControlNet whose merged weights give the same residuals as the full ControlNet it was made from.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../../engine/errors.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { writeControlNet } from '../../../engine/models/fixtures/index.ts';
import { controlNetSession, loadControlNetModel, shareControlWithUncond } from '../../../engine/models/controlnet/apply.ts';
import { activeAt, applyControlNet, controlChain, controlOf, type ControlNetModel } from '../../../engine/models/controlnet/socket.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import type { SdModel } from '../../../engine/models/sd/model.ts';
import { DiscreteModelSampling } from '../../../engine/sampling/model-sampling.ts';
import type { CondEntry } from '../../../engine/sampling/cfg.ts';
import type { Conditioning } from '../../../engine/graph/sockets.ts';
import { addCheckpoint, rand, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let model: SdModel;
let cnDir: string;

before(() => {
  env = tempEnv();
  const ckpt = path.join(env.base, 'models', 'checkpoints', addCheckpoint(env, 'base.safetensors', { family: 'sd1', seed: 41 }));
  model = loadCheckpoint(ckpt, { cacheDir: path.join(env.base, 'temp') }).model;
  cnDir = path.join(env.base, 'models', 'controlnet');
  fs.mkdirSync(cnDir, { recursive: true });
  writeControlNet(path.join(cnDir, 'full.safetensors'), { family: 'sd1' }, { seed: 42 });
});

const cond = (seed: number, opts: Record<string, unknown> = {}): Conditioning => [[rand([1, 77, 32], seed), opts]];
const image = rand([1, 64, 64, 3], 5, 0.5, 0.5);
const net = (): ControlNetModel => loadControlNetModel(path.join(cnDir, 'full.safetensors'), { cacheDir: path.join(env.base, 'temp') });

test('strength 0 hands back the very same conditioning; otherwise every entry gets a frozen application', () => {
  const pos = cond(1);
  const neg = cond(2);
  const [p0, n0] = applyControlNet([pos, neg], net(), image, { strength: 0, applyToUncond: false });
  assert.equal(p0, pos);
  assert.equal(n0, neg);
  const [p, n] = applyControlNet([pos, neg], net(), image, { strength: 0.5, startPercent: 0.2, endPercent: 0.8, applyToUncond: false });
  const a = controlOf(p![0]![1])!;
  assert.equal(controlOf(n![0]![1]), a, 'positive and negative without control share one application (one batched ControlNet call)');
  assert.deepEqual([a.strength, a.startPercent, a.endPercent, a.previous], [0.5, 0.2, 0.8, undefined]);
  assert.ok(Object.isFrozen(a));
  assert.equal(pos[0]![1].control, undefined, 'the input conditioning is not modified');
  assert.throws(() => controlOf({ control: { net: 'forged' } }), WeftError);
});

test('chaining: each application keeps the one it was applied on top of; different previous → different applications', () => {
  const first = net();
  const second = net();
  const [p1, n1] = applyControlNet([cond(1), cond(2)], first, image, { strength: 1, applyToUncond: false });
  const [p2] = applyControlNet([p1!], second, image, { strength: 0.7, applyToUncond: true });
  const chain = controlChain(controlOf(p2![0]![1]));
  assert.deepEqual(chain.map((c) => [c.net, c.strength]), [[second, 0.7], [first, 1]]);
  const mixed: Conditioning = [...p1!, ...cond(3)];
  const [m] = applyControlNet([mixed, n1!], second, image, { strength: 1, applyToUncond: false });
  const [a, b] = m!.map((e) => controlOf(e[1])!);
  assert.notEqual(a, b);
  assert.equal(a!.previous, controlOf(p1![0]![1]));
  assert.equal(b!.previous, undefined);
});

test('the percent range becomes a sigma range of the model (0 = from the start, 1 = to the end)', () => {
  const ms = new DiscreteModelSampling();
  const [p] = applyControlNet([cond(1)], net(), image, { strength: 1, startPercent: 0.25, endPercent: 0.75, applyToUncond: false });
  const app = controlOf(p![0]![1])!;
  const hi = ms.percentToSigma(0.25);
  const lo = ms.percentToSigma(0.75);
  assert.ok(hi > lo && lo > 0);
  for (const [sigma, want] of [[14.6, false], [hi * 1.01, false], [hi, true], [(hi + lo) / 2, true], [lo, true], [lo * 0.99, false], [0.03, false]] as const) {
    assert.equal(activeAt(app, sigma, ms), want, `sigma ${sigma}`);
  }
  const [full] = applyControlNet([cond(1)], net(), image, { strength: 1, applyToUncond: false });
  assert.ok(activeAt(controlOf(full![0]![1])!, 14.6, ms) && activeAt(controlOf(full![0]![1])!, 0.0292, ms));
});

test('ControlNetApply\'s control is shared with an uncontrolled uncond without area, as ComfyUI\'s sampler does', () => {
  const [p] = applyControlNet([cond(1)], net(), image, { strength: 1, applyToUncond: true });
  const pos: CondEntry[] = [{ context: p![0]![0], extra: p![0]![1] }];
  const neg: CondEntry[] = [{ context: rand([1, 77, 32], 2), extra: {} }, { context: rand([1, 77, 32], 3), extra: {}, area: { height: 4, width: 4, y: 0, x: 0 } }];
  const out = shareControlWithUncond(pos, neg);
  assert.equal(out[0]!.extra!.control, pos[0]!.extra!.control);
  assert.equal(out[1], neg[1], 'an uncond entry with an area keeps no control');
  assert.equal(neg[0]!.extra!.control, undefined, 'inputs untouched');
  // Advanced (applyToUncond false) never shares; an uncond that already has a control blocks sharing.
  const [adv] = applyControlNet([cond(1)], net(), image, { strength: 1, applyToUncond: false });
  assert.equal(shareControlWithUncond([{ context: adv![0]![0], extra: adv![0]![1] }], neg)[0]!.extra!.control, undefined);
  const [own] = applyControlNet([cond(2)], net(), image, { strength: 1, applyToUncond: false });
  const negOwn: CondEntry[] = [{ context: own![0]![0], extra: own![0]![1] }, { context: rand([1, 77, 32], 4), extra: {} }];
  assert.equal(shareControlWithUncond(pos, negOwn)[1]!.extra!.control, undefined);
});

function writeKeys(name: string, keys: string[]): string {
  const tensors: Record<string, TensorToWrite> = {};
  for (const k of keys) tensors[k] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
  const p = path.join(cnDir, name);
  writeSafetensors(p, tensors);
  return p;
}

test('diffusers, T2I-Adapter and incomplete Control-LoRA files are named in a WeftError, not misread', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['diffusers.safetensors', ['controlnet_cond_embedding.conv_in.weight', 'down_blocks.0.resnets.0.conv1.weight'], /diffusers-format ControlNet/],
    ['t2i.safetensors', ['body.0.block1.weight', 'conv_in.weight'], /T2I-Adapter/],
    ['t2i_wrapped.safetensors', ['adapter.body.0.resnets.0.block1.weight'], /T2I-Adapter/],
    ['control_lora.safetensors', ['lora_controlnet', 'input_blocks.0.0.weight'], /Control-LoRA \(lora_controlnet\) without input_hint_block/],
    ['other.safetensors', ['model.diffusion_model.out.2.weight'], /not a ControlNet/],
  ];
  for (const [name, keys, re] of cases) {
    const file = writeKeys(name, keys);
    assert.throws(() => loadControlNetModel(file, { cacheDir: path.join(env.base, 'temp') }), (e: unknown) => e instanceof WeftError && re.test(e.message) && e.message.includes(file), name);
  }
});

test('a diff ControlNet (control_model.* minus the UNet, plus "difference") merged onto the model gives the full ControlNet\'s residuals', async () => {
  const full = SafetensorsFile.open(path.join(cnDir, 'full.safetensors'));
  const unet = SafetensorsFile.open(model.source.path);
  const tensors: Record<string, TensorToWrite> = { difference: { dtype: 'F32', shape: [1], data: new Float32Array(1) } };
  let relative = 0;
  try {
    for (const k of full.keys()) {
      const w = full.readFloat32(k);
      const u = `model.diffusion_model.${k.slice('control_model.'.length)}`;
      if (unet.has(u)) {
        const b = unet.readFloat32(u);
        for (let i = 0; i < w.length; i++) w[i] = w[i]! - b[i]!;
        relative++;
      }
      tensors[k] = { dtype: 'F32', shape: full.get(k).shape, data: w };
    }
  } finally {
    full.close();
    unet.close();
  }
  assert.ok(relative > 10, 'the encoder copy is stored relative to the UNet');
  writeSafetensors(path.join(cnDir, 'diff.safetensors'), tensors);
  const warnings: string[] = [];
  const cacheDir = path.join(env.base, 'temp');
  const plain = loadControlNetModel(path.join(cnDir, 'diff.safetensors'), { cacheDir, warn: (m) => warnings.push(m) });
  assert.match(warnings.join(), /diff ControlNet loaded without a model/);
  const diff = loadControlNetModel(path.join(cnDir, 'diff.safetensors'), { cacheDir, model });
  assert.notEqual(diff.key, plain.key);

  const feeds = { x: rand([2, 4, 8, 8], 7), hint: rand([2, 3, 64, 64], 8, 0.5, 0.5), timesteps: Float32Array.of(500, 500), context: rand([2, 77, 32], 9) };
  const run = async (n: ControlNetModel) => {
    const s = await controlNetSession(env.services.models, n);
    const out = await s.handle.run({
      x: { type: 'float32', dims: [...feeds.x.shape], data: feeds.x.data.slice() }, hint: { type: 'float32', dims: [...feeds.hint.shape], data: feeds.hint.data.slice() },
      timesteps: { type: 'float32', dims: [2], data: feeds.timesteps.slice() }, context: { type: 'float32', dims: [...feeds.context.shape], data: feeds.context.data.slice() },
    });
    return s.outputs.map((o) => out[o]!.data as Float32Array);
  };
  const want = await run(net());
  const got = await run(diff);
  const wrong = await run(plain);
  let worst = 0, off = 0;
  want.forEach((w, k) => w.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - got[k]![i]!));
    off = Math.max(off, Math.abs(v - wrong[k]![i]!));
  }));
  assert.ok(worst < 1e-4, `merged diff vs full ControlNet: max |Δ| ${worst}`);
  assert.ok(off > 1e-2, `unmerged diff differs (${off}), so the comparison can fail`);
});
