import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'MaskToImage',
  displayName: 'Convert Mask to Image',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
});
