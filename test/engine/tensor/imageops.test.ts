import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import { alphaFix, batchImages, blendImages, colorToRgb, compositeMasked, cropImage, emptyImage, padForOutpaint } from '../../../engine/tensor/imageops.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `[${i}] ${got[i]} vs ${want[i]}`);
};
const ramp = (shape: number[], scale = 1) => tensor(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * scale));
const fill = (shape: number[], v: number) => tensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v));

test('EmptyImage colour: 0xRRGGBB → RGB floats', () => {
  assert.deepEqual(colorToRgb(0xff8000), [1, 128 / 255, 0]);
  const img = emptyImage(3, 2, 2, 0x0000ff);
  assert.deepEqual(img.shape, [2, 2, 3, 3]);
  for (let i = 0; i < img.data.length; i += 3) assert.deepEqual([...img.data.subarray(i, i + 3)], [0, 0, 1]);
});

test('ImageCrop clamps the origin inside the image and the window to its edges', () => {
  const img = ramp([1, 3, 4, 1]);
  const c = cropImage(img, 2, 2, 1, 1);
  assert.deepEqual(c.shape, [1, 2, 2, 1]);
  assert.deepEqual([...c.data], [5, 6, 9, 10]);
  const far = cropImage(img, 5, 5, 10, 10);
  assert.deepEqual(far.shape, [1, 1, 1, 1]);
  assert.deepEqual([...far.data], [11]);
});

test('ImageBatch resizes the second image to the first and pads a missing alpha with 1', () => {
  const a = fill([1, 2, 2, 3], 0.2);
  const b = fill([2, 4, 6, 3], 0.7);
  const out = batchImages(a, b);
  assert.deepEqual(out.shape, [3, 2, 2, 3]);
  close(out.data.subarray(0, 12), new Float32Array(12).fill(0.2));
  close(out.data.subarray(12), new Float32Array(24).fill(0.7));
  const rgba = fill([1, 2, 2, 4], 0.5);
  const mixed = batchImages(a, rgba);
  assert.deepEqual(mixed.shape, [2, 2, 2, 4]);
  assert.deepEqual([...mixed.data.subarray(0, 4)], [0.2, 0.2, 0.2, 1].map(Math.fround));
  assert.throws(() => batchImages(a, tensor([1, 2, 2])), (e: WeftError) => e.input === 'image2');
});

test('ImageBlend modes against the formulas, at factor 0.5 and 1, clamped', () => {
  const a = 0.2;
  const b = 0.7;
  const i1 = fill([1, 1, 1, 1], a);
  const i2 = fill([1, 1, 1, 1], b);
  const modes: Record<string, number> = {
    normal: b,
    multiply: a * b,
    screen: 1 - (1 - a) * (1 - b),
    overlay: 2 * a * b,
    soft_light: a + (2 * b - 1) * (((16 * a - 12) * a + 4) * a - a),
    difference: a - b,
  };
  for (const [mode, m] of Object.entries(modes)) {
    close(blendImages(i1, i2, 1, mode).data, [Math.max(0, m)], 1e-6);
    close(blendImages(i1, i2, 0.5, mode).data, [Math.max(0, a * 0.5 + m * 0.5)], 1e-6);
  }
  // overlay's upper branch and soft light's lower branch.
  close(blendImages(fill([1, 1, 1, 1], 0.8), fill([1, 1, 1, 1], 0.3), 1, 'overlay').data, [1 - 2 * 0.2 * 0.7]);
  close(blendImages(fill([1, 1, 1, 1], 0.8), fill([1, 1, 1, 1], 0.3), 1, 'soft_light').data, [0.8 - 0.4 * 0.8 * 0.2]);
  assert.throws(() => blendImages(i1, i2, 1, 'dodge'), (e: WeftError) => e.input === 'blend_mode');
  assert.throws(() => blendImages(i1, fill([1, 1, 1, 3], 0), 1, 'normal'), (e: WeftError) => e.input === 'image2');
});

