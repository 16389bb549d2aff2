import { defineNode } from '../../engine/graph/node.ts';

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
});
