/**
 * The ControlNet nodes end to end on tiny real models: ControlNetLoader → ControlNetApply / Advanced →
 * KSampler, the UNet and ControlNet sessions in a real ModelService. A wrapper pushed on the MODEL (the
 * control stage runs outside the model's wrappers) records, per UNet call, the sigma and which batch rows
 * received non-zero residuals, so ranges, chains and cond/uncond routing are observed, not assumed.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import CheckpointLoaderSimple from '../../../nodes/loaders/CheckpointLoaderSimple.ts';
import ControlNetLoader from '../../../nodes/controlnet/ControlNetLoader.ts';
import ControlNetApply from '../../../nodes/controlnet/ControlNetApply.ts';
import ControlNetApplyAdvanced from '../../../nodes/controlnet/ControlNetApplyAdvanced.ts';
import KSampler from '../../../nodes/sampling/KSampler.ts';
import { writeControlNet } from '../../../engine/models/fixtures/index.ts';
import { asSdModel, type SdModel } from '../../../engine/models/sd/model.ts';
import type { Conditioning, Latent } from '../../../engine/graph/sockets.ts';
import type { NodeContext } from '../../../engine/graph/context.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { addCheckpoint, rand, recordingContext, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let ctx: NodeContext;
let base: SdModel;
let netA: unknown;
let netB: unknown;

const pos: Conditioning = [[rand([1, 77, 32], 11), {}]];
const neg: Conditioning = [[rand([1, 77, 32], 12), {}]];
const hint = rand([1, 64, 64, 3], 13, 0.5, 0.5);
const STEPS = 6;

before(async () => {
  env = tempEnv();
  ctx = recordingContext(env, 'x').ctx;
  addCheckpoint(env, 'tiny.safetensors', { family: 'sd1', seed: 21 });
  fs.mkdirSync(path.join(env.base, 'models', 'controlnet'), { recursive: true });
  writeControlNet(path.join(env.base, 'models', 'controlnet', 'a.safetensors'), { family: 'sd1' }, { seed: 22 });
  writeControlNet(path.join(env.base, 'models', 'controlnet', 'b.safetensors'), { family: 'sd1' }, { seed: 23 });
  base = asSdModel(((await CheckpointLoaderSimple.run!({ ckpt_name: 'tiny.safetensors' }, ctx)) as unknown[])[0]);
  netA = ((await ControlNetLoader.run!({ control_net_name: 'a.safetensors' }, ctx)) as unknown[])[0];
  netB = ((await ControlNetLoader.run!({ control_net_name: 'b.safetensors' }, ctx)) as unknown[])[0];
});

interface Seen { sigma: number; rows: boolean[]; control?: Tensor[] }

/** KSampler with a recording wrapper; rows are [cond, uncond] as the CFG batch orders them. */
async function sample(positive: Conditioning, negative: Conditioning): Promise<{ samples: Float32Array; calls: Seen[] }> {
  const model = base.clone();
  const calls: Seen[] = [];
  model.wrappers.push(async (call, next) => {
    const N = call.x.shape[0]!;
    const rows = Array.from({ length: N }, (_, r) => !!call.control?.some((t) => {
      const per = t.data.length / N;
      return t.data.subarray(r * per, (r + 1) * per).some((v) => v !== 0);
    }));
    calls.push({ sigma: call.sigmas[0]!, rows, control: call.control });
    return next(call);
  });
  const latent: Latent = { samples: { shape: [1, 4, 8, 8], data: new Float32Array(256) } };
  const [out] = (await KSampler.run!({
    model, seed: 5, steps: STEPS, cfg: 4, sampler_name: 'euler', scheduler: 'normal', denoise: 1, positive, negative, latent_image: latent,
  } as never, ctx)) as [Latent];
  return { samples: out.samples.data, calls };
}

async function advanced(p: Conditioning, n: Conditioning, net: unknown, strength: number, start = 0, end = 1): Promise<[Conditioning, Conditioning]> {
  return (await ControlNetApplyAdvanced.run!({ positive: p, negative: n, control_net: net, image: hint, strength, start_percent: start, end_percent: end } as never, ctx)) as [Conditioning, Conditioning];
}

async function old(c: Conditioning, net: unknown, strength: number): Promise<Conditioning> {
  return ((await ControlNetApply.run!({ conditioning: c, control_net: net, image: hint, strength } as never, ctx)) as [Conditioning])[0];
}

