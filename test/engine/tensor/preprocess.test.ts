import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import { grayToRgb, scribbleImage, thresholdImage, toGray } from '../../../engine/tensor/preprocess.ts';
import { tensor } from '../../../engine/tensor/tensor.ts';

function inputOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof WeftError, String(e));
    return e.input;
  }
  assert.fail('expected a WeftError');
}

// Four RGB pixels in a 2×2 image: white, black, pure red, pure green.
const quad = () => tensor([1, 2, 2, 3], [1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0]);

test('toGray: BT.601 luma for RGB, alpha ignored, one channel passed through', () => {
  const g = toGray(quad());
  assert.deepEqual(g.shape, [1, 2, 2, 1]);
  const expected = [1, 0, 0.299, 0.587];
  g.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `pixel ${i}: ${v}`));
  const rgba = toGray(tensor([1, 1, 2, 4], [0, 0, 1, 0.2, 0, 0, 1, 1]));
  assert.deepEqual([...rgba.data], [Math.fround(0.114), Math.fround(0.114)]);
  assert.deepEqual([...toGray(tensor([2, 1, 1, 1], [0.25, 0.75])).data], [0.25, 0.75]);
  assert.equal(inputOf(() => toGray(tensor([1, 1, 1, 4]), 'image', false)), 'image');
  assert.equal(inputOf(() => toGray(tensor([1, 1, 1, 2]), 'pixels')), 'pixels');
});

test('grayToRgb repeats the plane into three channels', () => {
  const rgb = grayToRgb(tensor([1, 1, 2, 1], [0.25, 1]));
  assert.deepEqual(rgb.shape, [1, 1, 2, 3]);
  assert.deepEqual([...rgb.data], [0.25, 0.25, 0.25, 1, 1, 1]);
});

test('thresholdImage: per channel, strictly above the threshold is 1', () => {
  const img = tensor([1, 1, 2, 3], [0.2, 0.5, 0.9, 0.51, 0, 1]);
  assert.deepEqual([...thresholdImage(img, 0.5).data], [0, 0, 1, 1, 0, 1]);
  assert.deepEqual([...thresholdImage(img, 0).data], [1, 1, 1, 1, 0, 1]);
  assert.deepEqual([...thresholdImage(img, 1).data], [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(thresholdImage(img, 0.5).shape, [1, 1, 2, 3]);
  assert.deepEqual([...img.data.subarray(0, 2)].map((v) => +v.toFixed(2)), [0.2, 0.5], 'input untouched');
  assert.equal(inputOf(() => thresholdImage(img, 1.5)), 'threshold');
  assert.equal(inputOf(() => thresholdImage(img, Number.NaN)), 'threshold');
  assert.equal(inputOf(() => thresholdImage(tensor([2, 3], [0, 0, 0, 0, 0, 0]), 0.5)), 'image');
});

test('scribbleImage: grey binarised to RGB, invert turns dark strokes white', () => {
  // Greys 1, 0, 0.299, 0.587 against 0.5.
  const plain = scribbleImage(quad(), 0.5, false);
  assert.deepEqual(plain.shape, [1, 2, 2, 3]);
  assert.deepEqual([...plain.data], [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  const inverted = scribbleImage(quad(), 0.5, true);
  assert.deepEqual([...inverted.data], [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  // A lower threshold lets the red pixel (0.299) through as well.
  assert.deepEqual([...scribbleImage(quad(), 0.25, false).data], [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  // Exactly at the threshold is not above it.
  assert.deepEqual([...scribbleImage(tensor([1, 1, 1, 1], [0.5]), 0.5, false).data], [0, 0, 0]);
  assert.equal(inputOf(() => scribbleImage(quad(), -0.1, false)), 'threshold');
  assert.equal(inputOf(() => scribbleImage(tensor([1, 1, 1, 2]), 0.5, false)), 'image');
});
