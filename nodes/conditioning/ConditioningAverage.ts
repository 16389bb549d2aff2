import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ConditioningAverage',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning_to: { type: 'CONDITIONING' },
      conditioning_from: { type: 'CONDITIONING' },
      conditioning_to_strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
