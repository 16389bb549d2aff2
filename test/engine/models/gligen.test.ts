/**
 * GLIGEN against plain-TypeScript references on tiny generated files (real ORT sessions): PositionNet with its
 * Fourier embedding and null slots; one GatedSelfAttentionDense under both of ComfyUI's head rules; in the UNet,
 * zero gates (α = 0, or a row's gate 0) leave the output bit-identical to the base UNet; file parsing and
 * the errors for files that do not fit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { createSession, GraphBuilder, runFloat } from '../../../engine/onnx/index.ts';
import { Rng, TensorSink, writeSdCheckpoint, type SdFixtureOptions } from '../../../engine/models/fixtures/index.ts';
import { writeTinyGligen } from '../../../engine/models/fixtures/gligen.ts';
import { buildUNet, headsFromMetadata, loadUNet, parseUNetConfig } from '../../../engine/models/unet/index.ts';
import { crossAttnSites } from '../../../engine/models/unet/graph.ts';
import {
  appendTextBox, GligenModel, gatedSelfAttention, gligenFeedNames, gligenHook, gligenStage, groundingKeys, groundingTokens, MAX_OBJS, type GligenBox,
} from '../../../engine/models/gligen/index.ts';
import type { UNetCall } from '../../../engine/models/sd/model.ts';
import { ModelService } from '../../../engine/runtime/service.ts';
import { rand } from '../../support/tensors.ts';
import { ref } from '../../support/gligen-ref.ts';

const BASE: SdFixtureOptions = { family: 'sd1', modelChannels: 64, seed: 61 };
let dir: string;
const file = (n: string): string => path.join(dir, n);

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-gligen-'));
  writeSdCheckpoint(file('ckpt.safetensors'), BASE);
  writeTinyGligen(file('g.safetensors'), BASE);
  writeTinyGligen(file('zero.safetensors'), BASE, { alpha: 0, hidden: 16 });
  writeTinyGligen(file('prefixed.safetensors'), BASE, { prefix: 'model.diffusion_model.', hidden: 16 });
  writeTinyGligen(file('deep.safetensors'), { ...BASE, transformerDepth: [2, 2], transformerDepthMiddle: 2 }, { hidden: 16 });
  writeTinyGligen(file('short.safetensors'), BASE, { dropLast: true, hidden: 16 });
  writeTinyGligen(file('wide.safetensors'), { ...BASE, channelMult: [2, 2] }, { hidden: 16 });
  writeSd768Gligen(file('sd768.safetensors'));
  writeTinyGligen(file('narrow.safetensors'), { family: 'sd1' }, { hidden: 16 });
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** One 16-wide fuser with 768-wide grounding tokens: ComfyUI's SD1.x rule of 8 heads (2 channels each). */
function writeSd768Gligen(p: string): void {
  const s = new TensorSink(new Rng(77), 'F32');
  const f = 'input_blocks.1.1.transformer_blocks.0.fuser';
  s.linear(`${f}.linear`, 16, 768);
  for (const n of ['to_q', 'to_k', 'to_v']) s.linear(`${f}.attn.${n}`, 16, 16, false);
  s.linear(`${f}.attn.to_out.0`, 16, 16);
  s.linear(`${f}.ff.net.0.proj`, 128, 16);
  s.linear(`${f}.ff.net.2`, 16, 64);
  s.norm(`${f}.norm1`, 16);
  s.norm(`${f}.norm2`, 16);
  s.add(`${f}.alpha_attn`, [], 0, 0.8);
  s.add(`${f}.alpha_dense`, [], 0, -0.6);
  s.add('position_net.null_positive_feature', [768], 0.5);
  s.add('position_net.null_position_feature', [64], 0.5);
  s.linear('position_net.linears.0', 8, 768 + 64);
  s.linear('position_net.linears.2', 8, 8);
  s.linear('position_net.linears.4', 768, 8);
  writeSafetensors(p, s.out);
}

const box = (seed: number, x: number, y: number, w: number, h: number): GligenBox => ({ embedding: rand([1, 32], seed), x, y, width: w, height: h });
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

test('PositionNet (Fourier embedding, null slots, MLP) matches a plain TypeScript reference', async () => {
  const m = GligenModel.open(file('g.safetensors'));
  assert.equal(m.inDim, 32);
  assert.equal(m.outDim, 32);
  const boxes = [box(1, 0, 0, 4, 4), box(2, 4, 2, 3, 6), box(3, 9, 5, 6, 5)]; // the last runs past the area's edge
  const got = await groundingTokens(m, boxes, 8, 12);
  assert.deepEqual(got.shape, [1, MAX_OBJS, 32]);
  const f = SafetensorsFile.open(m.path);
  try {
    const want = ref.positionNet(f, boxes, 8, 12);
    const d = maxDiff(got.data, want);
    assert.ok(d < 1e-5, `max |Δ| ${d}`);
    // Free slots are all the same null token.
    assert.equal(maxDiff(got.data.subarray(3 * 32, 4 * 32), got.data.subarray(29 * 32, 30 * 32)), 0);
  } finally {
    f.close();
  }
});

