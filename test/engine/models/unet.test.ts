import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WeftError } from '../../../engine/errors.ts';
import { parseUNetConfig } from '../../../engine/models/unet/config.ts';
import { loadUNet, type UNetSession } from '../../../engine/models/unet/load.ts';
import { applyModel, denoiseBatch } from '../../../engine/models/unet/apply.ts';
import { streamSyntheticUNet, writeSyntheticUNet, type SyntheticUNetSpec } from '../../../engine/models/unet/synthetic.ts';
import { buildUNet } from '../../../engine/models/unet/graph.ts';
import { groupNorm, timestepFrequencies } from '../../../engine/models/unet/blocks.ts';
import { SafetensorsFile as SF, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { GraphBuilder, createSession, runFloat } from '../../../engine/onnx/index.ts';
import { DiscreteModelSampling } from '../../../engine/sampling/model-sampling.ts';
import { readCaseTensors, compareTensor } from '../../../engine/conformance/runner.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { maxDiff, rand } from '../../support/tensors.ts';

const SD1: SyntheticUNetSpec = { modelChannels: 32, channelMult: [1, 2], numResBlocks: 1, transformerDepth: [1, 0], contextDim: 16 };
const XL: SyntheticUNetSpec = { modelChannels: 32, channelMult: [1, 2], numResBlocks: 1, transformerDepth: [0, 2], transformerDepthMiddle: 2, contextDim: 24, linearProj: true, admInChannels: 20 };

let dir: string;
let sd1: UNetSession;
let sd1ctl: UNetSession;


function slice(t: Tensor, b: number): Tensor {
  const n = t.data.length / t.shape[0]!;
  return { shape: [1, ...t.shape.slice(1)], data: t.data.slice(b * n, (b + 1) * n) };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-unet-'));
  writeSyntheticUNet(join(dir, 'sd1.safetensors'), SD1, { metadata: { weft_config: JSON.stringify({ unet: { num_heads: 4 } }) } });
  sd1 = await loadUNet(join(dir, 'sd1.safetensors'), { session: { threads: 1 } });
  sd1ctl = await loadUNet(join(dir, 'sd1.safetensors'), { withControl: true, session: { threads: 1 } });
});

after(async () => {
  await sd1?.release();
  await sd1ctl?.release();
  rmSync(dir, { recursive: true, force: true });
});

test('the architecture is read from names and shapes', () => {
  const f = SF.open(join(dir, 'sd1.safetensors'));
  try {
    const c = parseUNetConfig(f, { numHeads: 4 });
    assert.equal(c.modelChannels, 32);
    assert.equal(c.contextDim, 16);
    assert.equal(c.inputBlocks.length, 4); // conv_in, res+attn, down, res
    assert.deepEqual(c.inputBlocks.map((b) => b.map((l) => l.kind)), [['conv'], ['res', 'transformer'], ['down'], ['res']]);
    assert.deepEqual(c.outputBlocks.map((b) => b.map((l) => l.kind)), [['res'], ['res', 'up'], ['res', 'transformer'], ['res', 'transformer']]);
    assert.deepEqual(c.skips, [{ ch: 32, down: 1 }, { ch: 32, down: 1 }, { ch: 32, down: 2 }, { ch: 64, down: 2 }]);
    const t = c.inputBlocks[1]![1]!;
    assert.ok(t.kind === 'transformer' && t.heads === 4 && !t.linear && t.ffInner === 128);
    assert.throws(() => parseUNetConfig(f, { headChannels: 64 }), /not a multiple of 64/);
    assert.throws(() => parseUNetConfig(f, { prefix: 'unet.' }), (e: unknown) => e instanceof WeftError && /no UNet under prefix "unet\."/.test(e.message));
  } finally {
    f.close();
  }
});

