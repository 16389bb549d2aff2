import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'InvertMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'MASK' }],
});
