import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import type { Latent } from '../../../engine/graph/sockets.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';
import ImagePadForOutpaint from '../../../nodes/inpaint/ImagePadForOutpaint.ts';
import SetLatentNoiseMask from '../../../nodes/inpaint/SetLatentNoiseMask.ts';
import { runNode } from '../latent/run.ts';

test('SetLatentNoiseMask stores the mask as [B,1,H,W] and keeps the latent', async () => {
  const samples = tensor([1, 4, 2, 2]);
  const [out] = (await runNode(SetLatentNoiseMask, { samples: { samples, batch_index: [7] }, mask: tensor([16, 16]) })) as Latent[];
  assert.equal(out.samples, samples);
  assert.deepEqual(out.noise_mask!.shape, [1, 1, 16, 16]);
  assert.deepEqual(out.batch_index, [7]);
  await assert.rejects(runNode(SetLatentNoiseMask, { samples: { samples }, mask: tensor([2, 3, 4, 5]) }), (e: WeftError) => e.input === 'mask');
});

test('ImagePadForOutpaint: padded size, grey fill, feathered mask values at the border', async () => {
  const image = tensor([1, 16, 16, 3], new Float32Array(768).fill(1));
  const [img, mask] = (await runNode(ImagePadForOutpaint, { image, left: 0, top: 8, right: 0, bottom: 0, feathering: 4 })) as Tensor[];
  assert.deepEqual(img.shape, [1, 24, 16, 3]);
  assert.deepEqual(mask.shape, [1, 24, 16]);
  assert.equal(img.data[0], 0.5);
  assert.equal(img.data[8 * 16 * 3], 1);
  // Rows of the original at distance d from the padded top edge: ((4 − d)/4)², then 0.
  const col = (r: number) => mask.data[r * 16 + 7];
  assert.deepEqual([0, 7].map(col), [1, 1]);
  assert.deepEqual([8, 9, 10, 11, 12, 23].map(col), [1, 0.5625, 0.25, 0.0625, 0, 0]);
});