test('strength 0 is exactly no ControlNet (bit-identical latent); strength 1 changes it', async () => {
  const plain = await sample(pos, neg);
  assert.ok(plain.calls.every((c) => !c.control), 'no residuals without a ControlNet');
  const [p0, n0] = await advanced(pos, neg, netA, 0);
  assert.deepEqual((await sample(p0, n0)).samples, plain.samples);
  assert.deepEqual((await sample(await old(pos, netA, 0), neg)).samples, plain.samples);
  const [p1, n1] = await advanced(pos, neg, netA, 1);
  const controlled = await sample(p1, n1);
  assert.equal(controlled.calls.length, STEPS);
  assert.ok(controlled.calls.every((c) => c.rows.length === 2 && c.rows.every(Boolean)), 'Advanced controls cond and uncond rows at every step');
  assert.notDeepEqual(controlled.samples, plain.samples);
});

test('start/end percent: only UNet calls whose sigma lies in the mapped range receive residuals', async () => {
  const ms = base.modelSampling;
  const [p, n] = await advanced(pos, neg, netA, 1, 0.3, 0.7);
  const { calls, samples } = await sample(p, n);
  const hi = Math.fround(ms.percentToSigma(0.3));
  const lo = Math.fround(ms.percentToSigma(0.7));
  const want = calls.map((c) => Math.fround(c.sigma) <= hi && Math.fround(c.sigma) >= lo);
  assert.deepEqual(calls.map((c) => c.rows.every(Boolean)), want);
  assert.deepEqual(calls.map((c) => c.rows.some(Boolean)), want, 'rows are all-or-nothing here');
  const active = want.filter(Boolean).length;
  assert.ok(active > 0 && active < calls.length, `${active} of ${calls.length} steps controlled: the range cuts both ways`);
  const [pf, nf] = await advanced(pos, neg, netA, 1);
  assert.notDeepEqual((await sample(pf, nf)).samples, samples, 'a narrower range changes the image');
});

test('two chained ControlNets: the UNet receives the sum of both residuals (each × its strength)', async () => {
  const [pa, na] = await advanced(pos, neg, netA, 0.8);
  const [pb, nb] = await advanced(pos, neg, netB, 0.6);
  const [pab, nab] = await advanced(pa, na, netB, 0.6);
  const a = (await sample(pa, na)).calls[0]!.control!;
  const b = (await sample(pb, nb)).calls[0]!.control!;
  const ab = await sample(pab, nab);
  const both = ab.calls[0]!.control!;
  let worst = 0;
  both.forEach((t, k) => t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (a[k]!.data[i]! + b[k]!.data[i]!))))));
  assert.ok(worst < 1e-5, `chain = A + B at the first step (max |Δ| ${worst})`);
  assert.ok(a[0]!.data.some((v, i) => Math.abs(v - both[0]!.data[i]!) > 1e-3), 'B contributes');
});

test('cond and uncond carry their own ControlNets: rows get only their own chain', async () => {
  // Advanced puts A on both; the old node then adds B to the positive only (the uncond already has a control).
  const [pa, na] = await advanced(pos, neg, netA, 1);
  const pab = await old(pa, netB, 1);
  const onlyA = (await sample(pa, na)).calls[0]!.control!;
  const mixed = (await sample(pab, na)).calls[0]!.control!;
  const half = (t: Tensor, r: number) => t.data.subarray((r * t.data.length) / 2, ((r + 1) * t.data.length) / 2);
  mixed.forEach((t, k) => {
    assert.deepEqual(half(t, 1), half(onlyA[k]!, 1), `uncond row of residual ${k}: A alone`);
  });
  assert.ok(half(mixed[0]!, 0).some((v, i) => v !== half(onlyA[0]!, 0)[i]), 'cond row: A + B');
});

test('ControlNetApply (old) on the positive also controls the uncond, as ComfyUI\'s control_apply_to_uncond does', async () => {
  const { calls } = await sample(await old(pos, netA, 1), neg);
  assert.ok(calls.every((c) => c.rows[0]), 'cond rows controlled');
  assert.ok(calls.every((c) => c.rows[1]), 'uncond rows controlled (needs sample.ts to call shareControlWithUncond)');
});

test('an IMAGE with the wrong channel count is refused by name', async () => {
  const [p, n] = (await ControlNetApplyAdvanced.run!({ positive: pos, negative: neg, control_net: netA, image: rand([1, 64, 64, 1], 3), strength: 1, start_percent: 0, end_percent: 1 } as never, ctx)) as [Conditioning, Conditioning];
  await assert.rejects(sample(p, n), /control image has 1 channels/);
});
