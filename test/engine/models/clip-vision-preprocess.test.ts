import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aaBicubicTaps, CLIP_MEAN, CLIP_STD, clipPreprocess, clipResizePlan, resizeBicubicAA, roundHalfEven } from '../../../engine/models/clip-vision/index.ts';
import { tensor } from '../../../engine/tensor/tensor.ts';

const f = Math.fround;
const norm = (q: number, c: number) => f(f(f(q / 255) - f(CLIP_MEAN[c]!)) / f(CLIP_STD[c]!));

test('resize plan: short side to size with Python rounding, centre crop offsets; crop none goes straight to size×size', () => {
  assert.deepEqual(clipResizePlan(300, 400, 224, 'center'), { rh: 224, rw: 299, top: 0, left: 37 });
  assert.deepEqual(clipResizePlan(96, 128, 224, 'center'), { rh: 224, rw: 299, top: 0, left: 37 });
  assert.deepEqual(clipResizePlan(500, 200, 224, 'center'), { rh: 560, rw: 224, top: 168, left: 0 });
  assert.deepEqual(clipResizePlan(300, 400, 224, 'none'), { rh: 224, rw: 224, top: 0, left: 0 });
  assert.deepEqual(clipResizePlan(224, 224, 224, 'center'), { rh: 224, rw: 224, top: 0, left: 0 });
});

test('AA bicubic taps: 8 → 4 downscale widens the support and renormalises PIL cubic (a = −0.5) weights at the border', () => {
  const t = aaBicubicTaps(8, 4);
  // output 0: centre 1, support 4 → taps 0..4 at distances (j + 0.5 − 1)/2 = −0.25, 0.25, 0.75, 1.25, 1.75
  assert.equal(t.start[0], 0);
  assert.equal(t.count[0], 5);
  const raw = [0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375];
  const sum = raw.reduce((a, b) => a + b, 0);
  raw.forEach((w, j) => assert.ok(Math.abs(t.weights[0]![j]! - w / sum) < 1e-6, `tap ${j}`));
  for (const w of t.weights) assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  // an upscale keeps the plain 4-tap support
  const up = aaBicubicTaps(4, 9);
  assert.ok(up.count.every((n) => n <= 4));
});

test('AA resize: a constant image stays constant; a linear ramp keeps its mean', () => {
  const c = resizeBicubicAA(tensor([1, 1, 10, 14], new Float32Array(140).fill(0.3)), 5, 7);
  assert.deepEqual(c.shape, [1, 1, 5, 7]);
  for (const v of c.data) assert.ok(Math.abs(v - 0.3) < 1e-6);
  const ramp = resizeBicubicAA(tensor([1, 1, 1, 12], Float32Array.from({ length: 12 }, (_, i) => i)), 1, 6);
  assert.ok(Math.abs(ramp.data.reduce((a, b) => a + b, 0) / 6 - 5.5) < 0.05);
});

test('8-bit rounding: halves go to even, values clip to [0, 255], then mean/std per channel', () => {
  assert.equal(roundHalfEven(127.5), 128);
  assert.equal(roundHalfEven(128.5), 128);
  assert.equal(roundHalfEven(2.4999), 2);
  const img = new Float32Array(224 * 224 * 3);
  for (let i = 0; i < 224 * 224; i++) { img[i * 3] = 0.5; img[i * 3 + 1] = 1.2; img[i * 3 + 2] = -0.1; }
  const out = clipPreprocess(tensor([1, 224, 224, 3], img));
  assert.deepEqual(out.shape, [1, 3, 224, 224]);
  assert.equal(out.data[0], norm(128, 0)); // 255·0.5 = 127.5 → 128
  assert.equal(out.data[224 * 224], norm(255, 1)); // clipped high
  assert.equal(out.data[2 * 224 * 224], norm(0, 2)); // clipped low
});

test('centre crop: a 224×448 ramp keeps columns 112…335 (no resampling when the short side is already 224)', () => {
  const H = 224, Wd = 448;
  const img = new Float32Array(H * Wd * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < Wd; x++) for (let c = 0; c < 3; c++) img[(y * Wd + x) * 3 + c] = x / 447;
  const out = clipPreprocess(tensor([1, H, Wd, 3], img));
  const q = (x: number) => roundHalfEven(Math.min(Math.max(f(255 * f(x / 447)), 0), 255));
  assert.equal(out.data[0], norm(q(112), 0));
  assert.equal(out.data[223], norm(q(335), 0));
  assert.equal(out.data[5 * 224 + 10], norm(q(122), 0));
  // crop 'none' squeezes the whole width in: the first column is the image's first column
  const none = clipPreprocess(tensor([1, H, Wd, 3], img), { crop: 'none' });
  assert.ok(none.data[0]! < out.data[0]!);
});

test('preprocess refuses images without 3 channels', () => {
  assert.throws(() => clipPreprocess(tensor([1, 8, 8, 1])), /IMAGE \[batch, height, width, 3\]/);
});
