import { defineNode } from '../../engine/graph/node.ts';
import { batchImages } from '../../engine/tensor/imageops.ts';

/** image1 then image2, image2 resized (bilinear, centre crop) to image1's size when it differs. */
export default defineNode({
  name: 'ImageBatch',
  displayName: 'Batch Images',
  category: 'image',
  inputs: {
    required: {
      image1: { type: 'IMAGE' },
      image2: { type: 'IMAGE' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  deprecated: true,
  run({ image1, image2 }) {
    return [batchImages(image1, image2)];
  },
});
