import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ImageCompositeMasked',
  category: 'image',
  inputs: {
    required: {
      destination: { type: 'IMAGE' },
      source: { type: 'IMAGE' },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      resize_source: { type: 'BOOLEAN', default: false },
    },
    optional: {
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
});