test('real-size layouts (sparse files): SD1.5, SD2 and SDXL read with ComfyUI\'s head defaults and build', () => {
  const real: Record<string, SyntheticUNetSpec> = {
    sd15: { modelChannels: 320, channelMult: [1, 2, 4, 4], numResBlocks: 2, transformerDepth: [1, 1, 1, 0], contextDim: 768 },
    sd2: { modelChannels: 320, channelMult: [1, 2, 4, 4], numResBlocks: 2, transformerDepth: [1, 1, 1, 0], contextDim: 1024, linearProj: true },
    sdxl: { modelChannels: 320, channelMult: [1, 2, 4], numResBlocks: 2, transformerDepth: [0, 2, 10], transformerDepthMiddle: 10, contextDim: 2048, linearProj: true, admInChannels: 2816 },
  };
  const heads: Record<string, number[]> = { sd15: [8], sd2: [5, 10, 20], sdxl: [10, 20] }; // distinct head counts, in block order
  for (const [name, spec] of Object.entries(real)) {
    const path = join(dir, `${name}-sparse.safetensors`);
    const params = streamSyntheticUNet(path, spec, 1, { sparse: true });
    if (name === 'sd15') assert.equal(params.length, 686); // the real SD1.5 UNet's tensor count
    const f = SF.open(path);
    try {
      const b = buildUNet(f, { withControl: true });
      const c = b.config;
      const ts = [...c.inputBlocks.flat(), ...c.middleBlock].filter((l) => l.kind === 'transformer');
      assert.deepEqual([...new Set(ts.map((l) => (l.kind === 'transformer' ? l.heads : 0)))], heads[name], name);
      assert.equal(c.contextDim, spec.contextDim);
      assert.equal(c.admInChannels, spec.admInChannels ?? 0);
      assert.equal(b.controlInputs.length, name === 'sdxl' ? 10 : 13);
      if (name === 'sdxl') assert.deepEqual(ts.map((l) => (l.kind === 'transformer' ? l.depth : 0)), [2, 2, 10, 10, 10]);
      assert.ok(b.bytes.byteLength > 50_000);
    } finally {
      f.close();
    }
    rmSync(path);
  }
});

test('runs, is deterministic, and serves several sizes from one session', async () => {
  const x = rand([1, 4, 8, 8], 1);
  const ctx = rand([1, 7, 16], 2);
  const a = await sd1.run({ x, timesteps: Float32Array.of(500), context: ctx });
  assert.deepEqual(a.shape, [1, 4, 8, 8]);
  assert.ok(a.data.every(Number.isFinite));
  assert.ok(a.data.some((v) => Math.abs(v) > 1e-3), 'output is not all zero');
  const b = await sd1.run({ x, timesteps: Float32Array.of(500), context: ctx });
  assert.deepEqual(b.data, a.data);
  const c = await sd1.run({ x, timesteps: Float32Array.of(10), context: ctx });
  assert.ok(maxDiff(a.data, c.data) > 1e-4, 'the timestep changes the output');
  // Odd sizes: 5 → 3 after the stride-2 conv; the upsample must come back to 5, not 6.
  const odd = await sd1.run({ x: rand([1, 4, 5, 7], 3), timesteps: Float32Array.of(1), context: rand([1, 3, 16], 4) });
  assert.deepEqual(odd.shape, [1, 4, 5, 7]);
});

test('a static-shape build computes the same as the symbolic one', async () => {
  const shape = { batch: 1, height: 6, width: 10, tokens: 4 };
  const st = await loadUNet(join(dir, 'sd1.safetensors'), { shape, session: { threads: 1 } });
  try {
    assert.deepEqual(st.graph.inputs.find((i) => i.name === 'x')!.dims, [1, 4, 6, 10]);
    const x = rand([1, 4, 6, 10], 30);
    const ctx = rand([1, 4, 16], 31);
    const a = await st.run({ x, timesteps: Float32Array.of(250), context: ctx });
    const b = await sd1.run({ x, timesteps: Float32Array.of(250), context: ctx });
    assert.ok(maxDiff(a.data, b.data) < 1e-6);
    await assert.rejects(st.run({ x: rand([1, 4, 8, 8], 32), timesteps: Float32Array.of(1), context: ctx }));
  } finally {
    await st.release();
  }
});

test('layer patch: identity keeps the output, sees every Linear/Conv, and can change a layer', async () => {
  const seen: string[] = [];
  const ident = await loadUNet(join(dir, 'sd1.safetensors'), { patch: (p) => (seen.push(`${p.kind}:${p.key}`), p.output), session: { threads: 1 } });
  const key = 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_v';
  const doubled = await loadUNet(join(dir, 'sd1.safetensors'), {
    patch: (p) => (p.key === key ? p.g.op('Mul', [p.output, p.g.scalar(2)]) : p.output), session: { threads: 1 },
  });
  try {
    assert.ok(seen.includes('linear:model.diffusion_model.input_blocks.1.1.transformer_blocks.0.ff.net.0.proj'));
    assert.ok(seen.includes('conv:model.diffusion_model.input_blocks.2.0.op'));
    assert.ok(seen.includes('linear:model.diffusion_model.time_embed.0'));
    assert.equal(seen.filter((k) => k.startsWith('linear:') && k.endsWith('.to_q')).length, 8); // 4 transformers (in 1, middle, out 2 and 3) × 2 attentions
    const x = rand([1, 4, 8, 8], 40);
    const ctx = rand([1, 4, 16], 41);
    const t = Float32Array.of(123);
    const plain = await sd1.run({ x, timesteps: t, context: ctx });
    assert.ok(maxDiff((await ident.run({ x, timesteps: t, context: ctx })).data, plain.data) < 1e-5);
    assert.ok(maxDiff((await doubled.run({ x, timesteps: t, context: ctx })).data, plain.data) > 1e-4);
  } finally {
    await ident.release();
    await doubled.release();
  }
});