/** Runs one GatedSelfAttentionDense graph on x [B, N, C] with grounding tokens objs [B, 30, K] and per-row gates. */
async function runFuser(m: GligenModel, x: Float32Array, dims: number[], objs: Float32Array, gate: Float32Array): Promise<Float32Array> {
  const f = SafetensorsFile.open(m.path);
  const mod = m.modules[0]!;
  const g = new GraphBuilder({ name: 'fuser' });
  const xi = g.input('x', 'float32', dims);
  const oi = g.input('objs', 'float32', [dims[0]!, MAX_OBJS, mod.key]);
  const gi = g.op('Reshape', [g.input('gate', 'float32', [dims[0]!]), g.constInt64([-1, 1, 1])]);
  g.output(gatedSelfAttention(g, f, mod, xi, groundingKeys(g, f, mod, oi), gi), 'out');
  f.close();
  const { bytes, weightsDir } = g.build();
  const s = await createSession(bytes, weightsDir, { threads: 1 });
  try {
    return (await runFloat(s, { x: { data: x, dims }, objs: { data: objs, dims: [dims[0]!, MAX_OBJS, mod.key] }, gate: { data: gate, dims: [dims[0]!] } })).out!.data;
  } finally {
    await s.release();
  }
}

for (const [name, heads] of [['g.safetensors', 1], ['sd768.safetensors', 8]] as const) {
  test(`one GatedSelfAttentionDense (${heads} head${heads > 1 ? 's' : ''}) matches the reference; a gate of 0 leaves its row as it was`, async () => {
    const m = GligenModel.open(file(name));
    const mod = m.modules[0]!;
    assert.equal(mod.heads, heads);
    const [B, N, C] = [2, 6, mod.query];
    const x = rand([B, N, C], 5, 1).data;
    const objs = rand([B, MAX_OBJS, mod.key], 6).data;
    const out = await runFuser(m, x, [B, N, C], objs, Float32Array.of(1, 0));
    const f = SafetensorsFile.open(m.path);
    try {
      const want = ref.fuser(f, mod, x.subarray(0, N * C), objs.subarray(0, MAX_OBJS * mod.key), N);
      const d = maxDiff(out.subarray(0, N * C), want);
      assert.ok(d < 1e-5, `max |Δ| ${d}`);
      assert.ok(maxDiff(out.subarray(0, N * C), x.subarray(0, N * C)) > 1e-3, 'the module changes x');
    } finally {
      f.close();
    }
    assert.deepEqual(out.subarray(N * C), x.subarray(N * C), 'gate 0: exactly x');
  });
}

test('in the UNet: α = 0 and per-row gates of 0 give the base UNet bit for bit; gated rows differ', async () => {
  const ckpt = file('ckpt.safetensors');
  const base = await loadUNet(ckpt, { session: { threads: 1 } });
  const open = async (p: string) => {
    const f = SafetensorsFile.open(ckpt);
    const built = buildUNet(f, { ...headsFromMetadata(f.metadata), middlePatches: [gligenHook(GligenModel.open(p), 'gligen0')] });
    f.close();
    assert.ok(built.inputs.some((i) => i.name === 'gligen0_objs') && built.inputs.some((i) => i.name === 'gligen0_gate'));
    return createSession(built.bytes, built.weightsDir, { threads: 1 });
  };
  const x = rand([2, 4, 8, 8], 11), context = rand([2, 77, 32], 12), timesteps = Float32Array.of(500, 500);
  const objs = rand([2, MAX_OBJS, 32], 13);
  const want = (await base.run({ x, timesteps, context })).data;
  const names = gligenFeedNames('gligen0');
  const run = async (p: string, gate: number[]) => {
    const s = await open(p);
    try {
      return (await runFloat(s, {
        x: { data: x.data, dims: x.shape }, timesteps: { data: timesteps, dims: [2] }, context: { data: context.data, dims: context.shape },
        [names.objs]: { data: objs.data, dims: objs.shape }, [names.gate]: { data: Float32Array.from(gate), dims: [2] },
      })).out!.data;
    } finally {
      await s.release();
    }
  };
  try {
    assert.deepEqual(await run(file('zero.safetensors'), [1, 1]), want, 'tanh(0) = 0 everywhere: the base UNet exactly');
    const mixed = await run(file('g.safetensors'), [1, 0]);
    const half = want.length / 2;
    assert.deepEqual(mixed.subarray(half), want.subarray(half), 'the gate-0 row is the base row exactly');
    assert.ok(maxDiff(mixed.subarray(0, half), want.subarray(0, half)) > 1e-4, 'the gated row differs');
  } finally {
    await base.release();
  }
});

