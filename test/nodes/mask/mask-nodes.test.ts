import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';
import { nodes } from '../../../nodes/mask/index.ts';
import CropMask from '../../../nodes/mask/CropMask.ts';
import FeatherMask from '../../../nodes/mask/FeatherMask.ts';
import GrowMask from '../../../nodes/mask/GrowMask.ts';
import ImageColorToMask from '../../../nodes/mask/ImageColorToMask.ts';
import ImageToMask from '../../../nodes/mask/ImageToMask.ts';
import InvertMask from '../../../nodes/mask/InvertMask.ts';
import MaskComposite from '../../../nodes/mask/MaskComposite.ts';
import MaskToImage from '../../../nodes/mask/MaskToImage.ts';
import SolidMask from '../../../nodes/mask/SolidMask.ts';
import ThresholdMask from '../../../nodes/mask/ThresholdMask.ts';
import { runNode } from '../latent/run.ts';

test('every mask node has a run()', () => {
  for (const d of nodes) assert.equal(typeof d.run, 'function', d.name);
});

test('SolidMask → GrowMask → FeatherMask → InvertMask chain', async () => {
  const [solid] = (await runNode(SolidMask, { value: 0, width: 5, height: 5 })) as Tensor[];
  const dotted = tensor([1, 5, 5], solid.data.map((_, i) => (i === 12 ? 1 : 0)));
  const [grown] = (await runNode(GrowMask, { mask: dotted, expand: 1, tapered_corners: true })) as Tensor[];
  assert.deepEqual([...grown.data], [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  const [square] = (await runNode(GrowMask, { mask: dotted, expand: 1, tapered_corners: false })) as Tensor[];
  assert.equal(square.data.reduce((a, b) => a + b, 0), 9);
  const [ones] = (await runNode(SolidMask, { value: 1, width: 4, height: 1 })) as Tensor[];
  const [feathered] = (await runNode(FeatherMask, { mask: ones, left: 4, top: 0, right: 0, bottom: 0 })) as Tensor[];
  assert.deepEqual([...feathered.data], [0.25, 0.5, 0.75, 1]);
  const [inv] = (await runNode(InvertMask, { mask: feathered })) as Tensor[];
  assert.deepEqual([...inv.data], [0.75, 0.5, 0.25, 0]);
});

test('ThresholdMask, CropMask, MaskComposite', async () => {
  const m = tensor([1, 2, 2], [0.1, 0.6, 0.5, 0.9]);
  const [th] = (await runNode(ThresholdMask, { mask: m, value: 0.5 })) as Tensor[];
  assert.deepEqual([...th.data], [0, 1, 0, 1]);
  const [cr] = (await runNode(CropMask, { mask: m, x: 1, y: 0, width: 5, height: 1 })) as Tensor[];
  assert.deepEqual(cr.shape, [1, 1, 1]);
  assert.equal(cr.data[0], Math.fround(0.6));
  const [sum] = (await runNode(MaskComposite, { destination: m, source: tensor([1, 1, 1], [0.5]), x: 1, y: 1, operation: 'add' })) as Tensor[];
  assert.deepEqual([...sum.data], [0.1, 0.6, 0.5, 1].map(Math.fround));
  await assert.rejects(runNode(MaskComposite, { destination: m, source: tensor([5]), x: 0, y: 0, operation: 'add' }), (e: WeftError) => e.input === 'source');
});

test('MaskToImage ↔ ImageToMask round trip; ImageColorToMask picks one colour', async () => {
  const m = tensor([1, 1, 2], [0.2, 0.8]);
  const [img] = (await runNode(MaskToImage, { mask: m })) as Tensor[];
  assert.deepEqual(img.shape, [1, 1, 2, 3]);
  const [back] = (await runNode(ImageToMask, { image: img, channel: 'blue' })) as Tensor[];
  assert.deepEqual([...back.data], [...m.data]);
  await assert.rejects(runNode(ImageToMask, { image: img, channel: 'alpha' }), (e: WeftError) => e.input === 'image');
  const rgb = tensor([1, 1, 2, 3], [1, 0, 0, 0, 1, 0]);
  const [red] = (await runNode(ImageColorToMask, { image: rgb, color: 0xff0000 })) as Tensor[];
  assert.deepEqual([...red.data], [1, 0]);
});