test('batch rows are independent: [a, b] equals a and b run alone', async () => {
  const x = rand([2, 4, 6, 6], 5);
  const ctx = rand([2, 5, 16], 6);
  const t = Float32Array.of(900, 3);
  const both = await sd1.run({ x, timesteps: t, context: ctx });
  for (let b = 0; b < 2; b++) {
    const one = await sd1.run({ x: slice(x, b), timesteps: t.subarray(b, b + 1), context: slice(ctx, b) });
    assert.ok(maxDiff(one.data, slice(both, b).data) < 1e-5, `row ${b}`);
  }
});

test('control residuals: zeros change nothing, each nonzero one changes the output', async () => {
  const x = rand([1, 4, 8, 8], 7);
  const ctx = rand([1, 4, 16], 8);
  const t = Float32Array.of(300);
  const plain = await sd1.run({ x, timesteps: t, context: ctx });
  const g = sd1ctl.graph;
  assert.deepEqual(g.controlInputs, ['control_0', 'control_1', 'control_2', 'control_3', 'control_middle']);
  const sizes = [[32, 8], [32, 8], [32, 4], [64, 4], [64, 4]] as const;
  const zeros = sizes.map(([c, s]) => ({ shape: [1, c, s, s], data: new Float32Array(c * s * s) }));
  const z = await sd1ctl.run({ x, timesteps: t, context: ctx, control: zeros });
  assert.ok(maxDiff(z.data, plain.data) < 1e-6);
  for (let i = 0; i < sizes.length; i++) {
    const ctl = zeros.map((r, j) => (j === i ? rand(r.shape, 20 + i) : r));
    const out = await sd1ctl.run({ x, timesteps: t, context: ctx, control: ctl });
    assert.ok(maxDiff(out.data, plain.data) > 1e-4, `residual ${g.controlInputs[i]} has an effect`);
  }
  await assert.rejects(sd1ctl.run({ x, timesteps: t, context: ctx }), /needs 5 control residuals/);
  await assert.rejects(sd1.run({ x, timesteps: t, context: ctx, control: zeros }), /without withControl/);
});

test('SDXL layout: linear proj, depth 2, ADM y; fp16 weights match fp32 ones', async () => {
  writeSyntheticUNet(join(dir, 'xl32.safetensors'), XL, { metadata: { weft_config: JSON.stringify({ unet: { num_head_channels: 16 } }) } });
  writeSyntheticUNet(join(dir, 'xl16.safetensors'), XL, { dtype: 'F16' });
  const u32 = await loadUNet(join(dir, 'xl32.safetensors'), { session: { threads: 1 } });
  const u16 = await loadUNet(join(dir, 'xl16.safetensors'), { headChannels: 16, session: { threads: 1 } });
  try {
    assert.equal(u32.config.admInChannels, 20);
    const x = rand([1, 4, 4, 6], 9);
    const ctx = rand([1, 3, 24], 10);
    const t = Float32Array.of(700);
    await assert.rejects(u32.run({ x, timesteps: t, context: ctx }), /needs y \[1, 20\]/);
    const a = await u32.run({ x, timesteps: t, context: ctx, y: rand([1, 20], 11) });
    const b = await u32.run({ x, timesteps: t, context: ctx, y: rand([1, 20], 12) });
    assert.ok(maxDiff(a.data, b.data) > 1e-4, 'y changes the output');
    const h = await u16.run({ x, timesteps: t, context: ctx, y: rand([1, 20], 11) });
    const scale = Math.max(...a.data.map(Math.abs));
    const d = maxDiff(a.data, h.data);
    assert.ok(d < 2e-2 * scale && d > 0, `fp16 weights track fp32 (diff ${d}, scale ${scale})`);
  } finally {
    await u32.release();
    await u16.release();
  }
});

