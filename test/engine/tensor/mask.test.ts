import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import {
  asMask3,
  colorMask,
  compositeMasks,
  cropMask,
  featherMask,
  growMask,
  imageChannel,
  invertMask,
  maskToImage,
  noiseMaskFromMask,
  solidMask,
  thresholdMask,
} from '../../../engine/tensor/mask.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `[${i}] ${got[i]} vs ${want[i]}`);
};

/** A single 1 at (r, c) in an h×w mask. */
function dot(h: number, w: number, r: number, c: number): Tensor {
  const t = tensor([1, h, w]);
  t.data[r * w + c] = 1;
  return t;
}

test('GrowMask by 1 turns one pixel into a cross (tapered) or a 3×3 square', () => {
  const cross = growMask(dot(5, 5, 2, 2), 1, true);
  const square = growMask(dot(5, 5, 2, 2), 1, false);
  for (let r = 0; r < 5; r++) {
    for (let c = 0; c < 5; c++) {
      const dr = Math.abs(r - 2);
      const dc = Math.abs(c - 2);
      assert.equal(cross.data[r * 5 + c], dr + dc <= 1 ? 1 : 0, `cross (${r},${c})`);
      assert.equal(square.data[r * 5 + c], Math.max(dr, dc) <= 1 ? 1 : 0, `square (${r},${c})`);
    }
  }
});

test('GrowMask by k reaches L1 distance k (tapered) or Chebyshev distance k; the border clips', () => {
  const h = 7;
  const w = 9;
  for (const k of [2, 3]) {
    const d = growMask(dot(h, w, 1, 7), k, true);
    const s = growMask(dot(h, w, 1, 7), k, false);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        assert.equal(d.data[r * w + c], Math.abs(r - 1) + Math.abs(c - 7) <= k ? 1 : 0);
        assert.equal(s.data[r * w + c], Math.max(Math.abs(r - 1), Math.abs(c - 7)) <= k ? 1 : 0);
      }
    }
  }
});

test('GrowMask on grey values is a max / min over in-bounds 3×3 neighbours (reference loop)', () => {
  const h = 6;
  const w = 5;
  const m = tensor([2, h, w], Array.from({ length: 2 * h * w }, (_, i) => ((i * 37) % 17) / 16));
  for (const tapered of [true, false]) {
    for (const expand of [1, -1]) {
      const want = new Float32Array(m.data.length);
      for (let b = 0; b < 2; b++) {
        for (let r = 0; r < h; r++) {
          for (let c = 0; c < w; c++) {
            const vals: number[] = [];
            for (const [dr, dc] of [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]]) {
              if (tapered && dr !== 0 && dc !== 0) continue;
              const rr = r + dr;
              const cc = c + dc;
              if (rr >= 0 && rr < h && cc >= 0 && cc < w) vals.push(m.data[(b * h + rr) * w + cc]);
            }
            want[(b * h + r) * w + c] = expand > 0 ? Math.max(...vals) : Math.min(...vals);
          }
        }
      }
      assert.deepEqual([...growMask(m, expand, tapered).data], [...want]);
    }
  }
});

test('GrowMask with a negative expand erodes a 5×5 block to 3×3; 0 copies', () => {
  const m = tensor([1, 7, 7]);
  for (let r = 1; r <= 5; r++) for (let c = 1; c <= 5; c++) m.data[r * 7 + c] = 1;
  const e = growMask(m, -1, false);
  for (let r = 0; r < 7; r++) for (let c = 0; c < 7; c++) assert.equal(e.data[r * 7 + c], r >= 2 && r <= 4 && c >= 2 && c <= 4 ? 1 : 0);
  assert.deepEqual([...growMask(m, 0, true).data], [...m.data]);
});

test('FeatherMask ramps: left/top linear, right/bottom with ComfyUI\'s −0 index quirk', () => {
  const ones = tensor([1, 1, 6], new Float32Array(6).fill(1));
  close(featherMask(ones, 3, 0, 0, 0).data, [1 / 3, 2 / 3, 1, 1, 1, 1]);
  // range(3) on the right: x=0 hits column 0 (−0), x=1 the last column, x=2 the one before.
  close(featherMask(ones, 0, 0, 3, 0).data, [1 / 3, 1, 1, 1, 1, 2 / 3]);
  const col = tensor([1, 4, 1], new Float32Array(4).fill(1));
  close(featherMask(col, 0, 2, 0, 0).data, [0.5, 1, 1, 1]);
  close(featherMask(col, 0, 0, 0, 4).data, [0.25, 1, 3 / 4, 2 / 4]);
  // Widths past the mask are clamped to it.
  close(featherMask(ones, 100, 0, 0, 0).data, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1]);
});

