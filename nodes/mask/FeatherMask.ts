import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'FeatherMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
      left: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      top: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      right: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      bottom: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
    },
  },
  outputs: [{ type: 'MASK' }],
});