test('timestep frequencies are float32 torch values (SLEEF exp), not correctly rounded exp', () => {
  // exp(-ln(1e4)·7/16) = 0.017782795225…: the nearest float is …4311…, torch's vectorised exp gives …6174….
  assert.equal(timestepFrequencies(16)[7], Math.fround(0.017782796174287796));
  assert.equal(timestepFrequencies(16)[0], 1);
  assert.equal(timestepFrequencies(160).length, 160);
});

test('GroupNorm stays exact for groups with a large mean and a tiny spread (no E[x²]−E[x]² cancellation)', async () => {
  const path = join(dir, 'gn.safetensors');
  writeSafetensors(path, { 'n.weight': { dtype: 'F32', shape: [64], data: new Float32Array(64).fill(1) }, 'n.bias': { dtype: 'F32', shape: [64], data: new Float32Array(64) } });
  const file = SF.open(path);
  const g = new GraphBuilder({ name: 'gn' });
  g.output(groupNorm({ g, file, prefix: '' }, g.input('x', 'float32', [1, 64, 2, 2]), 'n', 1e-6), 'y');
  const { bytes, weightsDir } = g.build();
  file.close();
  const s = await createSession(bytes, weightsDir, { threads: 1 });
  // Each group: 2 channels × 2×2 = 8 values around 3000 with a spread of ~0.01 (float32 leaves ~5% error;
  // GroupNormalization-21 gives NaN here).
  const x = Float32Array.from({ length: 256 }, (_, i) => 3000 + ((i * 37) % 11) * 0.002);
  const y = (await runFloat(s, { x: { data: x, dims: [1, 64, 2, 2] } })).y!.data;
  await s.release();
  for (let gi = 0; gi < 32; gi++) {
    const v = Array.from(x.subarray(gi * 8, gi * 8 + 8), Number);
    const mean = v.reduce((a, b) => a + b, 0) / 8;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / 8 + 1e-6);
    v.forEach((xi, j) => assert.ok(Math.abs(y[gi * 8 + j]! - (xi - mean) / sd) < 0.15, `group ${gi}: ${y[gi * 8 + j]} vs ${(xi - mean) / sd}`));
  }
});

test('denoise: eps and v parameterisations', () => {
  const x = Float32Array.of(1, 2, 3, 4);
  const out = Float32Array.of(0.5, 0.5, -1, 1);
  const eps = denoiseBatch(new DiscreteModelSampling(), x, out, [2, 0.5]);
  assert.deepEqual(Array.from(eps), [0, 1, 3.5, 3.5]);
  const v = denoiseBatch(new DiscreteModelSampling({ prediction: 'v_prediction' }), x, out, [1, 1]);
  const r = Math.SQRT1_2;
  [1 / 2 - 0.5 * r, 1 - 0.5 * r, 1.5 + r, 2 - r].forEach((e, i) => assert.ok(Math.abs(v[i]! - e) < 1e-6));
});

const CONF = resolve('..', 'shared', 'conformance');
test('conformance vectors: SD1 raw eps and apply_model denoised', { skip: !existsSync(join(CONF, 'cases.json')) && 'no ../shared/conformance' }, async () => {
  const u = await loadUNet(join(CONF, 'models', 'tiny_sd15.safetensors'));
  try {
    const T = (m: Map<string, { shape: number[]; data: unknown }>, k: string): Tensor => ({ shape: m.get(k)!.shape, data: m.get(k)!.data as Float32Array });
    const v = readCaseTensors(join(CONF, 'vectors', 'unet_eps_b2_mixed_t.safetensors'));
    const out = await u.run({ x: T(v, 'input.x'), timesteps: T(v, 'input.timesteps').data, context: T(v, 'input.context') });
    assert.ok(compareTensor(out.data, T(v, 'expected.eps').data, { abs: 1e-5, rel_to_max: 1e-4 }).ok);
    const d = readCaseTensors(join(CONF, 'vectors', 'unet_denoised_sigma3.5.safetensors'));
    const r = await applyModel(new DiscreteModelSampling(), u, T(d, 'input.x'), T(d, 'input.sigma').data, T(d, 'input.context'));
    assert.deepEqual(Array.from(r.timesteps), Array.from(T(d, 'aux.timestep_used').data));
    assert.ok(compareTensor(r.denoised, T(d, 'expected.denoised').data, { abs: 1e-5, rel_to_max: 1e-4 }).ok);
  } finally {
    await u.release();
  }
});
