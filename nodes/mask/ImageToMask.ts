import { defineNode } from '../../engine/graph/node.ts';
import { imageChannel } from '../../engine/tensor/mask.ts';

/** One channel of the image as a mask. */
export default defineNode({
  name: 'ImageToMask',
  displayName: 'Convert Image to Mask',
  category: 'mask',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      channel: { type: 'COMBO', options: ['red', 'green', 'blue', 'alpha'] },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ image, channel }) {
    return [imageChannel(image, channel)];
  },
});