test('MaskComposite: each operation on the overlap only, clamped, with offsets', () => {
  const dst = tensor([1, 2, 3], [0.2, 0.5, 0.9, 0.6, 0.5, 1]);
  const src = tensor([1, 2, 2], [0.5, 0.7, 0.5, 1]);
  // Placed at x=1: overlaps columns 1..2 of both rows.
  close(compositeMasks(dst, src, 1, 0, 'multiply').data, [0.2, 0.25, 0.63, 0.6, 0.25, 1]);
  close(compositeMasks(dst, src, 1, 0, 'add').data, [0.2, 1, 1, 0.6, 1, 1]);
  close(compositeMasks(dst, src, 1, 0, 'subtract').data, [0.2, 0, 0.2, 0.6, 0, 0]);
  // Logical ops round first, and 0.5 rounds to 0 (half to even).
  close(compositeMasks(dst, src, 1, 0, 'and').data, [0.2, 0, 1, 0.6, 0, 1]);
  close(compositeMasks(dst, src, 1, 0, 'or').data, [0.2, 0, 1, 0.6, 0, 1]);
  close(compositeMasks(dst, src, 1, 0, 'xor').data, [0.2, 0, 0, 0.6, 0, 0]);
  // Off to the bottom right: only (1,2) overlaps.
  close(compositeMasks(dst, src, 2, 1, 'multiply').data, [0.2, 0.5, 0.9, 0.6, 0.5, 0.5]);
  // Completely outside: unchanged.
  close(compositeMasks(dst, src, 3, 0, 'add').data, dst.data);
  assert.throws(() => compositeMasks(dst, src, 0, 0, 'nand'), (e: WeftError) => e.input === 'operation');
  assert.throws(() => compositeMasks(dst, tensor([3, 2, 2]), 0, 0, 'add'), (e: WeftError) => e.input === 'source');
});

test('CropMask clamps like Python slicing; masks of any rank read as [B,H,W]', () => {
  const m = tensor([4, 4], Array.from({ length: 16 }, (_, i) => i));
  const c = cropMask(m, 2, 1, 10, 2);
  assert.deepEqual(c.shape, [1, 2, 2]);
  assert.deepEqual([...c.data], [6, 7, 10, 11]);
  assert.deepEqual(asMask3(tensor([2, 1, 3, 3])).shape, [2, 3, 3]);
  assert.deepEqual(noiseMaskFromMask(tensor([2, 3, 4])).shape, [2, 1, 3, 4]);
  assert.throws(() => asMask3(tensor([2, 3, 4, 5]), 'mask'), (e: WeftError) => e.input === 'mask' && /mask/.test(e.message));
});

test('Mask ↔ image conversions, invert, threshold, solid', () => {
  const m = tensor([1, 1, 2], [0.25, 0.75]);
  const img = maskToImage(m);
  assert.deepEqual(img.shape, [1, 1, 2, 3]);
  assert.deepEqual([...img.data], [0.25, 0.25, 0.25, 0.75, 0.75, 0.75]);
  const rgba = tensor([1, 1, 2, 4], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  close(imageChannel(rgba, 'green').data, [0.2, 0.6]);
  close(imageChannel(rgba, 'alpha').data, [0.4, 0.8]);
  assert.throws(() => imageChannel(img, 'alpha'), (e: WeftError) => e.input === 'image' && /alpha/.test(e.message));
  assert.deepEqual([...invertMask(m).data], [0.75, 0.25]);
  assert.deepEqual([...thresholdMask(m, 0.25).data], [0, 1]);
  const s = solidMask(0.5, 3, 2);
  assert.deepEqual(s.shape, [1, 2, 3]);
  assert.ok(s.data.every((v) => v === 0.5));
});

test('ImageColorToMask matches the 8-bit packed colour (rounded, not truncated)', () => {
  // 0.5*255 = 127.5 rounds to 128 (half to even); 0.998*255 = 254.49 rounds to 254.
  const img = tensor([1, 1, 3, 3], [1, 0.5, 0, 1, 0.498, 0, 0.998, 0.5, 0]);
  assert.deepEqual([...colorMask(img, 0xff8000).data], [1, 0, 0]);
  assert.deepEqual([...colorMask(img, 0xfe8000).data], [0, 0, 1]);
  assert.deepEqual([...colorMask(img, 0xff7f00).data], [0, 1, 0]);
});
