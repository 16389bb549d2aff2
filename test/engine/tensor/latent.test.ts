import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import type { Latent } from '../../../engine/graph/sockets.ts';
import { concatBatch, pySlice, repeatBatch, repeatToBatchSize, sliceBatch } from '../../../engine/tensor/batch.ts';
import {
  blendLatents,
  compositeLatent,
  cropLatent,
  emptyLatent,
  flipNCHW,
  latentFromBatch,
  latentScaleBySize,
  latentUpscaleSize,
  repeatLatent,
  rot90NCHW,
} from '../../../engine/tensor/latent.ts';
import { tensor } from '../../../engine/tensor/tensor.ts';

const ramp = (shape: number[]) => tensor(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i));

test('pySlice follows Python: clamps past the end, wraps negatives, never reverses', () => {
  assert.deepEqual(pySlice(2, 10, 5), [2, 5]);
  assert.deepEqual(pySlice(-2, 5, 5), [3, 5]);
  assert.deepEqual(pySlice(-9, -1, 5), [0, 4]);
  assert.deepEqual(pySlice(4, 2, 5), [4, 4]);
});

test('batch helpers: slice, repeat, repeat_to_batch_size, concat', () => {
  const t = ramp([3, 2]);
  assert.deepEqual([...sliceBatch(t, 1, 2).data], [2, 3, 4, 5]);
  assert.deepEqual([...repeatBatch(ramp([2, 1]), 3).data], [0, 1, 0, 1, 0, 1]);
  assert.deepEqual([...repeatToBatchSize(ramp([2, 1]), 5).data], [0, 1, 0, 1, 0]);
  assert.deepEqual([...repeatToBatchSize(t, 2).data], [0, 1, 2, 3]);
  assert.deepEqual(concatBatch(t, ramp([1, 2]), 'b').shape, [4, 2]);
  assert.throws(() => concatBatch(t, ramp([1, 3]), 'image2'), (e: WeftError) => e.input === 'image2');
});

test('EmptyLatentImage-style zeros are [B, C, H/8, W/8]', () => {
  const l = emptyLatent(520, 64, 2, 4);
  assert.deepEqual(l.samples.shape, [2, 4, 8, 65]);
  assert.ok(l.samples.data.every((v) => v === 0));
  assert.deepEqual(emptyLatent(1024, 1024, 1, 16).samples.shape, [1, 16, 128, 128]);
});

test('LatentUpscale target sizes: ÷8, at least 64 px, aspect kept with Python rounding', () => {
  assert.equal(latentUpscaleSize(64, 64, 0, 0), null);
  assert.deepEqual(latentUpscaleSize(64, 64, 1024, 1024), { w: 128, h: 128 });
  // 96×64 latent (768×512 px), height 300 → width round(96*300/64) = 450 → 56 latent px.
  assert.deepEqual(latentUpscaleSize(64, 96, 0, 300), { w: 56, h: 37 });
  // width 20 is raised to 64 before the aspect ratio is applied: 64*64/96 = 42.67 → 43 → 64 minimum.
  assert.deepEqual(latentUpscaleSize(64, 96, 20, 0), { w: 8, h: 8 });
  // round(5*1.5)=round(7.5)=8, round(7*1.5)=round(10.5)=10 (half to even).
  assert.deepEqual(latentScaleBySize(5, 7, 1.5), { w: 10, h: 8 });
  assert.throws(() => latentScaleBySize(1, 1, 0.01), (e: WeftError) => e.input === 'scale_by');
});

test('flip and rot90 (clockwise) on a 2×3 plane, against hand-written results', () => {
  const t = tensor([1, 1, 2, 3], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...flipNCHW(t, 'h').data], [4, 5, 6, 1, 2, 3]);
  assert.deepEqual([...flipNCHW(t, 'w').data], [3, 2, 1, 6, 5, 4]);
  const r1 = rot90NCHW(t, 1);
  assert.deepEqual(r1.shape, [1, 1, 3, 2]);
  assert.deepEqual([...r1.data], [4, 1, 5, 2, 6, 3]);
  assert.deepEqual([...rot90NCHW(t, 2).data], [6, 5, 4, 3, 2, 1]);
  assert.deepEqual([...rot90NCHW(t, 3).data], [3, 6, 2, 5, 1, 4]);
  assert.deepEqual([...rot90NCHW(rot90NCHW(t, 1), 3).data], [...t.data]);
  // Channels and batch items rotate independently.
  const multi = ramp([2, 3, 2, 3]);
  const r = rot90NCHW(multi, 1);
  for (let p = 0; p < 6; p++) assert.deepEqual([...r.data.subarray(p * 6, p * 6 + 6)], [3, 0, 4, 1, 5, 2].map((v) => v + p * 6));
});