test('the sampling stage: a call without GLIGEN passes untouched; with it, the patch and per-row tokens and gates', async () => {
  const service = new ModelService({ threads: 1, inThread: true });
  try {
    const stage = gligenStage(service);
    const ctx = rand([1, 77, 32], 2);
    const call = { x: rand([2, 4, 8, 6], 1), conds: [{ context: ctx, extra: {} }, { context: ctx }], model: { clone: () => ({ patches: [] }) } } as unknown as UNetCall;
    let seen: UNetCall | undefined;
    const next = async (c: UNetCall) => { seen = c; return c.x; };
    await stage(call, next);
    assert.equal(seen, call, 'no GLIGEN: the very same call');
    const m = GligenModel.open(file('g.safetensors'));
    const boxes = [box(4, 1, 2, 3, 4)];
    const [[, opts]] = appendTextBox([[ctx, {}]], m, boxes[0]!.embedding, { width: 24, height: 32, x: 8, y: 16 });
    await stage({ ...call, conds: [{ context: ctx, extra: opts }, { context: ctx, extra: {} }] }, next);
    const c = seen as UNetCall & { feeds: Record<string, { shape: number[]; data: Float32Array }> };
    assert.deepEqual((c.model.patches as { kind: string }[]).map((p) => p.kind), ['gligen']);
    assert.deepEqual([...c.feeds.gligen0_gate!.data], [1, 0]);
    assert.deepEqual(c.feeds.gligen0_objs!.shape, [2, MAX_OBJS, 32]);
    const per = MAX_OBJS * 32;
    assert.deepEqual(c.feeds.gligen0_objs!.data.subarray(0, per), (await groundingTokens(m, boxes, 8, 6)).data, 'boxes normalised by the call\'s 8×6 latent');
    assert.ok(c.feeds.gligen0_objs!.data.subarray(per).every((v) => v === 0));
  } finally {
    await service.close();
  }
});

test('file layout: prefixed keys, last transformer block wins, ComfyUI order and head rule', () => {
  const plain = GligenModel.open(file('g.safetensors'));
  const prefixed = GligenModel.open(file('prefixed.safetensors'));
  assert.deepEqual(prefixed.modules.map((m) => [m.query, m.key, m.heads]), plain.modules.map((m) => [m.query, m.key, m.heads]));
  assert.ok(prefixed.modules.every((m) => m.prefix.startsWith('model.diffusion_model.')));
  const f = SafetensorsFile.open(file('ckpt.safetensors'));
  const cfg = parseUNetConfig(f, headsFromMetadata(f.metadata));
  f.close();
  const order = [...cfg.inputBlocks.flat(), ...cfg.middleBlock, ...cfg.outputBlocks.flat()].filter((l) => l.kind === 'transformer');
  assert.deepEqual(plain.modules.map((m) => m.prefix), order.map((l) => `${l.key.slice(cfg.prefix.length)}.transformer_blocks.0.fuser.`));
  const deep = GligenModel.open(file('deep.safetensors'));
  assert.ok(deep.modules.every((m) => m.prefix.endsWith('transformer_blocks.1.fuser.')), 'the dict of each block keeps the keys read last');
  assert.deepEqual(plain.modules.map((m) => m.heads), plain.modules.map((m) => m.query / 64));
});

test('errors: files that do not fit the model, the CLIP width, more than 30 boxes', () => {
  const f = SafetensorsFile.open(file('ckpt.safetensors'));
  try {
    const cfg = parseUNetConfig(f, headsFromMetadata(f.metadata));
    const sites = crossAttnSites(cfg);
    assert.ok(sites.length > 0);
    const build = (p: string) => buildUNet(f, { ...headsFromMetadata(f.metadata), middlePatches: [gligenHook(GligenModel.open(p), 'gligen0')] });
    assert.throws(() => build(file('short.safetensors')), /short\.safetensors: the GLIGEN file has \d+ fuser modules but the model has \d+ SpatialTransformers/);
    assert.throws(() => build(file('wide.safetensors')), /wide\.safetensors: input_blocks\.1\.1\.transformer_blocks\.0\.fuser is 128 wide but the model's SpatialTransformer 0 is 64 wide/);
  } finally {
    f.close();
  }
  const m = GligenModel.open(file('g.safetensors'));
  const cond = [[rand([1, 77, 32], 1), {}]] as [ReturnType<typeof rand>, Record<string, unknown>][];
  assert.throws(() => appendTextBox(cond, m, rand([1, 48], 2), { width: 64, height: 64, x: 0, y: 0 }), /g\.safetensors: the CLIP's pooled output is 48 wide but this GLIGEN model takes 32-wide/);
  let c = cond;
  for (let i = 0; i < MAX_OBJS; i++) c = appendTextBox(c, m, rand([1, 32], i), { width: 16, height: 16, x: 8 * i, y: 0 });
  assert.throws(() => appendTextBox(c, m, rand([1, 32], 99), { width: 16, height: 16, x: 0, y: 0 }), /at most 30 text boxes per conditioning; this would be box 31/);
  assert.throws(() => GligenModel.open(file('ckpt.safetensors')), /ckpt\.safetensors: not a GLIGEN model/);
  assert.throws(() => GligenModel.open(file('narrow.safetensors')), /narrow\.safetensors: input_blocks\.1\.1\.transformer_blocks\.0\.fuser: a 32-wide fuser cannot be split into 64-channel heads/);
});
