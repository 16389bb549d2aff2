import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import type { Latent } from '../../../engine/graph/sockets.ts';
import { tensor } from '../../../engine/tensor/tensor.ts';
import EmptyLatentImage from '../../../nodes/latent/EmptyLatentImage.ts';
import EmptySD3LatentImage from '../../../nodes/latent/EmptySD3LatentImage.ts';
import LatentBlend from '../../../nodes/latent/LatentBlend.ts';
import LatentComposite from '../../../nodes/latent/LatentComposite.ts';
import LatentCompositeMasked from '../../../nodes/latent/LatentCompositeMasked.ts';
import LatentCrop from '../../../nodes/latent/LatentCrop.ts';
import LatentFlip from '../../../nodes/latent/LatentFlip.ts';
import LatentFromBatch from '../../../nodes/latent/LatentFromBatch.ts';
import LatentRotate from '../../../nodes/latent/LatentRotate.ts';
import LatentUpscale from '../../../nodes/latent/LatentUpscale.ts';
import LatentUpscaleBy from '../../../nodes/latent/LatentUpscaleBy.ts';
import RepeatLatentBatch from '../../../nodes/latent/RepeatLatentBatch.ts';
import { runNode } from './run.ts';

const ramp = (shape: number[]) => tensor(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i));

test('EmptyLatentImage / EmptySD3LatentImage: zeros with 4 and 16 channels at 1/8 size', async () => {
  const [l] = (await runNode(EmptyLatentImage, { width: 512, height: 768, batch_size: 2 })) as Latent[];
  assert.deepEqual(l.samples.shape, [2, 4, 96, 64]);
  assert.ok(l.samples.data.every((v) => v === 0));
  const [s] = (await runNode(EmptySD3LatentImage, { width: 1024, height: 1024, batch_size: 1 })) as Latent[];
  assert.deepEqual(s.samples.shape, [1, 16, 128, 128]);
});

test('LatentUpscale doubles 512→1024 (hires fix): nearest-exact replicates each latent pixel 2×2', async () => {
  const src = ramp([1, 4, 64, 64]);
  const mask = tensor([1, 1, 64, 64]);
  const [up] = (await runNode(LatentUpscale, { samples: { samples: src, noise_mask: mask }, upscale_method: 'nearest-exact', width: 1024, height: 1024, crop: 'disabled' })) as Latent[];
  assert.deepEqual(up.samples.shape, [1, 4, 128, 128]);
  for (const [c, y, x] of [[0, 0, 0], [1, 17, 33], [3, 127, 126]]) {
    assert.equal(up.samples.data[(c * 128 + y) * 128 + x], src.data[(c * 64 + (y >> 1)) * 64 + (x >> 1)]);
  }
  assert.equal(up.noise_mask, mask, 'other keys ride along (as in ComfyUI)');
  const [same] = (await runNode(LatentUpscale, { samples: { samples: src }, upscale_method: 'bilinear', width: 0, height: 0, crop: 'disabled' })) as Latent[];
  assert.equal(same.samples, src);
  const [aspect] = (await runNode(LatentUpscale, { samples: { samples: ramp([1, 4, 8, 16]) }, upscale_method: 'bislerp', width: 256, height: 0, crop: 'disabled' })) as Latent[];
  assert.deepEqual(aspect.samples.shape, [1, 4, 16, 32]);
  await assert.rejects(runNode(LatentUpscale, { samples: { samples: tensor([4, 8, 8]) }, upscale_method: 'bilinear', width: 64, height: 64, crop: 'disabled' }), (e: WeftError) => e.input === 'samples');
});

test('LatentUpscaleBy: a constant latent stays constant, sizes rounded half to even', async () => {
  const src = tensor([1, 4, 5, 7], new Float32Array(140).fill(0.3));
  const [up] = (await runNode(LatentUpscaleBy, { samples: { samples: src }, upscale_method: 'bicubic', scale_by: 1.5 })) as Latent[];
  assert.deepEqual(up.samples.shape, [1, 4, 8, 10]);
  assert.ok(up.samples.data.every((v) => Math.abs(v - 0.3) < 1e-6));
});