test('LatentCrop keeps at least 8 latent pixels before the right/bottom edge', () => {
  const t = ramp([1, 1, 16, 16]);
  // x=120 → 15, pushed back to 16−8 = 8; width 64 → 8 columns: 8..15.
  const c = cropLatent(t, 64, 16, 120, 8);
  assert.deepEqual(c.shape, [1, 1, 2, 8]);
  assert.deepEqual([...c.data.subarray(0, 8)], [24, 25, 26, 27, 28, 29, 30, 31]);
  const big = cropLatent(t, 512, 512, 0, 0);
  assert.deepEqual(big.shape, [1, 1, 16, 16]);
});

test('LatentComposite: a plain paste, clipped at the edges, and the feathered fade', () => {
  const to = tensor([1, 1, 6, 6]);
  const from = tensor([1, 1, 4, 4], new Float32Array(16).fill(1));
  const plain = compositeLatent(to, from, 32, 24, 0);
  for (let r = 0; r < 6; r++) for (let c = 0; c < 6; c++) assert.equal(plain.data[r * 6 + c], r >= 3 && c >= 4 ? 1 : 0);
  // Inside on every side (x=y=8 → 1, block ends at 5 < 6): feather 16 → 2 latent px: edges ×0.5.
  const big = tensor([1, 1, 8, 8]);
  const f = compositeLatent(big, from, 16, 16, 16);
  const edge = [0.5, 1, 1, 0.5];
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.equal(f.data[(r + 2) * 8 + c + 2], edge[r] * edge[c]);
  // At the origin the top and left edges touch the border and are not feathered.
  const o = compositeLatent(big, from, 0, 0, 16);
  const inner = [1, 1, 1, 0.5];
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.equal(o.data[r * 8 + c], inner[r] * inner[c]);
  // Feathered blend keeps the destination where the mask is below 1.
  const base = tensor([1, 1, 8, 8], new Float32Array(64).fill(2));
  assert.equal(compositeLatent(base, from, 16, 16, 16).data[2 * 8 + 2], 1 * 0.25 + 2 * 0.75);
  assert.throws(() => compositeLatent(big, tensor([1, 2, 4, 4]), 0, 0, 0), (e: WeftError) => e.input === 'samples_from');
});

test('LatentBlend: s1·f + s2·(1−f); a different-sized s2 is resized first', () => {
  const a = tensor([1, 1, 2, 2], [1, 2, 3, 4]);
  const b = tensor([1, 1, 2, 2], [5, 6, 7, 8]);
  assert.deepEqual([...blendLatents(a, b, 0.25).data], [4, 5, 6, 7]);
  const c = tensor([1, 1, 4, 4], new Float32Array(16).fill(3));
  const out = blendLatents(a, c, 0.5);
  assert.deepEqual(out.shape, [1, 1, 2, 2]);
  assert.deepEqual([...out.data], [2, 2.5, 3, 3.5]);
  assert.throws(() => blendLatents(a, tensor([2, 2, 2, 2]), 0.5), (e: WeftError) => e.input === 'samples2');
});

function latent(b: number, extra: Partial<Latent> = {}): Latent {
  return { samples: ramp([b, 1, 1, 2]), ...extra };
}

test('LatentFromBatch slices samples, records batch_index, clamps, slices the noise mask', () => {
  const a = latentFromBatch(latent(4), 1, 2);
  assert.deepEqual([...a.samples.data], [2, 3, 4, 5]);
  assert.deepEqual(a.batch_index, [1, 2]);
  const b = latentFromBatch(latent(4, { batch_index: [10, 11, 12, 13] }), 2, 2);
  assert.deepEqual(b.batch_index, [12, 13]);
  const c = latentFromBatch(latent(4), 10, 5);
  assert.deepEqual(c.samples.shape[0], 1);
  assert.deepEqual(c.batch_index, [3]);
  // Two masks for four items tile to m0 m1 m0 m1; items 1..2 get m1 m0.
  const masks = tensor([2, 1, 1, 1], [0.1, 0.9]);
  const d = latentFromBatch(latent(4, { noise_mask: masks }), 1, 2);
  assert.deepEqual([...d.noise_mask!.data].map((v) => Math.round(v * 10) / 10), [0.9, 0.1]);
  const one = tensor([1, 1, 1, 1], [0.5]);
  assert.equal(latentFromBatch(latent(4, { noise_mask: one }), 2, 1).noise_mask, one);
});

test('RepeatLatentBatch tiles samples, multi-item masks and continues batch_index', () => {
  const r = repeatLatent(latent(2, { batch_index: [3, 4] }), 3);
  assert.deepEqual(r.samples.shape, [6, 1, 1, 2]);
  assert.deepEqual([...r.samples.data], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  assert.deepEqual(r.batch_index, [3, 4, 5, 6, 7, 8]);
  const single = tensor([1, 1, 1, 1], [1]);
  assert.equal(repeatLatent(latent(2, { noise_mask: single }), 2).noise_mask, single);
  assert.deepEqual(repeatLatent(latent(2, { noise_mask: tensor([2, 1, 1, 1], [0, 1]) }), 2).noise_mask!.shape, [4, 1, 1, 1]);
  assert.equal(repeatLatent(latent(2), 2).batch_index, undefined);
});