test('Masked composite (images, multiplier 1): clipped paste, mask blending, resize_source', () => {
  const dst = fill([1, 4, 4, 3], 0);
  const src = fill([1, 2, 2, 3], 1);
  const corner = compositeMasked(dst, src, 3, 3, undefined, 1, false, 'NHWC');
  for (let p = 0; p < 16; p++) assert.deepEqual([...corner.data.subarray(p * 3, p * 3 + 3)], p === 15 ? [1, 1, 1] : [0, 0, 0]);
  const half = compositeMasked(dst, src, 1, 1, fill([1, 2, 2], 0.5), 1, false, 'NHWC');
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.equal(half.data[(r * 4 + c) * 3], r >= 1 && r <= 2 && c >= 1 && c <= 2 ? 0.5 : 0);
  // resize_source stretches the source to the destination's size; it is still placed at (x, y).
  assert.ok(compositeMasked(dst, src, 0, 0, undefined, 1, true, 'NHWC').data.every((v) => v === 1));
  const shifted = compositeMasked(dst, src, 2, 1, undefined, 1, true, 'NHWC');
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.equal(shifted.data[(r * 4 + c) * 3 + 1], r >= 1 && c >= 2 ? 1 : 0);
  assert.ok(dst.data.every((v) => v === 0), 'destination untouched');
  assert.throws(() => compositeMasked(dst, fill([1, 2, 2, 1], 1), 0, 0, undefined, 1, false, 'NHWC'), (e: WeftError) => e.input === 'source');
});

test('Masked composite (latents, multiplier 8): positions in pixels ÷ 8, mask resized to the source', () => {
  const dst = fill([2, 2, 3, 3], 0);
  const src = fill([1, 2, 2, 2], 4);
  // Mask 4×4 left half 1 → bilinear to 2×2: left column 1, right column 0.
  const mask = tensor([1, 4, 4], [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
  const out = compositeMasked(dst, src, 15, 8, mask, 8, false, 'NCHW');
  for (let b = 0; b < 2; b++) {
    for (let c = 0; c < 2; c++) {
      const plane = [...out.data.subarray((b * 2 + c) * 9, (b * 2 + c) * 9 + 9)];
      assert.deepEqual(plane, [0, 0, 0, 0, 4, 0, 0, 4, 0]);
    }
  }
});

test('alphaFix drops extra source channels or appends an opaque alpha', () => {
  const rgb = fill([1, 1, 1, 3], 0.5);
  const rgba = fill([1, 1, 1, 4], 0.25);
  assert.deepEqual([...alphaFix(rgb, rgba).data], [0.25, 0.25, 0.25]);
  assert.deepEqual([...alphaFix(rgba, rgb).data], [0.5, 0.5, 0.5, 1]);
});

/** Reference for ImagePadForOutpaint's mask inside the original, straight from the distance rule. */
function featherAt(i: number, j: number, h: number, w: number, pad: number[], f: number): number {
  const [l, t, r, b] = pad;
  const d = Math.min(t ? i : h, b ? h - i : h, l ? j : w, r ? w - j : w);
  return d >= f ? 0 : ((f - d) / f) * ((f - d) / f);
}

test('ImagePadForOutpaint: grey canvas, mask 1 outside, quadratic feather inside', () => {
  const img = fill([1, 10, 10, 3], 0.9);
  const { image, mask } = padForOutpaint(img, 4, 0, 0, 0, 3);
  assert.deepEqual(image.shape, [1, 10, 14, 3]);
  assert.deepEqual(mask.shape, [1, 10, 14]);
  assert.equal(image.data[0], 0.5);
  assert.equal(image.data[4 * 3], Math.fround(0.9));
  // Hand values along a row: padded columns 1, then (3/3)², (2/3)², (1/3)², 0…
  close(mask.data.subarray(14 * 5, 14 * 5 + 9), [1, 1, 1, 1, 1, 4 / 9, 1 / 9, 0, 0]);
  const pad = [2, 8, 6, 4];
  const { mask: m2 } = padForOutpaint(fill([2, 9, 11, 3], 0), ...(pad as [number, number, number, number]), 4);
  const W = 11 + 2 + 6;
  for (let i = 0; i < 9; i++) for (let j = 0; j < 11; j++) assert.ok(Math.abs(m2.data[(i + 8) * W + j + 2] - featherAt(i, j, 9, 11, pad, 4)) < 1e-6);
  // Feathering of half the size or more is ignored: the original area is 0.
  const { mask: m3 } = padForOutpaint(fill([1, 6, 6, 3], 0), 8, 0, 0, 0, 3);
  assert.ok(m3.data.every((v, k) => v === (k % 14 < 8 ? 1 : 0)));
});