test('LatentComposite / LatentCompositeMasked paste at pixel ÷ 8 positions', async () => {
  const to = { samples: tensor([1, 1, 4, 4]), batch_index: [5] };
  const from = { samples: tensor([1, 1, 2, 2], [1, 1, 1, 1]) };
  const [a] = (await runNode(LatentComposite, { samples_to: to, samples_from: from, x: 16, y: 8, feather: 0 })) as Latent[];
  assert.deepEqual([...a.samples.data], [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(a.batch_index, [5]);
  const [b] = (await runNode(LatentCompositeMasked, { destination: to, source: from, x: 16, y: 8, resize_source: false, mask: tensor([1, 2, 2], [1, 0, 0, 1]) })) as Latent[];
  assert.deepEqual([...b.samples.data], [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  await assert.rejects(runNode(LatentCompositeMasked, { destination: to, source: { samples: tensor([1, 2, 2, 2]) }, x: 0, y: 0, resize_source: false }), (e: WeftError) => e.input === 'source');
});

test('LatentBlend, LatentCrop, LatentFlip, LatentRotate', async () => {
  const s1 = { samples: tensor([1, 1, 1, 2], [0, 10]) };
  const s2 = { samples: tensor([1, 1, 1, 2], [10, 20]) };
  const [bl] = (await runNode(LatentBlend, { samples1: s1, samples2: s2, blend_factor: 0.75 })) as Latent[];
  assert.deepEqual([...bl.samples.data], [2.5, 12.5]);
  await assert.rejects(runNode(LatentBlend, { samples1: s1, samples2: {} }), (e: WeftError) => e.input === 'samples2');
  const big = { samples: ramp([1, 1, 16, 16]) };
  const [cr] = (await runNode(LatentCrop, { samples: big, width: 64, height: 64, x: 8, y: 16 })) as Latent[];
  assert.deepEqual(cr.samples.shape, [1, 1, 8, 8]);
  assert.equal(cr.samples.data[0], 2 * 16 + 1);
  const plane = { samples: tensor([1, 1, 2, 2], [1, 2, 3, 4]) };
  const [fx] = (await runNode(LatentFlip, { samples: plane, flip_method: 'x-axis: vertically' })) as Latent[];
  const [fy] = (await runNode(LatentFlip, { samples: plane, flip_method: 'y-axis: horizontally' })) as Latent[];
  assert.deepEqual([...fx.samples.data], [3, 4, 1, 2]);
  assert.deepEqual([...fy.samples.data], [2, 1, 4, 3]);
  const [r90] = (await runNode(LatentRotate, { samples: plane, rotation: '90 degrees' })) as Latent[];
  const [r0] = (await runNode(LatentRotate, { samples: plane, rotation: 'none' })) as Latent[];
  assert.deepEqual([...r90.samples.data], [3, 1, 4, 2]);
  assert.deepEqual([...r0.samples.data], [1, 2, 3, 4]);
});

test('LatentFromBatch → RepeatLatentBatch keeps batch_index bookkeeping consistent', async () => {
  const src = { samples: ramp([4, 1, 1, 1]) };
  const [one] = (await runNode(LatentFromBatch, { samples: src, batch_index: 2, length: 1 })) as Latent[];
  assert.deepEqual(one.batch_index, [2]);
  assert.deepEqual([...one.samples.data], [2]);
  const [rep] = (await runNode(RepeatLatentBatch, { samples: one, amount: 3 })) as Latent[];
  assert.deepEqual(rep.batch_index, [2, 3, 4]);
  assert.deepEqual([...rep.samples.data], [2, 2, 2]);
  const [two] = (await runNode(LatentFromBatch, { samples: src, batch_index: 1, length: 2 })) as Latent[];
  const [rep2] = (await runNode(RepeatLatentBatch, { samples: two, amount: 2 })) as Latent[];
  assert.deepEqual(rep2.batch_index, [1, 2, 3, 4]);
  await assert.rejects(runNode(LatentFromBatch, { samples: { samples: tensor([0]) }, batch_index: 0, length: 1 }), (e: WeftError) => e.input === 'samples');
});
