import { defineNode } from '../../engine/graph/node.ts';
import { sliceBatch } from '../../engine/tensor/batch.ts';
import { checkImage } from '../../engine/tensor/imageops.ts';

/** `length` images from `batch_index`, both clamped into the batch. */
export default defineNode({
  name: 'ImageFromBatch',
  category: 'image/batch',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      batch_index: { type: 'INT', default: 0, min: 0, max: 4095 },
      length: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, batch_index, length }) {
    const [b] = checkImage(image, 'image');
    const start = Math.min(b - 1, batch_index);
    return [sliceBatch(image, start, Math.min(b - start, length))];
  },
});
