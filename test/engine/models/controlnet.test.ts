import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadUNet, type UNetSession } from '../../../engine/models/unet/load.ts';
import { writeSyntheticUNet, type SyntheticUNetSpec } from '../../../engine/models/unet/synthetic.ts';
import { scaleInput, denoiseBatch } from '../../../engine/models/unet/apply.ts';
import { loadControlNet, mergeControl, prepareHint, type ControlNetSession } from '../../../engine/models/controlnet/load.ts';
import { writeSyntheticControlNet } from '../../../engine/models/controlnet/synthetic.ts';
import { DiscreteModelSampling } from '../../../engine/sampling/model-sampling.ts';
import { readCaseTensors, compareTensor } from '../../../engine/conformance/runner.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

const SPEC: SyntheticUNetSpec = { modelChannels: 32, channelMult: [1, 2], numResBlocks: 1, transformerDepth: [1, 0], contextDim: 16 };
let dir: string;
let unet: UNetSession;
let cn: ControlNetSession;

function rand(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = lo + (s / 4294967296) * (hi - lo);
  }
  return { shape, data };
}

const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-cn-'));
  writeSyntheticUNet(join(dir, 'unet.safetensors'), SPEC);
  writeSyntheticControlNet(join(dir, 'cn.safetensors'), SPEC);
  unet = await loadUNet(join(dir, 'unet.safetensors'), { withControl: true, numHeads: 4, session: { threads: 1 } });
  cn = await loadControlNet(join(dir, 'cn.safetensors'), { numHeads: 4, session: { threads: 1 } });
});

after(async () => {
  await unet?.release();
  await cn?.release();
  rmSync(dir, { recursive: true, force: true });
});

test('residuals come out in the UNet control order with matching shapes', async () => {
  assert.deepEqual(cn.graph.outputs, unet.graph.controlInputs);
  const x = rand([2, 4, 6, 4], 1);
  const res = await cn.run({ x, hint: rand([2, 3, 48, 32], 2, 0, 1), timesteps: Float32Array.of(400, 10), context: rand([2, 5, 16], 3) });
  assert.deepEqual(res.map((r) => r.shape), [[2, 32, 6, 4], [2, 32, 6, 4], [2, 32, 3, 2], [2, 64, 3, 2], [2, 64, 3, 2]]);
  for (const r of res) assert.ok(r.data.every(Number.isFinite) && maxAbs(r.data) > 1e-3);
});

test('the hint steers the residuals; strength 0 gives the plain UNet', async () => {
  const x = rand([1, 4, 4, 4], 4);
  const ctx = rand([1, 3, 16], 5);
  const t = Float32Array.of(600);
  const a = await cn.run({ x, hint: rand([1, 3, 32, 32], 6, 0, 1), timesteps: t, context: ctx });
  const b = await cn.run({ x, hint: rand([1, 3, 32, 32], 7, 0, 1), timesteps: t, context: ctx });
  assert.ok(maxDiff(a[0]!.data, b[0]!.data) > 1e-3, 'a different hint changes control_0');
  const zero = await unet.run({ x, timesteps: t, context: ctx, control: mergeControl(a, 0) });
  const ctl = await unet.run({ x, timesteps: t, context: ctx, control: mergeControl(a, 0.8) });
  const plainZeros = a.map((r) => ({ shape: r.shape, data: new Float32Array(r.data.length) }));
  const plain = await unet.run({ x, timesteps: t, context: ctx, control: plainZeros });
  assert.ok(maxDiff(zero.data, plain.data) < 1e-6);
  assert.ok(maxDiff(ctl.data, plain.data) > 1e-3);
  await assert.rejects(cn.run({ x, hint: rand([1, 3, 16, 16], 8), timesteps: t, context: ctx }), /hint must be \[1, 3, 32, 32\]/);
});

