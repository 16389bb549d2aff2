import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ThresholdMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
      value: { type: 'FLOAT', default: 0.5, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MASK' }],
});
