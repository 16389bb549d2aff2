import { defineNode } from '../../engine/graph/node.ts';
import { repeatBatch } from '../../engine/tensor/batch.ts';
import { checkImage } from '../../engine/tensor/imageops.ts';

/** The batch tiled `amount` times. */
export default defineNode({
  name: 'RepeatImageBatch',
  category: 'image/batch',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      amount: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, amount }) {
    checkImage(image, 'image');
    return [repeatBatch(image, amount)];
  },
});