test('mergeControl scales and sums', () => {
  const r = [{ shape: [1, 2], data: Float32Array.of(1, -2) }];
  const p = [{ shape: [1, 2], data: Float32Array.of(0.5, 0.5) }];
  assert.deepEqual(Array.from(mergeControl(r, 0.5, p)[0]!.data), [1, -0.5]);
  assert.throws(() => mergeControl(r, 1, []), /cannot merge 1 control residuals with 0/);
});

test('prepareHint: NHWC → NCHW, nearest-exact resize with centre crop, batch repeat', () => {
  // 1×2×2×3 image, pixel value = 10·y + x + channel/10.
  const img: Tensor = { shape: [1, 2, 2, 3], data: Float32Array.from({ length: 12 }, (_, i) => { const c = i % 3, px = Math.floor(i / 3); return 10 * Math.floor(px / 2) + (px % 2) + c / 10; }) };
  const h = prepareHint(img, 2, 0.5, 0.5); // target 4×4: every source pixel becomes a 2×2 block
  assert.deepEqual(h.shape, [2, 3, 4, 4]);
  const at = (b: number, c: number, y: number, x: number): number => h.data[((b * 3 + c) * 4 + y) * 4 + x]!;
  assert.ok(Math.abs(at(0, 2, 3, 0) - 10.2) < 1e-6 && Math.abs(at(1, 1, 0, 3) - 1.1) < 1e-6);
  // 2×4 image into a square target: the centre 2×2 columns are kept.
  const wide: Tensor = { shape: [1, 2, 4, 1], data: Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7) };
  const sq = prepareHint(wide, 1, 0.25, 0.25); // 2×2
  assert.deepEqual(Array.from(sq.data), [1, 2, 5, 6]);
  // Rows per CFG group: 2 images into [cond, cond, uncond, uncond]; 3 images truncated to a batch of 2.
  const rows = (n: number): Tensor => ({ shape: [n, 8, 8, 1], data: Float32Array.from({ length: n * 64 }, (_, i) => Math.floor(i / 64)) });
  const firstOf = (t: Tensor): number[] => Array.from({ length: t.shape[0]! }, (_, b) => t.data[b * 64]!);
  assert.deepEqual(firstOf(prepareHint(rows(2), 4, 1, 1, 2)), [0, 1, 0, 1]);
  assert.deepEqual(firstOf(prepareHint(rows(3), 2, 1, 1)), [0, 1]);
  assert.deepEqual(firstOf(prepareHint(rows(2), 3, 1, 1)), [0, 1, 0]);
});

const CONF = resolve('..', 'shared', 'conformance');
test('conformance: controlnet_eps denoised (strength 0.7 at sigma 5)', { skip: !existsSync(join(CONF, 'cases.json')) && 'no ../shared/conformance' }, async () => {
  const v = readCaseTensors(join(CONF, 'vectors', 'controlnet_eps.safetensors'));
  const T = (k: string): Tensor => ({ shape: v.get(k)!.shape, data: v.get(k)!.data as Float32Array });
  const u = await loadUNet(join(CONF, 'models', 'tiny_sd15.safetensors'), { withControl: true });
  const c = await loadControlNet(join(CONF, 'models', 'tiny_sd15_controlnet.safetensors'));
  try {
    const ms = new DiscreteModelSampling();
    const x = T('input.x');
    const sig = T('input.sigma').data;
    const xin = { shape: x.shape, data: scaleInput(ms, x.data, sig) };
    const t = Float32Array.of(ms.timestep(sig[0]!));
    assert.equal(t[0], T('input.timesteps').data[0]);
    const res = await c.run({ x: xin, hint: prepareHint(T('input.hint_image_nhwc'), 1, 8, 8), timesteps: t, context: T('input.context') });
    const out = await u.run({ x: xin, timesteps: t, context: T('input.context'), control: mergeControl(res, 0.7) });
    const cmp = compareTensor(denoiseBatch(ms, x.data, out.data, sig), T('expected.denoised').data, { abs: 1e-5, rel_to_max: 1e-4 });
    assert.ok(cmp.ok, `err ${cmp.err} tol ${cmp.tol}`);
  } finally {
    await u.release();
    await c.release();
  }
});
