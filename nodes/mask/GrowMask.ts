import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'GrowMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
      expand: { type: 'INT', default: 0, min: -16384, max: 16384, step: 1 },
      tapered_corners: { type: 'BOOLEAN', default: true },
    },
  },
  outputs: [{ type: 'MASK' }],
});
