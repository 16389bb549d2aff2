import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';
import { nodes } from '../../../nodes/imageops/index.ts';
import EmptyImage from '../../../nodes/imageops/EmptyImage.ts';
import ImageBatch from '../../../nodes/imageops/ImageBatch.ts';
import ImageBlend from '../../../nodes/imageops/ImageBlend.ts';
import ImageBlur from '../../../nodes/imageops/ImageBlur.ts';
import ImageCompositeMasked from '../../../nodes/imageops/ImageCompositeMasked.ts';
import ImageCrop from '../../../nodes/imageops/ImageCrop.ts';
import ImageFromBatch from '../../../nodes/imageops/ImageFromBatch.ts';
import ImageQuantize from '../../../nodes/imageops/ImageQuantize.ts';
import ImageSharpen from '../../../nodes/imageops/ImageSharpen.ts';
import RepeatImageBatch from '../../../nodes/imageops/RepeatImageBatch.ts';
import { runNode } from '../latent/run.ts';

test('every imageops node has a run()', () => {
  for (const d of nodes) assert.equal(typeof d.run, 'function', d.name);
});

test('EmptyImage → ImageBatch → RepeatImageBatch → ImageFromBatch', async () => {
  const [red] = (await runNode(EmptyImage, { width: 4, height: 2, batch_size: 1, color: 0xff0000 })) as Tensor[];
  const [blue] = (await runNode(EmptyImage, { width: 8, height: 4, batch_size: 1, color: 0x0000ff })) as Tensor[];
  const [both] = (await runNode(ImageBatch, { image1: red, image2: blue })) as Tensor[];
  assert.deepEqual(both.shape, [2, 2, 4, 3]);
  assert.deepEqual([...both.data.subarray(24, 27)], [0, 0, 1]);
  const [rep] = (await runNode(RepeatImageBatch, { image: both, amount: 3 })) as Tensor[];
  assert.equal(rep.shape[0], 6);
  const [pick] = (await runNode(ImageFromBatch, { image: rep, batch_index: 3, length: 10 })) as Tensor[];
  assert.deepEqual(pick.shape, [3, 2, 4, 3]);
  assert.deepEqual([...pick.data.subarray(0, 3)], [0, 0, 1]);
  const [last] = (await runNode(ImageFromBatch, { image: rep, batch_index: 100, length: 1 })) as Tensor[];
  assert.deepEqual([...last.data.subarray(0, 3)], [0, 0, 1]);
});

test('ImageCrop, ImageBlend, ImageCompositeMasked', async () => {
  const img = tensor([1, 2, 3, 1], [1, 2, 3, 4, 5, 6]);
  const [c] = (await runNode(ImageCrop, { image: img, width: 2, height: 1, x: 1, y: 1 })) as Tensor[];
  assert.deepEqual([...c.data], [5, 6]);
  const a = tensor([1, 1, 1, 3], [0.5, 0.5, 0.5]);
  const b = tensor([1, 1, 1, 3], [0.2, 0.4, 1]);
  const [m] = (await runNode(ImageBlend, { image1: a, image2: b, blend_factor: 1, blend_mode: 'multiply' })) as Tensor[];
  assert.deepEqual([...m.data], [0.1, 0.2, 0.5].map(Math.fround));
  const dst = tensor([1, 2, 2, 3]);
  const rgba = tensor([1, 1, 1, 4], [1, 1, 1, 0.5]);
  const [comp] = (await runNode(ImageCompositeMasked, { destination: dst, source: rgba, x: 1, y: 0, resize_source: false })) as Tensor[];
  assert.deepEqual(comp.shape, [1, 2, 2, 3]);
  assert.deepEqual([...comp.data], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  await assert.rejects(runNode(ImageCompositeMasked, { destination: tensor([2, 2]), source: rgba, x: 0, y: 0, resize_source: false }), (e: WeftError) => e.input === 'destination');
});

test('ImageBlur / ImageSharpen leave a constant image constant; ImageQuantize keeps 2 colours', async () => {
  const flat = tensor([1, 4, 4, 3], new Float32Array(48).fill(0.6));
  const [bl] = (await runNode(ImageBlur, { image: flat, blur_radius: 2, sigma: 1 })) as Tensor[];
  const [sh] = (await runNode(ImageSharpen, { image: flat, sharpen_radius: 1, sigma: 1, alpha: 2 })) as Tensor[];
  assert.ok(bl.data.every((v) => Math.abs(v - 0.6) < 1e-6));
  assert.ok(sh.data.every((v) => Math.abs(v - 0.6) < 1e-5));
  await assert.rejects(runNode(ImageBlur, { image: flat, blur_radius: 4, sigma: 1 }), (e: WeftError) => e.input === 'blur_radius');
  const two = tensor([1, 1, 2, 3], [0, 0, 0, 1, 1, 1]);
  const [q] = (await runNode(ImageQuantize, { image: two, colors: 2, dither: 'floyd-steinberg' })) as Tensor[];
  assert.deepEqual([...q.data], [0, 0, 0, 1, 1, 1]);
});
